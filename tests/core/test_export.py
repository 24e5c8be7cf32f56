"""Exports in every format: the rows and their types come back, every format keeps the provenance, text
a spreadsheet would run is neutralised, chunks make no difference, and a cancel leaves nothing behind."""

import csv
import io
import threading

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from astropy.io import fits
from astropy.io.votable import parse
from astropy.table import Table

from core.bands import PS1
from core.catalog import read_parquet
from core.errors import ConfigError, ExportCancelled, OutputExistsError, PathError
from core.export import ExportOptions, export_rows, format_for_path, read_export, read_provenance

FORMATS = ("csv", "parquet", "fits", "votable")
PROV = {"catalog": "/data/sky.parquet", "threshold": np.float64(0.05),
        "selection": {"kind": "lasso", "vertices": np.array([[0.0, 1.5], [2.0, 3.0], [1.0, 0.0]])}}  # fmt: skip
PROV_PLAIN = {"catalog": "/data/sky.parquet", "threshold": 0.05,
              "selection": {"kind": "lasso", "vertices": [[0.0, 1.5], [2.0, 3.0], [1.0, 0.0]]}}  # fmt: skip


@pytest.fixture
def rows():
    return pd.DataFrame(
        {
            "obj_id": np.array([108012345678901234, 2, 3, 4], dtype=np.int64),
            "g": [17.123456789012345, -1 / 3, np.nan, -2.5],  # a negative magnitude is a number, not text
            "g_res": np.array([0.1, -2.5e-5, 1e-7, np.nan], dtype=np.float32),
            "simbad_id": pd.array(["NAME M3 #12", None, 'odd, "quoted"', "=HYPERLINK(1)"], dtype="string"),
            "note": pd.array(["+1", "-abc", "'quoted", "@SUM(A1)"], dtype=object),
            "simbad_category": pd.Categorical(["WD", "", None, "-neg"]),  # "" is a category, None is missing
            "name": ["Ångström", "b", None, "c"],
            "anomaly": [True, False, True, False],
            "n_g": np.array([5, 6, 7, 8], dtype=np.int32),
            "n_det": pd.array([1, None, 3, 4], dtype="Int64"),
        }
    )


def _export(rows, tmp_path, fmt, **kw):
    kw.setdefault("options", ExportOptions(fmt))
    return export_rows(rows, np.arange(len(rows)), tmp_path / f"sel{'.' + fmt}", columns=list(rows.columns),
                       provenance=PROV, bands=PS1, **kw)  # fmt: skip


def _text(series):
    return [None if pd.isna(v) else str(v) for v in series]


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_reads_back_the_values_and_the_provenance(rows, tmp_path, fmt):
    back, prov = read_export(_export(rows, tmp_path, fmt))
    assert prov == PROV_PLAIN
    assert back.columns.tolist() == rows.columns.tolist()
    assert back["obj_id"].tolist() == rows["obj_id"].tolist()  # beyond 2**53: every digit
    assert back["g"].dtype == np.float64 and back["g_res"].dtype == np.float32
    np.testing.assert_array_equal(back["g"].to_numpy(float), rows["g"].to_numpy(float))  # exact, NaN included
    np.testing.assert_array_equal(back["g_res"].to_numpy(np.float32), rows["g_res"].to_numpy(np.float32))
    assert back["anomaly"].tolist() == rows["anomaly"].tolist() and back["n_g"].dtype == np.int32
    assert back["n_det"].isna().tolist() == [False, True, False, False]
    assert _text(back["note"]) == ["+1", "-abc", "'quoted", "@SUM(A1)"]  # escaping is undone on reading
    assert _text(back["name"])[0] == "Ångström"
    cats = _text(back["simbad_category"])
    assert cats[0] == "WD" and cats[1] == "" and cats[3] == "-neg"  # the empty-string category survives
    if fmt in ("csv", "parquet"):  # FITS has no missing text; astropy reads VOTable's as "" (astropy #8995)
        assert cats[2] is None and _text(back["simbad_id"])[1] is None


