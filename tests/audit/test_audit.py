"""podtriage audit: grouping, suppressions, delta, every output format (parsed), exit codes."""

from __future__ import annotations

import datetime as dt
import http.server
import json
import os
import re
import subprocess
import sys
import threading
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import pytest

from podtriage.audit.command import render
from podtriage.audit.delta import compute_delta
from podtriage.audit.model import Suppression
from podtriage.audit.outputs import PushError, push, write_atomic
from podtriage.audit.render_machine import audit_document, validate_audit
from podtriage.audit.run import AuditOptions, run_audit
from podtriage.audit.scan import ScanScope
from podtriage.audit.suppress import apply_suppressions, load_config
from podtriage.errors import InputFileError
from podtriage.loaders.files import load_path

ROOT = Path(__file__).resolve().parents[2]
CLUSTER = Path(__file__).parent / "fixtures" / "cluster.yaml"
DEMO = ROOT / "fixtures" / "demo" / "cluster.yaml"
NOW = dt.datetime(2026, 11, 20, 10, 15, tzinfo=dt.timezone.utc)


@pytest.fixture(scope="module")
def snap():
    return load_path(CLUSTER)


@pytest.fixture(scope="module")
def report(snap, rules):
    return run_audit(snap, rules, AuditOptions(), now=NOW)


