"""Choosing and loading the catalog and model the dashboard opens."""

from pathlib import Path

import numpy as np
import pytest

from core import paths
from core.catalog import read_parquet, write_parquet
from core.errors import CatalogError, SedscapeError
from dashboard.sky import load_sky
from dashboard.sources import BUILD_COMMAND, MissingSkyError, Sources, resolve_sources


def test_args_beat_environment_beat_defaults(tmp_path):
    env = {"SEDSCAPE_CATALOG": str(tmp_path / "env.parquet"), "SEDSCAPE_MODEL": str(tmp_path / "env_model")}
    s = resolve_sources(["a.parquet", "m"], env)
    assert (s.catalog, s.model_dir, s.origin) == (Path("a.parquet"), Path("m"), "args")
    s = resolve_sources(["a.parquet"], env)
    assert s.model_dir == tmp_path / "env_model"
    s = resolve_sources([], env)
    assert (s.catalog, s.origin) == (tmp_path / "env.parquet", "env")
    s = resolve_sources([], {})
    assert s.is_default
    assert (s.catalog, s.model_dir) == (paths.default_scored_path(), paths.default_model_dir())


def test_too_many_args_is_a_clear_error():
    with pytest.raises(SedscapeError, match="CATALOG \\[MODEL_DIR \\[LABELS\\]\\]"):
        resolve_sources(["a", "b", "c", "d"], {})


def test_label_database_from_args_environment_or_beside_the_catalog(tmp_path):
    env = {"SEDSCAPE_LABELS": str(tmp_path / "env.sqlite"), "SEDSCAPE_MODEL": str(tmp_path / "m")}
    assert resolve_sources(["a.parquet", "m", "l.sqlite"], env).labels_path == Path("l.sqlite")
    s = resolve_sources(["a.parquet", "-", "l.sqlite"], env)  # a label database without a model
    assert s.model_dir is None and s.labels_path == Path("l.sqlite")
    assert resolve_sources(["a.parquet"], env).labels_path == tmp_path / "env.sqlite"
    assert resolve_sources(["/d/a.parquet", "m", ""], {}).labels_path == Path("/d/a.parquet.labels.sqlite")
    assert resolve_sources([], {}).labels_path == paths.default_scored_path().with_name("mock_sky_scored.parquet.labels.sqlite")


def test_missing_catalog_names_the_path(tmp_path):
    with pytest.raises(CatalogError, match="nope.parquet"):
        load_sky(Sources(tmp_path / "nope.parquet", None, "args"))


def test_unscored_catalog_is_refused_with_the_command(tmp_path, small_catalog):
    path = write_parquet(small_catalog, tmp_path / "raw.parquet")
    with pytest.raises(CatalogError, match="sedscape score"):
        load_sky(Sources(path, None, "args"))


def test_missing_default_sky_says_how_to_build_it(tmp_path):
    src = Sources(tmp_path / "generated" / "mock_sky_scored.parquet", tmp_path / "model", "default")
    with pytest.raises(MissingSkyError) as err:
        load_sky(src, build_default=False)
    assert BUILD_COMMAND in str(err.value)


def test_missing_default_model_becomes_a_missing_sky_page(monkeypatch, tmp_path):
    monkeypatch.setenv("SEDSCAPE_GENERATED_DIR", str(tmp_path / "gen"))
    src = Sources(paths.default_scored_path(), tmp_path / "no_model", "default")
    with pytest.raises(MissingSkyError, match="sedscape train"):
        load_sky(src)


def test_loads_scored_sky_with_model_and_plotting_columns(sky, scored_paths):
    df = read_parquet(scored_paths[0])
    assert sky.n == len(df) and sky.model is not None and sky.model_problem == ""
    assert sky.bands.names == ("g", "r", "i", "z", "y")
    np.testing.assert_allclose(sky.frame["g_i"], (df["g"] - df["i"]).astype(np.float32), atol=1e-5)
    np.testing.assert_allclose(sky.frame["r_i_rec"], (df["r_rec"] - df["i_rec"]), atol=1e-5)
    gaia = np.isfinite(df["abs_g"]).to_numpy()
    assert 0 < gaia.sum() < len(df)
    np.testing.assert_allclose((sky.frame["abs_g_rec"] - sky.frame["abs_g"])[gaia], (df["g_rec"] - df["g"])[gaia],
                               atol=1e-4)  # fmt: skip
    assert sky.has_gaia
    prov = sky.provenance()
    assert prov["catalog"] == str(scored_paths[0]) and prov["model"]["model"]["name"] == "pca"


def test_missing_model_dir_turns_the_probe_off_but_loads(scored_paths, tmp_path):
    sky = load_sky(Sources(scored_paths[0], tmp_path / "absent", "args"))
    assert sky.model is None and "does not exist" in sky.model_problem


