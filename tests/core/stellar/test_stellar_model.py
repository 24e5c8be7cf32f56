"""The stellar model's layout: colour space, persistence, Jacobians."""

from __future__ import annotations

import numpy as np
import pytest

from core.errors import ConfigError, ModelError
from core.stellar.model import StellarModel, StellarModelConfig, colour_matrix, jacobians


def test_colour_space_round_trip_and_reference_band():
    model = StellarModel(bands=("g", "r", "i", "z", "y"), config=StellarModelConfig(ref_band="r"))
    mags = np.array([[15.4, 15.0, 14.8, 14.7, 14.65]])
    y = model.to_colour_space(mags)
    np.testing.assert_allclose(y[0], [15.0, 0.4, -0.2, -0.3, -0.35])
    assert model.output_names == ["M_r", "g-r", "i-r", "z-r", "y-r"]
    np.testing.assert_allclose(model.to_magnitudes(y), mags)
    assert colour_matrix(3).tolist() == [[1, 0, 0], [-1, 1, 0], [-1, 0, 1]]


def test_save_load_round_trip(tmp_path):
    model = StellarModel(bands=("g", "r", "i"), config=StellarModelConfig(hidden=(4, 3), ref_band="g"), seed=3)
    model.weights[-1] = np.log(np.array([3.0, 2.0, 1.5], np.float32))
    model.save(tmp_path)
    back = StellarModel.load(tmp_path)
    theta = np.array([[5000.0, 4.5, -0.3], [6200.0, 4.1, 0.1]])
    np.testing.assert_allclose(back.predict(theta, 0.1)[0], model.predict(theta, 0.1)[0], rtol=1e-6)
    # With zero extinction kernel R is the same for every star and equals exp(bias).
    np.testing.assert_allclose(back.mean_extinction_vector(), [3.0, 2.0, 1.5], rtol=1e-6)
    with pytest.raises(ModelError, match="not a stellar model directory"):
        StellarModel.load(tmp_path / "nothing")


def test_config_errors_name_the_field():
    with pytest.raises(ConfigError, match="activation"):
        StellarModelConfig(activation="relu6")
    with pytest.raises(ConfigError, match="reference band"):
        StellarModel(bands=("g", "i"), config=StellarModelConfig(ref_band="r"))


def test_jacobians_match_finite_differences():
    model = StellarModel(bands=("g", "r", "i", "z", "y"), config=StellarModelConfig(hidden=(6, 5)), seed=1)
    model.weights[-2] = np.full((3, 5), 0.1, np.float32)  # R depends on the features
    theta = np.array([[5200.0, 4.4, -0.5], [6100.0, 3.9, 0.0]])
    ebv = np.array([0.3, 0.1])
    jac = jacobians(model, theta, ebv)
    steps = np.array([5.0, 0.005, 0.005])
    for k in range(3):
        up, down = theta.copy(), theta.copy()
        up[:, k] += steps[k]
        down[:, k] -= steps[k]
        fd = (model.predict(up, ebv)[0] - model.predict(down, ebv)[0]) / (2 * steps[k])
        np.testing.assert_allclose(jac[:, :, k], fd, rtol=2e-2, atol=1e-4)
