"""Live collection: read a cluster through the Kubernetes API into a Snapshot.

Only GET requests are issued (LISTs are GETs on collections). The official `kubernetes` client
provides configuration (kubeconfig, contexts, exec and OIDC plugins, in-cluster service account)
and its TLS-configured connection pool; requests are plain GETs whose JSON is decoded with
`json.loads` and converted item by item, so 150,000 pods never exist as client model objects.

What cannot be read is recorded, not fatal: 403 -> `Missing(resource, namespace, "forbidden: ...")`,
404 for an API the cluster does not serve -> `Missing(..., "not served ...")`, a server that keeps
failing -> `Missing(..., "unavailable: HTTP 503 after 4 attempts")` or `"timed out: ..."`. Only an
unreachable cluster, unusable credentials or a missing kubeconfig raise `ClusterError`; whether
what was read is enough to answer is the caller's call (`require_pods`).

A cluster in trouble is the normal case here, so nothing may hang: every GET has a connect and a
read timeout, both bounded by one deadline for the whole collection (`--timeout`); 429/5xx
answers, resets, timeouts and truncated or invalid JSON bodies are retried (GETs only, exponential
backoff with jitter, Retry-After honoured up to a cap); a LIST whose continue token expired is
restarted; once resources fail in a row, each remaining one gets a single attempt.
"""

from __future__ import annotations

import collections
import contextlib
import email.utils
import json
import math
import os
import random
import time
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, Literal, NamedTuple
from urllib.parse import quote, urlencode

from .. import __version__
from ..errors import ClusterError, InputError
from ..loaders.files import gc_paused
from ..loaders.snapshot_file import trim_object
from ..snapshot import Snapshot, SnapshotBuilder

Scope = Literal["pod", "namespace", "all"]

# The metadata-only view of a collection: the API server strips everything but metadata, so no
# Secret data ever crosses the wire.
METADATA_LIST_ACCEPT = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"
JSON_ACCEPT = "application/json"

SCHEDULER_LEASE = ("kube-system", "kube-scheduler")
DEFAULT_SCHEDULER = "default-scheduler"


@dataclass(frozen=True)
class Resource:
    kind: str
    plural: str
    versions: tuple[str, ...]  # group/version to try in order ("v1" = core); later ones are fallbacks
    namespaced: bool
    metadata_only: bool = False
    # An add-on's API (a CRD): a cluster that does not serve it has none of its objects, which is
    # normal and no gap in the evidence (diagnose/queueing.py then says the add-on is not installed).
    addon: bool = False

    def path(self, version: str, namespace: str | None = None, name: str | None = None) -> str:
        base = "/api/v1" if version == "v1" else f"/apis/{version}"
        ns = f"/namespaces/{quote(namespace, safe='')}" if namespace else ""
        tail = f"/{quote(name, safe='')}" if name else ""
        return f"{base}{ns}/{self.plural}{tail}"


NODES = Resource("Node", "nodes", ("v1",), False)
NAMESPACES = Resource("Namespace", "namespaces", ("v1",), False)
PODS = Resource("Pod", "pods", ("v1",), True)
EVENTS = Resource("Event", "events", ("v1",), True)
CLUSTER_RESOURCES = (
    Resource("PersistentVolume", "persistentvolumes", ("v1",), False),
    Resource("StorageClass", "storageclasses", ("storage.k8s.io/v1",), False),
    Resource("PriorityClass", "priorityclasses", ("scheduling.k8s.io/v1",), False),
    Resource("RuntimeClass", "runtimeclasses", ("node.k8s.io/v1", "node.k8s.io/v1beta1"), False),
    Resource("CSINode", "csinodes", ("storage.k8s.io/v1",), False),
    # NodeVolumeLimits (preventPodSchedulingIfMissing, attachments) and VolumeBinding (storage capacity)
    Resource("CSIDriver", "csidrivers", ("storage.k8s.io/v1",), False),
    Resource("VolumeAttachment", "volumeattachments", ("storage.k8s.io/v1",), False),
    # DynamicResources (DRA): what the allocator reads
    Resource("DeviceClass", "deviceclasses", ("resource.k8s.io/v1", "resource.k8s.io/v1beta2"), False),
    Resource("ResourceSlice", "resourceslices", ("resource.k8s.io/v1", "resource.k8s.io/v1beta2"), False),
    # Kueue (diagnose/queueing.py): the queues and flavors a gated pod or suspended Job waits on
    Resource("ClusterQueue", "clusterqueues", ("kueue.x-k8s.io/v1beta2", "kueue.x-k8s.io/v1beta1"), False, addon=True),
    Resource("ResourceFlavor", "resourceflavors", ("kueue.x-k8s.io/v1beta2", "kueue.x-k8s.io/v1beta1"), False,
             addon=True),
    # the NVIDIA GPU Operator's ClusterPolicy (diagnose/accelerators.py): which operands it deploys
    Resource("ClusterPolicy", "clusterpolicies", ("nvidia.com/v1",), False, addon=True),
)
NAMESPACED_RESOURCES = (
    Resource("PersistentVolumeClaim", "persistentvolumeclaims", ("v1",), True),
    Resource("ReplicaSet", "replicasets", ("apps/v1",), True),
    Resource("Deployment", "deployments", ("apps/v1",), True),
    Resource("StatefulSet", "statefulsets", ("apps/v1",), True),
    Resource("DaemonSet", "daemonsets", ("apps/v1",), True),
    Resource("Job", "jobs", ("batch/v1",), True),
    Resource("CronJob", "cronjobs", ("batch/v1", "batch/v1beta1"), True),
    Resource("PodDisruptionBudget", "poddisruptionbudgets", ("policy/v1", "policy/v1beta1"), True),
    Resource("ResourceQuota", "resourcequotas", ("v1",), True),
    Resource("LimitRange", "limitranges", ("v1",), True),
    Resource("ConfigMap", "configmaps", ("v1",), True),
    Resource("Secret", "secrets", ("v1",), True, metadata_only=True),
    Resource("CSIStorageCapacity", "csistoragecapacities", ("storage.k8s.io/v1",), True),
    Resource("ResourceClaimTemplate", "resourceclaimtemplates", ("resource.k8s.io/v1", "resource.k8s.io/v1beta2"),
             True),
    Resource("Workload", "workloads", ("kueue.x-k8s.io/v1beta2", "kueue.x-k8s.io/v1beta1"), True, addon=True),
    Resource("LocalQueue", "localqueues", ("kueue.x-k8s.io/v1beta2", "kueue.x-k8s.io/v1beta1"), True, addon=True),
    # the VPA that set a pod's requests (diagnose/autoscaling.py): its maxAllowed is the fix
    Resource("VerticalPodAutoscaler", "verticalpodautoscalers", ("autoscaling.k8s.io/v1",), True, addon=True),
    # KServe (diagnose/serving.py): `explain inferenceservice/NAME`
    Resource("InferenceService", "inferenceservices", ("serving.kserve.io/v1beta1",), True, addon=True),
    # the HorizontalPodAutoscaler that added a Deployment's Pending replicas (diagnose/autoscaling.py)
    Resource("HorizontalPodAutoscaler", "horizontalpodautoscalers", ("autoscaling/v2",), True),
    # coscheduling's PodGroup (scheduler-plugins): minMember of a gang (diagnose/gang.py)
    Resource("PodGroup", "podgroups", ("scheduling.x-k8s.io/v1alpha1",), True, addon=True),
)
# Claims are read in every namespace: a device allocated to another namespace's claim is taken.
CLUSTER_WIDE_NAMESPACED = (
    Resource("ResourceClaim", "resourceclaims", ("resource.k8s.io/v1", "resource.k8s.io/v1beta2"), True),
)
LEASES = Resource("Lease", "leases", ("coordination.k8s.io/v1",), True)


