"""The mock sky as a catalog: determinism, the contract, size after cuts, truth columns, labels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.bands import PS1
from core.catalog import validate_catalog
from core.errors import ConfigError
from core.mock import ANOMALOUS_CLASSES, SIMBAD_OTYPES, TRUE_CLASSES, MockConfig, generate_mock_sky
from core.mock.labels import OTYPES_BY_CLASS
from core.mock.sky import ps1_obj_id
from tests.core.mock.conftest import N_STARS


def test_same_seed_gives_identical_catalog_and_other_seed_differs():
    a = generate_mock_sky(2_000, seed=11)
    b = generate_mock_sky(2_000, seed=11)
    pd.testing.assert_frame_equal(a, b)
    assert a.attrs["sedscape"] == b.attrs["sedscape"]
    c = generate_mock_sky(2_000, seed=12)
    assert len(c) != len(a) or not np.allclose(c["g"].to_numpy(), a["g"].to_numpy())


def test_catalog_meets_contract_and_is_complete(mock_sky):
    report = validate_catalog(mock_sky, PS1, source="mock", require_complete=True)
    assert report.ok
    assert mock_sky["obj_id"].dtype == np.int64
    assert mock_sky["obj_id"].is_unique
    for col in (
        "ebv",
        "prob_star",
        "parallax",
        "parallax_error",
        "simbad_otype",
        "simbad_id",
        *(f"n_{b}" for b in PS1.names),
        *(f"qf_{b}" for b in PS1.names),
        *(f"{b}_obs" for b in PS1.names),
    ):
        assert col in mock_sky.columns, col
    # The paper's cuts hold on what comes out.
    assert (mock_sky[list(PS1.err_columns)] <= 0.05).all().all()
    assert (mock_sky["prob_star"] >= 0.99).all()
    assert (mock_sky[[f"n_{b}" for b in PS1.names]] >= 5).all().all()
    assert np.all(mock_sky["b"].between(60, 80))


def test_size_after_cuts_is_close_to_request(mock_sky):
    assert abs(len(mock_sky) / N_STARS - 1) < 0.12


def test_every_cut_removes_something(mock_precut):
    from core.pipeline import select

    _, funnel = select(mock_precut, PS1)
    removed = {s.name: s.n_removed for s in funnel.steps}
    for step in ("complete", "prob_star", "n_measurements", "qf_perfect", "errors"):
        assert removed[step] > 0, step


def test_metadata_records_seed_and_funnel():
    sky = generate_mock_sky(1_500, seed=5)
    meta = sky.attrs["sedscape"]
    assert meta["mock"]["seed"] == 5
    assert meta["mock"]["n_stars_requested"] == 1_500
    assert meta["funnel"]["n_output"] == len(sky)
    assert meta["band_set"] == "ps1"


def test_precut_only_catalog_has_observed_mags_without_obs_columns():
    pre = generate_mock_sky(1_500, seed=5, apply_selection=False)
    assert "g_obs" not in pre.columns
    assert pre["g"].isna().any()  # non-detections survive until the pipeline counts them


def test_truth_columns_are_consistent(mock_precut):
    df = mock_precut
    cls = df["true_class"].astype(str)
    assert set(cls.unique()) <= set(TRUE_CLASSES)
    np.testing.assert_array_equal(df["true_anomaly"].to_numpy(), cls.isin(ANOMALOUS_CLASSES).to_numpy())
    art = cls == "artefact"
    assert art.sum() > 0
    assert (df.loc[art, "true_artefact_band"].astype(str) != "").all()
    assert df.loc[art, "true_artefact_offset"].abs().between(0.1, 1.0).all()
    assert (df.loc[~art, "true_artefact_band"].astype(str) == "").all()
    members = df["true_cluster"].astype(str) != ""
    np.testing.assert_array_equal(members.to_numpy(), (df["true_component"] == "cluster").to_numpy())
    xgal = df["true_component"] == "extragalactic"
    assert df.loc[xgal, "true_dist_pc"].isna().all()
    assert df.loc[~xgal, "true_dist_pc"].gt(0).all()
    # Every non-artefact extragalactic row is a QSO or galaxy, and no star is.
    assert set(cls[xgal & ~art]) <= {"qso", "galaxy"}
    assert not cls[~xgal].isin(["qso", "galaxy"]).any()
    # Apparent truth = absolute + distance modulus for Galactic objects.
    gal = ~xgal.to_numpy()
    dm = 5 * np.log10(df["true_dist_pc"].to_numpy()[gal]) - 5
    np.testing.assert_allclose(df["true_r"].to_numpy()[gal] - dm, df["true_mr"].to_numpy()[gal], atol=2e-3)


def test_artefact_band_is_offset_from_truth(mock_precut):
    df = mock_precut[(mock_precut["true_class"] == "artefact")]
    for band in PS1.names:
        rows = df[df["true_artefact_band"] == band]
        expected = (
            rows[f"true_{band}"]
            + PS1.extinction_coeffs[band] * rows["true_ebv"]
            + rows["true_artefact_offset"]
        )
        resid = (rows[band] - expected) / rows[f"{band}_err"]
        assert resid.abs().median() < 2.0  # the offset, not noise, explains the difference


def test_all_populations_present(mock_precut):
    counts = mock_precut["true_class"].value_counts()
    for cls in (
        "ms",
        "giant",
        "mdwarf",
        "wd_da",
        "wd_db",
        "bhb",
        "rrlyrae",
        "bss",
        "sdb",
        "binary_ms_ms",
        "binary_wd_m",
        "qso",
        "galaxy",
        "artefact",
    ):
        assert counts[cls] > 0, cls
    comps = mock_precut["true_component"].value_counts()
    assert all(comps[c] > 0 for c in ("thin", "thick", "halo", "cluster", "extragalactic"))


def test_simbad_labels_use_the_public_otype_list(mock_precut):
    emitted = set(mock_precut["simbad_otype"].dropna().astype(str))
    assert emitted and emitted <= set(SIMBAD_OTYPES)
    assert set(OTYPES_BY_CLASS) <= set(TRUE_CLASSES)
    labelled = mock_precut["simbad_otype"].notna()
    np.testing.assert_array_equal(labelled.to_numpy(), mock_precut["simbad_id"].notna().to_numpy())
    np.testing.assert_array_equal(labelled.to_numpy(), mock_precut["simbad_category"].notna().to_numpy())
    from core.archives.otypes import simbad_category

    sample = mock_precut[labelled].head(300)
    assert [simbad_category(o) for o in sample["simbad_otype"].astype(str)] == sample[
        "simbad_category"
    ].astype(str).tolist()
    wds = mock_precut[labelled & mock_precut["true_class"].isin(["wd_da", "wd_db"])]
    assert (wds["simbad_otype"].astype(str).isin(["WD*", "WD?", "PM*", "blu", "UV"])).mean() > 0.8


def test_simbad_categories_are_mostly_readable(mock_sky):
    """Issue 10: SIMBAD matches fall in named families; 'Other' (no star, no galaxy) stays under 20%."""
    cats = mock_sky["simbad_category"].dropna().astype(str)
    assert len(cats) > 300
    shares = cats.value_counts(normalize=True)
    assert shares.get("Other", 0.0) < 0.20
    # the families SIMBAD lists at high latitude each show up
    for family in ("Star (no subtype)", "High Proper Motion", "Binary", "Variable", "RGB", "Main Sequence"):
        assert shares.get(family, 0.0) > 0.01, family
    otypes = mock_sky["simbad_otype"].dropna().astype(str).value_counts(normalize=True)
    assert otypes.index[0] == "*" and otypes.get("PM*", 0) > 0.05


def test_simbad_fraction_after_cuts_is_near_paper(mock_sky):
    frac = mock_sky["simbad_otype"].notna().mean()
    assert 0.013 < frac < 0.033  # paper: 70,196 / 3,112,259 = 2.26%


def test_parallaxes_only_for_gaia_bright_stars(mock_sky):
    has = mock_sky["parallax"].notna()
    assert 0.5 < has.mean() <= 1.0
    err = mock_sky.loc[has, "parallax_error"]
    r = mock_sky.loc[has, "r_obs"]
    assert err[r < 16].median() < err[r > 19].median()
    near = mock_sky[has & (mock_sky["true_dist_pc"] < 300)]
    np.testing.assert_allclose(np.median(near["parallax"] * near["true_dist_pc"] / 1000), 1.0, atol=0.05)


def test_obj_id_unique_even_for_coincident_positions():
    ra = np.array([10.0, 10.0, 10.0, 200.5])
    dec = np.array([30.0, 30.0, 30.0, -5.0])
    ids = ps1_obj_id(ra, dec)
    assert len(set(ids.tolist())) == 4


def test_config_rejects_bad_values():
    with pytest.raises(ConfigError, match="pass_fraction"):
        MockConfig(pass_fraction=0)
    with pytest.raises(ConfigError, match="n_stars"):
        MockConfig(n_stars=0)
