"""Single-epoch detections for the mock sky: a PS1-like cadence, the mock's error model, variability.

:func:`make_epochs` turns a mock catalog (with the truth columns of :mod:`core.mock.variables`) into
a detection table in the :mod:`core.epochs` contract. The cadence imitates the PS1 3pi survey as
seen by one star (Chambers et al. 2016): each band is visited on its own nights, in pairs of
exposures 10-40 minutes apart (the transient-time-interval pairs), about 12 detections per band
(the catalog's ``n_<band>``) over 3.5 years, inside observing seasons of +-110 days around the
star's opposition, at night in Hawaii (MJD fraction ~0.42, so 1 d aliases are real). Errors follow
the mock's photometric model (:func:`core.mock.photometry.single_epoch_sigma`) plus a per-epoch
calibration floor; a small fraction of epochs are outliers, half of them flagged as PS1 flags them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.bands import PS1
from core.errors import CatalogError, ConfigError
from core.mock import photometry
from core.mock import variables as V
from core.mock.photometry import K_EXT, PhotometryConfig

log = logging.getLogger(__name__)

BANDS = PS1.names
MJD_MARCH_EQUINOX_2010 = 55275.7
YEAR = 365.25
# PS1 DetectionFlags bits used by the mock (see core.epochs.BAD_DETECTION_FLAGS).
FLAG_PSFMODEL, FLAG_FITTED, FLAG_FAIL, FLAG_SATSTAR, FLAG_DEFECT = 0x1, 0x4, 0x8, 0x80, 0x800


@dataclass(frozen=True)
class EpochConfig:
    """Cadence and noise of the mock's epochs; ``n_constant`` non-variables get epochs (-1: all)."""

    start_mjd: float = 55200.0
    years: float = 3.5
    season_half_width_d: float = 110.0
    pair_gap_min: tuple[float, float] = (10.0, 40.0)
    night_mjd_fraction: float = 0.42
    night_scatter_d: float = 0.07
    floor: float = 0.01  # per-epoch calibration floor (PS1 single-epoch relative photometry, ~7-10 mmag)
    outlier_rate: float = 0.003
    outlier_flagged: float = 0.5
    flare_epoch_rate: float = 0.04
    n_constant: int = 30_000

    def __post_init__(self) -> None:
        if self.years <= 0 or self.season_half_width_d <= 0:
            raise ConfigError(f"years and season_half_width_d must be > 0, got {self.years}, {self.season_half_width_d}")
        if not 0 <= self.outlier_rate < 0.5:
            raise ConfigError(f"outlier_rate must be in [0, 0.5), got {self.outlier_rate}")
        if self.n_constant < -1:
            raise ConfigError(f"n_constant must be >= -1 (-1: all stars), got {self.n_constant}")

    @property
    def end_mjd(self) -> float:
        return self.start_mjd + self.years * YEAR


def select_stars(sky: pd.DataFrame, rng: np.random.Generator, n_constant: int) -> np.ndarray:
    """Row positions that get epochs: every variable plus ``n_constant`` random non-variables (-1: all)."""
    if "true_var_class" not in sky.columns:
        raise CatalogError("the catalog has no true_var_class column: make it with `sedscape mock` (this version)")
    var = sky["true_var_class"].astype(str).to_numpy() != "none"
    if n_constant < 0:
        return np.arange(len(sky))
    const = np.flatnonzero(~var)
    pick = rng.choice(const, size=min(n_constant, const.size), replace=False)
    return np.sort(np.concatenate([np.flatnonzero(var), pick]))


