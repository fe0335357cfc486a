"""PodTopologySpread: the Filter half, i.e. the pod's `whenUnsatisfiable: DoNotSchedule` constraints.

ScheduleAnyway constraints only score, and the cluster-level default constraints are
ScheduleAnyway in the current defaults, so a pod without constraints of its own is never
filtered here.

PreFilter counts, per constraint and per topology domain, the existing pods that match the
constraint's selector (labelSelector ANDed with the pod's values for matchLabelKeys), over the
eligible nodes only:
- a node must carry the topology keys of *all* the pod's DoNotSchedule constraints;
- nodeAffinityPolicy Honor (default): only nodes matching the pod's nodeSelector and required
  node affinity; Ignore: every node;
- nodeTaintsPolicy Ignore (default): every node; Honor: only nodes whose NoSchedule/NoExecute
  taints the pod tolerates;
- counted pods are assigned, not terminating, and in the pod's namespace;
- a nil labelSelector matches nothing (matchLabelKeys cannot change that) and an empty one
  (`{}`) counts no existing pod at all (upstream countPodsMatchSelector returns 0 for an empty
  selector), although the pod itself still matches `{}`.

Filter then checks per node and constraint, in order, stopping at the first failure:
`matching pods in the node's domain + (1 if the pod matches its own selector) - global min
<= maxSkew`, where the global min is 0 when fewer eligible domains exist than minDomains.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ... import model as m
from ..framework import CycleState, Failure, FilterPlugin, NodeInfo
from ..selectors import describe_requirement, label_selector_matches, node_selector_matches
from .taint_toleration import untolerated

REASON = "node(s) didn't match pod topology spread constraints"
REASON_MISSING_LABEL = "node(s) didn't match pod topology spread constraints (missing required label)"


@dataclass(frozen=True)
class _Constraint:
    """A DoNotSchedule constraint with its effective selector (matchLabelKeys merged in)."""

    index: int  # position in pod.spec.topologySpreadConstraints
    source: m.TopologySpreadConstraint
    selector: m.LabelSelector | None
    min_domains: int
    self_match: int  # 1 when the incoming pod matches its own selector
    counts_nothing: bool = False  # nil or empty selector: no existing pod is ever counted


@dataclass
class _Counts:
    """One constraint's spread over the eligible domains."""

    constraint: _Constraint
    per_domain: dict[str, int]
    min_match: int
    min_domain: str  # a domain holding the minimum ("" when min_domains forced 0 or none)
    min_forced: bool  # the global min was forced to 0 by minDomains


def merge_match_label_keys(selector: m.LabelSelector | None, keys: Sequence[str],
                           labels: Mapping[str, str]) -> m.LabelSelector | None:
    """labelSelector AND (key = the pod's value) for each matchLabelKeys key the pod carries.

    Keys the pod does not carry are ignored. A nil selector stays nil, i.e. selects nothing:
    upstream mergeLabelSetWithSelector returns labels.Nothing() unchanged (its Requirements()
    are not ok), and the API server leaves a nil selector alone too.
    """
    extra = tuple(m.Requirement(k, "In", (labels[k],)) for k in keys if k in labels)
    if not extra or selector is None:
        return selector
    return m.LabelSelector(match_labels=selector.match_labels,
                           match_expressions=selector.match_expressions + extra)


def counts_no_pods(selector: m.LabelSelector | None) -> bool:
    """Upstream countPodsMatchSelector counts nothing for an empty selector ({}), and a nil one
    (labels.Nothing) matches nothing; the pod's own match still uses the selector as is, so `{}`
    self-matches and nil does not."""
    return selector is None or selector.is_empty


def describe_selector(sel: m.LabelSelector | None) -> str:
    """kubectl-like selector text: 'app=web,tier in (a,b)'; '<none>' for nil, '<all>' for empty."""
    if sel is None:
        return "<none>"
    if sel.is_empty:
        return "<all>"
    parts = [f"{k}={v}" for k, v in sel.match_labels]
    parts += [describe_requirement(r) for r in sel.match_expressions]
    return ",".join(parts)


def selector_json(sel: m.LabelSelector | None) -> dict[str, Any] | None:
    if sel is None:
        return None
    return {"matchLabels": dict(sel.match_labels),
            "matchExpressions": [{"key": r.key, "operator": r.operator, "values": list(r.values)}
                                 for r in sel.match_expressions]}


def required_node_affinity_matches(pod: m.Pod, node: m.Node) -> bool:
    """nodeaffinity.GetRequiredNodeAffinity(pod).Match(node): nodeSelector AND required terms."""
    labels = node.labels
    if any(labels.get(k) != v for k, v in pod.node_selector.items()):
        return False
    terms = pod.required_node_affinity
    return terms is None or node_selector_matches(terms, labels, node.name)


