"""A small scored sky with the stellar model's parameters, for the stellar dashboard tests: stars made with the
shipped stellar model's forward model (``core.best_fit_sed``: random Teff, log g, [Fe/H] where it was trained,
E(B-V) 0.05-0.4, distances 0.3-5 kpc, 0.01 mag noise), 1 in 30 with one band off by 0.15-0.5 mag, scored by a real PCA model and
given parameters by really running the stellar inference (``core.infer_parameters``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from core import (
    PS1,
    TrainedModel,
    best_fit_sed,
    card_sha256,
    default_stellar_model_dir,
    infer_parameters,
    load_stellar_model,
    score_catalog,
    train_runs,
)
from core.catalog import write_parquet
from core.stellar.inference import configs_from_card
from tests._catalogs import make_catalog

ERR = 0.01


def make_stellar_sky(root: Path, n: int = 1500, seed: int = 7) -> tuple[Path, Path]:
    """``root/scored.parquet``: dereddened magnitudes with ``<band>_obs`` (seen through the dust), scored, with
    ``stellar_*`` columns and the ``stellar`` metadata ``sedscape stellar-model infer`` writes; and the PCA model
    directory ``root/model``."""
    rng = np.random.default_rng(seed)
    stellar_dir = default_stellar_model_dir()
    model, grid, card = load_stellar_model(stellar_dir)
    data_config, grid_config = configs_from_card(card)
    theta = grid.nodes(grid_config.min_count)[0]
    theta = theta[rng.integers(0, len(theta), n)]
    ebv = rng.uniform(0.05, 0.4, n)
    dm = rng.uniform(7.4, 13.5, n)
    apparent = best_fit_sed(model, *theta.T, ebv=ebv, dm=dm) + rng.normal(0, ERR, (n, len(model.bands)))
    df = make_catalog(n, seed=seed)
    df["ebv"] = ebv  # the catalog's dust map: here the truth
    for k, b in enumerate(model.bands):
        df[f"{b}_obs"] = apparent[:, k]
        df[b] = apparent[:, k] - PS1.extinction_coeffs[b] * ebv
        df[f"{b}_err"] = ERR
    odd = rng.choice(n, size=n // 30, replace=False)  # anomalies: one band off by 0.15-0.5 mag
    df.loc[odd, "z"] += rng.choice([-1, 1], size=len(odd)) * rng.uniform(0.15, 0.5, len(odd))
    df.loc[odd, "z_obs"] = df.loc[odd, "z"] + PS1.extinction_coeffs["z"] * ebv[odd]
    df.attrs["sedscape"] = {"dereddened": True}
    model_dir = root / "model"
    train_runs(df, PS1, model="pca", runs=1, seed=seed, out_dir=model_dir, progress=False)
    scored = score_catalog(df, TrainedModel.load(model_dir), progress=False)
    params = infer_parameters(scored, model, grid, data_config=data_config, grid_config=grid_config, progress=False)
    for c in params.columns:
        scored[c] = params[c]
    scored.attrs["sedscape"]["stellar"] = {"model_dir": str(stellar_dir), "model_card_sha256": card_sha256(stellar_dir)}
    return write_parquet(scored, root / "scored.parquet"), model_dir
