"""`-o json` / `-o yaml` and the shipped schema they are documented by."""

from __future__ import annotations

import copy
import dataclasses
import json
import sys
from types import MappingProxyType

import jsonschema
import pytest
import yaml

from podtriage import SCHEMA_VERSION
from podtriage.findings import CATEGORIES, SEVERITIES
from podtriage.render import load_schema, render_json, render_yaml, schema_path, validate_report

from . import blocked_pod_report, missing_evidence_report, running_pod_report, workload_report

REPORTS = {
    "blocked-pod": blocked_pod_report,
    "missing-evidence": missing_evidence_report,
    "workload": workload_report,
    "running-pod": running_pod_report,
}


def test_schema_is_valid_draft_2020_12_and_ships_in_the_package() -> None:
    path = schema_path()
    assert path.is_file() and path.parent.name == "schema" and path.parent.parent.name == "podtriage"
    schema = load_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)


def test_schema_enumerates_categories_severities_and_version() -> None:
    schema = load_schema()
    assert schema["$defs"]["category"]["enum"] == list(CATEGORIES)
    assert schema["$defs"]["severity"]["enum"] == list(SEVERITIES)
    assert schema["properties"]["apiVersion"]["const"] == SCHEMA_VERSION == "podtriage.dev/v1"


def test_schema_closes_our_layout() -> None:
    schema = load_schema()
    assert schema["additionalProperties"] is False
    for name in ("rootCause", "evidence", "verdictGroup", "podReport", "target"):
        assert schema["$defs"][name]["additionalProperties"] is False, name
    # every field to_dict writes is described (and required) in the closed objects
    doc = json.loads(render_json(blocked_pod_report()))
    # `stale` and `lastSync` exist only in the documents `podtriage watch` serves (optional)
    watch_only = {"stale", "lastSync"}
    assert set(doc) == set(schema["required"]) == set(schema["properties"]) - watch_only
    assert set(doc["rootCauses"][0]) == set(schema["$defs"]["rootCause"]["required"])
    assert set(doc["pods"][0]) == set(schema["$defs"]["podReport"]["required"])
    assert set(doc["pods"][0]["nodeGroups"][0]) == set(schema["$defs"]["verdictGroup"]["required"])
    assert set(doc["rootCauses"][0]["evidence"][0]) == set(schema["$defs"]["evidence"]["required"])


@pytest.mark.parametrize("name", sorted(REPORTS))
def test_json_validates_against_the_schema(name: str) -> None:
    report = REPORTS[name]()
    text = render_json(report)
    assert text.endswith("}\n")
    doc = json.loads(text)
    assert validate_report(doc) == []
    assert doc == json.loads(json.dumps(report.to_dict()))
    assert list(doc)[:2] == ["apiVersion", "kind"]  # layout order, not sorted
    assert doc["apiVersion"] == SCHEMA_VERSION and doc["kind"] == "Explanation"


@pytest.mark.parametrize("name", sorted(REPORTS))
def test_yaml_round_trips_to_the_same_document(name: str) -> None:
    report = REPORTS[name]()
    text = render_yaml(report)
    assert yaml.safe_load(text) == json.loads(render_json(report))
    assert text.startswith("apiVersion: podtriage.dev/v1\nkind: Explanation\n")


def test_json_keeps_unicode_and_indents() -> None:
    report = dataclasses.replace(blocked_pod_report(), warnings=("nœud gpu-a-07 a été supprimé",))
    text = render_json(report)
    assert "nœud gpu-a-07 a été supprimé" in text
    assert text.startswith('{\n  "apiVersion": "podtriage.dev/v1",\n')
    assert "nœud" in render_yaml(report)


def test_read_only_mappings_and_tuples_serialise() -> None:
    report = blocked_pod_report()
    pod = dataclasses.replace(report.pods[0], scheduler=MappingProxyType(
        {"message": "x", "attempts": (MappingProxyType({"count": 1, "message": "x", "source": "Event e"}),)}))
    report = dataclasses.replace(report, pods=(pod,), workload=MappingProxyType({"pending": ("default/a",)}))
    doc = json.loads(render_json(report))
    assert doc["pods"][0]["scheduler"]["attempts"] == [{"count": 1, "message": "x", "source": "Event e"}]
    assert yaml.safe_load(render_yaml(report)) == doc
    assert validate_report(doc) == []


def _doc() -> dict:
    return json.loads(render_json(blocked_pod_report()))


def test_wrong_category_does_not_validate() -> None:
    doc = _doc()
    doc["rootCauses"][0]["category"] = "cosmic-rays"
    errors = validate_report(doc)
    assert errors == ["rootCauses/0/category: 'cosmic-rays' is not an allowed value"]


def test_missing_required_field_does_not_validate() -> None:
    doc = _doc()
    del doc["blocked"]
    del doc["pods"][0]["rootCauses"][0]["fix"]
    errors = validate_report(doc)
    assert "(document): 'blocked' is a required property" in errors
    assert "pods/0/rootCauses/0: 'fix' is a required property" in errors


@pytest.mark.parametrize("mutate, where", [
    (lambda d: d.update(apiVersion="podtriage.dev/v2"), "apiVersion"),
    (lambda d: d["rootCauses"][0].update(severity="urgent"), "rootCauses/0/severity"),
    (lambda d: d["rootCauses"][0].update(confidence=1.5), "rootCauses/0/confidence"),
    (lambda d: d["rootCauses"][0].update(surprise=True), "rootCauses/0"),
    (lambda d: d["pods"][0]["nodeGroups"][0].update(count="28"), "pods/0/nodeGroups/0/count"),
    (lambda d: d["pods"][0].update(totalNodes="all"), "pods/0/totalNodes"),
    (lambda d: d.update(extra=1), "(document)"),
])
def test_broken_documents_name_the_field(mutate, where: str) -> None:
    doc = _doc()
    mutate(doc)
    errors = validate_report(doc)
    assert errors and all(e.startswith(where + ":") for e in errors), errors


def test_open_objects_accept_additions() -> None:
    doc = _doc()
    doc["source"]["kubeconfig"] = "/home/me/.kube/config"
    doc["pods"][0]["scheduler"]["parsed"] = {"taint": 28}
    doc["workload"]["conditions"] = []
    assert validate_report(doc) == []


def test_validation_without_jsonschema(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "jsonschema", None)  # import now raises ImportError
    doc = _doc()
    assert validate_report(copy.deepcopy(doc)) == []
    del doc["blocked"]
    doc["apiVersion"] = "v0"
    assert validate_report(doc) == ["(document): 'blocked' is a required property",
                                    "apiVersion: 'podtriage.dev/v1' was expected"]


def test_docs_describe_every_category_and_field() -> None:
    docs = (schema_path().parents[2] / "docs" / "output-schema.md").read_text(encoding="utf-8")
    assert all(f"`{c}`" in docs for c in CATEGORIES)
    schema = load_schema()
    fields = set(schema["required"])
    for name in ("rootCause", "evidence", "verdictGroup", "podReport", "source", "target", "scheduler",
                 "workload"):
        fields |= set(schema["$defs"][name]["properties"])
    assert not {f for f in fields if f"`{f}`" not in docs}
