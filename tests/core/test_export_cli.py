"""``sedscape export``: the stars a geometry selects, in any format, and errors that name what is wrong."""

import json

import numpy as np
import pytest
from matplotlib.path import Path as MplPath

from core.bands import PS1
from core.catalog import write_parquet
from core.cli import main
from core.export import read_export
from core.scoring import scored_columns
from tests._catalogs import make_scored_catalog


@pytest.fixture
def scored(tmp_path):
    df = make_scored_catalog(4000, seed=11)
    df.attrs["sedscape"]["funnel"] = {"n_input": 5000}
    return df, write_parquet(df, tmp_path / "scored.parquet")


LASSO = {"kind": "lasso", "view": "latent", "x": "latent_x", "y": "latent_y",
         "vertices": [[0.2, -1.0], [1.5, -1.2], [1.8, 0.9], [0.6, 1.3]]}  # fmt: skip


def _run(*argv):
    return main(["export", *map(str, argv)])


def test_lasso_geometry_exports_exactly_the_stars_inside(scored, tmp_path):
    df, path = scored
    geom = tmp_path / "lasso.json"
    geom.write_text(json.dumps(LASSO))
    assert _run(path, "--selection", geom, "--out", tmp_path / "sel.parquet") == 0
    back, prov = read_export(tmp_path / "sel.parquet")
    pts = df[["latent_x", "latent_y"]].to_numpy(np.float32).astype(float)
    inside = MplPath(np.array(LASSO["vertices"])).contains_points(pts)
    assert inside.sum() > 100
    assert back["obj_id"].tolist() == df["obj_id"][inside].tolist()  # catalog order
    assert back.columns.tolist() == [*df.columns, "anomaly_at_threshold"]
    assert prov["selection"] == LASSO and prov["threshold"] == 0.05 and prov["funnel"] == {"n_input": 5000}
    assert prov["made_by"] == "sedscape export" and prov["format"] == "parquet"


def test_an_earlier_export_is_a_selection_and_catalog_columns_drop_the_model(scored, tmp_path):
    _, path = scored
    first = tmp_path / "first.csv"
    geom = tmp_path / "g.json"
    geom.write_text(json.dumps({"kind": "preset", "preset": "anomalies", "threshold": 0.06}))
    assert _run(path, "--selection", geom, "--out", first) == 0
    again = tmp_path / "again.fits"
    assert _run(path, "--selection", first, "--out", again, "--columns", "catalog") == 0
    a, b = read_export(first)[0], read_export(again)[0]
    assert a["obj_id"].tolist() == b["obj_id"].tolist() and len(a) > 0
    assert not set(scored_columns(PS1)) & set(b.columns) and "anomaly_at_threshold" not in b
    assert (a["anomaly_at_threshold"] == (a["max_abs_res"] > np.float32(0.06))).all()


def test_box_on_a_colour_and_reconstructed_magnitudes(scored, tmp_path):
    df, path = scored
    geom = {"kind": "box", "view": "cmd", "x": "g_i_rec", "y": "g_rec", "bounds": [2.0, 19.0, 0.5, 16.0]}
    (tmp_path / "b.json").write_text(json.dumps(geom))
    assert _run(path, "--selection", tmp_path / "b.json", "--out", tmp_path / "b.vot") == 0
    gi = df["g_rec"].to_numpy(np.float32) - df["i_rec"].to_numpy(np.float32)
    g = df["g_rec"].to_numpy(np.float32)
    want = (gi >= 0.5) & (gi <= 2.0) & (g >= 16) & (g <= 19)
    assert read_export(tmp_path / "b.vot")[0]["obj_id"].tolist() == df["obj_id"][want].tolist()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ({"kind": "lasso", "view": "latent", "x": "latent_x", "y": "latent_y"}, "'vertices'"),
        ({"kind": "circle"}, "'kind'"),
        ({"kind": "box", "x": "nope", "y": "g", "bounds": [0, 0, 1, 1]}, "'nope'"),
        ({"kind": "obj_ids", "source": "samp", "n": 250000}, "too large"),
        ({"catalog": "x"}, "no selection geometry"),
    ],
)
def test_bad_geometries_exit_2_naming_the_problem(scored, tmp_path, capsys, content, message):
    _, path = scored
    (tmp_path / "g.json").write_text(json.dumps(content))
    assert _run(path, "--selection", tmp_path / "g.json", "--out", tmp_path / "o.csv") == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "o.csv").exists() and not list(tmp_path.glob(".o.csv*"))


def test_missing_files_existing_output_and_unknown_suffix(scored, tmp_path, capsys):
    _, path = scored
    (tmp_path / "g.json").write_text(json.dumps(LASSO))
    assert _run(path, "--selection", tmp_path / "none.json", "--out", tmp_path / "o.csv") == 2
    assert "none.json: no such file" in capsys.readouterr().err
    (tmp_path / "o.csv").write_text("keep me")
    assert _run(path, "--selection", tmp_path / "g.json", "--out", tmp_path / "o.csv") == 2
    assert "--overwrite" in capsys.readouterr().err and (tmp_path / "o.csv").read_text() == "keep me"
    assert _run(path, "--selection", tmp_path / "g.json", "--out", tmp_path / "o.csv", "--overwrite") == 0
    assert _run(path, "--selection", tmp_path / "g.json", "--out", tmp_path / "o.xlsx") == 2
    assert "suffixes" in capsys.readouterr().err
    assert _run(path, "--selection", tmp_path / "g.json", "--out", tmp_path / "o.dat", "--format", "csv") == 0


@pytest.mark.parametrize("fmt", ["csv", "parquet", "fits", "votable"])
def test_labels_from_the_catalogs_label_database_travel_in_every_format(scored, tmp_path, fmt):
    from core.labels import LabelStore, labels_path_for

    df, path = scored
    geom = tmp_path / "lasso.json"
    geom.write_text(json.dumps(LASSO))
    out = tmp_path / f"plain.{fmt}"
    assert _run(path, "--selection", geom, "--out", out) == 0
    assert "labels" not in read_export(out)[0]  # no database beside the catalog: no column
    pts = df[["latent_x", "latent_y"]].to_numpy(np.float32).astype(float)
    inside = df["obj_id"][MplPath(np.array(LASSO["vertices"])).contains_points(pts)].to_numpy()
    store = LabelStore(labels_path_for(path))
    store.add(inside[:3], "BHB candidate")
    store.add(inside[2:4], "odd; really")  # a label may hold the separator's neighbour, not a newline
    store.answer(int(inside[5]), True)
    store.add([df["obj_id"].iloc[0]], "outside")  # not in the selection: not in the export
    out = tmp_path / f"labelled.{fmt}"
    assert _run(path, "--selection", geom, "--out", out) == 0
    back, prov = read_export(out)
    got = dict(zip(back["obj_id"].tolist(), back["labels"].fillna("").astype(str).tolist(), strict=True))
    assert got[inside[0]] == got[inside[1]] == "BHB candidate"
    assert got[inside[2]] == "BHB candidate;odd; really" and got[inside[3]] == "odd; really"
    assert got[inside[5]] == "interesting"
    assert sum(v != "" for v in got.values()) == 5 and back.columns[-1] == "labels"
    assert prov["labels"] == str(labels_path_for(path))
    assert _run(path, "--selection", geom, "--out", tmp_path / f"x.{fmt}", "--labels", tmp_path / "none.sqlite") == 2
