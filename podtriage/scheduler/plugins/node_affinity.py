"""NodeAffinity: spec.nodeSelector and requiredDuringSchedulingIgnoredDuringExecution.

Both must match. Terms are ORed, expressions inside a term ANDed; an empty term matches
nothing. The verdict names each key that failed and what the node has instead.
"""

from __future__ import annotations

from typing import Any, Sequence

from ..framework import CycleState, Failure, FilterPlugin, NodeInfo
from ..selectors import (
    describe_requirement,
    field_requirement_matches,
    node_selector_term_matches,
    requirement_matches,
)

REASON = "node(s) didn't match Pod's node affinity/selector"


class NodeAffinity(FilterPlugin):
    name = "NodeAffinity"

    def _keys(self, state: CycleState) -> tuple[tuple[str, ...], bool]:
        cached = state.scratch.get(self.name + ".keys")
        if cached is None:
            pod = state.pod
            keys = set(pod.node_selector)
            uses_fields = False
            for t in pod.required_node_affinity or ():
                keys.update(r.key for r in t.match_expressions)
                uses_fields = uses_fields or bool(t.match_fields)
            cached = state.scratch[self.name + ".keys"] = (tuple(sorted(keys)), uses_fields)
        return cached

    def filter(self, state: CycleState, node: NodeInfo) -> Sequence[Failure]:
        pod = state.pod
        if not pod.node_selector and pod.required_node_affinity is None:
            return ()
        keys, uses_fields = self._keys(state)
        labels = node.node.labels
        memo_key = (tuple(labels.get(k) for k in keys), node.name if uses_fields else "")
        memo = state.scratch.setdefault(self.name, {})
        if memo_key in memo:
            return memo[memo_key]
        result = self._evaluate(state, node)
        memo[memo_key] = result
        return result

    def _evaluate(self, state: CycleState, node: NodeInfo) -> tuple[Failure, ...]:
        pod, labels, name = state.pod, node.node.labels, node.name
        selector_misses: list[dict[str, Any]] = [
            {"key": k, "want": v, "have": labels.get(k)} for k, v in sorted(pod.node_selector.items())
            if labels.get(k) != v
        ]
        term_misses: list[dict[str, Any]] = []
        terms = pod.required_node_affinity
        affinity_ok = True
        if terms is not None:
            affinity_ok = any(node_selector_term_matches(t, labels, name) for t in terms)
            if not affinity_ok:
                for i, t in enumerate(terms):
                    failed = [r for r in t.match_expressions if not requirement_matches(r, labels)]
                    failed_fields = [r for r in t.match_fields if not field_requirement_matches(r, name)]
                    term_misses.append({
                        "term": i,
                        "empty": not t.match_expressions and not t.match_fields,
                        "failed": [{"key": r.key, "operator": r.operator, "values": list(r.values),
                                    "have": labels.get(r.key), "text": describe_requirement(r)} for r in failed]
                        + [{"key": r.key, "operator": r.operator, "values": list(r.values), "have": name,
                            "text": f"field {describe_requirement(r)}"} for r in failed_fields],
                    })
        if not selector_misses and affinity_ok:
            return ()
        parts = []
        for miss in selector_misses:
            have = "no such label" if miss["have"] is None else f"{miss['key']}={miss['have']}"
            parts.append(f"nodeSelector {miss['key']}={miss['want']} (node has {have})")
        for tm in term_misses:
            if tm["empty"]:
                parts.append(f"affinity term {tm['term']} is empty and matches no node")
            for f in tm["failed"]:
                have = "no such label" if f["have"] is None else f"{f['key']}={f['have']}"
                parts.append(f"affinity {f['text']} (node has {have})")
        return (Failure(
            plugin=self.name, code="node-affinity", reason=REASON,
            message=f"node {name}: " + "; ".join(parts),
            detail={"selector": selector_misses, "terms": term_misses},
            unresolvable=True,
        ),)
