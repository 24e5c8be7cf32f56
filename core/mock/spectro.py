"""What a spectroscopic survey would tell us about the mock sky: Teff, log g and [Fe/H] for every star.

:func:`stellar_parameters` gives each mock object the effective temperature and surface gravity that go
with the colours the mock gave it (``true_teff``, ``true_logg``); :func:`draw_labels` adds what a
LAMOST-like survey would measure for a bright random subsample (``teff, logg, feh`` and their errors, NaN
elsewhere); :func:`lamost_field` re-observes that subsample through more dust, as the same kinds of
stars seen at lower Galactic latitude, so that a learned extinction vector has reddening to learn from.

How the truth is made (sources in ``data/README.md``):

* Teff from intrinsic PS1 colours: PS1 -> SDSS with the Tonry et al. (2012) colour terms, then the mean
  dwarf sequence of Pecaut & Mamajek (2013) (SDSS g-r for B-K stars, i-z for M dwarfs, blended over
  K7-M0). Main-sequence and giant-branch field stars use the noise-free template colours at their (M_r,
  [Fe/H]) that made their photometry (the Ivezic et al. 2008 grid, moved onto the real PS1 locus when the
  mock calibrates its colours); every other object uses its own noise-free intrinsic colours.
* log g from mass, Teff and luminosity: log g = log g_sun + log M + 4 log(Teff/Teff_sun) + 0.4 (M_bol -
  M_bol_sun), M_bol = M_r + BC_r(Teff), BC_r = BC_V (Pecaut & Mamajek) + V - r (Jester et al. 2005 and
  Tonry et al. 2012). Dwarfs take the dwarf-sequence mass at their Teff, capped at the turnoff mass of an
  old population; giants that turnoff mass; horizontal-branch stars 0.6, blue stragglers 1.2, hot
  subdwarfs 0.47 M_sun.
* White dwarfs take Teff and log g from the Montreal cooling tracks they were drawn from; hot subdwarfs
  the Teff of the log g = 7 DA colours they were given. Quasars and galaxies have none (NaN).
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from functools import cache
from typing import Any

import numpy as np
import pandas as pd

from core.bands import PS1
from core.errors import CatalogError, ConfigError
from core.mock import tables

log = logging.getLogger(__name__)

BANDS = PS1.names
K_EXT = np.array([PS1.extinction_coeffs[b] for b in BANDS])  # the mock's own extinction (SF11, R_V = 3.1)

# IAU 2015 nominal solar values (Resolution B3 / B2).
TEFF_SUN = 5772.0
LOGG_SUN = 4.438
MBOL_SUN = 4.74

HB_MASS, BSS_MASS, SDB_MASS = 0.6, 1.2, 0.47
DWARF_TABLE = "pecaut_mamajek_dwarf_sequence.txt"
# SDSS g-r over which the Teff estimate passes from g-r (K stars) to i-z (M dwarfs).
GR_BLEND = (1.20, 1.32)

LABEL_COLUMNS: tuple[str, ...] = ("teff", "logg", "feh", "teff_err", "logg_err", "feh_err")
TRUTH_COLUMNS: tuple[str, ...] = ("true_teff", "true_logg")
_NO_PARAMETERS = ("qso", "galaxy")
_GRID_CLASSES = ("ms", "giant", "mdwarf")


@dataclass(frozen=True)
class DwarfSequence:
    """The mean dwarf sequence, hot to cool: Teff, BC_V, mass and SDSS g-r / i-z (NaN where not given)."""

    teff: np.ndarray
    bc_v: np.ndarray
    mass: np.ndarray
    g_r: np.ndarray
    i_z: np.ndarray


@cache
def dwarf_sequence() -> DwarfSequence:
    """``pecaut_mamajek_dwarf_sequence.txt`` (Pecaut & Mamajek 2013, table version 2022.04.16)."""
    path = tables._path(DWARF_TABLE)
    raw = tables._loadtxt(path, usecols=(1, 2, 3, 4, 5, 6, 7))
    if raw.ndim != 2 or raw.shape[1] != 7:
        raise ConfigError(f"{path}: expected columns SpT Teff BCv Mbol R_Rsun Msun g-r i-z")
    order = np.argsort(-raw[:, 0])
    t = raw[order]
    return DwarfSequence(teff=t[:, 0], bc_v=t[:, 1], mass=t[:, 4], g_r=t[:, 5], i_z=t[:, 6])


def ps1_to_sdss_colours(g_r: np.ndarray, i_z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """SDSS g-r and i-z from PS1 colours (Tonry et al. 2012, Table 6, quadratics in PS1 g-r)."""
    x = np.asarray(g_r, float)
    gr_sdss = x + (0.013 + 0.145 * x + 0.019 * x**2) - (-0.001 + 0.004 * x + 0.007 * x**2)
    iz_sdss = np.asarray(i_z, float) + (-0.005 + 0.011 * x + 0.010 * x**2) - (0.013 - 0.039 * x - 0.012 * x**2)
    return gr_sdss, iz_sdss


def _interp_teff(colour: np.ndarray, seq_colour: np.ndarray, seq_teff: np.ndarray) -> np.ndarray:
    ok = np.isfinite(seq_colour)
    c, t = seq_colour[ok], seq_teff[ok]
    order = np.argsort(c)
    return np.interp(colour, c[order], t[order])


def teff_from_ps1_colours(g_r: np.ndarray, i_z: np.ndarray) -> np.ndarray:
    """Effective temperature (K) of a star with intrinsic PS1 colours g-r, i-z (dwarf colour-Teff relation)."""
    seq = dwarf_sequence()
    gr_s, iz_s = ps1_to_sdss_colours(g_r, i_z)
    t_gr = _interp_teff(gr_s, seq.g_r, seq.teff)
    t_iz = _interp_teff(iz_s, seq.i_z, seq.teff)
    w = np.clip((gr_s - GR_BLEND[0]) / (GR_BLEND[1] - GR_BLEND[0]), 0.0, 1.0)
    return (1 - w) * t_gr + w * np.minimum(t_iz, t_gr)


def bc_r(teff: np.ndarray, g_r: np.ndarray) -> np.ndarray:
    """Bolometric correction in PS1 r: BC_V(Teff) + V - r (V from SDSS g, r by Jester et al. 2005)."""
    seq = dwarf_sequence()
    bc_v = np.interp(teff, seq.teff[::-1], seq.bc_v[::-1])
    x = np.asarray(g_r, float)
    gr_s, _ = ps1_to_sdss_colours(x, np.zeros_like(x))
    v_minus_r_sdss = 0.41 * gr_s - 0.01  # V = g - 0.59 (g - r) - 0.01
    r_sdss_minus_ps1 = -0.001 + 0.004 * x + 0.007 * x**2
    return bc_v + v_minus_r_sdss + r_sdss_minus_ps1


def turnoff_mass(feh: np.ndarray) -> np.ndarray:
    """Turnoff mass (M_sun) of an old (10-12 Gyr) population: about 0.8 at [Fe/H] = -1.5, 1.0 at solar."""
    return np.clip(0.95 + 0.1 * np.nan_to_num(np.asarray(feh, float), nan=-0.5), 0.78, 1.0)


def dwarf_mass(teff: np.ndarray, feh: np.ndarray) -> np.ndarray:
    """Mass of a main-sequence star of this Teff (dwarf sequence), at most the turnoff mass."""
    seq = dwarf_sequence()
    return np.minimum(np.interp(teff, seq.teff[::-1], seq.mass[::-1]), turnoff_mass(feh))


def logg_from_luminosity(teff: np.ndarray, m_r: np.ndarray, mass: np.ndarray, g_r: np.ndarray) -> np.ndarray:
    """Surface gravity (dex, cgs) from mass, Teff and absolute r: g ~ M / R^2 with L = 4 pi R^2 sigma Teff^4."""
    m_bol = np.asarray(m_r, float) + bc_r(teff, g_r)
    return LOGG_SUN + np.log10(mass) + 4 * np.log10(np.asarray(teff) / TEFF_SUN) + 0.4 * (m_bol - MBOL_SUN)


def white_dwarf_parameters(kind: str, m_r: np.ndarray, g_r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Teff and log g of white dwarfs of ``kind`` ("DA"/"DB") with absolute r and g-r, from the cooling tracks
    the mock draws from: the track (log g 7.5, 8, 8.5) whose g-r at that M_r is closest."""
    from core.mock.populations import WD_TRACKS, cooling_track

    tracks = [cooling_track(k, lg) for k, lg, _ in WD_TRACKS if k == kind]
    if not tracks:
        raise ConfigError(f"no white-dwarf tracks of kind {kind!r}")
    teffs, gaps = [], []
    grid = tables.white_dwarf_grid(kind)
    for tr in tracks:
        rows = grid[grid[:, tables.WD_LOGG] == tr.logg]
        rows = rows[np.argsort(-rows[:, tables.WD_TEFF])]
        track_gr = np.interp(m_r, tr.mr, tr.mags[:, 0] - tr.mags[:, 1])
        gaps.append(np.abs(track_gr - g_r))
        teffs.append(np.interp(m_r, tr.mr, rows[:, tables.WD_TEFF]))
    best = np.argmin(np.stack(gaps), axis=0)
    idx = np.arange(len(best))
    teff = np.stack(teffs)[best, idx]
    logg = np.array([tr.logg for tr in tracks])[best]
    return teff, logg


