"""SIMBAD object types grouped into the paper's categories (Hutchinson et al. 2025, Fig. 11 and 17).

The paper groups SIMBAD labels into Compact Object, Main Sequence, He Core, RGB and Post-RGB; we add
Binary, Variable (variability without an evolutionary phase), Non-stellar (what the paper discarded)
and Other (stars whose label says nothing about their phase, e.g. ``*`` or ``PM*``). SIMBAD writes an
object type either as a short code (``WD*``) or a long name (``WhiteDwarf``); candidates end in ``?``
(``WD?``) or ``_Candidate``. Codes follow the SIMBAD object-type list (2020 revision), with the older
long names kept as aliases.
"""

from __future__ import annotations

COMPACT = "Compact Object"
MAIN_SEQUENCE = "Main Sequence"
HE_CORE = "He Core"
RGB = "RGB"
POST_RGB = "Post-RGB"
BINARY = "Binary"
VARIABLE = "Variable"
NON_STELLAR = "Non-stellar"
OTHER = "Other"
CATEGORIES: tuple[str, ...] = (COMPACT, MAIN_SEQUENCE, HE_CORE, RGB, POST_RGB, BINARY, VARIABLE, NON_STELLAR,
                               OTHER)

# (short code, long name(s), category). Candidate forms ("WD?", "WhiteDwarf_Candidate") are derived.
_TABLE: tuple[tuple[str, tuple[str, ...], str], ...] = (
    # compact objects
    ("WD*", ("WhiteDwarf", "WhiteDwarf*"), COMPACT),
    ("ZZ*", ("ZZCetiV*", "pulsWD*"), COMPACT),
    ("N*", ("Neutron*",), COMPACT),
    ("Psr", ("Pulsar",), COMPACT),
    ("BH", ("BlackHole",), COMPACT),
    # main sequence (incl. chemically peculiar, MS pulsators, blue stragglers, low-mass and brown dwarfs)
    ("MS*", ("MainSequence*",), MAIN_SEQUENCE),
    ("Be*", ("Be*",), MAIN_SEQUENCE),
    ("BS*", ("BlueStraggler", "BlueStraggler*"), MAIN_SEQUENCE),
    ("SX*", ("SXPheV*",), MAIN_SEQUENCE),
    ("dS*", ("delSctV*",), MAIN_SEQUENCE),
    ("gD*", ("gammaDorV*",), MAIN_SEQUENCE),
    ("bC*", ("betaCepV*",), MAIN_SEQUENCE),
    ("Pe*", ("ChemPec*", "PecStar"), MAIN_SEQUENCE),
    ("Ap*", ("ApStar",), MAIN_SEQUENCE),
    ("Am*", ("AmStar",), MAIN_SEQUENCE),
    ("a2*", ("alf2CVnV*",), MAIN_SEQUENCE),
    ("HgM", ("HgMnStar", "HgMn*"), MAIN_SEQUENCE),
    ("LM*", ("Low-Mass*", "LowMass*"), MAIN_SEQUENCE),
    ("BD*", ("BrownD*", "BrownDwarf"), MAIN_SEQUENCE),
    ("sd*", ("SubDwarf", "Subdwarf*"), MAIN_SEQUENCE),
    ("dC*", ("dwarfCarbon*",), MAIN_SEQUENCE),
    ("Y*O", ("YSO", "Y*?"), MAIN_SEQUENCE),
    ("TT*", ("TTauri*",), MAIN_SEQUENCE),
    ("Or*", ("OrionV*",), MAIN_SEQUENCE),
    ("Ae*", ("Ae*", "HerbigAeBe*"), MAIN_SEQUENCE),
    ("BY*", ("BYDraV*",), MAIN_SEQUENCE),
    ("Fl*", ("FlareStar",), MAIN_SEQUENCE),
    # core helium burning
    ("HB*", ("HorBranch*", "HorizontalBranch*"), HE_CORE),
    ("BHB", ("BlueHB*", "BlueHorBranch*"), HE_CORE),
    ("RHB", ("RedHB*",), HE_CORE),
    ("RR*", ("RRLyrae", "RRLyr"), HE_CORE),
    ("HS*", ("HotSubdwarf", "HotSubdwarf*"), HE_CORE),
    ("sdB", ("sdBStar",), HE_CORE),
    ("sdO", ("sdOStar",), HE_CORE),
    ("Ce*", ("Cepheid",), HE_CORE),
    ("cC*", ("ClassicalCep",), HE_CORE),
    # red giant branch
    ("RG*", ("RGB*", "RB?"), RGB),
    ("Gi*", ("Giant", "Giant*"), RGB),
    ("Ev*", ("Evolved*",), RGB),
    # after the RGB: AGB, post-AGB, carbon/S stars, long-period variables, planetary nebulae
    ("AB*", ("AGB*",), POST_RGB),
    ("pA*", ("post-AGB*", "postAGB*"), POST_RGB),
    ("C*", ("C*", "CarbonStar"), POST_RGB),
    ("S*", ("S*", "SStar"), POST_RGB),
    ("CH*", ("CH*",), POST_RGB),
    ("Ba*", ("BariumStar",), POST_RGB),
    ("LP*", ("LongPeriodV*",), POST_RGB),
    ("Mi*", ("Mira",), POST_RGB),
    ("OH*", ("OH/IR*",), POST_RGB),
    ("RV*", ("RVTauV*",), POST_RGB),
    ("WV*", ("Type2Cep", "WVirV*"), POST_RGB),
    ("PN", ("PlanetaryNeb",), POST_RGB),
    ("RC*", ("RCrBV*",), POST_RGB),
    ("sg*", ("Supergiant", "Supergiant*"), POST_RGB),
    ("s*r", ("RedSG",), POST_RGB),
    ("s*y", ("YellowSG",), POST_RGB),
    ("s*b", ("BlueSG",), POST_RGB),
    # binaries (including accreting compact binaries)
    ("**", ("**", "Double*", "Multiple*"), BINARY),
    ("EB*", ("EclBin", "EclBin*"), BINARY),
    ("SB*", ("SB*", "SpecBin*"), BINARY),
    ("El*", ("EllipVar",), BINARY),
    ("RS*", ("RSCVnV*",), BINARY),
    ("Sy*", ("Symbiotic*",), BINARY),
    ("CV*", ("CataclyV*",), BINARY),
    ("No*", ("Nova",), BINARY),
    ("XB*", ("XrayBin",), BINARY),
    ("LXB", ("LowMassXBin",), BINARY),
    ("HXB", ("HighMassXBin",), BINARY),
    ("Al*", ("AlgolBin",), BINARY),
    ("WU*", ("WUMaBin",), BINARY),
    ("bL*", ("betLyrBin",), BINARY),
    # variability without an evolutionary phase
    ("V*", ("Variable*", "Var*"), VARIABLE),
    ("Pu*", ("PulsV*",), VARIABLE),
    ("Ir*", ("IrregularV*",), VARIABLE),
    ("Er*", ("Eruptive*",), VARIABLE),
    ("Ro*", ("RotV*",), VARIABLE),
    ("FU*", ("FUOr",), VARIABLE),
    # stars with no phase information
    ("*", ("Star",), OTHER),
    ("*iC", ("Star_in_Cluster",), OTHER),
    ("*iN", ("Star_in_Nebula",), OTHER),
    ("*iA", ("Star_in_Assoc",), OTHER),
    ("*i*", ("Star_in_double",), BINARY),
    ("PM*", ("HighPM*",), OTHER),
    ("HV*", ("HighVel*",), OTHER),
    ("Em*", ("EmLine*",), OTHER),
    ("Pec*", ("Peculiar*",), OTHER),
    ("WR*", ("WolfRayet*",), OTHER),
    ("Ma*", ("Massiv*",), OTHER),
    ("GlC", ("GlobCluster",), OTHER),
    ("Cl*", ("Cluster*",), OTHER),
    ("OpC", ("OpenCluster",), OTHER),
    ("MGr", ("MouvGroup",), OTHER),
    ("As*", ("Association",), OTHER),
    ("St*", ("Stream*",), OTHER),
    ("Pl", ("Planet",), OTHER),
    ("X", ("X",), OTHER),
    ("UV", ("UV",), OTHER),
    ("IR", ("Infrared",), OTHER),
    ("Rad", ("Radio",), OTHER),
    ("gam", ("gamma",), OTHER),
    ("?", ("Unknown",), OTHER),
    ("err", ("Inexistent",), OTHER),
    # non-stellar: galaxies, active nuclei, groups of galaxies, the interstellar medium, lenses
    ("G", ("Galaxy",), NON_STELLAR),
    ("QSO", ("QSO",), NON_STELLAR),
    ("AGN", ("AGN",), NON_STELLAR),
    ("Sy1", ("Seyfert1",), NON_STELLAR),
    ("Sy2", ("Seyfert2",), NON_STELLAR),
    ("SyG", ("Seyfert",), NON_STELLAR),
    ("BLL", ("BLLac",), NON_STELLAR),
    ("Bla", ("Blazar",), NON_STELLAR),
    ("LIN", ("LINER",), NON_STELLAR),
    ("EmG", ("EmissionG",), NON_STELLAR),
    ("SBG", ("StarburstG",), NON_STELLAR),
    ("H2G", ("HIIG",), NON_STELLAR),
    ("bCG", ("BlueCompactG",), NON_STELLAR),
    ("LSB", ("LowSurfBrghtG",), NON_STELLAR),
    ("rG", ("RadioG",), NON_STELLAR),
    ("GiG", ("GtowardsGroup",), NON_STELLAR),
    ("GiC", ("GtowardsCl",), NON_STELLAR),
    ("BiC", ("BrightestCG",), NON_STELLAR),
    ("IG", ("InteractingG",), NON_STELLAR),
    ("PaG", ("PairG",), NON_STELLAR),
    ("GrG", ("GroupG",), NON_STELLAR),
    ("CGG", ("Compact_Gr_G",), NON_STELLAR),
    ("ClG", ("ClG",), NON_STELLAR),
    ("SCG", ("SuperClG",), NON_STELLAR),
    ("LeG", ("GravLensG",), NON_STELLAR),
    ("LeQ", ("GravLensQSO",), NON_STELLAR),
    ("Lev", ("LensingEv",), NON_STELLAR),
    ("gLS", ("GravLensSystem",), NON_STELLAR),
    ("GNe", ("GalNeb",), NON_STELLAR),
    ("RNe", ("RefNeb",), NON_STELLAR),
    ("HII", ("HIIReg",), NON_STELLAR),
    ("SNR", ("SNRemnant",), NON_STELLAR),
    ("Cld", ("Cloud",), NON_STELLAR),
    ("ISM", ("ISM",), NON_STELLAR),
)


