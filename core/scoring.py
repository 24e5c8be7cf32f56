"""Scoring: run a trained model over a catalog; add canonical latent coordinates, reconstructions and anomaly flags.

A star is anomalous when any band's reconstruction misses the observed magnitude by more than the
threshold (0.05 mag by default, the paper's section 7). Residuals are observed minus reconstructed.
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from core.bands import BandSet
from core.card import CARD_NAME, ModelCard, card_sha256, read_card
from core.catalog import band_set_of, bandset_to_meta, read_parquet
from core.errors import BandMismatchError, CatalogError, ConfigError, ModelError
from core.latent import Rotation
from core.models.base import Autoencoder, model_class, unscale
from core.training import STATE_TABLE_NAME

log = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_THRESHOLD",
    "scored_columns",
    "TrainedModel",
    "flag_anomalies",
    "load_scored",
    "score_catalog",
]

DEFAULT_THRESHOLD = 0.05


def scored_columns(bands: BandSet) -> list[str]:
    """The columns :func:`score_catalog` adds, in order."""
    return [
        "latent_x",
        "latent_y",
        *[f"{b}_rec" for b in bands.names],
        *[f"{b}_res" for b in bands.names],
        "max_abs_res",
        "max_abs_res_sigma",
        "res_band",
        "anomaly",
    ]


class TrainedModel:
    """A model directory loaded for use: one run's weights, its canonical rotation, and the card."""

    def __init__(
        self,
        model: Autoencoder,
        bands: BandSet,
        rotation: Rotation,
        card: ModelCard | None,
        run: int,
        model_dir: Path | None = None,
        threshold: float = DEFAULT_THRESHOLD,
    ) -> None:
        if model.n_bands != len(bands):
            raise ModelError(f"model expects {model.n_bands} bands but the card lists {list(bands.names)}")
        self.model = model
        self.bands = bands
        self.rotation = rotation
        self.card = card
        self.run = run
        self.model_dir = model_dir
        self.threshold = threshold
        self.state_table: tuple[np.ndarray, np.ndarray] | None = None
        self._state_tree = None

    @classmethod
    def load(cls, model_dir: str | Path, run: int | None = None) -> TrainedModel:
        """Load ``model_dir``'s chosen run (or ``run``); errors name the directory and what is missing."""
        model_dir = Path(model_dir)
        card = read_card(model_dir)
        run = card.chosen_run if run is None else int(run)
        try:
            entry = card.run(run)
        except ModelError as exc:
            raise ModelError(f"{model_dir}: {exc}") from None
        run_dir = model_dir / entry.directory
        if not run_dir.is_dir():
            raise ModelError(f"{model_dir}: the card lists run {run} but {run_dir} is missing")
        try:
            model = model_class(card.model.name).load(run_dir)
        except ModelError:
            raise
        except Exception as exc:
            raise ModelError(f"{run_dir}: cannot load {card.model.name} weights ({exc})") from exc
        out = cls(model, card.bandset, card.rotation(run), card, run, model_dir)
        table = run_dir / STATE_TABLE_NAME
        if table.exists():
            with np.load(table) as npz:
                out.state_table = (npz["latent"].astype(np.float64), npz["states"].astype(np.float32))
        return out

    @property
    def name(self) -> str:
        return self.card.model.name if self.card is not None else self.model.name

    @property
    def fingerprint(self) -> str:
        """Identifies the exact model used: sha256 of the card file (or card dict) plus the run number."""
        if self.model_dir is not None and (self.model_dir / CARD_NAME).exists():
            digest = card_sha256(self.model_dir)
        else:
            about = self.card.to_dict() if self.card is not None else {"model": self.name}
            digest = hashlib.sha256(json.dumps(about, sort_keys=True, default=str).encode()).hexdigest()
        return f"{digest}/run_{self.run}"

    def _mags(self, df_or_mags: pd.DataFrame | np.ndarray) -> np.ndarray:
        if isinstance(df_or_mags, pd.DataFrame):
            check_bands(df_or_mags, self.bands)
            mags = df_or_mags[list(self.bands.names)].to_numpy(dtype=np.float64)
        else:
            mags = np.asarray(df_or_mags, dtype=np.float64)
            if mags.ndim != 2 or mags.shape[1] != len(self.bands):
                raise BandMismatchError(
                    f"magnitudes have shape {mags.shape}; the model expects (N, {len(self.bands)}) "
                    f"for bands {list(self.bands.names)}"
                )
        return mags

    def features(self, mags: np.ndarray, errs: np.ndarray | None = None) -> np.ndarray:
        """The model's input array (scaled magnitudes, or more for models that read errors and masks)."""
        return type(self.model).features(mags, errs if self.model.uses_errors else None)

    def _features(self, df_or_mags: pd.DataFrame | np.ndarray) -> np.ndarray:
        errs = None
        if self.model.uses_errors and isinstance(df_or_mags, pd.DataFrame):
            missing = [c for c in self.bands.err_columns if c not in df_or_mags.columns]
            if missing:
                raise CatalogError(f"the {self.name} model reads photometric errors; the catalog lacks {missing}")
            errs = df_or_mags[list(self.bands.err_columns)].to_numpy(dtype=np.float64)
        return self.features(self._mags(df_or_mags), errs)

    def encode(self, df_or_mags: pd.DataFrame | np.ndarray) -> np.ndarray:
        """Magnitudes -> canonical latent coordinates (N, 2)."""
        return self.rotation.apply(self.model.encode(self._features(df_or_mags)))

    def decode_latent(self, xy: np.ndarray) -> np.ndarray:
        """Canonical latent coordinates (N, 2) -> reconstructed magnitudes (N, n_bands).

        Exact for models whose decoder reads only the latent (``lstm-ae-2d``, ``dense-ae``, ``pca``):
        decoding a star's latent position gives its reconstruction. The paper's LSTM-AE decoder also starts from the encoder's memory states, which a bare
        latent position does not fix; for such models the states are interpolated (inverse-distance
        weights over the 8 nearest) from the run's table of training stars (``latent_states.npz``),
        so the result matches :meth:`reconstruct` closely where stars are dense, not exactly.
        """
        raw = self.rotation.invert(np.atleast_2d(np.asarray(xy, dtype=np.float64)))
        if self.state_table is None:
            return unscale(self.model.decode(raw.astype(np.float32)))
        return unscale(self.model.decode(raw.astype(np.float32), self._interpolated_states(raw)))

    def _interpolated_states(self, raw: np.ndarray, k: int = 8) -> np.ndarray:
        from scipy.spatial import cKDTree

        latent, states = self.state_table  # type: ignore[misc]
        if self._state_tree is None:
            self._state_tree = cKDTree(latent)
        k = min(k, len(latent))
        dist, idx = self._state_tree.query(raw, k=k)
        dist, idx = dist.reshape(len(raw), k), idx.reshape(len(raw), k)
        w = 1.0 / np.maximum(dist, 1e-12) ** 2
        w /= w.sum(axis=1, keepdims=True)
        return np.einsum("nk,nks->ns", w, states[idx]).astype(np.float32)

    def reconstruct(self, df_or_mags: pd.DataFrame | np.ndarray) -> np.ndarray:
        """Magnitudes -> reconstructed magnitudes (N, n_bands), through the full autoencoder."""
        return unscale(self.model.reconstruct(self._features(df_or_mags)))


