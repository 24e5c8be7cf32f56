"""Cross-match-like labels for the mock sky: SIMBAD object types and identifiers.

About 2.3 per cent of the paper's stars have a SIMBAD match (70,196 of ~3.1M). Bright stars and
interesting classes (white dwarfs, horizontal-branch stars, quasars, cluster members) are far more
often catalogued than faint main-sequence stars; a small fraction get a wrong type, as in any
heterogeneous database.
"""

from __future__ import annotations

import numpy as np

from core.mock.populations import CLASS_CODE

# Every SIMBAD ``basic.otype`` short code the mock sky can emit (SIMBAD's 2020 codes). The SIMBAD
# client's category mapping is tested against this tuple, so add new codes here.
SIMBAD_OTYPES: tuple[str, ...] = (
    "*", "**", "PM*", "HV*", "V*", "Pu*", "BY*", "RS*", "EB*", "SB*", "CV*", "MS*", "LM*", "BD*", "Fl*",
    "Pe*", "Em*", "RG*", "Ev*", "AB*", "C*", "LP*", "HB*", "RR*", "BS*", "SX*", "HS*", "WD*", "WD?",
    "QSO", "AGN", "Sy1", "BLL", "G", "EmG", "blu", "UV", "X", "IR", "Rad", "?",
)

# otypes and their relative frequencies for each true class, as SIMBAD lists faint (r 14-21) stars at
# high Galactic latitude: mostly a bare "*" or a proper-motion, variability or survey label; the
# specific classes (white dwarfs, RR Lyrae, quasars) mostly by their own type from dedicated surveys;
# a few per cent only as a detection at another wavelength (UV, X-ray, IR, radio) or a "blue object".
OTYPES_BY_CLASS: dict[str, tuple[tuple[str, float], ...]] = {
    "ms": (("*", 0.52), ("PM*", 0.18), ("V*", 0.05), ("**", 0.04), ("EB*", 0.03), ("SB*", 0.02), ("BY*", 0.03),
           ("HV*", 0.04), ("MS*", 0.03), ("Pe*", 0.02), ("UV", 0.02), ("X", 0.01), ("?", 0.01)),
    "mdwarf": (("PM*", 0.42), ("*", 0.20), ("LM*", 0.14), ("BY*", 0.05), ("Em*", 0.05), ("BD*", 0.02),
               ("**", 0.04), ("V*", 0.03), ("Fl*", 0.02), ("X", 0.02), ("IR", 0.01)),
    "giant": (("*", 0.35), ("RG*", 0.30), ("Ev*", 0.08), ("AB*", 0.04), ("C*", 0.04), ("V*", 0.05),
              ("LP*", 0.04), ("RS*", 0.04), ("Pe*", 0.03), ("HV*", 0.03)),
    "rhb": (("HB*", 0.6), ("*", 0.4)),
    "bhb": (("HB*", 0.65), ("*", 0.12), ("BS*", 0.08), ("blu", 0.10), ("HV*", 0.05)),
    "rrlyrae": (("RR*", 0.80), ("V*", 0.12), ("Pu*", 0.05), ("*", 0.03)),
    "bss": (("BS*", 0.45), ("*", 0.25), ("SX*", 0.10), ("V*", 0.05), ("HB*", 0.05), ("blu", 0.10)),
    "sdb": (("HS*", 0.70), ("blu", 0.10), ("WD?", 0.05), ("*", 0.10), ("UV", 0.05)),
    "wd_da": (("WD*", 0.80), ("WD?", 0.10), ("PM*", 0.04), ("blu", 0.04), ("UV", 0.02)),
    "wd_db": (("WD*", 0.80), ("WD?", 0.10), ("PM*", 0.04), ("blu", 0.04), ("UV", 0.02)),
    # Most unresolved pairs are not known to be binaries.
    "binary_ms_ms": (("*", 0.50), ("PM*", 0.14), ("**", 0.12), ("SB*", 0.08), ("EB*", 0.10), ("RS*", 0.02),
                     ("BY*", 0.04)),
    "binary_wd_m": (("WD*", 0.40), ("CV*", 0.20), ("SB*", 0.15), ("Em*", 0.10), ("**", 0.10), ("X", 0.05)),
    "qso": (("QSO", 0.75), ("AGN", 0.05), ("Sy1", 0.05), ("BLL", 0.03), ("X", 0.05), ("Rad", 0.02),
            ("blu", 0.03), ("UV", 0.02)),
    "galaxy": (("G", 0.80), ("EmG", 0.12), ("IR", 0.03), ("Rad", 0.05)),
    "artefact": (("*", 0.70), ("V*", 0.15), ("PM*", 0.10), ("?", 0.05)),
}
# Globular-cluster members: SIMBAD lists them as "*" or by their phase (2020 retired "*iC").
CLUSTER_OTYPES: tuple[tuple[str, float], ...] = (
    ("*", 0.55),
    ("RG*", 0.15),
    ("HB*", 0.10),
    ("RR*", 0.08),
    ("BS*", 0.04),
    ("V*", 0.04),
    ("AB*", 0.02),
    ("EB*", 0.02),
)

