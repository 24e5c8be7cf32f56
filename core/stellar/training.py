"""Training the stellar model as the seed does (section 4): iterations of epochs with the covariances fixed.

Iteration 0 uses the prior E(B-V) and only photometric and parallax errors (no model gradients yet) and
leaves out stars whose prior reddening is poorer than 0.2 mag. After every iteration the model is
frozen and, for every star, (1) its reddening is re-estimated from the photometry with a Gaussian prior
centred on the *initial* estimate (clipped at 0, variance floor 0.02^2 + (0.1 E)^2), (2) the covariance
gains the propagated feature errors and the reddening term, (3) the reduced chi^2 is computed and stars
above a threshold that falls log-linearly from 100 to 5 leave the next iteration. The learning rate
decays as ``lr exp(-decay k)``. Stars are split 70/20/10 into training, validation and test sets.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.errors import CatalogError, ConfigError, OutputExistsError
from core.stellar import likelihood as lk
from core.stellar.data import StellarData, StellarDataConfig, prepare
from core.stellar.grid import GridConfig, ParameterGrid, training_density
from core.stellar.model import FEATURES, StellarModel, StellarModelConfig, colour_matrix

log = logging.getLogger(__name__)

HISTORY_NAME = "history.json"
TEST_NAME = "test_predictions.npz"
MIN_LABELLED = 30
XLA_MIN_STARS = 5000  # compile epochs with XLA from this many training stars on


@dataclass(frozen=True)
class StellarTrainConfig:
    """The seed's schedule: 20 iterations x 25 epochs, lr 1e-3 x exp(-0.2 k), chi^2/dof cut 100 -> 5
    (log-linear, then held for the last ``chi2_hold`` iterations). The seed's batch of 1024 suited a GPU
    and 2.9M stars; on a CPU with ~10^5 stars a batch of 256 gives the optimiser 4x more steps."""

    iterations: int = 20
    epochs: int = 25
    first_epochs: int = 100
    batch_size: int = 256
    learning_rate: float = 1e-3
    lr_decay: float = 0.2
    chi2_start: float = 100.0
    chi2_final: float = 5.0
    chi2_hold: int = 5
    max_initial_ebv_err: float = 0.2
    update_reddening: bool = True
    ebv_var_floor: float = 0.02
    ebv_var_frac: float = 0.1
    split: tuple[float, float, float] = (0.7, 0.2, 0.1)
    seed: int = 42

    def __post_init__(self) -> None:
        for name in ("iterations", "epochs", "first_epochs", "batch_size"):
            if int(getattr(self, name)) < 1:
                raise ConfigError(f"StellarTrainConfig.{name} must be >= 1, got {getattr(self, name)}")
        if not self.learning_rate > 0:
            raise ConfigError(f"StellarTrainConfig.learning_rate must be > 0, got {self.learning_rate}")
        if not 0 < self.chi2_final <= self.chi2_start:
            raise ConfigError(
                f"StellarTrainConfig.chi2_final/chi2_start must satisfy 0 < final <= start, got "
                f"{self.chi2_final}, {self.chi2_start}"
            )
        if len(self.split) != 3 or any(s <= 0 for s in self.split) or abs(sum(self.split) - 1) > 1e-6:
            raise ConfigError(f"StellarTrainConfig.split must be three positive fractions summing to 1, got {self.split}")

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["split"] = list(self.split)
        return d


def chi2_schedule(config: StellarTrainConfig) -> list[float | None]:
    """Reduced-chi^2 threshold applied *before* each iteration (None: no cut before the first)."""
    n = config.iterations
    hold = min(config.chi2_hold, max(n - 2, 0))
    n_fall = max(n - 1 - hold, 1)
    fall = np.exp(np.linspace(np.log(config.chi2_start), np.log(config.chi2_final), n_fall))
    fall = np.maximum(fall, config.chi2_final).tolist()
    return ([None] + fall + [config.chi2_final] * hold)[:n]


def split_rows(n: int, fractions: tuple[float, float, float], seed: int) -> np.ndarray:
    """0 (train), 1 (validation) or 2 (test) per row, a random assignment with the given fractions."""
    rng = np.random.default_rng(seed)
    perm = rng.permutation(n)
    n_train = int(round(fractions[0] * n))
    n_val = int(round(fractions[1] * n))
    out = np.full(n, 2, np.int8)
    out[perm[:n_train]] = 0
    out[perm[n_train : n_train + n_val]] = 1
    return out


@dataclass
class Refresh:
    """What the model says about every star between iterations."""

    ebv: np.ndarray
    ebv_var: np.ndarray
    lt: np.ndarray  # whitening matrices (N, B, B)
    chi2: np.ndarray
    rchi2: np.ndarray
    y_free: np.ndarray  # dust-free prediction at the observed features (N, B), colour space


def refresh(
    model: StellarModel, data: StellarData, config: StellarTrainConfig, *, first: bool = False
) -> Refresh:
    """Covariances, reddenings and chi^2 of every star under ``model`` (the step between iterations)."""
    b = colour_matrix(model.n_bands)
    if first:
        cov = lk.covariance(data, model, ebv=data.ebv0, with_features=False)
        y_free, r = model.predict(data.theta, 0.0)
        lt = lk.whitening(cov)
        resid = y_free + data.ebv0[:, None] * (r[:, model.order] @ b.T) - data.y_obs
        c2 = lk.chi2(resid, lk.precision(cov))
        return Refresh(data.ebv0.copy(), data.ebv0_var.copy(), lt, c2, c2 / lk.degrees_of_freedom(data), y_free)
    y_free, r = model.predict(data.theta, 0.0)
    r_col = r[:, model.order] @ b.T
    # Feature-error term at the star's current best reddening (the previous iteration's).
    base = lk.covariance(data, model, ebv=data.ebv0 if data.ebv_fit is None else data.ebv_fit)
    if config.update_reddening:
        ebv, ebv_var = lk.update_reddening(data.y_obs - y_free, r_col, lk.precision(base), data.ebv0, data.ebv0_var)
        ebv, ebv_var = lk.clip_reddening(ebv, ebv_var, floor=config.ebv_var_floor, frac=config.ebv_var_frac)
    else:
        ebv, ebv_var = data.ebv0.copy(), data.ebv0_var.copy()
    cov = base + ebv_var[:, None, None] * r_col[:, :, None] * r_col[:, None, :]
    resid = y_free + ebv[:, None] * r_col - data.y_obs
    c2 = lk.chi2(resid, lk.precision(cov))
    data.ebv_fit = ebv
    return Refresh(ebv, ebv_var, lk.whitening(cov), c2, c2 / lk.degrees_of_freedom(data), y_free)


@dataclass
class IterationRecord:
    iteration: int
    learning_rate: float
    chi2_cut: float | None
    n_train: int
    n_excluded: int
    train_loss: list[float]
    val_loss: float
    seconds: float
    extinction_vector: list[float]
    median_rchi2_val: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class StellarTrainingResult:
    """The trained model, its iteration history, per-star results and where they were written."""

    model: StellarModel
    history: list[IterationRecord]
    split: np.ndarray
    final: Refresh
    card: dict[str, Any]
    grid: ParameterGrid
    out_dir: Path | None = None
    losses: dict[str, float] = field(default_factory=dict)

    def format_summary(self) -> str:
        r = self.model.mean_extinction_vector()
        lines = [
            "extinction vector R (A/E(B-V)) at the median features: "
            + ", ".join(f"{b} {v:.3f}" for b, v in zip(self.model.bands, r, strict=True)),
            f"final losses (chi^2 / entries, stars under the last chi^2 cut): train {self.losses['train']:.3f}, "
            f"validation {self.losses['val']:.3f}, test {self.losses['test']:.3f}",
        ]
        if self.out_dir:
            lines.append(f"model directory: {self.out_dir}")
        return "\n".join(lines)


def _check_labels(df: pd.DataFrame) -> np.ndarray:
    """Rows with finite labels and positive label errors; errors name what is missing."""
    need = [*FEATURES, *(f"{f}_err" for f in FEATURES)]
    missing = [c for c in need if c not in df.columns]
    if missing:
        raise CatalogError(
            f"the training catalog lacks spectroscopic column(s) {missing}; pass a label catalog with "
            f"--labels (columns {', '.join(need)})"
        )
    vals = df[need].to_numpy(np.float64)
    ok = np.isfinite(vals).all(axis=1) & (vals[:, 3:] > 0).all(axis=1) & (vals[:, 0] > 0)
    if ok.sum() < MIN_LABELLED:
        raise CatalogError(f"only {int(ok.sum())} rows have complete spectroscopic labels; need at least {MIN_LABELLED}")
    return ok


def _output_bias(data: StellarData) -> np.ndarray:
    """Start the stellar sector's output at the median observed magnitude/colour vector (faster start)."""
    y = data.y_obs.copy()
    y[~data.has_parallax, 0] = np.nan
    med = np.nanmedian(y, axis=0)
    return np.nan_to_num(med, nan=5.0).astype(np.float32)


