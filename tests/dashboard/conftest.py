"""One small scored sky with a real PCA model per test session, shared by the dashboard unit tests."""

from __future__ import annotations

import holoviews as hv
import pytest

from dashboard.sky import load_sky
from dashboard.sources import Sources
from tests.dashboard._sky import make_scored_sky

hv.extension("bokeh")  # plots carry Bokeh options; the app's main.py loads the same backend


@pytest.fixture(scope="session")
def scored_paths(tmp_path_factory):
    return make_scored_sky(tmp_path_factory.mktemp("scored-sky"), n=3000, seed=3)


@pytest.fixture(scope="session")
def sky(scored_paths):
    catalog, model = scored_paths
    return load_sky(Sources(catalog, model, "args"))


@pytest.fixture(scope="session")
def stellar_paths(tmp_path_factory):
    from tests.dashboard._stellar_sky import make_stellar_sky

    return make_stellar_sky(tmp_path_factory.mktemp("stellar-sky"))


@pytest.fixture(scope="session")
def stellar_sky(stellar_paths):
    catalog, model = stellar_paths
    return load_sky(Sources(catalog, model, "args"))


@pytest.fixture(scope="session")
def multi_sky(multi_paths):
    return load_sky(Sources(multi_paths["catalog"], multi_paths["first"], "args"))
