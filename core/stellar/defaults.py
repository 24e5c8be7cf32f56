"""Stellar parameters in the default scored sky: the shipped stellar model's ``stellar_*`` columns added to
``generated/mock_sky_scored.parquet`` (``sedscape prepare-default --stellar``), so the dashboard can colour by
Teff, log g, [Fe/H], E(B-V), distance and ``stellar_chi2`` and overlay each star's best-fit SED.

Optional because it is the slow step: for the 3.1M-star default sky 166 CPU-seconds, 11 min of wall time on the
project's shared 2-core machine, peak RSS 3.9 GB (README, "Stellar parameters in the dashboard"). The columns are appended one row group at a time, so
the whole catalog is never held in memory; the file's metadata gains ``stellar`` (model directory and card
fingerprint, as ``sedscape stellar-model infer`` writes), and a file already inferred with the same model is
left as it is.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

from core import paths
from core.card import card_sha256
from core.catalog import METADATA_KEY, read_metadata, read_parquet
from core.errors import CatalogError, ModelError

log = logging.getLogger(__name__)

# Columns inference reads besides the bands' magnitudes (observed ``<band>_obs`` where dereddened) and errors.
INPUT_COLUMNS = ("l", "b", "ebv", "ebv_err", "parallax", "parallax_error")


def inference_columns(names: list[str], bands: list[str]) -> list[str]:
    """The columns of a catalog (``names``) that stellar inference reads."""
    wanted = [*bands, *(f"{b}_obs" for b in bands), *(f"{b}_err" for b in bands), *INPUT_COLUMNS]
    return [c for c in names if c in wanted]


def has_current_stellar(path: Path, model_dir: Path) -> bool:
    """True when ``path`` already holds every stellar column, inferred with the model in ``model_dir``."""
    import pyarrow.parquet as pq

    from core.stellar.inference import stellar_output_columns

    meta = read_metadata(path)
    if meta.get("stellar", {}).get("model_card_sha256") != card_sha256(model_dir):
        return False
    return set(stellar_output_columns()) <= set(pq.read_schema(path).names)


def ensure_default_stellar(
    scored: Path | None = None, model_dir: Path | None = None, *, progress: bool = True
) -> Path:
    """Add the stellar model's parameters to the default scored sky unless they are there from this model."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from core.atomic import partial_target
    from core.stellar.inference import (
        InferenceConfig,
        configs_from_card,
        infer_parameters,
        load_stellar_model,
    )

    scored = Path(scored or paths.default_scored_path())
    model_dir = Path(model_dir or paths.default_stellar_model_dir())
    if not (model_dir / "model_card.json").exists():
        raise ModelError(f"no stellar model in {model_dir}; train one with `sedscape stellar-model train`")
    if not scored.exists():
        raise CatalogError(f"{scored}: no such file; run `sedscape prepare-default` first")
    if has_current_stellar(scored, model_dir):
        log.info("%s already has stellar parameters from %s", scored, model_dir)
        return scored
    model, grid, card = load_stellar_model(model_dir)
    data_config, grid_config = configs_from_card(card)
    pf = pq.ParquetFile(scored)
    df = read_parquet(scored, columns=inference_columns(pf.schema_arrow.names, list(model.bands)))
    config = InferenceConfig()
    t0 = time.perf_counter()
    params = infer_parameters(df, model, grid, data_config=data_config, config=config, grid_config=grid_config,
                              progress=progress)  # fmt: skip
    seconds = time.perf_counter() - t0
    meta = read_metadata(scored)
    meta["stellar"] = {"model_dir": str(model_dir), "model_card_sha256": card_sha256(model_dir),
                       "config": config.to_dict(), "n_rows": len(params), "seconds": round(seconds, 1)}  # fmt: skip
    new = pa.Table.from_pandas(params.reset_index(drop=True), preserve_index=False)
    keep = [n for n in pf.schema_arrow.names if n not in params.columns]
    schema = pa.schema([pf.schema_arrow.field(n) for n in keep] + list(new.schema))
    schema = schema.with_metadata({**(pf.schema_arrow.metadata or {}), METADATA_KEY: json.dumps(meta).encode()})
    start = 0
    with partial_target(scored) as tmp:
        with pq.ParquetWriter(tmp, schema, compression="zstd") as writer:
            for k in range(pf.num_row_groups):
                part = pf.read_row_group(k, columns=keep)
                rows = new.slice(start, part.num_rows)
                start += part.num_rows
                columns = [*part.columns, *rows.columns]
                writer.write_table(pa.Table.from_arrays(columns, schema=schema))
        if start != len(params):
            raise CatalogError(f"{scored} changed while stellar parameters were added ({start} rows, {len(params)} inferred)")
        tmp.replace(scored)
    log.info("stellar parameters for %d stars in %.0f s added to %s", len(params), seconds, scored)
    return scored

