"""Machine-readable renderings: JSON (schema audit-v1.json), JUnit XML, Prometheus text exposition."""

from __future__ import annotations

import json
import math
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..findings import SEVERITIES
from ..render.structured import _json_default
from .model import AuditReport, Finding

# --- JSON -----------------------------------------------------------------------------------------


def audit_document(report: AuditReport) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(json.dumps(report.to_dict(), default=_json_default))
    return doc


def render_json(report: AuditReport) -> str:
    # Compact: a cluster-wide report lists thousands of pods, and json's C encoder only runs
    # without `indent` (3x faster here). Pipe it through `jq .` to read it.
    return json.dumps(report.to_dict(), ensure_ascii=False, separators=(",", ":"), default=_json_default) + "\n"


def schema_path() -> Path:
    return Path(__file__).parents[1] / "schema" / "audit-v1.json"


def validate_audit(doc: Mapping[str, Any]) -> list[str]:
    """Errors of an audit document against audit-v1.json (which reuses explain-v1.json's root cause)."""
    import jsonschema
    from referencing import Registry, Resource

    from ..render.structured import load_schema

    explain = load_schema()
    schema = json.loads(schema_path().read_text(encoding="utf-8"))
    registry = Registry().with_resources([(explain["$id"], Resource.from_contents(explain)),
                                          (schema["$id"], Resource.from_contents(schema))])
    validator = jsonschema.Draft202012Validator(schema, registry=registry)
    return [f"{'/'.join(str(p) for p in e.absolute_path) or '(document)'}: {e.message}"
            for e in sorted(validator.iter_errors(doc), key=lambda e: [str(p) for p in e.absolute_path])]


# --- JUnit ----------------------------------------------------------------------------------------


def _case_text(f: Finding) -> str:
    rc = f.root_cause
    lines = [f.headline, f"finding: {f.id} (rule {rc.rule})", "", rc.message, "", f"fix: {rc.fix}"]
    if rc.fix_command:
        lines.append(f"  {rc.fix_command}")
    if f.workloads:
        lines += ["", "workloads:"] + [f"  {w.key} ({w.pods} pods{', ' + str(w.missing) + ' never created' if w.missing else ''})"
                                       for w in f.workloads[:50]]
    if f.pods:
        lines += ["", "pods:"] + [f"  {p.key} {p.status}" for p in f.pods[:50]]
        if len(f.pods) > 50:
            lines.append(f"  ... and {len(f.pods) - 50} more")
    lines += ["", "evidence:"] + [f"  {e.summary} ({e.source})" for e in rc.evidence[:10]]
    return "\n".join(lines)


def junit_case_names(findings: Sequence[Finding]) -> dict[str, str]:
    """A name per finding id that stays the same from run to run while the finding exists: the
    rule's title and the object at fault, never a count (CI systems track a test case's history
    by its name). A folded finding is named by the kind of its objects ("83 PersistentVolumeClaims
    in 10 namespaces" would change with the count). Two findings that would read the same get their
    stable id appended."""
    def subject(f: Finding) -> str:
        return f"{f.folded.kind} objects, folded" if f.folded is not None else f.subject

    plain = {f.id: f"{f.root_cause.title} [{subject(f)}]" if subject(f) else f.root_cause.title for f in findings}
    seen: dict[str, int] = {}
    for name in plain.values():
        seen[name] = seen.get(name, 0) + 1
    return {fid: name if seen[name] == 1 else f"{name} ({fid})" for fid, name in plain.items()}


def render_junit(report: AuditReport) -> str:
    """One <testcase> per finding; <failure> for the failing ones (blocking, at or above --fail-on),
    <skipped> for suppressed ones; risks and advisories pass with their text in <system-out>."""
    failing = {f.id for f in report.failing()}
    suites = ET.Element("testsuites", name="podtriage audit")
    suite = ET.SubElement(suites, "testsuite", name="podtriage audit", timestamp=report.generated,
                          time=f"{report.duration_seconds:.3f}",
                          hostname=str(report.source.get("server") or report.source.get("path") or ""))
    props = ET.SubElement(suite, "properties")
    for k, v in (("podtriageVersion", report.podtriage_version), ("failOn", report.fail_on),
                 ("context", report.source.get("context", "")), ("pendingPods", report.counts.get("pendingPods"))):
        ET.SubElement(props, "property", name=str(k), value=str(v or ""))
    n_fail = n_skip = 0
    cases = 0
    names = junit_case_names((*report.findings, *report.suppressed))
    for f in (*report.findings, *report.suppressed):
        cases += 1
        rc = f.root_cause
        tc = ET.SubElement(suite, "testcase", classname=f"podtriage.{f.kind}.{rc.category}",
                           name=names[f.id], time="0")
        if f.suppressed_by is not None:
            n_skip += 1
            ET.SubElement(tc, "skipped", message=f"suppressed by {f.suppressed_by.describe()}: "
                                                 f"{f.suppressed_by.reason}")
        elif f.id in failing:
            n_fail += 1
            el = ET.SubElement(tc, "failure", message=rc.message[:1000], type=rc.severity)
            el.text = _case_text(f)
        else:
            ET.SubElement(tc, "system-out").text = _case_text(f)
    if cases == 0:
        cases = 1
        ET.SubElement(suite, "testcase", classname="podtriage.audit", name="no Pending pods and no risks", time="0")
    suite.set("tests", str(cases))
    suite.set("failures", str(n_fail))
    suite.set("errors", "0")
    suite.set("skipped", str(n_skip))
    suites.set("tests", str(cases))
    suites.set("failures", str(n_fail))
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"


