"""PostFilter: what the scheduler appends to its FitError after the filters found no node.

kube-scheduler v1.37 runs two PostFilter plugins, in profile order:

1. DynamicResources. After a PreFilter rejection by a plugin that runs before its own PreFilter
   (every volume plugin, NodeAffinity, ...), its state does not exist and it fails with the bare
   text "not found": the message ends in " not found" and **preemption is never tried**. With
   claims allocated on nodes the pod cannot use and reserved for nobody (or only this pod), it
   deallocates one ("deallocation of ResourceClaim completed") and preemption still runs.
2. DefaultPreemption ("preemption: " + ...):
   - `preemptionPolicy: Never`: "not eligible due to preemptionPolicy=Never.";
   - a lower-priority pod on the pod's nominated node is still terminating by preemption:
     "not eligible due to a terminating pod on the nominated node.";
   - dry run on every node whose verdict was Unschedulable (not ...AndUnresolvable): remove every
     pod of lower priority; no such pod: "No preemption victims found for incoming pod"; the pod
     still does not fit: that filter's reasons; it fits: the node is a candidate, and victims are
     reprieved (PDB-violating ones first, most important first) while the pod still fits.
     Nodes rejected as unresolvable count as "Preemption is not helpful for scheduling";
   - no candidate: "0/N nodes are available: <histogram>.";
   - a candidate: "found a potential placement for pod on node X, preempting K victims" (the
     victims are deleted and the pod nominated to X). X is the best candidate: fewest PDB
     violations, then the lowest highest-victim priority, the lowest priority sum, the fewest
     victims; upstream breaks the remaining ties by start time and a random offset, so podtriage
     gives the set of equally good nodes.

PodDisruptionBudgets never block preemption (they are best effort): they only order victims and
candidates. That is why a pod whose only victims are all protected is still placed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from .. import model as m
from .selectors import label_selector_matches
from .framework import ClusterState, Evaluation, NodeVerdict, evaluate, host_ports

REASON_NO_VICTIMS = "No preemption victims found for incoming pod"
REASON_NOT_HELPFUL = "Preemption is not helpful for scheduling"
MAX_DRY_RUN_NODES = 200  # beyond this many potential nodes the dry run is cut (large clusters)


@dataclass(frozen=True)
class Candidate:
    node: str
    victims: tuple[str, ...]  # pod keys, most important first
    pdb_violations: int
    highest_priority: int
    priority_sum: int


@dataclass(frozen=True)
class PostFilter:
    """What the scheduler's PostFilter part says, and why."""

    message: str  # the text after the FitError's histogram ("" when there is none)
    attempted: bool  # DefaultPreemption ran
    not_eligible: str = ""  # "preemptionPolicy=Never" / "terminating pod on the nominated node"
    histogram: dict[str, int] = field(default_factory=dict)  # the dry run's reasons -> nodes
    candidates: tuple[Candidate, ...] = ()
    best: tuple[str, ...] = ()  # the equally good candidate nodes the scheduler picks among
    truncated: bool = False  # the dry run stopped at MAX_DRY_RUN_NODES


def _unresolvable(v: NodeVerdict) -> bool:
    return any(f.unresolvable for f in v.first)


def _pdb_violations(victims: Sequence[m.Pod], pdbs: Sequence[m.PodDisruptionBudget]) -> list[bool]:
    """filterPodsWithPDBViolation: per victim, whether evicting it (in order) violates a PDB."""
    allowed = {(p.namespace, p.name): p.disruptions_allowed for p in pdbs}
    out = []
    for v in victims:
        violating = False
        for p in pdbs:
            if p.namespace != v.namespace or p.selector is None or p.selector.is_empty:
                continue
            if not label_selector_matches(p.selector, v.labels):
                continue
            allowed[(p.namespace, p.name)] -= 1
            if allowed[(p.namespace, p.name)] < 0:
                violating = True
        out.append(violating)
    return out


def _fits_without(pod: m.Pod, cluster: ClusterState, node: str, removed: Sequence[m.Pod],
                  used_ports: set[tuple[str, str, int]] | None = None) -> tuple[bool, NodeVerdict]:
    """SelectVictimsOnNode's filter run: the pod against `node` without `removed`; `used_ports`:
    the node's host-port set as the dry run's RemovePod/AddPod sequence left it."""
    gone = {id(p) for p in removed}
    snap = replace(cluster.snapshot, pods=tuple(p for p in cluster.snapshot.pods if id(p) not in gone))
    if not (pod.topology_spread_constraints or pod.pod_affinity or pod.pod_anti_affinity
            or cluster.pods_with_affinity):
        # nothing looks beyond the node: evaluate it alone
        snap = replace(snap, nodes=tuple(n for n in snap.nodes if n.name == node))
    state = ClusterState(snap)
    if used_ports is not None and node in state.node_infos:
        state.node_infos[node].used_ports = set(used_ports)
    ev = evaluate(pod, state)
    v = next((x for x in ev.verdicts if x.node == node), None)
    if v is None:
        v = NodeVerdict(node=node, first=ev.prefilter, failures=ev.prefilter)
    return (not ev.prefilter and v.passed), v


def _importance(p: m.Pod) -> tuple[int, str]:
    # more important first: higher priority, then older (earlier start)
    return (-p.priority, p.start_time or p.creation_timestamp or "~")


