"""The catalog contract: validation messages and Parquet round trips with metadata."""

from __future__ import annotations

import numpy as np
import pytest

from core.bands import PS1, SDSS
from core.catalog import (
    band_set_of,
    bandset_to_meta,
    read_metadata,
    read_parquet,
    required_columns,
    validate_catalog,
    write_parquet,
)
from core.errors import CatalogError, OutputExistsError


def test_valid_catalog_passes(small_catalog):
    report = validate_catalog(small_catalog, require_complete=True)
    assert report.ok and report.n_rows == 2000
    assert set(required_columns(PS1)) <= set(small_catalog.columns)


def test_missing_columns_named(small_catalog):
    with pytest.raises(CatalogError, match="missing required column\\(s\\) l, r_err"):
        validate_catalog(small_catalog.drop(columns=["r_err", "l"]))
    raw = small_catalog.rename(columns={"g": "gMeanPSFMag"})
    with pytest.raises(CatalogError, match="raw PS1 columns"):
        validate_catalog(raw)


def test_nan_and_sentinels_counted_and_raise_only_when_complete_required(small_catalog):
    small_catalog.loc[[0, 1], "g"] = np.nan
    small_catalog.loc[5, "y_err"] = -999.0
    report = validate_catalog(small_catalog)
    assert report.nan_counts["g"] == 2 and report.sentinel_counts["y_err"] == 1
    with pytest.raises(CatalogError, match="g: 2 rows.*y_err: 1 rows"):
        validate_catalog(small_catalog, require_complete=True)


def test_hard_problems(small_catalog):
    bad = small_catalog.copy()
    bad["r"] = bad["r"].astype(str)
    with pytest.raises(CatalogError, match="column 'r' must be numeric"):
        validate_catalog(bad)
    with pytest.raises(CatalogError, match="no rows"):
        validate_catalog(small_catalog.iloc[:0])
    bad = small_catalog.copy()
    bad.loc[0, "dec"] = 95.0
    with pytest.raises(CatalogError, match="dec outside"):
        validate_catalog(bad)
    bad = small_catalog.copy()
    bad.loc[1, "obj_id"] = bad.loc[0, "obj_id"]
    with pytest.raises(CatalogError, match="duplicated"):
        validate_catalog(bad)
    bad = small_catalog.copy()
    bad[list(PS1.names)] = 3631e9 * 10 ** (-0.4 * bad[list(PS1.names)])  # nJy, not magnitudes
    with pytest.raises(CatalogError, match="not fluxes"):
        validate_catalog(bad)


def test_parquet_round_trip_with_metadata(tmp_path, small_catalog):
    small_catalog.attrs["sedscape"] = {"from": "attrs", "n": 1}
    meta = {"n": 2, "funnel": {"n_input": 3}, **bandset_to_meta(SDSS)}
    path = write_parquet(small_catalog, tmp_path / "sub" / "cat.parquet", metadata=meta)
    back = read_parquet(path)
    assert back.equals(small_catalog.reset_index(drop=True))
    assert back["obj_id"].dtype == np.int64
    assert back.attrs["sedscape"]["from"] == "attrs" and back.attrs["sedscape"]["n"] == 2  # metadata wins
    assert read_metadata(path)["funnel"] == {"n_input": 3}
    assert band_set_of(back).names == SDSS.names
    assert not list(path.parent.glob(".*partial*"))  # atomic write leaves no temp file
    assert read_parquet(path, columns=["obj_id", "g"]).columns.tolist() == ["obj_id", "g"]


def test_parquet_refuses_overwrite_and_bad_files(tmp_path, small_catalog):
    path = write_parquet(small_catalog, tmp_path / "cat.parquet")
    with pytest.raises(OutputExistsError, match="--overwrite"):
        write_parquet(small_catalog.head(3), path)
    assert len(read_parquet(path)) == 2000
    write_parquet(small_catalog.head(3), path, overwrite=True)
    assert len(read_parquet(path)) == 3
    data = path.read_bytes()
    cut = tmp_path / "cut.parquet"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(CatalogError, match="truncated"):
        read_parquet(cut)
    empty = tmp_path / "empty.parquet"
    empty.write_bytes(b"")
    with pytest.raises(CatalogError, match="0 bytes"):
        read_parquet(empty)
    with pytest.raises(CatalogError, match="no such file"):
        read_parquet(tmp_path / "missing.parquet")
