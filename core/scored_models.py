"""Several models in one scored catalog: how their columns are named and where their cards live.

The scheme
----------
* Every model in a scored catalog has a **key**: lowercase letters and digits in words joined by single
  underscores (``lstm_ae``, ``masked_ae``, ``masked_ae_2mass``); by default the model's name with ``-``
  turned into ``_`` (:func:`model_key`).
* The **default model** owns the bare column names of a single-model file: ``latent_x, latent_y,
  <b>_rec, <b>_res, max_abs_res, max_abs_res_sigma, res_band, anomaly`` (and ``emb_00 ...`` for a
  model with an embedding). Every other model has the same names behind ``<key>__``
  (``masked_ae__latent_x``, ``masked_ae__g_res``, ``masked_ae__emb_03``). A reader that only knows
  single-model files therefore sees the default model, unchanged.
* The Parquet metadata (``sedscape`` key) holds ``models``: key -> entry (prefix, model name, directory,
  run, fingerprint, threshold, anomaly count, embedding size, scoring record and the whole model card),
  and ``default_model``: the key of the bare columns. ``scoring`` and ``model`` still describe the
  default model, exactly as in single-model files.
* **Old files** (bare columns and ``scoring``/``model`` metadata, no ``models``) read as one default
  model whose key comes from its model name (its card is not embedded; :attr:`ScoredModel.card` is
  then read from its model directory if that still exists). Scoring another model into such a file
  writes the registry with both.

:func:`model_view` gives any one model's columns under the bare names, so code written for single-model
files (report, export, the dashboard's views) works on any model of a multi-model file.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from core.errors import CatalogError, ConfigError

if TYPE_CHECKING:
    from core.card import ModelCard

__all__ = [
    "EMBEDDING_PREFIX",
    "MODEL_SEP",
    "ScoredModel",
    "add_model_columns",
    "drop_model",
    "embedding_columns",
    "get_scored_model",
    "model_key",
    "model_view",
    "scored_models",
]

MODEL_SEP = "__"
EMBEDDING_PREFIX = "emb_"
_KEY_RE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
# Bare columns every scored model has besides its per-band ones (kept in sync with core.scoring).
_PER_MODEL = ("latent_x", "latent_y", "max_abs_res", "max_abs_res_sigma", "res_band", "anomaly")


def model_key(name: str) -> str:
    """A valid key from a model name or user text: ``masked-ae`` -> ``masked_ae``."""
    key = re.sub(r"[^a-z0-9]+", "_", str(name).lower()).strip("_")
    if key and key[0].isdigit():
        key = f"m_{key}"
    return check_key(key or "model")


def check_key(key: str) -> str:
    """Return ``key`` if it is a valid model key, else raise :class:`ConfigError` saying what is allowed."""
    if not isinstance(key, str) or not _KEY_RE.match(key):
        raise ConfigError(
            f"model key {key!r} is not valid: use lowercase letters and digits in words joined by single "
            "underscores, starting with a letter (e.g. masked_ae)"
        )
    return key


def embedding_columns(dim: int, prefix: str = "") -> list[str]:
    """``emb_00 ... emb_<dim-1>`` (behind ``prefix``)."""
    return [f"{prefix}{EMBEDDING_PREFIX}{k:02d}" for k in range(int(dim))]


def bare_columns(bands: tuple[str, ...], embedding_dim: int = 0) -> list[str]:
    """A model's columns under their bare names, in the order scoring writes them."""
    return [
        "latent_x",
        "latent_y",
        *[f"{b}_rec" for b in bands],
        *[f"{b}_res" for b in bands],
        "max_abs_res",
        "max_abs_res_sigma",
        "res_band",
        "anomaly",
        *embedding_columns(embedding_dim),
    ]


