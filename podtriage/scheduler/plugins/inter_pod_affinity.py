"""InterPodAffinity: required pod affinity and anti-affinity, both directions.

PreFilter walks the assigned pods once and builds three maps keyed by (topologyKey, value):
- existing anti-affinity: existing pods whose required anti-affinity terms match the incoming pod
  (only pods carrying affinity terms are looked at);
- affinity: existing pods matching ALL of the incoming pod's required affinity terms (upstream
  counts a pod only when it matches every term);
- anti-affinity: existing pods matching each of the incoming pod's anti-affinity terms.
Filter then costs O(terms) per node. Upstream order and one reason per node:
affinity (UnschedulableAndUnresolvable), anti-affinity, existing pods' anti-affinity (both
Unschedulable: evicting the pods at fault may help).

Namespaces of a term: `namespaces` plus every namespace whose labels match `namespaceSelector`
(`{}` = all); with neither set, the namespace of the pod that owns the term. matchLabelKeys /
mismatchLabelKeys become `key in (owner's value)` / `key notin (owner's value)` requirements, as
the API server merges them at pod creation (a no-op when already merged).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ... import model as m
from ..framework import CycleState, Failure, FilterPlugin, NodeInfo
from ..selectors import label_selector_matches
from .pod_topology_spread import describe_selector, selector_json

REASON_AFFINITY = "node(s) didn't match pod affinity rules"
REASON_ANTI = "node(s) didn't match pod anti-affinity rules"
REASON_EXISTING_ANTI = "node(s) didn't satisfy existing pods anti-affinity rules"

_MAX_LISTED = 5  # pods named per domain in details; counts stay exact


@dataclass(frozen=True)
class Term:
    """A PodAffinityTerm resolved for matching: effective selector and namespace scope."""

    index: int
    topology_key: str
    selector: m.LabelSelector | None
    namespaces: frozenset[str]
    namespace_selector: m.LabelSelector | None
    source: m.PodAffinityTerm

    def namespace_matches(self, ns: str, ns_labels: Mapping[str, str]) -> bool:
        return ns in self.namespaces or (
            self.namespace_selector is not None and label_selector_matches(self.namespace_selector, ns_labels))

    def matches(self, pod: m.Pod, ns_labels: Mapping[str, str]) -> bool:
        return self.namespace_matches(pod.namespace, ns_labels) and label_selector_matches(self.selector, pod.labels)

    def describe(self) -> str:
        if self.namespace_selector is not None:
            ns_sel = describe_selector(self.namespace_selector)
            ns_text = f"namespaces matching {ns_sel}"
            if self.namespaces:
                ns_text = f"namespace(s) {', '.join(sorted(self.namespaces))} or {ns_text}"
        else:
            ns_text = f"namespace(s) {', '.join(sorted(self.namespaces))}"
        return f"pods matching {describe_selector(self.selector)} in {ns_text}, topologyKey {self.topology_key}"

    def to_json(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "topology_key": self.topology_key,
            "selector": describe_selector(self.selector),
            "label_selector": selector_json(self.selector),
            "namespaces": sorted(self.namespaces),
            "namespace_selector": selector_json(self.namespace_selector),
            "match_label_keys": list(self.source.match_label_keys),
            "mismatch_label_keys": list(self.source.mismatch_label_keys),
        }


def resolve_term(owner: m.Pod, term: m.PodAffinityTerm, index: int) -> Term:
    """Resolve a term of `owner` (the pod declaring it) into a matchable Term."""
    sel = term.label_selector
    if sel is not None and (term.match_label_keys or term.mismatch_label_keys):
        extra = tuple(m.Requirement(k, "In", (owner.labels[k],)) for k in term.match_label_keys
                      if k in owner.labels)
        extra += tuple(m.Requirement(k, "NotIn", (owner.labels[k],)) for k in term.mismatch_label_keys
                       if k in owner.labels)
        # Already merged by the API server: keep the selector as is.
        extra = tuple(r for r in extra if r not in sel.match_expressions)
        sel = m.LabelSelector(match_labels=sel.match_labels, match_expressions=sel.match_expressions + extra)
    namespaces = frozenset(term.namespaces)
    if not namespaces and term.namespace_selector is None:
        namespaces = frozenset((owner.namespace,))
    return Term(index=index, topology_key=term.topology_key, selector=sel, namespaces=namespaces,
                namespace_selector=term.namespace_selector, source=term)


@dataclass
class _State:
    affinity_terms: list[Term]
    anti_terms: list[Term]
    # (topologyKey, value) -> count / a few of the pods (keys) behind the count
    affinity_counts: dict[tuple[str, str], int] = field(default_factory=dict)
    affinity_pods: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    # per anti term index: (topologyKey, value) -> matching pod keys
    anti_pods: dict[int, dict[tuple[str, str], list[str]]] = field(default_factory=dict)
    anti_counts: dict[int, dict[tuple[str, str], int]] = field(default_factory=dict)
    # existing anti-affinity: topologyKey -> value -> [(pod key, node, term json)]
    existing: dict[str, dict[str, list[dict[str, Any]]]] = field(default_factory=dict)
    self_matches_all: bool = False


def _pod_json(p: m.Pod) -> dict[str, Any]:
    return {"namespace": p.namespace, "name": p.name, "node": p.node_name, "labels": dict(p.labels)}


class InterPodAffinity(FilterPlugin):
    name = "InterPodAffinity"

    def applies(self, state: CycleState) -> bool:
        pod = state.pod
        return bool(pod.pod_affinity or pod.pod_anti_affinity or state.cluster.pods_with_affinity)

    # --- PreFilter ---------------------------------------------------------------------------
    def pre_filter(self, state: CycleState) -> Sequence[Failure]:
        state.scratch[self.name] = self._compute(state)
        return ()

    def _compute(self, state: CycleState) -> _State:
        pod, cluster = state.pod, state.cluster
        node_by_name = cluster.snapshot.node_by_name
        s = _State(
            affinity_terms=[resolve_term(pod, t, i) for i, t in enumerate(pod.pod_affinity)],
            anti_terms=[resolve_term(pod, t, i) for i, t in enumerate(pod.pod_anti_affinity)],
        )
        own_ns_labels = cluster.namespace_labels(pod.namespace)

        # (1) existing pods' required anti-affinity against the incoming pod
        for ep in cluster.pods_with_affinity:
            if not ep.pod_anti_affinity or ep.key == pod.key:
                continue
            node = node_by_name.get(ep.node_name)
            if node is None:
                continue
            for i, raw in enumerate(ep.pod_anti_affinity):
                term = resolve_term(ep, raw, i)
                if term.topology_key not in node.labels or not term.matches(pod, own_ns_labels):
                    continue
                value = node.labels[term.topology_key]
                s.existing.setdefault(term.topology_key, {}).setdefault(value, []).append(
                    {"pod": _pod_json(ep), "term": term.to_json(), "describe": term.describe()})

        # (2)/(3) existing pods against the incoming pod's own terms: one pass over assigned pods
        if s.affinity_terms or s.anti_terms:
            ns_labels_cache: dict[str, Mapping[str, str]] = {}
            for info in cluster.node_infos.values():
                labels = info.node.labels
                for ep in info.pods:
                    if ep.key == pod.key:
                        continue
                    ns_labels = ns_labels_cache.get(ep.namespace)
                    if ns_labels is None:
                        ns_labels = ns_labels_cache[ep.namespace] = cluster.namespace_labels(ep.namespace)
                    if s.affinity_terms and all(t.matches(ep, ns_labels) for t in s.affinity_terms):
                        for t in s.affinity_terms:
                            if t.topology_key in labels:
                                pair = (t.topology_key, labels[t.topology_key])
                                s.affinity_counts[pair] = s.affinity_counts.get(pair, 0) + 1
                                listed = s.affinity_pods.setdefault(pair, [])
                                if len(listed) < _MAX_LISTED and ep.key not in listed:
                                    listed.append(ep.key)
                    for t in s.anti_terms:
                        if t.topology_key in labels and t.matches(ep, ns_labels):
                            pair = (t.topology_key, labels[t.topology_key])
                            counts = s.anti_counts.setdefault(t.index, {})
                            counts[pair] = counts.get(pair, 0) + 1
                            listed = s.anti_pods.setdefault(t.index, {}).setdefault(pair, [])
                            if len(listed) < _MAX_LISTED:
                                listed.append(ep.key)
        s.self_matches_all = bool(s.affinity_terms) and all(
            t.matches(pod, own_ns_labels) for t in s.affinity_terms)
        return s

    # --- Filter ------------------------------------------------------------------------------
    def filter(self, state: CycleState, node: NodeInfo) -> Sequence[Failure]:
        if self.name not in state.scratch:
            self.pre_filter(state)
        s: _State = state.scratch[self.name]
        labels = node.node.labels
        f = self._affinity(s, node.name, labels)
        if f is None:
            f = self._anti(s, node.name, labels)
        if f is None:
            f = self._existing_anti(s, node.name, labels)
        return (f,) if f else ()

    def _affinity(self, s: _State, node: str, labels: Mapping[str, str]) -> Failure | None:
        if not s.affinity_terms:
            return None
        failing: list[tuple[Term, bool]] = []  # (term, node lacks the topology key)
        for t in s.affinity_terms:
            if t.topology_key not in labels:
                # All topology labels must exist on the node: no first-pod exception here.
                return self._affinity_failure(s, node, labels, [(t, True)])
            if s.affinity_counts.get((t.topology_key, labels[t.topology_key]), 0) <= 0:
                failing.append((t, False))
        if not failing:
            return None
        if not s.affinity_counts and s.self_matches_all:
            return None  # the first pod of a group with affinity to itself
        return self._affinity_failure(s, node, labels, failing)

    def _affinity_failure(self, s: _State, node: str, labels: Mapping[str, str],
                          failing: list[tuple[Term, bool]]) -> Failure:
        t, missing = failing[0]
        elsewhere = sorted(v for (k, v) in s.affinity_counts if k == t.topology_key)
        if missing:
            message = (f"node {node} has no label {t.topology_key}, the topologyKey of required pod "
                       f"affinity term #{t.index} ({t.describe()})")
        else:
            where = f"{t.topology_key}={labels[t.topology_key]}"
            if elsewhere:
                found = f"matching pods run in {t.topology_key}={', '.join(elsewhere)}"
            elif not s.affinity_counts:
                found = "no pod in the cluster matches all the pod's affinity terms"
                if not s.self_matches_all:
                    found += " and the pod does not match them itself, so the first-pod exception does not apply"
            else:
                found = f"no matching pod runs on a node labelled {t.topology_key}"
            message = f"no pod matching affinity term #{t.index} ({t.describe()}) runs in {where}; {found}"
        return Failure(
            plugin=self.name, code="pod-affinity", reason=REASON_AFFINITY, message=message,
            detail={
                "node": node,
                "term": t.to_json(),
                "topology_key": t.topology_key,
                "selector": describe_selector(t.selector),
                "missing_topology_key": missing,
                "domain": labels.get(t.topology_key),
                "domains_with_matches": {v: s.affinity_counts[(t.topology_key, v)] for v in elsewhere},
                "example_pods": {v: s.affinity_pods.get((t.topology_key, v), []) for v in elsewhere},
                "failing_terms": [ft.index for ft, _ in failing],
                "any_match_in_cluster": bool(s.affinity_counts),
                "pod_matches_own_terms": s.self_matches_all,
            },
            unresolvable=True,
        )

    def _anti(self, s: _State, node: str, labels: Mapping[str, str]) -> Failure | None:
        for t in s.anti_terms:
            value = labels.get(t.topology_key)
            if value is None:
                continue
            pair = (t.topology_key, value)
            count = s.anti_counts.get(t.index, {}).get(pair, 0)
            if count <= 0:
                continue
            pods = s.anti_pods[t.index][pair]
            more = f" and {count - len(pods)} more" if count > len(pods) else ""
            return Failure(
                plugin=self.name, code="pod-anti-affinity", reason=REASON_ANTI,
                message=(f"{t.topology_key}={value} already runs {', '.join(pods)}{more}, matching "
                         f"anti-affinity term #{t.index} ({t.describe()})"),
                detail={
                    "node": node,
                    "term": t.to_json(),
                    "topology_key": t.topology_key,
                    "domain": value,
                    "selector": describe_selector(t.selector),
                    "matching_pods": pods,
                    "matching_count": count,
                },
                unresolvable=False,
            )
        return None

    def _existing_anti(self, s: _State, node: str, labels: Mapping[str, str]) -> Failure | None:
        for key, by_value in s.existing.items():
            value = labels.get(key)
            if value is None or value not in by_value:
                continue
            hits = by_value[value]
            first = hits[0]
            p = first["pod"]
            more = f" (and {len(hits) - 1} more)" if len(hits) > 1 else ""
            return Failure(
                plugin=self.name, code="existing-anti-affinity", reason=REASON_EXISTING_ANTI,
                message=(f"pod {p['namespace']}/{p['name']} on {p['node']} has required anti-affinity "
                         f"against this pod ({first['describe']}) in {key}={value}{more}"),
                detail={
                    "node": node,
                    "topology_key": key,
                    "domain": value,
                    "pod": p,
                    "term": first["term"],
                    "existing": [{"pod": h["pod"], "term": h["term"]} for h in hits[:_MAX_LISTED]],
                    "existing_count": len(hits),
                },
                unresolvable=False,
            )
        return None
