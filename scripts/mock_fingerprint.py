"""Print a sha256 fingerprint of the default (in-memory) mock sky, to check that a refactor left it unchanged.

    python scripts/mock_fingerprint.py --stars 200000 --seed 1

Run it before and after a change to the mock driver: equal digests mean identical catalogs (every column,
every row, in order). It is a check between two versions of the code, not a stored expectation.
"""

from __future__ import annotations

import argparse
import hashlib

import pandas as pd


def fingerprint(df: pd.DataFrame) -> str:
    """sha256 over column names, dtypes and the values of every column, row order included."""
    h = hashlib.sha256()
    for col in df.columns:
        h.update(f"{col}:{df[col].dtype}".encode())
        h.update(pd.util.hash_pandas_object(df[col], index=False).to_numpy().tobytes())
    return h.hexdigest()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--stars", type=int, default=200_000)
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args()
    from core.mock import generate_mock_sky

    df = generate_mock_sky(args.stars, args.seed)
    print(f"{len(df)} rows, {df.shape[1]} columns, sha256 {fingerprint(df)}")


if __name__ == "__main__":
    main()
