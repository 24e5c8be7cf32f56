"""The embedded default: the mock sky scored by the shipped default model, built once on first use."""

from __future__ import annotations

import logging
from pathlib import Path

from core import paths
from core.card import CARD_NAME
from core.catalog import read_metadata, write_parquet
from core.errors import SedscapeError

log = logging.getLogger(__name__)

DEFAULT_SEED = 1


def ensure_default_sky(n_stars: int | None = None, seed: int = DEFAULT_SEED, *, progress: bool = True) -> Path:
    """Generate the default mock sky into ``paths.default_sky_path()`` unless it is already there."""
    from core.mock import generate_mock_sky

    path = paths.default_sky_path()
    if path.exists():
        return path
    log.info("building the default mock sky (seed %d) into %s", seed, path)
    kwargs = {"seed": seed}
    if n_stars is not None:
        kwargs["n_stars"] = n_stars
    sky = generate_mock_sky(**kwargs)
    return write_parquet(sky, path)


def ensure_default_scored(
    n_stars: int | None = None,
    seed: int = DEFAULT_SEED,
    model_dir: Path | None = None,
    *,
    progress: bool = True,
) -> Path:
    """Score the default mock sky with the default model into ``paths.default_scored_path()`` if needed.

    A scored file made with another model (its card fingerprint differs) is rebuilt.
    """
    from core.catalog import read_parquet
    from core.scoring import TrainedModel, score_catalog

    model_dir = Path(model_dir or paths.default_model_dir())
    if not (model_dir / CARD_NAME).exists():
        raise SedscapeError(
            f"no trained model in {model_dir}; train one with "
            "`sedscape train data/generated/mock_sky.parquet --out data/models/default`"
        )
    model = TrainedModel.load(model_dir)
    scored = paths.default_scored_path()
    if scored.exists():
        meta = read_metadata(scored)
        if meta.get("model", {}).get("fingerprint") == model.fingerprint:
            return scored
        log.info("default scored sky was made with another model; rebuilding %s", scored)
    sky = read_parquet(ensure_default_sky(n_stars, seed, progress=progress))
    out = score_catalog(sky, model, progress=progress)
    return write_parquet(out, scored, overwrite=True)
