"""The embedded default: one scored catalog with every shipped model and the epochs beside it, rebuilt only
when a shipped model changes."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from core import paths
from core.bands import PS1
from core.catalog import read_metadata, read_parquet
from core.defaults import EPOCH_CONSTANT, SHIPPED_THRESHOLDS, ensure_default_scored, epoch_sample
from core.epochs import find_detections, read_epochs
from core.scored_models import scored_models
from core.training import train_runs
from tests._catalogs import make_catalog

REPO_DATA = Path(__file__).resolve().parents[2] / "data"


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    """A data folder with the repo's reference tables and two small PCA models as 'default' and 'masked_ae'."""
    data = tmp_path / "data"
    (data / "models").mkdir(parents=True)
    (data / "reference").symlink_to(REPO_DATA / "reference")
    df = make_catalog(2000, seed=3)
    train_runs(df, PS1, model="pca", runs=1, seed=3, out_dir=data / "models" / "default", progress=False)
    train_runs(df.iloc[:800], PS1, model="pca", runs=1, seed=4, out_dir=data / "models" / "masked_ae", progress=False)
    monkeypatch.setenv("SEDSCAPE_DATA_DIR", str(data))
    return data


def test_one_catalog_holds_every_shipped_model_and_is_rebuilt_only_when_one_changes(data_dir):
    path = ensure_default_scored(n_stars=3000, seed=1, progress=False)
    df = read_parquet(path)
    models = {m.key: m for m in scored_models(df)}
    assert list(models) == ["pca", "masked_ae"] and models["pca"].default
    assert models["masked_ae"].threshold == SHIPPED_THRESHOLDS["masked_ae"] and "masked_ae__latent_x" in df
    meta = read_metadata(path)
    det = find_detections(path, meta, environ={})
    assert det == paths.generated_dir() / "mock_sky.detections.parquet" and det.exists()
    epochs = read_epochs(det)
    classes = df.loc[df["obj_id"].isin(set(epochs["obj_id"])), "true_var_class"].astype(str)
    assert (classes == "none").sum() == min(EPOCH_CONSTANT, int((df["true_var_class"].astype(str) == "none").sum()))
    assert set(classes) == set(df["true_var_class"].astype(str))  # every class that the sky has
    assert "mm_map_x" not in df  # no multi-modal model shipped yet

    stamp = path.stat().st_mtime_ns
    assert ensure_default_scored(n_stars=3000, seed=1, progress=False) == path and path.stat().st_mtime_ns == stamp

    # Shipping a multi-modal model rescores (sky and epochs reused): its columns for the stars with epochs.
    from core.models.mm_vae import VAEConfig
    from core.multimodal import stars_with_epochs, train_multimodal

    sky = read_parquet(paths.default_sky_path())
    sub = sky[stars_with_epochs(sky, epochs)].reset_index(drop=True)
    sub.attrs = sky.attrs
    train_multimodal(sub, epochs, data_dir / "models" / "mm_vae", PS1, config=VAEConfig(max_epochs=2), map_kind="none")
    sky_stamp, det_stamp = paths.default_sky_path().stat().st_mtime_ns, det.stat().st_mtime_ns
    df = read_parquet(ensure_default_scored(n_stars=3000, seed=1, progress=False))
    has = df["obj_id"].isin(set(epochs["obj_id"])).to_numpy()
    assert np.isfinite(df.loc[has, "mm_z00"]).all() and df.loc[~has, "mm_z00"].isna().all()
    assert "mm_vae" in read_metadata(path)["default_build"]["fingerprints"]
    assert (paths.default_sky_path().stat().st_mtime_ns, det.stat().st_mtime_ns) == (sky_stamp, det_stamp)

    # Retraining the default model (same interface) only rescores.
    shutil.rmtree(data_dir / "models" / "default")
    train_runs(make_catalog(2000, seed=9), PS1, model="pca", runs=1, seed=9, out_dir=data_dir / "models" / "default",
               progress=False)  # fmt: skip
    before = df["latent_x"].to_numpy()
    df = read_parquet(ensure_default_scored(n_stars=3000, seed=1, progress=False))
    assert not np.allclose(df["latent_x"].to_numpy(), before)
    assert paths.default_sky_path().stat().st_mtime_ns == sky_stamp


def test_the_epoch_sample_caps_each_class_and_is_seeded():
    import pandas as pd

    classes = np.array(["none"] * 5000 + ["ea"] * 700 + ["rrab"] * 20)
    sky = pd.DataFrame({"true_var_class": classes})
    rows = epoch_sample(sky, seed=1, class_cap=300, n_constant=1000)
    picked = pd.Series(classes[rows]).value_counts().to_dict()
    assert picked == {"none": 1000, "ea": 300, "rrab": 20}
    assert np.array_equal(rows, epoch_sample(sky, seed=1, class_cap=300, n_constant=1000))
    assert (np.diff(rows) > 0).all()


def test_a_default_sky_from_another_mock_version_is_rebuilt(data_dir):
    from core.catalog import write_parquet
    from core.defaults import ensure_default_sky
    from core.mock.sky import MOCK_VERSION

    path = ensure_default_sky(n_stars=2000, seed=1, progress=False)
    stale = read_parquet(path).iloc[:10]
    stale.attrs["sedscape"]["mock"]["version"] = "0.9"
    write_parquet(stale, path, overwrite=True)
    assert ensure_default_sky(n_stars=2000, seed=1, progress=False) == path
    rebuilt = read_parquet(path)
    assert len(rebuilt) > 10 and read_metadata(path)["mock"]["version"] == MOCK_VERSION
