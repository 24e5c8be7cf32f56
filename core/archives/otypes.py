"""SIMBAD object types grouped into readable categories: the paper's phases (Hutchinson et al. 2025, Fig. 11
and 17) and, for labels without a phase, the families of SIMBAD's object-type hierarchy.

The paper groups SIMBAD labels into Compact Object, Main Sequence, He Core, RGB and Post-RGB. Most SIMBAD
matches of faint high-latitude stars carry no phase, so those are split the way SIMBAD's own hierarchy
(2020 revision) splits its "Star" branch: Binary (the ``**`` double/multiple family), Variable (the
``V*`` family), High Proper Motion (kinematic: ``PM*``, ``HV*``), Emission-line (``Em*``) and Star (no
subtype) for a bare ``*``. Non-stellar holds galaxies, AGN and the ISM (what the paper discarded); Other
holds what is neither (clusters as a whole, detections at other wavelengths such as ``X`` or ``UV``,
``blu`` blue objects, blends, unknown ``?``). SIMBAD writes an object type either as a short code
(``WD*``) or a label (``WhiteDwarf``; older long names kept as aliases); candidates end in ``?`` (``WD?``)
or ``_Candidate``.
"""

from __future__ import annotations

COMPACT = "Compact Object"
MAIN_SEQUENCE = "Main Sequence"
HE_CORE = "He Core"
RGB = "RGB"
POST_RGB = "Post-RGB"
BINARY = "Binary"
VARIABLE = "Variable"
HIGH_PM = "High Proper Motion"
EMISSION = "Emission-line"
STAR = "Star (no subtype)"
NON_STELLAR = "Non-stellar"
OTHER = "Other"
CATEGORIES: tuple[str, ...] = (COMPACT, MAIN_SEQUENCE, HE_CORE, RGB, POST_RGB, BINARY, VARIABLE, HIGH_PM,
                               EMISSION, STAR, NON_STELLAR, OTHER)

