"""The loopback archive: a real HTTP server on 127.0.0.1 replaying the files in tests/data/archives."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# Helper modules of this folder (no package: tests/core has no __init__.py); names are unique on purpose.
sys.path.insert(0, str(Path(__file__).parent))
from archive_replay import (  # noqa: E402
    DATA,
    gaia_responder,
    ps1_responder,
    simbad_responder,
    source_table,
    strm_responder,
    truth,
)
from loopback import LoopbackServer  # noqa: E402


@pytest.fixture
def archive(monkeypatch):
    """A running loopback archive; every client's endpoint points at it; fast retry settings."""
    from core.archives.http import reset_offline

    server = LoopbackServer().start()
    server.responders.update({"ps1": ps1_responder, "gaia": gaia_responder, "simbad": simbad_responder,
                              "strm": strm_responder})
    server.files["ps1filenames"] = (DATA / "ps1filenames_m3.txt").read_bytes()
    server.files["fitscut"] = (DATA / "fitscut_m3_gri.jpg").read_bytes()
    monkeypatch.setenv("SEDSCAPE_PS1_TAP_URL", server.url("ps1"))
    monkeypatch.setenv("SEDSCAPE_GAIA_TAP_URL", server.url("gaia"))
    monkeypatch.setenv("SEDSCAPE_SIMBAD_TAP_URL", server.url("simbad"))
    monkeypatch.setenv("SEDSCAPE_PS1_IMAGE_URL", server.url("images"))
    monkeypatch.delenv("SEDSCAPE_PS1_STRM_TAP_URL", raising=False)
    monkeypatch.setenv("SEDSCAPE_ARCHIVE_BACKOFF", "0.01")
    monkeypatch.setenv("SEDSCAPE_ARCHIVE_RETRIES", "2")
    monkeypatch.setenv("SEDSCAPE_ARCHIVE_READ_TIMEOUT", "10")
    reset_offline()
    yield server
    server.stop()
    reset_offline()


@pytest.fixture
def closed_port() -> int:
    """A loopback port with nothing listening (connection refused)."""
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@pytest.fixture
def m3_catalog():
    """The cone objects of the PS1 response file, renamed to the contract (input of cross-matches)."""
    from core.archives.ps1 import to_contract

    t = source_table("ps1dr2_meanobjectview.xml")[: truth()["n_cone"]]
    return to_contract(t.to_pandas())


@pytest.fixture
def cli(monkeypatch):
    """``sedscape`` with only the archive verbs registered (the other verbs import TensorFlow)."""
    import core.cli

    monkeypatch.setattr(core.cli, "VERBS", ("fetch", "crossmatch"))
    return core.cli.main


def pytest_collection_modifyitems(config, items):
    """Warnings are errors in the archive tests (a VOTable or HTTP warning means a format drifted)."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.filterwarnings("error"))
