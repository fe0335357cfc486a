"""The shipped JSON Schemas validate offline as shipped: every `$ref` resolves inside the file a
user points their validator at, with no network and nothing registered by hand."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
from referencing import Registry
from referencing.exceptions import NoSuchResource

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT / "podtriage" / "schema"
DEMO = ROOT / "fixtures" / "demo" / "cluster.yaml"


def _refuse(uri: str):
    raise NoSuchResource(ref=uri)  # any attempt to fetch a schema fails the test


def _validator(name: str) -> jsonschema.Draft202012Validator:
    schema = json.loads((SCHEMA / name).read_text(encoding="utf-8"))
    return jsonschema.Draft202012Validator(schema, registry=Registry(retrieve=_refuse))


def _cli(*args: str) -> dict:
    p = subprocess.run([sys.executable, "-m", "podtriage.cli", *args], capture_output=True, text=True, cwd=ROOT,
                       timeout=120)
    assert p.returncode in (0, 1), p.stderr
    return json.loads(p.stdout)


def test_embedded_explain_schema_is_current() -> None:
    p = subprocess.run([sys.executable, str(ROOT / "tools" / "schema" / "bundle.py"), "--check"],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr


@pytest.mark.parametrize("name", ["explain-v1.json", "audit-v1.json"])
def test_every_ref_resolves_inside_the_file(name: str) -> None:
    from referencing import Resource

    schema = json.loads((SCHEMA / name).read_text(encoding="utf-8"))
    registry = Registry(retrieve=_refuse).with_resource(schema["$id"], Resource.from_contents(schema)).crawl()

    def refs(node, base):
        if isinstance(node, dict):
            base = node.get("$id", base)
            if "$ref" in node:
                yield base, node["$ref"]
            for v in node.values():
                yield from refs(v, base)
        elif isinstance(node, list):
            for v in node:
                yield from refs(v, base)

    found = list(refs(schema, schema["$id"]))
    assert len(found) > 10
    for base, ref in found:
        registry.resolver(base_uri=base).lookup(ref)  # Unresolvable when it would need another file


def test_audit_report_validates_offline_and_bad_root_causes_fail() -> None:
    doc = _cli("audit", "--from", str(DEMO), "-o", "json", "--fail-on", "none")
    validator = _validator("audit-v1.json")
    assert list(validator.iter_errors(doc)) == []
    broken = json.loads(json.dumps(doc))
    broken["findings"][0]["rootCause"]["severity"] = "catastrophic"  # checked by explain-v1.json's $defs
    errors = list(validator.iter_errors(broken))
    assert errors and any("catastrophic" in e.message for e in errors)


def test_explain_report_validates_offline() -> None:
    doc = _cli("explain", "deployment/inference", "-n", "ml", "--from", str(DEMO), "-o", "json")
    assert list(_validator("explain-v1.json").iter_errors(doc)) == []
