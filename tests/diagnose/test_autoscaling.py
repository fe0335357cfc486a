"""diagnose/autoscaling.py: a VPA that raised a pod's request beyond every node is named as its origin."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from podtriage.analyze import Explainer
from podtriage.diagnose.autoscaling import parse_updates
from podtriage.rulebook import load_rules
from podtriage.snapshot import SnapshotBuilder

CASE = Path(__file__).parents[2] / "fixtures" / "cases" / "vpa-request-beyond-nodes.yaml"
POD = "llm-router-6d9f7c5b8d-q8x2m"


@pytest.fixture(scope="module")
def rules():
    return load_rules()


def _docs() -> list[dict]:
    return [d for d in yaml.safe_load_all(CASE.read_text()) if isinstance(d, dict)
            and d.get("kind") != "PodtriageExpectation"]


def _top(docs: list[dict], rules):
    b = SnapshotBuilder("t")
    b.add_all(copy.deepcopy(docs))
    for k in {d["kind"] for d in docs} | {"Node", "Pod", "Event"}:
        b.mark_collected(k)
    return Explainer(b.build(), rules).explain(POD, "serving").root_causes[0]


def test_parse_updates() -> None:
    assert parse_updates("Pod resources updated by api-vpa: container 0: cpu request, memory request; "
                         "container 1: memory limit") == ("api-vpa", {0: {"cpu request", "memory request"},
                                                                     1: {"memory limit"}})
    assert parse_updates("something else") == ("", {})


def test_vpa_unread_still_named_from_the_annotation(rules) -> None:
    top = _top([d for d in _docs() if d["kind"] != "VerticalPodAutoscaler"], rules)
    assert top.rule == "vpa-request-beyond-nodes"
    assert "maxAllowed memory for the container is not set" in top.message  # unknown reads as not set
    assert not [f for f in top.fixes if f.object.get("kind") == "VerticalPodAutoscaler"]  # no patch without it


def test_an_existing_cap_is_quoted_and_kept_in_the_patch(rules) -> None:
    docs = _docs()
    vpa = next(d for d in docs if d["kind"] == "VerticalPodAutoscaler")
    vpa["spec"]["resourcePolicy"]["containerPolicies"][0]["maxAllowed"] = {"cpu": "8", "memory": "96Gi"}
    top = _top(docs, rules)
    assert "maxAllowed memory for the container is 96Gi" in top.message
    [fix] = [f for f in top.fixes if f.object.get("kind") == "VerticalPodAutoscaler"]
    assert fix.patch["spec"]["resourcePolicy"]["containerPolicies"][0]["maxAllowed"] == {"cpu": "8", "memory": "64Gi"}


def test_a_request_the_vpa_did_not_touch_is_not_blamed_on_it(rules) -> None:
    docs = _docs()
    p = next(d for d in docs if d["kind"] == "Pod")
    p["metadata"]["annotations"]["vpaUpdates"] = "Pod resources updated by llm-router: container 0: cpu request"
    assert _top(docs, rules).rule == "pod-larger-than-any-node"


# --- HorizontalPodAutoscaler ------------------------------------------------------------------------
HPA_POD = "triton-7c9d5f8b6-n9p2q"


def _causes(docs: list[dict], rules, target: str = HPA_POD):
    b = SnapshotBuilder("t")
    b.add_all(copy.deepcopy(docs))
    for k in {d["kind"] for d in docs} | {"Node", "Pod", "Event"}:
        b.mark_collected(k)
    return Explainer(b.build(), rules).explain(target, "ml").root_causes


def _hpa_docs(**status: int) -> list[dict]:
    from tests.fixture_cases import case_docs

    docs = case_docs("hpa-replicas-pending")
    for d in docs:
        if d["kind"] == "HorizontalPodAutoscaler":
            d["status"].update(status)
    return docs


def test_a_pending_replica_names_the_hpa_that_added_it(rules) -> None:
    causes = _causes(_hpa_docs(), rules)
    assert causes[0].rule == "accelerator-exhausted-by-own-replicas" and causes[0].blocking
    [hpa] = [c for c in causes if c.rule == "hpa-replicas-pending"]
    assert not hpa.blocking
    assert "HorizontalPodAutoscaler triton scaled deployment/triton to 6 desired replicas (minReplicas 2, " \
           "maxReplicas 10, current 6): 4 placed, 2 Pending" in hpa.message
    # capacity first; the owner's cap second, at what the pool holds
    assert hpa.fix.index("capacity") < hpa.fix.index("maxReplicas")
    assert '{"spec":{"maxReplicas":4}}' in hpa.fix


def test_replicas_at_the_hpa_floor_are_not_said_to_be_added_by_it(rules) -> None:
    causes = _causes(_hpa_docs(desiredReplicas=2, currentReplicas=2), rules)
    assert "hpa-replicas-pending" not in [c.rule for c in causes]


def test_an_hpa_of_another_deployment_is_not_named(rules) -> None:
    docs = _hpa_docs()
    for d in docs:
        if d["kind"] == "HorizontalPodAutoscaler":
            d["spec"]["scaleTargetRef"]["name"] = "embedder"
    assert "hpa-replicas-pending" not in [c.rule for c in _causes(docs, rules)]


def test_at_max_replicas_it_says_the_hpa_asks_for_no_more(rules) -> None:
    docs = _hpa_docs()
    for d in docs:
        if d["kind"] == "HorizontalPodAutoscaler":
            d["spec"]["maxReplicas"] = 6
    [hpa] = [c for c in _causes(docs, rules) if c.rule == "hpa-replicas-pending"]
    assert "it is at its maxReplicas (6): it asks for no more" in hpa.message