# Relative chance of being in SIMBAD at a given magnitude, by class (ms = 1).
CLASS_BOOST: dict[str, float] = {
    "ms": 1.0,
    "mdwarf": 1.5,
    "giant": 2.0,
    "rhb": 8.0,
    "bhb": 20.0,
    "rrlyrae": 40.0,
    "bss": 5.0,
    "sdb": 30.0,
    "wd_da": 25.0,
    "wd_db": 25.0,
    "binary_ms_ms": 1.0,
    "binary_wd_m": 25.0,
    "qso": 40.0,
    "galaxy": 10.0,
    "artefact": 1.0,
}
CLUSTER_BOOST = 15.0
MISLABEL_RATE = 0.03
# Calibrated so that ~2.3% of the stars that pass the paper's cuts are labelled (70,196 / 3.1M).
BASE_RATE = 0.0185


def match_probability(r: np.ndarray, class_code: np.ndarray, in_cluster: np.ndarray) -> np.ndarray:
    """Chance that SIMBAD knows the object: steeply higher for bright stars, boosted for rare classes.

    ``class_code`` indexes :data:`core.mock.populations.TRUE_CLASSES`.
    """
    r = np.nan_to_num(np.asarray(r, float), nan=25.0)
    bright = 10 ** (-0.45 * (r - 17.0))
    table = np.ones(len(CLASS_CODE))
    for cls, factor in CLASS_BOOST.items():
        table[CLASS_CODE[cls]] = factor
    boost = table[class_code]
    boost[in_cluster] *= CLUSTER_BOOST
    return np.clip(BASE_RATE * bright * boost, 0.0, 0.95)


def draw_otypes(
    rng: np.random.Generator, class_code: np.ndarray, in_cluster: np.ndarray, matched: np.ndarray
) -> np.ndarray:
    """Index into :data:`SIMBAD_OTYPES` for each matched row (-1 elsewhere), mislabelled at MISLABEL_RATE."""
    out = np.full(len(class_code), -1, dtype=np.int16)
    rows = np.flatnonzero(matched)
    codes, cl = class_code[rows], in_cluster[rows]
    for cls, choices in OTYPES_BY_CLASS.items():
        for subset, table in (
            ((codes == CLASS_CODE[cls]) & ~cl, choices),
            ((codes == CLASS_CODE[cls]) & cl, CLUSTER_OTYPES),
        ):
            idx = rows[subset]
            if idx.size:
                names = np.array([SIMBAD_OTYPES.index(c) for c, _ in table])
                p = np.array([w for _, w in table])
                out[idx] = names[rng.choice(len(names), size=idx.size, p=p / p.sum())]
    wrong = rows[rng.random(rows.size) < MISLABEL_RATE]
    out[wrong] = rng.integers(0, len(SIMBAD_OTYPES), wrong.size)
    return out


def _sexagesimal(ra: np.ndarray, dec: np.ndarray) -> list[str]:
    """'HHMMSS.ss+DDMMSS.s' strings (IAU-style designations)."""
    out = []
    for a, d in zip(ra, dec, strict=True):
        h = a / 15.0
        hh, mm = int(h), int((h % 1) * 60)
        ss = ((h * 60) % 1) * 60
        sign = "+" if d >= 0 else "-"
        ad = abs(d)
        dd, dm = int(ad), int((ad % 1) * 60)
        ds = ((ad * 60) % 1) * 60
        out.append(f"{hh:02d}{mm:02d}{ss:05.2f}{sign}{dd:02d}{dm:02d}{ds:04.1f}")
    return out


def simbad_ids(
    rng: np.random.Generator, otype_code: np.ndarray, ra: np.ndarray, dec: np.ndarray, cluster: np.ndarray
) -> np.ndarray:
    """Identifier strings for matched rows (``otype_code >= 0``) in the styles SIMBAD uses for such objects.

    ``cluster`` holds the cluster name of members ("" for field stars).
    """
    out = np.full(len(otype_code), None, dtype=object)
    idx = np.flatnonzero(otype_code >= 0)
    if not idx.size:
        return out
    names = _sexagesimal(ra[idx], dec[idx])
    gaia = rng.integers(1_000_000_000_000_000, 4_000_000_000_000_000_000, idx.size)
    style = rng.random(idx.size)
    for j, (k, name) in enumerate(zip(idx, names, strict=True)):
        o = SIMBAD_OTYPES[otype_code[k]]
        if cluster[k]:
            out[k] = f"Cl {cluster[k]} {rng.integers(1, 9000)}"
        elif o in ("WD*", "WD?"):
            out[k] = f"WD J{name}" if style[j] < 0.5 else f"SDSS J{name}"
        elif o in ("QSO", "AGN", "Sy1", "BLL", "G", "EmG"):
            out[k] = f"SDSS J{name}"
        elif o == "UV":
            out[k] = f"GALEX J{name[:8]}{name[9:16]}"
        elif o == "X":
            out[k] = f"1RXS J{name[:8]}{name[9:16]}"
        elif o == "blu":
            out[k] = f"PG {name[:4]}{name[9:12]}"
        elif o in ("HB*", "BS*", "RR*", "HS*"):
            out[k] = f"SDSS J{name}" if style[j] < 0.6 else f"Gaia DR3 {gaia[j]}"
        elif style[j] < 0.4:
            out[k] = f"Gaia DR3 {gaia[j]}"
        elif style[j] < 0.7:
            out[k] = f"2MASS J{name[:6]}{name[7:9]}{name[9:16]}{name[17]}"
        else:
            out[k] = f"TYC {rng.integers(1000, 5000)}-{rng.integers(1, 1500)}-1"
    return out