def _ignore(*_: object) -> None:
    """What `missing` does for a best-effort read: nothing."""


class LiveResult(NamedTuple):
    snapshot: Snapshot
    raw_items: list[dict] | None  # trimmed objects (keep_raw=True), for `write_snapshot`
    requests: list[tuple[str, str]]  # (verb, path?query) of every request, in order


@dataclass(frozen=True)
class Impersonation:
    """kubectl's --as, --as-group and --as-uid: act as another identity (needs `impersonate` RBAC)."""

    user: str = ""
    groups: tuple[str, ...] = ()
    uid: str = ""

    def headers(self) -> list[tuple[str, str]]:
        out = [("Impersonate-User", self.user)] if self.user else []
        out += [("Impersonate-Group", g) for g in self.groups]  # one header per group, as kubectl sends
        if self.uid:
            out.append(("Impersonate-Uid", self.uid))
        return out


@dataclass(frozen=True)
class LiveOptions:
    """How podtriage talks to the cluster beyond the kubeconfig and context (kubectl's flags)."""

    impersonate: Impersonation = Impersonation()
    # List Secrets (as metadata only). False (`--no-secrets`, the Helm chart's default): no request
    # for Secrets at all, so no RBAC on them is needed, and a referenced Secret's existence is
    # reported as not verified.
    read_secrets: bool = True
    # kubectl's -v: 6 logs every request (method, URL, status, time), 7 adds the request headers
    # (credentials masked), 8 the start of each response body. Lines go to `log` (stderr in the CLI).
    verbosity: int = 0
    log: Callable[[str], None] | None = None


SECRETS_NOT_READ = ("skipped (--no-secrets): Secret existence not verified; grant `list` on secrets (read as "
                    "metadata only) and drop --no-secrets for a verified answer")


# --------------------------------------------------------------------------------------------
# configuration


def _kubeconfig_path(kubeconfig: str | None) -> str | None:
    if kubeconfig:
        return kubeconfig
    env = os.environ.get("KUBECONFIG")
    if env:
        return env
    default = Path("~/.kube/config").expanduser()
    return str(default) if default.exists() else None


def _load_config(kubeconfig: str | None, context: str | None) -> tuple[Any, str]:
    """-> (kubernetes.client.Configuration, context name)."""
    import yaml
    from kubernetes import client as kclient
    from kubernetes import config as kconfig

    cfg = type.__call__(kclient.Configuration)  # a fresh one, not a copy of the process-wide default
    path = _kubeconfig_path(kubeconfig)
    if path is None:
        if os.environ.get("KUBERNETES_SERVICE_HOST"):
            if context:
                raise ClusterError(f"--context {context} needs a kubeconfig, and none was found",
                                   hint="pass --kubeconfig or set KUBECONFIG")
            try:
                kconfig.load_incluster_config(client_configuration=cfg)
            except kconfig.ConfigException as exc:
                raise ClusterError(f"cannot use the in-cluster service account: {exc}") from None
            return cfg, "(in-cluster)"
        raise ClusterError("no kubeconfig found (~/.kube/config does not exist and KUBECONFIG is not set)",
                           hint="pass --kubeconfig FILE, set KUBECONFIG, or analyse files with --from PATH")
    if not any(Path(p).expanduser().is_file() for p in path.split(os.pathsep) if p):
        raise ClusterError(f"kubeconfig {path} not found", hint="check --kubeconfig / KUBECONFIG")
    try:
        contexts, current = kconfig.list_kube_config_contexts(config_file=path)
        names = [c.get("name") for c in contexts or () if isinstance(c, dict)]
        if context and context not in names:
            raise ClusterError(f"context {context!r} not found in kubeconfig {path}",
                               hint="available contexts: " + (", ".join(str(n) for n in names) or "none"))
        kconfig.load_kube_config(config_file=path, context=context, client_configuration=cfg,
                                 persist_config=False)
    except kconfig.ConfigException as exc:
        raise ClusterError(f"cannot use kubeconfig {path}: {exc}",
                           hint="check the file with `kubectl config view`") from None
    except (OSError, ValueError, KeyError, TypeError, AttributeError, yaml.YAMLError) as exc:
        raise ClusterError(f"cannot use kubeconfig {path}: {type(exc).__name__}: {exc}") from None
    ctx_name = context or (current.get("name", "") if isinstance(current, dict) else "")
    return cfg, str(ctx_name)


# --------------------------------------------------------------------------------------------
# HTTP: one attempt per `_Client.get`, retried by `_Session.fetch`


