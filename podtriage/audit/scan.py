"""The audit's scan: every Pending pod (and every controller that cannot create its pods) of one
snapshot, analysed with ONE Explainer, root causes grouped across pods into findings.

Scale: pods of one template fail for the same reasons, so unscheduled pods are put in
equivalence classes (`class_key`): everything the scheduler filters and the diagnosis read,
minus what cannot matter (the name, the image, labels no selector can see, the namespace when
nothing namespaced is involved). One pod per class (the oldest) is explained with
`Explainer.pod_report`; the others share its root causes. Nothing here loops pods x nodes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any

from .. import model as m
from ..analyze import Explainer
from ..diagnose import pending
from ..diagnose.status import age_seconds, kubectl_status
from ..findings import RootCause, Signal
from ..decide.ranking import rank
from ..graph import build_graph, pair_signals, to_node_link
from ..owners import owner_chain
from ..rulebook import RuleSet
from ..scheduler.selectors import label_selector_matches
from ..snapshot import Snapshot
from .model import (
    Finding,
    Folded,
    FoldedObject,
    PendingPod,
    PodRef,
    WorkloadRef,
    finding_id,
    fold_key,
    make_headline,
)
from .selector import parse_selector, selector_matches

ProgressFn = Callable[[int, int], None]  # (done, total)

# Signal params that name the object at fault when the subject is the pod's own spec.
IDENTITY_PARAMS = (
    "taint", "key", "value", "expression", "field", "current_key", "resource", "requested", "toleration",
    "port", "protocol", "claim", "pv", "storage_class", "scheduler_name", "gates", "priority_class",
    "topology_key", "max_skew", "selector", "driver", "zone", "quota", "preemption_policy", "reason",
)

# How many per-pod Evaluations (every node each) the shared Explainer may hold during a scan.
EVAL_CACHE_LIMIT = 32

# Controllers whose FailedCreate events mean pods that never came to exist.
CREATING_KINDS = ("ReplicaSet", "StatefulSet", "Job", "DaemonSet")


@dataclass(frozen=True)
class ScanScope:
    namespaces: tuple[str, ...] = ()  # empty: every namespace
    selector: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"namespaces": list(self.namespaces) or "all", "selector": self.selector}


@dataclass
class _Group:
    """Accumulates one finding while pods are scanned."""

    key: str
    rule: str
    subject: str
    cause: RootCause
    signal: Signal | None
    example: str
    blocking: bool
    pods: list[PodRef] = field(default_factory=list)
    pod_keys: set[str] = field(default_factory=set)
    workloads: dict[str, list[Any]] = field(default_factory=dict)  # key -> [kind, ns, name, chain, pods, missing, labels]


@dataclass
class ScanMemo:
    """The analyses of one scan, for the next scan of a snapshot that differs from it only by
    Pending pods and their events (podtriage watch: audit.run.run_audit(memo=...)).

    An equivalence class's analysis (`Explainer.pod_report` of its representative, and the causes
    its pods are counted under) reads the pod, its events, the nodes and every other object the
    snapshot holds, the pods bound to nodes, and Pending pods of its own namespace (its workload's
    other replicas, its gang). So it is reused, as it was made, when:
    - nothing but unbound Pending pods (outside kube-system, with no nominated node) and events
      about pods changed (`world_changed` False: the watcher tells, from the objects it converted);
    - no such change was in the representative's namespace (`touched`);
    - the representative is the same object, with the same events, as when it was analysed.
    Pods bound to a node and still Pending (kubelet side: their neighbours' events are read) are
    analysed every time. What the analysis says about time (ages in its texts, 'pending for') is
    as of when it was made: the watch drops the memo every --refresh seconds."""

    world_changed: bool = True
    touched: frozenset[str] = frozenset()
    previous: dict[Any, tuple[Any, ...]] = field(default_factory=dict)  # class key -> entry
    kept: dict[Any, tuple[Any, ...]] = field(default_factory=dict)  # this scan's entries
    reused: int = 0
    analysed: int = 0

    def lookup(self, key: Any, rep: m.Pod, events: Sequence[m.Event]) -> tuple[Any, ...] | None:
        if self.world_changed or rep.namespace in self.touched:
            return None
        hit = self.previous.get(key)
        if hit is None or hit[0] is not rep or len(hit[1]) != len(events) or \
                any(a is not b for a, b in zip(hit[1], events)):
            return None
        return hit

    def next(self, world_changed: bool, touched: frozenset[str]) -> ScanMemo:
        """The memo for the next scan, holding this scan's analyses."""
        return ScanMemo(world_changed=world_changed, touched=touched, previous=self.kept)


@dataclass
class ScanResult:
    findings: list[Finding]
    pending: list[PendingPod]
    scanned_pods: int  # pods in scope (any phase)
    pending_pods: int
    analyses: int  # pod_report calls (equivalence classes + bound pods)
    workloads_missing_pods: int
    notes: list[str]


# --- owner chains -------------------------------------------------------------------------------


def _workload_key(namespace: str, name: str, top: tuple[str, str] | None) -> str:
    return f"{top[0]}/{namespace}/{top[1]}" if top else f"Pod/{namespace}/{name}"


# --- equivalence classes ------------------------------------------------------------------------


class _ClassKeys:
    """What can make two unscheduled pods' analyses differ (see the module docstring)."""

    def __init__(self, ex: Explainer) -> None:
        self.snap = ex.snapshot
        existing = ex.cluster.pods_with_affinity
        # Existing pods' (anti-)affinity terms can match this pod by its labels and namespace; only
        # their distinct selectors matter (thousands of replicas share a handful).
        keys: set[str] = set()
        selectors: dict[str, m.LabelSelector] = {}
        for p in existing:
            for t in (*p.pod_affinity, *p.pod_anti_affinity):
                sel = t.label_selector
                if sel is not None:
                    keys.update(k for k, _ in sel.match_labels)
                    keys.update(r.key for r in sel.match_expressions)
                    selectors.setdefault(repr(sel), sel)
        self.existing_selectors = tuple(selectors.values())
        self.seen_label_keys = keys
        # Replicas share their converted parts (convert.ConvertCache): each part's share of the
        # key is computed once per object, by identity (the snapshot keeps them all alive).
        self._parts: dict[tuple[str, int], Any] = {}

    def _part(self, what: str, obj: Any, compute: Any) -> Any:
        k = (what, id(obj))
        hit = self._parts.get(k)
        if hit is None:
            hit = self._parts[k] = compute(obj)
        return hit

    def key(self, pod: m.Pod, events: Sequence[m.Event], now: datetime) -> tuple[Any, ...]:
        self_selecting = bool(pod.topology_spread_constraints or pod.pod_affinity or pod.pod_anti_affinity)
        # Namespaced when an existing pod's term could select this one (its namespace then matters).
        seen_by_existing = self._part("seen", pod.labels, lambda labels: any(
            label_selector_matches(sel, labels) for sel in self.existing_selectors))
        namespaced = self_selecting or seen_by_existing or bool(pod.resource_claims) or any(
            v.kind in ("persistentVolumeClaim", "ephemeral") for v in pod.volumes) or bool(pod.image_pull_secrets
                                                                                       and pod.node_name)
        if self_selecting:
            labels = tuple(sorted(pod.labels.items()))
        else:
            labels = self._part("labels", pod.labels, lambda labels: tuple(
                sorted((k, v) for k, v in labels.items() if k in self.seen_label_keys)))
        # Images, env and config references do not matter before a pod is bound.
        containers = self._part("containers", pod.containers, _container_keys)
        inits = self._part("containers", pod.init_containers, _container_keys)
        volumes = tuple((v.kind, v.claim_name if v.kind != "ephemeral" else v.name, v.read_only, v.unique_disk)
                        for v in pod.volumes)
        cond = pod.condition("PodScheduled")
        reasons = tuple(sorted({(e.reason, e.source) for e in events}))
        old = not events and (age_seconds(pod.creation_timestamp, now) or 0) > 3600
        part = self._part
        return (
            pod.namespace if namespaced else "", labels, part("selector", pod.node_selector, _sorted_repr),
            part("repr", pod.required_node_affinity, repr), part("repr", pod.tolerations, repr), containers, inits,
            part("selector", pod.overhead, _sorted_repr), volumes, part("repr", pod.topology_spread_constraints, repr),
            part("repr", pod.pod_affinity, repr), part("repr", pod.pod_anti_affinity, repr), pod.scheduler_name,
            pod.priority,
            pod.priority_class_name, pod.preemption_policy, pod.nominated_node_name, pod.scheduling_gates,
            pod.runtime_class_name, pod.host_network, (cond.status, cond.reason) if cond else None, reasons, old,
            # DynamicResources reads the claims, in the pod's namespace, by the names its status records
            (repr(pod.resource_claims), repr(sorted(pod.resource_claim_statuses.items())))
            if pod.resource_claims else (),
        )


def _container_keys(containers: Sequence[m.Container]) -> tuple[Any, ...]:
    return tuple((tuple(sorted(c.requests.items())), tuple(sorted(c.limits.items())), c.ports, c.restart_policy)
                 for c in containers)


def _sorted_repr(mapping: Any) -> str:
    return repr(sorted(mapping.items()))


# --- grouping ------------------------------------------------------------------------------------


_DIGITS_OUTSIDE_CODE = re.compile(r"`[^`]*`|\d+")


def _normalise_message(text: str) -> str:
    # Counts ("37 of 5000 node(s)") change from night to night; quoted terms do not.
    return _DIGITS_OUTSIDE_CODE.sub(lambda mt: mt.group(0) if mt.group(0).startswith("`") else "#", text)


def _display(params: Any) -> str:
    """The term at fault in a few words: `zone=us-east-1b`, `64 cpu`, toleration `gpu:NoExecute`."""
    def get(k: str) -> str:
        v = params.get(k)
        return "" if v in (None, "") else str(v)
    if get("expression"):
        return f"`{get('expression')}`"
    if get("toleration"):
        return f"toleration `{get('toleration')}` vs taint `{get('taint')}`"
    if get("taint"):
        return f"taint `{get('taint')}`"
    if get("resource"):
        return f"`{get('requested')} {get('resource')}`".replace("` ", "`") if get("requested") else \
            f"`{get('resource')}`"
    if get("key"):
        return f"`{get('key')}={get('value')}`" if get("value") else f"`{get('key')}`"
    for k in ("scheduler_name", "gates", "claim", "storage_class", "priority_class", "preemption_policy"):
        if get(k):
            return f"{k.replace('_', ' ')} `{get(k)}`"
    if get("topology_key"):
        sel = f" selecting `{get('selector')}`" if get("selector") else ""
        return f"topologyKey `{get('topology_key')}`{sel}"
    if get("port"):
        return f"hostPort {get('port')}/{get('protocol') or 'TCP'}"
    return get("reason") or "pod spec"


def group_key(rc: RootCause, sig: Signal | None, names: Sequence[str]) -> tuple[str, str]:
    """(grouping key, pod-neutral subject shown to people) of a root cause.

    The object at fault is `RootCause.subject` when it names something shared (a taint, a node, a
    PVC, a quota); when it is the pod's own spec ("Pod/ns/web-0 spec.nodeSelector"), the pod is
    replaced by "{pod}" and the parameters naming the term at fault (key, value, taint, resource,
    ...) are added, so every workload with the same wrong term lands in one finding.
    """
    subject = rc.subject
    for n in names:
        if n and n in subject:
            subject = subject.replace(n, "{pod}")
    if subject and "{pod}" not in subject:
        return subject, subject
    params = sig.params if sig is not None else {}
    ident = [(k, str(params[k])) for k in IDENTITY_PARAMS if params.get(k) not in (None, "")]
    where = subject.replace("Pod/{pod}", "").replace("{pod}", "pod").strip() if subject else ""
    where = where or "pod spec"
    if ident:
        return f"{subject} " + ";".join(f"{k}={v}" for k, v in ident), f"{where}: {_display(params)}"
    if subject:
        return subject, where
    message = rc.message
    for n in names:
        if n:
            message = message.replace(n, "{pod}")
    return _normalise_message(message), where


def blocking_key(key: str, blocking: bool) -> str:
    """One object can block some pods and be background for others (the taint of a pool that some
    pods want and others merely pass by): those are two findings, so that counts stay exact and a
    background cause never ranks as a blocking one. Blocking keeps the plain key (and id)."""
    return key if blocking else "background\0" + key


# Pod-level causes that stop the scheduler from looking at any node at all.
_EVERYWHERE = ("scheduling-gated", "scheduler-name-unknown", "no-scheduler-activity")


def primary_causes(ex: Explainer, pod: m.Pod, causes: Sequence[RootCause],
                   signals: Sequence[Signal | None]) -> set[int]:
    """Indexes of the causes a pod is counted under: the ones whose fix could let it schedule.

    When the counterfactual decided the order (podtriage.decide: an unscheduled pod whose nodes
    could be read), the pod counts under the top cause and the causes of its smallest set of
    changes (what still blocks after it), nothing else. Otherwise: a pod rejected everywhere by a
    pod-level cause (missing PVC, gates, a spec no node matches) is not also counted under the
    taint of the 2 nodes its first failing filter happened to be; a node-level cause counts when,
    on at least one of its nodes, it is the only plugin rejecting the pod (fixing it frees that
    node). Non-blocking causes are kept (shown as advisory).
    """
    total = len(ex.snapshot.nodes)
    out = {i for i, c in enumerate(causes) if not c.blocking}
    blocking = [i for i, c in enumerate(causes) if c.blocking]
    if not blocking:
        return out
    top = causes[blocking[0]]
    if top.feasible_after is not None:
        together = {x.get("rule") for x in top.still_blocked_by}
        # Background causes (they block only target nodes that need more changes) are left out.
        notes = {i for i in out if causes[i].feasible_after is None}
        return notes | {blocking[0]} | {i for i in blocking if causes[i].rule in together}
    podlevel = [i for i in blocking if not causes[i].nodes]
    everywhere = [i for i in blocking if (total and len(causes[i].nodes) >= total)
                  or causes[i].signal in _EVERYWHERE]
    if everywhere:
        return out | set(everywhere) | set(podlevel)
    nodelevel = [i for i in blocking if causes[i].nodes]
    sole: list[int] = []
    ev = None
    if nodelevel and not pod.node_name and ex.snapshot.has("Node"):
        evaluation = getattr(ex, "_evaluation", None)  # cached: no second evaluation of the pod
        ev = evaluation(pod) if callable(evaluation) else None
    if ev is not None:
        # Kept with the evaluation (SchedulingDiagnosis reads the same map): no walk per pod.
        by_node = ev.verdicts_by_node()
        for i in nodelevel:
            for n in causes[i].nodes:
                v = by_node.get(n)
                if v is None or not v.failures or all(f.plugin == v.failures[0].plugin for f in v.failures):
                    sole.append(i)
                    break
    chosen = sole or nodelevel
    return out | set(chosen) | set(podlevel)


# --- the scan --------------------------------------------------------------------------------------


def in_scope(namespace: str, labels: dict[str, str] | Any, scope: ScanScope, reqs: tuple[m.Requirement, ...]) -> bool:
    if scope.namespaces and namespace not in scope.namespaces:
        return False
    return selector_matches(reqs, labels or {}) if reqs else True


def scan(snapshot: Snapshot, rules: RuleSet, scope: ScanScope, *, now: datetime | None = None,
         progress: ProgressFn | None = None, explainer: Explainer | None = None,
         memo: ScanMemo | None = None) -> ScanResult:
    """Explain every Pending pod in scope and every controller that cannot create its pods."""
    now = now or datetime.now(timezone.utc)
    ex = explainer or Explainer(snapshot, rules, now)
    reqs = parse_selector(scope.selector)
    snap = snapshot
    scoped = snap.pods if not scope.namespaces and not reqs else \
        [p for p in snap.pods if in_scope(p.namespace, p.labels, scope, reqs)]
    pend = [p for p in scoped if p.phase == "Pending" and not p.deletion_timestamp]
    # Oldest first: the representative of a class is its longest-waiting pod.
    pend.sort(key=lambda p: (p.creation_timestamp or "9999", p.namespace, p.name))
    keys = _ClassKeys(ex) if pend and snap.has("Node") else None

    classes: dict[Any, list[m.Pod]] = {}
    rep_events: dict[Any, list[m.Event]] = {}  # class key -> its representative's events
    for p in pend:
        events = snap.events_for("Pod", p.namespace, p.name, p.uid)
        if p.node_name or keys is None:
            k: Any = ("pod", p.namespace, p.name)  # bound (kubelet side) or no nodes: one pod, one analysis
        else:
            k = keys.key(p, events, now)
        members = classes.get(k)
        if members is None:
            classes[k] = [p]
            rep_events[k] = events
        else:
            members.append(p)

    groups: dict[str, _Group] = {}
    pending_rows: list[PendingPod] = []
    total = len(classes)
    chains: dict[tuple[str, str | None, str | None], tuple[tuple[str, ...], tuple[str, str] | None]] = {}

    def chain_of(p: m.Pod) -> tuple[tuple[str, ...], tuple[str, str] | None]:
        ck = (p.namespace, p.owner.kind if p.owner else None, p.owner.name if p.owner else None)
        if ck not in chains:
            chains[ck] = owner_chain(snap, p.namespace, p.owner, dict(p.labels))
        return chains[ck]

    for done, (ck, members) in enumerate(classes.items()):
        rep = members[0]
        shared_class = not rep.node_name and keys is not None
        hit = memo.lookup(ck, rep, rep_events[ck]) if memo is not None and shared_class else None
        if hit is not None:
            _, _, rep_status, causes, paired, keep = hit
            memo.reused += 1  # type: ignore[union-attr]
        else:
            report, signals, _ = ex.pod_report(rep)
            rep_status = report.status
            causes = list(report.root_causes)
            paired = pair_signals(causes, signals)
            keep = primary_causes(ex, rep, causes, paired)
            if memo is not None:
                memo.analysed += 1
        if memo is not None and shared_class:  # what the rest of the scan reads, not the whole report
            memo.kept[ck] = (rep, tuple(rep_events[ck]), rep_status, causes, paired, keep)
        _, rep_top = chain_of(rep)
        rep_names = [rep.key, _workload_key(rep.namespace, rep.name, rep_top)]
        keyed = []
        for i, (rc, sig) in enumerate(zip(causes, paired)):
            if i not in keep:
                continue
            gk, shown = group_key(rc, sig, rep_names)
            gk = blocking_key(gk, rc.blocking)
            keyed.append((finding_id(rc.rule, gk), gk, shown, rc, sig))
        primary = next((k for k in keyed if k[3].blocking), keyed[0] if keyed else None)
        for p in members:
            chain, top = chain_of(p)
            wkey = _workload_key(p.namespace, p.name, top)
            age_s = age_seconds(p.creation_timestamp, now) if p.creation_timestamp else None
            ref = PodRef(namespace=p.namespace, name=p.name,
                         status=rep_status if p is rep else kubectl_status(p), age_seconds=age_s,
                         workload=wkey, labels=p.labels)
            pending_rows.append(PendingPod(namespace=p.namespace, name=p.name, age_seconds=age_s,
                                           primary_rule=primary[3].rule if primary else "",
                                           primary_category=primary[3].category if primary else "",
                                           primary_finding=primary[0] if primary else ""))
            for fid, gk, shown, rc, sig in keyed:
                g = groups.get(fid)
                if g is None:
                    g = groups[fid] = _Group(key=gk, rule=rc.rule, subject=shown, cause=rc, signal=sig,
                                             example=rep.key, blocking=rc.blocking)
                if p.key in g.pod_keys:
                    continue
                g.pod_keys.add(p.key)
                g.pods.append(ref)
                w = g.workloads.get(wkey)
                if w is None:
                    kind, ns, name = wkey.split("/", 2)
                    g.workloads[wkey] = [kind, ns, name, chain, 1, 0, p.labels]
                else:
                    w[4] += 1
        if progress is not None:
            progress(done + 1, total)
        # Explainer keeps every Evaluation (pod x every node) for the life of the snapshot; a
        # cluster-wide scan would hold thousands. Keep the most recently used (classes of the same
        # shape in other workloads share them).
        cache = getattr(ex, "_eval_cache", None)
        if isinstance(cache, dict):
            while len(cache) > EVAL_CACHE_LIMIT:
                del cache[next(iter(cache))]

    missing_workloads = _admission(ex, snap, scope, reqs, groups)
    findings = [_finish(g) for g in groups.values()]
    findings.sort(key=lambda f: f.impact_key())
    notes = []
    shared = len(pend) - len(classes)
    if shared > 0:
        notes.append(f"{len(pend):,} Pending pods were analysed as {len(classes):,} distinct cases: pods with the "
                     "same scheduling-relevant spec and the same kinds of events share the analysis of their "
                     "oldest pod (its message, evidence and causal chain are shown as the example).")
    return ScanResult(findings=findings, pending=pending_rows, scanned_pods=len(scoped), pending_pods=len(pend),
                      analyses=len(classes), workloads_missing_pods=missing_workloads, notes=notes)


def _admission(ex: Explainer, snap: Snapshot, scope: ScanScope, reqs: tuple[m.Requirement, ...],
               groups: dict[str, _Group]) -> int:
    """Controllers with FailedCreate: pods that were never created are not even Pending."""
    total = len(snap.nodes)
    affected = 0
    for w in snap.workloads:
        if w.kind not in CREATING_KINDS:
            continue
        labels = dict(w.template_pod.labels) if w.template_pod else {}
        if not in_scope(w.namespace, labels, scope, reqs):
            continue
        events = snap.events_for(w.kind, w.namespace, w.name, w.uid)
        if not any(e.reason == "FailedCreate" for e in events):
            continue
        owner_key = f"{w.kind}/{w.namespace}/{w.name}"
        sigs = pending.admission_signals(owner_key, events, total)
        if not sigs:
            continue
        causes = rank(ex.rules.apply(sigs), total_nodes=max(total, 1), total_attempts=0)
        active = [p for p in snap.pods_by_owner.get((w.kind, w.namespace, w.name), [])
                  if not p.is_terminal and not p.deletion_timestamp]
        missing = max((w.replicas or 0) - len(active), 0) if w.replicas is not None else 0
        chain, top = owner_chain(snap, w.namespace, m.OwnerRef(kind=w.kind, name=w.name), labels)
        wkey = _workload_key(w.namespace, w.name, top)
        affected += 1
        for rc, sig in zip(causes, pair_signals(causes, sigs)):
            gk, shown = group_key(rc, sig, [owner_key, wkey])
            gk = blocking_key(gk, rc.blocking)
            fid = finding_id(rc.rule, gk)
            g = groups.get(fid)
            if g is None:
                g = groups[fid] = _Group(key=gk, rule=rc.rule, subject=shown, cause=rc, signal=sig,
                                         example=owner_key, blocking=rc.blocking)
            kind, ns, name = wkey.split("/", 2)
            entry = g.workloads.setdefault(wkey, [kind, ns, name, chain, 0, 0, labels])
            entry[5] += missing if missing else 0
    return affected


def _finish(g: _Group) -> Finding:
    workloads = tuple(sorted(
        (WorkloadRef(kind=k, namespace=ns, name=n, chain=tuple(ch), pods=c, missing=miss, labels=lab)
         for k, ns, n, ch, c, miss, lab in g.workloads.values()),
        key=lambda w: (-(w.pods + w.missing), w.namespace, w.name)))
    pods = tuple(sorted(g.pods, key=lambda p: (-(p.age_seconds or 0), p.namespace, p.name)))
    missing = sum(w.missing for w in workloads)
    rc = g.cause
    kind = "blocking" if g.blocking else "advisory"
    n = len(pods)
    graph = build_graph(g.example, [rc], [g.signal] if g.signal else [], symptom=_symptom(n, missing, len(workloads)))
    return Finding(
        id=finding_id(g.rule, g.key), kind=kind, headline=make_headline(kind, rc.title, g.subject, n, len(workloads), missing),
        subject=g.subject, root_cause=rc, pods=pods, workloads=workloads, example_pod=g.example,
        graph=to_node_link(graph),
    )


def _symptom(pods: int, missing: int, workloads: int) -> str:
    return (f"{pods:,} pod(s) Pending" if pods else f"{missing:,} pod(s) never created") + \
        (f" in {workloads:,} workload(s)" if workloads else "")


# --- folding -------------------------------------------------------------------------------------


def fold_findings(findings: Sequence[Finding]) -> list[Finding]:
    """Findings that differ only in the name of the object at fault, folded into one (model.fold_key).

    The folded finding counts every pod and workload exactly once, lists each object with its own
    id, counts and example (`Finding.folded`), and shows the message, fix and causal chain of the
    object with the most impact as the example. One object alone stays as it is.
    """
    # Suppressed findings fold only with those the same entry silenced.
    buckets: dict[tuple[str, int], list[tuple[Finding, str, str, str]]] = {}
    order: list[tuple[tuple[str, int], Finding | None]] = []
    for f in findings:
        key = fold_key(f)
        if key is None:
            order.append((("", 0), f))
            continue
        fid, kind, ns, name = key
        bucket = (fid, f.suppressed_by.index if f.suppressed_by is not None else -1)
        if bucket not in buckets:
            buckets[bucket] = []
            order.append((bucket, None))
        buckets[bucket].append((f, kind, ns, name))
    out: list[Finding] = []
    ids: set[str] = set()
    for bucket, single in order:
        if single is not None:
            out.append(single)
        elif len(buckets[bucket]) == 1:
            out.append(buckets[bucket][0][0])
        else:
            fid = bucket[0] if bucket[0] not in ids else finding_id(bucket[0], str(bucket[1]))
            ids.add(fid)
            out.append(_fold(fid, buckets[bucket]))
    return out


def _fold(fid: str, members: list[tuple[Finding, str, str, str]]) -> Finding:
    # Most impact first (pods, workloads, the oldest pod), then by namespace and name: the list reads
    # in order, and its first object is the example the card shows.
    members = sorted(members, key=lambda m: (-(len(m[0].pods) + m[0].missing_pods), -len(m[0].workloads),
                                             -m[0].oldest_seconds, m[2], m[3]))
    rep = members[0][0]
    pods: dict[str, PodRef] = {}
    for f, *_ in members:
        for p in f.pods:
            pods.setdefault(p.key, p)
    workloads: dict[str, WorkloadRef] = {}
    for f, *_ in members:
        for w in f.workloads:
            have = workloads.get(w.key)
            workloads[w.key] = w if have is None else replace(have, missing=max(have.missing, w.missing))
    per_workload: dict[str, int] = {}
    for p in pods.values():
        per_workload[p.workload] = per_workload.get(p.workload, 0) + 1
    wl = tuple(sorted((replace(w, pods=per_workload.get(w.key, w.pods)) for w in workloads.values()),
                      key=lambda w: (-(w.pods + w.missing), w.namespace, w.name)))
    pod_list = tuple(sorted(pods.values(), key=lambda p: (-(p.age_seconds or 0), p.namespace, p.name)))
    objects = tuple(FoldedObject(id=f.id, subject=f.subject, namespace=ns, name=name, pods=len(f.pods),
                                 workloads=len(f.workloads), missing=f.missing_pods, oldest_seconds=f.oldest_seconds,
                                 example_pod=f.example_pod, message=f.root_cause.message, delta=f.delta)
                    for f, _, ns, name in members)
    folded = Folded(kind=members[0][1], objects=objects)
    missing = sum(w.missing for w in wl)
    graph = dict(rep.graph)
    if graph.get("nodes"):
        label = _symptom(len(pod_list), missing, len(wl))
        graph["nodes"] = [dict(n, label=label) if n.get("kind") == "symptom" else n for n in graph["nodes"]]
    subject = folded.describe()
    count = sum(w.pods for w in wl) if rep.kind == "risk" else len(pod_list)
    return replace(rep, id=fid, subject=subject, pods=pod_list, workloads=wl, graph=graph, folded=folded,
                   suppressed_pods=sum(f.suppressed_pods for f, *_ in members),
                   headline=make_headline(rep.kind, rep.root_cause.title, subject, count, len(wl), missing))
