"""Kubelet-side Pending: the pod is bound to a node but does not run.

The scheduler's work is done; what is left is the kubelet's: pull the images, build the container
config from ConfigMaps and Secrets, attach and mount the volumes, create the sandbox (CNI, runtime
class), run the init containers one by one, and the node itself staying alive. Each step fails in
its own recognisable way, in container statuses (waiting/terminated reasons and messages), in the
kubelet's events, and in the node's cgroup memory accounting (`podtriage node-stats`). One signal
per cause, naming the object at fault; the rules in rules/ turn them into sentences and fixes.

Texts recognised here follow ../shared/reference/k8s_messages.json (kubelet.*, kubectl.status.*,
cg.*).
"""

from __future__ import annotations

import difflib
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Any

from .. import model as m
from ..findings import EvidenceItem, Signal
from ..snapshot import Snapshot
from .extra import ExtraEvidence
from .pending import event_evidence
from .waits import runs as describe_run
from .waits import waits_for
from .status import age_seconds, human_duration, kubectl_status, parse_time

IMAGE_REASONS = ("ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull", "ImageInspectError",
                 "RegistryUnavailable", "SignatureValidationFailed")
CREATE_REASONS = ("CreateContainerError", "RunContainerError", "PreCreateHookError", "PreStartHookError",
                  "PostStartHookError", "StartError", "ContainerCannotRun")
INIT_RUNNING_TOO_LONG = 600  # seconds an init container may run before we call it stuck
MiB = 1 << 20
GiB = 1 << 30
# cgroup v1 reports "unlimited" as this page-rounded LONG_MAX (cg.files_v1)
CGROUP_V1_UNLIMITED = 9223372036854771712

# Image pull failure classes, most specific first. Auth before not-found: registries answer
# "pull access denied, repository does not exist or may require authorization" to both.
_PULL_AUTH = re.compile(r"unauthorized|authentication required|403 forbidden|pull access denied|"
                        r"failed to authorize|insufficient_scope|denied: |401 unauthorized|no basic auth "
                        r"credentials|requested access to the resource is denied", re.IGNORECASE)
_PULL_NOT_FOUND = re.compile(r"not found|manifest unknown|repository does not exist|name unknown|"
                             r"code = notfound|no matching manifest", re.IGNORECASE)
_PULL_UNREACHABLE = re.compile(r"no such host|i/o timeout|connection refused|network is unreachable|"
                               r"tls handshake timeout|dial tcp|no route to host|registry is unavailable|"
                               r"x509: |connection reset by peer|context deadline exceeded", re.IGNORECASE)

_CM_MISSING = re.compile(r'configmaps? "(?P<name>[^"]+)" not found', re.IGNORECASE)
_SECRET_MISSING = re.compile(r'secrets? "(?P<name>[^"]+)" not found', re.IGNORECASE)
_KEY_MISSING = re.compile(r"couldn't find key (?P<key>\S+) in (?P<kind>ConfigMap|Secret) (?P<ns>[^/\s]+)/"
                          r"(?P<name>[^\s,;]+)")
_QUOTED = re.compile(r'"([^"]*)"')
_MULTI_ATTACH = re.compile(r'Multi-Attach error for volume "(?P<volume>[^"]+)"\s*(?P<rest>.*)', re.DOTALL)
_USED_BY = re.compile(r"already used by pod\(s\) (?P<pods>.+?)\s*$", re.DOTALL)
_MOUNT_HELPER = re.compile(r"/sbin/mount\.(?P<type>[a-z0-9]+)")
_MOUNT_TYPE = re.compile(r"(?:^|\s)-t (?P<type>[a-z0-9]+)\s")
_MOUNT_VOLUME = re.compile(r'(?:MountVolume|MapVolume|AttachVolume)\.\w+ failed for volume "(?P<volume>[^"]+)"')
_UNMOUNTED = re.compile(r"unmounted volumes=\[(?P<vols>[^\]]*)\]")
_UNATTACHED = re.compile(r"unattached volumes=\[(?P<vols>[^\]]*)\]")
_CNI_PLUGIN = re.compile(r'plugin type="(?P<plugin>[^"]+)"')
_RUNTIME_HANDLER = re.compile(r'RuntimeHandler "(?P<handler>[^"]+)" not supported|no runtime for "(?P<h2>[^"]+)" '
                              r'is configured|runtimeclass\.node\.k8s\.io "(?P<rc>[^"]+)" not found', re.IGNORECASE)
_SYSTEM_OOM_VICTIM = re.compile(r"victim process: (?P<proc>[^,]+)")
_OOMKILLING_VICTIM = re.compile(r"Killed process \d+ \((?P<proc>[^)]+)\)")
_EVICTED_CONTAINER = re.compile(r"Container (?P<c>\S+) was using (?P<using>\S+)")


# --- small helpers ------------------------------------------------------------------------------

def fmt_bytes(n: float | None) -> str:
    """Bytes in Kubernetes quantity style: 512Mi, 1.5Gi (one decimal), 800Ki."""
    if n is None:
        return "?"
    n = int(n)
    if n >= GiB:
        if n % GiB == 0:
            return f"{n // GiB}Gi"
        return f"{math.ceil(n / GiB * 10) / 10:.1f}Gi"  # rounded up: never understate a peak
    if n >= MiB:
        return f"{math.ceil(n / MiB)}Mi"
    if n >= 1024:
        return f"{math.ceil(n / 1024)}Ki"
    return str(n)


def fmt_limit(n: int) -> str:
    """A limit as an exact quantity: whole Gi when it is one, else Mi rounded up."""
    return f"{n // GiB}Gi" if n % GiB == 0 else f"{math.ceil(n / MiB)}Mi"


def suggested_limit(peak: int) -> int:
    """A memory limit for an observed peak: +25%, rounded up to a whole 64Mi."""
    step = 64 * MiB
    return int(math.ceil(peak * 1.25 / step) * step)


def _field(obj: Any, name: str, default: Any = None) -> Any:
    """Read `name` from a dict or an object (the node-stats types are dataclasses or JSON)."""
    if obj is None:
        return default
    if isinstance(obj, Mapping):
        return obj.get(name, default)
    return getattr(obj, name, default)


def _int_or_none(v: Any) -> int | None:
    if isinstance(v, bool) or v is None:
        return None
    if isinstance(v, (int, float)):
        if v >= CGROUP_V1_UNLIMITED:
            return None
        return int(v)
    if isinstance(v, str) and v.strip().isdigit():
        return _int_or_none(int(v.strip()))
    return None


def _strip_runtime(cid: str) -> str:
    """'containerd://7e1f…' -> '7e1f…'."""
    return cid.split("://", 1)[-1].strip().lower()


def _ids_match(a: str, b: str) -> bool:
    a, b = _strip_runtime(a), _strip_runtime(b)
    if not a or not b:
        return False
    return a == b or (min(len(a), len(b)) >= 12 and (a.startswith(b) or b.startswith(a)))


def _split_image(ref: str) -> tuple[str, str]:
    """'registry:5000/shop/app:1.4@sha256:…' -> ('registry:5000/shop/app', '1.4'); no tag -> 'latest'."""
    name = ref.split("@", 1)[0]
    slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > slash:
        return name[:colon], name[colon + 1:]
    return name, ("" if "@" in ref else "latest")


def normalize_repository(repo: str) -> str:
    """Docker Hub shorthands resolved: 'nginx' -> 'docker.io/library/nginx'."""
    parts = repo.split("/")
    if len(parts) == 1:
        return f"docker.io/library/{repo}"
    first = parts[0]
    if "." not in first and ":" not in first and first != "localhost":
        return f"docker.io/{repo}"
    if first == "index.docker.io":
        return "docker.io/" + "/".join(parts[1:])
    return repo


def registry_of(ref: str) -> str:
    return normalize_repository(_split_image(ref)[0]).split("/", 1)[0]


