"""Attaching a user's spectroscopic label table to a catalog: by position, by id, with clear errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.errors import CatalogError
from core.stellar.labels import attach_labels, label_columns, read_label_table
from tests.core.stellar.conftest import toy_catalog


def _apogee_like(cat: pd.DataFrame, rows: np.ndarray, offset_arcsec: float = 0.3) -> pd.DataFrame:
    """APOGEE-style column names (upper case, FE_H), positions offset a little from the catalog's."""
    d = offset_arcsec / 3600
    return pd.DataFrame({
        "APOGEE_ID": [f"2M{k:08d}" for k in rows],
        "RA": cat["ra"].to_numpy()[rows] + d / np.cos(np.radians(cat["dec"].to_numpy()[rows])),
        "DEC": cat["dec"].to_numpy()[rows],
        "TEFF": 5000.0 + rows,
        "TEFF_ERR": 80.0,
        "LOGG": 4.5,
        "LOGG_ERR": 0.1,
        "FE_H": -0.2,
        "FE_H_ERR": 0.05,
    })


def test_positional_match_counts_and_values():
    cat = toy_catalog(500, seed=2).drop(columns=["teff", "logg", "feh", "teff_err", "logg_err", "feh_err"])
    rows = np.arange(0, 500, 5)
    labels = _apogee_like(cat, rows)
    far = labels.iloc[:3].copy()
    far["RA"] += 10 / 3600  # 10 arcsec away: no match within 1"
    labels = pd.concat([labels, far], ignore_index=True)
    out, summary = attach_labels(cat, labels, radius_arcsec=1.0)
    assert summary.n_labels == 103 and summary.n_matched == 100 and summary.n_catalog == 500
    assert np.isfinite(out["teff"]).sum() == 100
    np.testing.assert_allclose(out["teff"].to_numpy()[rows], 5000.0 + rows)
    assert out["feh_err"].to_numpy()[rows[0]] == pytest.approx(0.05)
    assert "100 matched by position within 1 arcsec" in summary.format()


def test_duplicate_labels_keep_the_nearest():
    cat = toy_catalog(50, seed=3)
    labels = _apogee_like(cat, np.array([7, 7]))
    labels.loc[0, "RA"] += 0.5 / 3600  # further away
    labels.loc[1, "TEFF"] = 6123.0
    out, summary = attach_labels(cat, labels, radius_arcsec=2.0)
    assert summary.n_matched == 1 and summary.n_duplicates == 1
    assert out["teff"].iloc[7] == pytest.approx(6123.0)


def test_join_on_id_and_file_formats(tmp_path):
    cat = toy_catalog(40, seed=4)
    labels = pd.DataFrame({"obj_id": cat["obj_id"].iloc[:10], "teff": 5500.0, "e_teff": 90.0, "logg": 4.3,
                           "e_logg": 0.2, "fe_h": 0.1, "e_fe_h": 0.1})  # GALAH-style names
    for name in ("l.csv", "l.parquet", "l.fits"):
        path = tmp_path / name
        if name.endswith(".csv"):
            labels.to_csv(path, index=False)
        elif name.endswith(".parquet"):
            labels.to_parquet(path)
        else:
            from astropy.table import Table

            Table.from_pandas(labels).write(path)
        out, summary = attach_labels(cat, read_label_table(path), on="obj_id")
        assert summary.n_matched == 10 and np.isfinite(out["feh"]).sum() == 10


def test_missing_label_columns_are_named():
    labels = pd.DataFrame({"ra": [1.0], "dec": [2.0], "teff": [5000.0], "teff_err": [50.0], "logg": [4.0]})
    with pytest.raises(CatalogError, match=r"logg error.*feh"):
        label_columns(labels)
    cat = toy_catalog(10, seed=5)
    good = pd.DataFrame({"TEFF": [1.0], "TEFF_ERR": [1.0], "LOGG": [1.0], "LOGG_ERR": [1.0], "FE_H": [1.0], "FE_H_ERR": [1.0]})
    with pytest.raises(CatalogError, match="ra/dec"):
        attach_labels(cat, good)
    with pytest.raises(CatalogError, match="no such label file"):
        read_label_table("/nonexistent/labels.csv")
