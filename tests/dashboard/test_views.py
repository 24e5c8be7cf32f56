"""Viewers compose without a server: presets drive the state, the table follows the selection."""

import threading

import numpy as np
import panel as pn
import pytest

from dashboard import views
from dashboard.state import AppState


@pytest.fixture
def state(sky):
    return AppState(sky)


def test_preset_widget_selects_and_resets_itself(state):
    controls = views.Controls(state=state)
    controls._preset.value = "field: all clusters"
    assert state.geometry["preset"] == "field" and len(state.geometry["fields"]) == 6
    controls._preset.value = views.PRESET_ANOMALIES
    assert state.n_selected == int(state.anomaly_mask().sum())
    assert controls._preset.value == views.PRESET_NONE
    controls._preset.value = "SIMBAD: WD"
    assert state.geometry == {"kind": "preset", "preset": "simbad", "column": "simbad_category", "value": "WD"}


def test_table_follows_selection_with_text_ids_and_a_cap(state, monkeypatch):
    summary = views.SelectionSummary(state=state)
    assert summary.table.value.empty
    monkeypatch.setattr(views, "TABLE_MAX", 7)
    state.select_anomalies()
    table = summary.table.value
    assert len(table) == 7 and table["obj_id"].map(type).eq(str).all()
    top = state.selected_table()
    assert table["obj_id"].tolist() == top["obj_id"].astype(str).head(7).tolist()


def test_summary_panes_persist_and_the_table_keeps_its_columns(state):
    """Selections change pane contents, never the panes or the table's schema (which would make the
    browser rebuild the table and lay the page out again)."""
    summary = views.SelectionSummary(state=state)
    text, table = summary.text, summary.table
    empty = table.value
    state.select_anomalies()
    assert summary.text is text and summary.table is table
    assert f"{state.n_selected:,}</span>" in text.object
    assert list(table.value.columns) == list(empty.columns)
    assert table.value.dtypes.astype(str).tolist() == empty.dtypes.astype(str).tolist()


def test_whole_page_renders_and_warm_up_builds_into_its_own_document(sky):
    state = AppState(sky)
    page = views.Dashboard(state=state)
    root = page.__panel__().get_root()
    assert root is not None and set(page.views) == {"latent", "cmd", "cc1", "cc2", "hr"}
    before = pn.state.curdoc
    warm = threading.Thread(target=views.warm_up_page, args=(sky,))  # as at server start
    warm.start()
    warm.join()
    assert pn.state.curdoc is before and state.selection is None


def test_error_page_shows_the_problem():
    page = views.error_page(ValueError("catalog /x.parquet: no such file"))
    alert = next(o for o in page.objects if isinstance(o, pn.pane.Alert))
    assert "/x.parquet" in alert.object


def test_lasso_stream_callback_selects_on_its_view(state):
    view = views.ScatterView(state=state, view="cc1")
    view._on_lasso(geometry=np.array([[0.0, 0.0], [3.0, 0.0], [3.0, 3.0]]))
    assert state.geometry["view"] == "cc1" and state.geometry["x"] == "g_r"
    view._on_lasso(geometry=None)  # a cleared lasso keeps the selection
    assert state.geometry["view"] == "cc1"


def test_category_table_counts_labelled_stars_only(state, sky):
    summary = views.SelectionSummary(state=state)
    state.select_category("RGB")
    text = summary.categories.object
    n_rgb = int((sky.df["simbad_category"] == "RGB").sum())
    assert f"| RGB | {n_rgb:,} | 100.0% |" in text and "(none)" not in text


def test_cutouts_fetch_only_once_their_tab_is_shown(state, monkeypatch):
    import core.archives
    import core.archives.cutouts as cutouts

    calls = []

    def fake_fetch(coords, **kwargs):
        calls.append(list(coords))
        return [cutouts.Cutout(b"", True, "offline (test)", "", ra, dec) for ra, dec in calls[-1]]

    monkeypatch.setattr(core.archives, "fetch_cutouts", fake_fetch)  # what `core.fetch_cutouts` resolves to
    layout = views.Cutouts(state=state).__panel__()
    state.select_anomalies()
    assert calls == []  # the tab has not been shown: nothing fetched
    layout.get_root()
    assert len(calls) == 1 and len(calls[0]) == views.N_CUTOUTS
    top = state.most_anomalous(views.N_CUTOUTS)
    assert [c[0] for c in calls[0]] == top["ra"].tolist()  # most anomalous first


def test_hover_layer_holds_the_first_stars_in_view_in_hover_order(state, sky, monkeypatch):
    monkeypatch.setattr(views, "INSPECT_MAX", 50)
    monkeypatch.setattr(views, "HOVER_CHUNK", 40)  # many chunks, as in a survey-sized catalog
    view = views.ScatterView(state=state, view="latent")
    xs, ys = sky.frame["latent_x"].to_numpy(), sky.frame["latent_y"].to_numpy()
    x_range = (float(np.quantile(xs, 0.3)), float(np.quantile(xs, 0.7)))
    y_range = (float(np.quantile(ys, 0.2)), float(np.quantile(ys, 0.9)))
    layer = view._inspect(x_range=x_range, y_range=y_range)
    inside = (xs >= x_range[0]) & (xs <= x_range[1]) & (ys >= y_range[0]) & (ys <= y_range[1])
    expected = sky.hover_order[inside[sky.hover_order]][:50]
    assert len(layer) == 50
    assert layer.dimension_values("obj_id").tolist() == sky.df["obj_id"].iloc[expected].astype(str).tolist()
    np.testing.assert_array_equal(layer.dimension_values("latent_x"), xs[expected])


def test_sed_panel_follows_the_selection(state):
    panel = views.SedPanel(state=state)
    state.select_anomalies()
    assert panel.shown == state.revision
    sed = panel._sed()
    top = state.most_anomalous(views.N_SED)
    assert [p["star"] for p in sed.Path.Observed.data] == top["obj_id"].astype(str).tolist()
