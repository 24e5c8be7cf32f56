"""Exception tree: every error sedscape raises on purpose derives from ``SedscapeError``."""

from __future__ import annotations


class SedscapeError(Exception):
    """Base class; the CLI turns these into a one-paragraph message and exit code 2."""


class CatalogError(SedscapeError, ValueError):
    """A catalog is missing columns, has bad values, or cannot be read."""


class ConfigError(SedscapeError, ValueError):
    """An option or configuration value is invalid (unknown name, out of range)."""


class ModelError(SedscapeError):
    """A model cannot be built, loaded, or applied to the given catalog."""


class BandMismatchError(ModelError, CatalogError):
    """The catalog's bands are not the bands the model was trained on."""


class ArchiveError(SedscapeError):
    """A remote service failed; the message names the service, the request and what to do."""

    def __init__(self, service: str, request: str, problem: str, hint: str = "") -> None:
        self.service, self.request, self.problem, self.hint = service, request, problem, hint
        text = f"{service}: {problem} (request: {request})"
        if hint:
            text += f". {hint}"
        super().__init__(text)


class OfflineError(ArchiveError):
    """The service cannot be reached at all (no network, DNS failure, refused connection)."""


class OutputExistsError(SedscapeError, FileExistsError):
    """Refusing to overwrite an existing file without ``overwrite=True`` / ``--overwrite``."""


class ExportCancelled(SedscapeError):
    """An export was cancelled before it finished; nothing was left behind."""


class SampError(SedscapeError):
    """No SAMP hub is running, or the hub or its clients refused a message."""


class PathError(SedscapeError, OSError):
    """An input cannot be read, or an output cannot be written where it was asked for."""
