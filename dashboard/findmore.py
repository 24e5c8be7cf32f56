"""Find more like these: train a head on a model's frozen embedding from a label set, colour the latent space
by its probability, offer its top candidates as a preset; and "stars like this one" for a picked star.

The feature space of each model (its embedding columns, or the residual fingerprint when the catalog has
no embedding: ``core.feature_space``) and its neighbour index are built once per server, on a worker
thread, the first time a session asks; training and scoring run on a worker too, with a spinner.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import Future
from typing import Any

import numpy as np
import pandas as pd
import panel as pn
import param
from panel.viewable import Viewer

from core import (
    FINGERPRINT,
    ConfigError,
    FeatureSpace,
    FindMoreConfig,
    FindMoreResult,
    NeighbourIndex,
    embedding_sets,
    feature_space,
    find_more,
    read_parquet,
    space_name,
)
from dashboard import models_view
from dashboard.background import in_background, submit
from dashboard.plots import ColourBy
from dashboard.sky import SkyData
from dashboard.state import AppState

log = logging.getLogger(__name__)

RANDOM = "a random sample of the other stars"
TOP_N = 1000
N_NEIGHBOURS = 20
COLOUR = "P(like '{label}')"
PRESET = "top {n} like '{label}'"

_SPACES: dict[tuple, Future] = {}
_SPACES_LOCK = threading.Lock()


def space_choices(sky: SkyData) -> dict[str, str]:
    """Widget name -> feature-space key: each model's embedding in the catalog, then the residual fingerprint."""
    columns = sky.column_order or tuple(sky.df.columns)
    return {space_name(k): k for k in embedding_sets(columns)} | {FINGERPRINT: FINGERPRINT}


def shared_space(sky: SkyData, key: str) -> Future:
    """The server's feature space and neighbour index for ``key`` (a Future: built once, in the background)."""
    ident: tuple = (str(sky.catalog_path), key)
    if key == FINGERPRINT:  # the residuals of the model shown (an embedding's columns name their model)
        shown = models_view.shown_model(sky)
        ident += (shown.key if shown else None,)
    with _SPACES_LOCK:
        future = _SPACES.get(ident)
        if future is None or (future.done() and future.exception() is not None):
            future = _SPACES[ident] = submit(lambda: _build_space(sky, key))
        return future


def _build_space(sky: SkyData, key: str) -> tuple[FeatureSpace, NeighbourIndex]:
    t0 = time.perf_counter()
    if key == FINGERPRINT:
        space = feature_space(sky.df, sky.bands, FINGERPRINT)
    else:
        cols = embedding_sets(sky.column_order or sky.df.columns)[key]
        frame = sky.df[cols] if all(c in sky.df for c in cols) else read_parquet(sky.catalog_path, columns=cols)
        if len(frame) != sky.n:
            raise ConfigError(f"{sky.catalog_path} changed while the dashboard was running; restart it")
        space = FeatureSpace.from_array(space_name(key), cols, frame.to_numpy(np.float32))
    index = NeighbourIndex(space)
    log.info("feature space %s of %d stars and its neighbour index ready in %.1f s", space.name, space.n,
             time.perf_counter() - t0)  # fmt: skip
    return space, index