def postfilter(ev: Evaluation, cluster: ClusterState) -> PostFilter:
    """The PostFilter outcome for a pod the filters found no node for (`ev.feasible` empty)."""
    if ev.gated or ev.error is not None or ev.feasible:
        return PostFilter(message="", attempted=False)
    if ev.prefilter and ev.prefilter[0].plugin != "DynamicResources":
        return PostFilter(message="not found", attempted=False)
    dra_note = _dra_deallocation(ev, cluster)
    if dra_note:
        inner = postfilter_preemption(ev, cluster)
        return replace(inner, message=f"{dra_note}, {inner.message}" if inner.message else dra_note)
    return postfilter_preemption(ev, cluster)


def _dra_deallocation(ev: Evaluation, cluster: ClusterState) -> str:
    """DynamicResources' PostFilter: an allocated claim of the pod that some node could not use and
    that nobody else holds (reservedFor empty, or only this pod) is deallocated, so the next attempt
    can allocate it elsewhere."""
    keys = {k for v in ev.verdicts for f in v.first if f.plugin == "DynamicResources" and f.detail.get("allocated")
            for k in f.detail.get("claims", [])}
    for key in sorted(keys):
        c = cluster.snapshot.resource_claim_by_key.get(key)
        if c is not None and (not c.reserved_for or (len(c.reserved_for) == 1 and c.reserved_for[0].uid
                                                     and c.reserved_for[0].uid == ev.pod.uid)):
            return "deallocation of ResourceClaim completed"
    return ""


def postfilter_preemption(ev: Evaluation, cluster: ClusterState) -> PostFilter:
    """DefaultPreemption's part."""
    pod = ev.pod
    if pod.preemption_policy == "Never":
        return PostFilter(message="preemption: not eligible due to preemptionPolicy=Never.", attempted=True,
                          not_eligible="preemptionPolicy=Never")
    verdicts = {v.node: v for v in ev.verdicts}
    if pod.nominated_node_name:
        v = verdicts.get(pod.nominated_node_name)
        if v is not None and not _unresolvable(v):
            for q in cluster.snapshot.pods_by_node.get(pod.nominated_node_name, []):
                if q.priority < pod.priority and q.deletion_timestamp and any(
                        c.type == "DisruptionTarget" and c.status == "True" and c.reason == "PreemptionByScheduler"
                        for c in q.conditions):
                    return PostFilter(message="preemption: not eligible due to a terminating pod on the nominated "
                                              "node.", attempted=True,
                                      not_eligible="terminating pod on the nominated node")
    total = ev.total_nodes
    hist: dict[str, int] = {}
    potential = [] if ev.prefilter else [v for v in ev.verdicts if v.first and not _unresolvable(v)]
    not_helpful = total - len(potential)
    truncated = len(potential) > MAX_DRY_RUN_NODES
    candidates: list[Candidate] = []
    pdbs = cluster.snapshot.pdbs
    for v in potential[:MAX_DRY_RUN_NODES]:
        on_node = cluster.node_infos[v.node].pods if v.node in cluster.node_infos else []
        lower = sorted((q for q in on_node if q.priority < pod.priority), key=_importance)
        if not lower:
            hist[REASON_NO_VICTIMS] = hist.get(REASON_NO_VICTIMS, 0) + 1
            continue
        # NodeInfo.UsedPorts is a set: RemovePod frees a victim's host ports even when a pod that
        # stays holds the same port, AddPod (reprieve) takes them again: follow that sequence.
        used = set(cluster.node_infos[v.node].used_ports) if v.node in cluster.node_infos else set()
        for q in lower:
            used.difference_update(host_ports(q))
        ok, after = _fits_without(pod, cluster, v.node, lower, used)
        if not ok:
            for r in {f.reason for f in after.first}:
                hist[r] = hist.get(r, 0) + 1
            continue
        # reprieve: PDB-violating victims first, then the others, most important first
        flags = _pdb_violations(lower, pdbs)
        violating = [q for q, f in zip(lower, flags) if f]
        rest = [q for q, f in zip(lower, flags) if not f]
        removed = list(lower)
        victims: list[m.Pod] = []
        n_violating = 0
        for group, counts in ((violating, True), (rest, False)):
            for q in group:
                trial = [x for x in removed if x is not q]
                used.update(host_ports(q))
                fits, _ = _fits_without(pod, cluster, v.node, trial, used)
                if fits:
                    removed = trial
                else:
                    used.difference_update(host_ports(q))
                    victims.append(q)
                    n_violating += counts
        victims.sort(key=_importance)
        candidates.append(Candidate(node=v.node, victims=tuple(q.key for q in victims), pdb_violations=n_violating,
                                    highest_priority=max(q.priority for q in victims) if victims else 0,
                                    priority_sum=sum(q.priority for q in victims)))
    if candidates:
        def rank(c: Candidate) -> tuple[int, int, int, int]:
            # pickOneNodeForPreemption sums priority + MaxInt32 + 1 per victim (so that negative
            # priorities rank right): with that offset, fewer victims win before a lower plain sum
            return (c.pdb_violations, c.highest_priority, c.priority_sum + len(c.victims) * (2**31),
                    len(c.victims))
        best_rank = min(rank(c) for c in candidates)
        best = tuple(sorted(c.node for c in candidates if rank(c) == best_rank))
        chosen = next(c for c in candidates if c.node == best[0])
        return PostFilter(message=f"preemption: found a potential placement for pod on node {chosen.node}, "
                                  f"preempting {len(chosen.victims)} victims", attempted=True,
                          candidates=tuple(candidates), best=best, truncated=truncated)
    if not_helpful:
        hist[REASON_NOT_HELPFUL] = hist.get(REASON_NOT_HELPFUL, 0) + not_helpful
    items = sorted(f"{c} {r}" for r, c in hist.items())
    return PostFilter(message=f"preemption: 0/{total} nodes are available: {', '.join(items)}.", attempted=True,
                      histogram=hist, truncated=truncated)
