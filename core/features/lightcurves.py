"""Folded light curves on a fixed phase grid, the classic variability features, and all features at once.

Folding follows the seed (Huijse et al. 2025): fold at twice the best period (so an eclipsing binary
found at half its period shows both eclipses), smooth each band with a periodic kernel
exp((cos 2 pi dphi - 1) / h^2) onto ``n_phase`` grid points, put phase 0 at minimum light of the best
band, subtract each band's mean, and divide all bands by one common range (relative amplitudes
between bands are kept; the amplitude itself is a separate feature). Grid points with little kernel
weight (no epochs near that phase) are masked, and so is every point of a star without a period.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from core.epochs import PackedEpochs
from core.features.dmdt import DmDt, dmdt
from core.features.periodogram import PeriodConfig, period_search, segment_median

log = logging.getLogger(__name__)

__all__ = [
    "FoldedCurves",
    "LightCurveFeatures",
    "extract_features",
    "fold",
    "fold_star",
    "folded_grid",
    "summary_features",
]

N_PHASE = 32
BANDWIDTH = 0.2
MIN_WEIGHT = 0.1
PAIR_GAP_D = 0.05


def fold(mjd: np.ndarray, period: float, t0: float = 0.0) -> np.ndarray:
    """Phase in [0, 1) of times ``mjd`` for ``period`` (days) and epoch ``t0``."""
    return np.mod((np.asarray(mjd, float) - t0) / period, 1.0)


@dataclass
class FoldedCurves:
    """``mag`` (n, bands, n_phase) normalised magnitudes, ``err`` their errors, ``mask`` usable points,
    ``scale`` (n,) the common range divided out (mag), ``shift`` (n,) the phase put at 0, ``t0`` (n,)."""

    mag: np.ndarray
    err: np.ndarray
    mask: np.ndarray
    scale: np.ndarray
    shift: np.ndarray
    t0: np.ndarray
    phase_grid: np.ndarray = field(default_factory=lambda: (np.arange(N_PHASE) + 0.5) / N_PHASE)


def _kernel():
    from numba import njit, prange

    @njit(cache=True, parallel=True)
    def run(band_start, t, m, e, period, grid, h, min_w, out_m, out_e, out_w, t0, shift, scale):  # pragma: no cover
        n_obj, nb1 = band_start.shape
        n_b = nb1 - 1
        n_g = len(grid)
        for k in prange(n_obj):
            p = period[k]
            if not (p > 0):
                continue
            lo_all = band_start[k, 0]
            t0[k] = t[lo_all] if band_start[k, -1] > lo_all else 0.0
            best_b = -1
            best_n = 0
            for b in range(n_b):
                nb = band_start[k, b + 1] - band_start[k, b]
                if nb > best_n:
                    best_n = nb
                    best_b = b
            if best_b < 0:
                continue
            # First pass: smooth every band on the grid (phase relative to t0).
            for b in range(n_b):
                lo = band_start[k, b]
                hi = band_start[k, b + 1]
                if hi - lo < 2:
                    continue
                wsum_all = 0.0
                msum_all = 0.0
                for i in range(lo, hi):
                    wsum_all += 1.0 / (e[i] * e[i])
                    msum_all += m[i] / (e[i] * e[i])
                mean = msum_all / wsum_all
                for g in range(n_g):
                    ws = 0.0
                    ms = 0.0
                    vs = 0.0
                    ks = 0.0
                    for i in range(lo, hi):
                        if e[i] >= 5.0:  # an outlier (see clip_outliers)
                            continue
                        ph = ((t[i] - t0[k]) / p) % 1.0
                        kv = np.exp((np.cos(2.0 * np.pi * (ph - grid[g])) - 1.0) / (h * h))
                        kw = kv / (e[i] * e[i])
                        ks += kv
                        ws += kw
                        ms += kw * (m[i] - mean)
                        vs += kw * kw * e[i] * e[i]
                    if ws > 0:
                        out_m[k, b, g] = ms / ws
                        out_e[k, b, g] = np.sqrt(vs) / ws
                    out_w[k, b, g] = ks
            # Phase 0 at the faintest point of the best band's smoothed curve (minimum light).
            gmax = 0
            vmax = -1e30
            for g in range(n_g):
                if out_w[k, best_b, g] >= min_w and out_m[k, best_b, g] > vmax:
                    vmax = out_m[k, best_b, g]
                    gmax = g
            shift[k] = grid[gmax]
            rng = 0.0
            for b in range(n_b):
                vmin = 1e30
                vmx = -1e30
                for g in range(n_g):
                    if out_w[k, b, g] >= min_w:
                        vmin = min(vmin, out_m[k, b, g])
                        vmx = max(vmx, out_m[k, b, g])
                if vmx > vmin:
                    rng = max(rng, vmx - vmin)
            scale[k] = rng if rng > 0 else 1.0

    return run


_RUN = None


def folded_grid(
    packed: PackedEpochs,
    period: np.ndarray,
    *,
    n_phase: int = N_PHASE,
    bandwidth: float = BANDWIDTH,
    double: bool = True,
    min_weight: float = MIN_WEIGHT,
) -> FoldedCurves:
    """Fold every star at (twice) its ``period`` and resample it onto ``n_phase`` phases per band."""
    global _RUN
    if _RUN is None:
        _RUN = _kernel()
    n, n_b = packed.counts.shape
    grid = (np.arange(n_phase) + 0.5) / n_phase
    p = np.where(np.isfinite(period), np.asarray(period, float) * (2.0 if double else 1.0), -1.0)
    out_m = np.zeros((n, n_b, n_phase))
    out_e = np.zeros((n, n_b, n_phase))
    out_w = np.zeros((n, n_b, n_phase))
    t0, shift, scale = np.zeros(n), np.zeros(n), np.ones(n)
    if n:
        _RUN(packed.band_start, packed.mjd, packed.mag, np.maximum(packed.err, 1e-4), p, grid, bandwidth, min_weight,
             out_m, out_e, out_w, t0, shift, scale)
    # Roll each star's grid so that its shift lands on phase 0 (grid index 0 covers [0, 1/n_phase)).
    roll = np.rint(shift * n_phase - 0.5).astype(int)
    idx = (np.arange(n_phase)[None, :] + roll[:, None]) % n_phase
    take = np.broadcast_to(idx[:, None, :], out_m.shape)
    out_m = np.take_along_axis(out_m, take, axis=2)
    out_e = np.take_along_axis(out_e, take, axis=2)
    out_w = np.take_along_axis(out_w, take, axis=2)
    mask = (out_w >= min_weight) & (p > 0)[:, None, None]
    s = scale[:, None, None]
    return FoldedCurves(
        np.where(mask, out_m / s, 0.0).astype(np.float32), np.where(mask, out_e / s, 0.0).astype(np.float32),
        mask, scale.astype(np.float32), (roll + 0.5) / n_phase, t0, grid,
    )


def fold_star(epochs: pd.DataFrame, period: float, *, t0: float | None = None, double: bool = True) -> pd.DataFrame:
    """One star's epochs with a ``phase`` column, folded at (twice) ``period`` (for plots)."""
    p = period * (2.0 if double else 1.0)
    out = epochs.copy()
    out["phase"] = fold(out["mjd"].to_numpy(), p, out["mjd"].min() if t0 is None else t0)
    return out