def by_rule(rep, rule):
    return [f for f in (*rep.findings, *rep.suppressed) if f.root_cause.rule == rule]


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1"}
    env.pop("PODTRIAGE_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "podtriage.cli", "audit", *args], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=120, check=False)


# --- grouping ---------------------------------------------------------------------------------------


def test_two_workloads_behind_one_taint_are_one_finding(report) -> None:
    [taint] = by_rule(report, "taint-untolerated")
    assert taint.subject == "taint dedicated=gpu:NoSchedule"
    assert {w.key for w in taint.workloads} >= {"Deployment/team-a/trainer", "StatefulSet/team-b/infer"}
    trainer = next(w for w in taint.workloads if w.name == "trainer")
    assert trainer.chain == ("ReplicaSet/trainer-6c9f7d8b5", "Deployment/trainer") and trainer.pods == 2
    assert {p.key for p in taint.pods} >= {"team-a/trainer-6c9f7d8b5-x7k2p", "team-a/trainer-6c9f7d8b5-m4n8q",
                                           "team-b/infer-0"}
    assert "4 pods in 3 workloads" in taint.headline
    assert taint.blocking and taint.severity == "critical"
    # evidence and fix once, for the whole group; the graph is the example's causal chain
    assert taint.root_cause.fix and taint.root_cause.evidence
    kinds = {n["kind"] for n in taint.graph["nodes"]}
    assert {"cause", "symptom"} <= kinds


def test_pods_of_one_template_share_one_analysis(report) -> None:
    # trainer's two pods (same template) and infer-0 and the sandbox pod share the GPU case
    assert report.counts["pendingPods"] == 5
    assert report.counts["analyses"] < report.counts["pendingPods"]


def test_pod_level_cause_is_not_also_counted_under_a_node_taint(report) -> None:
    [pvc] = by_rule(report, "pvc-not-found")
    assert [p.key for p in pvc.pods] == ["team-c/reports-0"]
    [taint] = by_rule(report, "taint-untolerated")
    assert "team-c/reports-0" not in {p.key for p in taint.pods}


def test_controller_that_cannot_create_pods_is_a_finding(report) -> None:
    [quota] = by_rule(report, "quota-exceeded")
    assert quota.subject == "ResourceQuota/shop/team-quota"
    [w] = quota.workloads
    assert w.key == "Deployment/shop/checkout" and w.missing == 2


def test_ids_are_stable_and_sorting_is_by_impact(snap, rules, report) -> None:
    again = run_audit(snap, rules, AuditOptions(), now=NOW + dt.timedelta(hours=3))
    assert [f.id for f in again.findings] == [f.id for f in report.findings]
    blocking = [f for f in report.findings if f.kind == "blocking"]
    assert blocking[0].root_cause.rule == "taint-untolerated"  # most pods first
    kinds = [f.kind for f in report.findings]
    assert kinds == sorted(kinds, key=["blocking", "advisory", "risk"].index)


def test_risk_checks(report) -> None:
    risks = {f.root_cause.rule: f for f in report.findings if f.kind == "risk"}
    assert set(risks) == {"risk-deprecated-label-key", "risk-single-node-selector", "risk-gpu-untolerated-taint",
                          "risk-init-container-no-memory-limit", "risk-toleration-effect-unmatched"}
    assert all(not f.blocking and f.severity == "low" for f in risks.values())
    assert "worker-1" in risks["risk-single-node-selector"].root_cause.message
    assert [w.key for w in risks["risk-gpu-untolerated-taint"].workloads] == ["StatefulSet/team-a/legacy-gpu"]
    assert [w.key for w in risks["risk-init-container-no-memory-limit"].workloads] == ["Deployment/shop/web"]


def test_scope_by_namespace_and_selector(snap, rules) -> None:
    r = run_audit(snap, rules, AuditOptions(scope=ScanScope(namespaces=("team-b",))), now=NOW)
    assert r.counts["pendingPods"] == 1
    r = run_audit(snap, rules, AuditOptions(scope=ScanScope(selector="app in (trainer)")), now=NOW)
    assert r.counts["pendingPods"] == 2


# --- suppressions ------------------------------------------------------------------------------------


def _supp(**kw) -> Suppression:
    return Suppression(reason="known", **kw)


@pytest.mark.parametrize("entry", [{"rule": "taint-untolerated"}, {"category": "taint-untolerated"}])
def test_rule_or_category_suppression_silences_the_whole_finding(report, entry) -> None:
    active, suppressed, expired, unused = apply_suppressions(report.findings, [_supp(**entry)], NOW.date())
    expected = {"taint-untolerated"} | ({"risk-gpu-untolerated-taint"} if "category" in entry else set())
    assert {f.root_cause.rule for f in suppressed} == expected  # a category covers its risks too
    assert suppressed[0].suppressed_by is not None and not unused and not expired
    assert "taint-untolerated" not in {f.root_cause.rule for f in active}


def test_namespace_and_selector_suppressions_silence_pods_and_are_counted(report) -> None:
    active, suppressed, _, _ = apply_suppressions(report.findings, [_supp(namespace="sandbox")], NOW.date())
    taint = next(f for f in active if f.root_cause.rule == "taint-untolerated")
    assert "sandbox/gpu-try" not in {p.key for p in taint.pods} and taint.suppressed_pods == 1
    assert "3 pods in 2 workloads" in taint.headline
    active, suppressed, _, _ = apply_suppressions(report.findings, [_supp(selector="app=reports")], NOW.date())
    assert [f.root_cause.rule for f in suppressed] == ["pvc-not-found"]


def test_expired_suppressions_no_longer_apply_and_are_reported(snap, rules, tmp_path) -> None:
    cfg = tmp_path / "audit.yaml"
    cfg.write_text("apiVersion: podtriage.dev/v1\nkind: AuditConfig\nsuppressions:\n"
                   "- rule: pvc-not-found\n  reason: migration\n  expires: 2026-01-31\n"
                   "- namespace: nowhere\n  reason: old team\n")
    conf = load_config(cfg)
    r = run_audit(snap, rules, AuditOptions(config=conf), now=NOW)
    assert [s.index for s in r.expired_suppressions] == [0]
    assert [s.index for s in r.unused_suppressions] == [1]
    assert by_rule(r, "pvc-not-found")[0].suppressed_by is None
    assert any("expired" in w for w in r.warnings)


@pytest.mark.parametrize("text,needle", [
    ("suppressions:\n- rule: x\n", "reason"),
    ("suppressions:\n- reason: y\n", "at least one"),
    ("suppressions:\n- rule: x\n  reason: y\n  expires: tomorrow\n", "not a date"),
    ("suppressions:\n- category: nope\n  reason: y\n", "unknown category"),
    ("failOn: sometimes\n", "failOn"),
])
def test_bad_config_is_a_precise_input_error(tmp_path, text, needle) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text(text)
    with pytest.raises(InputFileError, match=needle):
        load_config(cfg)


# --- delta -------------------------------------------------------------------------------------------


def test_delta_new_resolved_persisting(snap, rules, report) -> None:
    prev = audit_document(report)
    gone = prev["findings"][0]["id"]
    prev["findings"] = prev["findings"][1:] + [dict(prev["findings"][1], id="0123456789ab", headline="old one")]
    delta, marked = compute_delta(prev, "prev.json", report.findings)
    assert delta.new == (gone,)
    assert [x.id for x in delta.resolved] == ["0123456789ab"]
    assert len(delta.persisting) == len(report.findings) - 1
    assert {f.delta for f in marked} == {"new", "persisting"}


def test_previous_report_shown_first_in_markdown(tmp_path) -> None:
    prev = tmp_path / "prev.json"
    p = cli("--from", str(CLUSTER), "-o", "json", "--out", str(prev), "--fail-on", "none")
    assert p.returncode == 0, p.stderr
    doc = json.loads(prev.read_text())
    doc["findings"] = doc["findings"][1:]
    prev.write_text(json.dumps(doc))
    p = cli("--from", str(CLUSTER), "-o", "markdown", "--previous", str(prev), "--fail-on", "none")
    assert p.returncode == 0, p.stderr
    out = p.stdout
    assert out.index("## Since the last report") < out.index("## Summary")
    assert "1 new, 0 resolved" in out


# --- formats ----------------------------------------------------------------------------------------


def test_json_validates_against_the_schema(report) -> None:
    doc = json.loads(render(report, "json"))
    assert validate_audit(doc) == []
    assert doc["kind"] == "AuditReport" and doc["findings"][0]["rootCause"]["pods"]
    bad = dict(doc, findings=[dict(doc["findings"][0], kind="maybe")])
    assert validate_audit(bad)


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str, str | None]] = []
        self.open_details: list[bool] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs += [(tag, k, v) for k, v in attrs]

    def handle_data(self, data):
        self.text.append(data)


