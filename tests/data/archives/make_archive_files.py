"""Regenerate the archive response files replayed by tests/core/archives (seeded; run from the repo root).

    .venv/bin/python tests/data/archives/make_archive_files.py

The files use the services' formats and column names (VOTable with the PS1 DR2 ``MeanObjectView``,
Gaia DR3 ``gaia_source`` / ``panstarrs1_best_neighbour``, SIMBAD ``basic`` and PS1-STRM columns; the
``ps1filenames.py`` text table; a JPEG). The rows are synthetic: positions around M3 (a 0.1 deg cone)
and across the 78 <= b <= 80 deg annulus, with designed cross-match cases listed in ``truth.json``.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
from astropy.table import Table

HERE = Path(__file__).resolve().parent
M3 = (205.548417, 28.377278)
ARCSEC = 1 / 3600.0


def _offset(ra, dec, dist_arcsec, angle_rad):
    dra = dist_arcsec * ARCSEC * np.sin(angle_rad) / np.cos(np.radians(dec))
    ddec = dist_arcsec * ARCSEC * np.cos(angle_rad)
    return ra + dra, dec + ddec


def _photometry(rng, n):
    r = rng.uniform(15.0, 20.5, n)
    gr = rng.uniform(0.15, 1.4, n)
    ri = 0.45 * gr + rng.normal(0, 0.03, n)
    iz = 0.25 * gr + rng.normal(0, 0.02, n)
    zy = 0.1 * gr + rng.normal(0, 0.02, n)
    mags = {"g": r + gr, "r": r, "i": r - ri, "z": r - ri - iz, "y": r - ri - iz - zy}
    out = {}
    for b, m in mags.items():
        err = 0.004 + 0.05 * 10 ** (0.4 * (m - 21.0))
        out[f"{b}MeanPSFMag"] = m.astype(np.float32)
        out[f"{b}MeanPSFMagErr"] = err.astype(np.float32)
        out[f"n{b}"] = rng.poisson(14, n).astype(np.int16)
        out[f"{b}QfPerfect"] = np.where(rng.random(n) < 0.93, rng.uniform(0.995, 1.0, n), rng.uniform(0.6, 0.98, n)
                                        ).astype(np.float32)
    missing = rng.random(n) < 0.05
    band = rng.choice(list("grizy"), n)
    for b in "grizy":
        sel = missing & (band == b)
        out[f"{b}MeanPSFMag"][sel] = -999.0
        out[f"{b}MeanPSFMagErr"][sel] = -999.0
        out[f"n{b}"][sel] = 0
    return out


def _galactic_to_icrs(l_deg, b_deg):
    import astropy.units as u
    from astropy.coordinates import SkyCoord

    c = SkyCoord(l=l_deg * u.deg, b=b_deg * u.deg, frame="galactic").icrs
    return c.ra.deg, c.dec.deg


def make_ps1(rng):
    n_cone, n_ann, n_out = 300, 500, 60
    r = 0.1 * np.sqrt(rng.random(n_cone))
    ra_c, dec_c = _offset(M3[0], M3[1], r * 3600, rng.uniform(0, 2 * np.pi, n_cone))
    ra_a, dec_a = _galactic_to_icrs(rng.uniform(0, 360, n_ann), np.degrees(np.arcsin(
        rng.uniform(np.sin(np.radians(78.0)), np.sin(np.radians(80.0)), n_ann))))
    b_out = np.where(rng.random(n_out) < 0.5, rng.uniform(77.0, 77.95, n_out), rng.uniform(80.05, 81.0, n_out))
    ra_o, dec_o = _galactic_to_icrs(rng.uniform(0, 360, n_out), b_out)
    ra = np.concatenate([ra_c, ra_a, ra_o]) % 360
    dec = np.concatenate([dec_c, dec_a, dec_o])
    n = len(ra)
    # PS1 objID encodes the position (Flewelling et al. 2020); any unique int64 serves the tests.
    obj = (np.floor((dec + 180) / (1 / 120)) * 1e13 + np.floor(ra / 360 * 1e9) * 1e4).astype(np.int64)
    obj += np.arange(n, dtype=np.int64)
    cols = {"objID": obj, "raMean": ra, "decMean": dec,
            "raMeanErr": rng.uniform(0.005, 0.15, n).astype(np.float32),
            "decMeanErr": rng.uniform(0.005, 0.15, n).astype(np.float32)}
    phot = _photometry(rng, n)
    cols["nDetections"] = sum(phot[f"n{b}"] for b in "grizy").astype(np.int16)
    for b in "grizy":
        cols[f"n{b}"] = phot[f"n{b}"]
    for b in "grizy":
        cols[f"{b}QfPerfect"] = phot[f"{b}QfPerfect"]
    for b in "grizy":
        cols[f"{b}MeanPSFMag"] = phot[f"{b}MeanPSFMag"]
    for b in "grizy":
        cols[f"{b}MeanPSFMagErr"] = phot[f"{b}MeanPSFMagErr"]
    return Table(cols), n_cone


def make_gaia(rng, ps1, n_cone):
    """Designed cases on the cone objects: unique, ambiguous (2 inside 0.25"), outside radius, none."""
    truth = {"unique": {}, "ambiguous": [], "outside": [], "none": []}
    rows = []
    sid = 1_000_000_000_000
    for k in range(n_cone):
        oid, ra, dec = int(ps1["objID"][k]), float(ps1["raMean"][k]), float(ps1["decMean"][k])
        case = k % 10
        if case < 6:  # one source within 0.1"
            sid += 1
            plx = rng.choice([rng.uniform(0.4, 5.0), rng.uniform(-0.5, 0.05)], p=[0.85, 0.15])
            rows.append((sid, *_offset(ra, dec, rng.uniform(0, 0.1), rng.uniform(0, 6.28)), plx,
                         rng.uniform(0.01, 0.3)))
            truth["unique"][str(oid)] = sid
        elif case == 6:  # two sources inside 0.25": ambiguous, no match
            for _ in range(2):
                sid += 1
                rows.append((sid, *_offset(ra, dec, rng.uniform(0.05, 0.2), rng.uniform(0, 6.28)), 1.0, 0.05))
            truth["ambiguous"].append(oid)
        elif case == 7:  # one source at 0.4": outside the radius
            sid += 1
            rows.append((sid, *_offset(ra, dec, 0.4, rng.uniform(0, 6.28)), 1.0, 0.05))
            truth["outside"].append(oid)
        else:
            truth["none"].append(oid)
    src = Table(rows=rows, names=("source_id", "ra", "dec", "parallax", "parallax_error"),
                dtype=(np.int64, float, float, np.float64, np.float32))
    # Gaia's own PS1 best-neighbour table for the unique and ambiguous cases.
    bn = []
    by_obj = {}
    for r in src:
        sep = np.hypot((r["ra"] - ps1["raMean"]) * np.cos(np.radians(r["dec"])), r["dec"] - ps1["decMean"]) * 3600
        j = int(np.argmin(sep))
        by_obj.setdefault(int(ps1["objID"][j]), []).append((int(r["source_id"]), float(sep[j])))
    for oid, lst in by_obj.items():
        best = min(lst, key=lambda t: t[1])
        bn.append((best[0], oid, best[1], len(lst) if best[1] < 0.3 else 1, 0))
    best = Table(rows=bn, names=("source_id", "original_ext_source_id", "angular_distance",
                                 "number_of_neighbours", "number_of_mates"),
                 dtype=(np.int64, np.int64, np.float32, np.int16, np.int16))
    return src, best, truth


def make_simbad(rng, ps1, n_cone):
    """Nearest-wins cases, a few non-stellar objects and otype spellings of both kinds."""
    otypes = ["WD*", "RG*", "HB*", "BS*", "RR*", "MS*", "HotSubdwarf", "RGB*", "PM*", "EB*", "G", "QSO", "*"]
    truth = {"nearest": {}, "none": []}
    rows = []
    for k in range(0, n_cone, 3):
        oid, ra, dec = int(ps1["objID"][k]), float(ps1["raMean"][k]), float(ps1["decMean"][k])
        ot = otypes[(k // 3) % len(otypes)]
        name = f"SIM {k:04d}"
        rows.append((name, *_offset(ra, dec, rng.uniform(0.05, 0.6), rng.uniform(0, 6.28)), ot))
        if k % 2 == 0:  # a second, farther object inside 1" must lose
            rows.append((f"SIM {k:04d}b", *_offset(ra, dec, 0.9, rng.uniform(0, 6.28)), "V*"))
        truth["nearest"][str(oid)] = [name, ot]
    for k in range(1, n_cone, 3):
        oid, ra, dec = int(ps1["objID"][k]), float(ps1["raMean"][k]), float(ps1["decMean"][k])
        if k % 6 == 1:  # only an object beyond 1"
            rows.append((f"FAR {k:04d}", *_offset(ra, dec, 1.6, 1.0), "RR*"))
        truth["none"].append(oid)
    tab = Table(rows=rows, names=("main_id", "ra", "dec", "otype"), dtype=(str, float, float, str))
    return tab, truth


def make_detections(ps1, n_obj: int = 40):
    """PS1 DR2 ``Detection`` rows for the first ``n_obj`` cone objects: ~12 per band in pairs 15 min apart,
    psfFlux in Jy; object 0 is a sinusoid of period 0.5731 d (0.4 mag in g), a few rows have psfFlux <= 0
    or bad infoFlag bits (0x8 FAIL). Its own random stream, so the other files do not change."""
    rng = np.random.default_rng(20250114)
    rows = []
    det_id = 90_000_000_000
    for k in range(n_obj):
        oid = int(ps1["objID"][k])
        for f, b in enumerate("grizy", start=1):
            base = float(ps1[f"{b}MeanPSFMag"][k])
            base = 19.0 if base < 0 else base
            nights = 55200 + np.sort(rng.choice(1270, 6, replace=False)) + 0.42
            t = np.sort(np.concatenate([nights, nights + 15 / 1440]))
            m = base + (0.4 * (1 - 0.12 * (f - 1)) * np.sin(2 * np.pi * t / 0.5731) if k == 0 else 0.0)
            err = 0.01 + 0.02 * 10 ** (0.4 * (base - 21.0))
            flux = 3631.0 * 10 ** (-0.4 * (m + rng.normal(0, err, t.size)))
            for ti, fl in zip(t, flux, strict=True):
                det_id += 1
                rows.append((oid, det_id, f, ti, fl, fl * err / 1.0857, rng.uniform(0.99, 1.0), 0x1 | 0x4))
    tab = Table(rows=rows, names=DETECTION_NAMES,
                dtype=(np.int64, np.int64, np.int16, float, np.float32, np.float32, np.float32, np.int32))
    tab["psfFlux"][[3, 77]] = [-2.1e-6, 0.0]
    tab["infoFlag"][[5, 140]] |= 0x8
    return tab


DETECTION_NAMES = ("objID", "detectID", "filterID", "obsTime", "psfFlux", "psfFluxErr", "psfQfPerfect", "infoFlag")


def _write_votable(table: Table, path: Path, name: str) -> None:
    from astropy.io.votable import from_table

    vot = from_table(table, table_id=name)
    vot.resources[0].type = "results"
    buf = io.BytesIO()
    vot.to_xml(buf)
    path.write_bytes(buf.getvalue())


def main() -> None:
    rng = np.random.default_rng(20250101)
    ps1, n_cone = make_ps1(rng)
    _write_votable(ps1, HERE / "ps1dr2_meanobjectview.xml", "MeanObjectView")
    strm = Table({"objID": ps1["objID"], "raMean": ps1["raMean"], "decMean": ps1["decMean"],
                  "prob_Star": np.where(rng.random(len(ps1)) < 0.9, rng.uniform(0.99, 1.0, len(ps1)),
                                        rng.uniform(0, 0.9, len(ps1))).astype(np.float32)})
    _write_votable(strm, HERE / "ps1_strm.xml", "catalogRecordRowStore")
    gaia, best, gtruth = make_gaia(rng, ps1, n_cone)
    _write_votable(gaia, HERE / "gaiadr3_gaia_source.xml", "gaia_source")
    _write_votable(best, HERE / "gaiadr3_panstarrs1_best_neighbour.xml", "panstarrs1_best_neighbour")
    simbad, struth = make_simbad(rng, ps1, n_cone)
    _write_votable(make_detections(ps1), HERE / "ps1dr2_detection.xml", "Detection")
    _write_votable(simbad, HERE / "simbad_basic.xml", "basic")
    (HERE / "truth.json").write_text(json.dumps({"n_cone": n_cone, "gaia": gtruth, "simbad": struth}, indent=1))
    (HERE / "ps1filenames_m3.txt").write_text(
        "projcell subcell ra dec filter mjd type filename shortname badflag\n"
        + "".join(f"1972 071 205.548417 28.377278 {f} 0 stack /rings.v3.skycell/1972/071/"
                  f"rings.v3.skycell.1972.071.stk.{f}.unconv.fits rings.v3.skycell.1972.071.stk.{f}.unconv.fits 0\n"
                  for f in "gri"))
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (60, 60), (5, 5, 12))
    ImageDraw.Draw(img).ellipse([22, 22, 38, 38], fill=(255, 230, 180))
    img.save(HERE / "fitscut_m3_gri.jpg", format="JPEG", quality=80)


if __name__ == "__main__":
    main()