def summary_features(packed: PackedEpochs, period: np.ndarray | None = None) -> pd.DataFrame:
    """Classic variability features per star: amplitude (largest per-band 5-95% range), log10 period,
    skewness of the standardised residuals, and Stetson (1996) J (on pairs of visits) and K."""
    n, n_b = packed.counts.shape
    counts = packed.counts.ravel()
    seg = np.repeat(np.arange(n * n_b), counts)
    star = seg // n_b
    med = segment_median(packed.mag, seg, counts)
    r = packed.mag - med[seg]
    # Amplitude: per band 5-95 percentile range, the largest band.
    order = np.lexsort((r, seg))
    start = np.concatenate([[0], np.cumsum(counts)[:-1]])
    lo = start + np.floor(0.05 * np.maximum(counts - 1, 0)).astype(int)
    hi = start + np.ceil(0.95 * np.maximum(counts - 1, 0)).astype(int)
    sr = r[order]
    amp_band = np.where(counts >= 3, sr[np.minimum(hi, len(sr) - 1)] - sr[np.minimum(lo, len(sr) - 1)], np.nan)
    amp = np.nanmax(np.where(np.isfinite(amp_band), amp_band, -np.inf).reshape(n, n_b), axis=1)
    amp = np.where(np.isfinite(amp), amp, np.nan)
    # Stetson deltas per band (about the weighted mean), n/(n-1) corrected.
    w = 1.0 / np.maximum(packed.err, 1e-4) ** 2
    wsum = np.bincount(seg, weights=w, minlength=n * n_b)
    mean = np.where(wsum > 0, np.bincount(seg, weights=w * packed.mag, minlength=n * n_b) / np.maximum(wsum, 1e-30), 0)
    nb = counts[seg]
    delta = np.sqrt(nb / np.maximum(nb - 1, 1)) * (packed.mag - mean[seg]) / np.maximum(packed.err, 1e-4)
    ntot = np.bincount(star, minlength=n).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        k_stat = (np.bincount(star, weights=np.abs(delta), minlength=n) / ntot) / np.sqrt(
            np.bincount(star, weights=delta**2, minlength=n) / ntot)
        z = delta / np.sqrt(nb / np.maximum(nb - 1, 1))
        m2 = np.bincount(star, weights=z**2, minlength=n) / ntot
        m3 = np.bincount(star, weights=z**3, minlength=n) / ntot
        skew = m3 / m2**1.5
    paired = np.zeros(len(seg), bool)
    paired[1:] = (seg[1:] == seg[:-1]) & (np.diff(packed.mjd) < PAIR_GAP_D)
    second = np.flatnonzero(paired)
    first = second - 1
    # A detection is in at most one pair: drop pairs whose first member closes an earlier pair.
    clash = np.isin(first, second)
    first, second = first[~clash], second[~clash]
    single = np.ones(len(seg), bool)
    single[first] = single[second] = False
    p_pair = delta[first] * delta[second]
    p_single = delta[single] ** 2 - 1
    num = (np.bincount(star[first], weights=np.sign(p_pair) * np.sqrt(np.abs(p_pair)), minlength=n)
           + np.bincount(star[single], weights=np.sign(p_single) * np.sqrt(np.abs(p_single)), minlength=n))
    den = np.bincount(star[first], minlength=n) + np.bincount(star[single], minlength=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        j_stat = np.where(den > 0, num / den, np.nan)
    out = pd.DataFrame({"amplitude": amp, "skew": skew, "stetson_j": j_stat, "stetson_k": k_stat})
    if period is not None:
        out.insert(1, "log_period", np.log10(np.asarray(period, float)))
    return out


@dataclass
class LightCurveFeatures:
    """Everything the multi-modal model and the dashboard need from the epochs, one row per star."""

    obj_ids: np.ndarray
    periods: dict[str, np.ndarray]
    dmdt: DmDt
    folded: FoldedCurves
    summary: pd.DataFrame
    seconds: dict[str, float] = field(default_factory=dict)
    n_clipped: int = 0

    @property
    def has_period(self) -> np.ndarray:
        return np.isfinite(self.periods["period"])

    def table(self) -> pd.DataFrame:
        """Per-star scalar features (period, power, FAP, variability statistics, summary features)."""
        cols = {"obj_id": self.obj_ids}
        for k in ("period", "power", "fap", "searched", "n_det", "n_bands", "chi2_nu", "pair_ratio"):
            cols[f"lc_{k}"] = self.periods[k]
        out = pd.DataFrame(cols)
        for c in self.summary.columns:
            if c != "log_period":
                out[f"lc_{c}"] = self.summary[c].to_numpy()
        return out


def clip_outliers(packed: PackedEpochs, nsigma: float = 5.0) -> tuple[PackedEpochs, int]:
    """A copy of ``packed`` whose lone outlier epoch (more than ``nsigma`` robust deviations from its band's
    median, the robust deviation being 1.4826 MAD plus the error, and the star's only such epoch) carries
    an error of 10 mag, so that every feature ignores it; and how many there were."""
    n, n_b = packed.counts.shape
    counts = packed.counts.ravel()
    seg = np.repeat(np.arange(n * n_b), counts)
    r = packed.mag - segment_median(packed.mag, seg, counts)[seg]
    mad = segment_median(np.abs(r), seg, counts)[seg]
    bad = np.abs(r) > nsigma * (1.4826 * mad + packed.err)
    # Only a star's single outlier is dropped, as the seed does: two or more (an eclipse, a flare
    # caught in both visits of a pair) are more likely the star itself.
    per_star = np.bincount(seg // n_b, weights=bad, minlength=n)
    bad &= per_star[seg // n_b] == 1
    err = np.where(bad, 10.0, packed.err)
    out = PackedEpochs(packed.obj_ids, packed.band_start, packed.band, packed.mjd, packed.mag, err, packed.bands)
    return out, int(bad.sum())


def extract_features(
    packed: PackedEpochs,
    config: PeriodConfig | None = None,
    *,
    chunk: int = 50_000,
    progress: bool = False,
) -> LightCurveFeatures:
    """Periods, dm-dt images, folded curves and summary features of every star of ``packed`` (in chunks)."""
    from tqdm.auto import tqdm

    secs = {"periods": 0.0, "dmdt": 0.0, "folding": 0.0, "summary": 0.0}
    t = time.perf_counter()
    packed, n_clipped = clip_outliers(packed)
    secs["clipping"] = time.perf_counter() - t
    parts = []
    for s in tqdm(range(0, max(packed.n_objects, 1), chunk), desc="light-curve features", disable=not progress):
        sub = packed.subset(np.arange(s, min(s + chunk, packed.n_objects)))
        t = time.perf_counter()
        per = period_search(sub, config)
        secs["periods"] += time.perf_counter() - t
        t = time.perf_counter()
        dd = dmdt(sub)
        secs["dmdt"] += time.perf_counter() - t
        t = time.perf_counter()
        fc = folded_grid(sub, per["period"])
        secs["folding"] += time.perf_counter() - t
        t = time.perf_counter()
        sm = summary_features(sub, per["period"])
        secs["summary"] += time.perf_counter() - t
        parts.append((per, dd, fc, sm))
    if not parts:
        raise ValueError("no stars")
    periods = {k: np.concatenate([p[0][k] for p in parts]) for k in parts[0][0]}
    dd = DmDt(*(np.concatenate([getattr(p[1], f) for p in parts]) for f in ("prob", "unc", "col_mask", "band_mask", "scale")))
    fc = FoldedCurves(*(np.concatenate([getattr(p[2], f) for p in parts])
                        for f in ("mag", "err", "mask", "scale", "shift", "t0")), parts[0][2].phase_grid)
    summ = pd.concat([p[3] for p in parts], ignore_index=True)
    log.info("light-curve features of %d stars (%d outlier epochs ignored): %s", packed.n_objects, n_clipped,
             ", ".join(f"{k} {v:.1f} s" for k, v in secs.items()))
    return LightCurveFeatures(packed.obj_ids, periods, dd, fc, summ, secs, n_clipped)
