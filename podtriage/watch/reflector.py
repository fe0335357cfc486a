"""One watched stream: list once (paged), then watch from the list's resourceVersion, forever.

The state machine of client-go's reflector, with GETs only:

- LIST (paged, `limit`/`continue`) -> the store holds exactly what was listed; the List's
  resourceVersion is where the watch starts. A continue token that expired (410) restarts the LIST.
- WATCH `watch=1&allowWatchBookmarks=true&resourceVersion=RV&timeoutSeconds=N`: ADDED/MODIFIED
  put, DELETED removes, BOOKMARK moves RV on. The server ending the stream after timeoutSeconds is
  normal: watch again from the last RV.
- A stream cut mid-event (reset, truncated chunk, read timeout) -> watch again from the last RV
  (restart reason "cut").
- 410 Gone on the watch request, or an `ERROR` event whose Status has code 410 (the RV was
  compacted away) -> LIST again (reason "410").
- 429 and 5xx -> back off, Retry-After honoured (reason "429" / "error"); an unreachable server
  -> back off (reason "error"). The store keeps the last objects and the process says it is stale.
- 403 before the first LIST -> the resource is Missing ("forbidden: ..."), as `collect_live` says;
  a not-served add-on API (404) has no objects. Both are retried now and then (RBAC granted later,
  a CRD installed later).

Only `_Client.open_stream` and `_Session.fetch` touch the network: both send GET only.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

from ..collect import live as L
from ..errors import ClusterError
from .store import Store

WATCH_ACCEPT_METADATA = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1"
RECHECK_UNREADABLE = 60.0  # seconds between attempts at a forbidden or not-served resource
BACKOFF_START = 0.5
BACKOFF_CAP = 10.0
ESTABLISHED_AFTER = 1.0  # a watch open this long (or that delivered an event) resets the backoff


@dataclass(frozen=True)
class StreamSpec:
    """One LIST+WATCH: a resource in one scope (namespace or cluster), optionally field-selected."""

    name: str  # unique: "pods", "pods@ns", "pods@others", "leases@kube-system"
    res: L.Resource
    namespace: str | None = None
    field_selector: str | None = None
    quiet: bool = False  # changes alone do not call for a new diagnosis (the scheduler lease)
    best_effort: bool = False  # never Missing (the lease: collect_live reads it quietly too)
    # When the LIST is forbidden, GET these objects one by one (a namespace-scoped identity may
    # still GET its own namespaces, whose labels namespaceSelectors match), as collect_live does.
    get_names: tuple[str, ...] = ()
    # Only when this stream cannot be read: e.g. ResourceClaims per namespace when the cluster-wide
    # LIST is refused (collect_live's fallback). Set to the other stream's name.
    fallback_of: str = ""


class Health:
    """Shared between reflectors and the server: restart counters and when data was last fresh."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.restarts: dict[tuple[str, str], int] = {}
        self.failing: dict[str, str] = {}  # stream -> what is wrong now
        self.server_offset = 0.0  # the API server's clock minus ours (Date headers), seconds

    def restart(self, resource: str, reason: str) -> None:
        with self.lock:
            k = (resource, reason)
            self.restarts[k] = self.restarts.get(k, 0) + 1

    def fail(self, stream: str, why: str) -> None:
        with self.lock:
            self.failing[stream] = why

    def ok(self, stream: str) -> None:
        with self.lock:
            self.failing.pop(stream, None)

    def problems(self) -> dict[str, str]:
        with self.lock:
            return dict(self.failing)

    def clock(self, date_header: Any) -> None:
        if not date_header:
            return
        try:
            when = parsedate_to_datetime(str(date_header)).timestamp()
        except (TypeError, ValueError, IndexError):
            return
        # Date has 1 s resolution: keep the offset only when it is clearly more than that.
        off = when - time.time()
        self.server_offset = off if abs(off) > 1.5 else 0.0


class Gone(Exception):
    """The resourceVersion is too old (410): list again."""


class Cut(Exception):
    """The stream ended abnormally: watch again from the last resourceVersion."""


class Refused(Exception):
    """The server answered the watch with an error status worth a pause (429, 5xx, other)."""

    def __init__(self, status: int, message: str, retry_after: float | None) -> None:
        super().__init__(f"HTTP {status}" + (f" ({message})" if message else ""))
        self.status = status
        self.retry_after = retry_after


