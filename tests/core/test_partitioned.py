"""HATS catalogs written by sedscape: LSDB opens them, rows and dtypes round-trip, metadata is kept."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.errors import CatalogError, OutputExistsError
from core.partitioned import (
    HatsWriter,
    is_hats,
    iter_partitions,
    n_rows,
    output_format,
    partitions,
    read_any_metadata,
    read_catalog_any,
    write_hats_frame,
)
from tests._catalogs import make_catalog


@pytest.fixture(scope="module")
def frame():
    df = make_catalog(4000, seed=5)
    df["kind"] = pd.Categorical(np.where(df["g"] > 18, "faint", "bright"))
    df["label"] = pd.array(np.where(df["g"] > 19.5, "x", None), dtype="str")
    return df


@pytest.fixture(scope="module")
def hats_dir(tmp_path_factory, frame):
    path = tmp_path_factory.mktemp("hats") / "cat"
    write_hats_frame(frame, path, metadata={"source": "test", "funnel": {"n_input": 9}}, partition_rows=700)
    return path


def test_plain_lsdb_opens_what_sedscape_writes(hats_dir, frame):
    import lsdb

    cat = lsdb.open_catalog(hats_dir)
    assert cat.npartitions == len(partitions(hats_dir)) > 3
    got = cat.compute(progress_bar=False)
    assert len(got) == len(frame) == n_rows(hats_dir)
    assert sorted(got["obj_id"].tolist()) == sorted(frame["obj_id"].tolist())
    # every row sits in the partition whose HEALPix pixel contains it, sorted by the spatial index
    for part in partitions(hats_dir):
        idx = pd.read_parquet(part.path, columns=["_healpix_29"])["_healpix_29"].to_numpy()
        assert (np.diff(idx) >= 0).all()
        assert ((idx >> (2 * (29 - part.order))) == part.pixel).all()
        assert part.n_rows <= 700


def test_rows_dtypes_and_metadata_round_trip(hats_dir, frame):
    back = read_catalog_any(hats_dir)
    a = frame.sort_values("obj_id").reset_index(drop=True)
    b = back.sort_values("obj_id").reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b)
    assert back.attrs["sedscape"]["source"] == "test"
    assert back.attrs["sedscape"]["funnel"] == {"n_input": 9}
    assert read_any_metadata(hats_dir)["hats"]["n_rows"] == len(frame)
    assert is_hats(hats_dir) and output_format(hats_dir) == "hats"


def test_output_format_follows_the_path(tmp_path):
    assert output_format(tmp_path / "x.parquet") == "parquet"
    assert output_format(tmp_path / "x") == "parquet"
    assert output_format(str(tmp_path / "x") + "/") == "hats"
    assert output_format(tmp_path / "x.parquet", "hats") == "hats"


def test_writer_refuses_to_replace_without_overwrite(hats_dir, tmp_path, frame):
    with pytest.raises(OutputExistsError, match="--overwrite"):
        HatsWriter(hats_dir)
    plain = tmp_path / "notes"
    plain.mkdir()
    (plain / "a.txt").write_text("mine")
    with pytest.raises(OutputExistsError, match="not a HATS catalog"):
        HatsWriter(plain, overwrite=True)
    out = tmp_path / "again"
    write_hats_frame(frame.iloc[:50], out)
    write_hats_frame(frame.iloc[:80], out, overwrite=True)
    assert n_rows(out) == 80


def test_duplicate_ids_are_dropped_or_renumbered_and_counted(tmp_path, frame):
    chunk = frame.iloc[:300]
    w = HatsWriter(tmp_path / "drop", unique_id="obj_id", duplicates="drop")
    w.add(chunk)
    w.add(chunk.iloc[:40])  # the same 40 objects again (a tile overlap)
    w.close()
    assert n_rows(tmp_path / "drop") == 300 and w.n_duplicates == 40
    assert read_any_metadata(tmp_path / "drop")["hats"]["duplicate_obj_id_dropped"] == 40

    chunk = chunk.assign(obj_id=chunk["obj_id"] * 10_000)  # spaced like position-derived PS1 ids
    w = HatsWriter(tmp_path / "nudge", unique_id="obj_id", duplicates="nudge")
    w.add(chunk)
    w.add(chunk.iloc[:40])
    w.close()
    back = read_catalog_any(tmp_path / "nudge")
    assert len(back) == 340 and back["obj_id"].is_unique


def test_writer_needs_positions_and_rows(tmp_path, frame):
    w = HatsWriter(tmp_path / "bad")
    bad = frame.iloc[:5].copy()
    bad.loc[bad.index[0], "ra"] = np.nan
    with pytest.raises(CatalogError, match="finite ra/dec"):
        w.add(bad)
    with pytest.raises(CatalogError, match="no rows"):
        w.close()
    assert not w.shard_dir.exists()


def test_stratified_sample_is_proportional_per_partition_and_seeded(hats_dir):
    from core.partitioned import stratified_sample

    df, info = stratified_sample(hats_dir, 1000, seed=3)
    again, _ = stratified_sample(hats_dir, 1000, seed=3)
    other, _ = stratified_sample(hats_dir, 1000, seed=4)
    assert len(df) == info["n_sample"] == 1000 and info["n_catalog"] == 4000 and info["partitions"] > 3
    pd.testing.assert_frame_equal(df, again)
    assert not df["obj_id"].equals(other["obj_id"]) and df["obj_id"].is_unique
    # each partition gives its share (to within one row)
    whole = read_catalog_any(hats_dir, columns=["obj_id"])
    part_of = {}
    for k, (_, part) in enumerate(iter_partitions(hats_dir, ["obj_id"])):
        part_of.update(dict.fromkeys(part["obj_id"], k))
    got = pd.Series([part_of[i] for i in df["obj_id"]]).value_counts()
    for k, p in enumerate(partitions(hats_dir)):
        assert abs(got.get(k, 0) - 1000 * p.n_rows / len(whole)) <= 1


def test_train_on_a_hats_catalog_records_the_sample_in_the_card(hats_dir, tmp_path, capsys):
    from core.card import read_card
    from core.cli import main

    assert main(["train", str(hats_dir), "--model", "pca", "--runs", "1", "--sample", "1500",
                 "--out", str(tmp_path / "m")]) == 0
    card = read_card(tmp_path / "m")
    assert card.sample["n_sample"] == 1500 and card.sample["n_catalog"] == 4000
    assert card.catalog.n_rows == 1500 and "stratified" in card.sample["method"]
    assert "drew 1,500 of 4,000 stars" in capsys.readouterr().out


def test_ingest_reads_and_writes_hats(hats_dir, tmp_path, frame, capsys):
    from core.catalog import write_parquet
    from core.cli import main

    out = tmp_path / "selected"
    assert main(["ingest", str(hats_dir), "--out", str(out), "--max-err", "0.005"]) == 0
    got = read_catalog_any(out)
    want = int((frame[[f"{b}_err" for b in "grizy"]] <= 0.005).all(axis=1).sum())
    assert is_hats(out) and len(got) == want < len(frame)
    assert got.attrs["sedscape"]["funnel"]["n_input"] == len(frame)
    assert got.attrs["sedscape"]["funnel"]["n_output"] == want
    src = tmp_path / "in.parquet"
    write_parquet(frame.drop(columns=["kind", "label"]), src)
    assert main(["ingest", str(src), "--out", str(tmp_path / "h2"), "--out-format", "hats"]) == 0
    assert is_hats(tmp_path / "h2") and n_rows(tmp_path / "h2") == len(frame)


def test_core_read_parquet_and_read_metadata_accept_a_hats_directory(hats_dir, frame):
    from core.catalog import read_metadata, read_parquet

    head = read_parquet(hats_dir, columns=["obj_id", "g"], rows=900)
    whole = read_catalog_any(hats_dir, columns=["obj_id", "g"])
    assert len(head) == 900 and list(head.columns) == ["obj_id", "g"]
    pd.testing.assert_frame_equal(head, whole.iloc[:900], check_like=True)
    assert read_metadata(hats_dir)["source"] == "test"


@pytest.mark.parametrize("threshold", [1, 40, 700])
def test_partitions_are_those_hats_alignment_chooses(threshold):
    """sedscape's whole-array alignment picks exactly the pixels hats' own (cell-by-cell) one does."""
    import hats
    from hats.pixel_math import HealpixPixel

    from core.partitioned import aligned_pixels

    rng = np.random.default_rng(threshold)
    hist = np.zeros(12 * 4**5, dtype=np.int64)  # order 5: small enough for hats' Python loops
    dense = rng.choice(hist.size, 40, replace=False)  # clusters, isolated stars and empty sky
    for c in dense:
        hist[(c + rng.integers(-30, 30, 200)) % hist.size] += 1
    hist[rng.choice(hist.size, 300, replace=False)] += 1
    hist = np.minimum(hist, threshold)
    want = hats.pixel_math.generate_alignment(hist, highest_order=5, lowest_order=0, threshold=threshold,
                                              drop_empty_siblings=True)  # fmt: skip
    got = {HealpixPixel(int(o), int(p)) for o, p in aligned_pixels(hist, 5, threshold)}
    assert got == {HealpixPixel(int(t[0]), int(t[1])) for t in want if t is not None}
    if threshold == 40:  # clusters split below order 0, isolated stars kept in their own small pixels
        assert len({p.order for p in got}) > 2