# --- Prometheus -----------------------------------------------------------------------------------


def _label_value(v: str) -> str:
    return str(v).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _sample(name: str, labels: Mapping[str, str], value: float) -> str:
    return _plain_sample(name, labels, value)


def _plain_sample(name: str, labels: Mapping[str, str], value: float) -> str:
    lab = ",".join(f'{k}="{_label_value(v)}"' for k, v in labels.items())
    if isinstance(value, float) and not math.isfinite(value):
        val = "NaN"
    elif float(value).is_integer():
        val = str(int(value))
    else:
        val = repr(float(value))
    return f"{name}{{{lab}}} {val}" if lab else f"{name} {val}"


def render_prometheus(report: AuditReport, timestamp: float | None = None, *, cluster: str = "") -> str:
    """Text exposition format 0.0.4, for node-exporter's textfile collector or a Pushgateway.

    podtriage_pending_pods counts each Pending pod once, under its primary (top blocking) rule.
    `cluster` (audit --cluster) becomes a `cluster` label on every sample, the label Prometheus
    setups use where several clusters meet (it matches the Pushgateway grouping key).
    """
    from datetime import datetime

    out: list[str] = []

    def _sample(name: str, labels: Mapping[str, str], value: float) -> str:
        return _plain_sample(name, {"cluster": cluster, **labels} if cluster else labels, value)

    def family(name: str, help_: str, type_: str = "gauge") -> None:
        out.append(f"# HELP {name} {help_}")
        out.append(f"# TYPE {name} {type_}")

    family("podtriage_pending_pods", "Pending pods by namespace and the category and rule of their primary root cause.")
    counts: dict[tuple[str, str, str], int] = {}
    oldest: dict[str, float] = {}
    for p in report.pending:
        k = (p.namespace, p.primary_category or "unexplained", p.primary_rule or "none")
        counts[k] = counts.get(k, 0) + 1
        oldest[p.namespace] = max(oldest.get(p.namespace, 0.0), p.age_seconds or 0.0)
    for (ns, cat, rule), n in sorted(counts.items()):
        out.append(_sample("podtriage_pending_pods", {"namespace": ns, "category": cat, "rule": rule}, n))
    family("podtriage_oldest_pending_seconds", "Age of the oldest Pending pod per namespace.")
    for ns, age in sorted(oldest.items()):
        out.append(_sample("podtriage_oldest_pending_seconds", {"namespace": ns}, round(age)))
    family("podtriage_findings", "Unsuppressed findings (blocking, advisory and risk) by severity.")
    by_sev = {s: 0 for s in SEVERITIES}
    for f in report.findings:
        by_sev[f.severity] = by_sev.get(f.severity, 0) + 1
    for sev, n in by_sev.items():
        out.append(_sample("podtriage_findings", {"severity": sev}, n))
    family("podtriage_blocking_findings", "Unsuppressed blocking findings by severity.")
    blk = {s: 0 for s in SEVERITIES}
    for f in report.findings:
        if f.blocking:
            blk[f.severity] = blk.get(f.severity, 0) + 1
    for sev, n in blk.items():
        out.append(_sample("podtriage_blocking_findings", {"severity": sev}, n))
    family("podtriage_suppressed_findings", "Findings silenced by the audit config.")
    out.append(_sample("podtriage_suppressed_findings", {}, len(report.suppressed)))
    family("podtriage_failing", "1 when the audit exits 1 (a blocking finding at or above --fail-on), else 0.")
    out.append(_sample("podtriage_failing", {"fail_on": report.fail_on}, 1 if report.failing() else 0))
    family("podtriage_audit_timestamp_seconds", "When the audit ran (Unix time).")
    ts = timestamp
    if ts is None:
        try:
            ts = datetime.strptime(report.generated, "%Y-%m-%dT%H:%M:%SZ").replace(
                tzinfo=__import__("datetime").timezone.utc).timestamp()
        except ValueError:
            ts = 0.0
    out.append(_sample("podtriage_audit_timestamp_seconds", {}, ts))
    family("podtriage_audit_duration_seconds", "How long the audit took (collection and analysis).")
    out.append(_sample("podtriage_audit_duration_seconds", {}, round(report.duration_seconds, 3)))
    return "\n".join(out) + "\n"
