"""Coordinates and photometry in the wrong unit: declared units converted, undeclared ones caught."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.bands import PS1
from core.cli import main
from core.errors import CatalogError
from core.pipeline import select
from core.readers import read_catalog
from tests._catalogs import make_catalog, ps1_named

M44 = Path(__file__).resolve().parents[2] / "data" / "ps1_dr1_meanobject_cone_M44.tsv"
ARCSEC = 1 / 3600


@pytest.fixture(scope="module")
def m44():
    return read_catalog(M44)


@pytest.fixture(scope="module")
def m44_raw() -> tuple[str, str, pd.DataFrame]:
    """The real export's header line, its types line, and its rows as text."""
    header, types, *_ = M44.read_text().splitlines()[:2] + [""]
    return header, types, pd.read_csv(M44, sep="\t", skiprows=[1], dtype=str, keep_default_na=False)


def _hours(sexagesimal: pd.Series) -> np.ndarray:
    h, m, s = (sexagesimal.str.split(" ", expand=True)[k].astype(float) for k in range(3))
    return np.array(h + m / 60 + s / 3600)


def _write_mast(path: Path, m44_raw, rows: pd.DataFrame) -> Path:
    header, types, _ = m44_raw
    path.write_text(header + "\n" + types + "\n" + rows.to_csv(sep="\t", index=False, header=False))
    return path


def _sep_arcsec(ra1, dec1, ra2, dec2):
    d = np.hypot((np.asarray(ra1) - ra2) * np.cos(np.radians(dec2)), np.asarray(dec1) - dec2)
    return d / ARCSEC


# --- RA in decimal hours, checked against the PSO designations --------------------------------------


def test_decimal_hours_are_detected_by_the_designations_and_converted(tmp_path, m44, m44_raw):
    rows = m44_raw[2].copy()
    rows["raMean"] = [f"{v:.5f}" for v in _hours(rows["raMean"])]  # what some portal exports write
    path = _write_mast(tmp_path / "hours.tsv", m44_raw, rows)
    df = read_catalog(path)
    assert _sep_arcsec(df["ra"], df["dec"], m44["ra"], m44["dec"]).max() < 1.0
    np.testing.assert_allclose(df["l"], m44["l"], atol=1e-3)
    check = df.attrs["sedscape"]["ingest"]["designation_check"]
    assert check["reading"] == "RA in hours" and check["rows_matching"]["RA in hours"] == 5001
    assert check["rows_disagreeing"] == 0
    note = "raMean read as RA in hours and converted to degrees: the objName designations say so for 5,001"
    assert any(n.startswith(note) for n in df.attrs["sedscape"]["ingest"]["notes"])
    _, funnel = select(df, PS1, ebv="none")
    assert any("RA in hours" in n for n in funnel.notes) and "RA in hours" in funnel.format()


def _designation(ra_deg: float, dec_deg: float) -> str:
    """A PS1-style name with one decimal, like PSO J191641.9-161656.8 (truncated, as the archive does)."""
    h = ra_deg / 15
    hh, mm = int(h), int((h % 1) * 60)
    ss = np.floor(((h * 60) % 1) * 60 * 10) / 10
    a = abs(dec_deg)
    dd, dm = int(a), int((a % 1) * 60)
    ds = np.floor(((a * 60) % 1) * 60 * 10) / 10
    return f"PSO J{hh:02d}{mm:02d}{ss:04.1f}{'-' if dec_deg < 0 else '+'}{dd:02d}{dm:02d}{ds:04.1f}"


