"""PS1 DR2 fetch: tiling, async jobs over loopback, resume after an interruption, STRM join, the CLI."""

from __future__ import annotations

import astropy.units as u
import numpy as np
import pandas as pd
import pytest
from archive_replay import source_table
from astropy.coordinates import SkyCoord

from core.archives.config import archive_config
from core.archives.ps1 import Cone, GalacticAnnulus, PS1Fetcher, make_tiles, tile_adql
from core.catalog import read_parquet, validate_catalog
from core.errors import ArchiveError, ConfigError

M3_CONE = Cone(205.548417, 28.377278, 0.1)


def _in_tiles(tiles, ra, dec):
    hits = np.zeros(len(ra), int)
    for t in tiles:
        hits += (ra >= t.ra_lo) & (ra < t.ra_hi) & (dec >= t.dec_lo) & (dec < t.dec_hi)
    return hits


@pytest.mark.parametrize("region, tile", [(GalacticAnnulus(60, 80), 2.0), (GalacticAnnulus(78, 80), 5.0),
                                          (Cone(10.0, -29.0, 3.0), 1.0), (Cone(0.2, 89.0, 1.5), 1.0),
                                          (Cone(359.9, 0.0, 0.05), 2.0)])
def test_tiles_cover_the_region_once(region, tile):
    rng = np.random.default_rng(1)
    lo, hi = (-90, 90) if isinstance(region, GalacticAnnulus) else (region.dec - 2 * region.radius,
                                                                     min(90, region.dec + 2 * region.radius))
    ra = rng.uniform(0, 360, 200_000)
    dec = np.degrees(np.arcsin(rng.uniform(np.sin(np.radians(lo)), np.sin(np.radians(hi)), 200_000)))
    inside = region.contains(ra, dec)
    tiles = make_tiles(region, tile)
    hits = _in_tiles(tiles, ra[inside], dec[inside])
    assert inside.sum() > 20 and (hits == 1).all()


def test_paper_annulus_tile_count_is_modest():
    tiles = make_tiles(GalacticAnnulus(60, 80), 2.0)
    # ~2,450 deg^2 in boxes of <= 4 deg^2, plus boxes straddling the edges
    assert 2450 / 4 < len(tiles) < 1000


def test_tile_adql_is_a_half_open_box():
    q = tile_adql(make_tiles(M3_CONE)[0])
    assert "FROM dbo.MeanObjectView" in q and "raMean >= 0.000000 AND raMean < 360.000000" in q
    assert "CIRCLE('ICRS', 205.5484170, 28.3772780, 0.1000000)" in q


def _truth_rows(region):
    t = source_table("ps1dr2_meanobjectview.xml").to_pandas()
    return t[region.contains(t["raMean"].to_numpy(), t["decMean"].to_numpy())]


def test_cone_fetch_matches_the_service_rows(archive, tmp_path):
    res = PS1Fetcher(tmp_path, M3_CONE, progress=False).run()
    expected = _truth_rows(M3_CONE)
    df = res.catalog
    assert sorted(df["obj_id"]) == sorted(expected["objID"].tolist()) and len(df) == 300
    validate_catalog(df, source="fetched")
    row = df.set_index("obj_id").loc[int(expected["objID"].iloc[0])]
    assert row["g"] == pytest.approx(float(expected["gMeanPSFMag"].iloc[0]), abs=1e-5)
    assert row["n_g"] == expected["ng"].iloc[0] and row["qf_g"] == pytest.approx(expected["gQfPerfect"].iloc[0])
    c = SkyCoord(row["ra"] * u.deg, row["dec"] * u.deg).galactic
    assert row["l"] == pytest.approx(c.l.deg) and row["b"] == pytest.approx(c.b.deg)
    assert "prob_star" not in df.columns and res.provenance["prob_star"] is False


def test_annulus_fetch_keeps_only_the_annulus_and_counts_the_rest(archive, tmp_path):
    region = GalacticAnnulus(78, 80)
    res = PS1Fetcher(tmp_path, region, tile_deg=8.0, progress=False).run()
    t = source_table("ps1dr2_meanobjectview.xml").to_pandas()
    b = SkyCoord(t["raMean"].to_numpy() * u.deg, t["decMean"].to_numpy() * u.deg).galactic.b.deg
    expected = t["objID"][(b >= 78) & (b <= 80)]
    assert sorted(res.catalog["obj_id"]) == sorted(expected.tolist())
    assert res.n_outside_region > 0  # the synthetic rows just outside the annulus fall into edge tiles
    assert len(archive.queries("ps1")) == res.n_tiles


def test_interrupted_fetch_resumes_to_the_same_catalog(archive, tmp_path):
    region = GalacticAnnulus(78, 80)
    full = PS1Fetcher(tmp_path / "full", region, tile_deg=8.0, progress=False).run().catalog
    n_tiles = len(make_tiles(region, 8.0))

    archive.inject("/ps1/async", "status:400", after=6, exact=True)  # the 7th job of the 2nd fetch
    out = tmp_path / "resumed"
    with pytest.raises(ArchiveError, match="run the same command again to resume"):
        PS1Fetcher(out, region, tile_deg=8.0, progress=False).run()
    saved = len(list((out / "tiles").glob("tile_*.parquet")))
    assert 6 <= saved < n_tiles
    (out / "tiles" / ".tile_99999.parquet.abc.partial").write_bytes(b"half a file")  # a killed write

    before = len(archive.queries("ps1"))
    res = PS1Fetcher(out, region, tile_deg=8.0, progress=False).run()
    assert len(archive.queries("ps1")) - before == n_tiles - saved
    assert res.n_tiles_resumed == saved
    pd.testing.assert_frame_equal(res.catalog, full)


