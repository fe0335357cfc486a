"""Wire one audit together: scan -> risk checks -> suppressions -> delta -> AuditReport."""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from datetime import datetime
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .. import SCHEMA_VERSION, __version__
from .. import model as m
from ..analyze import Explainer, fewer_full_collections
from ..rulebook import RuleSet
from ..snapshot import Snapshot
from .delta import compute_delta
from .model import AuditReport, Finding, PendingPod
from .risks import risk_findings
from ..owners import owner_chain
from .scan import ProgressFn, ScanMemo, ScanScope, _workload_key, fold_findings, in_scope, scan
from .selector import parse_selector
from .suppress import AuditConfig, apply_suppressions


_TERMINAL = ("Succeeded", "Failed")  # m.Pod.is_terminal, inlined in the per-pod loop


@dataclass(frozen=True)
class AuditOptions:
    scope: ScanScope = field(default_factory=ScanScope)
    config: AuditConfig = field(default_factory=AuditConfig)
    fail_on: str = "critical"
    previous: dict[str, Any] | None = None
    previous_path: str = ""
    risks: bool = True


def run_audit(snapshot: Snapshot, rules: RuleSet, options: AuditOptions, *, now: datetime | None = None,
              progress: ProgressFn | None = None, started: float | None = None,
              memo: ScanMemo | None = None) -> AuditReport:
    """The audit of one snapshot. `started` (time.perf_counter) lets the duration include collection;
    `memo` (podtriage watch) reuses analyses of the previous scan where scan.ScanMemo allows."""
    t0 = started if started is not None else time.perf_counter()
    snap = snapshot
    ex = Explainer(snap, rules, now)  # ages measured to the snapshot's own time unless `now` is given
    now = ex.now
    with fewer_full_collections():
        result = scan(snap, rules, options.scope, now=now, progress=progress, explainer=ex, memo=memo)
    findings: list[Finding] = list(result.findings)
    if options.risks:
        # Not forked like the loader: after loading, a fork makes both processes copy every page
        # they touch (reference counts), which cost more than the checks themselves (measured).
        findings += _without_blocked(_risk_checks(snap, options), result.findings)

    # Suppressions expire by the calendar of the night the report is made, not the snapshot's.
    active, suppressed, expired, unused = apply_suppressions(findings, options.config.suppressions,
                                                             ex.generated.date() if ex.judged_by != "given" else now.date())
    # Fold after suppressing (an entry can name one object's finding) and before comparing.
    active, suppressed = fold_findings(active), fold_findings(suppressed)
    scope = {**options.scope.to_dict(),
             "suppressions": [s.to_dict() for s in options.config.suppressions if s not in expired]}
    delta = None
    if options.previous is not None:
        delta, active = compute_delta(options.previous, options.previous_path, active, scope=scope,
                                      suppressed=suppressed, labels_of=_labels_of(snap))
    active.sort(key=lambda f: f.impact_key())
    suppressed.sort(key=lambda f: f.impact_key())

    by_sev: dict[str, int] = {}
    for f in active:
        by_sev[f.severity] = by_sev.get(f.severity, 0) + 1
    blocking = [f for f in active if f.kind == "blocking"]
    workloads_blocked = {w.key for f in blocking for w in f.workloads}
    meta = snap.meta
    source = {"kind": "live" if meta.source == "live" else "file", "path": meta.source,
              "server": meta.cluster_server, "context": meta.context, "snapshotTime": meta.created,
              "serverVersion": meta.server_version, "judgedAt": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
              "judgedAtFrom": ex.judged_by}
    counts = {
        "nodes": len(snap.nodes), "pods": len(snap.pods), "scannedPods": result.scanned_pods,
        "pendingPods": result.pending_pods, "analyses": result.analyses,
        "blockedPods": len({p.key for f in blocking for p in f.pods}),
        "workloadsBlocked": len(workloads_blocked), "workloadsMissingPods": result.workloads_missing_pods,
        "findings": len(active), "blockingFindings": len(blocking),
        "riskFindings": sum(1 for f in active if f.kind == "risk"),
        "findingsBySeverity": by_sev, "suppressedFindings": len(suppressed),
        "suppressedPods": sum(len(f.pods) for f in suppressed) + sum(f.suppressed_pods for f in active),
    }
    missing = tuple({"resource": x.resource, "namespace": x.namespace, "reason": x.reason} for x in meta.missing)
    warnings = list(meta.warnings[:50])
    warnings += [f"{s.describe()} expired on {s.expires} and no longer applies: {s.reason}" for s in expired]
    return AuditReport(
        schema_version=SCHEMA_VERSION, podtriage_version=__version__,
        generated=(now if ex.judged_by == "given" else ex.generated).strftime("%Y-%m-%dT%H:%M:%SZ"),
        duration_seconds=time.perf_counter() - t0,
        source=source, scope=scope, counts=counts, missing=missing, warnings=tuple(warnings),
        findings=tuple(active), suppressed=tuple(suppressed), pending=_refold(result.pending, (*active, *suppressed)),
        expired_suppressions=tuple(expired), unused_suppressions=tuple(unused), delta=delta,
        fail_on=options.fail_on, notes=tuple(result.notes),
    )


