"""PCA with two components: the linear floor any 2-D-latent autoencoder should beat.

Fitted by SVD of the centred training set in float64; encode/decode are the linear projection and its
transpose. ``fit`` returns a one-entry History (training and validation reconstruction MSE).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from core.errors import ModelError
from core.models import fast
from core.models.base import LATENT_DIM, Autoencoder, EpochCallback, History, TrainConfig, register
from core.models.persist import load_arrays, save_arrays


@register
class PCA2(Autoencoder):
    """Principal components of the scaled magnitudes, keeping the first two."""

    name = "pca"

    def __init__(self, n_bands: int, seed: int = 41) -> None:
        super().__init__(n_bands, seed)
        self.mean = np.zeros(self.n_bands, np.float64)
        self.components = np.zeros((LATENT_DIM, self.n_bands), np.float64)
        self.components[:, :LATENT_DIM] = np.eye(LATENT_DIM)  # unfitted: first two bands
        self.history: History | None = None

    def fit(
        self,
        x_train: np.ndarray,
        x_val: np.ndarray,
        config: TrainConfig | None = None,
        *,
        progress: bool = True,
        on_epoch: EpochCallback | None = None,
    ) -> History:
        """Compute the components on ``x_train`` (``config`` and ``progress`` are irrelevant to PCA)."""
        x_train = fast.check_inputs(x_train, self.n_bands, "training set")
        x_val = fast.check_inputs(x_val, self.n_bands, "validation set")
        if len(x_train) < LATENT_DIM + 1:
            raise ModelError(f"PCA needs at least {LATENT_DIM + 1} training stars, got {len(x_train)}")
        t0 = time.perf_counter()
        xt = x_train.astype(np.float64)
        self.mean = xt.mean(axis=0)
        _, _, vt = np.linalg.svd(xt - self.mean, full_matrices=False)
        # sign convention: largest-|loading| entry of each component positive, so refits are reproducible
        signs = np.sign(vt[np.arange(len(vt)), np.argmax(np.abs(vt), axis=1)])
        self.components = (vt * signs[:, None])[:LATENT_DIM]
        hist = History(best_epoch=0, seconds=[time.perf_counter() - t0])
        hist.loss.append(self.evaluate(x_train))
        hist.val_loss.append(self.evaluate(x_val) if len(x_val) else float("nan"))
        if on_epoch is not None:
            on_epoch(0, hist.loss[0], hist.val_loss[0])
        self.history = hist
        return hist

    def encode(self, x: np.ndarray) -> np.ndarray:
        x = fast.check_inputs(x, self.n_bands, "input")
        return ((x - self.mean) @ self.components.T).astype(np.float32)

    def decode(self, z: np.ndarray) -> np.ndarray:
        z = np.asarray(z, np.float64)
        if z.ndim != 2 or z.shape[1] != LATENT_DIM:
            raise ModelError(f"decode needs latent coordinates of shape (N, {LATENT_DIM}), got {z.shape}")
        return (z @ self.components + self.mean).astype(np.float32)

    def reconstruct(self, x: np.ndarray) -> np.ndarray:
        x = fast.check_inputs(x, self.n_bands, "input").astype(np.float64)
        return ((x - self.mean) @ self.components.T @ self.components + self.mean).astype(np.float32)

    def get_weights(self) -> list[np.ndarray]:
        return [self.components.copy(), self.mean.copy()]

    def set_weights(self, weights: list[np.ndarray]) -> None:
        comps, mean = (np.asarray(w, np.float64) for w in weights)
        if comps.shape != (LATENT_DIM, self.n_bands) or mean.shape != (self.n_bands,):
            raise ModelError(f"pca weights must be components (2, {self.n_bands}) and mean ({self.n_bands},)")
        self.components, self.mean = comps, mean

    def save(self, directory: Path) -> None:
        save_arrays(self, Path(directory), ("pca",), ("components", "mean"))

    @classmethod
    def load(cls, directory: Path) -> PCA2:
        return load_arrays(cls, Path(directory), ("pca",), ("components", "mean"))
