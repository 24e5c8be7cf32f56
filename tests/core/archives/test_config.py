"""Archive configuration: endpoints and policy from the environment, validated."""

from __future__ import annotations

import pytest

from core.archives.config import DEFAULT_ENDPOINTS, archive_config
from core.errors import ConfigError


def test_defaults_are_the_documented_endpoints(monkeypatch):
    for var in ("SEDSCAPE_PS1_TAP_URL", "SEDSCAPE_GAIA_TAP_URL", "SEDSCAPE_ARCHIVE_RETRIES"):
        monkeypatch.delenv(var, raising=False)
    assert archive_config("ps1").url == "https://mast.stsci.edu/vo-tap/api/v0.1/ps1dr2"
    assert archive_config("gaia").url == DEFAULT_ENDPOINTS["gaia"]
    assert archive_config("simbad").url.endswith("/simbad/sim-tap")
    assert archive_config("ps1").retries == 3


def test_environment_overrides(monkeypatch):
    monkeypatch.setenv("SEDSCAPE_GAIA_TAP_URL", "http://mirror.example/tap/")
    monkeypatch.setenv("SEDSCAPE_ARCHIVE_CONNECT_TIMEOUT", "0.5")
    monkeypatch.setenv("SEDSCAPE_ARCHIVE_WORKERS", "7")
    c = archive_config("gaia")
    assert c.url == "http://mirror.example/tap" and c.connect_timeout_s == 0.5 and c.max_workers == 7
    assert archive_config("gaia", max_workers=2).max_workers == 2


@pytest.mark.parametrize("env, value, match", [
    ("SEDSCAPE_ARCHIVE_RETRIES", "many", "not a number"),
    ("SEDSCAPE_ARCHIVE_CONNECT_TIMEOUT", "0", "connect_timeout_s must be > 0"),
    ("SEDSCAPE_ARCHIVE_WORKERS", "0", "max_workers"),
])
def test_bad_values_are_named(monkeypatch, env, value, match):
    monkeypatch.setenv(env, value)
    with pytest.raises(ConfigError, match=match):
        archive_config("ps1")


def test_unknown_service_and_setting():
    with pytest.raises(ConfigError, match="known: ps1, gaia"):
        archive_config("sdss")
    with pytest.raises(ConfigError, match="unknown archive setting"):
        archive_config("ps1", timeout=3)
