"""A tiny linear autoencoder for fast tests of training, scoring and reports (test scratch, not shipped).

It trains by real gradient descent with early stopping, so histories, best epochs and seeds behave
like the real models', but a whole run takes milliseconds.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from core.models.base import MODELS, Autoencoder, History, TrainConfig


class ToyLinearAE(Autoencoder):
    """x -> (x - mu) @ W -> z @ W.T + mu, W (n_bands, 2), fitted by full-batch gradient descent."""

    name = "toy-linear"

    def __init__(self, n_bands: int, seed: int = 41) -> None:
        super().__init__(n_bands, seed)
        rng = np.random.default_rng(seed)
        self.w = rng.normal(0, 0.5, (n_bands, 2))
        self.mu = np.zeros(n_bands)

    def fit(self, x_train, x_val, config=None, *, progress=True, on_epoch=None) -> History:
        config = config or TrainConfig()
        x_train = np.asarray(x_train, np.float64)
        x_val = np.asarray(x_val, np.float64)
        self.mu = x_train.mean(axis=0)
        xc = x_train - self.mu
        lr = 5.0 * config.learning_rate / 1e-4
        h = History()
        best_w, best = self.w.copy(), np.inf
        for epoch in range(config.max_epochs):
            err = xc @ self.w @ self.w.T - xc
            grad = 2 * (xc.T @ err @ self.w + err.T @ xc @ self.w) / xc.size
            self.w -= lr * grad
            loss, val = self.evaluate(x_train), self.evaluate(x_val)
            h.loss.append(loss)
            h.val_loss.append(val)
            h.seconds.append(0.0)
            if on_epoch:
                on_epoch(epoch, loss, val)
            if val < best:
                best, best_w, h.best_epoch = val, self.w.copy(), epoch
            elif epoch - h.best_epoch >= config.patience:
                h.stopped_early = True
                break
        self.w = best_w
        return h

    def encode(self, x):
        return ((np.asarray(x, np.float64) - self.mu) @ self.w).astype(np.float32)

    def decode(self, z):
        return (np.asarray(z, np.float64) @ self.w.T + self.mu).astype(np.float32)

    def save(self, directory: Path) -> None:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        np.savez(directory / "weights.npz", w=self.w, mu=self.mu)
        (directory / "model.json").write_text(json.dumps({"n_bands": self.n_bands, "seed": self.seed}))

    @classmethod
    def load(cls, directory: Path) -> ToyLinearAE:
        meta = json.loads((Path(directory) / "model.json").read_text())
        inst = cls(meta["n_bands"], meta["seed"])
        with np.load(Path(directory) / "weights.npz") as npz:
            inst.w, inst.mu = npz["w"], npz["mu"]
        return inst


@pytest.fixture
def toy_model(monkeypatch):
    """Register :class:`ToyLinearAE` as ``toy-linear`` for one test."""
    import core.models  # noqa: F401  (register the built-ins first)

    monkeypatch.setitem(MODELS, ToyLinearAE.name, ToyLinearAE)
    return ToyLinearAE.name
