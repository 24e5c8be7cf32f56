"""Where sedscape finds its shipped tables, writes generated data, and caches downloads."""

from __future__ import annotations

import os
from pathlib import Path

_REPO_ROOT = Path(__file__).resolve().parents[1]


def data_dir() -> Path:
    """The project's ``data/`` folder (reference tables, default model); ``SEDSCAPE_DATA_DIR`` overrides."""
    return Path(os.environ.get("SEDSCAPE_DATA_DIR", _REPO_ROOT / "data"))


def reference_dir() -> Path:
    return data_dir() / "reference"


def generated_dir() -> Path:
    """Where the default mock sky and its scored version are built (git-ignored)."""
    return Path(os.environ.get("SEDSCAPE_GENERATED_DIR", data_dir() / "generated"))


def cache_dir() -> Path:
    """On-disk cache for archive responses and cutouts; ``SEDSCAPE_CACHE_DIR`` overrides."""
    default = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "sedscape"
    return Path(os.environ.get("SEDSCAPE_CACHE_DIR", default))


def xla_cache_dir() -> Path | None:
    """Where compiled XLA programs persist between processes (``SEDSCAPE_XLA_CACHE_DIR``; ``off`` disables)."""
    value = os.environ.get("SEDSCAPE_XLA_CACHE_DIR", str(cache_dir() / "xla"))
    return None if value.lower() in ("off", "0", "") else Path(value)


def default_model_dir() -> Path:
    return data_dir() / "models" / "default"


def default_stellar_model_dir() -> Path:
    """The shipped data-driven stellar model (``sedscape stellar-model train``)."""
    return data_dir() / "models" / "stellar"


def default_sky_path() -> Path:
    return generated_dir() / "mock_sky.parquet"


def default_scored_path() -> Path:
    return generated_dir() / "mock_sky_scored.parquet"
