"""The objects of a fixture case (fixtures/cases/NAME.yaml), for tests that vary one."""

from __future__ import annotations

from pathlib import Path

import yaml

CASES = Path(__file__).parents[1] / "fixtures" / "cases"


def case_docs(name: str) -> list[dict]:
    """fixtures/cases/NAME.yaml's objects, without its PodtriageExpectation."""
    return [d for d in yaml.safe_load_all((CASES / f"{name}.yaml").read_text())
            if isinstance(d, dict) and d.get("kind") != "PodtriageExpectation"]
