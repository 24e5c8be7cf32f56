"""The evaluation report: Tables 1-2 and truth metrics from hand-built frames, and train -> score -> report."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from core.bands import PS1
from core.catalog import read_parquet, write_parquet
from core.cli import main
from core.errors import OutputExistsError
from core.models.base import TrainConfig
from core.report import (
    anomaly_summary,
    otype_table,
    residual_by_colour,
    table1,
    table2,
    truth_metrics,
    write_report,
)
from core.training import train_runs
from tests._catalogs import make_catalog
from tests.core._toy_models import toy_model  # noqa: F401  (fixture)

G_RES = [0.0, 0.005, 0.01, -0.02, 0.03, -0.05, 0.07, 0.2]


def _hand_scored() -> pd.DataFrame:
    """8 stars: g residuals spread over the thresholds, star 1 also bad in r; other bands perfect."""
    df = make_catalog(8, seed=9)
    for b in "grizy":
        df[f"{b}_rec"] = df[b]
        df[f"{b}_res"] = 0.0
    df["g_res"] = G_RES
    df.loc[1, "r_res"] = -0.3
    df["latent_x"], df["latent_y"] = np.arange(8.0), np.arange(8.0) ** 2
    res = df[[f"{b}_res" for b in "grizy"]].abs()
    df["max_abs_res"] = res.max(axis=1)
    df["max_abs_res_sigma"] = 1.0
    df["res_band"] = [c[0] for c in res.idxmax(axis=1)]
    df["anomaly"] = res.max(axis=1) > 0.05
    df["true_class"] = ["ms", "ms", "ms", "wd", "wd", "binary", "binary", "binary"]
    df["true_anomaly"] = [False, True, False, False, False, False, False, True]
    return df


def test_table2_percentages_by_hand():
    t2 = table2(_hand_scored(), PS1).set_index("band")
    # g: |res| = 0, .005, .01, .02, .03, .05, .07, .2 -> within .01: 3, .025: 4, .05: 6, .1: 7 of 8
    assert t2.loc["g"].tolist() == [37.5, 50.0, 75.0, 87.5]
    assert t2.loc["r"].tolist() == [87.5, 87.5, 87.5, 87.5]
    assert t2.loc["i"].tolist() == [100.0] * 4
    # all bands: star 1 (r = 0.3) now fails every threshold, the rest as g
    assert t2.loc["all"].tolist() == [25.0, 37.5, 62.5, 75.0]


def test_anomaly_summary_and_truth_metrics_by_hand():
    df = _hand_scored()
    a = anomaly_summary(df, PS1, 0.05)
    assert (a["n_anomalies"], a["percent"]) == (3, 37.5)  # stars 1, 6, 7
    assert a["worst_band_counts"] == {"g": 2, "r": 1, "i": 0, "z": 0, "y": 0}
    t = truth_metrics(df)
    # flagged {1, 6, 7}, true {1, 7}: recall 2/2, precision 2/3
    assert t["overall"]["recall"] == 1.0 and t["overall"]["precision"] == pytest.approx(2 / 3)
    per = {row["class"]: row for row in t["per_class"]}
    assert per["binary"]["flagged"] == 2 and per["binary"]["precision"] == 0.5 and per["binary"]["recall"] == 1.0
    assert per["wd"]["flagged_percent"] == 0.0 and per["wd"]["recall"] is None
    assert per["ms"]["n"] == 3 and per["ms"]["flagged_percent"] == pytest.approx(100 / 3)
    assert truth_metrics(df.drop(columns=["true_class", "true_anomaly"])) is None


def test_otype_table_counts_flagged_share_per_simbad_type():
    df = _hand_scored()  # anomalies: stars 1, 6, 7
    df["simbad_otype"] = ["Star", "EB*", None, "Star", "WD*", "EB*", "EB*", None]
    t = otype_table(df).set_index("otype")
    assert t.index.tolist()[0] == "EB*" and t.loc["EB*", "n"] == 3 and t.loc["EB*", "flagged"] == 2
    assert t.loc["Star", "flagged_percent"] == 0.0 and "None" not in t.index
    assert otype_table(df.drop(columns=["simbad_otype"])) is None


def _colour_binned() -> pd.DataFrame:
    """25 stars at g-i 0.6 with g residual +0.02, 20 at g-i 1.1 with medians 0.005 in z, 3 at g-i 2.1."""
    gi = np.r_[np.full(25, 0.6), np.full(20, 1.1), np.full(3, 2.1)]
    df = pd.DataFrame({"g": 17.0 + gi, "r": 17.0, "i": 17.0, "z": 17.0, "y": 17.0})
    for b in "grizy":
        df[f"{b}_res"] = 0.0
    df.loc[:24, "g_res"] = 0.02
    df.loc[25:44, "z_res"] = np.r_[np.full(11, 0.005), np.full(9, -0.3)]  # median of 20 = 0.005
    df.loc[45:, "y_res"] = 0.5
    return df


def test_residual_by_colour_medians_per_bin_by_hand():
    t = residual_by_colour(_colour_binned(), PS1)
    assert t[["lo", "hi", "n"]].to_numpy().tolist() == [[0.5, 0.75, 25], [1.0, 1.25, 20], [2.0, 2.25, 3]]
    assert t["g_median"].tolist() == [0.02, 0.0, 0.0]
    assert t["z_median"].tolist() == [0.0, 0.005, 0.0]
    # Judged only with >= 20 stars: the first bin misses 0.01 in g, the second is within, the third is too thin.
    assert t["within"].tolist() == [False, True, None]
    assert len(residual_by_colour(_colour_binned(), PS1, min_count=20)) == 2


def test_table1_from_card():
    from types import SimpleNamespace

    from core.card import RunRecord

    def run(n, train, val, test, epochs):
        return RunRecord(n, 40 + n, 40 + n, 80, 16, 4, epochs, epochs - 5, True, train, val, test, 1.0, f"run_{n}")

    card = SimpleNamespace(chosen_run=2, runs=[run(1, 2e-6, 1.9e-6, 1.8e-6, 30), run(2, 1e-6, 0.9e-6, 0.95e-6, 40)])
    t1 = table1(card)
    assert t1["chosen"].tolist() == [False, True]
    assert t1.loc[1, "val_loss"] == 0.9e-6


def test_write_report_tables_and_refuses_to_overwrite(tmp_path, toy_model):  # noqa: F811
    train_runs(make_catalog(600, seed=8), PS1, model=toy_model, runs=2, config=TrainConfig(max_epochs=20),
               out_dir=tmp_path / "model", progress=False)
    scored = _hand_scored()
    md = write_report(scored, tmp_path / "model", tmp_path / "rep")
    summary = json.loads((tmp_path / "rep" / "report.json").read_text())
    all_row = next(r for r in summary["table2_percent_within"] if r["band"] == "all")
    assert all_row["<= 0.05"] == 62.5
    assert summary["anomalies"]["n_anomalies"] == 3
    assert summary["truth"]["overall"]["recall"] == 1.0
    assert len(summary["table1"]) == 2
    text = md.read_text()
    assert "| all | 25.000 | 37.500 | 62.500 | 75.000 |" in text
    assert "recall 100.0%, precision 66.7%" in text
    for name in summary["figures"].values():
        assert (tmp_path / "rep" / name).stat().st_size > 1000
    assert set(summary["figures"]) >= {"loss_curves", "residual_vs_magnitude", "colour_histograms",
                                       "residual_vs_colour"}
    with pytest.raises(OutputExistsError):
        write_report(scored, tmp_path / "model", tmp_path / "rep")
    write_report(scored, tmp_path / "model", tmp_path / "rep", overwrite=True)

    binned = _colour_binned()
    for b in "grizy":
        binned[f"{b}_rec"] = binned[b] - binned[f"{b}_res"]
    binned["anomaly"] = binned[[f"{b}_res" for b in "grizy"]].abs().max(axis=1) > 0.05
    binned["res_band"] = "g"
    md = write_report(binned, tmp_path / "model", tmp_path / "rep2")
    text = md.read_text()
    assert "## Median residual vs g-i" in text
    assert "1 of 2 g-i bins with at least 20 stars have every band's median residual within +-0.01 mag" in text
    assert "largest +0.0200 mag (g at g-i 0.50-0.75)" in text
    rc = json.loads((tmp_path / "rep2" / "report.json").read_text())["residual_by_colour"]
    assert rc["colour"] == "g-i" and [b["n"] for b in rc["bins"]] == [25, 20, 3]
    assert (tmp_path / "rep2" / "residual_vs_colour.png").stat().st_size > 1000


def _mock_with_truth(n: int, seed: int) -> pd.DataFrame:
    df = make_catalog(n, seed=seed)
    rng = np.random.default_rng(seed)
    bad = rng.random(n) < 0.03
    df.loc[bad, "i"] += 0.4  # injected SED defects
    df["true_anomaly"] = bad
    df["true_class"] = np.where(bad, "binary", "ms")
    return df


@pytest.mark.slow
def test_train_score_report_end_to_end_through_the_cli(tmp_path, capsys):
    cat = write_parquet(_mock_with_truth(2500, seed=12), tmp_path / "mock.parquet")
    model, scored, rep = tmp_path / "model", tmp_path / "scored.parquet", tmp_path / "report"
    assert main(["train", str(cat), "--out", str(model), "--runs", "2", "--max-epochs", "3",
                 "--batch-size", "128", "--lr", "0.01"]) == 0
    assert main(["score", str(cat), "--model", str(model), "--out", str(scored)]) == 0
    assert main(["report", str(scored), "--model", str(model), "--out", str(rep), "--compare", "dense-ae,pca",
                 "--compare-epochs", "2"]) == 0
    out = capsys.readouterr().out
    assert "chosen run:" in out and "anomalies:" in out and "vs truth: recall" in out
    summary = json.loads((rep / "report.json").read_text())
    assert [r["model"] for r in summary["comparison"]] == ["lstm-ae", "dense-ae", "pca"]
    assert summary["comparison_notes"]["same_catalog_as_training"] is True
    assert all(np.isfinite(r["test_loss"]) for r in summary["comparison"])
    assert summary["truth"]["overall"]["true_anomalies"] == int(read_parquet(cat)["true_anomaly"].sum())
    assert (rep / "report.md").read_text().count("![") >= 3
    assert main(["report", str(scored), "--model", str(model), "--out", str(rep)]) == 2


def test_variants_section_compares_trained_model_directories(tmp_path, toy_model):  # noqa: F811
    from core.models.base import scale, unscale
    from core.scoring import TrainedModel, score_catalog

    df = make_catalog(900, seed=21)
    df["true_mr"] = 3.0 * (df["g"] - df["i"]) + 4.0
    df["true_anomaly"] = np.arange(900) % 7 == 0
    config = TrainConfig(max_epochs=25, patience=3)
    for name, seed in (("a", 41), ("b", 41)):
        train_runs(df, PS1, model=toy_model, runs=3, seed=seed, config=config if name == "a" else
                   TrainConfig(max_epochs=3, patience=3), out_dir=tmp_path / name, progress=False)
    scored = score_catalog(df, TrainedModel.load(tmp_path / "a"), progress=False)
    md = write_report(scored, tmp_path / "a", tmp_path / "rep", compare=[str(tmp_path / "b")])
    summary = json.loads((tmp_path / "rep" / "report.json").read_text())
    rows = summary["variants"]
    assert [r["directory"] for r in rows] == [str(tmp_path / "a"), str(tmp_path / "b")]
    assert summary["variant_notes"] == {"same_catalog_as_training": [True, True], "same_split_seeds": True}
    mags = df[list("grizy")].to_numpy(np.float64)
    for row, d in zip(rows, ("a", "b"), strict=True):
        tm = TrainedModel.load(tmp_path / d)
        res = np.abs(mags - unscale(tm.model.reconstruct(scale(mags))))
        assert row["all_within_0.05"] == pytest.approx(100 * np.mean(res.max(axis=1) <= 0.05), abs=1e-9)
        assert row["r_within_0.05"] == pytest.approx(100 * np.mean(res[:, 1] <= 0.05), abs=1e-9)
        card = json.loads((tmp_path / d / "model_card.json").read_text())
        assert row["anomaly_jaccard_mean"] == card["anomaly_overlap"]["mean"]
        assert row["agreement_mean"] == card["agreement"]["mean"]
        assert row["test_loss_chosen"] == next(r["test_loss"] for r in card["runs"] if r["run"] == card["chosen_run"])
        assert row["smoothness_r2_true_mr"] == card["latent_smoothness"]["mean"]["true_mr"]
        flagged, truth = (res > 0.05).any(axis=1), df["true_anomaly"].to_numpy()
        assert row["truth_recall"] == pytest.approx((flagged & truth).sum() / truth.sum())
    assert rows[0]["all_within_0.05"] != rows[1]["all_within_0.05"]  # 25 vs 3 epochs: different models
    text = md.read_text()
    assert "## Model variants: same catalog, same splits" in text and "| all_within_0.05 |" in text
    assert "Anomaly lists of two runs" in text and "Latent smoothness" in text