def _memory_limit(c: m.Container) -> int | None:
    v = c.limits.get("memory")
    return int(v) if v else None


def _workload_ref(pod: m.Pod, snapshot: Snapshot) -> str:
    """What to patch: 'deployment/web', 'statefulset/db', or the pod itself."""
    o = pod.owner
    if o is None:
        return f"pod/{pod.name}"
    if o.kind == "ReplicaSet":
        rs = snapshot.workload_by_key.get(("ReplicaSet", pod.namespace, o.name))
        if rs is not None and rs.owner is not None and rs.owner.kind == "Deployment":
            return f"deployment/{rs.owner.name}"
        h = pod.labels.get("pod-template-hash", "")
        if h and o.name.endswith("-" + h):
            return f"deployment/{o.name[:-len(h) - 1]}"
    if o.kind == "Job":
        job = snapshot.workload_by_key.get(("Job", pod.namespace, o.name))
        if job is not None and job.owner is not None and job.owner.kind == "CronJob":
            return f"cronjob/{job.owner.name}"
    return f"{o.kind.lower()}/{o.name}"


def _patch_command(pod: m.Pod, workload: str, section: str, container: str, patch: Mapping[str, Any]) -> str:
    """A strategic-merge patch of one container (merge key: name) in the owner's pod template."""
    body: dict[str, Any] = {section: [{"name": container, **patch}]}
    if not workload.startswith("pod/"):
        body = {"template": {"spec": body}}
    text = json.dumps({"spec": body}, separators=(",", ":"))
    kind, _, name = workload.partition("/")
    if kind in ("pod", "job"):
        # Pod (and Job template) container specs are immutable: recreate with the change.
        return f"kubectl -n {pod.namespace} get {workload} -o yaml > {name}.yaml  # edit, then: " \
               f"kubectl replace --force -f {name}.yaml"
    if kind == "cronjob":
        body = {"jobTemplate": {"spec": body}}
        text = json.dumps({"spec": body}, separators=(",", ":"))
    return f"kubectl -n {pod.namespace} patch {workload} -p '{text}'"


# --- cgroup stats (podtriage node-stats output), tolerant of dicts and objects -----------------

@dataclass(frozen=True)
class MemoryStats:
    limit: int | None = None
    usage: int | None = None
    peak: int | None = None
    failcnt: int | None = None
    oom: int | None = None
    oom_kill: int | None = None
    source: str = ""

    @property
    def high_water(self) -> int | None:
        return self.peak if self.peak is not None else self.usage


def _memory(obj: Any, source: str) -> MemoryStats | None:
    mem = _field(obj, "memory")
    if mem is None:
        return None
    return MemoryStats(limit=_int_or_none(_field(mem, "limit")), usage=_int_or_none(_field(mem, "usage")),
                       peak=_int_or_none(_field(mem, "peak")), failcnt=_int_or_none(_field(mem, "failcnt")),
                       oom=_int_or_none(_field(mem, "oom")),
                       oom_kill=_int_or_none(_field(mem, "oomKill", _field(mem, "oom_kill"))), source=source)


@dataclass(frozen=True)
class PodCgroup:
    node: str
    pod: MemoryStats | None
    containers: Mapping[str, MemoryStats]  # container name -> stats (matched by id, then name)


def pod_cgroup(extra: ExtraEvidence, pod: m.Pod) -> PodCgroup | None:
    """The pod's cgroup memory stats from `--cgroup-stats` files, matched by pod UID then container ID."""
    if not pod.uid:
        return None
    statuses = list(pod.init_container_statuses) + list(pod.container_statuses)
    for ns in extra.cgroup_stats or ():
        node = str(_field(ns, "node", "") or "")
        if node and pod.node_name and node != pod.node_name:
            continue
        for p in _field(ns, "pods", None) or ():
            if str(_field(p, "uid", "")).replace("_", "-") != pod.uid:
                continue
            where = f"cgroup stats of node {node or pod.node_name}, pod {pod.uid}"
            containers: dict[str, MemoryStats] = {}
            for c in _field(p, "containers", None) or ():
                cid = str(_field(c, "id", "") or "")
                name = _field(c, "name", None)
                match = next((st.name for st in statuses if cid and _ids_match(st.container_id, cid)), None)
                match = match or (str(name) if name else None)
                stats = _memory(c, f"{where}, container {cid[:12] or name}")
                if match and stats is not None:
                    containers[match] = stats
            return PodCgroup(node=node or pod.node_name, pod=_memory(p, where), containers=containers)
    return None


# --- the pod-level cgroup memory limit ----------------------------------------------------------

def pod_memory_limit(pod: m.Pod, override: Mapping[str, int] | None = None) -> tuple[int | None, str]:
    """The pod cgroup's memory limit the kubelet sets (cg.pod_limit_formula, cg.pod_limit_applied),
    and a sentence explaining it. None when some container has no memory limit."""
    limits = {c.name: _memory_limit(c) for c in (*pod.init_containers, *pod.containers)}
    limits.update(override or {})
    unlimited = [n for n, v in limits.items() if v is None]
    if unlimited:
        kinds = {c.name: "init container" for c in pod.init_containers}
        who = ", ".join(f"{kinds.get(n, 'container')} {n}" for n in unlimited)
        return None, (f"the pod has no pod-level memory limit because {who} has none (the kubelet sets one only "
                      "when every container has a memory limit)")
    apps = sum(limits[c.name] or 0 for c in pod.containers)
    sidecars = 0
    init_peak = 0
    for c in pod.init_containers:
        v = limits[c.name] or 0
        if c.restart_policy == "Always":
            sidecars += v
            continue
        init_peak = max(init_peak, v + sidecars)
    overhead = int(pod.overhead.get("memory", 0) or 0)
    total = max(apps + sidecars, init_peak) + overhead
    text = (f"pod memory limit = max(app containers {fmt_bytes(apps + sidecars)}, largest init container "
            f"{fmt_bytes(init_peak)})" + (f" + overhead {fmt_bytes(overhead)}" if overhead else "")
            + f" = {fmt_bytes(total)}")
    return total, text


# --- the diagnosis ------------------------------------------------------------------------------

