"""Declarative, ordered selection cuts (Hutchinson et al. 2025, section 2.1) and the funnel they leave.

Each :class:`Cut` names the columns it reads and returns a keep-mask; :func:`apply_cuts` runs them in
order and records, in a :class:`Funnel`, how many rows each removed. A cut whose columns are absent is
reported as not applied rather than silently passing every row, and every removed row is counted in
exactly one step.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from core.bands import PS1, BandSet
from core.catalog import SENTINELS
from core.errors import CatalogError, ConfigError

# The paper's colour cuts are defined on PS1 grizy; other band sets skip them.
COLOUR_BANDS: tuple[str, ...] = ("g", "r", "i", "z", "y")


@dataclass(frozen=True)
class CutConfig:
    """Thresholds of the paper's selection; defaults are the published values."""

    min_measurements: int = 5
    min_qf_perfect: float = 0.99
    max_err: float = 0.05
    min_prob_star: float = 0.99
    max_g_r: float = 2.0
    g_i_range: tuple[float, float] = (-1.0, 4.0)
    z_y_range: tuple[float, float] = (-0.5, 1.0)
    min_i_y: float = -0.75
    # Without PS1-STRM's prob_star, the standard PS1 point-source cut: PSF - Kron magnitude <= 0.05 in i
    # (Farrow et al. 2014); galaxies have more light in the Kron aperture than in the PSF.
    max_psf_minus_kron: float = 0.05
    point_source_band: str = "i"
    # Not the paper's: stars may lack up to this many bands (0 = the paper's complete photometry). The
    # per-band cuts then judge only the bands a star has; `sedscape impute` can fill the rest.
    max_missing_bands: int = 0

    def __post_init__(self) -> None:
        if self.max_missing_bands < 0:
            raise ConfigError(f"max_missing_bands must be >= 0, got {self.max_missing_bands}")
        if self.min_measurements < 0:
            raise ConfigError(f"min_measurements must be >= 0, got {self.min_measurements}")
        if not 0 <= self.min_qf_perfect <= 1:
            raise ConfigError(f"min_qf_perfect must be in [0, 1], got {self.min_qf_perfect}")
        if not 0 <= self.min_prob_star <= 1:
            raise ConfigError(f"min_prob_star must be in [0, 1], got {self.min_prob_star}")
        if not self.max_err > 0:
            raise ConfigError(f"max_err must be > 0, got {self.max_err}")
        if not self.max_psf_minus_kron > 0:
            raise ConfigError(f"max_psf_minus_kron must be > 0, got {self.max_psf_minus_kron}")
        for name in ("g_i_range", "z_y_range"):
            lo, hi = getattr(self, name)
            if not lo < hi:
                raise ConfigError(f"{name} must be (low, high) with low < high, got {(lo, hi)}")
            # A list from JSON round-trips becomes a tuple so the dataclass stays hashable.
            object.__setattr__(self, name, (float(lo), float(hi)))

    def to_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, d: dict) -> CutConfig:
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(d) - known)
        if unknown:
            raise ConfigError(f"unknown cut threshold(s) {unknown}; known: {sorted(known)}")
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()})


@dataclass(frozen=True)
class Cut:
    """One selection step: ``keep(df)`` returns a boolean mask of rows to keep.

    ``partial=True`` means the cut is applied to whichever of its columns are present (e.g. one
    ``qf_<band>`` column missing); otherwise any absent column means the cut is not applied.
    ``skip_reason`` marks a cut that does not make sense for the band set (reported, not applied).
    """

    name: str
    description: str
    columns: tuple[str, ...]
    keep: Callable[[pd.DataFrame], np.ndarray]
    partial: bool = False
    skip_reason: str = ""
    explain: Callable[[pd.DataFrame], str] | None = None  # extra funnel note from the removed rows
    unless: tuple[str, ...] = ()  # not applied when these columns are present (a better cut covers it)


@dataclass
class FunnelStep:
    """What one cut did: rows before it, rows it removed, whether it ran and why not."""

    name: str
    description: str
    n_before: int
    n_removed: int
    applied: bool
    note: str = ""

    @property
    def n_after(self) -> int:
        return self.n_before - self.n_removed


