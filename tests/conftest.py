"""Shared fixtures: small seeded catalogs and the --remote-data switch."""

from __future__ import annotations

import pytest

from tests._catalogs import make_catalog


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--remote-data",
        action="store_true",
        default=False,
        help="run tests that contact the real archives (MAST, ESA Gaia, CDS SIMBAD, PS1 images)",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--remote-data"):
        return
    skip = pytest.mark.skip(reason="contacts a real archive; run with --remote-data")
    for item in items:
        if "remote_data" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def small_catalog():
    """2,000 seeded stars in the PS1 contract, complete and passing the paper's cuts."""
    return make_catalog(2000, seed=7)


@pytest.fixture(autouse=True)
def _isolated_dirs(tmp_path_factory, monkeypatch):
    """Keep every test's cache and generated data out of the user's home and the repo."""
    root = tmp_path_factory.mktemp("sedscape-env")
    monkeypatch.setenv("SEDSCAPE_CACHE_DIR", str(root / "cache"))
    monkeypatch.setenv("SEDSCAPE_GENERATED_DIR", str(root / "generated"))
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "2")


@pytest.fixture(scope="session")
def multi_paths(tmp_path_factory):
    """A small mock sky with epochs scored by two models and a multi-modal VAE (dashboard and browser tests)."""
    from tests.dashboard._multi_sky import make_multi_sky

    return make_multi_sky(tmp_path_factory.mktemp("multi-sky"))