def train_stellar_model(
    df: pd.DataFrame,
    bands: tuple[str, ...],
    *,
    model_config: StellarModelConfig | None = None,
    data_config: StellarDataConfig | None = None,
    config: StellarTrainConfig | None = None,
    grid_config: GridConfig | None = None,
    out_dir: str | Path | None = None,
    overwrite: bool = False,
    progress: bool = True,
    source: str | None = None,
) -> StellarTrainingResult:
    """Train on the labelled rows of ``df`` (others are counted and ignored); write ``out_dir`` if given."""
    import tensorflow as tf
    from tqdm.auto import tqdm

    from core.stellar.engine import StellarEngine, tensors

    model_config = model_config or StellarModelConfig()
    data_config = data_config or StellarDataConfig()
    config = config or StellarTrainConfig()
    grid_config = grid_config or GridConfig()
    out_path = Path(out_dir) if out_dir is not None else None
    if out_path is not None and out_path.exists() and any(out_path.iterdir()) and not overwrite:
        raise OutputExistsError(f"{out_path} exists and is not empty; pass --overwrite to replace it")
    ok = _check_labels(df)
    n_dropped = int((~ok).sum())
    if n_dropped:
        log.info("%d of %d rows have no complete spectroscopic labels and are not used", n_dropped, len(df))
    lab = df.loc[ok].reset_index(drop=True)
    lab.attrs = df.attrs
    theta_all = lab[list(FEATURES)].to_numpy(np.float64)
    model = StellarModel(
        bands=tuple(bands),
        config=model_config,
        theta_median=np.median(theta_all, axis=0),
        theta_scale=np.maximum(theta_all.std(axis=0), 1e-6),
        seed=config.seed,
    )
    data = prepare(lab, model, data_config, training=True)
    model.weights[2 * len(model.config.hidden) + 1] = _output_bias(data)
    n = len(data)
    split = split_rows(n, config.split, config.seed)
    tr, va, te = (np.flatnonzero(split == k) for k in range(3))
    log.info("stellar model: %d labelled stars (train %d, validation %d, test %d); %d with parallax S/N >= %g",
             n, len(tr), len(va), len(te), int(data.has_parallax.sum()), data_config.parallax_snr_min)
    x_std = model.standardise(data.theta)
    engine = StellarEngine(model, config.batch_size, jit=len(tr) >= XLA_MIN_STARS)
    state = engine.start(model.weights, config.learning_rate)
    rng = np.random.default_rng(config.seed + 1)
    schedule = chi2_schedule(config)
    history: list[IterationRecord] = []
    keep = np.ones(n, bool)
    bar = tqdm(range(config.iterations), desc="stellar model", unit="iteration", disable=not progress)
    for k in bar:
        t0 = time.perf_counter()
        ref = refresh(model, data, config, first=(k == 0))
        if k == 0:
            keep = np.sqrt(data.ebv0_var) <= config.max_initial_ebv_err
        else:
            keep = np.isfinite(ref.rchi2) & (ref.rchi2 < schedule[k])
        lr = config.learning_rate * np.exp(-config.lr_decay * k)
        state = {**state, "lr": tf.constant(lr, tf.float32)}
        arrays = tensors(x_std[tr], ref.ebv[tr], ref.lt[tr], data.y_obs[tr], keep[tr])
        val_arrays = tensors(x_std[va], ref.ebv[va], ref.lt[va], data.y_obs[va], keep[va])
        losses = []
        for _ in range(config.first_epochs if k == 0 else config.epochs):
            state, loss = engine.epoch(state, arrays, rng.permutation(len(tr)).astype(np.int32))
            losses.append(loss)
        val_loss = engine.mse(state["theta"], val_arrays)
        model.weights = engine.unflatten(state["theta"])
        rec = IterationRecord(
            iteration=k,
            learning_rate=float(lr),
            chi2_cut=schedule[k],
            n_train=int(keep[tr].sum()),
            n_excluded=int((~keep[tr]).sum()),
            train_loss=[float(v) for v in losses],
            val_loss=val_loss,
            seconds=time.perf_counter() - t0,
            extinction_vector=model.mean_extinction_vector().tolist(),
            median_rchi2_val=float(np.nanmedian(ref.rchi2[va])) if len(va) else float("nan"),
        )
        history.append(rec)
        log.info(
            "iteration %d: lr %.2e, chi2/dof cut %s, %d stars (%d excluded), loss %.4f, val %.4f, R %s",
            k, lr, schedule[k], rec.n_train, rec.n_excluded, losses[-1], val_loss,
            np.round(rec.extinction_vector, 3).tolist(),
        )
        bar.set_postfix(loss=f"{losses[-1]:.3f}", val=f"{val_loss:.3f}")
    bar.close()

    final = refresh(model, data, config)
    final_keep = np.isfinite(final.rchi2) & (final.rchi2 < config.chi2_final)
    losses = {}
    for name, idx in (("train", tr), ("val", va), ("test", te)):
        arr = tensors(x_std[idx], final.ebv[idx], final.lt[idx], data.y_obs[idx], final_keep[idx])
        losses[name] = engine.mse(state["theta"], arr)
    # Where the model has seen training stars (all of the training split: a star cut late still shaped it).
    grid = training_density(data.theta[tr], grid_config)
    card = _card(model, lab, df, bands, source, data_config, config, grid_config, history, losses, split,
                 final, final_keep, n_dropped)
    result = StellarTrainingResult(model, history, split, final, card, grid, out_path, losses)
    if out_path is not None:
        _write(result, data, lab, overwrite)
    return result