@dataclass
class Funnel:
    """The ordered record of a selection: input count, one step per cut, output count."""

    n_input: int
    steps: list[FunnelStep] = field(default_factory=list)
    n_output: int = 0
    notes: list[str] = field(default_factory=list)  # what reading the input changed or found (units, ...)

    def to_dict(self) -> dict:
        d = {"n_input": self.n_input, "n_output": self.n_output, "steps": [asdict(s) for s in self.steps]}
        if self.notes:
            d["notes"] = list(self.notes)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> Funnel:
        try:
            steps = [FunnelStep(**s) for s in d["steps"]]
            notes = [str(n) for n in d.get("notes", [])]
            return cls(n_input=int(d["n_input"]), steps=steps, n_output=int(d["n_output"]), notes=notes)
        except (KeyError, TypeError) as exc:
            raise CatalogError(f"funnel metadata is malformed ({exc}): {d!r:.200}") from exc

    @property
    def n_removed(self) -> int:
        return sum(s.n_removed for s in self.steps)

    def format(self) -> str:
        """A plain-text table: step, description, removed, remaining, note."""
        rows = [("step", "description", "removed", "remaining", "note")]
        rows.append(("input", "rows read", "", f"{self.n_input:,}", ""))
        for s in self.steps:
            removed = f"{s.n_removed:,}" if s.applied else "-"
            note = s.note if s.applied else (s.note or "not applied")
            rows.append((s.name, s.description, removed, f"{s.n_after:,}", note))
        rows.append(("output", "rows kept", f"{self.n_input - self.n_output:,}", f"{self.n_output:,}", ""))
        widths = [max(len(r[k]) for r in rows) for k in range(4)]
        lines = []
        for k, r in enumerate(rows):
            cells = [
                r[0].ljust(widths[0]),
                r[1].ljust(widths[1]),
                r[2].rjust(widths[2]),
                r[3].rjust(widths[3]),
            ]
            lines.append("  ".join(cells + [r[4]]).rstrip())
            if k == 0:
                lines.append("  ".join("-" * w for w in widths))
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines)


def _values(df: pd.DataFrame, col: str) -> np.ndarray:
    return pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def _complete(columns: tuple[str, ...]) -> Callable[[pd.DataFrame], np.ndarray]:
    def keep(df: pd.DataFrame) -> np.ndarray:
        mask = np.ones(len(df), dtype=bool)
        for col in columns:
            v = _values(df, col)
            mask &= np.isfinite(v) & ~np.isin(v, SENTINELS)
        return mask

    return keep


def band_missing(df: pd.DataFrame, band: str) -> np.ndarray:
    """Rows whose ``band`` magnitude or error is absent, NaN, infinite or an archive sentinel."""
    out = np.zeros(len(df), dtype=bool)
    for col in (band, f"{band}_err"):
        if col not in df.columns:
            return np.ones(len(df), dtype=bool)
        v = _values(df, col)
        out |= ~np.isfinite(v) | np.isin(v, SENTINELS)
    return out


def _at_most_missing(bands: tuple[str, ...], k: int) -> Callable[[pd.DataFrame], np.ndarray]:
    def keep(df: pd.DataFrame) -> np.ndarray:
        return sum(band_missing(df, b).astype(int) for b in bands) <= k

    return keep


def _excusing_missing(
    inner: Callable[[pd.DataFrame], np.ndarray], bands: tuple[str, ...]
) -> Callable[[pd.DataFrame], np.ndarray]:
    """``inner``'s keep-mask, except that rows missing any of ``bands`` pass (the cut cannot judge them)."""

    def keep(df: pd.DataFrame) -> np.ndarray:
        excused = np.zeros(len(df), dtype=bool)
        for b in bands:
            excused |= band_missing(df, b)
        return inner(df) | excused

    return keep


def _per_band(
    columns: tuple[str, ...], bands: tuple[str, ...], make: Callable[[tuple[str, ...]], Callable], allow: bool
) -> Callable[[pd.DataFrame], np.ndarray]:
    """A per-band cut over ``columns`` (one per band); with ``allow`` a missing band's column is not judged."""
    if not allow:
        return make(columns)

    def keep(df: pd.DataFrame) -> np.ndarray:
        mask = np.ones(len(df), dtype=bool)
        for col, b in zip(columns, bands, strict=True):
            if col in df.columns:
                mask &= make((col,))(df) | band_missing(df, b)
        return mask

    return keep


def _all_at_least(columns: tuple[str, ...], threshold: float) -> Callable[[pd.DataFrame], np.ndarray]:
    def keep(df: pd.DataFrame) -> np.ndarray:
        mask = np.ones(len(df), dtype=bool)
        for col in columns:
            if col in df.columns:
                mask &= _values(df, col) >= threshold  # NaN compares False: removed
        return mask

    return keep