def test_html_is_self_contained_and_escaped(snap, rules) -> None:
    from dataclasses import replace

    r = run_audit(snap, rules, AuditOptions(), now=NOW)
    evil = replace(r.findings[0], headline='<script>alert("x")</script> & <img src=http://e/x>')
    r = replace(r, findings=(evil, *r.findings[1:]))
    html = render(r, "html")
    p = _Collect()
    p.feed(html)
    assert html.startswith("<!DOCTYPE html>")
    assert p.tags.count("html") == 1 and "svg" in p.tags and "details" in p.tags
    assert "script" not in p.tags and "img" not in p.tags and "link" not in p.tags
    assert not [a for a in p.attrs if a[1] == "src"]
    assert not [a for a in p.attrs if a[1] == "href" and not (a[2] or "").startswith("#")]
    assert not [a for a in p.attrs if a[0] == "details" and a[1] == "open"]  # collapsed by default
    assert '<script>alert("x")</script>' in "".join(p.text)  # shown as text, not markup
    # one causal-chain drawing per non-risk finding, two charts
    assert html.count('class="chain"') == sum(1 for f in r.findings if f.graph)
    assert html.count('class="chart"') == 2


def test_junit_one_case_per_finding_failures_at_fail_on(report) -> None:
    root = ET.fromstring(render(report, "junit"))
    suite = root.find("testsuite")
    cases = suite.findall("testcase")
    assert len(cases) == len(report.findings) + len(report.suppressed)
    failed = [c for c in cases if c.find("failure") is not None]
    assert len(failed) == len(report.failing()) == int(suite.get("failures"))
    assert all(c.find("failure").get("type") == "critical" for c in failed)


# Prometheus text exposition format 0.0.4, strictly.
_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
_LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"'
_SAMPLE = re.compile(rf"^({_NAME})(\{{(?:{_LABEL}(?:,{_LABEL})*)?\}})? (-?[0-9.eE+-]+|NaN|\+Inf|-Inf)( -?\d+)?$")


