"""Mock skies shared by the mock tests: generated once per session, small enough to take seconds."""

from __future__ import annotations

import pytest

from core.bands import PS1
from core.mock.sky import MockConfig, build_precut

N_STARS = 30_000
SEED = 3


@pytest.fixture(scope="session")
def mock_precut():
    """The observed catalog before cuts (~49k rows) for N_STARS stars after cuts."""
    return build_precut(MockConfig(n_stars=N_STARS, seed=SEED))


@pytest.fixture(scope="session")
def mock_sky(mock_precut):
    """``mock_precut`` through the project's selection pipeline (cuts, dereddening)."""
    from core.pipeline import select

    out, _ = select(mock_precut, PS1)
    return out
