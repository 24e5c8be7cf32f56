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
from core.errors import BandMismatchError, CatalogError, ModelError
from core.latent import Rotation
from core.models.base import Autoencoder, model_class, scale, unscale
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

    def encode(self, df_or_mags: pd.DataFrame | np.ndarray) -> np.ndarray:
        """Magnitudes -> canonical latent coordinates (N, 2)."""
        return self.rotation.apply(self.model.encode(scale(self._mags(df_or_mags))))

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
        return unscale(self.model.reconstruct(scale(self._mags(df_or_mags))))


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


def score_catalog(
    df: pd.DataFrame,
    model: TrainedModel,
    *,
    threshold: float = DEFAULT_THRESHOLD,
    chunk_size: int = 500_000,
    progress: bool = True,
) -> pd.DataFrame:
    """A copy of ``df`` with :func:`scored_columns` added; metadata records the model and threshold."""
    if not threshold > 0:
        raise CatalogError(f"threshold must be a positive magnitude, got {threshold}")
    bands = model.bands
    check_bands(df, bands)
    _check_complete(df, bands)
    mags = df[list(bands.names)].to_numpy(dtype=np.float64)
    errs = df[list(bands.err_columns)].to_numpy(dtype=np.float64)
    n = len(df)
    latent = np.empty((n, 2), dtype=np.float64)
    rec = np.empty((n, len(bands)), dtype=np.float64)
    starts = range(0, n, max(1, int(chunk_size)))
    from tqdm.auto import tqdm

    with tqdm(total=n, unit="star", desc="scoring", disable=not progress) as bar:
        for s in starts:
            chunk = scale(mags[s : s + chunk_size])
            if hasattr(model.model, "score"):  # latent and reconstruction in one pass
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
    out = df.copy()
    already = [c for c in scored_columns(bands) if c in out.columns]
    if already:
        log.info("replacing existing scored columns %s", already)
    out["latent_x"] = latent[:, 0].astype(np.float32)
    out["latent_y"] = latent[:, 1].astype(np.float32)
    for k, b in enumerate(bands.names):
        out[f"{b}_rec"] = rec[:, k].astype(np.float32)
    for k, b in enumerate(bands.names):
        out[f"{b}_res"] = res[:, k].astype(np.float32)
    out["max_abs_res"] = abs_res.max(axis=1).astype(np.float32)
    out["max_abs_res_sigma"] = sigma.max(axis=1).astype(np.float32)
    out["res_band"] = pd.Categorical.from_codes(abs_res.argmax(axis=1), categories=list(bands.names))
    out["anomaly"] = flag_anomalies(out, bands, threshold)
    meta = dict(df.attrs.get("sedscape", {}))
    meta.update(bandset_to_meta(bands))
    meta["scoring"] = {
        "model_dir": str(model.model_dir) if model.model_dir else None,
        "model_card": str(model.model_dir / CARD_NAME) if model.model_dir else None,
        "model_card_sha256": card_sha256(model.model_dir) if model.model_dir else None,
        "model": model.name,
        "run": model.run,
        "threshold": float(threshold),
        "n_anomalies": int(out["anomaly"].sum()),
        "n_rows": int(n),
        "scored_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    meta["model"] = {
        "name": model.name,
        "dir": meta["scoring"]["model_dir"],
        "run": model.run,
        "fingerprint": model.fingerprint,
    }
    out.attrs["sedscape"] = meta
    log.info("scored %d stars: %d anomalous at |residual| > %g mag", n, meta["scoring"]["n_anomalies"], threshold)
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


def load_scored(path: str | Path, rows: int | None = None, columns: list[str] | None = None) -> pd.DataFrame:
    """Read a scored catalog written by ``sedscape score`` (or its first ``rows``, or only ``columns``,
    which must include the scored ones); raise :class:`CatalogError` if columns are missing."""
    df = read_parquet(path, columns=columns, rows=rows)
    bands = band_set_of(df)
    missing = [c for c in scored_columns(bands) if c not in df.columns]
    if missing:
        raise CatalogError(
            f"{path}: not a scored catalog (missing {', '.join(missing)} for bands {list(bands.names)}); "
            "produce one with `sedscape score CATALOG --model MODEL_DIR --out SCORED.parquet`"
        )
    return df
