"""Checks on a text table that pandas or astropy would otherwise read without a word.

pandas fills a short row with NaN, keeps a last value cut from ``0.043`` to ``0.0``, renames a second
``g`` column to ``g.1``, can stop early at a stray quote, and happily parses an HTML error page. So,
before and after the parse: an HTML page is named as one (with its ``<title>``); duplicate column
names are refused; and every line is counted with its fields, so that a last line without its newline,
a row with too few or too many fields, or fewer rows read than lines present is refused with the line
number. Nothing is ever dropped without being counted.
"""

from __future__ import annotations

import csv
import html
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.errors import CatalogError

_CHUNK = 1 << 22
_HTML = re.compile(
    rb"^(?:\xef\xbb\xbf)?\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html|head|body|title)\b",
    re.IGNORECASE | re.DOTALL,
)
_TITLE = re.compile(rb"<title[^>]*>(.*?)</title\s*>", re.IGNORECASE | re.DOTALL)


def html_title(head: bytes) -> str | None:
    """The ``<title>`` of an HTML page ("" when it has none); ``None`` when ``head`` is not HTML."""
    if not _HTML.match(head):
        return None
    m = _TITLE.search(head)
    if not m:
        return ""
    text = html.unescape(m.group(1).decode("utf-8", errors="replace"))
    return " ".join(text.split())[:160]


def refuse_html(head: bytes, source: str) -> None:
    """Raise :class:`CatalogError` if ``head`` (a file's first bytes) starts an HTML page."""
    title = html_title(head)
    if title is None:
        return
    named = f'its title: "{title}"' if title else "it has no <title>"
    raise CatalogError(
        f"{source}: this is an HTML page, not a catalog ({named}); a web server sent a page (often an "
        "error page) instead of the data: download the catalog again"
    )


def check_unique_names(names: list[str], source: str, where: str = "the header") -> None:
    """Refuse duplicate column names (pandas and astropy would rename the second one silently)."""
    counts = Counter(names)
    dups = [n for n, k in counts.items() if k > 1]
    if not dups:
        return
    parts = []
    for name in dups:
        positions = [str(i + 1) for i, n in enumerate(names) if n == name]
        parts.append(f"{name!r} (columns {', '.join(positions)})")
    raise CatalogError(
        f"{source}: duplicate column name(s) in {where}: {'; '.join(parts)}; a reader would keep one under "
        "another name (g.1), so which values are which is unclear: rename or remove the extra column(s)"
    )


def split_header(line: str, sep: str) -> list[str]:
    """Column names of a header line, as the csv rules (quotes) read them, stripped."""
    row = next(csv.reader([line], delimiter=sep, skipinitialspace=sep == " "), [])
    return [name.strip() for name in row]


@dataclass
class LineScan:
    """What a scan of the whole file found: line counts and the empty lines among the data."""

    n_lines: int
    first_data_line: int
    ends_with_newline: bool
    blank_lines: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))

    @property
    def n_data_lines(self) -> int:
        """Non-empty lines from the first data line on: the rows a parser must return."""
        return max(self.n_lines - self.first_data_line + 1, 0) - len(self.blank_lines)

    def line_of(self, pos: int) -> int:
        """The file line (1-based) of data row ``pos`` (0-based), skipping empty lines as parsers do."""
        line = self.first_data_line + pos
        while True:
            shifted = self.first_data_line + pos + int(np.searchsorted(self.blank_lines, line, side="right"))
            if shifted == line:
                return line
            line = shifted


@dataclass
class _Findings:
    bad_line: int | None = None  # first data line with the wrong number of fields
    bad_fields: int = 0
    n_bad: int = 0
    lone_cr: int | None = None
    blanks: list[np.ndarray] = field(default_factory=list)

    def add(self, numbers: np.ndarray, n_fields_seen: np.ndarray, blank: np.ndarray, lone_cr: np.ndarray,
            first: int, n_fields: int) -> None:
        data = numbers >= first
        self.blanks.append(numbers[data & blank])
        bad = data & ~blank & (n_fields_seen != n_fields)
        if bad.any():
            k = int(np.flatnonzero(bad)[0])
            if self.bad_line is None:
                self.bad_line, self.bad_fields = int(numbers[k]), int(n_fields_seen[k])
            self.n_bad += int(bad.sum())
        cr = data & lone_cr
        if cr.any() and self.lone_cr is None:
            self.lone_cr = int(numbers[np.flatnonzero(cr)[0]])