class FindMore(param.Parameterized):
    """One session's "find more like these": the labels to learn from, the result, and neighbour searches."""

    state = param.ClassSelector(class_=AppState)
    positive = param.Selector(default=None, objects=[], allow_None=True, doc="the label set to find more of")
    negative = param.Selector(default=RANDOM, objects=[RANDOM], doc="what the head learns to tell them from")
    space = param.Selector(default=None, objects=[], allow_None=True, doc="the features the head and neighbours use")
    top_n = param.Integer(TOP_N, bounds=(1, 1_000_000), doc="size of the top-candidates preset")
    status = param.String("")
    warning = param.String("", doc="why the result deserves caution (too few labels)")
    busy = param.Boolean(False)
    neighbours = param.DataFrame(default=None, allow_None=True, doc="the last neighbour search: obj_id, distance")

    def __init__(self, config: FindMoreConfig | None = None, **params: Any) -> None:
        super().__init__(**params)
        self.config = config or FindMoreConfig()
        self._spaces = space_choices(self.state.sky)
        self.param.space.objects = list(self._spaces)
        self.space = next(iter(self._spaces))
        self.result: FindMoreResult | None = None
        self._label = ""
        self._colour = self._preset = ""
        self.sync_labels()
        self.state.param.watch(lambda _: self.sync_labels(), "labels_revision")

    def sync_labels(self) -> None:
        """Offer the label sets in the store as positives and negatives."""
        store = self.state.labels
        names = store.names() if store is not None else []
        if names == self.param.positive.objects:
            return  # unchanged: the select widgets keep their options (no message to the browser)
        self.param.positive.objects = names
        self.param.negative.objects = [RANDOM, *names]
        if self.positive not in names:
            self.positive = names[0] if names else None
        if self.negative not in self.param.negative.objects:
            self.negative = RANDOM

    def _rows(self, label: str) -> np.ndarray:
        return self.state.sky.rows_of(self.state.labels.members(label))

    # ----- training --------------------------------------------------------------------------------
    def train(self) -> Future | None:
        """Train the head from the chosen labels on a worker thread, then colour the latent by its probability."""
        if self.state.labels is None or self.positive is None:
            self.status = "Label some stars first (at least 3), then choose the label to find more of."
            return None
        if self.busy:
            return None
        label, negative, key = self.positive, self.negative, self._spaces[self.space]
        pos = self._rows(label)
        neg = None if negative == RANDOM else self._rows(negative)
        self.busy = True
        self.warning = ""
        self.status = f"Training on {len(pos):,} '{label}' stars ({self.space})..."
        space_future = shared_space(self.state.sky, key)

        def work() -> FindMoreResult:
            space, _ = space_future.result()
            return find_more(space, pos, neg, self.config, negative_label="" if neg is None else negative)

        return in_background(work, lambda result, error: self._trained(label, result, error))

    def _trained(self, label: str, result: FindMoreResult | None, error: BaseException | None) -> None:
        self.busy = False
        if error is not None:
            self.status = f"Could not find more like '{label}': {error}"
            return
        self.result, self._label = result, label
        log.info("find more like '%s' (%s): %d positives, %d negatives, CV ROC-AUC %s; trained in %.2f s, scored "
                 "%d stars in %.2f s", label, result.space, result.n_positive, result.n_negative,
                 result.cv_roc_auc, result.train_s, len(result.probability), result.score_s)  # fmt: skip
        auc = "n/a (too few labels)" if result.cv_roc_auc is None else f"{result.cv_roc_auc:.3f}"
        self.status = (f"Cross-validated ROC-AUC <b class='find-more-auc'>{auc}</b> from {result.n_positive:,} "
                       f"'{label}' stars against {result.n_negative:,} ({result.negatives}), on the {result.space}; "
                       f"trained in {result.train_s:.2f} s, scored {len(result.probability):,} stars in "
                       f"{result.score_s:.2f} s.")  # fmt: skip
        self.warning = result.warning
        st = self.state
        if self._colour:
            st.remove_colour(self._colour)
            st.remove_preset(self._preset)
        self._colour = COLOUR.format(label=label)
        self._preset = PRESET.format(n=self.top_n, label=label)
        colour = ColourBy(self._colour, "p_find_more", "max", cmap="viridis")
        st.add_colour(self._colour, colour, lambda p=result.probability: (p, None, (0.0, 1.0)))
        st.add_preset(self._preset, lambda: self.select_top())
        st.colour_by = self._colour  # colour the latent space by the probability

    def select_top(self, n: int | None = None) -> int:
        """Select the ``n`` most probable stars that do not already carry the label."""
        if self.result is None:
            self.status = "Train first."
            return 0
        rows = self.result.top(n or self.top_n, exclude=self._rows(self._label))
        ids = self.state.sky.df["obj_id"].array.take(rows)
        return self.state.select_obj_ids(np.asarray(ids), "find more like these", label=self._label,
                                         top=int(n or self.top_n), space=self.result.space)  # fmt: skip

    # ----- stars like this one ---------------------------------------------------------------------
    def like(self, obj_id: int, k: int = N_NEIGHBOURS) -> Future | None:
        """Find the ``k`` nearest neighbours of one star in the feature space and select them with it."""
        rows = self.state.sky.rows_of(np.array([int(obj_id)]))
        if not len(rows):
            self.status = f"Star {obj_id} is not in this catalog."
            return None
        key, row = self._spaces[self.space], int(rows[0])
        self.busy = True
        self.status = f"Looking for the {k} stars most like {obj_id} ({self.space})..."
        space_future = shared_space(self.state.sky, key)

        def work() -> tuple[np.ndarray, np.ndarray, float]:
            _, index = space_future.result()
            t0 = time.perf_counter()
            near, dist = index.query(row, k)
            return near, dist, time.perf_counter() - t0

        return in_background(work, lambda out, error: self._found(int(obj_id), out, error))

    def _found(self, obj_id: int, out: tuple | None, error: BaseException | None) -> None:
        self.busy = False
        if error is not None:
            self.status = f"No neighbours: {error}"
            return
        near, dist, query_s = out
        log.info("stars like %d (%s): %d neighbours among %d in %.3f s", obj_id, self.space, len(near),
                 self.state.sky.n, query_s)  # fmt: skip
        ids = np.asarray(self.state.sky.df["obj_id"].array.take(near), dtype=np.int64)
        self.neighbours = pd.DataFrame({"obj_id": ids.astype(str), "distance": dist})
        self.state.select_obj_ids(np.r_[obj_id, ids], "stars like this one", star=obj_id, k=len(ids),
                                  space=self.space)  # fmt: skip
        self.status = (f"The {len(ids)} stars most like {obj_id} ({self.space}) are selected; found in "
                       f"{query_s * 1e3:.0f} ms among {self.state.sky.n:,}.")  # fmt: skip


