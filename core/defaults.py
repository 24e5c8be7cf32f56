"""The embedded default: the mock sky, epochs for a subsample of it, and one scored catalog holding every
shipped model, built once on first use (``sedscape prepare-default``).

* ``generated/mock_sky.parquet``: the mock sky (seed 1, ~3.1M stars after the paper's cuts).
* ``generated/mock_sky.detections.parquet``: PS1-like epochs (``core.mock.epochs``) of a subsample: every
  variable of each class up to :data:`EPOCH_CLASS_CAP` (the rare classes whole; eclipsing binaries and
  flaring M dwarfs number in the thousands) and :data:`EPOCH_CONSTANT` non-variables. Light-curve features
  cost ~50-100 ms per star that varies (the period search), so epochs for all ~45,000 variables would make
  this step take most of an hour; the subsample keeps it to minutes.
* ``generated/mock_sky_scored.parquet``: scored by every shipped model: the default LSTM-AE
  (``data/models/default``) under the bare column names, the masked AE (``data/models/masked_ae``) behind
  ``masked_ae__``, and the multi-modal VAE (``data/models/mm_vae``) on the stars with epochs (``mm_*``,
  ``lc_*``; NaN for the others). Its metadata records the detection table (``detections``) and the card
  fingerprint of each model used (``default_build``); a file made with other models is rebuilt, so retraining
  any shipped model only makes this rescore.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core import paths
from core.card import CARD_NAME, card_sha256
from core.catalog import read_metadata, write_parquet
from core.errors import SedscapeError

log = logging.getLogger(__name__)

DEFAULT_SEED = 1
EPOCH_CLASS_CAP = 300  # stars with epochs per variability class (every RR Lyrae and LPV: there are fewer)
EPOCH_CONSTANT = 2_000  # non-variable stars with epochs
# Anomaly thresholds the default catalog records per model (the slider starts there when the model is shown).
# The masked AE's residuals are leave-one-band-out predictions, larger than a reconstruction's: at 0.2 mag it
# flags 0.29% of the default sky with recall 81.9% and precision 91.0% against the mock's truth (README,
# "Masked-band pretraining"); at the paper's 0.05 it would flag 16.9%.
SHIPPED_THRESHOLDS = {"masked_ae": 0.2}
BUILD_KEY = "default_build"


def default_epochs_path() -> Path:
    return paths.generated_dir() / "mock_sky.detections.parquet"


@dataclass(frozen=True)
class ShippedModel:
    """A model the default catalog is scored with: its column key, directory and kind."""

    key: str
    directory: Path
    kind: str  # "sed" (an autoencoder of the photometry) or "multimodal"

    @property
    def fingerprint(self) -> str:
        return card_sha256(self.directory)


def shipped_models(model_dir: Path | None = None) -> list[ShippedModel]:
    """The models the default catalog holds: the default model (``model_dir`` or ``data/models/default``;
    required), then the masked AE and the multi-modal VAE where they are shipped."""
    from core.scored_models import model_key

    default = Path(model_dir or paths.default_model_dir())
    if not (default / CARD_NAME).exists():
        raise SedscapeError(
            f"no trained model in {default}; train one with "
            "`sedscape train data/generated/mock_sky.parquet --out data/models/default`"
        )
    import json

    name = json.loads((default / CARD_NAME).read_text()).get("model", {}).get("name", "model")
    out = [ShippedModel(model_key(name), default, "sed")]
    models = paths.data_dir() / "models"
    for key, folder, kind in (("masked_ae", "masked_ae", "sed"), ("mm_vae", "mm_vae", "multimodal")):
        directory = models / folder
        if (directory / CARD_NAME).exists() and directory.resolve() != default.resolve():
            out.append(ShippedModel(key, directory, kind))
    return out


def ensure_default_sky(n_stars: int | None = None, seed: int = DEFAULT_SEED, *, progress: bool = True) -> Path:
    """Generate the default mock sky into ``paths.default_sky_path()`` unless it is already there."""
    from core.mock import generate_mock_sky
    from core.mock.sky import MOCK_VERSION

    path = paths.default_sky_path()
    if path.exists():
        made = read_metadata(path).get("mock", {})
        if made.get("version") == MOCK_VERSION and made.get("seed") == seed:
            return path
        log.info("the default mock sky in %s is mock %s seed %s, not mock %s seed %d; rebuilding it", path,
                 made.get("version"), made.get("seed"), MOCK_VERSION, seed)  # fmt: skip
    log.info("building the default mock sky (seed %d) into %s", seed, path)
    kwargs = {"seed": seed}
    if n_stars is not None:
        kwargs["n_stars"] = n_stars
    sky = generate_mock_sky(**kwargs)
    return write_parquet(sky, path, overwrite=True)  # our own generated file, never a user's


def epoch_sample(sky: pd.DataFrame, seed: int = DEFAULT_SEED, class_cap: int = EPOCH_CLASS_CAP,
                 n_constant: int = EPOCH_CONSTANT) -> np.ndarray:
    """Sorted row positions of the stars that get epochs: up to ``class_cap`` of each variability class
    (random, seeded) and ``n_constant`` non-variables."""
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 1402]))
    classes = sky["true_var_class"].astype(str).to_numpy()
    keep = []
    for c in np.unique(classes):
        rows = np.flatnonzero(classes == c)
        limit = n_constant if c == "none" else class_cap
        keep.append(rng.permutation(rows)[:limit])
    return np.sort(np.concatenate(keep))


def _epochs_config(sky: pd.DataFrame, seed: int) -> dict[str, Any]:
    return {"seed": int(seed), "class_cap": EPOCH_CLASS_CAP, "n_constant": EPOCH_CONSTANT, "sky_rows": len(sky),
            "sky_obj_id_sum": int(sky["obj_id"].to_numpy(np.int64).sum(dtype=np.int64))}  # fmt: skip


def ensure_default_epochs(sky: pd.DataFrame, seed: int = DEFAULT_SEED) -> Path:
    """Write the default sky's epochs (see the module docstring) unless a file made the same way exists."""
    from core.epochs import write_epochs
    from core.mock.epochs import EpochConfig, make_epochs

    path = default_epochs_path()
    config = _epochs_config(sky, seed)
    if path.exists() and read_metadata(path).get("default_epochs") == config:
        return path
    rows = epoch_sample(sky, seed)
    sub = sky.iloc[rows].reset_index(drop=True)
    det = make_epochs(sub, seed, EpochConfig(n_constant=-1))
    log.info("default epochs: %d detections of %d stars", len(det), len(sub))
    return write_epochs(det, path, metadata={"catalog": paths.default_sky_path().name, "default_epochs": config},
                        overwrite=True)  # fmt: skip


