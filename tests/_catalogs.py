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