def check_bands(df: pd.DataFrame, bands: BandSet, what: str = "catalog") -> None:
    """Raise :class:`BandMismatchError` if ``df`` does not carry exactly ``bands`` (names and count)."""
    meta = df.attrs.get("sedscape", {})
    if "bands" in meta:
        cat_bands = band_set_of(df).names
        if tuple(cat_bands) != tuple(bands.names):
            raise BandMismatchError(
                f"the {what} has bands {list(cat_bands)} but the model was trained on {list(bands.names)}"
            )
    missing = [c for c in bands.names if c not in df.columns]
    if missing:
        raise BandMismatchError(
            f"the {what} lacks magnitude column(s) {missing}; the model was trained on bands "
            f"{list(bands.names)}; the {what}'s columns are {list(map(str, df.columns[:30]))}"
        )


def _check_complete(df: pd.DataFrame, bands: BandSet) -> None:
    missing_err = [c for c in bands.err_columns if c not in df.columns]
    if missing_err:
        raise CatalogError(f"catalog lacks error column(s) {missing_err} needed for max_abs_res_sigma")
    bad = {}
    for col in (*bands.names, *bands.err_columns):
        n = int((~np.isfinite(df[col].to_numpy(dtype=np.float64))).sum())
        if n:
            bad[col] = n
    if bad:
        raise CatalogError(
            "cannot score rows with missing photometry (NaN/inf): "
            + ", ".join(f"{k}: {v} rows" for k, v in bad.items())
            + "; run the selection pipeline (sedscape ingest) first"
        )


