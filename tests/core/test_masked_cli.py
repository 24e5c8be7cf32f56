"""CLI round trips of the masked-band workflow: ingest --allow-missing, train, score (several models),
impute, classify train/apply and report, on small catalogs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.catalog import read_parquet, write_parquet
from core.cli import main
from core.cuts import CutConfig, Funnel
from core.pipeline import select
from core.scored_models import scored_models
from tests._catalogs import make_catalog

M44 = Path(__file__).resolve().parents[1] / "data" / "ps1_dr1_meanobject_cone_M44.tsv"
DEFAULT_MODEL = Path(__file__).resolve().parents[2] / "data" / "models" / "default"


def _gappy(n=400, seed=3) -> pd.DataFrame:
    df = make_catalog(n, seed=seed)
    df.loc[0:19, "g"] = np.nan             # 20 lack one band
    df.loc[20:29, ["g", "y"]] = np.nan     # 10 lack two
    df.loc[30:34, ["r", "i", "z"]] = -999  # 5 lack three
    df.loc[0:4, "n_g"] = 0                 # a missing band's counts are not judged
    df.loc[40:44, "n_r"] = 1               # ...but a present band's still are
    return df


def test_allow_missing_keeps_up_to_k_missing_bands_and_counts_them():
    df = _gappy()
    strict, funnel0 = select(df, deredden=False)
    assert len(strict) == 400 - 35 - 5
    one, funnel1 = select(df, config=CutConfig(max_missing_bands=1), deredden=False)
    two, funnel2 = select(df, config=CutConfig(max_missing_bands=2), deredden=False)
    assert len(one) == len(strict) + 20 and len(two) == len(strict) + 30
    complete = funnel2.steps[0]
    assert complete.n_removed == 5 and "30 of the output rows lack 1-2 band(s) (g 30, y 10)" in complete.note
    assert next(s for s in funnel2.steps if s.name == "n_measurements").n_removed == 5
    assert two.attrs["sedscape"]["missing_bands"] == {"allowed": 2, "n_rows_with_missing": 30,
                                                      "per_band": {"g": 30, "r": 0, "i": 0, "z": 0, "y": 10}}
    # the paper's selection is unchanged without the option
    assert [s.n_removed for s in funnel0.steps] == [35, 0, 0, 5, 0, 0, 0, 0, 0, 0]


def test_ingest_cli_allow_missing_on_the_real_m44_export(tmp_path, capsys):
    out = tmp_path / "m44.parquet"
    assert main(["ingest", str(M44), "--out", str(out), "--no-deredden", "--allow-missing", "2"]) == 0
    printed = capsys.readouterr().out
    df = read_parquet(out)
    meta = df.attrs["sedscape"]
    from core.bands import PS1
    from core.imputation import missing_mask

    n_missing = int(missing_mask(df, PS1).any(axis=1).sum())  # magnitude or its error missing
    assert n_missing == meta["missing_bands"]["n_rows_with_missing"] > 0
    assert f"kept {n_missing:,} stars with up to 2 missing band(s)" in printed
    assert Funnel.from_dict(meta["funnel"]).n_output == len(df)


def test_train_score_impute_classify_report_round_trip(masked_model_dir, tmp_path, capsys):
    # train through the CLI (a few epochs: the argument path, the card and the run files)
    cat = tmp_path / "cat.parquet"
    write_parquet(_gappy(300, seed=9), cat)
    assert main(["train", str(cat), "--model", "masked-ae", "--runs", "1", "--max-epochs", "2",
                 "--out", str(tmp_path / "m")]) == 0
    card = json.loads((tmp_path / "m" / "model_card.json").read_text())
    assert card["model"]["name"] == "masked-ae" and card["config"]["batch_size"] == 1024
    assert (tmp_path / "m" / "run_1" / "masked_ae.json").exists()
    capsys.readouterr()

    # score with the shipped LSTM-AE (bare columns), then add the masked AE under its key
    stars = make_catalog(500, seed=10)
    stars["kind"] = np.where((stars["g"] - stars["i"]) < 1.2, "blue", "red")
    write_parquet(stars, tmp_path / "stars.parquet")
    s1, s2 = tmp_path / "s1.parquet", tmp_path / "s2.parquet"
    assert main(["score", str(tmp_path / "stars.parquet"), "--model", str(DEFAULT_MODEL), "--out", str(s1)]) == 0
    assert main(["score", str(s1), "--model", str(masked_model_dir), "--out", str(s2)]) == 0
    printed = capsys.readouterr().out
    assert "models in the catalog: lstm_ae (bare columns), masked_ae (masked_ae__*)" in printed
    both = read_parquet(s2)
    assert [m.key for m in scored_models(both)] == ["lstm_ae", "masked_ae"]
    assert {f"masked_ae__emb_{k:02d}" for k in range(16)} <= set(both.columns)
    np.testing.assert_array_equal(both["latent_x"], read_parquet(s1)["latent_x"])
    # scoring the same model again replaces its columns and leaves the LSTM-AE's alone
    assert main(["score", str(s2), "--model", str(masked_model_dir), "--out", str(s2), "--overwrite",
                 "--threshold", "0.1"]) == 0
    again = read_parquet(s2)
    assert list(again.columns) == list(both.columns)
    assert again.attrs["sedscape"]["models"]["masked_ae"]["threshold"] == 0.1

    # report names the model it shows, with the imputation evaluation
    rep = tmp_path / "rep"
    assert main(["report", str(s2), "--model", str(masked_model_dir), "--out", str(rep), "--imputation",
                 "--imputation-stars", "200"]) == 0
    summary = json.loads((rep / "report.json").read_text())
    assert summary["model_key"] == "masked_ae" and summary["models_in_catalog"] == ["lstm_ae", "masked_ae"]
    md = (rep / "report.md").read_text()
    assert md.startswith("# sedscape evaluation: masked_ae (masked-ae run 1)")
    assert "## Imputation: each band hidden in turn" in md
    capsys.readouterr()

    # impute an incomplete catalog
    gaps = tmp_path / "gaps.parquet"
    write_parquet(_gappy(200, seed=11), gaps)
    filled = tmp_path / "filled.parquet"
    assert main(["impute", str(gaps), "--model", str(masked_model_dir), "--out", str(filled)]) == 0
    # the 5 stars that lack three bands still have the two the model needs
    assert "imputed 35 with masked-ae run 1 (bands filled: g 30, r 5, i 5, z 5, y 10)" in capsys.readouterr().out
    f = read_parquet(filled)
    assert f["g_imputed"].sum() == 30 and np.isfinite(f.loc[0:29, ["g", "g_err", "y", "y_err"]]).all().all()
    assert main(["impute", str(gaps), "--model", str(masked_model_dir), "--out", str(filled)]) == 2  # no overwrite

    # classify: train on a label column, apply to the scored catalog
    clf = tmp_path / "clf"
    assert main(["classify", "train", str(s2), "--labels", "kind", "--encoder", str(masked_model_dir),
                 "--out", str(clf)]) == 0
    printed = capsys.readouterr().out
    assert "frozen_head" in printed and "latent2d_lstm_ae" in printed
    rep2 = tmp_path / "rep2"
    assert main(["report", str(s2), "--model", str(DEFAULT_MODEL), "--out", str(rep2), "--classifier", str(clf)]) == 0
    md = (rep2 / "report.md").read_text()
    assert md.startswith("# sedscape evaluation: lstm_ae (lstm-ae run")  # the model scored from --model
    assert "## Frozen-encoder classifier against baselines" in md and "latent2d_lstm_ae" in md
    out = tmp_path / "p.parquet"
    assert main(["classify", "apply", str(s2), "--classifier", str(clf), "--out", str(out)]) == 0
    p = read_parquet(out)
    np.testing.assert_allclose(p["p_blue"] + p["p_red"], 1.0, atol=1e-4)
    assert ((p["p_blue"] > 0.5) == (p["kind"] == "blue")).mean() > 0.9


def test_impute_with_a_model_that_cannot_is_a_clean_error(tmp_path, capsys):
    write_parquet(make_catalog(20, seed=1), tmp_path / "c.parquet")
    code = main(["impute", str(tmp_path / "c.parquet"), "--model", str(DEFAULT_MODEL), "--out", str(tmp_path / "o")])
    assert code == 2 and "masked-ae" in capsys.readouterr().err


@pytest.mark.parametrize("spec", ["wd", "=a,b", "wd="])
def test_bad_merge_spec_is_a_clean_error(spec, tmp_path, capsys, masked_model_dir):
    write_parquet(make_catalog(20, seed=1).assign(k="a"), tmp_path / "c.parquet")
    code = main(["classify", "train", str(tmp_path / "c.parquet"), "--labels", "k", "--encoder",
                 str(masked_model_dir), "--out", str(tmp_path / "x"), "--merge", spec])
    assert code == 2 and "--merge" in capsys.readouterr().err
