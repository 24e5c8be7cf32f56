"""Export and SAMP controls: write the selection on the server, download it over HTTP, send it to TOPCAT.

An export runs on a worker thread (``core.export.ExportJob``) into the session's export area
(``dashboard.downloads``) while a progress bar follows it and Cancel stops it; the finished file is a
plain link. "Send selection to SAMP" writes a VOTable the same way and broadcasts it; rows selected
in TOPCAT come back as a selection here; clicking a star in the table points Aladin at it. With no
SAMP hub, the panel says so once and tries again only when asked (or after a pause).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from functools import partial

import numpy as np
import panel as pn
import param
from panel.viewable import Viewer

from core import EXPORT_FORMATS, ExportJob, ExportOptions, SampError, SampLink
from dashboard.downloads import ExportArea
from dashboard.state import AppState

log = logging.getLogger(__name__)

FORMAT_LABELS = {"CSV (ECSV header)": "csv", "Parquet": "parquet", "FITS": "fits", "VOTable": "votable"}
COLUMN_LABELS = {"everything": "all", "catalog columns only": "catalog"}
POLL_MS = 250
SAMP_RETRY_S = 30.0  # after "no hub", star clicks do not look for one again before this


class ExportPanel(Viewer):
    """Format and column choice, Export / Cancel, progress, the download link, and SAMP."""

    state = param.ClassSelector(class_=AppState)

    def __init__(self, **params) -> None:
        super().__init__(**params)
        self._area: ExportArea | None = None
        self._job: ExportJob | None = None
        self._job_kind = ""
        self._poller = None
        self._samp: SampLink | None = None
        self._samp_failed_at = -np.inf
        self._samp_note = ""
        self._samp_sends = 0
        self._doc = pn.state.curdoc
        self.format = pn.widgets.Select(label="Export format", options=FORMAT_LABELS, value="csv")
        self.columns = pn.widgets.RadioButtonGroup(label="Columns", options=COLUMN_LABELS, value="all")
        self.export_button = pn.widgets.Button(label="Export selection", color="primary")
        self.export_button.on_click(lambda _: self.start("download"))
        self.samp_button = pn.widgets.Button(label="Send selection to SAMP")
        self.samp_button.on_click(lambda _: self.start("samp"))
        self.cancel_button = pn.widgets.Button(label="Cancel", color="warning", visible=False)
        self.cancel_button.on_click(lambda _: self.cancel())
        self.progress = pn.indicators.Progress(value=0, max=100, visible=False, sizing_mode="stretch_width")
        self.status = pn.pane.HTML("", css_classes=["export-status"], sizing_mode="stretch_width")
        self.samp_status = pn.pane.HTML("", css_classes=["samp-status"], sizing_mode="stretch_width")
        if self._doc is not None and self._doc.session_context is not None:
            self._doc.on_session_destroyed(lambda _ctx: self.close())

    # ----- exports ---------------------------------------------------------------------------------
    @property
    def job(self) -> ExportJob | None:
        return self._job

    def start(self, kind: str) -> ExportJob | None:
        """Start writing the selection (``kind``: ``"download"`` in the chosen format, ``"samp"`` as VOTable)."""
        if self._job is not None and self._job.state == "running":
            return None
        if not self.state.n_selected:
            self.status.object = "Select stars first (lasso, box or a preset)."
            return None
        if kind == "samp":
            try:
                self._link().connect()
            except SampError as exc:
                self._samp_unavailable(exc)
                return None
        fmt = "votable" if kind == "samp" else self.format.value
        options = ExportOptions(format=fmt, columns="all" if kind == "samp" else self.columns.value)
        if self._area is None:
            self._area = ExportArea()
        if kind == "samp":  # a new file per send: a receiver may still be reading the previous one
            self._samp_sends += 1
            name = f"sedscape_samp_{self._samp_sends}{EXPORT_FORMATS[fmt]}"
        else:
            name = f"sedscape_selection{EXPORT_FORMATS[fmt]}"
        self._job = ExportJob(self.state.prepare_export(options), self._area.path / name, total=self.state.n_selected)
        self._job.start()
        self._job_kind = kind
        self.progress.value, self.progress.visible, self.cancel_button.visible = 0, True, True
        self.export_button.disabled = self.samp_button.disabled = True
        self.status.object = f"Writing {self._job.total:,} stars ({fmt})..."
        if self._doc is not None and self._doc.session_context is not None:
            self._poller = pn.state.add_periodic_callback(self.poll, period=POLL_MS)
        return self._job

    def cancel(self) -> None:
        if self._job is not None:
            self._job.cancel()

    def poll(self) -> None:
        """Follow the running job (a periodic callback in a served page; tests call it directly)."""
        job = self._job
        if job is None:
            return
        self.progress.value = int(100 * job.fraction)
        if job.state == "running":
            self.status.object = f"Writing {job.rows_done:,} of {job.total:,} stars..."
            return
        if self._poller is not None:
            self._poller.stop()
            self._poller = None
        self.progress.visible = self.cancel_button.visible = False
        self.export_button.disabled = self.samp_button.disabled = False
        if job.state == "cancelled":
            self.status.object = "Export cancelled."
        elif job.state == "failed":
            self.status.object = f"Export failed: {job.error}"
        elif self._job_kind == "samp":
            self._broadcast(job)
        else:
            self.status.object = self._link_html(job)

    def _link_html(self, job: ExportJob) -> str:
        name = job.path.name
        size = job.path.stat().st_size / 1e6
        return (f"<a class='export-download' href='{self._area.url(name)}' download='{name}'>Download {name}</a> "
                f"({job.total:,} stars, {size:,.1f} MB)")  # fmt: skip

    # ----- SAMP ------------------------------------------------------------------------------------
    def _link(self) -> SampLink:
        if self._samp is None:
            self._samp = SampLink(on_select=self._on_samp_select)
        return self._samp

    def _samp_unavailable(self, exc: Exception) -> None:
        self._samp_failed_at = time.monotonic()
        note = f"SAMP: {exc}"
        if note != self._samp_note:  # say it once, not on every click
            self._samp_note = self.samp_status.object = note

    def _samp_ok(self, text: str) -> None:
        self._samp_note = ""
        self.samp_status.object = text

    def _broadcast(self, job: ExportJob) -> None:
        ids = np.asarray(job.task.source["obj_id"].array.take(job.task.index), dtype=np.int64)
        try:
            recipients = self._link().send_table(job.path, ids, name=f"sedscape selection ({job.total:,} stars)")
        except SampError as exc:
            self.status.object = ""
            self._samp_unavailable(exc)
            return
        self.status.object = ""
        if recipients:
            self._samp_ok(f"Sent {job.total:,} stars to {len(recipients)} SAMP client(s); rows selected there "
                          "select the stars here.")  # fmt: skip
        else:
            self._samp_ok("The SAMP hub is running but no application accepts tables (start TOPCAT).")

    def point_at(self, ra: float, dec: float) -> bool:
        """Send ``coord.pointAt.sky`` (Aladin centres on the star); quiet when there is no hub."""
        connected = self._samp is not None and self._samp.connected
        if not connected and time.monotonic() - self._samp_failed_at < SAMP_RETRY_S:
            return False
        try:
            self._link().point_at(ra, dec)
        except SampError as exc:
            self._samp_unavailable(exc)
            return False
        self._samp_ok(f"Pointed SAMP sky viewers at RA {ra:.5f}, Dec {dec:+.5f}.")
        return True

    def on_table_click(self, table: pn.widgets.Tabulator) -> Callable:
        """A Tabulator ``on_click`` callback pointing sky viewers at the clicked star."""

        def clicked(event) -> None:
            row = table.value.iloc[event.row] if event.row is not None and event.row < len(table.value) else None
            if row is not None and "ra" in row and "dec" in row:
                self.point_at(float(row["ra"]), float(row["dec"]))

        return clicked

    def _on_samp_select(self, table_id: str, obj_ids: np.ndarray) -> None:
        """Rows selected in another application (called on the SAMP listener thread)."""
        apply = partial(self._select_ids, table_id, obj_ids)
        doc = self._doc
        if doc is not None and doc.session_context is not None:
            from panel.io.state import set_curdoc

            def in_session() -> None:
                with set_curdoc(doc):
                    apply()

            doc.add_next_tick_callback(in_session)
        else:
            apply()

    def _select_ids(self, table_id: str, obj_ids: np.ndarray) -> None:
        n = self.state.select_obj_ids(obj_ids, "samp", table_id=table_id)
        self._samp_ok(f"SAMP: {n:,} stars selected in another application.")

    def close(self) -> threading.Thread:
        """Stop a running export, leave SAMP and delete this session's export files. The waiting happens on
        a thread (returned), not in the server's event loop that ends the session."""
        job, samp, area = self._job, self._samp, self._area
        if job is not None:
            job.cancel()

        def cleanup() -> None:
            if job is not None:
                job.wait(60)
            if samp is not None:
                samp.close()
            if area is not None:
                area.close()

        thread = threading.Thread(target=cleanup, name="sedscape-export-cleanup", daemon=True)
        thread.start()
        return thread

    def __panel__(self):
        return pn.Column(
            self.format, self.columns, pn.Row(self.export_button, self.cancel_button), self.progress, self.status,
            self.samp_button, self.samp_status, sizing_mode="stretch_width",
        )  # fmt: skip
