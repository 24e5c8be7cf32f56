"""Generate the mock North Galactic Cap sky: populations, clusters, dust, PS1 observation, labels, cuts.

:func:`generate_mock_sky` is the entry point. It draws a pre-cut catalog about ``n_stars /
pass_fraction`` rows long, observes it like PS1, then (by default) runs the project's selection
pipeline (:func:`core.pipeline.select`) so that about ``n_stars`` rows survive.

Truth columns: ``true_class`` (one of :data:`TRUE_CLASSES`), ``true_component`` (thin, thick, halo,
cluster, extragalactic), ``true_cluster`` ("" for field objects), ``true_mr`` (absolute r of the
system, both components for unresolved pairs), ``true_feh``, ``true_dist_pc``, ``true_ebv`` (the
reddening actually applied: stars within a few dust scale heights see less than the map's ``ebv``),
``true_g..true_y`` (noise-free, unreddened apparent magnitudes), ``true_artefact_band`` and
``true_artefact_offset``; ``true_var_class``, ``true_period``, ``true_var_amp`` and ``true_drw_tau``
(variability, :mod:`core.mock.variables`); ``true_teff`` and ``true_logg`` (:mod:`core.mock.spectro`, which
also adds LAMOST-like ``teff, logg, feh`` labels and errors for a bright few per cent). ``true_anomaly`` marks :data:`ANOMALOUS_CLASSES`: objects whose SED no
single star has (WD+M pairs, quasars, compact galaxies) or whose photometry is spoiled (artefacts).
White dwarfs, hot subdwarfs, BHB stars, blue stragglers and RR Lyrae stars are rare but lie on their
own smooth sequences, so they are not marked; an anomaly detector may still flag some of them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from core.bands import PS1
from core.catalog import bandset_to_meta
from core.errors import ConfigError
from core.mock import clusters as clusters_mod
from core.mock import galaxy, labels, photometry, spectro, variables
from core.mock import populations as pops
from core.mock.photometry import PhotometryConfig

log = logging.getLogger(__name__)

MOCK_VERSION = "1.1"  # 1.1: template colours calibrated on the real PS1 locus
PAPER_N_STARS = 3_112_259  # stars the paper analyses after its cuts
BANDS = PS1.names
# Classes that an anomaly detector should flag: composite or non-stellar SEDs and spoiled photometry.
ANOMALOUS_CLASSES: tuple[str, ...] = ("binary_wd_m", "qso", "galaxy", "artefact")
TRUE_CLASSES = pops.TRUE_CLASSES


@dataclass(frozen=True)
class MockConfig:
    """Everything that shapes the mock sky; defaults reproduce the paper's sample.

    ``pass_fraction`` is the measured fraction of generated rows that survive the paper's cuts (it
    sets the pre-cut size); ``r_window`` is the apparent r range in which field stars are drawn;
    ``calibrate_colours`` moves the template colours onto the real PS1 locus (False: the raw
    Ivezic et al. 2008 templates, the mock before version 1.1).
    """

    n_stars: int = 3_100_000
    seed: int = 1
    apply_selection: bool = True
    r_window: tuple[float, float] = (12.0, 21.1)
    pass_fraction: float = 0.59
    binary_fraction: float = 0.2
    qso_per_deg2: float = 30.0
    galaxy_per_deg2: float = 60.0
    cluster_min_members: int = 25
    dust_seed: int = 2025
    dust_scale_height_pc: float = 100.0
    calibrate_colours: bool = True
    annulus: galaxy.Annulus = field(default_factory=galaxy.Annulus)
    photometry: PhotometryConfig = field(default_factory=PhotometryConfig)

    def __post_init__(self) -> None:
        if self.n_stars < 1:
            raise ConfigError(f"n_stars must be >= 1, got {self.n_stars}")
        if not 0 < self.pass_fraction <= 1:
            raise ConfigError(f"pass_fraction must be in (0, 1], got {self.pass_fraction}")
        if not 0 <= self.binary_fraction < 1:
            raise ConfigError(f"binary_fraction must be in [0, 1), got {self.binary_fraction}")
        if self.r_window[0] >= self.r_window[1]:
            raise ConfigError(f"r_window must be (bright, faint), got {self.r_window}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


COMPONENT_NAMES: tuple[str, ...] = ("thin", "thick", "halo", "cluster", "extragalactic")
CLUSTER_NAMES: tuple[str, ...] = ("", *(c.name for c in clusters_mod.CLUSTERS))
CC = pops.CLASS_CODE


@dataclass
class _Batch:
    """Rows of one population before observation; classes, components and clusters as integer codes."""

    abs_mags: np.ndarray  # (N, 5) absolute, or apparent for extragalactic objects (dist NaN)
    l_deg: np.ndarray
    b_deg: np.ndarray
    dist: np.ndarray
    cls: np.ndarray  # index into TRUE_CLASSES
    component: np.ndarray  # index into COMPONENT_NAMES
    feh: np.ndarray
    cluster: np.ndarray  # index into CLUSTER_NAMES (0: field)
    crowding: np.ndarray
    ra: np.ndarray | None = None
    dec: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.l_deg)


def _batch(mags, l_deg, b_deg, dist, cls, comp, feh, cluster="", crowding=0.0, ra=None, dec=None) -> _Batch:
    n = len(l_deg)
    if isinstance(cls, str):
        cls = CC[cls]
    return _Batch(
        np.asarray(mags, float),
        l_deg,
        b_deg,
        np.asarray(dist, float),
        np.broadcast_to(np.asarray(cls, dtype=np.int8), (n,)).copy(),
        np.full(n, COMPONENT_NAMES.index(comp), dtype=np.int8),
        np.broadcast_to(np.asarray(feh, float), (n,)).copy(),
        np.full(n, CLUSTER_NAMES.index(cluster), dtype=np.int8),
        np.broadcast_to(np.asarray(crowding, float), (n,)).copy(),
        ra,
        dec,
    )


def _field_batches(rng: np.random.Generator, cfg: MockConfig, scale: float, n_main: int) -> list[_Batch]:
    """Stars of every Galactic field population, drawn from the Juric et al. (2008) model."""
    out = []
    for pop in pops.field_populations():
        mr_grid, lf = pop.lf()
        weights = [
            w * galaxy.expected_counts(c, mr_grid, lf, cfg.r_window, cfg.annulus) for c, w in pop.components
        ]
        totals = np.array([w.sum() for w in weights])
        n_pop = n_main if pop.paper_count is None else rng.poisson(pop.paper_count * scale)
        per_comp = rng.multinomial(n_pop, totals / totals.sum())
        for (comp, _), w, n in zip(pop.components, weights, per_comp, strict=True):
            if n == 0:
                continue
            l_deg, b_deg, d = galaxy.draw_positions(rng, w, n, cfg.annulus)
            mr = galaxy.draw_absolute_mags(rng, mr_grid, lf, d, cfg.r_window)
            z = d * np.sin(np.radians(b_deg))
            feh = pops.draw_feh(rng, comp, z)
            out.append(_make_field_sed(rng, pop.name, cfg, comp, l_deg, b_deg, d, mr, feh))
    return out


def _make_field_sed(rng, name, cfg, comp, l_deg, b_deg, d, mr, feh) -> _Batch:
    cal = cfg.calibrate_colours
    if name == "main":
        mags = pops.main_sequence_mags(rng, mr, feh, calibrated=cal)
        cls = pops.main_sequence_class(mr, feh)
        # Unresolved MS+MS binaries: a fainter companion of the same [Fe/H]; fluxes add.
        dwarf = cls != CC["giant"]
        pair = dwarf & (rng.random(len(mr)) < cfg.binary_fraction)
        mr2 = np.minimum(mr[pair] + rng.uniform(0.2, 8.0, pair.sum()), 20.0)
        mags[pair] = pops.add_fluxes(mags[pair], pops.main_sequence_mags(rng, mr2, feh[pair], calibrated=cal))
        cls[pair] = CC["binary_ms_ms"]
        return _batch(mags, l_deg, b_deg, d, cls, comp, feh)
    if name.startswith("wd_"):
        kind, logg = name.split("_")[1].upper(), int(name.split("_")[2]) / 10
        mags = pops.cooling_track(kind, logg).mags_at(mr) + rng.normal(0, 0.01, (len(mr), 5))
        return _batch(mags, l_deg, b_deg, d, f"wd_{kind.lower()}", comp, np.nan)
    if name == "binary_wd_m":
        m_dwarf = pops.main_sequence_mags(rng, mr, feh, calibrated=cal)
        track = pops.cooling_track("DA", 8.0)
        age = rng.uniform(0, pops.WD_MAX_AGE_YR, len(mr)) * rng.uniform(0.05, 1.0, len(mr))  # favour hot WDs
        wd_mr = np.interp(age, track.age, track.mr)
        mags = pops.add_fluxes(m_dwarf, track.mags_at(wd_mr))
        return _batch(mags, l_deg, b_deg, d, name, comp, feh)
    if name == "bhb":
        return _batch(pops.hb_mags(rng, mr, pops.BHB_GR_RANGE), l_deg, b_deg, d, name, comp, feh)
    if name == "rrlyrae":
        return _batch(pops.hb_mags(rng, mr, pops.RRL_GR_RANGE), l_deg, b_deg, d, name, comp, feh)
    if name == "bss":
        return _batch(pops.bss_mags(rng, mr, calibrated=cal), l_deg, b_deg, d, name, comp, feh)
    if name == "sdb":
        return _batch(pops.sdb_mags(rng, mr), l_deg, b_deg, d, name, comp, feh)
    raise ConfigError(f"no SED recipe for population {name!r}")


def _cluster_batches(rng: np.random.Generator, cfg: MockConfig, scale: float) -> list[_Batch]:
    out = []
    for cl in clusters_mod.CLUSTERS:
        # A floor keeps clusters visible in scaled-down skies, but not in toy ones.
        floor = cfg.cluster_min_members if cfg.n_stars >= 20_000 else 0
        n = max(round(cl.paper_members * scale), floor)
        out.append(_cluster_batch(rng, cl, n, cfg))
    return out


def _cluster_batch(rng: np.random.Generator, cl: Any, n: int, cfg: MockConfig) -> _Batch:
    """``n`` members of the star cluster or dwarf galaxy ``cl`` at its distance, with their crowding."""
    m = clusters_mod.draw_members(rng, cl, n, max_abs_r=cfg.r_window[1] - cl.dist_mod)
    l_deg, b_deg = galaxy.icrs_to_galactic(m["ra"], m["dec"])
    return _batch(m["abs_mags"], l_deg, b_deg, np.full(n, cl.dist_kpc * 1000.0), m["cls"], "cluster", cl.feh,
                  cl.name, clusters_mod.crowding_probability(m["r_over_rh"]), ra=m["ra"], dec=m["dec"])  # fmt: skip


def _power_law_mags(rng: np.random.Generator, n: int, slope: float, lo: float, hi: float) -> np.ndarray:
    """Magnitudes with dN/dm proportional to 10^(slope m) between lo and hi (inverse CDF)."""
    a, b = 10 ** (slope * lo), 10 ** (slope * hi)
    return np.log10(a + rng.random(n) * (b - a)) / slope


def _extragalactic_batches(rng: np.random.Generator, cfg: MockConfig, scale: float) -> list[_Batch]:
    """Quasars (counts rising as 10^(0.6 g), ~30 / deg^2 to g = 22) and compact galaxies."""
    area = cfg.annulus.area_deg2
    n_qso = rng.poisson(cfg.qso_per_deg2 * area * scale)
    l_deg, b_deg = galaxy.uniform_sky(rng, n_qso, cfg.annulus)
    qso = _batch(
        pops.qso_mags(rng, _power_law_mags(rng, n_qso, 0.6, 15.5, 22.0)),
        l_deg,
        b_deg,
        np.full(n_qso, np.nan),
        "qso",
        "extragalactic",
        np.nan,
    )
    n_gal = rng.poisson(cfg.galaxy_per_deg2 * area * scale)
    l_deg, b_deg = galaxy.uniform_sky(rng, n_gal, cfg.annulus)
    gal = _batch(
        pops.galaxy_mags(rng, _power_law_mags(rng, n_gal, 0.5, 15.0, 21.5)),
        l_deg,
        b_deg,
        np.full(n_gal, np.nan),
        "galaxy",
        "extragalactic",
        np.nan,
    )
    return [qso, gal]


def _concat(batches: list[_Batch]) -> _Batch:
    def cat(name):
        return np.concatenate([getattr(b, name) for b in batches])

    ra_dec = [
        (b.ra, b.dec) if b.ra is not None else galaxy.galactic_to_icrs(b.l_deg, b.b_deg) for b in batches
    ]
    return _Batch(
        cat("abs_mags"),
        cat("l_deg"),
        cat("b_deg"),
        cat("dist"),
        cat("cls"),
        cat("component"),
        cat("feh"),
        cat("cluster"),
        cat("crowding"),
        np.concatenate([r for r, _ in ra_dec]),
        np.concatenate([d for _, d in ra_dec]),
    )


def ps1_obj_id(ra: np.ndarray, dec: np.ndarray) -> np.ndarray:
    """PS1-style objID from position (zone of 30 arcsec in dec, then RA), made unique by nudging ties."""
    zh = 1.0 / 120.0
    zf = (dec + 90.0) / zh
    zid = np.floor(zf).astype(np.int64)
    zresid = np.floor((zf - zid) * 10_000).astype(np.int64)
    ids = (zid * 10_000_000_000 + np.floor(ra * 1_000_000).astype(np.int64)) * 10_000 + zresid
    order = np.argsort(ids, kind="stable")
    s = ids[order]
    while True:
        dup = np.flatnonzero(s[1:] <= s[:-1]) + 1
        if not dup.size:
            break
        s[dup] = s[dup - 1] + 1
    ids[order] = s
    return ids


def _epoch_factor(l_deg: np.ndarray, b_deg: np.ndarray) -> np.ndarray:
    """Smooth sky pattern of the number of epochs (overlapping survey fields), 0.75-1.25 x the mean."""
    lr, br = np.radians(l_deg), np.radians(b_deg)
    return 1.0 + 0.25 * np.sin(3 * lr + 1.0) * np.cos(9 * br) * np.cos(2 * lr - 0.5)


def build_precut(cfg: MockConfig) -> pd.DataFrame:
    """The observed (pre-cut) mock catalog with truth columns, before the selection pipeline."""
    scale = cfg.n_stars / PAPER_N_STARS
    seeds = np.random.SeedSequence(cfg.seed).spawn(6)
    rng_field, rng_cl, rng_xgal, rng_obs, rng_lab, rng_misc = (np.random.default_rng(s) for s in seeds)

    n_pre = cfg.n_stars / cfg.pass_fraction
    rare = sum(p.paper_count for p in pops.field_populations() if p.paper_count) * scale
    cl_batches = _cluster_batches(rng_cl, cfg, scale)
    xgal = _extragalactic_batches(rng_xgal, cfg, scale)
    n_main = max(int(round(n_pre - rare - sum(map(len, cl_batches)) - sum(map(len, xgal)))), 0)
    batch = _concat(_field_batches(rng_field, cfg, scale, n_main) + cl_batches + xgal)
    del cl_batches, xgal
    dust_map = galaxy.make_dust_map(cfg.dust_seed, cfg.annulus)
    return observe_batch(batch, cfg, dust_map, rng_obs, rng_lab, rng_misc)


def observe_batch(
    batch: _Batch,
    cfg: MockConfig,
    dust_map: galaxy.DustMap,
    rng_obs: np.random.Generator,
    rng_lab: np.random.Generator,
    rng_misc: np.random.Generator,
) -> pd.DataFrame:
    """Redden, observe like PS1, add artefacts, Gaia parallaxes and SIMBAD-like labels: the pre-cut rows.

    Every step is row by row, so a sky drawn in pieces (:mod:`core.mock.stream`) is observed piece by
    piece with the same result in distribution.
    """
    n = len(batch)
    log.info("drew %d objects before observation", n)

    extragalactic = ~np.isfinite(batch.dist)
    dist_mod = np.where(extragalactic, 0.0, 5 * np.log10(np.where(extragalactic, 10.0, batch.dist)) - 5)
    intrinsic = batch.abs_mags + dist_mod[:, None]  # apparent, unreddened, noise-free
    batch.abs_mags = None
    ebv_map = dust_map(batch.l_deg, batch.b_deg)
    if cfg.dust_scale_height_pc > 0:
        z = np.where(extragalactic, np.inf, batch.dist * np.sin(np.radians(batch.b_deg)))
        ebv_star = ebv_map * (1 - np.exp(-z / cfg.dust_scale_height_pc))
        del z
    else:
        ebv_star = ebv_map
    reddened = intrinsic + photometry.extinction(ebv_star)

    cls = batch.cls
    rrl = np.flatnonzero(cls == CC["rrlyrae"])
    obs = photometry.observe(
        rng_obs,
        reddened,
        cfg.photometry,
        epoch_factor=_epoch_factor(batch.l_deg, batch.b_deg),
        crowding=batch.crowding,
        extra_scatter=(rrl, photometry.rr_lyrae_scatter(rng_misc, rrl.size)),
    )
    hit, band_idx, offset = photometry.add_artefacts(rng_misc, obs["mags"], cfg.photometry.artefact_rate)
    hit &= np.isfinite(obs["mags"][np.arange(n), np.maximum(band_idx, 0)])
    cls[hit] = CC["artefact"]
    p_star = photometry.prob_star(
        rng_misc, reddened[:, 1], cls == CC["qso"], cls == CC["galaxy"], batch.crowding
    )
    plx, plx_err = photometry.gaia_parallax(
        rng_misc, np.where(extragalactic, np.inf, batch.dist), reddened[:, 0], reddened[:, 1]
    )
    in_cluster = batch.cluster > 0
    matched = rng_lab.random(n) < labels.match_probability(reddened[:, 1], cls, in_cluster)
    del reddened
    otype = labels.draw_otypes(rng_lab, cls, in_cluster, matched)
    cluster_names = np.array(CLUSTER_NAMES, dtype=object)[batch.cluster]
    sid = labels.simbad_ids(rng_lab, otype, batch.ra, batch.dec, cluster_names)
    del cluster_names

    cols: dict[str, Any] = {
        "obj_id": ps1_obj_id(batch.ra, batch.dec),
        "ra": batch.ra,
        "dec": batch.dec,
        "l": batch.l_deg,
        "b": batch.b_deg,
    }
    for k, band in enumerate(BANDS):
        cols[band] = obs["mags"][:, k]
        cols[f"{band}_err"] = obs["err"][:, k].astype(np.float32)
    cols["ebv"] = ebv_map
    for k, band in enumerate(BANDS):
        cols[f"n_{band}"] = obs["n"][:, k]
    for k, band in enumerate(BANDS):
        cols[f"qf_{band}"] = obs["qf"][:, k].astype(np.float32)
    del obs
    cols["prob_star"] = p_star.astype(np.float32)
    cols["parallax"] = plx.astype(np.float32)
    cols["parallax_error"] = plx_err.astype(np.float32)
    cols["simbad_otype"] = pd.Categorical.from_codes(otype, categories=list(labels.SIMBAD_OTYPES))
    cols["simbad_id"] = _string_column(sid)
    cols["simbad_category"] = _simbad_categories(otype)
    cols["true_class"] = pd.Categorical.from_codes(cls, categories=list(TRUE_CLASSES))
    cols["true_anomaly"] = np.isin(cls, [CC[c] for c in ANOMALOUS_CLASSES])
    cols["true_component"] = pd.Categorical.from_codes(batch.component, categories=list(COMPONENT_NAMES))
    cols["true_cluster"] = pd.Categorical.from_codes(batch.cluster, categories=list(CLUSTER_NAMES))
    cols["true_mr"] = np.where(extragalactic, np.nan, intrinsic[:, 1] - dist_mod).astype(np.float32)
    cols["true_feh"] = batch.feh.astype(np.float32)
    cols["true_dist_pc"] = batch.dist.astype(np.float32)
    cols["true_ebv"] = ebv_star.astype(np.float32)
    for k, band in enumerate(BANDS):
        cols[f"true_{band}"] = intrinsic[:, k].astype(np.float32)
    band_codes = np.where(hit, np.maximum(band_idx, 0) + 1, 0).astype(np.int8)
    cols["true_artefact_band"] = pd.Categorical.from_codes(band_codes, categories=["", *BANDS])
    cols["true_artefact_offset"] = np.where(hit, offset, 0.0).astype(np.float32)
    # Variability truth (core.mock.variables); its own random stream leaves every other column as it was.
    rng_var = np.random.default_rng(np.random.SeedSequence([cfg.seed, 14]))
    cols.update(variables.assign_variability(rng_var, cls, cols["true_mr"], cols["true_i"]))
    # true_teff, true_logg and LAMOST-like teff/logg/feh labels (their own random stream).
    return spectro.add_spectroscopy(pd.DataFrame(cols), cfg.seed, calibrated=cfg.calibrate_colours)


@contextmanager
def _no_hugepage_advice() -> Iterator[None]:
    """Temporarily stop numpy asking for transparent huge pages for big arrays.

    With THP in ``madvise`` mode each fresh huge page may trigger direct compaction; for the many
    short-lived 100-MB arrays built here that doubled the system time (measured: 3.1 s -> 1.5 s per
    million stars). ``NUMPY_MADVISE_HUGEPAGE=0`` does the same process-wide.
    """
    setter = getattr(getattr(np, "_core", np).multiarray, "_set_madvise_hugepage", None)
    if setter is None:
        yield
        return
    previous = setter(False)
    try:
        yield
    finally:
        setter(previous)


def _simbad_categories(otype_code: np.ndarray) -> pd.Categorical:
    """The paper's category of each otype (via the SIMBAD client's mapping); missing where unlabelled."""
    from core.archives.otypes import CATEGORIES, simbad_category

    lookup = np.array([CATEGORIES.index(simbad_category(o)) for o in labels.SIMBAD_OTYPES] + [-1])
    return pd.Categorical.from_codes(lookup[otype_code], categories=list(CATEGORIES))


def _string_column(values: np.ndarray) -> pd.api.extensions.ExtensionArray:
    """A nullable string column built in one pass by pyarrow (None stays missing)."""
    import pyarrow as pa

    return pd.array(pa.array(values, type=pa.string(), from_pandas=True), dtype="str")


def generate_mock_sky(
    n_stars: int = 3_100_000,
    seed: int = 1,
    *,
    apply_selection: bool = True,
    config: MockConfig | None = None,
) -> pd.DataFrame:
    """A mock PS1 catalog of the 60 <= b <= 80 deg annulus with about ``n_stars`` rows after the paper's cuts.

    With ``apply_selection=True`` the catalog has gone through :func:`core.pipeline.select` (cuts, then
    dereddening: ``g..y`` dereddened, ``g_obs..y_obs`` observed); otherwise it is the observed pre-cut
    catalog (about ``n_stars / pass_fraction`` rows). Same arguments give an identical frame. Metadata
    (seed, config, version, funnel, band set) is in ``df.attrs['sedscape']``.
    """
    cfg = replace(
        config or MockConfig(), n_stars=int(n_stars), seed=int(seed), apply_selection=apply_selection
    )
    df = build_precut(cfg)
    meta: dict[str, Any] = {
        **bandset_to_meta(PS1),
        "source": "mock",
        "mock": {
            "version": MOCK_VERSION,
            "seed": cfg.seed,
            "n_stars_requested": cfg.n_stars,
            "n_precut": len(df),
            "config": cfg.to_dict(),
        },
    }
    df.attrs["sedscape"] = meta
    if not apply_selection:
        return df
    from core.pipeline import select

    with _no_hugepage_advice():
        out, funnel = select(df, PS1)
    out = out.reset_index(drop=True)
    out.attrs["sedscape"]["mock"]["n_stars"] = len(out)
    log.info("mock sky: %d of %d rows pass the cuts", len(out), len(df))
    return out
