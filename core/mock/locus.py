"""The real PS1 stellar locus, and the calibration of the mock's colour templates onto it.

The Ivezic et al. (2008) / Juric et al. (2008) templates that the mock draws colours from
(``ps1_colors_vs_Mr_FeH.dat``) were transformed from SDSS to PS1; in real PS1 DR1 photometry their
K and M dwarf locus is off by 0.01-0.03 mag (i - z too red, z - y too blue, g - r vs r - i tilted).
In those templates the four colours at a given g - i do not depend on [Fe/H] (metallicity only moves a
star along the locus), so one correction per colour as a function of g - i moves every template
star onto the real locus without changing its g - i or its M_r.

:func:`build_real_locus` makes the reference (``data/reference/ps1_locus_real.txt``) from real PS1 stars
with a robust local-linear fit in g - i, spliced to the Tonry et al. (2012) locus where the real stars
are too few; :func:`build_correction` makes the correction table (``ps1_locus_correction.txt``) from
that reference and the templates; :func:`locus_offsets` measures, per g - i bin, how far a catalog's
stars sit from the reference (``sedscape mock --validate``). ``scripts/build_ps1_locus.py`` writes both
tables; its header and ``data/README.md`` give the provenance.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

LOCUS_COLOURS: tuple[str, ...] = ("g-r", "r-i", "i-z", "z-y")
LOCUS_GRID = np.round(np.arange(0.0, 3.2501, 0.05), 2)  # g - i of the tabulated loci (Tonry's reddest point: 3.26)
LOCUS_BIN_WIDTH = 0.25  # g - i bins of the check
LOCUS_TOLERANCE = 0.01  # mag: largest median offset per colour and bin that passes
LOESS_BANDWIDTH = 0.10  # mag of g - i: sigma of the Gaussian kernel of the real-locus fit
MIN_EFFECTIVE_STARS = 15.0  # kernel-weighted stars below which the real locus leans on Tonry's
M44_EBV = 0.027  # Praesepe's E(B-V) on the true scale, 0.027 +- 0.004 (Taylor 2006, AJ 132, 2453)


def real_stars(path: str | Path, true_ebv: float = M44_EBV) -> pd.DataFrame:
    """A real PS1 export through the paper's cuts, dereddened with one E(B-V) (true scale, as clusters' are).

    The Schlafly & Finkbeiner (2011) coefficients take SFD-scale E(B-V), so ``true_ebv`` / 0.86 is used.
    """
    from core.bands import PS1
    from core.extinction import sfd_scale_ebv
    from core.pipeline import select
    from core.readers import read_catalog

    df = read_catalog(path, bands=PS1)
    df["ebv"] = sfd_scale_ebv(true_ebv)
    out, _ = select(df, PS1, ebv="column")
    return out


def colours_and_gi(mags: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(g-r, r-i, i-z, z-y) as an (N, 4) array and g - i, from (N, 5) g r i z y magnitudes."""
    mags = np.asarray(mags, float)
    return -np.diff(mags, axis=1), mags[:, 0] - mags[:, 2]


def robust_local_linear(
    x: np.ndarray, y: np.ndarray, grid: np.ndarray, bandwidth: float = LOESS_BANDWIDTH, iterations: int = 3
) -> tuple[np.ndarray, np.ndarray]:
    """Robust local-linear regression (LOESS with a Gaussian kernel and bisquare weights) of y on x.

    Returns the fit at ``grid`` and the effective number of stars there (sum of kernel weights, 1 for a
    star at the grid point). Bisquare reweighting (6 x the MAD) takes out blends and bad photometry.
    """
    x, y = np.asarray(x, float), np.asarray(y, float)
    kernel = np.exp(-0.5 * ((x[None, :] - grid[:, None]) / bandwidth) ** 2)  # (n_grid, n_stars)
    robust = np.ones_like(y)
    fit = np.zeros(len(grid))
    for _ in range(iterations + 1):
        w = kernel * robust[None, :]
        dx = x[None, :] - grid[:, None]
        s0, s1, s2 = w.sum(1), (w * dx).sum(1), (w * dx**2).sum(1)
        t0, t1 = (w * y).sum(1), (w * dx * y).sum(1)
        fit = (s2 * t0 - s1 * t1) / (s0 * s2 - s1**2)
        resid = y - np.interp(x, grid, fit)
        scale = 6.0 * max(1.4826 * float(np.median(np.abs(resid))), 1e-6)
        u = np.clip(resid / scale, -1.0, 1.0)
        robust = (1.0 - u**2) ** 2
    return fit, kernel.sum(1)