@dataclass(frozen=True)
class ScoredModel:
    """One model's entry in a scored catalog; ``meta`` is the registry entry as stored in the metadata."""

    key: str
    meta: Mapping[str, Any]
    default: bool

    # -- identity ---------------------------------------------------------------------------------------
    @property
    def prefix(self) -> str:
        return "" if self.default else f"{self.key}{MODEL_SEP}"

    @property
    def name(self) -> str:
        """Registry name of the model type (``lstm-ae``, ``masked-ae``, ...)."""
        return str(self.meta.get("name", self.key))

    @property
    def label(self) -> str:
        """What a report, an export or a widget calls the model: ``masked_ae (masked-ae run 2)``."""
        run = self.meta.get("run")
        return f"{self.key} ({self.name}{f' run {run}' if run is not None else ''})"

    @property
    def bands(self) -> tuple[str, ...]:
        return tuple(self.meta.get("bands", ()))

    @property
    def threshold(self) -> float:
        from core.scoring import DEFAULT_THRESHOLD

        return float(self.meta.get("threshold", DEFAULT_THRESHOLD))

    @property
    def run(self) -> int | None:
        return self.meta.get("run")

    @property
    def model_dir(self) -> str | None:
        return self.meta.get("model_dir")

    @property
    def fingerprint(self) -> str | None:
        return self.meta.get("fingerprint")

    @property
    def embedding_dim(self) -> int:
        return int(self.meta.get("embedding_dim", 0))

    @property
    def card(self) -> ModelCard | None:
        """The model card stored with the scores, else (old files) read from the model directory if present."""
        from core.card import CARD_NAME, ModelCard, read_card

        if self.meta.get("card"):
            return ModelCard.from_dict(dict(self.meta["card"]), source=f"the card of model {self.key!r} in the catalog")
        if self.model_dir and (Path(self.model_dir) / CARD_NAME).exists():
            return read_card(self.model_dir)
        return None

    # -- columns ----------------------------------------------------------------------------------------
    def column(self, bare: str) -> str:
        """The catalog column holding this model's ``bare`` column (``latent_x`` -> ``masked_ae__latent_x``)."""
        return f"{self.prefix}{bare}"

    @property
    def latent_columns(self) -> tuple[str, str]:
        return self.column("latent_x"), self.column("latent_y")

    @property
    def rec_columns(self) -> tuple[str, ...]:
        return tuple(self.column(f"{b}_rec") for b in self.bands)

    @property
    def res_columns(self) -> tuple[str, ...]:
        return tuple(self.column(f"{b}_res") for b in self.bands)

    @property
    def embedding_columns(self) -> tuple[str, ...]:
        return tuple(embedding_columns(self.embedding_dim, self.prefix))

    def column_map(self) -> dict[str, str]:
        """Bare name -> catalog column, for every column this model wrote."""
        return {c: self.column(c) for c in bare_columns(self.bands, self.embedding_dim)}

    def provenance(self) -> dict[str, Any]:
        """What an export or a report records about the model it shows."""
        return {k: self.meta.get(k) for k in ("name", "run", "model_dir", "fingerprint", "threshold")} | {
            "key": self.key,
            "default": self.default,
            "column_prefix": self.prefix,
        }


def _meta_and_columns(source: pd.DataFrame | Mapping[str, Any] | str | Path) -> tuple[dict, list[str] | None]:
    if isinstance(source, pd.DataFrame):
        return dict(source.attrs.get("sedscape", {})), [str(c) for c in source.columns]
    if isinstance(source, str | Path):
        import pyarrow.parquet as pq

        from core.catalog import read_metadata

        try:
            names = pq.read_schema(source).names
        except Exception as exc:
            raise CatalogError(f"{source}: cannot read Parquet schema ({exc})") from exc
        return read_metadata(source), list(names)
    return dict(source), None


def _legacy_entry(meta: dict, columns: list[str] | None) -> dict[str, Any] | None:
    """The registry entry of a single-model file written before the registry existed (or None)."""
    scoring = meta.get("scoring")
    if not scoring and (columns is None or "latent_x" not in columns):
        return None
    scoring = dict(scoring or {})
    model = dict(meta.get("model") or {})
    bands = [b["name"] for b in meta.get("bands", [])] if isinstance(meta.get("bands"), list) else []
    n_emb = 0
    if columns is not None:
        while f"{EMBEDDING_PREFIX}{n_emb:02d}" in columns:
            n_emb += 1
    from core.scoring import DEFAULT_THRESHOLD

    return {
        "name": model.get("name") or scoring.get("model") or "model",
        "run": model.get("run", scoring.get("run")),
        "model_dir": model.get("dir", scoring.get("model_dir")),
        "fingerprint": model.get("fingerprint"),
        "threshold": float(scoring.get("threshold", DEFAULT_THRESHOLD)),
        "n_anomalies": scoring.get("n_anomalies"),
        "bands": bands,
        "embedding_dim": n_emb,
        "scoring": scoring,
        "model": model,
        "card": None,
        "legacy": True,
    }


def _registry(meta: dict, columns: list[str] | None) -> tuple[dict[str, dict], str | None]:
    models = meta.get("models")
    if models:
        default = meta.get("default_model")
        return {k: dict(v) for k, v in models.items()}, default if default in models else None
    legacy = _legacy_entry(meta, columns)
    if legacy is None:
        return {}, None
    key = model_key(legacy["name"])
    return {key: legacy}, key


def scored_models(source: pd.DataFrame | Mapping[str, Any] | str | Path) -> list[ScoredModel]:
    """The models whose outputs a scored catalog holds (a DataFrame, its metadata dict or a Parquet path),
    default model first; empty for an unscored catalog."""
    meta, columns = _meta_and_columns(source)
    models, default = _registry(meta, columns)
    out = [ScoredModel(k, v, k == default) for k, v in models.items()]
    return sorted(out, key=lambda m: (not m.default, m.key))


