"""The mock sky drawn block by block of sky, for catalogs larger than memory (written as HATS).

:func:`core.mock.sky.generate_mock_sky` draws the whole sky at once. Here the annulus is cut into
blocks of the sampler's (l, sin b) grid; the whole-sky counts of every population are drawn first
(the same Poisson and multinomial draws as the one-shot generator), then split over blocks by a
multinomial on each block's share of the expected counts (extragalactic objects: its share of the
area; a cluster goes whole to the block holding its centre). Within a block, positions are drawn
from the block's cells as :func:`core.mock.galaxy.draw_positions` does over all cells. A
multinomial split and then a multinomial within each part is the same distribution as one
multinomial over all cells, so the union of the blocks is statistically the same sky as the
one-shot draw (not the same rows: the random streams differ). Observation, labels and the cuts act
row by row, so each block goes through them on its own and memory is bounded by one block.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.bands import PS1
from core.catalog import bandset_to_meta
from core.cuts import Funnel, FunnelStep
from core.errors import ConfigError
from core.mock import clusters as clusters_mod
from core.mock import galaxy
from core.mock import populations as pops
from core.mock.sky import (
    MOCK_VERSION,
    PAPER_N_STARS,
    MockConfig,
    _batch,
    _cluster_batch,
    _concat,
    _make_field_sed,
    _power_law_mags,
    observe_batch,
)

log = logging.getLogger(__name__)

DEFAULT_BLOCK_ROWS = 1_000_000  # pre-cut rows per block: about 1 GB of peak memory while observing
_STREAM_KEY = 0x5EDB  # spawn key that separates the streamed sky's random streams from the one-shot's


@dataclass(frozen=True)
class SkyBlock:
    """Cells ``[il0, il1) x [ib0, ib1)`` of the sampler's (l, sin b) grid (all distances)."""

    index: int
    il0: int
    il1: int
    ib0: int
    ib1: int

    def contains(self, il: int, ib: int) -> bool:
        return self.il0 <= il < self.il1 and self.ib0 <= ib < self.ib1


@dataclass(frozen=True)
class StreamPlan:
    """The blocks of a streamed mock sky and every population's count in each block."""

    cfg: MockConfig
    blocks: tuple[SkyBlock, ...]
    field_counts: dict[tuple[str, str], np.ndarray]  # (population, component) -> count per block
    qso_counts: np.ndarray
    galaxy_counts: np.ndarray
    cluster_block: dict[str, int]
    cluster_sizes: dict[str, int]

    @property
    def n_drawn(self) -> int:
        total = sum(int(c.sum()) for c in self.field_counts.values())
        return (
            total + int(self.qso_counts.sum() + self.galaxy_counts.sum()) + sum(self.cluster_sizes.values())
        )

    def block_rows(self) -> np.ndarray:
        """Objects drawn in each block (before the cuts)."""
        rows = sum(self.field_counts.values()) + self.qso_counts + self.galaxy_counts
        rows = np.asarray(rows, dtype=np.int64).copy()
        for name, k in self.cluster_block.items():
            rows[k] += self.cluster_sizes[name]
        return rows


def plan_blocks(
    n_pre: float, block_rows: int = DEFAULT_BLOCK_ROWS, annulus: galaxy.Annulus | None = None
) -> list[SkyBlock]:
    """Blocks of about ``block_rows`` pre-cut rows: runs of l cells, then l x sin b cells for large skies."""
    annulus = annulus or galaxy.Annulus()
    if block_rows < 1:
        raise ConfigError(f"block_rows must be >= 1, got {block_rows}")
    n_l, n_b, _ = galaxy.sky_grid(annulus.b_min, annulus.b_max).shape
    want = max(1, math.ceil(n_pre / block_rows))
    if want <= n_l:
        edges = np.linspace(0, n_l, want + 1).round().astype(int)
        return [
            SkyBlock(k, int(a), int(b), 0, n_b)
            for k, (a, b) in enumerate(zip(edges[:-1], edges[1:], strict=True))
        ]
    per_l = min(n_b, math.ceil(want / n_l))
    b_edges = np.linspace(0, n_b, per_l + 1).round().astype(int)
    blocks = []
    for il in range(n_l):
        for a, b in zip(b_edges[:-1], b_edges[1:], strict=True):
            blocks.append(SkyBlock(len(blocks), il, il + 1, int(a), int(b)))
    return blocks


