"""Frozen-encoder classifiers: labels, splits, metrics, the head, the XGBoost baseline, apply."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.classify import (
    HeadConfig,
    apply_classifier,
    class_metrics,
    class_weights,
    load_labels,
    precision_at_k,
    probability_columns,
    read_classifier,
    split_labels,
    train_classifier,
    train_head,
    write_classifier,
)
from core.errors import CatalogError, ModelError, OutputExistsError
from core.scoring import TrainedModel
from tests._catalogs import make_catalog


def test_metrics_on_hand_made_scores():
    y = np.array([0, 0, 1, 1, 2, 2, 2, 0])
    perfect = np.eye(3)[y] * 0.8 + 0.1
    rows = class_metrics(perfect, y, ["a", "b", "c"], k=2)
    assert [r["roc_auc"] for r in rows] == [1.0, 1.0, 1.0]
    assert [r["pr_auc"] for r in rows] == [1.0, 1.0, 1.0]
    assert [r["precision_top2"] for r in rows] == [1.0, 1.0, 1.0]
    assert rows[0]["n_positive"] == 3 and rows[1]["precision_ceiling"] == 1.0
    reversed_ = 1 - perfect
    assert class_metrics(reversed_, y, ["a", "b", "c"], k=2)[1]["roc_auc"] == 0.0
    # precision at k: 2 positives among the top 4 scores
    score = np.array([0.9, 0.8, 0.7, 0.6, 0.1])
    assert precision_at_k(score, np.array([1, 0, 1, 0, 1], bool), k=4) == 0.5
    assert precision_at_k(score, np.array([1, 0, 1, 0, 1], bool), k=10) == 0.6  # k beyond the sample: all


def test_balanced_weights_equalise_classes():
    y = np.array([0] * 90 + [1] * 10)
    w = class_weights(y, 2)
    assert w[0] * 90 == pytest.approx(w[1] * 10)
    assert class_weights(y, 2, "none").tolist() == [1.0, 1.0]


def test_labels_from_a_column_or_a_csv_with_merging(tmp_path):
    df = make_catalog(6, seed=1)
    df["kind"] = ["wd_da", "wd_db", "ms", "", None, "qso"]
    lab = load_labels(df, "kind", {"wd": ["wd_da", "wd_db"]})
    assert lab.isna().tolist() == [False, False, False, True, True, False]
    assert lab.dropna().tolist() == ["wd", "wd", "ms", "qso"]
    csv = tmp_path / "labels.csv"
    pd.DataFrame({"obj_id": [df.obj_id[1], df.obj_id[4], 99], "label": ["x", "y", "z"]}).to_csv(csv, index=False)
    lab = load_labels(df, str(csv))
    assert lab.isna().tolist() == [True, False, True, True, False, True] and lab[1] == "x"
    pd.DataFrame({"id": [1], "label": ["x"]}).to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(CatalogError, match="obj_id,label"):
        load_labels(df, str(tmp_path / "bad.csv"))
    with pytest.raises(CatalogError, match="neither a column"):
        load_labels(df, "no_such_column")


def test_split_is_stratified_disjoint_and_caps_training_classes():
    labels = pd.Series(["a"] * 900 + ["b"] * 100 + ["c"] * 2 + [None] * 50, dtype="string")
    tr, va, te = split_labels(labels, max_per_class=300, seed=0)
    assert not (set(tr) & set(te)) and not (set(va) & set(te)) and not (set(tr) & set(va))
    y = labels.to_numpy()
    assert np.sum(y[te] == "a") == 180 and np.sum(y[te] == "b") == 20  # test keeps the proportions
    assert np.sum(y[np.concatenate([tr, va])] == "a") == 300          # training capped
    assert set(y[tr]) >= {"c"} and "c" not in set(y[te])               # too rare to test: trained on
    assert not labels.iloc[np.concatenate([tr, va, te])].isna().any()


def test_probability_columns_are_safe_and_unique():
    assert probability_columns(["wd", "WD+M", "wd m"]) == ["p_wd", "p_wd_m", "p_wd_m_"]


def test_head_learns_separable_classes_and_round_trips(tmp_path):
    rng = np.random.default_rng(0)
    centres = rng.normal(0, 3, (3, 8))
    y = rng.integers(0, 3, 3000)
    x = centres[y] + rng.normal(0, 1, (3000, 8))
    head = train_head(x[:2000], y[:2000], x[2000:2500], y[2000:2500], ["a", "b", "c"],
                      HeadConfig(max_epochs=30, batch_size=256))
    rows = class_metrics(head.predict_proba(x[2500:]), y[2500:], head.classes)
    assert min(r["roc_auc"] for r in rows) > 0.99
    np.testing.assert_allclose(head.predict_proba(x[:5]).sum(axis=1), 1.0, atol=1e-5)
    head.save(tmp_path / "h.npz")
    from core.classify import ClassifierHead

    np.testing.assert_allclose(ClassifierHead.load(tmp_path / "h.npz").predict_proba(x[:50]), head.predict_proba(x[:50]))


def _labelled_catalog(n=3000, seed=12):
    """make_catalog stars with three 'classes' by colour (what an encoder's embedding should separate)."""
    df = make_catalog(n, seed=seed)
    gi = (df["g"] - df["i"]).to_numpy()
    df["kind"] = np.where(gi < 0.8, "blue", np.where(gi < 2.0, "mid", "red"))
    return df


def test_frozen_head_on_masked_embedding_with_baselines_and_apply(masked_model_dir, tmp_path):
    encoder = TrainedModel.load(masked_model_dir)
    df = _labelled_catalog()
    labels = load_labels(df, "kind")
    baseline = "xgboost" if _has_xgboost() else None
    res = train_classifier(df, labels, encoder, baseline=baseline, config=HeadConfig(max_epochs=30, batch_size=256))
    table = res.metrics_table()
    head_auc = table[table.method == "frozen_head"].set_index("class")["roc_auc"]
    assert (head_auc > 0.97).all(), head_auc
    if baseline:
        assert set(table.method) == {"frozen_head", "xgboost"}
    write_classifier(tmp_path / "clf", res.head, res.card, res.xgboost)
    with pytest.raises(OutputExistsError):
        write_classifier(tmp_path / "clf", res.head, res.card)
    head, card = read_classifier(tmp_path / "clf")
    new = make_catalog(200, seed=77)
    out = apply_classifier(new, head, card, encoder)
    cols = ["p_blue", "p_mid", "p_red"]
    assert list(out.columns[-3:]) == cols
    np.testing.assert_allclose(out[cols].sum(axis=1), 1.0, atol=1e-4)
    gi = (new["g"] - new["i"]).to_numpy()
    assert out["p_blue"].to_numpy()[gi < 0.5].mean() > 0.8


def test_apply_refuses_another_encoder(masked_model_dir, tmp_path):
    encoder = TrainedModel.load(masked_model_dir)
    df = _labelled_catalog(600)
    res = train_classifier(df, load_labels(df, "kind"), encoder, config=HeadConfig(max_epochs=2))
    card = dict(res.card, encoder={**res.card["encoder"], "fingerprint": "other"})
    with pytest.raises(ModelError, match="trained on the embedding"):
        apply_classifier(df, res.head, card, encoder)


def _has_xgboost() -> bool:
    try:
        import xgboost  # noqa: F401
    except ImportError:
        return False
    return True
