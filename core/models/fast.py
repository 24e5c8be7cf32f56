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
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

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
    that start from zero state) get zero gradients and, as in Keras, never move. With a ``graph``
    (:class:`~core.models.lstm_cells.CellGraph`) and no model ``loss`` the step uses its feature-major
    forward pass and hand-derived gradient instead of autodiff of ``forward``. XLA compiles once per data
    shape; get engines from :func:`engine_for` so repeated fits reuse the compiled code.
    """

    def __init__(
        self,
        forward: ForwardFn,
        shapes: Sequence[tuple[int, ...]],
        batch_size: int,
        loss: LossFn | None = None,
        graph=None,
    ) -> None:
        self.forward = forward
        self.loss = loss
        # The hand-derived gradient is of the MSE; a model's own loss is differentiated by autodiff.
        self.graph = graph if loss is None else None
        self.shapes = [tuple(s) for s in shapes]
        sizes = [int(np.prod(s)) for s in self.shapes]
        self.offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(int).tolist()
        if graph is not None and graph.size != self.offsets[-1]:
            raise ModelError(f"cell graph holds {graph.size} weights but the shapes hold {self.offsets[-1]}")
        self.batch_size = int(batch_size)
        self._epoch_fn = tf.function(self._epoch, jit_compile=True, autograph=False)
        self._chunk_fn = tf.function(self._chunk, jit_compile=True, autograph=False)
        self._step_fn = tf.function(self._step, jit_compile=True, autograph=False)
        self._val_fn = tf.function(self._val_loss, jit_compile=True, autograph=False)

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
        if self.graph is not None and weight is None:
            return self.graph.mse(theta, tf.transpose(xb))
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
        if self.graph is not None:
            if weight is None:
                weight = tf.ones(tf.shape(xb)[:1], tf.float32)
            loss, grad = self.graph.loss_and_grad(theta, tf.transpose(xb), weight)
        else:
            with tf.GradientTape() as tape:
                tape.watch(theta)
                loss = self._loss(theta, xb, weight, tf.stack([rng, step]))
            grad = tape.gradient(loss, theta)
        step = step + 1
        theta, m, v = adam_update(theta, m, v, grad, tf.cast(step, tf.float32), lr)
        return loss, theta, m, v, step

    def _epoch(self, theta, m, v, step, lr, rng, x, perm, x_val):
        n = x.shape[0]
        bs = self.batch_size
        n_batches = -(-n // bs)
        # The final partial batch is trained on, as Keras does: its index list is padded to a full batch
        # whose padding rows carry zero weight, so one loop body (compiled once) serves every batch. Each
        # batch gathers its own rows, so no shuffled copy of the training set is made.
        idx = tf.concat([perm, tf.zeros((n_batches * bs - n,), perm.dtype)], axis=0)
        idx = tf.reshape(idx, (n_batches, bs))
        weights = tf.reshape(tf.cast(tf.range(n_batches * bs) < n, tf.float32), (n_batches, bs))

        def body(k, th, mm, vv, st, acc):
            loss, th, mm, vv, st = self._step(th, mm, vv, st, lr, rng, tf.gather(x, idx[k]), weights[k])
            return k + 1, th, mm, vv, st, acc + loss * tf.reduce_sum(weights[k])

        loop_vars = (tf.constant(0), theta, m, v, step, tf.constant(0.0, tf.float32))
        _, theta, m, v, step, acc = tf.while_loop(lambda k, *_: k < n_batches, body, loop_vars)
        return theta, m, v, step, acc / n, self._val_loss(theta, rng, x_val)

    def _chunk(self, theta, m, v, step, lr, rng, x, perms, n_active, x_val, best_theta, best_val, best_epoch, wait,
               epoch0, patience):
        """Up to ``n_active`` epochs (one per row of ``perms``) with Keras' early stopping kept on the device.

        Mirrors :func:`train`'s rules exactly, so stopping inside a chunk restores the same epoch as
        checking after every epoch would.
        """
        k_max = perms.shape[0]
        losses = tf.fill((k_max,), tf.constant(np.nan, tf.float32))
        vals = tf.fill((k_max,), tf.constant(np.nan, tf.float32))

        def body(e, stop, th, mm, vv, st, bt, bv, be, wt, ls, vs):
            th, mm, vv, st, loss, val = self._epoch(th, mm, vv, st, lr, rng, x, perms[e], x_val)
            ls = tf.tensor_scatter_nd_update(ls, [[e]], [loss])
            vs = tf.tensor_scatter_nd_update(vs, [[e]], [val])
            finite = tf.math.is_finite(loss) & tf.math.is_finite(val)
            improved = finite & (val < bv)
            epoch = epoch0 + e
            bt = tf.where(improved, th, bt)
            bv = tf.where(improved, val, bv)
            be = tf.where(improved, epoch, be)
            wt = tf.where(improved, 0, wt + 1)
            stop = ~finite | (~improved & (wt >= patience) & (epoch > 0))
            return e + 1, stop, th, mm, vv, st, bt, bv, be, wt, ls, vs

        loop = (tf.constant(0), tf.constant(False), theta, m, v, step, best_theta, best_val, best_epoch, wait,
                losses, vals)
        out = tf.while_loop(lambda e, stop, *_: (e < n_active) & ~stop, body, loop)
        return out

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

    def params(self, state: dict, key: str = "theta") -> list[np.ndarray]:
        """The weights in ``state`` (or its ``best`` copy) as separate arrays of the model's shapes."""
        theta, o = state[key].numpy(), self.offsets
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

    def chunk(
        self, state: dict, x: tf.Tensor, perms: np.ndarray, n_active: int, x_val: tf.Tensor, epoch0: int,
        patience: int,
    ) -> tuple[dict, np.ndarray, np.ndarray, bool]:
        """Train up to ``n_active`` epochs (rows of ``perms``) in one call, stopping early as :func:`train` does.

        ``state`` carries ``best`` (weights), ``best_val``, ``best_epoch`` and ``wait`` besides the Adam
        state (see :meth:`begin`). Returns the new state, the losses and validation losses of the epochs
        run, and whether early stopping (or a non-finite loss) ended training.
        """
        out = self._chunk_fn(
            *self._args(state), x, tf.constant(perms), tf.constant(n_active, tf.int32), x_val,
            state["best"], state["best_val"], state["best_epoch"], state["wait"],
            tf.constant(epoch0, tf.int32), tf.constant(patience, tf.int32),
        )
        e, stop, theta, m, v, step, best, best_val, best_epoch, wait, losses, vals = out
        done = int(e)
        new = {**state, "theta": theta, "m": m, "v": v, "step": step, "best": best, "best_val": best_val,
               "best_epoch": best_epoch, "wait": wait}
        return new, losses.numpy()[:done], vals.numpy()[:done], bool(stop)

    def begin(self, params: Sequence[np.ndarray], learning_rate: float, rng_seed: int = 0) -> dict:
        """:meth:`start` plus early-stopping bookkeeping (best weights = the starting ones, none seen yet)."""
        state = self.start(params, learning_rate, rng_seed)
        return {**state, "best": state["theta"], "best_val": tf.constant(np.inf, tf.float32),
                "best_epoch": tf.constant(-1, tf.int32), "wait": tf.constant(0, tf.int32)}

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
    forward: ForwardFn,
    shapes: tuple[tuple[int, ...], ...],
    batch_size: int,
    loss: LossFn | None = None,
    graph=None,
) -> EpochEngine:
    """A shared engine per (model function, weight shapes, batch size, loss, cell graph), keeping its
    compiled code warm."""
    return EpochEngine(forward, shapes, batch_size, loss, graph)


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


