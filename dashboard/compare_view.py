"""The second latent space: another model's map, or the multi-modal VAE's, beside the first.

A :class:`~dashboard.views.ScatterView` whose coordinates are a latent map of the catalog
(:mod:`dashboard.models_view`) instead of the shown model's plotting frame. It shares the session's one
selection (a lasso here selects in every view, and every selection is drawn here) and its colour-by
(e.g. the shown model's anomaly flag on another model's map). Nothing is built or read until a map is chosen.
"""

from __future__ import annotations

import pandas as pd
import panel as pn
import param

from dashboard import models_view, plots
from dashboard.models_view import NO_COMPARE
from dashboard.views import ScatterView


class CompareView(ScatterView):
    """The map ``state.compare`` (hidden while it is ``"none"``)."""

    view = param.String(default=f"{models_view.COMPARE_PREFIX}{NO_COMPARE}")

    def __init__(self, **params) -> None:
        super().__init__(**params)
        self._box = pn.Column(self._pane, height=720, sizing_mode="stretch_width", visible=self._active)
        self.state.param.watch(self._on_compare, "compare")

    @property
    def _active(self) -> bool:
        return self.state.compare != NO_COMPARE

    @property
    def is_latent(self) -> bool:
        return True

    @property
    def spec(self) -> plots.ViewSpec:
        return models_view.compare_spec(self.state)

    def _frame(self) -> pd.DataFrame:
        return models_view.latent_maps(self.state.sky).frame(self.state.compare)

    def _limits(self, column: str):
        maps = models_view.latent_maps(self.state.sky)
        maps.frame(self.state.compare)  # read before its limits are asked for
        return maps.limits(column)

    def _plot(self):
        if not self._active:
            return None
        self.view = self.spec.key  # what a lasso here records as its view
        return super()._plot()

    def _on_compare(self, event) -> None:
        self._pane.object = self._plot()
        self._box.visible = self._active

    def __panel__(self):
        return self._box
