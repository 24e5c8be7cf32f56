"""TapClient over real HTTP (pyvo + requests) against the loopback archive, with injected faults."""

from __future__ import annotations

import time

import pandas as pd
import pytest

from core.archives.config import archive_config
from core.archives.tap import TapClient
from core.errors import ArchiveError, OfflineError

BOX = ("SELECT objID, raMean, decMean, gMeanPSFMag FROM dbo.MeanObjectView WHERE raMean >= 205.4 AND "
       "raMean < 205.7 AND decMean >= 28.2 AND decMean < 28.5")


@pytest.fixture
def tap():
    """Make TapClients for a service; all are closed after the test."""
    made = []

    def make(service="ps1", cache=False, **overrides):
        made.append(TapClient(archive_config(service, **overrides), cache=cache))
        return made[-1]

    yield make
    for client in made:
        client.close()


def _expected_ids():
    from archive_replay import source_table

    t = source_table("ps1dr2_meanobjectview.xml")
    ra, dec = t["raMean"], t["decMean"]
    keep = (ra >= 205.4) & (ra < 205.7) & (dec >= 28.2) & (dec < 28.5)
    return sorted(int(x) for x in t["objID"][keep])


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_query_returns_the_rows_the_service_sent(archive, mode, tap):
    df = tap().query(BOX, mode=mode)
    assert sorted(df["objID"].tolist()) == _expected_ids()
    assert list(df.columns) == ["objID", "raMean", "decMean", "gMeanPSFMag"]
    if mode == "async":  # job created (303), run, polled, result fetched, deleted
        assert archive.count("/ps1/async", "POST") >= 2
        assert archive.count("/results/result", "GET") == 1
        assert archive.count("/ps1/async/", "DELETE") == 1
        assert archive.jobs == {}


def test_upload_reaches_the_server_as_a_votable(archive, m3_catalog, tap):
    from core.archives.simbad import simbad_adql

    cat = m3_catalog[["obj_id", "ra", "dec"]].head(7)
    tap("simbad").query(simbad_adql(), uploads={"cat": cat})
    sent = [r for r in archive.requests if r.path == "/simbad/sync"][0]
    assert sent.params["UPLOAD"] == "cat,param:cat"
    got = sent.uploads["cat"]
    assert list(got["obj_id"]) == cat["obj_id"].tolist()
    assert list(got["ra"]) == pytest.approx(cat["ra"].tolist(), abs=1e-12)


def test_5xx_is_retried_then_succeeds(archive, tap):
    archive.inject("/ps1/sync", "status:503", times=2)
    df = tap().query(BOX)
    assert sorted(df["objID"].tolist()) == _expected_ids()
    assert archive.count("/ps1/sync") == 3


def test_5xx_forever_gives_up_with_a_clear_error(archive, tap):
    archive.inject("/ps1/sync", "status:500", times=99)
    with pytest.raises(ArchiveError) as exc:
        tap().query(BOX)
    assert archive.count("/ps1/sync") == 3  # 1 + SEDSCAPE_ARCHIVE_RETRIES=2
    text = str(exc.value)
    assert "MAST PS1 DR2 TAP" in text and "500" in text and "dbo.MeanObjectView" in text


def test_4xx_is_not_retried_and_says_so(archive, tap):
    archive.inject("/ps1/sync", "status:400")
    with pytest.raises(ArchiveError) as exc:
        tap().query(BOX)
    assert archive.count("/ps1/sync") == 1
    assert "not retried" in str(exc.value)


def test_rejected_async_job_reports_the_service_message(archive, tap):
    bad = "SELECT x FROM dbo.NoSuchTable WHERE raMean >= 1 AND raMean < 2 AND decMean >= 1 AND decMean < 2"
    with pytest.raises(ArchiveError) as exc:
        tap().query(bad, mode="async")
    assert "unknown table" in str(exc.value) and "rejected" in str(exc.value)


def test_truncated_votable_is_an_error_and_is_not_cached(archive, tap):
    archive.inject("/ps1/sync", "truncate")
    client = tap(cache=True)
    with pytest.raises(ArchiveError) as exc:
        client.query(BOX)
    assert "not a complete VOTable" in str(exc.value)
    df = client.query(BOX)  # the next try asks the server again and gets the full answer
    assert sorted(df["objID"].tolist()) == _expected_ids()
    assert archive.count("/ps1/sync") == 2


def test_html_maintenance_page_is_reported(archive, tap):
    archive.inject("/ps1/sync", "html")
    with pytest.raises(ArchiveError) as exc:
        tap().query(BOX)
    assert "HTML page" in str(exc.value) and "Scheduled Maintenance" in str(exc.value)


def test_empty_body_is_an_error(archive, tap):
    archive.inject("/ps1/sync", "empty")
    with pytest.raises(ArchiveError, match="MAST PS1 DR2 TAP"):
        tap().query(BOX)


def test_empty_result_is_an_empty_frame_with_columns(archive, tap):
    q = BOX.replace("28.2", "-60.0").replace("28.5", "-59.9")
    df = tap().query(q)
    assert len(df) == 0 and "objID" in df.columns


def test_read_timeout_is_retried_then_reported(archive, monkeypatch, tap):
    monkeypatch.setenv("SEDSCAPE_ARCHIVE_READ_TIMEOUT", "0.3")
    monkeypatch.setenv("SEDSCAPE_ARCHIVE_RETRIES", "1")
    archive.inject("/ps1/sync", "delay:1.0", times=5)
    t0 = time.monotonic()
    with pytest.raises(ArchiveError) as exc:
        tap().query(BOX)
    assert time.monotonic() - t0 < 3
    assert "no answer within 0.3 s" in str(exc.value) and "2 attempts" in str(exc.value)


def test_cache_answers_the_second_query_without_the_network(archive, tap):
    client = tap(cache=True)
    first = client.query(BOX)
    second = tap(cache=True).query(BOX)
    pd.testing.assert_frame_equal(first, second)
    assert archive.count("/ps1/sync") == 1


def test_connection_refused_is_fast_and_marks_offline(closed_port, monkeypatch, tap):
    from core.archives.http import reset_offline

    reset_offline()
    monkeypatch.setenv("SEDSCAPE_PS1_TAP_URL", f"http://127.0.0.1:{closed_port}/ps1")
    client = tap(retries=3, backoff_s=1.0)
    t0 = time.monotonic()
    with pytest.raises(OfflineError) as exc:
        client.query(BOX)
    assert time.monotonic() - t0 < 2
    assert client.session.n_requests == 1  # no retry loop on a refused connection
    assert "cannot connect" in str(exc.value) and "network" in str(exc.value)
    with pytest.raises(OfflineError, match="marked offline"):
        client.query(BOX, mode="async")
    assert client.session.n_requests == 1  # the second call never touched the network
    reset_offline()


def test_a_job_that_never_finishes_is_aborted_after_the_job_timeout(archive, monkeypatch, tap):
    monkeypatch.setenv("SEDSCAPE_ARCHIVE_JOB_TIMEOUT", "0.6")
    archive.hold_jobs = True
    t0 = time.monotonic()
    with pytest.raises(ArchiveError, match="still EXECUTING after 0.6 s; it was aborted"):
        tap().query(BOX, mode="async")
    assert time.monotonic() - t0 < 3
    aborts = [r for r in archive.requests if r.path.endswith("/phase") and r.params.get("PHASE") == "ABORT"]
    assert len(aborts) == 1
