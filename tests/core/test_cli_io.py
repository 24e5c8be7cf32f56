"""The CLI's path checks and refusals: exit 2, one message, no traceback, nothing written or overwritten."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

from core.bands import PS1
from core.catalog import read_parquet, write_parquet
from core.cli import main
from core.errors import CatalogError, ConfigError
from core.models.base import TrainConfig
from core.scoring import TrainedModel, score_catalog
from core.training import train_runs
from tests._catalogs import make_catalog
from tests.core._toy_models import toy_model  # noqa: F401  (fixture)

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def model_dir(tmp_path, toy_model):  # noqa: F811
    train_runs(make_catalog(300, seed=21), PS1, model=toy_model, runs=1, config=TrainConfig(max_epochs=5),
               out_dir=tmp_path / "model", progress=False)
    return tmp_path / "model"


@pytest.fixture
def catalog(tmp_path) -> Path:
    df = make_catalog(60, seed=4)
    df.attrs["sedscape"] = {"dereddened": {"source": "ebv column", "ebv_column": "ebv"}}
    return write_parquet(df, tmp_path / "cat.parquet")


def _refused(capsys, argv: list[str], *words: str) -> str:
    """Run the CLI; it must exit 2 with one line on stderr holding ``words``, and no traceback."""
    capsys.readouterr()  # drop what fixtures logged
    assert main([str(a) for a in argv]) == 2, argv
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("\n") == 1, err
    for word in words:
        assert word in err, err
    return err


# --- score ---------------------------------------------------------------------------------------


def test_score_refuses_an_empty_catalog(model_dir, tmp_path, capsys):
    empty = write_parquet(make_catalog(5, seed=1).iloc[:0], tmp_path / "empty.parquet")
    out = tmp_path / "scored.parquet"
    _refused(capsys, ["score", empty, "--model", model_dir, "--out", out], "no rows", "nothing to score")
    assert not out.exists()
    model = TrainedModel.load(model_dir)
    with pytest.raises(CatalogError, match="no rows"):
        score_catalog(read_parquet(empty), model, progress=False)


def test_chunk_size_must_be_positive_and_chunks_agree(model_dir, catalog, tmp_path, capsys):
    out = tmp_path / "scored.parquet"
    argv = ["score", catalog, "--model", model_dir, "--out", out, "--chunk-size", "0"]
    _refused(capsys, argv, "--chunk-size must be at least 1")
    assert not out.exists()
    model, df = TrainedModel.load(model_dir), read_parquet(catalog)
    with pytest.raises(ConfigError, match="chunk_size must be a whole number of stars >= 1, got 0"):
        score_catalog(df, model, chunk_size=0, progress=False)
    small = score_catalog(df, model, chunk_size=7, progress=False)  # 60 = 8 x 7 + 4
    whole = score_catalog(df, model, chunk_size=10_000, progress=False)
    np.testing.assert_array_equal(small["latent_x"], whole["latent_x"])
    np.testing.assert_array_equal(small["g_rec"], whole["g_rec"])


def test_score_wants_parquet_and_says_how_to_make_it(model_dir, tmp_path, capsys):
    csv = tmp_path / "stars.csv"
    make_catalog(20, seed=2).to_csv(csv, index=False)
    out = tmp_path / "scored.parquet"
    _refused(capsys, ["score", csv, "--model", model_dir, "--out", out],
             "not a Parquet catalog (it looks like csv)", f"run `sedscape ingest {csv} --out")
    _refused(capsys, ["train", csv, "--out", tmp_path / "m"],
             "`sedscape train` reads the Parquet that `sedscape ingest` writes")
    assert not out.exists() and not (tmp_path / "m").exists()


def test_score_warns_about_a_catalog_that_was_not_dereddened(model_dir, tmp_path, caplog):
    df = make_catalog(40, seed=3)
    reason = "no 'ebv' column and no SFD dust map installed"
    df.attrs["sedscape"] = {"dereddened": False, "dereddening_skipped": reason}
    model = TrainedModel.load(model_dir)
    with caplog.at_level(logging.WARNING, logger="core.scoring"):
        score_catalog(df, model, progress=False)
    assert "not dereddened: its metadata has 'dereddened': False" in caplog.text and reason in caplog.text
    caplog.clear()
    df.attrs["sedscape"] = {"dereddened": {"source": "ebv column"}}
    with caplog.at_level(logging.WARNING, logger="core.scoring"):
        score_catalog(df, model, progress=False)
    assert "dereddened" not in caplog.text


# --- train options -------------------------------------------------------------------------------


@pytest.mark.parametrize(("option", "message"), [
    (["--max-epochs", "0"], "training option max_epochs (--max-epochs) must be an integer >= 1, got 0"),
    (["--patience", "-1"], "training option patience (--patience) must be an integer >= 0, got -1"),
    (["--batch-size", "0"], "training option batch_size (--batch-size) must be an integer >= 1, got 0"),
    (["--lr", "-0.1"], "training option learning_rate (--lr) must be a finite number > 0, got -0.1"),
    (["--lr", "nan"], "learning_rate (--lr) must be a finite number > 0, got nan"),
    (["--runs", "0"], "--runs must be at least 1, got 0"),
    (["--limit", "0"], "--limit must be at least 1 row, got 0"),
])
def test_invalid_training_options_name_the_field(catalog, tmp_path, capsys, option, message):
    out = tmp_path / "model"
    _refused(capsys, ["train", catalog, "--out", out, *option], message)
    assert not out.exists()


def test_train_config_errors_name_the_field():
    with pytest.raises(ConfigError, match=r"^training option batch_size \(--batch-size\) must be an integer"):
        TrainConfig(batch_size=2.5)
    with pytest.raises(ConfigError, match="max_epochs"):
        TrainConfig(max_epochs=True)


# --- --out that is a directory (or a file where a directory is wanted) ----------------------------


def test_out_that_is_a_directory_is_refused_for_every_file_output(model_dir, catalog, tmp_path, capsys):
    folder = tmp_path / "results"
    folder.mkdir()
    (folder / "keep.txt").write_text("mine")
    csv = tmp_path / "stars.csv"
    make_catalog(20, seed=2).to_csv(csv, index=False)
    for argv in (
        ["ingest", str(csv), "--out", str(folder)],
        ["score", str(catalog), "--model", str(model_dir), "--out", str(folder)],
        ["mock", "--stars", "100", "--out", str(folder)],
        ["crossmatch", "gaia", str(catalog), "--out", str(folder)],
        ["fetch", "cutout", "10", "20", "--out", str(folder)],
        ["labels", "export", str(catalog), "--out", str(folder)],
    ):
        _refused(capsys, argv, f"--out {folder} is a directory; give a file name")
    assert sorted(p.name for p in folder.iterdir()) == ["keep.txt"]
    _refused(capsys, ["train", catalog, "--out", csv], f"--out {csv} is a file; give a directory")
    # not empty, no --overwrite
    _refused(capsys, ["train", catalog, "--out", folder], "exists and is not empty; pass --overwrite")
    _refused(capsys, ["report", catalog, "--model", model_dir, "--out", csv], "is a file; give a directory")


def test_missing_inputs_are_named(tmp_path, capsys):
    missing, out = tmp_path / "nope.parquet", tmp_path / "s.parquet"
    err = _refused(capsys, ["score", missing, "--model", tmp_path, "--out", out], "nope.parquet: no such file")
    assert str(missing) in err
    err = _refused(capsys, ["score", missing, "--model", tmp_path / "none", "--out", out], "none: no such model directory")
    assert str(tmp_path / "none") in err
    assert not out.exists(), "a refused command must write nothing"


# --- permissions: every verb, as a user who lacks them --------------------------------------------

_PERMISSION_SCRIPT = r"""
import contextlib, io, json, sys
from core.cli import main
base = sys.argv[1]
cases = {
    "ingest reads": ["ingest", f"{base}/secret.csv", "--out", f"{base}/w/o.parquet"],
    "ingest writes": ["ingest", f"{base}/ok.csv", "--out", f"{base}/ro/o.parquet"],
    "ingest writes below": ["ingest", f"{base}/ok.csv", "--out", f"{base}/ro/new/o.parquet"],
    "score reads": ["score", f"{base}/secret.parquet", "--model", f"{base}/model", "--out", f"{base}/w/s.parquet"],
    "score reads model": ["score", f"{base}/ok.parquet", "--model", f"{base}/locked", "--out", f"{base}/w/s.parquet"],
    "score writes": ["score", f"{base}/ok.parquet", "--model", f"{base}/model", "--out", f"{base}/ro/s.parquet"],
    "train reads": ["train", f"{base}/secret.parquet", "--out", f"{base}/w/m"],
    "train writes": ["train", f"{base}/ok.parquet", "--out", f"{base}/ro/m"],
    "report writes": ["report", f"{base}/ok.parquet", "--model", f"{base}/model", "--out", f"{base}/ro/r"],
    "mock writes": ["mock", "--stars", "100", "--out", f"{base}/ro/sky.parquet"],
    "mock reads": ["mock", "--validate", f"{base}/secret.parquet"],
    "crossmatch reads": ["crossmatch", "simbad", f"{base}/secret.parquet", "--out", f"{base}/w/x.parquet"],
    "crossmatch writes": ["crossmatch", "gaia", f"{base}/ok.parquet", "--out", f"{base}/ro/x.parquet"],
    "fetch ps1 writes": ["fetch", "ps1", "--cone", "1", "2", "0.1", "--out", f"{base}/ro/ps1"],
    "fetch cutout writes": ["fetch", "cutout", "1", "2", "--out", f"{base}/ro/c.jpg"],
    "prepare-default reads": ["prepare-default", "--model", f"{base}/locked"],
    "labels export writes": ["labels", "export", f"{base}/ok.parquet", "--out", f"{base}/ro/l.csv"],
    "labels import reads": ["labels", "import", f"{base}/ok.parquet", f"{base}/secret.csv"],
}
out = {}
for name, argv in cases.items():
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        rc = main(argv)
    out[name] = [rc, err.getvalue()]
