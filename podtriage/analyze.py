"""explain: snapshot + target -> Report. The only place that wires the stages together.

snapshot -> evidence (per-node evaluation, timeline) -> signals -> rules -> graph -> ranked report.
"""

from __future__ import annotations

import difflib
import gc
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timezone
from typing import Any, Sequence

from . import SCHEMA_VERSION, __version__
from . import model as m
from .diagnose import accelerators, autoscaling, gang, kubelet, pending, queueing, scheduling, serving
from .diagnose.extra import ExtraEvidence
from .diagnose.status import age, age_seconds, kubectl_status
from .errors import ClusterError, InputError, TargetNotFound
from .evidence.timeline import Timeline, build_timeline, compare_counts
from .findings import EvidenceItem, Fix, PodReport, Report, RootCause, Signal, VerdictGroup
from .decide.fixes import Context as FixContext
from .decide.fixes import first_fix, fixes_for
from .decide.preemption import preemption_outlook
from .decide.ranking import rank, rank_causes
from .graph import build_graph, to_node_link
from .judged import judgement_time
from .rulebook import RuleSet
from .scheduler.framework import ClusterState, Evaluation, effective_requests, evaluate, host_ports
from .scheduler.plugins.volume_binding import claim_volumes, knows
from .snapshot import Snapshot

