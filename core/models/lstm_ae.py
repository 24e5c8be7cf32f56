"""The paper's LSTM autoencoder, computed as fused single-timestep matrix ops and trained by the compiled engine.

With one timestep every LSTM layer is a fixed function: gates ``z = x @ kernel + h0 @ recurrent + bias``
split as (i, f, c, o), ``c = sigmoid(f) * c0 + sigmoid(i) * elu(z_c)``, ``h = sigmoid(o) * elu(c)``.
Encoder layers and the output layer start from zero state, so their recurrent kernels never matter; the
decoder's 3- and 4-unit layers start from the encoder's 3- and 4-unit (h, c) and use theirs. Because of
those state links, a reconstruction depends on 14 encoder memory values besides the 2 latent coordinates
(:meth:`LSTMAutoencoder.encode_with_states`). Weights live in Keras' own LSTM layout, so
:meth:`~LSTMAutoencoder.to_keras` / :meth:`~LSTMAutoencoder.from_keras` are plain copies.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import tensorflow as tf

from core.errors import ModelError, OutputExistsError
from core.models import fast, keras_layout
from core.models.base import History, register
from core.models.initializers import he_normal, lstm_bias, orthogonal
from core.models.lstm_cells import DATA, Cell, CellGraph
from core.models.persist import load_arrays, save_arrays

if TYPE_CHECKING:
    import keras


# The appendix's graph as cells: encoder 4-3-2, decoder 3 and 4 started from the encoder's 3- and 4-unit
# states, output layer of n units (its width is set per band count by :func:`paper_cells`).
def paper_cells(n_bands: int) -> tuple[Cell, ...]:
    """The paper's six LSTM layers as a cell graph (same order as the Keras layers and weights)."""
    return (
        Cell(4, (DATA,)),
        Cell(3, (0,)),
        Cell(2, (1,)),
        Cell(3, (2,), state=1),
        Cell(4, (3,), state=0),
        Cell(n_bands, (4,)),
    )


def _cell(z: tf.Tensor, c0: tf.Tensor | None) -> tuple[tf.Tensor, tf.Tensor]:
    """One LSTM step from pre-activations ``z`` (gate order i, f, c, o); returns (h, c)."""
    i, f, g, o = tf.split(z, 4, axis=-1)
    c = tf.sigmoid(i) * tf.nn.elu(g)
    if c0 is not None:
        c = tf.sigmoid(f) * c0 + c
    return tf.sigmoid(o) * tf.nn.elu(c), c


def encode_graph(p: Sequence[tf.Tensor], x: tf.Tensor) -> tuple[tf.Tensor, tuple[tf.Tensor, ...]]:
    """Encoder: scaled magnitudes -> (latent, (h1, c1, h2, c2))."""
    h1, c1 = _cell(x @ p[0] + p[2], None)
    h2, c2 = _cell(h1 @ p[3] + p[5], None)
    z, _ = _cell(h2 @ p[6] + p[8], None)
    return z, (h1, c1, h2, c2)


def decode_graph(p: Sequence[tf.Tensor], z: tf.Tensor, states: Sequence[tf.Tensor]) -> tf.Tensor:
    """Decoder: latent plus the encoder's (h1, c1, h2, c2) -> reconstructed scaled magnitudes."""
    h1, c1, h2, c2 = states
    d1, _ = _cell(z @ p[9] + h2 @ p[10] + p[11], c2)
    d2, _ = _cell(d1 @ p[12] + h1 @ p[13] + p[14], c1)
    out, _ = _cell(d2 @ p[15] + p[17], None)
    return out


def forward_graph(p: Sequence[tf.Tensor], x: tf.Tensor) -> tf.Tensor:
    z, states = encode_graph(p, x)
    return decode_graph(p, z, states)


def _encode_states_graph(p, x):
    z, states = encode_graph(p, x)
    return z, tf.concat(states, axis=-1)


def _score_graph(p, x):
    z, states = encode_graph(p, x)
    return z, decode_graph(p, z, states)


def _decode_flat(p, z, s):
    return decode_graph(p, z, (s[:, 0:4], s[:, 4:8], s[:, 8:11], s[:, 11:14]))


_score_fn = tf.function(_score_graph, jit_compile=True)
_encode_states_fn = tf.function(_encode_states_graph, jit_compile=True)
_decode_fn = tf.function(_decode_flat, jit_compile=True)


