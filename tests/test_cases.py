"""Every fixture in fixtures/cases/ is a small cluster with one root cause and an expectation
document (kind PodtriageExpectation) saying what podtriage must find: the category, the exact
keys/objects the message names, the fix, and what evidence it must report as missing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from podtriage.analyze import Explainer
from podtriage.loaders.files import load_path
from podtriage.rulebook import load_rules

CASES = sorted((Path(__file__).parents[1] / "fixtures" / "cases").glob("*.yaml"))


def _expectation(path: Path) -> dict:
    docs = [d for d in yaml.safe_load_all(path.read_text()) if isinstance(d, dict)]
    exp = [d for d in docs if d.get("kind") == "PodtriageExpectation"]
    assert len(exp) == 1, f"{path.name}: needs exactly one PodtriageExpectation document"
    return exp[0]


@pytest.fixture(scope="module")
def rules():
    return load_rules()


def test_there_are_cases():
    assert len(CASES) >= 20


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_case(path: Path, rules) -> None:
    exp = _expectation(path)
    snapshot = load_path(path)
    report = Explainer(snapshot, rules).explain(exp["target"], exp.get("namespace"))
    assert report.blocked is exp["blocked"], [c.message for c in report.root_causes]
    doc = report.to_dict()
    if not exp["blocked"]:
        assert not [c for c in report.root_causes if c.blocking]
        return
    top = report.root_causes[0]
    assert top.category == exp["category"], [(c.rule, c.category, c.message) for c in report.root_causes]
    if "rule" in exp:
        assert top.rule == exp["rule"], [(c.rule, c.message) for c in report.root_causes]
    for text in exp["mentions"]:
        assert text in top.message, f"{text!r} not in {top.message!r}"
    for text in exp["fix"]:
        assert text in top.fix + "\n" + top.fix_command, f"{text!r} not in fix {top.fix!r} / {top.fix_command!r}"
    assert top.evidence, "a root cause must cite its evidence"
    for text in exp.get("missing", []):
        assert any(text in m for m in doc["missing"]), doc["missing"]
    if exp.get("missing"):
        assert report.confidence < 1.0
    if "decision" in exp:
        _check_decision(exp["decision"], doc)
    for rule, texts in exp.get("context", {}).items():
        [cause] = [c for c in doc["rootCauses"] if c["rule"] == rule] or [None]
        assert cause is not None, (rule, [c["rule"] for c in doc["rootCauses"]])
        for text in texts:
            assert text in cause["message"], (text, cause["message"])


def _check_decision(want: dict, doc: dict) -> None:
    """What the counterfactual says of the top cause (podtriage.decide)."""
    top = doc["rootCauses"][0]
    listed = [(c["rule"], c["blocking"]) for c in doc["rootCauses"]]
    if "feasibleAfter" in want:
        assert top["feasibleAfter"] is not None and len(top["feasibleAfter"]) == want["feasibleAfter"], \
            (top["feasibleAfter"], top["rankReason"])
    if "stillBlockedBy" in want:
        assert [x["rule"] for x in top["stillBlockedBy"]] == want["stillBlockedBy"], top["stillBlockedBy"]
    for rule in want.get("notTop", []):
        assert top["rule"] != rule, listed
    for text in want.get("evidence", []):
        assert any(text in e["summary"] for e in top["evidence"]), (text, [e["summary"] for e in top["evidence"]])
    fixes = top["fixes"]
    if "firstFix" in want:
        first = next(f for f in fixes if f["safe"])
        for key, value in want["firstFix"].items():
            if key == "patch":
                assert value in json.dumps(first["patch"]), first
            elif key == "object":
                assert {k: first["object"][k] for k in value} == value, first["object"]
            else:
                assert first[key] == value, first
    texts = [c["fix"] + "\n" + c["fixCommand"] + json.dumps(c["fixes"]) for c in doc["rootCauses"] if c["blocking"]]
    for text in want.get("notInFix", []):
        assert not any(text in t for t in texts), (text, texts)
