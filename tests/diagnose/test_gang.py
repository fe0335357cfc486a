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
