"""Export a selection of a scored catalog, of any size: CSV (ECSV), Parquet, FITS or VOTable.

Rows are taken and written a chunk at a time (:class:`ExportOptions.chunk_rows`), never as one
table or one text in memory, into a hidden partial file (:mod:`core.atomic`) that is renamed when
complete (and removed on an error, a cancel or Ctrl-C). Every format carries the export's provenance (catalog, model,
threshold, selection geometry, funnel): see :func:`export_provenance` and :func:`read_export`.

Memory per format, beyond the catalog already loaded and the selection's row indices:

- ``csv``: pieces of at most 16,384 rows are formatted on one thread per core (at most 4), so at most
  ``cores + 1`` pieces are in memory at once, each as a DataFrame, Arrow arrays and its CSV text.
- ``parquet``: one chunk (``chunk_rows``, default 100,000) as a DataFrame, an Arrow table and its
  compressed row group.
- ``fits`` and ``votable``: one chunk as a DataFrame and packed into fixed-size records (chunk rows x
  record bytes), plus, for VOTable, its base64 text; text widths are measured first, a chunk at a time.

Measured (``benchmarks/bench_export.py``): the extra peak stays near 100-180 MB for 800,000 stars of
the default sky in every format, and does not grow with the selection.
"""

from core.errors import ExportCancelled
from core.export.read import read_export, read_provenance
from core.export.task import (
    LABELS_COLUMN,
    ExportJob,
    ExportTask,
    export_catalog_selection,
    load_selection,
    selection_export,
)
from core.export.write import (
    ANOMALY_COLUMN,
    COLUMN_SETS,
    EXPORT_FORMATS,
    ExportOptions,
    export_columns,
    export_provenance,
    export_rows,
    format_for_path,
)

__all__ = [
    "ANOMALY_COLUMN",
    "COLUMN_SETS",
    "EXPORT_FORMATS",
    "ExportCancelled",
    "ExportJob",
    "LABELS_COLUMN",
    "ExportOptions",
    "ExportTask",
    "export_catalog_selection",
    "export_columns",
    "export_provenance",
    "export_rows",
    "format_for_path",
    "load_selection",
    "read_export",
    "read_provenance",
    "selection_export",
]
