"""The paper's Figure 2 baseline: a plain autoencoder of the LSTM-AE's widths without LSTM units.

Dense 4 -> 3 -> 2 (latent) -> 3 -> 4 -> n_bands, elu everywhere, HeNormal kernels, zero biases; trained
with the same loss, optimiser and early stopping as the LSTM-AE, through the same compiled engine. Unlike
the LSTM-AE its decoder depends only on the 2 latent coordinates.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import tensorflow as tf

from core.errors import ModelError
from core.models import fast
from core.models.base import History, register
from core.models.initializers import he_normal
from core.models.persist import load_arrays, save_arrays

if TYPE_CHECKING:
    import keras

HIDDEN = (4, 3, 2, 3, 4)
LAYER_NAMES = ("dense_4", "dense_3", "latent_2", "dense_3_dec", "dense_4_dec", "output")
_LATENT_LAYER = 2  # index of the layer whose output is the latent space


def _layers(p: Sequence[tf.Tensor], x: tf.Tensor, first: int, last: int) -> tf.Tensor:
    for k in range(first, last):
        x = tf.nn.elu(x @ p[2 * k] + p[2 * k + 1])
    return x


def forward_graph(p: Sequence[tf.Tensor], x: tf.Tensor) -> tf.Tensor:
    return _layers(p, x, 0, len(HIDDEN) + 1)


def _encode(p, x):
    return _layers(p, x, 0, _LATENT_LAYER + 1)


def _decode(p, z):
    return _layers(p, z, _LATENT_LAYER + 1, len(HIDDEN) + 1)


_encode_fn = tf.function(_encode, jit_compile=True)
_decode_fn = tf.function(_decode, jit_compile=True)


@register
class DenseAutoencoder(fast.CompiledAutoencoder):
    """Dense 4-3-2-3-4-n autoencoder (elu, HeNormal), the paper's non-LSTM comparison."""

    name = "dense-ae"
    forward_graph = staticmethod(forward_graph)

    def __init__(self, n_bands: int, seed: int = 41) -> None:
        super().__init__(n_bands, seed)
        rng = np.random.default_rng(self.seed)
        self._weights: list[np.ndarray] = []
        for d, u in self._dims():
            self._weights += [he_normal(rng, (d, u)), np.zeros(u, np.float32)]
        self.history: History | None = None

    def _dims(self) -> list[tuple[int, int]]:
        widths = (self.n_bands, *HIDDEN, self.n_bands)
        return list(zip(widths[:-1], widths[1:], strict=True))

    def weight_shapes(self) -> list[tuple[int, ...]]:
        return [s for d, u in self._dims() for s in ((d, u), (u,))]


    def get_weights(self) -> list[np.ndarray]:
        """Copies in Keras Dense order (per layer: kernel (in, out), bias (out,))."""
        return [w.copy() for w in self._weights]


    def encode(self, x: np.ndarray) -> np.ndarray:
        x = fast.check_inputs(x, self.n_bands, "input")
        return fast.run_chunked(_encode_fn, self._tensors(), x)[0]

    def decode(self, z: np.ndarray) -> np.ndarray:
        z = np.asarray(z, np.float32)
        if z.ndim != 2 or z.shape[1] != 2:
            raise ModelError(f"decode needs latent coordinates of shape (N, 2), got {z.shape}")
        return fast.run_chunked(_decode_fn, self._tensors(), z)[0]

    def save(self, directory: Path) -> None:
        save_arrays(self, Path(directory), LAYER_NAMES, ("kernel", "bias"))

    @classmethod
    def load(cls, directory: Path) -> DenseAutoencoder:
        return load_arrays(cls, Path(directory), LAYER_NAMES, ("kernel", "bias"))

    def to_keras(self) -> keras.Model:
        """The same network as a Keras ``Sequential`` of Dense layers (for comparison and export)."""
        import keras

        layers = [keras.Input(shape=(self.n_bands,))]
        layers += [
            keras.layers.Dense(u, activation="elu", name=LAYER_NAMES[k])
            for k, (_, u) in enumerate(self._dims())
        ]
        model = keras.Sequential(layers, name="dense_autoencoder")
        model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-4), loss="mse")
        model.set_weights(self.get_weights())
        return model