class Reflector:
    """Keeps one stream's objects in the store. `run` is the thread's body; `stop` ends it."""

    def __init__(self, spec: StreamSpec, session: L._Session, store: Store, health: Health,
                 stop: threading.Event, page_size: int, watch_timeout: int = 300) -> None:
        self.spec = spec
        self.session = session
        self.store = store
        self.health = health
        self.stop = stop
        self.page_size = page_size
        self.watch_timeout = watch_timeout
        self.version: str | None = None  # the group/version the server serves
        self.rv = ""
        self.synced = threading.Event()  # the first LIST is done (read, Missing or not served)
        self.listed = False  # holds a complete LIST (now or earlier)
        self.missing: str | None = None  # the Missing reason while the resource cannot be read
        self.not_served = False
        self.rng = random.Random()
        self.established = False  # the current watch delivered an event or lasted a while
        self.primary: Reflector | None = None  # the stream this one stands in for (spec.fallback_of)
        self.standing_by = False  # a fallback whose primary reads fine: no requests, no objects
        if spec.quiet:
            store.set_quiet(spec.name)

    @property
    def resource(self) -> str:
        return self.spec.res.plural

    # --- the loop ------------------------------------------------------------------------------
    def run(self) -> None:
        failures = 0
        while not self.stop.is_set():
            primary = self.primary
            if primary is not None:
                if not primary.synced.is_set():
                    self._sleep(0.05)
                    continue
                if primary.listed:  # the cluster-wide stream works: nothing to stand in for
                    self.standing_by, self.rv, self.listed, self.missing = True, "", False, None
                    self.store.drop(self.spec.name)
                    self.synced.set()
                    self._sleep(RECHECK_UNREADABLE)
                    continue
                self.standing_by = False
            if self.established:
                failures = 0  # a watch that worked for a while: its end is a first failure, not one more
                self.established = False
            try:
                if not self.rv:
                    self._list()
                    if not self.rv:  # forbidden / not served: look again later
                        self.synced.set()
                        self._sleep(RECHECK_UNREADABLE)
                        continue
                    self.synced.set()
                self._watch()
                failures = 0
            except Gone:
                self.health.restart(self.resource, "410")
                self.rv = ""
                failures += 1
                if failures > 1:  # 410 again right after a fresh LIST: do not relist in a tight loop
                    self._sleep(self._backoff(failures - 1))
            except Cut as exc:
                self.health.restart(self.resource, "cut")
                failures += 1
                self.health.fail(self.spec.name, f"watch of {self.resource} cut: {exc}")
                if failures > 1:
                    self._sleep(self._backoff(failures - 1))
            except Refused as exc:
                failures += 1
                self.health.restart(self.resource, "429" if exc.status == 429 else "error")
                self.health.fail(self.spec.name, f"watch of {self.resource}: {exc}")
                pause = self._backoff(failures)
                if exc.retry_after is not None:
                    pause = max(pause, min(exc.retry_after, L.RetryPolicy().retry_after_cap))
                self._sleep(pause)
            except (L._Unreachable, L._Failed) as exc:
                failures += 1
                self.health.restart(self.resource, "429" if "HTTP 429" in str(exc) else "error")
                self.health.fail(self.spec.name, f"{self.resource}: {exc}")
                if not self.listed and self.missing is None:
                    self.missing = str(exc)
                self.synced.set()  # what could not be read at first is Missing, as collect_live says
                self._sleep(self._backoff(failures))
            except ClusterError as exc:  # 401: credentials expired; keep trying (they may be refreshed)
                failures += 1
                self.health.restart(self.resource, "error")
                self.health.fail(self.spec.name, exc.message)
                self.synced.set()
                self._sleep(self._backoff(failures))

    def _backoff(self, n: int) -> float:
        return min(BACKOFF_CAP, BACKOFF_START * 2 ** max(n - 1, 0)) * self.rng.uniform(0.5, 1.0)

    def _sleep(self, seconds: float) -> None:
        self.stop.wait(seconds)

    # --- LIST ----------------------------------------------------------------------------------
    def _list(self) -> None:
        res = self.spec.res
        versions = (self.version,) if self.version else res.versions
        not_served: list[str] = []
        for version in versions:
            assert version is not None
            outcome = self._list_version(version)
            if outcome == "not-served":
                not_served.append(res.path(version))
                continue
            return
        # No version served
        self.not_served = True
        self.version = None
        self.store.drop(self.spec.name)
        self.health.ok(self.spec.name)
        if res.addon or self.spec.best_effort:
            self.missing = None
            self.listed = True
        else:
            self.missing = "not served by this cluster (404 for " + ", ".join(not_served) + ")"

    def _list_version(self, version: str) -> str:
        res, ns = self.spec.res, self.spec.namespace
        path = res.path(version, ns)
        accept = L.METADATA_LIST_ACCEPT if res.metadata_only else L.JSON_ACCEPT
        items: list[tuple[str, bytes, bytes]] = []  # prepared (trimmed, packed) page by page
        token: str | None = None
        restarted = False
        rv = ""
        while True:
            resp = self.session.fetch(path, [("limit", self.page_size), ("continue", token),
                                             ("fieldSelector", self.spec.field_selector)], accept)
            self.health.clock(resp.headers.get("Date") if resp.headers else None)
            if resp.status == 410 and token:
                if restarted:
                    raise L._Failed("incomplete: the list changed faster than it could be paged "
                                    "(continue token expired twice)")
                restarted, token, items = True, None, []
                continue
            if resp.status == 404:
                return "not-served"
            if resp.status == 403:
                where = f"in namespace {ns}" if ns else "at the cluster scope"
                self.listed = False
                self.missing = None if self.spec.best_effort else \
                    L._forbidden_reason(resp, "list", f"{res.plural} {where}")
                self.store.replace(self.spec.name, self._get_each(version))
                self.health.ok(self.spec.name)  # an answer: the server works
                self.rv = ""
                return "forbidden"
            if resp.status != 200 or not isinstance(resp.doc, dict):
                msg = resp.status_message()
                where = f"in namespace {ns}" if ns else "at the cluster scope"
                raise L._Failed(f"HTTP {resp.status} listing {res.plural} {where}" + (f": {msg}" if msg else ""),
                                unavailable=True)
            doc = resp.doc
            page = []
            for item in doc.get("items") or ():
                if isinstance(item, dict):
                    item["kind"] = res.kind
                    item["apiVersion"] = version
                    page.append(item)
            items += self.store.prepare(page)  # the page's full objects go with the next page
            del page
            meta = L._dict(doc.get("metadata"))
            rv = str(meta.get("resourceVersion") or rv)
            token = meta.get("continue") or None
            if not token:
                break
        self.store.replace_prepared(self.spec.name, items)
        self.version = version
        self.not_served = False
        self.listed = True
        self.missing = None
        self.rv = rv or "0"
        self.health.ok(self.spec.name)
        return "ok"

    def _get_each(self, version: str) -> list[dict]:
        """The `get_names` objects that a GET returns (the others are left out, as collect_live does)."""
        out = []
        for name in self.spec.get_names:
            try:
                resp = self.session.fetch(self.spec.res.path(version, self.spec.namespace, name))
            except L._Failed:
                continue
            if resp.status == 200 and isinstance(resp.doc, dict):
                out.append({**resp.doc, "kind": self.spec.res.kind})
        return out

    # --- WATCH ---------------------------------------------------------------------------------
    def _watch(self) -> None:
        res = self.spec.res
        assert self.version is not None
        path = res.path(self.version, self.spec.namespace)
        accept = WATCH_ACCEPT_METADATA if res.metadata_only else L.JSON_ACCEPT
        # Spread the reconnects of ~40 streams (client-go picks 5-10 min the same way).
        timeout = int(self.watch_timeout * self.rng.uniform(1.0, 2.0))
        client = self.session.client
        r = client.open_stream(path, [("watch", "1"), ("allowWatchBookmarks", "true"),
                                      ("resourceVersion", self.rv), ("timeoutSeconds", timeout),
                                      ("fieldSelector", self.spec.field_selector)],
                               accept, read_timeout=timeout + 30)
        try:
            self.health.clock(r.headers.get("Date"))
            if r.status != 200:
                body = r.read()
                msg = ""
                try:
                    doc = json.loads(body)
                    msg = str(doc.get("message", "")) if isinstance(doc, dict) else ""
                except ValueError:
                    pass
                if r.status == 410:
                    raise Gone()
                if r.status == 401:
                    raise ClusterError(f"the cluster at {client.server} rejected the credentials (401 Unauthorized)")
                if r.status == 403:
                    self.rv = ""  # RBAC changed: the next LIST says what is missing now
                    raise Refused(403, msg, RECHECK_UNREADABLE)
                raise Refused(r.status, msg, L._retry_after(r.headers))
            self.health.ok(self.spec.name)
            opened = time.monotonic()
            try:
                self._consume(r, self._apply)
            finally:
                if time.monotonic() - opened >= ESTABLISHED_AFTER:
                    self.established = True
        finally:
            r.close()

    def _consume(self, r: Any, handle: Callable[[dict], None]) -> None:
        """Read newline-delimited watch events until the server ends the stream (normal) or it breaks."""
        import urllib3

        buf = b""
        while not self.stop.is_set():
            try:
                chunk = r.read1(64 * 1024)
            except (urllib3.exceptions.HTTPError, OSError) as exc:
                raise Cut(L._describe_transport_error(getattr(exc, "reason", None) or exc)) from None
            if not chunk:
                if buf.strip():
                    raise Cut(f"the stream ended inside an event ({len(buf)} bytes)")
                return  # timeoutSeconds reached: the server closed the watch as asked
            buf += chunk
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                if not line.strip():
                    continue
                try:
                    event = json.loads(line)
                except ValueError:
                    raise Cut(f"invalid JSON in a watch event ({len(line)} bytes)") from None
                if isinstance(event, dict):
                    handle(event)

    def _apply(self, event: dict) -> None:
        kind = event.get("type")
        obj = event.get("object")
        if not isinstance(obj, dict):
            return
        meta = L._dict(obj.get("metadata"))
        if kind == "ERROR":
            code = obj.get("code")
            if code == 410:
                raise Gone()
            raise Refused(int(code) if isinstance(code, int) else 500, str(obj.get("message", "")), None)
        rv = meta.get("resourceVersion")
        if kind == "BOOKMARK":
            if rv:
                self.rv = str(rv)
            return
        self.established = True
        obj["kind"] = self.spec.res.kind
        obj["apiVersion"] = self.version
        if kind in ("ADDED", "MODIFIED"):
            self.store.put(self.spec.name, obj)
        elif kind == "DELETED":
            self.store.delete(self.spec.name, obj)
        if rv:
            self.rv = str(rv)
