"""What an init container waits for: the references its command names, what the snapshot says of
them, and that a snapshot keeps the references but never the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from podtriage.cli import main
from podtriage.diagnose.waits import check, fix_hint, references
from podtriage.loaders import load_path
from podtriage.loaders.snapshot_file import trim_object
from podtriage.waitrefs import parse_references

ROOT = Path(__file__).resolve().parents[2]
FAILED_JOB = ROOT / "fixtures" / "cases" / "kubelet-init-waits-for-failed-job.yaml"


@pytest.mark.parametrize(("command", "args", "image", "want"), [
    ((), ("job-wr", "db-migrate"), "ghcr.io/groundnuty/k8s-wait-for:v2.0", [("Job", "", "db-migrate")]),
    ((), ("pod", "-lapp=db"), "ghcr.io/groundnuty/k8s-wait-for:v2.0", [("Pod", "", "-lapp=db")]),
    (("k8s-wait-for",), ("service", "redis", "job", "seed"), "registry.example.com/tools:1",
     [("Service", "", "redis"), ("Job", "", "seed")]),
    (("kubectl",), ("wait", "--for=condition=complete", "job/migrate", "-n", "data", "--timeout=-1s"),
     "bitnami/kubectl:1.31", [("Job", "data", "migrate")]),
    (("sh", "-c"), ("until nc -z postgres.data.svc.cluster.local 5432; do sleep 2; done",), "busybox:1.36",
     [("Service", "data", "postgres")]),
    # "job" as a later word of an unrelated command names nothing
    (("python", "run.py"), ("--mode", "job", "nightly"), "registry.example.com/etl:3", []),
    ((), (), "busybox:1.36", []),
])
def test_parse_references(command, args, image, want) -> None:
    assert parse_references(command, args, image) == want


def _pod_docs() -> list[dict]:
    return [d for d in yaml.safe_load_all(FAILED_JOB.read_text()) if isinstance(d, dict)]


def test_check_reads_the_snapshot() -> None:
    snap = load_path(FAILED_JOB)
    pod = next(p for p in snap.pods if p.name == "api-6f5e4d3c2-q7w8e")
    c = pod.init_containers[0]
    assert references(c, pod.namespace) == [("Job", "default", "db-migrate-42")]
    failed = check(snap, "Job", "default", "db-migrate-42")
    assert failed.state == "failed" and "BackoffLimitExceeded" in failed.detail
    assert "delete and re-create" in fix_hint(failed)
    missing = check(snap, "Job", "default", "db-migrate-41")
    assert missing.state == "missing" and "never end" in missing.detail
    assert "Nothing named Job `default/db-migrate-41` exists" in fix_hint(missing)
    # a pod selector: the app pod itself matches app=api and is not Ready
    sel = check(snap, "Pod", "default", "-lapp=api")
    assert sel.state == "not ready" and "1 pod(s), none Ready" in sel.detail
    assert check(snap, "Pod", "default", "-lapp=nothing").state == "missing"
    assert check(snap, "Service", "data", "postgres").state == "unknown"


def test_a_snapshot_keeps_what_it_waits_for_never_the_command_line() -> None:
    pod = next(d for d in _pod_docs() if d.get("kind") == "Pod")
    init = pod["spec"]["initContainers"][0]
    init["command"] = ["/bin/wait", "--token=hunter2-s3cr3t"]
    trimmed = trim_object(pod)
    text = json.dumps(trimmed)
    assert "hunter2" not in text and "command" not in trimmed["spec"]["initContainers"][0]
    assert trimmed["spec"]["initContainers"][0]["x-podtriage-waits"] == [
        {"kind": "Job", "namespace": "", "name": "db-migrate-42"}]


def test_explain_from_a_written_snapshot_still_names_the_failed_job(tmp_path: Path) -> None:
    out = tmp_path / "snap.json"
    r = CliRunner().invoke(main, ["snapshot", "--from", str(FAILED_JOB), "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert "job-wr" not in out.read_text()  # the command line is not kept
    r = CliRunner().invoke(main, ["explain", "api-6f5e4d3c2-q7w8e", "--from", str(out), "-o", "json"])
    doc = json.loads(r.output)
    top = doc["rootCauses"][0]
    assert top["rule"] == "init-container-stuck"
    assert "Job `default/db-migrate-42`" in top["message"] and "command not recorded" in top["message"]
    assert "kubectl -n default logs job/db-migrate-42" in top["fix"]
    assert r.exit_code == 1