class _Weights:
    """Expected counts per grid cell of every (population, component), computed once per stream."""

    def __init__(self, cfg: MockConfig) -> None:
        self.cfg = cfg
        self.lf: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self.cells: dict[tuple[str, str], np.ndarray] = {}
        for pop in pops.field_populations():
            mr_grid, lf = pop.lf()
            self.lf[pop.name] = (mr_grid, lf)
            for comp, w in pop.components:
                self.cells[(pop.name, comp)] = w * galaxy.expected_counts(
                    comp, mr_grid, lf, cfg.r_window, cfg.annulus
                )

    @cached_property
    def grid(self) -> galaxy.SkyGrid:
        return galaxy.sky_grid(self.cfg.annulus.b_min, self.cfg.annulus.b_max)


def _block_sum(w: np.ndarray, blk: SkyBlock) -> float:
    return float(w[blk.il0 : blk.il1, blk.ib0 : blk.ib1].sum())


def _area_share(grid: galaxy.SkyGrid, blk: SkyBlock) -> float:
    dl = grid.l_edges[blk.il1] - grid.l_edges[blk.il0]
    ds = grid.sinb_edges[blk.ib1] - grid.sinb_edges[blk.ib0]
    return float(dl / 360.0 * ds / (grid.sinb_edges[-1] - grid.sinb_edges[0]))


def _cell_of(grid: galaxy.SkyGrid, l_deg: float, b_deg: float) -> tuple[int, int]:
    il = int(
        np.clip(np.searchsorted(grid.l_edges, l_deg % 360.0, side="right") - 1, 0, len(grid.l_edges) - 2)
    )
    s = math.sin(math.radians(b_deg))
    ib = int(np.clip(np.searchsorted(grid.sinb_edges, s, side="right") - 1, 0, len(grid.sinb_edges) - 2))
    return il, ib


def _root(seed: int, *key: int) -> np.random.SeedSequence:
    return np.random.SeedSequence(entropy=int(seed), spawn_key=(_STREAM_KEY, *key))


def make_plan(cfg: MockConfig, weights: _Weights, block_rows: int = DEFAULT_BLOCK_ROWS) -> StreamPlan:
    """Draw the whole-sky counts (as the one-shot generator does) and split them over blocks."""
    rng = np.random.default_rng(_root(cfg.seed, 0))
    scale = cfg.n_stars / PAPER_N_STARS
    n_pre = cfg.n_stars / cfg.pass_fraction
    blocks = plan_blocks(n_pre, block_rows, cfg.annulus)
    grid = weights.grid
    floor = cfg.cluster_min_members if cfg.n_stars >= 20_000 else 0
    sizes = {cl.name: max(round(cl.paper_members * scale), floor) for cl in clusters_mod.CLUSTERS}
    where: dict[str, int] = {}
    for cl in clusters_mod.CLUSTERS:
        l_c, b_c = galaxy.icrs_to_galactic(np.array([cl.ra]), np.array([cl.dec]))
        il, ib = _cell_of(grid, float(l_c[0]), float(b_c[0]))
        where[cl.name] = next(b.index for b in blocks if b.contains(il, ib))
    area = np.array([_area_share(grid, b) for b in blocks])
    n_qso = rng.poisson(cfg.qso_per_deg2 * cfg.annulus.area_deg2 * scale)
    n_gal = rng.poisson(cfg.galaxy_per_deg2 * cfg.annulus.area_deg2 * scale)
    rare = sum(p.paper_count for p in pops.field_populations() if p.paper_count) * scale
    n_main = max(int(round(n_pre - rare - sum(sizes.values()) - n_qso - n_gal)), 0)
    field: dict[tuple[str, str], np.ndarray] = {}
    for pop in pops.field_populations():
        comps = [c for c, _ in pop.components]
        totals = np.array([weights.cells[(pop.name, c)].sum() for c in comps])
        n_pop = n_main if pop.paper_count is None else rng.poisson(pop.paper_count * scale)
        per_comp = rng.multinomial(n_pop, totals / totals.sum())
        for comp, n in zip(comps, per_comp, strict=True):
            w = weights.cells[(pop.name, comp)]
            share = np.array([_block_sum(w, b) for b in blocks])
            field[(pop.name, comp)] = rng.multinomial(n, share / share.sum())
    return StreamPlan(
        cfg,
        tuple(blocks),
        field,
        rng.multinomial(n_qso, area / area.sum()),
        rng.multinomial(n_gal, area / area.sum()),
        where,
        sizes,
    )


