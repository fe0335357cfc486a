"""diagnose/serving.py: `explain inferenceservice/NAME` reaches the predictor's pods, with or without the
InferenceService object itself."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from podtriage.analyze import Explainer, parse_target
from podtriage.errors import TargetNotFound
from podtriage.rulebook import load_rules
from podtriage.snapshot import SnapshotBuilder

CASES = Path(__file__).parents[2] / "fixtures" / "cases"


@pytest.fixture(scope="module")
def rules():
    return load_rules()


def _explainer(name: str, drop: tuple[str, ...] = ()) -> Explainer:
    docs = [d for d in yaml.safe_load_all((CASES / f"{name}.yaml").read_text())
            if isinstance(d, dict) and d.get("kind") not in ("PodtriageExpectation", *drop)]
    b = SnapshotBuilder("t")
    b.add_all(copy.deepcopy(docs))
    for k in {d["kind"] for d in docs} | {"Node", "Pod", "Event"}:
        b.mark_collected(k)
    return Explainer(b.build(), load_rules())


@pytest.mark.parametrize("target", ["inferenceservice/triton", "isvc/triton", "InferenceServices.serving.kserve.io/triton"])
def test_target_aliases(target: str) -> None:
    assert parse_target(target) == ("InferenceService", "triton")


def test_found_by_its_label_when_inference_services_are_not_read() -> None:
    report = _explainer("kserve-predictor-gpu-unusable", drop=("InferenceService",)).explain("isvc/triton", "ml")
    assert report.blocked
    assert [p.name for p in report.pods] == ["triton-predictor-7f9c8d6b5-m2k8q"]
    assert report.root_causes[0].rule == "accelerator-plugin-sees-no-devices"
    assert report.workload["replicas"] == 1 and report.workload["pending"] == ["ml/triton-predictor-7f9c8d6b5-m2k8q"]


def test_conditions_of_the_inference_service_are_reported() -> None:
    report = _explainer("kserve-predictor-gpu-unusable").explain("isvc/triton", "ml")
    assert {"type": "PredictorReady", "status": "False", "reason": "MinimumReplicasUnavailable",
            "message": "Deployment does not have minimum availability."} in report.workload["conditions"]


def test_unknown_inference_service_is_not_found() -> None:
    with pytest.raises(TargetNotFound):
        _explainer("kserve-no-runtime").explain("isvc/llama2", "ml")
