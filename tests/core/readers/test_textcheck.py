"""Text files that parse but are wrong: cut short, ragged, duplicated columns, HTML error pages."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.cli import main
from core.errors import CatalogError
from core.readers import detect_format, read_catalog
from core.readers.textcheck import LineScan, check_row_count, html_title
from tests._catalogs import make_catalog, ps1_named

M44 = Path(__file__).resolve().parents[2] / "data" / "ps1_dr1_meanobject_cone_M44.tsv"
M44_LINES = M44.read_bytes().split(b"\n")[:-1]  # 5,003 lines, the file ends with a newline


@pytest.fixture
def csv_lines() -> list[str]:
    """A 30-star CasJobs-style CSV, as lines without newlines; y error is the last column."""
    df = ps1_named(make_catalog(30, seed=4))
    cols = [c for c in df.columns if c != "yMeanPSFMagErr"] + ["yMeanPSFMagErr"]
    df = df[cols]
    df.loc[29, "yMeanPSFMagErr"] = 0.043
    return df.to_csv(index=False, float_format="%.4f").splitlines()


def _write(path: Path, lines: list, end: str | bytes = "\n") -> Path:
    if lines and isinstance(lines[0], bytes):
        path.write_bytes(b"\n".join(lines) + (end.encode() if isinstance(end, str) else end))
    else:
        path.write_text("\n".join(lines) + end)
    return path


# --- truncated files -------------------------------------------------------------------------------


def test_last_value_cut_short_is_refused_not_read_as_zero(tmp_path, csv_lines):
    # The download stopped inside the last value: 0.043 became 0.0, the line count is intact.
    assert csv_lines[-1].endswith(",0.0430")
    cut = _write(tmp_path / "cut.csv", csv_lines[:-1] + [csv_lines[-1][: -len("430")]], end="")
    assert pd.read_csv(cut)["yMeanPSFMagErr"].iloc[-1] == 0.0  # what pandas alone makes of it
    with pytest.raises(CatalogError, match=r"cut\.csv: the last line \(31\) does not end with a newline"):
        read_catalog(cut)


def test_real_export_cut_mid_line_names_the_line(tmp_path):
    data = M44.read_bytes()
    cut = tmp_path / "m44_cut.tsv"
    cut.write_bytes(data[: len(data) // 2])
    n_lines = data[: len(data) // 2].count(b"\n") + 1
    assert len(pd.read_csv(cut, sep="\t", skiprows=[1])) == n_lines - 2  # pandas: no word about it
    with pytest.raises(CatalogError, match=rf"line {n_lines:,} has \d+ field\(s\), too few.*cut short mid-line"):
        read_catalog(cut)


def test_real_export_without_final_newline_is_refused(tmp_path):
    path = _write(tmp_path / "m44.tsv", M44_LINES, end=b"")
    with pytest.raises(CatalogError, match=r"last line \(5,003\) does not end with a newline"):
        read_catalog(path)


def test_short_and_long_rows_in_the_middle_name_their_line(tmp_path, csv_lines):
    short = list(csv_lines)
    short[10] = ",".join(short[10].split(",")[:-3])  # data row 10, line 11
    with pytest.raises(CatalogError, match=r"line 11 has \d+ field\(s\), too few: the header has \d+"):
        read_catalog(_write(tmp_path / "short.csv", short))
    long = list(csv_lines)
    long[5] += ",1.0"
    long[7] += ",1.0"
    with pytest.raises(CatalogError, match=r"line 6 has \d+ field\(s\), too many.*\(1 more line\(s\) also differ\)"):
        read_catalog(_write(tmp_path / "long.csv", long))


def test_stray_quote_in_the_real_export_is_refused_with_its_line(tmp_path):
    lines = list(M44_LINES)
    lines[2459] = b'"' + lines[2459]  # line 2,460 now opens a quote that never closes
    with pytest.raises(CatalogError, match=r"line 2,460 opens a quoted value that does not close"):
        read_catalog(_write(tmp_path / "quote.tsv", lines))


def test_quoted_values_holding_the_separator_are_fine(tmp_path):
    df = make_catalog(12, seed=2)
    df["simbad_otype"] = ["Star, variable"] * 12  # to_csv quotes these
    path = tmp_path / "quoted.csv"
    df.to_csv(path, index=False)
    assert read_catalog(path)["simbad_otype"].tolist() == ["Star, variable"] * 12


def test_a_parse_that_stops_early_is_refused():
    # The backstop after the line scan: pandas returned fewer rows than the file has data lines.
    scan = LineScan(n_lines=5003, first_data_line=3, ends_with_newline=True)
    with pytest.raises(CatalogError, match=r"read 2,458 rows but the file has 5,001 data lines.*after line 2,460"):
        check_row_count(2458, scan, "x.tsv", "pandas")
    check_row_count(5001, scan, "x.tsv")


def test_blank_lines_and_crlf_are_read_and_lines_stay_exact(tmp_path, csv_lines):
    lines = csv_lines[:6] + ["", ""] + csv_lines[6:] + [""]
    df = read_catalog(_write(tmp_path / "blank.csv", lines))
    assert len(df) == 30
    assert df.attrs["sedscape"]["ingest"]["empty_lines_skipped"] == 3
    crlf = tmp_path / "crlf.csv"
    crlf.write_bytes("\r\n".join(csv_lines).encode() + b"\r\n")
    assert len(read_catalog(crlf)) == 30
    bad = list(lines)
    row = bad[12].split(",")  # after the two blank lines: data row 10 is on line 13
    row[3] = "oops"
    bad[12] = ",".join(row)
    with pytest.raises(CatalogError, match=r"data row 10 \(line 13 of the file\): 'oops'"):
        read_catalog(_write(tmp_path / "blank_bad.csv", bad))


def test_carriage_return_inside_a_line_is_refused(tmp_path):
    lines = list(M44_LINES)
    lines[3000] = lines[3000][:40] + b"\r" + lines[3000][40:]
    with pytest.raises(CatalogError, match=r"line 3,001 holds a carriage return"):
        read_catalog(_write(tmp_path / "cr.tsv", lines))


# --- duplicate column names ------------------------------------------------------------------------


def test_duplicate_columns_in_text_are_refused_by_name(tmp_path, csv_lines):
    header = csv_lines[0].split(",")
    k = header.index("rMeanPSFMag")
    header[k] = "gMeanPSFMag"  # two g columns with different values
    lines = [",".join(header)] + csv_lines[1:]
    path = _write(tmp_path / "dup.csv", lines)
    assert "gMeanPSFMag.1" in pd.read_csv(path).columns  # pandas renames silently
    first = header.index("gMeanPSFMag") + 1
    with pytest.raises(CatalogError, match=rf"duplicate column name.*'gMeanPSFMag' \(columns {first}, {k + 1}\)"):
        read_catalog(path)


@pytest.mark.parametrize("fmt", ["fits", "vot", "ecsv", "parquet"])
def test_duplicate_columns_in_binary_and_astropy_formats(tmp_path, fmt):
    import pyarrow as pa
    import pyarrow.parquet as pq
    from astropy.io import fits
    from astropy.io.votable import from_table
    from astropy.table import Table

    df = ps1_named(make_catalog(10, seed=1))
    path = tmp_path / f"dup.{fmt}"
    df["zzzzzzzzzzz"] = df["gMeanPSFMag"] + 1  # renamed to a second gMeanPSFMag below
    if fmt == "parquet":
        table = pa.Table.from_pandas(df, preserve_index=False)
        pq.write_table(table.rename_columns([c if c != "zzzzzzzzzzz" else "gMeanPSFMag" for c in df.columns]), path)
    elif fmt == "fits":
        Table.from_pandas(df).write(path)
        with fits.open(path, mode="update") as hdul:
            k = hdul[1].columns.names.index("zzzzzzzzzzz") + 1
            hdul[1].header[f"TTYPE{k}"] = "gMeanPSFMag"
    elif fmt == "vot":
        from_table(Table.from_pandas(df)).to_xml(str(path))
        path.write_text(path.read_text().replace('name="zzzzzzzzzzz"', 'name="gMeanPSFMag"'))
    else:
        Table.from_pandas(df).write(path)
        path.write_text(path.read_text().replace("zzzzzzzzzzz", "gMeanPSFMag"))
    with pytest.raises(CatalogError, match=r"duplicate column name.*'gMeanPSFMag'"):
        read_catalog(path)


# --- HTML error pages ------------------------------------------------------------------------------

PAGE_503 = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>503 Service Unavailable &ndash; MAST</title></head>
<body><h1>Service Unavailable</h1><p>The server is temporarily unable to service your request.</p></body>
</html>
"""


