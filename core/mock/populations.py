"""Stellar populations of the mock sky: luminosity functions and intrinsic PS1 SEDs.

Each population has a luminosity function in M_r (for the sky sampler) and a function that, given
the sampled M_r, returns absolute g r i z y. SEDs come from the reference tables: the Ivezic/Juric
colour grid for main-sequence stars and giants (moved onto the real PS1 locus, :mod:`core.mock.locus`), Montreal cooling tracks for white dwarfs, the M3
horizontal branch for BHB and RR Lyrae stars, the hot end of the DA grid for hot subdwarfs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import numpy as np

from core.mock import tables

BANDS = ("g", "r", "i", "z", "y")
# Every value of the truth column ``true_class``; rows carry the index into this tuple while building.
TRUE_CLASSES: tuple[str, ...] = (
    "ms",
    "giant",
    "mdwarf",
    "wd_da",
    "wd_db",
    "bhb",
    "rhb",
    "rrlyrae",
    "bss",
    "sdb",
    "binary_ms_ms",
    "binary_wd_m",
    "qso",
    "galaxy",
    "artefact",
)
CLASS_CODE: dict[str, int] = {name: k for k, name in enumerate(TRUE_CLASSES)}
WD_MAX_AGE_YR = 10e9  # constant star formation over the disk's life
MDWARF_MIN_MR = 9.0  # about M0V in PS1 r
COLOUR_SCATTER = 0.012  # intrinsic star-to-star scatter per colour (activity, spots, unresolved companions)


def colours_to_mags(mr: np.ndarray, colours: np.ndarray) -> np.ndarray:
    """Absolute g r i z y from M_r and the colours g-r, r-i, i-z, z-y (shape (N, 4))."""
    out = np.empty((len(mr), 5))
    out[:, 1] = mr
    out[:, 0] = mr + colours[:, 0]
    out[:, 2] = mr - colours[:, 1]
    out[:, 3] = out[:, 2] - colours[:, 2]
    out[:, 4] = out[:, 3] - colours[:, 3]
    return out


def add_fluxes(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Magnitudes of an unresolved pair: the fluxes add."""
    return -2.5 * np.log10(10 ** (-0.4 * a) + 10 ** (-0.4 * b))


# --- metallicity ---------------------------------------------------------------------------------


def feh_mean_sigma(component: str, z_pc: np.ndarray) -> tuple[np.ndarray, float]:
    """Mean and spread of [Fe/H] in ``component`` at height ``z_pc`` (before clipping to [-3, 0.5]).

    Halo: N(-1.46, 0.30) (Ivezic et al. 2008). Thick disk: the SDSS disk relation
    -0.78 + 0.35 exp(-|Z| / 1 kpc) with sigma 0.2 (Ivezic et al. 2008; coefficients as in Bond et al.
    2010). Thin disk: N(-0.15, 0.2), a solar-neighbourhood-like choice of ours.
    """
    z = np.asarray(z_pc, float)
    if component == "thin":
        return np.full(z.shape, -0.15), 0.20
    if component == "thick":
        return -0.78 + 0.35 * np.exp(-np.abs(z) / 1000.0), 0.20
    if component == "halo":
        return np.full(z.shape, -1.46), 0.30
    raise ValueError(f"no metallicity distribution for component {component!r}")


def draw_feh(rng: np.random.Generator, component: str, z_pc: np.ndarray) -> np.ndarray:
    """[Fe/H] per star from its component (:func:`feh_mean_sigma`)."""
    mean, sigma = feh_mean_sigma(component, z_pc)
    return np.clip(mean + rng.normal(0, sigma, len(z_pc)), -3.0, 0.5)


# --- main sequence and giants --------------------------------------------------------------------


GIANT_LF_FACTOR = (
    0.2  # the giant branch of an old population is short-lived: fewer stars than the MS power law
)


@cache
def main_lf() -> tuple[np.ndarray, np.ndarray]:
    """The solar-neighbourhood LF of main-sequence and giant-branch stars (stars / pc^3 / mag).

    The table's bright end (M_r < 4.9) extrapolates the MS power law; above the turnoff (M_r < ~3.3)
    an old population has far fewer stars per magnitude, so that part is scaled by GIANT_LF_FACTOR
    (with a linear ramp over 2.8 < M_r < 3.6) to give a few per cent giants at high latitude.
    """
    mr, lf = tables.luminosity_function()
    ramp = np.clip((mr - 2.8) / 0.8, 0.0, 1.0)
    return mr, lf * (GIANT_LF_FACTOR + (1 - GIANT_LF_FACTOR) * ramp)


