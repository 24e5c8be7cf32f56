"""The epoch contract: validation names the problem, cleaning counts what it drops, packing keeps order."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.bands import PS1
from core.epochs import (
    BAD_DETECTION_FLAGS,
    EpochError,
    clean_epochs,
    pack_epochs,
    read_epochs,
    read_star_epochs,
    validate_epochs,
    write_epochs,
)
from core.errors import OutputExistsError


def _epochs(n_obj: int = 4, per_band: int = 3, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for o in range(n_obj):
        for b in PS1.names:
            for _ in range(per_band):
                rows.append((1000 + o, b, 55200 + rng.uniform(0, 1000), 18 + rng.normal(0, 0.1), 0.02))
    return pd.DataFrame(rows, columns=["obj_id", "band", "mjd", "mag", "mag_err"])


def test_validation_counts_per_band_and_against_the_catalog():
    df = _epochs()
    rep = validate_epochs(df, catalog_ids=np.array([1000, 1001, 1002, 5555]))
    assert rep.n_rows == 60 and rep.n_objects == 4 and rep.per_band == {b: 12 for b in PS1.names}
    assert rep.n_not_in_catalog == 1 and rep.n_catalog_without_epochs == 1


@pytest.mark.parametrize("change, message", [
    (lambda d: d.drop(columns="mjd"), "missing required column"),
    (lambda d: d.assign(mjd=d["mjd"] + 2400000.5), "look like JD"),
    (lambda d: d.assign(mag=10 ** (-0.4 * (d["mag"] - 8.9))), "not fluxes"),
    (lambda d: d.assign(band=d["band"].replace("y", "w")), "values \\['w'\\] outside band set"),
    (lambda d: d.iloc[:0], "no rows"),
])
def test_validation_errors_name_the_problem(change, message):
    with pytest.raises(EpochError, match=message):
        validate_epochs(change(_epochs()), source="det.parquet")


def test_bad_rows_are_reported_by_row_number():
    df = _epochs()
    df.loc[7, "mjd"] = 1.0
    with pytest.raises(EpochError, match="row\\(s\\) 7"):
        validate_epochs(df)


def test_cleaning_counts_every_dropped_row():
    df = _epochs()
    df["flags"] = 0
    df["psf_qf"] = 1.0
    df.loc[0, "mag"] = np.nan
    df.loc[1, "mag_err"] = -999.0
    df.loc[2, "flags"] = 0x8  # FAIL
    df.loc[3, "psf_qf"] = 0.5
    df = pd.concat([df, df.iloc[[10]]], ignore_index=True)  # a duplicate
    out, funnel = clean_epochs(df, catalog_ids=np.array([1000, 1001, 1002]))
    assert BAD_DETECTION_FLAGS & 0x8
    assert funnel.n_input == 61 and funnel.n_output == len(out)
    assert list(funnel.removed.values()) == [2, 0, 1, 1, 1, 15]
    assert "15 object not in the catalog" in funnel.format()


def test_pack_follows_the_requested_star_order_and_subset_repacks():
    df = _epochs(seed=1).sample(frac=1, random_state=2)
    packed = pack_epochs(df, obj_ids=np.array([1002, 9999, 1000]))
    assert packed.counts.tolist()[1] == [0] * 5 and packed.counts[0].tolist() == [3] * 5
    star = packed.star(2)
    assert (star["obj_id"] == 1000).all()
    for b in PS1.names:
        t = star.loc[star["band"] == b, "mjd"].to_numpy()
        assert (np.diff(t) > 0).all()
    sub = packed.subset(np.array([2, 0]))
    pd.testing.assert_frame_equal(sub.star(0), packed.star(2))
    pd.testing.assert_frame_equal(sub.star(1), packed.star(0))


def test_write_sorts_and_one_star_reads_back(tmp_path):
    df = _epochs(seed=3).sample(frac=1, random_state=4)
    path = tmp_path / "det.parquet"
    write_epochs(df, path)
    with pytest.raises(OutputExistsError):
        write_epochs(df, path)
    back = read_epochs(path)
    assert back.attrs["sedscape"]["kind"] == "epochs" and (np.diff(back["obj_id"]) >= 0).all()
    one = read_star_epochs(path, 1002)
    assert len(one) == 15 and set(one["obj_id"]) == {1002}


def test_a_few_stars_are_read_from_their_row_groups_only(tmp_path, monkeypatch):
    import pyarrow.parquet as pq

    import core.epochs as ep

    monkeypatch.setattr(ep, "EPOCH_ROW_GROUP", 30)  # 2 stars (2 x 15 detections) per row group
    path = write_epochs(_epochs(n_obj=10), tmp_path / "det.parquet")
    meta = pq.ParquetFile(path).metadata
    assert meta.num_row_groups == 5
    ranges = [(meta.row_group(k).column(0).statistics.min, meta.row_group(k).column(0).statistics.max)
              for k in range(meta.num_row_groups)]  # fmt: skip
    assert ranges[0] == (1000, 1001) and ranges[-1] == (1008, 1009)  # sorted by star: one range each
    assert set(read_epochs(path, obj_ids=np.array([1003, 1007]))["obj_id"]) == {1003, 1007}
    assert ep.epoch_ids(path).tolist() == list(range(1000, 1010))


def test_the_detection_table_of_a_catalog_is_found_in_order(tmp_path):
    from core.epochs import DETECTIONS_ENV, find_detections

    cat = tmp_path / "sky_scored.parquet"
    assert find_detections(cat, {}, environ={}) is None
    beside = tmp_path / "sky_scored.detections.parquet"
    beside.write_bytes(b"")
    assert find_detections(cat, {}, environ={}) == beside
    assert find_detections(cat, {"detections": "det/d.parquet"}, environ={}) == tmp_path / "det" / "d.parquet"
    assert find_detections(cat, {"detections": "/abs/d.parquet"}, environ={}) == Path("/abs/d.parquet")
    env = {DETECTIONS_ENV: str(tmp_path / "env.parquet")}
    assert find_detections(cat, {"detections": "det/d.parquet"}, environ=env) == tmp_path / "env.parquet"