DEFAULT_DEADLINE = 120.0  # seconds for one whole collection (`--timeout`)
DEFAULT_PAGE_SIZE = 500
PAGE_SIZE_ENV = "PODTRIAGE_PAGE_SIZE"  # LIST page size; small pages are how tests exercise paging
CONNECT_TIMEOUT_CAP = 10.0
# Overload (429, API priority and fairness), a failing apiserver or an aggregated API's backend,
# a load balancer in front of it: worth another GET. Everything else is an answer.
RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})
_BODY_CHUNK = 64 * 1024


@dataclass(frozen=True)
class RetryPolicy:
    """How a failed GET is repeated. Only GETs are ever sent, so every request is safe to repeat."""

    attempts: int = 4  # per request, the first one included
    backoff: float = 0.25  # the first pause; it doubles per attempt, with jitter
    backoff_cap: float = 4.0
    retry_after_cap: float = 10.0  # a server asking for a longer pause is retried after this long
    degraded_after: int = 3  # resources failing in a row: from then on one attempt each (fail fast)


class Deadline:
    """The monotonic end of a collection; every timeout and pause is bounded by what is left."""

    def __init__(self, seconds: float | None) -> None:
        self.seconds = seconds
        self._end = None if seconds is None else time.monotonic() + max(seconds, 0.0)

    def remaining(self) -> float:
        return math.inf if self._end is None else max(self._end - time.monotonic(), 0.0)

    def expired(self) -> bool:
        return self.remaining() <= 0.0

    def describe(self) -> str:
        return f"the {self.seconds:g} s deadline (--timeout)" if self.seconds is not None else "the deadline"


class _Unreachable(Exception):
    """No complete HTTP answer: refused, reset, DNS, TLS, timeout, a body cut short."""

    def __init__(self, message: str, *, timed_out: bool = False) -> None:
        super().__init__(message)
        self.timed_out = timed_out


@dataclass
class _Response:
    status: int
    body: bytes
    headers: Any
    doc: Any = None  # the decoded JSON, once `_Session.fetch` has checked it

    def json(self) -> Any:
        return self.doc if self.doc is not None else json.loads(self.body)

    def status_message(self) -> str:
        try:
            doc = json.loads(self.body)
        except ValueError:
            return ""
        return str(doc.get("message", "")) if isinstance(doc, dict) else ""


class _Client:
    """GET-only access to the API server through the kubernetes client's configured pool.

    One call is one attempt: urllib3's own retries are off (`_Session` retries, so that every
    attempt, pause and timeout is bounded by the collection's deadline). The body is read in
    pieces so that a server trickling bytes cannot hold a request past the deadline.
    """

    def __init__(self, cfg: Any, timeout: float, options: LiveOptions | None = None, *,
                 recorded: int | None = None) -> None:
        import urllib3
        from kubernetes.client import ApiClient

        self._urllib3 = urllib3
        self.cfg = cfg
        self.options = options or LiveOptions()
        self.server = str(cfg.host).rstrip("/")
        self.api_client = ApiClient(configuration=cfg)
        self.pool = self.api_client.rest_client.pool_manager
        # kubectl's --request-timeout=0: no per-request limit (the collection's deadline still holds).
        self.request_timeout = timeout if timeout > 0 else math.inf
        # insecure-skip-tls-verify: said once (a snapshot warning), not by urllib3 on every request.
        self.insecure = self.server.startswith("https:") and not getattr(cfg, "verify_ssl", True)
        self.deadline = Deadline(None)  # the collection's, set by `_Session`
        # Every request made (verb, target), for the read-only checks; a long-running process
        # (`podtriage watch`) keeps only the last `recorded` of them.
        self.requests: collections.deque[tuple[str, str]] = collections.deque(maxlen=recorded)

    def close(self) -> None:
        close = getattr(self.api_client, "close", None)
        if callable(close):
            close()

    def _auth_headers(self) -> dict[str, str]:
        out: dict[str, str] = {}
        # auth_settings() runs the refresh hook (exec plugins, OIDC, in-cluster token rotation).
        for setting in self.cfg.auth_settings().values():
            if setting.get("in") == "header" and setting.get("value"):
                out[str(setting["key"])] = str(setting["value"])
        return out

    def get(self, path: str, query: Iterable[tuple[str, Any]] = (), accept: str = JSON_ACCEPT) -> _Response:
        deadline = self.deadline
        left = deadline.remaining()
        if left <= 0:
            raise _Unreachable(f"{deadline.describe()} was reached", timed_out=True)
        read = min(self.request_timeout, left)
        timeout = self._urllib3.Timeout(connect=min(CONNECT_TIMEOUT_CAP, read),
                                        read=read if math.isfinite(read) else None)
        errors = (self._urllib3.exceptions.HTTPError, OSError)
        started = time.monotonic()
        target, r = self._send(path, query, accept, timeout, started)
        try:
            body = self._read_body(r, read, deadline)
        except errors as exc:
            r.close()
            r.release_conn()
            raise _unreachable(exc, self._urllib3) from None
        except BaseException:  # _Unreachable (deadline), KeyboardInterrupt: never reuse a half-read connection
            r.close()
            r.release_conn()
            raise
        r.release_conn()
        if self.options.verbosity >= 6:
            self._log(f"GET {self.server}{target} {r.status} {getattr(r, 'reason', '') or ''}".rstrip()
                      + f" in {_ms(started)} milliseconds")
        if self.options.verbosity >= 8:
            text = body[:_LOGGED_BODY].decode("utf-8", "replace")
            self._log(f"Response Body: {text}" + (f" [truncated {len(body) - _LOGGED_BODY} bytes]"
                                                  if len(body) > _LOGGED_BODY else ""))
        return _Response(r.status, body, r.headers)

    def open_stream(self, path: str, query: Iterable[tuple[str, Any]] = (), accept: str = JSON_ACCEPT,
                    read_timeout: float = 60.0) -> Any:
        """GET a streamed answer (a watch): the urllib3 response, body unread, for `podtriage watch`.

        Same headers, credentials, impersonation and logging as `get`; no collection deadline (a
        watch runs as long as the process), `read_timeout` bounds the wait for each next chunk.
        The caller reads it with `read1` and must `release_conn()` or `close()` it."""
        timeout = self._urllib3.Timeout(connect=CONNECT_TIMEOUT_CAP, read=read_timeout)
        started = time.monotonic()
        target, r = self._send(path, query, accept, timeout, started)
        if self.options.verbosity >= 6:
            self._log(f"GET {self.server}{target} {r.status} (stream) in {_ms(started)} milliseconds")
        return r

    def _send(self, path: str, query: Iterable[tuple[str, Any]], accept: str, timeout: Any,
              started: float) -> tuple[str, Any]:
        """One GET (no retries, no redirects, body unread): the target as sent and urllib3's response.
        Headers: Accept, User-Agent, the credentials (refreshed) and impersonation."""
        qs = urlencode([(k, v) for k, v in query if v is not None])
        target = f"{path}?{qs}" if qs else path
        self.requests.append(("GET", target))
        from urllib3._collections import HTTPHeaderDict  # repeatable headers (Impersonate-Group)

        headers = HTTPHeaderDict({"Accept": accept, "User-Agent": f"podtriage/{__version__}"})
        for key, value in self._auth_headers().items():
            headers[key] = value
        for key, value in self.options.impersonate.headers():
            headers.add(key, value)
        if self.options.verbosity >= 7:
            self._log_headers(target, headers)
        try:
            with warnings.catch_warnings():
                if self.insecure:
                    warnings.simplefilter("ignore", self._urllib3.exceptions.InsecureRequestWarning)
                r = self.pool.request("GET", self.server + target, headers=headers, timeout=timeout,
                                      retries=False, preload_content=False, redirect=False)
        except (self._urllib3.exceptions.HTTPError, OSError) as exc:
            self._log(f"GET {self.server}{target} failed in {_ms(started)} milliseconds: {exc}")
            raise _unreachable(exc, self._urllib3) from None
        return target, r

    def _log(self, line: str) -> None:
        if self.options.log is not None and self.options.verbosity >= 6:
            self.options.log(line)

    def _log_headers(self, target: str, headers: Any) -> None:
        self._log(f"GET {self.server}{target}")
        for key, value in headers.items():
            shown = "<masked>" if key.lower() in ("authorization", "cookie") else value
            self._log(f"    {key.title()}: {shown}")

    @staticmethod
    def _read_body(r: Any, read_timeout: float, deadline: Deadline) -> bytes:
        chunks: list[bytes] = []
        while True:
            left = deadline.remaining()
            if left <= 0:
                raise _Unreachable(f"{deadline.describe()} was reached while reading the response body",
                                   timed_out=True)
            _set_socket_timeout(r, min(read_timeout, left))
            chunk = r.read1(_BODY_CHUNK)  # returns after one socket read: the deadline is checked often
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)


