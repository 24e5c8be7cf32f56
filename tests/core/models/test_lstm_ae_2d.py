"""The true-bottleneck LSTM-AE: the paper's encoder, a decoder that sees only the 2-D latent, exact decoding."""

from __future__ import annotations

import json

import numpy as np
import pytest

from core.cli import main
from core.errors import ModelError
from core.models import BottleneckLSTMAutoencoder, LSTMAutoencoder, TrainConfig, build_model, model_class
from core.models.lstm_ae_2d import LAYER_NAMES


@pytest.fixture(scope="module")
def x_random():
    return np.random.default_rng(8).uniform(1.0, 2.4, (500, 5)).astype(np.float32)


def test_same_encoder_and_decoder_widths_as_the_paper_plus_two_state_cells():
    model, paper = BottleneckLSTMAutoencoder(5), LSTMAutoencoder(5)
    shapes, paper_shapes = model.weight_shapes(), paper.weight_shapes()
    assert shapes[:9] == paper_shapes[:9]  # encoder LSTM 4-3-2 over the five bands
    assert shapes[15:] == paper_shapes[9:]  # decoder LSTM 3 (from 2), 4 (from 3), output 5 (from 4)
    assert shapes[9:15] == [(2, 12), (3, 12), (12,), (2, 16), (4, 16), (16,)]  # state cells read the latent
    # weights that act (recurrent kernels of zero-state cells never do): 572 against the paper's 488
    working = model.count_params() - sum(int(np.prod(shapes[3 * k + 1])) for k in (0, 1, 2, 3, 4, 7))
    paper_working = paper.count_params() - sum(int(np.prod(paper_shapes[3 * k + 1])) for k in (0, 1, 2, 5))
    assert (working, paper_working) == (572, 488)


def test_decode_of_encode_is_the_reconstruction(random_lstm_weights, x_random):
    model = BottleneckLSTMAutoencoder(5)
    model.set_weights(random_lstm_weights(model, seed=1))
    z = model.encode(x_random)
    assert z.shape == (500, 2)
    recon = model.reconstruct(x_random)
    assert recon.shape == (500, 5) and np.abs(recon).max() > 0.1
    np.testing.assert_allclose(model.decode(z), recon, rtol=0, atol=1e-6)
    with pytest.raises(ModelError, match=r"\(N, 2\)"):
        model.decode(np.zeros((3, 14), np.float32))


def test_decoder_depends_on_the_latent_alone(random_lstm_weights, x_random):
    """New encoder weights move stars in the latent plane but leave decode(z) at a given z unchanged."""
    model = BottleneckLSTMAutoencoder(5)
    weights = random_lstm_weights(model, seed=2)
    model.set_weights(weights)
    z = np.random.default_rng(1).uniform(-0.8, 0.8, (200, 2)).astype(np.float32)
    before = model.decode(z)
    other = random_lstm_weights(model, seed=3)
    model.set_weights(other[:9] + weights[9:])
    np.testing.assert_array_equal(model.decode(z), before)
    assert np.abs(model.encode(x_random) - BottleneckLSTMAutoencoder(5).encode(x_random)).max() > 1e-3


def test_same_function_as_the_keras_graph(random_lstm_weights, x_random):
    model = BottleneckLSTMAutoencoder(5)
    model.set_weights(random_lstm_weights(model, seed=4))
    keras_model = model.to_keras()
    assert [layer.name for layer in keras_model.layers if layer.name in LAYER_NAMES] == [
        "encoder_lstm_4", "encoder_lstm_3", "latent_lstm_2", "state_lstm_3", "decoder_lstm_3", "state_lstm_4",
        "decoder_lstm_4", "output_lstm",
    ]
    expected = keras_model.predict(x_random[:, None, :], verbose=0)[:, 0, :]
    assert np.abs(model.reconstruct(x_random) - expected).max() < 1e-6


def test_training_lowers_the_loss_and_round_trips(tmp_path, mags5):
    model = build_model("lstm-ae-2d", 5, seed=5)
    assert model_class("lstm-ae-2d") is BottleneckLSTMAutoencoder
    hist = model.fit(mags5[:2000], mags5[2000:2500], TrainConfig(max_epochs=6, batch_size=128, learning_rate=3e-3),
                     progress=False)
    assert hist.val_loss[hist.best_epoch] < 0.5 * hist.val_loss[0]
    assert model.evaluate(mags5[2000:2500]) == pytest.approx(min(hist.val_loss), rel=1e-5)
    model.save(tmp_path / "m")
    assert json.loads((tmp_path / "m" / "model.json").read_text())["model"] == "lstm-ae-2d"
    back = BottleneckLSTMAutoencoder.load(tmp_path / "m")
    assert all(np.array_equal(a, b) for a, b in zip(back.get_weights(), model.get_weights(), strict=True))
    np.testing.assert_array_equal(back.reconstruct(mags5[:50]), model.reconstruct(mags5[:50]))
    assert back.history.best_epoch == hist.best_epoch
    with pytest.raises(ModelError, match="'lstm-ae-2d' model, not 'lstm-ae'"):
        LSTMAutoencoder.load(tmp_path / "m")


def test_cli_trains_it_and_the_latent_probe_decodes_exactly(tmp_path, capsys):
    from core.catalog import write_parquet
    from core.scoring import TrainedModel
    from tests._catalogs import make_catalog

    df = make_catalog(800, seed=4)
    write_parquet(df, tmp_path / "cat.parquet")
    code = main(["train", str(tmp_path / "cat.parquet"), "--out", str(tmp_path / "m"), "--model", "lstm-ae-2d",
                 "--runs", "2", "--max-epochs", "3", "--batch-size", "128", "--lr", "3e-3"])
    assert code == 0
    assert "anomaly lists" in capsys.readouterr().out
    tm = TrainedModel.load(tmp_path / "m")
    assert tm.name == "lstm-ae-2d" and tm.state_table is None
    assert not (tmp_path / "m" / "run_1" / "latent_states.npz").exists()
    xy = tm.encode(df.iloc[:300])
    np.testing.assert_allclose(tm.decode_latent(xy), tm.reconstruct(df.iloc[:300]), rtol=0, atol=2e-5)
