"""What an audit produces: findings grouped by root cause across pods, and the report around them.

Plain data, JSON-serialisable through `to_dict`; the layout is `podtriage/schema/audit-v1.json`.
A finding is one root cause (rule + the object at fault) and every pod and workload it blocks;
its `id` is a hash of the rule and that object, stable from one run to the next, so `--previous`
and suppressions can refer to it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from ..findings import SEVERITIES, RootCause

AUDIT_KIND = "AuditReport"

# Age buckets of the "pending pods by age" chart and table (upper bound in seconds, label).
AGE_BUCKETS: tuple[tuple[float, str], ...] = (
    (3600, "< 1h"), (6 * 3600, "1h–6h"), (24 * 3600, "6h–24h"), (7 * 86400, "1d–7d"), (float("inf"), "> 7d"),
)

MAX_NODES_LISTED = 100  # rootCause.nodes in JSON (nodeCount has the total)

SEVERITY_RANK = {s: i for i, s in enumerate(SEVERITIES)}


def finding_id(rule: str, group_key: str) -> str:
    """Stable id of a finding: the same rule blaming the same object gets the same id every night."""
    return hashlib.sha256(f"{rule}\0{group_key}".encode()).hexdigest()[:12]


# A subject that names one object: "Kind/namespace/name" or "Kind/name", maybe followed by words.
_NAMED = re.compile(r"(?P<kind>[A-Z][A-Za-z0-9]*)/(?:(?P<ns>[a-z0-9][a-z0-9.-]*)/)?(?P<name>[^\s/]+)(?P<rest>.*)",
                    re.S)
_DIGITS_OUTSIDE_CODE = re.compile(r"`[^`]*`|\d+")


def _without_names(text: str, names: Iterable[str]) -> str:
    """`text` with each of `names` (whole words: object names are [a-z0-9.-]) replaced by `*`, and
    the counts outside backticks by `#`: what is left is the shape of the sentence."""
    words = sorted({n for n in names if n}, key=len, reverse=True)
    if words:
        pattern = re.compile(r"(?<![\w.-])(?:" + "|".join(map(re.escape, words)) + r")(?![\w-]|\.\w)")
        text = pattern.sub("*", text)
    return _DIGITS_OUTSIDE_CODE.sub(lambda mt: mt.group(0) if mt.group(0).startswith("`") else "#", text)


def fold_key(f: Finding) -> tuple[str, str, str, str] | None:
    """(fold id, kind, namespace, name) when `f` blames one named object, else None.

    Findings that differ only in the name of the object at fault fold into one: same rule, kind,
    and severity, an object of the same kind, and the same message once the object's
    name, its namespace, the example pod and the workloads are taken out. Spec terms (a taint, a
    nodeSelector, a request) are not names: different terms need different fixes and stay apart.
    """
    mt = _NAMED.fullmatch(f.subject)
    if mt is None or mt["kind"] == "Pod":
        return None
    kind, ns, name = mt["kind"], mt["ns"] or "", mt["name"]
    names = [name, ns, f"{ns}/{name}" if ns else name]
    for ref in (f.example_pod, *(w.key for w in f.workloads)):
        parts = ref.split("/")
        names += parts[-2:] + ["/".join(parts[-2:])]
    for w in f.workloads:
        names += [c.split("/", 1)[-1] for c in w.chain]
    message = _without_names(f.root_cause.message, names)
    shape = "\0".join(("fold", f.kind, f.severity, kind, "namespaced" if ns else "", mt["rest"], message))
    return finding_id(f.root_cause.rule, shape), kind, ns, name


def make_headline(kind: str, title: str, shown: str, pods: int, workloads: int, missing: int = 0) -> str:
    """One line that names the cause, the object at fault and the impact."""
    if kind == "risk":
        return (f"risk: {title} [{shown}] — {workloads:,} workload{'s' if workloads != 1 else ''}"
                + (f" ({pods:,} pods)" if pods else ""))
    what = f"{pods:,} pod{'s' if pods != 1 else ''}" if pods else ""
    if missing:
        what = (what + " and " if what else "") + f"{missing:,} pod(s) never created"
    tail = f" in {workloads:,} workload{'s' if workloads != 1 else ''}" if workloads else ""
    return f"{title} [{shown}] — {what or '0 pods'}{tail}"


def age_bucket(seconds: float | None) -> str:
    if seconds is None:
        return "unknown"
    for bound, label in AGE_BUCKETS:
        if seconds < bound:
            return label
    return AGE_BUCKETS[-1][1]


@dataclass(frozen=True)
class PodRef:
    """A pod a finding covers: where it is, how long it has waited, which workload owns it."""

    namespace: str
    name: str
    status: str
    age_seconds: float | None
    workload: str  # top of the owner chain, "Deployment/ns/name"; "Pod/ns/name" for a bare pod
    labels: Mapping[str, str] = field(default_factory=dict, compare=False)

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    def to_dict(self) -> dict[str, Any]:
        return {"namespace": self.namespace, "name": self.name, "status": self.status,
                "ageSeconds": None if self.age_seconds is None else int(self.age_seconds),
                "workload": self.workload}


@dataclass(frozen=True)
class WorkloadRef:
    """A workload a finding covers, with its owner chain (pod -> ReplicaSet -> Deployment)."""

    kind: str
    namespace: str
    name: str
    chain: tuple[str, ...]  # "ReplicaSet/web-5f7d", "Deployment/web" (innermost first)
    pods: int  # pods of this workload the finding covers
    missing: int = 0  # pods the controller could not create (FailedCreate)
    labels: Mapping[str, str] = field(default_factory=dict, compare=False)

    @property
    def key(self) -> str:
        return f"{self.kind}/{self.namespace}/{self.name}"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "namespace": self.namespace, "name": self.name, "chain": list(self.chain),
                "pods": self.pods, "missingPods": self.missing}


@dataclass(frozen=True)
class Suppression:
    """One entry of the config's `suppressions`: what it silences, why, until when."""

    reason: str
    rule: str = ""
    category: str = ""
    namespace: str = ""
    selector: str = ""
    finding: str = ""  # a finding id
    expires: str = ""  # YYYY-MM-DD; empty: never
    index: int = 0  # position in the config file, for messages

    def describe(self) -> str:
        parts = [f"{k}={v}" for k, v in (("rule", self.rule), ("category", self.category),
                                          ("namespace", self.namespace), ("selector", self.selector),
                                          ("finding", self.finding)) if v]
        return f"suppressions[{self.index}] ({', '.join(parts) or 'everything'})"

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "rule": self.rule, "category": self.category, "namespace": self.namespace,
                "selector": self.selector, "finding": self.finding, "reason": self.reason,
                "expires": self.expires}


