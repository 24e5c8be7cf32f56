"""The masked autoencoder: input features, random band hiding, the chi-square loss, and a real tiny training."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from core.bands import PS1, TWOMASS, survey_blocks
from core.errors import ConfigError, ModelError
from core.models.base import build_model
from core.models.masked_ae import MaskConfig, MaskedAutoencoder, chi2_per_star, hide_bands
from core.scoring import TrainedModel
from tests._catalogs import make_catalog


def test_features_mark_missing_and_sentinel_bands_absent():
    mags = np.array([[17.0, np.nan, 16.5, -999.0, 16.2]])
    errs = np.array([[0.01, 0.02, np.nan, 0.01, 0.0]])
    x = MaskedAutoencoder.features(mags, errs)
    assert x.shape == (1, 15)
    np.testing.assert_array_equal(x[0, 10:], [1, 0, 0, 0, 1])  # r NaN, i error NaN, z sentinel
    np.testing.assert_allclose(x[0, :5], [1.7, 0, 0, 0, 1.62], rtol=1e-6)
    assert x[0, 9] > 0  # a zero error becomes the nominal error, not a division by zero
    assert np.isfinite(x).all()


def test_survey_blocks_split_combined_band_sets_only():
    assert survey_blocks(PS1) == ((0, 1, 2, 3, 4),)
    assert survey_blocks(PS1 + TWOMASS) == ((0, 1, 2, 3, 4), (5, 6, 7))


def _hide(pres, config, blocks, seed=(3, 4)):
    return hide_bands(tf.constant(pres, tf.float32), tf.constant(seed, tf.int64), config, blocks).numpy()


def test_hiding_picks_present_bands_keeps_min_visible_and_follows_probabilities():
    rng = np.random.default_rng(0)
    pres = (rng.random((20000, 5)) > 0.15).astype(np.float32)
    config = MaskConfig(p_hidden=(0.2, 0.5, 0.3), min_visible=2)
    hide = _hide(pres, config, ((0, 1, 2, 3, 4),))
    assert set(np.unique(hide)) <= {0.0, 1.0}
    assert not (hide * (1 - pres)).any(), "an absent band was 'hidden'"
    visible = (pres * (1 - hide)).sum(axis=1)
    assert (visible >= np.minimum(pres.sum(axis=1), 2)).all()
    full = pres.sum(axis=1) == 5  # stars with every band can show the configured distribution
    counts = np.bincount(hide[full].sum(axis=1).astype(int), minlength=3) / full.sum()
    np.testing.assert_allclose(counts, [0.2, 0.5, 0.3], atol=0.02)
    # every band gets hidden about equally often
    per_band = hide[full].mean(axis=0)
    assert per_band.max() - per_band.min() < 0.03
    # different seeds, different masks; same seed, same mask
    assert (_hide(pres, config, ((0, 1, 2, 3, 4),), (3, 5)) != hide).any()
    np.testing.assert_array_equal(_hide(pres, config, ((0, 1, 2, 3, 4),)), hide)


def test_block_hiding_removes_whole_surveys():
    pres = np.ones((20000, 8), np.float32)
    blocks = survey_blocks(PS1 + TWOMASS)
    config = MaskConfig(p_hidden=(1.0,), p_block=0.4, min_visible=2)  # only block hiding
    hide = _hide(pres, config, blocks)
    n = hide.sum(axis=1)
    assert set(np.unique(n)) <= {0, 3, 5}
    ps1_only = (hide[:, :5] == 1).all(axis=1)
    tm_only = (hide[:, 5:] == 1).all(axis=1)
    assert ((n == 0) | (ps1_only & (hide[:, 5:] == 0).all(axis=1)) | (tm_only & (hide[:, :5] == 0).all(axis=1))).all()
    assert abs((n > 0).mean() - 0.4) < 0.02
    # a star that has only 2MASS bands never loses them as a block (nothing would be left)
    only_tm = np.zeros((500, 8), np.float32)
    only_tm[:, 5:] = 1
    assert not _hide(only_tm, config, blocks)[:, 5:].any()


def test_chi2_is_error_weighted_floored_and_ignores_absent_bands():
    m = tf.constant([[17.0, 16.0, 15.0]])
    pred = tf.constant([[17.02, 16.0, 14.0]])
    err = tf.constant([[0.02, 0.001, 0.005]])
    pres = tf.constant([[1.0, 1.0, 0.0]])
    got = chi2_per_star(pred, m, err, pres, floor=0.01).numpy()
    np.testing.assert_allclose(got, [(1.0 + 0.0) / 2], rtol=1e-3)  # band 3 absent: its 1-mag miss is ignored
    # the floor: a 0.01 mag miss on a 0.001-mag band counts as 1 sigma, not 10
    got = chi2_per_star(tf.constant([[17.0, 16.01, 0.0]]), m, err, pres, floor=0.01).numpy()
    np.testing.assert_allclose(got, [0.5], rtol=1e-4)
    # soft cap: small chi-square unchanged, huge one only logarithmic
    small = chi2_per_star(tf.constant([[17.01, 16.0, 0.0]]), m, err, pres, 0.01, soft_cap=25.0).numpy()
    huge = chi2_per_star(tf.constant([[18.0, 16.0, 0.0]]), m, err, pres, 0.01, soft_cap=25.0).numpy()
    assert 0.1 < small[0] < 0.125  # 0.25/2 shrunk a little
    assert huge[0] == pytest.approx(25 * np.log1p(2500 / 25) / 2, rel=1e-4)


def test_mask_config_is_validated_by_field():
    with pytest.raises(ConfigError, match="p_hidden"):
        MaskConfig(p_hidden=(0.5, 0.6))
    with pytest.raises(ConfigError, match="err_floor"):
        MaskConfig(err_floor=0)
    with pytest.raises(ConfigError, match="min_visible"):
        build_model("masked-ae", 2, mask=MaskConfig(min_visible=2))


def test_trained_model_predicts_hidden_bands_and_survives_save_and_load(masked_model_dir, tmp_path):
    tm = TrainedModel.load(masked_model_dir)
    model = tm.model
    assert isinstance(model, MaskedAutoencoder)
    df = make_catalog(1500, seed=99)  # stars the model never saw
    mags = df[list(PS1.names)].to_numpy()
    x = tm.features(mags, df[list(PS1.err_columns)].to_numpy())
    for j in range(5):
        hide = np.zeros((len(df), 5), bool)
        hide[:, j] = True
        pred = model.predict_hidden(x, hide)[:, j]
        err = np.median(np.abs(pred - mags[:, j]))
        # Naive guess: the neighbouring band's magnitude (colours are ~0.1-1 mag on this locus).
        naive = np.median(np.abs(mags[:, j - 1 if j else 1] - mags[:, j]))
        assert err < 0.3 * naive, f"band {j}: median |error| {err:.3f} vs naive {naive:.3f}"
    z, rec, emb = model.score_with_embedding(x)
    assert z.shape == (1500, 2) and rec.shape == (1500, 5) and emb.shape == (1500, 16)
    np.testing.assert_allclose(z, model.encode(x), atol=1e-6)
    assert np.isfinite(emb).all()
    model.save(tmp_path / "copy")
    again = MaskedAutoencoder.load(tmp_path / "copy")
    np.testing.assert_array_equal(again.embed(x), model.embed(x))
    assert again.calibration is not None and again.blocks == model.blocks
    with pytest.raises(ModelError, match="masked_ae.json"):
        (tmp_path / "copy" / "masked_ae.json").unlink()
        MaskedAutoencoder.load(tmp_path / "copy")


def test_card_records_masked_architecture_and_scaling(masked_model_dir):
    from core.card import read_card

    card = read_card(masked_model_dir)
    assert card.model.name == "masked-ae"
    assert "embedding 16" in card.model.architecture
    assert "presence mask" in card.scaling
