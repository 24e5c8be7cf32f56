"""The multi-modal round trip on a small mock: mock --epochs -> train --model mm-vae -> score, and the one-star API."""

from __future__ import annotations

import numpy as np
import pytest

from core.catalog import read_parquet
from core.cli import main
from core.epochs import read_epochs, read_star_epochs
from core.multimodal import MultiModalModel, dmdt_image, folded_reconstruction, latent_columns


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    d = tmp_path_factory.mktemp("mm")
    assert main(["mock", "--out", str(d / "sky.parquet"), "--stars", "4000", "--seed", "2",
                 "--epochs", str(d / "det.parquet"), "--epochs-constant", "250"]) == 0
    assert main(["train", str(d / "sky.parquet"), "--model", "mm-vae", "--detections", str(d / "det.parquet"),
                 "--out", str(d / "mm"), "--runs", "1", "--max-epochs", "3", "--map", "none"]) == 0
    return d


def test_round_trip_writes_the_multimodal_columns(workdir, capsys):
    d = workdir
    assert main(["score", str(d / "sky.parquet"), "--model", str(d / "mm"), "--detections", str(d / "det.parquet"),
                 "--out", str(d / "scored.parquet")]) == 0
    assert "with a folded light curve" in capsys.readouterr().out
    sky, scored = read_parquet(d / "sky.parquet"), read_parquet(d / "scored.parquet")
    assert len(scored) == len(sky)  # stars without epochs stay, with their light-curve modalities masked
    det_ids = set(read_epochs(d / "det.parquet")["obj_id"])
    has = scored["obj_id"].isin(det_ids).to_numpy()
    assert (scored["mm_has_dmdt"].to_numpy() <= has).all() and scored.loc[has, "mm_has_dmdt"].mean() > 0.9
    assert scored["mm_has_sed"].all() and scored["mm_has_lc"].sum() > 0
    z = scored[latent_columns()].to_numpy()
    assert z.shape[1] == 15 and np.isfinite(z).all()
    assert (z[~scored["mm_has_lc"].to_numpy(), 10:] == 0).all()  # absent folded curve -> prior mean
    assert scored.loc[~scored["mm_has_lc"], "mm_rec_lc"].isna().all() and np.isfinite(scored["mm_score"]).all()
    assert scored["lc_period"].notna().sum() == scored["mm_has_lc"].sum()
    card = MultiModalModel.load(d / "mm").card
    assert card["model"]["name"] == "mm-vae" and card["config"]["betas"] == {"sed": 1e-3, "dmdt": 1e-5, "lc": 1e-4}
    assert 0 < scored["mm_anomaly"].mean() < 0.2


def test_score_without_detections_is_a_clear_error(workdir, capsys):
    d = workdir
    assert main(["score", str(d / "sky.parquet"), "--model", str(d / "mm"), "--out", str(d / "x.parquet")]) == 2
    assert "--detections" in capsys.readouterr().err


def test_one_star_functions_for_the_dashboard(workdir):
    d = workdir
    sky = read_parquet(d / "sky.parquet")
    model = MultiModalModel.load(d / "mm")
    ew = sky[sky["true_var_class"].astype(str).isin(["ew", "rrab", "rrc"])].iloc[[0]]
    ep = read_star_epochs(d / "det.parquet", int(ew["obj_id"].iloc[0]))
    out = folded_reconstruction(model, ew, ep)
    assert np.isfinite(out["period"]) and out["fold_period"] == 2 * out["period"]
    folded = out["folded_epochs"]
    assert len(folded) == len(ep) and folded["phase"].between(0, 1).all()
    rec = out["reconstruction"]
    assert set(rec["band"]) == set("grizy") and len(rec) == 5 * 32
    g = ep.loc[ep["band"] == "g", "mag"]
    assert g.min() - 0.5 < rec.loc[rec["band"] == "g", "mag_rec"].median() < g.max() + 0.5
    img = dmdt_image(ep)
    assert img.prob.shape == (1, 5, 20, 10) and img.band_mask.all()