def test_generated_file_with_ra_in_hours_like_the_issue_example(tmp_path):
    cat = make_catalog(25, seed=12)
    df = ps1_named(cat)
    df.insert(0, "objName", [_designation(r, d) for r, d in zip(cat["ra"], cat["dec"], strict=True)])
    df["raMean"] = (cat["ra"] / 15).round(4)  # decimal hours, 4 decimals (19.2783 in the issue)
    path = tmp_path / "portal.csv"
    df.to_csv(path, index=False)
    out = read_catalog(path)
    assert _sep_arcsec(out["ra"], out["dec"], cat["ra"], cat["dec"]).max() < 3.0  # 0.00005 h is < 2.7"
    assert out.attrs["sedscape"]["ingest"]["designation_check"]["reading"] == "RA in hours"
    df["raMean"] = cat["ra"]  # the same file in degrees is left alone
    df.to_csv(path, index=False)
    out = read_catalog(path)
    np.testing.assert_array_equal(out["ra"], cat["ra"])
    assert out.attrs["sedscape"]["ingest"]["notes"] == []


def test_a_few_bad_rows_are_reported_not_refused(tmp_path, m44, m44_raw):
    rows = m44_raw[2].copy()
    hours = _hours(rows["raMean"])
    hours[[10, 20, 30]] += 0.01  # 9 arcmin off their designation
    rows["raMean"] = [f"{v:.6f}" for v in hours]
    df = read_catalog(_write_mast(tmp_path / "hours.tsv", m44_raw, rows))
    check = df.attrs["sedscape"]["ingest"]["designation_check"]
    assert check["reading"] == "RA in hours" and check["rows_disagreeing"] == 3
    assert check["first_disagreeing"] == [11, 21, 31]
    assert any("3 of 5,001 rows lie more than 5 arcsec" in n and "line 13, line 23, line 33" in n
               for n in df.attrs["sedscape"]["ingest"]["notes"])
    assert len(df) == 5001  # kept, counted


def test_a_file_half_in_hours_is_refused(tmp_path, m44_raw):
    rows = m44_raw[2].copy()
    hours = _hours(rows["raMean"])
    rows["raMean"] = [f"{h * (15 if k % 2 else 1):.6f}" for k, h in enumerate(hours)]
    with pytest.raises(CatalogError, match=r"cannot tell the unit of RA/Dec.*degrees 2,500, RA in hours 2,501"):
        read_catalog(_write_mast(tmp_path / "mixed.tsv", m44_raw, rows))


def test_real_export_agrees_with_its_designations(m44):
    check = m44.attrs["sedscape"]["ingest"]["designation_check"]
    assert check == {"column": "objName", "rows_checked": 5001, "reading": "degrees", "rows_disagreeing": 0,
                     "rows_matching": {"degrees": 5001, "RA in hours": 0, "radians": 0}}


# --- declared coordinate units -------------------------------------------------------------------


@pytest.mark.parametrize(("fmt", "unit", "scale"), [
    ("fits", "h", 1 / 15), ("vot", "rad", np.pi / 180), ("ecsv", "hourangle", 1 / 15), ("fits", "deg", 1.0),
])
def test_declared_coordinate_units_are_converted(tmp_path, fmt, unit, scale):
    from astropy.io.votable import from_table
    from astropy.table import Table

    cat = make_catalog(20, seed=3)
    table = Table.from_pandas(ps1_named(cat))
    table["raMean"] = table["raMean"] * scale
    table["raMean"].unit = unit
    if unit == "rad":
        table["decMean"] = table["decMean"] * scale
        table["decMean"].unit = unit
    path = tmp_path / f"cat.{fmt}"
    from_table(table).to_xml(str(path)) if fmt == "vot" else table.write(path)
    df = read_catalog(path)
    np.testing.assert_allclose(df["ra"], cat["ra"], rtol=1e-12)
    np.testing.assert_allclose(df["dec"], cat["dec"], rtol=1e-12)
    notes = df.attrs["sedscape"]["ingest"]["notes"]
    assert any("converted to degrees" in n for n in notes) == (unit != "deg")


def test_declared_units_that_cannot_be_right_are_refused(tmp_path, m44_raw):
    from astropy.table import Table

    table = Table.from_pandas(ps1_named(make_catalog(10, seed=3)))
    table["raMean"].unit = "mag"
    table.write(tmp_path / "mag.fits")
    with pytest.raises(CatalogError, match=r"'raMean' \(ra\) declares unit 'mag', which is not an angle"):
        read_catalog(tmp_path / "mag.fits")
    # declared degrees, but the designations say hours
    rows = m44_raw[2].copy()
    rows["raMean"] = [f"{v:.5f}" for v in _hours(rows["raMean"])]
    path = _write_mast(tmp_path / "hours.tsv", m44_raw, rows)
    with pytest.raises(CatalogError, match=r"declared disagree with the objName designations.*RA in hours"):
        read_catalog(path, units={"raMean": "deg"})