def _refold(pending: Sequence[PendingPod], findings: Sequence[Finding]) -> tuple[PendingPod, ...]:
    """Each Pending pod's primary finding, by the id it has after folding."""
    to = {o.id: f.id for f in findings if f.folded for o in f.folded.objects}
    if not to:
        return tuple(pending)
    return tuple(replace(p, primary_finding=to[p.primary_finding]) if p.primary_finding in to else p
                 for p in pending)


def _labels_of(snap: Snapshot) -> Callable[[str, str, str], Mapping[str, str] | None]:
    """An object's labels in this snapshot (a workload's: its pod template's); None when it is gone."""
    def labels_of(kind: str, namespace: str, name: str) -> Mapping[str, str] | None:
        if kind == "Pod":
            p = snap.pod_by_key.get(f"{namespace}/{name}")
            return p.labels if p is not None else None
        w = snap.workload_by_key.get((kind, namespace, name))
        if w is None:
            return None
        return dict(w.template_pod.labels) if w.template_pod else {}
    return labels_of


def _risk_checks(snap: Snapshot, options: AuditOptions) -> list[Finding]:
    """The audit-only risk checks (audit/risks.py) over the pods and workloads in scope."""
    reqs = parse_selector(options.scope.selector)
    everything = not options.scope.namespaces and not reqs
    scoped_pods = list(snap.pods) if everything else \
        [p for p in snap.pods if in_scope(p.namespace, p.labels, options.scope, reqs)]
    scoped_workloads = list(snap.workloads) if everything else \
        [w for w in snap.workloads
         if in_scope(w.namespace, dict(w.template_pod.labels) if w.template_pod else {}, options.scope, reqs)]
    cache: dict[tuple[Any, ...], tuple[tuple[str, ...], str]] = {}

    def chain_of(ns: str, owner: m.OwnerRef | None, labels: Mapping[str, str], name: str
                 ) -> tuple[tuple[str, ...], str]:
        k = (ns, owner.kind, owner.name) if owner else (ns, None, name)
        if k not in cache:
            chain, top = owner_chain(snap, ns, owner, labels)
            cache[k] = (chain, _workload_key(ns, name, top))
        return cache[k]

    per_workload: dict[str, int] = {}
    for p in scoped_pods:  # 150k pods at 5,000 nodes: the cache is looked up before any call
        if p.phase not in _TERMINAL and not p.deletion_timestamp:
            o = p.owner
            hit = cache.get((p.namespace, o.kind, o.name) if o else (p.namespace, None, p.name))
            wk = hit[1] if hit else chain_of(p.namespace, o, p.labels if o and o.kind == "ReplicaSet"
                                             else {}, p.name)[1]
            per_workload[wk] = per_workload.get(wk, 0) + 1
    return risk_findings(snap, scoped_pods, scoped_workloads, chain_of, per_workload)


def _without_blocked(risks: list[Finding], blocking: list[Finding]) -> list[Finding]:
    """A risk is about what still runs: workloads already blocked for that category are left out."""
    blocked: dict[str, set[str]] = {}
    for f in blocking:
        if f.kind == "blocking":
            blocked.setdefault(f.root_cause.category, set()).update(w.key for w in f.workloads)
    out = []
    for r in risks:
        gone = blocked.get(r.root_cause.category, set())
        keep = tuple(w for w in r.workloads if w.key not in gone)
        if keep:
            out.append(replace(r, workloads=keep).retitled() if len(keep) != len(r.workloads) else r)
    return out
