"""The lazily partitioned scored catalog: aggregation, lasso, rows by number, streaming export."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.errors import CatalogError
from core.partitioned import read_catalog_any, write_hats_frame
from core.scored_partitions import PartitionedScored, points_in_polygon
from tests._catalogs import make_catalog


@pytest.fixture(scope="module")
def sky(tmp_path_factory):
    df = make_catalog(5000, seed=8)
    rng = np.random.default_rng(1)
    df["latent_x"] = rng.normal(0, 1, len(df)).astype(np.float32)
    df["latent_y"] = rng.normal(0, 1, len(df)).astype(np.float32)
    for b in "grizy":
        df[f"{b}_rec"] = (df[b] + 0.01).astype(np.float32)
    path = tmp_path_factory.mktemp("ps") / "scored"
    write_hats_frame(df, path, partition_rows=600)
    whole = read_catalog_any(path)  # the same rows, in the catalog's global order
    return PartitionedScored(path), whole


def test_points_in_polygon_against_known_shapes():
    x = np.array([0.5, 1.5, 0.5, -0.1, 0.99])
    y = np.array([0.5, 0.5, 1.5, 0.5, 0.01])
    assert points_in_polygon(x, y, [0, 1, 1, 0], [0, 0, 1, 1]).tolist() == [True, False, False, False, True]
    # a concave L shape: the notch is outside
    lx, ly = [0, 2, 2, 1, 1, 0], [0, 0, 1, 1, 2, 2]
    assert points_in_polygon(np.array([0.5, 1.5, 1.5]), np.array([1.5, 0.5, 1.5]), lx, ly).tolist() == [
        True,
        True,
        False,
    ]
    with pytest.raises(CatalogError, match="3 vertices"):
        points_in_polygon(x, y, [0, 1], [0, 1])


def test_aggregate_counts_every_row(sky):
    ps, whole = sky
    assert len(ps) == len(whole) and len(ps.parts) > 4
    agg = ps.aggregate(width=50, height=40, x_range=(-6, 6), y_range=(-6, 6))
    assert agg.shape == (40, 50) and int(agg.sum()) == len(whole)
    mean_g = ps.aggregate(width=10, height=10, x_range=(-6, 6), y_range=(-6, 6), agg="max", column="g")
    assert np.nanmax(mean_g.values) == pytest.approx(whole["g"].max())


def test_lasso_matches_the_in_memory_mask_and_rows_come_back_by_number(sky):
    ps, whole = sky
    poly_x, poly_y = [-1, 1.5, 0.5, -1.2], [-1, -0.5, 1.2, 0.8]
    sel = ps.lasso(poly_x, poly_y)
    want = points_in_polygon(whole["latent_x"].to_numpy(), whole["latent_y"].to_numpy(), poly_x, poly_y)
    assert sel.count == int(want.sum()) > 100
    assert (sel.indices() == np.flatnonzero(want)).all()
    picked = [7, len(ps) - 1, 1234, 0]
    rows = ps.rows(picked, ["obj_id", "g"])
    assert rows["obj_id"].tolist() == whole["obj_id"].iloc[picked].tolist()
    page = ps.page(10, 5, ["obj_id"], selection=sel)
    assert page["obj_id"].tolist() == whole["obj_id"][want].iloc[10:15].tolist()
    sed = ps.sed([3, 4])
    assert list(sed.columns[:6]) == ["obj_id", "g", "r", "i", "z", "y"] and "g_rec" in sed.columns
    with pytest.raises(CatalogError, match="row numbers"):
        ps.rows([len(ps)])


def test_export_streams_the_selection(sky, tmp_path):
    ps, whole = sky
    sel = ps.lasso([-1, 1, 1, -1], [-1, -1, 1, 1])
    n = ps.export(tmp_path / "sel.parquet", sel, ["obj_id", "g", "latent_x"])
    back = pd.read_parquet(tmp_path / "sel.parquet")
    assert n == sel.count == len(back)
    assert back["obj_id"].tolist() == whole["obj_id"].iloc[sel.indices()].tolist()
    assert ps.export(tmp_path / "all.csv", None, ["obj_id"]) == len(whole)
    assert len(pd.read_csv(tmp_path / "all.csv")) == len(whole)
