"""A loopback HTTP server that speaks enough TAP and PS1-image protocol to replay recorded answers.

Paths: ``/<service>/sync``, ``/<service>/async`` (job creation answers 303 to the job URL; ``phase``,
``results/result`` and DELETE work as UWS says), ``/<service>/availability|capabilities|tables``, and
``/images/ps1filenames.py`` / ``/images/fitscut.cgi``. What a query returns is decided by a
*responder* per service (a function of the ADQL text and the uploaded tables that returns VOTable
bytes); faults can be injected per path.
"""

from __future__ import annotations

import email.parser
import email.policy
import io
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import escape

from astropy.io.votable import parse_single_table

Responder = Callable[[str, dict], bytes]

UWS_JOB = """<?xml version="1.0" encoding="UTF-8"?>
<uws:job xmlns:uws="http://www.ivoa.net/xml/UWS/v1.0" xmlns:xlink="http://www.w3.org/1999/xlink"
 xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" version="1.1">
  <uws:jobId>{job_id}</uws:jobId>
  <uws:ownerId xsi:nil="true"/>
  <uws:phase>{phase}</uws:phase>
  <uws:quote xsi:nil="true"/>
  <uws:creationTime>2026-01-01T00:00:00Z</uws:creationTime>
  <uws:startTime xsi:nil="true"/>
  <uws:endTime xsi:nil="true"/>
  <uws:executionDuration>3600</uws:executionDuration>
  <uws:destruction>2026-01-01T00:00:00Z</uws:destruction>
  <uws:parameters>
    <uws:parameter id="lang">ADQL</uws:parameter>
    <uws:parameter id="query"><![CDATA[{query}]]></uws:parameter>
  </uws:parameters>
  <uws:results>{results}</uws:results>{error}
</uws:job>
"""

VOTABLE_ERROR = """<?xml version="1.0" encoding="UTF-8"?>
<VOTABLE version="1.4" xmlns="http://www.ivoa.net/xml/VOTable/v1.3">
  <RESOURCE type="results">
    <INFO name="QUERY_STATUS" value="ERROR">{message}</INFO>
  </RESOURCE>
</VOTABLE>
"""

HTML_PAGE = b"""<!DOCTYPE html><html><head><title>Service Unavailable - Scheduled Maintenance</title></head>
<body><h1>We'll be back soon</h1><p>The archive is undergoing scheduled maintenance.</p></body></html>"""


class QueryRejected(Exception):
    """Raised by a responder for a query the real service would reject (HTTP 400 / job ERROR)."""


@dataclass
class Fault:
    """Answer requests whose path contains ``path`` with ``kind`` for ``times`` requests after ``after``.

    Kinds: ``status:<code>``, ``delay:<seconds>``, ``truncate`` (half of the real body), ``html`` (a
    200 maintenance page), ``empty`` (a 200 with no body).
    """

    path: str
    kind: str
    times: int = 1
    after: int = 0
    exact: bool = False
    seen: int = 0


@dataclass
class Recorded:
    method: str
    path: str
    params: dict
    uploads: dict = field(default_factory=dict)


class LoopbackServer:
    """Threaded HTTP server on 127.0.0.1 with an ephemeral port; ``url(service)`` gives base URLs."""

    def __init__(self) -> None:
        self.responders: dict[str, Responder] = {}
        self.files: dict[str, bytes] = {}  # image endpoints: "ps1filenames" / "fitscut" -> body
        self.faults: list[Fault] = []
        self.requests: list[Recorded] = []
        self.jobs: dict[str, dict] = {}
        self.hold_jobs = False  # True: async jobs stay EXECUTING forever
        self.in_flight = 0
        self.max_in_flight = 0
        self.lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
        self.httpd.daemon_threads = True
        # Clients that time out or give up close their sockets; that is expected here, not an error.
        self.httpd.handle_error = lambda request, address: None
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)

    @property
    def port(self) -> int:
        return self.httpd.server_address[1]

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.port}/{service}"

    def start(self) -> LoopbackServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def inject(self, path: str, kind: str, times: int = 1, after: int = 0, exact: bool = False) -> Fault:
        """Add a fault; ``exact`` matches the whole path instead of a part of it."""
        fault = Fault(path, kind, times, after, exact)
        with self.lock:
            self.faults.append(fault)
        return fault

    def count(self, pattern: str, method: str | None = None) -> int:
        """How many recorded requests have ``pattern`` in their path (and the given method)."""
        with self.lock:
            return sum(1 for r in self.requests if pattern in r.path and (method is None or r.method == method))

    def queries(self, service: str) -> list[str]:
        """The ADQL texts the service ran (sync queries and async jobs), in order."""
        with self.lock:
            return [r.params["QUERY"] for r in self.requests
                    if r.path.startswith(f"/{service}/") and "QUERY" in r.params]

    def _fault_for(self, path: str) -> Fault | None:
        with self.lock:
            for f in self.faults:
                if (f.path == path) if f.exact else (f.path in path):
                    f.seen += 1
                    if f.after < f.seen <= f.after + f.times:
                        return f
        return None


