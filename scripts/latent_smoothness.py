"""How smoothly the mock's physical truth varies over each model's latent space, all models on one sky.

For each model directory (its chosen run), the canonical latent of a seeded sample of the catalog's stars is
fed to :func:`core.latent_predictability` (R^2 of a 20-nearest-neighbour regressor from latent position to
true Teff, log g, [Fe/H] and E(B-V), fitted on one half of the sample and scored on the other; each
parameter on the stars where it is finite). One markdown table is printed:

    .venv/bin/python scripts/latent_smoothness.py data/generated/mock_sky.parquet MODEL_DIR [MODEL_DIR ...]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.card import read_card  # noqa: E402
from core.catalog import read_parquet  # noqa: E402
from core.scoring import TrainedModel  # noqa: E402
from core.stellar.evaluation import latent_predictability  # noqa: E402

TRUTH = {"teff": "true_teff", "logg": "true_logg", "feh": "true_feh", "ebv": "true_ebv"}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("catalog")
    ap.add_argument("model_dirs", nargs="+")
    ap.add_argument("--stars", type=int, default=200_000, help="seeded sample size (default 200,000)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    bands = list("grizy")
    cols = [*bands, *(f"{b}_err" for b in bands), *TRUTH.values()]
    df = read_parquet(args.catalog, columns=cols)
    rng = np.random.default_rng(args.seed)
    rows = np.sort(rng.choice(len(df), min(args.stars, len(df)), replace=False))
    sample = df.iloc[rows].reset_index(drop=True)
    sample.attrs = df.attrs
    out = []
    for d in args.model_dirs:
        card = read_card(d)
        tm = TrainedModel.load(d)
        xy = tm.encode(sample)
        frame = pd.DataFrame({"latent_x": xy[:, 0], "latent_y": xy[:, 1]})
        for col in TRUTH.values():
            frame[col] = sample[col].to_numpy(np.float64)
        r2 = latent_predictability(frame, TRUTH, seed=args.seed)
        out.append({"model": card.model.name, "directory": d, "run": tm.run,
                    "trained on": f"{card.catalog.n_rows:,} stars ({card.catalog.sha256[:8]})", **r2})
    table = pd.DataFrame(out)
    print(f"{len(sample):,} stars of {args.catalog} (seed {args.seed}); R^2 on held-out halves")
    print(table.to_markdown(index=False, floatfmt=".3f"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
