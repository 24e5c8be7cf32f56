"""The "poorly fit by any star" preset: stellar_chi2 above the stellar model's threshold and an autoencoder anomaly."""

import numpy as np
import pandas as pd
import pytest

from core import PS1, STELLAR_CHI2_THRESHOLD, ConfigError, selection_mask
from core.selection import check_geometry


def _catalog() -> pd.DataFrame:
    return pd.DataFrame({"obj_id": np.arange(6), "max_abs_res": [0.01, 0.2, 0.2, 0.01, np.nan, 0.3],
                         "stellar_chi2": [100.0, 100.0, 3.0, 3.0, 100.0, np.nan]})  # fmt: skip


def test_poorly_fit_needs_both_flags_and_counts_nan_as_neither():
    geometry = {"kind": "preset", "preset": "poorly_fit", "chi2_threshold": STELLAR_CHI2_THRESHOLD, "threshold": 0.05}
    assert selection_mask(_catalog(), geometry, PS1).tolist() == [False, True, False, False, False, False]
    looser = dict(geometry, chi2_threshold=2.0)
    assert selection_mask(_catalog(), looser, PS1).tolist() == [False, True, True, False, False, False]


def test_poorly_fit_errors_name_the_field_or_the_missing_column():
    base = {"kind": "preset", "preset": "poorly_fit", "threshold": 0.05}
    with pytest.raises(ConfigError, match="chi2_threshold"):
        check_geometry(base)
    with pytest.raises(ConfigError, match="'chi2_threshold' is malformed"):
        check_geometry({**base, "chi2_threshold": "high"})
    with pytest.raises(ConfigError, match="stellar-model infer"):
        selection_mask(_catalog().drop(columns="stellar_chi2"), {**base, "chi2_threshold": 25.0}, PS1)


def test_poorly_fit_uses_another_models_residuals_when_named():
    df = _catalog().assign(masked_ae__max_abs_res=[0.3, 0.01, 0.01, 0.3, 0.3, 0.3])
    geometry = {"kind": "preset", "preset": "poorly_fit", "chi2_threshold": STELLAR_CHI2_THRESHOLD, "threshold": 0.05,
                "column": "masked_ae__max_abs_res"}  # fmt: skip
    assert selection_mask(df, geometry, PS1).tolist() == [True, False, False, False, True, False]
