"""Where the archives live and how patiently to talk to them: endpoints, timeouts, retries, concurrency.

Every value has a default in code and can be overridden by an environment variable, so tests (and
users behind a mirror) can point a client at another host without touching code.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields, replace

from core.errors import ConfigError

# Documented public endpoints (see the services' own pages; listed in data/README.md by the lead).
DEFAULT_ENDPOINTS: dict[str, str] = {
    "ps1": "https://mast.stsci.edu/vo-tap/api/v0.1/ps1dr2",
    "gaia": "https://gea.esac.esa.int/tap-server/tap",
    "simbad": "https://simbad.cds.unistra.fr/simbad/sim-tap",
    "ps1_images": "https://ps1images.stsci.edu/cgi-bin",
    # PS1-STRM (Beck et al. 2021) is not known to be on a public TAP service; empty means "not offered",
    # and the prob_star cut then reports its column as absent.
    "ps1_strm": "",
}

ENV_VARS: dict[str, str] = {
    "ps1": "SEDSCAPE_PS1_TAP_URL",
    "gaia": "SEDSCAPE_GAIA_TAP_URL",
    "simbad": "SEDSCAPE_SIMBAD_TAP_URL",
    "ps1_images": "SEDSCAPE_PS1_IMAGE_URL",
    "ps1_strm": "SEDSCAPE_PS1_STRM_TAP_URL",
}

SERVICE_NAMES: dict[str, str] = {
    "ps1": "MAST PS1 DR2 TAP",
    "gaia": "ESA Gaia TAP",
    "simbad": "CDS SIMBAD TAP",
    "ps1_images": "PS1 image service",
    "ps1_strm": "PS1-STRM TAP",
}


@dataclass(frozen=True)
class ArchiveConfig:
    """How one client talks to one service.

    ``connect_timeout_s`` is short on purpose: a host that does not answer a TCP connect within it is
    treated as offline and is not asked again for ``offline_ttl_s`` seconds.
    """

    url: str
    service: str = "archive"
    connect_timeout_s: float = 5.0
    read_timeout_s: float = 120.0
    retries: int = 3
    backoff_s: float = 1.0
    max_workers: int = 4
    offline_ttl_s: float = 300.0
    job_timeout_s: float = 3600.0

    def __post_init__(self) -> None:
        for f in ("connect_timeout_s", "read_timeout_s", "job_timeout_s"):
            if not getattr(self, f) > 0:
                raise ConfigError(f"{self.service}: {f} must be > 0, got {getattr(self, f)}")
        if self.retries < 0 or self.backoff_s < 0 or self.offline_ttl_s < 0:
            raise ConfigError(f"{self.service}: retries, backoff_s and offline_ttl_s must be >= 0")
        if self.max_workers < 1:
            raise ConfigError(f"{self.service}: max_workers must be >= 1, got {self.max_workers}")

    @property
    def display_name(self) -> str:
        return SERVICE_NAMES.get(self.service, self.service)

    def with_(self, **changes: object) -> ArchiveConfig:
        """A copy with some fields changed (validated again)."""
        return replace(self, **changes)


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise ConfigError(f"environment variable {name}={raw!r} is not a number") from None


def archive_config(service: str, **overrides: object) -> ArchiveConfig:
    """The configuration of ``service`` (``ps1``, ``gaia``, ``simbad``, ``ps1_images``, ``ps1_strm``).

    Environment: ``SEDSCAPE_<SERVICE>_TAP_URL`` / ``SEDSCAPE_PS1_IMAGE_URL`` for the endpoint and,
    for every service, ``SEDSCAPE_ARCHIVE_CONNECT_TIMEOUT``, ``SEDSCAPE_ARCHIVE_READ_TIMEOUT``,
    ``SEDSCAPE_ARCHIVE_RETRIES``, ``SEDSCAPE_ARCHIVE_BACKOFF``, ``SEDSCAPE_ARCHIVE_WORKERS``,
    ``SEDSCAPE_ARCHIVE_OFFLINE_TTL`` and ``SEDSCAPE_ARCHIVE_JOB_TIMEOUT`` (seconds / counts).
    Keyword overrides win over the environment.
    """
    if service not in DEFAULT_ENDPOINTS:
        raise ConfigError(f"unknown archive service {service!r}; known: {', '.join(DEFAULT_ENDPOINTS)}")
    url = os.environ.get(ENV_VARS[service], DEFAULT_ENDPOINTS[service]).rstrip("/")
    values: dict[str, object] = {
        "url": url,
        "service": service,
        "connect_timeout_s": _env_float("SEDSCAPE_ARCHIVE_CONNECT_TIMEOUT", 5.0),
        "read_timeout_s": _env_float("SEDSCAPE_ARCHIVE_READ_TIMEOUT", 120.0),
        "retries": int(_env_float("SEDSCAPE_ARCHIVE_RETRIES", 3)),
        "backoff_s": _env_float("SEDSCAPE_ARCHIVE_BACKOFF", 1.0),
        "max_workers": int(_env_float("SEDSCAPE_ARCHIVE_WORKERS", 4)),
        "offline_ttl_s": _env_float("SEDSCAPE_ARCHIVE_OFFLINE_TTL", 300.0),
        "job_timeout_s": _env_float("SEDSCAPE_ARCHIVE_JOB_TIMEOUT", 3600.0),
    }
    known = {f.name for f in fields(ArchiveConfig)}
    unknown = set(overrides) - known
    if unknown:
        raise ConfigError(f"unknown archive setting(s) {sorted(unknown)}; known: {sorted(known)}")
    values.update({k: v for k, v in overrides.items() if v is not None})
    return ArchiveConfig(**values)  # type: ignore[arg-type]
