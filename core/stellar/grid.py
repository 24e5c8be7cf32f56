"""The (Teff, log g, [Fe/H]) grid on which inference evaluates the model, and the training stars' density on it.

Teff is spaced evenly in log Teff, log g and [Fe/H] linearly. The model is trusted only where it was
trained: :func:`training_density` counts the training stars per cell (smoothed by one cell), and inference
uses the cells above a density threshold (the seed's "region of validity", section 6).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import ConfigError, ModelError

DENSITY_NAME = "training_density.npz"


@dataclass(frozen=True)
class GridConfig:
    """Cell sizes: ``dlog_teff`` in dex, ``dlogg`` and ``dfeh`` in dex; ``min_count`` training stars
    (smoothed) for a cell to be used."""

    dlog_teff: float = 0.008
    dlogg: float = 0.2
    dfeh: float = 0.25
    min_count: float = 1.0

    def __post_init__(self) -> None:
        for name in ("dlog_teff", "dlogg", "dfeh"):
            if not getattr(self, name) > 0:
                raise ConfigError(f"GridConfig.{name} must be > 0, got {getattr(self, name)}")
        if self.min_count < 0:
            raise ConfigError(f"GridConfig.min_count must be >= 0, got {self.min_count}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ParameterGrid:
    """Cell centres along each axis (log10 Teff, log g, [Fe/H]) and the smoothed training counts per cell."""

    log_teff: np.ndarray
    logg: np.ndarray
    feh: np.ndarray
    counts: np.ndarray  # (n_teff, n_logg, n_feh)

    @property
    def shape(self) -> tuple[int, int, int]:
        return len(self.log_teff), len(self.logg), len(self.feh)

    @property
    def steps(self) -> np.ndarray:
        """Cell sizes (log Teff, log g, [Fe/H])."""
        return np.array([_step(self.log_teff), _step(self.logg), _step(self.feh)])

    def nodes(self, min_count: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Cells with at least ``min_count`` (smoothed) training stars: (theta (K, 3) in Teff/logg/feh,
        counts (K,), flat cell indices (K,))."""
        idx = np.flatnonzero(self.counts.ravel() >= min_count)
        if not idx.size:
            raise ModelError(f"no grid cell holds {min_count} training stars; lower the density threshold")
        it, ig, ifeh = np.unravel_index(idx, self.shape)
        theta = np.stack([10 ** self.log_teff[it], self.logg[ig], self.feh[ifeh]], axis=1)
        return theta, self.counts.ravel()[idx], idx

    def density_at(self, theta: np.ndarray) -> np.ndarray:
        """Smoothed training count of the cell each (Teff, log g, [Fe/H]) falls in, over the peak count
        (0 outside the grid or for NaN): the seed's "input density", a measure of the model's validity."""
        theta = np.asarray(theta, np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            vals = np.column_stack([np.log10(theta[:, 0]), theta[:, 1], theta[:, 2]])
        idx = []
        for k, axis in enumerate((self.log_teff, self.logg, self.feh)):
            i = np.round((vals[:, k] - axis[0]) / _step(axis))
            idx.append(np.where(np.isfinite(i), i, -1).astype(np.int64))
        ok = np.all([(i >= 0) & (i < n) for i, n in zip(idx, self.shape, strict=True)], axis=0)
        out = np.zeros(len(theta))
        out[ok] = self.counts[idx[0][ok], idx[1][ok], idx[2][ok]]
        return out / max(float(self.counts.max()), 1e-12)

    def save(self, directory: str | Path) -> None:
        np.savez(
            Path(directory) / DENSITY_NAME,
            log_teff=self.log_teff,
            logg=self.logg,
            feh=self.feh,
            counts=self.counts,
        )

    @classmethod
    def load(cls, directory: str | Path) -> ParameterGrid:
        path = Path(directory) / DENSITY_NAME
        if not path.exists():
            raise ModelError(f"{directory}: no {DENSITY_NAME} (the training stars' density); retrain the model")
        with np.load(path) as npz:
            return cls(npz["log_teff"], npz["logg"], npz["feh"], npz["counts"])


def _step(axis: np.ndarray) -> float:
    return float(axis[1] - axis[0]) if len(axis) > 1 else 1.0


def _axis(lo: float, hi: float, step: float) -> np.ndarray:
    n = max(int(np.ceil((hi - lo) / step)), 1)
    mid = 0.5 * (lo + hi)
    return mid + (np.arange(n) - (n - 1) / 2) * step


def training_density(theta: np.ndarray, config: GridConfig = GridConfig()) -> ParameterGrid:
    """Grid axes spanning the training labels (1st-99.9th percentile, padded a cell) and the counts per cell,
    smoothed with a 3x3x3 binomial kernel (a star's label is uncertain by about a cell)."""
    theta = np.asarray(theta, np.float64)
    ok = np.isfinite(theta).all(axis=1) & (theta[:, 0] > 0)
    theta = theta[ok]
    if len(theta) < 10:
        raise ModelError(f"need at least 10 labelled stars for the training density, got {len(theta)}")
    vals = np.column_stack([np.log10(theta[:, 0]), theta[:, 1], theta[:, 2]])
    steps = (config.dlog_teff, config.dlogg, config.dfeh)
    axes = []
    for k, st in enumerate(steps):
        lo, hi = np.percentile(vals[:, k], [0.1, 99.9])
        axes.append(_axis(lo - st, hi + st, st))
    edges = [np.concatenate([a - _step(a) / 2, [a[-1] + _step(a) / 2]]) for a in axes]
    counts, _ = np.histogramdd(vals, bins=edges)
    counts = _smooth(counts)
    return ParameterGrid(axes[0], axes[1], axes[2], counts)


def _smooth(counts: np.ndarray) -> np.ndarray:
    kernel = np.array([0.25, 0.5, 0.25])
    out = counts.astype(np.float64)
    for axis in range(3):
        pad = [(0, 0)] * 3
        pad[axis] = (1, 1)
        p = np.pad(out, pad)
        sl = [slice(None)] * 3
        parts = []
        for k in range(3):
            sl[axis] = slice(k, k + out.shape[axis])
            parts.append(kernel[k] * p[tuple(sl)])
        out = sum(parts)
    return out
