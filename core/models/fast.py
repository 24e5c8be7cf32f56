"""The compiled training engine: whole epochs of minibatch Adam inside one XLA-compiled function.

Keras' ``fit`` pays a Python/dispatch cost on every 512-star minibatch that dwarfs the arithmetic of these
tiny models. Here a model is a pure function ``forward(params, x) -> reconstruction`` over a flat list of
weight tensors; one ``tf.function(jit_compile=True)`` call shuffles, loops over every minibatch of an epoch
(the final partial batch included, as Keras does), applies Adam exactly as Keras 3 does, and computes the
validation loss. :func:`train` wraps that in the paper's early stopping (patience, best weights restored).

A model may bring its own loss instead of the MSE against its input (:data:`LossFn`): it gets the batch,
which can hold more than magnitudes (errors, presence masks), and a stateless-RNG seed that changes every
step, so random corruption such as hiding bands is drawn inside the compiled loop. The validation loss
uses one fixed seed, so it is comparable from epoch to epoch.
"""

from __future__ import annotations

import functools
import logging
import math
import time
from collections.abc import Callable, Sequence

import numpy as np
import tensorflow as tf
from tqdm.auto import tqdm

from core.errors import BandMismatchError, ModelError
from core.models.base import Autoencoder, EpochCallback, History, TrainConfig

log = logging.getLogger(__name__)

# Keras 3 Adam defaults (keras.optimizers.Adam); the update below is its ``update_step`` verbatim.
BETA_1 = 0.9
BETA_2 = 0.999
EPSILON = 1e-7

SCORE_CHUNK = 1 << 16

ForwardFn = Callable[[Sequence[tf.Tensor], tf.Tensor], tf.Tensor]
LossFn = Callable[[Sequence[tf.Tensor], tf.Tensor, tf.Tensor], tf.Tensor]
"""(weights, batch, seed) -> per-star loss, shape (B,); ``seed`` is a (2,) int64 stateless-RNG seed."""


def adam_update(
    param: tf.Tensor, m: tf.Tensor, v: tf.Tensor, grad: tf.Tensor, step: tf.Tensor, lr: tf.Tensor
) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """One Keras-3 Adam update; ``step`` is the 1-based iteration as float32 (Keras' ``iterations + 1``)."""
    beta_1_power = tf.pow(tf.constant(BETA_1, tf.float32), step)
    beta_2_power = tf.pow(tf.constant(BETA_2, tf.float32), step)
    alpha = lr * tf.sqrt(1 - beta_2_power) / (1 - beta_1_power)
    m = m + (grad - m) * (1 - BETA_1)
    v = v + (tf.square(grad) - v) * (1 - BETA_2)
    param = param - (m * alpha) / (tf.sqrt(v) + EPSILON)
    return param, m, v


def mse(recon: tf.Tensor, x: tf.Tensor) -> tf.Tensor:
    """Keras' ``'mse'`` loss: mean over bands, then over stars."""
    return tf.reduce_mean(tf.reduce_mean(tf.square(recon - x), axis=-1))


