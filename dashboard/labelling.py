"""Labels in the dashboard: name the current selection or the stars picked in the table, and see label
sets again as presets, as latent colour-bys and (``labels`` column) in exports.

Labels live in the server's :class:`core.LabelStore` (beside the catalog unless ``--args`` or
``SEDSCAPE_LABELS`` say otherwise), shared by every session of the process; each write is one
committed SQLite transaction, so a label survives the server being killed. Sessions notice labels
written by other sessions (or processes) by polling the store's cheap version token.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from pathlib import Path
from typing import Any

import numpy as np
import panel as pn
import param
from panel.viewable import Viewer

from core import ConfigError, LabelStore, SedscapeError, check_label
from dashboard.plots import ColourBy
from dashboard.state import AppState

log = logging.getLogger(__name__)

PREFIX = "label: "  # presets and colour-bys of a label set are named "label: <name>"
LABEL_CMAP = ["#d0d0d0", "#d62728"]  # unlabelled pixels grey, any labelled star red
POLL_MS = 2000  # how often a session looks for labels written elsewhere

_STORES: dict[Path, LabelStore] = {}
_STORES_LOCK = threading.Lock()


def open_store(path: Path) -> tuple[LabelStore | None, str]:
    """The process-wide label database at ``path`` (opened once), or None and why labels are off."""
    path = Path(path).expanduser().resolve()
    with _STORES_LOCK:
        if path not in _STORES:
            try:
                _STORES[path] = LabelStore(path)
            except (SedscapeError, OSError, sqlite3.Error) as exc:
                log.warning("labels are off: %s", exc)
                return None, (f"Labels are off: cannot open {path} ({exc}). Give a writable database as the third "
                              "--args value or in SEDSCAPE_LABELS.")  # fmt: skip
            log.info("labels in %s", path)
        return _STORES[path], ""


class Labelling(param.Parameterized):
    """One session's labelling: writes go to the shared store; presets and colour-bys follow its contents."""

    state = param.ClassSelector(class_=AppState)
    status = param.String("", doc="what the last action did (or why it could not)")

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self._version: tuple | None = None
        self._names: list[str] = []
        self._rows: dict[str, np.ndarray] = {}
        if self.store is not None:
            self.sync()
        # Other modules that write labels (the anomaly review's answers) trigger ``labels``.
        self.state.param.watch(lambda _: self.sync(), "labels")

    @property
    def store(self) -> LabelStore | None:
        return self.state.labels

    @property
    def names(self) -> list[str]:
        return list(self._names)

    # ----- writing ---------------------------------------------------------------------------------
    def origin(self, how: str) -> dict[str, Any]:
        """What a label records about where it came from: the selection geometry, model, threshold, catalog."""
        sky, st = self.state.sky, self.state
        card = sky.model_card
        model = {"dir": str(sky.model_dir) if sky.model_dir else None}
        if card is not None:
            model |= {"name": card.model.name, "run": card.chosen_run}
        return {"by": "dashboard", "how": how, "selection": st.geometry, "threshold": st.threshold,
                "catalog": str(sky.catalog_path), "model": model}  # fmt: skip

    def label_selection(self, name: str, note: str = "") -> int:
        """Give ``name`` to every selected star; returns how many were labelled."""
        if not self.state.n_selected:
            return self._say("Select stars first (lasso, box or a preset), or pick rows in the table.")
        ids = self.state.sky.df["obj_id"].array.take(self.state.selection)
        return self._add(np.asarray(ids, dtype=np.int64), name, note, "selection")

    def label_picked(self, name: str, note: str = "") -> int:
        """Give ``name`` to the stars picked in the selection table."""
        if not self.state.picked:
            return self._say("Pick stars in the table first (click a row; Ctrl/Shift-click for more).")
        return self._add(np.asarray(self.state.picked, dtype=np.int64), name, note, "table")

    def _add(self, ids: np.ndarray, name: str, note: str, how: str) -> int:
        if self.store is None:
            return self._say("Labels are off (no label database).")
        try:
            name = check_label(name)
            n = self.store.add(ids, name, origin=self.origin(how), note=note)
        except SedscapeError as exc:
            return self._say(f"Not labelled: {exc}")
        self.sync()
        self.status = f"Labelled {n:,} star{'s' if n != 1 else ''} '{name}' (stored in {self.store.path.name})."
        return n

    def remove_from_selection(self, name: str) -> int:
        """Take label ``name`` off the selected stars."""
        if self.store is None or not self.state.n_selected:
            return self._say("Select the stars to take the label off first.")
        try:
            name = check_label(name)
        except ConfigError as exc:
            return self._say(str(exc))
        ids = np.asarray(self.state.sky.df["obj_id"].array.take(self.state.selection), dtype=np.int64)
        n = self.store.remove(name, ids)
        self.sync()
        self.status = f"Took '{name}' off {n:,} star{'s' if n != 1 else ''}."
        return n

    def _say(self, text: str) -> int:
        self.status = text
        return 0

    # ----- reading ---------------------------------------------------------------------------------
    def rows(self, name: str) -> np.ndarray:
        """Catalog rows of the stars carrying ``name`` (cached until the labels change)."""
        if name not in self._rows:
            ids = self.store.members(name) if self.store is not None else np.zeros(0, dtype=np.int64)
            self._rows[name] = self.state.sky.rows_of(ids)
        return self._rows[name]

    def select_label(self, name: str) -> int:
        """Select every star carrying ``name`` (the label preset)."""
        if self.store is None:
            return self._say("Labels are off (no label database).")
        return self.state.select_obj_ids(self.store.members(name), "label", label=name, labels=str(self.store.path))

    def colour(self, name: str) -> tuple[np.ndarray, None, tuple[float, float]]:
        """The latent colour-by of a label: 1 for its stars, 0 for the others (pixels show the maximum)."""
        values = np.zeros(self.state.sky.n, dtype=np.float32)
        values[self.rows(name)] = 1.0
        return values, None, (0.0, 1.0)

    def sync(self) -> bool:
        """Bring presets and colour-bys in line with the store; True when the labels had changed."""
        if self.store is None:
            return False
        version = self.store.version()
        if version == self._version:
            return False
        self._version = version
        self._rows.clear()
        names = self.store.names()
        st = self.state
        for gone in set(self._names) - set(names):
            st.remove_colour(PREFIX + gone)
            st.remove_preset(PREFIX + gone)
        for name in names:
            st.add_preset(PREFIX + name, lambda n=name: self.select_label(n))
            colour = ColourBy(f"labelled '{name}'", "label", "max", cmap=LABEL_CMAP)
            st.add_colour(PREFIX + name, colour, lambda n=name: self.colour(n))  # redraws it if shown
        self._names = names
        st.labels_revision += 1
        return True