KIND_ALIASES = {
    "pod": "Pod", "pods": "Pod", "po": "Pod",
    "deployment": "Deployment", "deployments": "Deployment", "deploy": "Deployment",
    "statefulset": "StatefulSet", "statefulsets": "StatefulSet", "sts": "StatefulSet",
    "daemonset": "DaemonSet", "daemonsets": "DaemonSet", "ds": "DaemonSet",
    "replicaset": "ReplicaSet", "replicasets": "ReplicaSet", "rs": "ReplicaSet",
    "job": "Job", "jobs": "Job", "cronjob": "CronJob", "cronjobs": "CronJob", "cj": "CronJob",
    # KServe (diagnose/serving.py): the predictor's workloads and pods
    "inferenceservice": "InferenceService", "inferenceservices": "InferenceService", "isvc": "InferenceService",
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
# Scheduler-log signals that repeat what the filters already explain (the logged FitError).
_LOG_CORROBORATION = frozenset({"scheduler-log-no-fit"})
# A controller whose pods are found through another controller: Deployment -> ReplicaSet, CronJob -> Job.
POD_OWNER_OF = {"Deployment": "ReplicaSet", "CronJob": "Job"}
POD_TEMPLATE_HASH_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # rand.SafeEncodeString: no vowels, no 0/1/3


@contextmanager
def fewer_full_collections(every: int = 1000, young: int = 1_000_000) -> Iterator[None]:
    """Full garbage collections `every` 1/100th as often, and young ones after `young` new objects
    (net of those freed) rather than 700, while many pods are explained.

    Each evaluation makes a Failure and a NodeVerdict per node, kept while its pods are explained
    (and in the evaluation cache) and then dropped: that churn of long-lived objects triggers a
    full collection every few hundred thousand objects, each traversing everything not frozen
    after loading. Measured on 1,000 distinct Pending pods at 1,000 nodes: a third of the audit's
    CPU time. The young collections then walk every verdict of the evaluations still cached, twice
    each, before they die by reference count: with a young generation of 200,000 objects most die
    first (the same audit: 15% less CPU, the same as with the collector off). 200,000 was still too
    few at 5,000 nodes: the evaluations kept for the pods of a shape hold a verdict per node, each
    young collection walked them (156 collections, 23 of the scan's 108 CPU s on 10,000 distinct
    Pending pods); after 1,000,000 there were 2 (0.5 s, the scan 80 CPU s). The objects hold no
    reference cycles to speak of (34,000 cyclic objects left after that whole scan run with the
    collector off), so collecting them rarely costs no memory, and the garbage a cycle could
    leave is bounded by those thresholds; they are restored afterwards."""
    old = gc.get_threshold()
    gc.set_threshold(max(old[0], young), old[1], max(old[2], every))
    try:
        yield
    finally:
        gc.set_threshold(*old)


def parse_target(target: str) -> tuple[str, str]:
    """'web-0' -> ('Pod', 'web-0'); 'deploy/web' -> ('Deployment', 'web')."""
    if "/" in target:
        kind, _, name = target.partition("/")
        canonical = KIND_ALIASES.get(kind.lower().split(".")[0])
        if canonical is None:
            raise InputError(f"unknown resource type {kind!r} in {target!r}",
                             hint="use pod/NAME, deployment/NAME, statefulset/NAME, daemonset/NAME, "
                                  "replicaset/NAME, job/NAME, cronjob/NAME or inferenceservice/NAME")
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
        # Ages are measured to the snapshot's own time (podtriage.judged), unless a caller says when.
        self.generated = datetime.now(timezone.utc)
        if now is not None:
            self.now, self.judged_by = now, "given"
        else:
            self.now, self.judged_by = judgement_time(snapshot, self.generated)
        self.extra = extra or ExtraEvidence()
        self._cluster: ClusterState | None = None
        self._queues: queueing.Queues | None = None
        self._eval_cache: dict[Any, Evaluation] = {}

    @property
    def cluster(self) -> ClusterState:
        if self._cluster is None:
            self._cluster = ClusterState(self.snapshot)
        return self._cluster

    @property
    def queues(self) -> queueing.Queues:
        """Kueue's objects indexed once for every pod explained (and this explainer's ClusterState)."""
        if self._queues is None:
            self._queues = queueing.Queues(self.snapshot, cluster=lambda: self.cluster)
        return self._queues

    # --- target lookup -------------------------------------------------------------------------
    def find(self, kind: str, name: str, namespace: str | None) -> m.Pod | m.Workload:
        snap = self.snapshot
        candidates: list[m.Pod] | list[m.Workload]
        if kind == "Pod":
            candidates = [p for p in snap.pods_by_name.get(name, ())
                          if namespace is None or p.namespace == namespace]
        elif kind == serving.KIND:
            candidates = serving.find(snap, name, namespace)
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
        # The pod's labels and namespace matter only to affinity and spreading (its own terms, or
        # other pods' anti-affinity that may select it) and, the namespace, to its claims. Without
        # them, pods that differ only in labels or namespace share one evaluation.
        labels_matter = bool(pod.pod_affinity or pod.pod_anti_affinity or pod.topology_spread_constraints
                             or self.cluster.pods_with_affinity)
        namespace = pod.namespace if labels_matter or any(v.claim_name for v in pod.volumes) else ""
        # ResourceClaims (DynamicResources) resolve in the pod's namespace, by the names its status
        # records for templates, and a claim not created yet is reported naming the pod: a pod with
        # claims shares its evaluation with no other pod.
        claims = (pod.namespace, pod.name, repr(pod.resource_claims),
                  repr(sorted(pod.resource_claim_statuses.items()))) if pod.resource_claims else ()
        # Of the containers, the filters see only the effective request and the host ports (not the
        # image, env or names), so replicas of different workloads with the same shape share.
        key = (namespace, repr(pod.node_selector), repr(pod.required_node_affinity), repr(pod.tolerations),
               repr(sorted(effective_requests(pod).items())), repr(host_ports(pod)), repr(pod.volumes),
               repr(pod.topology_spread_constraints), repr(pod.pod_affinity), repr(pod.pod_anti_affinity),
               repr(sorted(pod.labels.items())) if labels_matter else "", pod.node_name, claims)
        ev = self._eval_cache.pop(key, None)
        if ev is not None:
            self._eval_cache[key] = ev  # most recently used last (the audit trims the oldest)
        else:  # (ephemeral claim names carry the pod name, so they are in repr(volumes))
            ev = evaluate(pod, self.cluster)
            self._eval_cache[key] = ev
        return ev

    def _after_prefilter(self, pod: m.Pod, ev: Evaluation) -> Evaluation | None:
        """After a PreFilter rejection for a claim (missing, unbound, deleting), the pod evaluated
        as if its claims were fine: what would still block the nodes once the claim is fixed. The
        claims are left out, so pods that differ only in their claims' names share it. None for
        other PreFilter rejections (the pod's own placement contradicts itself)."""
        if not ev.prefilter:
            return ev
        if not all(f.code in VOLUME_CODES for f in ev.prefilter):
            return None
        kept = tuple(v for v in pod.volumes if not v.claim_name)
        return self._evaluation(replace(pod, volumes=kept))

    def pod_report(self, pod: m.Pod) -> tuple[PodReport, list[Signal], Timeline]:
        snap = self.snapshot
        events = snap.events_for("Pod", pod.namespace, pod.name, pod.uid)
        timeline = build_timeline(pod, events)
        status = kubectl_status(pod)
        missing: list[str] = []
        confidence = 1.0
        nodes_known = snap.has("Node")
        total = len(snap.nodes) if nodes_known else 0
        # (a pod that runs needs no scheduling events to be explained: no note, no lower confidence)
        if not snap.has("Event") and pod.phase == "Pending":
            missing.append(_no_objects_note(snap, "events", "Event",
                                            "the scheduler's own messages are not compared"))
            confidence *= CONFIDENCE_NO_EVENTS
        elif not events and pod.phase == "Pending" and pod.creation_timestamp and \
                (age_seconds(pod.creation_timestamp, self.now) or 0) > 3600:
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
        diag: scheduling.SchedulingDiagnosis | None = None
        after: Evaluation | None = None
        scheduler_view: dict[str, Any] = _scheduler_view(timeline)
        unscheduled = pod.phase == "Pending" and not pod.node_name and not pod.deletion_timestamp
        log_signals = self.extra.scheduler_log_signals(pod, total)
        # The scheduler's own log says why it did not bind the pod (a bind error, an extender's
        # error, no leader): that refusal blocks the pod everywhere, whatever the filters say.
        log_explains = [s for s in log_signals if s.blocking and s.name not in _LOG_CORROBORATION]
        # A coscheduling PodGroup short of its minMember: its plugin refuses the pod before any filter
        group_short = gang.pod_signals(pod, snap, total) if pod.phase == "Pending" and not pod.node_name else []
        if unscheduled:
            fit = timeline.best_message()
            if nodes_known:
                ev = self._evaluation(pod)
                groups = tuple(scheduling.node_groups(ev))
                feasible = ev.feasible
                after = self._after_prefilter(pod, ev)
                diag = scheduling.SchedulingDiagnosis(pod, snap, ev, after=after)
                signals += autoscaling.refine_all(accelerators.refine_all(diag.signals(), pod, snap), pod, snap)
                ours = _our_counts(ev)
                # The evaluation skipped the claims it could not read; the scheduler did not.
                unevaluated = scheduling.signals_from_message(pod, fit, CONFIDENCE_NO_PVCS, codes=VOLUME_CODES) \
                    if fit is not None and claims_unknown else []
                signals += unevaluated
                if _other_pods_unknown(snap, pod.namespace):
                    missing.append("pods in other namespaces could not be read: node usage, pod affinity and "
                                   "spreading count only this namespace's pods")
                    confidence *= CONFIDENCE_NO_OTHER_PODS
                disagreements = []
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
                if not ev.prefilter and feasible and not pod.scheduling_gates and tried and not unevaluated \
                        and not log_explains and not group_short:
                    # Never "fits now" while the scheduler refuses the pod, unless the cluster changed
                    # since: a reason the scheduler gives that podtriage does not reproduce (or a
                    # scheduler error) blocks the pod, as the cause it names when it names one, quoting it.
                    refused = _feasible_or_refused(pod, snap, feasible, total, timeline, fit, disagreements)
                    unreproduced = {d.code for d in disagreements if not d.our_count and d.scheduler_count
                                    and d.code != "total-nodes"}
                    if fit is not None and fit.total_nodes is None:
                        unreproduced = {rc.code for rc in fit.all_reasons}  # a scheduler error we do not see
                    named = [] if fit is None or refused.name == "fits-now" else scheduling.signals_from_message(
                        pod, fit, CONFIDENCE_DISAGREEMENT, codes=unreproduced)
                    known = [s for s in named if s.name != "unknown-scheduling-failure"]
                    # reasons no plugin of ours produces are quoted by scheduler-refuses
                    signals += known + ([refused] if not known or len(known) < len(named) else [])
                elif fit is not None and not group_short:
                    signals += _unmodelled_reasons(pod, fit, total)
                if fit is not None and not feasible and tried and not pod.scheduling_gates and \
                        not any(s_.blocking for s_ in signals):
                    # The scheduler refuses the pod and no node is feasible, yet no cause came out of
                    # the diagnosis: never "nothing blocks it"; the scheduler's word is the cause.
                    signals += _unmodelled_reasons(pod, fit, total, every_reason=True)
            else:
                missing.append(_no_objects_note(snap, "nodes", "Node", "no per-node verdicts; causes come from "
                                                "the scheduler's own message"))
                confidence *= CONFIDENCE_NO_NODES
                if fit is not None:
                    signals += scheduling.signals_from_message(pod, fit, CONFIDENCE_NO_NODES)
            # Kueue's gate: the cause is in its Workload and queues (diagnose/queueing.py), not the gate
            queued = queueing.pod_signals(pod, snap, total, self.queues)
            gates = [] if queued and set(pod.scheduling_gates) == {queueing.GATE} else pending.gate_signals(pod, total)
            signals = queued + gates + signals
            signals += autoscaling.hpa_signals(pod, snap, total)  # replicas an HPA added (context)
            signals += group_short
            signals += pending.scheduler_signals(pod, snap, events, total)
            resource_blocked = any(s.name in ("insufficient-resources", "extended-resource-exhausted",
                                              "too-many-pods") for s in signals)
            signals += pending.preemption_signals(pod, snap, fit, resource_blocked, total)
            if diag is not None and diag.nodes_known and diag.intent.targets and resource_blocked:
                signals += preemption_outlook(pod, self.cluster, after or ev, diag.intent.targets, total)
            target_names = diag.intent.targets if diag is not None else ()
            signals += pending.autoscaler_signals(pod, events, total, snap, target_names,
                                                  diag.requests if diag is not None else None)
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
        signals += [replace(s, scope="pod") if s in log_explains else s for s in log_signals]
        missing += self.extra.missing_notes(pod)
        for x in snap.meta.missing:
            if not _addon_relevant(pod, x.resource):
                continue  # an add-on's API this pod has nothing to do with (no Kueue gate, no VPA)
            missing.append(f"{x.resource}{' in ' + x.namespace if x.namespace else ''} could not be read: {x.reason}")
        signals = [replace(s, confidence=round(min(s.confidence, 1.0) * confidence, 3),
                           attempts=timeline.total_attempts) for s in signals]
        # A cause that does not block (background, corroboration) is never shown as critical/high.
        causes = [replace(c, severity="low") if not c.blocking and c.severity in ("critical", "high") else c
                  for c in self.rules.apply(signals)]
        best = timeline.best_message()
        fit_total = (best.total_nodes if best is not None else None) or 0
        total_for_score = max(total if nodes_known else fit_total, 1)
        placement: dict[str, Any] = {}
        if diag is not None:
            # Intent-aware and counterfactual: podtriage.decide says which change comes first.
            fix_ctx = FixContext.of(pod, snap, diag.intent)
            causes = [_with_fixes(c, fixes_for(sig, fix_ctx)) for sig, c in zip(signals, causes)]
            causes = rank_causes(signals, causes, diag.candidates, hypothetical=diag.hypothetical,
                                 total_nodes=total_for_score, total_attempts=timeline.total_attempts)
            causes = _preemption_in_context(causes)
            placement = _placement(diag)
        else:
            causes = rank(causes, total_nodes=total_for_score, total_attempts=timeline.total_attempts)
        pending_now = unscheduled or (bound and pod.phase == "Pending")
        blocked = pending_now and any(c.blocking for c in causes)
        report = PodReport(
            namespace=pod.namespace, name=pod.name, phase=pod.phase, status=status, node=pod.node_name,
            age=age(pod.creation_timestamp, self.now), blocked=blocked, root_causes=tuple(causes),
            node_groups=groups, total_nodes=total if nodes_known else None, feasible_nodes=feasible,
            scheduler=scheduler_view, missing=tuple(missing), confidence=round(confidence, 3),
            placement=placement,
        )
        return report, signals, timeline

    # --- the report ------------------------------------------------------------------------------
    def explain(self, target: str, namespace: str | None) -> Report:
        kind, name = parse_target(target)
        obj = self.find(kind, name, namespace)
        if isinstance(obj, m.Pod):
            pr, signals, _ = self.pod_report(obj)
            # The graph's target says what the pod is: "Pod default/web-0 Running" for one that runs.
            symptom = None if obj.phase == "Pending" else f"Pod {obj.key} {pr.status or obj.phase or 'Unknown'}"
            graph = build_graph(obj.key, pr.root_causes, signals, symptom=symptom)
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
        elif w.kind == serving.KIND:  # the predictor's Deployments and their ReplicaSets
            for d in serving.predictor_workloads(snap, w.namespace, w.name):
                owners += [d, *snap.workloads_by_owner.get(("Deployment", d.namespace, d.name), [])]
        pods: list[m.Pod] = []
        for o in owners:
            pods += snap.pods_by_owner.get((o.kind, o.namespace, o.name), [])
        if w.kind == serving.KIND:
            seen_keys = {p.key for p in pods}
            pods += [p for p in serving.labelled_pods(snap, w.namespace, w.name) if p.key not in seen_keys]
        # The controller, or the ReplicaSets/Jobs between it and its pods, could not be read: find the
        # pods by their own owner references, and say so.
        unread = [k for k in dict.fromkeys((w.kind, POD_OWNER_OF.get(w.kind, w.kind))) if not snap.has(k)] \
            if w.kind != serving.KIND else []
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
            admission += [accelerators.refine_quota(s, snap, o.namespace)  # who holds a GPU quota
                          for s in pending.admission_signals(f"{o.kind}/{o.namespace}/{o.name}", evs, total)]
            admission += queueing.workload_signals(o, snap, total, self.queues)  # a suspended Job: Kueue, or nobody
        admission += serving.signals(w, snap, pods, total)  # KServe made no predictor: its status says why
        admission += gang.signals(w, pods, snap, total)  # a training gang partly placed: one unit
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
        symptom = None if pending_pods or missing_pods else f"{w.kind} {w.namespace}/{w.name}: no pod Pending"
        graph = build_graph(f"{w.kind}/{w.namespace}/{w.name}", aggregated, all_signals, symptom=symptom)
        return self._report({"kind": w.kind, "namespace": w.namespace, "name": w.name}, blocked,
                            tuple(aggregated), tuple(reports), workload_info, confidence, graph,
                            extra_missing=workload_missing)

    def _report(self, target: dict[str, str], blocked: bool, causes: Sequence[RootCause],
                pods: Sequence[PodReport], workload: dict[str, Any], confidence: float, graph: Any,
                extra_missing: Sequence[str] = ()) -> Report:
        meta = self.snapshot.meta
        source = {"kind": "live" if meta.source == "live" else "file", "path": meta.source,
                  "server": meta.cluster_server, "context": meta.context, "snapshotTime": meta.created,
                  "serverVersion": meta.server_version,
                  "judgedAt": self.now.strftime("%Y-%m-%dT%H:%M:%SZ"), "judgedAtFrom": self.judged_by}
        missing = sorted({x for p in pods for x in p.missing} | set(extra_missing))
        return Report(
            schema_version=SCHEMA_VERSION, podtriage_version=__version__,
            generated=self.generated.strftime("%Y-%m-%dT%H:%M:%SZ"), source=source, target=target,
            blocked=blocked,
            root_causes=tuple(causes), pods=tuple(pods), workload=workload, missing=tuple(missing),
            warnings=tuple(meta.warnings[:50]), confidence=round(confidence, 3), graph=to_node_link(graph),
        )


# Add-on APIs (collect/live.py Resource.addon) and which pods they matter to: an identity without
# access to Kueue's or the VPA's objects is told so only where they would have explained something.
_ADDON_RESOURCES = {"workloads": "kueue", "localqueues": "kueue", "clusterqueues": "kueue",
                    "resourceflavors": "kueue", "verticalpodautoscalers": "vpa", "inferenceservices": "kserve",
                    "clusterpolicies": "gpu", "horizontalpodautoscalers": "hpa", "podgroups": "gang"}


def _addon_relevant(pod: m.Pod, resource: str) -> bool:
    which = _ADDON_RESOURCES.get(resource)
    if which is None:
        return True
    if which == "gpu":  # the GPU Operator's ClusterPolicy: pods that ask for NVIDIA devices or labels
        return any(r.startswith("nvidia.com/") for r in effective_requests(pod)) or any(
            k.startswith("nvidia.com/") for k in pod.node_selector)
    if which == "hpa":
        return pod.owner is not None and pod.owner.kind in ("ReplicaSet", "StatefulSet")
    if which == "gang":
        return gang.POD_GROUP_LABEL in pod.labels
    if which == "kueue":
        return queueing.GATE in pod.scheduling_gates or queueing.QUEUE_LABEL in pod.labels
    if which == "vpa":
        return bool(pod.vpa_updates)
    return serving.LABEL in pod.labels


def _no_objects_note(snap: Snapshot, resource: str, kind: str, consequence: str) -> str:
    """Why a kind is absent: objects that could not be read are not objects the input never held
    (a file of pods alone says nothing about the cluster's nodes or events)."""
    if any(x.resource == resource for x in snap.meta.missing) or snap.meta.source == "live":
        return f"{resource} could not be read: {consequence}"
    return f"the input holds no {kind} objects: {consequence} (add `kubectl get {resource} -o yaml` to it)"


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


def _changed_since(snap: Snapshot, feasible: Sequence[str], t: Timeline,
                   disagreements: Sequence[Any]) -> list[str]:
    """Evidence that the cluster changed after the scheduler's last attempt in a way that frees
    `feasible`: a node that joined or became Ready since, or a different node count."""
    last = t.latest.last_seen if t.latest else ""
    out: list[str] = []
    if not last:
        return out
    for name in feasible[:200]:
        node = snap.node_by_name.get(name)
        if node is None:
            continue
        if node.creation_timestamp and node.creation_timestamp > last:
            out.append(f"node {name} joined at {node.creation_timestamp}, after the last attempt ({last})")
        ready = node.condition("Ready")
        if ready and ready.status == "True" and ready.last_transition_time > last:
            out.append(f"node {name} became Ready at {ready.last_transition_time}, after the last attempt ({last})")
    for d in disagreements:
        if getattr(d, "code", "") == "total-nodes":
            out.append(d.note)
    return out


def _feasible_or_refused(pod: m.Pod, snap: Snapshot, feasible: Sequence[str], total: int, t: Timeline,
                         fit: Any, disagreements: Sequence[Any]) -> Signal:
    """Some node passes every default filter now, yet the scheduler refused the pod.

    "It fits now" is said only with evidence that the cluster changed since the refusal. Otherwise
    the scheduler's word wins: it rejects the pod for a reason podtriage does not reproduce (a
    plugin it does not model, a newer or older scheduler), so the pod is blocked and the answer
    quotes the scheduler, with lower confidence.
    """
    names = ", ".join(feasible[:3]) + (", ..." if len(feasible) > 3 else "")
    changed = _changed_since(snap, feasible, t, disagreements)
    ev = [EvidenceItem(kind="node-verdict", summary=f"{len(feasible)}/{total} node(s) pass every default filter "
                                                    f"now: {names}", source="podtriage filters",
                       data={"feasible": list(feasible[:50])})]
    last = t.latest.last_seen if t.latest else ""
    base = {"pod": pod.key, "total_nodes": total, "nodes_count": len(feasible), "node_examples": names,
            "node_example": feasible[0], "last_attempt": last}
    if changed:
        ev += [EvidenceItem(kind="object", summary=c, source="Node list") for c in changed[:5]]
        return Signal(name="fits-now", blocking=False, confidence=0.7, params={**base, "change": changed[0]},
                      evidence=tuple(ev), effects=("the cluster changed since the last scheduling attempt",))
    quoted = (fit.raw if fit is not None else (t.latest.raw_message if t.latest else ""))[:600]
    unknown = [r.reason for r in (fit.reasons if fit is not None else ()) if r.code == "other"]
    ev.append(EvidenceItem(kind="event", summary=f"scheduler: {quoted}", source="FailedScheduling message / "
                           "PodScheduled condition", data={"message": quoted}, time=last))
    return Signal(name="scheduler-refuses", blocking=True, confidence=0.6, scope="pod",
                  params={**base, "scheduler_message": quoted, "unknown_reasons": "; ".join(unknown[:5]),
                          "mode": "refuses"},
                  evidence=tuple(ev), subject=f"Pod/{pod.key}",
                  effects=("the scheduler rejects the pod for a reason podtriage does not reproduce",))


def _unmodelled_reasons(pod: m.Pod, fit: Any, total: int, every_reason: bool = False) -> list[Signal]:
    """Reasons in the scheduler's message that no emulated plugin produces (`every_reason`: all of
    them, when the diagnosis named no cause): quoted as a blocking cause of lower confidence."""
    unknown = [r for r in fit.reasons if every_reason or r.code == "other"]
    if fit.prefilter is not None and (every_reason or fit.prefilter.code == "other"):
        unknown.insert(0, fit.prefilter)
    if not unknown:
        return []
    quoted = fit.raw[:600]
    listed = "; ".join(f"{r.count} {r.reason}" if r.count is not None else r.reason for r in unknown[:5])
    ev = EvidenceItem(kind="event", summary=f"scheduler: {quoted}", source="FailedScheduling message",
                      data={"message": quoted})
    count = sum(r.count or 0 for r in unknown) or total
    return [Signal(name="scheduler-refuses", blocking=True, confidence=0.6, scope="",
                   params={"pod": pod.key, "total_nodes": total, "nodes_count": count,
                           "node_examples": "none named by podtriage" if every_reason else "",
                           "node_example": "NODE", "last_attempt": "", "scheduler_message": quoted,
                           "unknown_reasons": listed, "mode": "refuses" if every_reason else "unmodelled"},
                   evidence=(ev,), subject=f"Pod/{pod.key}",
                   effects=("the scheduler rejects the pod for a reason podtriage does not reproduce",))]


# Causes about room on the nodes, which preemption could make.
_ROOM = frozenset({"insufficient-resources", "extended-resource-exhausted", "too-many-pods"})


def _preemption_in_context(causes: Sequence[RootCause]) -> list[RootCause]:
    """Whether preemption could help is said only when room is what the answer needs: the top cause,
    or one it says still blocks, is about room (and the pod is not larger than any node, which no
    eviction changes). A pod blocked by a missing claim needs no word about preemption on the few
    full nodes among its targets."""
    top = next((c for c in causes if c.blocking), None)
    rules = {top.rule, *(x.get("rule") for x in top.still_blocked_by)} if top else set()
    room = any(c.signal in _ROOM and c.rule in rules and c.rule != "pod-larger-than-any-node" for c in causes)
    return [c for c in causes if room or c.signal not in ("preemption-can-help", "preemption-cannot-help")]


def _with_fixes(cause: RootCause, fixes: Sequence[Fix]) -> RootCause:
    """The cause with its structured fixes; the command shown is the first safe one's."""
    first = first_fix(fixes)
    return replace(cause, fixes=tuple(fixes), fix_command=first.command if first and first.command
                   else cause.fix_command)


def _placement(diag: scheduling.SchedulingDiagnosis) -> dict[str, Any]:
    """Where the pod wants to run, for the report: the target nodes and the terms behind them."""
    intent = diag.intent
    return {"targetNodes": len(intent.targets), "targets": list(intent.targets[:20]),
            "constraints": [{"term": t.id, "text": t.text, "nodes": len(t.nodes)} for t in intent.terms],
            "controlPlaneExcluded": len(intent.control_plane_excluded),
            "corrected": {"description": diag.hypothetical, "nodes": list(diag.candidates[:20])}
            if diag.hypothetical else None}


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