def hot_subdwarf_teff(g_r: np.ndarray) -> np.ndarray:
    """Teff of hot subdwarfs from g-r, inverting the log g = 7 DA colours the mock gives them (22-38 kK)."""
    grid = tables.white_dwarf_grid("DA")
    rows = grid[(grid[:, tables.WD_LOGG] == 7.0) & (grid[:, tables.WD_TEFF] >= 15000)]
    mags = rows[:, list(tables.WD_PS1_COLUMNS)]
    gr = mags[:, 0] - mags[:, 1]
    order = np.argsort(gr)
    return np.clip(np.interp(g_r, gr[order], rows[order, tables.WD_TEFF]), 22000, 38000)


def _hot_bc_r(teff: np.ndarray) -> np.ndarray:
    """BC in PS1 r of hot (sdB-like) atmospheres, from the log g = 7 DA models (M_bol - M_r)."""
    grid = tables.white_dwarf_grid("DA")
    rows = grid[grid[:, tables.WD_LOGG] == 7.0]
    rows = rows[np.argsort(rows[:, tables.WD_TEFF])]
    bc = rows[:, 3] - rows[:, tables.WD_PS1_COLUMNS[1]]
    return np.interp(teff, rows[:, tables.WD_TEFF], bc)


def _labels_of(column: pd.Series) -> np.ndarray:
    """A categorical-friendly ``astype(str)``: maps the (few) categories, not every row."""
    cat = pd.Categorical(column)
    names = np.asarray(cat.categories.astype(str), dtype=object)
    return np.append(names, "")[np.where(cat.codes < 0, len(names), cat.codes)]


