"""The model switch and the second latent space, on a catalog scored by two models and a multi-modal VAE."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.path import Path as MplPath

from core.catalog import read_parquet
from core.export import ExportOptions, export_catalog_selection, read_export
from core.scoring import TrainedModel
from core.selection import selection_mask
from dashboard import models_view, views
from dashboard.compare_view import CompareView
from dashboard.state import AppState
from tests.dashboard._multi_sky import SECOND


@pytest.fixture
def state(multi_sky):
    return AppState(multi_sky)


@pytest.fixture(scope="module")
def full(multi_paths):
    """The catalog file with every column under its real name (what ``sedscape export`` reads)."""
    return read_parquet(multi_paths["catalog"])


def test_the_switch_lists_the_models_and_the_maps(state):
    assert list(state.param.model.objects.values()) == ["pca", SECOND]
    assert state.model == "pca" and state.sky is models_view.base_sky(state.sky)
    assert list(state.param.compare.objects.values()) == ["none", "pca", SECOND, models_view.MULTIMODAL]


def test_switching_shows_the_other_models_columns_everywhere(state, full):
    before = state.sky.frame["latent_x"].to_numpy().copy()
    revision = state.revision
    state.model = SECOND
    sky = state.sky
    assert state.revision == revision + 1 and state.threshold == 0.1  # the threshold it was scored with
    assert np.array_equal(sky.frame["latent_x"], full[f"{SECOND}__latent_x"].to_numpy(np.float32))
    assert not np.array_equal(sky.frame["latent_x"], before)
    assert np.array_equal(state.anomaly_mask(), full[f"{SECOND}__max_abs_res"].to_numpy(np.float32) > 0.1)
    # Residual colour-by, the table and the SEDs read this model's columns under the bare names.
    state.colour_by = "residual g"
    values, _, _ = state.colour_values()
    assert np.array_equal(values, full[f"{SECOND}__g_res"].to_numpy(np.float32))
    state.select_anomalies()
    rows = state.most_anomalous(3)
    want = full.set_index("obj_id").loc[rows["obj_id"], f"{SECOND}__g_rec"].to_numpy(np.float32)
    assert np.array_equal(rows["g_rec"].to_numpy(np.float32), want)
    table = state.selected_table()
    assert "max_abs_res" in table and (table["max_abs_res"].to_numpy() > 0.1).all()
    state.model = "pca"
    assert np.array_equal(state.sky.frame["latent_x"], before) and state.threshold == 0.05


def test_geometries_name_the_real_columns_so_the_cli_selects_the_same_stars(state, full):
    state.model = SECOND
    xy = full[[f"{SECOND}__latent_x", f"{SECOND}__latent_y"]].to_numpy(float)
    lo, hi = np.percentile(xy, 20, axis=0), np.percentile(xy, 70, axis=0)
    poly = np.array([[lo[0], lo[1]], [hi[0], lo[1]], [hi[0], hi[1]], [lo[0], hi[1]]])
    n = state.select_polygon("latent", poly)
    assert state.geometry["x"] == f"{SECOND}__latent_x" and n > 20
    assert np.array_equal(selection_mask(full, state.geometry, state.sky.bands), state.selection_mask())
    assert np.array_equal(state.selection_mask(), MplPath(poly).contains_points(xy))
    state.show = "reconstructed"
    state.select_box("cmd", (0.0, 14.0, 2.5, 21.0))
    assert state.geometry["x"] == f"{SECOND}__g_i_rec" and state.geometry["y"] == f"{SECOND}__g_rec"
    assert np.array_equal(selection_mask(full, state.geometry, state.sky.bands), state.selection_mask())
    state.select_anomalies()
    assert state.geometry["column"] == f"{SECOND}__max_abs_res"
    assert np.array_equal(selection_mask(full, state.geometry, state.sky.bands), state.selection_mask())


def test_an_export_names_the_model_shown_and_reproduces_from_its_provenance(state, multi_paths, tmp_path):
    state.model = SECOND
    state.select_anomalies()
    task = state.prepare_export(ExportOptions(format="parquet"))()
    path = task.write(tmp_path / "sel.parquet")
    exported, prov = read_export(path)
    assert prov["model_shown"]["key"] == SECOND and prov["model_shown"]["column_prefix"] == f"{SECOND}__"
    assert prov["model_dir"] == str(multi_paths["second"]) and prov["threshold"] == 0.1
    assert exported["anomaly_at_threshold"].all()  # this model's flag, not the default model's
    assert "latent_x" in exported and f"{SECOND}__latent_x" in exported  # the file's columns, real names
    again, _ = export_catalog_selection(multi_paths["catalog"], path, tmp_path / "again.parquet",
                                        options=ExportOptions(format="parquet"))  # fmt: skip
    assert set(read_parquet(again)["obj_id"]) == set(exported["obj_id"])


def test_the_probe_decodes_with_the_model_shown(state, multi_paths):
    state.model = SECOND
    state.probe = (0.1, -0.2)
    want = TrainedModel.load(multi_paths["second"]).decode_latent(np.array([[0.1, -0.2]]))[0]
    assert np.allclose(state.probe_magnitudes(), want)
    state.model = "pca"
    assert state.probe is None  # a point of one latent space means nothing in another


def test_a_lasso_on_the_second_latent_space_selects_in_its_map(state, full):
    state.compare = SECOND
    view = CompareView(state=state)
    assert view.spec.title == f"Latent space of {SECOND}" and view.__panel__().visible
    xy = full[[f"{SECOND}__latent_x", f"{SECOND}__latent_y"]].to_numpy(float)
    lo, hi = np.percentile(xy, 10, axis=0), np.percentile(xy, 50, axis=0)
    poly = np.array([[lo[0], lo[1]], [hi[0], lo[1]], [hi[0], hi[1]], [lo[0], hi[1]]])
    view._on_lasso(geometry=poly)
    assert state.geometry["view"] == f"latent:{SECOND}" and state.geometry["x"] == f"{SECOND}__latent_x"
    assert np.array_equal(state.selection_mask(), MplPath(poly).contains_points(xy))
    # The main latent view draws the same selection: its layer gets exactly these stars.
    main = views.ScatterView(state=state, view="latent")
    layer = main._selection(x_range=(-10, 10), y_range=(-10, 10), width=200, height=200)
    assert layer.data["selected"].max() == 1
    state.compare = "none"
    assert not view.__panel__().visible


def test_the_multimodal_map_holds_only_stars_with_epochs(state, full):
    state.compare = models_view.MULTIMODAL
    view = CompareView(state=state)
    assert view.spec.x == "mm_map_x" and view.spec.subset == "mm_map_x"
    pts = view._base()
    assert len(pts) == int(np.isfinite(full["mm_map_x"]).sum()) < len(full)
    x = full["mm_map_x"].to_numpy(float)
    bounds = (np.nanmin(x) - 1, -1e9, np.nanmax(x) + 1, 1e9)
    n = state.select_box(f"latent:{models_view.MULTIMODAL}", bounds)
    assert n == int(np.isfinite(x).sum())
    assert np.array_equal(selection_mask(full, state.geometry, state.sky.bands), state.selection_mask())


def test_views_redraw_for_the_model_shown(state, full):
    page = views.Dashboard(state=state)
    latent = page.views["latent"]
    pane_object = latent._pane.object
    state.model = SECOND
    assert latent._pane.object is not pane_object
    data = latent._base().data
    assert np.array_equal(data["latent_x"].to_numpy(), full[f"{SECOND}__latent_x"].to_numpy(np.float32))
    assert page.__panel__().get_root() is not None


def test_a_single_model_catalog_offers_no_switch(sky):
    state = AppState(sky)
    assert len(state.param.model.objects) == 1 and list(state.param.compare.objects.values()) == ["none"]
    assert models_view.model_controls(state) == []
    state.select_anomalies()
    assert "column" not in state.geometry  # old geometries, unchanged


def test_the_review_ranking_and_the_fingerprint_space_follow_the_model_shown(state, full, tmp_path):
    from core import FINGERPRINT, LabelStore, RankingConfig
    from core.ranking import candidate_rows
    from dashboard import findmore, review

    store, config = LabelStore(tmp_path / "labels.sqlite"), RankingConfig(n_top=10)  # the default top 30,000: every star
    loops, spaces = {}, {}
    for key, prefix in (("pca", ""), (SECOND, f"{SECOND}__")):
        state.model = key
        loops[key] = review.shared_loop(state.sky, store, 0.1, config)
        assert review.shared_loop(state.sky, store, 0.1, config) is loops[key]  # shared by the sessions
        rows = candidate_rows(full[f"{prefix}max_abs_res"].to_numpy(), 0.1, config)
        assert set(loops[key].result(timeout=120).ranker.obj_ids.tolist()) == set(full["obj_id"].iloc[rows].tolist())
        spaces[key] = findmore.shared_space(state.sky, FINGERPRINT).result(timeout=120)[0]
    assert loops["pca"] is not loops[SECOND] and spaces["pca"] is not spaces[SECOND]
    assert set(loops["pca"].result().ranker.obj_ids) != set(loops[SECOND].result().ranker.obj_ids)
    assert not np.allclose(spaces["pca"].values, spaces[SECOND].values)  # each model's residuals