def test_absolute_magnitude_from_parallax_when_the_catalog_has_none():
    import pandas as pd

    from core.selection import absolute_first_band

    df = pd.DataFrame({"g": [15.0, 15.0, 15.0, 15.0], "parallax": [10.0, 1.0, -1.0, np.nan],
                       "parallax_error": [0.1, 0.5, 0.1, 0.1]})  # fmt: skip
    m = absolute_first_band(df)
    assert m[0] == pytest.approx(15.0 + 5 * np.log10(10.0 / 100.0))  # 100 pc: M = m - 5
    assert np.isnan(m[1:]).all()  # S/N 2, negative and missing parallaxes give no M_g
    assert absolute_first_band(df.drop(columns="parallax")) is None


def test_head_sky_reads_only_the_first_rows(scored_paths, tmp_path):
    from dashboard.warmup import head_sky

    head = head_sky(Sources(scored_paths[0], None, "args"), rows=100)
    full = read_parquet(scored_paths[0])
    assert head.n == 100
    np.testing.assert_array_equal(head.df["obj_id"], full["obj_id"].iloc[:100])
    assert head_sky(Sources(tmp_path / "absent.parquet", None, "args")) is None


def test_model_loads_only_when_asked_and_card_is_read_without_it(scored_paths):
    sky = load_sky(Sources(*scored_paths, "args"))
    assert sky._model_future is None  # nothing has asked for the decoder yet
    assert sky.provenance()["model"]["model"]["name"] == "pca"
    assert sky._model_future is None  # the header and exports read the card, not the model
    assert not sky.model_known_missing()
    assert sky.model is not None and sky._model_future.done()


def test_model_with_other_bands_turns_the_probe_off(scored_paths, tmp_path):
    import json
    import shutil

    model = tmp_path / "model"
    shutil.copytree(scored_paths[1], model)
    card = json.loads((model / "model_card.json").read_text())
    card["bands"] = {"band_set": "sdss", "bands": [{"name": b, "wavelength_nm": 400.0 + 100 * k}
                                                    for k, b in enumerate("ugriz")]}  # fmt: skip
    (model / "model_card.json").write_text(json.dumps(card))
    sky = load_sky(Sources(scored_paths[0], model, "args"))
    assert sky.model is None
    assert "model bands ('u', 'g', 'r', 'i', 'z') differ from the catalog's" in sky.model_problem


def test_warm_cache_compiles_on_the_head_then_prepares_the_full_sky(scored_paths):
    from dashboard.sky import shared_sky
    from dashboard.warmup import warm_cache

    seen = []
    warm_cache([str(p) for p in scored_paths], lambda s: seen.append(("head", s.n)), lambda s: seen.append(("full", s.n)))
    full = shared_sky(Sources(*scored_paths, "args"))
    assert seen == [("head", min(full.n, 50_000)), ("full", full.n)]


def test_category_codes_recode_a_categorical_like_factorising_its_labels(sky):
    """Codes come from the categorical's own codes (fast), with stars without a category as "(none)",
    unused categories dropped and names sorted, exactly as factorising the labels would give."""
    import pandas as pd

    from dashboard.sky import NO_CATEGORY, SkyData

    labels = sky.df["simbad_category"].astype("string").to_numpy(dtype=object)
    cat = pd.Categorical(labels, categories=["zz unused", *sorted({x for x in labels if isinstance(x, str)})[::-1]])
    df = sky.df.assign(simbad_category=cat)
    col, codes, names = SkyData(df=df, bands=sky.bands, catalog_path=sky.catalog_path).category_codes
    expected_codes, expected_names = pd.factorize(
        pd.Series(labels, dtype="string").fillna(NO_CATEGORY).to_numpy(dtype=object), sort=True
    )
    assert col == "simbad_category" and NO_CATEGORY in names and "zz unused" not in names
    assert names == [str(n) for n in expected_names]
    assert codes.tolist() == expected_codes.tolist()


def test_a_hats_catalog_opens_partitioned_with_the_parquet_files_rows(scored_paths, tmp_path):
    from core.partitioned import write_hats_frame

    catalog, model = scored_paths
    df = read_parquet(catalog)
    hats_dir = write_hats_frame(df, tmp_path / "scored_hats", partition_rows=800)
    sky = load_sky(Sources(hats_dir, model, "args"))
    assert sky.lazy_rows  # rows are read from the partitions as they are shown (dashboard/partitioned_sky.py)
    assert sky.n == len(df) and sorted(sky.take(np.arange(sky.n), ["obj_id"])["obj_id"]) == sorted(df["obj_id"])
    assert set(sky.column_order) == set(df.columns) and "g_rec" in sky.df.columns
