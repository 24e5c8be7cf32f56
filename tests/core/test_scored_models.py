"""Several models in one scored catalog: namespacing, the registry, replacing one model, old files."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.bands import PS1
from core.catalog import read_parquet, write_parquet
from core.errors import CatalogError, ConfigError
from core.models.base import TrainConfig
from core.scored_models import (
    add_model_columns,
    drop_model,
    get_scored_model,
    model_key,
    model_view,
    scored_models,
)
from core.scoring import TrainedModel, load_scored, score_catalog, scored_columns
from core.training import train_runs
from tests._catalogs import make_catalog
from tests.core._toy_models import toy_model  # noqa: F401  (fixture)


@pytest.fixture
def two_models(tmp_path, toy_model):  # noqa: F811
    """Two toy models trained with different seeds (so their outputs differ)."""
    df = make_catalog(800, seed=3)
    dirs = []
    for seed in (41, 7):
        out = tmp_path / f"model_{seed}"
        train_runs(df, PS1, model=toy_model, runs=1, seed=seed, config=TrainConfig(max_epochs=30, patience=3),
                   out_dir=out, progress=False)
        dirs.append(out)
    return [TrainedModel.load(d) for d in dirs]


def test_model_keys_are_sanitised_and_validated():
    assert model_key("masked-ae") == "masked_ae"
    assert model_key("LSTM AE (run 2)") == "lstm_ae_run_2"
    assert model_key("2mass") == "m_2mass"
    with pytest.raises(ConfigError, match="model key"):
        add_model_columns(make_catalog(3), {"latent_x": np.zeros(3)}, "bad__key", {})


def test_second_model_is_prefixed_and_leaves_the_first_untouched(two_models, tmp_path):
    a, b = two_models
    df = make_catalog(300, seed=1)
    first = score_catalog(df, a, progress=False)
    assert list(first.columns) == list(df.columns) + scored_columns(PS1)  # single-model layout unchanged
    both = score_catalog(first, b, key="other", threshold=0.02, progress=False)
    pd.testing.assert_frame_equal(both[first.columns], first)
    prefixed = [f"other__{c}" for c in scored_columns(PS1)]
    assert list(both.columns) == list(first.columns) + prefixed
    assert not np.allclose(both["latent_x"], both["other__latent_x"])

    models = scored_models(both)
    assert [m.key for m in models] == ["toy_linear", "other"]
    assert [m.default for m in models] == [True, False]
    other = get_scored_model(both, "other")
    assert other.threshold == 0.02 and other.latent_columns == ("other__latent_x", "other__latent_y")
    assert other.res_columns == tuple(f"other__{x}_res" for x in "grizy")
    np.testing.assert_array_equal(both["other__anomaly"], (both[list(other.res_columns)].abs() > 0.02).any(axis=1))
    assert other.card.model.name == "toy-linear" and other.card.chosen_run == 1
    # the old single-model keys still describe the default model
    meta = both.attrs["sedscape"]
    assert meta["model"]["fingerprint"] == a.fingerprint and meta["scoring"]["threshold"] == 0.05

    # through Parquet: metadata (with both cards) and columns survive
    write_parquet(both, tmp_path / "s.parquet")
    back = read_parquet(tmp_path / "s.parquet")
    assert [m.key for m in scored_models(tmp_path / "s.parquet")] == ["toy_linear", "other"]
    assert get_scored_model(back, "other").fingerprint == b.fingerprint
    view = load_scored(tmp_path / "s.parquet", model="other")
    np.testing.assert_array_equal(view["latent_x"], both["other__latent_x"])
    assert "other__latent_x" not in view and view.attrs["sedscape"]["model"]["fingerprint"] == b.fingerprint


def test_rescoring_one_model_replaces_only_its_columns(two_models):
    a, b = two_models
    df = make_catalog(200, seed=2)
    both = score_catalog(score_catalog(df, a, progress=False), b, key="other", progress=False)
    again = score_catalog(both, b, key="other", threshold=0.2, progress=False)
    assert list(again.columns) == list(both.columns)
    pd.testing.assert_frame_equal(again[list(df.columns) + scored_columns(PS1)], both[list(df.columns) + scored_columns(PS1)])
    assert get_scored_model(again, "other").threshold == 0.2
    assert again["other__anomaly"].sum() <= both["other__anomaly"].sum()
    # re-scoring the default model keeps it default with bare names
    again = score_catalog(both, b, key="toy_linear", progress=False)
    np.testing.assert_allclose(again["latent_x"], both["other__latent_x"])
    assert get_scored_model(again).key == "toy_linear"


def test_a_new_default_moves_the_old_one_behind_its_key(two_models):
    a, b = two_models
    df = make_catalog(200, seed=4)
    first = score_catalog(df, a, progress=False)
    swapped = score_catalog(first, b, key="other", as_default=True, progress=False)
    np.testing.assert_array_equal(swapped["toy_linear__latent_x"], first["latent_x"])
    assert get_scored_model(swapped).key == "other"
    assert swapped.attrs["sedscape"]["model"]["fingerprint"] == b.fingerprint
    dropped = drop_model(swapped, "toy_linear")
    assert not any(c.startswith("toy_linear__") for c in dropped.columns)
    assert [m.key for m in scored_models(dropped)] == ["other"]


def test_old_single_model_files_read_as_one_default_model_and_upgrade(two_models, tmp_path):
    a, b = two_models
    df = make_catalog(150, seed=5)
    old = score_catalog(df, a, progress=False)
    meta = dict(old.attrs["sedscape"])
    for k in ("models", "default_model"):  # what files written before the registry look like
        meta.pop(k)
    old.attrs["sedscape"] = meta
    write_parquet(old, tmp_path / "old.parquet")
    (m,) = scored_models(tmp_path / "old.parquet")
    assert (m.key, m.default, m.prefix, m.threshold) == ("toy_linear", True, "", 0.05)
    assert m.card.model.name == "toy-linear"  # read from the model directory, which still exists
    view = model_view(read_parquet(tmp_path / "old.parquet"))
    assert list(view.columns) == list(old.columns)
    upgraded = score_catalog(read_parquet(tmp_path / "old.parquet"), b, key="other", progress=False)
    assert [x.key for x in scored_models(upgraded)] == ["toy_linear", "other"]
    np.testing.assert_array_equal(upgraded["latent_x"], old["latent_x"])


def test_unknown_model_key_and_unscored_catalog_are_clear_errors(two_models):
    a, _ = two_models
    scored = score_catalog(make_catalog(50, seed=6), a, progress=False)
    with pytest.raises(CatalogError, match="models present: toy_linear"):
        get_scored_model(scored, "nope")
    with pytest.raises(CatalogError, match="not a scored catalog"):
        get_scored_model(make_catalog(10))
    assert scored_models(make_catalog(10)) == []
