"""Compressed catalogs (.gz, .bz2, .xz, and .zip holding one file), recognised by their bytes, not their name.

The content is decompressed into a private temporary folder under its inner name, so every reader
(text, FITS, VOTable, Parquet) and the format detection see an ordinary file; error messages name the
compressed file. A stream that ends early or is damaged is refused, never read in part.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import shutil
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from core.errors import CatalogError

# Leading bytes of each container.
MAGIC: dict[str, bytes] = {"gzip": b"\x1f\x8b", "bz2": b"BZh", "xz": b"\xfd7zXZ\x00", "zip": b"PK\x03\x04"}
SUFFIXES: dict[str, str] = {".gz": "gzip", ".gzip": "gzip", ".bz2": "bz2", ".xz": "xz", ".zip": "zip"}
_DAMAGED = (EOFError, OSError, zlib.error, lzma.LZMAError, zipfile.BadZipFile, ValueError)


def compression_of(path: str | Path) -> str | None:
    """``gzip``, ``bz2``, ``xz`` or ``zip`` from the file's first bytes; ``None`` for anything else."""
    with open(path, "rb") as fh:
        head = fh.read(8)
    for name, magic in MAGIC.items():
        if head.startswith(magic):
            return name
    return None


def _zip_member(path: Path, zf: zipfile.ZipFile) -> zipfile.ZipInfo:
    members = [m for m in zf.infolist() if not m.is_dir() and not m.filename.startswith("__MACOSX/")]
    if not members:
        raise CatalogError(f"{path}: the zip archive holds no file")
    if len(members) > 1:
        names = ", ".join(m.filename for m in members[:10])
        raise CatalogError(
            f"{path}: the zip archive holds {len(members)} files ({names}); sedscape reads a zip with one "
            "catalog in it: unzip it and pass the catalog file"
        )
    return members[0]


def inner_name(path: str | Path, compression: str) -> str:
    """The name of the file inside: the zip member, or the name without its compression suffix."""
    path = Path(path)
    if compression == "zip":
        try:
            with zipfile.ZipFile(path) as zf:
                return Path(_zip_member(path, zf).filename).name
        except zipfile.BadZipFile as exc:
            raise CatalogError(f"{path}: a damaged zip archive ({exc})") from exc
    suffix = path.suffix.lower()
    return path.stem if SUFFIXES.get(suffix) == compression else path.name


@contextmanager
def open_decompressed(path: str | Path, compression: str) -> Iterator[BinaryIO]:
    """A binary stream of the decompressed content."""
    path = Path(path)
    if compression == "zip":
        with zipfile.ZipFile(path) as zf, zf.open(_zip_member(path, zf)) as fh:
            yield fh
        return
    opener = {"gzip": gzip.open, "bz2": bz2.open, "xz": lzma.open}[compression]
    with opener(path, "rb") as fh:
        yield fh


def head_bytes(path: str | Path, n: int = 4096) -> bytes:
    """The first ``n`` bytes of the content, decompressed when the file is compressed."""
    compression = compression_of(path)
    if compression is None:
        with open(path, "rb") as fh:
            return fh.read(n)
    try:
        with open_decompressed(path, compression) as fh:
            return fh.read(n)
    except CatalogError:
        raise
    except _DAMAGED as exc:
        raise CatalogError(f"{path}: the {compression} data is damaged ({exc.__class__.__name__}: {exc})") from exc


@contextmanager
def decompressed(path: str | Path) -> Iterator[tuple[Path, str | None]]:
    """Yield ``(file to read, compression)``: the file itself, or its content in a temporary folder."""
    path = Path(path)
    compression = compression_of(path)
    if compression is None:
        yield path, None
        return
    with tempfile.TemporaryDirectory(prefix="sedscape-decompressed-") as tmp:
        target = Path(tmp) / (inner_name(path, compression) or "catalog")
        try:
            with open_decompressed(path, compression) as src, open(target, "wb") as dst:
                shutil.copyfileobj(src, dst, length=1 << 22)
        except CatalogError:
            raise
        except _DAMAGED as exc:
            if isinstance(exc, OSError) and exc.errno is not None:
                raise  # the disk, not the data (e.g. no space left for the decompressed copy)
            raise CatalogError(
                f"{path}: the {compression} data is damaged or cut short ({exc.__class__.__name__}: {exc}); "
                "an interrupted download or copy? Nothing was read"
            ) from exc
        yield target, compression
