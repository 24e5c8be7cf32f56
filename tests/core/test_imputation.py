"""Imputation: filling missing bands, flags and uncertainties; the two baselines; the evaluation."""

from __future__ import annotations

import numpy as np
import pytest

from core.bands import PS1
from core.errors import ModelError
from core.imputation import (
    _locus_offsets,
    evaluate_imputation,
    impute_catalog,
    knn_colour_baseline,
    locus_baseline,
    missing_mask,
)
from core.scoring import TrainedModel
from tests._catalogs import make_catalog


@pytest.fixture(scope="module")
def masked(masked_model_dir):
    return TrainedModel.load(masked_model_dir)


def _with_gaps(n=600, seed=8):
    df = make_catalog(n, seed=seed)
    truth = df[list(PS1.names)].to_numpy().copy()
    df.loc[0:99, "g"] = np.nan            # 100 stars lack g
    df.loc[100:149, "y_err"] = np.nan     # 50 lack y (error missing counts as missing)
    df.loc[150:159, ["r", "i"]] = -999.0  # 10 lack two bands (sentinels)
    df.loc[160:164, ["g", "r", "i", "z"]] = np.nan  # 5 keep only y: too few to impute
    return df, truth


def test_missing_mask_counts_nan_sentinel_and_missing_errors():
    df, _ = _with_gaps()
    miss = missing_mask(df, PS1)
    assert miss.sum(axis=0).tolist() == [105, 15, 15, 5, 50]


def test_impute_fills_flags_and_quotes_calibrated_errors(masked):
    df, truth = _with_gaps()
    out, summary = impute_catalog(df, masked)
    assert summary["n_rows_with_missing"] == 165 and summary["n_rows_imputed"] == 160
    assert summary["n_rows_too_few_bands"] == 5 and summary["per_band"] == {"g": 100, "r": 10, "i": 10, "z": 0, "y": 50}
    assert out["g_imputed"].sum() == 100 and not out.loc[200:, [f"{b}_imputed" for b in "grizy"]].any().any()
    # untouched where nothing was missing, and where too few bands were left
    np.testing.assert_array_equal(out.loc[165:, list("grizy")].to_numpy(), df.loc[165:, list("grizy")].to_numpy())
    assert out.loc[160:164, "g"].isna().all()
    # filled values are close to what was hidden, with the calibrated uncertainty as their error
    err = np.abs(out.loc[0:99, "g"].to_numpy() - truth[:100, 0])
    assert np.median(err) < 0.1
    sig = masked.model.calibration.sigma(0, out.loc[0:99, "g"].to_numpy(), 1)
    np.testing.assert_allclose(out.loc[0:99, "g_err"], sig, rtol=1e-6)
    two = out.loc[150:159, "r_err"].to_numpy()
    assert (two >= masked.model.calibration.sigma(1, out.loc[150:159, "r"].to_numpy(), 1) * 0.999).all()
    assert out.attrs["sedscape"]["imputation"]["n_rows_imputed"] == 160


def test_impute_refuses_models_that_cannot_predict_hidden_bands(tmp_path):
    from core.models.base import TrainConfig
    from core.training import train_runs

    train_runs(make_catalog(300, seed=1), PS1, model="pca", runs=1, config=TrainConfig(max_epochs=1),
               out_dir=tmp_path / "pca", progress=False)
    with pytest.raises(ModelError, match="masked-ae"):
        impute_catalog(make_catalog(10), TrainedModel.load(tmp_path / "pca"))


def test_locus_baseline_recovers_a_star_on_the_locus():
    offsets = _locus_offsets()
    star = 17.3 + offsets[[300, 700]]  # two points along the locus, any brightness
    for j in range(5):
        hide = np.zeros((2, 5), bool)
        hide[:, j] = True
        np.testing.assert_allclose(locus_baseline(star, hide)[:, j], star[:, j], atol=0.01)


def test_knn_baseline_uses_neighbours_in_the_other_colours():
    rng = np.random.default_rng(0)
    t = rng.uniform(0, 1, 4000)
    mags = 17 + rng.uniform(-2, 2, (4000, 1)) - np.cumsum(np.stack([0 * t, t, 0.5 * t, 0.2 * t, 0.1 * t], 1), axis=1)
    pred = knn_colour_baseline(mags[:3000], mags[3000:], 2, k=5)
    assert np.median(np.abs(pred - mags[3000:, 2])) < 0.005


def test_evaluation_reports_every_band_and_class_against_both_baselines(masked):
    df = make_catalog(1200, seed=31)
    df["true_class"] = np.where(np.arange(1200) % 3 == 0, "ms", "giant")
    res = evaluate_imputation(df, masked, per_class=200, knn_reference=500)
    rows = res["rows"]
    assert {(r["class"], r["band"]) for r in rows} == {(c, b) for c in ("all", "ms", "giant") for b in "grizy"}
    by = {(r["class"], r["band"]): r for r in rows}
    assert by[("all", "g")]["n"] == 400 and by[("ms", "r")]["n"] == 200
    for r in rows:
        assert 0 <= r["model_median"] <= r["model_p95"]
        assert np.isfinite(r["knn_median"]) and np.isfinite(r["locus_median"])
    assert all(by[("all", b)]["model_median"] < 0.1 for b in "grizy")
    assert 0.5 < np.mean([r["coverage_1sigma"] for r in rows if r["class"] == "all"]) < 0.85
