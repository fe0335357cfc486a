"""Every fixture in fixtures/cases/ is a small cluster with one root cause and an expectation
document (kind PodtriageExpectation) saying what podtriage must find: the category, the exact
keys/objects the message names, the fix, and what evidence it must report as missing."""

from __future__ import annotations

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