class EpochEngine:
    """Compiled epochs for one model function and batch size (learning rate travels in the state).

    All weights live in one flat float32 vector, so Adam is a handful of fused vector ops per step and
    XLA compiles quickly. Weights the function never reads (for the LSTM-AE, recurrent kernels of layers
    that start from zero state) get zero gradients and, as in Keras, never move. XLA compiles once per
    data shape; get engines from :func:`engine_for` so repeated fits reuse the compiled code.
    """

    def __init__(
        self,
        forward: ForwardFn,
        shapes: Sequence[tuple[int, ...]],
        batch_size: int,
        loss: LossFn | None = None,
    ) -> None:
        self.forward = forward
        self.loss = loss
        self.shapes = [tuple(s) for s in shapes]
        sizes = [int(np.prod(s)) for s in self.shapes]
        self.offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(int).tolist()
        self.batch_size = int(batch_size)
        self._epoch_fn = tf.function(self._epoch, jit_compile=True)
        self._step_fn = tf.function(self._step, jit_compile=True)
        self._val_fn = tf.function(self._val_loss, jit_compile=True)

    # -- pieces ---------------------------------------------------------------------------------------
    def _unflatten(self, theta: tf.Tensor) -> list[tf.Tensor]:
        o = self.offsets
        return [tf.reshape(theta[o[k] : o[k + 1]], s) for k, s in enumerate(self.shapes)]

    def _loss(
        self, theta: tf.Tensor, xb: tf.Tensor, weight: tf.Tensor | None = None, seed: tf.Tensor | None = None
    ) -> tf.Tensor:
        """Keras' MSE (or the model's loss); with ``weight`` (1 = real star, 0 = padding) the mean runs
        over real stars only."""
        if self.loss is not None:
            per_star = self.loss(self._unflatten(theta), xb, seed)
            if weight is None:
                return tf.reduce_mean(per_star)
            return tf.reduce_sum(per_star * weight) / tf.reduce_sum(weight)
        if weight is None:
            return mse(self.forward(self._unflatten(theta), xb), xb)
        per_star = tf.reduce_mean(tf.square(self.forward(self._unflatten(theta), xb) - xb), axis=-1)
        return tf.reduce_sum(per_star * weight) / tf.reduce_sum(weight)

    @staticmethod
    def _val_seed(rng: tf.Tensor) -> tf.Tensor:
        return tf.stack([rng, tf.constant(-1, tf.int64)])

    def _val_loss(self, theta, rng, x):
        return self._loss(theta, x, None, self._val_seed(rng))

    def _step(self, theta, m, v, step, lr, rng, xb, weight=None):
        """Forward, gradient and Adam update on one minibatch; returns the pre-update batch loss."""
        seed = tf.stack([rng, step])
        with tf.GradientTape() as tape:
            tape.watch(theta)
            loss = self._loss(theta, xb, weight, seed)
        grad = tape.gradient(loss, theta)
        step = step + 1
        theta, m, v = adam_update(theta, m, v, grad, tf.cast(step, tf.float32), lr)
        return loss, theta, m, v, step

    def _epoch(self, theta, m, v, step, lr, rng, x, perm, x_val):
        n, d = x.shape
        bs = self.batch_size
        n_batches = -(-n // bs)
        pad = n_batches * bs - n
        # The final partial batch is trained on, as Keras does: it is padded to a full batch whose padding
        # rows carry zero weight, so one loop body (compiled once) serves every batch.
        xs = tf.gather(x, perm)
        if pad:
            xs = tf.concat([xs, tf.zeros((pad, d), xs.dtype)], axis=0)
        batches = tf.reshape(xs, (n_batches, bs, d))
        weights = tf.reshape(tf.cast(tf.range(n_batches * bs) < n, tf.float32), (n_batches, bs))

        def body(k, th, mm, vv, st, acc):
            loss, th, mm, vv, st = self._step(th, mm, vv, st, lr, rng, batches[k], weights[k])
            return k + 1, th, mm, vv, st, acc + loss * tf.reduce_sum(weights[k])

        loop_vars = (tf.constant(0), theta, m, v, step, tf.constant(0.0, tf.float32))
        _, theta, m, v, step, acc = tf.while_loop(lambda k, *_: k < n_batches, body, loop_vars)
        return theta, m, v, step, acc / n, self._val_loss(theta, rng, x_val)

    # -- public -----------------------------------------------------------------------------------------
    def start(self, params: Sequence[np.ndarray], learning_rate: float, rng_seed: int = 0) -> dict:
        """Fresh Adam state (zero moments, iteration 0) starting from ``params``; ``rng_seed`` seeds the
        model loss's random draws (unused by the plain MSE)."""
        got = [tuple(np.shape(p)) for p in params]
        if got != self.shapes:
            raise ModelError(f"weight shapes {got} do not match the engine's {self.shapes}")
        theta = tf.constant(np.concatenate([np.ravel(p) for p in params]).astype(np.float32))
        zeros = tf.zeros_like(theta)
        return {
            "theta": theta,
            "m": zeros,
            "v": zeros,
            "step": tf.constant(0, tf.int64),
            "lr": tf.constant(learning_rate, tf.float32),
            "rng": tf.constant(int(rng_seed), tf.int64),
        }

    def params(self, state: dict) -> list[np.ndarray]:
        """The weights in ``state`` as separate arrays of the model's shapes."""
        theta, o = state["theta"].numpy(), self.offsets
        return [theta[o[k] : o[k + 1]].reshape(s).copy() for k, s in enumerate(self.shapes)]

    def _args(self, state: dict) -> tuple:
        return state["theta"], state["m"], state["v"], state["step"], state["lr"], state.get(
            "rng", tf.constant(0, tf.int64)
        )

    def epoch(
        self, state: dict, x: tf.Tensor, perm: np.ndarray, x_val: tf.Tensor
    ) -> tuple[dict, float, float]:
        """Train one epoch over ``x[perm]``; returns (new state, mean train loss, validation loss)."""
        theta, m, v, step, loss, val_loss = self._epoch_fn(*self._args(state), x, tf.constant(perm), x_val)
        return {**state, "theta": theta, "m": m, "v": v, "step": step}, float(loss), float(val_loss)

    def validation_loss(self, params: Sequence[np.ndarray], x: np.ndarray, rng_seed: int = 0) -> float:
        """The loss of ``params`` on ``x`` as the epoch loop reports ``val_loss`` (fixed random draws)."""
        state = self.start(params, 1.0, rng_seed)
        return float(self._val_fn(state["theta"], state["rng"], tf.constant(x, tf.float32)))

    def step(self, state: dict, xb: np.ndarray) -> tuple[dict, float]:
        """One Adam step on one batch (what Keras ``train_on_batch`` does)."""
        loss, theta, m, v, step = self._step_fn(*self._args(state), tf.constant(xb, tf.float32))
        return {**state, "theta": theta, "m": m, "v": v, "step": step}, float(loss)


@functools.lru_cache(maxsize=32)
def engine_for(
    forward: ForwardFn, shapes: tuple[tuple[int, ...], ...], batch_size: int, loss: LossFn | None = None
) -> EpochEngine:
    """A shared engine per (model function, weight shapes, batch size, loss), keeping its compiled code warm."""
    return EpochEngine(forward, shapes, batch_size, loss)


def run_chunked(fn, params: list[tf.Tensor], *arrays: np.ndarray) -> list[np.ndarray]:
    """Apply a compiled function in fixed-size chunks (last one padded) so it compiles once per size class."""
    n = len(arrays[0])
    chunk = SCORE_CHUNK if n >= SCORE_CHUNK else max(1024, 1 << int(np.ceil(np.log2(max(n, 1)))))
    outs: list[list[np.ndarray]] = []
    for start in range(0, max(n, 1), chunk):
        parts = [a[start : start + chunk] for a in arrays]
        k = len(parts[0])
        if k < chunk:
            parts = [np.concatenate([a, np.zeros((chunk - k, a.shape[1]), np.float32)]) for a in parts]
        res = fn(params, *[tf.constant(a) for a in parts])
        res = res if isinstance(res, tuple | list) else (res,)
        outs.append([r.numpy()[:k] for r in res])
    return [np.concatenate(col) for col in zip(*outs, strict=True)]


def check_inputs(x: np.ndarray, n_bands: int, what: str) -> np.ndarray:
    """Float32 ``(N, n_bands)`` array with only finite values, or a clear error naming ``what``."""
    arr = np.asarray(x, dtype=np.float32)
    if arr.ndim == 3 and arr.shape[1] == 1:  # Keras' (N, 1, n_bands) sequence layout
        arr = arr[:, 0, :]
    if arr.ndim != 2:
        raise ModelError(f"{what}: expected a 2-D array (stars, bands), got shape {arr.shape}")
    if arr.shape[1] != n_bands:
        raise BandMismatchError(f"{what}: model has {n_bands} bands but the array has {arr.shape[1]} columns")
    bad = ~np.isfinite(arr).all(axis=1)
    if bad.any():
        raise ModelError(f"{what}: {int(bad.sum())} of {len(arr)} rows contain NaN or infinite values")
    return arr


def train(
    engine: EpochEngine,
    params: Sequence[np.ndarray],
    x_train: np.ndarray,
    x_val: np.ndarray,
    config: TrainConfig,
    *,
    shuffle_seed: Sequence[int],
    rng_seed: int = 0,
    progress: bool = True,
    on_epoch: EpochCallback | None = None,
    label: str = "train",
) -> tuple[list[np.ndarray], History]:
    """Keras-style fit with early stopping on validation loss; returns the best epoch's weights.

    Matches ``EarlyStopping(monitor='val_loss', patience, restore_best_weights=True)`` in Keras 3: an
    epoch improves when its validation loss is strictly lower than the best so far; training stops once
    ``patience`` epochs pass without improvement, and the best epoch's weights are restored at the end
    either way. A non-finite loss stops training (logged) and also restores the best weights.
    """
    if len(x_train) == 0:
        raise ModelError("training set is empty")
    if len(x_val) == 0:
        raise ModelError("validation set is empty; early stopping needs one")
    rng = np.random.default_rng(list(shuffle_seed))
    x = tf.constant(x_train, tf.float32)
    xv = tf.constant(x_val, tf.float32)
    state = engine.start(params, config.learning_rate, rng_seed)
    hist = History()
    best_val, best_params, wait = math.inf, [np.array(p, np.float32) for p in params], 0
    bar = tqdm(range(config.max_epochs), desc=label, unit="epoch", disable=not progress, leave=False)
    for epoch in bar:
        perm = rng.permutation(len(x_train)).astype(np.int32)
        t0 = time.perf_counter()
        state, loss, val_loss = engine.epoch(state, x, perm, xv)
        hist.seconds.append(time.perf_counter() - t0)
        hist.loss.append(loss)
        hist.val_loss.append(val_loss)
        log.info(
            "%s epoch %d: loss %.4g val_loss %.4g (%.2fs)", label, epoch + 1, loss, val_loss, hist.seconds[-1]
        )
        bar.set_postfix(loss=f"{loss:.3g}", val_loss=f"{val_loss:.3g}")
        if on_epoch is not None:
            on_epoch(epoch, loss, val_loss)
        if not (math.isfinite(loss) and math.isfinite(val_loss)):
            if hist.best_epoch < 0:
                raise ModelError(
                    f"{label}: loss is not finite in the first epoch (loss={loss}, val_loss={val_loss})"
                )
            log.warning(
                "%s: non-finite loss at epoch %d; stopping and restoring epoch %d",
                label,
                epoch + 1,
                hist.best_epoch + 1,
            )
            hist.stopped_early = True
            break
        if val_loss < best_val:
            best_val, hist.best_epoch, wait = val_loss, epoch, 0
            best_params = engine.params(state)
        else:
            wait += 1
            if wait >= config.patience and epoch > 0:
                hist.stopped_early = True
                log.info(
                    "%s: early stop after epoch %d; best epoch %d", label, epoch + 1, hist.best_epoch + 1
                )
                break
    bar.close()
    return best_params, hist


class CompiledAutoencoder(Autoencoder):
    """An autoencoder whose weights are a list of arrays trained by this module's compiled epoch loop.

    Subclasses set ``forward_graph`` (weights, batch -> reconstruction) and ``weight_shapes``; a model
    with its own training loss overrides :meth:`loss_graph`, and one whose input array is wider than
    its bands (errors, masks) overrides :attr:`input_width`.
    """

    forward_graph: Callable[[Sequence[tf.Tensor], tf.Tensor], tf.Tensor]
    _weights: list[np.ndarray]

    @property
    def input_width(self) -> int:
        """Columns of the input array (:meth:`features`); the bands themselves by default."""
        return self.n_bands

    def loss_graph(self) -> LossFn | None:
        """The model's own per-star training loss (:data:`LossFn`), or None for the MSE against the input.

        Must return the same function object for equal settings, so compiled engines are reused.
        """
        return None

    def count_params(self) -> int:
        return int(sum(np.prod(s) for s in self.weight_shapes()))

    def get_weights(self) -> list[np.ndarray]:
        return [w.copy() for w in self._weights]

    def set_weights(self, weights: Sequence[np.ndarray]) -> None:
        got = [tuple(np.shape(w)) for w in weights]
        if got != self.weight_shapes():
            raise ModelError(
                f"{self.name} weights for {self.n_bands} bands must have shapes {self.weight_shapes()}, got {got}"
            )
        self._weights = [np.array(w, np.float32) for w in weights]

    def _tensors(self) -> list[tf.Tensor]:
        return [tf.constant(w) for w in self._weights]

    def engine(self, batch_size: int = 512) -> EpochEngine:
        """The (cached) compiled trainer for this model's function at ``batch_size``."""
        return engine_for(type(self).forward_graph, tuple(self.weight_shapes()), batch_size, self.loss_graph())

    def fit(
        self,
        x_train: np.ndarray,
        x_val: np.ndarray,
        config: TrainConfig | None = None,
        *,
        progress: bool = True,
        on_epoch: EpochCallback | None = None,
    ) -> History:
        config = config or TrainConfig()
        x_train = check_inputs(x_train, self.input_width, "training set")
        x_val = check_inputs(x_val, self.input_width, "validation set")
        best, hist = train(
            self.engine(config.batch_size),
            self._weights,
            x_train,
            x_val,
            config,
            shuffle_seed=(self.seed, config.seed),
            rng_seed=self.seed,
            progress=progress,
            on_epoch=on_epoch,
            label=self.name,
        )
        self._weights = best
        self.history = hist
        return hist