_LOGGED_BODY = 10240  # -v=8 shows this much of each response body, as kubectl does


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def _set_socket_timeout(r: Any, seconds: float) -> None:
    """Bound the next socket read of a streamed response (urllib3 set it once, at the request)."""
    sock = getattr(getattr(r, "connection", None), "sock", None)
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.settimeout(max(seconds, 0.001) if math.isfinite(seconds) else None)


def _unreachable(exc: BaseException, urllib3: Any) -> _Unreachable:
    reason = getattr(exc, "reason", None) or exc
    timed_out = isinstance(exc, (urllib3.exceptions.TimeoutError, TimeoutError)) or \
        isinstance(reason, (urllib3.exceptions.TimeoutError, TimeoutError))
    return _Unreachable(_describe_transport_error(reason), timed_out=timed_out)


def _describe_transport_error(exc: BaseException) -> str:
    text = str(exc)
    # urllib3 wraps the useful part: "<urllib3.connection.HTTPConnection object at 0x..>: Failed to ..."
    if ">: " in text:
        text = text.split(">: ", 1)[1]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _retry_after(headers: Any) -> float | None:
    """Retry-After in seconds (delta-seconds or an HTTP date), None when absent or unreadable."""
    value = headers.get("Retry-After") if headers is not None else None
    if not value:
        return None
    value = str(value).strip()
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max((when - datetime.now(timezone.utc)).total_seconds(), 0.0)


class _Failed(Exception):
    """A resource could not be read; the message is the `Missing` reason."""

    def __init__(self, message: str, *, unavailable: bool = False) -> None:
        super().__init__(message)
        self.unavailable = unavailable  # the server failed (not a 403/404-style answer)