def _up_to_date(scored: Path, fingerprints: dict[str, str]) -> bool:
    meta = read_metadata(scored)
    build = meta.get(BUILD_KEY)
    if build is not None:
        return build.get("fingerprints") == fingerprints
    return False  # a file from before epochs and several models were shipped


def ensure_default_scored(
    n_stars: int | None = None,
    seed: int = DEFAULT_SEED,
    model_dir: Path | None = None,
    *,
    progress: bool = True,
) -> Path:
    """Score the default mock sky with every shipped model into ``paths.default_scored_path()`` if needed.

    A scored file made with other models (a card fingerprint differs, or a model was added) is rebuilt.
    """
    from core.catalog import read_parquet
    from core.scoring import DEFAULT_THRESHOLD, TrainedModel, score_catalog

    models = shipped_models(model_dir)
    fingerprints = {m.key: m.fingerprint for m in models}
    fingerprints["epochs"] = f"class_cap={EPOCH_CLASS_CAP},n_constant={EPOCH_CONSTANT}"
    from core.mock.sky import MOCK_VERSION

    fingerprints["sky"] = f"mock {MOCK_VERSION} seed {seed}"
    scored = paths.default_scored_path()
    if scored.exists():
        if _up_to_date(scored, fingerprints):
            return scored
        log.info("the default scored sky was made with other models; rebuilding %s", scored)
    seconds: dict[str, float] = {}
    t = time.perf_counter()
    out = read_parquet(ensure_default_sky(n_stars, seed, progress=progress))
    seconds["sky"] = time.perf_counter() - t
    t = time.perf_counter()
    epochs_path = ensure_default_epochs(out, seed)  # the light curves, with or without a multi-modal model
    seconds["epochs"] = time.perf_counter() - t
    for i, m in enumerate(models):
        t = time.perf_counter()
        if m.kind == "sed":
            model = TrainedModel.load(m.directory)
            out = score_catalog(out, model, threshold=SHIPPED_THRESHOLDS.get(m.key, DEFAULT_THRESHOLD),
                                progress=progress, key=m.key, as_default=i == 0)  # fmt: skip
        else:
            from core.epochs import read_epochs
            from core.multimodal import MultiModalModel, score_multimodal

            model = MultiModalModel.load(m.directory)
            epochs = read_epochs(epochs_path, model.bands)
            out = score_multimodal(out, epochs, model, progress=progress, source=str(epochs_path),
                                   only_with_epochs=True)  # fmt: skip
        seconds[m.key] = time.perf_counter() - t
        log.info("default sky scored with %s in %.1f s", m.key, seconds[m.key])
    meta = dict(out.attrs.get("sedscape", {}))
    meta["detections"] = epochs_path.name  # beside the scored file (core.find_detections)
    meta[BUILD_KEY] = {"fingerprints": fingerprints, "seconds": seconds,
                       "models": {m.key: str(m.directory) for m in models}}  # fmt: skip
    out.attrs["sedscape"] = meta
    t = time.perf_counter()
    path = write_parquet(out, scored, overwrite=True)
    log.info("wrote the default scored sky in %.1f s (%s)", time.perf_counter() - t,
             ", ".join(f"{k} {v:.0f} s" for k, v in seconds.items()))
    return path
