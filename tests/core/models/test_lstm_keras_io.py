"""Export to / import from the paper's Keras layout, including files written by the appendix code itself."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from core.errors import BandMismatchError, ModelError, OutputExistsError
from core.models import LSTMAutoencoder


def appendix_model(n_bands: int = 5) -> keras.Model:
    """The appendix's graph written out as the paper does, with Keras' default layer names."""
    from keras.layers import LSTM, Input, RepeatVector

    kw = {"activation": "elu", "kernel_initializer": "he_normal", "recurrent_initializer": "orthogonal"}
    inputs = Input(shape=(1, n_bands))
    x, h1, c1 = LSTM(4, return_state=True, return_sequences=True, **kw)(inputs)
    x, h2, c2 = LSTM(3, return_state=True, return_sequences=True, **kw)(x)
    x, _, _ = LSTM(2, return_state=True, return_sequences=False, **kw)(x)
    x = RepeatVector(1)(x)
    x = LSTM(3, return_sequences=True, **kw)(x, initial_state=[h2, c2])
    x = LSTM(4, return_sequences=True, **kw)(x, initial_state=[h1, c1])
    return keras.Model(inputs, LSTM(n_bands, return_sequences=True, **kw)(x))


def test_keras_file_round_trip(tmp_path, random_lstm_weights, mags5):
    model = LSTMAutoencoder(5, seed=3)
    model.set_weights(random_lstm_weights(model, seed=3))
    path = model.save_keras(tmp_path / "ae.keras")
    back = LSTMAutoencoder.from_keras(path)
    for a, b in zip(model.get_weights(), back.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(back.reconstruct(mags5[:100]), model.reconstruct(mags5[:100]))
    with pytest.raises(OutputExistsError):
        model.save_keras(path)


def test_imports_appendix_model_with_default_layer_names(tmp_path, mags5):
    paper = appendix_model(5)
    paper.save(tmp_path / "paper.keras")
    ours = LSTMAutoencoder.from_keras(tmp_path / "paper.keras", n_bands=5)
    expected = paper.predict(mags5[:300, None, :], verbose=0)[:, 0, :]
    assert np.abs(ours.reconstruct(mags5[:300]) - expected).max() < 1e-6
    from_object = LSTMAutoencoder.from_keras(paper)
    np.testing.assert_array_equal(from_object.get_weights()[0], paper.get_weights()[0])


def test_wrong_band_count_file_is_a_clear_error(tmp_path):
    appendix_model(8).save(tmp_path / "eight.keras")
    with pytest.raises(BandMismatchError, match="trained on 8 bands but 5 were expected"):
        LSTMAutoencoder.from_keras(tmp_path / "eight.keras", n_bands=5)
    assert LSTMAutoencoder.from_keras(tmp_path / "eight.keras").n_bands == 8


def test_other_layouts_are_rejected(tmp_path):
    dense = keras.Sequential([keras.Input((1, 5)), keras.layers.Dense(2), keras.layers.Dense(5)])
    dense.save(tmp_path / "dense.keras")
    with pytest.raises(ModelError, match="expected 6 LSTM layers, found 0"):
        LSTMAutoencoder.from_keras(tmp_path / "dense.keras")
    # six LSTMs of the right sizes but without the encoder->decoder state links
    inputs = keras.Input((1, 5))
    x = inputs
    for units in (4, 3, 2, 3, 4, 5):
        x = keras.layers.LSTM(units, activation="elu", return_sequences=True)(x)
    with pytest.raises(ModelError, match="must start from the \\(h, c\\) states"):
        LSTMAutoencoder.from_keras(keras.Model(inputs, x))
    (tmp_path / "junk.keras").write_bytes(b"not a zip")
    with pytest.raises(ModelError, match="could not be read"):
        LSTMAutoencoder.from_keras(tmp_path / "junk.keras")
    with pytest.raises(ModelError, match="not found"):
        LSTMAutoencoder.from_keras(tmp_path / "missing.keras")


def test_imports_legacy_h5_as_saved_by_the_paper_script(tmp_path, mags5):
    paper = appendix_model(5)
    paper.save(tmp_path / "grizy_LSTMAE_run_1.h5")  # the appendix saves HDF5
    ours = LSTMAutoencoder.from_keras(tmp_path / "grizy_LSTMAE_run_1.h5", n_bands=5)
    expected = paper.predict(mags5[:100, None, :], verbose=0)[:, 0, :]
    assert np.abs(ours.reconstruct(mags5[:100]) - expected).max() < 1e-6
