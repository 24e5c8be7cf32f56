"""PS1 DR2 detections: the export reader (flux in Jy -> AB mag, filterID -> band) and the resumable TAP fetch."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from archive_replay import DATA, source_table

from core.archives.ps1_detections import DetectionFetcher, detection_adql
from core.epochs import EpochError, clean_epochs, pack_epochs, read_epochs
from core.errors import ArchiveError
from core.features.periodogram import PeriodConfig, period_search
from core.readers.detections import flux_to_mag, ps1_detections_to_epochs, read_ps1_detections


def _raw() -> pd.DataFrame:
    return source_table("ps1dr2_detection.xml").to_pandas()


def test_flux_in_jansky_to_ab_magnitudes():
    mag, err = flux_to_mag(np.array([3631.0, 3631e-8, 0.0, -1e-6]), np.array([36.31, 3631e-10, 1.0, 1.0]))
    assert np.allclose(mag[:2], [0.0, 20.0]) and np.isnan(mag[2:]).all()
    assert np.allclose(err[:2], [1.0857 * 0.01, 1.0857 * 0.01], rtol=1e-3)


def test_recorded_votable_reads_into_the_contract(tmp_path):
    ep = read_ps1_detections(DATA / "ps1dr2_detection.xml")
    raw = _raw()
    assert len(ep) == len(raw) and set(ep["band"]) == set("grizy")
    assert ep.attrs["sedscape"]["ingest"]["n_nonpositive_flux"] == 2
    row = raw.iloc[10]
    assert ep["band"].iloc[10] == "grizy"[int(row["filterID"]) - 1]
    assert ep["mag"].iloc[10] == pytest.approx(-2.5 * np.log10(row["psfFlux"] / 3631.0), abs=1e-5)
    clean, funnel = clean_epochs(ep)
    assert funnel.removed["missing or sentinel magnitude/error"] == 2 and funnel.removed["flagged (infoFlag & 0x33c98)"] == 2
    # the same rows as a CasJobs-style CSV with the filter letter instead of filterID
    csv = raw.assign(filter=raw["filterID"].map(dict(enumerate("grizy", start=1)))).drop(columns="filterID")
    csv.to_csv(tmp_path / "det.csv", index=False)
    pd.testing.assert_frame_equal(read_ps1_detections(tmp_path / "det.csv")[["obj_id", "band", "mag"]],
                                  ep[["obj_id", "band", "mag"]], check_dtype=False)


def test_reader_names_what_is_missing_or_wrong():
    with pytest.raises(EpochError, match="missing .*psfFlux"):
        ps1_detections_to_epochs(_raw().drop(columns="psfFlux"), source="x.csv")
    with pytest.raises(EpochError, match="filter IDs \\[7\\]"):
        ps1_detections_to_epochs(_raw().assign(filterID=7), source="x.csv")


def test_fetch_resumes_and_gives_the_recorded_detections(archive, tmp_path):
    raw = _raw()
    ids = np.concatenate([raw["objID"].unique(), [123]])  # one object without detections
    archive.inject("/ps1/async", "status:400", after=2, exact=True)
    with pytest.raises(ArchiveError, match="run the same command again to resume"):
        DetectionFetcher(tmp_path / "parts", ids, chunk_size=7, progress=False).run()
    saved = len(list((tmp_path / "parts").glob("part_*.parquet")))
    assert 0 < saved < 6
    before = len(archive.queries("ps1"))
    res = DetectionFetcher(tmp_path / "parts", ids, chunk_size=7, progress=False).run()
    assert len(archive.queries("ps1")) - before == 6 - saved and res.n_chunks_resumed == saved
    assert len(res.epochs) == len(raw) and res.n_objects_with_detections == 40
    assert all("FROM dbo.Detection WHERE objID IN (" in q for q in archive.queries("ps1"))


def test_cli_fetch_writes_an_epoch_table_whose_variable_has_its_period(archive, tmp_path, cli, capsys):
    from core.archives.ps1 import to_contract
    from core.catalog import write_parquet

    cat = to_contract(source_table("ps1dr2_meanobjectview.xml")[:40].to_pandas())
    write_parquet(cat, tmp_path / "cat.parquet")
    out = tmp_path / "det.parquet"
    assert cli(["fetch", "ps1-detections", str(tmp_path / "cat.parquet"), "--out", str(out), "--chunk-size", "25"]) == 0
    assert "2 chunks" in capsys.readouterr().out
    ep = read_epochs(out)
    clean, _ = clean_epochs(ep)
    packed = pack_epochs(clean, obj_ids=cat["obj_id"].to_numpy())
    res = period_search(packed, PeriodConfig(min_chi2=3.0))
    assert res["period"][0] == pytest.approx(0.5731, rel=2e-3) and np.isnan(res["period"][1:]).all()
    assert cli(["fetch", "ps1-detections", str(tmp_path / "cat.parquet"), "--out", str(out)]) == 2


def test_adql_lists_the_ids():
    assert detection_adql(np.array([5, 7])).endswith("FROM dbo.Detection WHERE objID IN (5, 7)")