def template_colours(mr: np.ndarray, feh: np.ndarray, *, calibrated: bool = True) -> np.ndarray:
    """(g-r, r-i, i-z, z-y) of the Ivezic templates at (M_r, [Fe/H]), moved onto the real PS1 locus.

    The calibration adds ``ps1_locus_correction.txt`` at the template's own g - i (see
    :mod:`core.mock.locus`); it changes neither g - i nor M_r. ``calibrated=False`` gives the raw table.
    """
    colours = tables.colour_grid()(mr, feh)
    if calibrated:
        colours += tables.locus_correction()(colours[:, 0] + colours[:, 1])
    return colours


def main_sequence_mags(
    rng: np.random.Generator, mr: np.ndarray, feh: np.ndarray, *, calibrated: bool = True
) -> np.ndarray:
    """Absolute grizy of main-sequence and giant-branch stars: template colours plus intrinsic scatter."""
    colours = template_colours(mr, feh, calibrated=calibrated) + rng.normal(0, COLOUR_SCATTER, (len(mr), 4))
    return colours_to_mags(mr, colours)


def main_sequence_class(mr: np.ndarray, feh: np.ndarray) -> np.ndarray:
    """Class codes: 'giant' above the turnoff (brighter by 0.5 mag), 'mdwarf' below M_r = 9, else 'ms'."""
    to = tables.colour_grid().turnoff_mr(feh)
    cls = np.full(len(mr), CLASS_CODE["ms"], dtype=np.int8)
    cls[mr < to - 0.5] = CLASS_CODE["giant"]
    cls[mr >= MDWARF_MIN_MR] = CLASS_CODE["mdwarf"]
    return cls


# --- white dwarfs --------------------------------------------------------------------------------


@dataclass(frozen=True)
class CoolingTrack:
    """One white-dwarf cooling sequence (fixed log g) as M_r rising monotonically with age."""

    kind: str
    logg: float
    mr: np.ndarray  # monotone increasing
    age: np.ndarray
    mags: np.ndarray  # (n, 5) absolute grizy

    def lf(self, mr_grid: np.ndarray) -> np.ndarray:
        """dN/dM_r for a constant birth rate: proportional to d(age)/d(M_r), zero beyond the disk age."""
        age = np.interp(mr_grid, self.mr, self.age, left=np.nan, right=np.nan)
        lf = np.gradient(np.where(np.isfinite(age), np.minimum(age, WD_MAX_AGE_YR), 0.0), mr_grid)
        return np.clip(np.nan_to_num(lf), 0, None)

    def mags_at(self, mr: np.ndarray) -> np.ndarray:
        return np.stack([np.interp(mr, self.mr, self.mags[:, k]) for k in range(5)], axis=1)


WD_TRACKS: tuple[tuple[str, float, float], ...] = (
    # kind, log g, share of all white dwarfs (about 80% DA; mass distribution peaked at log g 8)
    ("DA", 7.5, 0.12),
    ("DA", 8.0, 0.56),
    ("DA", 8.5, 0.12),
    ("DB", 7.5, 0.03),
    ("DB", 8.0, 0.14),
    ("DB", 8.5, 0.03),
)


@cache
def cooling_track(kind: str, logg: float) -> CoolingTrack:
    grid = tables.white_dwarf_grid(kind)
    rows = grid[grid[:, tables.WD_LOGG] == logg]
    rows = rows[np.argsort(-rows[:, tables.WD_TEFF])]  # hot to cool = young to old
    mags = rows[:, list(tables.WD_PS1_COLUMNS)]
    age = np.maximum.accumulate(rows[:, -1])
    mr = np.maximum.accumulate(mags[:, 1]) + np.arange(len(rows)) * 1e-6
    return CoolingTrack(kind, logg, mr, age, mags)


def wd_lf_grid() -> np.ndarray:
    return np.arange(5.0, 20.0, 0.02)


# --- horizontal branch, blue stragglers, hot subdwarfs ------------------------------------------


@cache
def _m3_horizontal_branch() -> np.ndarray:
    """M3's horizontal branch in absolute, dereddened PS1 mags (rows blue to red)."""
    from core.bands import PS1

    fid = tables.cluster_fiducial("NGC5272")
    k = np.array([PS1.extinction_coeffs[b] for b in BANDS])
    return fid.hb - fid.dist_mod - k * fid.ebv


