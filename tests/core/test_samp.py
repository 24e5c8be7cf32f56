"""SAMP against a real hub on loopback and a real second client: tables, positions and row selections go
both ways; no hub is noticed at once; ``sedscape samp send`` sends any catalog file."""

import threading
import time

import numpy as np
import pytest

from core.cli import main
from core.errors import SampError
from core.export import ExportOptions, export_rows
from core.samp import SampLink, find_hub
from tests._catalogs import make_catalog
from tests._samp import samp_hub  # noqa: F401  (fixture)


@pytest.fixture
def table(tmp_path):
    df = make_catalog(300, seed=5)
    path = export_rows(df, np.arange(len(df)), tmp_path / "t.vot", columns=list(df.columns), provenance={},
                       options=ExportOptions("votable"))  # fmt: skip
    return df, path


def test_table_and_position_reach_the_other_application(samp_hub, table):  # noqa: F811
    _, receiver = samp_hub
    df, path = table
    link = SampLink()
    try:
        assert len(link.send_table(path, df["obj_id"].to_numpy(), name="my stars", table_id="t-1")) == 1
        got = receiver.wait_for("table.load.votable")
        assert got["table-id"] == "t-1" and got["name"] == "my stars"
        assert got["table"]["obj_id"].tolist() == df["obj_id"].tolist()
        link.point_at(205.5484, 28.3773)
        pos = receiver.wait_for("coord.pointAt.sky")
        assert (float(pos["ra"]), float(pos["dec"])) == (205.5484, 28.3773)
    finally:
        link.close()


def test_rows_selected_elsewhere_come_back_as_obj_ids(samp_hub, table):  # noqa: F811
    _, receiver = samp_hub
    df, path = table
    got, arrived = [], threading.Event()
    link = SampLink(on_select=lambda tid, ids: (got.append((tid, ids)), arrived.set()))
    try:
        link.send_table(path, df["obj_id"].to_numpy(), table_id="t-2")
        url = receiver.wait_for("table.load.votable")["url"]
        receiver.select_rows("not-ours", url, [1])  # a table sedscape did not send: ignored
        receiver.select_rows("t-2", url, [0, 7, 299, 300])  # 300 is past the end: dropped
        assert arrived.wait(10)
        assert got == [("t-2", got[0][1])] and got[0][1].tolist() == df["obj_id"].iloc[[0, 7, 299]].tolist()
    finally:
        link.close()


def test_no_hub_is_noticed_at_once(tmp_path, monkeypatch):
    monkeypatch.setenv("SAMP_HUB", f"std-lockurl:{(tmp_path / 'none').as_uri()}")
    t0 = time.perf_counter()
    with pytest.raises(SampError, match="no SAMP hub is running"):
        SampLink().connect()
    # a stale lockfile: the hub that wrote it is gone and nothing listens on its port
    with __import__("socket").socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    stale = tmp_path / "stale"
    stale.write_text(f"samp.secret=x\nsamp.hub.xmlrpc.url=http://127.0.0.1:{port}/xmlrpc\nsamp.profile.version=1.3\n")
    with pytest.raises(SampError, match="does not answer"):
        find_hub(str(stale))
    assert time.perf_counter() - t0 < 2.0


@pytest.mark.parametrize("fmt", ["parquet", "fits", "votable", "csv"])
def test_cli_sends_any_catalog_file(samp_hub, tmp_path, capsys, fmt):  # noqa: F811
    lockfile, receiver = samp_hub
    df = make_catalog(120, seed=6)
    if fmt == "csv":
        path = tmp_path / "cat.csv"
        df.to_csv(path, index=False)
    else:
        path = export_rows(df, np.arange(len(df)), tmp_path / f"cat.{fmt}", columns=list(df.columns),
                           provenance={}, options=ExportOptions(fmt))  # fmt: skip
    assert main(["samp", "send", str(path), "--hub-url", lockfile.as_uri()]) == 0
    assert f"receiver: loaded {path.name}" in capsys.readouterr().out
    got = receiver.wait_for("table.load.votable")["table"]
    assert got["obj_id"].tolist() == df["obj_id"].tolist()
    np.testing.assert_array_equal(np.asarray(got["g"], float), df["g"].to_numpy(float))


def test_cli_without_a_hub_exits_2_at_once(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SAMP_HUB", f"std-lockurl:{(tmp_path / 'none').as_uri()}")
    (tmp_path / "cat.csv").write_text("obj_id,g\n1,15.0\n")
    t0 = time.perf_counter()
    assert main(["samp", "send", str(tmp_path / "cat.csv")]) == 2
    err = capsys.readouterr().err
    assert "no SAMP hub is running" in err and "TOPCAT" in err and "Traceback" not in err
    assert time.perf_counter() - t0 < 2.0
