"""The seed's multi-modal representation (Huijse et al. 2025): three VAEs, one per view of a star.

Each modality (``sed``: the four dereddened colours with their errors; ``dmdt``: the dm-dt images and
the per-band scales they were standardised by; ``lc``: the folded light curve on a phase grid with log
period and log range) has its own VAE with a 5-D latent space (inputs: :func:`core.multimodal.build_inputs`). Inputs come
as ``(x, err, mask)`` triples of shape (N, D): the encoder sees the masked values and the mask; the
loss is a Gaussian negative log-likelihood with variance err^2 + s^2 (s a learned floor per modality)
summed over the unmasked entries and divided by their number, plus beta times the KL divergence,
with the seed's per-modality beta (their public configuration: 1e-3 for spectra, 1e-5 for dm-dt,
1e-4 for folded light curves). The VAEs are trained in turn, each on the stars that have its
modality; a star without a modality (no period: no folded curve) keeps the prior mean (zeros) in
that block of the 15-D latent, and the mask says so.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import ConfigError, ModelError, OutputExistsError
from core.models.base import History, register

log = logging.getLogger(__name__)

MODALITIES: tuple[str, ...] = ("sed", "dmdt", "lc")
SEED_BETA = {"sed": 1e-3, "dmdt": 1e-5, "lc": 1e-4}
SIGMOID_OUTPUT = {"sed": False, "dmdt": True, "lc": False}


@dataclass(frozen=True)
class VAEConfig:
    """Architecture and optimisation of the three VAEs; ``betas`` per modality (the seed's by default)."""

    latent_dim: int = 5
    hidden: dict[str, int] = field(default_factory=lambda: {"sed": 64, "dmdt": 128, "lc": 128})
    betas: dict[str, float] = field(default_factory=lambda: dict(SEED_BETA))
    max_epochs: int = 60
    patience: int = 6
    batch_size: int = 256
    learning_rate: float = 1e-3
    seed: int = 41

    def __post_init__(self) -> None:
        if self.latent_dim < 1:
            raise ConfigError(f"latent_dim must be >= 1, got {self.latent_dim}")
        for what in ("hidden", "betas"):
            unknown = set(getattr(self, what)) - set(MODALITIES)
            if unknown or set(getattr(self, what)) != set(MODALITIES):
                raise ConfigError(f"{what} must have one entry per modality {MODALITIES}, got {sorted(getattr(self, what))}")
        if any(b < 0 for b in self.betas.values()):
            raise ConfigError(f"betas must be >= 0, got {self.betas}")
        if self.max_epochs < 1 or self.patience < 0 or self.batch_size < 1 or not self.learning_rate > 0:
            raise ConfigError(f"invalid optimisation settings: max_epochs={self.max_epochs}, patience={self.patience}, "
                              f"batch_size={self.batch_size}, learning_rate={self.learning_rate}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


Triple = tuple[np.ndarray, np.ndarray, np.ndarray]


def _dense(rng: np.random.Generator, n_in: int, n_out: int) -> list[np.ndarray]:
    lim = np.sqrt(6.0 / (n_in + n_out))
    return [rng.uniform(-lim, lim, (n_in, n_out)).astype(np.float32), np.zeros(n_out, np.float32)]


class ModalityVAE:
    """One modality's VAE: MLP encoder (values and mask in) -> (mu, log var), MLP decoder -> values."""

    def __init__(self, name: str, dim: int, latent_dim: int, hidden: int, beta: float, seed: int) -> None:
        self.name, self.dim, self.latent_dim, self.hidden, self.beta = name, int(dim), int(latent_dim), int(hidden), beta
        rng = np.random.default_rng(seed)
        h = self.hidden
        self.weights: list[np.ndarray] = [
            *_dense(rng, 2 * self.dim, h), *_dense(rng, h, h), *_dense(rng, h, 2 * self.latent_dim),
            *_dense(rng, self.latent_dim, h), *_dense(rng, h, h), *_dense(rng, h, self.dim),
            np.array([np.log(0.05**2)], np.float32),  # log s^2, the learned variance floor
        ]
        self.history = History()
        self._fns: dict[str, Any] = {}

    # -- graph -------------------------------------------------------------------------------------
    def _tf(self):
        import tensorflow as tf

        if "vars" not in self._fns:
            self._fns["vars"] = [tf.Variable(w) for w in self.weights]
            v = self._fns["vars"]
            sigmoid = SIGMOID_OUTPUT[self.name]
            beta = float(self.beta)
            lat = self.latent_dim

            def encode(x, m):
                h = tf.nn.gelu(tf.concat([x * m, m], axis=1) @ v[0] + v[1])
                h = tf.nn.gelu(h @ v[2] + v[3]) + h
                out = h @ v[4] + v[5]
                return out[:, :lat], tf.clip_by_value(out[:, lat:], -12.0, 6.0)

            def decode(z):
                h = tf.nn.gelu(z @ v[6] + v[7])
                h = tf.nn.gelu(h @ v[8] + v[9]) + h
                out = h @ v[10] + v[11]
                return tf.sigmoid(out) if sigmoid else out

            def losses(x, e, m, noise):
                mu, logvar = encode(x, m)
                z = mu + tf.exp(0.5 * logvar) * noise
                xr = decode(z)
                var = e * e + tf.exp(v[12][0])
                nll = 0.5 * ((x - xr) ** 2 / var + tf.math.log(var)) * m
                n_valid = tf.maximum(tf.reduce_sum(m, axis=1), 1.0)
                rec = tf.reduce_sum(nll, axis=1) / n_valid
                kl = 0.5 * tf.reduce_sum(mu * mu + tf.exp(logvar) - 1.0 - logvar, axis=1)
                return rec, kl

            opt = tf.keras.optimizers.Adam(learning_rate=self._fns.get("lr", 1e-3))
            self._fns["opt"] = opt

            def step(x, e, m, noise):
                with tf.GradientTape() as tape:
                    rec, kl = losses(x, e, m, noise)
                    loss = tf.reduce_mean(rec + beta * kl)
                grads = tape.gradient(loss, v)
                opt.apply_gradients(zip(grads, v, strict=True))
                return loss

            def evaluate(x, e, m):
                rec, kl = losses(x, e, m, tf.zeros((tf.shape(x)[0], lat)))
                return rec + beta * kl, rec

            def recon(x, m):
                mu, logvar = encode(x, m)
                return mu, logvar, decode(mu)

            row = tf.TensorSpec([None, self.dim], tf.float32)
            lat_spec = tf.TensorSpec([None, lat], tf.float32)
            self._fns["step"] = tf.function(step, input_signature=[row, row, row, lat_spec])
            self._fns["eval"] = tf.function(evaluate, input_signature=[row, row, row])
            self._fns["recon"] = tf.function(recon, input_signature=[row, row])
            self._fns["decode"] = tf.function(decode, input_signature=[lat_spec])
        return self._fns

    def _sync(self) -> None:
        if "vars" in self._fns:
            self.weights = [w.numpy() for w in self._fns["vars"]]

    # -- training ----------------------------------------------------------------------------------
    def fit(self, train: Triple, val: Triple, cfg: VAEConfig, *, progress: bool = False) -> History:
        """Adam with early stopping on the validation loss; the best epoch's weights are kept."""
        import tensorflow as tf

        self._fns["lr"] = cfg.learning_rate
        fns = self._tf()
        rng = np.random.default_rng(cfg.seed + 7)
        x, e, m = (np.asarray(a, np.float32) for a in train)
        n = len(x)
        if n < 2:
            raise ModelError(f"{self.name} VAE: {n} training stars have this modality; need at least 2")
        best, best_w, wait = np.inf, [w.numpy() for w in fns["vars"]], 0
        hist = History()
        for epoch in range(cfg.max_epochs):
            t0 = time.perf_counter()
            order = rng.permutation(n)
            total = 0.0
            for s in range(0, n, cfg.batch_size):
                b = order[s:s + cfg.batch_size]
                noise = rng.standard_normal((len(b), self.latent_dim)).astype(np.float32)
                total += float(fns["step"](tf.constant(x[b]), tf.constant(e[b]), tf.constant(m[b]), tf.constant(noise))) * len(b)
            val_loss = self.evaluate(*val) if len(val[0]) else total / n
            hist.loss.append(total / n)
            hist.val_loss.append(val_loss)
            hist.seconds.append(time.perf_counter() - t0)
            if progress:
                log.info("%s VAE epoch %d: loss %.4f, val %.4f", self.name, epoch + 1, total / n, val_loss)
            if val_loss < best - 1e-6:
                best, best_w, wait, hist.best_epoch = val_loss, [w.numpy() for w in fns["vars"]], 0, epoch
            else:
                wait += 1
                if wait > cfg.patience:
                    hist.stopped_early = True
                    break
        for var, w in zip(fns["vars"], best_w, strict=True):
            var.assign(w)
        self._sync()
        self.history = hist
        return hist

    def evaluate(self, x: np.ndarray, e: np.ndarray, m: np.ndarray, chunk: int = 8192) -> float:
        """Mean loss (reconstruction + beta KL) with the latent mean, over stars."""
        fns = self._tf()
        tot = 0.0
        for s in range(0, len(x), chunk):
            loss, _ = fns["eval"](*(np.asarray(a[s:s + chunk], np.float32) for a in (x, e, m)))
            tot += float(np.sum(loss.numpy()))
        return tot / max(len(x), 1)

    def encode_reconstruct(self, x: np.ndarray, m: np.ndarray, chunk: int = 8192) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(latent mean, latent log variance, reconstruction from the mean) for every star."""
        fns = self._tf()
        mus, lvs, recs = [], [], []
        for s in range(0, max(len(x), 1), chunk):
            mu, lv, r = fns["recon"](np.asarray(x[s:s + chunk], np.float32), np.asarray(m[s:s + chunk], np.float32))
            mus.append(mu.numpy()), lvs.append(lv.numpy()), recs.append(r.numpy())
        return np.concatenate(mus), np.concatenate(lvs), np.concatenate(recs)

    def decode(self, z: np.ndarray) -> np.ndarray:
        return self._tf()["decode"](np.asarray(z, np.float32)).numpy()

    @property
    def noise_floor(self) -> float:
        self._sync()
        return float(np.sqrt(np.exp(self.weights[12][0])))


@register
class MultiModalVAE:
    """Three :class:`ModalityVAE` trained in turn; the concatenated latent means are the 15-D representation."""

    name = "mm-vae"
    needs_epochs = True  # trained by core.multimodal.train_multimodal from a catalog and its detections

    def __init__(self, dims: dict[str, int], config: VAEConfig | None = None, seed: int | None = None) -> None:
        self.config = config or VAEConfig()
        seed = self.config.seed if seed is None else seed
        self.seed = int(seed)
        self.dims = {k: int(dims[k]) for k in MODALITIES}
        self.vaes = {k: ModalityVAE(k, self.dims[k], self.config.latent_dim, self.config.hidden[k],
                                    self.config.betas[k], self.seed + 101 * i) for i, k in enumerate(MODALITIES)}

    @property
    def latent_dim(self) -> int:
        return self.config.latent_dim * len(MODALITIES)

    def architecture(self) -> str:
        c = self.config
        return ("three VAEs (sed, dmdt, lc), each MLP encoder [values, mask] -> "
                f"{c.hidden} (GELU, residual) -> {c.latent_dim}-D Gaussian latent -> mirrored decoder; "
                f"Gaussian likelihood with variance err^2 + learned floor; betas {c.betas}")

    def fit(self, train: dict[str, Triple], val: dict[str, Triple], *, progress: bool = False) -> dict[str, History]:
        """Train each modality's VAE on the stars that have it (any unmasked entry), in turn."""
        out = {}
        for k in MODALITIES:
            tr, va = _present(train[k]), _present(val[k])
            log.info("training the %s VAE on %d stars (%d validation)", k, len(tr[0]), len(va[0]))
            out[k] = self.vaes[k].fit(tr, va, self.config, progress=progress)
        return out

    def val_loss(self, val: dict[str, Triple]) -> float:
        return float(sum(self.vaes[k].evaluate(*_present(val[k])) for k in MODALITIES))

    def encode(self, inputs: dict[str, Triple]) -> dict[str, np.ndarray]:
        """Per modality: ``z`` (N, latent) (zeros where absent), ``rec`` reconstruction, ``present`` (N,)."""
        out = {}
        for k in MODALITIES:
            x, e, m = inputs[k]
            present = m.any(axis=1)
            mu, _, rec = self.vaes[k].encode_reconstruct(x, m)
            mu[~present] = 0.0
            out[k] = {"z": mu, "rec": rec, "present": present}
        return out

    # -- persistence -------------------------------------------------------------------------------
    def save(self, directory: str | Path) -> None:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        target = directory / "weights.npz"
        if target.exists():
            raise OutputExistsError(f"{target} exists; choose a new directory")
        arrays = {}
        for k in MODALITIES:
            self.vaes[k]._sync()
            arrays.update({f"{k}/{i}": w for i, w in enumerate(self.vaes[k].weights)})
        np.savez(target, **arrays)
        meta = {"model": self.name, "dims": self.dims, "seed": self.seed, "config": self.config.to_dict(),
                "history": {k: self.vaes[k].history.to_dict() for k in MODALITIES}, "format": 1}
        (directory / "model.json").write_text(json.dumps(meta, indent=1))

    @classmethod
    def load(cls, directory: str | Path) -> MultiModalVAE:
        directory = Path(directory)
        try:
            meta = json.loads((directory / "model.json").read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise ModelError(f"{directory}: not a saved mm-vae model ({exc})") from exc
        if meta.get("model") != cls.name:
            raise ModelError(f"{directory} holds a {meta.get('model')!r} model, not {cls.name!r}")
        inst = cls(meta["dims"], VAEConfig(**meta["config"]), meta["seed"])
        with np.load(directory / "weights.npz") as npz:
            for k in MODALITIES:
                n = len(inst.vaes[k].weights)
                inst.vaes[k].weights = [npz[f"{k}/{i}"] for i in range(n)]
        for k in MODALITIES:
            inst.vaes[k].history = History(**meta["history"][k])
        return inst


def _present(t: Triple) -> Triple:
    keep = np.asarray(t[2]).any(axis=1)
    return tuple(np.asarray(a)[keep] for a in t)  # type: ignore[return-value]