def _draw_in_block(
    rng: np.random.Generator, w: np.ndarray, n: int, blk: SkyBlock, grid: galaxy.SkyGrid
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`core.mock.galaxy.draw_positions` restricted to the block's cells."""
    sub = w[blk.il0 : blk.il1, blk.ib0 : blk.ib1, :]
    p = sub.ravel() / sub.sum()
    counts = rng.multinomial(n, p)
    cells = np.repeat(np.arange(p.size), counts)
    il, ib, idist = np.unravel_index(cells, sub.shape)
    il, ib = il + blk.il0, ib + blk.ib0
    u = rng.random((3, n))
    l_deg = grid.l_edges[il] + u[0] * np.diff(grid.l_edges)[il]
    sinb = grid.sinb_edges[ib] + u[1] * np.diff(grid.sinb_edges)[ib]
    logd = grid.logd_edges[idist] + u[2] * np.diff(grid.logd_edges)[idist]
    return l_deg, np.degrees(np.arcsin(sinb)), 10**logd


def _uniform_in_block(rng: np.random.Generator, n: int, blk: SkyBlock, grid: galaxy.SkyGrid):
    l_deg = rng.uniform(grid.l_edges[blk.il0], grid.l_edges[blk.il1], n)
    s = rng.uniform(grid.sinb_edges[blk.ib0], grid.sinb_edges[blk.ib1], n)
    return l_deg, np.degrees(np.arcsin(s))


def build_block(plan: StreamPlan, weights: _Weights, blk: SkyBlock, dust_map: galaxy.DustMap) -> pd.DataFrame:
    """The observed pre-cut rows of one block (same columns as :func:`core.mock.sky.build_precut`)."""
    cfg = plan.cfg
    rng_field, rng_cl, rng_xgal, rng_obs, rng_lab, rng_misc = (
        np.random.default_rng(s) for s in _root(cfg.seed, blk.index + 1).spawn(6)
    )
    grid = weights.grid
    batches = []
    for pop in pops.field_populations():
        mr_grid, lf = weights.lf[pop.name]
        for comp, _ in pop.components:
            n = int(plan.field_counts[(pop.name, comp)][blk.index])
            if n == 0:
                continue
            l_deg, b_deg, d = _draw_in_block(rng_field, weights.cells[(pop.name, comp)], n, blk, grid)
            mr = galaxy.draw_absolute_mags(rng_field, mr_grid, lf, d, cfg.r_window)
            feh = pops.draw_feh(rng_field, comp, d * np.sin(np.radians(b_deg)))
            batches.append(_make_field_sed(rng_field, pop.name, cfg, comp, l_deg, b_deg, d, mr, feh))
    for cl in clusters_mod.CLUSTERS:
        if plan.cluster_block[cl.name] != blk.index:
            continue
        n = plan.cluster_sizes[cl.name]
        batches.append(_cluster_batch(rng_cl, cl, n, cfg))
    n_qso, n_gal = int(plan.qso_counts[blk.index]), int(plan.galaxy_counts[blk.index])
    l_deg, b_deg = _uniform_in_block(rng_xgal, n_qso, blk, grid)
    batches.append(
        _batch(
            pops.qso_mags(rng_xgal, _power_law_mags(rng_xgal, n_qso, 0.6, 15.5, 22.0)),
            l_deg,
            b_deg,
            np.full(n_qso, np.nan),
            "qso",
            "extragalactic",
            np.nan,
        )
    )
    l_deg, b_deg = _uniform_in_block(rng_xgal, n_gal, blk, grid)
    batches.append(
        _batch(
            pops.galaxy_mags(rng_xgal, _power_law_mags(rng_xgal, n_gal, 0.5, 15.0, 21.5)),
            l_deg,
            b_deg,
            np.full(n_gal, np.nan),
            "galaxy",
            "extragalactic",
            np.nan,
        )
    )
    return observe_batch(_concat(batches), cfg, dust_map, rng_obs, rng_lab, rng_misc)


def merge_funnels(funnels: list[Funnel]) -> Funnel:
    """The funnel of the union of disjoint pieces that went through the same cuts: counts add up."""
    if not funnels:
        return Funnel(n_input=0)
    steps = []
    for k, s in enumerate(funnels[0].steps):
        steps.append(
            FunnelStep(
                s.name,
                s.description,
                sum(f.steps[k].n_before for f in funnels),
                sum(f.steps[k].n_removed for f in funnels),
                s.applied,
                s.note,
            )
        )
    return Funnel(sum(f.n_input for f in funnels), steps, sum(f.n_output for f in funnels))


@dataclass
class StreamedSky:
    """What :func:`stream_mock_sky` yielded in total: rows before and after the cuts, the funnel, the metadata."""

    n_precut: int = 0
    n_stars: int = 0
    funnel: Funnel | None = None
    meta: dict[str, Any] | None = None


def stream_mock_sky(
    n_stars: int,
    seed: int = 1,
    *,
    apply_selection: bool = True,
    config: MockConfig | None = None,
    block_rows: int = DEFAULT_BLOCK_ROWS,
    summary: StreamedSky | None = None,
    progress: bool = False,
) -> Iterator[pd.DataFrame]:
    """Yield the mock sky block by block (each block cut and dereddened unless ``apply_selection=False``).

    ``summary`` (if given) is filled in as blocks go by and holds the merged funnel and the
    catalog's metadata once the iterator is exhausted. Same arguments give the same blocks.
    """
    from tqdm.auto import tqdm

    from core.pipeline import select

    cfg = replace(
        config or MockConfig(), n_stars=int(n_stars), seed=int(seed), apply_selection=apply_selection
    )
    summary = summary if summary is not None else StreamedSky()
    weights = _Weights(cfg)
    plan = make_plan(cfg, weights, block_rows)
    dust_map = galaxy.make_dust_map(cfg.dust_seed, cfg.annulus)
    log.info("streaming ~%d objects in %d sky blocks", plan.n_drawn, len(plan.blocks))
    funnels: list[Funnel] = []
    select_meta: dict[str, Any] = {}
    for blk in tqdm(plan.blocks, desc="mock sky blocks", unit="block", disable=not progress):
        df = build_block(plan, weights, blk, dust_map)
        summary.n_precut += len(df)
        if apply_selection:
            df.attrs["sedscape"] = bandset_to_meta(PS1)
            df, funnel = select(df, PS1)
            df = df.reset_index(drop=True)
            funnels.append(funnel)
            select_meta = {k: v for k, v in df.attrs.get("sedscape", {}).items() if k not in ("funnel",)}
            df.attrs = {}
        summary.n_stars += len(df)
        yield df
    meta: dict[str, Any] = {
        **bandset_to_meta(PS1),
        **select_meta,
        "source": "mock",
        "mock": {
            "version": MOCK_VERSION,
            "seed": cfg.seed,
            "n_stars_requested": cfg.n_stars,
            "n_precut": summary.n_precut,
            "n_stars": summary.n_stars,
            "config": cfg.to_dict(),
            "streamed": {
                "blocks": len(plan.blocks),
                "block_rows": int(block_rows),
                "method": "whole-sky counts split over (l, sin b) blocks; see core.mock.stream",
            },
        },
    }
    if apply_selection:
        summary.funnel = merge_funnels(funnels)
        meta["funnel"] = summary.funnel.to_dict()
    summary.meta = meta


def shard_order_for(n_rows: float, partition_rows: int, area_deg2: float) -> int:
    """HEALPix order whose pixels hold about ``partition_rows`` rows at this sky density (shards of the writer)."""
    density = max(n_rows, 1) / area_deg2
    order = 0
    while order < 7 and density * 41_252.96 / (12 * 4 ** (order + 1)) >= partition_rows:
        order += 1
    return order


def write_mock_hats(
    path: str | Path,
    n_stars: int,
    seed: int = 1,
    *,
    apply_selection: bool = True,
    config: MockConfig | None = None,
    block_rows: int = DEFAULT_BLOCK_ROWS,
    partition_rows: int | None = None,
    overwrite: bool = False,
    progress: bool = False,
) -> StreamedSky:
    """Stream the mock sky into a HATS catalog at ``path`` (memory bounded by one block and one partition)."""
    from core.partitioned import DEFAULT_PARTITION_ROWS, HatsWriter

    cfg = config or MockConfig()
    partition_rows = partition_rows or DEFAULT_PARTITION_ROWS
    expected = n_stars if apply_selection else n_stars / cfg.pass_fraction
    writer = HatsWriter(
        path,
        catalog_name="sedscape_mock",
        partition_rows=partition_rows,
        shard_order=shard_order_for(expected, partition_rows, cfg.annulus.area_deg2),
        overwrite=overwrite,
        unique_id="obj_id",
        duplicates="nudge",  # mock ids come from positions; two blocks may meet at the same 3-mas cell
    )
    summary = StreamedSky()
    try:
        for df in stream_mock_sky(
            n_stars,
            seed,
            apply_selection=apply_selection,
            config=cfg,
            block_rows=block_rows,
            summary=summary,
            progress=progress,
        ):
            writer.add(df)
            del df
        writer.close(summary.meta, progress=progress)
        summary.meta = writer.metadata
    except BaseException:
        writer.abort()
        raise
    return summary
