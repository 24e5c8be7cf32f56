"""Per-session export areas on the server and the plain-HTTP route the browser downloads them from.

An export is written on the server into its session's area (a private temporary directory, removed
when the session ends) and fetched by the browser from ``/sedscape-exports/<token>/<file>``, a
Tornado static-file handler: files of any size stream from disk, with ranges, instead of travelling
base64-encoded through the Bokeh websocket. The token is a random 128-bit name known only to the
session's page; nothing outside a registered area is served, nor any hidden (partial) file.

The route is registered either as Panel documents it (``panel serve dashboard --plugins
dashboard.downloads``, which reads :data:`ROUTES`) or, for a plain ``panel serve dashboard``, by
:func:`ensure_routes` from the app's server hook.
"""

from __future__ import annotations

import atexit
import logging
import secrets
import shutil
import tempfile
import threading
from pathlib import Path

from tornado.web import HTTPError, StaticFileHandler

log = logging.getLogger(__name__)

ROUTE = "sedscape-exports"

_root: Path | None = None
_areas: dict[str, Path] = {}
_lock = threading.Lock()
_prefix = ""


def _export_root() -> Path:
    """This process's directory of session areas (created on first use, removed at exit)."""
    global _root
    with _lock:
        if _root is None:
            _root = Path(tempfile.mkdtemp(prefix="sedscape-exports-"))
            atexit.register(shutil.rmtree, _root, ignore_errors=True)
        return _root


class ExportArea:
    """One session's export directory and the URL path its files are downloaded from."""

    def __init__(self) -> None:
        self.token = secrets.token_hex(16)
        self.path = _export_root() / self.token
        self.path.mkdir()
        with _lock:
            _areas[self.token] = self.path

    def url(self, name: str) -> str:
        return f"{_prefix}/{ROUTE}/{self.token}/{name}"

    def close(self) -> None:
        """Forget the area and delete its files (a download in progress keeps its open file)."""
        with _lock:
            _areas.pop(self.token, None)
        shutil.rmtree(self.path, ignore_errors=True)


class ExportFileHandler(StaticFileHandler):
    """Serves ``<token>/<file>`` from a registered export area, as an attachment."""

    def initialize(self) -> None:  # type: ignore[override]
        super().initialize(path=str(_export_root()))

    @classmethod
    def get_absolute_path(cls, root: str, path: str) -> str:
        token, _, name = path.partition("/")
        with _lock:
            area = _areas.get(token)
        if area is None or not name or "/" in name or name.startswith("."):
            raise HTTPError(404)
        return str(area / name)

    def compute_etag(self) -> None:
        # Tornado would hash the whole file for an ETag before sending it; an export is fetched once.
        return None

    def set_extra_headers(self, path: str) -> None:
        name = path.rpartition("/")[2]
        self.set_header("Content-Disposition", f'attachment; filename="{name}"')
        self.set_header("Cache-Control", "no-store")


# ``panel serve dashboard --plugins dashboard.downloads`` adds these to the server's routes.
ROUTES = [(rf"/{ROUTE}/(.*)", ExportFileHandler, {})]


def ensure_routes() -> bool:
    """Make sure the running Bokeh server serves :data:`ROUTES` (adding them if ``--plugins`` did not).

    Neither Bokeh nor Panel hands a directory app its Tornado application (Panel's documented way is
    ``--plugins``), so it is found among the live objects; returns False if there is none.
    """
    import gc

    from bokeh.server.tornado import BokehTornado

    global _prefix
    apps = [o for o in gc.get_objects() if isinstance(o, BokehTornado)]
    if not apps:
        log.warning("no Bokeh server found: exports cannot be downloaded (serve with --plugins dashboard.downloads)")
        return False
    for app in apps:
        _prefix = getattr(app, "_prefix", "") or ""
        if any(rule.target is ExportFileHandler for rule in _rules(app)):  # --plugins added it
            continue
        app.add_handlers(r".*", [(f"{_prefix}/{ROUTE}/(.*)", ExportFileHandler, {})])
        log.info("export downloads are served at %s/%s/", _prefix, ROUTE)
    return True


def _rules(app) -> list:
    rules = []
    for router in (app.wildcard_router, app.default_router):
        for rule in router.rules:
            rules.append(rule)
            rules.extend(getattr(rule.target, "rules", []))
    return rules
