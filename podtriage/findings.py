"""What the analysis hands to rules, the causal graph and the renderers.

evidence (facts with provenance) -> signals (what the diagnosis recognised, with template
parameters) -> root causes (a rule rendered for a signal) -> Report (ranked, with the graph).
Everything here is plain data and JSON-serialisable through `to_dict`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Mapping

SEVERITIES = ("critical", "high", "medium", "low", "info")


def jsonable(x: Any) -> Any:
    """Plain JSON data from mappings, sequences and sets; anything else becomes its str()."""
    if isinstance(x, Mapping):
        return {str(k): jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple, set, frozenset)):
        return [jsonable(v) for v in x]
    if isinstance(x, (str, int, float, bool)) or x is None:
        return x
    return str(x)

CATEGORIES = (
    "insufficient-resources", "too-many-pods", "extended-resource-missing", "node-selector-mismatch",
    "node-affinity-mismatch", "deprecated-label", "taint-untolerated", "taint-effect-mismatch",
    "node-not-ready", "node-unschedulable", "host-port-conflict", "pod-affinity", "pod-anti-affinity",
    "topology-spread", "pvc-not-found", "pvc-unbound", "no-default-storageclass",
    "volume-node-affinity-conflict", "volume-limit-exceeded", "scheduling-gated", "scheduler-name-unknown",
    "preemption-priority", "autoscaler-no-scale-up", "quota-exceeded", "limit-range-violation",
    "admission-rejected", "image-pull", "missing-config-object", "container-config-error",
    "init-container-failure", "init-container-oom", "mount-failure", "sandbox-failure",
    "runtime-class-missing", "node-lost", "placement-conflict", "scheduler-unreproduced", "dra-devices",
    "node-features", "csi-driver-missing", "queue-admission", "other",
)


@dataclass(frozen=True)
class EvidenceItem:
    """One fact, with where it came from.

    kind:    node-verdict | prefilter | event | condition | object | missing | log | cgroup | status
    source:  provenance a person can check: "Event default/web-0.17a2f (uid 5c1…)", "Node worker-3",
             "Pod default/web-0 status.conditions[PodScheduled]"
    """

    kind: str
    summary: str
    source: str
    data: Mapping[str, Any] = field(default_factory=dict)
    time: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Signal:
    """Something the diagnosis recognised. Rules match on `name` (and optionally on params).

    params:       values for the rule's templates (taint, key, value, nodes, resource, pod, ...)
    nodes:        nodes whose rejection this explains (the scheduler's view: first failing filter)
    attempts:     scheduling attempts it explains (sum of FailedScheduling counts), for ranking
    observations: ids of graph nodes (evidence) that support it
    """

    name: str
    params: Mapping[str, Any]
    evidence: tuple[EvidenceItem, ...] = ()
    nodes: tuple[str, ...] = ()
    blocking: bool = True
    confidence: float = 0.9
    attempts: int = 0
    subject: str = ""  # the object at fault, "Node/worker-3", "PersistentVolumeClaim/default/data"
    observations: tuple[str, ...] = ()
    effects: tuple[str, ...] = ()  # intermediate effects in the causal chain, most specific first
    # What the signal is about, for the counterfactual ranking (podtriage.decide):
    #   "target": it blocks the listed nodes, which the pod wants (its target nodes)
    #   "pod":    it blocks the pod everywhere (a PreFilter rejection, a gate, a selector no node matches)
    #   "":       context (the autoscaler, preemption, the kubelet side): ranked after the others
    scope: str = ""


@dataclass(frozen=True)
class Fix:
    """One change, structured so a tool can apply it: the object, a patch or a command, and who may.

    patch_type: "json" (RFC 6902), "merge" (RFC 7386), "strategic" (strategic merge), or "" when
                only `command` or the prose says what to do (creating an object, a node pool setting)
    apply:      "patch" the object in place; "recreate" a bare pod (pod specs are immutable: delete
                it and create it again with the patch applied); "command" run `command`; "manual"
    applied_by: "owner" (the pod's owner can do it alone), "cluster-admin", "autoscaler-config"
    safe:       False for changes offered only as a last resort (never the first fix)
    """

    description: str
    object: Mapping[str, str] = field(default_factory=dict)  # apiVersion, kind, namespace, name
    patch_type: str = ""
    patch: Any = None
    command: str = ""
    apply: str = "patch"
    applied_by: str = "owner"
    safe: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {"description": self.description, "object": dict(self.object), "patchType": self.patch_type,
                "patch": jsonable(self.patch), "command": self.command, "apply": self.apply,
                "appliedBy": self.applied_by, "safe": self.safe}


@dataclass(frozen=True)
class RootCause:
    rule: str
    category: str
    severity: str
    title: str
    message: str
    fix: str
    evidence: tuple[EvidenceItem, ...]
    confidence: float
    blocking: bool = True
    fix_command: str = ""
    subject: str = ""
    nodes: tuple[str, ...] = ()
    score: float = 0.0
    references: tuple[str, ...] = ()
    pods: tuple[str, ...] = ()  # for workload targets: the pods it blocks
    signal: str = ""
    attempts: int = 0  # scheduling attempts it explains (sum of FailedScheduling counts)
    # The counterfactual (podtriage.decide): structured fixes, owner's safe ones first; the target
    # nodes this change alone makes feasible (None: not computed, e.g. nodes unreadable or a bound
    # pod); what would still block after it; why it ranks where it does.
    fixes: tuple[Fix, ...] = ()
    feasible_after: tuple[str, ...] | None = None
    still_blocked_by: tuple[Mapping[str, str], ...] = ()
    rank_reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule, "category": self.category, "severity": self.severity, "title": self.title,
            "message": self.message, "fix": self.fix, "fixCommand": self.fix_command,
            "evidence": [e.to_dict() for e in self.evidence], "confidence": self.confidence,
            "blocking": self.blocking, "subject": self.subject, "nodes": list(self.nodes),
            "score": self.score, "references": list(self.references), "pods": list(self.pods),
            "signal": self.signal, "attempts": self.attempts,
            "fixes": [f.to_dict() for f in self.fixes],
            "feasibleAfter": list(self.feasible_after) if self.feasible_after is not None else None,
            "stillBlockedBy": [dict(x) for x in self.still_blocked_by], "rankReason": self.rank_reason,
        }


@dataclass(frozen=True)
class VerdictGroup:
    """Nodes rejected for the same reason, grouped: '37 nodes: untolerated taint dedicated=gpu:NoSchedule'."""

    plugin: str
    code: str
    reason: str
    count: int
    examples: tuple[str, ...]  # a few node names
    message: str  # the per-node message of the first example, naming the exact term
    detail: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["examples"] = list(self.examples)
        return d


@dataclass(frozen=True)
class PodReport:
    """Everything found for one pod."""

    namespace: str
    name: str
    phase: str
    status: str  # kubectl-style STATUS column: Pending, SchedulingGated, Init:0/2, ...
    node: str
    age: str
    blocked: bool
    root_causes: tuple[RootCause, ...]
    node_groups: tuple[VerdictGroup, ...] = ()  # the scheduler's view: first failing filter per node
    total_nodes: int | None = None  # None: nodes not readable
    feasible_nodes: tuple[str, ...] = ()
    scheduler: Mapping[str, Any] = field(default_factory=dict)  # attempts, parsed message, comparison
    missing: tuple[str, ...] = ()  # evidence that could not be read, in words
    confidence: float = 1.0
    # Where the pod wants to run (podtriage.decide.intent): target nodes and the terms behind them.
    placement: Mapping[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "namespace": self.namespace, "name": self.name, "phase": self.phase, "status": self.status,
            "node": self.node, "age": self.age, "blocked": self.blocked,
            "rootCauses": [r.to_dict() for r in self.root_causes],
            "nodeGroups": [g.to_dict() for g in self.node_groups],
            "totalNodes": self.total_nodes, "feasibleNodes": list(self.feasible_nodes),
            "scheduler": dict(self.scheduler), "missing": list(self.missing), "confidence": self.confidence,
            "placement": dict(self.placement) or None,
        }


@dataclass(frozen=True)
class Report:
    """The answer to `podtriage explain TARGET`."""

    schema_version: str
    podtriage_version: str
    generated: str
    source: Mapping[str, Any]  # {"kind": "live"|"file", "path"|"server", "context", "snapshotTime"}
    target: Mapping[str, str]  # {"kind": "Pod"|"Deployment"|..., "namespace", "name"}
    blocked: bool
    root_causes: tuple[RootCause, ...]  # ranked best first (for a workload: aggregated over its pods)
    pods: tuple[PodReport, ...]
    workload: Mapping[str, Any] = field(default_factory=dict)  # replicas, ready, controller events
    missing: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    confidence: float = 1.0
    graph: Mapping[str, Any] = field(default_factory=dict)  # networkx node-link data

    def to_dict(self) -> dict[str, Any]:
        return {
            "apiVersion": self.schema_version,
            "kind": "Explanation",
            "podtriageVersion": self.podtriage_version,
            "generated": self.generated,
            "source": dict(self.source),
            "target": dict(self.target),
            "blocked": self.blocked,
            "confidence": self.confidence,
            "rootCauses": [r.to_dict() for r in self.root_causes],
            "pods": [p.to_dict() for p in self.pods],
            "workload": dict(self.workload),
            "missing": list(self.missing),
            "warnings": list(self.warnings),
            "graph": dict(self.graph),
        }