class _Kubelet:
    def __init__(self, pod: m.Pod, snapshot: Snapshot, events: Sequence[m.Event], now: datetime,
                 extra: ExtraEvidence) -> None:
        self.pod = pod
        self.snap = snapshot
        self.events = list(events)
        self.now = now if now.tzinfo else now.replace(tzinfo=timezone.utc)
        self.extra = extra
        self.status = kubectl_status(pod)
        self.pending = pod.phase == "Pending"
        self.workload = _workload_ref(pod, snapshot)
        self.specs = {c.name: c for c in pod.containers}
        self.init_specs = {c.name: c for c in pod.init_containers}
        self.seen_config: set[tuple[str, str, str]] = set()  # (kind, name, key) already reported
        # Once a container has run, the sandbox and the volumes were set up: older FailedMount /
        # FailedCreatePodSandBox events are history, not what blocks the pod now.
        self.started = any(s.state in ("running", "terminated") or s.last_exit_code is not None
                           for s in (*pod.init_container_statuses, *pod.container_statuses))

    # shared pieces
    def base(self, **params: Any) -> dict[str, Any]:
        out: dict[str, Any] = {"pod": self.pod.key, "total_nodes": 0, "nodes_count": 0, "node_examples": "",
                               "node_example": self.pod.node_name, "node": self.pod.node_name,
                               "status": self.status, "container": "", "image": "", "reason": "", "message": "",
                               "workload": self.workload}
        out.update(params)
        return out

    def tail(self) -> tuple[str, ...]:
        return ("pod Pending",) if self.pending else ()

    def status_evidence(self, st: m.ContainerState, init: bool) -> EvidenceItem:
        field_ = "initContainerStatuses" if init else "containerStatuses"
        bits = [f"{st.state or 'unknown'}"]
        if st.reason:
            bits.append(st.reason)
        if st.exit_code is not None:
            bits.append(f"exit {st.exit_code}")
        if st.last_reason or st.last_exit_code is not None:
            bits.append(f"last: {st.last_reason or 'terminated'} exit {st.last_exit_code}")
        if st.state == "running" and st.started_at:
            bits.append(f"since {st.started_at}")
        if st.restart_count:
            bits.append(f"restarts {st.restart_count}")
        msg = f": {st.message[:300]}" if st.message else ""
        return EvidenceItem(kind="status", summary=f"{'init container' if init else 'container'} {st.name} "
                                                   f"{', '.join(bits)}{msg}",
                            source=f"Pod {self.pod.key} status.{field_}[{st.name}]",
                            data={"state": st.state, "reason": st.reason, "message": st.message,
                                  "exitCode": st.exit_code, "restartCount": st.restart_count,
                                  "lastReason": st.last_reason, "lastExitCode": st.last_exit_code,
                                  "containerID": st.container_id},
                            time=st.finished_at or st.started_at or st.last_finished_at)

    def signal(self, name: str, params: Mapping[str, Any], evidence: Iterable[EvidenceItem], subject: str,
               effects: Iterable[str], confidence: float = 0.9, blocking: bool | None = None) -> Signal:
        return Signal(name=name, params=dict(params), evidence=tuple(evidence), subject=subject,
                      effects=tuple(e for e in effects if e), confidence=confidence,
                      blocking=self.pending if blocking is None else blocking)

    def pod_events(self, *reasons: str) -> list[m.Event]:
        return [e for e in self.events if e.reason in reasons]

    def node_events(self, node: str) -> list[m.Event]:
        return [e for e in self.snap.events if e.involved is not None and e.involved.kind == "Node"
                and e.involved.name == node]

    # --- run everything ---------------------------------------------------------------------
    def signals(self) -> list[Signal]:
        out: list[Signal] = []
        out += self.node_lost()
        setup = self.sandbox() + self.mounts()
        if self.started:
            setup = [replace(s, blocking=False, confidence=round(s.confidence * 0.5, 3)) for s in setup]
        out += setup
        out += self.init_containers()
        for init, statuses in ((True, self.pod.init_container_statuses), (False, self.pod.container_statuses)):
            for st in statuses:
                out += self.container(st, init)
        out += self.config_refs()
        return out

    # --- the node -----------------------------------------------------------------------------
    def node_lost(self) -> list[Signal]:
        name = self.pod.node_name
        if not self.snap.has("Node"):
            return []
        node = self.snap.node_by_name.get(name)
        subject = f"Node/{name}"
        evs = [event_evidence(e) for e in self.node_events(name)
               if e.reason in ("NodeNotReady", "RemovingNode", "DeletingNode", "NodeHasInsufficientMemory")][-3:]
        if node is None:
            ev = EvidenceItem(kind="missing", summary=f"spec.nodeName is {name}, but no Node {name} exists",
                              source=f"Pod {self.pod.key} spec.nodeName; Node list",
                              data={"nodeName": name})
            return [self.signal("bound-node-deleted", self.base(), [ev, *evs], subject,
                                [f"node {name} was deleted", "no kubelet will start the pod", *self.tail()],
                                confidence=0.95)]
        cond = node.condition("Ready")
        if cond is None or cond.status == "True":
            return []
        ev = EvidenceItem(kind="condition", summary=f"Node {name} Ready={cond.status} {cond.reason}: {cond.message}",
                          source=f"Node {name} status.conditions[Ready]",
                          data={"status": cond.status, "reason": cond.reason, "message": cond.message},
                          time=cond.last_transition_time)
        since = age_seconds(cond.last_transition_time, self.now)
        params = self.base(condition_reason=cond.reason, condition_message=cond.message,
                           since=human_duration(since) if since is not None else "")
        if cond.status == "Unknown":
            return [self.signal("bound-node-unreachable", params, [ev, *evs], subject,
                                [f"node {name} unreachable (kubelet stopped posting status)",
                                 "the kubelet cannot start the pod", *self.tail()], confidence=0.95)]
        return [self.signal("bound-node-not-ready", params, [ev, *evs], subject,
                            [f"node {name} NotReady", "the kubelet cannot start the pod", *self.tail()],
                            confidence=0.92)]

    # --- sandbox and runtime class ------------------------------------------------------------
    def sandbox(self) -> list[Signal]:
        out: list[Signal] = []
        rc = self.pod.runtime_class_name
        handler_events = [e for e in self.pod_events("FailedCreatePodSandBox", "FailedCreatePodSandbox",
                                                     "FailedPodSandBoxStatus")
                          if _RUNTIME_HANDLER.search(e.message)]
        if rc and self.snap.has("RuntimeClass") and rc not in {r.name for r in self.snap.runtime_classes}:
            ev = EvidenceItem(kind="missing", summary=f"spec.runtimeClassName {rc}: no RuntimeClass {rc} exists",
                              source=f"Pod {self.pod.key} spec.runtimeClassName; RuntimeClass list",
                              data={"runtimeClassName": rc,
                                    "known": sorted(r.name for r in self.snap.runtime_classes)})
            known = sorted(r.name for r in self.snap.runtime_classes)
            close = difflib.get_close_matches(rc, known, n=1, cutoff=0.6)
            out.append(self.signal(
                "runtime-class-missing",
                self.base(runtime_class=rc, known_runtime_classes=", ".join(known) or "none",
                          suggestion=close[0] if close else ""),
                [ev, *(event_evidence(e) for e in handler_events[-2:])], f"RuntimeClass/{rc}",
                [f"RuntimeClass {rc} not found", "the kubelet cannot create the pod sandbox", *self.tail()],
                confidence=0.95))
        elif handler_events:
            e = handler_events[-1]
            mt = _RUNTIME_HANDLER.search(e.message)
            assert mt is not None
            if mt.group("rc"):
                rc_name = mt.group("rc")
                out.append(self.signal(
                    "runtime-class-missing", self.base(runtime_class=rc_name, known_runtime_classes="unknown",
                                                       suggestion="", message=e.message),
                    [event_evidence(e)], f"RuntimeClass/{rc_name}",
                    [f"RuntimeClass {rc_name} not found", "the kubelet cannot create the pod sandbox", *self.tail()],
                    confidence=0.9))
            else:
                handler = mt.group("handler") or mt.group("h2")
                out.append(self.signal(
                    "runtime-handler-missing", self.base(runtime_class=rc, handler=handler, message=e.message),
                    [event_evidence(e)], f"Node/{self.pod.node_name}",
                    [f"runtime handler {handler} not configured on node {self.pod.node_name}",
                     "the kubelet cannot create the pod sandbox", *self.tail()], confidence=0.9))
        if out:
            return out
        sandbox = [e for e in self.pod_events("FailedCreatePodSandBox", "FailedCreatePodSandbox")]
        if not sandbox:
            return out
        e = sandbox[-1]
        mt = _CNI_PLUGIN.search(e.message)
        plugin = mt.group("plugin") if mt else ""
        cni = bool(plugin) or any(w in e.message.lower() for w in ("cni", "network for sandbox", "setup network"))
        detail = e.message.removeprefix("Failed to create pod sandbox: ")
        count = sum(x.count for x in sandbox)
        out.append(self.signal(
            "sandbox-create-failed",
            self.base(plugin=plugin or ("the CNI plugin" if cni else ""), cni=cni, message=detail,
                      reason=e.reason, count=count),
            [event_evidence(x) for x in sandbox[-3:]],
            f"Node/{self.pod.node_name}" + (f" CNI plugin {plugin}" if plugin else ""),
            [f"{'CNI plugin ' + plugin if plugin else 'the runtime'} fails to set up the pod sandbox (x{count})",
             "ContainerCreating", *self.tail()], confidence=0.9))
        return out

    # --- volumes ------------------------------------------------------------------------------
    def _claim_subject(self, volume: str) -> str:
        for v in self.pod.volumes:
            if v.name == volume and v.claim_name:
                return f"PersistentVolumeClaim/{self.pod.namespace}/{v.claim_name}"
        pv = self.snap.pv_by_name.get(volume)
        if pv is not None and pv.claim_ref is not None:
            return f"PersistentVolumeClaim/{pv.claim_ref.namespace}/{pv.claim_ref.name}"
        return f"PersistentVolume/{volume}"

    def mounts(self) -> list[Signal]:
        evs = self.pod_events("FailedMount", "FailedAttachVolume", "FailedMapVolume")
        if not evs:
            return []
        out: list[Signal] = []
        specific = False
        done: set[tuple[str, str]] = set()
        for e in reversed(evs):  # newest first
            msg = e.message
            ma = _MULTI_ATTACH.search(msg)
            if ma:
                vol = ma.group("volume")
                if ("multi", vol) in done:
                    continue
                done.add(("multi", vol))
                specific = True
                used = _USED_BY.search(ma.group("rest"))
                users = used.group("pods").strip().rstrip(".") if used else ""
                subject = self._claim_subject(vol)
                out.append(self.signal(
                    "volume-multi-attach",
                    self.base(volume=vol, claim=subject.rsplit("/", 1)[-1], used_by=users or "a pod on another node",
                              message=msg, reason=e.reason),
                    [event_evidence(e)], subject,
                    [f"volume {vol} is attached to another node"
                     + (f" (used by {users})" if users else ""), "ContainerCreating", *self.tail()],
                    confidence=0.95))
                continue
            mh = _MOUNT_HELPER.search(msg)
            if mh or "helper program" in msg or "bad option" in msg and "mount" in msg.lower():
                vm = _MOUNT_VOLUME.search(msg)
                vol = vm.group("volume") if vm else ""
                # The kernel's text literally says "/sbin/mount.<type>": the type comes from `-t`.
                mt = _MOUNT_TYPE.search(msg)
                kind = next((v.kind for v in self.pod.volumes if v.name == vol), "")
                fs = mh.group("type") if mh else mt.group("type") if mt else kind if kind in ("nfs", "cifs") \
                    else "nfs"
                if ("helper", fs) in done:
                    continue
                done.add(("helper", fs))
                specific = True
                package = {"nfs": "nfs-common (Debian/Ubuntu) or nfs-utils (RHEL/Fedora)",
                           "cifs": "cifs-utils", "glusterfs": "glusterfs-client",
                           "ceph": "ceph-common"}.get(fs, f"the package providing /sbin/mount.{fs}")
                out.append(self.signal(
                    "volume-mount-helper-missing",
                    self.base(volume=vol, fs_type=fs, helper=f"/sbin/mount.{fs}", package=package, message=msg,
                              reason=e.reason),
                    [event_evidence(e)], f"Node/{self.pod.node_name}",
                    [f"node {self.pod.node_name} has no /sbin/mount.{fs} helper", f"volume {vol} cannot be mounted",
                     "ContainerCreating", *self.tail()], confidence=0.95))
                continue
            vm = _MOUNT_VOLUME.search(msg)
            cm = _CM_MISSING.search(msg) or _SECRET_MISSING.search(msg)
            if vm and cm and "SetUp failed" in msg:
                kind = "ConfigMap" if cm.re is _CM_MISSING else "Secret"
                specific = True
                sig = self.config_signal(kind, cm.group("name"), "", f"volume {vm.group('volume')}", "",
                                         [event_evidence(e)], message=msg)
                if sig is not None:
                    out.append(sig)
                continue
        if specific:
            return out
        timeouts = [e for e in evs if "timed out waiting for the condition" in e.message
                    or "context deadline exceeded" in e.message]
        if timeouts:
            e = timeouts[-1]
            um = _UNMOUNTED.search(e.message)
            ua = _UNATTACHED.search(e.message)
            vols = [v.strip() for v in (um.group("vols") if um else "").split(",") if v.strip()]
            unattached = [v.strip() for v in (ua.group("vols") if ua else "").split(",") if v.strip()]
            vol = vols[0] if vols else ""
            subject = self._claim_subject(vol) if vol else f"Pod/{self.pod.key} spec.volumes"
            out.append(self.signal(
                "volume-mount-timeout",
                self.base(volumes=", ".join(vols) or "?", unattached=", ".join(unattached) or "none",
                          volume=vol, message=e.message, reason=e.reason),
                [event_evidence(x) for x in timeouts[-2:]], subject,
                [f"volumes [{', '.join(vols)}] not mounted after the kubelet's wait", "ContainerCreating",
                 *self.tail()], confidence=0.8))
            return out
        e = evs[-1]
        vm = _MOUNT_VOLUME.search(e.message)
        vol = vm.group("volume") if vm else ""
        out.append(self.signal(
            "volume-mount-failed", self.base(volume=vol or "?", message=e.message, reason=e.reason),
            [event_evidence(x) for x in evs[-2:]], self._claim_subject(vol) if vol else f"Pod/{self.pod.key}",
            [f"{e.reason} for volume {vol or '?'}", "ContainerCreating", *self.tail()], confidence=0.8))
        return out

    # --- ConfigMaps and Secrets ---------------------------------------------------------------
    def _refs(self) -> list[tuple[str, m.ConfigRef]]:
        return pod_config_refs(self.pod)

    def verified(self, kind: str) -> bool:
        """True when `kind` was read in the pod's namespace, so "does not exist" is podtriage's own finding."""
        return config_kind_known(self.snap, kind, self.pod.namespace)

    def _find_ref(self, kind: str, name: str, key: str, container: str) -> tuple[str, str]:
        """(via, container) of the reference the kubelet tripped over."""
        refs = self._refs()
        for want_container in (True, False):
            for cname, r in refs:
                if r.kind != kind or r.name != name or (key and r.key != key):
                    continue
                if want_container and container and cname != container:
                    continue
                return r.via, cname
        return "", container

    def config_signal(self, kind: str, name: str, key: str, via: str, container: str,
                      evidence: list[EvidenceItem], message: str = "") -> Signal | None:
        ns = self.pod.namespace
        if (kind, name, key) in self.seen_config:
            return None
        self.seen_config.add((kind, name, key))
        if not via:
            via, container = self._find_ref(kind, name, key, container)
        where = via or "a reference"
        if container:
            where += f" of {'init container' if container in self.init_specs else 'container'} {container}"
        subject = f"{kind}/{ns}/{name}"
        # Without read access the kubelet's word is all there is: the rules say "could not verify".
        verified = self.verified(kind)
        params = self.base(kind=kind, object=f"{ns}/{name}", object_name=name, ref=via or "?", where=where,
                           container=container, message=message, verified="yes" if verified else "no",
                           kind_lower=kind.lower(), create_command=self._create_command(kind, name, key))
        confidence = 0.95 if verified else 0.8
        if key:
            meta = self.snap.config_object_keys.get((kind, ns, name))
            known = list(meta.keys) if meta is not None and meta.keys is not None and kind == "ConfigMap" else []
            close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
            params.update(key=key, available_keys=", ".join(known) if known else
                          ("unknown (Secret data is never read)" if kind == "Secret" else "unknown"),
                          suggestion=(f" (did you mean `{close[0]}`?)" if close else ""),
                          suggested_key=close[0] if close else "")
            return self.signal("config-key-missing", params, evidence, subject,
                               [f"key {key} missing in {kind} {ns}/{name}", "CreateContainerConfigError",
                                *self.tail()], confidence=confidence)
        same_kind = sorted(o.name for o in self.snap.config_objects if o.kind == kind and o.namespace == ns)
        close = difflib.get_close_matches(name, same_kind, n=1, cutoff=0.75)
        params.update(suggestion=f" (did you mean `{close[0]}`?)" if close else "",
                      suggested_name=close[0] if close else "")
        return self.signal("config-object-missing", params, evidence, subject,
                           [f"{kind} {ns}/{name} not found" + ("" if verified else " (kubelet; not verified)"),
                            "ContainerCreating" if via.startswith("volume") else "CreateContainerConfigError",
                            *self.tail()], confidence=confidence)

    def _create_command(self, kind: str, name: str, key: str) -> str:
        ns = self.pod.namespace
        k = key or "KEY"
        if kind == "ConfigMap":
            if key and (kind, ns, name) in self.snap.config_object_keys:
                return (f"kubectl -n {ns} patch configmap {name} --type merge -p "
                        f"'{json.dumps({'data': {k: 'VALUE'}})}'")
            return f"kubectl -n {ns} create configmap {name} --from-literal={k}=VALUE"
        if key and (kind, ns, name) in self.snap.config_object_keys:
            return (f"kubectl -n {ns} patch secret {name} --type merge -p "
                    f"'{json.dumps({'stringData': {k: 'VALUE'}})}'")
        return f"kubectl -n {ns} create secret generic {name} --from-literal={k}=VALUE"

    def config_from_message(self, st: m.ContainerState, evidence: list[EvidenceItem]) -> Signal | None:
        msg = st.message
        mk = _KEY_MISSING.search(msg)
        if mk:
            return self.config_signal(mk.group("kind"), mk.group("name"), mk.group("key"), "", st.name, evidence,
                                      message=msg)
        mc = _CM_MISSING.search(msg)
        if mc:
            return self.config_signal("ConfigMap", mc.group("name"), "", "", st.name, evidence, message=msg)
        ms = _SECRET_MISSING.search(msg)
        if ms:
            return self.config_signal("Secret", ms.group("name"), "", "", st.name, evidence, message=msg)
        return None

    def config_refs(self) -> list[Signal]:
        """Every non-optional reference checked against the ConfigMaps/Secrets that were read."""
        out: list[Signal] = []
        ns = self.pod.namespace
        for cname, r in self._refs():
            if r.optional or not self.verified(r.kind):
                continue
            meta = self.snap.config_object_keys.get((r.kind, ns, r.name))
            source = f"Pod {self.pod.key} spec" + (f".containers[{cname}] {r.via}" if cname else f".volumes {r.via}")
            if meta is None:
                ev = EvidenceItem(kind="missing", summary=f"{r.via} references {r.kind} {r.name}, which does not "
                                                          f"exist in namespace {ns}", source=source + f"; {r.kind} list",
                                  data={"kind": r.kind, "name": r.name, "via": r.via})
                sig = self.config_signal(r.kind, r.name, "", r.via, cname, [ev])
            elif r.key and r.kind == "ConfigMap" and meta.keys is not None and r.key not in meta.keys:
                ev = EvidenceItem(kind="missing", summary=f"{r.via} references key {r.key} of ConfigMap {r.name}; "
                                                          f"it has keys: {', '.join(meta.keys) or 'none'}",
                                  source=source + f"; ConfigMap {ns}/{r.name} data keys",
                                  data={"kind": r.kind, "name": r.name, "key": r.key, "keys": list(meta.keys)})
                sig = self.config_signal(r.kind, r.name, r.key, r.via, cname, [ev])
            else:
                continue
            if sig is not None:
                out.append(sig)
        return out

    # --- one container's status ---------------------------------------------------------------
    def container(self, st: m.ContainerState, init: bool) -> list[Signal]:
        reason = st.reason if st.state == "waiting" else ""
        if st.state == "terminated" and st.reason in ("StartError", "ContainerCannotRun"):
            reason = "RunContainerError"
        if not reason:
            return []
        spec = (self.init_specs if init else self.specs).get(st.name)
        ev = [self.status_evidence(st, init)]
        if reason in IMAGE_REASONS:
            return [self.image(st, spec, init, ev)]
        if reason == "CreateContainerConfigError":
            failed = [e for e in self.pod_events("Failed") if e.message.startswith("Error: ")]
            cfg = [e for e in failed if st.message and st.message in e.message]
            if not st.message and failed:
                # The status is silent (common for init containers): the kubelet's Failed event
                # says which object or key is missing.
                cfg = failed[-1:]
                st = replace(st, message=cfg[0].message.removeprefix("Error: "))
            sig = self.config_from_message(st, ev + [event_evidence(e) for e in cfg[-1:]])
            if sig is not None:
                return [sig]
            if _CM_MISSING.search(st.message) or _SECRET_MISSING.search(st.message) or \
                    _KEY_MISSING.search(st.message):
                return []  # already reported (same object from another container or a volume)
            return [self.create_error(st, init, ev, reason)]
        if reason in CREATE_REASONS:
            return [self.create_error(st, init, ev, reason)]
        return []

    def create_error(self, st: m.ContainerState, init: bool, ev: list[EvidenceItem], reason: str) -> Signal:
        msg = st.message or ""
        low = msg.lower()
        if "executable file not found" in low or "no such file or directory" in low and "exec" in low:
            q = re.search(r'exec: "([^"]+)"', msg) or re.search(r'exec(?:ve)?:? "?([^":]+)"?: no such file', msg)
            what = q.group(1) if q else "the command"
            hint = (f"the command `{what}` does not exist in the image: fix spec."
                    f"{'initContainers' if init else 'containers'}[{st.name}].command/args or the image's "
                    "entrypoint")
        elif "permission denied" in low:
            hint = "the entrypoint is not executable or the user may not run it: check the file mode and runAsUser"
        elif "runasnonroot" in low:
            hint = "the image runs as root but the pod requires runAsNonRoot: set securityContext.runAsUser to a " \
                   "non-zero UID or use an image with a non-root USER"
        elif "failed to reserve container name" in low or "name is reserved" in low:
            hint = "the container runtime is slow or stuck creating containers on this node: check its load " \
                   "and logs"
        elif "no command specified" in low:
            hint = "the image has no entrypoint and the container no command: set command"
        elif "mount" in low or "not a directory" in low:
            hint = "a volume mount (subPath or mountPath) conflicts with the image's filesystem"
        else:
            hint = "read the runtime's message above"
        events = [e for e in self.pod_events("Failed") if e.message.startswith("Error: ") and msg
                  and msg[:80] in e.message]
        name = "container-run-error" if reason in ("RunContainerError", "StartError", "ContainerCannotRun",
                                                   "PostStartHookError") else "container-create-error"
        kind = "initContainers" if init else "containers"
        return self.signal(
            name, self.base(container=st.name, image=st.image or self._image(st.name, init), reason=reason,
                            message=msg or "(no message)", hint=hint, init="init " if init else ""),
            ev + [event_evidence(e) for e in events[-1:]], f"Pod/{self.pod.key} spec.{kind}[{st.name}]",
            [f"{'init ' if init else ''}container {st.name} {reason}", self.status, *self.tail()],
            confidence=0.9)

    def _image(self, name: str, init: bool) -> str:
        spec = (self.init_specs if init else self.specs).get(name)
        return spec.image if spec else ""

    # --- images -------------------------------------------------------------------------------
    def image(self, st: m.ContainerState, spec: m.Container | None, init: bool,
              ev: list[EvidenceItem]) -> Signal:
        image = spec.image if spec and spec.image else st.image
        reason = st.reason
        pulls = [e for e in self.events if e.reason in ("Failed", "ErrImageNeverPull", "InspectFailed", "BackOff")
                 and image and f'"{image}"' in e.message]
        failed_texts = [e.message for e in pulls if e.reason in ("Failed", "InspectFailed", "ErrImageNeverPull")]
        text = " ".join([st.message, *failed_texts])
        repo, tag = _split_image(image)
        evidence = ev + [event_evidence(e) for e in
                         ([e for e in pulls if e.message.startswith("Failed to pull image")][-1:] +
                          [e for e in pulls if e.reason == "BackOff"][-1:])]
        kind = "initContainers" if init else "containers"
        params = self.base(container=st.name, image=image, reason=reason, message=st.message,
                           repository=repo, tag=tag, registry=registry_of(image) if image else "",
                           init="init " if init else "", detail=_pull_detail(failed_texts, st.message))
        subject = f"Pod/{self.pod.key} spec.{kind}[{st.name}].image"
        label = f"{'init ' if init else ''}container {st.name}"
        tail = [self.status, *self.tail()]
        if reason == "InvalidImageName":
            return self.signal("image-name-invalid", params, evidence, subject,
                               [f"image reference {image!r} does not parse", *tail], confidence=0.97)
        if reason == "ErrImageNeverPull":
            return self.signal("image-never-pull", params, evidence, subject,
                               [f"image {image} is not on node {self.pod.node_name} and imagePullPolicy is Never",
                                *tail], confidence=0.97)
        if _PULL_AUTH.search(text):
            secrets = self._pull_secrets()
            missing = [s for s, state in secrets if state == "missing"]
            ns = self.pod.namespace
            if missing:
                subject = f"Secret/{ns}/{missing[0]} (imagePullSecrets)"
            elif secrets:
                subject = f"Secret/{ns}/{secrets[0][0]} (imagePullSecrets)"
            else:
                subject = f"Pod/{self.pod.key} spec.imagePullSecrets"
            described = ", ".join(f"{s} ({state})" for s, state in secrets) or "none"
            params.update(pull_secrets=described, missing_secrets=", ".join(missing),
                          secret=(missing or [s for s, _ in secrets] or ["regcred"])[0],
                          service_account=self.pod.service_account_name or "default",
                          ambiguous="repository does not exist" in text.lower())
            if secrets:
                evidence.append(EvidenceItem(
                    kind="object", summary=f"spec.imagePullSecrets: {described}",
                    source=f"Pod {self.pod.key} spec.imagePullSecrets; Secret metadata in namespace {ns}",
                    data={"imagePullSecrets": [{"name": s, "state": state} for s, state in secrets]}))
            effect = (f"imagePullSecret {missing[0]} does not exist" if missing else
                      f"registry {params['registry']} refuses the credentials")
            return self.signal("image-pull-unauthorized", params, evidence, subject,
                               [effect, f"{label} cannot pull {image}", *tail], confidence=0.9)
        if _PULL_NOT_FOUND.search(text):
            suggestions = self._other_tags(repo, tag)
            params.update(suggested_image=suggestions[0][0] if suggestions else "",
                          suggestion_pods=", ".join(p for _, p in suggestions[:3]),
                          known_images=", ".join(i for i, _ in suggestions[:3]))
            if suggestions:
                params["fix_command"] = _patch_command(self.pod, self.workload, kind, st.name,
                                                       {"image": suggestions[0][0]})
            return self.signal("image-not-found", params, evidence, subject,
                               [f"{image} not found in {params['registry']}", f"{label} cannot pull its image",
                                *tail], confidence=0.95)
        if _PULL_UNREACHABLE.search(text):
            return self.signal("image-registry-unreachable", params, evidence, f"registry {params['registry']}",
                               [f"registry {params['registry']} unreachable from node {self.pod.node_name}",
                                f"{label} cannot pull {image}", *tail], confidence=0.85)
        return self.signal("image-pull-failed", params, evidence, subject,
                           [f"{label} cannot pull {image}", *tail], confidence=0.7 if text.strip() else 0.6)

    def _pull_secrets(self) -> list[tuple[str, str]]:
        out = []
        for s in self.pod.image_pull_secrets:
            if not self.verified("Secret"):
                state = "existence unknown: Secrets were not read"
            elif ("Secret", self.pod.namespace, s) in self.snap.config_object_keys:
                state = "exists"
            else:
                state = "missing"
            out.append((s, state))
        return out

    def _other_tags(self, repo: str, tag: str) -> list[tuple[str, str]]:
        """(image, pod) for images from the same repository with another tag, running pods first."""
        want = normalize_repository(repo)
        found: dict[str, tuple[int, str]] = {}
        for p in self.snap.pods:
            if p.key == self.pod.key:
                continue
            running = {s.name for s in (*p.container_statuses, *p.init_container_statuses)
                       if s.state == "running" or (s.state == "terminated" and s.exit_code == 0)}
            for c in (*p.init_containers, *p.containers):
                r, t = _split_image(c.image)
                if not c.image or normalize_repository(r) != want or t == tag:
                    continue
                rank = 0 if c.name in running else 1
                if c.image not in found or rank < found[c.image][0]:
                    found[c.image] = (rank, p.key)
        for w in self.snap.workloads:
            tp = w.template_pod
            if tp is None:
                continue
            for c in (*tp.init_containers, *tp.containers):
                r, t = _split_image(c.image)
                if c.image and normalize_repository(r) == want and t != tag and c.image not in found:
                    found[c.image] = (2, f"{w.kind}/{w.namespace}/{w.name}")
        return [(img, who) for img, (_, who) in sorted(found.items(), key=lambda kv: (kv[1][0], kv[0]))]

    # --- init containers ----------------------------------------------------------------------
    def init_containers(self) -> list[Signal]:
        out: list[Signal] = []
        statuses = {s.name: s for s in self.pod.init_container_statuses}
        cg = pod_cgroup(self.extra, self.pod) if self.extra.cgroup_stats else None
        for c in self.pod.init_containers:
            st = statuses.get(c.name)
            if st is None:
                continue
            if st.state == "terminated" and st.exit_code == 0:
                continue
            if c.restart_policy == "Always" and st.started:
                continue
            oom = st.reason == "OOMKilled" or st.last_reason == "OOMKilled"
            if _memory_limit(c) is None:
                bleed = self.bleed(c, st, cg, oom)
                if bleed is not None:
                    out.append(bleed)
                    break
            if oom:
                out.append(self.init_oom(c, st, cg))
            elif st.state == "terminated" and st.exit_code not in (None, 0) or \
                    st.state == "waiting" and st.reason == "CrashLoopBackOff" or \
                    st.state == "waiting" and st.last_exit_code not in (None, 0) and st.reason in ("", "PodInitializing"):
                out.append(self.init_failing(c, st))
            elif st.state == "running":
                sig = self.init_stuck(c, st)
                if sig is not None:
                    out.append(sig)
            break  # init containers run one at a time: the first unfinished one is where the pod waits
        return out

    def _restart_window(self, st: m.ContainerState) -> tuple[str, str]:
        """(how long it has been failing, since when): from the first BackOff event or the pod's start."""
        backoffs = [e for e in self.pod_events("BackOff") if st.name in e.message and "restarting" in e.message]
        starts = [ts for ts in [*(e.first_timestamp for e in backoffs), self.pod.start_time,
                                self.pod.creation_timestamp] if ts]
        since = min(starts, key=lambda ts: parse_time(ts) or self.now) if starts else ""
        seconds = age_seconds(since, self.now) if since else None
        return (human_duration(seconds) if seconds is not None else "?"), since

    def init_failing(self, c: m.Container, st: m.ContainerState) -> Signal:
        code = st.exit_code if st.state == "terminated" else st.last_exit_code
        reason = (st.reason if st.state == "terminated" else st.last_reason) or "Error"
        duration, since = self._restart_window(st)
        backoffs = [e for e in self.pod_events("BackOff") if st.name in e.message and "restarting" in e.message]
        meaning = _exit_meaning(code)
        waits_on, wait_ev, wait_fix = waits_for(self.snap, self.pod, c)
        params = self.base(container=c.name, image=c.image, reason=reason, message=st.message,
                           exit_code=code if code is not None else "?", exit_meaning=meaning,
                           restarts=st.restart_count, duration=duration, since=since,
                           index=[x.name for x in self.pod.init_containers].index(c.name),
                           init_count=len(self.pod.init_containers), runs=describe_run(c),
                           waits_on=f"; {waits_on}" if waits_on else "",
                           wait_fix=wait_fix or "Read why it fails, from its previous run, and fix the command, "
                                                "its configuration or the dependency it needs:")
        runs = st.restart_count + 1
        return self.signal(
            "init-container-failing", params,
            [self.status_evidence(st, True), *(event_evidence(e) for e in backoffs[-1:]), *wait_ev],
            f"Pod/{self.pod.key} spec.initContainers[{c.name}]",
            [f"init container {c.name} exits {code} ({reason}) x{runs}", self.status,
             "app containers never start", *self.tail()], confidence=0.9)

    def init_stuck(self, c: m.Container, st: m.ContainerState) -> Signal | None:
        running = age_seconds(st.started_at, self.now)
        if running is None or running < INIT_RUNNING_TOO_LONG:
            return None
        ads = self.pod.active_deadline_seconds
        if ads:
            started = age_seconds(self.pod.start_time or self.pod.creation_timestamp, self.now) or running
            left = ads - started
            deadline = (f"activeDeadlineSeconds={ads} will fail the whole pod (phase Failed, reason "
                        f"DeadlineExceeded) " + (f"in {human_duration(left)}" if left > 0 else "any moment now")
                        + "; it does not restart the init container")
        else:
            deadline = ("nothing will stop it: the pod sets no activeDeadlineSeconds, and probes do not apply to "
                        "init containers, so an init container that never exits blocks the pod forever")
        waits_on, wait_ev, wait_fix = waits_for(self.snap, self.pod, c)
        params = self.base(container=c.name, image=c.image, reason="Running", running_for=human_duration(running),
                           started=st.started_at, deadline=deadline,
                           index=[x.name for x in self.pod.init_containers].index(c.name),
                           init_count=len(self.pod.init_containers), runs=describe_run(c),
                           waits_on=waits_on or "it is probably waiting on a dependency",
                           wait_fix=wait_fix or "See what it waits for (a database, a Service, a lock, a download) "
                                                "and make that available, or give the wait a timeout inside the "
                                                "init container:")
        return self.signal(
            "init-container-stuck", params, [self.status_evidence(st, True), *wait_ev],
            f"Pod/{self.pod.key} spec.initContainers[{c.name}]",
            [f"init container {c.name} running for {human_duration(running)} (waiting on a dependency?)",
             self.status, *self.tail()], confidence=0.65)

    def _init_stats(self, c: m.Container, cg: PodCgroup | None) -> tuple[MemoryStats | None, str]:
        """The init container's cgroup stats; else the pod cgroup's while no app container has run (the
        runtime removes a dead container's cgroup, the pod cgroup keeps the peak and the OOM-kill count)."""
        if cg is None:
            return None, ""
        stats = cg.containers.get(c.name)
        if stats is not None:
            return stats, f"init container {c.name} cgroup"
        app_ran = any(s.state in ("running", "terminated") or s.last_exit_code is not None
                      for s in self.pod.container_statuses)
        if cg.pod is not None and not app_ran:
            return cg.pod, f"pod cgroup (only init container {c.name} has run in it)"
        return None, ""

    def init_oom(self, c: m.Container, st: m.ContainerState, cg: PodCgroup | None) -> Signal:
        limit = _memory_limit(c)
        code = st.exit_code if st.state == "terminated" and st.reason == "OOMKilled" else st.last_exit_code
        code = code if code is not None else 137
        duration, since = self._restart_window(st)
        runs = st.restart_count + 1  # the first run plus every restart, all killed
        evidence = [self.status_evidence(st, True)]
        backoffs = [e for e in self.pod_events("BackOff") if c.name in e.message]
        evidence += [event_evidence(e) for e in backoffs[-1:]]
        stats, where = self._init_stats(c, cg)
        peak = stats.high_water if stats else None
        if stats is not None:
            evidence.append(EvidenceItem(
                kind="cgroup", summary=f"{where}: limit {fmt_bytes(stats.limit)}, peak "
                                       f"{fmt_bytes(peak)}, failcnt {stats.failcnt}, oom_kill {stats.oom_kill}",
                source=stats.source, data={"limit": stats.limit, "peak": stats.peak, "usage": stats.usage,
                                           "failcnt": stats.failcnt, "oom": stats.oom, "oomKill": stats.oom_kill}))
        basis = max(x for x in (peak, limit, stats.limit if stats else None) if x) if (peak or limit) else 0
        if peak:
            new = suggested_limit(basis)
            sizing = f"observed peak {fmt_bytes(peak)} + 25%"
        elif limit:
            new = int(math.ceil(limit * 2 / (64 * MiB)) * 64 * MiB)
            sizing = (f"twice the current {fmt_bytes(limit)}: no cgroup stats, so the real peak is unknown; measure "
                      f"it with `podtriage node-stats` on {self.pod.node_name}")
        else:  # pragma: no cover - only called with a limit
            new, sizing = 512 * MiB, "a first guess"
        pod_limit_now, formula_now = pod_memory_limit(self.pod)
        _, formula_new = pod_memory_limit(self.pod, {c.name: new})
        params = self.base(container=c.name, image=c.image, reason="OOMKilled", message=st.message,
                           limit=fmt_bytes(limit), exit_code=code, restarts=st.restart_count, runs=runs,
                           duration=duration, since=since, peak=fmt_bytes(peak) if peak else "unknown",
                           suggested=fmt_limit(new), sizing=sizing, pod_limit=fmt_bytes(pod_limit_now),
                           pod_limit_formula=formula_now, pod_limit_after=formula_new,
                           fix_command=_patch_command(self.pod, self.workload, "initContainers", c.name,
                                                      {"resources": {"limits": {"memory": fmt_limit(new)}}}))
        return self.signal(
            "init-container-oom", params, evidence, f"Pod/{self.pod.key} spec.initContainers[{c.name}]",
            [f"OOM kill in the cgroup of init container {c.name} (limit {fmt_bytes(limit)})",
             f"init container {c.name} OOMKilled (exit {code}) x{runs}", self.status, "app containers never start",
             *self.tail()], confidence=0.95)

    def bleed(self, c: m.Container, st: m.ContainerState, cg: PodCgroup | None, oom: bool) -> Signal | None:
        """An init container with no memory limit: no pod-level limit, its peak lands on the node."""
        node_name = self.pod.node_name
        node = self.snap.node_by_name.get(node_name)
        evidence: list[EvidenceItem] = [self.status_evidence(st, True)]
        pressure = node.condition("MemoryPressure") if node else None
        under_pressure = pressure is not None and pressure.status == "True"
        if pressure is not None and (under_pressure or pressure.reason == "KubeletHasInsufficientMemory"):
            evidence.append(EvidenceItem(kind="condition", summary=f"Node {node_name} MemoryPressure="
                                                                   f"{pressure.status} {pressure.reason}",
                                         source=f"Node {node_name} status.conditions[MemoryPressure]",
                                         data={"status": pressure.status, "reason": pressure.reason,
                                               "message": pressure.message}, time=pressure.last_transition_time))
        node_evs = [e for e in self.node_events(node_name)
                    if e.reason in ("SystemOOM", "OOMKilling", "EvictionThresholdMet", "NodeHasInsufficientMemory")]
        victims: list[str] = []
        for e in node_evs:
            mv = _SYSTEM_OOM_VICTIM.search(e.message) or _OOMKILLING_VICTIM.search(e.message)
            if mv and f"process {mv.group('proc').strip()}" not in victims:
                victims.append(f"process {mv.group('proc').strip()}")
        evidence += [event_evidence(e) for e in node_evs[-3:]]
        neighbours: list[str] = []
        for p in self.snap.pods:
            if p.key == self.pod.key or p.node_name != node_name:
                continue
            evicted = p.reason == "Evicted" and "memory" in p.message
            killed = [s.name for s in p.container_statuses
                      if "OOMKilled" in (s.reason, s.last_reason)]
            evs = [e for e in self.snap.events_for("Pod", p.namespace, p.name, p.uid)
                   if e.reason in ("Evicted", "OOMKilling") or e.reason == "Killing" and "memory" in e.message]
            if evicted or killed or evs:
                neighbours.append(f"{p.key} ({'evicted' if evicted or any(e.reason == 'Evicted' for e in evs) else 'OOMKilled'})")
                if evicted:
                    evidence.append(EvidenceItem(kind="status", summary=f"Pod {p.key} Failed/Evicted: {p.message[:300]}",
                                                 source=f"Pod {p.key} status.reason", data={"message": p.message}))
                evidence += [event_evidence(e) for e in evs[-1:]]
        stats, _ = self._init_stats(c, cg)
        peak = stats.high_water if stats else None
        pod_stats = cg.pod if cg else None
        if stats is not None or pod_stats is not None:
            s = stats or pod_stats
            assert s is not None
            evidence.append(EvidenceItem(
                kind="cgroup", summary=f"init container {c.name} cgroup: no limit, peak {fmt_bytes(peak)}; pod "
                                       f"cgroup limit {fmt_bytes(pod_stats.limit) if pod_stats and pod_stats.limit else 'none'}",
                source=s.source, data={"peak": peak, "podLimit": pod_stats.limit if pod_stats else None}))
        harm = under_pressure or bool(node_evs) or bool(neighbours)
        has_run = st.state in ("running", "terminated") or st.last_exit_code is not None or peak is not None
        if not has_run or (not harm and not oom):
            return None  # it has not used any memory yet: the node's trouble comes from elsewhere
        _, formula = pod_memory_limit(self.pod)
        if peak:
            new = suggested_limit(peak)
            sizing = f"observed peak {fmt_bytes(peak)} + 25%"
        else:
            new = 0
            sizing = (f"no cgroup stats for it: measure its peak with `podtriage node-stats` on {node_name} "
                      "(or in a test run) and add 25%")
        suggested = fmt_limit(new) if new else "its measured peak + 25%"
        who = ", ".join(neighbours[:5] + victims[:3]) or "none seen yet"
        params = self.base(container=c.name, image=c.image, reason=st.reason or st.last_reason or st.state,
                           peak=fmt_bytes(peak) if peak else "unknown", suggested=suggested, sizing=sizing,
                           pod_limit_formula=formula, neighbours=who,
                           memory_pressure="MemoryPressure=True" if under_pressure else "no MemoryPressure now",
                           oom_events=len(node_evs), restarts=st.restart_count,
                           fix_command=_patch_command(self.pod, self.workload, "initContainers", c.name,
                                                      {"resources": {"limits": {"memory": fmt_limit(new)}}})
                           if new else f"kubectl -n {self.pod.namespace} edit {self.workload}")
        peaks = fmt_bytes(peak) if peak else "an unbounded amount"
        effects = [f"init container {c.name} peaks at {peaks} with no memory limit (no pod-level cgroup limit)",
                   f"node {node_name} memory pressure" + (" / SystemOOM" if node_evs else ""),
                   f"neighbours killed/evicted: {who}" if neighbours or victims else "",
                   self.status if oom else "", *self.tail()]
        # Killed and the node hurting: the chain is closed. Only one of the two: likely, not proven.
        confidence = 0.9 if harm and oom else 0.75 if oom else 0.7
        return self.signal("init-memory-bleed", params, evidence, f"Pod/{self.pod.key} spec.initContainers[{c.name}]",
                           effects, confidence=confidence)


