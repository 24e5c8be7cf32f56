"""Graphs of single-timestep LSTM cells, with a hand-derived gradient in feature-major layout for training.

With one timestep an LSTM layer is a fixed function of its input and initial state:
``z = [x, h0] @ [kernel; recurrent] + bias`` split as gates (i, f, c, o),
``c = sigmoid(f) * c0 + sigmoid(i) * elu(z_c)``, ``h = sigmoid(o) * elu(c)`` (c0 = h0 = 0 without a state).
Both LSTM autoencoders (the paper's and the 2-D bottleneck variant) are small directed graphs of such cells,
described by a tuple of :class:`Cell`. Weights are one flat float32 vector holding, per cell, Keras' LSTM
arrays in Keras order (kernel ``(d, 4u)``, recurrent kernel ``(u, 4u)``, bias ``(4u,)``), so a cell's
``[kernel; recurrent]`` is one contiguous ``(d + u, 4u)`` block.

Why a hand-written backward pass: for these tiny layers XLA's CPU code is dominated by the number of
kernels it launches per minibatch, not by arithmetic. Autodiff of the batch-major graph yields ~100 kernels
per Adam step (separate fusions per gate, per-weight gradient pads); the feature-major graph below (stars
along the fast axis, every gate a contiguous row block) with one input-gradient and one weight-gradient
matrix product per cell needs about a third of that, and computes exactly the same derivatives
(``tests/core/models/test_lstm_cells.py`` checks them against TensorFlow's autodiff and Keras).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import tensorflow as tf

DATA = -1  # source index meaning "the input photometry"


@dataclass(frozen=True)
class Cell:
    """One LSTM layer of a graph: ``units``, the sources of its input (concatenated) and of its initial state.

    ``inputs`` lists earlier cells whose ``h`` is concatenated as input (``DATA`` = the photometry);
    ``state`` is an earlier cell whose ``(h, c)`` is this cell's initial state, or None for zeros.
    """

    units: int
    inputs: tuple[int, ...]
    state: int | None = None
    kind: str = "lstm"

    def __post_init__(self) -> None:
        if self.kind not in ("lstm", "affine"):
            raise ValueError(f"Cell.kind must be 'lstm' or 'affine', got {self.kind!r}")
        if self.kind == "affine" and self.state is not None:
            raise ValueError("an affine cell has no initial state")


def input_dims(cells: Sequence[Cell], n_bands: int) -> list[int]:
    """Input width of every cell."""
    return [sum(n_bands if s == DATA else cells[s].units for s in c.inputs) for c in cells]


def weight_shapes(cells: Sequence[Cell], n_bands: int) -> list[tuple[int, ...]]:
    """Weight shapes in cell order: per LSTM cell Keras' kernel (d, 4u), recurrent kernel (u, 4u), bias (4u,);
    per affine cell (``kind="affine"``: ``[h, c] = x @ kernel + bias``, no activation) kernel (d, 2u), bias (2u,)."""
    shapes: list[tuple[int, ...]] = []
    for c, d in zip(cells, input_dims(cells, n_bands), strict=True):
        if c.kind == "affine":
            shapes += [(d, 2 * c.units), (2 * c.units,)]
        else:
            shapes += [(d, 4 * c.units), (c.units, 4 * c.units), (4 * c.units,)]
    return shapes


class CellGraph:
    """Feature-major forward pass, MSE loss and its exact gradient for one cell graph and band count.

    ``output`` is the cell whose ``h`` is the reconstruction. Activations are ``(units, stars)``.
    Instances are hashable by (cells, n_bands, output), so compiled engines can be cached per graph.
    """

    def __init__(self, cells: Sequence[Cell], n_bands: int, output: int = -1) -> None:
        self.cells = tuple(cells)
        self.n_bands = int(n_bands)
        self.output = output % len(self.cells)
        self.dims = input_dims(self.cells, self.n_bands)
        self.shapes = weight_shapes(self.cells, self.n_bands)
        sizes = [(d + 1) * 2 * c.units if c.kind == "affine" else (d + c.units + 1) * 4 * c.units
                 for c, d in zip(self.cells, self.dims, strict=True)]
        self.offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(int).tolist()
        self.size = self.offsets[-1]
        self._key = (self.cells, self.n_bands, self.output)

    def __hash__(self) -> int:
        return hash(self._key)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CellGraph) and other._key == self._key

    # -- weights -------------------------------------------------------------------------------------
    def _blocks(self, theta: tf.Tensor, k: int) -> tuple[tf.Tensor, tf.Tensor]:
        """Cell ``k``'s ``[kernel; recurrent]`` (d + u, 4u) (just the kernel without a state) and bias (4u,)."""
        c, d, o = self.cells[k], self.dims[k], self.offsets[k]
        if c.kind == "affine":
            g = 2 * c.units
            return tf.reshape(theta[o : o + d * g], (d, g)), theta[o + d * g : self.offsets[k + 1]]
        rows = d + c.units if c.state is not None else d
        g = 4 * c.units
        w = tf.reshape(theta[o : o + rows * g], (rows, g))
        b = theta[o + (d + c.units) * g : self.offsets[k + 1]]
        return w, b

    def _block(self, theta: tf.Tensor, k: int) -> tf.Tensor:
        """Cell ``k``'s whole Keras block ``[kernel; recurrent; bias]`` as a (d + u + 1, 4u) matrix."""
        c, o = self.cells[k], self.offsets[k]
        if c.kind == "affine":
            return tf.reshape(theta[o : self.offsets[k + 1]], (self.dims[k] + 1, 2 * c.units))
        return tf.reshape(theta[o : self.offsets[k + 1]], (self.dims[k] + c.units + 1, 4 * c.units))

    # -- forward -------------------------------------------------------------------------------------
    def _inputs(self, k: int, xt: tf.Tensor, hs: list, augmented: bool = False) -> tf.Tensor:
        """Cell ``k``'s input rows ``[inputs; h0]``; ``augmented`` adds zeros for an absent h0 and a row of ones,
        so that the cell's whole Keras block ``[kernel; recurrent; bias]`` multiplies it in one product."""
        c = self.cells[k]
        parts = [xt if s == DATA else hs[s] for s in c.inputs]
        if c.state is not None:
            parts.append(hs[c.state])
        if augmented:
            ref = parts[0]
            if c.state is None and c.kind == "lstm":
                parts.append(tf.zeros((c.units, tf.shape(ref)[1]), ref.dtype))
            parts.append(tf.ones((1, tf.shape(ref)[1]), ref.dtype))
        return parts[0] if len(parts) == 1 else tf.concat(parts, axis=0)

    def forward(
        self,
        theta: tf.Tensor,
        xt: tf.Tensor | None,
        upto: int | None = None,
        keep: bool = False,
        given: dict[int, tf.Tensor] | None = None,
    ):
        """Run cells ``0..upto`` (default all) on feature-major ``xt`` (n_bands, N).

        Cells in ``given`` (index -> ``h``, feature-major) are not computed: their ``h`` is taken as
        given (how a decoder runs from latent coordinates). Returns the list of ``h`` per cell, the list
        of ``c``, and (with ``keep``) each cell's input matrix and gate activations for :meth:`loss_and_grad`.
        """
        last = len(self.cells) - 1 if upto is None else upto
        given = given or {}
        needed = self._needed(last, set(given))
        hs: list = [None] * len(self.cells)
        cs: list = [None] * len(self.cells)
        saved: list = [None] * len(self.cells)
        for k, h in given.items():
            hs[k] = h
        for k in sorted(needed):
            c = self.cells[k]
            u = c.units
            if c.kind == "affine":
                a = self._inputs(k, xt, hs, augmented=keep)
                if keep:
                    z = tf.matmul(self._block(theta, k), a, transpose_a=True)
                else:
                    w, b = self._blocks(theta, k)
                    z = tf.matmul(w, a, transpose_a=True) + b[:, None]
                hs[k], cs[k] = z[:u], z[u:]
                if keep:
                    saved[k] = (a,)
                continue
            if keep:  # training: bias and recurrent rows in the one product, so one product gives all gradients
                a = self._inputs(k, xt, hs, augmented=True)
                z = tf.matmul(self._block(theta, k), a, transpose_a=True)
            else:
                a = self._inputs(k, xt, hs)
                w, b = self._blocks(theta, k)
                z = tf.matmul(w, a, transpose_a=True) + b[:, None]
            si = tf.sigmoid(z[:u])
            eg = tf.nn.elu(z[2 * u : 3 * u])
            so = tf.sigmoid(z[3 * u :])
            cell = si * eg
            sf = None
            if c.state is not None:
                sf = tf.sigmoid(z[u : 2 * u])
                cell = sf * cs[c.state] + cell
            ec = tf.nn.elu(cell)
            hs[k] = so * ec
            cs[k] = cell
            if keep:
                saved[k] = (a, si, sf, eg, so, cell, ec)
        return hs, cs, saved

    def _needed(self, target: int, given: set[int]) -> set[int]:
        """Cells to compute for ``target``'s ``h`` when the cells in ``given`` are supplied."""
        need: set[int] = set()
        todo = [target]
        while todo:
            k = todo.pop()
            if k in need or k in given or k == DATA:
                continue
            need.add(k)
            c = self.cells[k]
            todo += list(c.inputs) + ([c.state] if c.state is not None else [])
        return need

    def reconstruct(self, theta: tf.Tensor, xt: tf.Tensor) -> tf.Tensor:
        return self.forward(theta, xt)[0][self.output]

    def mse(self, theta: tf.Tensor, xt: tf.Tensor) -> tf.Tensor:
        """Keras' ``'mse'``: mean over bands, then over stars (both means over all entries here)."""
        return tf.reduce_mean(tf.square(self.reconstruct(theta, xt) - xt))

    # -- backward ------------------------------------------------------------------------------------
    def loss_and_grad(self, theta: tf.Tensor, xt: tf.Tensor, weight: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """Weighted MSE (mean over bands, weighted mean over stars) and its gradient w.r.t. ``theta``.

        ``weight`` (N,) is 1 for real stars and 0 for padding rows, as in the engine's last batch.
        """
        hs, cs, saved = self.forward(theta, xt, keep=True)
        out = hs[self.output]
        total = tf.reduce_sum(weight)
        err = out - xt
        loss = tf.reduce_sum(tf.reduce_mean(tf.square(err), axis=0) * weight) / total
        dh: list = [None] * len(self.cells)
        dc: list = [None] * len(self.cells)
        dh[self.output] = err * (weight * (2.0 / (self.n_bands * total)))[None, :]
        grads: list = [None] * len(self.cells)
        for k in reversed(range(len(self.cells))):
            c = self.cells[k]
            if dh[k] is None and dc[k] is None:
                continue
            if c.kind == "affine":
                (a,) = saved[k]
                dh_k = dh[k] if dh[k] is not None else tf.zeros_like(hs[k])
                dc_k = dc[k] if dc[k] is not None else tf.zeros_like(cs[k])
                dz = tf.concat([dh_k, dc_k], axis=0)
                grads[k] = tf.reshape(tf.matmul(a, dz, transpose_b=True), [-1])
                if any(s_ != DATA for s_ in c.inputs):
                    w, _ = self._blocks(theta, k)
                    da = tf.matmul(w, dz)
                    row = 0
                    for s_ in c.inputs:
                        width = self.n_bands if s_ == DATA else self.cells[s_].units
                        if s_ != DATA:
                            dh[s_] = _acc(dh[s_], da[row : row + width])
                        row += width
                continue
            a, si, sf, eg, so, cell, ec = saved[k]
            g_h = dh[k] if dh[k] is not None else tf.zeros_like(ec)
            d_so = g_h * ec
            d_cell = g_h * so * tf.where(cell > 0, 1.0, ec + 1.0)
            if dc[k] is not None:
                d_cell = d_cell + dc[k]
            dz_i = d_cell * eg * si * (1.0 - si)
            dz_g = d_cell * si * tf.where(eg > 0, 1.0, eg + 1.0)
            dz_o = d_so * so * (1.0 - so)
            if c.state is not None:
                c0 = cs[c.state]
                dz_f = d_cell * c0 * sf * (1.0 - sf)
                dc[c.state] = _acc(dc[c.state], d_cell * sf)
            else:
                dz_f = tf.zeros_like(dz_i)
            dz = tf.concat([dz_i, dz_f, dz_g, dz_o], axis=0)
            # [inputs; h0 (or zeros); 1] @ dz^T is the gradient of the whole block in Keras' flat order:
            # kernel, recurrent kernel (exactly zero without a state, as in Keras) and bias.
            grads[k] = tf.reshape(tf.matmul(a, dz, transpose_b=True), [-1])
            if all(s == DATA for s in c.inputs) and c.state is None:
                continue  # nothing upstream to differentiate
            w, _ = self._blocks(theta, k)
            da = tf.matmul(w, dz)
            row = 0
            for s in c.inputs:
                width = self.n_bands if s == DATA else self.cells[s].units
                if s != DATA:
                    dh[s] = _acc(dh[s], da[row : row + width])
                row += width
            if c.state is not None:
                dh[c.state] = _acc(dh[c.state], da[row:])
        flat = [
            g if g is not None else tf.zeros(self.offsets[k + 1] - self.offsets[k], theta.dtype)
            for k, g in enumerate(grads)
        ]
        return loss, tf.concat(flat, axis=0)


def _acc(total: tf.Tensor | None, term: tf.Tensor) -> tf.Tensor:
    return term if total is None else total + term
