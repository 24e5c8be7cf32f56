"""A small scored sky and a real (PCA) model directory, made with core's public API, for dashboard tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from core.bands import PS1
from core.catalog import write_parquet
from core.scoring import TrainedModel, score_catalog
from core.training import train_runs
from tests._catalogs import make_catalog

CATEGORIES = ("MS", "RGB", "WD", "binary")


def make_scored_sky(root: Path, n: int = 3000, seed: int = 3) -> tuple[Path, Path]:
    """Write ``root/scored.parquet`` and ``root/model/``; a few stars get a bumped band to be anomalous."""
    df = make_catalog(n, seed=seed)
    rng = np.random.default_rng(seed)
    model_dir = root / "model"
    train_runs(df, PS1, model="pca", runs=1, seed=seed, out_dir=model_dir, progress=False)
    bumped = df.copy()
    odd = rng.choice(n, size=max(n // 50, 5), replace=False)
    bumped.loc[odd, "z"] += rng.choice([-0.4, 0.4], size=len(odd))
    bumped["simbad_category"] = np.where(rng.random(n) < 0.3, rng.choice(CATEGORIES, n), None)
    bumped["simbad_otype"] = bumped["simbad_category"]
    bumped["true_class"] = rng.choice(["dwarf", "giant", "wd"], n)
    parallax = np.where(rng.random(n) < 0.4, rng.uniform(0.5, 5.0, n), np.nan)
    bumped["parallax"] = parallax
    bumped["abs_g"] = bumped["g"] + 5 * np.log10(parallax / 100.0)
    bumped["dist_kpc"] = 1.0 / parallax
    model = TrainedModel.load(model_dir)
    scored = score_catalog(bumped, model, progress=False)
    path = write_parquet(scored, root / "scored.parquet")
    return path, model_dir
