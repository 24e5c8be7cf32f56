"""Score a HATS catalog partition by partition on a Dask cluster, resumably.

Each partition goes through :func:`core.scoring.score_catalog` (the same code as the in-memory
path, so the results agree row for row) inside LSDB's ``map_partitions``, and LSDB's writer puts
every scored partition on disk as soon as it is done, with a marker. An interrupted run leaves
those partitions and markers; the same command finds them (and a job file that must match: same
input, model card, run and threshold) and scores only the rest. The model is loaded once per
worker process and kept for every partition that worker scores.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.bands import BandSet
from core.errors import BandMismatchError, ConfigError, OutputExistsError

log = logging.getLogger(__name__)

JOB_NAME = "sedscape-score-job.json"
SCORED_NAME = "sedscape_scored"

_models: dict[tuple[str, int | None, str], Any] = {}
_models_lock = threading.Lock()
_loads = 0


def worker_model(model_dir: str, run: int | None, card_sha: str):
    """This process's copy of the model (loaded on first use; keyed by the card's hash too)."""
    global _loads
    from core.scoring import TrainedModel

    key = (model_dir, run, card_sha)
    with _models_lock:
        model = _models.get(key)
        if model is None:
            model = TrainedModel.load(model_dir, run=run)
            _models[key] = model
            _loads += 1
            log.info("loaded model %s run %s in this worker", model_dir, model.run)
    return model


def model_loads() -> int:
    """How many times this process has loaded a model for partitioned scoring (one per worker expected)."""
    return _loads


def score_partition(df: pd.DataFrame, model_dir: str, run: int | None, card_sha: str, threshold: float):
    """One partition with the scored columns added (what LSDB maps over the catalog)."""
    from core.scoring import score_catalog

    if len(df) == 0:
        return scored_meta(df, _bands_of_dir(model_dir))
    out = score_catalog(df, worker_model(model_dir, run, card_sha), threshold=threshold, progress=False)
    out.attrs = {}
    return out


def _bands_of_dir(model_dir: str | Path) -> BandSet:
    from core.card import read_card

    return read_card(model_dir).bandset


def scored_meta(meta: pd.DataFrame, bands: BandSet) -> pd.DataFrame:
    """An empty frame with ``meta``'s columns plus the scored ones, in the dtypes scoring gives them."""
    from core.scoring import scored_columns

    out = meta.iloc[:0].copy()
    for col in scored_columns(bands):
        if col == "res_band":
            out[col] = pd.Categorical([], categories=list(bands.names))
        elif col == "anomaly":
            out[col] = np.array([], dtype=bool)
        else:
            out[col] = np.array([], dtype=np.float32)
    return out


@dataclass
class ScoreSummary:
    """What :func:`score_hats` did."""

    out: Path
    n_rows: int
    n_anomalies: int
    n_partitions: int
    n_resumed: int
    seconds: float
    threshold: float
    run: int


def _main_dir(out: Path) -> Path:
    return out / SCORED_NAME


def _job(catalog: str | Path, model_dir: str | Path, run: int, threshold: float, card_sha: str) -> dict:
    return {
        "input": str(Path(catalog).resolve()) if Path(catalog).exists() else str(catalog),
        "model_dir": str(Path(model_dir).resolve()),
        "model_card_sha256": card_sha,
        "run": int(run),
        "threshold": float(threshold),
    }


def _prepare_out(out: Path, job: dict, overwrite: bool) -> bool:
    """Make ``out`` ready; True if an interrupted run of the same job is resumed."""
    from core.partitioned import is_hats, remove_catalog

    job_file = out / JOB_NAME
    if is_hats(out):
        if not overwrite:
            raise OutputExistsError(f"{out} exists; pass --overwrite to replace it")
        remove_catalog(out)
    elif job_file.exists():
        theirs = json.loads(job_file.read_text())
        diff = [k for k in job if theirs.get(k) != job[k]]
        if diff and not overwrite:
            raise ConfigError(
                f"{out} holds an interrupted scoring run with different {', '.join(diff)} "
                f"({ {k: theirs.get(k) for k in diff} }); pass --overwrite to start again"
            )
        if not diff:
            return True
        remove_catalog(out)
    elif out.exists() and (out.is_file() or any(out.iterdir())):
        raise OutputExistsError(f"{out} exists and is not a scored HATS catalog or an interrupted run; choose another path")
    out.mkdir(parents=True, exist_ok=True)
    job_file.write_text(json.dumps(job, indent=1) + "\n")
    return False


