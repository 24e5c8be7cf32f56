"""Hidden partial outputs: removed when a write fails or is interrupted (SIGINT, SIGTERM), stale ones
removed by the next write."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.atomic import partial_path, partial_target
from core.bands import PS1
from core.catalog import read_parquet, write_parquet
from core.models.base import TrainConfig
from core.training import train_runs
from tests._catalogs import make_catalog
from tests.core._toy_models import toy_model  # noqa: F401  (fixture)

ROOT = Path(__file__).resolve().parents[2]


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    env["PYTHONPATH"] = str(ROOT)
    return env


def test_stale_partials_are_removed_by_the_next_write(tmp_path):
    target = tmp_path / "sky.parquet"
    stale = tmp_path / f".sky.parquet.partial-{_dead_pid()}"
    stale.write_bytes(b"half a file from a killed run")
    legacy = tmp_path / ".sky.parquet.partial"  # the name before process ids
    legacy.write_bytes(b"half")
    busy = tmp_path / f".sky.parquet.partial-{os.getppid()}"  # a live writer's: kept
    busy.write_bytes(b"in progress")
    other = tmp_path / ".other.parquet.partial-1"
    other.write_bytes(b"not ours")
    write_parquet(make_catalog(20, seed=1), target)
    assert not stale.exists() and not legacy.exists()
    assert busy.exists() and other.exists()
    assert len(read_parquet(target)) == 20


def test_failed_write_leaves_nothing(tmp_path):
    target = tmp_path / "out.bin"
    with pytest.raises(RuntimeError), partial_target(target) as tmp:
        tmp.write_bytes(b"x" * 100)
        raise RuntimeError("disk full")
    assert list(tmp_path.iterdir()) == []
    with partial_target(tmp_path / "model", directory=True) as tmp:
        (tmp / "weights").write_bytes(b"w")
        tmp.replace(tmp_path / "model")
    assert [p.name for p in tmp_path.iterdir()] == ["model"]


def test_partial_names_differ_between_threads(tmp_path):
    import threading

    names = [partial_path(tmp_path / "a")]
    t = threading.Thread(target=lambda: names.append(partial_path(tmp_path / "a")))
    t.start()
    t.join()
    assert names[0] != names[1] and re.fullmatch(rf"\.a\.partial-{os.getpid()}-\d+", names[1].name)


_INTERRUPTED_WRITE = r"""
import os, signal, sys, time
from pathlib import Path
from core.atomic import partial_target
from core.cli import Terminated, _install_sigterm

_install_sigterm()  # what `sedscape` does before running a verb
target = Path(sys.argv[1])
try:
    with partial_target(target) as tmp:
        tmp.write_bytes(b"x" * 4096)
        print(tmp.name, flush=True)
        os.kill(os.getpid(), getattr(signal, sys.argv[2]))
        time.sleep(30)
        tmp.replace(target)
except Terminated:
    sys.exit(143)
except KeyboardInterrupt:
    sys.exit(130)
"""


@pytest.mark.parametrize(("sig", "code"), [("SIGTERM", 143), ("SIGINT", 130)])
def test_a_real_signal_during_a_write_removes_the_partial(tmp_path, sig, code):
    target = tmp_path / "cat.parquet"
    done = subprocess.run([sys.executable, "-c", _INTERRUPTED_WRITE, str(target), sig], capture_output=True,
                          text=True, env=_env(), timeout=60)
    assert done.returncode == code, done.stderr
    assert done.stdout.startswith(".cat.parquet.partial-")  # it existed while writing
    assert list(tmp_path.iterdir()) == []


def test_stale_training_staging_is_removed(tmp_path, toy_model):  # noqa: F811
    stale = tmp_path / f".model.partial-{_dead_pid()}"
    (stale / "run_1").mkdir(parents=True)
    train_runs(make_catalog(200, seed=3), PS1, model=toy_model, runs=1, config=TrainConfig(max_epochs=3),
               out_dir=tmp_path / "model", progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


@pytest.mark.slow
def test_sigterm_during_train_removes_its_staging_and_tensorflow_stays_quiet(tmp_path):
    """The real CLI in a subprocess: TensorFlow's C++ start-up lines are hidden without -v, and SIGTERM
    in the middle of training leaves neither the model directory nor its hidden staging folder."""
    cat = write_parquet(make_catalog(2000, seed=1), tmp_path / "cat.parquet")
    out = tmp_path / "model"
    argv = [sys.executable, "-m", "core.cli", "train", str(cat), "--out", str(out), "--model", "dense-ae",
            "--runs", "1", "--max-epochs", "100000", "--patience", "100000"]
    logs = tmp_path.parent / f"{tmp_path.name}-train-stderr.txt"  # a file, not a pipe nobody drains
    with open(logs, "w") as err:
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=err, text=True, env=_env())
        try:
            deadline = time.monotonic() + 400
            while not list(tmp_path.glob(".model.partial-*")):
                assert proc.poll() is None, logs.read_text()
                assert time.monotonic() < deadline, "training never started: " + logs.read_text()
                time.sleep(0.2)
            time.sleep(1.0)  # inside the epoch loop
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=300)
        finally:
            if proc.poll() is None:
                proc.kill()
    stderr = logs.read_text()
    assert proc.returncode == 143, stderr
    assert "sedscape train: terminated; partial outputs removed" in stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cat.parquet"]
    noise = [line for line in stderr.splitlines()
             if re.match(r"[IWEF]\d{4} ", line) or "absl::InitializeLog" in line or "cuInit" in line]
    assert noise == [], stderr
