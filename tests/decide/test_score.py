"""The share-of-failure score that orders context causes (those the counterfactual does not decide:
a bound pod's, a workload's missing pods), moved here from the graph module with the ranking."""

from __future__ import annotations

import pytest

from podtriage.decide.ranking import rank, score
from podtriage.findings import EvidenceItem, RootCause


def _rc(
    rule: str,
    nodes: int = 0,
    severity: str = "critical",
    blocking: bool = True,
    confidence: float = 0.9,
    attempts: int = 0,
) -> RootCause:
    ev = (
        (EvidenceItem(kind="event", summary="FailedScheduling", source="e", data={"count": attempts}),)
        if attempts
        else ()
    )
    return RootCause(
        rule=rule,
        category="other",
        severity=severity,
        title=rule,
        message=rule,
        fix="",
        evidence=ev,
        confidence=confidence,
        blocking=blocking,
        nodes=tuple(f"{rule}-{i}" for i in range(nodes)),
    )


def test_more_nodes_explained_ranks_higher() -> None:
    ranked = rank([_rc("few", nodes=2), _rc("many", nodes=9)], total_nodes=12, total_attempts=0)
    assert [r.rule for r in ranked] == ["many", "few"]
    assert ranked[0].score > ranked[1].score > 0


def test_pod_level_cause_explains_every_node() -> None:
    ranked = rank([_rc("taint", nodes=11), _rc("pvc-not-found")], total_nodes=12, total_attempts=0)
    assert ranked[0].rule == "pvc-not-found"
    assert ranked[0].score == pytest.approx(0.9)


def test_blocking_before_non_blocking() -> None:
    ranked = rank(
        [_rc("info-but-wide", blocking=False), _rc("narrow", nodes=1, severity="high")],
        total_nodes=12,
        total_attempts=0,
    )
    assert [r.rule for r in ranked] == ["narrow", "info-but-wide"]


def test_severity_and_confidence_weigh_in() -> None:
    ranked = rank(
        [_rc("medium", nodes=6, severity="medium"), _rc("critical", nodes=6)],
        total_nodes=12,
        total_attempts=0,
    )
    assert [r.rule for r in ranked] == ["critical", "medium"]
    ranked = rank(
        [_rc("unsure", nodes=6, confidence=0.3), _rc("sure", nodes=6)], total_nodes=12, total_attempts=0
    )
    assert [r.rule for r in ranked] == ["sure", "unsure"]


def test_attempts_count() -> None:
    a = _rc("a", nodes=6, attempts=30)
    b = _rc("b", nodes=6, attempts=10)
    assert [r.rule for r in rank([b, a], total_nodes=12, total_attempts=40)] == ["a", "b"]
    assert score(a, total_nodes=12, total_attempts=40) > score(b, total_nodes=12, total_attempts=40)


def test_ties_break_on_rule_id_deterministically() -> None:
    ranked = rank([_rc("zeta", nodes=3), _rc("alpha", nodes=3)], total_nodes=12, total_attempts=0)
    assert [r.rule for r in ranked] == ["alpha", "zeta"]
    again = rank(list(reversed(ranked)), total_nodes=12, total_attempts=0)
    assert again == ranked


def test_no_nodes_in_cluster() -> None:
    [r] = rank([_rc("no-nodes")], total_nodes=0, total_attempts=0)
    assert r.score == pytest.approx(0.9)