def _positive_at_most(columns: tuple[str, ...], threshold: float) -> Callable[[pd.DataFrame], np.ndarray]:
    """Keep rows whose values are all in (0, threshold]: an error of zero or below is not a measurement."""

    def keep(df: pd.DataFrame) -> np.ndarray:
        mask = np.ones(len(df), dtype=bool)
        for col in columns:
            v = _values(df, col)
            mask &= (v > 0) & (v <= threshold)
        return mask

    return keep


def _nonpositive_note(removed: pd.DataFrame) -> str:
    """'N with errors <= 0 (g_err 3)': sentinels and NaN excluded (the completeness cut counts those)."""
    values = removed.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    bad = (values <= 0) & ~np.isin(values, SENTINELS)
    n_rows = int(bad.any(axis=1).sum())
    if not n_rows:
        return ""
    per_col = [f"{col} {int(n):,}" for col, n in zip(removed.columns, bad.sum(axis=0), strict=True) if n]
    return f"{n_rows:,} with errors <= 0 ({', '.join(per_col)})"


def _psf_minus_kron_at_most(band: str, limit: float) -> Callable[[pd.DataFrame], np.ndarray]:
    """Keep point sources: PSF minus Kron magnitude at most ``limit``; a missing Kron magnitude keeps the row
    (faint or blended sources often lack one, and the other cuts judge them)."""

    def keep(df: pd.DataFrame) -> np.ndarray:
        diff = _values(df, band) - _values(df, f"{band}_kron")
        return ~(diff > limit)  # NaN compares False: kept

    return keep


def _colour(blue: str, red: str, lo: float | None, hi: float | None, strict_lo: bool, strict_hi: bool):
    def keep(df: pd.DataFrame) -> np.ndarray:
        c = _values(df, blue) - _values(df, red)
        mask = np.isfinite(c)
        if lo is not None:
            mask &= (c > lo) if strict_lo else (c >= lo)
        if hi is not None:
            mask &= (c < hi) if strict_hi else (c <= hi)
        return mask

    return keep


def _missing_note(removed: pd.DataFrame) -> str:
    """'N with missing values (g 3, y_err 1)': NaN or sentinel entries among removed rows, per column."""
    if removed.empty:
        return ""
    values = removed.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    missing = ~np.isfinite(values) | np.isin(values, SENTINELS)
    n_rows = int(missing.any(axis=1).sum())
    if not n_rows:
        return ""
    per_col = [f"{col} {int(n):,}" for col, n in zip(removed.columns, missing.sum(axis=0), strict=True) if n]
    return f"{n_rows:,} with missing values ({', '.join(per_col)})"


DEFAULT_CUT_CONFIG = CutConfig()


def paper_cuts(bands: BandSet = PS1, config: CutConfig = DEFAULT_CUT_CONFIG) -> list[Cut]:
    """The paper's cuts, in order, for ``bands``: completeness, prob_star, measurements, QfPerfect,
    the four colour cuts (PS1 grizy only) and the error cut."""
    names = bands.names
    c = config
    ref = c.point_source_band
    k = c.max_missing_bands
    allow = k > 0
    complete = Cut(
        "complete",
        "magnitude and error finite, not a sentinel, in every band",
        names + bands.err_columns,
        _complete(names + bands.err_columns),
    )
    if allow:
        complete = Cut(
            "complete",
            f"magnitude and error finite, not a sentinel, in all but at most {k} band(s)",
            names + bands.err_columns,
            _at_most_missing(names, k),
        )
    cuts = [
        complete,
        Cut(
            "prob_star",
            f"PS1-STRM prob_star >= {c.min_prob_star:g}",
            ("prob_star",),
            _all_at_least(("prob_star",), c.min_prob_star),
        ),
        Cut(
            "point_source",
            f"PSF - Kron {ref} <= {c.max_psf_minus_kron:g} mag (Farrow et al. 2014), only without prob_star",
            (ref, f"{ref}_kron"),
            _psf_minus_kron_at_most(ref, c.max_psf_minus_kron),
            skip_reason="" if ref in names else f"band {ref!r} is not in band set {bands.name!r}",
            unless=("prob_star",),
        ),
        Cut(
            "n_measurements",
            f"n_<band> >= {c.min_measurements} in every band",
            tuple(f"n_{b}" for b in names),
            _per_band(tuple(f"n_{b}" for b in names), names, lambda cols: _all_at_least(cols, c.min_measurements), allow),
            partial=True,
        ),
        Cut(
            "qf_perfect",
            f"QfPerfect >= {c.min_qf_perfect:g} in every band",
            tuple(f"qf_{b}" for b in names),
            _per_band(tuple(f"qf_{b}" for b in names), names, lambda cols: _all_at_least(cols, c.min_qf_perfect), allow),
            partial=True,
        ),
    ]
    skip = ""
    if not set(COLOUR_BANDS) <= set(names):
        skip = f"colour cuts are defined for PS1 grizy; band set {bands.name!r} lacks some of g,r,i,z,y"
    lo_gi, hi_gi = c.g_i_range
    lo_zy, hi_zy = c.z_y_range

    def colour(blue: str, red: str, *a) -> Callable[[pd.DataFrame], np.ndarray]:
        fn = _colour(blue, red, *a)
        return _excusing_missing(fn, (blue, red)) if allow else fn

    cuts += [
        Cut(
            "g-r",
            f"g - r <= {c.max_g_r:g}",
            ("g", "r"),
            colour("g", "r", None, c.max_g_r, False, False),
            skip_reason=skip,
        ),
        Cut(
            "g-i",
            f"{lo_gi:g} < g - i < {hi_gi:g}",
            ("g", "i"),
            colour("g", "i", lo_gi, hi_gi, True, True),
            skip_reason=skip,
        ),
        Cut(
            "z-y",
            f"{lo_zy:g} < z - y < {hi_zy:g}",
            ("z", "y"),
            colour("z", "y", lo_zy, hi_zy, True, True),
            skip_reason=skip,
        ),
        Cut(
            "i-y",
            f"i - y > {c.min_i_y:g}",
            ("i", "y"),
            colour("i", "y", c.min_i_y, None, True, False),
            skip_reason=skip,
        ),
        Cut(
            "errors",
            f"0 < <band>_err <= {c.max_err:g} in every band",
            bands.err_columns,
            _per_band(bands.err_columns, names, lambda cols: _positive_at_most(cols, c.max_err), allow),
            explain=_nonpositive_note,
        ),
    ]
    return cuts


