"""A fault-injecting HTTP(S) proxy of our own, on loopback, in front of a real API server.

podtriage is pointed at the proxy with an ordinary kubeconfig (:meth:`FaultProxy.kubeconfig`:
the proxy's own self-signed certificate as the CA, the identity's bearer token), so its real
client path runs unchanged: kubeconfig -> kubernetes client configuration -> urllib3 pool over
TLS -> ``collect_live``. The proxy terminates TLS with a certificate generated at start (the
``cryptography`` package when installed, else the ``openssl`` CLI) and forwards each request
over a new TLS connection to the upstream (the harness's kube-apiserver, verified against its
CA), so everything that reaches the API server is still authenticated, authorised and in the
audit log as podtriage's own identity.

Faults are rules (:class:`Fault`) matched in order against each request's path (a regular
expression, full match) and query string (searched); ``nth`` picks which of the matching
requests get the fault (1-based; None: all of them). Kinds:

=====================  ============================================================================
``status``             answer ``status`` (429, 500, 503, ...) with a Kubernetes Status body and,
                       when given, ``Retry-After``; the request never reaches the API server
``expire-continue``    410 Gone, reason Expired, as the API server answers a continue token that
                       outlived etcd compaction (use ``query="continue="`` for the 2nd page on)
``reset``              close the connection with a TCP RST before any response
``reset-mid-body``     send the headers and half the body, then RST
``delay-headers``      wait ``delay`` seconds before answering
``delay-body``         send the headers and half the body, wait ``delay`` seconds, send the rest
``trickle``            send the headers, then one byte of the body every ``delay`` seconds
``truncate-length``    Content-Length of the whole body, send half of it, close cleanly
``truncate-chunked``   chunked encoding, send half the body, close without the last chunk
``truncate-json``      200 with a consistent Content-Length but only half the JSON document
``stall``              read the request and never answer (until the proxy stops)
``watch-gone-event``   200, then one watch ``ERROR`` event whose Status has code 410 (Expired), then
                       the end of the stream: what the API server sends when a watch's
                       resourceVersion has been compacted away
=====================  ============================================================================

Watch requests (``watch=1`` or ``watch=true`` in the query) are relayed as a stream, chunk by chunk,
as the API server sends them; :meth:`FaultProxy.cut_streams` cuts every open one (optionally in the
middle of an event) with a TCP RST, the way a restarting API server or a dropped load-balancer
connection ends them.

Every request is recorded (:class:`Record`: method, path, query, the fault injected or None,
the status sent). Nothing here depends on pytest.
"""

from __future__ import annotations

import collections
import contextlib
import datetime
import http.client
import json
import re
import shutil
import socket
import ssl
import struct
import subprocess
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

KINDS = frozenset({"status", "expire-continue", "reset", "reset-mid-body", "delay-headers", "delay-body",
                   "trickle", "truncate-length", "truncate-chunked", "truncate-json", "stall",
                   "watch-gone-event"})
WATCH_QUERY = re.compile(r"(^|&)watch=(1|true)(&|$)")
HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
                        "trailers", "transfer-encoding", "upgrade", "content-length", "host"})
EXPIRED_MESSAGE = ("The provided continue parameter is too old to display a consistent list result. You can "
                   "start a new list without the continue parameter, or use the continue token in this "
                   "response to retrieve the remainder of the results. Continuing with the provided token "
                   "results in an inconsistent list - objects that were created, modified, or deleted "
                   "between the time the first chunk was returned and now may show up in the list.")


@dataclass
class Fault:
    kind: str
    path: str = ".*"  # regular expression, full match on the request path (no query)
    query: str | None = None  # regular expression searched in the raw query string
    nth: tuple[int, ...] | None = None  # which matching requests (1-based); None: every one
    status: int = 503
    retry_after: str | None = None
    delay: float = 0.0
    matched: int = field(default=0, init=False)
    injected: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; one of {sorted(KINDS)}")
        self._path = re.compile(self.path)
        self._query = re.compile(self.query) if self.query is not None else None

    def applies(self, path: str, query: str) -> bool:
        """Counts the request when it matches; True when this one gets the fault."""
        if not self._path.fullmatch(path) or (self._query is not None and not self._query.search(query)):
            return False
        self.matched += 1
        if self.nth is not None and self.matched not in self.nth:
            return False
        self.injected += 1
        return True

    @property
    def label(self) -> str:
        return f"status-{self.status}" if self.kind == "status" else self.kind


