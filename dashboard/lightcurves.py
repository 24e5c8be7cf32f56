"""Light curves of selected stars: epochs per band against time, the curve folded at its best period with
the multi-modal VAE's reconstruction, and the dm-dt image (issue 14).

Where the epochs are: ``core.find_detections`` (``SEDSCAPE_DETECTIONS``, else the detection table the scored
catalog's metadata records, else ``<catalog stem>.detections.parquet`` beside it). Only the ``obj_id``
column of that table is read once per process (which stars have epochs); each update reads the detections of
the few stars shown (row groups of 65,536 detections), never the whole table. The multi-modal model (the
one that scored the catalog, ``meta["multimodal"]["model_dir"]``) loads in the background on first use;
without it the curves are folded at the period found here, without a reconstruction.

The panel draws the most anomalous selected stars that have epochs (by the multi-modal anomaly score when
the catalog has one, else by the shown model's max |residual|), or the star last clicked in the table.
It works only while its tab is open, on a worker thread, so a selection never waits for it.
"""

from __future__ import annotations

import logging
import threading
import weakref
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import panel as pn
import param
from panel.viewable import Viewer

from core import (
    MultiModalModel,
    dmdt_image,
    epoch_ids,
    extract_features,
    find_detections,
    fold_star,
    folded_reconstruction,
    pack_epochs,
    read_epochs,
    star_epochs,
)
from dashboard import lightcurve_plots
from dashboard.sky import SkyData
from dashboard.state import AppState

if TYPE_CHECKING:
    from collections.abc import Callable

log = logging.getLogger(__name__)

N_STARS = 3
HOW_TO = ("Light curves come from a detection table beside the catalog: set `SEDSCAPE_DETECTIONS`, score the "
          "catalog with `sedscape score --model MM_MODEL --detections DET.parquet`, or put "
          "`<catalog>.detections.parquet` beside it.")  # fmt: skip
# ----- where the epochs and the model are (once per process) ---------------------------------------------
class EpochSource:
    """A detection table read a few stars at a time; which stars it holds is read once (its obj_id column)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._ids: np.ndarray | None = None
        self._lock = threading.Lock()

    @property
    def ids(self) -> np.ndarray:
        with self._lock:
            if self._ids is None:
                self._ids = epoch_ids(self.path)
                log.info("%s: %d stars have epochs", self.path, len(self._ids))
            return self._ids

    def has(self, obj_ids: np.ndarray) -> np.ndarray:
        """Which of ``obj_ids`` have epochs."""
        ids = self.ids
        obj_ids = np.asarray(obj_ids, dtype=np.int64)
        pos = np.clip(np.searchsorted(ids, obj_ids), 0, max(len(ids) - 1, 0))
        return (ids[pos] == obj_ids) if len(ids) else np.zeros(len(obj_ids), bool)

    def read(self, obj_ids: np.ndarray) -> pd.DataFrame:
        """The detections of ``obj_ids`` only."""
        return read_epochs(self.path, obj_ids=np.asarray(obj_ids, dtype=np.int64))


_SOURCES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_MODELS: dict[str, Future] = {}
_LOCK = threading.Lock()
_MODEL_POOL = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sedscape-mm-model")
_WORK_POOL = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sedscape-lightcurves")


def _base(sky: SkyData) -> SkyData:
    return getattr(sky, "base", None) or sky


def epoch_source(sky: SkyData) -> tuple[EpochSource | None, str]:
    """The catalog's detection table, or None and why not."""
    base = _base(sky)
    with _LOCK:
        if base not in _SOURCES:
            path = find_detections(base.catalog_path, base.meta)
            if path is None:
                _SOURCES[base] = (None, f"No detection table for {base.catalog_path.name}. {HOW_TO}")
            elif not path.exists():
                _SOURCES[base] = (None, f"The detection table {path} does not exist. {HOW_TO}")
            else:
                _SOURCES[base] = (EpochSource(path), "")
        return _SOURCES[base]