@dataclass(frozen=True)
class FoldedObject:
    """One object of a folded finding: the finding it would have been on its own.

    Findings that differ only in the name of the object at fault (83 PersistentVolumeClaims that do
    not exist, 12 NotReady nodes) are folded into one; each keeps its own id, counts and example.
    """

    id: str  # the id the object's own finding has (rule + object): suppressions and --previous know it
    subject: str  # "PersistentVolumeClaim/team-003/data-x"
    namespace: str  # "" for cluster-scoped objects
    name: str
    pods: int
    workloads: int
    missing: int
    oldest_seconds: float
    example_pod: str
    message: str
    delta: str = ""  # "new" | "persisting" with --previous

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "subject": self.subject, "namespace": self.namespace, "name": self.name,
                "podCount": self.pods, "workloadCount": self.workloads, "missingPods": self.missing,
                "oldestPendingSeconds": int(self.oldest_seconds), "examplePod": self.example_pod,
                "message": self.message, "delta": self.delta or None}


@dataclass(frozen=True)
class Folded:
    """What a folded finding stands for: `count` objects of one kind, in `namespaces` namespaces."""

    kind: str  # "PersistentVolumeClaim"
    objects: tuple[FoldedObject, ...]

    @property
    def count(self) -> int:
        return len(self.objects)

    @property
    def namespaces(self) -> tuple[str, ...]:
        return tuple(sorted({o.namespace for o in self.objects if o.namespace}))

    def describe(self) -> str:
        """"83 PersistentVolumeClaims in 12 namespaces", "4 Nodes"."""
        noun = self.kind if self.count == 1 else (self.kind + "es" if self.kind.endswith("s") else self.kind + "s")
        ns = self.namespaces
        where = f" in {len(ns):,} namespace{'s' if len(ns) != 1 else ''}" if ns else ""
        return f"{self.count:,} {noun}{where}"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "count": self.count, "namespaceCount": len(self.namespaces),
                "objects": [o.to_dict() for o in self.objects]}


KIND_ORDER = {"blocking": 0, "advisory": 1, "risk": 2}