@pytest.mark.slow
def test_umap_map_is_saved_and_places_stars_again(tmp_path, workdir):
    pytest.importorskip("umap")
    d = workdir
    assert main(["train", str(d / "sky.parquet"), "--model", "mm-vae", "--detections", str(d / "det.parquet"),
                 "--out", str(tmp_path / "mm"), "--runs", "1", "--max-epochs", "2"]) == 0
    model = MultiModalModel.load(tmp_path / "mm")
    assert model.umap is not None and (tmp_path / "mm" / "map.joblib").exists()
    z = model.reference["latent"][:50]
    xy1, xy2 = model.map(z), model.map(z)
    assert np.isfinite(xy1).all() and np.allclose(xy1, xy2, atol=1e-3)


def test_only_the_stars_with_epochs_are_scored_and_the_detections_are_recorded(workdir, tmp_path, capsys):
    from core.epochs import find_detections

    d = workdir
    out = d / "scored_epochs_only.parquet"
    assert main(["score", str(d / "sky.parquet"), "--model", str(d / "mm"), "--detections", str(d / "det.parquet"),
                 "--out", str(out), "--only-with-epochs"]) == 0
    assert "without detections keep NaN" in capsys.readouterr().out
    sky, scored = read_parquet(d / "sky.parquet"), read_parquet(out)
    has = scored["obj_id"].isin(set(read_epochs(d / "det.parquet")["obj_id"])).to_numpy()
    assert len(scored) == len(sky) and 0 < has.sum() < len(sky)  # every row kept
    z = scored[latent_columns()].to_numpy()
    assert np.isfinite(z[has]).all() and np.isnan(z[~has]).all()
    assert not scored.loc[~has, ["mm_anomaly", "mm_has_sed", "mm_has_lc"]].to_numpy().any()
    assert (scored.loc[~has, "lc_n_det"] == 0).all() and (scored.loc[has, "lc_n_det"] > 0).all()
    assert scored.attrs["sedscape"]["multimodal"]["n_without_epochs"] == int((~has).sum())
    assert find_detections(out, environ={}) == d / "det.parquet"  # recorded relative to OUT's folder
    # The stars with epochs get what scoring them alone gives.
    alone = tmp_path / "alone.parquet"
    sub = sky[has].reset_index(drop=True)
    sub.attrs = sky.attrs
    from core.catalog import write_parquet

    write_parquet(sub, tmp_path / "sub.parquet")
    assert main(["score", str(tmp_path / "sub.parquet"), "--model", str(d / "mm"), "--detections",
                 str(d / "det.parquet"), "--out", str(alone)]) == 0
    assert np.allclose(read_parquet(alone)[latent_columns()].to_numpy(), z[has], atol=1e-6)
    assert find_detections(alone, environ={}) == d / "det.parquet"  # outside OUT's folder: absolute


def test_training_on_the_stars_with_epochs_only(workdir, tmp_path, capsys):
    import json

    d = workdir
    assert main(["train", str(d / "sky.parquet"), "--model", "mm-vae", "--detections", str(d / "det.parquet"),
                 "--out", str(tmp_path / "mm"), "--runs", "1", "--max-epochs", "2", "--map", "none",
                 "--only-with-epochs"]) == 0
    n_with = len(set(read_epochs(d / "det.parquet")["obj_id"]) & set(read_parquet(d / "sky.parquet")["obj_id"]))
    assert f"{n_with:,} stars have detections" in capsys.readouterr().out
    card = json.loads((tmp_path / "mm" / "model_card.json").read_text())
    assert card["catalog"]["n_rows"] == n_with
    assert main(["train", str(d / "sky.parquet"), "--model", "mm-vae", "--detections", str(d / "det.parquet"),
                 "--out", str(tmp_path / "mm2"), "--map-sample", "5"]) == 2
    assert "--map-sample" in capsys.readouterr().err
