"""The CLI as a user meets it: subprocesses, exit codes, messages on stderr, never a traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from podtriage.render.structured import validate_report

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "fixtures" / "demo" / "cluster.yaml"
CASES = ROOT / "fixtures" / "cases"


def run(*args: str, env: dict[str, str] | None = None, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "NO_COLOR": "1", **(env or {})}
    full_env.pop("PODTRIAGE_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "podtriage.cli", *args], capture_output=True, text=True,
                          env=full_env, cwd=cwd, timeout=120)


def assert_no_traceback(p: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in p.stderr + p.stdout, p.stderr


def test_blocked_pod_exits_1_and_names_the_taint() -> None:
    p = run("explain", "web-0", "--from", str(CASES / "taint-untolerated.yaml"))
    assert p.returncode == 1, p.stderr
    first = p.stdout.splitlines()[0]
    assert first.startswith("✗ default/web-0 is Pending")
    assert "dedicated=gpu:NoSchedule" in p.stdout
    assert "\x1b[" not in p.stdout  # NO_COLOR honoured


def test_running_pod_exits_0() -> None:
    p = run("explain", "web-0", "--from", str(CASES / "running-pod.yaml"))
    assert p.returncode == 0, p.stdout + p.stderr
    assert "nothing blocks it" in p.stdout


def test_json_output_validates_against_the_shipped_schema() -> None:
    p = run("explain", "deployment/inference", "-n", "ml", "--from", str(DEMO), "-o", "json")
    assert p.returncode == 1, p.stderr
    doc = json.loads(p.stdout)
    assert validate_report(doc) == []
    assert doc["apiVersion"] == "podtriage.dev/v1"
    top = doc["rootCauses"][0]
    assert top["category"] == "taint-untolerated"
    assert "nvidia.com/gpu=present:NoSchedule" in top["message"]
    assert len(doc["pods"]) == 2 and set(top["pods"]) == {p["namespace"] + "/" + p["name"] for p in doc["pods"]}
    assert doc["graph"]["nodes"] and doc["graph"]["edges"]


def test_yaml_output_is_the_same_document() -> None:
    pj = run("explain", "postgres-0", "--from", str(DEMO), "-o", "json")
    py = run("explain", "postgres-0", "--from", str(DEMO), "-o", "yaml")
    a, b = json.loads(pj.stdout), yaml.safe_load(py.stdout)
    a.pop("generated"), b.pop("generated")
    assert a == b
    assert a["rootCauses"][0]["category"] == "pvc-not-found"


@pytest.mark.parametrize("fmt,marker", [("mermaid", "flowchart"), ("dot", "digraph")])
def test_graph_formats(fmt: str, marker: str) -> None:
    p = run("explain", "web-6d9f7c8b5-q7m2d", "--from", str(DEMO), "--graph", fmt)
    assert p.returncode == 1
    assert marker in p.stdout and "anti-affinity" in p.stdout


def test_namespace_is_optional_when_the_name_is_unique_offline() -> None:
    p = run("explain", "legacy-report-28841760-x8k2q", "--from", str(DEMO), "-o", "json")
    assert p.returncode == 1
    assert json.loads(p.stdout)["rootCauses"][0]["category"] == "deprecated-label"


def test_unknown_pod_suggests_close_names() -> None:
    p = run("explain", "postgres-1", "--from", str(DEMO))
    assert p.returncode == 2
    assert "not found" in p.stderr and "postgres-0" in p.stderr
    assert_no_traceback(p)


def test_malformed_yaml_names_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n  labels: {a: b\n")
    p = run("explain", "x", "--from", str(bad))
    assert p.returncode == 2
    # the flow mapping opened on line 5 is still unclosed at the end of the input (line 6)
    assert f"{bad}:6: invalid YAML" in p.stderr, p.stderr
    assert_no_traceback(p)
    bad_json = tmp_path / "bad.json"
    bad_json.write_text('{"kind": "Pod",\n "metadata": {"name": "x"}\n "spec": {}}')
    p = run("explain", "x", "--from", str(bad_json))
    assert p.returncode == 2 and f"{bad_json}:3: invalid JSON" in p.stderr, p.stderr


def test_missing_path_and_unreadable_file(tmp_path: Path) -> None:
    p = run("explain", "x", "--from", str(tmp_path / "nope.yaml"))
    assert p.returncode == 2 and "nope.yaml" in p.stderr
    binary = tmp_path / "blob.yaml"
    binary.write_bytes(bytes(range(256)) * 4)
    p = run("explain", "x", "--from", str(binary))
    assert p.returncode == 2
    assert_no_traceback(p)


def test_bad_target_kind_is_a_usage_error() -> None:
    p = run("explain", "service/web", "--from", str(DEMO))
    assert p.returncode == 2 and "unknown resource type" in p.stderr


def test_unreachable_cluster_exits_3(tmp_path: Path) -> None:
    kc = tmp_path / "kubeconfig"
    kc.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "dead",
        "clusters": [{"name": "dead", "cluster": {"server": "https://127.0.0.1:1"}}],
        "users": [{"name": "u", "user": {"token": "x"}}],
        "contexts": [{"name": "dead", "context": {"cluster": "dead", "user": "u", "namespace": "default"}}],
    }))
    p = run("explain", "web-0", "--kubeconfig", str(kc), "--request-timeout", "3")
    assert p.returncode == 3, p.stderr
    assert "127.0.0.1:1" in p.stderr
    assert_no_traceback(p)


def test_rules_list_show_validate(tmp_path: Path) -> None:
    p = run("rules", "list")
    assert p.returncode == 0 and "taint-untolerated" in p.stdout
    p = run("rules", "show", "taint-effect-mismatch")
    assert p.returncode == 0 and "What it means" in p.stdout
    p = run("rules", "show", "taint-untolerate")
    assert p.returncode == 2 and "taint-untolerated" in p.stderr
    broken = tmp_path / "rules"
    broken.mkdir()
    (broken / "x.yaml").write_text("id: x\ncategory: not-a-category\nseverity: high\ntitle: t\n"
                                   "match: {signal: s}\nmessage: m\nfix: f\n")
    p = run("rules", "validate", str(broken))
    assert p.returncode == 2 and "x.yaml:2" in p.stderr and "category" in p.stderr


def test_user_rules_dir_overrides_a_builtin(tmp_path: Path) -> None:
    d = tmp_path / "rules"
    d.mkdir()
    (d / "gpu-taint.yaml").write_text(
        "id: our-gpu-taint\ncategory: taint-untolerated\nseverity: critical\ntitle: GPU pool needs the GPU "
        "toleration\nmatch:\n  signal: taint-untolerated\n  when: {key: nvidia.com/gpu}\npriority: 10\n"
        "message: \"{nodes_count} GPU node(s) need the platform toleration (see go/gpu)\"\n"
        "fix: \"Add the gpu-workloads toleration preset to {pod}\"\n")
    p = run("explain", "deployment/inference", "-n", "ml", "--from", str(DEMO), "--rules", str(d), "-o", "json")
    doc = json.loads(p.stdout)
    assert doc["rootCauses"][0]["rule"] == "our-gpu-taint"
    assert "go/gpu" in doc["rootCauses"][0]["message"]


def test_kubectl_plugin_entry_point_is_installed() -> None:
    exe = Path(sys.executable).parent / "kubectl-podtriage"
    if not exe.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{exe} missing: the package must install the kubectl-podtriage entry point")
        pytest.skip("package not installed in this interpreter's environment (pip install -e .)")
    p = subprocess.run([str(exe), "explain", "postgres-0", "--from", str(DEMO), "-o", "json"],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 1
    assert json.loads(p.stdout)["rootCauses"][0]["category"] == "pvc-not-found"


def test_snapshot_from_files_keeps_the_diagnosis_and_drops_secret_data(tmp_path: Path) -> None:
    """`snapshot --from` turns kubectl dumps into one podtriage snapshot: the same answers, no Secret data."""
    out = tmp_path / "demo-snapshot.json.gz"
    p = run("snapshot", "--from", str(DEMO), "-o", str(out))
    assert p.returncode == 0, p.stderr
    assert f"wrote {out}" in p.stderr
    before = run("explain", "deployment/inference", "-n", "ml", "--from", str(DEMO), "-o", "json")
    after = run("explain", "deployment/inference", "-n", "ml", "--from", str(out), "-o", "json")
    assert after.returncode == before.returncode == 1, after.stderr
    causes = [(c["rule"], c["category"], c["message"]) for c in json.loads(before.stdout)["rootCauses"]]
    assert [(c["rule"], c["category"], c["message"]) for c in json.loads(after.stdout)["rootCauses"]] == causes

    canary_src = ROOT / "fixtures" / "loaders" / "secret-canary.yaml"
    canary_out = tmp_path / "canary.json"
    p = run("snapshot", "--from", str(canary_src), "-o", str(canary_out))
    assert p.returncode == 0, p.stderr
    written = canary_out.read_text()
    for secret in ("Q0FOQVJZLXNlY3JldC1kYXRhLTdmM2E5", "CANARY-secret-data-7f3a9", "CANARY-secret-string-7f3a9",
                   "CANARY-env-literal-93be"):
        assert secret not in written

    bad = run("snapshot", "--from", str(tmp_path / "missing.yaml"), "-o", str(tmp_path / "x.json"))
    assert bad.returncode == 2 and "missing.yaml" in bad.stderr
    assert not (tmp_path / "x.json").exists()
    assert_no_traceback(bad)