def test_csv_is_ecsv_for_astropy_with_units_and_provenance(rows, tmp_path):
    table = Table.read(_export(rows, tmp_path, "csv"), format="ascii.ecsv")
    assert table["obj_id"].dtype == np.int64 and table["g_res"].dtype == np.float32
    assert table["anomaly"].dtype == bool and str(table["g"].unit) == "mag"
    assert table.meta["sedscape_export"]["selection"]["kind"] == "lasso"
    assert table["simbad_id"][2] == 'odd, "quoted"'


def test_csv_reads_with_pandas_comment_hash(rows, tmp_path):
    plain = pd.read_csv(_export(rows, tmp_path, "csv"), comment="#")
    assert plain.columns.tolist() == rows.columns.tolist()
    assert plain["obj_id"].tolist() == rows["obj_id"].tolist()
    assert plain["g"].iloc[0] == rows["g"].iloc[0] and plain["g"].iloc[3] == -2.5
    assert plain["simbad_id"].iloc[0] == "NAME M3 #12"  # a quoted '#' is not a comment


def test_csv_text_that_a_spreadsheet_would_run_is_neutralised_but_numbers_are_not(rows, tmp_path):
    text = _export(rows, tmp_path, "csv").read_text(encoding="utf-8")
    body = [line for line in text.splitlines() if not line.startswith("#")]
    cells = [cell for row in csv.reader(io.StringIO("\n".join(body[1:]))) for cell in row]
    assert not [c for c in cells if c[:1] in ("=", "+", "@", "\t", "\r")]
    texts = set(rows["note"]) | {"=HYPERLINK(1)", "-neg"}
    assert not [c for c in cells if c in texts]  # every risky text cell got its prefix
    assert "-2.5" in cells and "'-abc" in cells and "''quoted" in cells  # numbers untouched; ' escaped too
    assert ',"",' in body[2]  # an empty-string category is a quoted empty cell, not a missing one


def test_parquet_export_is_a_sedscape_catalog_with_categories(rows, tmp_path):
    path = _export(rows, tmp_path, "parquet", metadata={"bands": [{"name": "g"}]})
    df = read_parquet(path)
    assert isinstance(df["simbad_category"].dtype, pd.CategoricalDtype)
    assert df.attrs["sedscape"]["bands"] == [{"name": "g"}]
    assert df.attrs["sedscape"]["export"] == PROV_PLAIN == read_provenance(path)


def test_fits_and_votable_carry_units_ucds_and_provenance(rows, tmp_path):
    with fits.open(_export(rows, tmp_path, "fits")) as hdul:
        hdul.verify("exception")
        assert hdul[1].header["TUNIT2"] == "mag" and hdul[1].header["NAXIS2"] == 4
        assert read_provenance(tmp_path / "sel.fits") == PROV_PLAIN
    vot = parse(_export(rows, tmp_path, "votable"), verify="exception")
    fields = {f.name: f for f in vot.get_first_table().fields}
    assert fields["obj_id"].ucd == "meta.id;meta.main" and fields["g"].unit == "mag"
    assert fields["name"].datatype == "unicodeChar" and fields["note"].datatype == "char"


@pytest.mark.parametrize("fmt", FORMATS)
def test_chunks_and_row_order_make_no_difference(tmp_path, fmt):
    rng = np.random.default_rng(4)
    n = 1000
    df = pd.DataFrame({"obj_id": np.arange(n, dtype=np.int64), "g": rng.normal(18, 1, n),
                       "cat": pd.Categorical(rng.choice(["WD", "MS", ""], n)),
                       "txt": np.where(rng.random(n) < 0.2, None, rng.choice(["a", "-b", "longer text"], n))})  # fmt: skip
    index = rng.permutation(n)[:700]
    one = export_rows(df, index, tmp_path / f"one.{fmt}", columns=list(df.columns), provenance={},
                      options=ExportOptions(fmt, chunk_rows=10_000))  # fmt: skip
    many = export_rows(df, index, tmp_path / f"many.{fmt}", columns=list(df.columns), provenance={},
                       options=ExportOptions(fmt, chunk_rows=64))  # fmt: skip
    a, b = read_export(one)[0], read_export(many)[0]
    pd.testing.assert_frame_equal(a, b)
    assert a["obj_id"].tolist() == index.tolist()
    if fmt != "parquet":  # Parquet stores the chunk boundaries as row groups: the files differ, the rows not
        assert one.read_bytes() == many.read_bytes()