@dataclass
class Record:
    method: str
    path: str
    query: str
    fault: str | None  # Fault.label of the fault injected, None when forwarded untouched
    status: int | None  # status line sent (None: no response at all)
    started: float
    seconds: float = 0.0
    user_agent: str = ""


class FaultProxy:
    """``with FaultProxy(upstream, upstream_ca, workdir) as proxy: ...``; ``proxy.set_faults(...)``."""

    def __init__(self, upstream: str, upstream_ca: Path | None, workdir: Path, *, tls: bool = True,
                 faults: Iterable[Fault] = ()) -> None:
        parts = urlsplit(upstream)
        if parts.hostname not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError(f"the fault proxy only fronts a loopback API server, not {upstream}")
        self.upstream = parts
        self.upstream_ca = upstream_ca
        self.workdir = Path(workdir)
        self.tls = tls
        self.faults: list[Fault] = list(faults)
        self.records: list[Record] = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.cert_path = self.workdir / "faultproxy.crt"
        self.key_path = self.workdir / "faultproxy.key"
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.streams: set[_Handler] = set()  # watch streams being relayed now

    # ---- lifecycle ---------------------------------------------------------------------------

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> FaultProxy:
        self.workdir.mkdir(parents=True, exist_ok=True)
        server_ctx = None
        if self.tls:
            generate_self_signed(self.cert_path, self.key_path)
            server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            server_ctx.load_cert_chain(self.cert_path, self.key_path)
        proxy = self

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            allow_reuse_address = True

            def finish_request(self, request: Any, client_address: Any) -> None:
                # headers and body go out in separate writes: no Nagle delay between them
                request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                if server_ctx is not None:
                    request.settimeout(10)
                    try:
                        request = server_ctx.wrap_socket(request, server_side=True)
                    except (OSError, ssl.SSLError):
                        return  # the client gave up during the handshake
                    request.settimeout(None)
                super().finish_request(request, client_address)

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a client that went away mid-response is the point of this server

        class Handler(_Handler):
            owner = proxy

        self._server = Server(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="faultproxy", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def port(self) -> int:
        assert self._server is not None, "not started"
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    # ---- faults and records ------------------------------------------------------------------

    def set_faults(self, *faults: Fault) -> None:
        """Replace the fault rules and forget the records (one scenario at a time)."""
        with self.lock:
            self.faults = list(faults)
            self.records = []

    def choose(self, path: str, query: str) -> Fault | None:
        with self.lock:
            for f in self.faults:
                if f.applies(path, query):
                    return f
        return None

    def record(self, rec: Record) -> None:
        with self.lock:
            self.records.append(rec)

    def cut_streams(self, mid_event: bool = True) -> int:
        """Cut every watch stream being relayed (TCP RST), after half an event when `mid_event`.
        Returns how many were cut."""
        with self.lock:
            streams = list(self.streams)
            self.streams.clear()
        for h in streams:
            h.cut(mid_event)
        return len(streams)

    def open_streams(self) -> int:
        with self.lock:
            return len(self.streams)

    def injected(self) -> collections.Counter[str]:
        with self.lock:
            return collections.Counter(r.fault for r in self.records if r.fault)

    def requests_to(self, path_regex: str) -> list[Record]:
        rx = re.compile(path_regex)
        with self.lock:
            return [r for r in self.records if rx.fullmatch(r.path)]

    # ---- clients -----------------------------------------------------------------------------

    def kubeconfig(self, token: str, user: str, path: Path | str, namespace: str = "default") -> Path:
        """A kubeconfig for ``user`` with bearer ``token`` whose server is this proxy."""
        cluster: dict[str, Any] = {"server": self.url}
        if self.tls:
            cluster["certificate-authority"] = str(self.cert_path)
        cfg = {
            "apiVersion": "v1", "kind": "Config",
            "clusters": [{"name": "faultproxy", "cluster": cluster}],
            "users": [{"name": user, "user": {"token": token}}],
            "contexts": [{"name": f"{user}@faultproxy",
                          "context": {"cluster": "faultproxy", "user": user, "namespace": namespace}}],
            "current-context": f"{user}@faultproxy",
        }
        path = Path(path)
        path.write_text(json.dumps(cfg, indent=2) + "\n")
        path.chmod(0o600)
        return path

    def forward(self, method: str, target: str, headers: dict[str, str],
                body: bytes | None) -> tuple[int, str, list[tuple[str, str]], bytes]:
        """One request to the upstream -> (status, reason, headers, whole body)."""
        host, port = self.upstream.hostname or "127.0.0.1", self.upstream.port
        conn: http.client.HTTPConnection
        if self.upstream.scheme == "https":
            ctx = ssl.create_default_context(cafile=str(self.upstream_ca) if self.upstream_ca else None)
            conn = http.client.HTTPSConnection(host, port, context=ctx, timeout=60)
        else:
            conn = http.client.HTTPConnection(host, port, timeout=60)
        try:
            conn.request(method, target, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            return resp.status, resp.reason, resp.getheaders(), data
        finally:
            conn.close()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the API server: podtriage's pool reuses connections
    owner: FaultProxy

    def log_message(self, *args: Any) -> None:
        pass

    def _any(self) -> None:
        proxy = self.owner
        parts = urlsplit(self.path)
        started = time.monotonic()
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        fault = proxy.choose(parts.path, parts.query)
        rec = Record(self.command, parts.path, parts.query, fault.label if fault else None, None,
                     started, user_agent=self.headers.get("User-Agent", ""))
        proxy.record(rec)  # at once: a stalled request is visible while it stalls
        try:
            rec.status = self._respond(fault, body)
        except OSError:
            self.close_connection = True  # the client went away (its timeout, or Ctrl-C)
        finally:
            rec.seconds = time.monotonic() - started

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _any

    # ---- responses ------------------------------------------------------------------------

    def _respond(self, fault: Fault | None, body: bytes | None) -> int | None:
        kind = fault.kind if fault else None
        if kind == "stall":
            self.owner.stopping.wait()
            self.close_connection = True
            return None
        if kind == "reset":
            self._reset()
            return None
        if kind == "status":
            assert fault is not None
            return self._status(fault.status, "ServiceUnavailable" if fault.status == 503 else "InternalError",
                                f"fault injected: HTTP {fault.status}", retry_after=fault.retry_after)
        if kind == "expire-continue":
            return self._status(410, "Expired", EXPIRED_MESSAGE)
        if kind == "watch-gone-event":
            return self._gone_event()
        if kind == "delay-headers":
            assert fault is not None
            if self.owner.stopping.wait(fault.delay):
                return None
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        if kind is None and WATCH_QUERY.search(urlsplit(self.path).query):
            return self._relay_stream(headers, body)
        status, reason, up_headers, data = self.owner.forward(self.command, self.path, headers, body)
        self.send_response(status, reason)
        for k, v in up_headers:
            if k.lower() not in HOP_BY_HOP and k.lower() != "date":
                self.send_header(k, v)
        half = data[: len(data) // 2]
        if kind == "truncate-chunked":
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.wfile.write(f"{len(half):x}\r\n".encode() + half + b"\r\n")
            self._close_cleanly()
            return status
        if kind == "truncate-json":
            self.send_header("Content-Length", str(len(half)))
            self.end_headers()
            self.wfile.write(half)
            return status
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if kind == "reset-mid-body":
            self.wfile.write(half)
            time.sleep(0.05)  # let the client read the first half before the RST
            self._reset()
        elif kind == "truncate-length":
            self.wfile.write(half)
            self._close_cleanly()
        elif kind == "delay-body":
            assert fault is not None
            self.wfile.write(half)
            if self.owner.stopping.wait(fault.delay):
                return status
            self.wfile.write(data[len(half):])
        elif kind == "trickle":
            assert fault is not None
            for i in range(len(data)):
                self.wfile.write(data[i:i + 1])
                if self.owner.stopping.wait(fault.delay):
                    break
        else:
            self.wfile.write(data)
        return status

    def _relay_stream(self, headers: dict[str, str], body: bytes | None) -> int | None:
        """A watch: relay the upstream's chunks as they come, until either side ends or `cut`."""
        up = self.owner.upstream
        host, port = up.hostname or "127.0.0.1", up.port
        conn: http.client.HTTPConnection
        if up.scheme == "https":
            ctx = ssl.create_default_context(cafile=str(self.owner.upstream_ca) if self.owner.upstream_ca else None)
            conn = http.client.HTTPSConnection(host, port, context=ctx, timeout=1200)
        else:
            conn = http.client.HTTPConnection(host, port, timeout=1200)
        self._upstream = conn
        self._cut = False
        try:
            conn.request(self.command, self.path, body=body, headers=headers)
            resp = conn.getresponse()
            self.send_response(resp.status, resp.reason)
            for k, v in resp.getheaders():
                if k.lower() not in HOP_BY_HOP and k.lower() != "date":
                    self.send_header(k, v)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            with self.owner.lock:
                self.owner.streams.add(self)
            while not self._cut:
                chunk = resp.read1(65536)
                if not chunk:
                    break
                self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                self.wfile.flush()
            if not self._cut:
                self.wfile.write(b"0\r\n\r\n")
            self.close_connection = True
            return resp.status
        except (OSError, http.client.HTTPException):
            self.close_connection = True
            return None
        finally:
            with self.owner.lock:
                self.owner.streams.discard(self)
            with contextlib.suppress(OSError):
                conn.close()

    def cut(self, mid_event: bool) -> None:
        """End this relayed watch now: half an event when `mid_event`, then a TCP RST."""
        self._cut = True
        with contextlib.suppress(OSError):
            if mid_event:
                half = b'{"type":"MODIFIED","object":{"kind":"Pod","apiVersion":"v1","metadata":{"name":"'
                self.wfile.write(f"{len(half):x}\r\n".encode() + half + b"\r\n")
                self.wfile.flush()
        self._reset()
        with contextlib.suppress(OSError):
            sock = getattr(self._upstream, "sock", None)
            if sock is not None:
                sock.shutdown(socket.SHUT_RDWR)  # wakes the relay's blocked read of the upstream

    def _gone_event(self) -> int:
        event = {"type": "ERROR", "object": {"kind": "Status", "apiVersion": "v1", "metadata": {},
                                             "status": "Failure", "reason": "Expired", "code": 410,
                                             "message": "too old resource version: 1 (2)"}}
        data = json.dumps(event).encode() + b"\n"
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n0\r\n\r\n")
        self.close_connection = True
        return 200

    def _status(self, code: int, reason: str, message: str, retry_after: str | None = None) -> int:
        doc = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message,
               "reason": reason, "code": code}
        if retry_after is not None:
            doc["details"] = {"retryAfterSeconds": int(float(retry_after))}
        data = json.dumps(doc).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        if retry_after is not None:
            self.send_header("Retry-After", retry_after)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        return code

    def _reset(self) -> None:
        """Abort the TCP connection: SO_LINGER 0 makes close() send RST instead of FIN."""
        self.close_connection = True
        sock = self.connection
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        raw = sock.detach() if isinstance(sock, ssl.SSLSocket) else None  # no TLS close_notify first
        with contextlib.suppress(OSError):
            if raw is not None:
                socket.socket(fileno=raw).close()
            else:
                sock.close()

    def _close_cleanly(self) -> None:
        """End the connection (FIN; TLS close_notify when possible) with the body incomplete."""
        self.close_connection = True
        sock = self.connection
        with contextlib.suppress(OSError, ValueError):
            sock.settimeout(1.0)  # unwrap() waits for the peer's close_notify, which may never come
            if isinstance(sock, ssl.SSLSocket):
                sock = sock.unwrap()
        with contextlib.suppress(OSError, ValueError):
            sock.shutdown(socket.SHUT_RDWR)


# --------------------------------------------------------------------------------------------
# a throw-away certificate for 127.0.0.1


def generate_self_signed(cert: Path, key: Path) -> None:
    """A self-signed CA certificate for IP 127.0.0.1 (it is its own trust anchor in the kubeconfig)."""
    try:
        _generate_with_cryptography(cert, key)
    except ImportError:
        if shutil.which("openssl") is None:
            raise RuntimeError("the fault proxy needs the 'cryptography' package or the openssl CLI") from None
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                        "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "1",
                        "-subj", "/CN=podtriage-faultproxy", "-addext", "subjectAltName=IP:127.0.0.1",
                        "-addext", "basicConstraints=critical,CA:TRUE"],
                       check=True, capture_output=True)
    key.chmod(0o600)


def _generate_with_cryptography(cert_path: Path, key_path: Path) -> None:
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "podtriage-faultproxy")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, content_commitment=False,
                                         key_encipherment=False, data_encipherment=False, key_agreement=False,
                                         crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
