"""The model card: everything needed to reuse, audit or reproduce a trained model directory.

``MODEL_DIR/model_card.json`` records the bands and scaling a model expects, its architecture and
training config, the training catalog's fingerprint, per-run splits and losses (the paper's
Table 1), the chosen run, each run's canonical latent rotation, the run-to-run agreement of latent
neighbourhoods and of anomaly lists, and (on a mock sky with truth columns) how well each run's latent
position predicts the stars' physical parameters.
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

from core.atomic import partial_target
from core.bands import BandSet
from core.catalog import _bandset_from_meta, bandset_to_meta, json_default
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


@dataclass(frozen=True)
class ModelInfo:
    """Which model a card describes: registry name, class path, architecture text and band count."""

    name: str
    cls: str
    architecture: str
    n_bands: int

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "class": self.cls, "architecture": self.architecture, "n_bands": self.n_bands}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ModelInfo:
        return cls(str(d["name"]), str(d.get("class", "")), str(d.get("architecture", "")), int(d["n_bands"]))


@dataclass(frozen=True)
class CatalogInfo:
    """The training catalog's fingerprint (:func:`catalog_fingerprint`): same sha256, same rows in the same order."""

    sha256: str
    n_rows: int
    source: str | None = None
    funnel: list[dict[str, Any]] | None = None
    bands: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CatalogInfo:
        return cls(str(d["sha256"]), int(d["n_rows"]), d.get("source"), d.get("funnel"), list(d.get("bands", [])))


@dataclass(frozen=True)
class Agreement:
    """Run-to-run agreement: mean share of each star's ``k`` nearest latent neighbours that two runs have in common."""

    k: int = 10
    n_stars: int = 0
    sample_seed: int | None = None
    pairs: list[dict[str, Any]] = field(default_factory=list)
    mean: float | None = None
    min: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> Agreement:
        d = d or {}
        known = {k: d[k] for k in cls.__dataclass_fields__ if k in d}
        return cls(**known)


@dataclass(frozen=True)
class AnomalyOverlap:
    """Run-to-run overlap of anomaly lists: Jaccard index |A & B| / |A | B| of two runs' anomalous stars.

    Each run flags the whole training catalog at ``threshold`` mag; ``counts`` are its anomalies per run.
    """

    threshold: float | None = None
    n_stars: int = 0
    counts: list[int] = field(default_factory=list)
    pairs: list[dict[str, Any]] = field(default_factory=list)
    mean: float | None = None
    min: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> AnomalyOverlap:
        d = d or {}
        return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})


@dataclass(frozen=True)
class LatentSmoothness:
    """How smoothly physical parameters vary over each run's latent space (mock truth columns).

    Per run and parameter, the R^2 on held-out test-split stars of a ``k``-nearest-neighbour regression
    from latent position, fitted on training-split stars (:func:`core.latent.knn_r2`): 1 means the
    parameter is a smooth function of latent position, 0 means position says nothing about it.
    """

    k: int = 10
    n_fit: int = 0
    n_eval: int = 0
    parameters: list[str] = field(default_factory=list)
    runs: dict[str, dict[str, float]] = field(default_factory=dict)
    mean: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> LatentSmoothness:
        d = d or {}
        return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})


