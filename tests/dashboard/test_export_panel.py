"""The export panel and SAMP without a browser: the dashboard's export is the CLI's, the file is written on
a worker thread and linked for download, and SAMP round trips select stars through the one AppState."""

import time
import types

import numpy as np
import panel as pn
import pytest

from core.cli import main
from core.export import ExportOptions, read_export
from core.selection import view_coordinate
from dashboard.downloads import ROUTE
from dashboard.export_view import ExportPanel
from dashboard.state import AppState
from tests._samp import samp_hub  # noqa: F401  (fixture)


@pytest.fixture
def state(sky):
    return AppState(sky)


@pytest.fixture
def panel(state):
    p = ExportPanel(state=state)
    yield p
    p.close().join(60)


def test_view_coordinates_in_core_are_the_plotted_ones_bit_for_bit(sky):
    for name in sky.frame.columns:
        got = view_coordinate(sky.df, name, sky.bands)
        np.testing.assert_array_equal(got, sky.frame[name].to_numpy(), err_msg=name)


SELECTIONS = {
    "lasso on latent": lambda st: st.select_polygon("latent", np.array([[-0.3, -1.0], [0.3, -0.8], [0.1, 0.4]])),
    "box on the reconstructed CMD": lambda st: (setattr(st, "show", "reconstructed"),
                                               st.select_box("cmd", (0.5, 16.0, 2.0, 19.0))),  # fmt: skip
    "box on the H-R diagram": lambda st: st.select_box("hr", (0.0, -2.0, 2.5, 12.0)),
    "anomalies at 0.1 mag": lambda st: (setattr(st, "threshold", 0.1), st.select_anomalies()),
    "SIMBAD WD": lambda st: st.select_category("WD"),
}


@pytest.mark.parametrize("how", SELECTIONS)
def test_cli_export_of_the_recorded_geometry_gives_the_dashboards_rows(state, sky, tmp_path, how):
    SELECTIONS[how](state)
    assert state.n_selected > 0
    dashboard_file = state.prepare_export(ExportOptions("csv"))().write(tmp_path / "dash.csv")
    assert main(["export", str(sky.catalog_path), "--selection", str(dashboard_file),
                 "--out", str(tmp_path / "cli.csv")]) == 0  # fmt: skip
    dash, dash_prov = read_export(dashboard_file)
    cli, cli_prov = read_export(tmp_path / "cli.csv")
    assert dash["obj_id"].tolist() == sorted(dash["obj_id"].tolist(), key=list(sky.df["obj_id"]).index)
    assert len(dash) == state.n_selected
    assert dash.equals(cli)  # same rows, columns, values and anomaly flags at the recorded threshold
    assert cli_prov["selection"] == dash_prov["selection"] and cli_prov["threshold"] == dash_prov["threshold"]


def test_export_is_written_on_a_worker_and_linked_for_download(panel, state, tmp_path):
    assert panel.start("download") is None and "Select stars first" in panel.status.object
    n = state.select_anomalies()
    panel.format.value, panel.columns.value = "parquet", "catalog"
    job = panel.start("download")
    assert panel.export_button.disabled and panel.progress.visible and panel.cancel_button.visible
    assert job.wait(60) == "done"
    panel.poll()
    assert not panel.export_button.disabled and not panel.progress.visible
    assert f"/{ROUTE}/{panel._area.token}/sedscape_selection.parquet" in panel.status.object
    back, prov = read_export(job.path)
    assert len(back) == n == prov["n_selected"] and "latent_x" not in back and prov["columns"] == "catalog"
    area = panel._area.path
    panel.close().join(60)
    assert not area.exists()  # the session's files go with the session


def test_send_to_samp_and_select_back_from_the_other_application(panel, state, samp_hub):  # noqa: F811
    _, receiver = samp_hub
    state.select_polygon("latent", np.array([[-0.3, -1.0], [0.3, -0.8], [0.1, 0.4]]))
    selected = state.sky.df["obj_id"].to_numpy()[state.selection]
    job = panel.start("samp")
    assert job.wait(60) == "done"
    panel.poll()
    got = receiver.wait_for("table.load.votable")
    assert got["table"]["obj_id"].tolist() == selected.tolist()
    assert "Sent" in panel.samp_status.object

    receiver.select_rows(got["table-id"], got["url"], [0, 3, 5])  # the user picks three rows in TOPCAT
    deadline = time.monotonic() + 10
    while state.n_selected != 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert state.sky.df["obj_id"].to_numpy()[state.selection].tolist() == sorted(selected[[0, 3, 5]].tolist())
    assert state.geometry["kind"] == "obj_ids" and state.geometry["source"] == "samp"

    # clicking a star in the table points sky viewers at it
    table = pn.widgets.Tabulator(state.selected_table())
    panel.on_table_click(table)(types.SimpleNamespace(row=1))
    pos = receiver.wait_for("coord.pointAt.sky")
    row = table.value.iloc[1]
    assert (float(pos["ra"]), float(pos["dec"])) == (float(row["ra"]), float(row["dec"]))


def test_without_a_hub_the_panel_says_so_once_and_does_not_keep_trying(panel, state, tmp_path, monkeypatch):
    monkeypatch.setenv("SAMP_HUB", f"std-lockurl:{(tmp_path / 'none').as_uri()}")
    state.select_anomalies()
    t0 = time.perf_counter()
    assert panel.start("samp") is None
    note = panel.samp_status.object
    assert "no SAMP hub is running" in note and "TOPCAT" in note
    assert not panel.point_at(10.0, 20.0)  # within the retry pause: no new attempt, no new message
    panel.samp_status.object = "(cleared by the user)"
    assert panel.start("samp") is None and panel.samp_status.object == "(cleared by the user)"
    assert time.perf_counter() - t0 < 2.0
