"""Replay helpers for the loopback archive: the recorded tables and the per-service responders.

A responder turns a query (ADQL text + uploaded tables) into the VOTable bytes the real service would
send for it, using the rows of tests/data/archives; it does only the filtering our clients' queries need.
"""

from __future__ import annotations

import io
import json
from functools import cache
from pathlib import Path

import numpy as np
from astropy.io.votable import from_table, parse_single_table
from astropy.table import Table
from loopback import QueryRejected, adql_box, adql_circle, adql_radius

DATA = Path(__file__).resolve().parents[2] / "data" / "archives"


@cache
def source_table(name: str) -> Table:
    return parse_single_table(str(DATA / name)).to_table()


@cache
def truth() -> dict:
    return json.loads((DATA / "truth.json").read_text())


def votable_bytes(table: Table) -> bytes:
    vot = from_table(table)
    vot.resources[0].type = "results"
    buf = io.BytesIO()
    vot.to_xml(buf)
    return buf.getvalue()


def _sep_arcsec(ra1, dec1, ra2, dec2):
    ra1, dec1, ra2, dec2 = map(np.radians, (ra1, dec1, ra2, dec2))
    h = np.sin((dec2 - dec1) / 2) ** 2 + np.cos(dec1) * np.cos(dec2) * np.sin((ra2 - ra1) / 2) ** 2
    return np.degrees(2 * np.arcsin(np.sqrt(h))) * 3600


def _region_rows(table: Table, adql: str) -> Table:
    box = adql_box(adql)
    if box is None:
        raise QueryRejected("expected raMean/decMean box conditions")
    ra, dec = np.asarray(table["raMean"]), np.asarray(table["decMean"])
    keep = (ra >= box[0]) & (ra < box[1]) & (dec >= box[2]) & (dec < box[3])
    circle = adql_circle(adql)
    if circle is not None:
        keep &= _sep_arcsec(circle[0], circle[1], ra, dec) <= circle[2] * 3600
    return table[keep]


def detection_responder(adql: str) -> bytes:
    """``SELECT ... FROM dbo.Detection WHERE objID IN (...)``: the recorded detections of those objects."""
    import re

    m = re.search(r"objID IN \(([\d,\s]+)\)", adql)
    if m is None:
        raise QueryRejected("expected objID IN (...) on dbo.Detection")
    ids = {int(x) for x in m.group(1).split(",")}
    rows = source_table("ps1dr2_detection.xml")
    rows = rows[np.isin(np.asarray(rows["objID"]), list(ids))]
    wanted = adql.split("SELECT", 1)[1].split("FROM", 1)[0].replace(" ", "").split(",")
    return votable_bytes(rows[wanted])


def ps1_responder(adql: str, uploads: dict) -> bytes:
    if "FROM dbo.Detection" in adql:
        return detection_responder(adql)
    if "FROM dbo.MeanObjectView" not in adql:
        raise QueryRejected(f"unknown table in: {adql[:80]}")
    rows = _region_rows(source_table("ps1dr2_meanobjectview.xml"), adql)
    if "ng >= 5" in adql:  # the server-side cuts
        keep = np.ones(len(rows), bool)
        for b in "grizy":
            keep &= (np.asarray(rows[f"n{b}"]) >= 5) & (np.asarray(rows[f"{b}MeanPSFMagErr"]) >= 0)
            keep &= np.asarray(rows[f"{b}MeanPSFMagErr"]) <= 0.05
        rows = rows[keep]
    wanted = adql.split("SELECT", 1)[1].split("FROM", 1)[0].replace(" ", "").split(",")
    return votable_bytes(rows[wanted])


def strm_responder(adql: str, uploads: dict) -> bytes:
    rows = _region_rows(source_table("ps1_strm.xml"), adql)
    return votable_bytes(rows["objID", "prob_Star"])


def _upload_join(adql: str, uploads: dict, sources: Table, keep_cols: list[str]) -> Table:
    cat = uploads.get("cat")
    if cat is None or "TAP_UPLOAD.cat" not in adql:
        raise QueryRejected("expected an uploaded table 'cat' and TAP_UPLOAD.cat in the query")
    r = adql_radius(adql) * 3600
    sep = _sep_arcsec(np.asarray(cat["ra"])[:, None], np.asarray(cat["dec"])[:, None],
                      np.asarray(sources["ra"])[None, :], np.asarray(sources["dec"])[None, :])
    i, j = np.nonzero(sep <= r)
    out = Table({"obj_id": np.asarray(cat["obj_id"], dtype=np.int64)[i]})
    for c in keep_cols:
        out[c] = sources[c][j]
    out["sep_arcsec"] = sep[i, j]
    return out


def gaia_responder(adql: str, uploads: dict) -> bytes:
    if "panstarrs1_best_neighbour" in adql:
        cat, best, src = uploads["cat"], source_table("gaiadr3_panstarrs1_best_neighbour.xml"), \
            source_table("gaiadr3_gaia_source.xml")
        ids = set(np.asarray(cat["obj_id"]).tolist())
        rows = best[[int(x) in ids for x in best["original_ext_source_id"]]]
        plx = {int(s["source_id"]): (s["parallax"], s["parallax_error"]) for s in src}
        out = Table({"obj_id": np.asarray(rows["original_ext_source_id"], dtype=np.int64),
                     "source_id": rows["source_id"], "sep_arcsec": rows["angular_distance"],
                     "number_of_neighbours": rows["number_of_neighbours"]})
        out["parallax"] = [plx[int(s)][0] for s in rows["source_id"]]
        out["parallax_error"] = [plx[int(s)][1] for s in rows["source_id"]]
        return votable_bytes(out)
    if "gaiadr3.gaia_source" not in adql:
        raise QueryRejected("unknown table")
    return votable_bytes(_upload_join(adql, uploads, source_table("gaiadr3_gaia_source.xml"),
                                      ["source_id", "parallax", "parallax_error"]))


def simbad_responder(adql: str, uploads: dict) -> bytes:
    if "basic AS b" not in adql:
        raise QueryRejected("unknown table")
    out = _upload_join(adql, uploads, source_table("simbad_basic.xml"), ["main_id", "otype"])
    return votable_bytes(out)
