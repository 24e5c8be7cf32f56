"""Writing rows of a catalog to a file in one of the export formats (see :mod:`core.export`)."""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from core.atomic import partial_target
from core.bands import BandSet
from core.errors import ConfigError, OutputExistsError, PathError
from core.export.plan import ExportPlan, plan_columns

log = logging.getLogger(__name__)


# format -> file suffix
EXPORT_FORMATS: dict[str, str] = {"csv": ".csv", "parquet": ".parquet", "fits": ".fits", "votable": ".vot"}
_SUFFIXES = {".csv": "csv", ".ecsv": "csv", ".parquet": "parquet", ".pq": "parquet", ".fits": "fits",
             ".fit": "fits", ".vot": "votable", ".votable": "votable", ".xml": "votable"}  # fmt: skip
COLUMN_SETS = ("all", "catalog")  # every column, or the input catalog's columns without the model's
ANOMALY_COLUMN = "anomaly_at_threshold"  # the anomaly flag at the threshold of the export


@dataclass(frozen=True)
class ExportOptions:
    """How to write an export: ``format`` (see :data:`EXPORT_FORMATS`), ``columns`` (``"all"``: every
    catalog and model column; ``"catalog"``: the input catalog's columns only) and ``chunk_rows``."""

    format: str = "csv"
    columns: str = "all"
    chunk_rows: int = 100_000

    def __post_init__(self) -> None:
        if self.format not in EXPORT_FORMATS:
            raise ConfigError(f"export option 'format' is {self.format!r}; choose one of {', '.join(EXPORT_FORMATS)}")
        if self.columns not in COLUMN_SETS:
            raise ConfigError(f"export option 'columns' is {self.columns!r}; choose one of {', '.join(COLUMN_SETS)}")
        if not isinstance(self.chunk_rows, int) or self.chunk_rows < 1:
            raise ConfigError(f"export option 'chunk_rows' must be a positive integer, got {self.chunk_rows!r}")


def format_for_path(path: str | Path) -> str:
    """The export format a file name asks for (by suffix); refuses an unknown suffix, naming the known ones."""
    suffix = Path(path).suffix.lower()
    if suffix not in _SUFFIXES:
        raise ConfigError(f"cannot tell the export format from {Path(path).name!r}; use one of the suffixes "
                          f"{', '.join(_SUFFIXES)} or give the format")  # fmt: skip
    return _SUFFIXES[suffix]


def export_columns(names: Sequence[str], bands: BandSet, which: str) -> list[str]:
    """The columns of a column set, in the catalog's order: ``"all"`` keeps every one, ``"catalog"`` drops
    the columns ``sedscape score`` adds (latent coordinates, reconstructions, residuals, flags)."""
    from core.scoring import scored_columns

    if which not in COLUMN_SETS:
        raise ConfigError(f"export option 'columns' is {which!r}; choose one of {', '.join(COLUMN_SETS)}")
    if which == "all":
        return list(names)
    scored = set(scored_columns(bands))
    return [c for c in names if c not in scored]


def export_provenance(
    *,
    catalog: str | Path,
    catalog_rows: int,
    meta: Mapping[str, Any],
    threshold: float,
    geometry: Mapping[str, Any] | None,
    n_selected: int,
    options: ExportOptions,
    model_dir: str | Path | None = None,
    model_card: Any = None,
    made_by: str = "sedscape",
    **extra: Any,
) -> dict[str, Any]:
    """What every export records, so that it can be understood and reproduced (``sedscape export``):
    the catalog and its row count, bands, funnel of cuts and scoring; the model; the threshold; the
    selection geometry and its size; the format and column set; who made it and when."""
    card = model_card.to_dict() if hasattr(model_card, "to_dict") else dict(model_card or {})
    prov = {
        "catalog": str(catalog),
        "catalog_rows": int(catalog_rows),
        "bands": [b["name"] if isinstance(b, Mapping) else str(b) for b in meta.get("bands", [])],
        "model_dir": str(model_dir) if model_dir else None,
        "model": {k: card[k] for k in ("model", "chosen_run", "card_version", "created") if k in card},
        "scoring": dict(meta.get("scoring", {})),
        "funnel": meta.get("funnel"),
        "threshold": float(threshold),
        "selection": dict(geometry) if geometry is not None else None,
        "n_selected": int(n_selected),
        "format": options.format,
        "columns": options.columns,
        "made_by": made_by,
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }
    prov.update(extra)
    return prov


def export_rows(
    source: Mapping[str, Any],
    index: np.ndarray,
    path: str | Path,
    *,
    columns: Sequence[str],
    provenance: Mapping[str, Any],
    options: ExportOptions | None = None,
    bands: BandSet | None = None,
    metadata: Mapping[str, Any] | None = None,
    extra: Mapping[str, np.ndarray] | None = None,
    progress: Callable[[int], None] | None = None,
    cancel: threading.Event | None = None,
    overwrite: bool = False,
) -> Path:
    """Write rows ``index`` of ``source`` (a DataFrame or a mapping of full-length columns) to ``path``.

    ``columns`` names the output columns in order, taken from ``source`` or from ``extra`` (arrays
    aligned with ``index``, e.g. the anomaly flag at the dashboard's threshold). ``metadata`` is the
    source catalog's sedscape metadata, kept in Parquet exports. ``progress`` is called with the rows
    written so far; setting ``cancel`` stops the export (:class:`~core.errors.ExportCancelled`) and
    removes the partial file. Refuses to replace ``path`` unless ``overwrite``.
    """
    from core.export import ecsv, fits, parquet, votable

    options = options or ExportOptions()

    path = Path(path)
    if path.is_dir():
        raise PathError(f"export path {path} is a directory; give a file name")
    if path.exists() and not overwrite:
        raise OutputExistsError(f"{path} exists; pass --overwrite (overwrite=True) to replace it")
    if not path.parent.is_dir():
        raise PathError(f"cannot write {path}: the directory {path.parent} does not exist")
    extra = dict(extra or {})
    index = np.asarray(index, dtype=np.int64)
    missing = [c for c in columns if c not in extra and c not in source]
    if missing:
        raise ConfigError(f"cannot export columns the catalog does not have: {', '.join(missing)}")
    plan = ExportPlan(source, index, plan_columns(source, columns, bands, extra), extra, options.chunk_rows,
                      progress, cancel)  # fmt: skip
    prov = dict(provenance)
    try:
        with partial_target(path) as tmp:  # removed on any error, a cancel or Ctrl-C
            with open(tmp, "wb") as fh:
                if options.format == "csv":
                    ecsv.write(plan, fh, prov)
                elif options.format == "parquet":
                    parquet.write(plan, fh, {**dict(metadata or {}), "export": prov})
                elif options.format == "fits":
                    fits.write(plan, fh, prov)
                else:
                    votable.write(plan, fh, prov)
            plan.check_cancel()
            tmp.replace(path)
    except OSError as exc:
        raise PathError(f"cannot write {path}: {exc.strerror or exc}") from exc
    log.info("exported %d rows x %d columns to %s (%s)", plan.n, len(plan.columns), path, options.format)
    return path