def _build(fold: bool) -> dict[str, str]:
    table: dict[str, str] = {}
    for code, longs, cat in _TABLE:
        for name in (code, *longs):
            table.setdefault(name.lower() if fold else name, cat)
    return table


OTYPE_CATEGORIES: dict[str, str] = _build(fold=False)
"""SIMBAD short codes and long names, exactly as SIMBAD spells them -> category."""
_FOLDED: dict[str, str] = _build(fold=True)

SHORT_CODES: dict[str, str] = {code: cat for code, _, cat in _TABLE}
"""SIMBAD short codes -> category (without candidate forms), e.g. for documentation tables."""


def simbad_category(otype: object) -> str:
    """The paper's category for a SIMBAD object type; unknown or empty types give ``"Other"``.

    Accepts short codes (``RG*``), long names (``RGB*``), candidates (``RG?``, ``RGB*_Candidate``,
    ``Candidate_RGB*``) and ignores case and surrounding spaces.
    """
    if otype is None or (isinstance(otype, float) and otype != otype):
        return OTHER
    text = str(otype).strip()
    if not text:
        return OTHER
    # Exact spelling first: a few codes differ only in case (sg* supergiant vs SG*-like forms).
    for table, key in ((OTYPE_CATEGORIES, text), (_FOLDED, text.lower())):
        if key in table:
            return table[key]
        for suffix in ("_Candidate", "?"):
            suffix = suffix if table is OTYPE_CATEGORIES else suffix.lower()
            if key.endswith(suffix) and len(key) > len(suffix):
                base = key[: -len(suffix)]
                for form in (base, base + "*"):
                    if form in table:
                        return table[form]
    key = text.lower()
    if key.startswith("candidate_"):
        return simbad_category(key[len("candidate_"):])
    return OTHER


def is_known_otype(otype: object) -> bool:
    """True when ``otype`` (or its non-candidate form) is in the table, rather than mapped by fallback."""
    text = "" if otype is None else str(otype).strip()
    if not text:
        return False
    low = text.lower()
    if text in OTYPE_CATEGORIES or low in _FOLDED:
        return True
    for suffix in ("_candidate", "?"):
        if low.endswith(suffix) and (low[: -len(suffix)] in _FOLDED or low[: -len(suffix)] + "*" in _FOLDED):
            return True
    return low.startswith("candidate_") and is_known_otype(text[len("candidate_"):])


PHASELESS: frozenset[str] = frozenset(code for code, _, cat in _TABLE if cat == OTHER)
"""Known stellar labels that say nothing about evolutionary phase (``*``, ``PM*``, ``Em*``, ...): Other."""


def is_nonstellar(otype: object) -> bool:
    return simbad_category(otype) == NON_STELLAR