# Epochs per compiled call: the device checks early stopping after each, the host only every chunk (for
# progress, logging and callbacks). Bounded so a chunk's shuffles stay under ~128 MB of int32 indices.
CHUNK_EPOCHS = 10
CHUNK_INDEX_BUDGET = 1 << 25


def chunk_epochs(n_train: int) -> int:
    """How many epochs one compiled call runs for ``n_train`` stars (at least 1).

    Independent of ``max_epochs``, so fits of any length on the same data share one compiled function.
    """
    return int(max(1, min(CHUNK_EPOCHS, CHUNK_INDEX_BUDGET // max(n_train, 1))))


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

    Several epochs run per compiled call (:func:`chunk_epochs`) with these rules applied on the device
    after every epoch, so the result is the same as checking after each epoch; the next calls' shuffles
    (numpy permutations, the same stream as one per epoch) are drawn on a helper thread meanwhile.
    ``History.seconds`` gives each epoch its chunk's mean time. ``on_epoch`` runs after each chunk, once
    per epoch in order.
    """
    if len(x_train) == 0:
        raise ModelError("training set is empty")
    if len(x_val) == 0:
        raise ModelError("validation set is empty; early stopping needs one")
    rng = np.random.default_rng(list(shuffle_seed))
    n = len(x_train)
    x = tf.constant(x_train, tf.float32)
    xv = tf.constant(x_val, tf.float32)
    k_max = chunk_epochs(n)

    halt = threading.Event()

    def shuffles(k: int) -> np.ndarray:
        perms = np.zeros((k_max, n), np.int32)  # rows past k are never read
        for j in range(k):
            if halt.is_set():  # training stopped; this chunk will not run
                break
            perms[j] = rng.permutation(n)
        return perms

    state = engine.begin(params, config.learning_rate, rng_seed)
    hist = History()
    bar = tqdm(total=config.max_epochs, desc=label, unit="epoch", disable=not progress, leave=False)
    stopped = False
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(shuffles, min(k_max, config.max_epochs))
        while hist.epochs < config.max_epochs and not stopped:
            epoch0 = hist.epochs
            k = min(k_max, config.max_epochs - epoch0)
            perms = pending.result()
            if epoch0 + k < config.max_epochs:
                pending = pool.submit(shuffles, min(k_max, config.max_epochs - epoch0 - k))
            t0 = time.perf_counter()
            state, losses, vals, stopped = engine.chunk(state, x, perms, k, xv, epoch0, config.patience)
            per_epoch = (time.perf_counter() - t0) / max(len(losses), 1)
            for j, (loss, val_loss) in enumerate(zip(losses.tolist(), vals.tolist(), strict=True)):
                hist.loss.append(loss)
                hist.val_loss.append(val_loss)
                hist.seconds.append(per_epoch)
                log.info("%s epoch %d: loss %.4g val_loss %.4g (%.2fs)", label, epoch0 + j + 1, loss, val_loss,
                         per_epoch)
                if on_epoch is not None:
                    on_epoch(epoch0 + j, loss, val_loss)
            bar.update(len(losses))
            bar.set_postfix(loss=f"{hist.loss[-1]:.3g}", val_loss=f"{hist.val_loss[-1]:.3g}")
        halt.set()
    bar.close()
    hist.best_epoch = int(state["best_epoch"])
    last_loss, last_val = hist.loss[-1], hist.val_loss[-1]
    if not (math.isfinite(last_loss) and math.isfinite(last_val)):
        if hist.best_epoch < 0:
            raise ModelError(
                f"{label}: loss is not finite in the first epoch (loss={last_loss}, val_loss={last_val})"
            )
        log.warning("%s: non-finite loss at epoch %d; stopping and restoring epoch %d", label, hist.epochs,
                    hist.best_epoch + 1)
        hist.stopped_early = True
    elif stopped:
        hist.stopped_early = True
        log.info("%s: early stop after epoch %d; best epoch %d", label, hist.epochs, hist.best_epoch + 1)
    return engine.params(state, "best"), hist


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
        return engine_for(
            type(self).forward_graph, tuple(self.weight_shapes()), batch_size, self.loss_graph(), self.cell_graph()
        )

    def cell_graph(self):
        """The model as a :class:`~core.models.lstm_cells.CellGraph` for the hand-derived gradient, if it is one."""
        return None

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
