"""ECSV export: pandas and astropy (hence TOPCAT's ECSV reader) read back the rows and the provenance."""

import io
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from astropy.table import Table

from core.errors import OutputExistsError
from dashboard.export import read_export, to_ecsv, write_export


@pytest.fixture
def rows():
    return pd.DataFrame(
        {
            "obj_id": np.array([108012345678901234, 2, 3], dtype=np.int64),
            "g": [17.123456789012345, 1 / 3, np.nan],
            "g_res": np.array([0.1, -2.5e-5, 1e-7], dtype=np.float32),
            "simbad_id": pd.array(["NAME M3 #12", None, 'odd, "quoted"'], dtype="string"),
            "res_band": pd.Categorical(["g", "z", "g"]),
            "anomaly": [True, False, True],
            "n_g": np.array([5, 6, 7], dtype=np.int32),
        }
    )


PROV = {"catalog": "/data/sky.parquet", "threshold": np.float64(0.05),
        "selection": {"kind": "lasso", "vertices": np.array([[0.0, 1.5], [2.0, 3.0], [1.0, 0.0]])}}  # fmt: skip


def test_pandas_reads_back_rows_and_dtypes_exactly(rows):
    back, prov = read_export(io.StringIO(to_ecsv(rows, PROV)))
    want = rows.astype({"res_band": "string"})
    pd.testing.assert_frame_equal(back, want)
    assert prov == {"catalog": "/data/sky.parquet", "threshold": 0.05,
                    "selection": {"kind": "lasso", "vertices": [[0.0, 1.5], [2.0, 3.0], [1.0, 0.0]]}}  # fmt: skip


def test_plain_read_csv_with_comment_hash_gets_the_values(rows):
    plain = pd.read_csv(io.StringIO(to_ecsv(rows, PROV)), comment="#")
    assert plain.columns.tolist() == rows.columns.tolist()
    assert plain["obj_id"].tolist() == rows["obj_id"].tolist()
    assert plain["g"].iloc[0] == rows["g"].iloc[0]
    assert plain["simbad_id"].iloc[0] == "NAME M3 #12"  # a quoted '#' is not a comment


def test_astropy_ecsv_reader_gets_types_and_provenance(rows):
    table = Table.read(to_ecsv(rows, PROV), format="ascii.ecsv")
    assert table["obj_id"].dtype == np.int64 and table["g_res"].dtype == np.float32
    assert table["anomaly"].dtype == bool
    assert table.meta["sedscape_export"]["selection"]["kind"] == "lasso"
    assert table["simbad_id"][2] == 'odd, "quoted"'


def test_write_export_refuses_to_overwrite(tmp_path, rows):
    path = write_export(rows, PROV, tmp_path / "sel.csv")
    with pytest.raises(OutputExistsError):
        write_export(rows, PROV, path)
    assert len(read_export(path)[0]) == 3


def test_read_export_rejects_plain_csv(tmp_path):
    (tmp_path / "x.csv").write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="ECSV"):
        read_export(tmp_path / "x.csv")


def test_export_module_does_not_import_panel():
    code = "import sys, dashboard.export; print('panel' in sys.modules, 'holoviews' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "False False", out.stderr[-1000:]
