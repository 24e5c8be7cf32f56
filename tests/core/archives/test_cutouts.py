"""PS1 colour cutouts over loopback: file lookup + fitscut, cache, placeholders, offline, concurrency."""

from __future__ import annotations

import io
import time
from urllib.parse import parse_qs, urlsplit

import pytest
from archive_replay import DATA
from PIL import Image

from core.archives.config import archive_config
from core.archives.cutouts import CutoutClient, fetch_cutout, fetch_cutouts, parse_filenames
from core.errors import ConfigError

M3 = (205.548417, 28.377278)


def test_cutout_is_the_service_jpeg_with_the_documented_request(archive):
    cut = fetch_cutout(*M3)
    assert not cut.placeholder and cut.data == (DATA / "fitscut_m3_gri.jpg").read_bytes()
    q = parse_qs(urlsplit(cut.url).query)
    assert q["red"][0].endswith(".stk.i.unconv.fits") and q["green"][0].endswith(".stk.r.unconv.fits")
    assert q["blue"][0].endswith(".stk.g.unconv.fits")
    assert q["size"] == ["240"] and q["format"] == ["jpg"] and float(q["ra"][0]) == pytest.approx(M3[0])
    lookup = [r for r in archive.requests if r.path.endswith("ps1filenames.py")][0]
    assert lookup.params["FILTERS"] == "gri" and float(lookup.params["DEC"]) == pytest.approx(M3[1])


def test_cache_is_keyed_by_the_arguments(archive):
    fetch_cutout(*M3)
    n = len(archive.requests)
    again = fetch_cutout(*M3)
    assert len(archive.requests) == n and not again.placeholder
    fetch_cutout(*M3, size=120)
    assert len(archive.requests) == n + 2
    fetch_cutout(*M3, cache=False)
    assert len(archive.requests) == n + 4


def test_south_of_ps1_is_a_placeholder_without_a_request(archive):
    cut = fetch_cutout(10.0, -45.0, size=100)
    assert cut.placeholder and "outside PS1 coverage" in cut.message
    assert Image.open(io.BytesIO(cut.data)).size == (100, 100)
    assert archive.requests == []


def test_offline_is_fast_and_later_calls_do_not_touch_the_network(closed_port, monkeypatch):
    from core.archives.http import reset_offline

    reset_offline()
    monkeypatch.setenv("SEDSCAPE_PS1_IMAGE_URL", f"http://127.0.0.1:{closed_port}/images")
    client = CutoutClient(archive_config("ps1_images", retries=3, backoff_s=1.0))
    t0 = time.monotonic()
    cut = client.fetch(*M3)
    assert time.monotonic() - t0 < 2
    assert cut.placeholder and "offline" in cut.message and cut.data[:2] == b"\xff\xd8"
    assert client.session.n_requests == 1
    t0 = time.monotonic()
    again = client.fetch(M3[0] + 0.01, M3[1])
    assert time.monotonic() - t0 < 0.5 and again.placeholder and "marked offline" in again.message
    assert client.session.n_requests == 1
    client.close()
    reset_offline()


def test_service_errors_become_placeholders(archive):
    archive.inject("fitscut.cgi", "status:500", times=9)
    cut = fetch_cutout(*M3, cache=False)
    assert cut.placeholder and "500" in cut.message
    archive.faults.clear()
    archive.inject("ps1filenames.py", "html")
    cut = fetch_cutout(M3[0], M3[1] + 0.01, cache=False)
    assert cut.placeholder and "HTML" in cut.message


def test_batches_respect_the_concurrency_limit_and_keep_order(archive):
    archive.inject("fitscut.cgi", "delay:0.2", times=99)
    coords = [(M3[0] + k * 0.01, M3[1]) for k in range(6)]
    cuts = fetch_cutouts(coords, max_workers=2)
    assert [c.ra for c in cuts] == [c[0] for c in coords]
    assert not any(c.placeholder for c in cuts)
    assert archive.max_in_flight == 2


def test_bad_arguments_are_refused():
    with pytest.raises(ConfigError, match="filters"):
        fetch_cutout(*M3, filters="gu")
    with pytest.raises(ConfigError, match="size"):
        fetch_cutout(*M3, size=4)
    with pytest.raises(ConfigError, match="max_workers"):
        fetch_cutouts([M3], max_workers=0)


def test_parse_filenames_reads_the_service_table():
    files = parse_filenames((DATA / "ps1filenames_m3.txt").read_text())
    assert set(files) == {"g", "r", "i"} and files["g"].startswith("/rings.v3.skycell/1972/071/")
    with pytest.raises(ValueError):
        parse_filenames("<html>oops</html>")


def test_cli_fetch_cutout(archive, tmp_path, cli, capsys):
    out = tmp_path / "m3.jpg"
    assert cli(["fetch", "cutout", str(M3[0]), str(M3[1]), "--out", str(out)]) == 0
    assert out.read_bytes()[:2] == b"\xff\xd8"
    assert cli(["fetch", "cutout", "10", "-45", "--out", str(tmp_path / "s.jpg")]) == 1
    assert "outside PS1 coverage" in capsys.readouterr().out
