"""The real PS1 locus, the mock's colour calibration onto it, and the validation check that compares them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from core.bands import PS1
from core.mock import locus, tables
from core.mock.sky import MockConfig, generate_mock_sky
from core.mock.validate import real_locus_offsets, validate_mock

M44 = Path(__file__).resolve().parents[2] / "data" / "ps1_dr1_meanobject_cone_M44.tsv"


def _stars_on(gi: np.ndarray, colours: np.ndarray, r: float = 17.0) -> np.ndarray:
    """g r i z y of stars with the given g - i and (N, 4) colours (g-r, r-i, i-z, z-y)."""
    g = r + colours[:, 0]
    i = r - colours[:, 1]
    np.testing.assert_allclose(g - i, gi, atol=1e-9)
    z = i - colours[:, 2]
    return np.stack([g, np.full_like(g, r), i, z, z - colours[:, 3]], axis=1)


def _locus_line(gi: np.ndarray) -> np.ndarray:
    """A steep made-up locus: g-r = 0.6 (g-i), r-i = 0.4 (g-i), i-z = 0.3 (g-i), z-y = 0.15 (g-i)."""
    return np.stack([0.6 * gi, 0.4 * gi, 0.3 * gi, 0.15 * gi], axis=1)


def test_offsets_per_bin_compare_each_star_at_its_own_colour():
    rng = np.random.default_rng(0)
    gi = rng.uniform(0.0, 2.0, 4000)
    shifted = _locus_line(gi) + np.array([0.0, 0.0, 0.02, -0.01])
    grid = np.linspace(0.0, 2.0, 41)
    table = locus.locus_offsets(_stars_on(gi, shifted), grid, _locus_line(grid), min_count=20)
    assert list(table["lo"]) == [0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75]
    # The locus is steep (0.6 mag of g-r per mag of g-i) but only the offset shows, in every bin.
    np.testing.assert_allclose(table[["g-r", "r-i"]].to_numpy(), 0.0, atol=1e-9)
    np.testing.assert_allclose(table["i-z"], 0.02, atol=1e-9)
    np.testing.assert_allclose(table["z-y"], -0.01, atol=1e-9)
    few = locus.locus_offsets(_stars_on(gi[:60], shifted[:60]), grid, _locus_line(grid), min_count=20)
    assert (few["n"] >= 20).all() and len(few) < len(table)


def test_robust_fit_ignores_outliers():
    rng = np.random.default_rng(1)
    x = rng.uniform(0, 2, 400)
    y = 0.3 * x + 0.1 + rng.normal(0, 0.01, x.size)
    y[:20] += 0.5  # blends / bad photometry
    grid = np.linspace(0.3, 1.7, 15)
    fit, n_eff = locus.robust_local_linear(x, y, grid)
    np.testing.assert_allclose(fit, 0.3 * grid + 0.1, atol=0.005)
    assert (n_eff > 20).all()


def test_real_locus_follows_the_stars_and_tonry_where_they_are_few():
    tonry = tables.tonry_locus_table()
    grid = locus.LOCUS_GRID
    rng = np.random.default_rng(2)
    gi = rng.uniform(0.6, 1.6, 300)
    offset = np.array([0.01, -0.01, -0.03, 0.02])  # a zero-point difference from Tonry's table
    real = locus.build_real_locus(_stars_on(gi, locus.tonry_locus(tonry, gi) + offset), tonry)
    got = real[["g_r", "r_i", "i_z", "z_y"]].to_numpy()
    expected = locus.tonry_locus(tonry, grid) + offset
    np.testing.assert_allclose(real.attrs["tonry_zero_point"], offset, atol=2e-3)
    assert set(real["source"]) == {"real", "blend", "tonry"}
    far = real["source"].to_numpy() == "tonry"
    np.testing.assert_allclose(got[far], expected[far], atol=2e-3)
    # Tonry's table is piecewise linear, so the fit and the table agree except at its knees.
    inside = (real["source"].to_numpy() == "real") & (np.abs(grid - 0.75) > 0.2) & (np.abs(grid - 1.37) > 0.2)
    np.testing.assert_allclose(got[inside], expected[inside], atol=3e-3)
    np.testing.assert_allclose(got[:, 0] + got[:, 1], grid, atol=1e-9)


def test_shipped_tables_are_what_the_build_script_makes_from_the_m44_cone():
    stars = locus.real_stars(M44)
    assert len(stars) == 200  # the M44 cone after the paper's cuts (point sources by PSF - Kron)
    # Dereddened with Praesepe's E(B-V) 0.027 on SFD's scale (/ 0.86).
    np.testing.assert_allclose(stars["g_obs"] - stars["g"], PS1.extinction_coeffs["g"] * 0.027 / 0.86)
    real = locus.build_real_locus(stars[list(PS1.names)].to_numpy(float), tables.tonry_locus_table())
    shipped = tables.real_locus()
    np.testing.assert_allclose(shipped.g_i, real["g_i"])
    np.testing.assert_allclose(shipped.colours, real[["g_r", "r_i", "i_z", "z_y"]], atol=6e-5)
    corr = locus.build_correction(real)
    np.testing.assert_allclose(tables.locus_correction().colours, corr.iloc[:, 1:], atol=6e-5)
    # The real stars themselves sit on it: every bin with 20 of them within the check's 0.01 mag.
    off = real_locus_offsets(stars)
    assert len(off) >= 4
    assert np.abs(off[list(locus.LOCUS_COLOURS)].to_numpy()).max() <= locus.LOCUS_TOLERANCE


def test_correction_moves_the_templates_onto_the_real_locus():
    grid = locus.LOCUS_GRID
    raw = locus.template_locus(grid)
    inside = np.isfinite(raw[:, 0])
    corrected = raw[inside] + tables.locus_correction()(grid[inside])
    np.testing.assert_allclose(corrected, tables.real_locus()(grid[inside]), atol=1e-4)
    # g - i is kept: g - r and r - i move by opposite amounts.
    np.testing.assert_allclose(tables.locus_correction().colours[:, 0], -tables.locus_correction().colours[:, 1])


def test_calibrated_mock_passes_the_real_locus_check_and_the_raw_templates_fail(mock_sky):
    report = validate_mock(mock_sky)
    check = next(c for c in report.checks if c.name == "real PS1 locus")
    assert check.passed, check.detail
    raw = generate_mock_sky(6_000, 3, config=MockConfig(calibrate_colours=False))
    offsets = real_locus_offsets(raw)
    # The Ivezic templates' K/M dwarf locus: i - z too red, z - y too blue by ~0.02 mag.
    assert (offsets["i-z"] > 0.01).mean() > 0.5 and (offsets["z-y"] < -0.01).mean() > 0.5
    failed = next(c for c in validate_mock(raw).checks if c.name == "real PS1 locus")
    assert not failed.passed and "z" in failed.detail


def test_a_z_band_zero_point_error_fails_the_check(mock_sky):
    broken = mock_sky.assign(z=mock_sky["z"] + 0.02)
    check = next(c for c in validate_mock(broken).checks if c.name == "real PS1 locus")
    assert not check.passed


@pytest.mark.parametrize("name", ["ps1_locus_real.txt", "ps1_locus_correction.txt"])
def test_locus_tables_cite_their_sources(name):
    from core.paths import reference_dir

    header = "".join(ln for ln in (reference_dir() / name).read_text().splitlines(True) if ln.startswith("#"))
    assert "scripts/build_ps1_locus.py" in header
    assert "Tonry" in header or "ps1_locus_real" in header