def test_cli_unit_option_declares_hours_for_a_plain_csv(tmp_path, capsys, caplog):
    cat = make_catalog(40, seed=5)
    df = ps1_named(cat)
    df["raMean"] = df["raMean"] / 15
    path = tmp_path / "hours.csv"
    df.to_csv(path, index=False)
    with caplog.at_level("WARNING", logger="core.readers"):
        read_catalog(path)  # no designations, no unit: read as degrees, with a hint
    assert "every RA in 'raMean' lies within 0-24" in caplog.text
    out = tmp_path / "out.parquet"
    assert main(["ingest", str(path), "--out", str(out), "--unit", "raMean=hourangle", "--no-cuts",
                 "--ebv", "none"]) == 0
    assert "note: raMean (ra) in hourangle (declared): converted to degrees" in capsys.readouterr().out
    np.testing.assert_allclose(pd.read_parquet(out)["ra"], cat["ra"], rtol=1e-12)
    assert main(["ingest", str(path), "--out", str(tmp_path / "new.parquet"), "--unit", "raMean"]) == 2
    assert "--unit wants COLUMN=UNIT" in capsys.readouterr().err


# --- fluxes and millimagnitudes ------------------------------------------------------------------


def test_fluxes_in_njy_become_ab_magnitudes(tmp_path):
    from astropy.table import Table

    cat = make_catalog(30, seed=9)
    table = Table.from_pandas(ps1_named(cat))
    for b in "grizy":
        # Oke & Gunn (1983): m_AB = -2.5 log10(f_nu / (erg s^-1 cm^-2 Hz^-1)) - 48.60; 1 nJy = 1e-32 in those units
        flux_njy = 10 ** (-0.4 * (cat[b].to_numpy() + 48.60)) / 1e-32
        table[f"{b}MeanPSFMag"] = flux_njy
        table[f"{b}MeanPSFMag"].unit = "nJy"
        table[f"{b}MeanPSFMagErr"] = flux_njy * cat[f"{b}_err"].to_numpy() * np.log(10) / 2.5
        table[f"{b}MeanPSFMagErr"].unit = "nJy"
    table.write(tmp_path / "flux.fits")
    df = read_catalog(tmp_path / "flux.fits")
    for b in "grizy":
        np.testing.assert_allclose(df[b], cat[b], atol=1e-9)
        np.testing.assert_allclose(df[f"{b}_err"], cat[f"{b}_err"], rtol=1e-9)
    assert any("gMeanPSFMag (g) holds fluxes in nJy" in n for n in df.attrs["sedscape"]["ingest"]["notes"])


def test_nanomaggies_with_nonpositive_fluxes_are_counted(tmp_path):
    from astropy.io.votable import from_table
    from astropy.table import Table

    cat = make_catalog(30, seed=9)
    table = Table.from_pandas(ps1_named(cat))
    nmgy = 10 ** (-0.4 * (cat["g"].to_numpy() - 22.5))  # SDSS: m = 22.5 - 2.5 log10(f / nanomaggy)
    nmgy[[3, 4]] = [-2.0, 99.0]  # a negative flux; and 99 nanomaggies, a real flux, not a sentinel
    table["gMeanPSFMag"] = nmgy
    table["gMeanPSFMag"].unit = "nanomaggy"
    table["gMeanPSFMagErr"] = nmgy * 0.01
    table["gMeanPSFMagErr"].unit = "nanomaggy"
    from_table(table).to_xml(str(tmp_path / "nmgy.vot"))
    df = read_catalog(tmp_path / "nmgy.vot")
    expected = cat["g"].to_numpy().copy()
    expected[[3, 4]] = [np.nan, 22.5 - 2.5 * np.log10(99.0)]
    np.testing.assert_allclose(df["g"], expected, atol=1e-9)
    info = df.attrs["sedscape"]["ingest"]
    assert info["nonpositive_flux"] == {"g": 1} and info["missing"]["g"] == 1
    assert any("1 row(s) with flux <= 0 have no magnitude" in n for n in info["notes"])