# (short code, label(s), category), in the order of SIMBAD's hierarchy. Candidate forms ("WD?",
# "WhiteDwarf_Candidate") are derived; codes SIMBAD retired in 2020 (*iC, Al*, ...) are kept for old answers.
_TABLE: tuple[tuple[str, tuple[str, ...], str], ...] = (
    # compact objects
    ("WD*", ("WhiteDwarf", "WhiteDwarf*"), COMPACT),
    ("ZZ*", ("ZZCetiV*", "pulsWD*"), COMPACT),
    ("N*", ("Neutron*",), COMPACT),
    ("Psr", ("Pulsar",), COMPACT),
    ("BH", ("BlackHole",), COMPACT),
    # main sequence: MS* (luminosity class V), its pulsators and blue stragglers, chemically peculiar
    # stars, low-mass stars and brown dwarfs (classed by spectral type), young stars, BY Dra and flare stars
    ("MS*", ("MainSequence*",), MAIN_SEQUENCE),
    ("Be*", ("Be*",), MAIN_SEQUENCE),
    ("BS*", ("BlueStraggler", "BlueStraggler*"), MAIN_SEQUENCE),
    ("SX*", ("SXPheV*",), MAIN_SEQUENCE),
    ("dS*", ("delSctV*",), MAIN_SEQUENCE),
    ("gD*", ("gammaDorV*",), MAIN_SEQUENCE),
    ("bC*", ("betaCepV*", "bCepV*"), MAIN_SEQUENCE),
    ("Pe*", ("ChemPec*", "ChemPec", "PecStar"), MAIN_SEQUENCE),
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
    # red giant branch (and SIMBAD's generic "evolved star")
    ("RG*", ("RGB*", "RB?"), RGB),
    ("Gi*", ("Giant", "Giant*"), RGB),
    ("Ev*", ("Evolved*",), RGB),
    # after the RGB: AGB, post-AGB, carbon/S stars, long-period variables, planetary nebulae, supergiants
    ("AB*", ("AGB*",), POST_RGB),
    ("pA*", ("post-AGB*", "postAGB*"), POST_RGB),
    ("C*", ("C*", "CarbonStar"), POST_RGB),
    ("S*", ("S*", "SStar"), POST_RGB),
    ("CH*", ("CH*",), POST_RGB),
    ("Ba*", ("BariumStar",), POST_RGB),
    ("LP*", ("LongPeriodV*", "LongPeriodV", "LPV"), POST_RGB),
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
    ("WR*", ("WolfRayet*",), POST_RGB),
    # the ** family: double/multiple stars and interacting binaries
    ("**", ("**", "Double*", "Multiple*"), BINARY),
    ("EB*", ("EclBin", "EclBin*"), BINARY),
    ("SB*", ("SB*", "SpecBin*"), BINARY),
    ("El*", ("EllipVar", "EllipVar*"), BINARY),
    ("RS*", ("RSCVnV*",), BINARY),
    ("Sy*", ("Symbiotic*",), BINARY),
    ("CV*", ("CataclyV", "CataclyV*"), BINARY),
    ("No*", ("Nova",), BINARY),
    ("XB*", ("XrayBin",), BINARY),
    ("LXB", ("LowMassXBin",), BINARY),
    ("HXB", ("HighMassXBin",), BINARY),
    ("Al*", ("AlgolBin",), BINARY),
    ("WU*", ("WUMaBin",), BINARY),
    ("bL*", ("betLyrBin",), BINARY),
    ("*i*", ("Star_in_double",), BINARY),
    # the V* family: variability that says nothing about the phase
    ("V*", ("Variable*", "Var*"), VARIABLE),
    ("Pu*", ("PulsV*",), VARIABLE),
    ("Ir*", ("IrregularV*",), VARIABLE),
    ("Er*", ("Eruptive*",), VARIABLE),
    ("Ro*", ("RotV*", "RotV"), VARIABLE),
    ("FU*", ("FUOr",), VARIABLE),
    # kinematics
    ("PM*", ("HighPM*", "HighPM"), HIGH_PM),
    ("HV*", ("HighVel*",), HIGH_PM),
    # spectral property
    ("Em*", ("EmLine*",), EMISSION),
    # a star and nothing more (SIMBAD's root "Star"; the retired "star in cluster/nebula/association")
    ("*", ("Star",), STAR),
    ("*iC", ("Star_in_Cluster",), STAR),
    ("*iN", ("Star_in_Nebula",), STAR),
    ("*iA", ("Star_in_Assoc",), STAR),
    ("Pec*", ("Peculiar*",), STAR),
    ("Ma*", ("Massiv*",), STAR),
    # neither one star nor a galaxy: sets of stars, events, detections at other wavelengths, blends, unknown
    ("GlC", ("GlobCluster",), OTHER),
    ("Cl*", ("Cluster*",), OTHER),
    ("OpC", ("OpenCluster",), OTHER),
    ("MGr", ("MouvGroup",), OTHER),
    ("As*", ("Association",), OTHER),
    ("St*", ("Stream*", "Stream"), OTHER),
    ("SN*", ("Supernova",), OTHER),
    ("Pl", ("Planet",), OTHER),
    ("ev", ("Transient",), OTHER),
    ("var", ("Variable",), OTHER),
    ("X", ("X",), OTHER),
    ("ULX", ("ULX",), OTHER),
    ("UV", ("UV",), OTHER),
    ("IR", ("Infrared",), OTHER),
    ("FIR", ("FarIR",), OTHER),
    ("MIR", ("MidIR",), OTHER),
    ("NIR", ("NearIR",), OTHER),
    ("Opt", ("Optical",), OTHER),
    ("EmO", ("EmObj",), OTHER),
    ("blu", ("blue",), OTHER),
    ("Rad", ("Radio",), OTHER),
    ("mR", ("metricRad",), OTHER),
    ("cm", ("cmRad",), OTHER),
    ("mm", ("mmRad",), OTHER),
    ("smm", ("smmRad",), OTHER),
    ("HI", ("HI",), OTHER),
    ("rB", ("radioBurst",), OTHER),
    ("Mas", ("Maser",), OTHER),
    ("gam", ("gamma",), OTHER),
    ("gB", ("gammaBurst",), OTHER),
    ("grv", ("Gravitation",), OTHER),
    ("GWE", ("GravWaveEvent",), OTHER),
    ("mul", ("Blend",), OTHER),
    ("reg", ("Region",), OTHER),
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
    ("GiP", ("GinPair",), NON_STELLAR),
    ("GiG", ("GtowardsGroup",), NON_STELLAR),
    ("GiC", ("GtowardsCl",), NON_STELLAR),
    ("BiC", ("BrightestCG",), NON_STELLAR),
    ("IG", ("InteractingG",), NON_STELLAR),
    ("PaG", ("PairG",), NON_STELLAR),
    ("GrG", ("GroupG",), NON_STELLAR),
    ("CGG", ("Compact_Gr_G",), NON_STELLAR),
    ("ClG", ("ClG",), NON_STELLAR),
    ("PCG", ("protoClG",), NON_STELLAR),
    ("SCG", ("SuperClG",), NON_STELLAR),
    ("vid", ("Void",), NON_STELLAR),
    ("PoG", ("PartofG",), NON_STELLAR),
    ("LeG", ("GravLensG", "LensedG"), NON_STELLAR),
    ("LeQ", ("GravLensQSO", "LensedQ"), NON_STELLAR),
    ("LeI", ("LensedImage",), NON_STELLAR),
    ("gLe", ("GravLens",), NON_STELLAR),
    ("Lev", ("LensingEv",), NON_STELLAR),
    ("gLS", ("GravLensSystem",), NON_STELLAR),
    ("GNe", ("GalNeb",), NON_STELLAR),
    ("RNe", ("RefNeb",), NON_STELLAR),
    ("DNe", ("DarkNeb",), NON_STELLAR),
    ("MoC", ("MolCld",), NON_STELLAR),
    ("glb", ("Globule",), NON_STELLAR),
    ("CGb", ("ComGlob",), NON_STELLAR),
    ("HVC", ("HVCld",), NON_STELLAR),
    ("cor", ("denseCore",), NON_STELLAR),
    ("bub", ("Bubble",), NON_STELLAR),
    ("sh", ("HIshell",), NON_STELLAR),
    ("flt", ("Filament",), NON_STELLAR),
    ("SFR", ("StarFormingReg",), NON_STELLAR),
    ("HII", ("HIIReg",), NON_STELLAR),
    ("SNR", ("SNRemnant",), NON_STELLAR),
    ("PoC", ("PartofCloud",), NON_STELLAR),
    ("Cld", ("Cloud",), NON_STELLAR),
    ("ISM", ("ISM",), NON_STELLAR),
    ("out", ("Outflow",), NON_STELLAR),
    ("HH", ("HerbigHaroObj",), NON_STELLAR),
)