def _card(model, lab, df, bands, source, data_config, config, grid_config, history, losses, split, final,
          final_keep, n_dropped) -> dict[str, Any]:
    from core.card import package_versions

    theta = lab[list(FEATURES)].to_numpy(np.float64)
    r = model.mean_extinction_vector()
    return {
        "card_version": 1,
        "kind": "stellar-model",
        "model": {
            "name": "stellar-model",
            "class": "core.stellar.model.StellarModel",
            "architecture": (
                f"Green et al. data-driven stellar model: (Teff, log g, [Fe/H]) standardised -> "
                f"{' -> '.join(map(str, model.config.hidden))} ({model.config.activation}) -> M_{model.config.ref_band} "
                f"and colours; R = exp(dense(features)) with L1 {model.config.l1}"
            ),
            "n_params": model.count_params(),
            "config": model.config.to_dict(),
        },
        "bands": list(bands),
        "ref_band": model.config.ref_band,
        "extinction_vector": {b: float(v) for b, v in zip(bands, r, strict=True)},
        "data_config": data_config.to_dict(),
        "train_config": config.to_dict(),
        "grid_config": grid_config.to_dict(),
        "catalog": {
            "source": str(source) if source else None,
            "n_rows": int(len(df)),
            "n_labelled": int(len(lab)),
            "n_without_labels": n_dropped,
            "label_ranges": {
                f: [float(np.percentile(theta[:, k], 0.5)), float(np.percentile(theta[:, k], 99.5))]
                for k, f in enumerate(FEATURES)
            },
        },
        "split": {
            "fractions": list(config.split),
            "seed": config.seed,
            "n_train": int((split == 0).sum()),
            "n_val": int((split == 1).sum()),
            "n_test": int((split == 2).sum()),
        },
        "losses": losses,
        "final_chi2_cut": config.chi2_final,
        "excluded_by_final_cut": {
            name: int((~final_keep[split == k]).sum()) for k, name in enumerate(("train", "val", "test"))
        },
        "iterations": len(history),
        "seconds": float(sum(h.seconds for h in history)),
        "packages": package_versions(),
    }


