"""The masked-band autoencoder: sees magnitudes, errors and which bands are present; learns to predict hidden bands.

Training hides random bands (one or two, sometimes none, and for band sets that combine surveys sometimes a
whole survey's block) and asks for *every* present band back, with a chi-square loss per band
(``((m' - m) / max(err, floor))^2``), so faint noisy bands count less. Hidden and absent bands look the same
to the encoder (zeroed, mask 0), so the trained model fills bands that are really missing.

Architecture (dense, elu): the visible magnitudes are centred on their mean ``ref`` (so the network sees
colours, and ``ref`` separately as brightness); encoder 64-64 -> a 16-D embedding; a decoder 64-64 from the
embedding predicts every band as ``ref + offset``. The embedding's first two dimensions are the 2-D latent
of the map: a second, small decoder (32-32) must predict every band from those two alone, which makes them
the most informative pair (as the other models' 2-D latents are). Outputs are in the paper's scaled units
(mag / 10), like every model's, so the scoring protocol is unchanged.

``reconstruct`` (every present band visible) is the full decoder's prediction; ``score`` gives, per band,
the prediction with *that band hidden* (leave-one-band-out), which is what an imputation of the band would
be; its residuals flag stars whose bands disagree with each other.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import tensorflow as tf

from core.calibration import ImputationCalibration
from core.catalog import SENTINELS
from core.errors import ConfigError, ModelError
from core.models import fast
from core.models.base import History, TrainConfig, register
from core.models.initializers import he_normal
from core.models.persist import load_arrays, save_arrays

EMBEDDING_DIM = 16
ENCODER = (64, 64)
DECODER = (64, 64)
LATENT_DECODER = (32, 32)
REF_MAG = 17.0  # centre and scale of the brightness input (typical PS1 star)
REF_SCALE = 2.0
NOMINAL_ERR = 0.01  # error assumed for magnitudes given without one
EXTRA_NAME = "masked_ae.json"

_LAYERS = (
    *(f"enc_{k}" for k in range(len(ENCODER))),
    "embedding",
    *(f"dec_{k}" for k in range(len(DECODER))),
    "output",
    *(f"lat_dec_{k}" for k in range(len(LATENT_DECODER))),
    "lat_output",
)
_N_ENC = len(ENCODER) + 1
_N_DEC = len(DECODER) + 1


@dataclass(frozen=True)
class MaskConfig:
    """How training hides bands, and the loss.

    ``p_hidden[k]``: chance that a star has ``k`` random present bands hidden (k = 0, 1, 2, ...);
    ``p_block``: chance (band sets of several surveys only) that one whole survey block is hidden instead;
    ``min_visible``: bands always left visible; ``err_floor``: floor on the error in the chi-square (mag);
    ``chi2_soft_cap``: a band's chi-square ``c`` counts as ``cap * log(1 + c / cap)``: equal to ``c`` for
    small misses, growing only logarithmically beyond ``cap``, so spoiled photometry (artefacts, blends)
    cannot dominate the mean (0 turns this off); ``latent_weight``: weight of the 2-D latent decoder's loss.
    """

    p_hidden: tuple[float, ...] = (0.2, 0.5, 0.3)
    p_block: float = 0.25
    min_visible: int = 2
    err_floor: float = 0.01
    chi2_soft_cap: float = 25.0
    latent_weight: float = 0.5

    def __post_init__(self) -> None:
        p = tuple(float(v) for v in self.p_hidden)
        object.__setattr__(self, "p_hidden", p)
        if not p or any(v < 0 for v in p) or abs(sum(p) - 1) > 1e-6:
            raise ConfigError(f"p_hidden must be non-negative probabilities summing to 1, got {p}")
        if not 0 <= self.p_block <= 1:
            raise ConfigError(f"p_block must be in [0, 1], got {self.p_block}")
        if self.min_visible < 1:
            raise ConfigError(f"min_visible must be at least 1, got {self.min_visible}")
        if not self.err_floor > 0:
            raise ConfigError(f"err_floor must be a positive magnitude, got {self.err_floor}")
        if self.chi2_soft_cap < 0:
            raise ConfigError(f"chi2_soft_cap must be >= 0, got {self.chi2_soft_cap}")
        if self.latent_weight < 0:
            raise ConfigError(f"latent_weight must be >= 0, got {self.latent_weight}")


# -- the graph -----------------------------------------------------------------------------------------
def _split(x: tf.Tensor, n: int) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """Features -> magnitudes (mag), errors (mag), presence (0/1)."""
    return x[:, :n] * 10.0, x[:, n : 2 * n], x[:, 2 * n : 3 * n]


def _dense(p: Sequence[tf.Tensor], k: int, h: tf.Tensor, act: bool = True) -> tf.Tensor:
    h = h @ p[2 * k] + p[2 * k + 1]
    return tf.nn.elu(h) if act else h


def encode_graph(p: Sequence[tf.Tensor], m: tf.Tensor, err: tf.Tensor, vis: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """Visible magnitudes -> (raw embedding (N, 16), reference magnitude (N, 1))."""
    nv = tf.reduce_sum(vis, axis=1, keepdims=True)
    ref = tf.reduce_sum(vis * m, axis=1, keepdims=True) / tf.maximum(nv, 1.0)
    h = tf.concat(
        [
            (m - ref) * vis,
            vis * tf.math.log(tf.maximum(err, 1e-3) / NOMINAL_ERR),
            vis,
            (ref - REF_MAG) / REF_SCALE,
        ],
        axis=1,
    )
    for k in range(_N_ENC - 1):
        h = _dense(p, k, h)
    return _dense(p, _N_ENC - 1, h, act=False), ref


def decode_graph(p: Sequence[tf.Tensor], e: tf.Tensor, ref: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """Embedding -> (full prediction, prediction from the 2-D latent alone), both in magnitudes."""
    h = e
    for k in range(_N_ENC, _N_ENC + _N_DEC - 1):
        h = _dense(p, k, h)
    full = ref + _dense(p, _N_ENC + _N_DEC - 1, h, act=False)
    return full, decode_latent_graph(p, e[:, :2], ref)


def decode_latent_graph(p: Sequence[tf.Tensor], z: tf.Tensor, ref: tf.Tensor) -> tf.Tensor:
    h = z
    first = _N_ENC + _N_DEC
    for k in range(first, first + len(LATENT_DECODER)):
        h = _dense(p, k, h)
    return ref + _dense(p, first + len(LATENT_DECODER), h, act=False)


def forward_graph(p: Sequence[tf.Tensor], x: tf.Tensor) -> tf.Tensor:
    """All present bands visible -> full prediction in scaled units (the engine's ``forward``)."""
    n = x.shape[1] // 3
    m, err, pres = _split(x, n)
    e, ref = encode_graph(p, m, err, pres)
    return decode_graph(p, e, ref)[0] / 10.0


def hide_bands(
    pres: tf.Tensor, seed: tf.Tensor, config: MaskConfig, blocks: tuple[tuple[int, ...], ...]
) -> tf.Tensor:
    """Random 0/1 mask (N, n) of present bands to hide, drawn statelessly from ``seed`` (see :class:`MaskConfig`)."""
    n = pres.shape[1]
    b = tf.shape(pres)[0]
    sub = [tf.stack([seed[0] * 4 + k, seed[1]]) for k in range(4)]
    cum = np.cumsum(config.p_hidden)[:-1].astype(np.float32)
    u = tf.random.stateless_uniform([b, 1], sub[0])
    k = tf.reduce_sum(tf.cast(u > cum[None, :], tf.float32), axis=1, keepdims=True) if len(cum) else tf.zeros([b, 1])
    n_pres = tf.reduce_sum(pres, axis=1, keepdims=True)
    k = tf.minimum(k, tf.maximum(n_pres - config.min_visible, 0.0))
    # Absent bands sort last, so the k lowest-ranked bands are present ones.
    scores = tf.random.stateless_uniform([b, n], sub[1]) + 2.0 * (1.0 - pres)
    ranks = tf.argsort(tf.argsort(scores, axis=1), axis=1)
    hide = tf.cast(tf.cast(ranks, tf.float32) < k, tf.float32)
    if len(blocks) > 1 and config.p_block > 0:
        mat = np.zeros((len(blocks), n), np.float32)
        for j, blk in enumerate(blocks):
            mat[j, list(blk)] = 1.0
        pick = tf.random.stateless_uniform([b], sub[2], maxval=len(blocks), dtype=tf.int32)
        block_hide = tf.gather(tf.constant(mat), pick) * pres
        left = tf.reduce_sum(pres - block_hide, axis=1, keepdims=True)
        use = (tf.random.stateless_uniform([b, 1], sub[3]) < config.p_block) & (left >= 1.0)
        hide = tf.where(use, block_hide, hide)
    return hide


def chi2_per_star(
    pred: tf.Tensor, m: tf.Tensor, err: tf.Tensor, pres: tf.Tensor, floor: float, soft_cap: float = 0.0
) -> tf.Tensor:
    """Mean over present bands of ``((pred - m) / max(err, floor))^2`` (absent bands count nothing),
    each band's term softly capped (see :class:`MaskConfig`)."""
    sig = tf.maximum(err, floor)
    chi2 = tf.square((pred - m) / sig)
    if soft_cap:
        chi2 = soft_cap * tf.math.log1p(chi2 / soft_cap)
    chi2 = chi2 * pres
    return tf.reduce_sum(chi2, axis=1) / tf.maximum(tf.reduce_sum(pres, axis=1), 1.0)


@functools.lru_cache(maxsize=16)
def make_loss(n: int, config: MaskConfig, blocks: tuple[tuple[int, ...], ...]) -> fast.LossFn:
    """The training loss for ``n`` bands: hide bands at random, predict all present ones, chi-square each."""

    def loss(p: Sequence[tf.Tensor], x: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
        m, err, pres = _split(x, n)
        vis = pres * (1.0 - hide_bands(pres, seed, config, blocks))
        e, ref = encode_graph(p, m, err, vis)
        full, lat = decode_graph(p, e, ref)
        per = chi2_per_star(full, m, err, pres, config.err_floor, config.chi2_soft_cap)
        if config.latent_weight:
            per = per + config.latent_weight * chi2_per_star(
                lat, m, err, pres, config.err_floor, config.chi2_soft_cap
            )
        return per

    return loss


def _predict(p, x, hide):
    n = x.shape[1] // 3
    m, err, pres = _split(x, n)
    e, ref = encode_graph(p, m, err, pres * (1.0 - hide))
    return decode_graph(p, e, ref)[0] / 10.0


def _score(p, x):
    """Embedding of the full input, and per band the prediction with that band hidden (scaled units)."""
    n = x.shape[1] // 3
    m, err, pres = _split(x, n)
    e, _ = encode_graph(p, m, err, pres)
    cols = []
    for j in range(n):
        hide = tf.one_hot(tf.fill([tf.shape(x)[0]], j), n, dtype=tf.float32)
        cols.append(_predict(p, x, hide)[:, j])
    return e, tf.stack(cols, axis=1)


def _embed(p, x):
    n = x.shape[1] // 3
    m, err, pres = _split(x, n)
    return encode_graph(p, m, err, pres)[0]


def _decode_latent(p, z, ref):
    return decode_latent_graph(p, z, ref) / 10.0


_predict_fn = tf.function(_predict, jit_compile=True)
_score_fn = tf.function(_score, jit_compile=True)
_embed_fn = tf.function(_embed, jit_compile=True)
_decode_fn = tf.function(_decode_latent, jit_compile=True)


# -- the model ---------------------------------------------------------------------------------------
@register
class MaskedAutoencoder(fast.CompiledAutoencoder):
    """Masked-band autoencoder: mags + errors + presence -> 16-D embedding (first 2 dims: the map), chi-square loss."""

    name = "masked-ae"
    forward_graph = staticmethod(forward_graph)
    uses_errors = True
    accepts_missing = True
    embedding_dim = EMBEDDING_DIM
    scaling = "features: mag/10 (not rounded), errors in mag, presence mask; outputs mag/10"

    def __init__(
        self,
        n_bands: int,
        seed: int = 41,
        blocks: Sequence[Sequence[int]] | None = None,
        mask: MaskConfig | None = None,
    ) -> None:
        super().__init__(n_bands, seed)
        self.blocks = tuple(tuple(int(k) for k in b) for b in (blocks or (tuple(range(n_bands)),)))
        if sorted(k for b in self.blocks for k in b) != list(range(n_bands)):
            raise ConfigError(f"blocks {self.blocks} must split the {n_bands} band indices exactly once")
        self.mask = mask or MaskConfig()
        if self.mask.min_visible >= n_bands:
            raise ConfigError(f"min_visible ({self.mask.min_visible}) must be below the number of bands ({n_bands})")
        rng = np.random.default_rng(self.seed)
        self._weights = []
        for d, u in self._dims():
            self._weights += [he_normal(rng, (d, u)), np.zeros(u, np.float32)]
        # Per-dimension centre and spread of the embedding on the training set (applied by ``embed``).
        self.embedding_mean = np.zeros(EMBEDDING_DIM)
        self.embedding_std = np.ones(EMBEDDING_DIM)
        self.ref_median = REF_MAG
        self.calibration: ImputationCalibration | None = None
        self.history: History | None = None

    # -- protocol --------------------------------------------------------------------------------------
    @classmethod
    def features(cls, mags: np.ndarray, errs: np.ndarray | None = None) -> np.ndarray:
        """(N, 3 n): magnitudes / 10, errors (mag) and presence (1/0); missing bands (NaN, sentinel) are zeros."""
        mags = np.asarray(mags, np.float64)
        errs = np.full_like(mags, NOMINAL_ERR) if errs is None else np.asarray(errs, np.float64)
        if errs.shape != mags.shape:
            raise ModelError(f"errors have shape {errs.shape} but magnitudes {mags.shape}")
        pres = np.isfinite(mags) & ~np.isin(mags, SENTINELS) & np.isfinite(errs) & ~np.isin(errs, SENTINELS)
        errs = np.where(errs > 0, errs, NOMINAL_ERR)
        out = np.concatenate([np.where(pres, mags / 10.0, 0.0), np.where(pres, errs, 0.0), pres], axis=1)
        return out.astype(np.float32)

    @classmethod
    def build_options(cls, bands: Any) -> dict[str, Any]:
        from core.bands import survey_blocks

        return {"blocks": survey_blocks(bands)}

    @classmethod
    def default_config(cls) -> TrainConfig:
        # Larger batches and step than the paper's LSTM-AE: the loss is noisier (random masks) and the
        # network has ~20k weights; the validation loss is noisy (random masks), hence patience 8.
        return TrainConfig(max_epochs=60, patience=8, batch_size=1024, learning_rate=1e-3)

    @property
    def input_width(self) -> int:
        return 3 * self.n_bands

    def loss_graph(self) -> fast.LossFn:
        return make_loss(self.n_bands, self.mask, self.blocks)

    def architecture(self) -> str:
        return (
            f"masked dense AE: [{self.n_bands} mags-ref, {self.n_bands} log err, {self.n_bands} mask, ref] -> "
            f"{'-'.join(map(str, ENCODER))} -> embedding {EMBEDDING_DIM} (dims 0-1: 2-D latent) -> "
            f"{'-'.join(map(str, DECODER))} -> {self.n_bands}; latent decoder 2 -> "
            f"{'-'.join(map(str, LATENT_DECODER))} -> {self.n_bands}; elu; survey blocks {list(self.blocks)}; "
            f"mask {asdict(self.mask)}"
        )

    def _dims(self) -> list[tuple[int, int]]:
        n = self.n_bands
        enc = (3 * n + 1, *ENCODER, EMBEDDING_DIM)
        dec = (EMBEDDING_DIM, *DECODER, n)
        lat = (2, *LATENT_DECODER, n)
        return [pair for w in (enc, dec, lat) for pair in zip(w[:-1], w[1:], strict=True)]

    def weight_shapes(self) -> list[tuple[int, ...]]:
        return [s for d, u in self._dims() for s in ((d, u), (u,))]

    def _x(self, x: np.ndarray, what: str = "input") -> np.ndarray:
        return fast.check_inputs(x, self.input_width, what)

    # -- training ---------------------------------------------------------------------------------------
    def fit(self, x_train, x_val, config=None, *, progress=True, on_epoch=None) -> History:
        hist = super().fit(x_train, x_val, config, progress=progress, on_epoch=on_epoch)
        x_train = self._x(x_train, "training set")
        raw = fast.run_chunked(_embed_fn, self._tensors(), x_train)[0].astype(np.float64)
        self.embedding_mean = raw.mean(axis=0)
        self.embedding_std = np.maximum(raw.std(axis=0), 1e-6)
        n = self.n_bands
        pres = x_train[:, 2 * n :] > 0
        ref = (x_train[:, :n] * 10.0 * pres).sum(axis=1) / np.maximum(pres.sum(axis=1), 1)
        self.ref_median = float(np.median(ref))
        return hist

    def evaluate(self, x: np.ndarray) -> float:
        """The training loss (random hidden bands, fixed draws as for ``val_loss``) on ``x``."""
        return self.engine().validation_loss(self._weights, self._x(x), self.seed)

    def calibrate(self, x_holdout: np.ndarray, max_stars: int = 200_000) -> ImputationCalibration:
        """Imputation uncertainties from held-out stars whose bands are hidden on purpose (1 to 3 at a time)."""
        x = self._x(x_holdout, "calibration set")
        if len(x) > max_stars:
            x = x[np.random.default_rng(self.seed).permutation(len(x))[:max_stars]]
        n = self.n_bands
        pres = x[:, 2 * n :] > 0
        self.calibration = ImputationCalibration.fit_from(
            self.predict_hidden, x, x[:, :n].astype(np.float64) * 10.0, pres,
            min_visible=self.mask.min_visible, max_k=max(1, min(3, n - self.mask.min_visible)), seed=self.seed,
        )
        return self.calibration

    # -- inference --------------------------------------------------------------------------------------
    def predict_hidden(self, x: np.ndarray, hide: np.ndarray) -> np.ndarray:
        """Predicted magnitudes (N, n, in mag) of every band when the bands in ``hide`` (N, n, bool) are hidden."""
        x = self._x(x)
        hide = np.asarray(hide, np.float32).reshape(len(x), self.n_bands)
        return fast.run_chunked(_predict_fn, self._tensors(), x, hide)[0].astype(np.float64) * 10.0

    def embed(self, x: np.ndarray) -> np.ndarray:
        """Standardised embedding (N, 16) of the full input (dims 0-1 are the raw 2-D latent, standardised)."""
        raw = fast.run_chunked(_embed_fn, self._tensors(), self._x(x))[0]
        return ((raw - self.embedding_mean) / self.embedding_std).astype(np.float32)

    def encode(self, x: np.ndarray) -> np.ndarray:
        return fast.run_chunked(_embed_fn, self._tensors(), self._x(x))[0][:, :2]

    def decode(self, z: np.ndarray, ref: np.ndarray | None = None) -> np.ndarray:
        """2-D latent -> scaled magnitudes via the latent decoder, at reference magnitude ``ref`` (N,)
        (default: the training stars' median): the latent holds colours, the brightness comes from ``ref``."""
        z = np.asarray(z, np.float32)
        if z.ndim != 2 or z.shape[1] != 2:
            raise ModelError(f"decode needs latent coordinates of shape (N, 2), got {z.shape}")
        ref = np.full((len(z), 1), self.ref_median, np.float32) if ref is None else np.asarray(ref, np.float32).reshape(-1, 1)
        return fast.run_chunked(_decode_fn, self._tensors(), z, ref)[0]

    def reconstruct(self, x: np.ndarray) -> np.ndarray:
        x = self._x(x)
        return fast.run_chunked(_predict_fn, self._tensors(), x, np.zeros((len(x), self.n_bands), np.float32))[0]

    def score(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Latent (N, 2) and, per band, the prediction with that band hidden (scaled units)."""
        z, rec, _ = self.score_with_embedding(x)
        return z, rec

    def score_with_embedding(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Latent (N, 2), leave-one-band-out predictions (N, n, scaled) and standardised embedding (N, 16)."""
        e, rec = fast.run_chunked(_score_fn, self._tensors(), self._x(x))
        emb = ((e - self.embedding_mean) / self.embedding_std).astype(np.float32)
        return e[:, :2], rec, emb

    # -- persistence ------------------------------------------------------------------------------------
    def save(self, directory: Path) -> None:
        directory = Path(directory)
        save_arrays(self, directory, _LAYERS, ("kernel", "bias"))
        extra = {
            "blocks": [list(b) for b in self.blocks],
            "mask": asdict(self.mask),
            "embedding_mean": self.embedding_mean.tolist(),
            "embedding_std": self.embedding_std.tolist(),
            "ref_median": self.ref_median,
            "calibration": self.calibration.to_dict() if self.calibration else None,
        }
        (directory / EXTRA_NAME).write_text(json.dumps(extra, indent=1) + "\n")

    @classmethod
    def load(cls, directory: Path) -> MaskedAutoencoder:
        directory = Path(directory)
        path = directory / EXTRA_NAME
        if not path.exists():
            raise ModelError(f"{directory}: missing {EXTRA_NAME} (masked-ae settings and calibration)")
        extra = json.loads(path.read_text())
        base = load_arrays(cls, directory, _LAYERS, ("kernel", "bias"))
        inst = cls(base.n_bands, base.seed, blocks=extra["blocks"], mask=MaskConfig(**extra["mask"]))
        inst.set_weights(base.get_weights())
        inst.history = base.history
        inst.embedding_mean = np.asarray(extra["embedding_mean"], np.float64)
        inst.embedding_std = np.asarray(extra["embedding_std"], np.float64)
        inst.ref_median = float(extra.get("ref_median", REF_MAG))
        if extra.get("calibration"):
            inst.calibration = ImputationCalibration.from_dict(extra["calibration"])
        return inst
