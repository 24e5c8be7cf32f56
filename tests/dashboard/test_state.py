"""AppState: selections, live threshold, derived summary/table, probe and export, without any UI."""

import numpy as np
import pandas as pd
import pytest
from matplotlib.path import Path as MplPath

from core.catalog import read_parquet
from core.export import ExportOptions, read_export
from core.scoring import flag_anomalies
from core.selection import PRESET_FIELDS
from dashboard.sky import SkyData
from dashboard.state import AppState


@pytest.fixture
def state(sky):
    return AppState(sky)


def test_defaults_are_g_minus_i_and_the_papers_threshold(state):
    assert state.colour_by == "colour g - i"
    assert state.threshold == 0.05
    assert state.selection is None and state.n_selected == 0


def test_threshold_count_matches_core_flag_anomalies(state, sky):
    for thr in (0.05, 0.2):
        state.threshold = thr
        want = flag_anomalies(sky.df, sky.bands, thr)
        assert np.array_equal(state.anomaly_mask(), want)
        assert state.summary()["n_anomalies"] == int(want.sum())


def test_lasso_on_latent_selects_the_points_inside(state, sky):
    poly = np.array([[-0.1, -0.3], [0.1, -0.4], [0.15, 0.3], [-0.05, 0.2]])
    n = state.select_polygon("latent", poly)
    want = MplPath(poly).contains_points(sky.df[["latent_x", "latent_y"]].to_numpy(float))
    assert n == want.sum() > 0
    assert np.array_equal(state.selection_mask(), want)
    assert state.geometry["kind"] == "lasso" and state.geometry["x"] == "latent_x"


def test_linked_views_select_on_reconstructed_columns_when_shown(state, sky):
    bounds = (0.5, 16.0, 2.0, 19.0)
    state.select_box("cmd", bounds)
    obs = state.selection_mask().copy()
    state.show = "reconstructed"
    state.select_box("cmd", bounds)
    gi_rec, g_rec = sky.df["g_rec"] - sky.df["i_rec"], sky.df["g_rec"]
    want = ((gi_rec >= 0.5) & (gi_rec <= 2.0) & (g_rec >= 16) & (g_rec <= 19)).to_numpy()
    assert np.array_equal(state.selection_mask(), want)
    assert state.geometry["x"] == "g_i_rec" and not np.array_equal(obs, want)


def test_unknown_view_is_named(state):
    with pytest.raises(ValueError, match="unknown view 'sky'"):
        state.select_box("sky", (0, 0, 1, 1))


def test_each_selection_bumps_revision_and_clear_resets(state):
    r0 = state.revision
    state.select_anomalies()
    state.clear_selection()
    assert state.revision == r0 + 2 and state.selection is None and state.geometry is None


def test_presets_anomalies_category_and_cluster_field(sky):
    df = sky.df.copy()
    ra0, dec0, _ = PRESET_FIELDS["M3"]
    df.loc[:3, "ra"], df.loc[:3, "dec"] = ra0 + 0.01, dec0 - 0.01
    df.loc[4, "ra"], df.loc[4, "dec"] = ra0, dec0 + 0.2  # outside the 0.15 deg radius
    state = AppState(SkyData(df=df, bands=sky.bands, catalog_path=sky.catalog_path))
    assert state.select_field("M3") >= 4
    assert set(range(4)) <= set(state.selection) and 4 not in set(state.selection)
    assert state.select_anomalies() == int(state.anomaly_mask().sum())
    n_wd = state.select_category("WD")
    assert n_wd == int((df["simbad_category"] == "WD").sum()) > 0
    with pytest.raises(ValueError, match="known: M3"):
        state.select_field("M13")


