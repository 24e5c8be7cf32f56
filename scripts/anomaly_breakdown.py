"""Where a model's anomalies fall on a mock sky: Table 2 at 0.05 mag, and the anomalous share per true class,
per true [Fe/H] bin (single main-sequence stars) and per r magnitude, for each model directory's chosen run.

    .venv/bin/python scripts/anomaly_breakdown.py data/generated/mock_sky.parquet MODEL_DIR [MODEL_DIR ...]
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.catalog import read_parquet  # noqa: E402
from core.scoring import DEFAULT_THRESHOLD, TrainedModel, anomaly_mask  # noqa: E402

FEH_BINS = (-3.0, -1.5, -1.0, -0.5, -0.25, 0.0, 0.6)


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__)
        return 1
    df = read_parquet(argv[0])
    for model_dir in argv[1:]:
        tm = TrainedModel.load(model_dir)
        mags = df[list(tm.bands.names)].to_numpy(np.float64)
        res = mags - tm.reconstruct(mags)
        flagged = anomaly_mask(res, DEFAULT_THRESHOLD)
        within = [100 * float((np.abs(res[:, k]) <= DEFAULT_THRESHOLD).mean()) for k in range(res.shape[1])]
        print(f"== {model_dir} ({tm.name}, run {tm.run}): all bands within {DEFAULT_THRESHOLD} mag "
              f"{100 * (1 - flagged.mean()):.3f}%; per band " + ", ".join(
                  f"{b} {w:.3f}" for b, w in zip(tm.bands.names, within, strict=True)))
        classes = df["true_class"].astype(str)
        table = pd.DataFrame({"stars": classes.value_counts(),
                              "flagged_percent": 100 * pd.Series(flagged, index=df.index).groupby(classes).mean()})
        print(table.sort_values("stars", ascending=False).head(8).round(2).to_string())
        ms, feh = (classes == "ms").to_numpy(), df["true_feh"].to_numpy()
        print("single main-sequence stars flagged (%) by true [Fe/H]: " + ", ".join(
            f"{lo}..{hi} {100 * flagged[ms & (feh >= lo) & (feh < hi)].mean():.2f}"
            for lo, hi in zip(FEH_BINS[:-1], FEH_BINS[1:], strict=True)))
        r = df["r"].to_numpy()
        print("all stars flagged (%) by r: " + ", ".join(
            f"{m}-{m + 1} {100 * flagged[(r >= m) & (r < m + 1)].mean():.2f}" for m in range(14, 22)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
