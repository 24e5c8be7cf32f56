"""The anomaly review: answer "interesting" / "not interesting" for the best-ranked candidates and watch
the ranking learn (``core.ReviewLoop``: coniferest's AAD forest on the residual fingerprint).

Every answer is stored as a label first (``interesting`` / ``not interesting``, origin: the ranking),
then the candidates are re-ranked on a worker thread while a spinner turns. The ranking is shared by
every session of the server that reviews at the same threshold, and starts from the answers already in
the label database, so a restarted server, or another browser, carries on where the last one stopped.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from concurrent.futures import Future
from typing import Any

import numpy as np
import pandas as pd
import panel as pn
import param
from panel.io import hold
from panel.viewable import Viewer

from core import INTERESTING, NOT_INTERESTING, LabelStore, RankingConfig, ReviewLoop, embedding_sets
from dashboard import models_view
from dashboard.background import in_background, submit
from dashboard.sky import SkyData
from dashboard.state import AppState

log = logging.getLogger(__name__)

TOP_N = 100  # rows of the review table and default size of the "top candidates" preset
POLL_MS = 2000  # how often a session looks for answers given elsewhere
PRESET = "top {n} candidates (learned ranking)"
MAX_LOOPS = 4  # rankings kept per server (one per threshold reviewed at)

_LOOPS: OrderedDict[tuple, Future] = OrderedDict()
_LOOPS_LOCK = threading.Lock()


def shared_loop(sky: SkyData, store: LabelStore, threshold: float, config: RankingConfig | None = None) -> Future:
    """The server's ranking of ``sky``'s candidates at ``threshold`` (a Future: building takes seconds)."""
    config = config or RankingConfig()
    shown = models_view.shown_model(sky)  # a catalog with several models: each ranks its own anomalies
    key = (str(sky.catalog_path), shown.key if shown else None, str(store.path), round(float(threshold), 4), config)
    with _LOOPS_LOCK:
        future = _LOOPS.get(key)
        if future is None or (future.done() and future.exception() is not None):
            extra = [c for cols in embedding_sets(sky.df.columns).values() for c in cols]
            origin = {"catalog": str(sky.catalog_path), "model_dir": str(sky.model_dir) if sky.model_dir else None}
            future = submit(lambda: ReviewLoop(sky.df, sky.bands, threshold, store, config, extra_columns=extra,
                                               origin=origin))  # fmt: skip
            _LOOPS[key] = future
            while len(_LOOPS) > MAX_LOOPS:
                _LOOPS.popitem(last=False)
        _LOOPS.move_to_end(key)
        return future


class Review(param.Parameterized):
    """One session's view of the shared ranking: start it, answer, and read the top candidates."""

    state = param.ClassSelector(class_=AppState)
    status = param.String("", doc="what the ranking is doing or last did")
    busy = param.Boolean(False, doc="building or re-ranking on a worker thread")
    revision = param.Integer(0, doc="bumped whenever the ranking shown changed")
    top_n = param.Integer(TOP_N, bounds=(1, 10_000), doc="size of the top-candidates table and preset")

    def __init__(self, config: RankingConfig | None = None, **params: Any) -> None:
        super().__init__(**params)
        self.config = config or RankingConfig()
        self.loop: ReviewLoop | None = None
        self._seen = -1
        self._version: tuple | None = None
        self._preset = ""

    @property
    def store(self) -> LabelStore | None:
        return self.state.labels

    def start(self) -> Future | None:
        """Rank the candidates at the session's threshold (the server's shared ranking, built if needed)."""
        if self.store is None:
            self.status = "The anomaly review needs the label database, which is off."
            return None
        threshold = self.state.threshold
        future = shared_loop(self.state.sky, self.store, threshold, self.config)
        self.busy = True
        if not future.done():
            self.status = (f"Ranking the candidates at {threshold:.3f} mag (every star above it plus the top "
                           f"{self.config.n_top:,} by residual)...")  # fmt: skip
        return in_background(future.result, self._ready)

    def _ready(self, loop: ReviewLoop | None, error: BaseException | None) -> None:
        self.busy = False
        if error is not None:
            self.status = f"The ranking failed: {error}"
            return
        self.loop = loop
        log.info("review: %d candidates at %.3f mag ranked with %d stored answer(s); built in %.1f s",
                 loop.n_candidates, loop.threshold, len(loop.answers), loop.build_s)  # fmt: skip
        name = PRESET.format(n=self.top_n)
        if name != self._preset:
            if self._preset:
                self.state.remove_preset(self._preset)
            self.state.add_preset(name, lambda: self.select_top())
            self._preset = name
        self.status = (f"{loop.n_candidates:,} candidates at {loop.threshold:.3f} mag, ranked with "
                       f"{len(loop.answers)} answer(s) so far.")  # fmt: skip
        self._changed()

    def _changed(self) -> None:
        self._seen = self.loop.revision
        self._version = self.store.version()
        self.revision += 1

    def answer(self, obj_id: int, interesting: bool) -> Future | None:
        """Store the answer as a label and re-rank on a worker thread (the table follows when done)."""
        loop = self.loop
        if loop is None:
            self.status = "Start the review first."
            return None
        if self.busy:
            self.status = "Still re-ranking after the last answer; try again in a moment."
            return None
        self.busy = True
        self.status = f"Re-ranking after '{INTERESTING if interesting else NOT_INTERESTING}' for star {obj_id}..."
        t0 = time.perf_counter()
        origin = {"session_threshold": self.state.threshold}
        return in_background(lambda: loop.answer(int(obj_id), bool(interesting), **origin),
                             lambda refit_s, error: self._answered(refit_s, error, time.perf_counter() - t0))  # fmt: skip

    def _answered(self, refit_s: float | None, error: BaseException | None, wall_s: float) -> None:
        self.busy = False
        if error is not None:
            self.status = f"Not answered: {error}"
            return
        loop = self.loop
        log.info("review: answer stored and candidates re-ranked in %.2f s (%.2f s including the hand-over)",
                 refit_s, wall_s)  # fmt: skip
        with hold():  # one message to the browser for the table, buttons, status and label sets
            self.status = (f"Re-ranked {loop.n_candidates:,} candidates after {len(loop.answers)} answer(s) in "
                           f"{refit_s:.2f} s ({wall_s:.2f} s from the click).")  # fmt: skip
            self._changed()
            self.state.param.trigger("labels")  # the label sets (presets, colour-bys) have changed

    def poll(self) -> Future | None:
        """Follow answers given in other sessions or processes (a periodic callback in a served page)."""
        loop = self.loop
        if loop is None or self.busy:
            return None
        if loop.revision != self._seen:  # another session of this server answered
            self._changed()
            return None
        if self.store.version() == self._version:
            return None
        self._version = self.store.version()
        return in_background(loop.refresh, lambda changed, _e: self._changed() if changed else None)

    # ----- what the views show ---------------------------------------------------------------------
    def candidates(self, n: int | None = None) -> pd.DataFrame:
        """The best-ranked unanswered candidates with their residuals and photometry (``rank`` 1 first)."""
        if self.loop is None:
            return pd.DataFrame(columns=["rank", "obj_id", "score"])
        top = self.loop.top(n or self.top_n)
        sky = self.state.sky
        rows = sky.rows_of(top["obj_id"].to_numpy())
        by_id = pd.Series(rows, index=sky.df["obj_id"].array.take(rows))
        at = by_id.reindex(top["obj_id"].to_numpy()).to_numpy()
        cols = [c for c in ("max_abs_res", "res_band", *sky.bands.names, "true_class", "simbad_category") if c in sky.df]
        out = top.drop(columns="answer")
        for c in cols:
            out[c] = sky.df[c].array.take(at)
        return out

    def next_candidate(self) -> int | None:
        return None if self.loop is None else self.loop.next_candidate()

    def select_top(self, n: int | None = None) -> int:
        """Select the ``n`` best-ranked unanswered candidates (the "top candidates" preset)."""
        if self.loop is None:
            self.status = "Start the review first."
            return 0
        ids = self.loop.top(n or self.top_n)["obj_id"].to_numpy()
        return self.state.select_obj_ids(ids, "anomaly ranking", threshold=self.loop.threshold,
                                         answers=len(self.loop.answers), top=int(n or self.top_n))  # fmt: skip

    def show(self, obj_id: int) -> int:
        """Select one candidate, so the linked views, SEDs and cutouts show it."""
        return self.state.select_obj_ids(np.array([int(obj_id)]), "anomaly review", candidate=int(obj_id))