def multimodal_dir(sky: SkyData) -> Path | None:
    """The multi-modal model that scored the catalog (its directory as recorded, else relative to the catalog)."""
    base = _base(sky)
    recorded = (base.meta.get("multimodal") or {}).get("model_dir")
    if not recorded:
        return None
    path = Path(recorded).expanduser()
    for candidate in (path, base.catalog_path.parent / path):
        if candidate.exists():
            return candidate
    return None


def _load(model_dir: Path) -> tuple[MultiModalModel | None, str]:
    try:
        return MultiModalModel.load(model_dir), ""
    except Exception as exc:  # the panel still draws the epochs, without a reconstruction
        log.warning("cannot load the multi-modal model in %s: %s", model_dir, exc)
        return None, f"cannot load the multi-modal model in {model_dir}: {exc}"


def multimodal_model(sky: SkyData, wait: bool = True) -> tuple[MultiModalModel | None, str]:
    """The multi-modal model (loaded once per process on a worker thread), or None and why."""
    model_dir = multimodal_dir(sky)
    if model_dir is None:
        return None, "the catalog was not scored with a multi-modal model: no reconstruction"
    with _LOCK:
        future = _MODELS.get(str(model_dir))
        if future is None:
            future = _MODELS[str(model_dir)] = _MODEL_POOL.submit(_load, model_dir)
    if not wait and not future.done():
        return None, "loading the multi-modal model"
    return future.result()


# ----- which stars, and their curves ------------------------------------------------------------------
def stars_to_show(state: AppState, source: EpochSource, focus: int | None = None, n: int = N_STARS) -> np.ndarray:
    """Row indices of the stars to draw: the clicked star ``focus`` (an obj_id) if it has epochs, else the
    ``n`` most anomalous selected stars with epochs (multi-modal score if scored, else max |residual|)."""
    sky = state.sky
    obj = sky.df["obj_id"].to_numpy()
    if focus is not None:
        rows = np.flatnonzero(obj == focus)
        if rows.size and source.has(obj[rows[:1]])[0]:
            return rows[:1]
    if not state.n_selected:
        return np.zeros(0, dtype=np.int64)
    sel = state.selection
    sel = sel[source.has(obj[sel])]
    if not sel.size:
        return sel
    score = None
    if "mm_score" in sky.df:
        score = sky.df["mm_score"].to_numpy(np.float64)[sel]
    if score is None or not np.isfinite(score).any():
        score = sky.frame["max_abs_res"].to_numpy(np.float64)[sel]
    score = np.where(np.isfinite(score), score, -np.inf)
    order = np.argsort(-score, kind="stable")[:n]
    return sel[order]


def star_curves(sky: SkyData, rows: np.ndarray, source: EpochSource, model: MultiModalModel | None) -> list[dict]:
    """What :func:`dashboard.lightcurve_plots.lightcurve_grid` draws for catalog rows ``rows``: per star its
    epochs, best period, folded epochs, the VAE's reconstruction (with a model) and the dm-dt image."""
    obj_ids = sky.df["obj_id"].to_numpy()[rows]
    epochs = source.read(obj_ids)
    bands = sky.bands
    out = []
    for row, obj_id in zip(rows, obj_ids, strict=True):
        e = star_epochs(epochs, int(obj_id))
        star: dict[str, Any] = {"obj_id": int(obj_id), "label": f"obj_id {int(obj_id)}", "epochs": e}
        if model is not None:
            cat_row = sky.df.iloc[[int(row)]].reset_index(drop=True)
            found = folded_reconstruction(model, cat_row, e)
            star.update(period=found["period"], folded=found["folded_epochs"], reconstruction=found["reconstruction"])
        else:
            period = float(extract_features(pack_epochs(e, bands)).periods["period"][0]) if len(e) else np.nan
            star.update(period=period, folded=fold_star(e, period) if np.isfinite(period) else None,
                        reconstruction=None)  # fmt: skip
        image = dmdt_image(e, bands)
        star["dmdt_prob"], star["dmdt_band_mask"] = image.prob[0], image.band_mask[0]
        out.append(star)
    return out


