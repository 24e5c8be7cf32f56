"""Anomaly ranking with feedback: candidates, fingerprints, answers, and a simulated user on the mock."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.bands import PS1
from core.errors import CatalogError, ConfigError
from core.ranking import (
    AnomalyRanker,
    RankingConfig,
    candidate_rows,
    fingerprint,
    mock_oracle,
    simulate_feedback,
)
from tests._catalogs import make_catalog


def _scored(n=3000, seed=1):
    df = make_catalog(n, seed=seed)
    rng = np.random.default_rng(seed)
    for b in "grizy":
        df[f"{b}_res"] = rng.normal(0, 0.01, n)
    df["max_abs_res"] = np.abs(df[[f"{b}_res" for b in "grizy"]]).max(axis=1)
    return df


def test_candidates_are_every_star_above_threshold_plus_the_top_by_residual():
    res = np.array([0.2, 0.01, 0.07, np.nan, 0.03, 0.06, 0.0])
    assert candidate_rows(res, 0.05, RankingConfig(n_top=2, max_candidates=10)).tolist() == [0, 2, 5]
    assert candidate_rows(res, 0.05, RankingConfig(n_top=5, max_candidates=10)).tolist() == [0, 2, 5, 4, 1]
    assert candidate_rows(res, 0.05, RankingConfig(n_top=1, max_candidates=2)).tolist() == [0, 2]
    with pytest.raises(ConfigError, match="max_candidates"):
        RankingConfig(n_top=10, max_candidates=5)
    with pytest.raises(ConfigError, match="method"):
        RankingConfig(method="svm")


def test_fingerprint_needs_scored_columns_and_finite_values():
    df = _scored(50)
    f = fingerprint(df, PS1, extra_columns=["g_err"])
    assert f.shape == (50, 5 + 5 + 4 + 1 + 1) and f.dtype == np.float32
    np.testing.assert_allclose(f[:, :5], df[[f"{b}_res" for b in "grizy"]].to_numpy(), rtol=1e-6)
    with pytest.raises(CatalogError, match="lacks z_res"):
        fingerprint(df.drop(columns="z_res"), PS1)
    df.loc[3, "g_res"] = np.nan
    with pytest.raises(CatalogError, match="1 candidate"):
        fingerprint(df, PS1)


def test_answers_move_stars_like_the_interesting_ones_up():
    df = _scored()
    odd = np.arange(0, 3000, 50)  # two kinds of outlier: a smooth blue excess, and one wild band
    df.loc[odd[::2], ["g_res", "r_res"]] += [0.15, 0.08]
    df.loc[odd[1::2], "z_res"] += 0.4
    df["max_abs_res"] = np.abs(df[[f"{b}_res" for b in "grizy"]]).max(axis=1)
    blue, wild = set(df["obj_id"].iloc[odd[::2]]), set(df["obj_id"].iloc[odd[1::2]])
    ranker = AnomalyRanker.from_catalog(df, PS1, 0.05, RankingConfig(n_top=500))
    assert sum(int(o) in wild for o in ranker.order()[:30]) >= 5  # unguided, the wild band ranks high too
    shown = []
    for _ in range(12):
        star = ranker.next_candidate()
        shown.append(star)
        ranker.answer(star, star in blue)
    top = [int(o) for o in ranker.order()[:30]]
    assert not set(top[:20]) & wild  # the wild-band stars sink once answered "not interesting"
    unanswered_blue = blue - set(shown)
    assert len(unanswered_blue & set(top)) >= 0.5 * len(unanswered_blue)  # the rest: ordinary stars
    again = AnomalyRanker.from_catalog(df, PS1, 0.05, RankingConfig(n_top=500), answers=ranker.answers)
    np.testing.assert_array_equal(again.order(), ranker.order())  # answers read back give the same ranking
    assert not set(shown) & set(ranker.order().tolist())  # answered stars are not shown again
    with pytest.raises(ConfigError, match="not one of"):
        ranker.answer(-1, True)


@pytest.mark.slow
def test_simulated_user_on_the_mock_beats_the_residual_ranking():
    from core import TrainedModel, default_model_dir, generate_mock_sky, score_catalog

    sky = score_catalog(generate_mock_sky(n_stars=60_000, seed=2), TrainedModel.load(default_model_dir()), progress=False)
    curve = simulate_feedback(sky, PS1, 0.05, mock_oracle(sky), checkpoints=(0, 20, 50),
                              config=RankingConfig(n_top=1500))  # fmt: skip
    table = curve.table()
    assert isinstance(table, pd.DataFrame) and curve.n_interesting_candidates >= 60
    after_50 = curve.interesting_in_top[-1]
    assert after_50 >= max(2 * curve.residual_ranking, 20), table.to_string()
    assert curve.found_while_answering[-1] > curve.found_while_answering[1] > 0