@dataclass(frozen=True)
class Finding:
    """One root cause across the cluster, with everything it blocks (or, for a risk, would block)."""

    id: str
    kind: str  # "blocking" (a Pending root cause that blocks), "advisory" (non-blocking cause), "risk"
    headline: str  # "taint `dedicated=gpu:NoSchedule` untolerated — 214 pods in 9 workloads"
    subject: str  # the object at fault, pod-neutral
    root_cause: RootCause  # the representative root cause (rendered for an example pod); pods = all
    pods: tuple[PodRef, ...]
    workloads: tuple[WorkloadRef, ...]
    example_pod: str = ""  # the pod whose analysis the message, evidence and graph come from
    graph: Mapping[str, Any] = field(default_factory=dict)  # node-link causal chain of the example
    suppressed_by: Suppression | None = None  # whole finding suppressed
    suppressed_pods: int = 0  # pods silenced by namespace/selector suppressions (not in `pods`)
    delta: str = ""  # "new" | "persisting" (only with --previous)
    folded: Folded | None = None  # several objects of one kind that differ only in their names

    @property
    def severity(self) -> str:
        return self.root_cause.severity

    @property
    def blocking(self) -> bool:
        return self.kind == "blocking"

    @property
    def oldest_seconds(self) -> float:
        return max((p.age_seconds or 0.0 for p in self.pods), default=0.0)

    @property
    def namespaces(self) -> tuple[str, ...]:
        return tuple(sorted({p.namespace for p in self.pods} | {w.namespace for w in self.workloads}))

    @property
    def missing_pods(self) -> int:
        return sum(w.missing for w in self.workloads)

    def retitled(self) -> Finding:
        """The same finding with its headline recomputed from its (possibly reduced) pods and workloads."""
        pods = sum(w.pods for w in self.workloads) if self.kind == "risk" else len(self.pods)
        return replace(self, headline=make_headline(self.kind, self.root_cause.title, self.subject, pods,
                                                    len(self.workloads), self.missing_pods))

    @property
    def member_ids(self) -> tuple[str, ...]:
        """Every id this finding answers to: its own and, when folded, each object's."""
        return (self.id, *(o.id for o in self.folded.objects)) if self.folded else (self.id,)

    def impact_key(self) -> tuple[Any, ...]:
        """Sort key: blocking first, then pods, workloads, age, severity (most impact first).

        A finding is ranked as blocking only when its root cause blocks: a background cause (the
        taint of nodes the pods do not want, a cordon next to the real problem) never outranks a
        blocking one, whatever its pod count.
        """
        kind = self.kind if self.kind != "blocking" or self.root_cause.blocking else "advisory"
        return (KIND_ORDER.get(kind, 3), -(len(self.pods) + self.missing_pods), -len(self.workloads),
                -self.oldest_seconds, SEVERITY_RANK.get(self.severity, 9), self.root_cause.rule, self.id)

    def to_dict(self, max_pods: int | None = None) -> dict[str, Any]:
        pods = self.pods if max_pods is None else self.pods[:max_pods]
        rc = self.root_cause.to_dict()
        rc["pods"] = [p.key for p in pods]
        # Node lists are per example pod and can hold every node; nodeCount keeps the size.
        rc["nodes"] = rc["nodes"][:MAX_NODES_LISTED]
        return {
            "id": self.id, "kind": self.kind, "headline": self.headline, "subject": self.subject,
            "rule": self.root_cause.rule, "category": self.root_cause.category,
            "severity": self.root_cause.severity, "blocking": self.blocking,
            "podCount": len(self.pods), "nodeCount": len(self.root_cause.nodes), "workloadCount": len(self.workloads), "missingPods": self.missing_pods,
            "namespaces": list(self.namespaces), "oldestPendingSeconds": int(self.oldest_seconds),
            "examplePod": self.example_pod, "rootCause": rc,
            "workloads": [w.to_dict() for w in self.workloads], "pods": [p.to_dict() for p in pods],
            "suppressed": self.suppressed_by is not None,
            "suppressedBy": self.suppressed_by.to_dict() if self.suppressed_by else None,
            "suppressedPods": self.suppressed_pods,
            "delta": self.delta or None,
            "graph": dict(self.graph),
            "folded": self.folded.to_dict() if self.folded else None,
        }


@dataclass(frozen=True)
class ResolvedFinding:
    """A finding of the previous report that is gone now."""

    id: str
    headline: str
    rule: str
    severity: str
    kind: str
    reason: str = ""  # for a finding left out of the comparison: why (outside the current scope, ...)

    def to_dict(self) -> dict[str, Any]:
        out = {"id": self.id, "headline": self.headline, "rule": self.rule, "severity": self.severity,
               "kind": self.kind}
        if self.reason:
            out["reason"] = self.reason
        return out


