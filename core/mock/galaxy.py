"""The Milky Way model behind the mock sky: Juric et al. (2008) densities, a sky sampler, dust and coordinates.

Stars are drawn on a grid of (l, sin b, log d) cells over the annulus: each cell's expected number is
density x volume x the fraction of the luminosity function that lands inside the apparent-magnitude
window, so bright and faint populations get the right distance distributions without rejection sampling.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

# Juric et al. (2008), bias-corrected fits: Sun at R0 = 8 kpc, Z0 = 25 pc above the plane.
R0_PC = 8000.0
Z0_PC = 25.0
THIN_H, THIN_L = 300.0, 2600.0
THICK_H, THICK_L, THICK_FRACTION = 900.0, 3600.0, 0.12
HALO_Q, HALO_N, HALO_FRACTION = 0.64, 2.77, 0.0051
HALO_CORE_PC = 500.0  # softens the r^-n cusp at the Galactic centre; irrelevant at b >= 60 deg

COMPONENTS: tuple[str, ...] = ("thin", "thick", "halo")


@dataclass(frozen=True)
class Annulus:
    """The survey footprint: all l, ``b_min <= b <= b_max`` (degrees)."""

    b_min: float = 60.0
    b_max: float = 80.0

    @property
    def area_deg2(self) -> float:
        return float(
            2 * np.pi * (np.sin(np.radians(self.b_max)) - np.sin(np.radians(self.b_min))) * (180 / np.pi) ** 2
        )


def density(component: str, l_deg: np.ndarray, b_deg: np.ndarray, d_pc: np.ndarray) -> np.ndarray:
    """Number density of ``component`` relative to the local thin disk (1 at the Sun), Juric et al. 2008."""
    lr, br = np.radians(l_deg), np.radians(b_deg)
    x = R0_PC - d_pc * np.cos(br) * np.cos(lr)
    y = -d_pc * np.cos(br) * np.sin(lr)
    z = d_pc * np.sin(br) + Z0_PC
    r_cyl = np.hypot(x, y)
    if component == "thin":
        return np.exp(-(r_cyl - R0_PC) / THIN_L - (np.abs(z) - Z0_PC) / THIN_H)
    if component == "thick":
        return THICK_FRACTION * np.exp(-(r_cyl - R0_PC) / THICK_L - (np.abs(z) - Z0_PC) / THICK_H)
    if component == "halo":
        r_ell = np.sqrt(r_cyl**2 + (z / HALO_Q) ** 2 + HALO_CORE_PC**2)
        r_sun = np.sqrt(R0_PC**2 + (Z0_PC / HALO_Q) ** 2 + HALO_CORE_PC**2)
        return HALO_FRACTION * (r_sun / r_ell) ** HALO_N
    raise ValueError(f"unknown Galactic component {component!r}; known: {COMPONENTS}")


@dataclass(frozen=True)
class SkyGrid:
    """Cell centres and volumes of the (l, sin b, log10 d) grid used to draw positions."""

    l_edges: np.ndarray
    sinb_edges: np.ndarray
    logd_edges: np.ndarray

    @property
    def shape(self) -> tuple[int, int, int]:
        return len(self.l_edges) - 1, len(self.sinb_edges) - 1, len(self.logd_edges) - 1

    def centres(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        lc = 0.5 * (self.l_edges[1:] + self.l_edges[:-1])
        sc = 0.5 * (self.sinb_edges[1:] + self.sinb_edges[:-1])
        dc = 0.5 * (self.logd_edges[1:] + self.logd_edges[:-1])
        return lc, np.degrees(np.arcsin(sc)), 10**dc

    def volumes_pc3(self) -> np.ndarray:
        """Volume of each distance shell per steradian-cell, shape (n_l, n_b, n_d)."""
        dl = np.radians(np.diff(self.l_edges))[:, None, None]
        dsin = np.diff(self.sinb_edges)[None, :, None]
        d3 = (10**self.logd_edges) ** 3 / 3.0
        return dl * dsin * np.diff(d3)[None, None, :]


@cache
def sky_grid(b_min: float = 60.0, b_max: float = 80.0) -> SkyGrid:
    return SkyGrid(
        l_edges=np.linspace(0.0, 360.0, 73),
        sinb_edges=np.linspace(np.sin(np.radians(b_min)), np.sin(np.radians(b_max)), 11),
        logd_edges=np.linspace(0.5, 5.6, 511),  # 3 pc .. 400 kpc in 0.01 dex
    )


@cache
def _component_density_grid(component: str, b_min: float, b_max: float) -> np.ndarray:
    grid = sky_grid(b_min, b_max)
    lc, bc, dc = grid.centres()
    rho = density(component, lc[:, None, None], bc[None, :, None], dc[None, None, :])
    return rho * grid.volumes_pc3()


def expected_counts(
    component: str,
    mr_grid: np.ndarray,
    lf: np.ndarray,
    window: tuple[float, float],
    annulus: Annulus = Annulus(),
) -> np.ndarray:
    """Expected stars per grid cell (relative units) of a population with luminosity function ``lf(M_r)``
    whose apparent r lies in ``window``; shape of :meth:`SkyGrid.shape`."""
    grid = sky_grid(annulus.b_min, annulus.b_max)
    cdf = _cdf(mr_grid, lf)
    _, _, dc = grid.centres()
    dm = 5 * np.log10(dc) - 5
    frac = np.interp(window[1] - dm, mr_grid, cdf) - np.interp(window[0] - dm, mr_grid, cdf)
    return _component_density_grid(component, annulus.b_min, annulus.b_max) * frac[None, None, :]


def _cdf(mr_grid: np.ndarray, lf: np.ndarray) -> np.ndarray:
    """Cumulative LF normalised to the LF's integral (stars/pc^3), strictly increasing for inversion."""
    steps = 0.5 * (lf[1:] + lf[:-1]) * np.diff(mr_grid)
    cdf = np.concatenate([[0.0], np.cumsum(steps)])
    return cdf + np.arange(len(cdf)) * cdf[-1] * 1e-12


