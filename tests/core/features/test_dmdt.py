"""dm-dt images against hand-made cases."""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.epochs import pack_epochs
from core.features.dmdt import DM_EDGES, DT_EDGES, dmdt


def test_seed_binning():
    # 1 / (25, 8, 3, 0.5, 1/20, 1/50, 1e-2, 1/200, 1/500, 1e-3, 4e-4) days
    assert np.allclose(DT_EDGES, [0.04, 0.125, 1 / 3, 2, 20, 50, 100, 200, 500, 1000, 2500])
    assert len(DM_EDGES) == 21 and DM_EDGES[-1] == np.inf and DM_EDGES[19] == 3.0


def test_three_epochs_by_hand():
    # g: mags 10, 11, 12 (mean 11, std 1) at t = 0, 0.01, 30 -> standardised |dm| 1, 2, 1
    # pairs: (0, 0.01): dt 0.01 -> first column (below the first edge), |dm| 1;
    # (0, 30): dt 30 -> column 4 ([20, 50)), |dm| 2; (0.01, 30): dt 29.99 -> column 4, |dm| 1.
    df = pd.DataFrame({"obj_id": 1, "band": "g", "mjd": 55000 + np.array([0.0, 0.01, 30.0]),
                       "mag": [10.0, 11.0, 12.0], "mag_err": 0.01})
    d = dmdt(pack_epochs(df))
    col = d.prob[0, 0]
    i1 = np.searchsorted(DM_EDGES, 1.0, side="right") - 1
    i2 = np.searchsorted(DM_EDGES, 2.0, side="right") - 1
    assert col[i1, 0] == 1.0 and col[:, 0].sum() == 1.0
    assert col[i1, 4] == 0.5 and col[i2, 4] == 0.5
    assert d.col_mask[0, 0].tolist() == [True, False, False, False, True, False, False, False, False, False]
    assert np.isclose(d.unc[0, 0, 4], np.sqrt(1 / 2)) and d.unc[0, 0, 1] == 0
    assert d.band_mask[0].tolist() == [True, False, False, False, False]
    assert d.scale[0, 0] == 1.0 and (d.scale[0, 1:] == 0).all()  # the standard deviation divided out


def test_empty_and_flat_bands_are_masked():
    df = pd.DataFrame({"obj_id": [1, 1, 1], "band": ["r", "r", "i"], "mjd": [55000.0, 55001.0, 55002.0],
                       "mag": [15.0, 15.0, 16.0], "mag_err": 0.01})
    d = dmdt(pack_epochs(df))
    assert not d.band_mask.any() and not d.col_mask.any() and d.prob.sum() == 0
