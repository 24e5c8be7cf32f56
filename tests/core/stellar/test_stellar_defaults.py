"""Stellar parameters added to a scored catalog in place (``prepare-default --stellar``), one row group at a time,
and the best-fit SED in the catalog's own (dereddened) magnitude system."""

from __future__ import annotations

import numpy as np
import pyarrow.parquet as pq
import pytest

from core import PS1, best_fit_sed, default_stellar_model_dir, load_stellar_model, stellar_sed
from core.catalog import read_metadata, read_parquet, write_parquet
from core.stellar.defaults import ensure_default_stellar
from core.stellar.inference import configs_from_card
from tests._catalogs import make_catalog

N = 900


@pytest.fixture(scope="module")
def shipped():
    model_dir = default_stellar_model_dir()
    model, grid, card = load_stellar_model(model_dir)
    return model_dir, model, grid, card


@pytest.fixture
def catalog(shipped, tmp_path):
    """A dereddened catalog of stars made by the shipped model (known Teff), in row groups of 200 rows."""
    _, model, grid, card = shipped
    rng = np.random.default_rng(3)
    theta = grid.nodes(configs_from_card(card)[1].min_count)[0]
    theta = theta[rng.integers(0, len(theta), N)]
    ebv = rng.uniform(0.05, 0.4, N)
    mags = best_fit_sed(model, *theta.T, ebv=ebv, dm=rng.uniform(8, 12, N)) + rng.normal(0, 0.01, (N, 5))
    df = make_catalog(N, seed=3)
    df["ebv"] = ebv
    for k, b in enumerate(model.bands):
        df[f"{b}_obs"] = mags[:, k]
        df[b] = mags[:, k] - PS1.extinction_coeffs[b] * ebv
        df[f"{b}_err"] = 0.01
    df["latent_x"] = rng.normal(size=N)  # a column inference never reads, which must survive unchanged
    df.attrs["sedscape"] = {"dereddened": True, "scoring": {"model": "pca"}}
    path = write_parquet(df, tmp_path / "scored.parquet")
    table = pq.read_table(path)
    pq.write_table(table, path, row_group_size=200)
    assert pq.ParquetFile(path).num_row_groups == 5
    return path, df, theta


def test_stellar_columns_are_added_row_group_by_row_group_and_kept(shipped, catalog):
    model_dir, model, _, _ = shipped
    path, df, theta = catalog
    ensure_default_stellar(path, model_dir, progress=False)
    out = read_parquet(path)
    assert len(out) == N and list(out.columns[: len(df.columns)]) == list(df.columns)
    np.testing.assert_array_equal(out["latent_x"], df["latent_x"])
    # Rows keep their parameters across row groups: the inferred Teff follows each star's own truth.
    assert np.median(np.abs(out["stellar_teff"] - theta[:, 0]) / theta[:, 0]) < 0.03
    meta = read_metadata(path)
    assert meta["scoring"] == {"model": "pca"} and meta["stellar"]["model_dir"] == str(model_dir)
    assert meta["stellar"]["n_rows"] == N
    # The best fit, in the catalog's system, has the shape of the dereddened photometry (colours relative to g;
    # levels differ by the distance modulus' error), not that of the observed photometry.
    names = list(model.bands)
    good = out[out["stellar_chi2"] < 5]
    assert len(good) > N // 2
    fit = stellar_sed(good, model, as_catalog=True)
    dered, observed = good[names].to_numpy(), good[[f"{b}_obs" for b in names]].to_numpy()
    shape = lambda m: m - m[:, :1]  # noqa: E731
    assert np.median(np.abs(shape(fit) - shape(dered))) < 0.03
    assert np.median(np.abs(shape(fit) - shape(observed))[:, -1]) > 0.2
    np.testing.assert_allclose(fit + (observed - dered), stellar_sed(good, model), rtol=0, atol=1e-9)
    # Done once: a second call with the same model leaves the file alone.
    stamp = path.stat().st_mtime_ns
    ensure_default_stellar(path, model_dir, progress=False)
    assert path.stat().st_mtime_ns == stamp


def test_missing_scored_catalog_or_model_is_named(shipped, tmp_path):
    from core.errors import CatalogError, ModelError

    with pytest.raises(CatalogError, match="prepare-default"):
        ensure_default_stellar(tmp_path / "none.parquet", shipped[0], progress=False)
    with pytest.raises(ModelError, match="stellar-model train"):
        ensure_default_stellar(tmp_path / "none.parquet", tmp_path, progress=False)
