"""Machine-readable output: `-o json` / `-o yaml`, and the schema that documents them.

Both formats carry exactly `Report.to_dict()`; the layout is versioned by its `apiVersion`
(podtriage.SCHEMA_VERSION) and described by the shipped JSON Schema, `schema/explain-v1.json`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from ..findings import Report

# Top-level fields a document must carry even when jsonschema is not installed.
_REQUIRED_TOP = (
    "apiVersion", "kind", "podtriageVersion", "generated", "source", "target", "blocked",
    "confidence", "rootCauses", "pods", "workload", "missing", "warnings", "graph",
)


def _json_default(obj: Any) -> Any:
    # Evidence `data`, workload and scheduler views are Mappings filled by other stages; they may
    # hold read-only mappings, tuples or sets. Turn those into JSON, refuse anything else loudly.
    if isinstance(obj, Mapping):
        return dict(obj)
    if isinstance(obj, (set, frozenset)):
        return sorted(obj, key=str)
    if isinstance(obj, (dt.datetime, dt.date)):
        return obj.isoformat()
    if hasattr(obj, "to_dict"):
        return obj.to_dict()
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return dataclasses.asdict(obj)
    raise TypeError(f"cannot serialise {type(obj).__name__} in a podtriage report")


def report_document(report: Report) -> dict[str, Any]:
    """The report as plain JSON data (dicts, lists, str, numbers, bool, None)."""
    result: dict[str, Any] = json.loads(json.dumps(report.to_dict(), default=_json_default))
    return result


def render_json(report: Report) -> str:
    """`-o json`: the report document, indented, keys in layout order, UTF-8 kept as is."""
    return json.dumps(report.to_dict(), indent=2, sort_keys=False, ensure_ascii=False,
                      default=_json_default) + "\n"


def render_yaml(report: Report) -> str:
    """`-o yaml`: the same document as `-o json`, in YAML."""
    text: str = yaml.safe_dump(report_document(report), sort_keys=False, allow_unicode=True,
                               default_flow_style=False, width=120)
    return text


def schema_path() -> Path:
    """Where the shipped JSON Schema of the `-o json/yaml` document lives."""
    return Path(__file__).parents[1] / "schema" / "explain-v1.json"


def load_schema() -> dict[str, Any]:
    """The shipped JSON Schema (draft 2020-12), parsed."""
    schema: dict[str, Any] = json.loads(schema_path().read_text(encoding="utf-8"))
    return schema


def _where(path: Any) -> str:
    parts = [str(p) for p in path]
    return "/".join(parts) if parts else "(document)"


def validate_report(doc: Mapping[str, Any]) -> list[str]:
    """Check a report document against the shipped schema; returns error strings, [] if valid.

    Uses jsonschema when it is installed; without it, only the top-level layout is checked.
    """
    try:
        import jsonschema
    except ImportError:
        return _validate_minimal(doc)

    schema = load_schema()
    validator = jsonschema.Draft202012Validator(schema)
    errors = []
    for err in sorted(validator.iter_errors(doc), key=lambda e: [str(p) for p in e.absolute_path]):
        if err.validator == "enum":
            # The category enum is long; naming the bad value and the field is what helps.
            msg = f"{err.instance!r} is not an allowed value"
        else:
            msg = err.message
        errors.append(f"{_where(err.absolute_path)}: {msg}")
    return errors


def _validate_minimal(doc: Mapping[str, Any]) -> list[str]:
    if not isinstance(doc, Mapping):
        return ["(document): not an object"]
    errors = [f"(document): {k!r} is a required property" for k in _REQUIRED_TOP if k not in doc]
    schema = load_schema()
    want = schema["properties"]["apiVersion"]["const"]
    if "apiVersion" in doc and doc["apiVersion"] != want:
        errors.append(f"apiVersion: {want!r} was expected")
    return errors