def cadence(
    rng: np.random.Generator, ra: np.ndarray, counts: np.ndarray, cfg: EpochConfig
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(star, band, mjd) of every detection: ``counts[k, b]`` detections of star ``k`` in band ``b``.

    Detections come in pairs on one night; nights fall in seasons around each star's opposition.
    """
    n_star, n_band = counts.shape
    flat = counts.ravel()
    star = np.repeat(np.repeat(np.arange(n_star), n_band), flat)
    band = np.repeat(np.tile(np.arange(n_band), n_star), flat).astype(np.int8)
    start = np.concatenate([[0], np.cumsum(flat)[:-1]])
    j = np.arange(flat.sum()) - np.repeat(start, flat)  # index within (star, band)
    pair = j // 2
    second = (j % 2) == 1
    # One night per pair: draw it for the first member and copy to the second.
    first = ~second
    n_pairs = int(first.sum())
    n_seasons = int(np.ceil(cfg.years)) + 1
    opp0 = MJD_MARCH_EQUINOX_2010 + ((ra[star[first]] + 180.0) % 360.0) / 360.0 * YEAR
    opp0 -= YEAR * np.ceil((opp0 - cfg.start_mjd) / YEAR)  # the last opposition before the survey
    day = np.full(n_pairs, -np.inf)
    todo = np.arange(n_pairs)
    while todo.size:  # redraw the nights that fall outside the survey window
        day[todo] = (opp0[todo] + rng.integers(0, n_seasons, todo.size) * YEAR
                     + rng.uniform(-cfg.season_half_width_d, cfg.season_half_width_d, todo.size))
        todo = todo[(day[todo] < cfg.start_mjd) | (day[todo] > cfg.end_mjd - 1)]
    night = np.floor(day) + cfg.night_mjd_fraction + rng.normal(0, cfg.night_scatter_d, n_pairs)
    mjd = np.empty(len(star))
    mjd[first] = night
    # The second member of a pair is the element right after its first member.
    idx2 = np.flatnonzero(second)
    gap = rng.uniform(*cfg.pair_gap_min, idx2.size) / 1440.0
    mjd[idx2] = mjd[idx2 - 1] + gap
    del pair
    return star, band, mjd


def _ou_kernel():
    from numba import njit

    @njit(cache=True)
    def run(order, star_start, times, tau, sigma, normals, out):  # pragma: no cover - compiled
        for k in range(len(star_start) - 1):
            lo, hi = star_start[k], star_start[k + 1]
            if hi <= lo:
                continue
            x = sigma[k] * normals[order[lo]]
            out[order[lo]] = x
            for m in range(lo + 1, hi):
                dt = times[order[m]] - times[order[m - 1]]
                a = np.exp(-dt / tau[k])
                x = a * x + sigma[k] * np.sqrt(1.0 - a * a) * normals[order[m]]
                out[order[m]] = x

    return run


_OU = None


def damped_random_walk(
    rng: np.random.Generator, star: np.ndarray, mjd: np.ndarray, tau: np.ndarray, sigma: np.ndarray
) -> np.ndarray:
    """An Ornstein-Uhlenbeck (damped random walk) value at each detection, one process per star.

    ``star`` indexes ``tau`` and ``sigma`` (the process's standard deviation, SF_inf / sqrt(2));
    the process is exact at irregular times.
    """
    global _OU
    if _OU is None:
        _OU = _ou_kernel()
    order = np.lexsort((mjd, star))
    counts = np.bincount(star, minlength=len(tau))
    star_start = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    out = np.zeros(len(star))
    _OU(order.astype(np.int64), star_start, mjd, np.asarray(tau, float), np.asarray(sigma, float),
        rng.standard_normal(len(star)), out)
    return out


def variability(
    rng: np.random.Generator, cls: np.ndarray, period: np.ndarray, amp: np.ndarray, drw_tau: np.ndarray,
    star: np.ndarray, band: np.ndarray, mjd: np.ndarray, cfg: EpochConfig,
) -> np.ndarray:
    """Magnitude offsets of every detection from its star's variability (per-star arrays indexed by ``star``)."""
    n_star = len(cls)
    dm = np.zeros(len(star))
    t0 = rng.uniform(0, 1, n_star) * np.nan_to_num(period, nan=1.0)
    phase = ((mjd - t0[star]) / np.nan_to_num(period, nan=1.0)[star]) % 1.0
    s_cls = cls[star]
    for name in ("rrab", "rrc", "sxphe"):
        d = s_cls == V.VC[name]
        dm[d] = amp[star[d]] * V.BAND_RATIOS[name][band[d]] * V.pulsation(name, phase[d])
    d = s_cls == V.VC["lpv"]
    if d.any():
        # Cycle-to-cycle amplitude changes of ~10%.
        wobble = 1 + 0.1 * np.sin(2 * np.pi * mjd[d] / (7.3 * period[star[d]]))
        dm[d] = amp[star[d]] * wobble * V.BAND_RATIOS["lpv"][band[d]] * V.pulsation("lpv", phase[d])
    # Eclipsing binaries: per-star shape parameters.
    d = s_cls == V.VC["ea"]
    if d.any():
        depth2 = amp * rng.uniform(0.05, 0.6, n_star)
        width = rng.uniform(0.03, 0.1, n_star)
        sec_ratio = V.BAND_RATIOS["ea"][::-1] / V.BAND_RATIOS["ea"][0]
        s = star[d]
        dm[d] = V.eclipses(phase[d], amp[s] * V.BAND_RATIOS["ea"][band[d]],
                           depth2[s] * sec_ratio[band[d]], width[s])
    d = s_cls == V.VC["ew"]
    if d.any():
        asym = rng.uniform(0.0, 0.15, n_star)
        s = star[d]
        dm[d] = V.contact(phase[d], amp[s] * V.BAND_RATIOS["ew"][band[d]], asym[s])
    # Semi-regular giants: two periods plus a slow random walk.
    sr_rows = np.flatnonzero(cls == V.VC["sr"])
    d = s_cls == V.VC["sr"]
    if d.any():
        p2 = period * rng.uniform(1.6, 2.4, n_star)
        a2 = rng.uniform(0.3, 0.8, n_star)
        ph2 = rng.uniform(0, 2 * np.pi, n_star)
        s = star[d]
        tone = 0.5 * np.cos(2 * np.pi * phase[d]) + 0.5 * a2[s] * np.cos(2 * np.pi * mjd[d] / p2[s] + ph2[s])
        walk_tau = np.where(np.isfinite(period), 2 * period, 1.0)
        walk = damped_random_walk(rng, star, mjd, walk_tau, np.where(np.isin(np.arange(n_star), sr_rows),
                                                                     0.15 * np.nan_to_num(amp), 0.0))
        dm[d] = (amp[s] * tone + walk[d]) * V.BAND_RATIOS["sr"][band[d]]
    d = s_cls == V.VC["qso"]
    if d.any():
        # SF_inf scales with rest wavelength as lambda^B (MacLeod et al. 2010), so the band ratio
        # (lambda_b / lambda_g)^B does not depend on redshift; one process per quasar drives all bands.
        ratio = (V.PS1_WAVELENGTH_A / V.PS1_WAVELENGTH_A[0]) ** V.MACLEOD_SF[1]
        is_q = cls == V.VC["qso"]
        sigma = np.where(is_q, np.nan_to_num(amp), 0.0) / np.sqrt(2)
        tau = np.where(is_q & np.isfinite(drw_tau), drw_tau, 100.0)
        walk = damped_random_walk(rng, star, mjd, tau, sigma)
        dm[d] = walk[d] * ratio[band[d]]
    _add_flares(rng, cls, amp, star, band, mjd, dm, cfg)
    return dm


def _add_flares(rng, cls, amp, star, band, mjd, dm, cfg: EpochConfig) -> None:
    """Flares of flaring M dwarfs: a fraction of epochs catch a flare in its decay, and so does any
    later epoch of the same night (the pair partner) while it lasts."""
    rows = np.flatnonzero(cls[star] == V.VC["flare"])
    hit = rows[rng.random(rows.size) < cfg.flare_epoch_rate]
    if not hit.size:
        return
    order = np.lexsort((mjd, star))
    pos = np.empty_like(order)
    pos[order] = np.arange(len(order))
    tau = rng.uniform(0.005, 0.02, hit.size)  # 7-30 min decay
    t_peak = mjd[hit] - rng.uniform(0, 1.5, hit.size) * tau
    peak_g = amp[star[hit]] * rng.uniform(0.15, 1.0, hit.size)
    for k, row in enumerate(hit):
        # Walk forward through this star's time-ordered epochs within ~8 decay times.
        p = pos[row]
        while p < len(order) and star[order[p]] == star[row] and mjd[order[p]] - t_peak[k] < 8 * tau[k]:
            r = order[p]
            if mjd[r] >= t_peak[k]:
                a_b = peak_g[k] * V.BAND_RATIOS["flare"][band[r]]
                frac = (10 ** (0.4 * a_b) - 1) * np.exp(-(mjd[r] - t_peak[k]) / tau[k])
                dm[r] += -2.5 * np.log10(1 + frac)
            p += 1


def make_epochs(
    sky: pd.DataFrame,
    seed: int = 1,
    config: EpochConfig | None = None,
    photometry_config: PhotometryConfig | None = None,
) -> pd.DataFrame:
    """Detections (``obj_id, band, mjd, mag, mag_err, flags, psf_qf, true_outlier``) of the stars of
    mock catalog ``sky`` chosen by :func:`select_stars`; the same ``sky`` and ``seed`` give the same table."""
    cfg = config or EpochConfig()
    pcfg = photometry_config or PhotometryConfig()
    need = ["obj_id", "ra", "true_ebv", "true_var_class", "true_period", "true_var_amp", "true_drw_tau",
            *(f"true_{b}" for b in BANDS)]
    missing = [c for c in need if c not in sky.columns]
    if missing:
        raise CatalogError(f"the mock catalog lacks {missing}; epochs need a mock sky with truth columns")
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 1401]))
    rows = select_stars(sky, rng, cfg.n_constant)
    sub = sky.iloc[rows]
    n = len(sub)
    counts = np.zeros((n, 5), np.int64)
    for k, b in enumerate(BANDS):
        col = f"n_{b}"
        counts[:, k] = (np.nan_to_num(sub[col].to_numpy(float), nan=0.0) if col in sub.columns
                        else rng.poisson(pcfg.mean_epochs[k], n)).astype(np.int64)
    star, band, mjd = cadence(rng, sub["ra"].to_numpy(float), counts, cfg)
    cls = pd.Categorical(sub["true_var_class"].astype(str), categories=list(V.VAR_CLASSES)).codes.astype(np.int8)
    period = sub["true_period"].to_numpy(float)
    amp = sub["true_var_amp"].to_numpy(float)
    true_mags = np.stack([sub[f"true_{b}"].to_numpy(float) for b in BANDS], axis=1)
    mean = true_mags + sub["true_ebv"].to_numpy(float)[:, None] * K_EXT[None, :]
    if "true_artefact_offset" in sub.columns and "true_artefact_band" in sub.columns:
        ab = sub["true_artefact_band"].astype(str).to_numpy()
        off = sub["true_artefact_offset"].to_numpy(float)
        for k, b in enumerate(BANDS):
            mean[ab == b, k] += off[ab == b]
    dm = variability(rng, cls, period, amp, sub["true_drw_tau"].to_numpy(float), star, band, mjd, cfg)
    m_true = mean[star, band] + dm
    depth = photometry.effective_depth(pcfg)
    # Faint phases of variables may drop below the detection limit; the catalog's counts already
    # account for the mean brightness, so only the change in detection probability is applied.
    p_mean = photometry.detection_probability(mean[star, band], depth[band])
    p_now = photometry.detection_probability(m_true, depth[band])
    with np.errstate(invalid="ignore", divide="ignore"):
        keep = rng.random(len(star)) < np.minimum(np.where(p_mean > 0, p_now / p_mean, 0.0), 1.0)
    n_lost = int((~keep).sum())
    star, band, mjd, m_true = star[keep], band[keep], mjd[keep], m_true[keep]
    sat = np.array(pcfg.saturation)[band]
    sigma = np.sqrt(photometry.single_epoch_sigma(m_true, depth[band]) ** 2 + cfg.floor**2
                    + (0.02 * np.clip(sat + 0.5 - m_true, 0, None)) ** 2)
    mag = m_true + rng.standard_normal(len(star)) * sigma
    outlier = rng.random(len(star)) < cfg.outlier_rate
    mag[outlier] += rng.uniform(0.3, 2.0, outlier.sum()) * np.where(rng.random(outlier.sum()) < 0.5, -1, 1)
    flags = np.full(len(star), FLAG_PSFMODEL | FLAG_FITTED, np.int64)
    flagged = outlier & (rng.random(len(star)) < cfg.outlier_flagged)
    flags[flagged] |= np.where(rng.random(flagged.sum()) < 0.5, FLAG_FAIL, FLAG_DEFECT)
    flags[m_true < sat] |= FLAG_SATSTAR
    qf = np.where(rng.random(len(star)) < 0.98, rng.uniform(0.995, 1.0, len(star)), rng.uniform(0.5, 0.99, len(star)))
    out = pd.DataFrame({
        "obj_id": sub["obj_id"].to_numpy(np.int64)[star],
        "band": pd.Categorical.from_codes(band, categories=list(BANDS)),
        "mjd": mjd,
        "mag": mag.astype(np.float32),
        "mag_err": (sigma * rng.lognormal(0, 0.05, len(star))).astype(np.float32),
        "flags": flags,
        "psf_qf": qf.astype(np.float32),
        "true_outlier": outlier,
    })
    out.attrs["sedscape"] = {
        "source": "mock",
        "mock_epochs": {"seed": int(seed), "n_stars": int(n), "n_variables": int((cls > 0).sum()),
                        "n_lost_faint_phases": n_lost, "config": {k: getattr(cfg, k) for k in cfg.__dataclass_fields__}},
    }
    log.info("mock epochs: %d detections of %d stars (%d variables); %d faint-phase epochs undetected",
             len(out), n, int((cls > 0).sum()), n_lost)
    return out
