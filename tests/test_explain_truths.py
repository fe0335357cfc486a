"""Small untruths `explain` used to tell (issue 18), each pinned by the CLI as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

from podtriage.analyze import Explainer
from podtriage.loaders.files import load_path
from podtriage.loaders.snapshot_file import write_snapshot
from podtriage.rulebook import load_rules
from podtriage.snapshot import Snapshot

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "fixtures" / "demo" / "cluster.yaml"
EXPLAIN = ROOT / "fixtures" / "explain"
RUNNING = "web-6d9f7c8b5-a1xz9"  # shop/web: Running on worker-1 in the demo snapshot


def run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200"}
    env.pop("PODTRIAGE_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "podtriage.cli", *args], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=120, check=False)


# --- a Running pod is not "Pending" anywhere -------------------------------------------------------------


def test_a_running_pod_has_no_pending_causal_chain() -> None:
    p = run("explain", RUNNING, "--from", str(DEMO))
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith(f"✓ shop/{RUNNING} is Running on worker-1: nothing blocks it")
    assert "Pending" not in p.stdout and "Causal chain" not in p.stdout
    # and nothing about its (expired) scheduling events: a running pod needs none to be explained
    assert "missing:" not in p.stdout and "confidence" not in p.stdout
    # the graph says what the pod is, in every form
    doc = json.loads(run("explain", RUNNING, "--from", str(DEMO), "-o", "json").stdout)
    [target] = [n for n in doc["graph"]["nodes"] if n["kind"] == "symptom"]
    assert target["label"] == f"Pod shop/{RUNNING} Running"
    for fmt in ("dot", "mermaid"):
        out = run("explain", RUNNING, "--from", str(DEMO), "--graph", fmt).stdout
        assert "Pending" not in out and "Running" in out, out


def test_a_pending_pod_keeps_its_causal_chain() -> None:
    p = run("explain", "postgres-0", "--from", str(DEMO))
    assert p.returncode == 1, p.stderr
    assert "Causal chain" in p.stdout and "Pod data/postgres-0 Pending" in p.stdout


def test_a_workload_with_nothing_pending_is_not_called_unavailable(tmp_path: Path) -> None:
    # ml/inference's two Pending pods, bound and running instead (and their FailedScheduling gone)
    docs = []
    for d in yaml.safe_load_all(DEMO.read_text()):
        if not d or (d["kind"] == "Event" and d["involvedObject"]["name"].startswith("inference-")):
            continue
        if d["kind"] == "Pod" and d["metadata"]["name"].startswith("inference-"):
            d["spec"]["nodeName"] = "gpu-1"
            d["status"] = {"phase": "Running", "conditions": [{"type": "PodScheduled", "status": "True"}]}
        docs.append(d)
    path = tmp_path / "inference-running.yaml"
    path.write_text(yaml.safe_dump_all(docs))
    p = run("explain", "deployment/inference", "-n", "ml", "--from", str(path), "--graph", "mermaid")
    assert p.returncode == 0, p.stderr
    label = p.stdout.replace("<br/>", " ")
    assert "not fully available" not in label and "Deployment ml/inference: no pod Pending" in label
    text = run("explain", "deployment/inference", "-n", "ml", "--from", str(path)).stdout
    assert "nothing blocks its pods" in text and "Causal chain" not in text


# --- no creationTimestamp: no empty duration ----------------------------------------------------------


def test_no_creation_timestamp_says_the_age_is_unknown() -> None:
    p = run("explain", "report-0", "-n", "batch", "--from", str(EXPLAIN / "no-creation-timestamp.yaml"))
    assert p.returncode == 1, p.stderr
    flat = " ".join(p.stdout.split())
    assert "Pending for  " not in p.stdout and "for without" not in flat
    assert ("Pod batch/report-0 has been Pending for an unknown time (the pod has no creationTimestamp) without "
            "a single scheduling event") in flat


def test_the_age_is_still_given_when_known() -> None:
    snap = load_path(EXPLAIN / "no-creation-timestamp.yaml")
    pod = snap.pod_by_key["batch/report-0"]
    dated = _with_pods(snap, [type(pod)(**{**pod.__dict__, "creation_timestamp": "2026-11-20T09:00:00Z"})])
    report = Explainer(dated, load_rules()).explain("report-0", "batch")
    assert "has been Pending for " in report.root_causes[0].message
    assert "unknown time" not in report.root_causes[0].message


def _with_pods(snap: Snapshot, pods: list) -> Snapshot:
    keys = {p.key for p in pods}
    return Snapshot(meta=snap.meta, **{**_objects(snap), "pods": tuple(pods) + tuple(
        p for p in snap.pods if p.key not in keys)})


def _objects(snap: Snapshot) -> dict:
    import dataclasses

    return {f.name: getattr(snap, f.name) for f in dataclasses.fields(snap) if f.name != "meta"}


# --- a file without Node objects is not "nodes could not be read" --------------------------------------------


def test_a_file_without_nodes_says_so_not_that_they_could_not_be_read() -> None:
    p = run("explain", "trainer-0", "-n", "ml", "--from", str(EXPLAIN / "pods-without-nodes.yaml"), "-o", "json")
    assert p.returncode == 1, p.stderr
    doc = json.loads(p.stdout)
    text = json.dumps(doc)
    assert "nodes could not be read" not in text and "not allowed to read" not in text
    assert any(m.startswith("the input holds no Node objects: no per-node verdicts") for m in doc["missing"])
    # the answer still comes from the scheduler's own message
    assert {c["rule"] for c in doc["rootCauses"]} >= {"taint-untolerated-no-node-data"}
    text_out = run("explain", "trainer-0", "-n", "ml", "--from", str(EXPLAIN / "pods-without-nodes.yaml")).stdout
    assert "per-node verdicts unavailable: no nodes to evaluate" in text_out
    assert "nodes could not be read" not in text_out


def test_nodes_that_could_not_be_read_still_say_so(tmp_path: Path) -> None:
    # the same pod in a podtriage snapshot whose collector was refused the nodes (RBAC)
    items = yaml.safe_load((EXPLAIN / "pods-without-nodes.yaml").read_text())["items"]
    path = tmp_path / "snap.json"
    write_snapshot(items, path, meta={"source": "live", "collected": ["Pod", "Event"], "namespaces": ["ml"],
                                      "missing": [{"resource": "nodes", "namespace": "",
                                                   "reason": 'forbidden: nodes is forbidden: User "ci" cannot '
                                                             'list resource "nodes"'}]})
    doc = json.loads(run("explain", "trainer-0", "-n", "ml", "--from", str(path), "-o", "json").stdout)
    assert any(x.startswith("nodes could not be read: no per-node verdicts") for x in doc["missing"]), doc["missing"]
    assert not any("the input holds no Node objects" in x for x in doc["missing"])
