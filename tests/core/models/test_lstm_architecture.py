"""The LSTM-AE has the paper appendix's layer graph, sizes and state sharing, for any band count."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from core.models import LSTMAutoencoder, build_model
from core.models.keras_layout import LAYER_NAMES, _state_sources


def test_parameter_count_is_704_for_five_bands():
    model = build_model("lstm-ae", 5)
    assert model.count_params() == 704
    assert model.to_keras().count_params() == 704


@pytest.mark.parametrize("n_bands", [8, 9])
def test_parameter_count_follows_lstm_formula(n_bands):
    dims = [(n_bands, 4), (4, 3), (3, 2), (2, 3), (3, 4), (4, n_bands)]
    expected = sum(4 * u * (d + u + 1) for d, u in dims)
    assert build_model("lstm-ae", n_bands).count_params() == expected


def test_to_keras_layers_in_appendix_order_and_shapes():
    model = LSTMAutoencoder(5).to_keras()
    lstms = [layer for layer in model.layers if isinstance(layer, keras.layers.LSTM)]
    assert [layer.name for layer in lstms] == list(LAYER_NAMES)
    assert [layer.units for layer in lstms] == [4, 3, 2, 3, 4, 5]
    assert [layer.return_sequences for layer in lstms] == [True, True, False, True, True, True]
    assert all(layer.activation.__name__ == "elu" for layer in lstms)
    assert all(layer.recurrent_activation.__name__ == "sigmoid" for layer in lstms)
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds == ["InputLayer", "LSTM", "LSTM", "LSTM", "RepeatVector", "LSTM", "LSTM", "LSTM"]
    assert tuple(model.inputs[0].shape) == (None, 1, 5)
    assert tuple(model.outputs[0].shape) == (None, 1, 5)
    assert [w.shape for w in lstms[3].get_weights()] == [(2, 12), (3, 12), (12,)]


def test_decoder_layers_start_from_mirrored_encoder_states():
    model = LSTMAutoencoder(5).to_keras()
    # input 0 is the sequence; inputs 1-2 are initial (h, c) = outputs 1-2 of the mirrored encoder layer
    assert _state_sources(model.get_layer("decoder_lstm_3")) == [
        ("repeat", 0),
        ("encoder_lstm_3", 1),
        ("encoder_lstm_3", 2),
    ]
    assert _state_sources(model.get_layer("decoder_lstm_4"))[1:] == [
        ("encoder_lstm_4", 1),
        ("encoder_lstm_4", 2),
    ]
    assert _state_sources(model.get_layer("output_lstm")) == [("decoder_lstm_4", 0)]


def test_initial_weights_follow_keras_initialisers():
    model = LSTMAutoencoder(5, seed=1)
    w = model.get_weights()
    bias = w[2]
    assert np.all(bias[4:8] == 1.0) and np.all(bias[:4] == 0) and np.all(bias[8:] == 0)  # unit_forget_bias
    rec = w[1]  # (4, 16): orthogonal rows
    np.testing.assert_allclose(rec @ rec.T, np.eye(4), atol=1e-5)
    kernel = w[15]  # (4, 4n), HeNormal truncated at 2 sigma
    assert np.abs(kernel).max() <= 2 * np.sqrt(2 / 4) / 0.8796256610342398 + 1e-6


def test_weights_are_stored_in_keras_layout():
    model = LSTMAutoencoder(5, seed=2)
    keras_model = model.to_keras()
    for mine, theirs in zip(model.get_weights(), keras_model.get_weights(), strict=True):
        np.testing.assert_array_equal(mine, theirs)


def test_set_weights_rejects_wrong_shapes():
    from core.errors import ModelError

    model = LSTMAutoencoder(5)
    bad = LSTMAutoencoder(8).get_weights()
    with pytest.raises(ModelError, match="shapes"):
        model.set_weights(bad)
