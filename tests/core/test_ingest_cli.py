"""``sedscape ingest`` end to end through ``core.cli.main``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.catalog import read_parquet, validate_catalog
from core.cli import main
from core.cuts import Funnel
from tests._catalogs import make_catalog

M44 = Path(__file__).resolve().parents[1] / "data" / "ps1_dr1_meanobject_cone_M44.tsv"


@pytest.fixture
def casjobs_csv(tmp_path) -> tuple[Path, pd.DataFrame]:
    cat = make_catalog(200, seed=21)
    cat.loc[:9, "g_err"] = 0.03  # removed only by a stricter --max-err
    cat.loc[10:14, "prob_star"] = 0.5
    names = {"obj_id": "objID", "ra": "raMean", "dec": "decMean", "ebv": "E_BV", "prob_star": "prob_Star"}
    for b in "grizy":
        names |= {
            b: f"{b}MeanPSFMag",
            f"{b}_err": f"{b}MeanPSFMagErr",
            f"n_{b}": f"n{b}",
            f"qf_{b}": f"{b}QfPerfect",
        }
    path = tmp_path / "casjobs.csv"
    cat.drop(columns=["l", "b"]).rename(columns=names).to_csv(path, index=False)
    return path, cat


def test_m44_end_to_end(tmp_path, capsys):
    out = tmp_path / "m44.parquet"
    assert main(["ingest", str(M44), "--out", str(out), "--no-deredden"]) == 0
    printed = capsys.readouterr().out
    df = read_parquet(out)
    validate_catalog(df, require_complete=True, source="m44 output")
    funnel = Funnel.from_dict(df.attrs["sedscape"]["funnel"])
    assert funnel.n_input == 5001 and funnel.n_output == len(df) > 0
    assert funnel.n_input - funnel.n_removed == funnel.n_output
    assert "column prob_star absent" in printed
    assert f"wrote {len(df):,} stars to {out}" in printed
    assert (df[["g_err", "r_err", "i_err", "z_err", "y_err"]] <= 0.05).all().all()
    assert (df[[f"n_{b}" for b in "grizy"]] >= 5).all().all()
    assert df.attrs["sedscape"]["ingest"]["format"] == "mast-tsv"
    assert df.attrs["sedscape"]["dereddened"] is False


def test_m44_without_ebv_ingests_and_says_it_is_not_dereddened(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("core.pipeline.sfd_available", lambda: False)
    out = tmp_path / "m44.parquet"
    assert main(["ingest", str(M44), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "NOT dereddened" in printed and "prob_star absent" in printed
    df = read_parquet(out)
    assert df.attrs["sedscape"]["dereddened"] is False
    assert df.attrs["sedscape"]["funnel"]["n_output"] == len(df)


def test_m44_with_ebv_column_required_explains(tmp_path, capsys):
    out = tmp_path / "m44.parquet"
    assert main(["ingest", str(M44), "--out", str(out), "--ebv", "column"]) == 2
    err = capsys.readouterr().err
    assert "no 'ebv' column" in err and "--no-deredden" in err
    assert not out.exists()


def test_m44_with_one_ebv_value_for_the_cluster_field(tmp_path, capsys):
    out = tmp_path / "m44.parquet"
    assert main(["ingest", str(M44), "--out", str(out), "--ebv-value", "0.031"]) == 0
    assert "one E(B-V) for every star: 0.031" in capsys.readouterr().out
    df = read_parquet(out)
    assert len(df) == 200  # 16 galaxies (PSF - Kron i > 0.05) go: the export has no prob_star
    np.testing.assert_allclose(df["y_obs"] - df["y"], 1.087 * 0.031)
    assert (df["ebv"] == 0.031).all()
    for bad in (["--ebv-value", "-0.1"], ["--ebv-value", "nan"], ["--ebv-value", "0.03", "--ebv", "sfd"]):
        assert main(["ingest", str(M44), "--out", str(tmp_path / "bad.parquet"), *bad]) == 2
        assert "--ebv-value" in capsys.readouterr().err


def test_dereddens_and_applies_threshold_overrides(tmp_path, casjobs_csv, capsys):
    path, cat = casjobs_csv
    out = tmp_path / "sel.parquet"
    assert main(["ingest", str(path), "--out", str(out)]) == 0
    df = read_parquet(out)
    assert len(df) == 195  # the five prob_star = 0.5 rows go
    src = cat.set_index("obj_id").loc[df["obj_id"]]
    np.testing.assert_allclose(df["g_obs"], src["g"])
    np.testing.assert_allclose(df["g"], src["g"] - 3.172 * src["ebv"])
    assert df.attrs["sedscape"]["dereddened"]["ebv_column"] == "ebv"

    strict = tmp_path / "strict.parquet"
    assert (
        main(["ingest", str(path), "--out", str(strict), "--max-err", "0.025", "--min-prob-star", "0.4"]) == 0
    )
    df = read_parquet(strict)
    assert len(df) == 190
    assert df.attrs["sedscape"]["cuts"]["config"]["max_err"] == 0.025
    assert "<band>_err <= 0.025" in capsys.readouterr().out


def test_refuses_to_overwrite(tmp_path, casjobs_csv, capsys):
    path, _ = casjobs_csv
    out = tmp_path / "sel.parquet"
    out.write_bytes(b"precious")
    assert main(["ingest", str(path), "--out", str(out)]) == 2
    assert "exists; pass --overwrite" in capsys.readouterr().err
    assert out.read_bytes() == b"precious"
    assert main(["ingest", str(path), "--out", str(out), "--overwrite", "--no-cuts"]) == 0
    assert len(read_parquet(out)) == 200


def test_bad_input_is_a_clean_error(tmp_path, capsys):
    bad = tmp_path / "empty.csv"
    bad.write_text("")
    assert main(["ingest", str(bad), "--out", str(tmp_path / "x.parquet")]) == 2
    assert "empty (0 bytes)" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["ingest", str(bad), "--out", str(tmp_path / "x.parquet"), "--ebv", "planck"])


def test_nothing_selected_writes_nothing(tmp_path, capsys):
    out = tmp_path / "none.parquet"
    assert main(["ingest", str(M44), "--out", str(out), "--no-deredden", "--max-err", "0.0001"]) == 2
    captured = capsys.readouterr()
    assert "errors" in captured.out  # the funnel is still shown
    assert "no star passed the cuts" in captured.err
    assert not out.exists()
