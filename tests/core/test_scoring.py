"""Scoring: the scored columns, anomaly logic, band checks, and TrainedModel's encode/decode."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.bands import PS1, SDSS
from core.catalog import bandset_to_meta, read_parquet, write_parquet
from core.cli import main
from core.errors import BandMismatchError, CatalogError, ModelError
from core.latent import Rotation
from core.models.base import Autoencoder, TrainConfig, scale, unscale
from core.scoring import TrainedModel, flag_anomalies, load_scored, score_catalog, scored_columns
from core.training import train_runs
from tests._catalogs import make_catalog
from tests.core._toy_models import toy_model  # noqa: F401  (fixture)


@pytest.fixture
def model_dir(tmp_path, toy_model):  # noqa: F811
    df = make_catalog(1200, seed=21)
    train_runs(df, PS1, model=toy_model, runs=2, config=TrainConfig(max_epochs=60, patience=3),
               out_dir=tmp_path / "model", progress=False)
    return tmp_path / "model"


class _FixedResiduals(Autoencoder):
    """Reconstructs every star as its (scaled) input minus a residual chosen per row, in magnitudes."""

    name = "fixed-residuals"

    def __init__(self, residuals: np.ndarray) -> None:
        super().__init__(residuals.shape[1])
        self.residuals = residuals

    def fit(self, *a, **k):
        raise NotImplementedError

    def encode(self, x):
        return np.asarray(x)[:, :2]

    def decode(self, z):
        raise NotImplementedError

    def reconstruct(self, x):
        return (np.asarray(x, np.float64) - self.residuals / 10).astype(np.float32)

    def save(self, directory):
        raise NotImplementedError

    @classmethod
    def load(cls, directory):
        raise NotImplementedError


def _hand_catalog():
    df = make_catalog(5, seed=1).drop(columns=[c for c in make_catalog(5, seed=1).columns if c.startswith("n_")])
    mags = np.array([[17.25, 16.80, 16.50, 16.40, 16.30]] * 5)
    for k, b in enumerate("grizy"):
        df[b] = mags[:, k]
        df[f"{b}_err"] = 0.01
    df.loc[2, "i_err"] = 0.002
    res = np.zeros((5, 5))
    res[0] = [0.01, 0.005, 0.0, 0.0, 0.002]  # everything good, worst band g
    res[1, 1] = 0.06                    # r off by +0.06 -> anomaly, worst band r
    res[2, 4], res[2, 2] = -0.0505, 0.03  # y just beyond threshold; i has the largest sigma (0.03/0.002)
    res[3, 0] = 0.0495                  # g just inside -> not anomalous
    res[4] = [0.02, -0.03, 0.04, -0.045, 0.0]  # all inside, worst band z
    return df, res


def test_scored_columns_and_anomaly_logic_from_hand_made_residuals():
    df, res = _hand_catalog()
    tm = TrainedModel(_FixedResiduals(res), PS1, Rotation.identity(), None, run=1)
    out = score_catalog(df, tm, threshold=0.05, progress=False)
    assert list(out.columns) == list(df.columns) + scored_columns(PS1)
    pd.testing.assert_frame_equal(out[df.columns], df)
    got = out[[f"{b}_res" for b in "grizy"]].to_numpy()
    np.testing.assert_allclose(got, res, atol=2e-6)
    np.testing.assert_allclose(out[[f"{b}_rec" for b in "grizy"]].to_numpy(), df[list("grizy")].to_numpy() - res,
                               atol=2e-6)
    assert out["anomaly"].tolist() == [False, True, True, False, False]
    assert out["res_band"].astype(str).tolist() == ["g", "r", "y", "g", "z"]
    np.testing.assert_allclose(out["max_abs_res"], [0.01, 0.06, 0.0505, 0.0495, 0.045], atol=2e-6)
    np.testing.assert_allclose(out["max_abs_res_sigma"], [1.0, 6.0, 15.0, 4.95, 4.5], rtol=1e-4)
    assert out.attrs["sedscape"]["scoring"]["threshold"] == 0.05
    assert out.attrs["sedscape"]["scoring"]["n_anomalies"] == 2


def test_flag_anomalies_recomputes_for_another_threshold():
    df, res = _hand_catalog()
    tm = TrainedModel(_FixedResiduals(res), PS1, Rotation.identity(), None, run=1)
    out = score_catalog(df, tm, progress=False)
    assert flag_anomalies(out, PS1, 0.035).tolist() == [False, True, True, True, True]
    assert flag_anomalies(out, PS1, 0.1).tolist() == [False] * 5
    with pytest.raises(CatalogError, match="missing"):
        flag_anomalies(df, PS1, 0.05)


def test_trained_model_load_uses_chosen_run_and_scores_consistently(model_dir):
    tm = TrainedModel.load(model_dir)
    assert tm.run == tm.card.chosen_run and tm.bands.names == PS1.names and tm.threshold == 0.05
    other = 1 if tm.run == 2 else 2
    assert TrainedModel.load(model_dir, run=other).run == other
    with pytest.raises(ModelError, match="runs available"):
        TrainedModel.load(model_dir, run=9)
    df = make_catalog(700, seed=22)
    a = score_catalog(df, tm, chunk_size=100_000, progress=False)
    b = score_catalog(df, tm, chunk_size=64, progress=False)
    pd.testing.assert_frame_equal(a, b)
    raw = tm.model.encode(scale(df[list("grizy")].to_numpy()))
    np.testing.assert_allclose(a[["latent_x", "latent_y"]].to_numpy(), tm.rotation.apply(raw), atol=1e-5)
    np.testing.assert_allclose(a[["latent_x", "latent_y"]].to_numpy(), tm.encode(df), atol=1e-5)
    np.testing.assert_allclose(a[[f"{b}_rec" for b in "grizy"]].to_numpy(), tm.reconstruct(df), atol=1e-4)
    meta = a.attrs["sedscape"]["scoring"]
    assert meta["run"] == tm.run and len(meta["model_card_sha256"]) == 64
    assert a.attrs["sedscape"]["model"]["fingerprint"] == tm.fingerprint
    assert TrainedModel.load(model_dir, run=other).fingerprint != tm.fingerprint


def test_decode_latent_of_encode_matches_reconstruct(model_dir):
    tm = TrainedModel.load(model_dir)
    mags = make_catalog(300, seed=23)[list("grizy")].to_numpy()
    np.testing.assert_allclose(tm.decode_latent(tm.encode(mags)), tm.reconstruct(mags), atol=1e-4)


def test_band_mismatch_names_both_band_lists(model_dir):
    tm = TrainedModel.load(model_dir)
    sdss = make_catalog(50, seed=2, bands=SDSS)
    sdss.attrs["sedscape"] = bandset_to_meta(SDSS)
    with pytest.raises(BandMismatchError, match=r"\['u', 'g', 'r', 'i', 'z'\].*\['g', 'r', 'i', 'z', 'y'\]"):
        score_catalog(sdss, tm, progress=False)
    no_y = make_catalog(50, seed=2).drop(columns=["y"])
    with pytest.raises(BandMismatchError, match="'y'"):
        score_catalog(no_y, tm, progress=False)
    with pytest.raises(BandMismatchError, match="expects"):
        tm.encode(np.zeros((4, 4)))


def test_nan_photometry_is_reported_per_band(model_dir):
    tm = TrainedModel.load(model_dir)
    df = make_catalog(50, seed=3)
    df.loc[[1, 2], "g"] = np.nan
    df.loc[[4], "z_err"] = np.nan
    with pytest.raises(CatalogError, match=r"g: 2 rows, z_err: 1 rows"):
        score_catalog(df, tm, progress=False)


def test_load_scored_roundtrip_and_missing_columns(model_dir, tmp_path):
    tm = TrainedModel.load(model_dir)
    scored = score_catalog(make_catalog(80, seed=4), tm, progress=False)
    path = write_parquet(scored, tmp_path / "s.parquet")
    back = load_scored(path)
    assert back["res_band"].astype(str).tolist() == scored["res_band"].astype(str).tolist()
    assert back["anomaly"].dtype == bool
    plain = write_parquet(make_catalog(10, seed=5), tmp_path / "plain.parquet")
    with pytest.raises(CatalogError, match="not a scored catalog.*latent_x"):
        load_scored(plain)


def test_cli_score_writes_file_and_refuses_to_overwrite(model_dir, tmp_path, capsys):
    cat = write_parquet(make_catalog(300, seed=6), tmp_path / "cat.parquet")
    out = tmp_path / "scored.parquet"
    assert main(["score", str(cat), "--model", str(model_dir), "--out", str(out), "--threshold", "0.02",
                 "--run", "1"]) == 0
    assert "anomalies" in capsys.readouterr().out
    scored = read_parquet(out)
    assert scored.attrs["sedscape"]["scoring"]["run"] == 1
    assert scored["anomaly"].tolist() == flag_anomalies(scored, PS1, 0.02).tolist()
    assert main(["score", str(cat), "--model", str(model_dir), "--out", str(out)]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert main(["score", str(cat), "--model", str(tmp_path), "--out", str(tmp_path / "x.parquet")]) == 2
    assert "model_card.json" in capsys.readouterr().err


@pytest.mark.slow
def test_lstm_decoder_states_are_interpolated_from_the_run_table(tmp_path):
    """The paper's LSTM-AE decoder needs encoder states; decode_latent fills them in from stored stars."""
    df = make_catalog(3000, seed=31)
    train_runs(df, PS1, model="lstm-ae", runs=1, config=TrainConfig(max_epochs=3, batch_size=256, learning_rate=1e-2),
               out_dir=tmp_path / "lstm", progress=False)
    tm = TrainedModel.load(tmp_path / "lstm")
    assert tm.state_table is not None
    mags = df[list("grizy")].to_numpy()
    diff = np.abs(tm.decode_latent(tm.encode(mags)) - tm.reconstruct(mags))
    assert np.median(diff) < 0.01
    assert unscale(np.float32(0.1)) == pytest.approx(1.0)
