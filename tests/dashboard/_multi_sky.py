"""A small mock sky with epochs, scored by two models and a multi-modal VAE, for the model-switch and
light-curve tests (real training, core's public API and CLI)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from core.bands import PS1
from core.catalog import read_parquet, write_parquet
from core.cli import main
from core.epochs import read_epochs
from core.models.mm_vae import VAEConfig
from core.multimodal import MultiModalModel, score_multimodal, stars_with_epochs, train_multimodal
from core.scoring import TrainedModel, score_catalog
from core.training import train_runs

SECOND = "pca_red"  # the second model's key: a PCA fitted on the reddest stars only, so its map differs


def make_multi_sky(root: Path, n: int = 3000, seed: int = 2) -> dict[str, Path]:
    """Write ``root/multi.parquet`` (PCA under the bare names, ``pca_red__*``, ``mm_*`` and ``lc_*``), the
    detection table ``root/multi.detections.parquet`` beside it, and the three model directories."""
    sky_path, det = root / "sky.parquet", root / "multi.detections.parquet"
    assert main(["mock", "--out", str(sky_path), "--stars", str(n), "--seed", str(seed), "--epochs", str(det),
                 "--epochs-constant", "150"]) == 0
    sky = read_parquet(sky_path)
    first, second, mm = root / "pca", root / "pca_red", root / "mm"
    train_runs(sky, PS1, model="pca", runs=1, seed=seed, out_dir=first, progress=False)
    gi = (sky["g"] - sky["i"]).to_numpy()
    red = sky.iloc[np.argsort(-gi)[: n // 4]].reset_index(drop=True)
    red.attrs = sky.attrs
    train_runs(red, PS1, model="pca", runs=1, seed=seed, out_dir=second, progress=False)
    scored = score_catalog(sky, TrainedModel.load(first), progress=False)
    scored = score_catalog(scored, TrainedModel.load(second), threshold=0.1, key=SECOND, progress=False)
    epochs = read_epochs(det)
    has = stars_with_epochs(sky, epochs)
    sub = sky[has].reset_index(drop=True)
    sub.attrs = sky.attrs
    trained = train_multimodal(sub, epochs, mm, PS1, runs=1, config=VAEConfig(max_epochs=3), map_kind="none")
    scored = score_multimodal(scored, epochs, MultiModalModel.load(mm), only_with_epochs=True,
                              features=trained.features)  # fmt: skip
    # Fitting UMAP compiles for a minute; the first two latent coordinates stand in for the map here.
    scored["mm_map_x"], scored["mm_map_y"] = scored["mm_z00"], scored["mm_z01"]
    path = write_parquet(scored, root / "multi.parquet")
    return {"catalog": path, "detections": det, "first": first, "second": second, "mm": mm}
