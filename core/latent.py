"""Latent-space geometry: a canonical orientation for a run's 2-D latent space, and run-to-run agreement.

A trained autoencoder's latent axes are arbitrary (any rotation or reflection of the latent plane
is an equally good solution), so every run looks different (the paper's Figure 3). We store, per
run, an orthogonal transform that puts the latent cloud into a canonical orientation:

* centre on the median of the cloud along the canonical axes (robust to outliers);
* rotate onto the principal axes of the centred cloud;
* the principal axis that correlates more strongly with colour (``g - i`` for PS1: first band
  minus third) becomes x, the other becomes y;
* signs: +x points to *redder* colour (hot left, cool right, as in the paper's figures) and +y to
  *brighter* first-band magnitude (decreasing ``g``: bright up).

Canonical coordinates are ``R @ (raw - offset)``. ``R`` is orthogonal, so distances are kept; its
determinant is +1 (a rotation) or -1 (a rotation plus a reflection), whichever the sign convention
needs, and is recorded in the card.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from core.errors import ModelError

__all__ = [
    "Rotation",
    "agreement_matrix",
    "canonical_rotation",
    "colour_index",
    "jaccard",
    "knn_r2",
    "neighbour_agreement",
]

# Mock-sky truth columns whose smoothness over the latent space the model card measures, when present.
TRUTH_PARAMETERS = ("true_teff", "true_feh", "true_mr")


@dataclass(frozen=True)
class Rotation:
    """An orthogonal 2x2 ``matrix`` and an ``offset``: canonical = ``matrix @ (raw - offset)``."""

    matrix: np.ndarray
    offset: np.ndarray

    def __post_init__(self) -> None:
        m = np.asarray(self.matrix, dtype=np.float64).reshape(2, 2)
        o = np.asarray(self.offset, dtype=np.float64).reshape(2)
        if not (np.all(np.isfinite(m)) and np.all(np.isfinite(o))):
            raise ModelError(f"latent rotation has non-finite entries: matrix={m.tolist()}, offset={o.tolist()}")
        object.__setattr__(self, "matrix", m)
        object.__setattr__(self, "offset", o)

    @classmethod
    def identity(cls) -> Rotation:
        return cls(np.eye(2), np.zeros(2))

    @property
    def determinant(self) -> float:
        return float(np.linalg.det(self.matrix))

    def apply(self, raw: np.ndarray) -> np.ndarray:
        """Raw latent (N, 2) -> canonical (N, 2)."""
        raw = np.asarray(raw, dtype=np.float64)
        return (raw - self.offset) @ self.matrix.T

    def invert(self, canonical: np.ndarray) -> np.ndarray:
        """Canonical (N, 2) -> raw latent (N, 2)."""
        canonical = np.asarray(canonical, dtype=np.float64)
        return canonical @ np.linalg.inv(self.matrix).T + self.offset

    def to_dict(self) -> dict[str, Any]:
        return {
            "matrix": self.matrix.tolist(),
            "offset": self.offset.tolist(),
            "determinant": round(self.determinant, 12),
            "convention": "canonical = matrix @ (raw - offset); +x redder colour, +y brighter first band",
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Rotation:
        try:
            return cls(np.asarray(d["matrix"], dtype=float), np.asarray(d["offset"], dtype=float))
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(f"model card has a malformed latent rotation {d!r}: {exc}") from exc


def colour_index(mags: np.ndarray) -> np.ndarray:
    """The colour that orders stars by temperature: band 0 minus band 2 (``g - i`` for PS1)."""
    mags = np.asarray(mags, dtype=np.float64)
    return mags[:, 0] - mags[:, min(2, mags.shape[1] - 1)]


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    a = a - a.mean()
    b = b - b.mean()
    denom = np.sqrt((a * a).sum() * (b * b).sum())
    return float((a * b).sum() / denom) if denom > 0 else 0.0


def canonical_rotation(latent: np.ndarray, mags: np.ndarray) -> Rotation:
    """The transform that puts ``latent`` (N, 2) into canonical orientation, using the stars' magnitudes.

    ``mags`` (N, n_bands, observed magnitudes, blue to red) fix the sign convention: +x along
    increasing colour (band 0 - band 2), +y along decreasing band-0 magnitude (brighter up).
    """
    z = np.asarray(latent, dtype=np.float64)
    mags = np.asarray(mags, dtype=np.float64)
    if z.ndim != 2 or z.shape[1] != 2:
        raise ModelError(f"latent coordinates must have shape (N, 2), got {z.shape}")
    if len(z) != len(mags):
        raise ModelError(f"latent has {len(z)} rows but magnitudes have {len(mags)}")
    ok = np.all(np.isfinite(z), axis=1) & np.all(np.isfinite(mags), axis=1)
    if ok.sum() < 3:
        raise ModelError(f"need at least 3 finite latent points to orient the latent space, got {int(ok.sum())}")
    z, mags = z[ok], mags[ok]
    mean = z.mean(axis=0)
    centred = z - mean
    _, vecs = np.linalg.eigh(np.cov(centred, rowvar=False))
    axes = vecs[:, ::-1].T  # rows: principal axes, largest variance first
    proj = centred @ axes.T
    colour = colour_index(mags)
    brightness = -mags[:, 0]
    c = [_corr(proj[:, k], colour) for k in range(2)]
    x_axis = 0 if abs(c[0]) >= abs(c[1]) else 1
    y_axis = 1 - x_axis
    ex = axes[x_axis] * (1.0 if c[x_axis] >= 0 else -1.0)
    ey = axes[y_axis] * (1.0 if _corr(proj[:, y_axis], brightness) >= 0 else -1.0)
    matrix = np.vstack([ex, ey])
    # The median is taken along the canonical axes (a plain per-coordinate median of the raw
    # latent would change under rotation), so the canonical cloud has median (0, 0).
    median = np.median(centred @ matrix.T, axis=0)
    return Rotation(matrix, mean + matrix.T @ median)


def _neighbours(points: np.ndarray, k: int) -> np.ndarray:
    """Indices (N, k) of each point's k nearest other points."""
    from scipy.spatial import cKDTree

    n = len(points)
    if n <= k:
        raise ModelError(f"need more than k={k} points for neighbour agreement, got {n}")
    _, idx = cKDTree(points).query(points, k=k + 1)
    own = idx == np.arange(n)[:, None]
    # With duplicate points the point itself may not come back; then drop the farthest instead.
    own[~own.any(axis=1), -1] = True
    return idx[~own].reshape(n, k)


