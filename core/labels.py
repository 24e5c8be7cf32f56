"""Labels people give stars: a SQLite database beside the catalog that several sessions write at once.

Each row is one star given one label, with where it came from (the selection geometry, the model and
threshold in use), when, and an optional note. The database runs in WAL mode with full
synchronisation, so readers never block writers, several dashboard sessions (threads or processes)
can label at once, and a label whose ``add`` returned survives the process being killed.
Answers to the anomaly ranking ("interesting" / "not interesting") are labels like any other.
"""

from __future__ import annotations

import csv
import json
import logging
import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.atomic import partial_target
from core.errors import CatalogError, ConfigError, OutputExistsError

log = logging.getLogger(__name__)

LABELS_ENV = "SEDSCAPE_LABELS"
INTERESTING = "interesting"
NOT_INTERESTING = "not interesting"
MAX_LABEL_LENGTH = 80
CSV_COLUMNS = ("obj_id", "label", "origin", "created", "note")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS labels (
    id INTEGER PRIMARY KEY,
    obj_id INTEGER NOT NULL,
    label TEXT NOT NULL,
    origin TEXT NOT NULL DEFAULT '{}',
    created TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    UNIQUE (obj_id, label) ON CONFLICT REPLACE
);
CREATE INDEX IF NOT EXISTS labels_by_label ON labels (label);
CREATE TABLE IF NOT EXISTS label_writes (n INTEGER NOT NULL);
INSERT INTO label_writes (n) SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM label_writes);
"""


def labels_path_for(catalog: str | Path, environ: dict[str, str] | None = None) -> Path:
    """Where a catalog's labels live: ``$SEDSCAPE_LABELS`` if set, else ``<catalog>.labels.sqlite`` beside it."""
    environ = os.environ if environ is None else environ
    if environ.get(LABELS_ENV):
        return Path(environ[LABELS_ENV]).expanduser()
    catalog = Path(catalog)
    return catalog.with_name(catalog.name + ".labels.sqlite")


def check_label(label: str) -> str:
    """A label name, stripped; empty, over-long or multi-line names are refused with the reason."""
    name = str(label).strip()
    if not name:
        raise ConfigError("a label needs a name (got an empty string)")
    if len(name) > MAX_LABEL_LENGTH:
        raise ConfigError(f"label names are at most {MAX_LABEL_LENGTH} characters; got {len(name)}: {name[:30]!r}...")
    if any(c in name for c in "\r\n\t"):
        raise ConfigError(f"label names are one line of text; got {name!r}")
    return name


@dataclass(frozen=True)
class LabelSummary:
    """One label: how many stars carry it and when it was last given."""

    label: str
    n_stars: int
    last: str