def _scan_bytes(path: Path, sep: int, first: int, n_fields: int) -> tuple[int, bool, bool, _Findings]:
    """Vectorised pass over ``\\n``-separated lines: fields per line (separator count + 1), empty lines,
    carriage returns inside lines, and whether any quote character occurs."""
    found = _Findings()
    n_lines, carry, quoted = 0, b"", False
    with open(path, "rb") as fh:
        while True:
            block = fh.read(_CHUNK)
            if not block:
                break
            data = carry + block if carry else block
            arr = np.frombuffer(data, np.uint8)
            quoted = quoted or bool((arr == 34).any())
            nl = np.flatnonzero(arr == 10)
            if not len(nl):
                carry = data
                continue
            end = int(nl[-1]) + 1
            body = arr[:end]
            starts = np.concatenate(([0], nl[:-1] + 1))
            # Per-line counts from the positions of separators and carriage returns (fast for few lines
            # with many fields, unlike a reduction per line).
            seps = np.diff(np.searchsorted(np.flatnonzero(body == sep), nl), prepend=0)
            crs = np.diff(np.searchsorted(np.flatnonzero(body == 13), nl), prepend=0)
            length = nl - starts
            crlf = (length > 0) & (body[np.maximum(nl - 1, 0)] == 13)
            numbers = n_lines + 1 + np.arange(len(nl))
            found.add(numbers, seps + 1, length - crlf == 0, crs - crlf > 0, first, n_fields)
            n_lines += len(nl)
            carry = data[end:]
    ends_with_newline = not carry
    if carry:  # a last line without its newline
        n_lines += 1
        text = carry.rstrip(b"\r")
        found.add(np.array([n_lines]), np.array([text.count(bytes([sep])) + 1]), np.array([not text]),
                  np.array([b"\r" in text]), first, n_fields)
    return n_lines, ends_with_newline, quoted, found


def _scan_csv(path: Path, sep: str, first: int, n_fields: int, source: str) -> tuple[int, _Findings]:
    """The same checks through the csv rules, for files with quote characters (a quoted value may hold
    the separator); a quoted value running over several lines is refused."""
    found = _Findings()
    end = 0
    with open(path, newline="", encoding="utf-8", errors="replace") as fh:
        reader = csv.reader(fh, delimiter=sep, strict=True, skipinitialspace=sep == " ")
        try:
            for record in reader:
                start, end = end + 1, reader.line_num
                if end > start and start >= first:
                    raise CatalogError(
                        f"{source}: line {start:,} opens a quoted value that runs to line {end:,}; an "
                        f"unmatched quote character (\") on line {start:,}? Fix or remove it"
                    )
                found.add(np.array([start]), np.array([len(record)]),
                          np.array([not record or record == [""]]), np.array([False]), first, n_fields)
        except csv.Error as exc:  # raised inside the record that starts after the last one read
            raise CatalogError(
                f"{source}: line {end + 1:,} opens a quoted value that does not close where it should "
                f"(by line {reader.line_num:,}: {exc}); an unmatched quote character (\")? Fix or remove it"
            ) from exc
    return end, found


def scan_lines(path: Path, sep: str, first_data_line: int, n_fields: int, source: str) -> LineScan:
    """Check every line from ``first_data_line`` (1-based) on against the header's ``n_fields``.

    Raises :class:`CatalogError` naming the line for: a row with too few or too many fields, a last
    line without its newline (the file was cut short, perhaps mid-value), a carriage return inside a
    line, or a quoted value running over lines.
    """
    n_lines, ends_with_newline, quoted, found = _scan_bytes(path, ord(sep), first_data_line, n_fields)
    if quoted:
        n_lines, found = _scan_csv(path, sep, first_data_line, n_fields, source)
    if found.bad_line is not None:
        what = "too few" if found.bad_fields < n_fields else "too many"
        more = f" ({found.n_bad - 1:,} more line(s) also differ)" if found.n_bad > 1 else ""
        cut = ""
        if found.bad_line == n_lines and not ends_with_newline:
            cut = "; it is the last line and has no newline: the file was cut short mid-line"
        raise CatalogError(
            f"{source}: line {found.bad_line:,} has {found.bad_fields} field(s), {what}: the header has "
            f"{n_fields}{more}{cut}. Nothing was read"
        )
    if not ends_with_newline:
        raise CatalogError(
            f"{source}: the last line ({n_lines:,}) does not end with a newline: the file looks cut short "
            "(an interrupted download or copy), and its last value may be cut too (0.043 read as 0.0). "
            "Download it again; if the file is complete, end it with a newline"
        )
    if found.lone_cr is not None:
        raise CatalogError(
            f"{source}: line {found.lone_cr:,} holds a carriage return (\\r) inside the line, which parsers "
            "take for a line break; remove it"
        )
    blanks = np.concatenate(found.blanks) if found.blanks else np.empty(0, np.int64)
    return LineScan(n_lines, first_data_line, ends_with_newline, np.sort(blanks.astype(np.int64)))


def check_row_count(n_read: int, scan: LineScan, source: str, parser: str = "the parser") -> None:
    """Refuse when the parse returned another number of rows than the file has data lines."""
    if n_read == scan.n_data_lines:
        return
    last = scan.line_of(n_read - 1) if n_read else scan.first_data_line - 1
    raise CatalogError(
        f"{source}: {parser} read {n_read:,} rows but the file has {scan.n_data_lines:,} data lines "
        f"(lines {scan.first_data_line:,}-{scan.n_lines:,}); the parse stopped or merged lines after line "
        f"{last:,}. Nothing was read"
    )