@dataclass
class ModelCard:
    """A trained model directory's description; ``to_dict`` is what ``model_card.json`` holds.

    :func:`read_card` returns one, so callers use typed attributes (``card.model.name``,
    ``card.run(2).split_seed``, ``card.bandset``) rather than dictionary look-ups.
    """

    model: ModelInfo
    bands: dict[str, Any]
    config: dict[str, Any]
    catalog: CatalogInfo
    runs: list[RunRecord]
    chosen_run: int
    rotations: dict[str, dict[str, Any]]
    agreement: Agreement = field(default_factory=Agreement)
    anomaly_overlap: AnomalyOverlap = field(default_factory=AnomalyOverlap)
    latent_smoothness: LatentSmoothness = field(default_factory=LatentSmoothness)
    split: dict[str, Any] = field(default_factory=dict)
    # How the training rows were drawn from a larger (partitioned) catalog; empty when all rows were used.
    sample: dict[str, Any] = field(default_factory=dict)
    packages: dict[str, str] = field(default_factory=dict)
    created: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))
    scaling: str = SCALING
    chosen_by: str = "lowest validation loss (the paper's footnote 9)"
    card_version: int = CARD_VERSION

    @property
    def bandset(self) -> BandSet:
        return _bandset_from_meta(self.bands)

    @property
    def chosen(self) -> RunRecord:
        return self.run(self.chosen_run)

    def run(self, number: int) -> RunRecord:
        """The record of run ``number`` (1-based); unknown runs list the known ones."""
        for record in self.runs:
            if record.run == number:
                return record
        raise ModelError(f"model card has no run {number}; runs available: {[r.run for r in self.runs]}")

    def rotation(self, run: int) -> Rotation:
        try:
            return Rotation.from_dict(self.rotations[str(run)])
        except KeyError:
            raise ModelError(f"model card has no latent rotation for run {run}") from None

    def to_dict(self) -> dict[str, Any]:
        d = {"card_version": self.card_version}
        for name in self.__dataclass_fields__:
            if name == "card_version":
                continue
            value = getattr(self, name)
            if name == "runs":
                value = [r.to_dict() for r in value]
            elif hasattr(value, "to_dict"):
                value = value.to_dict()
            d[name] = value
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any], source: str = "model card") -> ModelCard:
        """Rebuild a card from its JSON form; a missing or malformed entry raises :class:`ModelError` naming it."""
        missing = [k for k in REQUIRED_KEYS if k not in d]
        if missing:
            raise ModelError(f"{source}: model card lacks {', '.join(missing)}")
        try:
            return cls(
                model=ModelInfo.from_dict(d["model"]),
                bands=d["bands"],
                config=dict(d.get("config", {})),
                catalog=CatalogInfo.from_dict(d.get("catalog") or {"sha256": "", "n_rows": 0}),
                runs=[RunRecord(**r) for r in d["runs"]],
                chosen_run=int(d["chosen_run"]),
                rotations=dict(d["rotations"]),
                agreement=Agreement.from_dict(d.get("agreement")),
                anomaly_overlap=AnomalyOverlap.from_dict(d.get("anomaly_overlap")),
                latent_smoothness=LatentSmoothness.from_dict(d.get("latent_smoothness")),
                split=dict(d.get("split", {})),
                sample=dict(d.get("sample", {})),
                packages=dict(d.get("packages", {})),
                created=str(d.get("created", "")),
                scaling=str(d["scaling"]),
                chosen_by=str(d.get("chosen_by", "")),
                card_version=int(d["card_version"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(f"{source}: malformed model card ({exc.__class__.__name__}: {exc})") from exc

    def write(self, directory: str | Path) -> Path:
        path = Path(directory) / CARD_NAME
        with partial_target(path) as tmp:
            tmp.write_text(json.dumps(self.to_dict(), indent=2, default=json_default) + "\n")
            tmp.replace(path)
        return path


def choose_run(runs: list[RunRecord]) -> int:
    """The run number with the lowest validation loss (ties: the earlier run)."""
    if not runs:
        raise ModelError("no training runs to choose from")
    return min(runs, key=lambda r: (r.val_loss, r.run)).run


def read_card(model_dir: str | Path) -> ModelCard:
    """Read and check ``MODEL_DIR/model_card.json``; a missing or malformed card raises :class:`ModelError`."""
    path = Path(model_dir) / CARD_NAME
    if not path.exists():
        raise ModelError(
            f"{model_dir}: not a sedscape model directory (no {CARD_NAME}); train one with `sedscape train`"
        )
    try:
        raw = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ModelError(f"{path}: cannot read the model card ({exc})") from exc
    if not isinstance(raw, dict):
        raise ModelError(f"{path}: the model card is not a JSON object")
    return ModelCard.from_dict(raw, source=str(path))


def card_sha256(model_dir: str | Path) -> str:
    """Fingerprint of the card file itself (recorded by scoring so results point at one exact model)."""
    return hashlib.sha256((Path(model_dir) / CARD_NAME).read_bytes()).hexdigest()


def catalog_fingerprint(df: pd.DataFrame, bands: BandSet, source: str | None = None) -> CatalogInfo:
    """sha256 over ``obj_id`` and the magnitude columns (row order matters: it fixes the splits)."""
    h = hashlib.sha256()
    h.update(np.ascontiguousarray(df["obj_id"].to_numpy(dtype=np.int64)).tobytes())
    h.update(np.ascontiguousarray(df[list(bands.names)].to_numpy(dtype=np.float64)).tobytes())
    funnel = df.attrs.get("sedscape", {}).get("funnel")
    return CatalogInfo(h.hexdigest(), int(len(df)), str(source) if source else None, funnel, list(bands.names))


def package_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out: dict[str, str] = {}
    for name in ("sedscape", "tensorflow", "keras", "numpy", "pandas", "scikit-learn"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    return out


def model_description(model: Any) -> ModelInfo:
    """Name, class and architecture text of a model (``model.architecture`` if it offers one)."""
    arch = getattr(model, "architecture", None)
    if callable(arch):
        arch = arch()
    if arch is None:
        doc = (type(model).__doc__ or "").strip().splitlines()
        arch = doc[0] if doc else type(model).__name__
    return ModelInfo(model.name, f"{type(model).__module__}.{type(model).__qualname__}", str(arch), model.n_bands)


def bands_meta(bands: BandSet) -> dict[str, Any]:
    return bandset_to_meta(bands)