def draw_positions(
    rng: np.random.Generator,
    weights: np.ndarray,
    n: int,
    annulus: Annulus = Annulus(),
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Draw ``n`` (l, b, d_pc) from per-cell ``weights``, uniform in l, sin b and log d inside each cell."""
    grid = sky_grid(annulus.b_min, annulus.b_max)
    p = weights.ravel() / weights.sum()
    counts = rng.multinomial(n, p)
    cells = np.repeat(np.arange(p.size), counts)
    il, ib, idist = np.unravel_index(cells, grid.shape)
    u = rng.random((3, n))
    l_deg = grid.l_edges[il] + u[0] * np.diff(grid.l_edges)[il]
    sinb = grid.sinb_edges[ib] + u[1] * np.diff(grid.sinb_edges)[ib]
    logd = grid.logd_edges[idist] + u[2] * np.diff(grid.logd_edges)[idist]
    return l_deg, np.degrees(np.arcsin(sinb)), 10**logd


def draw_absolute_mags(
    rng: np.random.Generator,
    mr_grid: np.ndarray,
    lf: np.ndarray,
    d_pc: np.ndarray,
    window: tuple[float, float],
) -> np.ndarray:
    """M_r from the LF restricted, star by star, to the range that puts apparent r inside ``window``."""
    cdf = _cdf(mr_grid, lf)
    dm = 5 * np.log10(d_pc) - 5
    lo = np.interp(window[0] - dm, mr_grid, cdf)
    hi = np.interp(window[1] - dm, mr_grid, cdf)
    u = lo + rng.random(len(d_pc)) * (hi - lo)
    return np.interp(u, cdf, mr_grid)


def uniform_sky(
    rng: np.random.Generator, n: int, annulus: Annulus = Annulus()
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` positions uniform in area over the annulus (for extragalactic objects)."""
    s0, s1 = np.sin(np.radians(annulus.b_min)), np.sin(np.radians(annulus.b_max))
    return rng.uniform(0, 360, n), np.degrees(np.arcsin(rng.uniform(s0, s1, n)))


@cache
def _galactic_to_icrs_matrix() -> np.ndarray:
    """The fixed rotation from Galactic to ICRS unit vectors, taken once from astropy."""
    import astropy.units as u
    from astropy.coordinates import SkyCoord

    axes = SkyCoord(l=[0, 90, 0] * u.deg, b=[0, 0, 90] * u.deg, frame="galactic").icrs
    return np.array(axes.cartesian.xyz.value)  # columns are the images of the Galactic x, y, z axes


def galactic_to_icrs(l_deg: np.ndarray, b_deg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(ra, dec) in degrees for Galactic (l, b); a plain rotation, vectorised."""
    lr, br = np.radians(l_deg), np.radians(b_deg)
    vec = np.stack([np.cos(br) * np.cos(lr), np.cos(br) * np.sin(lr), np.sin(br)])
    x, y, z = _galactic_to_icrs_matrix() @ vec
    ra = np.degrees(np.arctan2(y, x)) % 360.0
    dec = np.degrees(np.arcsin(np.clip(z, -1, 1)))
    return ra, dec


def icrs_to_galactic(ra_deg: np.ndarray, dec_deg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(l, b) in degrees for ICRS (ra, dec); the inverse rotation."""
    rr, dr = np.radians(ra_deg), np.radians(dec_deg)
    vec = np.stack([np.cos(dr) * np.cos(rr), np.cos(dr) * np.sin(rr), np.sin(dr)])
    x, y, z = _galactic_to_icrs_matrix().T @ vec
    return np.degrees(np.arctan2(y, x)) % 360.0, np.degrees(np.arcsin(np.clip(z, -1, 1)))


@dataclass(frozen=True)
class DustMap:
    """A smooth E(B-V) field on an (l, sin b) grid, looked up bilinearly (wrapping in l)."""

    l_edges: np.ndarray
    sinb_edges: np.ndarray
    values: np.ndarray  # (n_l, n_b) at cell centres

    def __call__(self, l_deg: np.ndarray, b_deg: np.ndarray) -> np.ndarray:
        n_l, n_b = self.values.shape
        dl = self.l_edges[1] - self.l_edges[0]
        ds = self.sinb_edges[1] - self.sinb_edges[0]
        fx = (np.asarray(l_deg) % 360.0) / dl - 0.5
        fy = np.clip((np.sin(np.radians(b_deg)) - self.sinb_edges[0]) / ds - 0.5, 0, n_b - 1 - 1e-9)
        ix = np.floor(fx).astype(np.int64)
        iy = np.floor(fy).astype(np.int64)
        tx, ty = fx - ix, fy - iy
        ix0, ix1 = ix % n_l, (ix + 1) % n_l
        iy1 = np.minimum(iy + 1, n_b - 1)
        v = self.values
        return (
            v[ix0, iy] * (1 - tx) * (1 - ty)
            + v[ix1, iy] * tx * (1 - ty)
            + v[ix0, iy1] * (1 - tx) * ty
            + v[ix1, iy1] * tx * ty
        )


def make_dust_map(
    seed: int,
    annulus: Annulus = Annulus(),
    ebv_range: tuple[float, float] = (0.00198, 0.0999),
    ebv_mean: float = 0.0189,
    n_modes: int = 48,
) -> DustMap:
    """A random smooth field on the sphere mapped so its min, max and area-mean are the paper's E(B-V) numbers.

    The field is a sum of plane waves in 3-D unit-vector space (continuous across l = 0/360); it is
    then transformed by ``a + b * exp(c * z)``, with (a, b, c) solved so that the minimum, maximum and
    mean over the annulus match ``ebv_range`` and ``ebv_mean`` (the paper: 1.98e-3, 9.99e-2, 1.89e-2).
    Lower latitudes get more dust, as in SFD.
    """
    rng = np.random.default_rng(seed)
    l_edges = np.linspace(0.0, 360.0, 721)
    sinb_edges = np.linspace(np.sin(np.radians(annulus.b_min)), np.sin(np.radians(annulus.b_max)), 81)
    lc = np.radians(0.5 * (l_edges[1:] + l_edges[:-1]))
    sc = 0.5 * (sinb_edges[1:] + sinb_edges[:-1])
    cb = np.sqrt(1 - sc**2)
    vec = np.stack(
        np.broadcast_arrays(cb[None, :] * np.cos(lc)[:, None], cb[None, :] * np.sin(lc)[:, None], sc[None, :])
    )
    field = np.zeros(vec.shape[1:])
    for _ in range(n_modes):
        k = rng.normal(size=3)
        k *= rng.uniform(1.0, 12.0) / np.linalg.norm(k)  # wavelengths from ~5 to ~60 degrees
        amp = np.linalg.norm(k) ** -1.2
        field += amp * np.cos(np.tensordot(k, vec, axes=1) + rng.uniform(0, 2 * np.pi))
    field += 1.5 * field.std() * (sc[-1] - sc[None, :]) / (sc[-1] - sc[0])  # more dust towards b = 60
    z = (field - field.mean()) / field.std()
    lo, hi = ebv_range
    zmin, zmax = z.min(), z.max()

    def transform(c: float) -> np.ndarray:
        b = (hi - lo) / (np.exp(c * zmax) - np.exp(c * zmin))
        return lo + b * (np.exp(c * z) - np.exp(c * zmin))

    c_lo, c_hi = 1e-3, 10.0  # the mean falls as c (the skew) grows
    for _ in range(60):
        c_mid = 0.5 * (c_lo + c_hi)
        if transform(c_mid).mean() > ebv_mean:
            c_lo = c_mid
        else:
            c_hi = c_mid
    return DustMap(l_edges, sinb_edges, transform(0.5 * (c_lo + c_hi)))
