"""Many archive requests at once, stopping at the first failure: shared by the tiled PS1 fetches."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from typing import Any, TypeVar

T = TypeVar("T")


def fetch_all(
    items: Iterable[T],
    fetch: Callable[[T], Any],
    *,
    max_workers: int,
    bar: Any,
    interrupted: Callable[[BaseException], BaseException],
    on_done: Callable[[T], None] | None = None,
) -> None:
    """``fetch(item)`` for every item on a thread pool, one ``bar`` step per success.

    On the first failure (or Ctrl-C) queued items are cancelled, items in flight finish (and keep what they
    wrote), and ``interrupted(exception)`` is raised, so a rerun resumes from what is on disk.
    """
    pool = ThreadPoolExecutor(max_workers=max_workers)
    try:
        futures = {pool.submit(fetch, item): item for item in items}
        pending = set(futures)
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            failed = [f for f in done if f.exception() is not None]
            for f in done:
                if f.exception() is None:
                    bar.update(1)
                    if on_done is not None:
                        on_done(futures[f])
            if failed:
                pool.shutdown(wait=True, cancel_futures=True)
                raise interrupted(failed[0].exception())
    except BaseException:
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    finally:
        pool.shutdown(wait=True)