def tonry_locus(table: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Tonry et al. (2012) locus (rows r-i, g-r, i-z, z-y) linearly interpolated in g - i: (n, 4) colours."""
    ri, gr, iz, zy = np.asarray(table, float).T
    gi = gr + ri
    return np.stack([np.interp(grid, gi, c) for c in (gr, ri, iz, zy)], axis=1)


def build_real_locus(
    mags: np.ndarray,
    tonry: np.ndarray,
    grid: np.ndarray = LOCUS_GRID,
    *,
    bandwidth: float = LOESS_BANDWIDTH,
    min_effective: float = MIN_EFFECTIVE_STARS,
) -> pd.DataFrame:
    """The real PS1 locus on ``grid`` from dereddened real stars ``mags`` (N, 5), completed with Tonry's.

    Where at least ``min_effective`` kernel-weighted stars support it, the locus is the robust
    local-linear fit of each colour on g - i. Where fewer than half as many do, it is the Tonry et al.
    (2012) locus moved onto the real stars' zero points (the median difference fit - Tonry over the
    supported range: Tonry's table predates DR1's calibration and differs by up to 0.03 mag); in
    between the two are blended linearly in the number of stars. Columns: g_i, the four colours,
    n_eff and source ("real", "blend" or "tonry").
    """
    colours, gi = colours_and_gi(mags)
    ok = np.all(np.isfinite(colours), axis=1)
    colours, gi = colours[ok], gi[ok]
    fit = np.stack([robust_local_linear(gi, colours[:, k], grid, bandwidth)[0] for k in range(4)], axis=1)
    fit[:, 1] = grid - fit[:, 0]  # r - i = (g - i) - (g - r) exactly (robust weights differ per colour)
    n_eff = np.exp(-0.5 * ((gi[None, :] - grid[:, None]) / bandwidth) ** 2).sum(1)
    supported = n_eff >= min_effective
    if not supported.any():
        raise ValueError(f"no g - i point has {min_effective} effective stars; too few real stars for a locus")
    shape = tonry_locus(tonry, grid)
    zero_point = np.median(fit[supported] - shape[supported], axis=0)
    zero_point[1] = -zero_point[0]  # keep g - r + r - i = g - i
    weight = np.clip((n_eff - 0.5 * min_effective) / (0.5 * min_effective), 0.0, 1.0)[:, None]
    locus = weight * np.nan_to_num(fit) + (1.0 - weight) * (shape + zero_point)
    source = np.where(weight[:, 0] >= 1.0, "real", np.where(weight[:, 0] <= 0.0, "tonry", "blend"))
    out = pd.DataFrame({"g_i": grid})
    for k, name in enumerate(LOCUS_COLOURS):
        out[name.replace("-", "_")] = locus[:, k]
    out["n_eff"] = n_eff
    out["source"] = source
    out.attrs["tonry_zero_point"] = [float(v) for v in zero_point]
    return out


def template_locus(grid: np.ndarray = LOCUS_GRID) -> np.ndarray:
    """The templates' dwarf locus (turnoff to the reddest dwarf) at each g - i of ``grid``: (n, 4) colours.

    Taken along the [Fe/H] = -3 column, whose turnoff is the bluest; at a given g - i the colours of
    every [Fe/H] column agree to 1e-4 mag (checked by ``scripts/build_ps1_locus.py``). NaN outside the
    templates' g - i range.
    """
    from core.mock import tables

    table = tables.colour_grid()
    return _dwarf_sequence_at(table, -3.0, grid)


def _dwarf_sequence_at(table, feh: float, grid: np.ndarray) -> np.ndarray:
    to = float(table.turnoff_mr(np.array([feh]))[0])
    mr = table.mr[table.mr >= to]
    colours = table(mr, np.full(mr.size, feh))
    gi = colours[:, 0] + colours[:, 1]
    keep = np.concatenate([[True], np.diff(gi) > 0]) & (gi >= np.maximum.accumulate(gi))
    gi, colours = gi[keep], colours[keep]
    return np.stack([np.interp(grid, gi, colours[:, k], left=np.nan, right=np.nan) for k in range(4)], axis=1)


def build_correction(real: pd.DataFrame) -> pd.DataFrame:
    """Per-colour correction (real locus - template locus) on the real locus's g - i grid.

    g - r and r - i get opposite corrections, so a corrected star keeps its g - i (and the correction
    is the same whichever g - i it is looked up at). Bluer than the templates' bluest dwarf the
    correction is held at its value there.
    """
    grid = real["g_i"].to_numpy(float)
    target = real[[c.replace("-", "_") for c in LOCUS_COLOURS]].to_numpy(float)
    delta = target - template_locus(grid)
    valid = np.flatnonzero(np.isfinite(delta[:, 0]))
    delta = delta[_nearest(valid, len(grid))]
    out = pd.DataFrame({"g_i": grid})
    for k, name in enumerate(LOCUS_COLOURS):
        out[f"d_{name.replace('-', '_')}"] = delta[:, k]
    return out


def _nearest(valid: np.ndarray, n: int) -> np.ndarray:
    """For each of n positions, the index of the nearest entry of the sorted index array ``valid``."""
    pos = np.arange(n)
    return valid[np.abs(pos[:, None] - valid[None, :]).argmin(axis=1)]


def locus_offsets(
    mags: np.ndarray,
    reference_gi: np.ndarray,
    reference_colours: np.ndarray,
    *,
    width: float = LOCUS_BIN_WIDTH,
    min_count: int = 20,
) -> pd.DataFrame:
    """Median offset of each colour from the reference locus, per g - i bin of ``width`` (edges at multiples).

    Each star is compared with the reference at its own g - i, so the slope of the locus inside a bin
    does not bias the median. Only bins inside the reference's g - i range with at least ``min_count``
    stars are returned: columns lo, hi, n and one offset column per colour (star - reference).
    """
    colours, gi = colours_and_gi(mags)
    ok = np.all(np.isfinite(colours), axis=1)
    colours, gi = colours[ok], gi[ok]
    ref = np.stack([np.interp(gi, reference_gi, reference_colours[:, k]) for k in range(4)], axis=1)
    diff = colours - ref
    lo_edge = np.floor(reference_gi[0] / width + 1e-9) * width
    edges = np.arange(lo_edge, reference_gi[-1] + 1e-9, width)
    rows = []
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        sel = (gi >= lo) & (gi < hi)
        n = int(sel.sum())
        if n < min_count:
            continue
        med = np.median(diff[sel], axis=0)
        rows.append({"lo": round(lo, 4), "hi": round(hi, 4), "n": n,
                     **{name: float(med[k]) for k, name in enumerate(LOCUS_COLOURS)}})
    return pd.DataFrame(rows, columns=["lo", "hi", "n", *LOCUS_COLOURS])
