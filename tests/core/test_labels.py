"""The label database: labels survive concurrent writers and a killed writer, and travel as CSV."""

from __future__ import annotations

import json
import multiprocessing as mp
import signal
import sqlite3
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest

from core.cli import main
from core.errors import CatalogError, ConfigError, OutputExistsError
from core.labels import LabelStore, check_label, labels_path_for


def test_add_members_summary_and_remove(tmp_path):
    store = LabelStore(tmp_path / "cat.parquet.labels.sqlite")
    assert store.add([5, 3, 3, 9], "BHB candidate", origin={"kind": "lasso", "view": "latent"}) == 3
    assert store.add(np.array([9, 11]), "artefact", note="bleed trail") == 2
    np.testing.assert_array_equal(store.members("BHB candidate"), [3, 5, 9])
    assert [(s.label, s.n_stars) for s in store.summary()] == [("BHB candidate", 3), ("artefact", 2)]
    table = store.table("artefact")
    assert table["note"].tolist() == ["bleed trail"] * 2 and table["obj_id"].dtype == np.int64
    assert json.loads(store.table("BHB candidate")["origin"].iloc[0]) == {"kind": "lasso", "view": "latent"}
    store.add([9], "artefact", note="again")  # one row per star and label: the new note replaces the old
    assert len(store) == 5 and store.table("artefact").set_index("obj_id").loc[9, "note"] == "again"
    assert store.remove("artefact", [9]) == 1 and store.remove("BHB candidate") == 3
    assert store.names() == ["artefact"] and store.add([], "x") == 0


@pytest.mark.parametrize("bad", ["", "   ", "a\nb", "x" * 81])
def test_bad_label_names_are_refused(bad):
    with pytest.raises(ConfigError):
        check_label(bad)


def test_labels_path_beside_the_catalog_or_from_the_environment(tmp_path):
    assert labels_path_for(tmp_path / "sky.parquet", {}) == tmp_path / "sky.parquet.labels.sqlite"
    assert labels_path_for(tmp_path / "sky.parquet", {"SEDSCAPE_LABELS": "/x/y.sqlite"}).as_posix() == "/x/y.sqlite"
    with pytest.raises(CatalogError, match="directory"):
        LabelStore(tmp_path)


def _writer(path: str, first: int, n_batches: int) -> None:
    store = LabelStore(path)
    for k in range(n_batches):
        ids = np.arange(first + 10 * k, first + 10 * (k + 1))
        store.add(ids, "shared", origin={"writer": first})
        store.add(ids[:3], f"writer {first}")


def test_several_processes_label_at_once_without_losing_a_label(tmp_path):
    path = str(tmp_path / "labels.sqlite")
    LabelStore(path)
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(path, first, 20)) for first in (0, 100_000, 200_000)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    store = LabelStore(path)
    assert len(store.members("shared")) == 3 * 20 * 10
    assert all(len(store.members(f"writer {f}")) == 60 for f in (0, 100_000, 200_000))
    assert sqlite3.connect(path).execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_a_label_written_before_the_writer_is_killed_is_kept(tmp_path):
    path = tmp_path / "labels.sqlite"
    code = textwrap.dedent(f"""
        import sys
        import numpy as np
        from core.labels import LabelStore
        store = LabelStore({str(path)!r})
        k = 0
        while True:
            store.add(np.arange(1000 * k, 1000 * k + 1000), "batch", note=str(k))
            print(k, flush=True)
            k += 1
    """)
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    done = []
    for line in proc.stdout:
        done.append(int(line))
        if len(done) >= 15:
            break
    proc.send_signal(signal.SIGKILL)  # mid-write, most likely: the loop writes continuously
    proc.wait(30)
    assert sqlite3.connect(path).execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    kept = LabelStore(path).members("batch")
    for k in done:  # every batch whose add() returned is on disk, complete
        assert np.isin(np.arange(1000 * k, 1000 * k + 1000), kept).all()
    assert len(kept) % 1000 == 0  # no half-written batch


def test_csv_round_trip_and_refused_rows(tmp_path):
    a = LabelStore(tmp_path / "a.sqlite")
    a.add([1, 2, 3], "QSO?", origin={"kind": "box"}, note='has "quotes", commas')
    a.add([4], "artefact")
    out = tmp_path / "labels.csv"
    assert a.export_csv(out) == 4
    with pytest.raises(OutputExistsError):
        a.export_csv(out)
    b = LabelStore(tmp_path / "b.sqlite")
    assert b.import_csv(out) == 4
    pd.testing.assert_frame_equal(a.table(), b.table())
    bad = tmp_path / "bad.csv"
    bad.write_text("obj_id,label\n7,fine\nseven,bad\n8,\n")
    with pytest.raises(CatalogError, match=r"2 row\(s\).*line\(s\) 3, 4; nothing imported"):
        b.import_csv(bad)
    assert len(b) == 4
    ids_only = tmp_path / "ids.csv"
    ids_only.write_text("obj_id\n10\n11\n")
    assert b.import_csv(ids_only, label="from TOPCAT") == 2
    np.testing.assert_array_equal(b.members("from TOPCAT"), [10, 11])


def test_labels_cli_import_list_export(tmp_path, capsys):
    catalog = tmp_path / "sky.parquet"
    src = tmp_path / "in.csv"
    src.write_text("obj_id,label\n1,BHB\n2,BHB\n3,WD\n")
    assert main(["labels", "import", str(catalog), str(src)]) == 0
    assert (tmp_path / "sky.parquet.labels.sqlite").exists()
    assert main(["labels", "list", str(catalog)]) == 0
    listing = capsys.readouterr().out
    assert "2  BHB" in listing and "1  WD" in listing
    out = tmp_path / "out.csv"
    assert main(["labels", "export", str(catalog), "--out", str(out), "--label", "BHB"]) == 0
    assert pd.read_csv(out)["obj_id"].tolist() == [1, 2]
    assert main(["labels", "export", str(catalog), "--out", str(out)]) == 2  # exists: refused
    assert "--overwrite" in capsys.readouterr().err


def test_answers_replace_each_other_and_read_back(tmp_path):
    store = LabelStore(tmp_path / "labels.sqlite")
    store.answer(7, True, origin={"by": "anomaly ranking", "rank": 1})
    store.answer(8, False)
    store.answer(7, False, note="changed my mind")  # one answer per star: the opposite one goes
    store.add([9], "BHB candidate")
    assert store.answers() == {7: False, 8: False}
    assert store.members("interesting").size == 0 and store.members("not interesting").tolist() == [7, 8]
    assert store.table("not interesting").set_index("obj_id").loc[7, "note"] == "changed my mind"


def test_label_column_joins_each_stars_labels_in_order(tmp_path):
    store = LabelStore(tmp_path / "labels.sqlite")
    assert store.label_column(np.array([1, 2])).tolist() == ["", ""]
    store.add([5, 3], "b")
    store.add([3], "a")
    ids = np.array([3, 4, 5, 3, 10**18 + 7])  # any order, repeats, and ids beyond any label
    assert store.label_column(ids).tolist() == ["a;b", "", "b", "a;b", ""]


def test_version_changes_with_every_write_from_any_connection(tmp_path):
    path = tmp_path / "labels.sqlite"
    a, b = LabelStore(path), LabelStore(path)
    seen = {a.version()}
    b.add([1, 2], "x")
    seen.add(a.version())
    b.remove("x", [2])
    seen.add(a.version())
    b.add([2], "x")  # the same row count and largest id as two steps ago, but a new time
    seen.add(a.version())
    assert len(seen) == 4
