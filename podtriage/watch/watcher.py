"""The live view and its diagnosis: reflectors feed the store, one thread re-diagnoses on change.

The streams are what `collect_live(scope="all")` reads, in its order (`_collect_all`): nodes,
namespaces, pods (with -n: the namespaces' pods, then the non-terminal pods elsewhere, which still
occupy nodes), the namespaced kinds, the cluster kinds, ResourceClaims cluster-wide, events; plus
the kube-scheduler lease, which `collect_live` GETs to tell whether a scheduler runs.

A diagnosis builds a Snapshot from the store with `SnapshotBuilder` (objects in the order a fresh
LIST returns them, Missing entries as `collect_live` records them) and runs `audit.run.run_audit`,
the same code as `podtriage audit`: the answers are the audit's. It runs after a change has been
quiet for DEBOUNCE seconds (at most DEBOUNCE_MAX after the first one), and never more than one at
a time.
"""

from __future__ import annotations

import gc
import marshal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from ..collect import live as L
from ..snapshot import Snapshot, SnapshotBuilder
from .metrics import Histogram
from .reflector import Health, Reflector, StreamSpec
from .store import Store

DEBOUNCE = 0.15  # seconds of quiet after a change before re-diagnosing
DEBOUNCE_MAX = 0.5  # ... but never longer than this after the first change
LEASE_STREAM = "leases@kube-system"
RECORDED_REQUESTS = 10_000
REFRESH = 60.0  # seconds: ages and time-dependent verdicts of a quiet cluster's answer stay this fresh
FREEZE_MIN = 200_000  # objects not frozen before it is worth freezing them again


def plan_streams(namespaces: list[str] | None, read_secrets: bool = True) -> list[StreamSpec]:
    """The LIST+WATCH streams for the scope, in `collect_live`'s order of reading."""
    out: list[StreamSpec] = [StreamSpec("nodes", L.NODES),
                             StreamSpec("namespaces", L.NAMESPACES, get_names=tuple(namespaces or ()))]
    scopes: list[str | None] = list(namespaces) if namespaces else [None]
    if namespaces is None:
        out.append(StreamSpec("pods", L.PODS))
    else:
        out += [StreamSpec(f"pods@{ns}", L.PODS, ns) for ns in namespaces]
        others = ",".join([f"metadata.namespace!={ns}" for ns in namespaces]
                          + ["status.phase!=Succeeded", "status.phase!=Failed"])
        out.append(StreamSpec("pods@others", L.PODS, None, others))
    for res in L.NAMESPACED_RESOURCES:
        if res.kind == "Secret" and not read_secrets:
            continue
        out += [StreamSpec(f"{res.plural}@{ns}" if ns else res.plural, res, ns) for ns in scopes]
    out += [StreamSpec(res.plural, res) for res in L.CLUSTER_RESOURCES]
    for res in L.CLUSTER_WIDE_NAMESPACED:
        out.append(StreamSpec(res.plural, res))
        if namespaces:  # no cluster-wide list: at least the namespaces asked for, as collect_live does
            out += [StreamSpec(f"{res.plural}@{ns}", res, ns, fallback_of=res.plural) for ns in namespaces]
    out += [StreamSpec(f"events@{ns}" if ns else "events", L.EVENTS, ns) for ns in scopes]
    out.append(StreamSpec(LEASE_STREAM, L.LEASES, L.SCHEDULER_LEASE[0],
                          f"metadata.name={L.SCHEDULER_LEASE[1]}", quiet=True, best_effort=True))
    return out


_Converted = tuple[bytes, list[tuple[str, Any, Any]], list[str], "dict | None"]


@dataclass(frozen=True)
class Diagnosis:
    """One answer: the snapshot it was made from, the audit report, and when."""

    snapshot: Snapshot
    report: Any  # audit.model.AuditReport
    document: dict[str, Any]  # the `audit -o json` document
    made_at: float  # time.time() when the diagnosis finished
    seconds: float  # how long it took (snapshot build + audit)
    generation: int  # the store's generation it saw
    analysed: int = 0  # equivalence classes analysed by this diagnosis
    reused: int = 0  # ... and reused as the previous diagnosis made them (audit.scan.ScanMemo)