class LabelStore:
    """The labels of one catalog, in a SQLite file (created on first use).

    Each call opens its own short transaction on a per-thread connection, so the store can be shared by
    every thread of a server and opened by several processes at once.
    """

    def __init__(self, path: str | Path, *, timeout_s: float = 30.0) -> None:
        self.path = Path(path)
        self.timeout_s = float(timeout_s)
        self._local = threading.local()
        if self.path.exists() and self.path.is_dir():
            raise CatalogError(f"{self.path}: is a directory, not a label database")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._connection().executescript(_SCHEMA)  # idempotent; executescript commits by itself
        except sqlite3.DatabaseError as exc:
            raise CatalogError(f"{self.path}: not a usable label database ({exc})") from exc

    # ----- connections -----------------------------------------------------------------------------
    def _connection(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            try:
                db = sqlite3.connect(self.path, timeout=self.timeout_s, isolation_level=None)
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA synchronous=FULL")  # a returned write is on disk, even if the process dies
            except sqlite3.DatabaseError as exc:
                raise CatalogError(f"{self.path}: not a usable label database ({exc})") from exc
            self._local.db = db
        return db

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        db = self._connection()
        try:
            db.execute("BEGIN IMMEDIATE")
        except sqlite3.DatabaseError as exc:
            raise CatalogError(f"{self.path}: cannot write labels ({exc})") from exc
        try:
            yield db
            db.execute("UPDATE label_writes SET n = n + 1")  # what version() reads, committed with the write
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def close(self) -> None:
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None

    # ----- writing ---------------------------------------------------------------------------------
    def add(
        self,
        obj_ids: Iterable[int] | np.ndarray,
        label: str,
        *,
        origin: dict[str, Any] | None = None,
        note: str = "",
    ) -> int:
        """Give ``label`` to every star in ``obj_ids`` in one transaction; returns how many rows were written.

        A star that already has the label gets the new origin, note and time (one row per star and label).
        """
        label = check_label(label)
        ids = np.unique(np.asarray(list(obj_ids) if not isinstance(obj_ids, np.ndarray) else obj_ids, dtype=np.int64))
        if ids.size == 0:
            return 0
        when = datetime.now(timezone.utc).isoformat(timespec="milliseconds")
        origin_json = json.dumps(origin or {}, default=str, sort_keys=True)
        rows = ((int(i), label, origin_json, when, str(note)) for i in ids)
        with self._transaction() as db:
            db.executemany("INSERT INTO labels (obj_id, label, origin, created, note) VALUES (?, ?, ?, ?, ?)", rows)
        log.info("labelled %d star(s) %r in %s", ids.size, label, self.path)
        return int(ids.size)

    def answer(self, obj_id: int, interesting: bool, *, origin: dict[str, Any] | None = None, note: str = "") -> None:
        """Record an answer to the anomaly ranking: :data:`INTERESTING` or :data:`NOT_INTERESTING` on one star,
        replacing an earlier opposite answer in the same transaction (a star has at most one answer)."""
        give, drop = (INTERESTING, NOT_INTERESTING) if interesting else (NOT_INTERESTING, INTERESTING)
        when = datetime.now(timezone.utc).isoformat(timespec="milliseconds")
        origin_json = json.dumps(origin or {}, default=str, sort_keys=True)
        with self._transaction() as db:
            db.execute("DELETE FROM labels WHERE label = ? AND obj_id = ?", (drop, int(obj_id)))
            db.execute("INSERT INTO labels (obj_id, label, origin, created, note) VALUES (?, ?, ?, ?, ?)",
                       (int(obj_id), give, origin_json, when, str(note)))  # fmt: skip
        log.info("answer %r for star %d in %s", give, int(obj_id), self.path)

    def remove(self, label: str, obj_ids: Iterable[int] | None = None) -> int:
        """Take ``label`` off the given stars (or off every star); returns how many rows went."""
        label = check_label(label)
        with self._transaction() as db:
            if obj_ids is None:
                cur = db.execute("DELETE FROM labels WHERE label = ?", (label,))
            else:
                ids = [(label, int(i)) for i in np.unique(np.asarray(list(obj_ids), dtype=np.int64))]
                cur = db.executemany("DELETE FROM labels WHERE label = ? AND obj_id = ?", ids)
            return int(cur.rowcount)

    # ----- reading ---------------------------------------------------------------------------------
    def summary(self) -> list[LabelSummary]:
        """Every label with its star count, most used first."""
        rows = self._connection().execute(
            "SELECT label, COUNT(*), MAX(created) FROM labels GROUP BY label ORDER BY COUNT(*) DESC, label"
        ).fetchall()
        return [LabelSummary(r[0], int(r[1]), r[2]) for r in rows]

    def names(self) -> list[str]:
        return [s.label for s in self.summary()]

    def members(self, label: str) -> np.ndarray:
        """Sorted obj_ids of the stars carrying ``label`` (int64; empty when none do)."""
        rows = self._connection().execute("SELECT obj_id FROM labels WHERE label = ? ORDER BY obj_id", (label,))
        return np.fromiter((r[0] for r in rows), dtype=np.int64)

    def answers(self) -> dict[int, bool]:
        """The anomaly-ranking answers so far: obj_id -> interesting (the latest answer when a star has both)."""
        rows = self._connection().execute(
            "SELECT obj_id, label FROM labels WHERE label IN (?, ?) ORDER BY created, id", (INTERESTING, NOT_INTERESTING)
        )
        return {int(o): name == INTERESTING for o, name in rows}

    def label_column(self, obj_ids: np.ndarray, sep: str = ";") -> np.ndarray:
        """Per star of ``obj_ids``, its labels sorted and joined by ``sep`` ("" for none): the ``labels``
        column of exports (object array aligned with ``obj_ids``)."""
        obj_ids = np.asarray(obj_ids, dtype=np.int64)
        rows = self._connection().execute("SELECT obj_id, label FROM labels ORDER BY obj_id, label").fetchall()
        out = np.full(len(obj_ids), "", dtype=object)
        if not rows or not len(obj_ids):
            return out
        frame = pd.DataFrame(rows, columns=["obj_id", "label"])
        joined = frame.groupby("obj_id", sort=True)["label"].agg(sep.join)
        pos = joined.index.to_numpy(np.int64).searchsorted(obj_ids)
        pos = np.minimum(pos, len(joined) - 1)
        hit = joined.index.to_numpy(np.int64)[pos] == obj_ids
        out[hit] = joined.to_numpy(dtype=object)[pos[hit]]
        return out

    def version(self) -> tuple:
        """A cheap token that changes whenever any thread or process adds, replaces or removes a label, for
        views that refresh when another session labels: a write counter committed with every write (row
        counts, ids and times can repeat: a label removed and added again within a millisecond)."""
        return tuple(self._connection().execute("SELECT n FROM label_writes").fetchone())

    def table(self, label: str | None = None) -> pd.DataFrame:
        """Every label row (or one label's) as a DataFrame with :data:`CSV_COLUMNS`."""
        sql = "SELECT obj_id, label, origin, created, note FROM labels"
        args: tuple = ()
        if label is not None:
            sql, args = sql + " WHERE label = ?", (label,)
        rows = self._connection().execute(sql + " ORDER BY label, obj_id", args).fetchall()
        frame = pd.DataFrame(rows, columns=list(CSV_COLUMNS))
        return frame.astype({"obj_id": np.int64})

    def __len__(self) -> int:
        return int(self._connection().execute("SELECT COUNT(*) FROM labels").fetchone()[0])

    # ----- CSV -------------------------------------------------------------------------------------
    def export_csv(self, path: str | Path, *, label: str | None = None, overwrite: bool = False) -> int:
        """Write ``obj_id,label,origin,created,note`` rows (all labels, or one) to ``path``; returns the row count."""
        path = Path(path)
        if path.is_dir():
            raise CatalogError(f"{path}: is a directory; give a file name for the CSV")
        if path.exists() and not overwrite:
            raise OutputExistsError(f"{path} exists; pass --overwrite to replace it")
        frame = self.table(label)
        with partial_target(path) as tmp:
            frame.to_csv(tmp, index=False, quoting=csv.QUOTE_NONNUMERIC)
            tmp.replace(path)
        return len(frame)

    def import_csv(self, path: str | Path, *, label: str | None = None) -> int:
        """Add the labels of a CSV with ``obj_id`` and ``label`` columns (``label=`` gives one label to all rows).

        ``origin`` and ``note`` columns are kept when present. Rows without an integer obj_id or a label
        are refused with their line numbers; nothing is written unless every row is good.
        """
        path = Path(path)
        if not path.is_file():
            raise CatalogError(f"{path}: no such file")
        try:
            frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
            raise CatalogError(f"{path}: not a readable CSV ({exc})") from exc
        if "obj_id" not in frame.columns:
            raise CatalogError(f"{path}: needs an obj_id column; columns: {', '.join(frame.columns)}")
        if label is None and "label" not in frame.columns:
            raise CatalogError(f"{path}: needs a label column (or give one label for every row with --label)")
        ids = pd.to_numeric(frame["obj_id"].str.strip(), errors="coerce")
        names = frame["label"].str.strip() if label is None else pd.Series(check_label(label), index=frame.index)
        bad = ids.isna() | (ids != ids.round()) | (names == "")
        if bad.any():
            lines = (np.flatnonzero(bad.to_numpy()) + 2).tolist()  # header is line 1
            raise CatalogError(
                f"{path}: {int(bad.sum())} row(s) lack an integer obj_id or a label, at line(s) "
                f"{', '.join(map(str, lines[:10]))}{' ...' if len(lines) > 10 else ''}; nothing imported"
            )
        frame = frame.assign(obj_id=ids.astype(np.int64), label=names)
        for name in frame["label"].unique():
            check_label(name)
        when = datetime.now(timezone.utc).isoformat(timespec="milliseconds")
        rows = [
            (int(r.obj_id), r.label, getattr(r, "origin", "") or json.dumps({"imported_from": str(path)}),
             getattr(r, "created", "") or when, getattr(r, "note", "") or "")
            for r in frame.itertuples(index=False)
        ]  # fmt: skip
        with self._transaction() as db:
            db.executemany("INSERT INTO labels (obj_id, label, origin, created, note) VALUES (?, ?, ?, ?, ?)", rows)
        return len(rows)


__all__ = [
    "CSV_COLUMNS",
    "INTERESTING",
    "LABELS_ENV",
    "NOT_INTERESTING",
    "LabelStore",
    "LabelSummary",
    "check_label",
    "labels_path_for",
]
