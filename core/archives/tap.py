"""ADQL queries through pyvo's TAP client, with our session, cache and error messages.

pyvo does the protocol (``/sync`` POST, ``/async`` job creation, phase, results, inline uploads);
:class:`TapClient` injects an :class:`~core.archives.http.ArchiveSession`, turns pyvo's exceptions
into :class:`~core.errors.ArchiveError` naming the service, the query and what to do, and caches
complete results as Parquet.
"""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Mapping

import numpy as np
import pandas as pd

from core.archives.cache import ResponseCache, request_key
from core.archives.config import ArchiveConfig
from core.archives.http import ArchiveSession
from core.errors import ArchiveError, ConfigError

log = logging.getLogger(__name__)

MODES = ("sync", "async")


def _short_query(adql: str) -> str:
    text = " ".join(adql.split())
    return f"ADQL {text[:160]}..." if len(text) > 160 else f"ADQL {text}"


def frame_to_votable_table(df: pd.DataFrame):
    """An astropy Table of ``df`` for a TAP upload (plain numpy dtypes, no pandas extension types)."""
    from astropy.table import Table

    cols = {}
    for name in df.columns:
        s = df[name]
        if pd.api.types.is_integer_dtype(s) and not s.isna().any():
            cols[name] = s.to_numpy(dtype=np.int64)
        elif pd.api.types.is_numeric_dtype(s):
            cols[name] = s.to_numpy(dtype=float)
        else:
            cols[name] = s.astype(str).to_numpy()
    return Table(cols)


def votable_to_frame(table) -> pd.DataFrame:
    """A DataFrame from a result table: masked floats become NaN, masked ints become nullable Int64."""
    df = table.to_pandas()
    for col in df.columns:
        if df[col].dtype == object and len(df) and isinstance(df[col].iloc[0], bytes):
            df[col] = df[col].str.decode("utf-8")
    return df


def _archive_cause(exc: BaseException) -> ArchiveError | None:
    """The ArchiveError that ``exc`` wraps, if any (pyvo keeps it in ``.cause`` or the chain)."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, ArchiveError):
            return exc
        seen.add(id(exc))
        exc = getattr(exc, "cause", None) or exc.__cause__ or exc.__context__
    return None


class TapClient:
    """Run ADQL against one TAP service (sync or async, with optional uploaded tables)."""

    def __init__(self, config: ArchiveConfig, *, cache: bool = True) -> None:
        if not config.url:
            raise ConfigError(
                f"{config.display_name}: no endpoint configured; set the matching SEDSCAPE_*_TAP_URL variable"
            )
        self.config = config
        self.session = ArchiveSession(config)
        self.cache = ResponseCache(config.service, enabled=cache)
        self._service = None

    def close(self) -> None:
        """Close the pooled connections (also done by ``with TapClient(...) as client:``)."""
        self.session.close()

    def __enter__(self) -> TapClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def service(self):
        if self._service is None:
            import pyvo

            self._service = pyvo.dal.TAPService(self.config.url, session=self.session)
        return self._service

    def query(
        self,
        adql: str,
        *,
        uploads: Mapping[str, pd.DataFrame] | None = None,
        mode: str = "sync",
        maxrec: int | None = None,
    ) -> pd.DataFrame:
        """Run ``adql`` and return its result as a DataFrame (from the cache when seen before)."""
        if mode not in MODES:
            raise ConfigError(f"unknown TAP mode {mode!r}; choose one of {', '.join(MODES)}")
        uploads = dict(uploads or {})
        key = request_key(self.config.url, adql, maxrec, *[(n, df) for n, df in sorted(uploads.items())])
        cached = self.cache.get_frame(key)
        if cached is not None:
            return cached
        what = f"{_short_query(adql)} ({mode}, {sum(len(u) for u in uploads.values())} uploaded rows)"
        up = {name: frame_to_votable_table(df) for name, df in uploads.items()} or None
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # VOTable spec chatter from the services' output
                table = self._run_sync(adql, up, maxrec) if mode == "sync" else self._run_async(adql, up, maxrec)
        except ArchiveError:
            raise
        except Exception as exc:
            inner = _archive_cause(exc)
            if inner is not None:  # pyvo wraps our session's errors in its own
                raise inner from exc
            raise self._translate(exc, what) from exc
        finally:
            self.session.release()
        df = votable_to_frame(table)
        self.cache.put_frame(key, df)
        log.debug("%s: %d rows for %s", self.config.display_name, len(df), what)
        return df

    def _run_sync(self, adql, uploads, maxrec):
        result = self.service.run_sync(adql, uploads=uploads, maxrec=maxrec)
        return result.to_table()

    def _run_async(self, adql, uploads, maxrec):
        job = self.service.submit_job(adql, uploads=uploads, maxrec=maxrec)
        try:
            job.run()
            self._wait(job)
            job.raise_if_error()
            return job.fetch_result().to_table()
        finally:
            try:
                job.delete()
            except Exception as exc:  # cleanup is best effort; the job expires on the server anyway
                log.debug("could not delete job %s: %s", getattr(job, "url", "?"), exc)

    def _wait(self, job) -> None:
        """Poll the job until it ends; abort it and fail when it outlives ``job_timeout_s``."""
        deadline = time.monotonic() + self.config.job_timeout_s
        interval = 0.25
        while True:
            phase = job.phase
            if phase in ("COMPLETED", "ERROR", "ABORTED"):
                return
            if time.monotonic() > deadline:
                try:
                    job.abort()
                except Exception as exc:  # best effort; the job expires on the server anyway
                    log.debug("could not abort job %s: %s", job.url, exc)
                raise ArchiveError(
                    self.config.display_name, f"job {job.url}",
                    f"the job is still {phase} after {self.config.job_timeout_s:g} s; it was aborted",
                    "The service may be busy; retry later or raise SEDSCAPE_ARCHIVE_JOB_TIMEOUT",
                )
            time.sleep(interval)
            interval = min(interval * 1.5, 30.0)

    def _translate(self, exc: Exception, what: str) -> ArchiveError:
        from pyvo.dal.exceptions import DALFormatError, DALQueryError, DALServiceError

        name = self.config.display_name
        text = str(exc).strip() or exc.__class__.__name__
        if isinstance(exc, DALQueryError):
            return ArchiveError(name, what, f"the service rejected the query: {text[:400]}",
                                "Fix the query or the options; this is not retried")
        if isinstance(exc, DALFormatError) or "parse" in text.lower() or "xml" in exc.__class__.__name__.lower():
            return ArchiveError(name, what, f"the answer is not a complete VOTable ({text[:300]})",
                                "The download was probably cut short; run the command again")
        if isinstance(exc, DALServiceError):
            code = getattr(exc, "code", None)
            hint = ("The request was rejected (not retried); check the query and options"
                    if code and 400 <= int(code) < 500 else "Retry later")
            return ArchiveError(name, what, f"service error: {text[:400]}", hint)
        return ArchiveError(name, what, f"unexpected {exc.__class__.__name__}: {text[:300]}",
                            "The answer could not be read; run the command again, or report it if it persists")
