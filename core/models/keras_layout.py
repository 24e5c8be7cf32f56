"""The paper's exact Keras graph (its appendix), and reading weights back out of such a graph.

The graph: ``Input(1, n)`` -> LSTM(4) -> LSTM(3) -> LSTM(2) (latent) -> RepeatVector(1) -> LSTM(3) started
from the 3-unit encoder layer's (h, c) -> LSTM(4) started from the 4-unit encoder layer's (h, c) -> LSTM(n),
all elu with sigmoid gates, HeNormal kernels and orthogonal recurrent kernels, Adam(1e-4) on MSE. The only
change from the appendix is that ``n`` comes from the data instead of being fixed at 5.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from core.errors import BandMismatchError, ModelError

if TYPE_CHECKING:
    import keras

ENCODER_UNITS = (4, 3, 2)
DECODER_UNITS = (3, 4)
LAYER_NAMES = (
    "encoder_lstm_4",
    "encoder_lstm_3",
    "latent_lstm_2",
    "decoder_lstm_3",
    "decoder_lstm_4",
    "output_lstm",
)


def lstm_units(n_bands: int) -> tuple[int, ...]:
    """Units of the six LSTM layers in graph order."""
    return (*ENCODER_UNITS, *DECODER_UNITS, n_bands)


def lstm_input_dims(n_bands: int) -> tuple[int, ...]:
    """Input width of each of the six LSTM layers (previous layer's units; the first sees the bands)."""
    units = lstm_units(n_bands)
    return (n_bands, *units[:-1])


def lstm_weight_shapes(n_bands: int) -> list[tuple[int, ...]]:
    """Keras LSTM weight shapes, flattened in graph order: kernel (in, 4u), recurrent (u, 4u), bias (4u,)."""
    shapes: list[tuple[int, ...]] = []
    for d, u in zip(lstm_input_dims(n_bands), lstm_units(n_bands), strict=True):
        shapes += [(d, 4 * u), (u, 4 * u), (4 * u,)]
    return shapes


def build_paper_model(n_bands: int, seed: int | None = None, compile: bool = True) -> keras.Model:
    """The appendix's ``LSTMAutoencoder.model`` for ``n_bands`` bands (Keras initialisers, optionally seeded)."""
    import keras
    from keras.initializers import HeNormal
    from keras.layers import LSTM, Input, RepeatVector

    def lstm(units: int, name: str, k: int, **kw) -> LSTM:
        return LSTM(
            units,
            activation="elu",
            kernel_initializer=HeNormal(seed=None if seed is None else seed + k),
            recurrent_initializer=keras.initializers.Orthogonal(
                seed=None if seed is None else seed + 100 + k
            ),
            name=name,
            **kw,
        )

    inputs = Input(shape=(1, n_bands), name="photometry")
    x, h1, c1 = lstm(4, LAYER_NAMES[0], 0, return_state=True, return_sequences=True)(inputs)
    x, h2, c2 = lstm(3, LAYER_NAMES[1], 1, return_state=True, return_sequences=True)(x)
    x, _h3, _c3 = lstm(2, LAYER_NAMES[2], 2, return_state=True, return_sequences=False)(x)
    x = RepeatVector(1, name="repeat")(x)
    x = lstm(3, LAYER_NAMES[3], 3, return_sequences=True)(x, initial_state=[h2, c2])
    x = lstm(4, LAYER_NAMES[4], 4, return_sequences=True)(x, initial_state=[h1, c1])
    outputs = lstm(n_bands, LAYER_NAMES[5], 5, return_sequences=True)(x)
    model = keras.Model(inputs, outputs, name="lstm_autoencoder")
    if compile:
        model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-4), loss="mse")
    return model


def paper_encoder(model: keras.Model) -> keras.Model:
    """The appendix's ``self.encoder``: input -> latent (first output) of a paper-layout model."""
    import keras

    layers = _lstm_layers(model)
    return keras.Model(model.inputs, layers[2].output[0])


def _lstm_layers(model: keras.Model) -> list:
    import keras

    return [layer for layer in model.layers if isinstance(layer, keras.layers.LSTM)]


