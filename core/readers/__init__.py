"""Read a photometric catalog from a file into the catalog contract.

Formats (auto-detected from extension and content): MAST portal TSV exports, CasJobs/MAST CSV with
PS1 column names, plain CSV/TSV in the contract, astropy ECSV, FITS tables, VOTables (TAP results)
and Parquet.
Columns are renamed, ``l, b`` computed when absent, sentinels (-999) turned into NaN and counted in
``df.attrs['sedscape']['ingest']``; no row is dropped here (the selection pipeline does that).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from core.bands import PS1, BandSet, get_band_set
from core.catalog import optional_columns, validate_catalog
from core.errors import CatalogError, ConfigError
from core.readers import columns as cols
from core.readers.compressed import compression_of, decompressed, head_bytes, inner_name
from core.readers.formats import (
    RawTable,
    is_mast_types_line,
    read_csv,
    read_ecsv,
    read_fits,
    read_parquet_raw,
    read_text,
    read_tsv,
    read_votable,
)
from core.readers.textcheck import refuse_html
from core.readers.units import angle_factor, band_photometry, check_designations, phot_unit

log = logging.getLogger(__name__)

READERS: dict[str, Callable[..., RawTable]] = {
    "mast-tsv": read_tsv,
    "csv": read_csv,
    "tsv": read_tsv,
    "text": read_text,
    "ecsv": read_ecsv,
    "fits": read_fits,
    "votable": read_votable,
    "parquet": read_parquet_raw,
}

_EXTENSIONS = {
    ".parquet": "parquet",
    ".pq": "parquet",
    ".fits": "fits",
    ".fit": "fits",
    ".fts": "fits",
    ".vot": "votable",
    ".votable": "votable",
    ".xml": "votable",
    ".csv": "csv",
    ".ecsv": "ecsv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".txt": "text",
    ".dat": "text",
}


_SNIFF_BYTES = 1 << 16


def detect_format(path: str | Path) -> str:
    """The reader name for ``path``, from its first bytes first and its extension second.

    Compressed files (.gz, .bz2, .xz, a .zip with one file) are looked into: the answer is the
    format of the file inside. An HTML page raises :class:`CatalogError` saying so, with its title.
    """
    path = Path(path)
    compression = compression_of(path)
    if compression is None:
        with open(path, "rb") as fh:
            return _detect_plain(fh.read(_SNIFF_BYTES), path.name, str(path))
    name = inner_name(path, compression)
    return _detect_plain(head_bytes(path, _SNIFF_BYTES), name, f"{path} ({compression}, {name} inside)")


def _detect_plain(head: bytes, name: str, source: str) -> str:
    """The format from a file's first bytes ``head`` and its (inner) ``name``."""
    if head.startswith(b"PAR1"):
        return "parquet"
    if head.startswith(b"SIMPLE  ="):
        return "fits"
    refuse_html(head, source)
    stripped = head[:512].lstrip()
    if stripped.startswith(b"<?xml") or stripped[:200].upper().find(b"<VOTABLE") >= 0:
        return "votable"
    suffixes = [s.lower() for s in Path(name).suffixes]
    ext = suffixes[-1] if suffixes else ""
    fmt = _EXTENSIONS.get(ext)
    if fmt in ("parquet", "fits", "votable"):
        # The extension promises a binary/XML format the bytes do not show: damaged file.
        raise CatalogError(
            f"{source}: the name says {fmt} but the content is not {fmt} (damaged or mislabelled?)"
        )
    if b"\x00" in head[:512]:
        raise CatalogError(
            f"{source}: unknown format (binary content); known formats: {', '.join(sorted(READERS))}"
        )
    lines = [line.rstrip("\r") for line in head.decode("utf-8", errors="replace").split("\n")[:3]]
    if lines and lines[0].startswith("# %ECSV"):
        return "ecsv"
    if len(lines) > 1 and "\t" in lines[0] and is_mast_types_line(lines[0].split("\t"), lines[1], "\t"):
        return "mast-tsv"
    if fmt:
        return fmt
    if lines and ("\t" in lines[0] or "," in lines[0]):
        return "text"
    raise CatalogError(
        f"{source}: cannot tell the format from the name or content; pass format= (--format) with one of "
        f"{', '.join(sorted(READERS))}"
    )


