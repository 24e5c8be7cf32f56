"""Small seeded catalogs in the sedscape contract, for unit tests that must not depend on the mock sky."""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.bands import PS1, BandSet


def make_catalog(n: int = 2000, seed: int = 0, bands: BandSet = PS1, *, with_optional: bool = True) -> pd.DataFrame:
    """Stars on a smooth stellar-locus-like curve with noise; complete photometry that passes the paper's cuts."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-0.3, 3.2, n)  # colour parameter, ~ g - i
    mag0 = rng.uniform(14.5, 20.5, n)
    steps = np.stack(
        [
            np.zeros(n),
            np.minimum(0.62 * x + 0.04, 1.38),
            x - np.minimum(0.62 * x + 0.04, 1.38),
            0.22 * x + 0.01,
            0.11 * x + 0.005,
            0.05 * x + 0.01,
            0.03 * x,
            0.02 * x,
            0.01 * x,
        ]
    )
    mags = mag0[:, None] + np.cumsum(steps[1 : len(bands) + 1].T, axis=1) - steps[1][:, None] * 0
    mags[:, 0] = mag0
    for k in range(1, len(bands)):
        mags[:, k] = mags[:, k - 1] - steps[k][:]
    errs = 0.002 + 0.01 * np.exp((mags - 20.5) / 1.2)
    errs = np.clip(errs, 0.001, 0.049)
    mags = mags + rng.normal(0, 1, mags.shape) * errs * 0.5
    df = pd.DataFrame({"obj_id": np.arange(1, n + 1, dtype=np.int64) + 10_000_000})
    l_deg = rng.uniform(0, 360, n)
    b_deg = np.degrees(np.arcsin(rng.uniform(np.sin(np.radians(60)), np.sin(np.radians(80)), n)))
    import astropy.units as u
    from astropy.coordinates import SkyCoord

    icrs = SkyCoord(l=l_deg * u.deg, b=b_deg * u.deg, frame="galactic").icrs
    df["ra"], df["dec"], df["l"], df["b"] = icrs.ra.deg, icrs.dec.deg, l_deg, b_deg
    for k, band in enumerate(bands.names):
        df[band] = mags[:, k].round(4)
        df[f"{band}_err"] = errs[:, k].round(4)
    if with_optional:
        df["ebv"] = rng.uniform(0.002, 0.1, n).round(4)
        for band in bands.names:
            df[f"n_{band}"] = rng.integers(5, 40, n).astype(np.int32)
            df[f"qf_{band}"] = np.round(rng.uniform(0.995, 1.0, n), 3)
        df["prob_star"] = np.round(rng.uniform(0.99, 1.0, n), 4)
    return df


def make_scored_catalog(n: int = 2000, seed: int = 0, bands: BandSet = PS1) -> pd.DataFrame:
    """:func:`make_catalog` with the columns ``sedscape score`` adds, filled in arithmetically (latent x is
    the first-minus-third colour, latent y noise; reconstructions are the magnitudes plus noise) and SIMBAD
    categories, for tests of selections, exports and views that need no model. Fast at a million stars."""
    from core.catalog import bandset_to_meta

    df = make_catalog(n, seed=seed, bands=bands)
    rng = np.random.default_rng(seed + 1)
    names = bands.names
    df["simbad_category"] = pd.Categorical(
        np.where(rng.random(n) < 0.3, rng.choice(["MS", "RGB", "WD", "binary"], n), None)
    )
    df["latent_x"] = (df[names[0]] - df[names[2]]).astype(np.float32)
    df["latent_y"] = rng.normal(0, 1, n).astype(np.float32)
    for b in names:
        df[f"{b}_rec"] = (df[b] + rng.normal(0, 0.02, n)).astype(np.float32)
    for b in names:
        df[f"{b}_res"] = (df[b] - df[f"{b}_rec"]).astype(np.float32)
    res = np.abs(df[[f"{b}_res" for b in names]].to_numpy())
    df["max_abs_res"] = res.max(axis=1).astype(np.float32)
    df["max_abs_res_sigma"] = (df["max_abs_res"] / df[f"{names[0]}_err"]).astype(np.float32)
    df["res_band"] = pd.Categorical.from_codes(res.argmax(axis=1), categories=list(names))
    df["anomaly"] = (res > 0.05).any(axis=1)
    df.attrs["sedscape"] = {**bandset_to_meta(bands), "scoring": {"threshold": 0.05, "model": "arithmetic (tests)"}}
    return df


def ps1_named(df: pd.DataFrame) -> pd.DataFrame:
    """The contract catalog under the names a CasJobs / MAST CSV uses (no l, b: readers compute them)."""
    names = {"obj_id": "objID", "ra": "raMean", "dec": "decMean", "ebv": "EBV", "prob_star": "ps_score"}
    for b in "grizy":
        names |= {
            b: f"{b}MeanPSFMag",
            f"{b}_err": f"{b}MeanPSFMagErr",
            f"n_{b}": f"n{b}",
            f"qf_{b}": f"{b}QfPerfect",
        }
    return df.drop(columns=["l", "b"]).rename(columns=names)
