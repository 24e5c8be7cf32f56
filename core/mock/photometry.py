"""PS1-like observation of the mock sky: extinction, detections, mean-magnitude errors, flags, Gaia parallaxes.

Errors follow the usual CCD model, sigma_1 = 1.0857 / SNR with SNR = 5 at the single-epoch depth,
averaged over the epochs that detected the star and floored by calibration systematics. Saturation,
crowding and random bad epochs lower QfPerfect; faint stars lose detections; PS1-STRM-like
``prob_star`` is near 1 for bright stars and degrades at the faint end.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.bands import PS1

K_EXT = np.array([PS1.extinction_coeffs[b] for b in PS1.names])  # Schlafly & Finkbeiner 2011, R_V = 3.1
# RR Lyrae pulsation amplitude in g r i z y relative to g (shrinking to the red).
RRL_BAND_RATIOS = np.array([1.0, 0.75, 0.6, 0.5, 0.45])


@dataclass(frozen=True)
class PhotometryConfig:
    """PS1 3pi survey characteristics (per band g r i z y) and the knobs of the error model.

    ``depth5`` are the single-epoch 5-sigma depths (Chambers et al. 2016);
    ``depth_offset`` shifts them to the effective depth of the PSF photometry that enters the mean
    magnitudes, calibrated so that after the paper's cuts the fraction of stars with sigma <= 0.01 mag
    matches the paper (53.8, 74.4, 92.7, 84.2, 57.6 per cent).
    """

    depth5: tuple[float, ...] = (22.0, 21.8, 21.5, 20.9, 19.7)
    depth_offset: tuple[float, ...] = (-0.17, 0.07, 0.68, 1.04, 1.20)
    saturation: tuple[float, ...] = (13.5, 13.5, 13.5, 13.0, 12.0)
    mean_epochs: tuple[float, ...] = (11.0, 13.0, 15.0, 12.0, 11.0)
    floor: tuple[float, ...] = (0.004, 0.004, 0.003, 0.004, 0.005)
    bad_qf_rate: float = 0.015
    missing_rate: float = 0.002
    artefact_rate: float = 0.003


def extinction(ebv_star: np.ndarray) -> np.ndarray:
    """A_grizy (N, 5) for each star's E(B-V)."""
    return ebv_star[:, None] * K_EXT[None, :]


def effective_depth(cfg: PhotometryConfig) -> np.ndarray:
    """Per-band 5-sigma depth of the PSF photometry (single-epoch depth plus the calibrated offset)."""
    return np.array(cfg.depth5) + np.array(cfg.depth_offset)


def single_epoch_sigma(true_mags: np.ndarray, depth: np.ndarray) -> np.ndarray:
    """Photon-noise error of one epoch, 1.0857 / SNR with SNR = 5 at ``depth`` (no calibration floor)."""
    return 1.0857 / (5.0 * 10 ** (-0.4 * (true_mags - depth)))


def _detection_x(true_mags: np.ndarray, depth: np.ndarray) -> np.ndarray:
    return (true_mags - depth - 0.3) / 0.2


def detection_probability(true_mags: np.ndarray, depth: np.ndarray) -> np.ndarray:
    """Chance that one epoch detects the source: 50% at 0.3 mag fainter than the 5-sigma depth."""
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(np.nan_to_num(_detection_x(true_mags, depth), nan=50.0)))


def observe(
    rng: np.random.Generator,
    true_mags: np.ndarray,
    cfg: PhotometryConfig,
    *,
    epoch_factor: np.ndarray,
    crowding: np.ndarray,
    extra_scatter: tuple[np.ndarray, np.ndarray] | None = None,
) -> dict[str, np.ndarray]:
    """Noisy mean magnitudes, their errors, detection counts and QfPerfect for apparent ``true_mags``.

    ``epoch_factor`` scales the number of epochs by position (survey cadence); ``crowding`` (0..1)
    is the chance that blending spoils a star's flags; ``extra_scatter`` = (rows, (len(rows), 5) rms)
    adds intrinsic epoch-to-epoch scatter (variable stars), which enters both the mean and its error.
    """
    n = len(true_mags)
    depth = effective_depth(cfg)
    sat = np.array(cfg.saturation)
    f32 = np.float32
    # Epochs per band: Poisson around the cadence-scaled mean (normal approximation, it is fast).
    lam = np.array(cfg.mean_epochs)[None, :] * epoch_factor[:, None]
    epochs = np.clip(np.rint(lam + np.sqrt(lam) * rng.standard_normal((n, 5), dtype=f32)), 0, None)
    epochs = epochs.astype(np.int32)
    # Detection probability per epoch: 50% at 0.3 mag fainter than the 5-sigma depth; only the
    # faint end (p < 0.999) needs a binomial draw.
    x = _detection_x(true_mags, depth)
    n_det = epochs
    faint = ~(x < -7.0)  # NaN magnitudes count as faint
    p_det = 1.0 / (1.0 + np.exp(np.nan_to_num(x[faint], nan=50.0)))
    n_det[faint] = rng.binomial(epochs[faint], p_det)
    with np.errstate(divide="ignore", invalid="ignore"):
        var = single_epoch_sigma(true_mags, depth) ** 2 / np.maximum(n_det, 1)
        var += np.array(cfg.floor)[None, :] ** 2
        if extra_scatter is not None:
            rows, rms = extra_scatter
            var[rows] += rms**2 / np.maximum(n_det[rows], 1)
        # Near saturation the PSF core is clipped: errors rise.
        var += (0.02 * np.clip(sat[None, :] + 0.5 - true_mags, 0, None)) ** 2
    err = np.sqrt(var)
    del var, x
    mags = true_mags + rng.standard_normal((n, 5), dtype=f32) * err
    qf = 1.0 - f32(0.0015) * rng.standard_exponential((n, 5), dtype=f32)
    near = np.flatnonzero((true_mags < sat[None, :] + 0.6).ravel())
    jitter = rng.normal(0, 0.15, near.size)
    saturated = near[true_mags.ravel()[near] < np.broadcast_to(sat, (n, 5)).ravel()[near] + jitter]
    qf.ravel()[saturated] = rng.uniform(0.3, 0.98, saturated.size)
    bad = rng.random((n, 5), dtype=f32) < cfg.bad_qf_rate
    qf[bad] = rng.uniform(0.85, 0.99, bad.sum())
    blended = rng.random(n) < crowding
    qf[blended] = np.minimum(qf[blended], rng.uniform(0.5, 0.985, (blended.sum(), 5)))
    missing = (n_det == 0) | (rng.random((n, 5), dtype=f32) < cfg.missing_rate)
    mags[missing] = np.nan
    err[missing] = np.nan
    qf[missing] = 0.0
    n_det[missing] = 0
    return {"mags": mags, "err": err, "n": n_det.astype(np.int16), "qf": np.clip(qf, 0, 1)}


