"""Training runs: the appendix's splits, the model directory, the card, and the chosen run."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import train_test_split

from core.bands import PS1
from core.card import CARD_NAME, ModelCard, RunRecord, catalog_fingerprint, choose_run, read_card
from core.catalog import write_parquet
from core.cli import main
from core.errors import CatalogError, ModelError, OutputExistsError
from core.models.base import TrainConfig, scale
from core.training import split_indices, train_runs
from tests._catalogs import make_catalog
from tests.core._toy_models import toy_model  # noqa: F401  (fixture)

FAST = TrainConfig(max_epochs=40, patience=3)


@pytest.mark.parametrize("run", [0, 1, 4])
def test_splits_match_the_appendix_train_test_split_calls(run):
    df = make_catalog(1000, seed=1)
    features = list("grizy")
    X, y = df[features], df.drop(columns=features)
    # The paper's appendix, verbatim apart from names.
    X_train, X_temp, y_train, y_temp = train_test_split(X, y, test_size=0.20, random_state=41 + run)
    X_val, X_test, y_val, y_test = train_test_split(X_temp, y_temp, test_size=0.20, random_state=41 + run)
    tr, va, te = split_indices(len(df), 41 + run)
    assert (len(tr), len(va), len(te)) == (800, 160, 40)
    np.testing.assert_array_equal(df["obj_id"].to_numpy()[tr], y_train["obj_id"].to_numpy())
    np.testing.assert_array_equal(df["obj_id"].to_numpy()[va], y_val["obj_id"].to_numpy())
    np.testing.assert_array_equal(df["obj_id"].to_numpy()[te], y_test["obj_id"].to_numpy())


def test_splits_are_disjoint_and_cover_every_row():
    tr, va, te = split_indices(1234, 7)
    allrows = np.concatenate([tr, va, te])
    assert len(allrows) == 1234 and len(np.unique(allrows)) == 1234


@pytest.fixture
def trained(tmp_path, toy_model):  # noqa: F811
    df = make_catalog(1500, seed=11)
    df.attrs["sedscape"] = {"funnel": [{"step": "input", "n": 1600}, {"step": "cuts", "n": 1500}]}
    result = train_runs(df, PS1, model=toy_model, runs=3, seed=41, config=FAST, out_dir=tmp_path / "m",
                        progress=False, source="cat.parquet")
    return df, result, tmp_path / "m"


def test_model_directory_holds_runs_histories_and_card(trained):
    _, result, out = trained
    for r in (1, 2, 3):
        assert (out / f"run_{r}" / "weights.npz").exists()
        hist = pd.read_csv(out / f"run_{r}" / "history.csv")
        h = result.histories[r - 1]
        np.testing.assert_allclose(hist["loss"], h.loss)
        np.testing.assert_allclose(hist["val_loss"], h.val_loss)
        assert json.loads((out / f"run_{r}" / "history.json").read_text())["best_epoch"] == h.best_epoch
    assert not list(out.parent.glob(".m.partial*"))


def test_card_records_bands_scaling_splits_losses_and_provenance(trained):
    df, result, out = trained
    card = read_card(out)
    assert card.bandset.names == tuple("grizy")
    assert card.scaling == "mag/10 rounded to 3 decimals"
    assert card.model.name == "toy-linear" and card.model.architecture
    assert card.split["seeds"] == [41, 42, 43]
    assert [r.model_seed for r in card.runs] == [41, 42, 43]
    assert card.config["max_epochs"] == 40 and card.config["runs"] == 3
    assert card.catalog.n_rows == 1500 and card.catalog.source == "cat.parquet"
    assert card.catalog.funnel[-1]["n"] == 1500
    assert card.catalog.sha256 == catalog_fingerprint(df, PS1).sha256
    assert {"tensorflow", "keras", "numpy", "pandas", "sedscape"} <= set(card.packages)
    assert set(card.rotations) == {"1", "2", "3"}
    assert len(card.agreement.pairs) == 3 and 0 < card.agreement.mean <= 1
    x = scale(df[list("grizy")].to_numpy())
    for rec, h, model, (tr, va, te) in zip(card.runs, result.histories, result.models, result.splits, strict=True):
        # Table 1: train loss at the best epoch, the lowest validation loss, the test loss.
        assert rec.val_loss == pytest.approx(min(h.val_loss))
        assert rec.train_loss == pytest.approx(h.loss[int(np.argmin(h.val_loss))])
        assert rec.test_loss == pytest.approx(float(np.mean((model.reconstruct(x[te]) - x[te]) ** 2)), rel=1e-5)
        assert (rec.n_train, rec.n_val, rec.n_test) == (len(tr), len(va), len(te)) == (1200, 240, 60)


def test_card_round_trips_through_json_and_refuses_malformed_cards(trained, tmp_path):
    _, _, out = trained
    card = read_card(out)
    again = ModelCard.from_dict(json.loads(json.dumps(card.to_dict())))
    assert again == card
    assert json.loads((out / CARD_NAME).read_text()) == json.loads(json.dumps(card.to_dict()))
    broken = card.to_dict()
    del broken["runs"][0]["val_loss"]
    (tmp_path / CARD_NAME).write_text(json.dumps(broken))
    with pytest.raises(ModelError, match="malformed model card"):
        read_card(tmp_path)
    with pytest.raises(ModelError, match="no run 7; runs available: \\[1, 2, 3\\]"):
        card.run(7)


def test_chosen_run_is_the_lowest_validation_loss(trained):
    _, result, out = trained
    card = read_card(out)
    best = min(card.runs, key=lambda r: r.val_loss).run
    assert card.chosen_run == best == result.chosen_run == card.chosen.run


def _record(run, val):
    return RunRecord(run, 40 + run, 40 + run, 8, 1, 1, 5, 4, False, val * 1.1, val, val, 1.0, f"run_{run}")


def test_choose_run_prefers_lowest_validation_not_train_or_test():
    runs = [_record(1, 3e-6), _record(2, 1e-6), _record(3, 2e-6)]
    runs[0].test_loss = runs[0].train_loss = 1e-9
    assert choose_run(runs) == 2
    with pytest.raises(ModelError):
        choose_run([])


def test_fingerprint_changes_with_magnitudes_and_order():
    df = make_catalog(200, seed=2)
    fp = catalog_fingerprint(df, PS1).sha256
    bumped = df.copy()
    bumped.loc[5, "r"] += 0.001
    assert catalog_fingerprint(bumped, PS1).sha256 != fp
    assert catalog_fingerprint(df.iloc[::-1], PS1).sha256 != fp
    assert catalog_fingerprint(df.copy(), PS1).sha256 == fp


def test_nan_photometry_is_refused_with_counts(tmp_path, toy_model):  # noqa: F811
    df = make_catalog(300, seed=4)
    df.loc[[3, 8, 9], "i"] = np.nan
    with pytest.raises(CatalogError, match="i: 3 rows"):
        train_runs(df, PS1, model=toy_model, runs=1, config=FAST, out_dir=tmp_path / "m", progress=False)
    assert not (tmp_path / "m").exists()


def test_existing_directory_needs_overwrite_and_must_be_a_model_dir(trained, tmp_path, toy_model):  # noqa: F811
    df, _, out = trained
    with pytest.raises(OutputExistsError, match="--overwrite"):
        train_runs(df, PS1, model=toy_model, runs=1, config=FAST, out_dir=out, progress=False)
    train_runs(df, PS1, model=toy_model, runs=1, seed=7, config=FAST, out_dir=out, overwrite=True, progress=False)
    card = read_card(out)
    assert card.split["seeds"] == [7] and not (out / "run_2").exists()
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "notes.txt").write_text("keep me")
    with pytest.raises(OutputExistsError, match="not a sedscape model directory"):
        train_runs(df, PS1, model=toy_model, runs=1, config=FAST, out_dir=precious, overwrite=True, progress=False)
    assert (precious / "notes.txt").read_text() == "keep me"


def test_cli_train_prints_summary_and_writes_card(tmp_path, toy_model, capsys):  # noqa: F811
    path = write_parquet(make_catalog(600, seed=5), tmp_path / "cat.parquet")
    rc = main(["train", str(path), "--out", str(tmp_path / "model"), "--model", toy_model, "--runs", "2",
               "--max-epochs", "15", "--seed", "3"])
    out = capsys.readouterr().out
    assert rc == 0
    assert "chosen run:" in out and "val_loss" in out and "agreement" in out
    card = json.loads((tmp_path / "model" / CARD_NAME).read_text())
    assert card["split"]["seeds"] == [3, 4] and card["config"]["max_epochs"] == 15
    assert main(["train", str(path), "--out", str(tmp_path / "model"), "--model", toy_model]) == 2
    assert "exists" in capsys.readouterr().err


def _with_truth(n: int, seed: int) -> pd.DataFrame:
    """A catalog whose true_mr follows colour (smooth over any latent that orders colour) and true_feh is noise."""
    df = make_catalog(n, seed=seed)
    df["true_mr"] = 3.0 * (df["g"] - df["i"]) + 4.0
    df["true_feh"] = np.random.default_rng(seed).normal(-0.5, 0.3, n)
    return df


def test_card_anomaly_overlap_and_latent_smoothness_match_the_runs(tmp_path, toy_model):  # noqa: F811
    from sklearn.neighbors import KNeighborsRegressor

    from core.models.base import unscale

    df = _with_truth(1500, seed=11)
    result = train_runs(df, PS1, model=toy_model, runs=3, seed=41, config=FAST, out_dir=tmp_path / "m", progress=False)
    card = read_card(tmp_path / "m")
    mags = df[list("grizy")].to_numpy(np.float64)
    flagged = [set(np.flatnonzero((np.abs(mags - unscale(m.reconstruct(scale(mags)))) > 0.05).any(axis=1)))
               for m in result.models]
    ov = card.anomaly_overlap
    assert ov.threshold == 0.05 and ov.n_stars == 1500 and ov.counts == [len(f) for f in flagged]
    assert min(ov.counts) > 0  # the linear toy misses the curved locus somewhere: there is something to compare
    for pair in ov.pairs:
        a, b = (flagged[r - 1] for r in pair["runs"])
        assert pair["jaccard"] == pytest.approx(len(a & b) / len(a | b))
    assert ov.mean == pytest.approx(np.mean([p["jaccard"] for p in ov.pairs]))
    sm = card.latent_smoothness
    assert sm.parameters == ["true_feh", "true_mr"] and set(sm.runs) == {"1", "2", "3"}
    assert (sm.n_fit, sm.n_eval) == (1200, 60)  # every training- and test-split star (fewer than the sample size)
    x = scale(mags)
    for (tr, _, te), model, r in zip(result.splits, result.models, ("1", "2", "3"), strict=True):
        z = model.encode(x)
        for p in sm.parameters:
            knn = KNeighborsRegressor(n_neighbors=10).fit(z[tr], df[p].to_numpy()[tr])
            assert sm.runs[r][p] == pytest.approx(knn.score(z[te], df[p].to_numpy()[te]), abs=1e-6)
    assert sm.mean["true_mr"] > 0.9 > 0.2 > sm.mean["true_feh"]
    assert "anomaly lists" in result.format_summary() and "latent smoothness" in result.format_summary()