class LightCurvePanel(Viewer):
    """Light curves of the most anomalous selected stars with epochs, or of the star clicked in the table."""

    state = param.ClassSelector(class_=AppState)
    active = param.Boolean(False, doc="whether the panel's tab is on screen (it works only then)")
    focus = param.Integer(None, allow_None=True, doc="obj_id of the star clicked in the table")

    def __init__(self, **params) -> None:
        super().__init__(**params)
        self._shown: tuple | None = None  # (revision, focus, model) drawn or being drawn
        self.status = pn.pane.Markdown("Select stars to see their light curves.", css_classes=["lightcurve-status"])
        self.plots = pn.pane.HoloViews(None, sizing_mode="stretch_width", css_classes=["lightcurve-plots"])
        self._layout = pn.Column(self.status, self.plots, sizing_mode="stretch_width")
        self.state.param.watch(self._on_state, ["revision", "model"])
        self.param.watch(lambda _: self._refresh(), ["active", "focus"])
        self._refresh()

    def _on_state(self, *events) -> None:
        if any(e.name == "revision" for e in events) and self.focus is not None:
            self.focus = None  # a new selection: its most anomalous stars again (this refreshes)
        self._refresh()

    def follow_tab(self, tabs: pn.Tabs, index: int) -> None:
        """Work only while ``tabs`` shows this panel (tab ``index``)."""
        tabs.param.watch(lambda e: setattr(self, "active", e.new == index), "active")
        self.active = tabs.active == index

    def on_table_click(self, table: pn.widgets.Tabulator) -> Callable:
        """A Tabulator ``on_click`` callback: draw the clicked star's light curve."""

        def clicked(event) -> None:
            if event.row is not None and event.row < len(table.value):
                self.focus = int(table.value.iloc[event.row]["obj_id"])

        return clicked

    def _key(self) -> tuple:
        return self.state.revision, self.focus, self.state.model

    def _refresh(self) -> None:
        if not self.active or self._key() == self._shown:
            return
        self._shown = key = self._key()
        source, why = epoch_source(self.state.sky)
        if source is None:
            self.status.object, self.plots.object = why, None
            return
        state, focus = self.state, self.focus
        rows = stars_to_show(state, source, focus)
        if not rows.size:
            self.status.object = ("Select stars to see their light curves." if not state.n_selected else
                                  f"None of the {state.n_selected:,} selected stars has epochs in {source.path.name}.")
            self.plots.object = None
            return
        self.status.object = f"Reading the epochs of {len(rows)} star(s)..."
        doc = pn.state.curdoc
        sky = state.sky
        if doc is None or doc.session_context is None:  # tests: no server, no thread
            self._draw(key, *self._compute(sky, rows, source, focus))
            return
        future = _WORK_POOL.submit(self._compute, sky, rows, source, focus)
        future.add_done_callback(lambda f: doc.add_next_tick_callback(lambda: self._finish(key, f)))

    def _compute(self, sky: SkyData, rows: np.ndarray, source: EpochSource, focus: int | None):
        model, why = multimodal_model(sky)
        return star_curves(sky, rows, source, model), why, focus

    def _finish(self, key: tuple, future: Future) -> None:
        if key != self._shown:
            return  # a newer selection is being drawn
        if not self.active:  # drawn into a hidden tab, Panel would point its stylesheets at its CDN
            self._shown = None
            return
        try:
            result = future.result()
        except Exception as exc:
            log.exception("light curves failed")
            self.status.object = f"Light curves failed: {exc}"
            return
        self._draw(key, *result)

    def _draw(self, key: tuple, stars: list[dict], why: str, focus: int | None) -> None:
        how = (f"the star clicked in the table (obj_id {focus})" if focus is not None and len(stars) == 1
               and stars[0]["obj_id"] == focus else f"the {len(stars)} most anomalous selected stars with epochs")
        note = f" ({why})" if why else " (dashed: the multi-modal VAE's reconstruction)"
        self.status.object = f"Light curves of {how}{note}."
        self.plots.object = lightcurve_plots.lightcurve_grid(stars, self.state.sky.bands.names)

    def __panel__(self):
        return self._layout
