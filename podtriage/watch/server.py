"""The HTTP endpoints of `podtriage watch` (stdlib ThreadingHTTPServer; GET and HEAD only).

/metrics                     Prometheus text exposition 0.0.4 (watch/metrics.py)
/api/v1/findings             the `podtriage audit -o json` document, plus "stale" and "lastSync"
/api/v1/explain/NS/POD       the `podtriage explain POD -n NS -o json` document, plus the same two
/healthz                     200 while the process runs
/readyz                      200 once the first sync and diagnosis are done, 503 before

JSON errors: {"error": "...", "status": N}; 404 for an unknown pod or path, 503 before the first
answer. Answers are computed by the diagnosis thread; a request only renders them.
"""

from __future__ import annotations

import json
import threading
import time
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

from .. import __version__
from ..errors import InputError, PodtriageError
from . import metrics
from .watcher import Diagnosis, Watcher

METRICS_TYPE = "text/plain; version=0.0.4; charset=utf-8"
JSON_TYPE = "application/json; charset=utf-8"


def parse_listen(text: str) -> tuple[str, int]:
    """`HOST:PORT`, `:PORT` (every address), `[::1]:PORT` or `PORT` -> (host, port)."""
    t = str(text).strip()
    host, sep, port = t.rpartition(":")
    if not sep:
        host, port = "", t
    host = host.strip("[]")
    try:
        n = int(port)
    except ValueError:
        raise InputError(f"--listen {text!r}: expected HOST:PORT or :PORT (e.g. :9417)") from None
    if not 0 <= n <= 65535:
        raise InputError(f"--listen {text!r}: port {n} is out of range")
    return host, n


def _rfc3339(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ") if ts else ""


class Answers:
    """What the endpoints serve, from the watcher's latest diagnosis (explain answers cached per diagnosis)."""

    def __init__(self, watcher: Watcher, per_pod: bool) -> None:
        self.watcher = watcher
        self.per_pod = per_pod
        self.lock = threading.Lock()
        self._explainer: tuple[Diagnosis, Any] | None = None
        self._explained: dict[tuple[str, str], tuple[int, dict[str, Any]]] = {}
        self._metrics_lock = threading.Lock()
        self._metrics_part: tuple[Diagnosis | None, metrics.DiagnosisPart] | None = None

    def forget(self) -> None:
        """Drop the cached Explainer and answers (the watcher freezes the heap next: see
        Watcher._collect); the next request makes them again."""
        with self.lock:
            self._explainer = None
            self._explained = {}

    def _watch_fields(self) -> dict[str, Any]:
        w = self.watcher
        return {"stale": w.stale(), "lastSync": _rfc3339(w.last_good_sync) or None}

    def findings(self) -> tuple[int, dict[str, Any]]:
        d = self.watcher.latest
        if d is None:
            return 503, {"error": "not ready: the first sync and diagnosis are not done yet", "status": 503}
        return 200, {**d.document, **self._watch_fields()}

    def explain(self, namespace: str, pod: str) -> tuple[int, dict[str, Any]]:
        d = self.watcher.latest
        if d is None:
            return 503, {"error": "not ready: the first sync and diagnosis are not done yet", "status": 503}
        with self.lock:
            if self._explainer is None or self._explainer[0] is not d:
                from ..analyze import Explainer

                self._explainer = (d, Explainer(d.snapshot, self.watcher.rules))
                self._explained = {}
            key = (namespace, pod)
            if key not in self._explained:
                self._explained[key] = self._explain(self._explainer[1], namespace, pod)
            status, doc = self._explained[key]
        return status, ({**doc, **self._watch_fields()} if status == 200 else doc)

    @staticmethod
    def _explain(explainer: Any, namespace: str, pod: str) -> tuple[int, dict[str, Any]]:
        from ..render.structured import report_document

        if "/" in pod or not pod or not namespace:
            return 404, {"error": f"no pod {namespace}/{pod}", "status": 404}
        try:
            report = explainer.explain(pod, namespace)
        except PodtriageError as exc:
            doc: dict[str, Any] = {"error": exc.message, "status": 404}
            if exc.hint:
                doc["hint"] = exc.hint
            return 404, doc
        return 200, report_document(report)

    def metrics_text(self) -> str:
        w = self.watcher
        d = w.latest
        objects: dict[str, int] = {}
        for r in w.reflectors:
            if r.spec.quiet:
                continue
            objects[r.spec.res.kind] = objects.get(r.spec.res.kind, 0) + w.store.count(r.spec.name)
        with w.health.lock:
            restarts = dict(w.health.restarts)
        with self._metrics_lock:  # not self.lock: a scrape must not wait for an explain
            kept = self._metrics_part
            if kept is None or kept[0] is not d:
                kept = self._metrics_part = (d, metrics.DiagnosisPart(d.report if d else None, self.per_pod))
        return metrics.render(d.report if d else None, made_at=d.made_at if d else time.time(),
                              per_pod=self.per_pod, part=kept[1],
                              health={"last_sync": w.last_good_sync, "stale": w.stale(), "restarts": restarts,
                                      "analyses": {"made": w.analyses_made, "reused": w.analyses_reused}},
                              durations=w.durations, objects=objects, version=__version__)


class _Handler(BaseHTTPRequestHandler):
    answers: Answers
    server_version = f"podtriage/{__version__}"
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:
        pass  # Prometheus scrapes every 15-30 s: no access log on stderr

    def _send(self, status: int, body: bytes, ctype: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, doc: Any) -> None:
        self._send(status, json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode() + b"\n", JSON_TYPE)

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        path = urlsplit(self.path).path
        a = self.answers
        try:
            if path == "/metrics":
                self._send(200, a.metrics_text().encode(), METRICS_TYPE)
            elif path == "/healthz":
                self._send(200, b"ok\n", "text/plain; charset=utf-8")
            elif path == "/readyz":
                ready = a.watcher.first_diagnosis.is_set()
                self._send(200 if ready else 503, b"ok\n" if ready else b"not ready: first sync in progress\n",
                           "text/plain; charset=utf-8")
            elif path in ("/api/v1/findings", "/api/v1/findings/"):
                self._json(*a.findings())
            elif path.startswith("/api/v1/explain/"):
                parts = [unquote(p) for p in path[len("/api/v1/explain/"):].split("/")]
                if len(parts) != 2:
                    self._json(404, {"error": "use /api/v1/explain/NAMESPACE/POD", "status": 404})
                else:
                    self._json(*a.explain(parts[0], parts[1]))
            else:
                self._json(404, {"error": f"no such endpoint {path}; see /api/v1/findings, "
                                          "/api/v1/explain/NAMESPACE/POD, /metrics, /healthz, /readyz",
                                 "status": 404})
        except (BrokenPipeError, ConnectionResetError):
            pass

    do_HEAD = do_GET

    def _not_allowed(self) -> None:
        self.send_response(405)
        self.send_header("Allow", "GET, HEAD")
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_POST = do_PUT = do_DELETE = do_PATCH = _not_allowed


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def make_server(listen: str, answers: Answers) -> Server:
    host, port = parse_listen(listen)

    class Handler(_Handler):
        pass

    Handler.answers = answers
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET

    class Bound(Server):
        address_family = family

    try:
        return Bound((host or ("::" if family == socket.AF_INET6 else "0.0.0.0"), port), Handler)
    except OSError as exc:
        raise InputError(f"cannot listen on {listen}: {exc.strerror or exc}",
                         hint="pick another address with --listen HOST:PORT") from None
