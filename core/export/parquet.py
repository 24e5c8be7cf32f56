"""Parquet: one row group per chunk (pyarrow's ``ParquetWriter``), the provenance in the schema metadata.

The file is a sedscape catalog: :func:`core.catalog.read_parquet` reads it, with the source
catalog's metadata (bands, funnel, scoring) and the export's provenance under ``export``.
"""

from __future__ import annotations

import json
from typing import IO, Any

import pyarrow as pa

from core.catalog import METADATA_KEY
from core.export.ecsv import plain
from core.export.plan import ExportPlan


def _schema(first: pa.Table, plan: ExportPlan, metadata: dict[str, Any]) -> pa.Schema:
    fields = []
    for f, col in zip(first.schema, plan.columns, strict=True):
        if col.kind == "text" and pa.types.is_null(f.type):  # no value in the first chunk to say "string"
            f = f.with_type(pa.string())
        fields.append(f)
    meta = dict(first.schema.metadata or {})
    meta[METADATA_KEY] = json.dumps(plain(metadata)).encode()
    return pa.schema(fields, metadata=meta)


def write(plan: ExportPlan, fh: IO[bytes], metadata: dict[str, Any]) -> None:
    """Stream the plan's rows to ``fh``; memory: one chunk as an Arrow table and its encoded row group."""
    import pyarrow.parquet as pq

    writer = None
    schema = None
    try:
        for chunk in plan.chunks():
            if schema is None:
                schema = _schema(pa.Table.from_pandas(chunk, preserve_index=False), plan, metadata)
                # Dictionaries only for text: trying them on every float column costs 5x the time (and size).
                text = [c.name for c in plan.columns if c.kind == "text"]
                writer = pq.ParquetWriter(fh, schema, compression="zstd", use_dictionary=text)
            writer.write_table(pa.Table.from_pandas(chunk, schema=schema, preserve_index=False))
    finally:
        if writer is not None:
            writer.close()
