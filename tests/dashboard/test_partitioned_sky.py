"""A HATS catalog in the dashboard: what is computed partition by partition equals the in-memory result."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core import ExportOptions
from core.export import read_export
from core.partitioned import write_hats_frame
from dashboard.partitioned_sky import PartitionedSky
from dashboard.sky import SkyData, catalog_columns, load_sky, read_scored
from dashboard.sources import Sources
from dashboard.state import AppState


@pytest.fixture(scope="module")
def skies(scored_paths, tmp_path_factory):
    """The dashboard tests' scored sky as a HATS catalog of several partitions, opened both ways."""
    catalog, model = scored_paths
    hats = tmp_path_factory.mktemp("hats-sky") / "scored"
    write_hats_frame(read_scored(catalog), hats, partition_rows=500)
    lazy = load_sky(Sources(hats, model, "args"))
    names, page = catalog_columns(hats)
    df = read_scored(hats, columns=page)  # the whole catalog in memory, rows in the same (partition) order
    whole = SkyData(df=df, bands=lazy.bands, catalog_path=hats, model_dir=model, column_order=names,
                    export_columns=tuple(c for c in names if c not in df.columns))  # fmt: skip
    return lazy, whole


def test_a_hats_directory_opens_partitioned(skies):
    lazy, whole = skies
    assert isinstance(lazy, PartitionedSky) and lazy.lazy_rows and not whole.lazy_rows
    assert len(lazy.catalog.parts) > 3 and lazy.n == whole.n
    assert lazy.frame.loaded() == []  # nothing read before something asks
    assert list(lazy.df.columns) == list(whole.df.columns) and len(lazy.df) == 0


def test_every_view_column_read_by_partition_equals_the_in_memory_plotting_frame(skies):
    lazy, whole = skies
    assert set(lazy.frame.columns) == set(whole.frame.columns)
    for name in whole.frame.columns:
        np.testing.assert_array_equal(lazy.frame[name].to_numpy(), whole.frame[name].to_numpy(), err_msg=name)
    for col in ("latent_x", "g_i", "abs_g"):
        assert lazy.limits(col) == whole.limits(col)  # under RANGE_SAMPLE stars: every star counts
    assert lazy.colour_range("g_i") == whole.colour_range("g_i")
    assert lazy.has_gaia == whole.has_gaia


@pytest.mark.parametrize(
    "geometry",
    [
        {"kind": "lasso", "view": "latent", "x": "latent_x", "y": "latent_y"},
        {"kind": "box", "view": "cmd", "x": "g_i", "y": "g", "bounds": None},
        {"kind": "preset", "preset": "anomalies", "threshold": 0.05},
        {"kind": "preset", "preset": "field", "fields": {"a": [180.0, 20.0, 25.0], "b": [40.0, -10.0, 15.0]}},
        {"kind": "preset", "preset": "simbad", "column": "simbad_category", "value": "RGB"},
    ],
    ids=["lasso", "box", "anomalies", "fields", "simbad"],
)
def test_selection_masks_per_partition_equal_the_in_memory_mask(skies, geometry):
    lazy, whole = skies
    g = dict(geometry)
    x = whole.frame["latent_x"].to_numpy()
    y = whole.frame["latent_y"].to_numpy()
    if g["kind"] == "lasso":  # a triangle around the middle of the latent cloud
        (x0, x1), (y0, y1) = np.quantile(x, [0.2, 0.8]), np.quantile(y, [0.2, 0.8])
        g["vertices"] = [[x0, y0], [x1, y0], [(x0 + x1) / 2, y1]]
    if g["kind"] == "box":
        gi, mag = whole.frame["g_i"].to_numpy(), whole.frame["g"].to_numpy()
        g["bounds"] = [*np.quantile(gi, [0.3]), *np.quantile(mag, [0.3]), *np.quantile(gi, [0.9]), *np.quantile(mag, [0.9])]
    want = whole.mask(g)
    got = lazy.mask(g)
    assert 0 < want.sum() < whole.n
    np.testing.assert_array_equal(got, want)


