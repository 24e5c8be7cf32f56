"""dm-dt images: per star and band, the distribution of magnitude differences against time differences.

The binning is the seed's (Huijse et al. 2025, as in their public poster code): time-difference edges
at 1 / (4e-4, 1e-3, 1/500, 1/200, 1e-2, 1/50, 1/20, 0.5, 3, 8, 25) days (10 bins; shorter and longer
differences go to the first and last bin), and |dm| of magnitudes standardised by the band's mean
and standard deviation in 20 bins from 0 to 3 (the last one open). Each dt column is normalised to
p(dm | dt), with an uncertainty sqrt(1 / pairs in the column); empty columns are masked, and so is a
band with fewer than 2 detections or no scatter. The standard deviation that was divided out is kept
(``scale``): the seed's standardisation removes the amplitude, which the model gets back from it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.epochs import PackedEpochs

__all__ = ["DM_EDGES", "DT_EDGES", "DmDt", "dmdt"]

SEED_FREQUENCY_EDGES = np.array([4e-4, 1e-3, 1 / 500, 1 / 200, 1e-2, 1 / 50, 1 / 20, 0.5, 3, 8, 25])
DT_EDGES = np.sort(1.0 / SEED_FREQUENCY_EDGES)
DM_EDGES = np.concatenate([np.linspace(0.0, 3.0, 20), [np.inf]])
N_DT = len(DT_EDGES) - 1
N_DM = len(DM_EDGES) - 1


@dataclass
class DmDt:
    """``prob`` (n, bands, N_DM, N_DT) p(|dm| | dt); ``unc`` (n, bands, N_DT); ``col_mask`` (n, bands, N_DT)
    true where a dt column holds pairs; ``band_mask`` (n, bands) true where the band was usable."""

    prob: np.ndarray
    unc: np.ndarray
    col_mask: np.ndarray
    band_mask: np.ndarray
    scale: np.ndarray | None = None  # (n, bands) the standard deviation divided out (mag); 0 where masked

    @property
    def star_mask(self) -> np.ndarray:
        return self.band_mask.any(axis=1)


def _kernel():
    from numba import njit, prange

    @njit(cache=True, parallel=True)
    def run(band_start, t, m, e, dt_edges, dm_edges, standardise, counts, band_ok, band_std):  # pragma: no cover
        n_obj, nb1 = band_start.shape
        n_dt = len(dt_edges) - 1
        n_dm = len(dm_edges) - 1
        for k in prange(n_obj):
            for b in range(nb1 - 1):
                lo = band_start[k, b]
                hi = band_start[k, b + 1]
                n = 0
                mean = 0.0
                for i in range(lo, hi):
                    if e[i] < 5.0:  # epochs with err >= 5 mag are outliers (core.features.lightcurves.clip_outliers)
                        mean += m[i]
                        n += 1
                if n < 2:
                    continue
                mean /= n
                var = 0.0
                for i in range(lo, hi):
                    if e[i] < 5.0:
                        var += (m[i] - mean) ** 2
                std = np.sqrt(var / (n - 1))
                scale = std if standardise else 1.0
                if scale <= 0.0:
                    continue
                band_ok[k, b] = True
                band_std[k, b] = std
                for i in range(lo, hi):
                    if e[i] >= 5.0:
                        continue
                    for j in range(i + 1, hi):
                        if e[j] >= 5.0:
                            continue
                        dt = abs(t[j] - t[i])
                        dm = abs(m[j] - m[i]) / scale
                        it = np.searchsorted(dt_edges, dt, side="right") - 1
                        it = min(max(it, 0), n_dt - 1)
                        im = np.searchsorted(dm_edges, dm, side="right") - 1
                        im = min(max(im, 0), n_dm - 1)
                        counts[k, b, im, it] += 1.0

    return run


_RUN = None


def dmdt(
    packed: PackedEpochs,
    *,
    dt_edges: np.ndarray = DT_EDGES,
    dm_edges: np.ndarray = DM_EDGES,
    standardise: bool = True,
) -> DmDt:
    """dm-dt images of every star of ``packed`` (see the module docstring)."""
    global _RUN
    if _RUN is None:
        _RUN = _kernel()
    n_b = packed.counts.shape[1]
    n_dt, n_dm = len(dt_edges) - 1, len(dm_edges) - 1
    counts = np.zeros((packed.n_objects, n_b, n_dm, n_dt))
    band_ok = np.zeros((packed.n_objects, n_b), bool)
    band_std = np.zeros((packed.n_objects, n_b))
    if packed.n_objects:
        _RUN(packed.band_start, packed.mjd, packed.mag, packed.err, np.asarray(dt_edges, float), np.asarray(dm_edges, float),
             standardise, counts, band_ok, band_std)
    col = counts.sum(axis=2)
    with np.errstate(invalid="ignore", divide="ignore"):
        prob = np.where(col[:, :, None, :] > 0, counts / col[:, :, None, :], 0.0)
        unc = np.where(col > 0, np.sqrt(1.0 / col), 0.0)
    return DmDt(prob.astype(np.float32), unc.astype(np.float32), col > 0, band_ok, band_std.astype(np.float32))