@pytest.mark.parametrize("name", ["export.csv", "export.tsv", "result.xml", "table.txt"])
def test_html_error_page_is_named_with_its_title(tmp_path, name):
    path = tmp_path / name
    path.write_text(PAGE_503)
    with pytest.raises(CatalogError, match=r"this is an HTML page, not a catalog \(its title: \"503 Service "
                                           r"Unavailable – MAST\"\)"):
        read_catalog(path)
    with pytest.raises(CatalogError, match="HTML page"):
        detect_format(path)
    with pytest.raises(CatalogError, match="HTML page"):
        read_catalog(path, format="csv")  # also when the format is forced


def test_html_title_rules():
    assert html_title(b"<?xml version='1.0'?>\n<!DOCTYPE html><html><head><title>Bad\n gateway</title>") == "Bad gateway"
    assert html_title(b"  <HTML><body>oops</body></HTML>") == ""
    assert html_title(b"objID,raMean\n1,2\n") is None
    assert html_title(b"<?xml version='1.0'?><VOTABLE version='1.4'>") is None


def test_cli_refusal_writes_nothing_and_exits_2(tmp_path, capsys):
    page = tmp_path / "ps1.csv"
    page.write_text(PAGE_503)
    out = tmp_path / "out.parquet"
    assert main(["ingest", str(page), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "this is an HTML page" in err and "Traceback" not in err
    assert not out.exists() and not list(tmp_path.glob(".*partial*"))


def test_real_export_reads_unchanged_through_the_checks():
    df = read_catalog(M44)
    raw = pd.read_csv(M44, sep="\t", skiprows=[1])
    assert len(df) == len(raw) == 5001
    np.testing.assert_array_equal(df["obj_id"].to_numpy(), raw["objID"].to_numpy())