class LabelPanel(Viewer):
    """Name, note, "Label selection" / "Label picked stars" / "Remove from selection", and the label sets."""

    state = param.ClassSelector(class_=AppState)

    def __init__(self, problem: str = "", **params: Any) -> None:
        super().__init__(**params)
        self.labelling = Labelling(state=self.state)
        self.label_name = pn.widgets.TextInput(label="Label", placeholder="label name, e.g. BHB candidate")
        self.note = pn.widgets.TextInput(label="Note (optional)", placeholder="why these stars")
        self.label_button = pn.widgets.Button(label="Label selection", color="primary")
        self.label_button.on_click(lambda _: self.labelling.label_selection(self._name(), self.note.value_input))
        self.picked_button = pn.widgets.Button(label="Label picked stars", disabled=True)
        self.picked_button.on_click(lambda _: self.labelling.label_picked(self._name(), self.note.value_input))
        self.remove_button = pn.widgets.Button(label="Remove from selection")
        self.remove_button.on_click(lambda _: self.labelling.remove_from_selection(self._name()))
        self.status = pn.pane.HTML("", css_classes=["label-status"], sizing_mode="stretch_width", height=60)
        self.problem = problem
        self.sets = pn.pane.Markdown(self._sets_text(), css_classes=["label-sets"], sizing_mode="stretch_width")
        self.labelling.param.watch(lambda e: setattr(self.status, "object", e.new), "status")
        self.state.param.watch(lambda _: setattr(self.sets, "object", self._sets_text()), "labels_revision")
        self.state.param.watch(self._picked, "picked")
        self._poller = None
        doc = pn.state.curdoc
        if self.labelling.store is not None and doc is not None and doc.session_context is not None:
            self._poller = pn.state.add_periodic_callback(self.labelling.sync, period=POLL_MS)
            doc.on_session_destroyed(lambda _ctx: self._poller.stop())

    def _name(self) -> str:
        return self.label_name.value_input or self.label_name.value or ""

    def _picked(self, event) -> None:
        n = len(event.new)
        self.picked_button.disabled = n == 0
        self.picked_button.label = f"Label {n} picked star{'s' if n != 1 else ''}" if n else "Label picked stars"

    def _sets_text(self) -> str:
        store = self.labelling.store
        if store is None:
            return self.problem or "Labels are off."
        rows = store.summary()
        if not rows:
            return "No labels yet. Labelled sets become presets and colour-bys."
        lines = ["| label | stars |", "|---|---:|"] + [f"| {r.label} | {r.n_stars:,} |" for r in rows[:15]]
        more = f"\n\n{len(rows) - 15} more labels." if len(rows) > 15 else ""
        return "\n".join(lines) + more

    def __panel__(self):
        return pn.Column(
            pn.pane.Markdown("### Labels"), self.label_name, self.note,
            pn.Row(self.label_button, self.picked_button), self.remove_button, self.status, self.sets,
            sizing_mode="stretch_width",
        )  # fmt: skip
