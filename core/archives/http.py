"""One HTTP session per service: timeouts, retries with backoff, and fast offline detection.

:class:`ArchiveSession` is a ``requests.Session`` so it can be handed to pyvo, which then gets the
same behaviour for every request it makes: 5xx answers, dropped connections and read timeouts are
retried with exponential backoff; 4xx answers are returned at once (the request itself is wrong);
a failed TCP connect marks the service offline for ``offline_ttl_s`` so later calls fail in
microseconds instead of each waiting for its own timeout.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import requests

from core.archives.config import ArchiveConfig
from core.errors import ArchiveError, OfflineError

log = logging.getLogger(__name__)

_offline_until: dict[str, float] = {}
_offline_reason: dict[str, str] = {}
_lock = threading.Lock()

USER_AGENT = "sedscape/0.1 (+https://github.com/; python-requests)"


def mark_offline(service: str, ttl_s: float, reason: str) -> None:
    """Remember for ``ttl_s`` seconds that ``service`` cannot be reached."""
    with _lock:
        _offline_until[service] = time.monotonic() + ttl_s
        _offline_reason[service] = reason


def offline_reason(service: str) -> str | None:
    """Why ``service`` is considered offline right now, or ``None`` when it may be tried."""
    with _lock:
        until = _offline_until.get(service)
        if until is None:
            return None
        if time.monotonic() >= until:
            del _offline_until[service]
            _offline_reason.pop(service, None)
            return None
        return _offline_reason.get(service, "unreachable")


def reset_offline(service: str | None = None) -> None:
    """Forget offline marks (all, or one service's): e.g. after the network came back."""
    with _lock:
        if service is None:
            _offline_until.clear()
            _offline_reason.clear()
        else:
            _offline_until.pop(service, None)
            _offline_reason.pop(service, None)


def describe_request(method: str, url: str, params: Any = None) -> str:
    """A short human-readable form of a request for error messages."""
    text = f"{method.upper()} {url}"
    if params:
        text += f" {params!r:.120}"
    return text


def _offline_hint(config: ArchiveConfig) -> str:
    return (
        f"Check the network connection, or point the client at a mirror; the service is not retried "
        f"for {config.offline_ttl_s:g} s (SEDSCAPE_ARCHIVE_OFFLINE_TTL). Cached results are still used."
    )


def _rewind_files(files: Any) -> Any:
    """Read upload file objects into bytes once, so that a retried POST sends them again."""
    if not files:
        return files
    items = files.items() if isinstance(files, dict) else files
    out = []
    for name, value in items:
        if hasattr(value, "read"):
            value = value.read()
        elif isinstance(value, tuple):
            value = tuple(v.read() if hasattr(v, "read") else v for v in value)
        out.append((name, value))
    return out


class ArchiveSession(requests.Session):
    """A ``requests.Session`` with the archive policy (timeouts, retry, offline) built in."""

    def __init__(self, config: ArchiveConfig, *, reject_html: bool = True) -> None:
        super().__init__()
        self.config = config
        self.reject_html = reject_html
        self.headers["User-Agent"] = USER_AGENT
        self.n_requests = 0
        self._streams: list[requests.Response] = []

    def release(self) -> None:
        """Close responses opened with ``stream=True`` (pyvo leaves some unread), returning their sockets."""
        streams, self._streams = self._streams, []
        for response in streams:
            response.close()

    def close(self) -> None:
        self.release()
        super().close()

    def _timeout(self, given: Any) -> tuple[float, float]:
        c = self.config
        if isinstance(given, tuple):
            return (min(float(given[0]), c.connect_timeout_s), float(given[1]))
        if given is None:
            return (c.connect_timeout_s, c.read_timeout_s)
        # pyvo passes one number meaning "how long this poll may take"; keep our short connect timeout.
        return (c.connect_timeout_s, float(given))

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        c = self.config
        what = describe_request(method, url, kwargs.get("params"))
        reason = offline_reason(c.service)
        if reason is not None:
            raise OfflineError(c.display_name, what, f"service marked offline ({reason})", _offline_hint(c))
        kwargs["timeout"] = self._timeout(kwargs.get("timeout"))
        if kwargs.get("files"):
            kwargs["files"] = _rewind_files(kwargs["files"])
        attempt = 0
        while True:
            self.n_requests += 1
            problem: str
            try:
                response = super().request(method, url, *args, **kwargs)
            except requests.exceptions.ConnectionError as exc:
                if _is_connect_failure(exc):
                    msg = f"cannot connect ({_short(exc)})"
                    mark_offline(c.service, c.offline_ttl_s, msg)
                    raise OfflineError(c.display_name, what, msg, _offline_hint(c)) from exc
                problem = f"connection dropped ({_short(exc)})"
            except requests.exceptions.Timeout as exc:
                problem = f"no answer within {kwargs['timeout'][1]:g} s ({_short(exc)})"
            except requests.exceptions.RequestException as exc:
                raise ArchiveError(c.display_name, what, f"request failed: {_short(exc)}") from exc
            else:
                if kwargs.get("stream"):
                    self._streams.append(response)
                if response.status_code < 500:
                    if self.reject_html and response.ok and _is_html(response):
                        raise ArchiveError(
                            c.display_name,
                            what,
                            f"returned an HTML page instead of data ({_html_title(response)})",
                            "The service may be down for maintenance or the URL may be wrong; check the "
                            "service's status page and the endpoint setting, then retry later",
                        )
                    return response
                problem = f"HTTP {response.status_code} {response.reason}"
                if attempt >= c.retries:
                    log.warning("%s: %s after %d attempts", c.display_name, problem, attempt + 1)
                    return response  # the caller turns the status into an error with its body
                response.close()
            if attempt >= c.retries:
                raise ArchiveError(
                    c.display_name,
                    what,
                    f"{problem}; gave up after {attempt + 1} attempts",
                    "The service may be overloaded; retry later or raise SEDSCAPE_ARCHIVE_READ_TIMEOUT",
                )
            delay = c.backoff_s * (2**attempt)
            log.info("%s: %s; retry %d/%d in %.1f s", c.display_name, problem, attempt + 1, c.retries, delay)
            time.sleep(delay)
            attempt += 1


def check_response(response: requests.Response, config: ArchiveConfig, what: str) -> requests.Response:
    """Raise :class:`ArchiveError` for a non-2xx answer, quoting the start of its body."""
    if response.ok:
        return response
    body = response.text[:300].strip().replace("\n", " ")
    hint = (
        "The request was rejected; check the coordinates/options (this is not retried)"
        if response.status_code < 500
        else "The service failed repeatedly; retry later"
    )
    raise ArchiveError(config.display_name, what, f"HTTP {response.status_code} {response.reason}: {body}", hint)


def _is_connect_failure(exc: BaseException) -> bool:
    """True when the TCP connection was never made (refused, DNS failure, connect timeout)."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    text = repr(exc)
    markers = ("NewConnectionError", "Connection refused", "Name or service not known",
               "NameResolutionError", "nodename nor servname", "Failed to resolve", "No route to host",
               "Network is unreachable", "ConnectTimeoutError")
    return any(m in text for m in markers)


def _is_html(response: requests.Response) -> bool:
    return "text/html" in response.headers.get("Content-Type", "").lower()


def _html_title(response: requests.Response) -> str:
    import re

    try:
        head = response.content[:4000].decode("utf-8", "replace")
    except Exception:  # the body may be unreadable; the status is enough then
        return f"HTTP {response.status_code}"
    m = re.search(r"<title>(.*?)</title>", head, re.I | re.S)
    return f"title: {m.group(1).strip()[:100]!r}" if m else f"HTTP {response.status_code}, text/html"


def _short(exc: BaseException) -> str:
    """The useful part of a requests/urllib3 error (they nest the OS error several levels deep)."""
    import re

    text = str(exc)
    m = re.search(r"\[Errno -?\d+\] [^'\")\]]+", text)
    if m:
        return m.group(0).strip()
    for key in ("Failed to resolve", "Read timed out", "Connection aborted", "Connection reset", "timed out"):
        if key in text:
            return key.lower() if key != "Failed to resolve" else "host name not found"
    return text if len(text) < 200 else text[:200] + "..."
