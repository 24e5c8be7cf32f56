"""Checks every verb makes on its paths before any work: inputs readable, outputs writable, nothing clobbered.

Each failure is a :class:`~core.errors.SedscapeError` naming the path and what to do, so the CLI prints
one line and exits with code 2 before a long computation, and before anything is written.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pandas as pd

from core.errors import CatalogError, OutputExistsError, PathError

PARQUET_MAGIC = b"PAR1"


def input_file(path: str | Path, what: str = "input file") -> Path:
    """``path`` as a Path once it is known to be an existing, readable file."""
    p = Path(path)
    if not p.exists():
        raise PathError(f"{p}: no such file")
    if p.is_dir():
        raise PathError(f"{p}: is a directory, not a {what}")
    try:
        with open(p, "rb") as fh:
            fh.read(1)
    except OSError as exc:
        raise PathError(f"{p}: cannot read the {what} ({exc.strerror or exc})") from None
    return p


def input_dir(path: str | Path, what: str = "model directory") -> Path:
    """``path`` as a Path once it is known to be an existing directory whose entries can be listed."""
    p = Path(path)
    if not p.exists():
        raise PathError(f"{p}: no such {what}")
    if not p.is_dir():
        raise PathError(f"{p}: is a file, not a {what}")
    try:
        os.listdir(p)
    except OSError as exc:
        raise PathError(f"{p}: cannot read the {what} ({exc.strerror or exc})") from None
    return p


def _nearest_existing(path: Path) -> Path:
    p = path.absolute()
    while not p.exists() and p != p.parent:
        p = p.parent
    return p


def _check_can_create_in(parent: Path, target: Path, option: str) -> None:
    """Raise unless a file can be created in ``parent`` (or in its nearest existing ancestor)."""
    base = _nearest_existing(parent)
    if not base.is_dir():
        raise PathError(f"{option} {target}: {base} is a file, so nothing can be created under it")
    try:  # a real attempt: permission bits, read-only file systems and ACLs all show up here
        fd, probe = tempfile.mkstemp(prefix=".sedscape-write-test-", dir=base)
    except OSError as exc:
        raise PathError(f"{option} {target}: cannot write in {base} ({exc.strerror or exc})") from None
    os.close(fd)
    os.unlink(probe)


def output_file(path: str | Path, *, overwrite: bool, option: str = "--out") -> Path:
    """``path`` as a Path once a file can be written there; refuses a directory and, without
    ``overwrite``, an existing file."""
    p = Path(path)
    if p.is_dir():
        raise PathError(f"{option} {p} is a directory; give a file name, e.g. {p / 'catalog.parquet'}")
    if p.exists() and not overwrite:
        raise OutputExistsError(f"{p} exists; pass --overwrite to replace it")
    _check_can_create_in(p.parent, p, option)
    return p


def output_dir(path: str | Path, *, overwrite: bool | None = None, option: str = "--out") -> Path:
    """``path`` as a Path once it is (or can be created as) a directory we can write in.

    With ``overwrite=False`` a non-empty directory is refused; with ``None`` what may be replaced is
    the verb's own rule (a report folder, a resumable download folder).
    """
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise PathError(f"{option} {p} is a file; give a directory")
    if overwrite is False and p.is_dir() and any(p.iterdir()):
        raise OutputExistsError(f"{p} exists and is not empty; pass --overwrite to replace it")
    _check_can_create_in(p if p.exists() else p.parent, p, option)
    return p


def parquet_input(path: str | Path, verb: str, *, made_by: str = "ingest") -> Path:
    """``path`` once it is a readable Parquet file; any other file gets "run `sedscape MADE_BY` first"."""
    p = input_file(path, "catalog")
    with open(p, "rb") as fh:
        magic = fh.read(4)
    if magic == PARQUET_MAGIC or not p.stat().st_size:
        return p  # an empty or damaged Parquet file is named by the reader
    from core.readers import detect_format

    try:
        kind = f"it looks like {detect_format(p)}"
    except CatalogError as exc:
        kind = str(exc).removeprefix(f"{p}: ")
    if made_by == "ingest":
        how = f"run `sedscape ingest {p} --out CATALOG.parquet` first"
    else:
        how = f"make one with `sedscape {made_by}` first"
    raise CatalogError(
        f"{p}: not a Parquet catalog ({kind}); `sedscape {verb}` reads the Parquet that "
        f"`sedscape {made_by}` writes: {how}"
    )


def read_catalog_parquet(path: str | Path, verb: str, *, made_by: str = "ingest") -> pd.DataFrame:
    """Read the Parquet catalog a verb works on, after :func:`parquet_input`'s checks."""
    from core.catalog import read_parquet

    return read_parquet(parquet_input(path, verb, made_by=made_by))
