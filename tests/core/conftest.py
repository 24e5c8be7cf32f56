"""Fixtures shared by the core tests: one tiny masked-AE model, trained once per session."""

from __future__ import annotations

import os

# Halves XLA's compile time for these tiny graphs (runtime is unchanged).
os.environ.setdefault("XLA_FLAGS", "--xla_backend_optimization_level=1")

import pytest  # noqa: E402

from tests._catalogs import make_catalog  # noqa: E402


@pytest.fixture(scope="session")
def masked_model_dir(tmp_path_factory):
    """A masked-ae model directory trained (one run, real TensorFlow) on 4,000 seeded stars."""
    from core.bands import PS1
    from core.models.base import TrainConfig
    from core.training import train_runs

    out = tmp_path_factory.mktemp("masked") / "model"
    df = make_catalog(4000, seed=5)
    train_runs(df, PS1, model="masked-ae", runs=1, out_dir=out, progress=False,
               config=TrainConfig(max_epochs=40, patience=8, batch_size=256, learning_rate=3e-3))
    return out
