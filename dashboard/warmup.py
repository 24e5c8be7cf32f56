"""Warming a server up: load the shared catalog as the server starts, compile the page's kernels on its
first rows meanwhile, and do after the first page what that page should not wait for."""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections.abc import Callable, Sequence

from core import SedscapeError, band_set_of
from dashboard.sky import LOAD_LOCK, SkyData, catalog_columns, read_scored, shared_sky
from dashboard.sources import Sources, resolve_sources

log = logging.getLogger(__name__)

# Export-only columns read right after the first page. A catalog with several models (embeddings, the multi-modal
# latent and light-curve features: ~100 columns for the default sky) reads them on its first export instead:
# reading 100 columns of 3.1M stars took 38 s on a loaded machine and slowed every lasso made meanwhile.
EAGER_EXPORT_COLUMNS = 40


def head_sky(sources: Sources, rows: int = 50_000) -> SkyData | None:
    """The first ``rows`` stars of the catalog (None if it cannot be read: the full load says why)."""
    if not sources.catalog.exists():
        return None
    try:
        df = read_scored(sources.catalog, rows=rows, columns=catalog_columns(sources.catalog)[1])
        return SkyData(df=df, bands=band_set_of(df), catalog_path=sources.catalog)
    except SedscapeError:
        return None


def warm_cache(
    argv: Sequence[str],
    compile_page: Callable[[SkyData], None] | None = None,
    prepare: Callable[[SkyData], None] | None = None,
) -> None:
    """Load the shared data when the server starts, so the first visitor gets a warm process.

    ``compile_page`` runs on the catalog's first rows while the whole file is read (numba compiling
    holds the GIL; Arrow's reading does not), then ``prepare`` runs on the full catalog; both under
    the load lock, so sessions arriving meanwhile wait for them rather than repeat them.
    """
    t0 = time.perf_counter()
    try:
        sources = resolve_sources(argv)
        with LOAD_LOCK:
            compiling = None
            head = head_sky(sources) if compile_page is not None else None
            if head is not None:
                compiling = threading.Thread(target=_optional, args=(compile_page, head), name="sedscape-compile")
                compiling.start()
            sky = shared_sky(sources)
            log.info("loaded %d stars from %s in %.1f s", sky.n, sky.catalog_path, time.perf_counter() - t0)
            if compiling is not None:
                compiling.join()
            if prepare is not None:
                _optional(prepare, sky)
        log.info("shared catalog and page warm-up ready %.1f s after server start", time.perf_counter() - t0)
    except SedscapeError as exc:  # the page shows it; nothing to do here
        log.error("cannot load the catalog: %s", exc)


def _optional(step: Callable[[SkyData], None], sky: SkyData) -> None:
    try:
        step(sky)
    except Exception:  # an optimisation only: sessions still work, just slower the first time
        log.exception("warming up the page failed")


def after_first_page(sky: SkyData) -> None:
    """Work the first page should not wait for: read the export-only columns (when there are not too many),
    compile the selection's and the other colour-by aggregations (pure functions on a tiny catalog: no
    plots, so no sharing Bokeh state with sessions), then load TensorFlow."""
    with _AFTER_LOCK:
        if sky in _AFTER_DONE:
            return
        _AFTER_DONE.add(sky)

    def run() -> None:
        from dashboard.plots import warm_up
        from dashboard.views import hover_columns

        if len(sky.export_columns) <= EAGER_EXPORT_COLUMNS:
            sky.start_export_load()  # mostly Arrow reading, which leaves the GIL to the warm-up
        _optional(lambda _sky: warm_up(), sky)
        sky.start_hover_load(hover_columns(sky))  # a partitioned catalog's tooltip rows (in memory: nothing to do)
        sky.start_model_load()
        if sky.has_stellar:
            sky.start_stellar_load()

    threading.Thread(target=run, name="sedscape-after-first-page", daemon=True).start()


_AFTER_LOCK = threading.Lock()
_AFTER_DONE: weakref.WeakSet = weakref.WeakSet()
