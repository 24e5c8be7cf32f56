"""Gaia DR3 cross-match over loopback: the paper's 0.25" unique-match rule, distances and the subset flag."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from archive_replay import source_table, truth

from core.archives.config import archive_config
from core.archives.gaia import add_distances, crossmatch_gaia
from core.catalog import read_parquet, write_parquet
from core.errors import CatalogError, ConfigError


@pytest.mark.parametrize("method, mode", [("cone", "async"), ("cone", "sync"), ("best_neighbour", "sync")])
def test_unique_ambiguous_outside_and_missing_cases(archive, m3_catalog, method, mode):
    t = truth()["gaia"]
    out, summary = crossmatch_gaia(m3_catalog, method=method, mode=mode, batch_size=120, cache=False)
    by_id = out.set_index("obj_id")
    unique = {int(k): v for k, v in t["unique"].items()}
    assert by_id.loc[list(unique), "gaia_source_id"].tolist() == list(unique.values())
    for key in ("ambiguous", "outside", "none"):
        assert by_id.loc[t[key], "gaia_source_id"].isna().all(), key
    assert (by_id.loc[t["ambiguous"], "gaia_n_within"] == 2).all()
    assert summary.n_matched == len(unique) and summary.n_ambiguous == len(t["ambiguous"])
    assert len(out) == len(m3_catalog) and out["obj_id"].tolist() == m3_catalog["obj_id"].tolist()
    n_batches = -(-len(m3_catalog) // 120)
    assert len(archive.queries("gaia")) == n_batches  # uploads went in batches


def test_parallaxes_come_from_the_matched_source(archive, m3_catalog):
    src = source_table("gaiadr3_gaia_source.xml").to_pandas().set_index("source_id")
    out, _ = crossmatch_gaia(m3_catalog, mode="sync", cache=False)
    m = out.dropna(subset=["gaia_source_id"])
    expected = src.loc[m["gaia_source_id"].astype("int64"), "parallax"].to_numpy()
    assert m["parallax"].to_numpy() == pytest.approx(expected)


def test_distance_absolute_magnitude_and_subset_rules():
    df = pd.DataFrame({"g": [15.0, 15.0, 15.0, 15.0, 15.0],
                       "parallax": [10.0, 0.5, 0.2, -1.0, np.nan],
                       "parallax_error": [0.1, 0.01, 0.001, 0.1, np.nan]})
    out = add_distances(df)
    # 10 mas -> 0.1 kpc = 100 pc -> M = 15 - 5 log10(100/10) = 10
    assert out["dist_kpc"][0] == pytest.approx(0.1) and out["abs_g"][0] == pytest.approx(10.0)
    assert out["dist_err_kpc"][0] == pytest.approx(0.1 / 100)
    # 0.5 mas: 2 kpc, sigma_d = 0.01/0.25 = 0.04 kpc -> in the subset
    assert out["dist_kpc"][1] == pytest.approx(2.0) and bool(out["gaia_subset"][1])
    # 0.2 mas: 5 kpc -> beyond 3 kpc, not in the subset
    assert not out["gaia_subset"][2]
    assert np.isnan(out["dist_kpc"][3]) and not out["gaia_subset"][3] and not out["gaia_subset"][4]


def test_sigma_d_cut_excludes_imprecise_parallaxes():
    out = add_distances(pd.DataFrame({"g": [15.0], "parallax": [1.0], "parallax_error": [0.2]}))
    assert out["dist_err_kpc"][0] == pytest.approx(0.2) and not out["gaia_subset"][0]


def test_second_run_is_served_from_the_cache(archive, m3_catalog):
    a, _ = crossmatch_gaia(m3_catalog, mode="sync")
    n = len(archive.queries("gaia"))
    b, _ = crossmatch_gaia(m3_catalog, mode="sync")
    assert len(archive.queries("gaia")) == n
    pd.testing.assert_frame_equal(a, b)


def test_bad_inputs_are_named(m3_catalog):
    with pytest.raises(ConfigError, match="unknown Gaia match method"):
        crossmatch_gaia(m3_catalog, method="nearest", config=archive_config("gaia"))
    with pytest.raises(CatalogError, match="'g'"):
        crossmatch_gaia(m3_catalog.drop(columns=["g"]))
    dup = pd.concat([m3_catalog.head(2), m3_catalog.head(1)])
    with pytest.raises(CatalogError, match="unique obj_id"):
        crossmatch_gaia(dup)


def test_cli_crossmatch_gaia(archive, m3_catalog, tmp_path, capsys, cli):
    src = tmp_path / "cat.parquet"
    write_parquet(m3_catalog, src)
    out = tmp_path / "gaia.parquet"
    assert cli(["crossmatch", "gaia", str(src), "--out", str(out), "--sync"]) == 0
    text = capsys.readouterr().out
    assert f"{len(truth()['gaia']['unique'])} matched" in text and "Gaia subset" in text
    df = read_parquet(out)
    assert {"gaia_source_id", "dist_kpc", "abs_g", "gaia_subset"} <= set(df.columns)
    assert df.attrs["sedscape"]["gaia"]["radius_arcsec"] == 0.25
