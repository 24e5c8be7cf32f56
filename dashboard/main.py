"""``panel serve dashboard [--args CATALOG [MODEL_DIR [LABELS]]]``: composes the views for one session."""

import logging
import sys

import holoviews as hv
import panel as pn
from holoviews.plotting.bokeh.callbacks import RangeXYCallback

from core import SedscapeError
from dashboard.labelling import open_store
from dashboard.sky import shared_sky
from dashboard.sources import resolve_sources
from dashboard.state import AppState
from dashboard.views import Dashboard, error_page
from dashboard.warmup import after_first_page

logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
hv.extension("bokeh", logo=False)
# Datashaded images gain nothing from WebGL, and without a GPU every repaint pays for copying the
# WebGL canvas (2.4 s of browser time during one lasso in headless Chromium); plain canvas draws images directly.
hv.renderer("bokeh").webgl = False
# Bokeh reports a pan/zoom's new range once the gesture has paused 50 ms (lod timeout, dashboard.plots);
# HoloViews would then wait another 100-150 ms before re-aggregating. One debounce is enough.
RangeXYCallback.debounce = None
pn.extension("tabulator", sizing_mode="stretch_width", notifications=False)


def build_page() -> pn.viewable.Viewable:
    try:
        sources = resolve_sources(sys.argv[1:])
        sky = shared_sky(sources)
    except SedscapeError as exc:
        logging.getLogger("dashboard").error("%s", exc)
        return error_page(exc)
    # Export-only columns, the other aggregation kernels and TensorFlow load once the first page is on screen.
    pn.state.onload(lambda: after_first_page(sky))
    labels, problem = open_store(sources.labels_path)
    return Dashboard(state=AppState(sky, labels=labels), labels_problem=problem)


build_page().servable(title="sedscape")
