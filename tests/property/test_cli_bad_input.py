"""Bad input through the real command line: exit code 2, a message naming the file, no traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "fixtures" / "demo" / "cluster.yaml"

BAD_SNAPSHOTS = {
    "binary.json": b"\x00\x01\x02\xff" * 64,
    "truncated.json": b'{"kind": "List", "items": [{"kind": "Pod", "metadata": {"na',
    "deep.yaml": b"- " * 100_000 + b"x\n",
    "deep.json": b"[" * 100_000,
    "bigint.json": b'{"kind": "Pod", "metadata": {"name": "p"}, "x": ' + b"1" * 5000 + b"}",
    "tag.yaml": b"!!python/object/apply:os.system ['true']\n",
    "bomb.yaml": b"a: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\n",
}


def cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "podtriage.cli", *map(str, args)], capture_output=True, text=True,
                          timeout=120, cwd=ROOT)


def assert_input_error(r: subprocess.CompletedProcess[str], path: Path) -> None:
    assert r.returncode == 2, (r.returncode, r.stderr[-2000:])
    assert str(path) in r.stderr, r.stderr[-2000:]
    assert "Traceback" not in r.stderr and "internal error" not in r.stderr, r.stderr[-2000:]


@pytest.mark.parametrize("name", sorted(BAD_SNAPSHOTS))
def test_explain_and_audit_from_bad_file(tmp_path: Path, name: str) -> None:
    p = tmp_path / name
    p.write_bytes(BAD_SNAPSHOTS[name])
    assert_input_error(cli("explain", "x", "--from", p), p)
    if name in ("deep.yaml", "bigint.json"):  # audit shares the loader: two are enough
        assert_input_error(cli("audit", "--from", p, "-o", "json"), p)


@pytest.mark.parametrize("data", [b"\x1f\x8b\x08\x00garbage", b"[" * 100_000,
                                  b'{"apiVersion": "podtriage.dev/v1", "kind": "NodeStats", "cgroupVersion": 2, '
                                  b'"node": "n", "pods": [{"uid": "u", "qos": "burstable", "memory": {"peak": '
                                  + b"9" * 400 + b"}}]}"])
def test_explain_with_bad_cgroup_stats(tmp_path: Path, data: bytes) -> None:
    p = tmp_path / "node-stats.json"
    p.write_bytes(data)
    assert_input_error(cli("explain", "web-6d9f7c8b5-q7m2d", "--from", DEMO, "--cgroup-stats", p), p)


@pytest.mark.parametrize("text", ["id: x\ncreated: 2026-13-45\n", "[" * 100_000, "\t: :\n", "id: [unclosed\n"])
def test_rules_validate_bad_rule_file(tmp_path: Path, text: str) -> None:
    p = tmp_path / "broken.yaml"
    p.write_text(text)
    assert_input_error(cli("rules", "validate", tmp_path), p)
    if text.startswith("["):
        assert_input_error(cli("explain", "x", "--from", DEMO, "--rules", tmp_path), p)


@pytest.mark.parametrize("data", [b"[" * 100_000, b'{"kind": "AuditReport"}', b"1" * 5000])
def test_audit_previous_bad(tmp_path: Path, data: bytes) -> None:
    p = tmp_path / "previous.json"
    p.write_bytes(data)
    assert_input_error(cli("audit", "--from", DEMO, "--previous", p, "-o", "json"), p)


@pytest.mark.parametrize("data", [b"suppressions:\n- {rule: x, reason: y, expires: 2026-13-45}\n",
                                  b"- " * 100_000, b"a: &a [1]\nb: *a\n",
                                  b"suppressions:\n- {selector: 'a in (b', reason: r}\n"],
                         ids=["bad-date", "deep", "alias", "bad-selector"])  # short: see test_regressions
def test_audit_config_bad(tmp_path: Path, data: bytes) -> None:
    p = tmp_path / "audit-config.yaml"
    p.write_bytes(data)
    assert_input_error(cli("audit", "--from", DEMO, "--config", p, "-o", "json"), p)


def test_scheduler_log_garbage_is_evidence_not_an_error(tmp_path: Path) -> None:
    p = tmp_path / "kube-scheduler.log"
    p.write_bytes(b"\x00\xff garbage\n{" + b"[" * 50_000 + b"\nI1122 19:37:10.584960 1 x.go:1] \"a\\UFFFFFFFF\" n="
                  + b"1" * 5000 + b"\n")
    r = cli("explain", "web-6d9f7c8b5-q7m2d", "--from", DEMO, "--scheduler-log", p, "-o", "json")
    assert r.returncode in (0, 1), r.stderr[-2000:]
    assert "Traceback" not in r.stderr
