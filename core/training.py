"""Training runs: the paper's protocol of several random splits and initialisations, written to a model directory.

Each run ``r`` (1-based) splits the catalog exactly as the paper's appendix does with scikit-learn:
80 % train, then the remaining 20 % split 80/20 into validation and test, both calls with
``random_state = seed + (r - 1)`` (so with the default seed 41, run 1 uses 41 as in the paper).
The model's own seed is also ``seed + (r - 1)``. The run with the lowest validation loss is the
chosen one (the paper's footnote 9).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from core.atomic import partial_path, remove_stale_partials
from core.bands import PS1, BandSet
from core.card import (
    CARD_NAME,
    Agreement,
    AnomalyOverlap,
    LatentSmoothness,
    ModelCard,
    RunRecord,
    bands_meta,
    catalog_fingerprint,
    choose_run,
    model_description,
    package_versions,
)
from core.catalog import validate_catalog
from core.errors import CatalogError, OutputExistsError
from core.latent import TRUTH_PARAMETERS, Rotation, agreement_matrix, canonical_rotation, jaccard, knn_r2
from core.models.base import (
    Autoencoder,
    EpochCallback,
    History,
    TrainConfig,
    build_model,
    model_class,
    unscale,
)

log = logging.getLogger(__name__)

__all__ = ["TrainingResult", "split_indices", "train_runs"]

MIN_ROWS = 50
# Stars whose latent position and encoder memory are kept per run, so that models whose decoder needs
# the encoder's states (the paper's LSTM-AE) can still decode a bare latent position (see scoring).
STATE_TABLE_STARS = 4096
STATE_TABLE_NAME = "latent_states.npz"


def split_indices(n: int, random_state: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row indices (train, val, test) as the appendix's two ``train_test_split(..., test_size=0.20)`` calls.

    Splitting ``arange(n)`` gives the same rows as splitting the data itself, because
    scikit-learn's shuffle depends only on the number of rows and the random state.
    """
    from sklearn.model_selection import train_test_split

    idx = np.arange(n)
    train, temp = train_test_split(idx, test_size=0.20, random_state=random_state)
    val, test = train_test_split(temp, test_size=0.20, random_state=random_state)
    return train, val, test


@dataclass
class TrainingResult:
    """What :func:`train_runs` produced: per-run records, fitted models, the card and the agreement matrix."""

    runs: list[RunRecord]
    models: list[Autoencoder]
    histories: list[History]
    rotations: list[Rotation]
    agreement: np.ndarray
    card: ModelCard
    out_dir: Path | None = None
    splits: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=list, repr=False)

    @property
    def chosen_run(self) -> int:
        return self.card.chosen_run

    def summary_table(self) -> pd.DataFrame:
        """The paper's Table 1 plus epochs, time and whether the run was chosen."""
        rows = [
            {
                "run": r.run,
                "split_seed": r.split_seed,
                "epochs": r.epochs,
                "best_epoch": r.best_epoch + 1,
                "train_loss": r.train_loss,
                "val_loss": r.val_loss,
                "test_loss": r.test_loss,
                "seconds": round(r.seconds, 1),
                "chosen": "*" if r.run == self.chosen_run else "",
            }
            for r in self.runs
        ]
        return pd.DataFrame(rows)

    def format_summary(self) -> str:
        table = self.summary_table()
        text = table.to_string(index=False, float_format=lambda v: f"{v:.3e}")
        lines = [text, f"chosen run: {self.chosen_run} (lowest validation loss)"]
        if len(self.runs) > 1:
            ag = self.card.agreement
            lines.append(
                f"run-to-run agreement (shared {ag.k} nearest latent neighbours): mean {ag.mean:.3f}, min {ag.min:.3f}"
            )
            ov = self.card.anomaly_overlap
            lines.append(
                f"anomaly lists (> {ov.threshold:g} mag; {', '.join(f'{c:,}' for c in ov.counts)} stars per run): "
                f"Jaccard overlap between runs mean {ov.mean:.3f}, min {ov.min:.3f}"
            )
        sm = self.card.latent_smoothness
        if sm.mean:
            lines.append(
                f"latent smoothness (R^2 of {sm.k}-NN regression from latent position, held-out stars): "
                + ", ".join(f"{p} {v:.3f}" for p, v in sm.mean.items())
            )
        if self.out_dir:
            lines.append(f"model directory: {self.out_dir}")
        return "\n".join(lines)


