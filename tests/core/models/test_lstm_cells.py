"""The hand-derived gradient of LSTM cell graphs equals TensorFlow's autodiff; chunked training equals per-epoch."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from core.models import BottleneckLSTMAutoencoder, LSTMAutoencoder, TrainConfig, fast


def _autodiff(model, theta: tf.Tensor, x: np.ndarray, weight: np.ndarray) -> tuple[float, np.ndarray]:
    """Weighted MSE of the model's batch-major forward function and its gradient by GradientTape."""
    with tf.GradientTape() as tape:
        tape.watch(theta)
        parts, o = [], 0
        for s in model.weight_shapes():
            n = int(np.prod(s))
            parts.append(tf.reshape(theta[o : o + n], s))
            o += n
        per_star = tf.reduce_mean(tf.square(model.forward_graph(parts, tf.constant(x)) - x), axis=-1)
        loss = tf.reduce_sum(per_star * weight) / tf.reduce_sum(weight)
    return float(loss), tape.gradient(loss, theta).numpy()


@pytest.mark.parametrize("cls", [LSTMAutoencoder, BottleneckLSTMAutoencoder])
def test_hand_derived_gradient_equals_autodiff(cls, random_lstm_weights):
    model = cls(5)
    model.set_weights(random_lstm_weights(model, seed=9))
    rng = np.random.default_rng(3)
    x = rng.uniform(1.0, 2.4, (300, 5)).astype(np.float32)
    weight = np.ones(300, np.float32)
    weight[250:] = 0.0  # padding rows of a last partial batch must not count
    theta = tf.constant(np.concatenate([w.ravel() for w in model.get_weights()]))
    want_loss, want = _autodiff(model, theta, x, weight)
    loss, grad = model.cell_graph().loss_and_grad(theta, tf.constant(x.T), tf.constant(weight))
    assert float(loss) == pytest.approx(want_loss, rel=1e-6)
    assert np.abs(grad.numpy() - want).max() < 1e-6 * max(1.0, np.abs(want).max())
    assert np.abs(want).max() > 1e-2  # a non-trivial gradient was compared
    # recurrent kernels of cells that start from zero state get exactly zero gradient (they never act)
    offsets = np.cumsum([0] + [int(np.prod(s)) for s in model.weight_shapes()])
    for k, cell in enumerate(model.cell_graph().cells):
        rec = grad.numpy()[offsets[3 * k + 1] : offsets[3 * k + 2]]
        assert (not rec.any()) == (cell.state is None)


def test_chunk_size_does_not_change_training(mags5, monkeypatch):
    """Early stopping on the device inside multi-epoch chunks restores the same epoch as checking every epoch."""
    config = TrainConfig(max_epochs=9, patience=2, batch_size=128, learning_rate=0.05)
    results = []
    for chunk in (1, 4):
        monkeypatch.setattr(fast, "CHUNK_EPOCHS", chunk)
        model = LSTMAutoencoder(5, seed=4)
        hist = model.fit(mags5[:1500], mags5[1500:1800], config, progress=False)
        results.append((hist, model.get_weights()))
    (h1, w1), (h4, w4) = results
    assert h1.loss == h4.loss and h1.val_loss == h4.val_loss
    assert (h1.best_epoch, h1.stopped_early, h1.epochs) == (h4.best_epoch, h4.stopped_early, h4.epochs)
    assert all(np.array_equal(a, b) for a, b in zip(w1, w4, strict=True))
    assert h1.best_epoch == int(np.argmin(h1.val_loss))


def test_affine_state_cells_gradient_equals_autodiff():
    """An ``affine`` cell ([h, c] = x @ kernel + bias) feeding a decoder state differentiates exactly too."""
    from core.models.lstm_cells import DATA, Cell, CellGraph

    graph = CellGraph((Cell(4, (DATA,)), Cell(2, (0,)), Cell(3, (1,), kind="affine"), Cell(3, (1,), state=2),
                       Cell(5, (3,))), 5)
    rng = np.random.default_rng(2)
    theta = tf.constant(rng.normal(0, 0.6, graph.size).astype(np.float32))
    assert graph.shapes[6:8] == [(2, 6), (6,)]
    x = tf.constant(rng.uniform(1.0, 2.4, (5, 200)).astype(np.float32))
    with tf.GradientTape() as tape:
        tape.watch(theta)
        loss = graph.mse(theta, x)  # the inference pass, differentiated by TensorFlow
    want = tape.gradient(loss, theta).numpy()
    got_loss, got = graph.loss_and_grad(theta, x, tf.ones(200))
    assert float(got_loss) == pytest.approx(float(loss), rel=1e-6)
    assert np.abs(got.numpy() - want).max() < 1e-6 * max(1.0, np.abs(want).max())
    assert np.abs(want[graph.offsets[2] : graph.offsets[3]]).max() > 1e-3  # the affine map's weights matter
    with pytest.raises(ValueError, match="kind"):
        Cell(3, (1,), kind="dense")
