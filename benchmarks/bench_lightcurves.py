"""Light-curve feature extraction speed, per million stars, against references measured in the same run.

    .venv/bin/python benchmarks/bench_lightcurves.py [--stars 200000] [--constant 20000] [--astropy 3]

Makes a mock sky and the epochs of its variables plus ``--constant`` non-variables (the mock's own
fraction of variables among all stars is printed too), then times each step of
:func:`core.features.lightcurves.extract_features`. Two references are measured in the same run, so the
ratios survive a loaded machine: astropy's ``LombScargleMultiband`` (nterms_base=1, nterms_band=0) on
the same frequency grid for ``--astropy`` variable stars, and a numpy reference (sorting 10 million
floats) that says how fast the machine was at that moment.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--stars", type=int, default=200_000)
    ap.add_argument("--constant", type=int, default=20_000)
    ap.add_argument("--astropy", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()

    from astropy.timeseries import LombScargleMultiband

    from core.epochs import clean_epochs, pack_epochs
    from core.features.lightcurves import extract_features
    from core.features.periodogram import PeriodConfig
    from core.mock import generate_mock_sky
    from core.mock.epochs import EpochConfig, make_epochs

    def numpy_reference() -> float:
        a = np.random.default_rng(0).random(10_000_000)
        t = time.perf_counter()
        np.sort(a)
        return time.perf_counter() - t

    print(f"load average before: {os.getloadavg()}")
    ref0 = numpy_reference()
    sky = generate_mock_sky(args.stars, args.seed)
    frac_var = float((sky["true_var_class"].astype(str) != "none").mean())
    det = make_epochs(sky, args.seed, EpochConfig(n_constant=args.constant))
    t = time.perf_counter()
    clean, _ = clean_epochs(det)
    packed = pack_epochs(clean)
    t_pack = time.perf_counter() - t
    n = packed.n_objects
    vc = sky.set_index("obj_id").loc[packed.obj_ids, "true_var_class"].astype(str).to_numpy()
    n_var = int((vc != "none").sum())
    extract_features(packed.subset(np.arange(min(200, n))))  # compile the kernels
    t = time.perf_counter()
    feats = extract_features(packed)
    t_all = time.perf_counter() - t
    n_searched = int((feats.periods["searched"] > 0).sum())
    n_high = int((feats.periods["searched"] == 2).sum())

    # astropy on the same grid as our low range, for a few searched stars
    cfg = PeriodConfig()
    rows = np.flatnonzero(feats.periods["searched"] > 0)[: args.astropy]
    span = float(np.ptp(packed.mjd))
    freqs = np.arange(1 / span, cfg.f_max_low, 1 / (cfg.oversample * span))
    t = time.perf_counter()
    for k in rows:
        s = packed.star(int(k))
        LombScargleMultiband(s["mjd"], s["mag"], s["band"], s["mag_err"], nterms_base=1, nterms_band=0).power(freqs)
    t_astropy = (time.perf_counter() - t) / max(len(rows), 1)
    from core.features.periodogram import multiband_power

    multiband_power(packed, int(rows[0]), freqs[:10])  # compile (or load) the kernel first
    t = time.perf_counter()
    for k in rows:
        multiband_power(packed, int(k), freqs)
    t_ours = (time.perf_counter() - t) / max(len(rows), 1)
    ref1 = numpy_reference()
    print(f"load average after: {os.getloadavg()}")

    secs = feats.seconds
    per_var_star = {k: v / n for k, v in secs.items()}
    print(f"\n{n:,} stars with epochs ({n_var:,} variables; {len(clean):,} detections); mock variable fraction "
          f"{frac_var:.4f}; LS searched {n_searched:,} ({n_high:,} also up to {cfg.f_max_high:g} c/d)")
    print(f"numpy reference (sort 1e7): {ref0:.3f} s before, {ref1:.3f} s after")
    print(f"pack {t_pack:.2f} s; features {t_all:.1f} s: " + ", ".join(f"{k} {v:.1f} s" for k, v in secs.items()))
    print(f"periodogram of one star on {len(freqs):,} frequencies: astropy {t_astropy:.3f} s, ours {t_ours:.4f} s "
          f"({t_astropy / max(t_ours, 1e-9):.0f}x)")
    # Per million stars of a real sky: everything but the period search scales with all stars; the search
    # only with the fraction that varies detectably (here: the mock's fraction of searched stars).
    searched = feats.periods["searched"] > 0
    s_var = float(searched[vc != "none"].mean()) if n_var else 0.0
    s_con = float(searched[vc == "none"].mean()) if n > n_var else 0.0
    frac_searched_sky = frac_var * s_var + (1 - frac_var) * s_con
    per_m = {k: v * 1e6 for k, v in per_var_star.items() if k != "periods"}
    per_m["periods"] = secs["periods"] / max(n_searched, 1) * frac_searched_sky * 1e6
    total = sum(per_m.values()) + t_pack / n * 1e6
    print(f"per million stars of the mock sky (searched fraction {frac_searched_sky:.4f}): "
          + ", ".join(f"{k} {v / 60:.1f} min" for k, v in per_m.items()) + f"; total {total / 60:.1f} min "
          f"= {total / 1e6 * 1e3:.2f} ms per star; in units of the numpy reference: {total / ((ref0 + ref1) / 2):.0f}")
    print(f"period search per searched star: {secs['periods'] / max(n_searched, 1) * 1e3:.1f} ms")


if __name__ == "__main__":
    main()