def get_scored_model(source: pd.DataFrame | Mapping[str, Any] | str | Path, key: str | None = None) -> ScoredModel:
    """One model of a scored catalog by key (None: the default model); unknown keys list the known ones."""
    models = scored_models(source)
    if not models:
        raise CatalogError("not a scored catalog (no model outputs); run `sedscape score` first")
    if key is None:
        return models[0]
    for m in models:
        if m.key == key:
            return m
    raise CatalogError(f"no model {key!r} in this scored catalog; models present: {', '.join(m.key for m in models)}")


def model_view(df: pd.DataFrame, key: str | None = None) -> pd.DataFrame:
    """``df`` as a single-model scored catalog of model ``key``: its columns under the bare names, the other
    models' columns left out, and metadata (``scoring``, ``model``, ``models``) describing that model only."""
    chosen = get_scored_model(df, key)
    others = [m for m in scored_models(df) if m.key != chosen.key]
    drop = {c for m in others for c in m.column_map().values() if c in df.columns}
    mapping = {v: k for k, v in chosen.column_map().items() if v in df.columns}
    keep = [c for c in df.columns if c not in drop or c in mapping]
    out = df[keep].rename(columns=mapping)
    meta = copy.deepcopy(dict(df.attrs.get("sedscape", {})))
    entry = dict(chosen.meta)
    meta["models"] = {chosen.key: entry}
    meta["default_model"] = chosen.key
    if entry.get("scoring"):
        meta["scoring"] = entry["scoring"]
    if entry.get("model"):
        meta["model"] = entry["model"]
    out.attrs = {**df.attrs, "sedscape": meta}
    return out


def _write_registry(meta: dict, models: dict[str, dict], default: str | None) -> dict:
    meta = dict(meta)
    meta["models"] = models
    meta["default_model"] = default
    if default is not None:
        entry = models[default]
        if entry.get("scoring"):
            meta["scoring"] = entry["scoring"]
        if entry.get("model"):
            meta["model"] = entry["model"]
    else:
        meta.pop("scoring", None)
        meta.pop("model", None)
    return meta


def add_model_columns(
    df: pd.DataFrame,
    columns: Mapping[str, Any],
    key: str,
    entry: Mapping[str, Any],
    *,
    as_default: bool | None = None,
) -> pd.DataFrame:
    """A copy of ``df`` with one model's ``columns`` (bare name -> values) added or replaced under ``key``.

    Other models' columns are untouched. ``as_default=None`` makes the model the default when the catalog
    has none yet or when ``key`` is already the default; ``True`` makes it the default (the previous
    default's bare columns move behind its own prefix); ``False`` keeps it prefixed (a model that is the
    default stays so: make another model the default to move it).
    """
    check_key(key)
    meta, names = _meta_and_columns(df)
    models, default = _registry(meta, names)
    if as_default is None or (as_default is False and key == default):
        as_default = default is None or key == default
    out = df.copy(deep=False)
    if key in models:  # replacing: drop what the old entry wrote that the new one will not
        old = ScoredModel(key, models[key], key == default)
        new_names = {(("" if as_default else f"{key}{MODEL_SEP}") + c) for c in columns}
        stale = [c for c in old.column_map().values() if c in out.columns and c not in new_names]
        out = out.drop(columns=stale)
    if as_default and default is not None and default != key:
        old = ScoredModel(default, models[default], True)
        moved = {c: f"{default}{MODEL_SEP}{c}" for c in old.column_map() if c in out.columns}
        out = out.rename(columns=moved)
    prefix = "" if as_default else f"{key}{MODEL_SEP}"
    added = {f"{prefix}{bare}": values for bare, values in columns.items()}
    replaced = [c for c in added if c in out.columns]
    for name in replaced:  # in place, keeping the column's position
        out[name] = added.pop(name)
    if added:  # all at once: one insert per column fragments a wide catalog's frame
        out = pd.concat([out, pd.DataFrame(added, index=out.index)], axis=1)
    models[key] = {k: v for k, v in entry.items() if k != "legacy"}
    models[key]["bands"] = list(models[key].get("bands", []))
    out.attrs = {**df.attrs, "sedscape": _write_registry(meta, models, key if as_default else default)}
    return out


def drop_model(df: pd.DataFrame, key: str) -> pd.DataFrame:
    """``df`` without model ``key``'s columns and registry entry (dropping the default leaves no default)."""
    chosen = get_scored_model(df, key)
    meta, names = _meta_and_columns(df)
    models, default = _registry(meta, names)
    out = df.drop(columns=[c for c in chosen.column_map().values() if c in df.columns])
    models.pop(key)
    out.attrs = {**df.attrs, "sedscape": _write_registry(meta, models, None if default == key else default)}
    return out
