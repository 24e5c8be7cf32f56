"""Live checks against the real archives; skipped unless pytest is run with --remote-data."""

from __future__ import annotations

import pytest

from core.archives import archive_config, crossmatch_gaia, crossmatch_simbad, fetch_cutout
from core.archives.ps1 import Cone, PS1Fetcher

pytestmark = pytest.mark.remote_data

M3 = (205.548417, 28.377278)


@pytest.fixture(autouse=True)
def _real_endpoints(monkeypatch):
    for var in ("SEDSCAPE_PS1_TAP_URL", "SEDSCAPE_GAIA_TAP_URL", "SEDSCAPE_SIMBAD_TAP_URL", "SEDSCAPE_PS1_IMAGE_URL"):
        monkeypatch.delenv(var, raising=False)


def test_mast_ps1_dr2_small_cone(tmp_path):
    res = PS1Fetcher(tmp_path, Cone(*M3, 0.02), progress=False).run()
    assert len(res.catalog) > 50
    assert {"obj_id", "g", "g_err", "n_g", "qf_g", "l", "b"} <= set(res.catalog.columns)


def test_gaia_and_simbad_match_bright_m3_stars(tmp_path):
    cat = PS1Fetcher(tmp_path, Cone(*M3, 0.01), progress=False).run().catalog
    cat = cat[(cat["g"] > 14) & (cat["g"] < 18)].head(50)
    gaia, summary = crossmatch_gaia(cat, mode="sync", config=archive_config("gaia"), cache=False)
    assert summary.n_matched > 10 and gaia["parallax"].notna().sum() == summary.n_matched
    simbad, s = crossmatch_simbad(cat, cache=False)
    assert s.n_matched >= 1


def test_ps1_cutout_of_m3():
    cut = fetch_cutout(*M3, size=120, cache=False)
    assert not cut.placeholder, cut.message
    assert cut.data[:2] == b"\xff\xd8"