def test_undeclared_fluxes_are_refused_naming_column_and_rows(tmp_path, capsys):
    cat = make_catalog(40, seed=5)
    df = ps1_named(cat)
    df["gMeanPSFMag"] = 10 ** (-0.4 * (cat["g"] + 48.60)) / 1e-23  # Jy (Oke & Gunn 1983), no unit anywhere
    path = tmp_path / "jy.csv"
    df.to_csv(path, index=False)
    out = tmp_path / "out.parquet"
    assert main(["ingest", str(path), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "column 'gMeanPSFMag' (g) does not hold magnitudes" in err and "40 of 40 rows lie outside" in err
    assert "--unit gMeanPSFMag=Jy" in err and not out.exists()
    units = ["--unit", "gMeanPSFMag=Jy"]
    assert main(["ingest", str(path), "--out", str(out), *units, "--no-cuts", "--ebv", "none"]) == 2
    assert "declares no unit; declare it (e.g. --unit gMeanPSFMagErr=Jy)" in capsys.readouterr().err
    df["gMeanPSFMagErr"] = df["gMeanPSFMag"] * cat["g_err"] * np.log(10) / 2.5
    df.to_csv(path, index=False)
    units += ["--unit", "g_err=Jy"]
    assert main(["ingest", str(path), "--out", str(out), *units, "--no-cuts", "--ebv", "none"]) == 0
    np.testing.assert_allclose(pd.read_parquet(out)["g"], cat["g"], atol=1e-9)


def test_errors_in_millimagnitudes(tmp_path):
    from astropy.table import Table

    cat = make_catalog(30, seed=2)
    df = ps1_named(cat)
    df["rMeanPSFMagErr"] = cat["r_err"] * 1000
    df.to_csv(tmp_path / "mmag.csv", index=False)
    with pytest.raises(CatalogError, match=r"'rMeanPSFMagErr' \(r_err\) does not hold magnitude errors.*"
                                           r"30 of 30 rows exceed 1 mag.*--unit rMeanPSFMagErr=mmag"):
        read_catalog(tmp_path / "mmag.csv")
    table = Table.from_pandas(df)
    table["rMeanPSFMagErr"].unit = "mmag"
    table.write(tmp_path / "mmag.ecsv")
    np.testing.assert_allclose(read_catalog(tmp_path / "mmag.ecsv")["r_err"], cat["r_err"], rtol=1e-12)
    np.testing.assert_allclose(read_catalog(tmp_path / "mmag.csv", units={"r_err": "mmag"})["r_err"],
                               cat["r_err"], rtol=1e-12)


def test_zero_and_negative_errors_are_counted_and_cut(tmp_path):
    cat = make_catalog(50, seed=6)
    cat.loc[[1, 2], "g_err"] = -0.01  # would pass "g_err <= 0.05"
    cat.loc[3, "i_err"] = 0.0
    cat.to_csv(tmp_path / "neg.csv", index=False)
    df = read_catalog(tmp_path / "neg.csv")
    info = df.attrs["sedscape"]["ingest"]
    assert info["nonpositive_errors"] == {"g_err": 2, "i_err": 1}
    assert "errors <= 0 (not measurements; the error cut removes them): g_err 2 (2 negative), i_err 1" in info["notes"]
    selected, funnel = select(df, PS1, ebv="none")
    assert not set(cat.loc[[1, 2, 3], "obj_id"]) & set(selected["obj_id"])
    step = next(s for s in funnel.steps if s.name == "errors")
    assert step.n_removed == 3 and "3 with errors <= 0 (g_err 2, i_err 1)" in step.note
