"""Work that must not hold up the page (re-ranking, training a head, building an index), run on worker
threads, with its result handed back to the session that asked for it.

In a served page the result is applied on the session's next tick (Bokeh documents may only be changed
from their own event loop); without a server (tests, notebooks) it is applied on the worker at once, so
``future.result()`` returns after the state has been updated.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

import panel as pn

log = logging.getLogger(__name__)
T = TypeVar("T")

# Two workers: a long build (a ranking, a feature space) does not hold up a re-ranking or a training.
_POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="sedscape-discovery")


def in_background(work: Callable[[], T], then: Callable[[T | None, BaseException | None], Any]) -> Future:
    """Run ``work()`` on a worker thread, then ``then(result, None)`` (or ``then(None, error)``) in the session."""
    doc = pn.state.curdoc
    served = doc is not None and doc.session_context is not None

    def run() -> T | None:
        try:
            result, error = work(), None
        except Exception as exc:  # shown to the user by ``then``; the worker must not die silently
            log.exception("background work failed")
            result, error = None, exc
        if not served:
            then(result, error)
            return result
        from panel.io.state import set_curdoc

        def apply() -> None:
            with set_curdoc(doc):
                then(result, error)

        try:
            doc.add_next_tick_callback(apply)
        except Exception:  # the session has ended meanwhile: nobody to tell
            log.debug("session gone before background work finished", exc_info=True)
        return result

    return _POOL.submit(run)


def submit(work: Callable[[], T]) -> Future:
    """Run ``work()`` on the shared workers without reporting back (process-wide builds and caches)."""
    return _POOL.submit(work)
