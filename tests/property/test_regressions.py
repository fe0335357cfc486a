"""The minimal failing examples the fuzz targets found, one test each, so the bugs stay fixed."""

from __future__ import annotations

import gzip
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from podtriage.audit.delta import compute_delta, load_previous
from podtriage.audit.model import AUDIT_KIND
from podtriage.audit.suppress import load_config
from podtriage.errors import InputFileError
from podtriage.evidence import messages as msg
from podtriage.evidence.schedlog import parse_log
from podtriage.loaders.files import load_path
from podtriage.loaders.nesting import MAX_DEPTH, TOO_DEEP
from podtriage.nodestats import collect_node_stats, load_node_stats, node_stats_from_dict
from podtriage.rulebook import parse_rule_file

from .strategies import CGROUPS

ROOT = Path(__file__).resolve().parents[2]


def _in_subprocess(code: str) -> subprocess.CompletedProcess[str]:
    """A crash in C (libyaml's stack overflow) would take pytest down with it: run apart."""
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)


# --- snapshot files -----------------------------------------------------------------------------

# Short ids: pytest < 8 puts the whole parameter into PYTEST_CURRENT_TEST, and 200 KB of environment
# makes every subprocess the test starts fail with "Argument list too long".
@pytest.mark.parametrize("text", ["- " * 100_000 + "x\n", "a: " + "[" * 100_000 + "]" * 100_000 + "\n"],
                         ids=["block", "flow"])
def test_deep_yaml_is_an_input_error_not_a_segfault(tmp_path: Path, text: str) -> None:
    p = tmp_path / "deep.yaml"
    p.write_text(text)
    r = _in_subprocess(f"from podtriage.loaders.files import load_path\nfrom podtriage.errors import InputFileError\n"
                       f"try:\n    load_path({str(p)!r})\nexcept InputFileError as e:\n    print(e.message)\n")
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.strip() == f"{p}:1: invalid YAML: {TOO_DEEP}"


@pytest.mark.parametrize("name,text", [("big.json", '{"kind": "Pod", "metadata": {"name": "p"}, "x": ' + "1" * 5000 + "}"),
                                       ("big.yaml", "kind: Pod\nmetadata: {name: p}\nx: " + "1" * 5000 + "\n")])
def test_integer_past_the_conversion_limit_is_an_input_error(tmp_path: Path, name: str, text: str) -> None:
    p = tmp_path / name
    p.write_text(text)
    with pytest.raises(InputFileError, match="4300"):
        load_path(p)


def _nested_pod(depth: int, style: str) -> str:
    """A Pod `depth` levels deep (its own mapping and metadata included), inside lists."""
    pod = "{kind: Pod, metadata: {name: p}}"
    if style == "block":
        return "- " * (depth - 2) + pod + "\n"
    return "- " + "[" * (depth - 3) + pod + "]" * (depth - 3) + "\n"  # a block list: `[` would be JSON


@pytest.mark.parametrize("style", ["block", "flow"])
def test_the_nesting_limit_is_exact(tmp_path: Path, style: str) -> None:
    """MAX_DEPTH levels load, whichever parser; one more is an input error naming file and line."""
    p = tmp_path / "nested.yaml"
    p.write_text(_nested_pod(MAX_DEPTH, style))
    assert [pod.name for pod in load_path(p).pods] == ["p"]
    p.write_text(_nested_pod(MAX_DEPTH + 1, style))
    with pytest.raises(InputFileError) as info:
        load_path(p)
    assert info.value.message == f"{p}:1: invalid YAML: {TOO_DEEP}"


def test_the_limit_holds_on_every_line_of_a_long_file(tmp_path: Path) -> None:
    """The cheap bound must not wave through depth that starts far down a file."""
    p = tmp_path / "list.yaml"
    pods = "".join(f"- kind: Pod\n  metadata: {{name: p{i}}}\n" for i in range(50))
    p.write_text("kind: List\nitems:\n" + pods + "- kind: Pod\n  metadata: {name: deep}\n  x: "
                 + "[" * MAX_DEPTH + "]" * MAX_DEPTH + "\n")
    with pytest.raises(InputFileError) as info:
        load_path(p)
    assert info.value.message == f"{p}:105: invalid YAML: {TOO_DEEP}"


