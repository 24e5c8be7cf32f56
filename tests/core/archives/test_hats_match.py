"""Cross-matching with LSDB against HATS catalogs of Gaia and SIMBAD: the paper's rules, margins, remote URLs."""

from __future__ import annotations

import functools
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pandas as pd
import pytest

from core.archives.hats_match import crossmatch_hats
from core.partitioned import is_hats, read_any_metadata, read_catalog_any, write_hats_frame
from tests._catalogs import make_catalog

# LSDB and nested-pandas warn about pandas 4 deprecations in their own code; not a format drift of ours.
pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::FutureWarning"),
]


def _offset(df: pd.DataFrame, arcsec: float, along: str) -> pd.DataFrame:
    out = df.copy()
    if along == "ra":
        out["ra"] = out["ra"] + arcsec / 3600 / np.cos(np.radians(out["dec"]))
    else:
        out["dec"] = out["dec"] + arcsec / 3600
    return out


@pytest.fixture(scope="module")
def skies(tmp_path_factory):
    """Our stars; Gaia: one source 0.1" away for stars 300+, a second 0.12" away for 300-399; SIMBAD:
    objects 0.6" and 0.3" from stars 0-199 (nearest is the second), nothing else."""
    import lsdb

    root = tmp_path_factory.mktemp("xm")
    df = make_catalog(2000, seed=2)
    write_hats_frame(df, root / "ours", partition_rows=300, metadata={"source": "test"})
    rng = np.random.default_rng(0)
    g = _offset(df[["ra", "dec"]].iloc[300:], 0.1, "ra")
    g["source_id"] = np.arange(len(g), dtype=np.int64) + 10**15
    g["parallax"] = rng.uniform(0.2, 3, len(g))
    g["parallax_error"] = 0.01
    second = _offset(g.iloc[:100], 0.12, "dec").assign(source_id=lambda t: t["source_id"] + 10**14)
    gaia = pd.concat([g, second], ignore_index=True)
    lsdb.from_dataframe(gaia, catalog_name="gaia", margin_threshold=5.0, partition_rows=400).write_catalog(
        root / "gaia", progress_bar=False
    )
    far = _offset(df[["ra", "dec"]].iloc[:200], 0.6, "ra").assign(main_id="far", otype="QSO")
    near = _offset(df[["ra", "dec"]].iloc[:200], 0.3, "dec").assign(
        main_id=[f"near {k}" for k in range(200)], otype="WD*"
    )
    lsdb.from_dataframe(
        pd.concat([far, near], ignore_index=True),
        catalog_name="simbad",
        margin_threshold=5.0,
        partition_rows=400,
    ).write_catalog(root / "simbad", progress_bar=False)
    return root, df, gaia


def test_gaia_unique_matches_only_across_partition_edges(skies):
    root, df, gaia = skies
    got, summary = crossmatch_hats(root / "ours", str(root / "gaia"))
    assert summary["margin"] and summary["n_input"] == len(df)
    assert (summary["n_matched"], summary["n_ambiguous"]) == (1600, 100)  # margins: none lost at an edge
    got = got.set_index("obj_id").loc[df["obj_id"]]
    ambiguous = df["obj_id"].iloc[300:400]
    unique = df["obj_id"].iloc[400:]
    assert (
        got.loc[ambiguous, "gaia_source_id"].isna().all() and (got.loc[ambiguous, "gaia_n_within"] == 2).all()
    )
    assert (got.loc[unique, "gaia_n_within"] == 1).all()
    want = gaia.iloc[100:1700]["parallax"].to_numpy()
    assert got.loc[unique, "parallax"].to_numpy() == pytest.approx(want)
    assert got.loc[unique, "dist_kpc"].to_numpy() == pytest.approx(1 / want)
    assert got.loc[df["obj_id"].iloc[:300], "gaia_n_within"].eq(0).all()


def test_simbad_nearest_object_and_category(skies):
    root, df, _ = skies
    got, summary = crossmatch_hats(root / "ours", str(root / "simbad"), survey="simbad")
    assert summary["n_matched"] == 200
    got = got.set_index("obj_id").loc[df["obj_id"].iloc[:200]]
    assert got["simbad_id"].tolist() == [f"near {k}" for k in range(200)]
    assert (got["simbad_otype"] == "WD*").all() and got["simbad_sep_arcsec"].to_numpy() == pytest.approx(
        0.3, abs=1e-3
    )
    assert got["simbad_category"].notna().all()


def test_remote_catalog_over_http_and_the_cli(skies, tmp_path, capsys):
    root, df, _ = skies
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *a, **k: None
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/gaia"
        from core.cli import main

        out = tmp_path / "matched"
        assert main(["crossmatch", "gaia", str(root / "ours"), "--hats", url, "--out", str(out)]) == 0
    finally:
        server.shutdown()
        server.server_close()
    assert "matched 1,600" in capsys.readouterr().out
    got = read_catalog_any(out)
    assert is_hats(out) and len(got) == len(df) and int((got["gaia_n_within"] == 1).sum()) == 1600
    meta = read_any_metadata(out)
    assert meta["source"] == "test" and meta["gaia"]["n_ambiguous"] == 100