def test_summary_and_category_table_compare_selection_with_catalog(state, sky):
    state.select_category("binary")
    s = state.summary()
    anomalous = state.anomaly_mask()[sky.df["simbad_category"] == "binary"]
    assert s["n_selected"] == len(anomalous)
    assert s["selected_anomalies"] == int(anomalous.sum())
    table = state.category_table().set_index("category")
    assert table.loc["binary", "selection"] == 1.0
    assert table.loc["binary", "catalog_count"] == int((sky.df["simbad_category"] == "binary").sum())
    assert table["catalog"].sum() == pytest.approx(1.0)


def test_table_is_the_selection_most_anomalous_first_with_live_flag(state):
    state.select_anomalies()
    state.threshold = 0.3
    table = state.selected_table()
    assert len(table) == state.n_selected
    assert table["max_abs_res"].is_monotonic_decreasing
    assert np.array_equal(table["anomaly"].to_numpy(), table["max_abs_res"].to_numpy() > 0.3)
    top = state.most_anomalous(3)
    assert top["obj_id"].tolist() == table["obj_id"].head(3).tolist()


def test_probe_decodes_with_the_model_and_is_off_without(state, sky):
    assert state.probe_magnitudes() is None
    state.probe = (0.0, 0.5)
    np.testing.assert_allclose(state.probe_magnitudes(), sky.model.decode_latent(np.array([[0.0, 0.5]]))[0])
    bare = AppState(SkyData(df=sky.df, bands=sky.bands, catalog_path=sky.catalog_path), probe=(0.0, 0.5))
    assert bare.probe_magnitudes() is None


def test_colour_values_for_numbers_categories_and_anomaly(state, sky):
    values, cats, clim = state.colour_values()
    np.testing.assert_allclose(values, (sky.df["g"] - sky.df["i"]).to_numpy(np.float32), atol=1e-5)
    # a fixed colour range from the whole catalog: zooming does not change what a colour means
    assert clim == pytest.approx(tuple(np.quantile(values.astype(float), [0.005, 0.995])), rel=1e-6)
    state.colour_by = "residual z"
    _, _, clim = state.colour_values()
    assert clim[1] == -clim[0] > 0
    state.colour_by = "anomaly flag"
    values, cats, _ = state.colour_values()
    assert cats == ["normal", "anomaly"] and (values == "anomaly").sum() == state.summary()["n_anomalies"]
    state.colour_by = "SIMBAD category"
    values, cats, _ = state.colour_values()
    assert "(none)" in cats and len(values) == sky.n


def test_export_has_exactly_the_selection_and_its_provenance(state, sky, tmp_path):
    poly = np.array([[-0.2, -1.0], [0.2, -1.0], [0.2, 0.0], [-0.2, 0.0]])
    state.select_polygon("latent", poly)
    path = state.prepare_export(ExportOptions("csv"))().write(tmp_path / "sel.csv")
    back, prov = read_export(path)
    assert sorted(back["obj_id"]) == sorted(sky.df["obj_id"].iloc[state.selection])
    # every column of the catalog file, including those the page does not load until an export needs them
    on_disk = read_parquet(sky.catalog_path)
    assert sky.export_columns and not set(sky.export_columns) & set(sky.df.columns)
    assert list(back.columns[: len(on_disk.columns)]) == list(on_disk.columns)
    disk = on_disk.set_index("obj_id").loc[back["obj_id"]]
    for col in sky.export_columns:
        if pd.api.types.is_float_dtype(disk[col]):
            np.testing.assert_allclose(back[col].to_numpy(float), disk[col].to_numpy(float), equal_nan=True)
        else:
            assert back[col].astype(str).tolist() == disk[col].astype(str).tolist()
    assert prov["selection"]["vertices"] == poly.tolist() and prov["threshold"] == 0.05
    assert prov["catalog"] == str(sky.catalog_path) and prov["n_selected"] == state.n_selected
    row = sky.df.set_index("obj_id").loc[back["obj_id"].iloc[0]]
    assert back["g"].iloc[0] == row["g"] and back["latent_x"].iloc[0] == row["latent_x"]
