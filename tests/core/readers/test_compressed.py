"""Compressed catalogs (.gz, .bz2, .xz, a .zip with one file) are read as the file inside."""

from __future__ import annotations

import bz2
import gzip
import lzma
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.catalog import write_parquet
from core.cli import main
from core.errors import CatalogError
from core.readers import detect_format, read_catalog
from tests._catalogs import make_catalog, ps1_named

M44 = Path(__file__).resolve().parents[2] / "data" / "ps1_dr1_meanobject_cone_M44.tsv"


@pytest.fixture(scope="module")
def m44():
    return read_catalog(M44)


def _compress(data: bytes, path: Path, how: str, member: str = "m44.tsv") -> Path:
    if how == "zip":
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr(member, data)
    else:
        path.write_bytes({"gz": gzip.compress, "bz2": bz2.compress, "xz": lzma.compress}[how](data))
    return path


@pytest.mark.parametrize("how", ["gz", "bz2", "xz", "zip"])
def test_real_export_compressed_reads_as_the_plain_file(tmp_path, m44, how):
    path = _compress(M44.read_bytes(), tmp_path / f"m44.tsv.{how}", how)
    assert detect_format(path) == "mast-tsv"  # looked inside
    df = read_catalog(path)
    pd.testing.assert_frame_equal(df, m44)
    info = df.attrs["sedscape"]["ingest"]
    assert info["compression"] == {"gz": "gzip"}.get(how, how) and info["inner_name"] == "m44.tsv"
    assert info["path"] == str(path)


def test_binary_formats_inside_compression_and_names_that_lie(tmp_path):
    from astropy.table import Table

    cat = make_catalog(25, seed=8)
    Table.from_pandas(ps1_named(cat)).write(tmp_path / "cat.fits")
    fits_gz = _compress((tmp_path / "cat.fits").read_bytes(), tmp_path / "cat.fits.gz", "gz")
    np.testing.assert_allclose(read_catalog(fits_gz)["g"], cat["g"])
    write_parquet(cat, tmp_path / "cat.parquet")
    pq_zip = _compress((tmp_path / "cat.parquet").read_bytes(), tmp_path / "download.zip", "zip", "cat.parquet")
    assert detect_format(pq_zip) == "parquet"
    np.testing.assert_allclose(read_catalog(pq_zip)["z_err"], cat["z_err"])
    # gzip content under a plain name is recognised by its bytes
    disguised = _compress(M44.read_bytes(), tmp_path / "m44.tsv", "gz")
    assert len(read_catalog(disguised)) == 5001


def test_damaged_or_ambiguous_archives_are_refused(tmp_path):
    data = gzip.compress(M44.read_bytes())
    cut = tmp_path / "cut.tsv.gz"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(CatalogError, match=r"cut\.tsv\.gz: the gzip data is damaged or cut short"):
        read_catalog(cut)
    two = tmp_path / "two.zip"
    with zipfile.ZipFile(two, "w") as zf:
        zf.writestr("a.csv", "x\n1\n")
        zf.writestr("b.csv", "x\n2\n")
    with pytest.raises(CatalogError, match=r"holds 2 files \(a\.csv, b\.csv\)"):
        read_catalog(two)
    # a text file cut short inside an intact gzip stream is caught by the line checks, named by the .gz
    lines = M44.read_bytes()
    inner_cut = _compress(lines[: len(lines) - 3], tmp_path / "inner_cut.tsv.gz", "gz")
    with pytest.raises(CatalogError, match=r"inner_cut\.tsv\.gz \(gzip, inner_cut\.tsv inside\): the last line"):
        read_catalog(inner_cut)


def test_ingest_cli_reads_a_zip(tmp_path, capsys):
    path = _compress(M44.read_bytes(), tmp_path / "m44.zip", "zip")
    out = tmp_path / "m44.parquet"
    assert main(["ingest", str(path), "--out", str(out), "--ebv", "none"]) == 0
    assert "read 5,001 rows" in capsys.readouterr().out