print(json.dumps(out))
"""


def _without_root_file_powers() -> None:
    """In the child, before exec: as root, drop the capabilities that bypass file permissions
    (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER) from the bounding set, so the bits apply."""
    if os.geteuid() != 0:
        return
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    pr_capbset_drop = 24
    for cap in (1, 2, 3):
        if libc.prctl(pr_capbset_drop, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def test_unreadable_inputs_and_unwritable_outputs_for_every_verb(catalog, model_dir):
    """Run where permission bits apply (root loses its bypass): no verb shows a traceback."""
    base = Path(tempfile.mkdtemp(prefix="sedscape-perm-"))
    try:
        shutil.copy(catalog, base / "ok.parquet")
        shutil.copy(catalog, base / "secret.parquet")
        shutil.copytree(model_dir, base / "model")
        make_catalog(10, seed=1).to_csv(base / "ok.csv", index=False)
        shutil.copy(base / "ok.csv", base / "secret.csv")
        for d in ("w", "ro", "locked"):
            (base / d).mkdir()
        for path in base.rglob("*"):
            path.chmod(0o755 if path.is_dir() else 0o644)
        (base / "w").chmod(0o777)
        (base / "ro").chmod(0o555)
        (base / "locked").chmod(0o000)
        for secret in ("secret.csv", "secret.parquet"):
            (base / secret).chmod(0o000)
        base.chmod(0o755)
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
        env |= {"PYTHONPATH": str(ROOT), "HOME": str(base / "w"), "SEDSCAPE_CACHE_DIR": str(base / "w" / "cache"),
                "SEDSCAPE_GENERATED_DIR": str(base / "ro" / "generated"), "PYTHONDONTWRITEBYTECODE": "1"}
        try:
            done = subprocess.run([sys.executable, "-c", _PERMISSION_SCRIPT, str(base)], capture_output=True,
                                  text=True, env=env, preexec_fn=_without_root_file_powers, timeout=300,
                                  cwd=str(base))
        except subprocess.SubprocessError as exc:
            pytest.skip(f"cannot drop root's file-permission capabilities here ({exc})")
        assert done.returncode == 0, done.stderr[-3000:]
        results = json.loads(done.stdout.splitlines()[-1])
    finally:
        for path in [base, *base.rglob("*")]:
            path.chmod(0o755)
        shutil.rmtree(base)
    for name, (rc, err) in results.items():
        assert rc == 2, (name, err)
        assert "Traceback" not in err and err.count("\n") == 1, (name, err)
        assert "Permission denied" in err or "permission denied" in err, (name, err)
