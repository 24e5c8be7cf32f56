"""Check a mock (or real) catalog against published facts; every check prints PASS or FAIL with its numbers.

The references: the paper's error fractions, SIMBAD fraction and E(B-V) range (Hutchinson et al.
2025); the main-sequence locus implied by the Ivezic et al. (2008) colour templates at [Fe/H] = -1
(the table shipped in ``data/reference``); the real PS1 DR1 stellar locus (``ps1_locus_real.txt``,
from the M44 cone and Tonry et al. 2012; :mod:`core.mock.locus`); cluster positions from Harris (2010).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from core.bands import PS1

PAPER_ERR_FRACTIONS = {"g": 53.8, "r": 74.4, "i": 92.7, "z": 84.2, "y": 57.6}  # per cent with sigma <= 0.01
PAPER_SIMBAD_FRACTION = 70_196 / 3_112_259
PAPER_EBV = (1.98e-3, 9.99e-2, 1.89e-2)  # min, max, mean
PAPER_ANOMALY_FRACTION = 0.0049


@dataclass
class Check:
    name: str
    passed: bool
    detail: str


@dataclass
class ValidationReport:
    """The outcome of :func:`validate_mock`: one :class:`Check` per fact compared."""

    checks: list[Check] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c.passed for c in self.checks)

    def add(self, name: str, passed: bool, detail: str) -> None:
        self.checks.append(Check(name, bool(passed), detail))

    def format(self) -> str:
        lines = [f"{'PASS' if c.passed else 'FAIL'}  {c.name}: {c.detail}".replace("\n", "\n      ")
                 for c in self.checks]
        lines += [f"INFO  {n}" for n in self.notes]
        n_fail = sum(not c.passed for c in self.checks)
        lines.append(f"{len(self.checks) - n_fail} passed, {n_fail} failed")
        return "\n".join(lines)


def reference_locus(feh: float = -1.0) -> np.ndarray:
    """(g-r, r-i, i-z, z-y) along the main sequence (turnoff to M_r = 12) of the colour table at ``feh``."""
    from core.mock import tables

    grid = tables.colour_grid()
    to = float(grid.turnoff_mr(np.array([feh]))[0])
    mr = np.arange(to, 12.0, 0.05)
    return grid(mr, np.full(mr.size, feh))


def _locus_check(df: pd.DataFrame, report: ValidationReport, tol: float = 0.05) -> None:
    mags = df[list(PS1.names)].to_numpy(float)
    cols = -np.diff(mags, axis=1)  # g-r, r-i, i-z, z-y
    ok = np.all(np.isfinite(cols), axis=1)
    if "true_class" in df.columns:
        ok &= (df["true_class"].astype(str) == "ms").to_numpy()
    cols = cols[ok]
    worst = []
    for feh in (-0.5, -1.5):
        ref = reference_locus(feh)
        bins = np.arange(0.3, 1.11, 0.1)  # redder, g-r saturates while r-i keeps growing (M dwarfs)
        idx = np.digitize(cols[:, 0], bins)
        for k, name in enumerate(("r-i", "i-z", "z-y"), start=1):
            for j in range(1, len(bins)):
                sel = idx == j
                if sel.sum() < 30:
                    continue
                centre = 0.5 * (bins[j - 1] + bins[j])
                expect = np.interp(centre, ref[:, 0], ref[:, k])
                worst.append((abs(np.median(cols[sel, k]) - expect), name, centre, feh))
    if not worst:
        report.add("stellar locus", False, "too few main-sequence stars with 0.3 < g-r < 1.1 to compare")
        return
    # The sample mixes metallicities, so each bin must match the template at one of [Fe/H] -0.5 / -1.5.
    best: dict[tuple[str, float], float] = {}
    for dev, name, centre, _ in worst:
        best[(name, centre)] = min(dev, best.get((name, centre), np.inf))
    (name, centre), dev = max(best.items(), key=lambda kv: kv[1])
    report.add(
        "stellar locus",
        dev <= tol,
        f"median r-i, i-z, z-y in g-r bins 0.3-1.1 within {tol} mag of the Ivezic et al. 2008 templates "
        f"([Fe/H] -0.5 or -1.5); worst {dev:.3f} mag ({name} at g-r {centre:.2f})",
    )


MAIN_SEQUENCE_CLASSES: tuple[str, ...] = ("ms", "mdwarf", "binary_ms_ms")


def real_locus_offsets(df: pd.DataFrame, *, min_count: int = 20) -> pd.DataFrame:
    """Median offsets (g-r, r-i, i-z, z-y) of the catalog's main-sequence stars from the real PS1 locus,
    per 0.25-mag g - i bin (all rows of a catalog without ``true_class``, e.g. a real one)."""
    from core.mock import locus, tables

    mags = df[list(PS1.names)].to_numpy(float)
    if "true_class" in df.columns:
        mags = mags[df["true_class"].astype(str).isin(MAIN_SEQUENCE_CLASSES).to_numpy()]
    ref = tables.real_locus()
    return locus.locus_offsets(mags, ref.g_i, ref.colours, min_count=min_count)


def _real_locus_check(df: pd.DataFrame, report: ValidationReport) -> None:
    from core.mock.locus import LOCUS_COLOURS, LOCUS_TOLERANCE

    table = real_locus_offsets(df)
    if table.empty:
        report.add("real PS1 locus", False, "no g - i bin has 20 main-sequence stars to compare")
        return
    off = table[list(LOCUS_COLOURS)].to_numpy()
    j, k = np.unravel_index(np.argmax(np.abs(off)), off.shape)
    rows = [f"g-i {r.lo:4.2f}-{r.hi:4.2f} n {r.n:>7,}  " + "  ".join(
        f"{c} {getattr(r, f'_{4 + m}'):+.4f}" for m, c in enumerate(LOCUS_COLOURS)) for r in table.itertuples()]
    report.add(
        "real PS1 locus",
        bool(np.abs(off).max() <= LOCUS_TOLERANCE),
        f"median colour offsets of main-sequence stars from the real PS1 DR1 locus (M44 cone + Tonry et al. "
        f"2012), per 0.25-mag g-i bin, within {LOCUS_TOLERANCE} mag; worst {off[j, k]:+.4f} mag "
        f"({LOCUS_COLOURS[k]} at g-i {table['lo'].iloc[j]:.2f}-{table['hi'].iloc[j]:.2f}), {len(table)} bins\n"
        + "\n".join(rows),
    )


def validate_mock(df: pd.DataFrame, *, tolerance_pct: float = 5.0) -> ValidationReport:
    """Compare ``df`` (a catalog after the cuts) with the paper and the reference tables."""
    report = ValidationReport()
    n = len(df)
    meta = df.attrs.get("sedscape", {})
    report.notes.append(f"{n:,} rows; source {meta.get('source', 'unknown')}")

    fracs = {b: 100.0 * float((df[f"{b}_err"] <= 0.01).mean()) for b in PS1.names}
    worst = max(PS1.names, key=lambda b: abs(fracs[b] - PAPER_ERR_FRACTIONS[b]))
    detail = ", ".join(f"{b} {fracs[b]:.1f} (paper {PAPER_ERR_FRACTIONS[b]})" for b in PS1.names)
    report.add(
        "error fractions",
        abs(fracs[worst] - PAPER_ERR_FRACTIONS[worst]) <= tolerance_pct,
        f"% with sigma <= 0.01 mag: {detail}; tolerance {tolerance_pct} points",
    )

    if "ebv" in df.columns:
        ebv = df["ebv"].to_numpy(float)
        lo, hi, mean = PAPER_EBV
        passed = ebv.min() >= 0.9 * lo and ebv.max() <= 1.01 * hi and abs(ebv.mean() - mean) <= 0.005
        report.add(
            "E(B-V) range",
            passed,
            f"min {ebv.min():.2e} max {ebv.max():.2e} mean {ebv.mean():.2e} "
            f"(paper {lo:.2e}, {hi:.2e}, {mean:.2e})",
        )
    if "g_obs" in df.columns and "ebv" in df.columns:
        resid = (df["g_obs"] - df["g"] - PS1.extinction_coeffs["g"] * df["ebv"]).abs().max()
        report.add("dereddening", resid < 1e-6, f"g_obs - g = 3.172 E(B-V) to {resid:.1e} mag")

    if "simbad_otype" in df.columns:
        frac = float(df["simbad_otype"].notna().mean())
        report.add(
            "SIMBAD fraction",
            abs(frac - PAPER_SIMBAD_FRACTION) <= 0.005,
            f"{100 * frac:.2f}% labelled (paper {100 * PAPER_SIMBAD_FRACTION:.2f}%: 70,196 of 3.11M)",
        )

    funnel = meta.get("funnel")
    if funnel:
        steps = {s["name"]: s for s in funnel["steps"]}
        idle = [
            k
            for k in ("complete", "prob_star", "n_measurements", "qf_perfect", "errors")
            if not steps.get(k, {}).get("applied") or steps[k]["n_removed"] == 0
        ]
        report.add(
            "cut funnel",
            not idle,
            f"{funnel['n_input']:,} -> {funnel['n_output']:,}; "
            + (f"cuts removing nothing: {idle}" if idle else "every main cut removes rows"),
        )
        requested = meta.get("mock", {}).get("n_stars_requested")
        if requested:
            rel = funnel["n_output"] / requested - 1
            report.add(
                "size after cuts",
                abs(rel) <= 0.1,
                f"{funnel['n_output']:,} rows for {requested:,} requested ({100 * rel:+.1f}%)",
            )

    _locus_check(df, report)
    _real_locus_check(df, report)

    if "true_class" in df.columns:
        counts = df["true_class"].value_counts()
        shares = ", ".join(f"{k} {v:,}" for k, v in counts.items() if v)
        report.notes.append(f"classes after cuts: {shares}")
        giants = counts.get("giant", 0) / n
        report.add(
            "giant share", 0.01 <= giants <= 0.15, f"{100 * giants:.1f}% giants (few per cent expected)"
        )
        wds = (counts.get("wd_da", 0) + counts.get("wd_db", 0)) / n
        report.add("white dwarf share", 2e-4 <= wds <= 5e-3, f"{100 * wds:.2f}% white dwarfs")
        anomalies = float(df["true_anomaly"].mean())
        report.notes.append(
            f"true anomalies after cuts: {100 * anomalies:.2f}% "
            f"(the paper flags {100 * PAPER_ANOMALY_FRACTION:.2f}% as anomalous)"
        )
        comps = df["true_component"].value_counts()
        report.notes.append("components: " + ", ".join(f"{k} {v:,}" for k, v in comps.items() if v))

    _cluster_check(df, report)
    return report


def _cluster_check(df: pd.DataFrame, report: ValidationReport, min_rows: int = 500_000) -> None:
    """Each globular cluster must stand out as an overdensity within its selection radius (the paper's 0.15 deg).

    Below ``min_rows`` rows (a scaled-down mock) the clusters hold too few stars to test; the counts
    are reported as a note instead.
    """
    from core.mock.clusters import CLUSTERS
    from core.mock.galaxy import Annulus

    ra, dec = df["ra"].to_numpy(float), df["dec"].to_numpy(float)
    field_density = len(df) / Annulus().area_deg2
    parts, passed = [], True
    for cl in CLUSTERS:
        if cl.name == "LeoII":
            continue  # only its brightest giants survive the cuts
        radius_deg = cl.select_radius_deg
        expected = field_density * np.pi * radius_deg**2
        dra = (ra - cl.ra + 180) % 360 - 180
        sep = np.hypot(dra * np.cos(np.radians(cl.dec)), dec - cl.dec)
        inside = int((sep < radius_deg).sum())
        parts.append(f"{cl.name} {inside} ({inside / max(expected, 1e-9):.0f}x field)")
        passed &= inside >= max(3 * expected, 5)
    detail = f"stars within {radius_deg} deg: " + ", ".join(parts)
    if len(df) < min_rows:
        report.notes.append(f"globular clusters (not checked below {min_rows:,} rows): {detail}")
    else:
        report.add("globular clusters", passed, detail)
