"""SAMP (IVOA Simple Application Messaging Protocol): send tables and positions to TOPCAT, Aladin or
DS9, and hear back which rows the user selected there.

Built on ``pyvo.samp`` (``astropy.samp`` is deprecated since astropy 8 and points there). Tables go
out as VOTable files (``table.load.votable``) named by a ``table-id``; sedscape remembers, for each
table it sent, the obj_id of every row, so a ``table.select.rowList`` coming back (rows picked in
TOPCAT) becomes a set of obj_ids. ``coord.pointAt.sky`` asks Aladin to centre on a star.

The hub is found as SAMP says (the ``SAMP_HUB`` environment variable, else ``~/.samp``) or from an
explicit lockfile URL. No hub is noticed at once (a missing lockfile, a refused connection), never
by waiting; every client here listens on 127.0.0.1 and never probes the internet (pyvo would
otherwise try to reach google.com to choose a host name).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np

from core.errors import SampError

log = logging.getLogger(__name__)

NO_HUB_HINT = "start TOPCAT or Aladin (each runs a SAMP hub) and try again"
CONNECT_TIMEOUT_S = 2.0


def hub_lockfile(hub_url: str | None = None) -> str:
    """The lockfile of the hub to use: ``hub_url`` (a path, ``file://`` URL or ``std-lockurl:`` value),
    else the ``SAMP_HUB`` environment variable, else ``~/.samp``."""
    value = hub_url or os.environ.get("SAMP_HUB") or str(Path.home() / ".samp")
    value = value.removeprefix("std-lockurl:")
    if value.startswith("file:"):
        value = urlsplit(value).path
    return value


def find_hub(hub_url: str | None = None) -> dict[str, str]:
    """The running hub's lockfile contents; :class:`SampError` at once when there is none."""
    from pyvo.samp.lockfile_helpers import read_lockfile

    lockfile = hub_lockfile(hub_url)
    local = "://" not in lockfile
    if local and not Path(lockfile).is_file():
        raise SampError(f"no SAMP hub is running (no lockfile {lockfile}); {NO_HUB_HINT}")
    try:
        params = read_lockfile(lockfile)
    except OSError as exc:
        raise SampError(f"cannot read the SAMP lockfile {lockfile} ({exc}); {NO_HUB_HINT}") from exc
    url = params.get("samp.hub.xmlrpc.url", "").replace("\\", "")
    if not url or "samp.secret" not in params:
        raise SampError(f"{lockfile} is not a SAMP lockfile (no samp.hub.xmlrpc.url / samp.secret)")
    parts = urlsplit(url)
    try:  # a stale lockfile: nothing listens there any more
        with socket.create_connection((parts.hostname, parts.port or 80), timeout=CONNECT_TIMEOUT_S):
            pass
    except OSError:
        raise SampError(f"no SAMP hub is running (the hub in {lockfile} at {url} does not answer); "
                        f"{NO_HUB_HINT}") from None  # fmt: skip
    return params


class SampLink:
    """sedscape registered with a SAMP hub: sends tables and positions, receives row selections.

    ``on_select(table_id, obj_ids)`` is called (on the SAMP listener's thread) when another
    application selects rows of a table that this link sent.
    """

    def __init__(
        self,
        name: str = "sedscape",
        hub_url: str | None = None,
        on_select: Callable[[str, np.ndarray], None] | None = None,
    ) -> None:
        self.name, self.hub_url, self.on_select = name, hub_url, on_select
        self._client: Any = None
        self._tables: dict[str, np.ndarray] = {}  # table-id -> obj_id of each row, in table order
        self._lock = threading.Lock()

    @property
    def connected(self) -> bool:
        return self._client is not None and self._client.is_connected

    def connect(self) -> None:
        """Register with the hub (idempotent); :class:`SampError` when there is no hub."""
        from pyvo.samp import SAMPIntegratedClient, conf

        with self._lock:
            if self.connected:
                return
            params = find_hub(self.hub_url)
            with conf.set_temp("use_internet", False):
                client = SAMPIntegratedClient(
                    name=self.name, description="sedscape: latent spaces and anomalies of stellar photometry",
                    addr="127.0.0.1",
                )  # fmt: skip
                try:
                    client.connect(hub_params=params)
                except Exception as exc:  # pyvo raises SAMPHubError, OSError or XML-RPC faults
                    raise SampError(f"cannot register with the SAMP hub at {params['samp.hub.xmlrpc.url']}: "
                                    f"{exc}; {NO_HUB_HINT}") from exc  # fmt: skip
            client.bind_receive_notification("table.select.rowList", self._on_row_list_notification)
            client.bind_receive_call("table.select.rowList", self._on_row_list_call)
            self._client = client
            log.info("registered with the SAMP hub at %s", params["samp.hub.xmlrpc.url"])

    def close(self) -> None:
        with self._lock:
            client, self._client = self._client, None
        if client is not None and client.is_connected:
            try:
                client.disconnect()
            except Exception as exc:  # the hub may have gone first
                log.debug("SAMP disconnect: %s", exc)

    # ----- sending ---------------------------------------------------------------------------------
    def _notify_all(self, mtype: str, params: dict[str, str]) -> list[str]:
        import warnings

        from pyvo.samp import SAMPWarning

        self.connect()
        try:
            with warnings.catch_warnings():  # "No client was able to receive this message": we say so ourselves
                warnings.simplefilter("ignore", SAMPWarning)
                return list(self._client.notify_all({"samp.mtype": mtype, "samp.params": params}))
        except Exception as exc:  # the hub went away since connecting
            self.close()
            raise SampError(f"the SAMP hub refused {mtype}: {exc}; {NO_HUB_HINT}") from exc

    def subscribers(self, mtype: str) -> list[str]:
        """Names of the clients that accept ``mtype``."""
        self.connect()
        ids = self._client.get_subscribed_clients(mtype)
        return [self._client.get_metadata(i).get("samp.name", i) for i in ids]

    def send_table(self, path: str | Path, obj_ids: np.ndarray | None = None, *, name: str = "sedscape selection",
                   table_id: str | None = None) -> list[str]:  # fmt: skip
        """Broadcast the VOTable ``path`` (``table.load.votable``); ``obj_ids`` (one per row) let a later
        ``table.select.rowList`` for it be turned back into stars. Returns the ids of the recipients.

        The file must stay in place until the recipients have read it (they load it asynchronously).
        """
        table_id = table_id or f"sedscape-{uuid.uuid4().hex[:12]}"
        if obj_ids is not None:
            self._tables[table_id] = np.asarray(obj_ids, dtype=np.int64)
        url = Path(path).resolve().as_uri()
        return self._notify_all("table.load.votable", {"url": url, "table-id": table_id, "name": name})

    def send_table_and_wait(self, path: str | Path, *, name: str, timeout_s: int = 30) -> dict[str, str]:
        """Send ``path`` to each client that accepts VOTables and wait for each one's reply (for a file that
        is removed afterwards). Returns ``{client name: "ok" or the error}``."""
        self.connect()
        message = {"samp.mtype": "table.load.votable",
                   "samp.params": {"url": Path(path).resolve().as_uri(), "name": name,
                                   "table-id": f"sedscape-{uuid.uuid4().hex[:12]}"}}  # fmt: skip
        results = {}
        for client_id in self._client.get_subscribed_clients("table.load.votable"):
            who = self._client.get_metadata(client_id).get("samp.name", client_id)
            try:
                reply = self._client.call_and_wait(client_id, message, str(timeout_s))
                status = reply.get("samp.status", "")
                results[who] = "ok" if status.endswith("ok") else str(reply.get("samp.error", status))
            except Exception as exc:  # one client failing must not stop the others
                results[who] = str(exc)
        return results

    def point_at(self, ra: float, dec: float) -> list[str]:
        """``coord.pointAt.sky``: ask sky viewers (Aladin) to centre on ``(ra, dec)`` degrees."""
        return self._notify_all("coord.pointAt.sky", {"ra": repr(float(ra)), "dec": repr(float(dec))})

    # ----- receiving -------------------------------------------------------------------------------
    def obj_ids_for_rows(self, table_id: str, rows: list[Any]) -> np.ndarray | None:
        """The obj_ids of rows of a table this link sent (None for a table it does not know)."""
        ids = self._tables.get(table_id)
        if ids is None:
            return None
        idx = np.asarray([int(r) for r in rows], dtype=np.int64)
        idx = idx[(idx >= 0) & (idx < len(ids))]
        return ids[idx]

    def _row_list(self, params: dict[str, Any]) -> None:
        table_id = params.get("table-id", "")
        obj_ids = self.obj_ids_for_rows(table_id, list(params.get("row-list", [])))
        if obj_ids is None:
            log.info("SAMP row selection for table %r, which sedscape did not send: ignored", table_id)
            return
        if self.on_select is not None:
            self.on_select(table_id, obj_ids)

    def _on_row_list_notification(self, private_key, sender_id, mtype, params, extra) -> None:
        self._row_list(params)

    def _on_row_list_call(self, private_key, sender_id, msg_id, mtype, params, extra) -> None:
        try:
            self._row_list(params)
            self._client.reply(msg_id, {"samp.status": "samp.ok", "samp.result": {}})
        except Exception as exc:
            self._client.reply(msg_id, {"samp.status": "samp.error", "samp.error": {"samp.errortxt": str(exc)}})


def read_any_table(path: str | Path) -> Any:
    """Any catalog file as a DataFrame: Parquet, FITS, VOTable, ECSV or plain CSV (by content)."""
    import pandas as pd

    from core.errors import CatalogError
    from core.export.read import read_export, sniff_format

    path = Path(path)
    if not path.is_file():
        raise CatalogError(f"{path}: no such file")
    fmt = sniff_format(path)
    with open(path, "rb") as fh:
        ecsv = fh.read(7) == b"# %ECSV"
    if fmt != "csv" or ecsv:
        return read_export(path)[0]
    try:
        return pd.read_csv(path, comment="#")
    except Exception as exc:  # pandas raises several parser errors
        raise CatalogError(f"{path}: cannot read as CSV ({exc})") from exc
