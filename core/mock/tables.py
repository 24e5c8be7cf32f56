"""Readers for the published tables in ``data/reference/`` that the mock sky is built from.

Each reader parses its file once per process (``functools.cache``) and returns plain numpy arrays;
a missing or malformed table raises :class:`ConfigError` naming the file. Sources are listed in
``data/README.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from core.errors import ConfigError
from core.paths import reference_dir

# Column positions (0-based) of PS1 g r i z y in the Montreal white-dwarf grids (31-35 counting from 1).
WD_PS1_COLUMNS: tuple[int, ...] = (30, 31, 32, 33, 34)
WD_TEFF, WD_LOGG, WD_MASS = 0, 1, 2


def _path(name: str) -> Path:
    path = reference_dir() / name
    if not path.exists():
        raise ConfigError(
            f"reference table {path} is missing; the mock sky needs data/reference/ from the repo"
        )
    return path


def _loadtxt(path: Path, **kwargs) -> np.ndarray:
    try:
        return np.loadtxt(path, comments="#", **kwargs)
    except ValueError as exc:
        raise ConfigError(f"reference table {path} cannot be parsed: {exc}") from exc


@dataclass(frozen=True)
class ColourGrid:
    """Main-sequence and giant-branch PS1 colours on a regular (M_r, [Fe/H]) grid."""

    mr: np.ndarray  # (n_mr,)
    feh: np.ndarray  # (n_feh,)
    colours: np.ndarray  # (n_mr, n_feh, 4): g-r, r-i, i-z, z-y

    def __call__(self, mr: np.ndarray, feh: np.ndarray) -> np.ndarray:
        """Bilinear interpolation of the four colours at each (M_r, [Fe/H]); inputs are clipped to the grid."""
        mr = np.clip(np.asarray(mr, float), self.mr[0], self.mr[-1])
        feh = np.clip(np.asarray(feh, float), self.feh[0], self.feh[-1])
        fx = (mr - self.mr[0]) / (self.mr[1] - self.mr[0])
        fy = (feh - self.feh[0]) / (self.feh[1] - self.feh[0])
        ix = np.minimum(fx.astype(np.int64), len(self.mr) - 2)
        iy = np.minimum(fy.astype(np.int64), len(self.feh) - 2)
        tx = (fx - ix)[:, None]
        ty = (fy - iy)[:, None]
        c = self.colours
        return (
            c[ix, iy] * (1 - tx) * (1 - ty)
            + c[ix + 1, iy] * tx * (1 - ty)
            + c[ix, iy + 1] * (1 - tx) * ty
            + c[ix + 1, iy + 1] * tx * ty
        )

    def turnoff_mr(self, feh: np.ndarray) -> np.ndarray:
        """M_r of the bluest point (the turnoff) between M_r 2 and 7, per [Fe/H]; giants are brighter."""
        sel = (self.mr >= 2.0) & (self.mr <= 7.0)
        to = self.mr[sel][np.argmin(self.colours[sel, :, 0], axis=0)]
        return np.interp(np.asarray(feh, float), self.feh, to)


@cache
def colour_grid() -> ColourGrid:
    """``ps1_colors_vs_Mr_FeH.dat`` (Ivezic et al. 2008 templates in PS1 bands, via bayestar)."""
    path = _path("ps1_colors_vs_Mr_FeH.dat")
    raw = _loadtxt(path)
    mr = np.unique(raw[:, 0])
    feh = np.unique(raw[:, 1])
    if raw.shape != (len(mr) * len(feh), 6):
        raise ConfigError(f"{path}: expected a full (M_r, [Fe/H]) grid with 6 columns, got shape {raw.shape}")
    order = np.lexsort((raw[:, 0], raw[:, 1]))  # [Fe/H] slow, M_r fast
    grid = raw[order, 2:].reshape(len(feh), len(mr), 4).transpose(1, 0, 2)
    return ColourGrid(mr=mr, feh=feh, colours=np.ascontiguousarray(grid))


@cache
def luminosity_function() -> tuple[np.ndarray, np.ndarray]:
    """``luminosity_function_Mr.dat``: (M_r, dN/dM_r in stars / pc^3 / mag) for the solar neighbourhood."""
    raw = _loadtxt(_path("luminosity_function_Mr.dat"))
    return raw[:, 0].copy(), raw[:, 1].copy()


@cache
def white_dwarf_grid(kind: str) -> np.ndarray:
    """Montreal cooling grid (``"DA"`` or ``"DB"``): rows of Teff, log g, mass, ..., PS1 grizy, ..., age [yr]."""
    name = {"DA": "white_dwarf_DA_grid.txt", "DB": "white_dwarf_DB_grid.txt"}.get(kind)
    if name is None:
        raise ConfigError(f"unknown white-dwarf grid {kind!r}; known: DA, DB")
    path = _path(name)
    rows = []
    with path.open() as fh:
        for line in fh:
            parts = line.split()
            if len(parts) < 40:
                continue
            try:
                rows.append([float(p) for p in parts])
            except ValueError:
                continue  # header lines
    if not rows:
        raise ConfigError(f"{path}: no numeric rows found")
    width = min(len(r) for r in rows)
    return np.array([r[:width] for r in rows])


@dataclass(frozen=True)
class ClusterFiducial:
    """Apparent PS1 grizy ridge line (tip to faint main sequence) and horizontal branch of one cluster."""

    name: str
    feh: float
    dist_mod: float
    ebv: float
    ridge: np.ndarray  # (n, 5) apparent g r i z y; NaN where a band is missing
    hb: np.ndarray  # (m, 5)


# [Fe/H], distance modulus and E(B-V) of the fiducial clusters (as given with the fiducials; Harris 2010).
FIDUCIAL_CLUSTERS: dict[str, tuple[float, float, float]] = {
    "NGC5272": (-1.50, 15.07, 0.01),
    "NGC4590": (-2.23, 15.21, 0.05),
    "NGC6341": (-2.31, 14.65, 0.02),
    "NGC6205": (-1.53, 14.33, 0.02),
    "NGC5904": (-1.29, 14.71, 0.03),
    "NGC7078": (-2.37, 15.39, 0.10),
    "NGC7089": (-1.65, 15.50, 0.06),
    "NGC7099": (-2.27, 14.64, 0.03),
    "NGC5897": (-1.90, 15.76, 0.09),
    "NGC1904": (-1.60, 15.59, 0.01),
    "NGC288": (-1.32, 14.84, 0.03),
}


@cache
def cluster_fiducial(name: str) -> ClusterFiducial:
    """Ridge line and horizontal branch of a fiducial globular cluster (E. Bernard, via stellar-locus-fitter)."""
    if name not in FIDUCIAL_CLUSTERS:
        raise ConfigError(f"no fiducial for {name!r}; known: {', '.join(FIDUCIAL_CLUSTERS)}")
    feh, dm, ebv = FIDUCIAL_CLUSTERS[name]
    ridge = _loadtxt(_path(f"gc_fiducials_ps1/fid_{name}.txt"), ndmin=2)
    hb = _loadtxt(_path(f"gc_fiducials_ps1/hb_{name}.txt"), ndmin=2)
    for arr, what in ((ridge, "fid"), (hb, "hb")):
        if arr.shape[1] != 5:
            raise ConfigError(f"gc_fiducials_ps1/{what}_{name}.txt: expected 5 columns (g r i z y)")
    return ClusterFiducial(name, feh, dm, ebv, ridge, hb)


def nearest_fiducial(feh: float) -> str:
    """The fiducial cluster whose [Fe/H] is closest to ``feh`` (ties go to the first listed)."""
    names = list(FIDUCIAL_CLUSTERS)
    return names[int(np.argmin([abs(FIDUCIAL_CLUSTERS[n][0] - feh) for n in names]))]


@dataclass(frozen=True)
class LocusTable:
    """Four colours (g-r, r-i, i-z, z-y) tabulated on a g - i grid; linear in between, constant beyond."""

    g_i: np.ndarray  # (n,) increasing
    colours: np.ndarray  # (n, 4)

    def __call__(self, g_i: np.ndarray) -> np.ndarray:
        g_i = np.asarray(g_i, float)
        return np.stack([np.interp(g_i, self.g_i, self.colours[:, k]) for k in range(4)], axis=-1)


def _locus_table(name: str) -> LocusTable:
    path = _path(name)
    raw = _loadtxt(path, usecols=(0, 1, 2, 3, 4), ndmin=2)
    if raw.shape[0] < 2 or np.any(np.diff(raw[:, 0]) <= 0):
        raise ConfigError(f"{path}: expected rows of g-i (increasing) and four colours")
    return LocusTable(raw[:, 0].copy(), raw[:, 1:5].copy())


@cache
def real_locus() -> LocusTable:
    """``ps1_locus_real.txt``: the real PS1 DR1 stellar locus (M44 cone + Tonry et al. 2012 shape)."""
    return _locus_table("ps1_locus_real.txt")


@cache
def locus_correction() -> LocusTable:
    """``ps1_locus_correction.txt``: real locus minus the Ivezic templates, per colour, vs template g - i."""
    return _locus_table("ps1_locus_correction.txt")


@cache
def tonry_locus_table() -> np.ndarray:
    """``ps1_stellar_locus_tonry2012.txt``: rows of r-i, g-r, i-z, z-y (Tonry et al. 2012)."""
    path = _path("ps1_stellar_locus_tonry2012.txt")
    return _loadtxt(path, skiprows=1, ndmin=2)