class _Session:
    """GETs with retries: exponential backoff with jitter, Retry-After honoured (capped), and
    every attempt, timeout and pause bounded by one deadline.

    `fetch` returns the first answer that is not worth repeating (2xx with valid JSON when JSON
    is expected, or any other status) and raises `_Failed` once retrying is exhausted or the
    deadline is reached. A 401 is fatal at once (`ClusterError`): retrying cannot fix credentials.
    """

    def __init__(self, client: _Client, deadline: Deadline, policy: RetryPolicy | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.client = client
        self.deadline = client.deadline = deadline
        self.policy = policy or RetryPolicy()
        self.sleep = sleep
        self.rng = random.Random()
        self.failing_in_a_row = 0  # resources that failed after their retries, consecutively
        self.last_date = ""  # the Date header of the server's last answer (its clock)

    def degraded(self) -> bool:
        return self.failing_in_a_row >= self.policy.degraded_after

    def _pause(self, attempt: int, retry_after: float | None) -> float:
        base = min(self.policy.backoff_cap, self.policy.backoff * 2 ** (attempt - 1))
        pause = base * self.rng.uniform(0.5, 1.0)
        if retry_after is not None:
            pause = max(pause, min(retry_after, self.policy.retry_after_cap))
        return pause

    def fetch(self, path: str, query: Iterable[tuple[str, Any]] = (), accept: str = JSON_ACCEPT, *,
              want_json: bool = True) -> _Response:
        query = list(query)
        attempts = 1 if self.degraded() else max(self.policy.attempts, 1)
        attempt = 0
        while True:
            attempt += 1
            retry_after: float | None = None
            timed_out = False
            try:
                resp = self.client.get(path, query, accept)
                self.last_date = str(resp.headers.get("Date") or "") if resp.headers else self.last_date
            except _Unreachable as exc:
                problem, timed_out = str(exc), exc.timed_out
                if timed_out and self.deadline.expired():
                    raise _Failed(f"timed out: {self.deadline.describe()} was reached "
                                  f"({_attempts(problem, attempt)})", unavailable=True) from None
            else:
                if resp.status == 401:
                    raise ClusterError(f"the cluster at {self.client.server} rejected the credentials "
                                       "(401 Unauthorized)",
                                       hint="refresh them (log in again) and retry; check with "
                                            "`kubectl auth whoami`")
                if resp.status in RETRYABLE_STATUS:
                    msg = resp.status_message()
                    problem = f"HTTP {resp.status}" + (f" ({msg})" if msg else "")
                    retry_after = _retry_after(resp.headers)
                elif want_json and 200 <= resp.status < 300:
                    try:
                        resp.doc = json.loads(resp.body)
                        return resp
                    except ValueError:  # a body cut short with a matching length, a proxy's HTML page
                        problem = f"invalid JSON in the response ({len(resp.body)} bytes; truncated?)"
                else:
                    return resp
            if attempt >= attempts:
                raise _Failed(f"{'timed out' if timed_out else 'unavailable'}: {_attempts(problem, attempt)}",
                              unavailable=True)
            pause = self._pause(attempt, retry_after)
            if pause >= self.deadline.remaining():
                raise _Failed(f"timed out: {self.deadline.describe()} left no time to retry "
                              f"({_attempts(problem, attempt)})", unavailable=True)
            self.sleep(pause)


def _attempts(problem: str, n: int) -> str:
    return f"{problem} after {n} attempt{'s' if n != 1 else ''}"


# --------------------------------------------------------------------------------------------
# collection


class _Forbidden(Exception):
    pass


class _NotServed(Exception):
    pass


class _Expired(Exception):
    pass


def _forbidden_reason(resp: _Response, verb: str, what: str) -> str:
    msg = resp.status_message()
    if " is forbidden: " in msg:
        msg = msg.split(" is forbidden: ", 1)[1]
    return f"forbidden: {msg}" if msg else f"forbidden: cannot {verb} {what}"


@dataclass
class _Collector:
    session: _Session
    builder: SnapshotBuilder
    page_size: int
    raw: list[dict] | None
    scheduler_pods: list[dict] = field(default_factory=list)

    @property
    def client(self) -> _Client:
        return self.session.client

    def _outcome(self, ok: bool) -> None:
        """Count resources failing in a row: a failing server is then asked once per resource."""
        self.session.failing_in_a_row = 0 if ok else self.session.failing_in_a_row + 1

    # --- paginated LIST ------------------------------------------------------------------------
    def list(self, res: Resource, namespace: str | None = None, *, field_selector: str | None = None,
             label_selector: str | None = None, on_item: Callable[[dict], None] | None = None,
             add: bool = True, quiet: bool = False) -> bool:
        """LIST one resource in one scope, converting each item at once. True when read completely.

        What cannot be read becomes a Missing entry (unless `quiet`: best-effort reads)."""
        scope = namespace or ""
        missing: Callable[..., None] = self.builder.mark_missing
        if quiet:
            missing = _ignore
        deadline = self.session.deadline
        if deadline.expired():
            missing(res.plural, scope, f"timed out: not read, {deadline.describe()} was reached")
            return False
        not_served: list[str] = []
        for version in res.versions:
            try:
                ok = self._list_version(res, version, namespace, field_selector, label_selector, on_item, add)
                self._outcome(True)
                return ok
            except _NotServed:
                not_served.append(res.path(version))
            except _Forbidden as exc:
                self._outcome(True)  # an answer: the server works
                missing(res.plural, scope, str(exc))
                return False
            except _Failed as exc:
                self._outcome(not exc.unavailable)
                missing(res.plural, scope, str(exc))
                return False
        self._outcome(True)
        if res.addon:
            return True  # not installed: read completely, and there are none
        missing(res.plural, scope, "not served by this cluster (404 for "
                                  + ", ".join(not_served) + ")")
        return False

    def _check(self, resp: _Response, res: Resource, namespace: str | None) -> None:
        if resp.status == 200:
            return
        where = f"in namespace {namespace}" if namespace else "at the cluster scope"
        if resp.status == 403:
            raise _Forbidden(_forbidden_reason(resp, "list", f"{res.plural} {where}"))
        if resp.status == 404:
            raise _NotServed()
        msg = resp.status_message()
        raise _Failed(f"HTTP {resp.status} listing {res.plural} {where}" + (f": {msg}" if msg else ""))

    def _list_version(self, res: Resource, version: str, namespace: str | None, field_selector: str | None,
                      label_selector: str | None, on_item: Callable[[dict], None] | None, add: bool) -> bool:
        path = res.path(version, namespace)
        accept = METADATA_LIST_ACCEPT if res.metadata_only else JSON_ACCEPT
        api_version = version
        seen: set[str] = set()
        restarted = False
        while True:
            token: str | None = None
            pages = 0
            try:
                while True:
                    try:
                        resp = self.session.fetch(path, [("limit", self.page_size), ("continue", token),
                                                         ("fieldSelector", field_selector),
                                                         ("labelSelector", label_selector)], accept)
                    except _Failed as exc:
                        if pages:  # say how far it got: the items of the earlier pages are kept
                            raise _Failed(f"{exc} (incomplete: {len(seen)} item(s) read in {pages} page(s))",
                                          unavailable=exc.unavailable) from None
                        raise
                    if resp.status == 410 and token:
                        raise _Expired()
                    self._check(resp, res, namespace)
                    doc = resp.json()
                    if not isinstance(doc, dict):
                        raise _Failed(f"{path} did not answer with a List")
                    pages += 1
                    items = doc.get("items") or ()
                    if isinstance(items, list):
                        # Each raw item is released once converted (the page's items are the
                        # largest thing in memory while it is read).
                        items = _drain(items)
                    for item in items:
                        if not isinstance(item, dict):
                            continue
                        meta = _dict(item.get("metadata"))
                        key = str(meta.get("uid") or f"{meta.get('namespace', '')}/{meta.get('name', '')}")
                        if key in seen:
                            continue  # restarted LIST: kept from the first attempt already
                        seen.add(key)
                        # typed Lists omit kind/apiVersion on items (PartialObjectMetadata for Secrets)
                        item["kind"] = res.kind
                        item["apiVersion"] = api_version
                        if on_item is not None:
                            on_item(item)
                        if add:
                            self.builder.add(item, origin=f"GET {path}")
                            if self.raw is not None:
                                self.raw.append(trim_object(item))
                    meta = _dict(doc.get("metadata"))
                    token = meta.get("continue") or None
                    if not token:
                        return True
            except _Expired:
                # The continue token outlived etcd compaction: restart the LIST once, keeping what we have.
                if restarted:
                    self.builder.mark_missing(res.plural, namespace or "",
                                              "incomplete: the list changed faster than it could be paged "
                                              "(continue token expired twice)")
                    return False
                restarted = True

    # --- single GET ------------------------------------------------------------------------------
    def get_object(self, res: Resource, namespace: str | None, name: str) -> _Response | None:
        """GET one object; None when it could not be read at all (the caller checks the status)."""
        if self.session.deadline.expired():
            return None
        try:
            resp = self.session.fetch(res.path(res.versions[0], namespace, name), [])
        except _Failed as exc:
            self._outcome(not exc.unavailable)
            return None
        self._outcome(True)
        return resp


# --------------------------------------------------------------------------------------------


def _dict(x: Any) -> dict:
    return x if isinstance(x, dict) else {}


def _drain(items: list) -> Iterable[Any]:
    """Yield the items of a list, dropping the list's reference to each as it is taken."""
    for i, item in enumerate(items):
        items[i] = None
        yield item
    items.clear()


def _rfc3339(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_time(s: Any) -> datetime | None:
    if not isinstance(s, str) or not s:
        return None
    try:
        return datetime.fromisoformat(s.replace("Z", "+00:00"))
    except ValueError:
        return None


def _pod_ready(pod: dict) -> bool:
    status = _dict(pod.get("status"))
    if status.get("phase") != "Running":
        return False
    return any(isinstance(c, dict) and c.get("type") == "Ready" and c.get("status") == "True"
               for c in status.get("conditions") or ())


def _is_scheduler_pod(pod: dict) -> bool:
    meta = _dict(pod.get("metadata"))
    labels = _dict(meta.get("labels"))
    return meta.get("namespace") == "kube-system" and labels.get("component") == "kube-scheduler"


def _detect_schedulers(col: _Collector, kube_system_pods_read: bool) -> tuple[tuple[str, ...] | None, list[str]]:
    """Best effort: is kube-scheduler (profile default-scheduler) running? -> (names or None, warnings).

    A fresh `kube-system/kube-scheduler` lease or a Ready scheduler pod -> ("default-scheduler",).
    Scheduler pods visible but none Ready, and no fresh lease -> () (none running). Otherwise unknown.
    Only the default profile can be inferred; other profiles of the same process are invisible.
    """
    if not kube_system_pods_read:
        col.list(PODS, "kube-system", label_selector="component=kube-scheduler",
                 on_item=col.scheduler_pods.append, add=False, quiet=True)
    lease: dict | None = None
    now = None
    resp = col.get_object(LEASES, SCHEDULER_LEASE[0], SCHEDULER_LEASE[1])
    if resp is not None and resp.status == 200:
        try:
            lease = _dict(resp.json())
        except ValueError:
            lease = {}
        try:
            now = parsedate_to_datetime(resp.headers.get("Date")) if resp.headers.get("Date") else None
        except (TypeError, ValueError):
            now = None
    return scheduler_verdict(col.scheduler_pods, lease, now)


def scheduler_verdict(scheduler_pods: Iterable[dict], lease: dict | None,
                      now: datetime | None) -> tuple[tuple[str, ...] | None, list[str]]:
    """The scheduler names from the kube-scheduler pods and lease read (`_detect_schedulers`; also
    `podtriage watch`, from its watched objects). `lease` None: not readable; `now`: the server's."""
    warnings: list[str] = []
    lease_fresh: bool | None = None
    if lease is not None:
        spec = _dict(lease.get("spec"))
        renew = _parse_time(spec.get("renewTime") or spec.get("acquireTime"))
        now = now or datetime.now(timezone.utc)
        duration = spec.get("leaseDurationSeconds")
        duration = duration if isinstance(duration, int) and duration > 0 else 15
        if renew is not None:
            age = (now - renew).total_seconds()
            lease_fresh = age <= max(4 * duration, 60)
            if not lease_fresh:
                warnings.append(f"lease kube-system/kube-scheduler was last renewed {int(age)}s ago "
                                f"({spec.get('holderIdentity', '?')}): kube-scheduler may not be running")
    pods = list(scheduler_pods)
    ready = any(_pod_ready(p) for p in pods)
    if lease_fresh or ready:
        return (DEFAULT_SCHEDULER,), warnings
    if pods and not ready and lease_fresh is not True:
        return (), warnings
    return None, warnings


def _pod_related_names(pod: dict) -> list[str]:
    """Names whose events explain a pod: itself, its claims, its controller."""
    meta = _dict(pod.get("metadata"))
    spec = _dict(pod.get("spec"))
    name = str(meta.get("name", ""))
    names = [name]
    for v in spec.get("volumes") or ():
        if not isinstance(v, dict):
            continue
        if isinstance(v.get("persistentVolumeClaim"), dict):
            names.append(str(v["persistentVolumeClaim"].get("claimName", "")))
        elif "ephemeral" in v:
            names.append(f"{name}-{v.get('name', '')}")
    for ref in meta.get("ownerReferences") or ():
        if isinstance(ref, dict) and ref.get("controller") is True:
            names.append(str(ref.get("name", "")))
    out: list[str] = []
    for n in names:
        if n and n not in out:
            out.append(n)
    return out


def collect_live(*, kubeconfig: str | None = None, context: str | None = None,
                 namespaces: list[str] | None = None, scope: Scope = "all", pod_name: str | None = None,
                 page_size: int | None = None, timeout: float = 30.0, keep_raw: bool = False,
                 deadline: float | None = DEFAULT_DEADLINE, retry: RetryPolicy | None = None,
                 options: LiveOptions | None = None) -> LiveResult:
    """Read the cluster into a Snapshot (plus trimmed raw items when `keep_raw`, and the request log).

    `timeout`: seconds per request (connect and each read); `deadline`: seconds for the whole
    collection, retries and pauses included (None: no deadline). What is not read by then is
    Missing with a "timed out" reason. `page_size`: items per LIST page (default
    $PODTRIAGE_PAGE_SIZE, else 500).

    `namespaces`: where namespaced kinds are read (None = all namespaces, one cluster-wide LIST
    each). Pods are always read cluster-wide too (non-terminal ones outside `namespaces`), because
    node usage, inter-pod affinity and spreading depend on every pod. `scope="pod"` with `pod_name`
    narrows events to that pod, its claims and its controller (field-selected). `options`:
    impersonation, Secrets or not, request logging (LiveOptions).
    """
    options = options or LiveOptions()
    page_size = _page_size(page_size)
    clock = Deadline(deadline)
    cfg, ctx_name = _load_config(kubeconfig, context)
    client = _Client(cfg, timeout, options)
    session = _Session(client, clock, retry)
    builder = SnapshotBuilder(source="live")
    col = _Collector(session, builder, page_size, [] if keep_raw else None)
    created = _rfc3339(datetime.now(timezone.utc))
    ns_list = list(dict.fromkeys(n for n in namespaces or () if n)) or None
    try:
        version = _server_version(session)
        # Ages are measured to the API server's clock (podtriage.judged), not this machine's.
        created = _server_clock(session) or created
        # No reference cycles among the pages' objects or the snapshot: the cyclic GC would only
        # rescan the growing heap page after page (see loaders.files.gc_paused).
        with gc_paused():
            scheduler_names, sched_warnings = _collect_all(col, ns_list, scope, pod_name, options.read_secrets)
    finally:
        client.close()
    if client.insecure:
        builder.warnings.append(f"TLS certificate verification is disabled for {client.server} "
                                "(insecure-skip-tls-verify in the kubeconfig): the API server's identity "
                                "was not verified")
    builder.warnings.extend(sched_warnings)
    snapshot = builder.build(source="live", created=created, cluster_server=client.server, context=ctx_name,
                             server_version=version, namespaces=tuple(ns_list or ()),
                             scheduler_names=scheduler_names)
    return LiveResult(snapshot, col.raw, list(client.requests))


def _page_size(page_size: int | None) -> int:
    if page_size is None:
        env = os.environ.get(PAGE_SIZE_ENV, "").strip()
        try:
            page_size = int(env) if env else DEFAULT_PAGE_SIZE
        except ValueError:
            raise InputError(f"{PAGE_SIZE_ENV}={env!r} is not a number of items") from None
    if page_size <= 0:
        raise InputError(f"the LIST page size must be positive, not {page_size}")
    return page_size


def _server_clock(session: _Session) -> str:
    """The API server's time, from the Date header of its last answer ('' when it sent none)."""
    last = session.last_date
    if not last:
        return ""
    try:
        when = email.utils.parsedate_to_datetime(last)
    except (TypeError, ValueError, IndexError):
        return ""
    return _rfc3339(when if when.tzinfo else when.replace(tzinfo=timezone.utc))


def _server_version(session: _Session) -> str:
    """GET /version: the first request, so an unreachable cluster fails here, clearly.

    No answer at all (after retries, or by the deadline) is fatal; an error status is not (an
    API server may restrict /version), and the collection goes on."""
    client = session.client
    try:
        resp = session.fetch("/version")  # a 200 that is not JSON is retried like a cut-off body
    except _Failed as exc:
        raise ClusterError(f"cannot reach the cluster at {client.server}: {exc}",
                           hint="check the network/VPN, the kubeconfig server URL and `kubectl cluster-info`; "
                                "--timeout and --request-timeout bound how long podtriage waits") from None
    if resp.status != 200:
        return ""
    doc = resp.json()
    return str(doc.get("gitVersion", "")) if isinstance(doc, dict) else ""


def require_pods(snapshot: Snapshot, namespaces: list[str] | None) -> None:
    """Raise ClusterError when the pods that matter could not be read: nothing useful can be said.

    `namespaces`: the namespaces the answer is about (None: the whole cluster). Everything else
    missing (nodes, events, PVCs, ...) leaves a partial answer that names what it lacks."""
    wanted = set(namespaces or ())
    for x in snapshot.meta.missing:
        if x.resource != "pods" or not (x.namespace in wanted if wanted else x.namespace == ""):
            continue
        if x.reason.startswith("incomplete: the list changed"):
            continue  # what was read is still the cluster's pods
        where = f"in namespace {x.namespace}" if x.namespace else "in the cluster"
        what = f"namespace {x.namespace}" if x.namespace else "the cluster"
        raise ClusterError(f"cannot read pods {where}: {x.reason}",
                           hint="podtriage needs get/list on pods and events in the namespace (and on nodes "
                                "for per-node verdicts); check with "
                                f"`kubectl auth can-i list pods{' -n ' + x.namespace if x.namespace else ' -A'}`"
                                if x.reason.startswith("forbidden") else
                                f"the API server did not answer for the pods of {what}; retry later, or give "
                                "it more time with --timeout / --request-timeout")


def _collect_all(col: _Collector, ns_list: list[str] | None, scope: Scope, pod_name: str | None,
                 read_secrets: bool = True) -> tuple[tuple[str, ...] | None, list[str]]:
    b = col.builder

    def read(res: Resource, scopes: list[str | None], **kw: Any) -> bool:
        ok = [col.list(res, ns, **kw) for ns in scopes]
        if any(ok):
            b.mark_collected(res.kind)
        return all(ok)

    ns_scopes: list[str | None] = list(ns_list) if ns_list else [None]

    read(NODES, [None])

    if not read(NAMESPACES, [None]) and ns_list:
        # A namespace-scoped user may still GET its own namespaces (labels matter for namespaceSelector).
        for ns in ns_list:
            resp = col.get_object(NAMESPACES, None, ns)
            if resp is not None and resp.status == 200:
                try:
                    b.add({**resp.json(), "kind": "Namespace"}, origin=f"GET /api/v1/namespaces/{ns}")
                except (ValueError, TypeError):
                    pass

    target: list[dict] = []

    def on_pod(pod: dict) -> None:
        if _is_scheduler_pod(pod):
            col.scheduler_pods.append(pod)
        meta = _dict(pod.get("metadata"))
        if pod_name and meta.get("name") == pod_name and (not ns_list or meta.get("namespace") in ns_list):
            target.append(pod)

    if ns_list is None:
        kube_system_read = read(PODS, [None], on_item=on_pod)
    else:
        read(PODS, list(ns_list), on_item=on_pod)
        # Pods elsewhere still occupy nodes: read the non-terminal ones (phase filter keeps it small).
        others = ",".join([f"metadata.namespace!={ns}" for ns in ns_list]
                          + ["status.phase!=Succeeded", "status.phase!=Failed"])
        others_ok = col.list(PODS, None, field_selector=others, on_item=on_pod)
        kube_system_read = others_ok or "kube-system" in ns_list

    for res in NAMESPACED_RESOURCES:
        if res.kind == "Secret" and not read_secrets:
            b.mark_missing(res.plural, "", SECRETS_NOT_READ)  # said once, not per namespace
            continue
        read(res, ns_scopes)
    for res in CLUSTER_RESOURCES:
        read(res, [None])
    for res in CLUSTER_WIDE_NAMESPACED:
        if not read(res, [None]) and ns_list:
            read(res, ns_scopes)  # no cluster-wide list: at least the namespaces asked for

    if scope == "pod" and pod_name and target:
        pod = target[0]
        pod_ns = str(pod["metadata"].get("namespace", ""))
        oks = [col.list(EVENTS, pod_ns, field_selector=f"involvedObject.name={name}")
               for name in _pod_related_names(pod)]
        if any(oks):
            b.mark_collected("Event")
    else:
        read(EVENTS, ns_scopes)

    return _detect_schedulers(col, kube_system_read)


# --------------------------------------------------------------------------------------------
# names for shell completion


WORKLOAD_RESOURCES = tuple(r for r in NAMESPACED_RESOURCES
                           if r.kind in ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob"))


def list_names(kubeconfig: str | None, context: str | None, resources: Iterable[Resource],
               namespace: str | None = None, *, deadline: float = 5.0, limit: int = 1000,
               options: LiveOptions | None = None) -> dict[str, list[str]]:
    """Names of objects, by kind, for shell completion: one metadata-only LIST per resource (first
    page only), all within a short deadline. Whatever cannot be read is left out: no error."""
    cfg, _ = _load_config(kubeconfig, context)
    client = _Client(cfg, min(deadline, 30.0), options)
    session = _Session(client, Deadline(deadline), RetryPolicy(attempts=1))
    out: dict[str, list[str]] = {}
    try:
        for res in resources:
            path = res.path(res.versions[0], namespace if res.namespaced else None)
            try:
                resp = session.fetch(path, [("limit", limit)], METADATA_LIST_ACCEPT)
            except _Failed:
                continue
            if resp.status != 200 or not isinstance(resp.doc, dict):
                continue
            names = (_dict(_dict(item).get("metadata")).get("name") for item in resp.doc.get("items") or ())
            out[res.kind] = sorted(str(n) for n in names if n)
    finally:
        client.close()
    return out


# --------------------------------------------------------------------------------------------
# kube-scheduler logs (`explain --scheduler-logs`)


def fetch_scheduler_logs(kubeconfig: str | None, context: str | None, timeout: float,
                         tail_lines: int, deadline: float | None = DEFAULT_DEADLINE,
                         options: LiveOptions | None = None) -> tuple[list[tuple[str, str]], str]:
    """The logs of the kube-system pods labelled component=kube-scheduler -> ([(pod, text)], note).

    Read-only: one LIST of those pods and one GET pods/log per container. Nothing is fatal here:
    a 403 or an unreachable API gives no logs and a note ("forbidden: ...") for the report.
    """
    cfg, _ = _load_config(kubeconfig, context)
    client = _Client(cfg, timeout, options)
    session = _Session(client, Deadline(deadline))
    notes: list[str] = []
    out: list[tuple[str, str]] = []
    base = "/api/v1/namespaces/kube-system/pods"
    try:
        try:
            resp = session.fetch(base, [("labelSelector", "component=kube-scheduler")])
        except (_Failed, ClusterError) as exc:
            return [], f"cannot read the kube-scheduler pods: {exc}"
        if resp.status == 403:
            return [], _forbidden_reason(resp, "list", "pods in kube-system")
        if resp.status != 200:
            return [], f"listing kube-scheduler pods failed: HTTP {resp.status} {resp.status_message()}".rstrip()
        try:
            items = _dict(resp.json()).get("items") or []
        except ValueError:
            items = []
        if not items:
            return [], ("no kube-scheduler pods in kube-system (label component=kube-scheduler); "
                        "pass its log with --scheduler-log FILE")
        for pod in items:
            name = str(_dict(_dict(pod).get("metadata")).get("name", ""))
            spec = _dict(_dict(pod).get("spec"))
            containers = [str(_dict(c).get("name", "")) for c in spec.get("containers") or ()]
            for container in containers or [""]:
                query: list[tuple[str, Any]] = [("tailLines", tail_lines if tail_lines > 0 else None),
                                                ("container", container or None)]
                try:
                    r = session.fetch(f"{base}/{quote(name, safe='')}/log", query, accept="text/plain",
                                      want_json=False)
                except (_Failed, ClusterError) as exc:
                    notes.append(f"log of kube-system/{name}: {exc}")
                    continue
                if r.status == 403:
                    notes.append(_forbidden_reason(r, "get", f"pods/log kube-system/{name}"))
                elif r.status != 200:
                    notes.append(f"log of kube-system/{name}: HTTP {r.status} {r.status_message()}".rstrip())
                else:
                    label = f"kube-system/{name}" + (f"[{container}]" if len(containers) > 1 else "")
                    out.append((label, r.body.decode("utf-8", "replace")))
    finally:
        client.close()
    return out, "; ".join(dict.fromkeys(notes))


__all__ = ["METADATA_LIST_ACCEPT", "Impersonation", "LiveOptions", "LiveResult", "Resource", "collect_live",
           "fetch_scheduler_logs", "list_names"]