def _warn_if_not_dereddened(df: pd.DataFrame, bands: BandSet) -> None:
    """Models are trained on dereddened magnitudes; say so when the catalog's metadata says it is not."""
    from core.extinction import is_dereddened

    if is_dereddened(df, bands):
        return
    meta = df.attrs.get("sedscape", {})
    if "dereddened" in meta:
        why = f"its metadata has 'dereddened': {meta['dereddened']!r}"
        if meta.get("dereddening_skipped"):
            why += f" ('dereddening_skipped': {meta['dereddening_skipped']!r})"
    else:
        why = "its metadata has no 'dereddened' entry (it did not come through `sedscape ingest`)"
    log.warning(
        "the catalog was not dereddened: %s; residuals then include interstellar reddening "
        "(ingest it with E(B-V): `sedscape ingest FILE --ebv sfd` or an ebv column)",
        why,
    )


def score_catalog(
    df: pd.DataFrame,
    model: TrainedModel,
    *,
    threshold: float = DEFAULT_THRESHOLD,
    chunk_size: int = 500_000,
    progress: bool = True,
    key: str | None = None,
    as_default: bool | None = None,
) -> pd.DataFrame:
    """A copy of ``df`` with :func:`scored_columns` added; metadata records the model and threshold.

    Several models can share one catalog (:mod:`core.scored_models`): the model's columns go under
    ``key`` (default: its name, ``masked-ae`` -> ``masked_ae``), other models' columns are untouched. The
    first model scored into a catalog (or ``as_default=True``) owns the bare column names; later ones are
    prefixed ``<key>__``. Models with an embedding also write ``emb_00 ...``.
    """
    from core.scored_models import add_model_columns, embedding_columns, model_key
    if not threshold > 0:
        raise CatalogError(f"threshold must be a positive magnitude, got {threshold}")
    if int(chunk_size) != chunk_size or chunk_size < 1:
        raise ConfigError(f"chunk_size must be a whole number of stars >= 1, got {chunk_size!r}")
    chunk_size = int(chunk_size)
    if len(df) == 0:
        raise CatalogError("the catalog has no rows; there is nothing to score")
    bands = model.bands
    check_bands(df, bands)
    _check_complete(df, bands)
    _warn_if_not_dereddened(df, bands)
    mags = df[list(bands.names)].to_numpy(dtype=np.float64)
    errs = df[list(bands.err_columns)].to_numpy(dtype=np.float64)
    n = len(df)
    latent = np.full((n, 2), np.nan, dtype=np.float64)
    rec = np.full((n, len(bands)), np.nan, dtype=np.float64)
    n_emb = int(getattr(model.model, "embedding_dim", 0))
    emb = np.empty((n, n_emb), dtype=np.float32)
    starts = range(0, n, chunk_size)
    from tqdm.auto import tqdm

    with tqdm(total=n, unit="star", desc="scoring", disable=not progress) as bar:
        for s in starts:
            chunk = model.features(mags[s : s + chunk_size], errs[s : s + chunk_size])
            if n_emb:  # latent, reconstruction and embedding in one pass
                z, r, emb[s : s + chunk_size] = model.model.score_with_embedding(chunk)
            elif hasattr(model.model, "score"):  # latent and reconstruction in one pass
                z, r = model.model.score(chunk)
            else:
                z, r = model.model.encode(chunk), model.model.reconstruct(chunk)
            latent[s : s + chunk_size] = model.rotation.apply(z)
            rec[s : s + chunk_size] = unscale(r)
            bar.update(len(chunk))
    res = mags - rec
    abs_res = np.abs(res)
    with np.errstate(divide="ignore", invalid="ignore"):
        sigma = np.where(errs > 0, abs_res / errs, np.inf)
    cols: dict[str, object] = {"latent_x": latent[:, 0].astype(np.float32), "latent_y": latent[:, 1].astype(np.float32)}
    for k, b in enumerate(bands.names):
        cols[f"{b}_rec"] = rec[:, k].astype(np.float32)
    for k, b in enumerate(bands.names):
        cols[f"{b}_res"] = res[:, k].astype(np.float32)
    cols["max_abs_res"] = abs_res.max(axis=1).astype(np.float32)
    cols["max_abs_res_sigma"] = sigma.max(axis=1).astype(np.float32)
    cols["res_band"] = pd.Categorical.from_codes(abs_res.argmax(axis=1), categories=list(bands.names))
    cols["anomaly"] = (abs_res > threshold).any(axis=1)  # as flag_anomalies
    for k, c in enumerate(embedding_columns(n_emb)):
        cols[c] = emb[:, k]
    key = model_key(key or model.name)
    meta = dict(df.attrs.get("sedscape", {}))
    meta.update(bandset_to_meta(bands))
    scoring = {
        "model_dir": str(model.model_dir) if model.model_dir else None,
        "model_card": str(model.model_dir / CARD_NAME) if model.model_dir else None,
        "model_card_sha256": card_sha256(model.model_dir) if model.model_dir else None,
        "model": model.name,
        "run": model.run,
        "threshold": float(threshold),
        "n_anomalies": int(cols["anomaly"].sum()),
        "n_rows": int(n),
        "scored_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    model_meta = {"name": model.name, "dir": scoring["model_dir"], "run": model.run, "fingerprint": model.fingerprint}
    entry = {
        "name": model.name,
        "run": model.run,
        "model_dir": scoring["model_dir"],
        "fingerprint": model.fingerprint,
        "threshold": float(threshold),
        "n_anomalies": scoring["n_anomalies"],
        "bands": list(bands.names),
        "embedding_dim": n_emb,
        "scoring": scoring,
        "model": model_meta,
        "card": model.card.to_dict() if model.card is not None else None,
    }
    src = df.copy(deep=False)
    src.attrs = {**df.attrs, "sedscape": meta}
    out = add_model_columns(src, cols, key, entry, as_default=as_default)
    log.info("scored %d stars with %s (key %s): %d anomalous at |residual| > %g mag",
             n, model.name, key, scoring["n_anomalies"], threshold)
    return out


def flag_anomalies(df: pd.DataFrame, bands: BandSet, threshold: float) -> np.ndarray:
    """Boolean array: any band's ``|<band>_res|`` strictly greater than ``threshold``."""
    cols = [f"{b}_res" for b in bands.names]
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise CatalogError(f"not a scored catalog: missing {missing}; run `sedscape score` first")
    return anomaly_mask(df[cols].to_numpy(dtype=np.float64), threshold)


def anomaly_mask(residuals: np.ndarray, threshold: float) -> np.ndarray:
    """The anomaly rule: any band's ``|observed - reconstructed|`` strictly greater than ``threshold`` (mag)."""
    return (np.abs(residuals) > threshold).any(axis=1)


def load_scored(
    path: str | Path, rows: int | None = None, columns: list[str] | None = None, model: str | None = None
) -> pd.DataFrame:
    """Read a scored catalog written by ``sedscape score`` (or its first ``rows``, or only ``columns``,
    which must include the scored ones); raise :class:`CatalogError` if columns are missing.

    ``model`` (a key of :func:`core.scored_models.scored_models`) returns that model's single-model view
    (:func:`core.scored_models.model_view`): its columns under the bare names.
    """
    df = read_parquet(path, columns=columns, rows=rows)
    if model is not None:
        from core.scored_models import model_view

        df = model_view(df, model)
    bands = band_set_of(df)
    missing = [c for c in scored_columns(bands) if c not in df.columns]
    if missing:
        raise CatalogError(
            f"{path}: not a scored catalog (missing {', '.join(missing)} for bands {list(bands.names)}); "
            "produce one with `sedscape score CATALOG --model MODEL_DIR --out SCORED.parquet`"
        )
    return df
