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
