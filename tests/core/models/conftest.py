"""Small scaled-magnitude arrays shared by the model tests."""

from __future__ import annotations

import os

# Halves XLA's compile time for these tiny graphs (runtime is unchanged); tests compile often, so it adds up.
os.environ.setdefault("XLA_FLAGS", "--xla_backend_optimization_level=1")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from core.bands import PS1  # noqa: E402
from core.models import scale  # noqa: E402
from tests._catalogs import make_catalog  # noqa: E402


@pytest.fixture(scope="module")
def mags5() -> np.ndarray:
    """3,000 stars' scaled grizy magnitudes (paper preprocessing)."""
    return scale(make_catalog(3000, seed=11, with_optional=False)[list(PS1.names)].to_numpy())


@pytest.fixture
def random_lstm_weights():
    """Random LSTM-AE weights larger than the initialisers' so every gate and state path is exercised."""

    def make(model, seed: int = 0) -> list[np.ndarray]:
        rng = np.random.default_rng(seed)
        return [rng.normal(0, 0.6, w.shape).astype(np.float32) for w in model.get_weights()]

    return make