def _write(result: StellarTrainingResult, data: StellarData, lab: pd.DataFrame, overwrite: bool) -> None:
    from core.catalog import json_default

    out = result.out_dir
    assert out is not None
    if out.exists() and overwrite:
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    result.model.save(out)
    result.grid.save(out)
    (out / HISTORY_NAME).write_text(json.dumps([h.to_dict() for h in result.history], indent=1) + "\n")
    te = np.flatnonzero(result.split == 2)
    f = result.final
    extra = {}
    for col in ("true_teff", "true_logg", "true_feh", "true_ebv", "ra", "dec", "obj_id"):
        if col in lab.columns:
            extra[col] = lab[col].to_numpy()[te]
    arrays = {
        "theta": data.theta[te],
        "y_obs": data.y_obs[te],
        "mag_var": data.mag_var[te],
        "mu_var": data.mu_var[te],
        "y_free": f.y_free[te],
        "ebv": f.ebv[te],
        "ebv_var": f.ebv_var[te],
        "ebv0": data.ebv0[te],
        "rchi2": f.rchi2[te],
        **extra,
    }
    small = {k: (v.astype(np.float32) if np.issubdtype(np.asarray(v).dtype, np.floating) else v) for k, v in arrays.items()}
    np.savez_compressed(out / TEST_NAME, **small)
    (out / "model_card.json").write_text(json.dumps(result.card, indent=2, default=json_default) + "\n")
    log.info("wrote stellar model to %s", out)


def read_stellar_card(model_dir: str | Path) -> dict[str, Any]:
    """The stellar model's card; a missing file or another kind of model directory raises ModelError."""
    from core.errors import ModelError

    path = Path(model_dir) / "model_card.json"
    if not path.exists():
        raise ModelError(f"{model_dir}: not a stellar model directory (no model_card.json); "
                         "train one with `sedscape stellar-model train`")
    try:
        card = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ModelError(f"{path}: cannot read the model card ({exc})") from exc
    if card.get("kind") != "stellar-model":
        raise ModelError(
            f"{model_dir} holds a {card.get('model', {}).get('name', 'non-stellar')!r} model, not a stellar model"
        )
    return card