def parse_exposition(text: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    assert text.endswith("\n")
    types: dict[str, str] = {}
    samples: dict[str, list[tuple[dict[str, str], float]]] = {}
    for line in text.splitlines():
        if line.startswith("# HELP "):
            assert re.match(rf"^# HELP {_NAME} .+$", line), line
        elif line.startswith("# TYPE "):
            _, _, name, typ = line.split(" ")
            assert typ in ("gauge", "counter", "untyped", "histogram", "summary") and name not in types
            types[name] = typ
        else:
            mt = _SAMPLE.match(line)
            assert mt, f"bad sample line: {line!r}"
            name = mt.group(1)
            assert name in types, f"{name} without # TYPE"
            labels = dict(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', mt.group(2) or ""))
            samples.setdefault(name, []).append((labels, float(mt.group(3))))
    return samples


def test_prometheus_exposition_parses(report) -> None:
    text = render(report, "prometheus")
    s = parse_exposition(text)
    pending = s["podtriage_pending_pods"]
    assert sum(v for _, v in pending) == report.counts["pendingPods"]
    assert all(set(lab) == {"namespace", "category", "rule"} for lab, _ in pending)
    assert {lab["namespace"] for lab, _ in s["podtriage_oldest_pending_seconds"]} == \
        {"team-a", "team-b", "team-c", "sandbox"}
    assert {lab["severity"] for lab, _ in s["podtriage_findings"]} == {"critical", "high", "medium", "low", "info"}
    assert s["podtriage_audit_timestamp_seconds"][0][1] == NOW.replace(second=0).timestamp()
    assert "podtriage_audit_duration_seconds" in s
    try:
        from prometheus_client.parser import text_string_to_metric_families
    except ImportError:
        return
    names = {f.name for f in text_string_to_metric_families(text)}
    assert "podtriage_pending_pods" in names


def test_prometheus_label_values_are_escaped() -> None:
    from podtriage.audit.render_machine import _sample

    line = _sample("m", {"namespace": 'a"b\\c\nd'}, 1)
    assert parse_exposition("# TYPE m gauge\n" + line + "\n")["m"][0][1] == 1


def test_textfile_is_written_atomically(tmp_path, report) -> None:
    target = tmp_path / "podtriage.prom"
    target.write_text("old\n")
    write_atomic(target, render(report, "prometheus"))
    assert target.read_text().startswith("# HELP")
    assert [p.name for p in tmp_path.iterdir()] == ["podtriage.prom"]  # no temporary left behind


def test_pushgateway_put_to_a_local_server(report) -> None:
    got: dict[str, object] = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_PUT(self):
            got["path"] = self.path
            got["type"] = self.headers["Content-Type"]
            got["body"] = self.rfile.read(int(self.headers["Content-Length"])).decode()
            self.send_response(200)
            self.end_headers()

        def log_message(self, *a):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}"
        push(url, render(report, "prometheus"))
        assert got["path"] == "/metrics/job/podtriage"
        assert str(got["type"]).startswith("text/plain; version=0.0.4")
        assert "podtriage_pending_pods{" in str(got["body"])
    finally:
        server.shutdown()
        server.server_close()
    with pytest.raises(PushError):
        push(url, "x 1\n", timeout=2)  # nothing listens any more


# --- CLI and exit codes -------------------------------------------------------------------------------


def test_exit_code_policy(tmp_path) -> None:
    assert cli("--from", str(CLUSTER), "-o", "json", "--no-progress").returncode == 1  # default: critical
    assert cli("--from", str(CLUSTER), "-o", "json", "--fail-on", "none").returncode == 0
    cfg = tmp_path / "c.yaml"
    cfg.write_text("suppressions:\n- category: taint-untolerated\n  reason: r\n- rule: pvc-not-found\n  reason: r\n"
                   "- rule: quota-exceeded\n  reason: r\n")
    p = cli("--from", str(CLUSTER), "-o", "junit", "--config", str(cfg))
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr
    assert cli("--from", str(CLUSTER), "-n", "x", "-A").returncode == 2
    assert cli("--from", str(CLUSTER), "--selector", "a in (").returncode == 2
    assert cli("--from", str(tmp_path / "missing.yaml")).returncode == 2
    bad = cli("--from", str(CLUSTER), "--previous", str(cfg))
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    p = cli("--from", str(CLUSTER), "--pushgateway", "http://127.0.0.1:9", "-o", "json", "--fail-on", "none")
    assert p.returncode == 3 and "Pushgateway" in p.stderr


def test_no_progress_output_when_not_a_terminal(tmp_path) -> None:
    out = tmp_path / "r.html"
    prom = tmp_path / "m.prom"
    p = cli("--from", str(CLUSTER), "-o", "html", "--out", str(out), "--prometheus-textfile", str(prom),
            "--fail-on", "none")
    assert p.returncode == 0 and p.stdout == "" and p.stderr == ""
    assert out.read_text().startswith("<!DOCTYPE html>") and prom.read_text().startswith("# HELP")


def test_audit_on_the_bundled_demo_snapshot() -> None:
    p = cli("--from", str(DEMO), "-o", "markdown")
    assert p.returncode == 1, p.stderr
    assert "Traceback" not in p.stderr
    assert "nvidia.com/gpu=present:NoSchedule" in p.stdout
    assert "ResourceQuota/shop/team-quota" in p.stdout
    assert "PersistentVolumeClaim/data/data-postgres-0" in p.stdout
