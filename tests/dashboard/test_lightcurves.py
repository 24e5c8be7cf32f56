"""The light-curve panel: where the epochs are, which stars, the plots, and that only those stars are read."""

from __future__ import annotations

import holoviews as hv
import numpy as np
import pandas as pd
import pytest

from core.catalog import read_parquet
from core.epochs import read_epochs
from core.multimodal import MultiModalModel
from dashboard import lightcurve_plots, lightcurves
from dashboard.sky import SkyData
from dashboard.state import AppState


@pytest.fixture
def state(multi_sky):
    return AppState(multi_sky)


@pytest.fixture(scope="module")
def epochs(multi_paths):
    return read_epochs(multi_paths["detections"])


def test_the_detection_table_beside_the_catalog_is_found(multi_sky, multi_paths):
    source, why = lightcurves.epoch_source(multi_sky)
    assert why == "" and source.path == multi_paths["detections"]
    assert lightcurves.multimodal_dir(multi_sky) == multi_paths["mm"]


def test_without_a_detection_table_the_panel_says_how_to_add_one(sky):
    source, why = lightcurves.epoch_source(sky)
    assert source is None and "SEDSCAPE_DETECTIONS" in why
    panel = lightcurves.LightCurvePanel(state=AppState(sky), active=True)
    assert "detection table" in panel.status.object and panel.plots.object is None


def test_the_most_anomalous_selected_stars_with_epochs_are_shown(state, epochs, multi_paths):
    source, _ = lightcurves.epoch_source(state.sky)
    has = np.isin(state.sky.df["obj_id"], epochs["obj_id"].unique())
    assert 0 < has.sum() < state.sky.n
    state.set_selection(np.ones(state.sky.n, bool), {"kind": "test"})
    rows = lightcurves.stars_to_show(state, source, n=3)
    assert len(rows) == 3 and has[rows].all()
    score = state.sky.df["mm_score"].to_numpy()
    assert np.all(score[rows] >= np.nanmax(np.delete(score, rows)[has[np.setdiff1d(np.arange(state.sky.n), rows)]]))
    # A clicked star with epochs wins; one without epochs falls back to the selection's.
    focus = int(state.sky.df["obj_id"][has].iloc[-1])
    assert state.sky.df["obj_id"].to_numpy()[lightcurves.stars_to_show(state, source, focus)].tolist() == [focus]
    no_epochs = int(state.sky.df["obj_id"][~has].iloc[0])
    assert np.array_equal(lightcurves.stars_to_show(state, source, no_epochs, n=3), rows)
    state.set_selection(np.flatnonzero(~has)[:10], {"kind": "test"})
    assert lightcurves.stars_to_show(state, source).size == 0


def test_only_the_shown_stars_epochs_are_read(state, epochs):
    source, _ = lightcurves.epoch_source(state.sky)
    ids = np.sort(epochs["obj_id"].unique())[[0, 5]]
    got = source.read(ids)
    assert set(got["obj_id"]) == set(ids.tolist())
    assert len(got) == int(epochs["obj_id"].isin(ids).sum()) < len(epochs)


def test_curves_fold_at_the_best_period_with_the_vaes_reconstruction(state, multi_paths):
    source, _ = lightcurves.epoch_source(state.sky)
    df = state.sky.df
    periodic = np.flatnonzero(np.isfinite(df["lc_period"].to_numpy()))
    assert periodic.size
    model = MultiModalModel.load(multi_paths["mm"])
    star = lightcurves.star_curves(state.sky, periodic[:1], source, model)[0]
    assert np.isclose(star["period"], df["lc_period"].iloc[periodic[0]], rtol=1e-6)  # the scored period
    assert star["folded"]["phase"].between(0, 1).all() and len(star["folded"]) == len(star["epochs"])
    assert star["reconstruction"] is not None and np.isfinite(star["reconstruction"]["mag_rec"]).any()
    assert star["dmdt_prob"].shape == (5, 20, 10)
    # Without the model the curve is still folded at the period found from its epochs, without a reconstruction.
    plain = lightcurves.star_curves(state.sky, periodic[:1], source, None)[0]
    assert np.isclose(plain["period"], star["period"], rtol=1e-6) and plain["reconstruction"] is None