def test_resuming_with_other_settings_is_refused(archive, tmp_path):
    PS1Fetcher(tmp_path, M3_CONE, progress=False).run()
    with pytest.raises(ConfigError, match="different region"):
        PS1Fetcher(tmp_path, Cone(205.5, 28.4, 0.05), progress=False).run()


def test_strm_probabilities_are_joined_when_offered(archive, tmp_path, monkeypatch):
    monkeypatch.setenv("SEDSCAPE_PS1_STRM_TAP_URL", archive.url("strm"))
    df = PS1Fetcher(tmp_path, M3_CONE, progress=False).run().catalog
    strm = source_table("ps1_strm.xml").to_pandas().set_index("objID")["prob_Star"]
    assert df["prob_star"].to_numpy() == pytest.approx(strm.loc[df["obj_id"]].to_numpy())
    assert any("prob_Star" in q for q in archive.queries("strm"))


def test_cli_fetch_writes_raw_and_selected_and_prints_the_funnel(archive, tmp_path, capsys, cli):
    out = tmp_path / "m3"
    args = ["fetch", "ps1", "--cone", "205.548417", "28.377278", "0.1", "--out", str(out), "--ebv", "none"]
    assert cli(args) == 0
    text = capsys.readouterr().out
    assert "merged 300 rows" in text and "rows kept" in text and "prob_star" in text
    raw, sel = read_parquet(out / "ps1_raw.parquet"), read_parquet(out / "ps1_selected.parquet")
    assert len(raw) == 300 and 0 < len(sel) < 300
    assert (sel[["g_err", "r_err", "i_err", "z_err", "y_err"]] <= 0.05).all().all()
    assert sel.attrs["sedscape"]["funnel"]["n_input"] == 300
    assert cli(args) == 2  # outputs exist: refused without --overwrite
    assert "--overwrite" in capsys.readouterr().err


def test_server_cuts_shrink_the_download(archive, tmp_path):
    res = PS1Fetcher(tmp_path, M3_CONE, server_cuts=True, progress=False).run()
    assert "ng >= 5" in archive.queries("ps1")[-1]
    full = _truth_rows(M3_CONE)
    assert 0 < len(res.catalog) < len(full)
    assert (res.catalog[["n_g", "n_r", "n_i", "n_z", "n_y"]] >= 5).all().all()


def test_fetch_help_explains_the_paper_data_set(capsys, cli):
    with pytest.raises(SystemExit):
        cli(["fetch", "ps1", "--help"])
    text = capsys.readouterr().out
    assert "--galactic-annulus 60 80" in text and "3.1 million" in text and "assumptions" in text


def test_ctrl_c_after_some_tiles_stops_early_and_resumes(archive, tmp_path):
    region = GalacticAnnulus(78, 80)
    full = PS1Fetcher(tmp_path / "full", region, tile_deg=8.0, progress=False).run().catalog
    n_tiles = len(make_tiles(region, 8.0))
    seen = []

    def interrupt(tile):
        seen.append(tile)
        if len(seen) == 3:
            raise KeyboardInterrupt

    out = tmp_path / "killed"
    fetcher = PS1Fetcher(out, region, tile_deg=8.0, progress=False, config=archive_config("ps1", max_workers=2))
    with pytest.raises(KeyboardInterrupt):
        fetcher.run(on_tile=interrupt)
    saved = len(list((out / "tiles").glob("tile_*.parquet")))
    assert 3 <= saved <= 3 + 2 + 1 < n_tiles  # queued tiles were cancelled, not fetched
    res = PS1Fetcher(out, region, tile_deg=8.0, progress=False).run()
    assert res.n_tiles_resumed == saved
    pd.testing.assert_frame_equal(res.catalog, full)


def test_reader_aliases_and_the_local_mapping_agree():
    from core.archives.ps1 import PS1_COLUMNS, PS1_TO_CONTRACT, _rename_map

    assert _rename_map([*PS1_COLUMNS, "prob_Star"]) == {**PS1_TO_CONTRACT, "prob_Star": "prob_star"}


def test_cli_refuses_to_write_an_empty_region(archive, tmp_path, capsys, cli):
    out = tmp_path / "south"
    assert cli(["fetch", "ps1", "--cone", "10", "-60", "0.1", "--out", str(out), "--ebv", "none"]) == 2
    assert "no PS1 objects" in capsys.readouterr().err
    assert not (out / "ps1_raw.parquet").exists()


# LSDB and nested-pandas warn about pandas 4 deprecations in their own code; not a format drift of ours.
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.filterwarnings("ignore::FutureWarning")
def test_cli_fetch_streams_tiles_into_hats_catalogs(archive, tmp_path, capsys, cli):
    from core.partitioned import is_hats, read_catalog_any

    out = tmp_path / "annulus"
    args = ["fetch", "ps1", "--galactic-annulus", "78", "80", "--tile-deg", "8", "--out", str(out),
            "--ebv", "none", "--format", "hats"]
    assert cli(args) == 0
    text = capsys.readouterr().out
    assert "streamed" in text and "rows kept" in text
    full = PS1Fetcher(tmp_path / "merged", GalacticAnnulus(78, 80), tile_deg=8.0, progress=False).run().catalog
    raw, sel = read_catalog_any(out / "ps1_raw"), read_catalog_any(out / "ps1_selected")
    assert is_hats(out / "ps1_raw") and is_hats(out / "ps1_selected")
    pd.testing.assert_frame_equal(raw.sort_values("obj_id").reset_index(drop=True), full)
    assert sel.attrs["sedscape"]["funnel"]["n_input"] == len(full) == len(raw)
    assert sel.attrs["sedscape"]["funnel"]["n_output"] == len(sel) > 0
    assert cli(args) == 2  # refused without --overwrite
