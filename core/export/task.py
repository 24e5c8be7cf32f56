"""One export of a selection, as the dashboard and ``sedscape export`` both make it, and a background job.

:func:`selection_export` decides the rows, columns and provenance of an export from a scored catalog,
a selection and a threshold; the dashboard and the CLI both call it, so an export reproduced from
its provenance's geometry has the same rows and columns. :class:`ExportJob` runs a write on a worker
thread with progress and cancel, for a UI that must stay responsive.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from core.bands import BandSet
from core.errors import CatalogError, ConfigError, ExportCancelled, SedscapeError
from core.export.plan import take_values
from core.export.write import ANOMALY_COLUMN, ExportOptions, export_columns, export_provenance, export_rows

log = logging.getLogger(__name__)

LABELS_COLUMN = "labels"  # a star's labels from the label database, joined by ";"


@dataclass(frozen=True)
class ExportTask:
    """Everything needed to write one export; :meth:`write` may run on any thread."""

    source: Mapping[str, Any]
    index: np.ndarray
    columns: list[str]
    provenance: dict[str, Any]
    options: ExportOptions
    bands: BandSet | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def n(self) -> int:
        return len(self.index)

    def write(self, path: str | Path, *, progress: Callable[[int], None] | None = None,
              cancel: threading.Event | None = None, overwrite: bool = False) -> Path:  # fmt: skip
        return export_rows(
            self.source, self.index, path, columns=self.columns, provenance=self.provenance, options=self.options,
            bands=self.bands, metadata=self.metadata, extra=self.extra, progress=progress, cancel=cancel,
            overwrite=overwrite,
        )  # fmt: skip


def anomaly_at(max_abs_res: Any, index: np.ndarray, threshold: float) -> np.ndarray:
    """The anomaly flag of rows ``index`` at ``threshold``: float32 ``max_abs_res`` above it, as the dashboard
    (and :func:`core.selection.selection_mask`'s anomalies preset) decide it."""
    values = take_values(max_abs_res, index)
    return np.asarray(values, dtype=np.float32) > threshold


def selection_export(
    source: Mapping[str, Any],
    index: np.ndarray,
    *,
    bands: BandSet,
    meta: Mapping[str, Any],
    catalog: str | Path,
    geometry: Mapping[str, Any] | None,
    threshold: float,
    options: ExportOptions,
    model_dir: str | Path | None = None,
    model_card: Any = None,
    made_by: str = "sedscape",
    model_shown: Mapping[str, Any] | None = None,
    labels: Any = None,
    **provenance_extra: Any,
) -> ExportTask:
    """The export of rows ``index`` of a scored catalog (``source``: its columns, in the file's order):
    the column set of ``options`` (with ``anomaly_at_threshold`` for ``"all"``) and the provenance.

    ``model_shown`` (:meth:`core.scored_models.ScoredModel.provenance`) names the model whose anomaly flag,
    threshold and view coordinates the selection used, in a catalog with several models; its
    ``column_prefix`` picks the ``max_abs_res`` column behind ``anomaly_at_threshold``.

    ``labels`` (a :class:`core.labels.LabelStore`) adds, to the ``"all"`` column set, a ``labels`` text
    column: each star's labels joined by ``;`` (empty for none), as they stand when the rows are taken."""
    index = np.asarray(index, dtype=np.int64)
    names = export_columns(list(source), bands, options.columns)
    extra = {}
    res_column = f"{(model_shown or {}).get('column_prefix') or ''}max_abs_res"
    if model_shown is not None:
        provenance_extra["model_shown"] = dict(model_shown)
    if options.columns == "all" and res_column in source:
        extra[ANOMALY_COLUMN] = anomaly_at(source[res_column], index, threshold)
        names.append(ANOMALY_COLUMN)
    if options.columns == "all" and labels is not None and "obj_id" in source:
        ids = take_values(source["obj_id"], index)
        extra[LABELS_COLUMN] = labels.label_column(np.asarray(ids, dtype=np.int64))
        names = [c for c in names if c != LABELS_COLUMN] + [LABELS_COLUMN]
        provenance_extra.setdefault("labels", str(labels.path))
    first = next(iter(source), None)
    n_rows = len(source[first]) if first is not None else 0
    prov = export_provenance(
        catalog=catalog, catalog_rows=n_rows, meta=meta, threshold=threshold, geometry=geometry,
        n_selected=len(index), options=options, model_dir=model_dir, model_card=model_card, made_by=made_by,
        **provenance_extra,
    )  # fmt: skip
    return ExportTask(source, index, names, prov, options, bands, dict(meta), extra)


def load_selection(path: str | Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """The selection geometry in ``path`` and the provenance around it (empty if the file holds only a
    geometry): a JSON geometry, a JSON provenance (``{"selection": ..., "threshold": ...}``), or an
    earlier export in any format."""
    from core.export.read import read_provenance, sniff_format

    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"selection file {path} does not exist")
    text = None
    if sniff_format(path) == "csv":
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read selection file {path}: {exc}") from exc
    if text is not None and not text.lstrip().startswith("#"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"selection file {path} is neither JSON nor a sedscape export ({exc})") from exc
        prov = data.get("sedscape_export", data) if isinstance(data, dict) else data
    else:
        try:
            prov = read_provenance(path)
        except (SedscapeError, OSError, ValueError) as exc:
            raise ConfigError(f"cannot read the provenance of {path}: {exc}") from exc
    if isinstance(prov, dict) and "kind" in prov:
        return prov, {}
    if not isinstance(prov, dict) or not prov.get("selection"):
        raise ConfigError(f"{path} holds no selection geometry (expected 'kind', or a provenance with 'selection')")
    return dict(prov["selection"]), prov


def export_catalog_selection(
    catalog: str | Path,
    selection: str | Path | Mapping[str, Any],
    out: str | Path,
    *,
    options: ExportOptions | None = None,
    threshold: float | None = None,
    overwrite: bool = False,
    progress: Callable[[int], None] | None = None,
    labels: str | Path | None = None,
) -> tuple[Path, ExportTask]:
    """``sedscape export``: select the stars of a scored catalog that a geometry describes and export them.

    The threshold is ``threshold``, else the one recorded with the selection, else the scoring one.
    The ``labels`` column comes from the label database ``labels``, else the catalog's own
    (``core.labels.labels_path_for``) when it exists.
    """
    from core.catalog import band_set_of, read_parquet
    from core.scoring import DEFAULT_THRESHOLD
    from core.selection import selection_mask

    options = options or ExportOptions()
    out = Path(out)
    if out.exists() and not overwrite:
        from core.errors import OutputExistsError

        raise OutputExistsError(f"{out} exists; pass --overwrite to replace it")
    if isinstance(selection, Mapping):
        geometry, prov_in = dict(selection), {}
    else:
        geometry, prov_in = load_selection(selection)
    df = read_parquet(catalog)
    if "max_abs_res" not in df:
        raise CatalogError(f"{catalog}: not a scored catalog (no max_abs_res); score it with `sedscape score`")
    meta = dict(df.attrs.get("sedscape", {}))
    bands = band_set_of(df)
    df.attrs = {}  # pandas would deep-copy them into every frame derived from this one
    if threshold is None:
        threshold = prov_in.get("threshold", (meta.get("scoring") or {}).get("threshold", DEFAULT_THRESHOLD))
    index = np.flatnonzero(selection_mask(df, geometry, bands))
    model_dir = prov_in.get("model_dir") or (meta.get("scoring") or {}).get("model_dir")
    shown = prov_in.get("model_shown")  # a dashboard export of another model than the default
    if shown is not None and f"{shown.get('column_prefix') or ''}max_abs_res" not in df:
        raise CatalogError(f"{catalog}: the selection was made on model {shown.get('key')!r}, whose columns this "
                           "catalog does not hold")  # fmt: skip
    task = selection_export(
        df, index, bands=bands, meta=meta, catalog=catalog, geometry=geometry, threshold=float(threshold),
        options=options, model_dir=model_dir, model_card=_card(model_dir), made_by="sedscape export",
        model_shown=shown,
        labels=_label_store(catalog, labels),
    )  # fmt: skip
    return task.write(out, progress=progress, overwrite=overwrite), task


def _label_store(catalog: str | Path, labels: str | Path | None) -> Any:
    from core.labels import LabelStore, labels_path_for

    path = Path(labels) if labels is not None else labels_path_for(catalog)
    if labels is None and not path.exists():
        return None
    if not path.is_file():
        raise ConfigError(f"label database {path} does not exist")
    return LabelStore(path)


def _card(model_dir: str | Path | None) -> dict[str, Any]:
    if not model_dir or not (Path(model_dir) / "model_card.json").exists():
        return {}
    try:
        from core.card import read_card

        return read_card(model_dir)
    except (SedscapeError, OSError, ValueError) as exc:
        log.warning("cannot read the model card in %s: %s", model_dir, exc)
        return {}


class ExportJob:
    """An export running on a worker thread: rows written so far, a cancel, and the result or error.

    ``task`` may be an :class:`ExportTask` or a function that makes one on the worker thread (with
    ``total``, the row count, known beforehand). ``state`` goes ``running`` -> ``done`` |
    ``cancelled`` | ``failed``; a UI polls it.
    """

    def __init__(self, task: ExportTask | Callable[[], ExportTask], path: str | Path, total: int | None = None) -> None:
        self._make = task if callable(task) and not isinstance(task, ExportTask) else None
        self.task: ExportTask | None = None if self._make else task
        self.path = Path(path)
        self.total = total if total is not None else (self.task.n if self.task is not None else 0)
        self.rows_done = 0
        self.state = "running"
        self.error: str | None = None
        self._cancel = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sedscape-export", daemon=True)

    def start(self) -> ExportJob:
        self._thread.start()
        return self

    def _progress(self, rows: int) -> None:
        self.rows_done = rows

    def _run(self) -> None:
        try:
            if self._make is not None:
                self.task = self._make()
                self.total = self.task.n
            if self._cancel.is_set():
                raise ExportCancelled("export cancelled")
            self.task.write(self.path, progress=self._progress, cancel=self._cancel, overwrite=True)
            self.state = "done"
        except ExportCancelled:
            self.state = "cancelled"
        except Exception as exc:  # reported to the user; the worker must not die silently
            log.exception("export to %s failed", self.path)
            self.error = str(exc)
            self.state = "failed"

    def cancel(self) -> None:
        self._cancel.set()

    def wait(self, timeout: float | None = None) -> str:
        if self._thread.is_alive() or self._thread.ident is not None:
            self._thread.join(timeout)
        return self.state

    @property
    def fraction(self) -> float:
        return 1.0 if not self.total else min(self.rows_done / self.total, 1.0)