def stellar_parameters(df: pd.DataFrame, *, calibrated: bool | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(true_teff, true_logg)`` for every row of a mock catalog, from its truth columns (NaN for QSOs and
    galaxies). Needs ``true_class, true_component, true_mr, true_feh, true_g..true_y``. ``calibrated`` says
    whether the mock moved its template colours onto the real PS1 locus (default: the catalog's metadata,
    else True, the mock's default)."""
    if calibrated is None:
        config = df.attrs.get("sedscape", {}).get("mock", {}).get("config", {})
        calibrated = bool(config.get("calibrate_colours", True))
    need = ["true_class", "true_component", "true_mr", "true_feh", *(f"true_{b}" for b in BANDS)]
    missing = [c for c in need if c not in df.columns]
    if missing:
        raise CatalogError(f"not a mock catalog with truth columns: missing {missing}")
    n = len(df)
    cls = _labels_of(df["true_class"])
    field = _labels_of(df["true_component"]) != "cluster"
    mr = df["true_mr"].to_numpy(np.float64)
    feh = df["true_feh"].to_numpy(np.float64)
    true = df[[f"true_{b}" for b in BANDS]].to_numpy(np.float64)
    gr, iz = true[:, 0] - true[:, 1], true[:, 2] - true[:, 3]
    on_grid = field & np.isin(cls, _GRID_CLASSES)
    if on_grid.any():
        from core.mock.populations import template_colours

        cols = template_colours(mr[on_grid], feh[on_grid], calibrated=calibrated)
        gr[on_grid], iz[on_grid] = cols[:, 0], cols[:, 2]

    teff = np.full(n, np.nan)
    logg = np.full(n, np.nan)
    wd = np.isin(cls, ("wd_da", "wd_db")) | (cls == "artefact") & ~np.isfinite(feh)
    sdb = cls == "sdb"
    star = ~wd & ~sdb & ~np.isin(cls, _NO_PARAMETERS) & np.isfinite(mr)
    teff[star] = teff_from_ps1_colours(gr[star], iz[star])
    mass = dwarf_mass(teff, feh)
    mass = np.where(cls == "giant", turnoff_mass(feh), mass)
    mass = np.where(np.isin(cls, ("bhb", "rhb", "rrlyrae")), HB_MASS, mass)
    mass = np.where(cls == "bss", BSS_MASS, mass)
    logg[star] = logg_from_luminosity(teff[star], mr[star], mass[star], gr[star])
    for kind in ("DA", "DB"):
        sel = wd & ((cls == f"wd_{kind.lower()}") | ((cls == "artefact") & (kind == "DA"))) & np.isfinite(mr)
        if sel.any():
            teff[sel], logg[sel] = white_dwarf_parameters(kind, mr[sel], gr[sel])
    if sdb.any():
        teff[sdb] = hot_subdwarf_teff(gr[sdb])
        m_bol = mr[sdb] + _hot_bc_r(teff[sdb])
        logg[sdb] = (
            LOGG_SUN + np.log10(SDB_MASS) + 4 * np.log10(teff[sdb] / TEFF_SUN) + 0.4 * (m_bol - MBOL_SUN)
        )
    return teff, logg


# --- what a LAMOST-like survey measures ------------------------------------------------------------


@dataclass(frozen=True)
class SpectroConfig:
    """A LAMOST-like survey: which stars get spectra and how precise their parameters are.

    Stars with observed ``r_range[0] <= r < r_range[1]`` whose true Teff lies in ``teff_range`` (the
    pipeline's grid) are observed with probability ``fraction``. Errors grow with magnitude from the
    ``*_err_bright`` value at r = 14 to ``*_err_faint`` at ``r_range[1]`` (lower S/N), times a
    log-normal star-to-star factor; labels are truth plus Gaussian noise of that size.
    """

    r_range: tuple[float, float] = (13.0, 17.8)
    fraction: float = 0.12
    teff_range: tuple[float, float] = (3000.0, 8500.0)
    teff_err: tuple[float, float] = (60.0, 140.0)
    logg_err: tuple[float, float] = (0.08, 0.20)
    feh_err: tuple[float, float] = (0.07, 0.15)
    scatter_dex: float = 0.08

    def __post_init__(self) -> None:
        if not 0 < self.fraction <= 1:
            raise ConfigError(f"SpectroConfig.fraction must be in (0, 1], got {self.fraction}")
        for name in ("r_range", "teff_range"):
            lo, hi = getattr(self, name)
            if not lo < hi:
                raise ConfigError(f"SpectroConfig.{name} must be (low, high), got {(lo, hi)}")
        for name in ("teff_err", "logg_err", "feh_err"):
            lo, hi = getattr(self, name)
            if not 0 < lo <= hi:
                raise ConfigError(f"SpectroConfig.{name} must be (bright, faint) with 0 < bright <= faint")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def draw_labels(
    rng: np.random.Generator, df: pd.DataFrame, config: SpectroConfig = SpectroConfig()
) -> dict[str, np.ndarray]:
    """Spectroscopic labels for a random bright subsample: ``teff, logg, feh`` and ``*_err`` (NaN elsewhere).

    Needs ``true_teff, true_logg, true_feh`` and an observed ``r`` (``r_obs`` if the catalog is dereddened).
    """
    r = df["r_obs" if "r_obs" in df.columns else "r"].to_numpy(np.float64)
    teff = df["true_teff"].to_numpy(np.float64)
    logg = df["true_logg"].to_numpy(np.float64)
    feh = df["true_feh"].to_numpy(np.float64)
    n = len(df)
    lo, hi = config.r_range
    eligible = (
        (r >= lo)
        & (r < hi)
        & np.isfinite(teff)
        & np.isfinite(logg)
        & np.isfinite(feh)
        & (teff >= config.teff_range[0])
        & (teff <= config.teff_range[1])
    )
    chosen = eligible & (rng.random(n) < config.fraction)
    depth = np.clip((r - 14.0) / (hi - 14.0), 0.0, 1.0)
    out: dict[str, np.ndarray] = {}
    for name, truth, (e_bright, e_faint) in (
        ("teff", teff, config.teff_err),
        ("logg", logg, config.logg_err),
        ("feh", feh, config.feh_err),
    ):
        err = e_bright * (e_faint / e_bright) ** depth * 10 ** rng.normal(0, config.scatter_dex, n)
        value = truth + err * rng.normal(size=n)
        out[name] = np.where(chosen, value, np.nan).astype(np.float32)
        out[f"{name}_err"] = np.where(chosen, err, np.nan).astype(np.float32)
    log.info("spectroscopic labels for %d of %d rows (%d eligible)", int(chosen.sum()), n, int(eligible.sum()))
    return out


def add_spectroscopy(
    df: pd.DataFrame, seed: int, config: SpectroConfig = SpectroConfig(), *, calibrated: bool = True
) -> pd.DataFrame:
    """Add ``true_teff, true_logg`` for every row and LAMOST-like labels (:data:`LABEL_COLUMNS`) in place.

    Uses its own random stream (``SeedSequence(seed).spawn(7)[6]``), so the mock's other columns are
    exactly what they were without it.
    """
    teff, logg = stellar_parameters(df, calibrated=calibrated)
    df["true_teff"] = teff.astype(np.float32)
    df["true_logg"] = logg.astype(np.float32)
    rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(7)[6])
    for name, values in draw_labels(rng, df, config).items():
        df[name] = values
    return df


def labelled(df: pd.DataFrame) -> pd.DataFrame:
    """The rows with spectroscopic labels (all of ``teff, logg, feh`` finite)."""
    missing = [c for c in ("teff", "logg", "feh") if c not in df.columns]
    if missing:
        raise CatalogError(f"catalog has no spectroscopic label columns {missing}")
    ok = np.isfinite(df[["teff", "logg", "feh"]].to_numpy(np.float64)).all(axis=1)
    out = df.loc[ok].reset_index(drop=True)
    out.attrs = df.attrs
    return out


def lamost_field(
    df: pd.DataFrame,
    *,
    ebv_max: float = 1.0,
    map_error: float = 0.1,
    seed: int = 7,
) -> pd.DataFrame:
    """The labelled stars of a mock catalog seen through a dust screen with E(B-V) from 0 to ``ebv_max``.

    At 60 < b < 80 deg the mock's reddening is 0.002-0.1 mag, too little to measure an extinction
    vector; a real spectroscopic survey covers lower latitudes. Each labelled star keeps its intrinsic
    SED, photometric errors and noise realisation but gets a new reddening: a map value drawn uniformly
    in [0, ebv_max], times the star's own fraction of the column in front of it (as the mock's dust layer
    gives it). ``ebv`` then holds a 3-D-map-like estimate of each star's reddening with ``map_error``
    fractional scatter (unbiased), ``ebv_err`` the map's uncertainty, and ``true_ebv`` the reddening applied; observed (``<band>_obs``) and
    dereddened (``<band>``) magnitudes are updated with the mock's SF11 coefficients.
    """
    if not ebv_max >= 0:
        raise ConfigError(f"ebv_max must be >= 0, got {ebv_max}")
    need = ["ebv", "true_ebv", *(f"{b}_obs" for b in BANDS)]
    missing = [c for c in need if c not in df.columns]
    if missing:
        raise CatalogError(f"lamost_field needs a dereddened mock catalog; missing {missing}")
    out = labelled(df).copy()
    out.attrs = dict(df.attrs)
    rng = np.random.default_rng(seed)
    old_true = out["true_ebv"].to_numpy(np.float64)
    old_map = out["ebv"].to_numpy(np.float64)
    fraction = np.where(old_map > 0, old_true / np.maximum(old_map, 1e-9), 1.0)
    new_true = rng.uniform(0.0, ebv_max, len(out)) * fraction
    delta = new_true - old_true
    estimate = np.clip(new_true * (1 + map_error * rng.normal(size=len(out))), 0.0, None)
    for k, b in enumerate(BANDS):
        obs = out[f"{b}_obs"].to_numpy(np.float64) + K_EXT[k] * delta
        out[f"{b}_obs"] = obs
        out[b] = obs - K_EXT[k] * estimate
    out["ebv"] = estimate
    # The map's stated uncertainty: a fraction of the column, not of this star's noisy estimate (weighting
    # by the noisy value would favour low estimates and bias the learned R high by ~map_error^2).
    out["ebv_err"] = (map_error * new_true).astype(np.float32)
    out["true_ebv"] = new_true.astype(np.float32)
    meta = out.attrs.setdefault("sedscape", {})
    meta = dict(meta)
    meta["lamost_field"] = {"ebv_max": ebv_max, "map_error": map_error, "seed": seed, "n_rows": len(out)}
    if isinstance(meta.get("dereddened"), dict):
        meta["dereddened"] = {**meta["dereddened"], "ebv_column": "ebv", "source": "lamost_field 3-D map estimate"}
    out.attrs["sedscape"] = meta
    return out