def _state_sources(layer) -> list[tuple[str, int]]:
    """(producing layer name, output index) of each input tensor of ``layer``'s first call."""
    node = layer._inbound_nodes[0]  # Keras 3 functional graph; no public accessor for call arguments
    return [(t._keras_history.operation.name, int(t._keras_history.tensor_index)) for t in node.input_tensors]


def _check_state_links(layers: list, source: str) -> None:
    """Decoder LSTM(3) must start from encoder LSTM(3)'s (h, c) and decoder LSTM(4) from encoder LSTM(4)'s."""
    for dec, enc in ((3, 1), (4, 0)):
        want = [(layers[enc].name, 1), (layers[enc].name, 2)]
        try:
            got = _state_sources(layers[dec])[1:]
        except (AttributeError, IndexError) as exc:  # pragma: no cover - depends on Keras internals
            raise ModelError(
                f"{source}: cannot inspect the graph wiring of {layers[dec].name!r} ({exc})"
            ) from exc
        if got != want:
            raise ModelError(
                f"{source}: not the paper's LSTM-AE layout: decoder layer {layers[dec].name!r} must start from "
                f"the (h, c) states of encoder layer {layers[enc].name!r}, but its extra inputs are {got}"
            )


def load_keras_model(path_or_model: str | Path | keras.Model) -> keras.Model:
    """A Keras model object, loading ``.keras`` / ``.h5`` files without compiling; clear errors on failure."""
    import keras

    if isinstance(path_or_model, keras.Model):
        return path_or_model
    path = Path(path_or_model)
    if not path.exists():
        raise ModelError(f"Keras model file not found: {path}")
    if path.suffix not in (".keras", ".h5", ".hdf5"):
        raise ModelError(f"{path}: expected a .keras (or legacy .h5) file")
    try:
        return keras.models.load_model(path, compile=False)
    except Exception as exc:  # Keras raises many types for unreadable/foreign files
        raise ModelError(f"{path}: could not be read as a Keras model ({type(exc).__name__}: {exc})") from exc


def weights_from_keras(
    model: keras.Model, n_bands: int | None = None, source: str = "model"
) -> list[np.ndarray]:
    """The 18 LSTM weight arrays of a paper-layout model, in graph order, after checking the layout.

    Layers are matched by order and shape, not name, so files saved by the paper's own script (Keras'
    default names ``lstm``, ``lstm_1``...) import too. Raises :class:`ModelError` when the graph is not
    the paper's, and :class:`BandMismatchError` when it was built for a different number of bands.
    """
    layers = _lstm_layers(model)
    if len(layers) != 6:
        raise ModelError(
            f"{source}: not the paper's LSTM-AE layout: expected 6 LSTM layers, found {len(layers)} "
            f"({', '.join(type(x).__name__ for x in model.layers)})"
        )
    file_bands = int(layers[-1].units)
    if n_bands is not None and file_bands != n_bands:
        raise BandMismatchError(
            f"{source}: this LSTM-AE was trained on {file_bands} bands but {n_bands} were expected"
        )
    units = tuple(int(layer.units) for layer in layers)
    if units != lstm_units(file_bands):
        raise ModelError(f"{source}: LSTM units {units} are not the paper's {lstm_units(file_bands)}")
    for layer in layers:
        act = getattr(layer.activation, "__name__", str(layer.activation))
        rec = getattr(layer.recurrent_activation, "__name__", str(layer.recurrent_activation))
        if act != "elu" or rec != "sigmoid" or not layer.use_bias:
            raise ModelError(
                f"{source}: layer {layer.name!r} uses activation={act}, recurrent_activation={rec}, "
                f"use_bias={layer.use_bias}; the paper's layout is elu / sigmoid / bias"
            )
    weights = [np.asarray(w, np.float32) for layer in layers for w in layer.get_weights()]
    expected = lstm_weight_shapes(file_bands)
    got = [w.shape for w in weights]
    if got != expected:
        raise ModelError(f"{source}: LSTM weight shapes {got} differ from the paper layout's {expected}")
    _check_state_links(layers, source)
    in_shape = tuple(model.inputs[0].shape)
    if in_shape[-2:] != (1, file_bands):
        raise ModelError(f"{source}: input shape {in_shape} is not (None, 1, {file_bands})")
    return weights