def _parse_body(handler: BaseHTTPRequestHandler) -> tuple[dict, dict]:
    """Form fields and uploaded files of a POST (urlencoded or multipart)."""
    length = int(handler.headers.get("Content-Length") or 0)
    body = handler.rfile.read(length) if length else b""
    ctype = handler.headers.get("Content-Type", "")
    fields_: dict[str, str] = {}
    files: dict[str, bytes] = {}
    if ctype.startswith("multipart/form-data"):
        msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + body
        )
        for part in msg.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True)
            if part.get_filename() is not None:
                files[name] = payload
            else:
                fields_[name] = payload.decode()
    elif body:
        fields_ = {k: v[-1] for k, v in parse_qs(body.decode(), keep_blank_values=True).items()}
    return fields_, files


def _uploads(params: dict, files: dict) -> dict:
    """Uploaded tables named in the UPLOAD parameter ("name,param:part;...")."""
    out = {}
    spec = params.get("UPLOAD", "")
    for item in filter(None, spec.split(";")):
        name, ref = item.split(",", 1)
        part = ref.split(":", 1)[1] if ref.startswith("param:") else ref
        out[name] = parse_single_table(io.BytesIO(files[part])).to_table()
    return out


def _make_handler(server: LoopbackServer):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):  # keep pytest output clean
            pass

        def _send(self, code: int, body: bytes = b"", ctype: str = "text/xml", headers: dict | None = None):
            fault = getattr(self, "_fault", None)
            if fault is not None and fault.kind == "truncate":
                body = body[: len(body) // 2]
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _redirect(self, location: str):
            self._send(303, b"", "text/plain", {"Location": location})

        def _handle(self):
            with server.lock:
                server.in_flight += 1
                server.max_in_flight = max(server.max_in_flight, server.in_flight)
            try:
                return self._dispatch()
            finally:
                with server.lock:
                    server.in_flight -= 1

        def _dispatch(self):
            split = urlsplit(self.path)
            path = split.path.rstrip("/")
            query = {k: v[-1] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
            fields_, files = _parse_body(self) if self.command == "POST" else ({}, {})
            params = {k.upper(): v for k, v in {**query, **fields_}.items()}
            rec = Recorded(self.command, path, params)
            with server.lock:
                server.requests.append(rec)
            self._fault = fault = server._fault_for(path)
            if fault is not None:
                kind, _, arg = fault.kind.partition(":")
                if kind == "status":
                    code = int(arg)
                    return self._send(code, VOTABLE_ERROR.format(message=f"injected {code}").encode())
                if kind == "delay":
                    time.sleep(float(arg))
                elif kind == "html":
                    return self._send(200, HTML_PAGE, "text/html; charset=utf-8")
                elif kind == "empty":
                    return self._send(200, b"", "text/xml")
            parts = path.strip("/").split("/")
            service = parts[0] if parts else ""
            rest = parts[1:]
            try:
                if service == "images":
                    return self._images(rest, params)
                return self._tap(service, rest, params, files, rec)
            except BrokenPipeError:
                return None

        def _images(self, rest, params):
            name = rest[0] if rest else ""
            if name == "ps1filenames.py":
                return self._send(200, server.files["ps1filenames"], "text/plain")
            if name == "fitscut.cgi":
                return self._send(200, server.files["fitscut"], "image/jpeg")
            return self._send(404, b"not found", "text/plain")

        def _run(self, service, params, uploads):
            responder = server.responders.get(service)
            if responder is None:
                raise QueryRejected(f"no responder for service {service}")
            return responder(params.get("QUERY", ""), uploads)

        def _tap(self, service, rest, params, files, rec):
            base = f"/{service}"
            if rest in (["availability"], ["capabilities"], ["tables"]):
                return self._send(200, b"<?xml version='1.0'?><vosi/>")
            if rest == ["sync"]:
                try:
                    uploads = _uploads(params, files)
                    rec.uploads = uploads
                    return self._send(200, self._run(service, params, uploads))
                except QueryRejected as exc:
                    return self._send(400, VOTABLE_ERROR.format(message=escape(str(exc))).encode())
            if rest == ["async"] and self.command == "POST":
                job_id = uuid.uuid4().hex[:12]
                uploads = _uploads(params, files)
                rec.uploads = uploads
                with server.lock:
                    server.jobs[job_id] = {"phase": "PENDING", "params": params, "uploads": uploads,
                                           "service": service, "result": None, "error": ""}
                if params.get("PHASE", "").upper() == "RUN":
                    self._execute(job_id)
                return self._redirect(f"{base}/async/{job_id}")
            if len(rest) >= 2 and rest[0] == "async":
                job = server.jobs.get(rest[1])
                if job is None:
                    return self._send(404, b"no such job", "text/plain")
                sub = rest[2:]
                if self.command == "DELETE" or (sub == [] and params.get("ACTION", "").upper() == "DELETE"):
                    with server.lock:
                        server.jobs.pop(rest[1], None)
                    return self._redirect(f"{base}/async")
                if sub == ["phase"] and self.command == "POST":
                    if params.get("PHASE", "").upper() == "RUN":
                        self._execute(rest[1])
                    elif params.get("PHASE", "").upper() == "ABORT":
                        job["phase"] = "ABORTED"
                    return self._redirect(f"{base}/async/{rest[1]}")
                if sub == []:
                    return self._send(200, self._job_xml(base, rest[1], job).encode())
                if sub == ["results", "result"]:
                    if job["result"] is None:
                        return self._send(404, b"no result", "text/plain")
                    return self._send(200, job["result"])
            return self._send(404, b"not found", "text/plain")

        def _execute(self, job_id):
            job = server.jobs[job_id]
            if server.hold_jobs:
                job["phase"] = "EXECUTING"
                return
            try:
                job["result"] = self._run(job["service"], job["params"], job["uploads"])
                job["phase"] = "COMPLETED"
            except QueryRejected as exc:
                job["error"] = str(exc)
                job["phase"] = "ERROR"

        def _job_xml(self, base, job_id, job):
            results = ""
            if job["phase"] == "COMPLETED":
                href = f"http://127.0.0.1:{server.port}{base}/async/{job_id}/results/result"
                results = f'<uws:result id="result" xlink:href="{href}"/>'
            error = ""
            if job["phase"] == "ERROR":
                error = ('\n  <uws:errorSummary type="fatal" hasDetail="false">'
                         f'<uws:message>{escape(job["error"])}</uws:message></uws:errorSummary>')
            query = job["params"].get("QUERY", "").replace("]]>", "")
            return UWS_JOB.format(job_id=job_id, phase=job["phase"], query=query, results=results, error=error)

        do_GET = do_POST = do_DELETE = do_HEAD = _handle

    return Handler


# --- ADQL helpers for responders: just enough parsing for the queries our clients write -------------

_NUM = r"(-?\d+(?:\.\d*)?(?:[eE]-?\d+)?)"


def adql_box(adql: str, ra_col: str = "raMean", dec_col: str = "decMean") -> tuple[float, ...] | None:
    """``(ra_lo, ra_hi, dec_lo, dec_hi)`` from ``col >= a AND col < b`` conditions, if present."""
    vals = []
    for col in (ra_col, dec_col):
        lo = re.search(rf"{col}\s*>=\s*{_NUM}", adql)
        hi = re.search(rf"{col}\s*<\s*{_NUM}", adql)
        if not (lo and hi):
            return None
        vals += [float(lo.group(1)), float(hi.group(1))]
    return tuple(vals)


def adql_circle(adql: str) -> tuple[float, float, float] | None:
    """``(ra, dec, radius)`` of the first CIRCLE with numeric arguments."""
    m = re.search(rf"CIRCLE\(\s*'ICRS'\s*,\s*{_NUM}\s*,\s*{_NUM}\s*,\s*{_NUM}\s*\)", adql, re.I)
    return tuple(float(g) for g in m.groups()) if m else None


def adql_radius(adql: str) -> float:
    """The radius (deg) of a CIRCLE around uploaded positions: ``CIRCLE('ICRS', u.ra, u.dec, r)``."""
    m = re.search(rf"CIRCLE\(\s*'ICRS'\s*,\s*\w+\.ra\s*,\s*\w+\.dec\s*,\s*{_NUM}\s*\)", adql, re.I)
    if not m:
        raise QueryRejected("cannot find CIRCLE radius around uploaded positions")
    return float(m.group(1))
