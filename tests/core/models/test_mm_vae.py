"""The multi-modal VAE: shapes, masks, absent modalities, and a save/load round trip (real TensorFlow, tiny data)."""

from __future__ import annotations

import numpy as np
import pytest

from core.errors import ConfigError
from core.models import build_model
from core.models.mm_vae import MODALITIES, SEED_BETA, MultiModalVAE, VAEConfig

DIMS = {"sed": 4, "dmdt": 40, "lc": 16}


def _inputs(n=240, seed=0, missing_lc=0.3):
    rng = np.random.default_rng(seed)
    kind = rng.integers(0, 2, n)
    out = {}
    for k, d in DIMS.items():
        x = (rng.normal(0, 0.1, (n, d)) + kind[:, None] * np.linspace(-1, 1, d)[None, :]).astype(np.float32)
        if k == "dmdt":
            x = 1 / (1 + np.exp(-x))
        e = np.full((n, d), 0.05, np.float32)
        m = (rng.random((n, d)) > 0.1).astype(np.float32)
        out[k] = (x.astype(np.float32), e, m)
    absent = rng.random(n) < missing_lc
    out["lc"][2][absent] = 0.0
    return out, kind, absent


def _split(inp, idx):
    return {k: tuple(a[idx] for a in v) for k, v in inp.items()}


@pytest.fixture(scope="module")
def trained():
    inp, kind, absent = _inputs()
    vae = MultiModalVAE(DIMS, VAEConfig(max_epochs=12, patience=12, batch_size=64, seed=3))
    hist = vae.fit(_split(inp, np.arange(200)), _split(inp, np.arange(200, 240)))
    return vae, inp, kind, absent, hist


def test_config_defaults_are_the_seeds_betas_and_errors_name_the_field():
    assert VAEConfig().betas == SEED_BETA == {"sed": 1e-3, "dmdt": 1e-5, "lc": 1e-4}
    with pytest.raises(ConfigError, match="betas"):
        VAEConfig(betas={"sed": 1.0})
    with pytest.raises(ConfigError, match="learned from light curves|learns from light curves"):
        build_model("mm-vae", 5)


def test_latent_is_15d_absent_modality_is_the_prior_mean(trained):
    vae, inp, kind, absent, hist = trained
    assert all(h.epochs >= 2 and h.val_loss[h.best_epoch] < h.val_loss[0] for h in hist.values())
    enc = vae.encode(inp)
    z = np.concatenate([enc[k]["z"] for k in MODALITIES], axis=1)
    assert z.shape == (240, 15) and vae.latent_dim == 15
    assert (enc["lc"]["present"] == ~absent).all() and (enc["lc"]["z"][absent] == 0).all()
    assert enc["dmdt"]["rec"].shape == (240, 40) and (enc["dmdt"]["rec"] >= 0).all()
    # the two kinds of input separate in every modality's latent space
    for k in ("sed", "dmdt"):
        c0, c1 = enc[k]["z"][kind == 0].mean(0), enc[k]["z"][kind == 1].mean(0)
        spread = enc[k]["z"].std(0).mean()
        assert np.linalg.norm(c0 - c1) > spread


def test_masked_entries_do_not_change_the_loss_or_the_latent(trained):
    vae, inp, *_ = trained
    x, e, m = inp["dmdt"]
    x2 = np.where(m > 0, x, 123.0).astype(np.float32)
    a = vae.vaes["dmdt"].evaluate(x, e, m)
    b = vae.vaes["dmdt"].evaluate(x2, e, m)
    assert a == pytest.approx(b, rel=1e-6)
    z1 = vae.vaes["dmdt"].encode_reconstruct(x, m)[0]
    z2 = vae.vaes["dmdt"].encode_reconstruct(x2, m)[0]
    assert np.allclose(z1, z2)


def test_save_and_load_give_the_same_latent(trained, tmp_path):
    vae, inp, *_ = trained
    vae.save(tmp_path / "run_1")
    back = MultiModalVAE.load(tmp_path / "run_1")
    a, b = vae.encode(inp), back.encode(inp)
    for k in MODALITIES:
        assert np.allclose(a[k]["z"], b[k]["z"], atol=1e-6)
    assert back.vaes["lc"].history.best_epoch == vae.vaes["lc"].history.best_epoch
