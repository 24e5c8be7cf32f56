"""Readers: every format into the contract, the real M44 MAST export, and errors a person can act on."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.bands import PS1, SDSS
from core.catalog import validate_catalog, write_parquet
from core.errors import CatalogError, ConfigError
from core.readers import detect_format, read_catalog
from tests._catalogs import make_catalog
from tests._catalogs import ps1_named as _ps1_named

M44 = Path(__file__).resolve().parents[1] / "data" / "ps1_dr1_meanobject_cone_M44.tsv"


@pytest.fixture
def cat():
    return make_catalog(40, seed=11)


# --- the real MAST portal export -------------------------------------------------------------------


@pytest.fixture(scope="module")
def m44():
    return read_catalog(M44)


def test_m44_export_is_a_valid_catalog(m44):
    assert detect_format(M44) == "mast-tsv"
    assert len(m44) == 5001  # 5,003 lines: header, column types, 5,001 objects
    validate_catalog(m44, PS1, source="M44")
    assert m44["obj_id"].dtype == np.int64
    meta = m44.attrs["sedscape"]["ingest"]
    assert meta["format"] == "mast-tsv" and meta["l_b_computed"]
    assert meta["columns"]["g"] == "gMeanPSFMag" and meta["columns"]["qf_y"] == "yQfPerfect"


def test_m44_known_star(m44):
    # Line 52 of the file, read by hand:
    # objID 131591300937609707, raMean "08 40 22.502", decMean "+19 39 57.34",
    # g 14.552 +- 0.012 (ng 12, gQfPerfect 1.000), r 14.159 +- 0.015 (nr 8), y 13.621 +- 0.043.
    star = m44.set_index("obj_id").loc[131591300937609707]
    assert star["ra"] == pytest.approx((8 + 40 / 60 + 22.502 / 3600) * 15, abs=1e-10)
    assert star["dec"] == pytest.approx(19 + 39 / 60 + 57.34 / 3600, abs=1e-10)
    assert (star["g"], star["g_err"], star["n_g"], star["qf_g"]) == (14.552, 0.012, 12, 1.0)
    assert (star["r"], star["r_err"], star["n_r"]) == (14.159, 0.015, 8)
    assert (star["y"], star["y_err"]) == (13.621, 0.043)
    assert m44.index[m44["obj_id"] == 131591300937609707].tolist() == [49]  # order kept: line 52 - 2


def test_m44_coordinates_match_astropy(m44):
    import astropy.units as u
    from astropy.coordinates import SkyCoord

    raw = pd.read_csv(M44, sep="\t", skiprows=[1], usecols=["raMean", "decMean"])
    sky = SkyCoord(
        raw["raMean"].iloc[:300].tolist(), raw["decMean"].iloc[:300].tolist(), unit=(u.hourangle, u.deg)
    )
    np.testing.assert_allclose(m44["ra"].iloc[:300], sky.ra.deg, atol=1e-9)
    np.testing.assert_allclose(m44["dec"].iloc[:300], sky.dec.deg, atol=1e-9)
    gal = SkyCoord(ra=m44["ra"].to_numpy() * u.deg, dec=m44["dec"].to_numpy() * u.deg).galactic
    np.testing.assert_allclose(m44["l"], gal.l.deg, atol=1e-9)
    np.testing.assert_allclose(m44["b"], gal.b.deg, atol=1e-9)
    assert 205 < m44["l"].median() < 207 and 32 < m44["b"].median() < 33.5  # M44: l=205.9, b=+32.5


def test_m44_sentinels_become_nan_and_are_counted(m44):
    raw = pd.read_csv(M44, sep="\t", skiprows=[1], usecols=["gMeanPSFMag", "yQfPerfect", "ng"])
    n_sent = int((raw["gMeanPSFMag"] == -999).sum())
    assert n_sent > 0
    sentinels = m44.attrs["sedscape"]["ingest"]["sentinels"]
    assert sentinels["g"] == n_sent == int(m44["g"].isna().sum())
    assert sentinels["qf_y"] == int((raw["yQfPerfect"] == -999).sum())
    assert (m44[["g", "r", "i", "z", "y"]] != -999).all().all()
    assert (m44["n_g"].to_numpy() == raw["ng"].to_numpy()).all()  # counts are not sentinels


def test_seconds_of_sixty_are_accepted(m44):
    # Line 3950 has decMean "+19 40 60.00" (rounded seconds): 19 deg 41 arcmin.
    assert m44.loc[3947, "dec"] == pytest.approx(19 + 41 / 60, abs=1e-12)


# --- other formats ---------------------------------------------------------------------------------


def test_casjobs_csv_with_ps1_names(tmp_path, cat):
    path = tmp_path / "casjobs.csv"
    _ps1_named(cat).to_csv(path, index=False)
    assert detect_format(path) == "csv"
    df = read_catalog(path)
    np.testing.assert_allclose(df["g"], cat["g"])
    np.testing.assert_allclose(df["ebv"], cat["ebv"])
    np.testing.assert_allclose(df["prob_star"], cat["prob_star"])
    np.testing.assert_allclose(df["l"], cat["l"], atol=1e-8)  # computed from ra, dec
    assert (df["obj_id"] == cat["obj_id"]).all()
    assert df.attrs["sedscape"]["ingest"]["columns"]["ebv"] == "EBV"


def test_contract_tsv_and_comment_lines(tmp_path, cat):
    path = tmp_path / "mine.txt"
    path.write_text("# my stars\n# from a notebook\n" + cat.to_csv(sep="\t", index=False))
    df = read_catalog(path)
    pd.testing.assert_frame_equal(df[cat.columns], cat, check_dtype=False)
    assert "l_b_computed" not in df.attrs["sedscape"]["ingest"]


def test_fits_table(tmp_path, cat):
    from astropy.table import Table

    path = tmp_path / "cat.fits"
    Table.from_pandas(_ps1_named(cat)).write(path)
    df = read_catalog(path)
    assert df.attrs["sedscape"]["ingest"]["format"] == "fits"
    np.testing.assert_allclose(df["z_err"], cat["z_err"])
    assert (df["obj_id"] == cat["obj_id"]).all()


def test_votable_lowercase_tap_names(tmp_path, cat):
    from astropy.io.votable import from_table
    from astropy.table import Table

    tap = _ps1_named(cat)
    tap.columns = [c.lower() for c in tap.columns]  # some TAP services fold names to lower case
    path = tmp_path / "tap_result.xml"
    from_table(Table.from_pandas(tap)).to_xml(str(path))
    assert detect_format(path) == "votable"
    df = read_catalog(path)
    np.testing.assert_allclose(df["i"], cat["i"])
    assert df.attrs["sedscape"]["ingest"]["columns"]["i"] == "imeanpsfmag"


@pytest.mark.parametrize("suffix", [".fits", ".vot", ".ecsv"])
def test_masked_values_become_counted_nan(tmp_path, cat, suffix):
    from astropy.io.votable import from_table
    from astropy.table import MaskedColumn, Table

    table = Table.from_pandas(_ps1_named(cat))
    table["gMeanPSFMag"] = MaskedColumn(table["gMeanPSFMag"], mask=np.arange(len(table)) < 3)
    table["ng"] = MaskedColumn(table["ng"], mask=np.arange(len(table)) == 5)  # an integer column with a null
    path = tmp_path / f"masked{suffix}"
    if suffix == ".vot":
        from_table(table).to_xml(str(path))
    else:
        table.write(path)
    df = read_catalog(path)
    assert df["g"].isna().tolist() == [True] * 3 + [False] * (len(cat) - 3)
    assert np.isnan(df.loc[5, "n_g"]) and df.loc[6, "n_g"] == cat.loc[6, "n_g"]
    assert df.attrs["sedscape"]["ingest"]["missing"] == {"g": 3, "n_g": 1}


def test_parquet_keeps_metadata(tmp_path, cat):
    path = tmp_path / "cat.parquet"
    cat.attrs["sedscape"] = {"origin": "test"}
    cat["simbad_otype"] = ["WD*"] + [""] * (len(cat) - 1)
    write_parquet(cat, path)
    df = read_catalog(path)
    assert df.attrs["sedscape"]["origin"] == "test"
    assert df.attrs["sedscape"]["ingest"]["format"] == "parquet"
    pd.testing.assert_frame_equal(df[cat.columns], cat, check_dtype=False)


def test_other_band_set_and_generated_ids(tmp_path):
    sdss = make_catalog(10, seed=3, bands=SDSS, with_optional=False).drop(columns=["obj_id"])
    path = tmp_path / "sdss.csv"
    sdss.to_csv(path, index=False)
    df = read_catalog(path, bands="sdss")
    assert list(df["obj_id"]) == list(range(10))
    assert df.attrs["sedscape"]["ingest"]["obj_id_generated"]


# --- errors a person can act on --------------------------------------------------------------------


def test_missing_column_names_what_was_looked_for(tmp_path, cat):
    path = tmp_path / "no_y.csv"
    _ps1_named(cat).drop(columns=["yMeanPSFMagErr"]).to_csv(path, index=False)
    with pytest.raises(CatalogError, match=r"y_err \(looked for y_err, yMeanPSFMagErr"):
        read_catalog(path)


def test_nan_and_sentinels_are_counted_not_dropped(tmp_path, cat):
    cat.loc[[1, 2], "r"] = np.nan
    cat.loc[[3, 4, 5], "z"] = -999.0
    cat.loc[6, "z_err"] = -999.0
    path = tmp_path / "holes.csv"
    cat.to_csv(path, index=False)
    df = read_catalog(path)
    assert len(df) == len(cat)
    info = df.attrs["sedscape"]["ingest"]
    assert info["sentinels"] == {"z": 3, "z_err": 1}
    assert info["missing"] == {"r": 2, "z": 3, "z_err": 1}


def test_strings_in_a_magnitude_column(tmp_path, cat):
    text = _ps1_named(cat).to_csv(index=False).splitlines()
    header = text[0].split(",")
    col = header.index("iMeanPSFMag")
    row = text[8].split(",")  # data row 8, line 9 of the file
    row[col] = "bright?"
    text[8] = ",".join(row)
    path = tmp_path / "typo.csv"
    path.write_text("\n".join(text) + "\n")
    with pytest.raises(
        CatalogError, match=r"'iMeanPSFMag' must be numeric.*data row 8 \(line 9 of the file\): 'bright\?'"
    ):
        read_catalog(path)


def test_empty_and_header_only_files(tmp_path, cat):
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(CatalogError, match="empty \\(0 bytes\\)"):
        read_catalog(empty)
    header = tmp_path / "header.csv"
    header.write_text(",".join(cat.columns) + "\n")
    with pytest.raises(CatalogError, match="header .* but no data rows"):
        read_catalog(header)
    mast = tmp_path / "mast.tsv"
    mast.write_text("".join(M44.open().readline() for _ in range(1)) + M44.read_text().splitlines()[1] + "\n")
    with pytest.raises(CatalogError, match="no data rows"):
        read_catalog(mast)


def test_truncated_binary_files(tmp_path, cat):
    from astropy.io.votable import from_table
    from astropy.table import Table

    big = make_catalog(3000, seed=5)
    write_parquet(big, tmp_path / "ok.parquet")
    Table.from_pandas(big).write(tmp_path / "ok.fits")
    from_table(Table.from_pandas(big)).to_xml(str(tmp_path / "ok.vot"))
    for name, pattern in [("parquet", "Parquet"), ("fits", "FITS"), ("vot", "VOTable")]:
        data = (tmp_path / f"ok.{name}").read_bytes()
        cut = tmp_path / f"cut.{name}"
        cut.write_bytes(data[: len(data) // 2])
        with pytest.raises(CatalogError, match=f"cut.{name}: .*{pattern}.*truncated"):
            read_catalog(cut)


def test_unknown_or_mislabelled_format(tmp_path):
    binary = tmp_path / "blob.bin"
    binary.write_bytes(b"\x00\x01\x02garbage")
    with pytest.raises(CatalogError, match="unknown format"):
        read_catalog(binary)
    fake = tmp_path / "fake.parquet"
    fake.write_text("obj_id,ra\n1,2\n")
    with pytest.raises(CatalogError, match="name says parquet"):
        read_catalog(fake)
    with pytest.raises(ConfigError, match="unknown catalog format 'xls'"):
        read_catalog(fake, format="xls")
    with pytest.raises(CatalogError, match="no such file"):
        read_catalog(tmp_path / "nope.csv")


def test_bad_coordinates(tmp_path, cat):
    cat["ra"] = cat["ra"].astype(object)
    cat.loc[2, "ra"] = "08 40 22.5"
    path = tmp_path / "mixed.csv"
    cat.to_csv(path, index=False)
    with pytest.raises(CatalogError, match="mixes sexagesimal and decimal"):
        read_catalog(path)
    cat = make_catalog(5, seed=1)
    cat.loc[1, "dec"] = np.nan
    cat.to_csv(path, index=False)
    with pytest.raises(CatalogError, match="ra/dec are empty in 1 row"):
        read_catalog(path)


def test_negative_sexagesimal_declination(tmp_path, cat):
    table = cat.head(3).drop(columns=["l", "b"]).copy()
    table["ra"] = ["00 00 00.0", "12 30 00.0", "23 59 59.99"]
    table["dec"] = ["-00 30 00.0", "-45 15 36.0", "+05:06:07.2"]
    path = tmp_path / "sexa.csv"
    table.to_csv(path, index=False)
    df = read_catalog(path)
    np.testing.assert_allclose(df["ra"], [0.0, 187.5, (23 + 59 / 60 + 59.99 / 3600) * 15])
    np.testing.assert_allclose(df["dec"], [-0.5, -(45 + 15 / 60 + 36 / 3600), 5 + 6 / 60 + 7.2 / 3600])


def test_sexagesimal_ra_beyond_24_hours(tmp_path, cat):
    table = cat.head(2).drop(columns=["l", "b"]).copy()
    table["ra"] = ["08 40 22.5", "130 05 37.0"]  # degrees written as if hours
    path = tmp_path / "ra.csv"
    table.to_csv(path, index=False)
    with pytest.raises(CatalogError, match=r"data row 2 has '130 05 37.0' \(>= 24 h\)"):
        read_catalog(path)


def test_duplicate_ids_rejected(tmp_path, cat):
    cat.loc[3, "obj_id"] = cat.loc[2, "obj_id"]
    path = tmp_path / "dups.csv"
    cat.to_csv(path, index=False)
    with pytest.raises(CatalogError, match="obj_id has 1 duplicated"):
        read_catalog(path)
