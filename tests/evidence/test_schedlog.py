"""kube-scheduler log parsing and the signals it yields, on logs of a real kube-scheduler v1.37.2.

Every log here was written by a real kube-scheduler in tests/e2e/test_scheduler_logs.py (see
fixtures/real/scheduler-logs/README.md); tests that need damaged input (garbage, truncation,
collector prefixes) damage those real lines, they do not invent new ones.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from podtriage import model as m
from podtriage.cli import main
from podtriage.diagnose.extra import ExtraEvidence
from podtriage.evidence import schedlog
from podtriage.evidence.schedlog import parse_log, signals_for_pod
from podtriage.loaders.files import load_path

LOGS = Path(__file__).resolve().parents[2] / "fixtures" / "real" / "scheduler-logs"
DEFAULT = LOGS / "default-scheduler.log"
JSON_LOG = LOGS / "json-scheduler.log"
STANDBY = LOGS / "standby-not-leader.log"
ACQUIRED = LOGS / "standby-acquired.log"
EXTENDER = LOGS / "extender-error.log"


def parsed(path: Path) -> schedlog.SchedulerLog:
    return parse_log(path.read_text(encoding="utf-8"), path.name)


def line_of(path: Path, needle: str, nth: int = -1) -> int:
    """1-based number of the (last) line of `path` holding `needle`."""
    hits = [i for i, ln in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if needle in ln]
    assert hits, needle
    return hits[nth]


def pod_from(snapshot: Path, namespace: str, name: str) -> tuple[m.Pod, int]:
    snap = load_path(snapshot)
    [pod] = [p for p in snap.pods if p.namespace == namespace and p.name == name]
    return pod, len(snap.nodes)


# --- parsing: the real files --------------------------------------------------------------------


@pytest.mark.parametrize("path, fmt", [(DEFAULT, "text"), (JSON_LOG, "json"), (STANDBY, "text"),
                                       (ACQUIRED, "text"), (EXTENDER, "text")])
def test_real_logs_parse_completely(path: Path, fmt: str) -> None:
    log = parsed(path)
    assert log.format == fmt
    assert log.skipped == 0
    assert log.version == "v1.37.2"
    text_lines = path.read_text(encoding="utf-8").splitlines()
    assert log.total_lines == len(text_lines)
    for r in log.records:  # every record points at the physical line it starts on
        assert r.msg.split("\n")[0][:40] in text_lines[r.line - 1] or r.format == "json", r.location
        assert r.location == f"{path.name}:{r.line}"


def test_multiline_config_value_is_one_record() -> None:
    log = parsed(STANDBY)
    cfg = log.config_record
    assert cfg is not None and cfg.line == line_of(STANDBY, '"Using component config" config=<')
    assert "schedulerName: podtriage-e2e-standby" in cfg.kv["config"]
    assert log.profiles == ("podtriage-e2e-standby",)
    # the record after the block has its own, correct line number
    start = next(r for r in log.records if r.msg == "Starting Kubernetes Scheduler")
    assert start.line == line_of(STANDBY, '"Starting Kubernetes Scheduler"') > cfg.line + 100
    assert parsed(DEFAULT).profiles == ("default-scheduler",)
    assert parsed(JSON_LOG).profiles == ("podtriage-e2e-json",)  # JSON: the same YAML in a string


def test_text_records_and_escaped_quotes() -> None:
    log = parsed(DEFAULT)
    nofit = [r for r in log.records if r.msg == schedlog.MSG_NO_FIT][-1]
    assert nofit.severity == "I" and nofit.caller == "schedule_one.go:1194"
    assert nofit.pod == "schedlog/too-big"
    assert nofit.err.startswith("0/2 nodes are available: 1 Insufficient cpu, 1 node(s) had untolerated taint(s).")
    bound = next(r for r in log.records if r.msg == schedlog.MSG_BOUND)
    assert bound.kv["evaluatedNodes"] == 2 and bound.kv["feasibleNodes"] == 1 and bound.kv["node"] == "sl-small"
    failed = next(r for r in log.records if r.msg == "Plugin Failed")
    assert failed.severity == "E"
    # err="pods \"frozen\" is forbidden: ..." -- Go escapes decoded, the following keys still found
    assert failed.err.startswith('pods "frozen" is forbidden: ValidatingAdmissionPolicy')
    assert failed.kv["plugin"] == "DefaultBinder" and failed.kv["node"] == "sl-small"
    retry = next(r for r in log.records if r.msg == schedlog.MSG_ERROR)
    assert retry.err.startswith('running Bind plugin "DefaultBinder": pods "frozen" is forbidden')
    assert retry.kv["logger"] == "UnhandledError" and retry.pod == "schedlog-bind/frozen"
    golang = next(r for r in log.records if r.msg == "Golang settings")
    assert golang.kv == {"GOGC": "", "GOMAXPROCS": "", "GOTRACEBACK": ""}


def test_json_records() -> None:
    log = parsed(JSON_LOG)
    nofit = [r for r in log.records if r.msg == schedlog.MSG_NO_FIT][-1]
    assert nofit.format == "json" and nofit.verbosity == 2 and nofit.severity == "I"
    assert nofit.pod == "schedlog-extra/json-too-big"  # "pod":{"name":..,"namespace":..}
    assert nofit.caller == "scheduler/schedule_one.go:1194"
    assert nofit.line == line_of(JSON_LOG, '"msg":"Unable to schedule pod; no fit; waiting"')
    bound = next(e for e in log.pod_events() if e.kind == "bound")
    assert (bound.pod, bound.node, bound.evaluated_nodes, bound.feasible_nodes) == \
        ("schedlog-extra/json-fits", "sl-json-small", 1, 1)
    # logger.Error records carry no "v" in the JSON format
    manifest = next(r for r in log.records if r.msg == "The manifest file is empty, ignoring.")
    assert manifest.severity == "E" and manifest.verbosity is None


def test_json_pod_as_string() -> None:
    """klog.KObj renders as an object in JSON, but other emitters log "ns/name": accept both."""
    raw = next(ln for ln in JSON_LOG.read_text().splitlines() if '"msg":"Unable to schedule pod; no fit' in ln)
    doc = json.loads(raw)
    doc["pod"] = "schedlog-extra/json-too-big"
    [ev] = parse_log(json.dumps(doc), "x.log").pod_events()
    assert ev.pod == "schedlog-extra/json-too-big" and ev.kind == "no-fit"


def test_pod_events_text() -> None:
    log = parsed(DEFAULT)
    kinds = [(e.pod, e.kind) for e in log.pod_events()]
    assert ("schedlog-nonodes/lonely", "no-nodes") in kinds
    assert ("schedlog/fits", "bound") in kinds
    too_big = log.pod_events("schedlog/too-big")
    assert {e.kind for e in too_big} == {"no-fit", "no-preemption-candidate"}
    fit = [e for e in too_big if e.kind == "no-fit"][-1].fit
    assert fit is not None and fit.total_nodes == 2
    assert fit.node_counts() == {"insufficient": 1, "taint": 1}
    assert fit.preemption is not None
    frozen = log.pod_events("schedlog-bind/frozen")
    assert {e.kind for e in frozen} == {"bind-failed"}
    assert {e.plugin for e in frozen if e.plugin} == {"DefaultBinder"}
    assert all(e.point == "Bind" for e in frozen if e.record.msg != schedlog.MSG_FAILED_BIND)
    # a schedulerName no profile serves: the real scheduler logged nothing about "ghost"
    assert not log.pod_events("schedlog/ghost")


def test_extender_error() -> None:
    log = parsed(EXTENDER)
    assert log.extenders == (next(r for r in log.records if r.msg == "Creating extender").kv["extender"]["URLPrefix"],)
    [ev] = [e for e in log.pod_events("schedlog-extra/ext-pod") if e.kind == "extender-error"]
    assert ev.plugin == log.extenders[0] and ev.point == "Extender"
    assert "connect: connection refused" in ev.error
    assert ev.record.line == line_of(EXTENDER, '"Error scheduling pod; retrying"')


def test_extender_error_without_the_startup_lines() -> None:
    """A tail of the log (kubectl logs --tail) lacks "Creating extender": the HTTP error still says extender."""
    tail = [ln for ln in EXTENDER.read_text().splitlines() if '"Error scheduling pod; retrying"' in ln]
    [ev] = parse_log("\n".join(tail), "tail.log").pod_events()
    assert ev.kind == "extender-error" and ev.plugin.endswith("/scheduler")


def test_leader_election() -> None:
    waiting = parsed(STANDBY)
    rec = waiting.waiting_for_lease
    assert rec is not None and rec.line == line_of(STANDBY, "Attempting to acquire leader lease")
    assert schedlog._lock(rec) == "kube-system/podtriage-e2e-standby"
    assert not waiting.schedules and not waiting.leader_acquired
    acquired = parsed(ACQUIRED)
    assert acquired.waiting_for_lease is None and acquired.schedules
    assert [e.kind for e in acquired.pod_events("schedlog-extra/waits")] == ["bound"]


# --- robustness: damaged real lines -------------------------------------------------------------


def test_garbage_lines_are_counted_not_fatal() -> None:
    real = DEFAULT.read_text(encoding="utf-8").splitlines()
    end = real.index(" >") + 1  # keep the multi-line config record whole, damage what follows
    garbage = ["", "\x00\x01\x02 binary \xff", "panic: runtime error: invalid memory address",
               "goroutine 1 [running]:", "{not json", '{"no":"msg key"}', "I1122 not a header", "   ", "]]]"]
    inserted = [garbage[i % len(garbage)] for i in range(len(real) - end)]
    mixed = real[:end] + [x for pair in zip(real[end:], inserted) for x in pair]
    log = parse_log("\n".join(mixed), "mixed.log")
    assert len(log.records) == len(parsed(DEFAULT).records)
    assert log.skipped == sum(1 for g in inserted if g.strip())
    assert [e.kind for e in log.pod_events("schedlog/too-big")] == \
        [e.kind for e in parsed(DEFAULT).pod_events("schedlog/too-big")]


def test_truncated_lines() -> None:
    line = next(ln for ln in DEFAULT.read_text().splitlines() if schedlog.MSG_NO_FIT in ln)
    in_value = line[: line.index("preemption:")]  # cut inside err="..."
    [rec] = parse_log(in_value, "t.log").records
    assert rec.msg == schedlog.MSG_NO_FIT and rec.pod == "schedlog/too-big"
    assert rec.kv["_truncated"] == "err" and rec.err.startswith("0/2 nodes are available")
    in_msg = line[: line.index("no fit")]  # cut inside the quoted message: not a usable record
    log = parse_log(in_msg, "t.log")
    assert log.records == () and log.skipped == 1
    jline = next(ln for ln in JSON_LOG.read_text().splitlines() if schedlog.MSG_NO_FIT in ln)
    log = parse_log(jline[: len(jline) // 2], "t.log")
    assert log.records == () and log.skipped == 1
    assert parse_log("", "empty.log").format == "empty"


def test_collector_timestamp_prefix() -> None:
    """`kubectl logs --timestamps` puts an RFC 3339 time before each real line."""
    lines = DEFAULT.read_text().splitlines()[-2:]
    log = parse_log("\n".join(f"2026-11-22T20:04:08.377398123Z {ln}" for ln in lines), "ts.log")
    assert [r.msg for r in log.records] == [schedlog.MSG_NO_CANDIDATE, schedlog.MSG_NO_FIT]


def test_unquote_go() -> None:
    assert schedlog._unquote_go(r'pods \"frozen\" \\ \t \u00e9 \x41') == 'pods "frozen" \\ \t é A'


# --- signals ------------------------------------------------------------------------------------


def test_no_fit_signal_corroborates() -> None:
    pod, total = pod_from(LOGS / "cluster-snapshot.json", "schedlog", "too-big")
    sigs = signals_for_pod([parsed(DEFAULT)], pod, total)
    [s] = sigs
    assert s.name == "scheduler-log-no-fit" and not s.blocking
    last = line_of(DEFAULT, schedlog.MSG_NO_FIT)
    assert s.params["log_location"] == f"default-scheduler.log:{last}"
    assert s.params["counts"] == {"insufficient": 1, "taint": 1} and s.params["log_total_nodes"] == 2
    assert s.params["attempts_logged"] == 5
    assert all(e.kind == "log" for e in s.evidence)
    assert s.evidence[-1].source == f"default-scheduler.log:{last}"


def test_bind_failed_signal() -> None:
    pod, total = pod_from(LOGS / "cluster-snapshot.json", "schedlog-bind", "frozen")
    [s] = signals_for_pod([parsed(DEFAULT)], pod, total)
    assert s.name == "scheduler-bind-failed" and s.blocking
    assert s.params["node"] == "sl-small" and s.params["failures_logged"] == 3
    assert s.params["error"].startswith('running Bind plugin "DefaultBinder"')
    assert s.evidence[-1].source == f"default-scheduler.log:{line_of(DEFAULT, schedlog.MSG_ERROR)}"


def test_plugin_error_signal_for_extender() -> None:
    pod, total = pod_from(LOGS / "extender-snapshot.json", "schedlog-extra", "ext-pod")
    [s] = signals_for_pod([parsed(EXTENDER)], pod, total)
    assert s.name == "scheduler-plugin-error" and s.blocking
    assert s.params["point"] == "Extender" and s.params["plugin"].endswith("/scheduler")
    assert s.subject.startswith("extender http://127.0.0.1:")


def test_not_leader_signal() -> None:
    pod, total = pod_from(LOGS / "standby-snapshot.json", "schedlog-extra", "waits")
    [s] = signals_for_pod([parsed(STANDBY)], pod, total)
    assert s.name == "scheduler-not-leader" and s.blocking
    assert s.params["lock"] == "kube-system/podtriage-e2e-standby"
    assert s.evidence[0].source == f"standby-not-leader.log:{line_of(STANDBY, 'Attempting to acquire')}"
    # another scheduler's log (profile default-scheduler only) does not serve the pod: still not leader
    assert [x.name for x in signals_for_pod([parsed(STANDBY), parsed(DEFAULT)], pod, total)] == \
        ["scheduler-not-leader"]
    # once it holds the lease it schedules: nothing left to say about leadership
    assert signals_for_pod([parsed(ACQUIRED)], pod, total) == []


def test_profile_missing_from_logged_config() -> None:
    pod, total = pod_from(LOGS / "cluster-snapshot.json", "schedlog", "ghost")
    [s] = signals_for_pod([parsed(DEFAULT)], pod, total)
    assert s.name == "scheduler-profile-missing" and s.params["scheduler_name"] == "no-such-scheduler"
    assert s.evidence[0].source == "default-scheduler.log:1"
    # without the configuration in the log nothing can be said
    tail = "\n".join(DEFAULT.read_text().splitlines()[-5:])
    assert signals_for_pod([parse_log(tail, "tail.log")], pod, total) == []


def test_no_nodes_signal() -> None:
    pod = m.Pod(namespace="schedlog-nonodes", name="lonely")  # deleted before the snapshot was taken
    [s] = signals_for_pod([parsed(DEFAULT)], pod, 0)
    assert s.name == "scheduler-no-nodes" and s.blocking
    assert s.evidence[0].source == f"default-scheduler.log:{line_of(DEFAULT, 'no nodes are registered')}"
    [s] = signals_for_pod([parsed(DEFAULT)], pod, 2)
    assert not s.blocking  # nodes exist now: the line is history


def test_bound_pod_has_no_log_signals() -> None:
    pod, total = pod_from(LOGS / "cluster-snapshot.json", "schedlog", "fits")
    assert pod.node_name == "sl-small"
    assert signals_for_pod([parsed(DEFAULT)], pod, total) == []


def test_extra_evidence_hands_logs_over() -> None:
    pod, total = pod_from(LOGS / "cluster-snapshot.json", "schedlog-bind", "frozen")
    extra = ExtraEvidence(scheduler_logs=[parsed(DEFAULT)], scheduler_logs_requested=True)
    assert [s.name for s in extra.scheduler_log_signals(pod, total)] == ["scheduler-bind-failed"]


# --- the CLI ------------------------------------------------------------------------------------


def explain(*args: str) -> tuple[int, dict]:
    res = CliRunner().invoke(main, ["explain", *args, "-o", "json"])
    assert res.exit_code in (0, 1), res.output
    return res.exit_code, json.loads(res.output)


def log_sources(doc: dict, rule: str) -> list[str]:
    [cause] = [c for c in doc["rootCauses"] if c["rule"] == rule]
    return [e["source"] for e in cause["evidence"] if e["kind"] == "log"]


@pytest.mark.parametrize("pod, ns, snapshot, log, rule, top", [
    ("frozen", "schedlog-bind", "cluster-snapshot.json", DEFAULT, "scheduler-bind-failed", True),
    ("too-big", "schedlog", "cluster-snapshot.json", DEFAULT, "scheduler-log-no-fit", False),
    ("ghost", "schedlog", "cluster-snapshot.json", DEFAULT, "scheduler-profile-missing", False),
    ("ext-pod", "schedlog-extra", "extender-snapshot.json", EXTENDER, "scheduler-plugin-error", True),
    ("waits", "schedlog-extra", "standby-snapshot.json", STANDBY, "scheduler-not-leader", False),
    ("json-too-big", "schedlog-extra", "json-snapshot.json", JSON_LOG, "scheduler-log-no-fit", False),
])
def test_cli_explain_with_scheduler_log(pod: str, ns: str, snapshot: str, log: Path, rule: str, top: bool) -> None:
    code, doc = explain(pod, "-n", ns, "--from", str(LOGS / snapshot), "--scheduler-log", str(log))
    assert code == 1
    sources = log_sources(doc, rule)
    assert sources and all(s.startswith(f"{log}:") for s in sources)
    [cause] = [c for c in doc["rootCauses"] if c["rule"] == rule]
    assert f"{log}:" in cause["message"]  # the message names the file and line
    assert f"{ns}/{pod}" in cause["message"]
    if top:
        assert doc["rootCauses"][0]["rule"] == rule
    assert not [x for x in doc["pods"][0]["missing"] if "kube-scheduler logs" in x]


def test_cli_text_output_cites_file_and_line() -> None:
    res = CliRunner().invoke(main, ["explain", "frozen", "-n", "schedlog-bind", "--no-color", "--from",
                                    str(LOGS / "cluster-snapshot.json"), "--scheduler-log", str(DEFAULT)])
    assert res.exit_code == 1, res.output
    first = res.output.splitlines()[0]
    assert "cannot bind the pod" in first
    assert f"{DEFAULT}:{line_of(DEFAULT, schedlog.MSG_ERROR)}" in " ".join(res.output.split())


def test_cli_several_logs_and_missing_file(tmp_path: Path) -> None:
    _, doc = explain("waits", "-n", "schedlog-extra", "--from", str(LOGS / "standby-snapshot.json"),
                        "--scheduler-log", str(STANDBY), "--scheduler-log", str(JSON_LOG))
    assert "scheduler-not-leader" in [c["rule"] for c in doc["rootCauses"]]
    res = CliRunner().invoke(main, ["explain", "waits", "-n", "schedlog-extra", "--from",
                                    str(LOGS / "standby-snapshot.json"), "--scheduler-log",
                                    str(tmp_path / "nope.log")])
    assert res.exit_code == 2 and "nope.log" in res.output


def test_cli_scheduler_logs_forbidden_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    from podtriage.collect import live

    note = 'forbidden: User "alice" cannot list resource "pods" in API group "" in the namespace "kube-system"'
    monkeypatch.setattr(live, "fetch_scheduler_logs", lambda *a, **k: ([], note))
    _, doc = explain("too-big", "-n", "schedlog", "--from", str(LOGS / "cluster-snapshot.json"),
                        "--scheduler-logs")
    assert f"kube-scheduler logs unavailable: {note}" in doc["pods"][0]["missing"]


def test_cli_scheduler_logs_fetched(monkeypatch: pytest.MonkeyPatch) -> None:
    from podtriage.collect import live

    monkeypatch.setattr(live, "fetch_scheduler_logs",
                        lambda *a, **k: ([("kube-system/kube-scheduler-cp-1", DEFAULT.read_text())], ""))
    code, doc = explain("frozen", "-n", "schedlog-bind", "--from", str(LOGS / "cluster-snapshot.json"),
                        "--scheduler-logs")
    assert code == 1 and doc["rootCauses"][0]["rule"] == "scheduler-bind-failed"
    assert log_sources(doc, "scheduler-bind-failed")[-1] == \
        f"kube-system/kube-scheduler-cp-1:{line_of(DEFAULT, schedlog.MSG_ERROR)}"
