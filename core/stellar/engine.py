"""Compiled training epochs for the stellar model: minibatch Adam on the whitened chi^2, inside one XLA call.

The loss is the seed's (Eq. 11-15): mean over stars and entries of ``(L^T (y_pred - y_obs))^2``, i.e. chi^2
divided by the number of entries, plus L2 on the stellar sector's kernels and L1 on the extinction
sector's kernel (Keras-style penalties, added to every batch's loss).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import tensorflow as tf

from core.models.fast import adam_update
from core.stellar.model import StellarModel, colour_matrix, forward


class StellarEngine:
    """One model layout's compiled epoch and evaluation functions; weights travel as one flat vector."""

    def __init__(self, model: StellarModel, batch_size: int, *, jit: bool = True) -> None:
        self.shapes = model.weight_shapes()
        sizes = [int(np.prod(s)) for s in self.shapes]
        self.offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(int).tolist()
        self.n_hidden = len(model.config.hidden)
        self.activation = model.config.activation
        self.l1 = float(model.config.l1)
        self.l2 = float(model.config.l2)
        self.batch_size = int(batch_size)
        self.bmat_t = tf.constant(colour_matrix(model.n_bands).T.astype(np.float32))
        # XLA pays off on large training sets; on small ones its compile time (seconds) dominates.
        self._epoch_fn = tf.function(self._epoch, jit_compile=jit)
        self._eval_fn = tf.function(self._mse, jit_compile=jit)

    def _unflatten(self, theta: tf.Tensor) -> list[tf.Tensor]:
        o = self.offsets
        return [tf.reshape(theta[o[k] : o[k + 1]], s) for k, s in enumerate(self.shapes)]

    def _per_star(self, theta, x, e, lt, y):
        w = self._unflatten(theta)
        m, r = forward(w, x, self.n_hidden, self.activation)
        pred = m + e[:, None] * tf.matmul(r, self.bmat_t)
        white = tf.einsum("nij,nj->ni", lt, pred - y)
        return tf.reduce_mean(tf.square(white), axis=-1)

    def _penalty(self, theta):
        w = self._unflatten(theta)
        kernels = [w[2 * k] for k in range(self.n_hidden + 1)]
        l2 = tf.add_n([tf.reduce_sum(tf.square(k)) for k in kernels])
        return self.l2 * l2 + self.l1 * tf.reduce_sum(tf.abs(w[-2]))

    def _mse(self, theta, x, e, lt, y, wt):
        per = self._per_star(theta, x, e, lt, y)
        return tf.reduce_sum(per * wt) / tf.maximum(tf.reduce_sum(wt), 1.0)

    def _epoch(self, theta, m, v, step, lr, x, e, lt, y, wt, perm):
        n = int(x.shape[0])
        bs = self.batch_size
        n_batches = -(-n // bs)
        pad = n_batches * bs - n

        def batched(a):
            a = tf.gather(a, perm)
            if pad:
                a = tf.concat([a, tf.zeros([pad, *a.shape[1:]], a.dtype)], 0)
            return tf.reshape(a, [n_batches, bs, *a.shape[1:]])

        # Padding rows and stars excluded by the chi^2 cut carry zero weight, so the shapes (and XLA's
        # compiled code) stay the same from one iteration to the next.
        xs, es, lts, ys, wts = (batched(a) for a in (x, e, lt, y, wt))

        def body(k, th, mm, vv, st, acc):
            wb = wts[k]
            with tf.GradientTape() as tape:
                tape.watch(th)
                per = self._per_star(th, xs[k], es[k], lts[k], ys[k])
                data_loss = tf.reduce_sum(per * wb) / tf.maximum(tf.reduce_sum(wb), 1.0)
                loss = data_loss + self._penalty(th)
            grad = tape.gradient(loss, th)
            st = st + 1
            th, mm, vv = adam_update(th, mm, vv, grad, tf.cast(st, tf.float32), lr)
            return k + 1, th, mm, vv, st, acc + data_loss * tf.reduce_sum(wb)

        loop = (tf.constant(0), theta, m, v, step, tf.constant(0.0))
        _, theta, m, v, step, acc = tf.while_loop(lambda k, *_: k < n_batches, body, loop)
        return theta, m, v, step, acc / tf.maximum(tf.reduce_sum(wt), 1.0)

    # -- public ---------------------------------------------------------------------------------------
    def flatten(self, weights: Sequence[np.ndarray]) -> tf.Tensor:
        return tf.constant(np.concatenate([np.ravel(w) for w in weights]).astype(np.float32))

    def unflatten(self, theta: tf.Tensor) -> list[np.ndarray]:
        flat, o = theta.numpy(), self.offsets
        return [flat[o[k] : o[k + 1]].reshape(s).copy() for k, s in enumerate(self.shapes)]

    def epoch(self, state: dict, arrays: tuple, perm: np.ndarray) -> tuple[dict, float]:
        """One epoch of minibatch Adam over ``arrays = (x, e, lt, y, weight)`` in the order ``perm``."""
        theta, m, v, step, loss = self._epoch_fn(
            state["theta"], state["m"], state["v"], state["step"], state["lr"], *arrays, tf.constant(perm)
        )
        return {**state, "theta": theta, "m": m, "v": v, "step": step}, float(loss)

    def mse(self, theta: tf.Tensor, arrays: tuple) -> float:
        """The data loss (chi^2 / entries, averaged over stars) without penalties."""
        if int(arrays[0].shape[0]) == 0:
            return float("nan")
        return float(self._eval_fn(theta, *arrays))

    def penalty(self, theta: tf.Tensor) -> float:
        return float(self._penalty(theta))

    def start(self, weights: Sequence[np.ndarray], lr: float) -> dict:
        theta = self.flatten(weights)
        zeros = tf.zeros_like(theta)
        return {"theta": theta, "m": zeros, "v": zeros, "step": tf.constant(0, tf.int64), "lr": tf.constant(lr, tf.float32)}


def tensors(x: np.ndarray, e: np.ndarray, lt: np.ndarray, y: np.ndarray, weight: np.ndarray) -> tuple:
    """The engine's data tuple as float32 tensors (``weight`` 1 for stars in the fit, 0 for excluded ones)."""
    return tuple(tf.constant(np.asarray(a, np.float32)) for a in (x, e, lt, y, weight))
