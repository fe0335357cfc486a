"""Label and node selector matching with the API machinery's semantics.

Shared by NodeAffinity, VolumeBinding (PV node affinity), VolumeZone, PodTopologySpread and
InterPodAffinity, so every plugin agrees on what "matches" means.
"""

from __future__ import annotations

from typing import Mapping, Sequence

from .. import model as m


def _int(s: str) -> int | None:
    try:
        return int(s)
    except (TypeError, ValueError):
        return None


def requirement_matches(req: m.Requirement, labels: Mapping[str, str]) -> bool:
    """One NodeSelectorRequirement / LabelSelectorRequirement against a label set."""
    op = req.operator
    has = req.key in labels
    if op == "In":
        return has and labels[req.key] in req.values
    if op == "NotIn":
        return not has or labels[req.key] not in req.values
    if op == "Exists":
        return has
    if op == "DoesNotExist":
        return not has
    if op in ("Gt", "Lt"):
        if not has or len(req.values) != 1:
            return False
        have, want = _int(labels[req.key]), _int(req.values[0])
        if have is None or want is None:
            return False
        return have > want if op == "Gt" else have < want
    return False  # unknown operator: the API would have rejected it; never matches


def field_requirement_matches(req: m.Requirement, node_name: str) -> bool:
    """matchFields: only metadata.name with In / NotIn is valid."""
    if req.key != "metadata.name":
        return False
    if req.operator == "In":
        return node_name in req.values
    if req.operator == "NotIn":
        return node_name not in req.values
    return False


def node_selector_term_matches(term: m.NodeSelectorTerm, labels: Mapping[str, str], node_name: str) -> bool:
    """An empty term matches nothing (upstream nodeaffinity semantics)."""
    if not term.match_expressions and not term.match_fields:
        return False
    return all(requirement_matches(r, labels) for r in term.match_expressions) and all(
        field_requirement_matches(r, node_name) for r in term.match_fields
    )


def node_selector_matches(terms: Sequence[m.NodeSelectorTerm], labels: Mapping[str, str], node_name: str) -> bool:
    """Terms are ORed; no terms match nothing."""
    return any(node_selector_term_matches(t, labels, node_name) for t in terms)


def label_selector_matches(sel: m.LabelSelector | None, labels: Mapping[str, str]) -> bool:
    """metav1.LabelSelector: nil selects nothing, empty selects everything."""
    if sel is None:
        return False
    for k, v in sel.match_labels:
        if labels.get(k) != v:
            return False
    return all(requirement_matches(r, labels) for r in sel.match_expressions)


def referenced_label_keys(terms: Sequence[m.NodeSelectorTerm]) -> set[str]:
    return {r.key for t in terms for r in t.match_expressions}


def describe_requirement(req: m.Requirement) -> str:
    """kubectl-like text: 'zone in (a,b)', 'gpu', '!gpu', 'cores>8'."""
    vals = ",".join(req.values)
    return {
        "In": f"{req.key} in ({vals})",
        "NotIn": f"{req.key} notin ({vals})",
        "Exists": req.key,
        "DoesNotExist": f"!{req.key}",
        "Gt": f"{req.key}>{vals}",
        "Lt": f"{req.key}<{vals}",
    }.get(req.operator, f"{req.key} {req.operator} ({vals})")


def tolerates(tol: m.Toleration, taint: m.Taint) -> bool:
    """v1.Toleration.ToleratesTaint (and resourceclaim.ToleratesTaint for device taints: the same rule)."""
    if tol.effect and tol.effect != taint.effect:
        return False
    if tol.key and tol.key != taint.key:
        return False
    if tol.operator == "Exists":
        return True
    if tol.operator in ("", "Equal"):
        return tol.value == taint.value
    return False
