"""Numbers that say how well the stellar model works: R against SF11, parameter errors, [Fe/H] by colour,
latent-space predictability of physical parameters, stellar_chi2 anomalies against the autoencoder's, and
the Praesepe check on real data. Plain functions from DataFrames to DataFrames/dicts."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from core.bands import PS1, BandSet
from core.stellar.model import StellarModel

log = logging.getLogger(__name__)

# Praesepe (M44): distance 186.2 pc (Gaia Collaboration, Babusiaux et al. 2018, A&A 616, A10: distance
# modulus 6.350) and E(B-V) = 0.027 +- 0.004 (Taylor 2006, AJ 132, 2453).
PRAESEPE_DM = 6.350
PRAESEPE_EBV = 0.027
STELLAR_CHI2_THRESHOLD = 25.0
"""``stellar_chi2`` above which no normal star explains a star's photometry (a *physical* anomaly).

``stellar_chi2`` is the smallest chi^2 over the model's (Teff, log g, [Fe/H]) grid of the colours (B-1 for B
bands) plus the E(B-V)-prior and parallax terms, with Teff, log g, [Fe/H] and E(B-V) fitted (the distance
modulus absorbs the reference magnitude): for grizy one degree of freedom without a parallax, two with one, so
with honest Gaussian errors a normal star exceeds 25 with probability 6e-7 to 4e-6 (beyond ~4.6 sigma), and
what lies above it is a wrong kind of object or bad photometry rather than noise. The 0.02 mag error floor and the grid's cell size broaden the real distribution; on the default mock
sky 25 flags 1.2% of stars, mostly white dwarfs, BHB stars, quasars, artefacts and the coolest M dwarfs (outside
the spectroscopic training sample), see README "Stellar parameters".
"""
PARAMETER_TRUTH = {
    "teff": "true_teff",
    "logg": "true_logg",
    "feh": "true_feh",
    "ebv": "true_ebv",
}


def observed_column(df: pd.DataFrame, band: str) -> np.ndarray:
    col = f"{band}_obs" if f"{band}_obs" in df.columns else band
    return df[col].to_numpy(np.float64)


def true_dm(df: pd.DataFrame) -> np.ndarray:
    d = df["true_dist_pc"].to_numpy(np.float64) if "true_dist_pc" in df.columns else np.full(len(df), np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        return 5 * np.log10(d) - 5


def extinction_comparison(model: StellarModel, bands: BandSet = PS1, theta: np.ndarray | None = None) -> pd.DataFrame:
    """Learned R (at the median features) against the SF11 R_V = 3.1 coefficients the mock uses.

    With ``theta`` (stars' features) also the spread of R over those stars, the extinction sector's
    dependence on stellar type (the seed's Fig. 10).
    """
    learned = model.mean_extinction_vector()
    truth = np.array([bands.extinction_coeffs[b] for b in model.bands])
    out = pd.DataFrame({"band": list(model.bands), "R_learned": learned, "R_SF11": truth})
    out["ratio"] = out["R_learned"] / out["R_SF11"]
    out["percent_diff"] = 100 * (out["ratio"] - 1)
    if theta is not None and len(theta):
        _, r = model.predict(theta)
        out["R_spread_percent"] = 100 * r.std(axis=0) / r.mean(axis=0)
    return out


def parameter_errors(df: pd.DataFrame, *, r_max: float = 18.0, by: str | None = "true_class") -> pd.DataFrame:
    """Median |inferred - true| of Teff, log g, [Fe/H], E(B-V) and distance modulus for stars with
    truth and observed r < ``r_max``: one row for all, then one per ``by`` group."""
    r = observed_column(df, "r")
    sel = (r < r_max) & np.isfinite(df["true_teff"].to_numpy(np.float64))
    errs = {p: np.abs(df[f"stellar_{p}"].to_numpy(np.float64) - df[t].to_numpy(np.float64))
            for p, t in PARAMETER_TRUTH.items()}
    errs["dm"] = np.abs(df["stellar_dm"].to_numpy(np.float64) - true_dm(df))

    def row(mask: np.ndarray, name: str) -> dict[str, Any]:
        out: dict[str, Any] = {"group": name, "n": int(mask.sum())}
        for p, e in errs.items():
            out[f"{p}_median_abs_err"] = float(np.nanmedian(e[mask])) if mask.any() else np.nan
        return out

    rows = [row(sel, f"all with truth, r < {r_max:g}")]
    if by and by in df.columns:
        groups = df[by].astype(str).to_numpy()
        for g in pd.unique(groups[sel]):
            rows.append(row(sel & (groups == g), g))
    return pd.DataFrame(rows)


def feh_by_colour(df: pd.DataFrame, *, r_max: float = 18.0, edges: tuple[float, ...] = (-0.2, 0.4, 0.7, 1.0, 1.5, 2.0, 3.5)) -> pd.DataFrame:
    """How well grizy constrain [Fe/H], per dereddened g-i bin (truth needed): the spread of true [Fe/H]
    (what a prior alone would give), the median |error| and the correlation of inferred with true [Fe/H]."""
    g = observed_column(df, "g") - observed_column(df, "i")
    ebv = df["true_ebv"].to_numpy(np.float64)
    gi0 = g - ebv * (PS1.extinction_coeffs["g"] - PS1.extinction_coeffs["i"])
    r = observed_column(df, "r")
    true = df["true_feh"].to_numpy(np.float64)
    est = df["stellar_feh"].to_numpy(np.float64)
    err = df["stellar_feh_err"].to_numpy(np.float64)
    cls = df["true_class"].astype(str).to_numpy() if "true_class" in df.columns else np.full(len(df), "ms")
    normal = np.isin(cls, ("ms", "giant", "mdwarf"))
    rows = []
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        m = normal & (r < r_max) & (gi0 >= lo) & (gi0 < hi) & np.isfinite(true) & np.isfinite(est)
        if m.sum() < 10:
            continue
        rows.append({
            "g-i range": f"{lo:.1f}..{hi:.1f}",
            "n": int(m.sum()),
            "true_feh_std": float(np.std(true[m])),
            "median_abs_err": float(np.median(np.abs(est[m] - true[m]))),
            "median_reported_err": float(np.median(err[m])),
            "corr_inferred_true": float(np.corrcoef(est[m], true[m])[0, 1]),
        })
    return pd.DataFrame(rows)


def latent_predictability(
    df: pd.DataFrame,
    params: dict[str, str] | None = None,
    *,
    k: int = 20,
    n_max: int = 200_000,
    seed: int = 0,
) -> dict[str, float]:
    """R^2 of a k-nearest-neighbour regressor from (latent_x, latent_y) to each parameter, on held-out stars.

    ``params`` maps a label to a column (default: the truth columns when present, else ``stellar_*``).
    A latent space that orders stars by this parameter predicts it well (R^2 near 1) from neighbours alone.
    """
    from sklearn.neighbors import KNeighborsRegressor

    if params is None:
        params = {}
        for p in ("teff", "logg", "feh", "ebv"):
            col = f"true_{p}" if f"true_{p}" in df.columns else f"stellar_{p}"
            if col in df.columns:
                params[p] = col
    xy = df[["latent_x", "latent_y"]].to_numpy(np.float64)
    rng = np.random.default_rng(seed)
    out: dict[str, float] = {}
    for name, col in params.items():
        y = df[col].to_numpy(np.float64)
        ok = np.flatnonzero(np.isfinite(y) & np.isfinite(xy).all(axis=1))
        if len(ok) < 4 * k:
            continue
        if len(ok) > n_max:
            ok = rng.choice(ok, n_max, replace=False)
        ok = rng.permutation(ok)
        half = len(ok) // 2
        x = (xy[ok] - xy[ok].mean(axis=0)) / xy[ok].std(axis=0)
        reg = KNeighborsRegressor(n_neighbors=k).fit(x[:half], y[ok[:half]])
        pred = reg.predict(x[half:])
        resid = y[ok[half:]] - pred
        out[name] = float(1 - np.var(resid) / np.var(y[ok[half:]]))
    return out


def anomaly_comparison(df: pd.DataFrame, stellar_flag: np.ndarray, other_flag: np.ndarray, other_name: str) -> dict[str, Any]:
    """Overlap of two anomaly flags and, with truth, the share of each true class each flags."""
    a, b = np.asarray(stellar_flag, bool), np.asarray(other_flag, bool)
    out: dict[str, Any] = {
        "n_stars": int(len(a)),
        "stellar_chi2": int(a.sum()),
        other_name: int(b.sum()),
        "both": int((a & b).sum()),
        "jaccard": float((a & b).sum() / max((a | b).sum(), 1)),
    }
    if "true_class" in df.columns:
        cls = df["true_class"].astype(str).to_numpy()
        rows = []
        for c in pd.unique(cls):
            m = cls == c
            rows.append({"class": c, "n": int(m.sum()), "stellar_chi2_percent": 100 * float(a[m].mean()),
                         f"{other_name}_percent": 100 * float(b[m].mean()), "both_percent": 100 * float((a & b)[m].mean())})
        out["per_class"] = sorted(rows, key=lambda r: -r["n"])
    if "true_anomaly" in df.columns:
        t = df["true_anomaly"].to_numpy(bool)
        for name, f in (("stellar_chi2", a), (other_name, b), ("either", a | b)):
            out[f"recall_{name}"] = float((f & t).sum() / max(t.sum(), 1))
            out[f"precision_{name}"] = float((f & t).sum() / max(f.sum(), 1))
    return out


def cluster_check(
    df: pd.DataFrame,
    *,
    ri_min: float = 0.7,
    r_max: float = 18.0,
    chi2_max: float = 10.0,
    half_width: float = 0.6,
    dm_lit: float = PRAESEPE_DM,
    ebv_lit: float = PRAESEPE_EBV,
) -> dict[str, Any]:
    """Praesepe in the M44 cone: red dwarfs (r - i > ri_min, r < r_max, all five bands, stellar_chi2 <
    chi2_max) are cluster members and background field dwarfs. Returns every selected star's distance
    modulus and the group within ``half_width`` of the literature value: its size, median, spread and
    E(B-V). (No proper motions here to pick members independently; the report shows all values.)"""
    r, i = observed_column(df, "r"), observed_column(df, "i")
    dm_all = df["stellar_dm"].to_numpy(np.float64)
    sel = (r - i > ri_min) & (r < r_max) & np.isfinite(dm_all) & (df["stellar_chi2"].to_numpy(np.float64) < chi2_max)
    if "stellar_ncolours" in df.columns:
        sel &= df["stellar_ncolours"].to_numpy() >= len([c for c in ("g", "r", "i", "z", "y") if c in df.columns]) - 1
    dm = dm_all[sel]
    ebv = df["stellar_ebv"].to_numpy(np.float64)[sel]
    out: dict[str, Any] = {
        "selection": f"r - i > {ri_min}, r < {r_max}, 5 bands, stellar_chi2 < {chi2_max}",
        "n": int(sel.sum()),
        "dm_literature": dm_lit,
        "ebv_literature": ebv_lit,
        "dm_all_median": float(np.median(dm)) if len(dm) else float("nan"),
        "ebv_all_median": float(np.median(ebv)) if len(ebv) else float("nan"),
    }
    if not len(dm):
        return out
    group = np.abs(dm - dm_lit) <= half_width
    g_dm = dm[group] if group.any() else np.array([np.nan])
    out.update({
        "group_window": half_width,
        "group_n": int(group.sum()),
        "group_dm_median": float(np.median(g_dm)),
        "group_dm_std": float(np.std(g_dm)),
        "group_distance_pc": float(10 ** (0.2 * np.median(g_dm) + 1)),
        "group_ebv_median": float(np.median(ebv[group])) if group.any() else float("nan"),
        "group_dm_err_median": float(np.median(df["stellar_dm_err"].to_numpy(np.float64)[sel][group]))
        if group.any() else float("nan"),
        "dm_values": np.round(np.sort(dm), 2).tolist(),
    })
    return out


def chi2_flags(df: pd.DataFrame, threshold: float | None = None) -> tuple[np.ndarray, float]:
    """``stellar_chi2 > threshold`` (default :data:`STELLAR_CHI2_THRESHOLD`)."""
    t = STELLAR_CHI2_THRESHOLD if threshold is None else float(threshold)
    return df["stellar_chi2"].to_numpy(np.float64) > t, t