@dataclass
class WatchConfig:
    kubeconfig: str | None = None
    context: str | None = None
    namespaces: list[str] | None = None
    selector: str = ""
    timeout: float = 30.0  # per request (LIST pages)
    live: Any = None  # LiveOptions
    page_size: int | None = None
    watch_timeout: int = 300  # a watch's timeoutSeconds (randomised up to twice that)
    rules_dirs: tuple[str, ...] = ()
    fail_on: str = "critical"
    config: Any = None  # audit.suppress.AuditConfig
    refresh: float = REFRESH  # re-diagnose a quiet cluster this often (seconds; 0: only on changes)


@dataclass
class Watcher:
    """Owns the client, the reflector threads and the diagnosis thread."""

    cfg: WatchConfig
    store: Store = field(default_factory=Store)
    health: Health = field(default_factory=Health)
    stop: threading.Event = field(default_factory=threading.Event)
    on_diagnosis: Callable[[Diagnosis], None] | None = None
    on_error: Callable[[BaseException], None] | None = None
    before_freeze: Callable[[], None] | None = None  # drop caches that hold reference cycles
    freezes: int = 0
    _frozen: bool = False
    # What changed since the last diagnosis, as the snapshot is built (see audit.scan.ScanMemo)
    _world_changed: bool = True
    _touched: set[str] = field(default_factory=set)
    _meta_seen: Any = None
    _memo: Any = None  # audit.scan.ScanMemo of the last diagnosis that succeeded
    _reusing: bool = False  # the diagnosis being made may reuse the last one's analyses
    _last_full: float = 0.0  # time.time() of the last diagnosis that analysed everything
    analyses_made: int = 0
    analyses_reused: int = 0
    _frozen_objects: int = 0
    latest: Diagnosis | None = None
    server_version: str = ""
    server: str = ""
    context: str = ""
    insecure: bool = False
    reflectors: list[Reflector] = field(default_factory=list)
    threads: list[threading.Thread] = field(default_factory=list)
    durations: Histogram = field(default_factory=Histogram)  # diagnosis seconds
    last_good_sync: float = 0.0  # time.time() of the last diagnosis with every stream healthy
    first_diagnosis: threading.Event = field(default_factory=threading.Event)
    first_sync_deadline: float = L.DEFAULT_DEADLINE  # --timeout: bounds GET /version at start
    # Conversions kept between diagnoses: stream -> key -> (the store's version of the object
    # converted, entries, warnings, the raw pod when it is a kube-scheduler pod)
    _converted: dict[str, dict[str, _Converted]] = field(default_factory=dict)
    _converter: SnapshotBuilder = field(default_factory=lambda: SnapshotBuilder(source="live"))

    # --- start ---------------------------------------------------------------------------------
    def connect(self) -> None:
        """Configuration and GET /version: an unreachable cluster fails here (ClusterError, exit 3)."""
        from ..audit.selector import parse_selector
        from ..rulebook import load_rules

        parse_selector(self.cfg.selector)
        self.rules = load_rules(extra_dirs=list(self.cfg.rules_dirs))
        options = self.cfg.live or L.LiveOptions()
        cfg, self.context = L._load_config(self.cfg.kubeconfig, self.cfg.context)
        specs = plan_streams(self.cfg.namespaces, options.read_secrets)
        # One pooled connection per watch stream, plus room for LIST pages.
        cfg.connection_pool_maxsize = len(specs) + 8
        # A process that runs for weeks keeps only its last requests (the read-only checks read them).
        self.client = L._Client(cfg, self.cfg.timeout, options, recorded=RECORDED_REQUESTS)
        self.server = self.client.server
        self.insecure = self.client.insecure
        first = L._Session(self.client, L.Deadline(self.first_sync_deadline))
        self.server_version = L._server_version(first)
        self.health.clock(first.last_date)
        # The watches run as long as the process: no collection deadline from here on.
        self.session = L._Session(self.client, L.Deadline(None))
        page_size = L._page_size(self.cfg.page_size)
        self.reflectors = [Reflector(s, self.session, self.store, self.health, self.stop, page_size,
                                     self.cfg.watch_timeout) for s in specs]
        by_name = {r.spec.name: r for r in self.reflectors}
        for r in self.reflectors:
            if r.spec.fallback_of:
                r.primary = by_name[r.spec.fallback_of]

    def start(self) -> None:
        for r in self.reflectors:
            t = threading.Thread(target=r.run, name=f"watch-{r.spec.name}", daemon=True)
            t.start()
            self.threads.append(t)
        t = threading.Thread(target=self._diagnose_loop, name="diagnosis", daemon=True)
        t.start()
        self.threads.append(t)

    def close(self) -> None:
        self.stop.set()
        self.store.wake()
        client = getattr(self, "client", None)
        if client is not None:
            client.close()

    def synced(self) -> bool:
        return all(r.synced.is_set() for r in self.reflectors)

    def stale(self) -> bool:
        """Serving the last good answer while the API server or a watch is failing."""
        return bool(self.health.problems())

    # --- snapshot --------------------------------------------------------------------------------
    def build_snapshot(self) -> Snapshot:
        self._world_changed = not self._reusing
        self._touched = set()
        b = SnapshotBuilder(source="live")
        ns_list = self.cfg.namespaces
        options = self.cfg.live or L.LiveOptions()
        collected: dict[str, bool] = {}
        scheduler_pods: list[dict] = []
        kinds = [r.kind for r in L.NAMESPACED_RESOURCES]
        after_secrets = L.NAMESPACED_RESOURCES[kinds.index("Secret") + 1].kind
        for r in self.reflectors:
            spec = r.spec
            if spec.name == LEASE_STREAM:
                continue
            if spec.res.kind == after_secrets and not options.read_secrets and "secrets" not in collected:
                collected["secrets"] = False  # said once, where collect_live says it
                b.mark_missing("secrets", "", L.SECRETS_NOT_READ)
            if r.listed:
                collected[spec.res.kind] = True
                origin = f"GET {spec.res.path(r.version or spec.res.versions[0], spec.namespace)}"
                self._add_stream(b, spec.name, spec.res.kind, origin, scheduler_pods if spec.res is L.PODS else None)
            elif r.missing is not None:
                b.mark_missing(spec.res.plural, spec.namespace or "", r.missing)
                if spec.get_names:  # what GETs could still read (collect_live's fallback)
                    origin = f"GET {spec.res.path(r.version or spec.res.versions[0])}"
                    self._add_stream(b, spec.name, spec.res.kind, origin, None)
        for kind, ok in collected.items():
            if ok:
                b.mark_collected(kind)
        lease_r = next(r for r in self.reflectors if r.spec.name == LEASE_STREAM)
        lease = None
        if lease_r.listed and not lease_r.not_served:
            lease = next(self.store.items(LEASE_STREAM), None)
        now = self.server_now()
        names, sched_warnings = L.scheduler_verdict(scheduler_pods, lease, now)
        if self.insecure:
            b.warnings.append(f"TLS certificate verification is disabled for {self.server} "
                              "(insecure-skip-tls-verify in the kubeconfig): the API server's identity "
                              "was not verified")
        b.warnings.extend(sched_warnings)
        snap = b.build(source="live", created=L._rfc3339(now), cluster_server=self.server, context=self.context,
                       server_version=self.server_version, namespaces=tuple(ns_list or ()),
                       scheduler_names=names)
        meta = snap.meta
        seen = (meta.collected, meta.missing, meta.warnings, meta.scheduler_names)
        if seen != self._meta_seen:  # what was read, what is missing, a scheduler seen or not
            self._world_changed = True
            self._meta_seen = seen
        return snap

    def _add_stream(self, b: SnapshotBuilder, stream: str, kind: str, origin: str,
                    scheduler_pods: list[dict] | None) -> None:
        """Put a stream's objects into `b`, in the store's order, converting only the objects that
        changed since the last diagnosis (the conversion of the others is kept: the same objects,
        so the same Snapshot as converting everything again). The store then drops the bytes of
        what was converted: the conversions are what later diagnoses read."""
        conv = self._converter
        old = self._converted.get(stream, {})
        fresh: dict[str, _Converted] = {}
        converted: list[tuple[str, bytes]] = []
        for key, version, packed in self.store.packed(stream):
            hit = old.get(key)
            if hit is None or hit[0] is not version:
                if hit is not None:
                    self._note_change(kind, hit[1])
                if packed is None:  # released without a conversion held: a bug, not a cluster state
                    raise RuntimeError(f"{stream} {key}: changed, and its bytes are gone")
                sched = None
                if scheduler_pods is not None and key.startswith("kube-system/"):
                    raw = marshal.loads(packed)
                    sched = raw if L._is_scheduler_pod(raw) else None
                conv.add(marshal.loads(packed), origin=origin)
                entries, warnings = conv.take()
                hit = (version, entries, warnings, sched)
                converted.append((key, version))
                self._note_change(kind, entries)
            fresh[key] = hit
            for field_name, k, obj in hit[1]:
                b.put(field_name, k, obj)
            if hit[2]:
                b.warnings.extend(hit[2])
            if scheduler_pods is not None and hit[3] is not None:
                scheduler_pods.append(hit[3])
        if len(fresh) != len(old) or converted:
            for key, hit in old.items():
                if key not in fresh:  # deleted
                    self._note_change(kind, hit[1])
        self._converted[stream] = fresh
        self.store.release(stream, converted)

    def _note_change(self, kind: str, entries: list[tuple[str, Any, Any]]) -> None:
        """One object added, changed or deleted (its conversion's entries, old or new): is it a
        Pending pod, or an event about a pod, and in which namespace (audit.scan.ScanMemo)?"""
        if self._world_changed:
            return
        for field_name, _, obj in entries:
            if field_name == "pods":
                if (obj.phase == "Pending" and not obj.node_name and not obj.nominated_node_name
                        and obj.namespace != "kube-system"):
                    self._touched.add(obj.namespace)
                    continue
            elif field_name == "events":
                involved = obj.involved
                if involved is not None and involved.kind == "Pod" and "kube-system" not in (
                        obj.namespace, involved.namespace):
                    self._touched.update((obj.namespace, involved.namespace or obj.namespace))
                    continue
            self._world_changed = True
            return
        if not entries and kind not in ("Pod", "Event"):
            self._world_changed = True

    def server_now(self) -> datetime:
        return datetime.fromtimestamp(time.time() + self.health.server_offset, timezone.utc)

    # --- diagnosis -------------------------------------------------------------------------------
    def diagnose(self) -> Diagnosis:
        from ..audit.render_machine import audit_document
        from ..audit.run import AuditOptions, run_audit
        from ..audit.scan import ScanMemo, ScanScope
        from ..audit.suppress import AuditConfig

        t0 = time.perf_counter()
        gen = self.store.generation
        healthy = not self.health.problems()
        # Analyses are reused only from the last diagnosis that succeeded, and never longer than
        # --refresh after the last diagnosis that analysed everything (what they say about time).
        # A diagnosis that fails leaves no memo: the conversions it replaced are changes the next
        # one would not see, so the next one analyses everything.
        previous, self._memo = self._memo, None
        wall = time.time()
        if self.cfg.refresh <= 0 or wall - self._last_full >= self.cfg.refresh:
            previous = None
        self._reusing = previous is not None  # build_snapshot: else everything counts as changed
        gc_was = gc.isenabled()
        gc.disable()
        try:
            snap = self.build_snapshot()
            memo = previous.next(self._world_changed, frozenset(self._touched)) if previous is not None \
                else ScanMemo()
            options = AuditOptions(scope=ScanScope(namespaces=tuple(self.cfg.namespaces or ()),
                                                   selector=self.cfg.selector),
                                   config=self.cfg.config or AuditConfig(), fail_on=self.cfg.fail_on)
            report = run_audit(snap, self.rules, options, started=t0, memo=memo)
            doc = audit_document(report)
        finally:
            self._collect()
            if gc_was:
                gc.enable()
        seconds = time.perf_counter() - t0
        self._memo = memo
        if memo.world_changed:
            self._last_full = wall
        self.analyses_made += memo.analysed
        self.analyses_reused += memo.reused
        d = Diagnosis(snap, report, doc, time.time(), seconds, gen, memo.analysed, memo.reused)
        if healthy:
            self.last_good_sync = d.made_at
        return d

    def _collect(self) -> None:
        """The garbage of one diagnosis, collected before anything is frozen.

        A diagnosis runs with the cyclic collector off (it allocates millions of objects, as a
        loader does: see loaders.files.gc_paused). Unlike a one-shot command, this process lives
        on, and the audit's working objects hold reference cycles (the ClusterState and its
        NodeInfos, evaluations, causal graphs) that reference counting never frees: they are
        collected here, right after the audit, when they are unreachable and this diagnosis's
        objects are most of what the collector has to look at. The snapshot, the report and the
        document it keeps hold no cycles, so when the next diagnosis replaces them, reference
        counting frees them, frozen or not (measured: nothing cyclic left behind).

        The long-lived bulk (the converted objects) is frozen, out of every later collection:
        after the first diagnosis, and again whenever what is not frozen has grown past a quarter
        of what is (objects converted since, under churn). Whatever else is alive at that moment
        is frozen too, and a frozen cycle is never freed: so `before_freeze` first drops what the
        endpoints cache per diagnosis (an Explainer, cyclic)."""
        gc.collect()
        if not self._freeze_due():
            return
        if self.before_freeze is not None:
            self.before_freeze()
            gc.collect()  # what it dropped
        gc.freeze()
        self._frozen = True
        self._frozen_objects = gc.get_freeze_count()  # walks them all (0.16 s at 150,000 pods): once per freeze
        self.freezes += 1

    def _freeze_due(self) -> bool:
        if not self._frozen:
            return True
        unfrozen = len(gc.get_objects(generation=2))  # after a full collection every survivor is there
        return unfrozen >= max(FREEZE_MIN, self._frozen_objects // 4)

    def _refresh_due(self) -> bool:
        """A quiet cluster's answer is made again every `refresh` seconds: its ages, the time it
        was judged at, and what depends on time (a pod waiting for over an hour, an expired
        suppression) are then what a fresh `podtriage audit` says, not what they were at the last
        change, which may be hours ago."""
        latest = self.latest
        return (latest is not None and self.cfg.refresh > 0 and not self.stale()
                and time.time() - latest.made_at >= self.cfg.refresh)

    def _still_in_sync(self) -> None:
        """A quiet cluster's answer stays current: while every stream is healthy, every reflector
        thread runs and the latest answer was made healthy, the last good sync is now. A failing or
        wedged watch stops this, so podtriage_watch_last_sync_timestamp_seconds stops moving (the
        PodtriageWatchNotSyncing alert) instead of only moving when the cluster changes."""
        if (self.latest is not None and self.last_good_sync >= self.latest.made_at and not self.stale()
                and all(t.is_alive() for t in self.threads)):
            self.last_good_sync = time.time()

    def _diagnose_loop(self) -> None:
        while not self.stop.is_set():
            if not self.synced():
                self.stop.wait(0.05)
                continue
            if self.latest is not None:
                first = self.store.pending_since()
                if first is None:
                    if self.last_good_sync < self.latest.made_at and not self.stale():
                        # Every stream recovered after the last answer was made: make it again, so
                        # that it counts as a good sync (no object needs to change for that).
                        first = time.monotonic()
                    elif self._refresh_due():
                        first = time.monotonic()
                    else:
                        self._still_in_sync()
                        self.store.wait(0.2)
                        continue
                # Debounce: wait for a quiet moment, bounded since the first change.
                gen = self.store.generation
                while not self.stop.is_set():
                    self.stop.wait(DEBOUNCE)
                    if self.store.generation == gen or time.monotonic() - first >= DEBOUNCE_MAX:
                        break
                    gen = self.store.generation
            self.store.take_changes()
            try:
                d = self.diagnose()
            except Exception as exc:  # keep serving the last answer; say so (the thread must not die)
                if self.on_error is not None:
                    self.on_error(exc)
                self.stop.wait(1.0)
                continue
            self.latest = d
            self.durations.observe(d.seconds)
            if self.on_diagnosis is not None:
                self.on_diagnosis(d)
            self.first_diagnosis.set()

