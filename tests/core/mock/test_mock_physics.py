"""The mock sky's physics: colours, white dwarfs, clusters, dust and extinction, photometric errors."""

from __future__ import annotations

import numpy as np
import pytest

from core.bands import PS1
from core.mock import clusters, galaxy, populations, tables

K = np.array([PS1.extinction_coeffs[b] for b in PS1.names])


def _colours(df, prefix="true_"):
    m = df[[f"{prefix}{b}" for b in PS1.names]].to_numpy(float)
    return -np.diff(m, axis=1)


def test_main_sequence_colours_follow_the_calibrated_table(mock_precut):
    ms = mock_precut[mock_precut["true_class"] == "ms"]
    mr, feh = ms["true_mr"].to_numpy(), ms["true_feh"].to_numpy()
    raw = tables.colour_grid()(mr, feh)
    expected = raw + tables.locus_correction()(raw[:, 0] + raw[:, 1])
    np.testing.assert_allclose(populations.template_colours(mr, feh), expected)
    resid = _colours(ms) - expected
    assert np.all(np.abs(np.median(resid, axis=0)) < 0.005)
    assert np.all(resid.std(axis=0) < 0.03)
    # The calibration keeps g - i (and M_r) and moves colours by the table's 0.01-0.03 mag.
    np.testing.assert_allclose((expected - raw)[:, :2].sum(axis=1), 0.0, atol=1e-12)
    assert np.abs(np.median(expected - raw, axis=0)).min() > 0.005


def test_colour_grid_reads_known_rows():
    grid = tables.colour_grid()
    # First data row of ps1_colors_vs_Mr_FeH.dat: M_r -1.00, [Fe/H] -3.00.
    np.testing.assert_allclose(grid(np.array([-1.0]), np.array([-3.0]))[0], [0.4625, 0.2256, 0.0733, 0.0404])
    assert grid.colours.shape == (len(grid.mr), len(grid.feh), 4)


def test_white_dwarfs_are_bluer_than_main_sequence_at_same_r(mock_sky):
    gr = mock_sky["g"] - mock_sky["r"]
    bright = mock_sky["r"].between(16, 20)
    wd = bright & mock_sky["true_class"].isin(["wd_da", "wd_db"])
    ms = bright & (mock_sky["true_class"] == "ms")
    assert wd.sum() >= 5
    assert gr[wd].median() < gr[ms].median() - 0.3


def test_bhb_and_sdb_are_blue_and_mdwarfs_red(mock_precut):
    col = _colours(mock_precut)
    cls = mock_precut["true_class"].to_numpy()
    assert np.median(col[cls == "bhb", 0]) < 0.0
    assert np.median(col[cls == "sdb", 0]) < -0.2
    assert np.median(col[cls == "mdwarf", 1]) > 0.6  # r - i of M dwarfs


def test_cluster_members_are_concentrated_at_the_right_distance():
    rng = np.random.default_rng(0)
    m3 = next(c for c in clusters.CLUSTERS if c.name == "M3")
    members = clusters.draw_members(rng, m3, 4_000)
    dra = (members["ra"] - m3.ra) * np.cos(np.radians(m3.dec))
    sep_arcmin = 60 * np.hypot(dra, members["dec"] - m3.dec)
    assert np.median(sep_arcmin) == pytest.approx(m3.r_half_arcmin, rel=0.1)  # Plummer: half inside a
    hb = np.isin(members["cls"], [populations.CLASS_CODE[c] for c in ("bhb", "rrlyrae", "rhb")])
    # M3's horizontal branch sits at M_r ~ 0.5 (Harris: V_HB = 15.65 at (m-M)_V = 15.12).
    assert np.median(members["abs_mags"][hb, 1]) == pytest.approx(0.5, abs=0.25)
    assert m3.dist_mod == pytest.approx(15.04, abs=0.01)


def test_cluster_members_in_the_mock_sit_on_their_clusters(mock_precut):
    for cl in clusters.CLUSTERS:
        rows = mock_precut[mock_precut["true_cluster"] == cl.name]
        assert len(rows) >= 20
        dra = ((rows["ra"] - cl.ra + 180) % 360 - 180) * np.cos(np.radians(cl.dec))
        sep = 60 * np.hypot(dra, rows["dec"] - cl.dec)
        assert np.median(sep) < 3 * cl.r_half_arcmin
        np.testing.assert_allclose(rows["true_dist_pc"], cl.dist_kpc * 1000, rtol=1e-6)


def test_dust_map_matches_paper_range_and_mean():
    dust = galaxy.make_dust_map(2025)
    assert dust.values.min() == pytest.approx(1.98e-3, rel=1e-3)
    assert dust.values.max() == pytest.approx(9.99e-2, rel=1e-3)
    assert dust.values.mean() == pytest.approx(1.89e-2, rel=1e-2)
    low_b, high_b = (
        dust(np.arange(0, 360, 1.0), np.full(360, 61.0)),
        dust(np.arange(0, 360, 1.0), np.full(360, 79.0)),
    )
    assert low_b.mean() > high_b.mean()