def test_a_parsers_own_depth_limit_reads_as_ours(monkeypatch: pytest.MonkeyPatch) -> None:
    """Whichever limit fires first says the same: with our guard raised out of the way, the
    parser's own refusal (libyaml's limit in PyYAML >= 6.0.4, a RecursionError in the pure-Python
    loader) is still TOO_DEEP with the line."""
    import yaml

    from podtriage.loaders import files, nesting
    monkeypatch.setattr(nesting, "MAX_DEPTH", 100_000)
    text = "- " * 5_000 + "x\n"
    try:
        list(yaml.parse(text, Loader=files.KubeYAMLLoader))
        libyaml_limit = False  # PyYAML < 6.0.4: no limit of its own below 5,000 levels
    except yaml.YAMLError:
        libyaml_limit = True
    if libyaml_limit:
        with pytest.raises(InputFileError) as info:
            list(files._yaml_documents(text, "deep.yaml"))
        assert info.value.message == f"deep.yaml:1: invalid YAML: {TOO_DEEP}"
    else:
        assert len(list(files._yaml_documents(text, "deep.yaml"))) == 1
    assert nesting.is_depth_error(RecursionError())
    try:
        yaml.load(text, Loader=yaml.SafeLoader)  # pure Python: recurses per level
    except (yaml.YAMLError, RecursionError) as exc:
        assert nesting.is_depth_error(exc)
    else:
        raise AssertionError("5,000 levels loaded in pure Python")


def test_lone_surrogate_escape_becomes_a_replacement_character(tmp_path: Path) -> None:
    p = tmp_path / "pods.json"
    p.write_text('{"kind": "List", "items": [{"kind": "Pod", "metadata": {"name": "p\\ud800", "namespace": "a"}},'
                 '{"kind": "Pod", "metadata": {"name": "q\\ud83d\\ude00", "namespace": "a"}}]}')
    snap = load_path(p)
    assert sorted(pod.name for pod in snap.pods) == ["p\ufffd", "q\U0001F600"]


# --- FailedScheduling and other messages --------------------------------------------------------

def _selector(text: str) -> None:
    from podtriage.audit.selector import parse_selector
    from podtriage.errors import InputError

    with pytest.raises(InputError):
        parse_selector(text)


# Not a timing measurement: inputs large enough that the quadratic versions ran for minutes
# (20,000 characters already took 4-15 s) while the linear ones take milliseconds, under a hard
# 20 s alarm so a regression fails instead of hanging the suite.
@pytest.mark.parametrize("text,parse", [
    ("1" * 200_000, msg.parse_fit_message),
    ("0/3 nodes are available: " + "{" * 500_000, msg.parse_admission_failure),
    ("pod triggered scale-up: [" + "{" * 500_000 + "]", msg.parse_triggered_scale_up),
    ("x" + " " * 200_000 + "y", _selector),
    ("!" + " " * 200_000, _selector),
])
def test_parsers_are_linear(text: str, parse) -> None:  # type: ignore[no-untyped-def]
    import signal

    def too_slow(*_: object) -> None:
        raise TimeoutError("quadratic again: still parsing after 20 s")

    old = signal.signal(signal.SIGALRM, too_slow)
    signal.alarm(20)
    try:
        parse(text)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def test_counts_past_the_conversion_limit_are_not_a_crash() -> None:
    out = msg.parse_not_trigger_scale_up("pod didn't trigger scale-up: " + "1" * 5000 + " x")
    assert out is not None and out.reasons[0].count is None
    trig = msg.parse_triggered_scale_up("pod triggered scale-up: [{g " + "1" * 5000 + "->1 (max: 4)}]")
    assert trig is not None and trig.groups == ()


# --- kube-scheduler logs ------------------------------------------------------------------------

HEAD = 'I1122 19:37:10.584960   29598 schedule_one.go:1194] '


def test_schedlog_hostile_values() -> None:
    log = parse_log("\n".join([
        HEAD + '"Bound" n=' + "1" * 5000,
        HEAD + '"a\\UFFFFFFFF b\\uD800"',
        '{"msg":"Successfully bound pod to node","pod":"a/b","evaluatedNodes":"²"}',
        '{"msg":"x","a":' + "[" * 100_000 + "}",
    ]), "kube-scheduler.log")
    assert log.records[0].kv["n"] == "1" * 5000
    assert log.records[1].msg == "a\ufffd b\ufffd"
    assert log.pod_events()[0].evaluated_nodes is None
    assert log.skipped == 1


@pytest.mark.parametrize("config,profiles", [("profiles: 5", None), ("a: 2026-13-45", None),
                                             ("profiles: [{schedulerName: [a]}, {schedulerName: b}]",
                                              ("default-scheduler", "b"))])
def test_schedlog_logged_config(config: str, profiles: tuple[str, ...] | None) -> None:
    line = json.dumps({"msg": "Using component config", "config": config})
    assert parse_log(line, "f").profiles == profiles