class ReviewPanel(Viewer):
    """Start, the current candidate with its two answers, the top-candidates table (answer any row), status."""

    state = param.ClassSelector(class_=AppState)

    def __init__(self, config: RankingConfig | None = None, **params: Any) -> None:
        super().__init__(**params)
        self.review = Review(state=self.state, config=config)
        rv = self.review
        self.start_button = pn.widgets.Button(label="Rank the anomaly candidates", color="primary")
        self.start_button.on_click(lambda _: rv.start())
        # Fixed sizes, and a spinner that only turns: a pane that appears or changes height makes the browser
        # lay the whole page (and its plots) out again, which costs seconds on a busy machine.
        self.spinner = pn.indicators.LoadingSpinner(value=False, size=24)
        self.yes = pn.widgets.Button(label="Interesting", color="success", disabled=True)
        self.no = pn.widgets.Button(label="Not interesting", color="danger", disabled=True)
        self.show = pn.widgets.Button(label="Show this star", disabled=True)
        self.yes.on_click(lambda _: self._answer_current(True))
        self.no.on_click(lambda _: self._answer_current(False))
        self.show.on_click(lambda _: rv.show(self._current) if self._current is not None else None)
        self.select_top = pn.widgets.Button(label=f"Select the top {rv.top_n}", disabled=True)
        self.select_top.on_click(lambda _: rv.select_top())
        self.candidate = pn.pane.Markdown("", css_classes=["review-candidate"], sizing_mode="stretch_width", height=40)
        self.status = pn.pane.HTML("", css_classes=["review-status"], sizing_mode="stretch_width", height=40)
        self.table = pn.widgets.Tabulator(
            value=rv.candidates(), pagination="remote", page_size=10, disabled=True, show_index=False,
            sizing_mode="stretch_width", height=360, selectable=False,
            buttons={"yes": "<span title='interesting'>&#10004;</span>", "no": "<span title='not interesting'>&#10008;</span>"},
            css_classes=["review-table"],
        )  # fmt: skip
        self.table.on_click(self._table_click)
        self._current: int | None = None
        rv.param.watch(lambda e: setattr(self.status, "object", e.new), "status")
        rv.param.watch(self._busy, "busy")
        rv.param.watch(lambda _: self._refresh(), "revision")
        self._poller = None
        doc = pn.state.curdoc
        if doc is not None and doc.session_context is not None:
            self._poller = pn.state.add_periodic_callback(rv.poll, period=POLL_MS)
            doc.on_session_destroyed(lambda _ctx: self._poller.stop())

    def _busy(self, event) -> None:
        self.spinner.value = event.new
        self.yes.disabled = self.no.disabled = event.new or self._current is None
        self.start_button.disabled = event.new

    def _answer_current(self, interesting: bool) -> Future | None:
        if self._current is None:
            return None
        return self.review.answer(self._current, interesting)

    def _table_click(self, event) -> Future | None:
        if event.column not in ("yes", "no") or event.row is None or event.row >= len(self.table.value):
            return None
        return self.review.answer(int(self.table.value["obj_id"].iloc[event.row]), event.column == "yes")

    def _refresh(self) -> None:
        rv = self.review
        table = rv.candidates()
        table["obj_id"] = table["obj_id"].astype(str)  # PS1 objIDs exceed 2**53: text keeps every digit
        self.table.value = table
        self._current = rv.next_candidate()
        has = self._current is not None
        self.yes.disabled = self.no.disabled = self.show.disabled = rv.busy or not has
        self.select_top.disabled = rv.loop is None
        self.start_button.label = "Re-rank at the current threshold"
        if has:
            row = table.iloc[0] if len(table) else None
            detail = ""
            if row is not None and "max_abs_res" in row:
                detail = f": max |obs - rec| {row['max_abs_res']:.3f} mag"
                if "res_band" in row:
                    detail += f" (worst band {row['res_band']})"
            self.candidate.object = f"**Next candidate**: star <span class='candidate-id'>{self._current}</span>{detail}"
        else:
            self.candidate.object = "Every candidate has an answer."

    def __panel__(self):
        return pn.Column(
            pn.pane.Markdown("Answer for the best-ranked candidates: each answer is stored as a label and re-ranks "
                             "the rest (coniferest's AAD forest on the residual fingerprint)."),
            pn.Row(self.start_button, self.spinner), self.candidate, pn.Row(self.yes, self.no, self.show),
            self.status, self.table, self.select_top, sizing_mode="stretch_width",
        )  # fmt: skip