class FindMorePanel(Viewer):
    """Label to learn from, negatives, features, Train; ROC-AUC and warnings; top-N; stars like the picked one."""

    state = param.ClassSelector(class_=AppState)

    def __init__(self, config: FindMoreConfig | None = None, **params: Any) -> None:
        super().__init__(**params)
        fm = self.find_more = FindMore(state=self.state, config=config)
        self.positive = pn.widgets.Select.from_param(fm.param.positive, label="Find more like the label")
        self.negative = pn.widgets.Select.from_param(fm.param.negative, label="against")
        self.space = pn.widgets.Select.from_param(fm.param.space, label="in the feature space")
        self.train_button = pn.widgets.Button(label="Find more like these", color="primary")
        self.train_button.on_click(lambda _: fm.train())
        self.spinner = pn.indicators.LoadingSpinner(value=False, size=24)  # always shown: no relayout when it turns
        self.status = pn.pane.HTML("", css_classes=["find-more-status"], sizing_mode="stretch_width", height=60)
        self.warning = pn.pane.Alert("", alert_type="warning", visible=False, css_classes=["find-more-warning"])
        self.select_top = pn.widgets.Button(label=f"Select the top {fm.top_n:,}", disabled=True)
        self.select_top.on_click(lambda _: fm.select_top())
        self.like_button = pn.widgets.Button(label="Stars like the picked star", disabled=True)
        self.like_button.on_click(lambda _: fm.like(self.state.picked[0]) if self.state.picked else None)
        self.neighbours = pn.widgets.Tabulator(value=pd.DataFrame({"obj_id": [], "distance": []}), disabled=True,
                                               show_index=False, height=240, sizing_mode="stretch_width")  # fmt: skip
        fm.param.watch(lambda e: setattr(self.status, "object", e.new), "status")
        fm.param.watch(self._warn, "warning")
        fm.param.watch(self._busy, "busy")
        fm.param.watch(lambda e: setattr(self.neighbours, "value", e.new), "neighbours")
        self.state.param.watch(self._picked, "picked")

    def _warn(self, event) -> None:
        self.warning.object = event.new
        self.warning.visible = bool(event.new)

    def _busy(self, event) -> None:
        self.spinner.value = event.new
        self.train_button.disabled = event.new
        self.select_top.disabled = event.new or self.find_more.result is None
        self.like_button.disabled = event.new or not self.state.picked

    def _picked(self, event) -> None:
        self.like_button.disabled = self.find_more.busy or not event.new
        self.like_button.label = f"Stars like {event.new[0]}" if event.new else "Stars like the picked star"

    def __panel__(self):
        return pn.Column(
            pn.pane.Markdown("Learn a label set from a model's frozen embedding (the residual fingerprint when the "
                             "catalog has none), colour the latent space by the probability, and select the best "
                             "candidates. Pick a star in the table to find the stars most like it."),
            pn.Row(self.positive, self.negative, self.space), pn.Row(self.train_button, self.spinner),
            self.status, self.warning, self.select_top, pn.layout.Divider(), self.like_button, self.neighbours,
            sizing_mode="stretch_width",
        )  # fmt: skip
