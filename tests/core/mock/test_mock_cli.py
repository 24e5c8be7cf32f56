"""``sedscape mock``: writes the file with metadata, refuses to overwrite, validates."""

from __future__ import annotations

import numpy as np

from core.catalog import read_parquet
from core.cli import main
from core.mock.validate import validate_mock


def test_cli_writes_catalog_with_metadata_and_funnel(tmp_path, capsys):
    out = tmp_path / "sky.parquet"
    assert main(["mock", "--out", str(out), "--stars", "2000", "--seed", "4"]) == 0
    printed = capsys.readouterr().out
    assert "prob_star" in printed and "errors" in printed  # the funnel table
    sky = read_parquet(out)
    meta = sky.attrs["sedscape"]
    assert meta["mock"]["seed"] == 4
    assert meta["funnel"]["n_output"] == len(sky)
    assert 1_500 < len(sky) < 2_500
    assert sky["true_class"].dtype.name == "category"


def test_cli_refuses_to_overwrite(tmp_path, capsys):
    out = tmp_path / "sky.parquet"
    out.write_bytes(b"precious")
    assert main(["mock", "--out", str(out), "--stars", "500"]) == 2
    assert "exists" in capsys.readouterr().err
    assert out.read_bytes() == b"precious"
    assert main(["mock", "--out", str(out), "--stars", "500", "--overwrite"]) == 0
    assert len(read_parquet(out)) > 0


def test_cli_requires_out(capsys):
    assert main(["mock"]) == 2
    assert "--out" in capsys.readouterr().err


def test_cli_validate_prints_pass_fail_lines(tmp_path, capsys):
    out = tmp_path / "sky.parquet"
    assert main(["mock", "--out", str(out), "--stars", "3000", "--seed", "2"]) == 0
    capsys.readouterr()
    code = main(["mock", "--validate", str(out)])
    text = capsys.readouterr().out
    lines = [ln for ln in text.splitlines() if ln.startswith(("PASS", "FAIL"))]
    assert any("error fractions" in ln for ln in lines)
    assert any("SIMBAD fraction" in ln for ln in lines)
    assert code == (1 if any(ln.startswith("FAIL") for ln in lines) else 0)


def test_validation_passes_on_the_shared_mock(mock_sky):
    report = validate_mock(mock_sky)
    failed = [c for c in report.checks if not c.passed]
    # At 30k stars every published-number check should already hold.
    assert not failed, report.format()


def test_validation_catches_a_broken_catalog(mock_sky):
    broken = mock_sky.copy()
    broken["g_err"] = np.float32(0.03)  # no star precise in g any more
    broken["ebv"] = 0.3
    report = validate_mock(broken)
    names = {c.name for c in report.checks if not c.passed}
    assert {"error fractions", "E(B-V) range", "dereddening"} <= names
