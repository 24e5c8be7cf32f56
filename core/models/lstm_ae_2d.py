"""The LSTM-AE with a true 2-D bottleneck: the decoder sees only the latent coordinates.

The paper's decoder starts its 3- and 4-unit layers from the encoder's memory states, so 14 numbers besides
the 2-D latent reach it (:mod:`core.models.lstm_ae`). Here those initial states are computed from the latent
alone, each by a one-step LSTM cell that reads only the latent (``state_lstm_3`` gives the decoder's 3-unit
layer its ``(h, c)``, ``state_lstm_4`` the 4-unit layer's). Everything else is the paper's: encoder LSTM
4-3-2 over the bands in wavelength order, decoder LSTM 3-4-n with elu activations and sigmoid gates,
HeNormal / orthogonal initialisers, Adam on MSE. The two state cells add 84 working weights to the paper's
488 (stored: 888 vs 704, since Keras keeps recurrent kernels that a zero initial state never uses).

Because ``decode(z)`` depends on ``z`` only, decoding a latent position is exact, and two stars at the same
latent position get the same reconstruction.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import tensorflow as tf

from core.errors import ModelError
from core.models import fast
from core.models.base import History, register
from core.models.initializers import he_normal, lstm_bias, orthogonal
from core.models.lstm_cells import DATA, Cell, CellGraph
from core.models.persist import load_arrays, save_arrays

if TYPE_CHECKING:
    import keras

LAYER_NAMES = (
    "encoder_lstm_4",
    "encoder_lstm_3",
    "latent_lstm_2",
    "state_lstm_3",
    "state_lstm_4",
    "decoder_lstm_3",
    "decoder_lstm_4",
    "output_lstm",
)
LATENT = 2  # index of the latent cell
DECODER = (3, 4, 5, 6, 7)


def bottleneck_cells(n_bands: int) -> tuple[Cell, ...]:
    """Encoder 4-3-2; state cells 3 and 4 read only the latent; decoder 3-4-n starts from their states."""
    return (
        Cell(4, (DATA,)),
        Cell(3, (0,)),
        Cell(2, (1,)),
        Cell(3, (LATENT,)),
        Cell(4, (LATENT,)),
        Cell(3, (LATENT,), state=3),
        Cell(4, (5,), state=4),
        Cell(n_bands, (6,)),
    )


def _flat(p) -> tf.Tensor:
    return tf.concat([tf.reshape(w, [-1]) for w in p], axis=0)


def forward_graph(p, x: tf.Tensor) -> tf.Tensor:
    """Batch-major reconstruction by :func:`bottleneck_cells` (the engine's generic path and tests call it)."""
    graph = CellGraph(bottleneck_cells(int(x.shape[-1])), int(x.shape[-1]))
    return tf.transpose(graph.reconstruct(_flat(p), tf.transpose(x)))


def _encode(p, x, graph: CellGraph):
    return tf.transpose(graph.forward(_flat(p), tf.transpose(x), upto=LATENT)[0][LATENT])


def _decode(p, z, graph: CellGraph):
    return tf.transpose(graph.forward(_flat(p), None, given={LATENT: tf.transpose(z)})[0][graph.output])


def _score(p, x, graph: CellGraph):
    hs, _, _ = graph.forward(_flat(p), tf.transpose(x))
    return tf.transpose(hs[LATENT]), tf.transpose(hs[graph.output])


# The graph is a static (hashable) argument: one compiled program per graph and chunk size.
_encode_fn = tf.function(_encode, jit_compile=True, autograph=False)
_decode_fn = tf.function(_decode, jit_compile=True, autograph=False)
_score_fn = tf.function(_score, jit_compile=True, autograph=False)


@register
class BottleneckLSTMAutoencoder(fast.CompiledAutoencoder):
    """LSTM-AE 4-3-2 / 3-4-n whose decoder states come from the 2-D latent alone (LSTM state cells)."""

    name = "lstm-ae-2d"
    forward_graph = staticmethod(forward_graph)
    cells = staticmethod(bottleneck_cells)

    def __init__(self, n_bands: int, seed: int = 41) -> None:
        super().__init__(n_bands, seed)
        rng = np.random.default_rng(self.seed)
        shapes = iter(self.weight_shapes())
        weights: list[np.ndarray] = []
        for cell in self.cell_graph().cells:
            if cell.kind == "affine":
                kernel, bias = next(shapes), next(shapes)
                weights += [he_normal(rng, kernel), np.zeros(bias, np.float32)]
            else:
                (d, g), (u, _), _ = next(shapes), next(shapes), next(shapes)
                weights += [he_normal(rng, (d, g)), orthogonal(rng, (u, g)), lstm_bias(u)]
        self._weights = weights
        self.history: History | None = None

    def weight_shapes(self) -> list[tuple[int, ...]]:
        return self.cell_graph().shapes

    def cell_graph(self) -> CellGraph:
        return CellGraph(type(self).cells(self.n_bands), self.n_bands)

    def architecture(self) -> str:
        return (
            "LSTM-AE with a true 2-D bottleneck: encoder LSTM 4-3-2; the decoder LSTM 3-4-n starts from "
            "states computed from the latent alone by one-step LSTM cells of 3 and 4 units"
        )

    # -- inference ----------------------------------------------------------------------------------------
    def encode(self, x: np.ndarray) -> np.ndarray:
        x = fast.check_inputs(x, self.n_bands, "input")
        return fast.run_chunked(functools.partial(_encode_fn, graph=self.cell_graph()), self._tensors(), x)[0]

    def decode(self, z: np.ndarray) -> np.ndarray:
        """Exact reconstruction from latent coordinates alone (N, 2) -> (N, n_bands)."""
        z = np.asarray(z, np.float32)
        if z.ndim != 2 or z.shape[1] != 2:
            raise ModelError(f"decode needs latent coordinates of shape (N, 2), got {z.shape}")
        if not np.isfinite(z).all():
            raise ModelError("decode: latent coordinates contain NaN or infinite values")
        return fast.run_chunked(functools.partial(_decode_fn, graph=self.cell_graph()), self._tensors(), z)[0]

    def score(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Latent (N, 2) and reconstruction (N, n_bands) in one compiled pass."""
        x = fast.check_inputs(x, self.n_bands, "input")
        z, recon = fast.run_chunked(functools.partial(_score_fn, graph=self.cell_graph()), self._tensors(), x)
        return z, recon

    def reconstruct(self, x: np.ndarray) -> np.ndarray:
        return self.score(x)[1]

    # -- persistence ----------------------------------------------------------------------------------------
    def save(self, directory: Path) -> None:
        save_arrays(self, Path(directory), LAYER_NAMES, ("kernel", "recurrent_kernel", "bias"))

    @classmethod
    def load(cls, directory: Path) -> BottleneckLSTMAutoencoder:
        return load_arrays(cls, Path(directory), LAYER_NAMES, ("kernel", "recurrent_kernel", "bias"))

    # -- Keras ----------------------------------------------------------------------------------------------
    def to_keras(self) -> keras.Model:
        """The same network as a Keras functional graph of LSTM layers, holding these weights."""
        import keras
        from keras.layers import LSTM, Input, RepeatVector

        def lstm(units: int, name: str, **kw) -> LSTM:
            return LSTM(units, activation="elu", name=name, **kw)

        inputs = Input(shape=(1, self.n_bands), name="photometry")
        x = lstm(4, LAYER_NAMES[0], return_sequences=True)(inputs)
        x = lstm(3, LAYER_NAMES[1], return_sequences=True)(x)
        z = lstm(2, LAYER_NAMES[2])(x)
        zs = RepeatVector(1, name="repeat")(z)
        _, h3, c3 = lstm(3, LAYER_NAMES[3], return_state=True)(zs)
        _, h4, c4 = lstm(4, LAYER_NAMES[4], return_state=True)(zs)
        x = lstm(3, LAYER_NAMES[5], return_sequences=True)(zs, initial_state=[h3, c3])
        x = lstm(4, LAYER_NAMES[6], return_sequences=True)(x, initial_state=[h4, c4])
        outputs = lstm(self.n_bands, LAYER_NAMES[7], return_sequences=True)(x)
        model = keras.Model(inputs, outputs, name="lstm_autoencoder_2d")
        model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-4), loss="mse")
        w = self.get_weights()
        for k, name in enumerate(LAYER_NAMES):  # Keras orders a graph's weights by its own traversal
            model.get_layer(name).set_weights(w[3 * k : 3 * k + 3])
        return model
