"""Fitting: early stopping restores the best epoch, seeds make runs reproducible, save/load round-trips."""

from __future__ import annotations

import json

import numpy as np
import pytest

from core.errors import ModelError, OutputExistsError
from core.models import LSTMAutoencoder, TrainConfig, build_model, model_class


def test_fit_reduces_loss_and_reports_each_epoch(mags5):
    model = build_model("lstm-ae", 5, seed=3)
    seen = []
    hist = model.fit(
        mags5[:2000],
        mags5[2000:2500],
        TrainConfig(max_epochs=4, batch_size=128, learning_rate=3e-3),
        progress=False,
        on_epoch=lambda e, loss, val: seen.append((e, loss, val)),
    )
    assert [e for e, _, _ in seen] == [0, 1, 2, 3]
    assert [v for _, _, v in seen] == hist.val_loss and len(hist.seconds) == 4
    assert hist.loss[-1] < hist.loss[0] and hist.val_loss[-1] < hist.val_loss[0]
    assert model.evaluate(mags5[2000:2500]) == pytest.approx(min(hist.val_loss), rel=1e-5)


def test_early_stopping_restores_best_epoch(mags5):
    """A too-large learning rate makes validation loss bounce; the restored weights are the best epoch's."""
    model = LSTMAutoencoder(5, seed=4)
    x_train, x_val = mags5[:2000], mags5[2000:2500]
    config = TrainConfig(max_epochs=40, patience=2, batch_size=128, learning_rate=0.2)
    hist = model.fit(x_train, x_val, config, progress=False)
    best = int(np.argmin(hist.val_loss))
    assert hist.stopped_early and hist.best_epoch == best
    assert hist.epochs == best + config.patience + 1
    assert hist.val_loss[-1] > hist.val_loss[best]
    assert model.evaluate(x_val) == pytest.approx(hist.val_loss[best], rel=1e-5)


def test_same_seed_same_weights_different_seed_differs(mags5):
    config = TrainConfig(max_epochs=2, batch_size=128, learning_rate=1e-3)
    runs = []
    for seed in (7, 7, 8):
        model = LSTMAutoencoder(5, seed=seed)
        model.fit(mags5[:2000], mags5[2000:2500], config, progress=False)
        runs.append(model.get_weights())
    assert all(np.array_equal(a, b) for a, b in zip(runs[0], runs[1], strict=True))
    assert not all(np.array_equal(a, b) for a, b in zip(runs[0], runs[2], strict=True))
    # the shuffle stream depends on TrainConfig.seed too
    model = LSTMAutoencoder(5, seed=7)
    model.fit(
        mags5[:2000],
        mags5[2000:2500],
        TrainConfig(max_epochs=2, batch_size=128, learning_rate=1e-3, seed=1),
        progress=False,
    )
    assert not all(np.array_equal(a, b) for a, b in zip(runs[0], model.get_weights(), strict=True))


def test_eight_bands_work_the_same_way():
    x = np.random.default_rng(1).uniform(1.2, 2.0, (600, 8)).astype(np.float32)
    model = build_model("lstm-ae", 8, seed=1)
    hist = model.fit(x[:500], x[500:], TrainConfig(max_epochs=1), progress=False)
    assert hist.epochs == 1
    assert model.reconstruct(x).shape == (600, 8) and model.encode(x).shape == (600, 2)


def test_save_load_round_trip(tmp_path, mags5, random_lstm_weights):
    model = LSTMAutoencoder(5, seed=9)
    model.set_weights(random_lstm_weights(model, seed=9))
    model.save(tmp_path / "m")
    meta = json.loads((tmp_path / "m" / "model.json").read_text())
    assert meta["model"] == "lstm-ae" and meta["n_bands"] == 5 and meta["seed"] == 9
    back = model_class("lstm-ae").load(tmp_path / "m")
    assert isinstance(back, LSTMAutoencoder) and back.seed == 9
    for a, b in zip(model.get_weights(), back.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(model.reconstruct(mags5[:50]), back.reconstruct(mags5[:50]))
    with pytest.raises(OutputExistsError):
        model.save(tmp_path / "m")
    with pytest.raises(ModelError, match="not a saved sedscape model"):
        LSTMAutoencoder.load(tmp_path / "nothing")
    with pytest.raises(ModelError, match="'lstm-ae' model, not 'dense-ae'"):
        model_class("dense-ae").load(tmp_path / "m")