@dataclass(frozen=True)
class Delta:
    previous_generated: str
    previous_path: str
    new: tuple[str, ...]  # finding ids
    persisting: tuple[str, ...]
    resolved: tuple[ResolvedFinding, ...]
    previous_scope: Mapping[str, Any] | None = None  # the previous report's {namespaces, selector}
    scope_changes: tuple[str, ...] = ()  # sentences: how the scope differs from the previous report's
    out_of_scope: tuple[ResolvedFinding, ...] = ()  # previous findings outside this scope: not "resolved"
    not_in_previous_scope: tuple[str, ...] = ()  # finding ids outside the previous scope: not "new"

    def to_dict(self) -> dict[str, Any]:
        return {"previousGenerated": self.previous_generated, "previousPath": self.previous_path,
                "new": list(self.new), "persisting": list(self.persisting),
                "resolved": [r.to_dict() for r in self.resolved],
                "previousScope": dict(self.previous_scope) if self.previous_scope is not None else None,
                "scopeChanges": list(self.scope_changes),
                "outOfScope": [r.to_dict() for r in self.out_of_scope],
                "notInPreviousScope": list(self.not_in_previous_scope)}


@dataclass(frozen=True)
class PendingPod:
    """Every Pending pod scanned, for the charts and the metrics (one row per pod)."""

    namespace: str
    name: str
    age_seconds: float | None
    primary_rule: str  # the rule of the pod's top blocking (else top) finding; "" when none
    primary_category: str
    primary_finding: str  # finding id, "" when none


@dataclass(frozen=True)
class AuditReport:
    schema_version: str
    podtriage_version: str
    generated: str
    duration_seconds: float
    source: Mapping[str, Any]
    scope: Mapping[str, Any]  # {"namespaces": [...] or "all", "selector": "..."}
    counts: Mapping[str, Any]
    missing: tuple[Mapping[str, str], ...]  # what could not be read: resource, namespace, reason
    warnings: tuple[str, ...]
    findings: tuple[Finding, ...]  # active (unsuppressed), sorted by impact
    suppressed: tuple[Finding, ...]
    pending: tuple[PendingPod, ...]
    expired_suppressions: tuple[Suppression, ...] = ()
    unused_suppressions: tuple[Suppression, ...] = ()
    delta: Delta | None = None
    fail_on: str = "critical"
    notes: tuple[str, ...] = ()  # how the analysis was done (shared analyses, caveats)

    def failing(self) -> list[Finding]:
        """Unsuppressed blocking findings at or above `fail_on` (what makes the exit code 1)."""
        if self.fail_on == "none":
            return []
        limit = SEVERITY_RANK.get(self.fail_on, 0)
        return [f for f in self.findings if f.blocking and SEVERITY_RANK.get(f.severity, 9) <= limit]

    def by_id(self) -> dict[str, Finding]:
        return {f.id: f for f in (*self.findings, *self.suppressed)}

    def to_dict(self) -> dict[str, Any]:
        return {
            "apiVersion": self.schema_version, "kind": AUDIT_KIND, "podtriageVersion": self.podtriage_version,
            "generated": self.generated, "durationSeconds": round(self.duration_seconds, 3),
            "source": dict(self.source), "scope": dict(self.scope), "counts": dict(self.counts),
            "missing": [dict(m) for m in self.missing],
            "warnings": list(self.warnings), "failOn": self.fail_on,
            "failing": [f.id for f in self.failing()],
            "delta": self.delta.to_dict() if self.delta else None,
            "findings": [f.to_dict() for f in self.findings],
            "suppressed": [f.to_dict() for f in self.suppressed],
            "expiredSuppressions": [s.to_dict() for s in self.expired_suppressions],
            "unusedSuppressions": [s.to_dict() for s in self.unused_suppressions],
            "pendingByCategory": pending_by(self.pending, "category"),
            "pendingByAge": pending_by_age(self.pending),
            "notes": list(self.notes),
        }


def pending_by(pending: tuple[PendingPod, ...] | list[PendingPod], what: str) -> dict[str, int]:
    """Pending pods counted by their primary category (or rule / namespace), biggest first."""
    counts: dict[str, int] = {}
    for p in pending:
        k = {"category": p.primary_category, "rule": p.primary_rule, "namespace": p.namespace}[what] or "unexplained"
        counts[k] = counts.get(k, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def pending_by_age(pending: tuple[PendingPod, ...] | list[PendingPod]) -> dict[str, int]:
    counts = {label: 0 for _, label in AGE_BUCKETS}
    for p in pending:
        b = age_bucket(p.age_seconds)
        counts[b] = counts.get(b, 0) + 1
    return counts
