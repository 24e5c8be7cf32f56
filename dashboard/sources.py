"""Which scored catalog, model and label database a dashboard server opens.

The catalog comes from ``panel serve dashboard --args CATALOG [MODEL_DIR [LABELS]]``, else the
environment (``SEDSCAPE_CATALOG`` / ``SEDSCAPE_MODEL``), else the default scored mock sky. The label
database is the third argument, else ``SEDSCAPE_LABELS``, else ``<catalog>.labels.sqlite`` beside the
catalog (``core.labels_path_for``); give ``-`` as MODEL_DIR to name a label database without a model.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from core import LABELS_ENV, SedscapeError, default_model_dir, default_scored_path, labels_path_for

CATALOG_ENV = "SEDSCAPE_CATALOG"
MODEL_ENV = "SEDSCAPE_MODEL"
USAGE = "--args CATALOG [MODEL_DIR [LABELS]]"
BUILD_COMMAND = "sedscape prepare-default"


class MissingSkyError(SedscapeError):
    """The default scored sky does not exist and cannot be built here; the message says how to make it."""


@dataclass(frozen=True)
class Sources:
    """The catalog (and optional model directory and label database) a server opens, and where the
    catalog choice came from."""

    catalog: Path
    model_dir: Path | None
    origin: str  # "args", "env" or "default"
    labels: Path | None = None  # None: beside the catalog

    @property
    def is_default(self) -> bool:
        return self.origin == "default"

    @property
    def labels_path(self) -> Path:
        """The label database: the one given, else ``<catalog>.labels.sqlite``."""
        return self.labels if self.labels is not None else labels_path_for(self.catalog, {})


def resolve_sources(argv: Sequence[str] = (), environ: Mapping[str, str] | None = None) -> Sources:
    """Pick the catalog, model and label database: ``--args`` first, then the environment, then the defaults."""
    environ = os.environ if environ is None else environ
    args = list(argv)
    while args and not args[-1]:
        args.pop()
    if len(args) > 3:
        raise SedscapeError(f"expected {USAGE}, got {len(args)} arguments: {args}")
    labels = Path(args[2]).expanduser() if len(args) == 3 else _env_path(environ, LABELS_ENV)
    if args and args[0]:
        given = args[1] if len(args) >= 2 and args[1] not in ("", "-") else None
        model = Path(given) if given else (None if len(args) >= 2 else _env_path(environ, MODEL_ENV))
        return Sources(Path(args[0]).expanduser(), model, "args", labels)
    if environ.get(CATALOG_ENV):
        return Sources(Path(environ[CATALOG_ENV]).expanduser(), _env_path(environ, MODEL_ENV), "env", labels)
    model = _env_path(environ, MODEL_ENV) or default_model_dir()
    return Sources(default_scored_path(), model, "default", labels)


def _env_path(environ: Mapping[str, str], key: str) -> Path | None:
    return Path(environ[key]).expanduser() if environ.get(key) else None
