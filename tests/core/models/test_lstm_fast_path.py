"""The compiled fast path computes the paper layout's function and takes Keras' exact optimisation steps."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from core.errors import BandMismatchError, ModelError
from core.models import LSTMAutoencoder
from core.models.keras_layout import paper_encoder


def paper_compiled(model: LSTMAutoencoder):
    """The appendix's compile (Adam 1e-4, MSE); Keras' own XLA is off only to keep the test fast."""
    import keras

    keras_model = model.to_keras(compile=False)
    keras_model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-4), loss="mse", jit_compile=False)
    return keras_model


@pytest.fixture(scope="module")
def x_random():
    return np.random.default_rng(5).uniform(1.0, 2.4, (700, 5)).astype(np.float32)


def test_reconstruction_equals_keras_predict_on_random_weights(random_lstm_weights, x_random):
    model = LSTMAutoencoder(5)
    model.set_weights(random_lstm_weights(model, seed=1))
    keras_model = model.to_keras(compile=False)
    expected = keras_model.predict(x_random[:, None, :], verbose=0)[:, 0, :]
    got = model.reconstruct(x_random)
    assert np.abs(got - expected).max() < 1e-6
    assert np.abs(got).max() > 0.1  # a non-trivial function was compared
    latent = paper_encoder(keras_model).predict(x_random[:, None, :], verbose=0)
    assert np.abs(model.encode(x_random) - latent).max() < 1e-6


def test_decode_needs_encoder_states(random_lstm_weights, x_random):
    model = LSTMAutoencoder(5)
    model.set_weights(random_lstm_weights(model, seed=2))
    z, states = model.encode_with_states(x_random)
    assert z.shape == (700, 2) and states.shape == (700, 14)
    np.testing.assert_allclose(model.decode(z, states), model.reconstruct(x_random), atol=1e-7)
    # the memory states really matter: zeroing them changes the reconstruction
    assert np.abs(model.decode(z, np.zeros_like(states)) - model.reconstruct(x_random)).max() > 1e-3
    with pytest.raises(ModelError, match="memory states"):
        model.decode(z)


def test_one_step_equals_keras_train_on_batch(random_lstm_weights, x_random):
    model = LSTMAutoencoder(5)
    model.set_weights(random_lstm_weights(model, seed=3))
    keras_model = paper_compiled(model)
    engine = model.engine(512)
    state = engine.start(model.get_weights(), 1e-4)
    for k in range(3):  # three steps also check Adam's moment and bias-correction bookkeeping
        xb = x_random[k * 200 : (k + 1) * 200]
        state, loss = engine.step(state, xb)
        keras_loss = keras_model.train_on_batch(xb[:, None, :], xb[:, None, :])
        assert loss == pytest.approx(float(keras_loss), rel=1e-6)
    ours, theirs, start = engine.params(state), keras_model.get_weights(), model.get_weights()
    assert max(np.abs(a - b).max() for a, b in zip(ours, theirs, strict=True)) < 1e-6
    moved = [np.abs(a - b).max() for a, b in zip(ours, start, strict=True)]
    assert max(moved) > 1e-4  # Adam's first steps move weights by ~lr


def test_compiled_epoch_equals_keras_fit_with_partial_batch(random_lstm_weights, x_random):
    """Unshuffled, a compiled epoch over 650 stars in batches of 128 (5 full + 1 of 10) matches Keras ``fit``."""
    x, xv = x_random[:650], x_random[650:]
    model = LSTMAutoencoder(5)
    model.set_weights(random_lstm_weights(model, seed=4))
    keras_model = paper_compiled(model)
    hist = keras_model.fit(
        x[:, None, :],
        x[:, None, :],
        batch_size=128,
        epochs=1,
        shuffle=False,
        validation_data=(xv[:, None, :], xv[:, None, :]),
        verbose=0,
    )
    engine = model.engine(128)
    state, loss, val_loss = engine.epoch(
        engine.start(model.get_weights(), 1e-4),
        tf.constant(x),
        np.arange(650, dtype=np.int32),
        tf.constant(xv),
    )
    assert int(state["step"]) == 6
    ours = engine.params(state)
    assert max(np.abs(a - b).max() for a, b in zip(ours, keras_model.get_weights(), strict=True)) < 1e-6
    assert loss == pytest.approx(hist.history["loss"][0], rel=1e-5)
    assert val_loss == pytest.approx(hist.history["val_loss"][0], rel=1e-5)


def test_inputs_are_checked(mags5):
    model = LSTMAutoencoder(5)
    with pytest.raises(BandMismatchError, match="5 bands .* 8 columns"):
        model.encode(np.zeros((3, 8), np.float32))
    bad = mags5[:10].copy()
    bad[[2, 7], 1] = np.nan
    with pytest.raises(ModelError, match="2 of 10 rows"):
        model.reconstruct(bad)
    with pytest.raises(ModelError, match="validation set is empty"):
        model.fit(mags5[:100], mags5[:0], progress=False)
    # Keras' (N, 1, n_bands) layout is accepted too
    np.testing.assert_array_equal(model.reconstruct(mags5[:5, None, :]), model.reconstruct(mags5[:5]))


def test_scoring_handles_sizes_around_chunk_boundaries(random_lstm_weights, monkeypatch):
    from core.models import fast

    monkeypatch.setattr(fast, "SCORE_CHUNK", 2048)
    model = LSTMAutoencoder(5)
    model.set_weights(random_lstm_weights(model, seed=6))
    x = np.random.default_rng(0).uniform(1, 2, (4100, 5)).astype(np.float32)
    full = model.reconstruct(x)  # two full chunks plus a padded one
    assert full.shape == (4100, 5)
    np.testing.assert_allclose(full[4000:], model.reconstruct(x[4000:]), atol=1e-7)
    assert model.reconstruct(x[:0]).shape == (0, 5)