def score_hats(
    catalog: str | Path,
    model_dir: str | Path,
    out: str | Path,
    *,
    threshold: float | None = None,
    run: int | None = None,
    overwrite: bool = False,
    progress: bool = False,
) -> ScoreSummary:
    """Score HATS ``catalog`` with ``model_dir`` into the HATS catalog ``out`` on the current Dask client.

    Use inside :func:`core.cluster.dask_client` (without one, Dask's local threads run it).
    Resumes an interrupted run of the same job; ``overwrite`` replaces a finished one.
    """
    from core.card import card_sha256, read_card
    from core.partitioned import SIDECAR_NAME, open_lsdb, read_sidecar, write_sidecar
    from core.scoring import DEFAULT_THRESHOLD

    threshold = DEFAULT_THRESHOLD if threshold is None else float(threshold)
    if not threshold > 0:
        raise ConfigError(f"threshold must be a positive magnitude, got {threshold}")
    out = Path(out)
    card = read_card(model_dir)
    bands = card.bandset
    run = int(card.chosen_run) if run is None else int(run)
    sha = card_sha256(model_dir)
    cat = open_lsdb(catalog)
    missing = [c for c in (*bands.names, *bands.err_columns) if c not in cat.columns]
    if missing:
        raise BandMismatchError(
            f"{catalog} lacks column(s) {missing}; the model was trained on bands {list(bands.names)}"
        )
    resumed = _prepare_out(out, _job(catalog, model_dir, run, threshold, sha), overwrite)
    done_dir = _main_dir(out) / "done"
    n_done = len(list(done_dir.glob("*_done"))) if resumed and done_dir.is_dir() else 0
    if resumed:
        log.info("resuming %s: %d of %d partitions already scored", out, n_done, cat.npartitions)
    scored = cat.map_partitions(
        score_partition, str(Path(model_dir).resolve()), run, sha, threshold, meta=scored_meta(cat.meta, bands)
    )
    t0 = time.perf_counter()
    scored.write_catalog(
        str(out),
        catalog_name=SCORED_NAME,
        resume=True,
        progress_bar=progress,
        tqdm_kwargs={"desc": f"scoring partitions ({n_done} of {cat.npartitions} done before)" if n_done
                     else "scoring partitions", "unit": "partition"},
    )
    seconds = time.perf_counter() - t0
    n_rows, n_anom = _count_anomalies(out)
    meta = read_sidecar(catalog) if Path(catalog).exists() else {}
    meta["scoring"] = {
        "model_dir": str(model_dir),
        "model_card_sha256": sha,
        "model": card.model.name,
        "run": run,
        "threshold": threshold,
        "n_anomalies": n_anom,
        "n_rows": n_rows,
        "partitioned": {"partitions": cat.npartitions, "resumed_partitions": n_done},
        "scored_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    meta["model"] = {"name": meta["scoring"]["model"], "dir": str(model_dir), "run": run,
                     "fingerprint": f"{sha}/run_{run}"}
    write_sidecar(out, meta)
    (out / JOB_NAME).unlink(missing_ok=True)
    log.info("scored %d stars in %d partitions (%d resumed); %s written", n_rows, cat.npartitions, n_done,
             out / SIDECAR_NAME)
    return ScoreSummary(out, n_rows, n_anom, cat.npartitions, n_done, seconds, threshold, run)


def _count_anomalies(path: Path) -> tuple[int, int]:
    from core.partitioned import iter_partitions

    n = a = 0
    for _, df in iter_partitions(path, columns=["anomaly"]):
        n += len(df)
        a += int(df["anomaly"].sum())
    return n, a