@pytest.mark.parametrize("fmt", FORMATS)
def test_empty_selection_writes_a_valid_empty_file(rows, tmp_path, fmt):
    path = export_rows(rows, np.zeros(0, dtype=np.int64), tmp_path / f"e.{fmt}", columns=list(rows.columns),
                       provenance=PROV, options=ExportOptions(fmt))  # fmt: skip
    back, prov = read_export(path)
    assert len(back) == 0 and prov == PROV_PLAIN


@pytest.mark.parametrize("fmt", FORMATS)
def test_cancel_stops_the_export_and_leaves_no_file(tmp_path, fmt):
    df = pd.DataFrame({"obj_id": np.arange(5000), "g": np.linspace(14, 20, 5000), "t": ["x"] * 5000})
    cancel = threading.Event()
    with pytest.raises(ExportCancelled):
        export_rows(df, np.arange(5000), tmp_path / f"c.{fmt}", columns=list(df.columns), provenance={},
                    options=ExportOptions(fmt, chunk_rows=500), progress=lambda n: cancel.set(), cancel=cancel)  # fmt: skip
    assert list(tmp_path.iterdir()) == []


def test_refuses_to_overwrite_and_names_bad_options(rows, tmp_path):
    path = _export(rows, tmp_path, "csv")
    with pytest.raises(OutputExistsError):
        _export(rows, tmp_path, "csv")
    assert _export(rows, tmp_path, "csv", overwrite=True) == path
    with pytest.raises(ConfigError, match="'format'"):
        ExportOptions("xlsx")
    with pytest.raises(ConfigError, match="'columns'"):
        ExportOptions("csv", columns="some")
    with pytest.raises(ConfigError, match="'chunk_rows'"):
        ExportOptions("csv", chunk_rows=0)
    with pytest.raises(PathError, match="is a directory"):
        export_rows(rows, [0], tmp_path, columns=["g"], provenance={})
    with pytest.raises(ConfigError, match="nope"):
        export_rows(rows, [0], tmp_path / "x.csv", columns=["g", "nope"], provenance={})
    assert format_for_path("a/b.VOT") == "votable" and format_for_path("x.fits") == "fits"
    with pytest.raises(ConfigError, match="suffixes"):
        format_for_path("x.xlsx")


@pytest.mark.parametrize("fmt", ["csv", "votable"])
def test_memory_stays_at_a_few_chunks_however_large_the_export(tmp_path, fmt):
    """Neither the text nor the table is ever whole in memory: the peak of Python/numpy and Arrow
    allocations stays well below the file's size (it would exceed it if the file were built in memory)."""
    import tracemalloc

    n = 100_000
    rng = np.random.default_rng(0)
    df = pd.DataFrame({f"m{k}": rng.normal(18, 2, n) for k in range(12)})
    df["obj_id"] = np.arange(n, dtype=np.int64) + 10**17
    df["cat"] = pd.Categorical(rng.choice(["WD", "MS", "RGB"], n))
    default = pa.default_memory_pool()
    pool = pa.proxy_memory_pool(default)  # counts its own peak
    pa.set_memory_pool(pool)
    tracemalloc.start()
    try:
        path = export_rows(df, np.arange(n), tmp_path / f"big.{fmt}", columns=list(df.columns), provenance={},
                           options=ExportOptions(fmt, chunk_rows=2_000))  # fmt: skip
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        pa.set_memory_pool(default)
    size = path.stat().st_size
    assert size > 12e6
    assert peak + pool.max_memory() < size / 3, (peak, pool.max_memory(), size)
