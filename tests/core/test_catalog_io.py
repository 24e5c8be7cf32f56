"""Parquet I/O of the contract: atomic writes, provenance metadata, no silent overwrite, damaged files."""

import pytest

from core.catalog import read_metadata, read_parquet, validate_catalog, write_parquet
from core.errors import CatalogError, OutputExistsError


def test_round_trip_keeps_rows_and_metadata(tmp_path, small_catalog):
    path = write_parquet(small_catalog, tmp_path / "c.parquet", metadata={"seed": 3, "funnel": {"n_input": 9}})
    back = read_parquet(path)
    assert back.equals(small_catalog)
    assert back.attrs["sedscape"] == {"seed": 3, "funnel": {"n_input": 9}}
    assert read_metadata(path)["seed"] == 3
    assert not list(tmp_path.glob(".*partial*"))


def test_refuses_to_overwrite_unless_asked(tmp_path, small_catalog):
    path = write_parquet(small_catalog, tmp_path / "c.parquet")
    before = path.read_bytes()
    with pytest.raises(OutputExistsError, match="--overwrite"):
        write_parquet(small_catalog.head(5), path)
    assert path.read_bytes() == before
    write_parquet(small_catalog.head(5), path, overwrite=True)
    assert len(read_parquet(path)) == 5


def test_truncated_and_empty_parquet_are_named(tmp_path, small_catalog):
    path = write_parquet(small_catalog, tmp_path / "c.parquet")
    data = path.read_bytes()
    cut = tmp_path / "cut.parquet"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(CatalogError, match="cut.parquet.*truncated"):
        read_parquet(cut)
    empty = tmp_path / "empty.parquet"
    empty.write_bytes(b"")
    with pytest.raises(CatalogError, match="empty"):
        read_parquet(empty)
    with pytest.raises(CatalogError, match="no such file"):
        read_parquet(tmp_path / "nope.parquet")


def test_validation_names_missing_columns_and_counts_bad_values(small_catalog):
    with pytest.raises(CatalogError, match="missing required column.*z_err"):
        validate_catalog(small_catalog.drop(columns=["z_err"]), source="sky.parquet")
    df = small_catalog.copy()
    df.loc[:9, "g"] = float("nan")
    df.loc[10:12, "y"] = -999.0
    report = validate_catalog(df)
    assert report.nan_counts["g"] == 10 and report.sentinel_counts["y"] == 3
    with pytest.raises(CatalogError, match=r"g: 10 rows.*y: 3 rows"):
        validate_catalog(df, require_complete=True)


def test_validation_rejects_empty_strings_and_duplicates(small_catalog):
    with pytest.raises(CatalogError, match="no rows"):
        validate_catalog(small_catalog.iloc[:0])
    df = small_catalog.copy()
    df["r"] = df["r"].astype(str)
    with pytest.raises(CatalogError, match="'r' must be numeric"):
        validate_catalog(df)
    dup = small_catalog.copy()
    dup.loc[1, "obj_id"] = dup.loc[0, "obj_id"]
    with pytest.raises(CatalogError, match="duplicated"):
        validate_catalog(dup)


def test_read_parquet_first_rows_keeps_metadata(tmp_path):
    from core.catalog import read_parquet, write_parquet
    from tests._catalogs import make_catalog

    df = make_catalog(500, seed=2)
    df.attrs["sedscape"] = {"note": "kept"}
    path = write_parquet(df, tmp_path / "c.parquet")
    head = read_parquet(path, rows=7)
    assert len(head) == 7 and head["obj_id"].tolist() == df["obj_id"].iloc[:7].tolist()
    assert head.attrs["sedscape"].get("note") == "kept"
    assert read_parquet(path, columns=["obj_id", "g"], rows=3).columns.tolist() == ["obj_id", "g"]