class PodTopologySpread(FilterPlugin):
    name = "PodTopologySpread"

    def applies(self, state: CycleState) -> bool:
        return any(c.when_unsatisfiable == "DoNotSchedule" for c in state.pod.topology_spread_constraints)

    # --- PreFilter ---------------------------------------------------------------------------
    def pre_filter(self, state: CycleState) -> Sequence[Failure]:
        state.scratch[self.name] = self._compute(state)
        return ()

    def _constraints(self, pod: m.Pod) -> list[_Constraint]:
        out = []
        for i, c in enumerate(pod.topology_spread_constraints):
            if c.when_unsatisfiable != "DoNotSchedule":
                continue
            sel = merge_match_label_keys(c.label_selector, c.match_label_keys, pod.labels)
            out.append(_Constraint(
                index=i, source=c, selector=sel,
                min_domains=c.min_domains if c.min_domains is not None else 1,
                self_match=1 if label_selector_matches(sel, pod.labels) else 0,
                counts_nothing=counts_no_pods(sel),
            ))
        return out

    def _compute(self, state: CycleState) -> list[_Counts]:
        pod = state.pod
        constraints = self._constraints(pod)
        if not constraints:
            return []
        keys = [c.source.topology_key for c in constraints]
        per_domain: list[dict[str, int]] = [{} for _ in constraints]
        affinity_ok: bool | None = None  # computed lazily per node
        for info in state.cluster.node_infos.values():
            node = info.node
            labels = node.labels
            if any(k not in labels for k in keys):
                continue
            affinity_ok = None
            taints_ok: bool | None = None
            # Eligible pods of this node, once for every constraint.
            pods = [p for p in info.pods
                    if p.namespace == pod.namespace and not p.deletion_timestamp and p.key != pod.key]
            for ci, c in enumerate(constraints):
                if c.source.node_affinity_policy == "Honor":
                    if affinity_ok is None:
                        affinity_ok = required_node_affinity_matches(pod, node)
                    if not affinity_ok:
                        continue
                if c.source.node_taints_policy == "Honor":
                    if taints_ok is None:
                        taints_ok = not untolerated(node.taints, pod.tolerations)
                    if not taints_ok:
                        continue
                value = labels[c.source.topology_key]
                n = 0 if c.counts_nothing else sum(1 for p in pods if label_selector_matches(c.selector, p.labels))
                per_domain[ci][value] = per_domain[ci].get(value, 0) + n
        out = []
        for ci, c in enumerate(constraints):
            counts = per_domain[ci]
            if counts:
                # Ties: the lexicographically first domain, so reports are stable.
                min_domain = min(counts, key=lambda v: (counts[v], v))
                min_match = counts[min_domain]
            else:
                min_domain, min_match = "", 0
            forced = len(counts) < c.min_domains
            if forced:
                min_match, min_domain = 0, ""
            out.append(_Counts(constraint=c, per_domain=counts, min_match=min_match,
                               min_domain=min_domain, min_forced=forced))
        return out

    # --- Filter ------------------------------------------------------------------------------
    def filter(self, state: CycleState, node: NodeInfo) -> Sequence[Failure]:
        if self.name not in state.scratch:
            self.pre_filter(state)
        all_counts: list[_Counts] = state.scratch[self.name]
        if not all_counts:
            return ()
        labels = node.node.labels
        for cc in all_counts:
            c = cc.constraint
            key = c.source.topology_key
            if key not in labels:
                return (Failure(
                    plugin=self.name, code="topology-spread-missing-label", reason=REASON_MISSING_LABEL,
                    message=(f"node {node.name} has no label {key}, the topologyKey of topology spread "
                             f"constraint #{c.index} (maxSkew {c.source.max_skew}, selector "
                             f"{describe_selector(c.selector)})"),
                    detail=self._detail(cc, node.name, None, None),
                    unresolvable=True,
                ),)
            value = labels[key]
            match_num = cc.per_domain.get(value, 0)
            skew = match_num + c.self_match - cc.min_match
            if skew > c.source.max_skew:
                return (Failure(
                    plugin=self.name, code="topology-spread", reason=REASON,
                    message=self._skew_message(cc, value, match_num, skew),
                    detail=self._detail(cc, node.name, value, skew),
                    unresolvable=False,
                ),)
        return ()

    @staticmethod
    def _skew_message(cc: _Counts, value: str, match_num: int, skew: int) -> str:
        c = cc.constraint
        key = c.source.topology_key
        if cc.min_forced:
            min_text = (f"min is 0 (only {len(cc.per_domain)} eligible domain(s) < "
                        f"minDomains {c.min_domains})")
        else:
            min_text = f"min is {cc.min_match} ({cc.min_domain})"
        plural = "pod" if match_num == 1 else "pods"
        self_text = "" if c.self_match else " (the pod itself does not match the selector)"
        return (f"{key}={value} has {match_num} matching {plural}, {min_text}, "
                f"skew would be {skew} > maxSkew {c.source.max_skew}{self_text}; "
                f"selector {describe_selector(c.selector)}")

    @staticmethod
    def _detail(cc: _Counts, node: str, value: str | None, skew: int | None) -> dict[str, Any]:
        c = cc.constraint
        return {
            "constraint": c.index,
            "node": node,
            "topology_key": c.source.topology_key,
            "domain": value,
            "count": cc.per_domain.get(value, 0) if value is not None else None,
            "self_match": c.self_match,
            "global_min": cc.min_match,
            "min_domain": cc.min_domain or None,
            "min_domains": c.source.min_domains,
            "min_forced_zero": cc.min_forced,
            "eligible_domains": dict(sorted(cc.per_domain.items())),
            "max_skew": c.source.max_skew,
            "skew": skew,
            "selector": describe_selector(c.selector),
            "label_selector": selector_json(c.selector),
            "match_label_keys": list(c.source.match_label_keys),
            "node_affinity_policy": c.source.node_affinity_policy,
            "node_taints_policy": c.source.node_taints_policy,
        }