def missing_band_counts(df: pd.DataFrame, bands: BandSet) -> dict[str, Any]:
    """How many rows lack each band and how many lack at least one (for the funnel of ``--allow-missing``)."""
    per = {b: band_missing(df, b) for b in bands.names}
    anyb = np.zeros(len(df), dtype=bool)
    for v in per.values():
        anyb |= v
    return {"n_rows_with_missing": int(anyb.sum()), "per_band": {b: int(v.sum()) for b, v in per.items()}}


def apply_cuts(df: pd.DataFrame, cuts: list[Cut]) -> tuple[pd.DataFrame, Funnel]:
    """Apply ``cuts`` in order; return the surviving rows (original index kept) and the funnel.

    Cuts whose columns are absent are recorded with ``applied=False`` and a note naming the
    columns; a keep-mask of the wrong shape raises :class:`ConfigError`.
    """
    funnel = Funnel(n_input=len(df))
    current = df
    for cut in cuts:
        n_before = len(current)
        if cut.skip_reason:
            funnel.steps.append(FunnelStep(cut.name, cut.description, n_before, 0, False, cut.skip_reason))
            continue
        covered = [col for col in cut.unless if col in current.columns]
        if covered:
            note = f"{', '.join(covered)} present: that cut decides"
            funnel.steps.append(FunnelStep(cut.name, cut.description, n_before, 0, False, note))
            continue
        missing = [col for col in cut.columns if col not in current.columns]
        if missing and (not cut.partial or len(missing) == len(cut.columns)):
            word = "column" if len(missing) == 1 else "columns"
            note = f"{word} {', '.join(missing)} absent"
            funnel.steps.append(FunnelStep(cut.name, cut.description, n_before, 0, False, note))
            continue
        mask = np.asarray(cut.keep(current))
        if mask.shape != (n_before,) or mask.dtype != bool:
            raise ConfigError(
                f"cut {cut.name!r} returned a mask of shape {mask.shape} and dtype {mask.dtype}; "
                f"expected ({n_before},) bool"
            )
        notes = []
        if missing:
            notes.append(f"{', '.join(missing)} absent, not checked")
        present = [col for col in cut.columns if col in current.columns]
        notes.append(_missing_note(current.loc[~mask, present]))
        if cut.explain is not None:
            notes.append(cut.explain(current.loc[~mask, present]))
        funnel.steps.append(
            FunnelStep(
                cut.name, cut.description, n_before, int((~mask).sum()), True, "; ".join(filter(None, notes))
            )
        )
        current = current.loc[mask]
    out = current.copy()
    out.attrs = copy.deepcopy(df.attrs)
    funnel.n_output = len(out)
    return out, funnel
