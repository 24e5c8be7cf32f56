"""SIMBAD cross-match over loopback (nearest within 1"); the otype -> category table is in test_otypes.py."""

from __future__ import annotations

import pytest
from archive_replay import truth

from core.archives.otypes import simbad_category
from core.archives.simbad import crossmatch_simbad
from core.catalog import read_parquet, write_parquet
from core.errors import CatalogError


def test_nearest_object_within_one_arcsec_wins(archive, m3_catalog):
    t = truth()["simbad"]
    out, summary = crossmatch_simbad(m3_catalog, cache=False)
    by_id = out.set_index("obj_id")
    for oid, (name, otype) in t["nearest"].items():
        assert by_id.loc[int(oid), "simbad_id"] == name
        assert by_id.loc[int(oid), "simbad_otype"] == otype
        assert by_id.loc[int(oid), "simbad_category"] == simbad_category(otype)
    assert (by_id.loc[t["none"], "simbad_id"] == "").all()
    assert summary.n_matched == len(t["nearest"])
    assert (by_id.loc[[int(k) for k in t["nearest"]], "simbad_sep_arcsec"] <= 1.0).all()


def test_nonstellar_matches_are_listed_and_can_be_dropped(archive, m3_catalog):
    t = truth()["simbad"]["nearest"]
    expected = {}
    for _, otype in t.values():
        if simbad_category(otype) == "Non-stellar":
            expected[otype] = expected.get(otype, 0) + 1
    kept, s1 = crossmatch_simbad(m3_catalog, cache=False)
    assert s1.nonstellar_by_otype == expected and len(kept) == len(m3_catalog)
    assert "--drop-nonstellar" in s1.format()
    dropped, s2 = crossmatch_simbad(m3_catalog, drop_nonstellar=True)
    assert len(dropped) == len(m3_catalog) - sum(expected.values()) == len(m3_catalog) - s2.n_dropped_nonstellar
    assert not (dropped["simbad_category"] == "Non-stellar").any()


def test_position_error_limit_restricts_the_upload(archive, m3_catalog):
    err = (m3_catalog["ra_err_arcsec"] ** 2 + m3_catalog["dec_err_arcsec"] ** 2) ** 0.5 * 1000
    _, summary = crossmatch_simbad(m3_catalog, max_pos_err_mas=100, cache=False)
    assert summary.n_uploaded == int((err < 100).sum()) < len(m3_catalog)
    sent = [r for r in archive.requests if r.path == "/simbad/sync"][-1].uploads["cat"]
    assert len(sent) == summary.n_uploaded
    with pytest.raises(CatalogError, match="ra_err_arcsec"):
        crossmatch_simbad(m3_catalog.drop(columns=["ra_err_arcsec"]), max_pos_err_mas=100)


def test_cli_crossmatch_simbad(archive, m3_catalog, tmp_path, capsys, cli):
    src = tmp_path / "cat.parquet"
    write_parquet(m3_catalog, src)
    out = tmp_path / "simbad.parquet"
    assert cli(["crossmatch", "simbad", str(src), "--out", str(out), "--drop-nonstellar"]) == 0
    text = capsys.readouterr().out
    assert "non-stellar matches" in text and "dropped" in text
    df = read_parquet(out)
    assert {"simbad_id", "simbad_otype", "simbad_category"} <= set(df.columns)
    assert cli(["crossmatch", "simbad", str(src), "--out", str(out)]) == 2
