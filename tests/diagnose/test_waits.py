"""What an init container waits for: the references its command names, what the snapshot says of
them, how answers show the command (every word that could be a credential elided), and that a
snapshot keeps only that and the references, never the command line."""

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
from podtriage.waitrefs import ELIDED, parse_references, shown_command

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


@pytest.mark.parametrize(("command", "args", "want"), [
    (("sh", "-c"), ("until nc -z postgres.data.svc 5432; do sleep 2; done",),
     'sh -c "until nc -z postgres.data.svc 5432; do sleep 2; done"'),
    ((), ("job-wr", "db-migrate"), "job-wr db-migrate"),
    (("kubectl",), ("wait", "--for=condition=complete", "job/migrate", "-n", "data", "--timeout=-1s"),
     "kubectl wait --for=condition=complete job/migrate -n data --timeout=-1s"),
    # values of flags that are not known to be harmless, and every unknown word, are elided
    (("/bin/wait",), ("--token=CANARY-1",), "/bin/wait --token=…"),
    (("/bin/wait",), ("--api-key", "CANARY-2", "--for", "ready"), "/bin/wait --api-key … --for ready"),
    (("sh", "-c"), ("until mysql -h db -u root -pCANARY-3 -e 'select 1'; do sleep 1; done",),
     'sh -c "until … -h … -u … -e …; do sleep 1; done"'),
    (("sh", "-c"), ("curl -u bot:CANARY-4 https://vault.example.com/v1/x",), 'sh -c "curl -u …"'),
    (("migrate",), ("postgres://admin:CANARY-5@db:5432/app", "--password=CANARY-6"), "migrate … --password=…"),
    ((), ("CANARY-7",), "…"),
])
def test_shown_command_elides_what_could_be_a_credential(command, args, want) -> None:
    shown = shown_command(command, args, "busybox:1.36")
    assert shown == want
    assert "CANARY" not in shown and ("CANARY" not in " ".join((*command, *args)) or ELIDED in shown)


def test_a_snapshot_keeps_what_it_waits_for_never_the_command_line() -> None:
    pod = next(d for d in _pod_docs() if d.get("kind") == "Pod")
    init = pod["spec"]["initContainers"][0]
    init["command"] = ["/bin/wait", "--token=hunter2-s3cr3t"]
    trimmed = trim_object(pod)
    text = json.dumps(trimmed)
    kept = trimmed["spec"]["initContainers"][0]
    assert "hunter2" not in text and "command" not in kept and "args" not in kept
    assert kept["x-podtriage-command"] == "/bin/wait --token=… job-wr db-migrate-42"
    assert kept["x-podtriage-waits"] == [{"kind": "Job", "namespace": "", "name": "db-migrate-42"}]


def test_explain_from_a_written_snapshot_still_names_the_failed_job(tmp_path: Path) -> None:
    out = tmp_path / "snap.json"
    r = CliRunner().invoke(main, ["snapshot", "--from", str(FAILED_JOB), "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert '"args"' not in out.read_text()  # the command line is not kept
    r = CliRunner().invoke(main, ["explain", "api-6f5e4d3c2-q7w8e", "--from", str(out), "-o", "json"])
    doc = json.loads(r.output)
    top = doc["rootCauses"][0]
    assert top["rule"] == "init-container-stuck"
    assert "Job `default/db-migrate-42`" in top["message"] and "job-wr db-migrate-42" in top["message"]
    assert "kubectl -n default logs job/db-migrate-42" in top["fix"]
    assert r.exit_code == 1


def test_a_redacted_snapshot_maps_what_the_command_waits_for(tmp_path: Path) -> None:
    src = (ROOT / "fixtures" / "cases" / "kubelet-init-waiting-dependency.yaml").read_text()
    assert "postgres.data.svc" in src
    (tmp_path / "in.yaml").write_text(src.replace("postgres.data.svc", "pg-main7.ledgerprod.svc"))
    out = tmp_path / "snap.json"
    r = CliRunner().invoke(main, ["snapshot", "--from", str(tmp_path / "in.yaml"), "--redact", "-o", str(out)])
    assert r.exit_code == 0, r.output
    text = out.read_text()
    assert "pg-main7" not in text and "ledgerprod" not in text
    pod = next(o for o in json.loads(text)["items"] if o["kind"] == "Pod")
    kept = pod["spec"]["initContainers"][0]
    svc, ns = kept["x-podtriage-waits"][0]["name"], kept["x-podtriage-waits"][0]["namespace"]
    assert svc.startswith("svc-") and ns.startswith("ns-")
    assert f"nc -z {svc}.{ns}.svc 5432" in kept["x-podtriage-command"]
    r = CliRunner().invoke(main, ["explain", pod["metadata"]["name"], "--from", str(out), "-o", "json"])
    top = json.loads(r.output)["rootCauses"][0]
    assert f"Service `{ns}/{svc}`" in top["message"]