def _losses(model: Autoencoder, history: History, x_train, x_val, x_test) -> tuple[float, float, float]:
    if history.epochs and 0 <= history.best_epoch < history.epochs:
        train_loss = float(history.loss[history.best_epoch])
        val_loss = float(history.val_loss[history.best_epoch])
    else:  # models fitted in closed form (PCA) have no epochs
        train_loss, val_loss = model.evaluate(x_train), model.evaluate(x_val)
    return train_loss, val_loss, model.evaluate(x_test)


def _latent_and_reconstruction(model: Autoencoder, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Raw latent (N, 2) and reconstruction (N, n_bands) of scaled magnitudes, in one pass where the model can."""
    if hasattr(model, "score"):
        return model.score(x)
    return model.encode(x), model.reconstruct(x)


def _smoothness_rows(df: pd.DataFrame, train: np.ndarray, test: np.ndarray, params: list[str], n: int,
                     seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded samples of up to ``n`` training-split and ``n`` test-split stars with every truth parameter finite."""
    finite = np.ones(len(df), bool)
    for p in params:
        finite &= np.isfinite(df[p].to_numpy(np.float64))
    rng = np.random.default_rng(seed)
    fit, ev = train[finite[train]], test[finite[test]]
    return rng.permutation(fit)[:n], rng.permutation(ev)[:n]


def _anomaly_overlap(masks: list[np.ndarray], threshold: float, n_stars: int) -> AnomalyOverlap:
    pairs = [
        {"runs": [i + 1, j + 1], "jaccard": jaccard(masks[i], masks[j])}
        for i in range(len(masks)) for j in range(i + 1, len(masks))
    ]
    values = [p["jaccard"] for p in pairs]
    return AnomalyOverlap(
        threshold=threshold, n_stars=n_stars, counts=[int(m.sum()) for m in masks], pairs=pairs,
        mean=float(np.mean(values)) if values else None, min=float(np.min(values)) if values else None,
    )


def _write_history(directory: Path, history: History) -> None:
    frame = pd.DataFrame(
        {
            "epoch": np.arange(1, history.epochs + 1),
            "loss": history.loss,
            "val_loss": history.val_loss,
            "seconds": history.seconds if len(history.seconds) == history.epochs else [np.nan] * history.epochs,
        }
    )
    frame.to_csv(directory / "history.csv", index=False)
    (directory / "history.json").write_text(json.dumps(history.to_dict(), indent=1) + "\n")


def _prepare_out_dir(out_dir: Path, overwrite: bool) -> Path:
    """A fresh staging directory beside ``out_dir``; the result is moved into place only when complete."""
    if out_dir.exists() and any(out_dir.iterdir()):
        if not overwrite:
            raise OutputExistsError(f"{out_dir} exists and is not empty; pass --overwrite to replace it")
        if not (out_dir / CARD_NAME).exists():
            raise OutputExistsError(
                f"{out_dir} is not a sedscape model directory (no {CARD_NAME}); refusing to replace it "
                "even with --overwrite"
            )
    remove_stale_partials(out_dir)  # left by a run that was killed outright
    staging = partial_path(out_dir)
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    return staging


def _commit_out_dir(staging: Path, out_dir: Path) -> None:
    if out_dir.exists():
        old = out_dir.with_name(f".{out_dir.name}.old-{os.getpid()}")
        out_dir.replace(old)
        staging.replace(out_dir)
        shutil.rmtree(old)
    else:
        staging.replace(out_dir)


def train_runs(
    df: pd.DataFrame,
    bands: BandSet = PS1,
    model: str = "lstm-ae",
    runs: int = 5,
    seed: int = 41,
    config: TrainConfig | None = None,
    out_dir: str | Path | None = None,
    *,
    overwrite: bool = False,
    progress: bool = True,
    source: str | Path | None = None,
    on_epoch: EpochCallback | None = None,
    on_run: Callable[[RunRecord], None] | None = None,
    agreement_k: int = 10,
    agreement_sample: int = 20_000,
    rotation_sample: int = 200_000,
    sample_info: dict | None = None,
    smoothness_sample: int = 20_000,
    smoothness_k: int = 10,
) -> TrainingResult:
    """Train ``runs`` models on random splits of ``df`` and (if ``out_dir``) write weights, histories and the card.

    ``on_epoch(epoch, loss, val_loss)`` is passed to every fit; ``on_run(RunRecord)`` is called as
    each run finishes. Rotations are fitted on a seeded sample of up to ``rotation_sample`` stars;
    agreement on the first ``agreement_sample`` of them. ``sample_info`` describes how ``df`` was drawn
    from a larger catalog (recorded in the card). Every run flags the whole catalog at the default
    anomaly threshold for the anomaly-list overlap; when ``df`` has truth columns
    (:data:`core.latent.TRUTH_PARAMETERS`) each run's latent smoothness is measured on up to
    ``smoothness_sample`` training-split and as many test-split stars.
    """
    from core.scoring import DEFAULT_THRESHOLD, anomaly_mask

    cls = model_class(model)
    config = config or replace(cls.default_config(), seed=seed)
    if runs < 1:
        raise CatalogError(f"runs must be at least 1, got {runs}")
    # Models that see a presence mask (masked-ae) train on stars with missing bands too.
    validate_catalog(df, bands, source=str(source or "training catalog"), require_complete=not cls.accepts_missing)
    if len(df) < MIN_ROWS:
        raise CatalogError(f"{source or 'training catalog'}: {len(df)} rows; need at least {MIN_ROWS} to split and train")
    mags = df[list(bands.names)].to_numpy(dtype=np.float64)
    errs = df[list(bands.err_columns)].to_numpy(dtype=np.float64) if cls.uses_errors else None
    x = cls.features(mags, errs)
    options = cls.build_options(bands)

    staging = _prepare_out_dir(Path(out_dir), overwrite) if out_dir is not None else None
    rng = np.random.default_rng(seed)
    complete = np.flatnonzero(np.isfinite(mags).all(axis=1)) if cls.accepts_missing else np.arange(len(df))
    # Rotations need every band's colour, so they are fitted on complete stars.
    sample = complete[rng.permutation(len(complete))[: min(rotation_sample, len(complete))]]
    agree_rows = sample[: min(agreement_sample, len(sample))]

    params = [p for p in TRUTH_PARAMETERS if p in df.columns]
    masks: list[np.ndarray] = []
    smooth_runs: dict[str, dict[str, float]] = {}
    n_fit = n_eval = 0
    records: list[RunRecord] = []
    models: list[Autoencoder] = []
    histories: list[History] = []
    rotations: list[Rotation] = []
    splits = []
    latents = []
    try:
        for r in range(1, runs + 1):
            split_seed = model_seed = seed + r - 1
            tr, va, te = split_indices(len(df), split_seed)
            log.info("run %d/%d: %d train, %d validation, %d test stars (random_state=%d)",
                     r, runs, len(tr), len(va), len(te), split_seed)
            ae = build_model(model, n_bands=len(bands), seed=model_seed, **options)
            t0 = time.perf_counter()
            history = ae.fit(x[tr], x[va], replace(config, seed=model_seed), progress=progress, on_epoch=on_epoch)
            ae.calibrate(x[va])
            seconds = time.perf_counter() - t0
            train_loss, val_loss, test_loss = _losses(ae, history, x[tr], x[va], x[te])
            z_all, rec_all = _latent_and_reconstruction(ae, x)
            masks.append(anomaly_mask(mags - unscale(rec_all), DEFAULT_THRESHOLD))
            del rec_all
            z = z_all[sample]
            rotations.append(canonical_rotation(z, mags[sample]))
            latents.append(z[: len(agree_rows)])
            if params:
                fit, ev = _smoothness_rows(df, tr, te, params, smoothness_sample, seed + r - 1)
                n_fit, n_eval = len(fit), len(ev)
                smooth_runs[str(r)] = {
                    p: knn_r2(z_all[fit], df[p].to_numpy(np.float64)[fit], z_all[ev],
                              df[p].to_numpy(np.float64)[ev], k=smoothness_k)
                    for p in params
                } if n_fit > smoothness_k and n_eval > 1 else {}
            del z_all
            record = RunRecord(
                run=r, split_seed=split_seed, model_seed=model_seed,
                n_train=len(tr), n_val=len(va), n_test=len(te),
                epochs=history.epochs, best_epoch=history.best_epoch, stopped_early=history.stopped_early,
                train_loss=train_loss, val_loss=val_loss, test_loss=test_loss,
                seconds=seconds, directory=f"run_{r}",
            )
            if staging is not None:
                run_dir = staging / record.directory
                run_dir.mkdir()
                ae.save(run_dir)
                _write_history(run_dir, history)
                if hasattr(ae, "encode_with_states"):
                    z_s, states = ae.encode_with_states(x[sample[:STATE_TABLE_STARS]])
                    np.savez_compressed(run_dir / STATE_TABLE_NAME, latent=z_s, states=states)
            records.append(record)
            models.append(ae)
            histories.append(history)
            splits.append((tr, va, te))
            if on_run is not None:
                on_run(record)

        agree = agreement_matrix(latents, k=agreement_k) if runs > 1 else np.ones((1, 1))
        pairs = [
            {"runs": [i + 1, j + 1], "agreement": float(agree[i, j])}
            for i in range(runs) for j in range(i + 1, runs)
        ]
        off = [p["agreement"] for p in pairs]
        card = ModelCard(
            model=model_description(models[0]),
            bands=bands_meta(bands),
            config=config.to_dict() | {"runs": runs, "seed": seed},
            catalog=catalog_fingerprint(df, bands, source),
            runs=records,
            chosen_run=choose_run(records),
            rotations={str(rec.run): rot.to_dict() for rec, rot in zip(records, rotations, strict=True)},
            agreement=Agreement(
                k=agreement_k,
                n_stars=int(len(agree_rows)),
                sample_seed=seed,
                pairs=pairs,
                mean=float(np.mean(off)) if off else None,
                min=float(np.min(off)) if off else None,
            ),
            anomaly_overlap=_anomaly_overlap(masks, DEFAULT_THRESHOLD, len(df)),
            latent_smoothness=LatentSmoothness(
                k=smoothness_k, n_fit=n_fit, n_eval=n_eval, parameters=params, runs=smooth_runs,
                mean={p: float(np.mean([v[p] for v in smooth_runs.values() if p in v]))
                      for p in params if any(p in v for v in smooth_runs.values())},
            ),
            split={
                "method": "sklearn.model_selection.train_test_split twice, test_size=0.20 each "
                "(train 80%, validation 16%, test 4%), random_state = seed + run - 1",
                "seeds": [rec.split_seed for rec in records],
            },
            packages=package_versions(),
            sample=dict(sample_info or {}),
            scaling=cls.scaling,
        )
        if staging is not None:
            card.write(staging)
            _commit_out_dir(staging, Path(out_dir))
    except BaseException:
        if staging is not None and staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
        raise
    return TrainingResult(
        runs=records, models=models, histories=histories, rotations=rotations, agreement=agree,
        card=card, out_dir=Path(out_dir) if out_dir is not None else None, splits=splits,
    )