def read_catalog(
    path: str | Path,
    *,
    format: str | None = None,
    bands: BandSet | str = PS1,
    units: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Read ``path`` into the catalog contract for ``bands`` (a BandSet or its name).

    ``units`` declares units the file does not (or overrides those it does), keyed by contract or
    file column name, e.g. ``{"ra": "hourangle", "g": "nJy", "g_err": "nJy"}``.
    Compressed files are read through; see the README section "What the readers accept".
    Raises :class:`CatalogError` for missing files, empty or header-only files, damaged
    Parquet/FITS/VOTable, HTML pages, truncated text (naming the line), duplicate or missing columns,
    non-numeric values (naming the column, a bad value and its row) and values in the wrong unit.
    """
    bands = get_band_set(bands)
    path = Path(path)
    if not path.exists():
        raise CatalogError(f"{path}: no such file")
    if path.is_dir():
        raise CatalogError(f"{path}: is a directory, not a catalog file")
    if path.stat().st_size == 0:
        raise CatalogError(f"{path}: the file is empty (0 bytes)")
    if format is not None and format not in READERS:
        raise ConfigError(f"unknown catalog format {format!r}; known: {', '.join(sorted(READERS))}")
    with decompressed(path) as (inner, compression):
        source = str(path) if compression is None else f"{path} ({compression}, {inner.name} inside)"
        if compression is not None and inner.stat().st_size == 0:
            raise CatalogError(f"{source}: the compressed file is empty")
        with open(inner, "rb") as fh:
            head = fh.read(_SNIFF_BYTES)
        refuse_html(head, source)
        if format is None:
            format = _detect_plain(head, inner.name, source)
        try:
            raw = READERS[format](inner, source)
        except CatalogError as exc:
            if compression is None:
                raise
            raise CatalogError(str(exc).replace(str(inner), source)) from exc
    df = to_contract(raw, bands, source=source, units=units)
    info = df.attrs["sedscape"]["ingest"]
    info["path"] = str(path)
    if compression is not None:
        info["compression"] = compression
        info["inner_name"] = inner.name
    return df


def _declared_units(raw: RawTable, found: dict[str, str], units: Mapping[str, str] | None) -> dict[str, str]:
    """Contract column -> declared unit: ``units`` (by contract or file name) over the file's own."""
    out = {name: raw.units[src] for name, src in found.items() if src in raw.units}
    for key, unit in (units or {}).items():
        name = key if key in found else next((n for n, src in found.items() if src == key), None)
        if name is None:
            raise ConfigError(
                f"units given for {key!r}, which is neither a contract column nor a column of the file "
                f"(columns used: {', '.join(f'{n}={s}' for n, s in found.items())})"
            )
        out[name] = unit
    return out


def to_contract(
    raw: RawTable, bands: BandSet = PS1, *, source: str = "catalog", units: Mapping[str, str] | None = None
) -> pd.DataFrame:
    """Rename, convert and clean a raw table into the contract; counts every sentinel and NaN.

    Declared units are converted (and said so in ``attrs['sedscape']['ingest']['notes']``), RA/Dec are
    checked against PS1 designations when an ``objName`` column exists, and values that cannot be
    magnitudes or magnitude errors are refused.
    """
    frame = raw.df
    columns = [str(c) for c in frame.columns]
    found = cols.resolve_columns(columns, bands)
    cols.check_required(found, columns, bands, source)
    declared = _declared_units(raw, found, units)
    out = pd.DataFrame(index=pd.RangeIndex(len(frame)))
    info: dict = {"format": raw.format, "n_rows": len(frame), **raw.info, "columns": dict(found)}
    notes: list[str] = []
    if declared:
        info["units"] = declared

    if "obj_id" in found:
        out["obj_id"] = cols.obj_ids(frame[found["obj_id"]], found["obj_id"], source)
    else:
        log.warning("%s: no id column; obj_id is the row number", source)
        out["obj_id"] = np.arange(len(frame), dtype=np.int64)
        info["obj_id_generated"] = True
    ra, dec = _coordinates(frame, found, declared, source, raw.line_of, notes, info)
    out["ra"], out["dec"] = ra, dec
    if "l" in found and "b" in found:
        out["l"] = cols.to_numeric(frame[found["l"]], found["l"], source, line_of=raw.line_of)
        out["b"] = cols.to_numeric(frame[found["b"]], found["b"], source, line_of=raw.line_of)
    else:
        out["l"], out["b"] = cols.galactic(out["ra"].to_numpy(float), out["dec"].to_numpy(float))
        info["l_b_computed"] = True
    nan_ra = int(out["ra"].isna().sum() + out["dec"].isna().sum())
    if nan_ra:
        raise CatalogError(f"{source}: ra/dec are empty in {nan_ra} row(s); every star needs a position")

    sentinels: dict[str, int] = {}
    nans: dict[str, int] = {}
    values_of: dict[str, pd.Series] = {}
    numeric = [c for c in found if c not in ("obj_id", "ra", "dec", "l", "b")]
    for name in _contract_order(numeric, bands):
        src = found[name]
        values = cols.to_numeric(frame[src], src, source, line_of=raw.line_of)
        marks = cols.sentinels_for(name, bands)
        if name in declared and name in bands.names + bands.err_columns and _is_flux(declared[name]):
            marks = cols.HARD_SENTINELS  # 99 or 999 nanomaggies are real fluxes
        is_sent = values.isin(marks)
        if is_sent.any():
            sentinels[name] = int(is_sent.sum())
            values = values.mask(is_sent)
        values_of[name] = values
    nonpositive_flux: dict[str, int] = {}
    for band in bands.bands:
        mag_name, err_name = band.name, f"{band.name}_err"
        phot = band_photometry(
            values_of[mag_name].to_numpy(float),
            values_of[err_name].to_numpy(float),
            band,
            (found[mag_name], found[err_name]),
            (declared.get(mag_name), declared.get(err_name)),
            source,
        )
        values_of[mag_name] = pd.Series(phot.mag, index=out.index)
        values_of[err_name] = pd.Series(phot.err, index=out.index)
        notes.extend(phot.notes)
        if phot.nonpositive_flux:
            nonpositive_flux[mag_name] = phot.nonpositive_flux
    nonpositive_err: dict[str, int] = {}
    for name in _contract_order(numeric, bands):
        values = values_of[name]
        if name in bands.err_columns:
            n_bad = int((values <= 0).sum())
            if n_bad:
                nonpositive_err[name] = n_bad
        if values.isna().any():
            nans[name] = int(values.isna().sum())
        if name.startswith("n_") and not values.isna().any():
            out[name] = values.astype(np.int32)
        else:
            out[name] = values.astype(float)
    if nonpositive_err:
        n_neg = {k: int((values_of[k] < 0).sum()) for k in nonpositive_err}
        counts = [f"{k} {v:,}" + (f" ({n_neg[k]:,} negative)" if n_neg[k] else "") for k, v in nonpositive_err.items()]
        notes.append("errors <= 0 (not measurements; the error cut removes them): " + ", ".join(counts))
    for name in ("simbad_otype", "simbad_id", "simbad_category"):  # text columns kept as they are
        if name in frame.columns:
            out[name] = frame[name].to_numpy()
            found[name] = name
    info["sentinels"] = sentinels
    info["missing"] = nans  # NaN after sentinel replacement and unit conversion, per column
    info["nonpositive_errors"] = nonpositive_err
    if nonpositive_flux:
        info["nonpositive_flux"] = nonpositive_flux
    info["unused_columns"] = [c for c in columns if c not in set(found.values())]
    info["notes"] = notes

    meta = dict(raw.attrs)
    meta["ingest"] = info
    out.attrs["sedscape"] = meta
    report = validate_catalog(out, bands, source=source)
    if sentinels:
        log.info(
            "%s: sentinel values set to NaN: %s", source, ", ".join(f"{k}={v}" for k, v in sentinels.items())
        )
    for note in notes:
        log.warning("%s: %s", source, note)
    log.info("%s: read %d rows (%s); %s", source, len(out), raw.format, report.summary())
    return out


def _is_flux(unit: str) -> bool:
    try:
        kind = phot_unit(unit, "", "", "")
    except CatalogError:
        return False
    return kind is not None and kind.kind == "flux"


_DESIGNATION_COLUMNS = ("objName", "objname", "obj_name")


def _coordinates(
    frame: pd.DataFrame,
    found: dict[str, str],
    declared: dict[str, str],
    source: str,
    line_of: Callable[[int], int | None],
    notes: list[str],
    info: dict,
) -> tuple[np.ndarray, np.ndarray]:
    """RA/Dec in degrees: sexagesimal parsed, declared units converted, PS1 designations checked."""
    out = {}
    for name in ("ra", "dec"):
        src = frame[found[name]]
        factor = angle_factor(declared.get(name), name, found[name], source)
        if not pd.api.types.is_numeric_dtype(src):
            # Sexagesimal RA is hours unless its declared unit is degrees ("d:m:s", "deg").
            hours = name == "ra" and (factor is None or factor == 15.0)
            out[name] = cols.parse_angle(src, found[name], source, hours=hours)
            continue
        values = cols.to_numeric(src, found[name], source, line_of=line_of).to_numpy(float)
        if factor is not None and factor != 1.0:
            values = values * factor
            notes.append(f"{found[name]} ({name}) in {declared[name]} (declared): converted to degrees")
        out[name] = values
    ra, dec = out["ra"], out["dec"]
    name_col = next((c for c in _DESIGNATION_COLUMNS if c in frame.columns), None)
    if name_col is not None:
        ra, dec, check = check_designations(
            ra, dec, frame[name_col], name_column=name_col, ra_column=found["ra"], source=source,
            line_of=line_of, declared="ra" in declared or "dec" in declared,
        )
        notes.extend(check.pop("notes", []))
        info["designation_check"] = check
    elif "ra" not in declared and len(ra) > 10 and np.nanmax(ra, initial=0) <= 24 and np.nanmin(ra, initial=0) >= 0:
        # A field at RA < 24 deg looks the same, so this only warns.
        log.warning(
            "%s: every RA in %r lies within 0-24 and nothing says its unit; if these are hours, declare it "
            "(--unit %s=hourangle, or units= in read_catalog)", source, found["ra"], found["ra"],
        )
    return ra, dec


def _contract_order(names: list[str], bands: BandSet) -> list[str]:
    order = list(bands.names) + list(bands.err_columns) + list(optional_columns(bands))
    order += [c for c in cols.aliases(bands) if c not in order]
    return [c for c in order if c in names]


__all__ = ["READERS", "detect_format", "read_catalog", "to_contract"]
