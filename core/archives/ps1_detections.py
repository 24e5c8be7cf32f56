"""PS1 DR2 single-epoch detections of a catalog's stars from MAST TAP, chunk by chunk so it can resume.

The catalog's ``obj_id`` (PS1 objIDs) are sorted and cut into chunks of ``chunk_size``; each chunk is
one TAP query on ``dbo.Detection`` (``objID IN (...)``) written atomically to ``DET.parquet.parts/``,
so an interrupted fetch resumes where it stopped. The parts are merged, converted to the epoch
contract (:mod:`core.readers.detections`: PS1 filterID -> band, psfFlux in Jy -> AB magnitudes) and
written sorted by star. Rough size: PS1 3pi has ~60 detections per star, ~0.1 kB each as VOTable:
~6 kB per star, 3.1 million stars ~20 GB and ~190 million rows (assumptions, not measurements).
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from core.archives.cache import atomic_write_bytes, atomic_write_frame
from core.archives.config import ArchiveConfig, archive_config
from core.archives.parallel import fetch_all
from core.archives.tap import TapClient
from core.errors import ArchiveError, ConfigError

log = logging.getLogger(__name__)

DETECTION_TABLE = "dbo.Detection"
DETECTION_COLUMNS: tuple[str, ...] = (
    "objID", "detectID", "filterID", "obsTime", "psfFlux", "psfFluxErr", "psfQfPerfect", "infoFlag",
)


def detection_adql(obj_ids: np.ndarray, table: str = DETECTION_TABLE) -> str:
    """ADQL for the detections of ``obj_ids``."""
    ids = ", ".join(str(int(i)) for i in obj_ids)
    return f"SELECT {', '.join(DETECTION_COLUMNS)} FROM {table} WHERE objID IN ({ids})"


@dataclass
class DetectionFetch:
    """What a fetch did: the epochs (contract columns) and its bookkeeping."""

    epochs: pd.DataFrame
    n_chunks: int
    n_chunks_resumed: int
    n_objects_requested: int
    n_objects_with_detections: int


class DetectionFetcher:
    """Fetch the detections of ``obj_ids`` into ``parts_dir`` chunk by chunk (see the module docstring)."""

    def __init__(
        self,
        parts_dir: str | Path,
        obj_ids: np.ndarray,
        *,
        chunk_size: int = 500,
        config: ArchiveConfig | None = None,
        mode: str = "async",
        progress: bool | None = None,
    ) -> None:
        if not 1 <= chunk_size <= 5000:
            raise ConfigError(f"chunk_size must be between 1 and 5000 objects, got {chunk_size}")
        self.parts_dir = Path(parts_dir)
        self.obj_ids = np.unique(np.asarray(obj_ids, dtype=np.int64))
        self.chunk_size = chunk_size
        self.config = config or archive_config("ps1")
        self.mode = mode
        self.progress = progress
        self.chunks = [self.obj_ids[s:s + chunk_size] for s in range(0, len(self.obj_ids), chunk_size)]
        self._local = threading.local()
        self._clients: list[TapClient] = []
        self._lock = threading.Lock()

    def manifest(self) -> dict:
        digest = hashlib.sha256(self.obj_ids.tobytes()).hexdigest()
        return {"service": self.config.display_name, "url": self.config.url, "table": DETECTION_TABLE,
                "columns": list(DETECTION_COLUMNS), "chunk_size": self.chunk_size,
                "n_objects": int(len(self.obj_ids)), "obj_ids_sha256": digest}

    def _check_manifest(self) -> None:
        path = self.parts_dir / "fetch.json"
        mine = self.manifest()
        if path.exists():
            theirs = json.loads(path.read_text())
            diff = [k for k in ("columns", "chunk_size", "obj_ids_sha256") if theirs.get(k) != mine.get(k)]
            if diff:
                raise ConfigError(f"{self.parts_dir} holds a fetch of other {', '.join(diff)}; use another --out "
                                  "or delete that folder")
        else:
            atomic_write_bytes(path, json.dumps(mine, indent=2).encode())

    def _client(self) -> TapClient:
        client = getattr(self._local, "client", None)
        if client is None:
            client = TapClient(self.config, cache=False)  # the part files are the cache
            self._local.client = client
            with self._lock:
                self._clients.append(client)
        return client

    def _part(self, k: int) -> Path:
        return self.parts_dir / f"part_{k:06d}.parquet"

    def fetch_chunk(self, k: int) -> Path:
        df = self._client().query(detection_adql(self.chunks[k]), mode=self.mode)
        atomic_write_frame(self._part(k), df)
        return self._part(k)

    def run(self, on_chunk: Callable[[int], None] | None = None) -> DetectionFetch:
        """Fetch every missing chunk (bounded concurrency), then merge and convert."""
        from tqdm.auto import tqdm

        self.parts_dir.mkdir(parents=True, exist_ok=True)
        self._check_manifest()
        todo = [k for k in range(len(self.chunks)) if not self._part(k).exists()]
        resumed = len(self.chunks) - len(todo)
        bar = tqdm(total=len(self.chunks), initial=resumed, unit="chunk", desc="PS1 detections",
                   disable=None if self.progress is None else not self.progress)
        try:
            fetch_all(todo, self.fetch_chunk, max_workers=self.config.max_workers, bar=bar,
                      interrupted=self._interrupted, on_done=on_chunk)
        finally:
            with self._lock:
                for c in self._clients:
                    c.close()
                self._clients.clear()
            bar.close()
        return self.merge(resumed)

    def _interrupted(self, exc: BaseException) -> BaseException:
        saved = len(list(self.parts_dir.glob("part_*.parquet")))
        note = f"{saved} of {len(self.chunks)} chunks are saved in {self.parts_dir}; run the same command again to resume"
        if isinstance(exc, ArchiveError):
            hint = f"{exc.hint.rstrip('. ')}. {note}" if exc.hint else note
            return type(exc)(exc.service, exc.request, exc.problem, hint)
        return exc

    def merge(self, n_resumed: int = 0) -> DetectionFetch:
        from core.readers.detections import ps1_detections_to_epochs

        frames = [pd.read_parquet(self._part(k)) for k in range(len(self.chunks))]
        frames = [f for f in frames if len(f)]
        if not frames:
            raw = pd.DataFrame({c: pd.Series(dtype=float) for c in DETECTION_COLUMNS})
            epochs = pd.DataFrame(columns=["obj_id", "band", "mjd", "mag", "mag_err"])
        else:
            raw = pd.concat(frames, ignore_index=True)
            epochs = ps1_detections_to_epochs(raw, source=f"{self.config.display_name} {DETECTION_TABLE}")
        epochs.attrs.setdefault("sedscape", {})["provenance"] = self.manifest()
        n_with = int(epochs["obj_id"].nunique()) if len(epochs) else 0
        return DetectionFetch(epochs, len(self.chunks), n_resumed, int(len(self.obj_ids)), n_with)