# --- node-stats files and cgroups ---------------------------------------------------------------

def test_node_stats_damaged_gzip_and_deep_json(tmp_path: Path) -> None:
    p = tmp_path / "n.json"
    p.write_bytes(b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03garbage")
    with pytest.raises(InputFileError, match="corrupt gzip"):
        load_node_stats(p)
    p.write_bytes(b"[" * 100_000)
    with pytest.raises(InputFileError, match=re.escape(TOO_DEEP)):
        load_node_stats(p)


def test_node_stats_refuses_values_past_64_bits() -> None:
    doc = collect_node_stats(CGROUPS / "v2-systemd", node="n")
    doc["pods"][0]["memory"]["peak"] = 10**400
    with pytest.raises(InputFileError, match=r"pods\[0\].memory.peak"):
        node_stats_from_dict(doc, "n.json")


@pytest.mark.parametrize("tree,file,content", [("v1-systemd", "memory.limit_in_bytes", "-1"),
                                               ("v2-systemd", "memory.events", "max -1")])
def test_node_stats_reads_back_what_it_wrote_from_garbled_files(tmp_path: Path, tree: str, file: str,
                                                                content: str) -> None:
    import shutil

    root = tmp_path / tree
    shutil.copytree(CGROUPS / tree, root)
    for f in root.rglob(file):
        f.write_text(content)
    doc = collect_node_stats(root, node="n")
    node_stats_from_dict(json.loads(json.dumps(doc)), "round-trip")
    assert any("unexpected line" in w or "out of range" in w for w in doc["warnings"])


# --- rule, config and previous-report files -------------------------------------------------------

def test_rule_file_with_an_invalid_timestamp(tmp_path: Path) -> None:
    p = tmp_path / "r.yaml"
    p.write_text("id: x\ncreated: 2026-13-45\n")
    rule, errors = parse_rule_file(p)
    assert rule is None and str(p) in errors[0].message and "month" in errors[0].message


def test_deep_rule_file_is_a_rule_error_not_a_segfault(tmp_path: Path) -> None:
    p = tmp_path / "r.yaml"
    p.write_text("[" * 100_000)
    r = _in_subprocess(f"from podtriage.rulebook import parse_rule_file\n"
                       f"print(parse_rule_file({str(p)!r})[1][0].message)\n")
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.strip() == f"{p}:1: YAML syntax error: {TOO_DEEP}"


@pytest.mark.parametrize("data,match", [
    (b"suppressions:\n- rule: x\n  reason: y\n  expires: 2026-13-45\n", "not a date"),
    (b"\xff\xfe\x00garbage", "not UTF-8"),
    (b"[" * 100_000, re.escape(f":1: invalid YAML: {TOO_DEEP}")),
    (b"a: &a [1]\nb: [*a, *a]\n", "aliases"),
    (b"kind: " + b"1" * 5000 + b"\n", "4300"),
    (b"suppressions:\n- {rule: x, reason: y, selector: '" + b" " * 5000 + b"'}\n", "longer than"),
])
def test_bad_config_files(tmp_path: Path, data: bytes, match: str) -> None:
    p = tmp_path / "audit-config.yaml"
    p.write_bytes(data)
    with pytest.raises(InputFileError, match=match) as info:
        load_config(p)
    assert str(p) in info.value.message


def test_config_expiry_with_a_time_still_works(tmp_path: Path) -> None:
    p = tmp_path / "c.yaml"
    p.write_text("suppressions:\n- {rule: x, reason: y, expires: 2026-12-31T10:00:00Z}\n")
    assert load_config(p).suppressions[0].expires == "2026-12-31"


def test_previous_report_deep_and_wrong_shapes(tmp_path: Path) -> None:
    p = tmp_path / "prev.json"
    p.write_text('{"kind": "AuditReport", "findings": ' + "[" * 100_000)
    with pytest.raises(InputFileError, match=re.escape(TOO_DEEP)):
        load_previous(p)
    p.write_text(json.dumps({"kind": AUDIT_KIND, "findings": [], "suppressed": 5}))
    delta, marked = compute_delta(load_previous(p), str(p), [])
    assert delta.resolved == () and marked == []


def test_gzip_of_garbage_names_the_file(tmp_path: Path) -> None:
    p = tmp_path / "s.json.gz"
    p.write_bytes(gzip.compress(b"\x00\x01binary")[:-3])
    with pytest.raises(InputFileError) as info:
        load_path(p)
    assert str(p) in info.value.message
