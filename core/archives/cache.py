"""On-disk cache of archive answers, keyed by the request, written atomically.

Entries live under ``core.paths.cache_dir()/<service>/<key[:2]>/<key>.<ext>``; a key is the SHA-256
of the request's parts (URL, query text, hash of uploaded rows, options). Only complete, parsed
answers are stored, so a truncated download can never be served from the cache.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any

import pandas as pd

from core.atomic import partial_target
from core.paths import cache_dir

log = logging.getLogger(__name__)


def request_key(*parts: Any) -> str:
    """A stable hex key for the request made of ``parts`` (strings, numbers, bytes, DataFrames)."""
    h = hashlib.sha256()
    for part in parts:
        if isinstance(part, pd.DataFrame):
            h.update(pd.util.hash_pandas_object(part, index=False).to_numpy().tobytes())
            h.update(",".join(map(str, part.columns)).encode())
        elif isinstance(part, bytes):
            h.update(part)
        else:
            h.update(json.dumps(part, sort_keys=True, default=str).encode())
        h.update(b"\x1f")
    return h.hexdigest()


def atomic_write_bytes(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file in the same folder, then rename."""
    path = Path(path)
    with partial_target(path) as tmp:
        tmp.write_bytes(data)
        tmp.replace(path)
    return path


def atomic_write_frame(path: Path, df: pd.DataFrame) -> Path:
    """Write ``df`` as Parquet through a temporary file, then rename (no partial file is ever visible)."""
    path = Path(path)
    with partial_target(path) as tmp:
        df.to_parquet(tmp, index=False)
        tmp.replace(path)
    return path


class ResponseCache:
    """The cache of one service; ``enabled=False`` makes every lookup a miss and every store a no-op."""

    def __init__(self, service: str, *, enabled: bool = True, root: Path | None = None) -> None:
        self.service = service
        self.enabled = enabled
        self._root = root

    @property
    def root(self) -> Path:
        return (self._root or cache_dir()) / self.service

    def path(self, key: str, ext: str) -> Path:
        return self.root / key[:2] / f"{key}.{ext}"

    def get_bytes(self, key: str, ext: str = "bin") -> bytes | None:
        if not self.enabled:
            return None
        p = self.path(key, ext)
        if not p.exists():
            return None
        log.debug("%s cache hit %s", self.service, p.name)
        return p.read_bytes()

    def put_bytes(self, key: str, data: bytes, ext: str = "bin") -> None:
        if self.enabled:
            atomic_write_bytes(self.path(key, ext), data)

    def get_frame(self, key: str) -> pd.DataFrame | None:
        if not self.enabled:
            return None
        p = self.path(key, "parquet")
        if not p.exists():
            return None
        try:
            return pd.read_parquet(p)
        except Exception as exc:  # a damaged entry is a miss, and is removed
            log.warning("dropping unreadable cache entry %s (%s)", p, exc)
            p.unlink(missing_ok=True)
            return None

    def put_frame(self, key: str, df: pd.DataFrame) -> None:
        if self.enabled:
            atomic_write_frame(self.path(key, "parquet"), df)