def test_sessions_over_a_partitioned_catalog_match_the_in_memory_ones(skies):
    lazy, whole = skies
    a, b = AppState(lazy), AppState(whole)
    assert a.param.colour_by.objects == b.param.colour_by.objects
    for option in a.param.colour_by.objects:
        a.colour_by = b.colour_by = option
        va, cats_a, clim_a = a.colour_values()
        vb, cats_b, clim_b = b.colour_values()
        assert cats_a == cats_b and clim_a == clim_b, option
        np.testing.assert_array_equal(np.asarray(va), np.asarray(vb))
    assert a.categories() == b.categories()
    cat = a.categories()[0]
    assert a.select_category(cat) == b.select_category(cat) > 0
    pd.testing.assert_frame_equal(a.category_table(), b.category_table())
    ids = whole.df["obj_id"].to_numpy()[::7]
    assert a.select_obj_ids(ids, "test") == b.select_obj_ids(ids, "test") == len(ids)
    np.testing.assert_array_equal(a.selection, b.selection)
    a.select_anomalies(), b.select_anomalies()
    order = a.table_order(50)
    np.testing.assert_array_equal(order, b.table_order(50))
    pd.testing.assert_frame_equal(a.selected_table(rows_idx=order[10:22]), b.selected_table(50).iloc[10:22].reset_index(drop=True),
                                  check_categorical=False)  # fmt: skip
    top_a, top_b = a.most_anomalous(5), b.most_anomalous(5)
    assert top_a["obj_id"].tolist() == top_b["obj_id"].tolist()
    np.testing.assert_array_equal(top_a["g_rec"].to_numpy(), top_b["g_rec"].to_numpy())


def test_the_export_streamed_from_partitions_equals_the_in_memory_export(skies, tmp_path):
    lazy, whole = skies
    a, b = AppState(lazy), AppState(whole)
    a.select_box("latent", (-1e9, -1e9, 1e9, 1e9)), b.select_box("latent", (-1e9, -1e9, 1e9, 1e9))
    a.select_anomalies(), b.select_anomalies()
    for fmt, suffix in (("parquet", "parquet"), ("csv", "csv"), ("fits", "fits")):
        options = ExportOptions(format=fmt, columns="all", chunk_rows=97)  # many chunks, crossing partitions
        paths = [tmp_path / f"{name}.{suffix}" for name in ("lazy", "whole")]
        for state, path in zip((a, b), paths, strict=True):
            state.prepare_export(options)().write(path)
        got, prov_got = read_export(paths[0])
        want, prov_want = read_export(paths[1])
        assert len(got) == a.n_selected > 0
        assert list(got.columns) == list(want.columns)
        # Text columns: a Parquet export from partitions writes plain strings where the in-memory one keeps
        # the categories; the values are the same.
        text = [c for c in want.columns if not pd.api.types.is_numeric_dtype(want[c]) or not pd.api.types.is_numeric_dtype(got[c])]
        for c in text:
            assert got[c].astype(object).where(got[c].notna(), None).tolist() == \
                want[c].astype(object).where(want[c].notna(), None).tolist(), c
        pd.testing.assert_frame_equal(got.drop(columns=text), want.drop(columns=text))
        assert prov_got["selection"] == prov_want["selection"]


def test_hover_rows_come_from_the_tooltip_sample(skies):
    lazy, whole = skies
    cols = ["obj_id", "g", "max_abs_res", "simbad_category"]
    lazy.start_hover_load(cols)
    lazy._hover_thread.join(timeout=60)
    order = lazy.hover_order
    assert len(order) == min(whole.n, len(order)) > 0
    flagged = whole.frame["max_abs_res"].to_numpy()[order] > 0.05
    assert not np.any(np.diff(flagged.astype(int)) > 0)  # anomalous stars first
    pd.testing.assert_frame_equal(lazy.hover_rows(order[:40], cols), whole.take(order[:40], cols), check_categorical=False)