@register
class LSTMAutoencoder(fast.CompiledAutoencoder):
    """The paper's LSTM-AE (encoder LSTM 4-3-2, decoder LSTM 3-4-n with shared memory states)."""

    name = "lstm-ae"
    forward_graph = staticmethod(forward_graph)

    def __init__(self, n_bands: int, seed: int = 41) -> None:
        super().__init__(n_bands, seed)
        rng = np.random.default_rng(self.seed)
        weights: list[np.ndarray] = []
        for d, u in zip(keras_layout.lstm_input_dims(n_bands), keras_layout.lstm_units(n_bands), strict=True):
            weights += [he_normal(rng, (d, 4 * u)), orthogonal(rng, (u, 4 * u)), lstm_bias(u)]
        self._weights = weights
        self.history: History | None = None

    # -- weights --------------------------------------------------------------------------------------
    def weight_shapes(self) -> list[tuple[int, ...]]:
        return keras_layout.lstm_weight_shapes(self.n_bands)

    def cell_graph(self) -> CellGraph:
        return CellGraph(paper_cells(self.n_bands), self.n_bands)


    def get_weights(self) -> list[np.ndarray]:
        """Copies of the 18 arrays in Keras order (per layer: kernel, recurrent_kernel, bias)."""
        return [w.copy() for w in self._weights]


    # -- inference ----------------------------------------------------------------------------------------
    def encode_with_states(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Latent (N, 2) and the encoder memory passed to the decoder, (N, 14) = [h1(4), c1(4), h2(3), c2(3)]."""
        x = fast.check_inputs(x, self.n_bands, "input")
        z, states = fast.run_chunked(_encode_states_fn, self._tensors(), x)
        return z, states

    def encode(self, x: np.ndarray) -> np.ndarray:
        return self.encode_with_states(x)[0]

    def decode(self, z: np.ndarray, states: np.ndarray | None = None) -> np.ndarray:
        """Reconstruct from latent coordinates plus the encoder memory from :meth:`encode_with_states`.

        The paper's decoder starts from the encoder's (h, c) states, so two latent numbers alone do not
        determine a reconstruction; use :meth:`reconstruct` for the full pass.
        """
        if states is None:
            raise ModelError(
                "lstm-ae cannot decode latent coordinates alone: its decoder starts from the encoder's "
                "memory states (paper appendix); pass states from encode_with_states() or use reconstruct()"
            )
        z = np.asarray(z, np.float32)
        states = np.asarray(states, np.float32)
        if z.ndim != 2 or z.shape[1] != 2 or states.shape != (len(z), 14):
            raise ModelError(f"decode needs z (N, 2) and states (N, 14); got {z.shape} and {states.shape}")
        return fast.run_chunked(_decode_fn, self._tensors(), z, states)[0]

    def score(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Latent (N, 2) and reconstruction (N, n_bands) in one compiled pass."""
        x = fast.check_inputs(x, self.n_bands, "input")
        z, recon = fast.run_chunked(_score_fn, self._tensors(), x)
        return z, recon

    def reconstruct(self, x: np.ndarray) -> np.ndarray:
        return self.score(x)[1]

    # -- persistence ----------------------------------------------------------------------------------------
    def save(self, directory: Path) -> None:
        """``weights.npz`` (Keras layout, named by layer) plus ``model.json``; refuses to overwrite."""
        save_arrays(self, Path(directory), keras_layout.LAYER_NAMES, ("kernel", "recurrent_kernel", "bias"))

    @classmethod
    def load(cls, directory: Path) -> LSTMAutoencoder:
        return load_arrays(
            cls, Path(directory), keras_layout.LAYER_NAMES, ("kernel", "recurrent_kernel", "bias")
        )

    # -- Keras interoperability ----------------------------------------------------------------------------
    def to_keras(self, compile: bool = True) -> keras.Model:
        """The paper's Keras graph (appendix layout) holding these exact weights."""
        model = keras_layout.build_paper_model(self.n_bands, seed=self.seed, compile=compile)
        model.set_weights(self.get_weights())
        return model

    def save_keras(self, path: Path, overwrite: bool = False) -> Path:
        """Write the paper-layout model as a ``.keras`` file (refuses to overwrite unless asked)."""
        path = Path(path)
        if path.suffix != ".keras":
            raise ModelError(f"{path}: Keras 3 files must end in .keras")
        if path.exists() and not overwrite:
            raise OutputExistsError(f"{path} exists; pass overwrite=True to replace it")
        path.parent.mkdir(parents=True, exist_ok=True)
        self.to_keras(compile=True).save(path)
        return path

    @classmethod
    def from_keras(
        cls, path_or_model: str | Path | keras.Model, n_bands: int | None = None, seed: int = 41
    ) -> LSTMAutoencoder:
        """Import a paper-layout Keras model (object or ``.keras``/``.h5`` file), checking its layout."""
        source = (
            str(path_or_model)
            if isinstance(path_or_model, str | Path)
            else f"Keras model {path_or_model.name!r}"
        )
        model = keras_layout.load_keras_model(path_or_model)
        weights = keras_layout.weights_from_keras(model, n_bands=n_bands, source=source)
        inst = cls(n_bands=weights[-1].shape[0] // 4, seed=seed)
        inst.set_weights(weights)
        return inst
