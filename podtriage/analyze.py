"""explain: snapshot + target -> Report. The only place that wires the stages together.

snapshot -> evidence (per-node evaluation, timeline) -> signals -> rules -> graph -> ranked report.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import replace
from datetime import datetime, timezone
from typing import Any, Sequence

from . import SCHEMA_VERSION, __version__
from . import model as m
from .diagnose import kubelet, pending, scheduling
from .diagnose.extra import ExtraEvidence
from .diagnose.status import age, age_seconds, kubectl_status
from .errors import ClusterError, InputError, TargetNotFound
from .evidence.timeline import Timeline, build_timeline, compare_counts
from .findings import EvidenceItem, PodReport, Report, RootCause, Signal, VerdictGroup
from .graph import build_graph, rank, to_node_link
from .rulebook import RuleSet
from .scheduler.framework import ClusterState, Evaluation, evaluate
from .scheduler.plugins.volume_binding import claim_volumes, knows
from .snapshot import Snapshot

KIND_ALIASES = {
    "pod": "Pod", "pods": "Pod", "po": "Pod",
    "deployment": "Deployment", "deployments": "Deployment", "deploy": "Deployment",
    "statefulset": "StatefulSet", "statefulsets": "StatefulSet", "sts": "StatefulSet",
    "daemonset": "DaemonSet", "daemonsets": "DaemonSet", "ds": "DaemonSet",
    "replicaset": "ReplicaSet", "replicasets": "ReplicaSet", "rs": "ReplicaSet",
    "job": "Job", "jobs": "Job", "cronjob": "CronJob", "cronjobs": "CronJob", "cj": "CronJob",
}

# How much each missing piece of evidence lowers confidence.
CONFIDENCE_NO_NODES = 0.6
CONFIDENCE_NO_EVENTS = 0.85
CONFIDENCE_DISAGREEMENT = 0.85
CONFIDENCE_EVENTS_EXPIRED = 0.9
CONFIDENCE_NO_PVCS = 0.8
CONFIDENCE_NO_CONFIG = 0.8  # a bound pod's ConfigMaps/Secrets unreadable: kubelet claims unverified
CONFIDENCE_NO_OTHER_PODS = 0.85  # node usage and affinity counted without other namespaces' pods
CONFIDENCE_NO_WORKLOADS = 0.85  # the controller (or its ReplicaSets/Jobs) unreadable: pods found by name
CONFIDENCE_NO_SCHEDULER_LOGS = 0.95  # logs were asked for and could not be read

# Scheduler message codes about claims and volumes: what podtriage cannot judge without the PVCs.
VOLUME_CODES = frozenset({
    "pvc-not-found", "pvc-deleting", "pvc-bound-to-missing-pv", "ephemeral-pvc-pending",
    "volume-unbound-immediate", "volume-bind-conflict", "volume-node-affinity", "volume-no-space",
    "volume-pv-missing", "volume-zone", "volume-limits", "volume-restrictions-disk", "volume-rwop",
})
# A controller whose pods are found through another controller: Deployment -> ReplicaSet, CronJob -> Job.
POD_OWNER_OF = {"Deployment": "ReplicaSet", "CronJob": "Job"}
POD_TEMPLATE_HASH_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # rand.SafeEncodeString: no vowels, no 0/1/3


def parse_target(target: str) -> tuple[str, str]:
    """'web-0' -> ('Pod', 'web-0'); 'deploy/web' -> ('Deployment', 'web')."""
    if "/" in target:
        kind, _, name = target.partition("/")
        canonical = KIND_ALIASES.get(kind.lower().split(".")[0])
        if canonical is None:
            raise InputError(f"unknown resource type {kind!r} in {target!r}",
                             hint="use pod/NAME, deployment/NAME, statefulset/NAME, daemonset/NAME, "
                                  "replicaset/NAME, job/NAME or cronjob/NAME")
        if not name:
            raise InputError(f"missing name in {target!r}")
        return canonical, name
    if not target:
        raise InputError("missing target: give a pod name or KIND/NAME")
    return "Pod", target


class Explainer:
    """Holds what is shared across targets of one snapshot (cluster state, rules)."""

    def __init__(self, snapshot: Snapshot, rules: RuleSet, now: datetime | None = None, *,
                 extra: ExtraEvidence | None = None) -> None:
        self.snapshot = snapshot
        self.rules = rules
        self.now = now or datetime.now(timezone.utc)
        self.extra = extra or ExtraEvidence()
        self._cluster: ClusterState | None = None
        self._eval_cache: dict[Any, Evaluation] = {}

    @property
    def cluster(self) -> ClusterState:
        if self._cluster is None:
            self._cluster = ClusterState(self.snapshot)
        return self._cluster

    # --- target lookup -------------------------------------------------------------------------
    def find(self, kind: str, name: str, namespace: str | None) -> m.Pod | m.Workload:
        snap = self.snapshot
        candidates: list[m.Pod] | list[m.Workload]
        if kind == "Pod":
            candidates = [p for p in snap.pods_by_name.get(name, ())
                          if namespace is None or p.namespace == namespace]
        else:
            candidates = [w for w in snap.workloads
                          if w.kind == kind and w.name == name and (namespace is None or w.namespace == namespace)]
        if len(candidates) == 1:
            return candidates[0]
        if len(candidates) > 1:
            spaces = ", ".join(sorted(c.namespace for c in candidates))
            raise InputError(f"{kind.lower()} {name!r} exists in several namespaces ({spaces})",
                             hint="pass -n NAMESPACE")
        if kind != "Pod" and not snap.has(kind):
            unread = self._unread_workload(kind, name, namespace)
            if unread is not None:
                return unread
        # Not found: only now collect the names to suggest from.
        if kind == "Pod":
            all_names = [p.name for p in snap.pods if namespace is None or p.namespace == namespace]
        else:
            all_names = [w.name for w in snap.workloads
                         if w.kind == kind and (namespace is None or w.namespace == namespace)]
        where = f" in namespace {namespace!r}" if namespace else ""
        close = difflib.get_close_matches(name, sorted(set(all_names)), n=3, cutoff=0.6)
        if not close and kind == "Pod":
            close = sorted({n for n in all_names if n.startswith(name)})[:3]
        message = f"{kind.lower()} {name!r} not found{where}"
        if not snap.has(kind) and not candidates:
            missing = [x for x in snap.meta.missing if x.resource.lower().startswith(kind.lower())]
            if missing and missing[0].reason.startswith("forbidden"):
                # Not knowable, not "not found": a permission problem (exit 3), like unreadable pods.
                raise ClusterError(f"cannot read {missing[0].resource}{where} to find {kind.lower()} {name!r}, "
                                   f"and no pod names it as its controller: {missing[0].reason}",
                                   hint=f"podtriage needs get/list on {missing[0].resource} (or pass a pod name); "
                                        f"check with `kubectl auth can-i list {missing[0].resource}"
                                        + (f" -n {namespace}`" if namespace else "`"))
            if missing:
                message += f" ({kind} objects could not be read: {missing[0].reason})"
            else:
                message += f" (the snapshot holds no {kind} objects)"
        raise TargetNotFound(message, close)

    def _unread_workload(self, kind: str, name: str, namespace: str | None) -> m.Workload | None:
        """A controller that could not be read, stood in for by the pods that name it as controller."""
        pods = self._pods_named_by_owner(kind, name, namespace)
        spaces = sorted({p.namespace for p in pods})
        if len(spaces) > 1:
            raise InputError(f"{kind.lower()} {name!r} has pods in several namespaces ({', '.join(spaces)})",
                             hint="pass -n NAMESPACE")
        return m.Workload(kind=kind, namespace=spaces[0], name=name) if spaces else None

    def _pods_named_by_owner(self, kind: str, name: str, namespace: str | None) -> list[m.Pod]:
        """Pods whose controller reference leads to KIND/NAME, using only the pods themselves.

        Deployment pods are owned by ReplicaSet `<name>-<pod-template-hash>` (the hash is also a pod
        label; without it, the hash's alphabet), CronJob pods by Job `<name>-<scheduled minute>`; other
        controllers own theirs directly.
        """
        out = []
        job = re.compile(re.escape(name) + r"-\d+")
        replica_set = re.compile(re.escape(name) + r"-[" + POD_TEMPLATE_HASH_ALPHABET + r"]{1,10}")
        for p in self.snapshot.pods:
            o = p.owner
            if o is None or (namespace is not None and p.namespace != namespace):
                continue
            if kind == "Deployment":
                h = p.labels.get("pod-template-hash")
                ok = o.kind == "ReplicaSet" and (o.name == f"{name}-{h}" if h else
                                                 replica_set.fullmatch(o.name) is not None)
            elif kind == "CronJob":
                ok = o.kind == "Job" and job.fullmatch(o.name) is not None
            else:
                ok = o.kind == kind and o.name == name
            if ok:
                out.append(p)
        return out

    # --- one pod -------------------------------------------------------------------------------
    def _evaluation(self, pod: m.Pod) -> Evaluation:
        key = (pod.namespace, repr(pod.node_selector), repr(pod.required_node_affinity), repr(pod.tolerations),
               repr(pod.containers), repr(pod.init_containers), repr(pod.overhead), repr(pod.volumes),
               repr(pod.topology_spread_constraints), repr(pod.pod_affinity), repr(pod.pod_anti_affinity),
               repr(sorted(pod.labels.items())), pod.node_name)
        ev = self._eval_cache.get(key)
        if ev is None:  # (ephemeral claim names carry the pod name, so they are in repr(volumes))
            ev = evaluate(pod, self.cluster)
            self._eval_cache[key] = ev
        return ev

    def pod_report(self, pod: m.Pod) -> tuple[PodReport, list[Signal], Timeline]:
        snap = self.snapshot
        events = snap.events_for("Pod", pod.namespace, pod.name, pod.uid)
        timeline = build_timeline(pod, events)
        status = kubectl_status(pod)
        missing: list[str] = []
        confidence = 1.0
        nodes_known = snap.has("Node")
        total = len(snap.nodes) if nodes_known else 0
        if not snap.has("Event"):
            missing.append("events could not be read: the scheduler's own messages are not compared")
            confidence *= CONFIDENCE_NO_EVENTS
        elif not events and pod.creation_timestamp and (age_seconds(pod.creation_timestamp, self.now) or 0) > 3600:
            missing.append("no events for this pod: they may have expired (the default event TTL is 1h)")
            confidence *= CONFIDENCE_EVENTS_EXPIRED
        claims_unknown = any(True for _ in claim_volumes(pod)) and \
            not knows(snap, "PersistentVolumeClaim", pod.namespace)
        if claims_unknown:
            missing.append("PersistentVolumeClaims could not be read: volume checks are incomplete")
            confidence *= CONFIDENCE_NO_PVCS
        if self.extra.scheduler_logs_requested and not self.extra.scheduler_logs:
            confidence *= CONFIDENCE_NO_SCHEDULER_LOGS  # the note itself comes from extra.missing_notes
        signals: list[Signal] = []
        groups: tuple[VerdictGroup, ...] = ()
        feasible: tuple[str, ...] = ()
        scheduler_view: dict[str, Any] = _scheduler_view(timeline)
        unscheduled = pod.phase == "Pending" and not pod.node_name and not pod.deletion_timestamp
        if unscheduled:
            fit = timeline.best_message()
            if nodes_known:
                ev = self._evaluation(pod)
                groups = tuple(scheduling.node_groups(ev))
                feasible = ev.feasible
                diag = scheduling.SchedulingDiagnosis(pod, snap, ev)
                signals += diag.signals()
                ours = _our_counts(ev)
                # The evaluation skipped the claims it could not read; the scheduler did not.
                unevaluated = scheduling.signals_from_message(pod, fit, CONFIDENCE_NO_PVCS, codes=VOLUME_CODES) \
                    if fit is not None and claims_unknown else []
                signals += unevaluated
                if _other_pods_unknown(snap, pod.namespace):
                    missing.append("pods in other namespaces could not be read: node usage, pod affinity and "
                                   "spreading count only this namespace's pods")
                    confidence *= CONFIDENCE_NO_OTHER_PODS
                if fit is not None and fit.total_nodes is not None:
                    disagreements = compare_counts(fit, ours, ev.total_nodes)
                    scheduler_view["comparison"] = [
                        {"code": d.code, "scheduler": d.scheduler_count, "ours": d.our_count, "note": d.note}
                        for d in disagreements]
                    if disagreements:
                        confidence *= CONFIDENCE_DISAGREEMENT
                else:
                    disagreements = []
                scheduler_view["ours"] = {"message": ev.fit_error(), "counts": ours}
                tried = bool(timeline.attempts) or (timeline.pod_scheduled is not None and
                                                    timeline.pod_scheduled.reason == "Unschedulable")
                # A reason the scheduler gives that podtriage does not reproduce blocks the pod (issue 13):
                # never "fits now" while the scheduler refuses it; the scheduler's own text is quoted.
                unreproduced = {d.code for d in disagreements if not d.our_count and d.scheduler_count
                                and d.code != "total-nodes"} if feasible else set()
                if feasible and fit is not None and fit.total_nodes is None and tried:
                    unreproduced = {rc.code for rc in fit.all_reasons}  # a scheduler error we do not see
                if unreproduced and not ev.prefilter and fit is not None:
                    signals += scheduling.signals_from_message(pod, fit, CONFIDENCE_DISAGREEMENT, codes=unreproduced)
                elif not ev.prefilter and feasible and not pod.scheduling_gates and tried and not unevaluated:
                    signals.append(_feasible_signal(pod, feasible, total, timeline))
            else:
                missing.append("nodes could not be read: no per-node verdicts; causes come from the "
                               "scheduler's own message")
                confidence *= CONFIDENCE_NO_NODES
                if fit is not None:
                    signals += scheduling.signals_from_message(pod, fit, CONFIDENCE_NO_NODES)
            signals = pending.gate_signals(pod, total) + signals
            signals += pending.scheduler_signals(pod, snap, events, total)
            resource_blocked = any(s.name in ("insufficient-resources", "extended-resource-exhausted",
                                              "too-many-pods") for s in signals)
            signals += pending.preemption_signals(pod, snap, fit, resource_blocked, total)
            signals += pending.autoscaler_signals(pod, events, total)
        bound = bool(pod.node_name) and not pod.is_terminal and not pod.deletion_timestamp
        if bound:
            # Bound to a node but not running: the kubelet side (images, config objects, mounts,
            # sandbox, init containers, cgroup OOM kills, the node itself).
            signals += kubelet.kubelet_signals(pod, snap, events, self.now, self.extra)
            unread = kubelet.unread_config_kinds(pod, snap)
            if unread and pod.phase == "Pending":
                missing.append(f"{' and '.join(unread)} objects could not be read: references to them are "
                               "not verified (metadata only would do)")
                confidence *= CONFIDENCE_NO_CONFIG
        signals += self.extra.scheduler_log_signals(pod, total)
        missing += self.extra.missing_notes(pod)
        for x in snap.meta.missing:
            missing.append(f"{x.resource}{' in ' + x.namespace if x.namespace else ''} could not be read: {x.reason}")
        signals = [replace(s, confidence=round(min(s.confidence, 1.0) * confidence, 3),
                           attempts=timeline.total_attempts) for s in signals]
        # A cause that does not block (background, corroboration) is never shown as critical/high.
        causes = [replace(c, severity="low") if not c.blocking and c.severity in ("critical", "high") else c
                  for c in self.rules.apply(signals)]
        best = timeline.best_message()
        fit_total = (best.total_nodes if best is not None else None) or 0
        causes = rank(causes, total_nodes=max(total if nodes_known else fit_total, 1),
                      total_attempts=timeline.total_attempts)
        pending_now = unscheduled or (bound and pod.phase == "Pending")
        blocked = pending_now and any(c.blocking for c in causes)
        report = PodReport(
            namespace=pod.namespace, name=pod.name, phase=pod.phase, status=status, node=pod.node_name,
            age=age(pod.creation_timestamp, self.now), blocked=blocked, root_causes=tuple(causes),
            node_groups=groups, total_nodes=total if nodes_known else None, feasible_nodes=feasible,
            scheduler=scheduler_view, missing=tuple(missing), confidence=round(confidence, 3),
        )
        return report, signals, timeline

    # --- the report ------------------------------------------------------------------------------
    def explain(self, target: str, namespace: str | None) -> Report:
        kind, name = parse_target(target)
        obj = self.find(kind, name, namespace)
        if isinstance(obj, m.Pod):
            pr, signals, _ = self.pod_report(obj)
            graph = build_graph(obj.key, pr.root_causes, signals)
            return self._report({"kind": "Pod", "namespace": obj.namespace, "name": obj.name}, pr.blocked,
                                pr.root_causes, (pr,), {}, pr.confidence, graph)
        return self._explain_workload(obj)

    def _explain_workload(self, w: m.Workload) -> Report:
        snap = self.snapshot
        owners = [w]
        if w.kind == "Deployment":
            owners += snap.workloads_by_owner.get(("Deployment", w.namespace, w.name), [])
        elif w.kind == "CronJob":
            owners += snap.workloads_by_owner.get(("CronJob", w.namespace, w.name), [])
        pods: list[m.Pod] = []
        for o in owners:
            pods += snap.pods_by_owner.get((o.kind, o.namespace, o.name), [])
        # The controller, or the ReplicaSets/Jobs between it and its pods, could not be read: find the
        # pods by their own owner references, and say so.
        unread = [k for k in dict.fromkeys((w.kind, POD_OWNER_OF.get(w.kind, w.kind))) if not snap.has(k)]
        workload_missing: list[str] = []
        if unread:
            seen = {p.uid or p.key for p in pods}
            pods += [p for p in self._pods_named_by_owner(w.kind, w.name, w.namespace) if (p.uid or p.key) not in seen]
            workload_missing.append(f"{' and '.join(unread)} objects could not be read: the pods of {w.kind.lower()}/"
                                    f"{w.name} were found by their owner references"
                                    + (" (pod-template-hash)" if w.kind == "Deployment" else "")
                                    + ("; its replica count and conditions are unknown" if w.kind in unread else ""))
        reports: list[PodReport] = []
        all_signals: list[Signal] = []
        for p in sorted(pods, key=lambda p: (p.phase != "Pending", p.name)):
            pr, sigs, _ = self.pod_report(p)
            reports.append(pr)
            all_signals += sigs
        # Pods that were never created: FailedCreate on the controllers.
        controller_events: list[m.Event] = []
        for o in owners:
            controller_events += snap.events_for(o.kind, o.namespace, o.name, o.uid)
        total = len(snap.nodes)
        admission: list[Signal] = []
        for o in owners:
            evs = snap.events_for(o.kind, o.namespace, o.name, o.uid)
            admission += pending.admission_signals(f"{o.kind}/{o.namespace}/{o.name}", evs, total)
        all_signals += admission
        admission_causes = rank(self.rules.apply(admission), total_nodes=max(total, 1), total_attempts=0)
        aggregated = _aggregate([(pr.key, c) for pr in reports for c in pr.root_causes] +
                                [(f"{w.kind}/{w.name}", c) for c in admission_causes])
        active = [p for p in pods if not p.is_terminal and not p.deletion_timestamp]
        desired = w.replicas
        missing_pods = max((desired or 0) - len(active), 0) if desired is not None else 0
        pending_pods = [p.key for p in active if p.phase == "Pending"]
        workload_info = {
            "kind": w.kind, "namespace": w.namespace, "name": w.name, "replicas": desired,
            "readyReplicas": w.ready_replicas, "availableReplicas": w.available_replicas,
            "pods": len(active), "pending": pending_pods, "missing": missing_pods,
            "events": [{"reason": e.reason, "type": e.type, "count": e.count, "message": e.message,
                        "lastSeen": e.last_timestamp} for e in controller_events if e.type == "Warning"][-10:],
            "conditions": [{"type": c.type, "status": c.status, "reason": c.reason, "message": c.message}
                           for c in w.conditions],
        }
        blocked = bool(pending_pods or missing_pods) and any(c.blocking for c in aggregated)
        confidence = min([pr.confidence for pr in reports] or [1.0])
        if workload_missing:
            confidence *= CONFIDENCE_NO_WORKLOADS
            aggregated = [replace(c, confidence=round(c.confidence * CONFIDENCE_NO_WORKLOADS, 3))
                          for c in aggregated]
        graph = build_graph(f"{w.kind}/{w.namespace}/{w.name}", aggregated, all_signals)
        return self._report({"kind": w.kind, "namespace": w.namespace, "name": w.name}, blocked,
                            tuple(aggregated), tuple(reports), workload_info, confidence, graph,
                            extra_missing=workload_missing)

    def _report(self, target: dict[str, str], blocked: bool, causes: Sequence[RootCause],
                pods: Sequence[PodReport], workload: dict[str, Any], confidence: float, graph: Any,
                extra_missing: Sequence[str] = ()) -> Report:
        meta = self.snapshot.meta
        source = {"kind": "live" if meta.source == "live" else "file", "path": meta.source,
                  "server": meta.cluster_server, "context": meta.context, "snapshotTime": meta.created,
                  "serverVersion": meta.server_version}
        missing = sorted({x for p in pods for x in p.missing} | set(extra_missing))
        return Report(
            schema_version=SCHEMA_VERSION, podtriage_version=__version__,
            generated=self.now.strftime("%Y-%m-%dT%H:%M:%SZ"), source=source, target=target, blocked=blocked,
            root_causes=tuple(causes), pods=tuple(pods), workload=workload, missing=tuple(missing),
            warnings=tuple(meta.warnings[:50]), confidence=round(confidence, 3), graph=to_node_link(graph),
        )


def _other_pods_unknown(snap: Snapshot, namespace: str) -> bool:
    """Pods outside `namespace` were meant to be read (they occupy nodes) and could not be."""
    return any(x.resource == "pods" and x.namespace != namespace for x in snap.meta.missing)


def _our_counts(ev: Evaluation) -> dict[str, int]:
    """Our verdicts reduced like the scheduler's message (an empty cluster is 'no nodes')."""
    return ev.code_counts() or ({"no-nodes": 0} if ev.total_nodes == 0 else {})


def _scheduler_view(t: Timeline) -> dict[str, Any]:
    latest = t.latest
    cond = t.pod_scheduled
    return {
        "attempts": [{"firstSeen": a.first_seen, "lastSeen": a.last_seen, "count": a.count,
                      "message": a.raw_message, "source": a.source, "event": a.event_name} for a in t.attempts],
        "totalAttempts": t.total_attempts,
        "message": latest.raw_message if latest else "",
        "condition": {"status": cond.status, "reason": cond.reason, "message": cond.message,
                      "lastTransitionTime": cond.last_transition_time} if cond else None,
        "schedulers": list(t.schedulers),
    }


def _feasible_signal(pod: m.Pod, feasible: Sequence[str], total: int, t: Timeline) -> Signal:
    """Some node fits now: the failure is stale, or a scheduler with other plugins disagrees."""
    names = ", ".join(feasible[:3])
    ev = EvidenceItem(kind="node-verdict", summary=f"{len(feasible)}/{total} node(s) pass every default filter "
                                                   f"now: {names}", source="podtriage filters",
                      data={"feasible": list(feasible[:50])})
    return Signal(name="fits-now", blocking=False, confidence=0.7,
                  params={"pod": pod.key, "total_nodes": total, "nodes_count": len(feasible),
                          "node_examples": names, "node_example": feasible[0],
                          "last_attempt": t.latest.last_seen if t.latest else ""},
                  evidence=(ev,), effects=("the cluster changed since the last scheduling attempt",))


def _aggregate(items: list[tuple[str, RootCause]]) -> list[RootCause]:
    """Same rule and same message across pods -> one root cause listing the pods."""
    merged: dict[tuple[str, str], tuple[RootCause, list[str]]] = {}
    for pod_key, c in items:
        k = (c.rule, c.message.replace(pod_key, "{pod}"))
        if k in merged:
            merged[k][1].append(pod_key)
        else:
            merged[k] = (c, [pod_key])
    out = [replace(c, pods=tuple(pods), score=c.score * (1 + 0.1 * (len(pods) - 1))) for c, pods in merged.values()]
    out.sort(key=lambda c: (not c.blocking, -c.score, c.rule))
    return out