def test_the_panel_works_only_while_its_tab_is_open_and_draws_the_stars(state, epochs):
    panel = lightcurves.LightCurvePanel(state=state)
    with_epochs = np.flatnonzero(np.isin(state.sky.df["obj_id"], epochs["obj_id"].unique()))
    state.set_selection(with_epochs[:4], {"kind": "test"})
    assert panel.plots.object is None  # hidden: nothing read
    panel.active = True
    grid = panel.plots.object
    assert isinstance(grid, hv.Layout) and len(grid) == 3 * lightcurves.N_STARS
    assert "most anomalous" in panel.status.object
    titles = [p.opts.get().kwargs.get("title", "") for p in grid]
    assert sum(t.startswith("obj_id") for t in titles) == lightcurves.N_STARS
    panel.focus = int(state.sky.df["obj_id"].iloc[with_epochs[1]])
    assert len(panel.plots.object) == 3 and "clicked" in panel.status.object
    state.set_selection(with_epochs[:2], {"kind": "test"})  # a new selection forgets the clicked star
    assert panel.focus is None and len(panel.plots.object) == 6


def test_plots_have_a_layer_per_band_and_the_dmdt_edges():
    e = pd.DataFrame({"band": ["g", "g", "r"], "mjd": [55200.0, 55300.0, 55250.0], "mag": [17.0, 17.2, 16.8],
                      "mag_err": [0.01, 0.02, 0.01]})  # fmt: skip
    over = lightcurve_plots.epochs_plot(e, list("grizy"), "x")
    scatters = [el for el in over if isinstance(el, hv.Scatter)]
    assert [len(s) for s in scatters] == [2, 1, 0, 0, 0]
    prob = np.zeros((5, 20, 10))
    prob[0, 3, 4] = 1.0
    mesh = lightcurve_plots.dmdt_plot(prob, np.array([True, False, False, False, False]), "d")
    x, y = lightcurve_plots.dmdt_edges()
    assert len(x) == 11 and len(y) == 21 and np.isfinite(y).all()
    assert mesh.dimension_values("p", flat=False).max() == 1.0
    folded = lightcurve_plots.folded_plot(None, None, list("grizy"), "no period")
    assert all(len(el) == 0 for el in folded)


def test_variability_colour_bys(multi_sky, sky: SkyData):
    options = AppState(multi_sky).param.colour_by.objects
    assert {"period (light curve, d)", "amplitude (light curve, mag)", "multi-modal anomaly flag",
            "variability class (mock truth)"} <= set(options)  # fmt: skip
    state = AppState(multi_sky)
    state.colour_by = "variability class (mock truth)"
    values, cats, _ = state.colour_values()
    truth = read_parquet(multi_sky.catalog_path, columns=["true_var_class"])["true_var_class"].astype(str)
    assert set(cats) == set(truth) and (np.asarray(values.astype(str)) == truth.to_numpy()).all()
    state.colour_by = "period (light curve, d)"
    assert state.colour.log
    assert "period (light curve, d)" not in AppState(sky).param.colour_by.objects


def test_the_dashboards_panel_works_only_while_its_own_tab_is_shown(multi_sky):
    import panel as pn

    from dashboard.views import Dashboard

    page = Dashboard(state=AppState(multi_sky))
    tabs = page.__panel__()[-1]
    assert isinstance(tabs, pn.Tabs) and "Light curves" in tabs._names and len(tabs) > 4
    for k, name in enumerate(tabs._names):
        tabs.active = k
        assert page.lightcurves.active == (name == "Light curves"), name
