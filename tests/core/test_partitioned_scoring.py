"""Scoring a HATS catalog on a real Dask LocalCluster: same rows as in memory, resumable after a kill."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from core.bands import PS1
from core.cluster import ClusterConfig, dask_client
from core.errors import ConfigError, OutputExistsError
from core.models.base import TrainConfig
from core.partitioned import is_hats, partitions, read_any_metadata, read_catalog_any, write_hats_frame
from core.partitioned_scoring import JOB_NAME, SCORED_NAME, model_loads, score_hats
from core.scoring import TrainedModel, score_catalog, scored_columns
from core.training import train_runs
from tests._catalogs import make_catalog

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def client():
    """One real LocalCluster of 2 workers for the module (threads: cluster start-up is the slow part)."""
    with dask_client(ClusterConfig(n_workers=2, processes=False)) as c:
        yield c


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    root = tmp_path_factory.mktemp("pscore")
    df = make_catalog(3000, seed=11)
    write_hats_frame(df, root / "cat", partition_rows=400, metadata={"source": "test"})
    return root


@pytest.fixture(scope="module")
def lstm_model(work):
    """The paper's LSTM-AE (TensorFlow, XLA), trained briefly: what matters is that scoring runs it."""
    train_runs(
        make_catalog(600, seed=3),
        PS1,
        model="lstm-ae",
        runs=1,
        config=TrainConfig(max_epochs=1, batch_size=256),
        out_dir=work / "lstm",
        progress=False,
    )
    return work / "lstm"


@pytest.fixture(scope="module")
def pca_model(work):
    train_runs(make_catalog(600, seed=4), PS1, model="pca", runs=1, out_dir=work / "pca", progress=False)
    return work / "pca"


def _by_id(df: pd.DataFrame) -> pd.DataFrame:
    return df.sort_values("obj_id").reset_index(drop=True)


def test_partitioned_score_equals_in_memory_score_row_for_row(client, work, lstm_model):
    assert len(client.scheduler_info()["workers"]) == 2
    loads = model_loads()
    out = work / "scored_lstm"
    s = score_hats(work / "cat", lstm_model, out)
    assert s.n_partitions == len(partitions(work / "cat")) > 4 and s.n_resumed == 0
    # the model is loaded once per worker process (both thread-workers share this process), not per partition
    assert model_loads() - loads == 1
    got = read_catalog_any(out)
    want = score_catalog(read_catalog_any(work / "cat"), TrainedModel.load(lstm_model), progress=False)
    pd.testing.assert_frame_equal(_by_id(got), _by_id(want))
    assert set(scored_columns(PS1)) <= set(got.columns)
    meta = read_any_metadata(out)
    assert meta["source"] == "test" and meta["scoring"]["n_anomalies"] == int(want["anomaly"].sum())
    assert meta["scoring"]["run"] == 1 and not (out / JOB_NAME).exists()
    with pytest.raises(OutputExistsError):
        score_hats(work / "cat", lstm_model, out)


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-c", "import sys; from core.cli import main; sys.exit(main())", *args]


def test_resume_after_a_killed_run_gives_the_identical_catalog(client, work, pca_model, tmp_path):
    fine = tmp_path / "fine"
    write_hats_frame(make_catalog(3000, seed=12), fine, partition_rows=120)
    n_parts = len(partitions(fine))
    out = tmp_path / "scored"
    args = [
        "score",
        str(fine),
        "--model",
        str(pca_model),
        "--out",
        str(out),
        "--in-process",
        "--workers",
        "1",
    ]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(_cli(*args), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    done = out / SCORED_NAME / "done"
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and proc.poll() is None:
        if done.is_dir() and any(done.iterdir()):
            proc.send_signal(signal.SIGKILL)
            break
        time.sleep(0.005)
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL, "the run ended before it could be killed"
    n_done = len(list(done.iterdir()))
    assert 0 < n_done < n_parts and not is_hats(out)

    # a different job is not mixed into the interrupted one
    with pytest.raises(ConfigError, match="threshold"):
        score_hats(fine, pca_model, out, threshold=0.1)
    assert len(list(done.iterdir())) == n_done

    from core.cli import main

    assert main(args) == 0
    assert is_hats(out) and read_any_metadata(out)["scoring"]["partitioned"]["resumed_partitions"] >= n_done
    clean = tmp_path / "clean"
    score_hats(fine, pca_model, clean)
    a = [(p.order, p.pixel, p.n_rows) for p in partitions(out)]
    assert a == [(p.order, p.pixel, p.n_rows) for p in partitions(clean)]
    pd.testing.assert_frame_equal(read_catalog_any(out), read_catalog_any(clean))
