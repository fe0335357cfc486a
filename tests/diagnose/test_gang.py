"""diagnose/gang.py: a partly placed gang is said as one unit, and only a gang is."""

from __future__ import annotations

import copy
from pathlib import Path

import yaml

from podtriage.analyze import Explainer
from podtriage.rulebook import load_rules
from podtriage.snapshot import SnapshotBuilder

CASE = Path(__file__).parents[2] / "fixtures" / "cases" / "gang-partially-placed.yaml"


def _rules(docs: list[dict]) -> list[str]:
    b = SnapshotBuilder("t")
    b.add_all(copy.deepcopy(docs))
    for k in {d["kind"] for d in docs} | {"Node", "Pod", "Event"}:
        b.mark_collected(k)
    return [c.rule for c in Explainer(b.build(), load_rules()).explain("job/llm-train", "ml").root_causes]


def _docs() -> list[dict]:
    return [d for d in yaml.safe_load_all(CASE.read_text()) if isinstance(d, dict)
            and d.get("kind") != "PodtriageExpectation"]


def test_partly_placed_gang_is_context_not_the_cause() -> None:
    rules = _rules(_docs())
    assert rules[0] == "accelerator-exhausted-held" and "gang-partially-placed" in rules


def test_workers_that_do_not_run_together_are_no_gang() -> None:
    docs = _docs()
    for d in docs:
        if d["kind"] == "Pod" and d["metadata"]["name"].startswith("llm-train"):
            del d["metadata"]["labels"]["batch.kubernetes.io/job-completion-index"]
    assert "gang-partially-placed" not in _rules(docs)


def test_a_pod_group_label_makes_a_gang_of_any_workload() -> None:
    docs = _docs()
    for d in docs:
        if d["kind"] == "Pod" and d["metadata"]["name"].startswith("llm-train"):
            del d["metadata"]["labels"]["batch.kubernetes.io/job-completion-index"]
            d["metadata"]["labels"]["scheduling.x-k8s.io/pod-group"] = "llm-train"
    assert "gang-partially-placed" in _rules(docs)


# --- the PodGroup object (scheduler-plugins coscheduling) -------------------------------------------

def _causes(docs: list[dict], target: str = "job/llm-train"):
    b = SnapshotBuilder("t")
    b.add_all(copy.deepcopy(docs))
    for k in {d["kind"] for d in docs} | {"Node", "Pod", "Event"}:
        b.mark_collected(k)
    return Explainer(b.build(), load_rules()).explain(target, "ml").root_causes


def _short_group(min_member: int) -> list[dict]:
    from tests.fixture_cases import case_docs

    docs = case_docs("podgroup-min-member-unmet")
    for d in docs:
        if d["kind"] == "PodGroup":
            d["spec"]["minMember"] = min_member
    return docs


def test_a_podgroup_short_of_its_min_member_is_the_cause_not_the_scheduler_s_unexplained_word() -> None:
    causes = _causes(_short_group(4), "llm-train-0-x7k2p")
    assert causes[0].rule == "podgroup-min-member-unmet" and causes[0].blocking
    assert "needs minMember 4 pods, but only 3 carry its label (1 missing)" in causes[0].message
    assert "scheduler-refuses" not in [c.rule for c in causes]
    assert '"minMember":3' in causes[0].fix and "job/llm-train" in causes[0].fix


def test_a_podgroup_whose_pods_are_all_there_is_not_blamed() -> None:
    rules = [c.rule for c in _causes(_short_group(3), "llm-train-0-x7k2p")]
    assert "podgroup-min-member-unmet" not in rules
    assert rules[0] == "scheduler-refuses"  # the fixture's scheduler message stays unexplained: quoted


def test_a_partly_placed_podgroup_gang_says_min_member_and_the_controller_s_counts() -> None:
    docs = _docs()
    for d in docs:
        if d["kind"] == "Pod" and d["metadata"]["name"].startswith("llm-train"):
            d["metadata"]["labels"]["scheduling.x-k8s.io/pod-group"] = "llm-train"
    docs.append({"apiVersion": "scheduling.x-k8s.io/v1alpha1", "kind": "PodGroup",
                 "metadata": {"name": "llm-train", "namespace": "ml", "uid": "pg-1"},
                 "spec": {"minMember": 4}, "status": {"phase": "Scheduling", "running": 3}})
    [gang] = [c for c in _causes(docs) if c.rule == "gang-partially-placed"]
    assert "coscheduling PodGroup `llm-train` (minMember 4; phase Scheduling, 3 running)" in gang.message