def _pull_detail(failed: Sequence[str], message: str) -> str:
    """The most informative pull error text: the runtime's own words from the last Failed event."""
    for text in reversed(failed):
        if text.startswith("Failed to pull image"):
            return text.split(": ", 1)[-1][:500]
    return (message or "no message")[:500]


def _exit_meaning(code: int | None) -> str:
    if code is None:
        return ""
    return {1: "generic error: read its logs", 2: "misuse of a shell builtin / bad arguments",
            126: "command not executable", 127: "command not found", 128: "invalid exit argument",
            130: "interrupted (SIGINT)", 137: "killed (SIGKILL: OOM or forced stop)",
            139: "segmentation fault (SIGSEGV)", 143: "terminated (SIGTERM)"}.get(code, "application-specific")


def pod_config_refs(pod: m.Pod) -> list[tuple[str, m.ConfigRef]]:
    """(container name, ref) for every env/envFrom reference and every configMap/secret volume."""
    out: list[tuple[str, m.ConfigRef]] = []
    for c in (*pod.init_containers, *pod.containers):
        out += [(c.name, r) for r in c.config_refs]
    for v in pod.volumes:
        if v.kind in ("configMap", "secret") and v.source_name:
            out.append(("", m.ConfigRef(kind="ConfigMap" if v.kind == "configMap" else "Secret",
                                        name=v.source_name, optional=v.optional, via=f"volume {v.name}")))
    return out


