"""Find more like these: feature spaces, the head on frozen features, and exact nearest neighbours."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.bands import PS1
from core.errors import CatalogError, ConfigError
from core.similarity import (
    FINGERPRINT,
    FeatureSpace,
    FindMoreConfig,
    NeighbourIndex,
    embedding_sets,
    feature_space,
    find_more,
)
from tests._catalogs import make_catalog


def test_embedding_columns_are_found_per_model_in_dimension_order():
    cols = ["obj_id", "emb_01", "emb_00", "masked_ae__emb_10", "masked_ae__emb_02", "g_res", "x__emb", "emb_"]
    assert embedding_sets(cols) == {"": ["emb_00", "emb_01"], "masked_ae": ["masked_ae__emb_02", "masked_ae__emb_10"]}
    assert embedding_sets(["latent_x"]) == {}


def _with_embedding(n=4000, seed=0):
    """A catalog whose 8-D embedding holds a compact group of 'interesting' stars off the main cloud."""
    df = make_catalog(n, seed=seed)
    rng = np.random.default_rng(seed)
    emb = rng.normal(0, 1, (n, 8)).astype(np.float32)
    group = rng.choice(n, 120, replace=False)
    emb[group, :3] += 3.0
    for k in range(8):
        df[f"masked_ae__emb_{k:02d}"] = emb[:, k]
    for b in "grizy":
        df[f"{b}_res"] = rng.normal(0, 0.01, n)
    return df, np.sort(group)


def test_feature_space_is_the_embedding_standardised_or_the_fingerprint():
    df, _ = _with_embedding(500)
    space = feature_space(df, PS1)
    assert space.name == "embedding (masked_ae)" and space.values.shape == (500, 8)
    np.testing.assert_allclose(space.values.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(space.values.std(axis=0), 1, atol=1e-4)
    with pytest.raises(CatalogError, match="embeddings: embedding \\(masked_ae\\)"):
        feature_space(df, PS1, "lstm_ae")
    fp = feature_space(df, PS1, FINGERPRINT)
    assert fp.name == FINGERPRINT and fp.values.shape == (500, 15)
    plain = df.drop(columns=[c for c in df if "emb_" in c])
    plain.loc[3, "g_res"] = np.nan  # kept, filled, counted
    filled = feature_space(plain, PS1)
    assert filled.name == FINGERPRINT and filled.n == 500 and filled.n_filled >= 1
    assert np.isfinite(filled.values).all()


def test_head_finds_the_unlabelled_members_of_the_labelled_group():
    df, group = _with_embedding()
    space = feature_space(df, PS1)
    rng = np.random.default_rng(1)
    labelled = rng.choice(group, 40, replace=False)
    result = find_more(space, labelled)
    assert result.n_positive == 40 and result.negatives == "random sample" and result.n_negative == 2000
    assert result.cv_roc_auc is not None and result.cv_roc_auc > 0.95 and result.warning == ""
    hidden = np.setdiff1d(group, labelled)
    top = result.top(len(hidden), exclude=labelled)
    assert np.isin(top, hidden).mean() > 0.8  # most of the next stars shown are the unlabelled members
    assert result.probability.dtype == np.float32 and result.probability.shape == (space.n,)
    from sklearn.metrics import roc_auc_score

    rest = np.setdiff1d(np.arange(space.n), labelled)
    assert roc_auc_score(np.isin(rest, group), result.probability[rest]) > 0.95


def test_a_negative_label_a_hidden_layer_and_too_few_labels():
    df, group = _with_embedding()
    space = feature_space(df, PS1)
    neg = np.setdiff1d(np.arange(200), group)
    result = find_more(space, group[:60], neg, FindMoreConfig(hidden=16), negative_label="ordinary")
    assert result.negatives == "ordinary" and result.n_negative == len(neg) and result.cv_roc_auc > 0.9
    few = find_more(space, group[:8])
    assert "few labels" in few.warning and few.cv_roc_auc is not None
    fewer = find_more(space, group[:3], group[3:4])
    assert fewer.cv_roc_auc is None and "too few to cross-validate" in fewer.warning
    with pytest.raises(ConfigError, match="at least 3"):
        find_more(space, group[:2])
    with pytest.raises(ConfigError, match="hidden"):
        FindMoreConfig(hidden=-1)


def test_nearest_neighbours_match_scikit_learns_exact_search():
    from sklearn.neighbors import NearestNeighbors

    rng = np.random.default_rng(3)
    space = FeatureSpace.from_array("test", ["a"] * 6, rng.normal(0, 1, (3000, 6)))
    index = NeighbourIndex(space)
    reference = NearestNeighbors(n_neighbors=11, algorithm="brute").fit(space.values.astype(np.float64))
    for row in (0, 1234, 2999):
        rows, dist = index.query(row, k=10)
        ref_dist, ref_rows = reference.kneighbors(space.values[row:row + 1].astype(np.float64))
        assert row not in rows and np.all(np.diff(dist) >= 0)
        np.testing.assert_array_equal(rows, ref_rows[0][ref_rows[0] != row][:10])
        np.testing.assert_allclose(dist, ref_dist[0][ref_rows[0] != row][:10], rtol=1e-3, atol=1e-3)
    with pytest.raises(ConfigError, match="outside"):
        index.query(3000)
    assert pd.Series(index.query(5, k=5000)[0]).is_unique  # k beyond the catalog: every other star once
