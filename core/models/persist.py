"""Saving and loading model weights: named arrays in ``weights.npz`` plus a small ``model.json``."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from core.errors import ModelError, OutputExistsError
from core.models.base import Autoencoder, History


def save_arrays(model: Autoencoder, directory: Path, layers: Sequence[str], kinds: Sequence[str]) -> None:
    """Shared ``save``: named arrays in ``weights.npz`` + ``model.json`` (name, n_bands, seed, history)."""
    weights = model.get_weights()
    directory.mkdir(parents=True, exist_ok=True)
    targets = [directory / "weights.npz", directory / "model.json"]
    existing = [str(t) for t in targets if t.exists()]
    if existing:
        raise OutputExistsError(f"model files already exist: {', '.join(existing)}; choose a new directory")
    keys = [f"{layer}/{kind}" for layer in layers for kind in kinds]
    np.savez(targets[0], **dict(zip(keys, weights, strict=True)))
    meta = {"model": model.name, "n_bands": model.n_bands, "seed": model.seed, "format": 1}
    hist = getattr(model, "history", None)
    if hist is not None:
        meta["history"] = hist.to_dict()
    targets[1].write_text(json.dumps(meta, indent=2))


def load_arrays(cls, directory: Path, layers: Sequence[str], kinds: Sequence[str]):
    """Shared ``load`` for :func:`save_arrays` output; clear errors for missing/foreign files."""
    meta_path, w_path = directory / "model.json", directory / "weights.npz"
    if not meta_path.exists() or not w_path.exists():
        raise ModelError(f"{directory}: not a saved sedscape model (need model.json and weights.npz)")
    try:
        meta = json.loads(meta_path.read_text())
    except json.JSONDecodeError as exc:
        raise ModelError(f"{meta_path}: not valid JSON ({exc})") from exc
    if meta.get("model") != cls.name:
        raise ModelError(f"{directory} holds a {meta.get('model')!r} model, not {cls.name!r}")
    inst = cls(n_bands=int(meta["n_bands"]), seed=int(meta.get("seed", 41)))
    with np.load(w_path) as npz:
        keys = [f"{layer}/{kind}" for layer in layers for kind in kinds]
        missing = [k for k in keys if k not in npz.files]
        if missing:
            raise ModelError(f"{w_path}: missing arrays {missing}")
        inst.set_weights([npz[k] for k in keys])
    if "history" in meta:
        inst.history = History(**meta["history"])
    return inst
