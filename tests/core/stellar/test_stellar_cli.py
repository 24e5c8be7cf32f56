"""``sedscape stellar-model``: train with a label file, infer, report; errors are one line and exit code 2."""

from __future__ import annotations

import json

import numpy as np
import pytest

from core.catalog import read_parquet, write_parquet
from core.cli import main
from tests.core.stellar.conftest import toy_catalog

LABELS = ["teff", "logg", "feh", "teff_err", "logg_err", "feh_err"]
FAST = ["--iterations", "2", "--epochs", "2", "--first-epochs", "8", "--batch-size", "128", "--lr", "0.01", "--hidden", "8,8"]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("stellar_cli")
    cat = toy_catalog(1500, seed=21, ebv_max=1.0)
    labels = cat.loc[cat.index % 2 == 0, ["ra", "dec", *LABELS]].rename(columns={"feh": "FE_H", "feh_err": "FE_H_ERR"})
    labels.to_csv(root / "labels.csv", index=False)
    photometry = cat.drop(columns=LABELS)
    write_parquet(photometry, root / "cat.parquet")
    return root


def test_train_infer_report_round_trip(files, capsys):
    root = files
    rc = main(["stellar-model", "train", str(root / "cat.parquet"), "--labels", str(root / "labels.csv"),
               "--out", str(root / "model"), *FAST])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "750 matched by position" in out and "750 labelled stars used" in out
    card = json.loads((root / "model" / "model_card.json").read_text())
    assert card["kind"] == "stellar-model" and card["catalog"]["n_labelled"] == 750
    assert set(card["extinction_vector"]) == {"g", "r", "i", "z", "y"}
    assert card["split"]["n_train"] + card["split"]["n_val"] + card["split"]["n_test"] == 750

    rc = main(["stellar-model", "infer", str(root / "cat.parquet"), "--model", str(root / "model"),
               "--out", str(root / "inferred.parquet"), "--chunk-size", "512"])
    assert rc == 0
    inferred = read_parquet(root / "inferred.parquet")
    assert len(inferred) == 1500
    for p in ("teff", "logg", "feh", "ebv", "dm"):
        assert np.isfinite(inferred[f"stellar_{p}"]).mean() > 0.99
        assert (inferred[f"stellar_{p}_err"] >= 0).all()
    assert inferred.attrs["sedscape"]["stellar"]["model_dir"] == str(root / "model")
    # A tiny training still puts E(B-V) in the right range.
    assert np.median(np.abs(inferred["stellar_ebv"] - inferred["true_ebv"])) < 0.15

    rc = main(["stellar-model", "report", str(root / "inferred.parquet"), "--model", str(root / "model"),
               "--out", str(root / "report")])
    assert rc == 0
    md = (root / "report" / "stellar_report.md").read_text()
    assert "## Extinction vector" in md and "Photometric parameters against the truth" in md
    assert (root / "report" / "r_vs_sf11.png").stat().st_size > 1000
    assert (root / "report" / "predicted_cmds.png").exists()


def test_errors_are_one_clear_line(files, capsys):
    root = files
    rc = main(["stellar-model", "train", str(root / "cat.parquet"), "--out", str(root / "m2"), *FAST])
    err = capsys.readouterr().err
    assert rc == 2 and "lacks spectroscopic column(s)" in err and "--labels" in err and "Traceback" not in err
    rc = main(["stellar-model", "infer", str(root / "cat.parquet"), "--model", str(root), "--out", str(root / "x.parquet")])
    assert rc == 2 and "not a stellar model directory" in capsys.readouterr().err
    (root / "exists.parquet").write_text("x")
    rc = main(["stellar-model", "infer", str(root / "cat.parquet"), "--model", str(root / "model"),
               "--out", str(root / "exists.parquet")])
    assert rc == 2 and "--overwrite" in capsys.readouterr().err