def test_ebv_column_in_range(mock_sky):
    assert mock_sky["ebv"].between(1.9e-3, 0.1).all()
    assert mock_sky["ebv"].mean() == pytest.approx(0.019, abs=0.004)


def test_observed_mags_include_extinction(mock_precut):
    df = mock_precut[(mock_precut["true_class"] != "artefact") & (mock_precut["true_component"] != "cluster")]
    df = df[df["true_dist_pc"] > 1500]  # behind all the dust
    np.testing.assert_allclose(df["true_ebv"], df["ebv"], rtol=1e-3)
    for k, band in enumerate(PS1.names):
        good = df[f"{band}_err"] < 0.02
        excess = df.loc[good, band] - df.loc[good, f"true_{band}"]
        slope = np.polyfit(df.loc[good, "ebv"], excess, 1)[0]
        assert slope == pytest.approx(K[k], rel=0.1), band


def test_pipeline_dereddening_undoes_the_extinction(mock_sky):
    far = mock_sky[(mock_sky["true_dist_pc"] > 1500) & (mock_sky["true_class"] != "artefact")]
    resid = (far["g"] - far["true_g"]) / far["g_err"]
    assert abs(resid.median()) < 0.2
    assert 0.7 < resid.std() < 1.5  # the quoted errors describe the noise


def test_nearby_stars_sit_partly_in_front_of_the_dust(mock_precut):
    near = mock_precut[mock_precut["true_dist_pc"] < 150]
    assert (near["true_ebv"] < near["ebv"]).all()


def test_error_fractions_roughly_match_paper(mock_sky):
    paper = {"g": 53.8, "r": 74.4, "i": 92.7, "z": 84.2, "y": 57.6}
    for band, pct in paper.items():
        frac = 100 * (mock_sky[f"{band}_err"] <= 0.01).mean()
        assert frac == pytest.approx(pct, abs=6), band


def test_errors_grow_toward_the_faint_end(mock_sky):
    bright = mock_sky["r_obs"] < 17
    faint = mock_sky["r_obs"] > 19.5
    assert mock_sky.loc[faint, "r_err"].median() > 3 * mock_sky.loc[bright, "r_err"].median()


def test_galactic_density_normalisation():
    # At the Sun's position (d -> 0) the relative densities are the Juric et al. (2008) fractions.
    d = np.array([1e-3])
    assert galaxy.density("thin", np.array([0.0]), np.array([90.0]), d)[0] == pytest.approx(1.0, rel=1e-3)
    assert galaxy.density("thick", np.array([0.0]), np.array([90.0]), d)[0] == pytest.approx(0.12, rel=1e-3)
    assert galaxy.density("halo", np.array([0.0]), np.array([90.0]), d)[0] == pytest.approx(0.0051, rel=1e-3)
    # Exponential fall-off with height: one thin-disk scale height costs a factor e.
    up = galaxy.density("thin", np.array([0.0]), np.array([90.0]), np.array([300.0]))[0]
    assert up == pytest.approx(np.exp(-1), rel=1e-3)


def test_coordinate_rotation_matches_astropy():
    import astropy.units as u
    from astropy.coordinates import SkyCoord

    rng = np.random.default_rng(1)
    l_deg, b_deg = rng.uniform(0, 360, 50), rng.uniform(60, 80, 50)
    ra, dec = galaxy.galactic_to_icrs(l_deg, b_deg)
    ref = SkyCoord(l=l_deg * u.deg, b=b_deg * u.deg, frame="galactic").icrs
    sep = SkyCoord(ra=ra * u.deg, dec=dec * u.deg).separation(ref).arcsec
    assert sep.max() < 1e-6
    l2, b2 = galaxy.icrs_to_galactic(ra, dec)
    np.testing.assert_allclose(b2, b_deg, atol=1e-9)


def test_white_dwarf_luminosity_function_stops_at_the_disk_age():
    track = populations.cooling_track("DA", 8.0)
    grid = populations.wd_lf_grid()
    lf = track.lf(grid)
    assert (lf >= 0).all()
    oldest_mr = np.interp(populations.WD_MAX_AGE_YR, track.age, track.mr)
    assert lf[grid > oldest_mr + 0.1].sum() == 0
    assert lf[grid < oldest_mr].sum() > 0


def test_unresolved_pair_adds_fluxes():
    np.testing.assert_allclose(
        populations.add_fluxes(np.array([15.0]), np.array([15.0])), 15.0 - 2.5 * np.log10(2)
    )
