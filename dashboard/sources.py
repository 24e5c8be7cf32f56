"""Which scored catalog and model a dashboard server opens.

The catalog comes from ``panel serve dashboard --args CATALOG [MODEL_DIR]``, else the environment
(``SEDSCAPE_CATALOG`` / ``SEDSCAPE_MODEL``), else the default scored mock sky.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from core import SedscapeError, default_model_dir, default_scored_path

CATALOG_ENV = "SEDSCAPE_CATALOG"
MODEL_ENV = "SEDSCAPE_MODEL"
BUILD_COMMAND = "sedscape prepare-default"


class MissingSkyError(SedscapeError):
    """The default scored sky does not exist and cannot be built here; the message says how to make it."""


@dataclass(frozen=True)
class Sources:
    """The catalog (and optional model directory) a server opens, and where the choice came from."""

    catalog: Path
    model_dir: Path | None
    origin: str  # "args", "env" or "default"

    @property
    def is_default(self) -> bool:
        return self.origin == "default"


def resolve_sources(argv: Sequence[str] = (), environ: Mapping[str, str] | None = None) -> Sources:
    """Pick the catalog and model: ``--args`` first, then the environment, then the defaults."""
    environ = os.environ if environ is None else environ
    args = [a for a in argv if a]
    if len(args) > 2:
        raise SedscapeError(f"expected --args CATALOG [MODEL_DIR], got {len(args)} arguments: {args}")
    if args:
        model = Path(args[1]) if len(args) == 2 else _env_path(environ, MODEL_ENV)
        return Sources(Path(args[0]).expanduser(), model, "args")
    if environ.get(CATALOG_ENV):
        return Sources(Path(environ[CATALOG_ENV]).expanduser(), _env_path(environ, MODEL_ENV), "env")
    model = _env_path(environ, MODEL_ENV) or default_model_dir()
    return Sources(default_scored_path(), model, "default")


def _env_path(environ: Mapping[str, str], key: str) -> Path | None:
    return Path(environ[key]).expanduser() if environ.get(key) else None
