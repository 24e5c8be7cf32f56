"""Server hooks (Bokeh directory-app convention): start loading the shared catalog as the server starts."""

import logging
import sys
import threading

# ``--args`` are visible as sys.argv only while this module is executed, so keep them now.
_ARGV = list(sys.argv[1:])


def on_server_loaded(server_context) -> None:
    import holoviews as hv

    from dashboard.views import warm_limits, warm_up_page
    from dashboard.warmup import warm_cache

    logger = logging.getLogger("dashboard")  # the server has configured the root logger for bokeh only
    logger.setLevel(logging.INFO)
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        logger.addHandler(handler)
        logger.propagate = False
    hv.extension("bokeh", logo=False)
    from dashboard.downloads import ensure_routes

    ensure_routes()  # exports download over plain HTTP (also without --plugins dashboard.downloads)

    threading.Thread(target=warm_cache, args=(_ARGV, warm_up_page, warm_limits), daemon=True, name="sedscape-load").start()