def config_kind_known(snapshot: Snapshot, kind: str, namespace: str) -> bool:
    """ConfigMaps/Secrets were read in `namespace` (an absent one really is absent)."""
    if not snapshot.has(kind):
        return False
    plural = "configmaps" if kind == "ConfigMap" else "secrets"
    if any(x.resource == plural and x.namespace in ("", namespace) for x in snapshot.meta.missing):
        return False
    scoped = snapshot.meta.namespaces
    return not scoped or namespace in scoped


def unread_config_kinds(pod: m.Pod, snapshot: Snapshot) -> list[str]:
    """The kinds (ConfigMap, Secret) the pod needs that could not be read: its references are unverified."""
    kinds = {r.kind for _, r in pod_config_refs(pod) if not r.optional}
    if pod.image_pull_secrets:
        kinds.add("Secret")
    return [k for k in ("ConfigMap", "Secret") if k in kinds and not config_kind_known(snapshot, k, pod.namespace)]


def kubelet_signals(pod: m.Pod, snapshot: Snapshot, events: Sequence[m.Event], now: datetime,
                    extra: ExtraEvidence) -> list[Signal]:
    """Signals for a pod bound to a node that does not run: images, ConfigMaps/Secrets, container
    creation, volumes, the sandbox and runtime class, init containers (failures, OOM kills, the
    memory bleed onto the node) and the node itself."""
    if not pod.node_name or pod.is_terminal:
        return []
    return _Kubelet(pod, snapshot, events, now, extra).signals()


def pod_status_line(pod: m.Pod) -> str:
    """kubectl's STATUS plus the detail behind it: 'Init:CrashLoopBackOff (init container migrate:
    OOMKilled, exit 137, 7 restarts)'."""
    status = kubectl_status(pod)
    for init, statuses in ((True, pod.init_container_statuses), (False, pod.container_statuses)):
        for st in statuses:
            if st.state == "running" or st.state == "terminated" and st.exit_code == 0:
                continue
            reason = st.reason if st.state == "terminated" else (st.last_reason or st.reason)
            code = st.exit_code if st.state == "terminated" else st.last_exit_code
            if code is None and not st.restart_count and reason in ("", "ContainerCreating", "PodInitializing"):
                continue
            bits = [b for b in (reason, f"exit {code}" if code is not None else "",
                                f"{st.restart_count} restarts" if st.restart_count else "") if b]
            return f"{status} ({'init container' if init else 'container'} {st.name}: {', '.join(bits)})"
    return status
