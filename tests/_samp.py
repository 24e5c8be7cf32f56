"""A real SAMP hub on loopback with a private lockfile, and a real second client that records what it gets.

No user's hub is touched: ``SAMP_HUB`` points at the test's own lockfile, and pyvo never probes the
internet (``use_internet`` off).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from pyvo.samp import SAMPHubServer, SAMPIntegratedClient, conf
from pyvo.samp.lockfile_helpers import read_lockfile


class Receiver:
    """A SAMP client (like TOPCAT/Aladin) that loads tables (replying to calls) and records messages."""

    def __init__(self, lockfile: Path) -> None:
        self.messages: list[tuple[str, dict[str, Any]]] = []
        self.arrived = threading.Condition()
        with conf.set_temp("use_internet", False):
            self.client = SAMPIntegratedClient(name="receiver", addr="127.0.0.1")
            self.client.connect(hub_params=read_lockfile(str(lockfile)))
        for mtype in ("table.load.votable", "coord.pointAt.sky"):
            self.client.bind_receive_notification(mtype, self._notification)
            self.client.bind_receive_call(mtype, self._call)

    def _record(self, mtype: str, params: dict[str, Any]) -> None:
        params = dict(params)
        if mtype == "table.load.votable":  # load it now, as TOPCAT does: the sender may remove the file after
            from astropy.io.votable import parse

            params["table"] = parse(urlsplit(params["url"]).path).get_first_table().to_table()
        with self.arrived:
            self.messages.append((mtype, params))
            self.arrived.notify_all()

    def _notification(self, private_key, sender_id, mtype, params, extra) -> None:
        self._record(mtype, params)

    def _call(self, private_key, sender_id, msg_id, mtype, params, extra) -> None:
        self._record(mtype, params)
        self.client.reply(msg_id, {"samp.status": "samp.ok", "samp.result": {}})

    def wait_for(self, mtype: str, timeout: float = 10.0) -> dict[str, Any]:
        """The params of the first message of ``mtype`` (waits for it)."""
        with self.arrived:
            ok = self.arrived.wait_for(lambda: any(m == mtype for m, _ in self.messages), timeout)
        assert ok, f"no {mtype} within {timeout} s; got {[m for m, _ in self.messages]}"
        return next(p for m, p in self.messages if m == mtype)

    def select_rows(self, table_id: str, url: str, rows: list[int]) -> None:
        """What TOPCAT does when the user picks rows: broadcast ``table.select.rowList``."""
        self.client.notify_all({"samp.mtype": "table.select.rowList",
                                "samp.params": {"table-id": table_id, "url": url, "row-list": [str(r) for r in rows]}})  # fmt: skip

    def close(self) -> None:
        self.client.disconnect()


@contextlib.contextmanager
def running_hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A SAMP hub on 127.0.0.1 whose lockfile is ``tmp_path/samp-lock``; ``SAMP_HUB`` points at it."""
    lockfile = tmp_path / "samp-lock"
    monkeypatch.setenv("SAMP_HUB", f"std-lockurl:{lockfile.as_uri()}")
    with conf.set_temp("use_internet", False):
        hub = SAMPHubServer(web_profile=False, lockfile=str(lockfile), addr="127.0.0.1", timeout=0, client_timeout=0)
        hub.start(wait=False)
    try:
        yield lockfile
    finally:
        hub.stop()


@pytest.fixture
def samp_hub(tmp_path, monkeypatch):
    with running_hub(tmp_path, monkeypatch) as lockfile:
        receiver = Receiver(lockfile)
        try:
            yield lockfile, receiver
        finally:
            receiver.close()