# Candidate codes that are not the object's code with "?" (SIMBAD 2020): candidate -> code.
IRREGULAR_CANDIDATES: dict[str, str] = {
    "Q?": "QSO", "BL?": "BLL", "Bz?": "Bla", "AG?": "AGN", "C?G": "ClG", "Gr?": "GrG", "SC?": "SCG",
    "LS?": "gLS", "Le?": "gLe", "LI?": "LeI", "SR?": "SNR", "s?r": "s*r", "s?b": "s*b", "s?y": "s*y",
    "LX?": "LXB", "HX?": "HXB", "UX?": "ULX", "Gl?": "GlC", "of?": "out", "sg?": "sg*",
}


def _build(fold: bool) -> dict[str, str]:
    table: dict[str, str] = {}
    for code, longs, cat in _TABLE:
        for name in (code, *longs):
            table.setdefault(name.lower() if fold else name, cat)
    codes = {code: cat for code, _, cat in _TABLE}
    for cand, code in IRREGULAR_CANDIDATES.items():
        table.setdefault(cand.lower() if fold else cand, codes[code])
    return table


OTYPE_CATEGORIES: dict[str, str] = _build(fold=False)
"""SIMBAD short codes and long names, exactly as SIMBAD spells them -> category."""
_FOLDED: dict[str, str] = _build(fold=True)

SHORT_CODES: dict[str, str] = {code: cat for code, _, cat in _TABLE}
"""SIMBAD short codes -> category (without candidate forms), e.g. for documentation tables."""


def simbad_category(otype: object) -> str:
    """The category of a SIMBAD object type (see the module docstring); unknown or empty types give ``"Other"``.

    Accepts short codes (``RG*``), long names (``RGB*``), candidates (``RG?``, ``RGB*_Candidate``,
    ``Candidate_RGB*``) and ignores case and surrounding spaces.
    """
    if otype is None or (isinstance(otype, float) and otype != otype):
        return OTHER
    text = str(otype).strip()
    if not text:
        return OTHER
    # Exact spelling first: a few codes differ only in case (sg* supergiant vs SG*-like forms); the
    # table holds the irregular candidate codes (Q?, BL?, ...) before the generic "code?" rule.
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


PHASELESS: frozenset[str] = frozenset(code for code, _, cat in _TABLE if cat in (HIGH_PM, EMISSION, STAR, OTHER))
"""Known labels that say nothing about a star's evolutionary phase, binarity or variability (``*``, ``PM*``, ...)."""


def is_nonstellar(otype: object) -> bool:
    return simbad_category(otype) == NON_STELLAR
