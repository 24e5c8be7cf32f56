"""From a catalog to the stellar model's inputs: observed magnitudes, parallax distance moduli, labels, E(B-V) priors.

The stellar model fits *observed* (reddened) photometry, so a dereddened sedscape catalog is read through its
``<band>_obs`` columns. Errors get a floor added in quadrature (the seed: 0.02 mag); a band that is missing or
worse than ``max_mag_err`` counts as unobserved (variance :data:`UNMEASURED_VAR`). A parallax with S/N below
``parallax_snr_min`` gives no distance, so the star contributes colours only (seed section 3.2).
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from core.catalog import SENTINELS
from core.errors import CatalogError, ConfigError
from core.stellar.model import FEATURES, StellarModel

log = logging.getLogger(__name__)

UNMEASURED_VAR = 1.0e6  # mag^2: the variance of a quantity that was not measured
# Gaia DR3 global parallax zero point from quasars (Lindegren et al. 2021, A&A 649, A4): measured = true - 0.017 mas.
PARALLAX_ZERO_POINT_MAS = -0.017
LN10_5 = 5.0 / np.log(10.0)


@dataclass(frozen=True)
class StellarDataConfig:
    """How catalog columns become the model's inputs (defaults follow the seed, sections 3.2-3.3)."""

    mag_err_floor: float = 0.02
    max_mag_err: float = 0.2
    parallax_snr_min: float = 5.0
    parallax_zero_point: float = PARALLAX_ZERO_POINT_MAS
    ebv_column: str = "ebv"
    ebv_prior_frac: float = 0.1
    ebv_prior_floor: float = 0.02
    ebv_prior_none: float = 0.1

    def __post_init__(self) -> None:
        for name in ("mag_err_floor", "ebv_prior_frac", "ebv_prior_floor"):
            if getattr(self, name) < 0:
                raise ConfigError(f"StellarDataConfig.{name} must be >= 0, got {getattr(self, name)}")
        for name in ("max_mag_err", "parallax_snr_min", "ebv_prior_none"):
            if not getattr(self, name) > 0:
                raise ConfigError(f"StellarDataConfig.{name} must be > 0, got {getattr(self, name)}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class StellarData:
    """Per-star arrays in the model's magnitude/colour space (rows follow the catalog's)."""

    y_obs: np.ndarray  # (N, B): observed magnitude/colour vector minus the distance modulus in entry 0
    mag_var: np.ndarray  # (N, B) photometric variances, catalog band order (UNMEASURED_VAR if missing)
    mu: np.ndarray  # (N,) distance modulus from parallax (0 where none)
    mu_var: np.ndarray  # (N,) its variance (UNMEASURED_VAR where none or poor)
    ebv0: np.ndarray  # (N,) prior mean of E(B-V)
    ebv0_var: np.ndarray  # (N,) prior variance
    theta: np.ndarray | None = None  # (N, 3) spectroscopic features (training only)
    theta_var: np.ndarray | None = None  # (N, 3) their variances
    ebv_fit: np.ndarray | None = None  # (N,) current best E(B-V) during training

    def __len__(self) -> int:
        return len(self.y_obs)

    def subset(self, idx: np.ndarray) -> StellarData:
        return StellarData(**{k: (None if v is None else v[idx]) for k, v in self.__dict__.items()})

    @property
    def has_parallax(self) -> np.ndarray:
        return self.mu_var < UNMEASURED_VAR

    def n_measured(self) -> np.ndarray:
        """Number of measured entries of the magnitude/colour vector (colours need their band and the reference)."""
        return (self.mag_var < UNMEASURED_VAR).sum(axis=1) - 1 + self.has_parallax.astype(int)


def observed_magnitudes(df: pd.DataFrame, bands: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Observed (reddened) magnitudes and errors (N, B): ``<band>_obs`` when the catalog was dereddened."""
    cols = []
    for b in bands:
        if f"{b}_obs" in df.columns:
            cols.append(f"{b}_obs")
        elif b in df.columns:
            cols.append(b)
        else:
            raise CatalogError(f"catalog lacks magnitude column {b!r} (bands {list(bands)})")
    deredd = df.attrs.get("sedscape", {}).get("dereddened")
    plain = [c for c in cols if not c.endswith("_obs")]
    if deredd and plain:
        raise CatalogError(
            f"the catalog is dereddened but has no observed magnitudes for {plain} (no <band>_obs columns); "
            "the stellar model fits observed photometry: ingest with --no-deredden or keep the _obs columns"
        )
    errs = [f"{b}_err" for b in bands]
    missing = [c for c in errs if c not in df.columns]
    if missing:
        raise CatalogError(f"catalog lacks magnitude error column(s) {missing}")
    mags = df[cols].to_numpy(np.float64)
    err = df[errs].to_numpy(np.float64)
    bad = ~np.isfinite(mags) | np.isin(mags, SENTINELS) | ~np.isfinite(err) | (err <= 0)
    mags = np.where(bad, np.nan, mags)
    err = np.where(bad, np.nan, err)
    return mags, err


def parallax_distance_modulus(
    df: pd.DataFrame, config: StellarDataConfig
) -> tuple[np.ndarray, np.ndarray]:
    """(mu, var) from ``parallax``/``parallax_error`` (mas) after the zero point; UNMEASURED_VAR below the S/N cut."""
    n = len(df)
    if "parallax" not in df.columns or "parallax_error" not in df.columns:
        return np.zeros(n), np.full(n, UNMEASURED_VAR)
    plx = df["parallax"].to_numpy(np.float64) - config.parallax_zero_point
    err = df["parallax_error"].to_numpy(np.float64)
    good = np.isfinite(plx) & np.isfinite(err) & (err > 0) & (plx > config.parallax_snr_min * err)
    safe = np.where(good, plx, 1.0)
    mu = np.where(good, 10.0 - 5.0 * np.log10(safe), 0.0)
    var = np.where(good, (LN10_5 * err / safe) ** 2, UNMEASURED_VAR)
    return mu, var


def ebv_prior(df: pd.DataFrame, config: StellarDataConfig, *, required: bool) -> tuple[np.ndarray, np.ndarray]:
    """Prior mean and variance of each star's E(B-V): the ``ebv`` column with 10% + 0.02 mag (in quadrature)
    uncertainty (the seed, section 3.3), or, without a column, 0 +- ``ebv_prior_none`` (clipped at 0 later)."""
    n = len(df)
    col = config.ebv_column
    if col not in df.columns:
        if required:
            raise CatalogError(
                f"training needs a prior E(B-V) per star: the catalog has no {col!r} column "
                "(add SFD values with `sedscape ingest --ebv sfd`, or a 3-D dust map's estimates)"
            )
        return np.zeros(n), np.full(n, config.ebv_prior_none**2)
    e0 = df[col].to_numpy(np.float64)
    bad = ~np.isfinite(e0)
    if bad.any():
        if required:
            raise CatalogError(f"E(B-V) column {col!r} is NaN in {int(bad.sum()):,} rows")
        log.warning("E(B-V) column %r is NaN in %d rows; using the broad prior there", col, int(bad.sum()))
    var = (config.ebv_prior_frac * e0) ** 2 + config.ebv_prior_floor**2
    if f"{col}_err" in df.columns:
        var = df[f"{col}_err"].to_numpy(np.float64) ** 2 + config.ebv_prior_floor**2
    e0 = np.where(bad, 0.0, e0)
    var = np.where(bad | ~np.isfinite(var), config.ebv_prior_none**2, var)
    return e0, var


def spectroscopic_features(df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(theta, variance), both (N, 3), from ``teff, logg, feh`` and ``teff_err, logg_err, feh_err``."""
    need = [*FEATURES, *(f"{f}_err" for f in FEATURES)]
    missing = [c for c in need if c not in df.columns]
    if missing:
        raise CatalogError(
            f"the training catalog lacks spectroscopic column(s) {missing}; give labels with --labels "
            f"(columns {', '.join(need)})"
        )
    theta = df[list(FEATURES)].to_numpy(np.float64)
    err = df[[f"{f}_err" for f in FEATURES]].to_numpy(np.float64)
    return theta, err**2


def prepare(
    df: pd.DataFrame,
    model: StellarModel,
    config: StellarDataConfig = StellarDataConfig(),
    *,
    training: bool = False,
) -> StellarData:
    """Model inputs for every row of ``df``; with ``training`` also the spectroscopic features (required)."""
    mags, err = observed_magnitudes(df, model.bands)
    var = err**2 + config.mag_err_floor**2
    unmeasured = ~np.isfinite(mags) | (err > config.max_mag_err)
    var = np.where(unmeasured, UNMEASURED_VAR, var)
    fill = np.nanmedian(np.where(unmeasured, np.nan, mags), axis=0) if len(mags) else np.zeros(model.n_bands)
    fill = np.where(np.isfinite(fill), fill, 0.0)
    mags = np.where(unmeasured, fill[None, :], mags)
    mu, mu_var = parallax_distance_modulus(df, config)
    y = model.to_colour_space(mags)
    y[:, 0] -= mu
    e0, e0_var = ebv_prior(df, config, required=training)
    data = StellarData(y_obs=y, mag_var=var, mu=mu, mu_var=mu_var, ebv0=e0, ebv0_var=e0_var)
    if training:
        data.theta, data.theta_var = spectroscopic_features(df)
    return data
