"""SIMBAD object types -> readable categories, table-driven over SIMBAD's codes, labels and candidates."""

from __future__ import annotations

import pytest

from core.archives.otypes import (
    BINARY,
    CATEGORIES,
    COMPACT,
    EMISSION,
    HE_CORE,
    HIGH_PM,
    MAIN_SEQUENCE,
    NON_STELLAR,
    OTHER,
    PHASELESS,
    POST_RGB,
    RGB,
    STAR,
    VARIABLE,
    is_known_otype,
    simbad_category,
)

# (otype as SIMBAD may write it, category): short codes, 2020 labels, older long names, candidates.
CASES = [
    # SIMBAD's generic star labels, old and new style
    ("*", STAR), ("Star", STAR), ("star", STAR), (" * ", STAR), ("*iC", STAR), ("Star_in_Cluster", STAR),
    ("Ma*", STAR),
    # kinematic family
    ("PM*", HIGH_PM), ("HighPM*", HIGH_PM), ("HV*", HIGH_PM), ("HighVel*", HIGH_PM),
    # emission-line stars
    ("Em*", EMISSION), ("EmLine*", EMISSION),
    # variable family (no phase)
    ("V*", VARIABLE), ("Variable*", VARIABLE), ("V*?", VARIABLE), ("Pu*", VARIABLE), ("PulsV*", VARIABLE),
    ("Ir*", VARIABLE), ("Er*", VARIABLE), ("Ro*", VARIABLE), ("RotV", VARIABLE),
    # double / multiple family
    ("**", BINARY), ("**?", BINARY), ("EB*", BINARY), ("EclBin", BINARY), ("EB?", BINARY), ("SB*", BINARY),
    ("El*", BINARY), ("RS*", BINARY), ("CV*", BINARY), ("CataclyV", BINARY), ("No*", BINARY), ("XB*", BINARY),
    ("LX?", BINARY), ("Sy*", BINARY),
    # phases: compact objects, main sequence (incl. the spectral-type classes LM*, BD*), He core, RGB, later
    ("WD*", COMPACT), ("WhiteDwarf", COMPACT), ("WD?", COMPACT), ("WhiteDwarf_Candidate", COMPACT),
    ("ZZ*", COMPACT), ("N*?", COMPACT),
    ("MS*", MAIN_SEQUENCE), ("MainSequence*", MAIN_SEQUENCE), ("MS?", MAIN_SEQUENCE), ("LM*", MAIN_SEQUENCE),
    ("Low-Mass*", MAIN_SEQUENCE), ("BD*", MAIN_SEQUENCE), ("BrownD*", MAIN_SEQUENCE), ("BS*", MAIN_SEQUENCE),
    ("BlueStraggler", MAIN_SEQUENCE), ("SX*", MAIN_SEQUENCE), ("BY*", MAIN_SEQUENCE), ("Pe*", MAIN_SEQUENCE),
    ("ChemPec", MAIN_SEQUENCE), ("Y*O", MAIN_SEQUENCE), ("TT?", MAIN_SEQUENCE),
    ("HB*", HE_CORE), ("HorBranch*", HE_CORE), ("RR*", HE_CORE), ("RRLyrae", HE_CORE), ("RR?", HE_CORE),
    (" rr* ", HE_CORE), ("Candidate_RR*", HE_CORE), ("HS*", HE_CORE), ("HotSubdwarf", HE_CORE), ("Ce*", HE_CORE),
    ("RG*", RGB), ("RGB*", RGB), ("RB?", RGB), ("Ev*", RGB), ("Evolved*", RGB),
    ("AB*", POST_RGB), ("AGB*", POST_RGB), ("post-AGB*", POST_RGB), ("C*", POST_RGB), ("LP*", POST_RGB),
    ("LongPeriodV*", POST_RGB), ("Mi*", POST_RGB), ("sg*", POST_RGB), ("s?r", POST_RGB), ("WR*", POST_RGB),
    # non-stellar, including SIMBAD's irregular candidate codes (Q? is a QSO, BL? a BL Lac, not a binary)
    ("G", NON_STELLAR), ("Galaxy", NON_STELLAR), ("G?", NON_STELLAR), ("QSO", NON_STELLAR), ("Q?", NON_STELLAR),
    ("BL?", NON_STELLAR), ("Bz?", NON_STELLAR), ("AG?", NON_STELLAR), ("Sy1", NON_STELLAR),
    ("EmG", NON_STELLAR), ("C?G", NON_STELLAR), ("HII", NON_STELLAR),
    # neither a star nor a galaxy: Other
    ("?", OTHER), ("Unknown", OTHER), ("X", OTHER), ("UV", OTHER), ("IR", OTHER), ("NIR", OTHER),
    ("Rad", OTHER), ("blu", OTHER), ("EmO", OTHER), ("mul", OTHER), ("err", OTHER), ("var", OTHER),
    ("GlC", OTHER), ("Cl*", OTHER), ("", OTHER), (None, OTHER), (float("nan"), OTHER), ("NotAType", OTHER),
]


@pytest.mark.parametrize("otype, category", CASES)
def test_simbad_category(otype, category):
    assert simbad_category(otype) == category


def test_every_category_is_reached_and_named():
    assert {c for _, c in CASES} == set(CATEGORIES)
    assert len(set(CATEGORIES)) == len(CATEGORIES)


def test_every_mock_sky_otype_has_a_known_readable_category():
    from core.mock.labels import CLUSTER_OTYPES, OTYPES_BY_CLASS, SIMBAD_OTYPES

    for otype in SIMBAD_OTYPES:
        assert is_known_otype(otype), f"{otype!r} is not in the otype table (it would fall back to Other)"
    drawn = {o for table in (*OTYPES_BY_CLASS.values(), CLUSTER_OTYPES) for o, _ in table}
    assert drawn <= set(SIMBAD_OTYPES)
    # only detections at other wavelengths, blue objects and unknowns may be Other
    assert {o for o in SIMBAD_OTYPES if simbad_category(o) == OTHER} <= {"UV", "X", "IR", "Rad", "blu", "?"}
    assert {o for o in SIMBAD_OTYPES if simbad_category(o) == OTHER} <= PHASELESS
    assert not is_known_otype("NotAType") and not is_known_otype("")