def _hb_colours(g_r: np.ndarray) -> np.ndarray:
    hb = _m3_horizontal_branch()
    gr = hb[:, 0] - hb[:, 1]
    order = np.argsort(gr)
    cols = np.stack([gr, hb[:, 1] - hb[:, 2], hb[:, 2] - hb[:, 3], hb[:, 3] - hb[:, 4]], axis=1)[order]
    return np.stack([g_r] + [np.interp(g_r, cols[:, 0], cols[:, k]) for k in (1, 2, 3)], axis=1)


def _hb_mr(g_r: np.ndarray) -> np.ndarray:
    hb = _m3_horizontal_branch()
    gr = hb[:, 0] - hb[:, 1]
    order = np.argsort(gr)
    return np.interp(g_r, gr[order], hb[order, 1])


BHB_GR_RANGE = (-0.30, 0.0)
RRL_GR_RANGE = (0.0, 0.30)


def hb_lf(gr_range: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    """LF of horizontal-branch stars spread uniformly in g-r over ``gr_range`` along M3's HB."""
    gr = np.linspace(*gr_range, 2001)
    mr = _hb_mr(gr)
    grid = np.arange(-1.0, 3.0, 0.02)
    hist, _ = np.histogram(mr + np.random.default_rng(0).normal(0, 0.05, mr.size), bins=np.append(grid, 3.0))
    return grid, hist / hist.sum() / 0.02


def hb_mags(rng: np.random.Generator, mr: np.ndarray, gr_range: tuple[float, float]) -> np.ndarray:
    """SEDs of HB stars with the given M_r: the HB colour at that M_r (inverting M_r(g-r) on the branch)."""
    gr = np.linspace(*gr_range, 501)
    hb_mr = _hb_mr(gr)
    order = np.argsort(hb_mr)
    g_r = np.interp(mr, hb_mr[order], gr[order]) + rng.normal(0, 0.02, len(mr))
    colours = _hb_colours(g_r) + rng.normal(0, COLOUR_SCATTER, (len(mr), 4))
    return colours_to_mags(mr, colours)


@cache
def _hot_locus(calibrated: bool = True) -> np.ndarray:
    """(g-r, r-i, i-z, z-y) of hot dwarfs: M3's HB colours for g-r < 0.15, the metal-poor MS beyond."""
    hb = _hb_colours(np.linspace(-0.3, 0.15, 30))
    mr = np.arange(4.2, 7.0, 0.05)
    ms = template_colours(mr, np.full(mr.size, -1.0), calibrated=calibrated)
    ms = ms[ms[:, 0] > 0.25]
    locus = np.vstack([hb, ms])
    return locus[np.argsort(locus[:, 0])]


def hot_dwarf_colours(g_r: np.ndarray, *, calibrated: bool = True) -> np.ndarray:
    locus = _hot_locus(calibrated)
    return np.stack([g_r] + [np.interp(g_r, locus[:, 0], locus[:, k]) for k in (1, 2, 3)], axis=1)


def bss_lf() -> tuple[np.ndarray, np.ndarray]:
    """Blue stragglers: flat in M_r between 1.8 and 4.0 (up to ~2.5 mag above the old turnoff)."""
    grid = np.arange(1.0, 5.0, 0.02)
    return grid, ((grid >= 1.8) & (grid <= 4.0)).astype(float)


def bss_mags(rng: np.random.Generator, mr: np.ndarray, *, calibrated: bool = True) -> np.ndarray:
    """Brighter blue stragglers are bluer: g-r from ~0.3 at M_r 4 to ~-0.1 at M_r 2."""
    g_r = 0.30 - 0.20 * (4.0 - mr) + rng.normal(0, 0.05, len(mr))
    colours = hot_dwarf_colours(g_r, calibrated=calibrated) + rng.normal(0, COLOUR_SCATTER, (len(mr), 4))
    return colours_to_mags(mr, colours)


def sdb_lf() -> tuple[np.ndarray, np.ndarray]:
    """Hot subdwarfs: M_r ~ N(4.6, 0.4) (M_V of sdB stars is about 4-5)."""
    grid = np.arange(2.0, 7.0, 0.02)
    return grid, np.exp(-0.5 * ((grid - 4.6) / 0.4) ** 2)


def sdb_mags(rng: np.random.Generator, mr: np.ndarray) -> np.ndarray:
    """Colours of 22-38 kK atmospheres, taken from the hot end of the DA grid at log g 7."""
    grid = tables.white_dwarf_grid("DA")
    rows = grid[(grid[:, tables.WD_LOGG] == 7.0) & (grid[:, tables.WD_TEFF] >= 15000)]
    rows = rows[np.argsort(rows[:, tables.WD_TEFF])]
    mags = rows[:, list(tables.WD_PS1_COLUMNS)]
    teff = rng.uniform(22000, 38000, len(mr))
    cols = np.stack([np.interp(teff, rows[:, 0], mags[:, k] - mags[:, k + 1]) for k in range(4)], axis=1)
    return colours_to_mags(mr, cols + rng.normal(0, COLOUR_SCATTER, (len(mr), 4)))


# --- QSOs and compact galaxies -------------------------------------------------------------------


def qso_mags(rng: np.random.Generator, g: np.ndarray) -> np.ndarray:
    """Apparent grizy of low-redshift quasars: a power law f_nu ~ nu^alpha (alpha ~ -0.5 +- 0.3) plus an
    emission line brightening one band by 0.05-0.35 mag (which band depends on redshift)."""
    from core.bands import PS1

    n = len(g)
    lam = np.array(PS1.wavelengths_nm)
    alpha = rng.normal(-0.5, 0.3, n)
    # m_band - m_g for f_nu ~ nu^alpha = lambda^-alpha
    mags = g[:, None] + 2.5 * alpha[:, None] * np.log10(lam[None, :] / lam[0])
    line_band = rng.integers(0, 5, n)
    mags[np.arange(n), line_band] -= rng.uniform(0.05, 0.35, n)
    return mags


def galaxy_mags(rng: np.random.Generator, r: np.ndarray) -> np.ndarray:
    """Apparent grizy of compact red galaxies (colours of early types at z ~ 0.1-0.4)."""
    n = len(r)
    g_r = rng.uniform(0.7, 1.7, n)
    r_i = 0.45 * g_r + rng.normal(0, 0.08, n)
    i_z = 0.25 * g_r + rng.normal(0, 0.06, n)
    z_y = 0.10 * g_r + rng.normal(0, 0.06, n)
    return colours_to_mags(r, np.stack([g_r, r_i, i_z, z_y], axis=1))


# --- registry -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldPopulation:
    """A Galactic population: which components host it (with relative weights), its LF and SED maker.

    ``paper_count`` is the expected number of such objects in the pre-cut window at the paper's scale;
    ``None`` means "the rest" (the main sequence and giants, whose split comes from the densities).
    """

    name: str
    components: tuple[tuple[str, float], ...]
    lf: Callable[[], tuple[np.ndarray, np.ndarray]]
    paper_count: float | None = None


def _wd_lf(kind: str, logg: float) -> Callable[[], tuple[np.ndarray, np.ndarray]]:
    def lf() -> tuple[np.ndarray, np.ndarray]:
        grid = wd_lf_grid()
        return grid, cooling_track(kind, logg).lf(grid)

    return lf


def _mdwarf_companion_lf() -> tuple[np.ndarray, np.ndarray]:
    mr, lf = main_lf()
    return mr, np.where((mr >= 8.0) & (mr <= 12.5), lf, 0.0)


def field_populations() -> tuple[FieldPopulation, ...]:
    """The Galactic populations and their pre-cut counts at paper scale (see data/README.md for sources)."""
    disk = (("thin", 1.0), ("thick", 1.0))
    pops = [FieldPopulation("main", (("thin", 1.0), ("thick", 1.0), ("halo", 1.0)), main_lf)]
    for kind, logg, share in WD_TRACKS:
        name = f"wd_{kind.lower()}_{int(logg * 10)}"
        pops.append(FieldPopulation(name, disk, _wd_lf(kind, logg), 25_000 * share))
    pops += [
        FieldPopulation("binary_wd_m", disk, _mdwarf_companion_lf, 1_500),
        FieldPopulation("bhb", (("halo", 1.0), ("thick", 0.1)), lambda: hb_lf(BHB_GR_RANGE), 4_000),
        FieldPopulation("rrlyrae", (("halo", 1.0), ("thick", 0.1)), lambda: hb_lf(RRL_GR_RANGE), 2_500),
        FieldPopulation("bss", (("halo", 1.0), ("thick", 0.5)), bss_lf, 6_000),
        FieldPopulation("sdb", (("thick", 1.0), ("halo", 0.2)), sdb_lf, 900),
    ]
    return tuple(pops)
