"""The dense AE baseline and the PCA(2) linear floor, plus the model registry."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.decomposition import PCA

from core.errors import ConfigError, ModelError
from core.models import PCA2, DenseAutoencoder, TrainConfig, build_model, load_builtin_models, model_class


def test_registry_knows_the_four_models_and_names_them_on_error():
    assert {"lstm-ae", "lstm-ae-2d", "dense-ae", "pca"} <= set(load_builtin_models())
    assert isinstance(build_model("dense-ae", 5), DenseAutoencoder)
    with pytest.raises(ConfigError, match="unknown model 'lstm'.*dense-ae, lstm-ae, lstm-ae-2d, masked-ae, mm-vae, pca"):
        build_model("lstm", 5)
    with pytest.raises(ConfigError, match="known models"):
        model_class("nope")


def test_dense_ae_shapes_and_keras_equivalence():
    model = DenseAutoencoder(5, seed=2)
    assert model.weight_shapes() == [
        (5, 4),
        (4,),
        (4, 3),
        (3,),
        (3, 2),
        (2,),
        (2, 3),
        (3,),
        (3, 4),
        (4,),
        (4, 5),
        (5,),
    ]
    assert model.count_params() == 97
    x = np.random.default_rng(0).uniform(1, 2, (300, 5)).astype(np.float32)
    z = model.encode(x)
    assert z.shape == (300, 2)
    np.testing.assert_allclose(model.decode(z), model.reconstruct(x), atol=1e-7)
    keras_model = model.to_keras()
    np.testing.assert_allclose(model.reconstruct(x), keras_model.predict(x, verbose=0), atol=1e-6)
    # one compiled step equals Keras' step on the same batch
    engine = model.engine(512)
    state, _ = engine.step(engine.start(model.get_weights(), 1e-4), x)
    keras_model.train_on_batch(x, x)
    assert (
        max(np.abs(a - b).max() for a, b in zip(engine.params(state), keras_model.get_weights(), strict=True))
        < 1e-6
    )


def test_dense_ae_trains_and_round_trips(tmp_path, mags5):
    model = build_model("dense-ae", 5, seed=1)
    hist = model.fit(
        mags5[:2500],
        mags5[2500:],
        TrainConfig(max_epochs=3, learning_rate=1e-2, batch_size=128),
        progress=False,
    )
    assert hist.epochs == 3 and hist.val_loss[-1] < hist.val_loss[0]
    model.save(tmp_path / "d")
    back = model_class("dense-ae").load(tmp_path / "d")
    np.testing.assert_array_equal(back.reconstruct(mags5[:20]), model.reconstruct(mags5[:20]))
    assert back.history is not None and back.history.val_loss == hist.val_loss


def test_pca_reconstruction_equals_sklearn(mags5):
    model = build_model("pca", 5)
    hist = model.fit(mags5[:2500], mags5[2500:])
    ref = PCA(n_components=2).fit(mags5[:2500].astype(np.float64))
    expected = ref.inverse_transform(ref.transform(mags5[2500:].astype(np.float64)))
    np.testing.assert_allclose(model.reconstruct(mags5[2500:]), expected, atol=1e-6)
    np.testing.assert_allclose(np.abs(model.encode(mags5[:5])), np.abs(ref.transform(mags5[:5])), atol=1e-6)
    assert hist.epochs == 1 and hist.best_epoch == 0
    assert hist.val_loss[0] == pytest.approx(float(np.mean((expected - mags5[2500:]) ** 2)), rel=1e-4)
    assert hist.loss[0] == pytest.approx(model.evaluate(mags5[:2500]), rel=1e-6)


def test_pca_save_load_and_errors(tmp_path, mags5):
    model = PCA2(5)
    model.fit(mags5[:1000], mags5[1000:1200])
    model.save(tmp_path / "p")
    back = PCA2.load(tmp_path / "p")
    np.testing.assert_array_equal(back.encode(mags5[:10]), model.encode(mags5[:10]))
    with pytest.raises(ModelError, match="latent coordinates of shape"):
        model.decode(np.zeros((3, 3)))
    with pytest.raises(ModelError, match="at least 3 training stars"):
        PCA2(5).fit(mags5[:2], mags5[2:4])