def prob_star(
    rng: np.random.Generator, r: np.ndarray, qso: np.ndarray, gal: np.ndarray, crowding: np.ndarray
) -> np.ndarray:
    """PS1-STRM-like probability of being a star: ~1 for bright stars, worse at the faint end and in
    crowded cluster cores; QSOs (mask ``qso``) mostly 0.3-0.98, compact galaxies (``gal``) mostly low."""
    n = len(r)
    r = np.nan_to_num(r, nan=23.0)
    scale = 0.0015 * 10 ** (0.45 * (r - 19.0))
    p = 1.0 - rng.exponential(1.0, n) * scale
    p -= crowding * rng.uniform(0.0, 0.5, n)
    p[qso] = np.where(
        rng.random(qso.sum()) < 0.05, rng.uniform(0.99, 1.0, qso.sum()), rng.beta(4, 2, qso.sum())
    )
    p[gal] = np.where(
        rng.random(gal.sum()) < 0.01, rng.uniform(0.99, 1.0, gal.sum()), rng.beta(1, 5, gal.sum())
    )
    return np.clip(p, 0.0, 1.0)


def rr_lyrae_scatter(rng: np.random.Generator, n: int) -> np.ndarray:
    """Epoch-to-epoch rms of RR Lyrae light curves per band: amplitude A_g ~ U(0.3, 1.1) mag,
    shrinking to the red (A_y ~ 0.45 A_g); rms of a pulsation curve ~ 0.35 A."""
    a_g = rng.uniform(0.3, 1.1, n)
    return 0.35 * a_g[:, None] * RRL_BAND_RATIOS[None, :]


def gaia_parallax(
    rng: np.random.Generator, d_pc: np.ndarray, g: np.ndarray, r: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Gaia DR3-like parallax and error (mas) for stars with G < 20.7, NaN otherwise.

    G is approximated from PS1 as r - 0.25 (g - r) (close to the relation for FGK stars). Errors follow
    the DR3 summary numbers: 0.02 mas at G < 15, 0.07 at G = 17, 0.5 at G = 20, 1.3 at G = 21
    (Lindegren et al. 2021); the global zero-point offset of -0.017 mas is included.
    """
    gmag = r - 0.25 * (g - r)
    knots_g = np.array([12.0, 15.0, 17.0, 20.0, 21.0])
    knots_e = np.log10([0.015, 0.02, 0.07, 0.5, 1.3])
    err = 10 ** np.interp(gmag, knots_g, knots_e, right=knots_e[-1] + (gmag.max() - 21) * 0.4)
    err *= rng.lognormal(0, 0.1, len(d_pc))
    true_plx = np.where(np.isfinite(d_pc), 1000.0 / np.where(np.isfinite(d_pc), d_pc, 1.0), 0.0)
    plx = true_plx - 0.017 + rng.normal(size=len(d_pc)) * err
    seen = np.isfinite(gmag) & (gmag < 20.7)
    return np.where(seen, plx, np.nan), np.where(seen, err, np.nan)


def add_artefacts(
    rng: np.random.Generator, mags: np.ndarray, rate: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Spoil one band of a fraction ``rate`` of objects by 0.1-1 mag (a blend or a bad epoch).

    Returns (mask of spoiled rows, band index or -1, offset applied in mag). Blends make a band
    brighter more often than fainter.
    """
    n = len(mags)
    hit = rng.random(n) < rate
    band = np.where(hit, rng.integers(0, 5, n), -1)
    size = rng.uniform(0.1, 1.0, n) * np.where(rng.random(n) < 0.7, -1.0, 1.0)
    offset = np.where(hit, size, 0.0)
    rows = np.flatnonzero(hit)
    mags[rows, band[rows]] += offset[rows]
    return hit, band, offset
