"""Seeded numpy versions of the Keras initialisers the paper uses (HeNormal, orthogonal, LSTM bias).

Drawing initial weights in numpy keeps model construction cheap and exactly reproducible from a seed;
the distributions are Keras 3's, not its random streams.
"""

from __future__ import annotations

import numpy as np

# std of a unit normal truncated to [-2, 2]; Keras divides by it so the truncated draw has the target std.
_TRUNC_STD = 0.87962566103423978


def he_normal(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    """Keras ``HeNormal``: truncated normal (2 sigma), std sqrt(2 / fan_in) with fan_in = shape[0]."""
    std = np.sqrt(2.0 / shape[0]) / _TRUNC_STD
    draw = rng.standard_normal(shape)
    bad = np.abs(draw) > 2.0
    while bad.any():
        draw[bad] = rng.standard_normal(int(bad.sum()))
        bad = np.abs(draw) > 2.0
    return (draw * std).astype(np.float32)


def orthogonal(rng: np.random.Generator, shape: tuple[int, int], gain: float = 1.0) -> np.ndarray:
    """Keras ``Orthogonal``: QR of a normal matrix, sign-fixed, transposed when wider than tall."""
    rows, cols = shape
    a = rng.standard_normal((max(rows, cols), min(rows, cols)))
    q, r = np.linalg.qr(a)
    q = q * np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return (gain * q).astype(np.float32)


def lstm_bias(units: int) -> np.ndarray:
    """Keras LSTM bias with ``unit_forget_bias=True``: zeros except ones for the forget gate (i, f, c, o)."""
    bias = np.zeros(4 * units, np.float32)
    bias[units : 2 * units] = 1.0
    return bias
