"""The model card: everything needed to reuse, audit or reproduce a trained model directory.

``MODEL_DIR/model_card.json`` records the bands and scaling a model expects, its architecture and
training config, the training catalog's fingerprint, per-run splits and losses (the paper's
Table 1), the chosen run, each run's canonical latent rotation and the run-to-run agreement.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.bands import BandSet
from core.catalog import _bandset_from_meta, bandset_to_meta
from core.errors import ModelError
from core.latent import Rotation

log = logging.getLogger(__name__)

CARD_NAME = "model_card.json"
CARD_VERSION = 1
SCALING = "mag/10 rounded to 3 decimals"
REQUIRED_KEYS = ("card_version", "model", "bands", "scaling", "runs", "chosen_run", "rotations")


@dataclass
class RunRecord:
    """One training run's split, seeds and losses (losses in scaled units, as in the paper's Table 1)."""

    run: int
    split_seed: int
    model_seed: int
    n_train: int
    n_val: int
    n_test: int
    epochs: int
    best_epoch: int
    stopped_early: bool
    train_loss: float
    val_loss: float
    test_loss: float
    seconds: float
    directory: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class ModelCard:
    """A trained model directory's description; ``to_dict`` is what ``model_card.json`` holds."""

    model: dict[str, Any]
    bands: dict[str, Any]
    config: dict[str, Any]
    catalog: dict[str, Any]
    runs: list[RunRecord]
    chosen_run: int
    rotations: dict[str, dict[str, Any]]
    agreement: dict[str, Any] = field(default_factory=dict)
    split: dict[str, Any] = field(default_factory=dict)
    # How the training rows were drawn from a larger (partitioned) catalog; empty when all rows were used.
    sample: dict[str, Any] = field(default_factory=dict)
    packages: dict[str, str] = field(default_factory=dict)
    created: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))
    scaling: str = SCALING
    chosen_by: str = "lowest validation loss (the paper's footnote 9)"

    def to_dict(self) -> dict[str, Any]:
        d = {"card_version": CARD_VERSION, **asdict(self)}
        d["runs"] = [r.to_dict() for r in self.runs]
        return d

    def write(self, directory: str | Path) -> Path:
        path = Path(directory) / CARD_NAME
        tmp = path.with_name(f".{CARD_NAME}.partial")
        tmp.write_text(json.dumps(self.to_dict(), indent=2, default=_json_default) + "\n")
        tmp.replace(path)
        return path


def choose_run(runs: list[RunRecord]) -> int:
    """The run number with the lowest validation loss (ties: the earlier run)."""
    if not runs:
        raise ModelError("no training runs to choose from")
    return min(runs, key=lambda r: (r.val_loss, r.run)).run


def read_card(model_dir: str | Path) -> dict[str, Any]:
    """Read and check ``MODEL_DIR/model_card.json``; a missing or malformed card raises :class:`ModelError`."""
    path = Path(model_dir) / CARD_NAME
    if not path.exists():
        raise ModelError(
            f"{model_dir}: not a sedscape model directory (no {CARD_NAME}); train one with `sedscape train`"
        )
    try:
        card = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ModelError(f"{path}: cannot read the model card ({exc})") from exc
    missing = [k for k in REQUIRED_KEYS if k not in card]
    if missing:
        raise ModelError(f"{path}: model card lacks {', '.join(missing)}")
    return card


def card_sha256(model_dir: str | Path) -> str:
    """Fingerprint of the card file itself (recorded by scoring so results point at one exact model)."""
    return hashlib.sha256((Path(model_dir) / CARD_NAME).read_bytes()).hexdigest()


def card_bands(card: dict[str, Any]) -> BandSet:
    return _bandset_from_meta(card["bands"])


def card_rotation(card: dict[str, Any], run: int) -> Rotation:
    try:
        return Rotation.from_dict(card["rotations"][str(run)])
    except KeyError:
        raise ModelError(f"model card has no latent rotation for run {run}") from None


def catalog_fingerprint(df: pd.DataFrame, bands: BandSet, source: str | None = None) -> dict[str, Any]:
    """sha256 over ``obj_id`` and the magnitude columns (row order matters: it fixes the splits)."""
    h = hashlib.sha256()
    h.update(np.ascontiguousarray(df["obj_id"].to_numpy(dtype=np.int64)).tobytes())
    h.update(np.ascontiguousarray(df[list(bands.names)].to_numpy(dtype=np.float64)).tobytes())
    meta = df.attrs.get("sedscape", {})
    return {
        "sha256": h.hexdigest(),
        "n_rows": int(len(df)),
        "source": str(source) if source else None,
        "funnel": meta.get("funnel"),
        "bands": list(bands.names),
    }


def package_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out: dict[str, str] = {}
    for name in ("sedscape", "tensorflow", "keras", "numpy", "pandas", "scikit-learn"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    return out


def model_description(model: Any) -> dict[str, Any]:
    """Name, class and architecture text of a model (``model.architecture`` if it offers one)."""
    arch = getattr(model, "architecture", None)
    if callable(arch):
        arch = arch()
    if arch is None:
        doc = (type(model).__doc__ or "").strip().splitlines()
        arch = doc[0] if doc else type(model).__name__
    return {
        "name": model.name,
        "class": f"{type(model).__module__}.{type(model).__qualname__}",
        "architecture": arch,
        "n_bands": model.n_bands,
    }


def bands_meta(bands: BandSet) -> dict[str, Any]:
    return bandset_to_meta(bands)


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"cannot serialise {type(obj)} to JSON")
