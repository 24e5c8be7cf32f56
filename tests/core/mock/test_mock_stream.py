"""The mock sky drawn block by block: the same sky in distribution, bounded pieces, a valid HATS catalog."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from core.mock.sky import MockConfig
from core.mock.stream import (
    StreamedSky,
    _Weights,
    make_plan,
    merge_funnels,
    plan_blocks,
    stream_mock_sky,
    write_mock_hats,
)
from tests.core.mock.conftest import N_STARS, SEED


@pytest.fixture(scope="module")
def streamed():
    summary = StreamedSky()
    blocks = list(stream_mock_sky(N_STARS, SEED, block_rows=12_000, summary=summary))
    return blocks, summary


def test_blocks_tile_the_sampler_grid_once():
    for n_pre, rows in ((5e4, 1e4), (3e6, 1e6), (1.7e8, 1e6)):
        blocks = plan_blocks(n_pre, int(rows))
        cover = np.zeros((72, 10), int)
        for b in blocks:
            cover[b.il0 : b.il1, b.ib0 : b.ib1] += 1
        assert (cover == 1).all()
        assert len(blocks) >= min(np.ceil(n_pre / rows), 720)


def test_plan_splits_every_whole_sky_count_over_blocks():
    cfg = MockConfig(n_stars=N_STARS, seed=SEED)
    plan = make_plan(cfg, _Weights(cfg), block_rows=12_000)
    assert len(plan.blocks) > 3
    assert plan.block_rows().sum() == plan.n_drawn
    assert abs(plan.n_drawn - N_STARS / cfg.pass_fraction) < 0.02 * N_STARS / cfg.pass_fraction
    assert set(plan.cluster_block) == set(plan.cluster_sizes) and all(v >= 0 for v in plan.cluster_block.values())


def test_streamed_sky_is_the_one_shot_sky_in_distribution(streamed, mock_sky):
    blocks, summary = streamed
    sky = pd.concat(blocks, ignore_index=True)
    assert len(blocks) > 3 and max(len(b) for b in blocks) < 0.5 * len(sky)
    assert list(sky.columns) == list(mock_sky.columns)
    assert (sky.dtypes == mock_sky.dtypes).all()
    assert abs(len(sky) - len(mock_sky)) < 0.03 * len(mock_sky)
    # class fractions agree within binomial noise (5 sigma)
    a = sky["true_class"].value_counts()
    b = mock_sky["true_class"].value_counts()
    for cls in b.index:
        p1, p2 = a.get(cls, 0) / len(sky), b[cls] / len(mock_sky)
        p = (a.get(cls, 0) + b[cls]) / (len(sky) + len(mock_sky))
        sigma = np.sqrt(p * (1 - p) * (1 / len(sky) + 1 / len(mock_sky))) + 1e-12
        assert abs(p1 - p2) < 5 * sigma + 1e-4, cls
    # positions, magnitudes, colours and reddening have the same distributions
    for col in ("l", "b", "r", "g_err", "ebv", "true_dist_pc"):
        x, y = sky[col].astype(float).dropna(), mock_sky[col].astype(float).dropna()
        assert stats.ks_2samp(x, y).pvalue > 1e-4, col
    gr = (sky["g"] - sky["r"]).astype(float)
    assert stats.ks_2samp(gr, (mock_sky["g"] - mock_sky["r"]).astype(float)).pvalue > 1e-4
    # every cluster is there, with members where the cluster is
    assert set(sky["true_cluster"].unique()) == set(mock_sky["true_cluster"].unique())


def test_funnel_and_metadata_add_up(streamed):
    blocks, summary = streamed
    assert summary.n_stars == sum(len(b) for b in blocks)
    assert summary.funnel.n_output == summary.n_stars and summary.funnel.n_input == summary.n_precut
    assert summary.funnel.n_input - summary.funnel.n_removed == summary.n_stars
    meta = summary.meta
    assert meta["mock"]["streamed"]["blocks"] == len(blocks) and meta["funnel"]["n_output"] == summary.n_stars
    assert meta["bands"][0]["name"] == "g" and meta["dereddened"]
    assert merge_funnels([summary.funnel]).to_dict() == summary.funnel.to_dict()


def test_same_arguments_same_blocks():
    a = next(iter(stream_mock_sky(3000, 4, block_rows=1500)))
    b = next(iter(stream_mock_sky(3000, 4, block_rows=1500)))
    c = next(iter(stream_mock_sky(3000, 5, block_rows=1500)))
    pd.testing.assert_frame_equal(a, b)
    assert not a["obj_id"].isin(c["obj_id"]).all()


def test_write_mock_hats_gives_a_catalog_lsdb_opens(tmp_path):
    import lsdb

    from core.partitioned import read_catalog_any

    out = tmp_path / "sky"
    summary = write_mock_hats(out, 6000, 2, block_rows=3000, partition_rows=2500)
    cat = lsdb.open_catalog(out)
    assert cat.npartitions >= 3
    df = read_catalog_any(out)
    assert len(df) == summary.n_stars and df["obj_id"].is_unique
    meta = df.attrs["sedscape"]
    assert meta["source"] == "mock" and meta["funnel"]["n_output"] == len(df)
    assert meta["mock"]["streamed"]["blocks"] >= 2 and meta["hats"]["partitions"] == cat.npartitions


def test_cli_writes_hats_with_format_flag(tmp_path, capsys):
    from core.cli import main
    from core.partitioned import is_hats, n_rows

    out = tmp_path / "cli_sky"
    assert main(["mock", "--stars", "3000", "--seed", "3", "--out", str(out), "--format", "hats",
                 "--partition-rows", "1500", "--block-rows", "2500"]) == 0
    assert is_hats(out) and n_rows(out) > 2500
    assert "HATS catalog" in capsys.readouterr().out
    assert main(["mock", "--stars", "3000", "--out", str(out), "--format", "hats"]) == 2