def neighbour_agreement(latent_a: np.ndarray, latent_b: np.ndarray, k: int = 10) -> float:
    """Mean fraction of each star's ``k`` nearest latent neighbours that two embeddings share.

    Row ``j`` of both arrays must be the same star. 1.0 means identical neighbourhoods; for
    unrelated embeddings it falls to about ``k / N``.
    """
    a = np.asarray(latent_a, dtype=np.float64)
    b = np.asarray(latent_b, dtype=np.float64)
    if a.shape != b.shape:
        raise ModelError(f"latent arrays differ in shape: {a.shape} vs {b.shape}")
    na, nb = _neighbours(a, k), _neighbours(b, k)
    both = np.sort(np.concatenate([na, nb], axis=1), axis=1)
    shared = (both[:, 1:] == both[:, :-1]).sum(axis=1)  # each list is duplicate-free
    return float(shared.mean() / k)


def agreement_matrix(latents: list[np.ndarray], k: int = 10) -> np.ndarray:
    """Symmetric matrix of :func:`neighbour_agreement` between every pair of runs (1 on the diagonal)."""
    n = len(latents)
    out = np.eye(n)
    for i in range(n):
        for j in range(i + 1, n):
            out[i, j] = out[j, i] = neighbour_agreement(latents[i], latents[j], k=k)
    return out


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """|A & B| / |A | B| of two boolean masks over the same stars (1.0 when both are empty)."""
    a, b = np.asarray(a, bool), np.asarray(b, bool)
    union = int((a | b).sum())
    return float((a & b).sum() / union) if union else 1.0


def knn_r2(latent_fit: np.ndarray, y_fit: np.ndarray, latent_eval: np.ndarray, y_eval: np.ndarray,
           k: int = 10) -> float:
    """R^2 on held-out stars of predicting ``y`` as the mean over the ``k`` nearest latent neighbours.

    A smoothness score: a parameter that varies smoothly over the latent plane is predicted well from
    its neighbours (R^2 near 1); one scattered across it is not (R^2 near or below 0).
    """
    from scipy.spatial import cKDTree

    latent_fit, latent_eval = np.asarray(latent_fit, np.float64), np.asarray(latent_eval, np.float64)
    y_fit, y_eval = np.asarray(y_fit, np.float64), np.asarray(y_eval, np.float64)
    if len(latent_fit) < k or len(latent_eval) < 2:
        raise ModelError(f"knn_r2 needs at least k={k} fit and 2 evaluation stars, got {len(latent_fit)} and "
                         f"{len(latent_eval)}")
    _, idx = cKDTree(latent_fit).query(latent_eval, k=k)
    pred = y_fit[np.asarray(idx).reshape(len(latent_eval), k)].mean(axis=1)
    ss_tot = float(((y_eval - y_eval.mean()) ** 2).sum())
    return 1.0 - float(((y_eval - pred) ** 2).sum()) / ss_tot if ss_tot > 0 else float("nan")
