"""Secret values never reach any output: a canary, offline.

A fresh random value is put in every place a Secret can be referenced or copied to: Secret
`data` and `stringData` (used through env valueFrom.secretKeyRef, envFrom.secretRef, secret and
projected volumes), a kubernetes.io/dockerconfigjson Secret used as imagePullSecret, the Secret's
own `kubectl.kubernetes.io/last-applied-configuration` annotation, annotations of other objects,
a pod's and a template's literal `env[].value`, container args, an init container's command line and a ConfigMap value. The file is
what `kubectl get secrets,pods,... -o yaml` prints (a List with data), read with `--from`.

Every command and output format runs on it, with and without --redact, and neither stdout, stderr
nor any written file may contain the canary or its base64 forms.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
NS = "payments"


def _b64(s: str) -> str:
    return base64.b64encode(s.encode()).decode()


def canary_forms(canary: str) -> list[str]:
    """The canary as it could leak: raw, base64 of itself, of a docker auth, of a config file."""
    auth = _b64(f"deploy-bot:{canary}")
    return [canary, _b64(canary), auth, _b64(json.dumps({"auths": {"registry.corp.example": {"auth": auth}}}))]


def _meta(name: str, canary: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "namespace": NS, "uid": f"00000000-0000-4000-8000-{len(name):012d}",
            "creationTimestamp": "2026-11-20T09:00:00Z",
            "annotations": {"example.com/rotated-secret": canary,
                            "kubectl.kubernetes.io/last-applied-configuration": json.dumps(
                                {"metadata": {"name": name}, "env": [{"name": "API_KEY", "value": canary}]})},
            **extra}


def _secret(name: str, canary: str, data: dict[str, str], string_data: dict[str, str] | None = None,
            type_: str = "Opaque") -> dict[str, Any]:
    applied = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": NS},
               "data": data, "type": type_}
    obj: dict[str, Any] = {
        "apiVersion": "v1", "kind": "Secret", "type": type_, "data": data,
        "metadata": {"name": name, "namespace": NS, "uid": f"5ec2e700-0000-4000-8000-{len(name):012d}",
                     "creationTimestamp": "2026-11-20T09:00:00Z", "labels": {"app": "ledger"},
                     "annotations": {"kubectl.kubernetes.io/last-applied-configuration": json.dumps(applied)},
                     "managedFields": [{"manager": "kubectl-client-side-apply", "operation": "Update",
                                        "fieldsType": "FieldsV1",
                                        "fieldsV1": {"f:data": {f"f:{k}": {} for k in data}}}]},
    }
    if string_data:
        obj["stringData"] = string_data
    return obj


def _pod_spec(canary: str) -> dict[str, Any]:
    return {
        "nodeSelector": {"pool": "payments"},
        "imagePullSecrets": [{"name": "regcred"}],
        # an init container's command line holding the canary: answers show it with the canary elided
        "initContainers": [{
            "name": "wait-db", "image": "busybox:1.36", "command": ["sh", "-c"],
            "args": [f"until nc -z db.payments.svc 5432 && wget -q --header 'Authorization: Bearer {canary}' "
                     f"http://vault:8200/v1/ok; do sleep 2; done", f"--password={canary}", "-p" + canary],
        }],
        "containers": [{
            "name": "api", "image": "registry.corp.example/payments/api:4.2.0",
            "args": ["--api-key", canary],
            "env": [{"name": "API_KEY", "value": canary},
                    {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db-credentials", "key": "password"}}}],
            "envFrom": [{"secretRef": {"name": "api-env"}}],
            "resources": {"requests": {"cpu": "250m", "memory": "256Mi"}},
            "volumeMounts": [{"name": "tls", "mountPath": "/tls"}, {"name": "bundle", "mountPath": "/bundle"}],
        }],
        "volumes": [{"name": "tls", "secret": {"secretName": "api-tls"}},
                    {"name": "bundle", "projected": {"sources": [{"secret": {"name": "db-credentials"}}]}},
                    {"name": "settings", "configMap": {"name": "api-settings"}}],
    }


def canary_cluster(canary: str) -> dict[str, Any]:
    """A `kubectl get -o yaml` List: two nodes, a Deployment whose pod cannot schedule, the Secrets
    it references (with their data), a ConfigMap, and the scheduler's event."""
    docker_cfg = json.dumps({"auths": {"registry.corp.example": {"auth": _b64(f"deploy-bot:{canary}")}}})
    items: list[dict[str, Any]] = []
    for i in (1, 2):
        items.append({"apiVersion": "v1", "kind": "Node",
                      "metadata": {"name": f"worker-{i}", "uid": f"n0de0000-0000-4000-8000-00000000000{i}",
                                   "labels": {"kubernetes.io/hostname": f"worker-{i}", "pool": "general"},
                                   "annotations": {"example.com/bootstrap-token": canary}},
                      "spec": {},
                      "status": {"allocatable": {"cpu": "4", "memory": "16Gi", "pods": "110"},
                                 "capacity": {"cpu": "4", "memory": "16Gi", "pods": "110"},
                                 "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                                                 "message": "kubelet is posting ready status"}]}})
    items += [
        _secret("db-credentials", canary, {"password": _b64(canary), "username": _b64("payments")},
                {"token": canary}),
        _secret("api-env", canary, {"API_TOKEN": _b64(canary)}),
        _secret("api-tls", canary, {"tls.key": _b64(canary), "tls.crt": _b64("not-a-cert")}, type_="kubernetes.io/tls"),
        _secret("regcred", canary, {".dockerconfigjson": _b64(docker_cfg)}, type_="kubernetes.io/dockerconfigjson"),
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": _meta("api-settings", canary),
         "data": {"settings.ini": f"password={canary}\n"}},
        {"apiVersion": "apps/v1", "kind": "Deployment",
         "metadata": _meta("ledger", canary, labels={"app": "ledger"}),
         "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "ledger"}},
                  "template": {"metadata": {"labels": {"app": "ledger"}, "annotations": {"example.com/key": canary}},
                               "spec": _pod_spec(canary)}},
         "status": {"replicas": 1, "unavailableReplicas": 1}},
        {"apiVersion": "apps/v1", "kind": "ReplicaSet",
         "metadata": _meta("ledger-7d9c8b6f5", canary, labels={"app": "ledger", "pod-template-hash": "7d9c8b6f5"},
                           ownerReferences=[{"apiVersion": "apps/v1", "kind": "Deployment", "name": "ledger",
                                             "uid": "d0000000-0000-4000-8000-000000000001", "controller": True}]),
         "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "ledger", "pod-template-hash": "7d9c8b6f5"}},
                  "template": {"metadata": {"labels": {"app": "ledger"}}, "spec": _pod_spec(canary)}},
         "status": {"replicas": 1}},
        {"apiVersion": "v1", "kind": "Pod",
         "metadata": _meta("ledger-7d9c8b6f5-x2k4p", canary, labels={"app": "ledger", "pod-template-hash": "7d9c8b6f5"},
                           ownerReferences=[{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "ledger-7d9c8b6f5",
                                             "uid": "r5000000-0000-4000-8000-000000000001", "controller": True}]),
         "spec": {**_pod_spec(canary), "schedulerName": "default-scheduler"},
         "status": {"phase": "Pending",
                    "conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                                    "lastTransitionTime": "2026-11-20T10:00:00Z",
                                    "message": "0/2 nodes are available: 2 node(s) didn't match Pod's node "
                                               "affinity/selector. preemption: 0/2 nodes are available: 2 "
                                               "Preemption is not helpful for scheduling."}]}},
        {"apiVersion": "v1", "kind": "Event",
         "metadata": {"name": "ledger-7d9c8b6f5-x2k4p.17a0b1c2d3e4f5a6", "namespace": NS,
                      "uid": "e0000000-0000-4000-8000-000000000001",
                      "annotations": {"example.com/trace": canary}},
         "involvedObject": {"kind": "Pod", "name": "ledger-7d9c8b6f5-x2k4p", "namespace": NS,
                            "uid": f"00000000-0000-4000-8000-{len('ledger-7d9c8b6f5-x2k4p'):012d}"},
         "reason": "FailedScheduling", "type": "Warning", "source": {"component": "default-scheduler"},
         "message": "0/2 nodes are available: 2 node(s) didn't match Pod's node affinity/selector. preemption: "
                    "0/2 nodes are available: 2 Preemption is not helpful for scheduling.",
         "firstTimestamp": "2026-11-20T10:00:00Z", "lastTimestamp": "2026-11-20T10:14:00Z", "count": 12},
    ]
    return {"apiVersion": "v1", "kind": "List", "items": items, "metadata": {"resourceVersion": ""}}


@pytest.fixture(scope="module")
def canary() -> str:
    return f"canary-{secrets.token_hex(12)}"


@pytest.fixture(scope="module")
def cluster_file(tmp_path_factory: pytest.TempPathFactory, canary: str) -> Path:
    path = tmp_path_factory.mktemp("canary") / "cluster.yaml"
    path.write_text(yaml.safe_dump(canary_cluster(canary), sort_keys=False))
    text = path.read_text()
    for i, form in enumerate(canary_forms(canary)):
        assert i == 2 or form in text  # the input really holds every form the outputs are checked for
    return path


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH", "")]))}
    env.pop("PODTRIAGE_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "podtriage.cli", *args], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=120)


def assert_clean(what: str, *texts: str, canary: str) -> None:
    for text in texts:
        for form in canary_forms(canary):
            assert form not in text, f"{what}: the Secret canary ({form[:20]}...) leaked"
        assert "Traceback" not in text, f"{what}: {text[-2000:]}"


EXPLAIN_FORMATS = (("-o", "text"), ("-o", "json"), ("-o", "yaml"), ("--graph", "mermaid"), ("--graph", "dot"))
AUDIT_FORMATS = ("html", "markdown", "markdown-short", "json", "junit", "prometheus")


@pytest.mark.parametrize("redact", [False, True], ids=["plain", "redact"])
@pytest.mark.parametrize("fmt", EXPLAIN_FORMATS, ids=[f[1] for f in EXPLAIN_FORMATS])
def test_explain_never_prints_the_canary(cluster_file: Path, canary: str, fmt: tuple[str, str], redact: bool,
                                         tmp_path: Path) -> None:
    for target in ("ledger-7d9c8b6f5-x2k4p", "deployment/ledger"):
        p = run("explain", target, "-n", NS, "--from", str(cluster_file), *fmt, *(["--redact"] if redact else []),
                cwd=tmp_path)
        assert p.returncode == 1, p.stderr  # the pod is blocked (nodeSelector pool=payments): a real diagnosis
        assert p.stdout.strip()
        assert_clean(f"explain {target} {fmt} redact={redact}", p.stdout, p.stderr, canary=canary)


@pytest.mark.parametrize("redact", [False, True], ids=["plain", "redact"])
@pytest.mark.parametrize("fmt", AUDIT_FORMATS)
def test_audit_never_prints_the_canary(cluster_file: Path, canary: str, fmt: str, redact: bool,
                                       tmp_path: Path) -> None:
    out, metrics = tmp_path / f"report.{fmt}", tmp_path / "metrics.prom"
    p = run("audit", "--from", str(cluster_file), "-o", fmt, "--out", str(out), "--prometheus-textfile",
            str(metrics), *(["--redact"] if redact else []), cwd=tmp_path)
    assert p.returncode == 1, p.stderr
    report = out.read_text()
    assert "nodeSelector" in report or "node-selector" in report or "podtriage_" in report
    assert_clean(f"audit -o {fmt} redact={redact}", report, metrics.read_text(), p.stdout, p.stderr, canary=canary)


def test_written_snapshots_never_hold_the_canary(cluster_file: Path, canary: str, tmp_path: Path) -> None:
    """`snapshot --redact --from` (redacting a kubectl dump) and write_snapshot, the writer the live
    `snapshot` uses, fed with every raw object of the file (Secrets with their data included)."""
    from podtriage.loaders.snapshot_file import write_snapshot

    out = tmp_path / "redacted.json"
    p = run("snapshot", "--from", str(cluster_file), "--redact", "-o", str(out), cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert_clean("snapshot --redact", out.read_text(), p.stdout, p.stderr, canary=canary)

    raw = tmp_path / "raw.json.gz"
    items = canary_cluster(canary)["items"]
    write_snapshot(items, raw, meta={"source": str(cluster_file), "collected": sorted({o["kind"] for o in items})})
    import gzip

    text = gzip.decompress(raw.read_bytes()).decode()
    assert '"kind":"Secret"' in text and "db-credentials" in text  # the Secrets are there, by name
    assert_clean("write_snapshot", text, canary=canary)
    # and both read back to the same diagnosis, still without the canary
    for path in (out, raw):
        q = run("explain", "deployment/ledger" if path == raw else "deployment/deploy-1", "--from", str(path),
                "-o", "json", cwd=tmp_path)
        assert q.returncode == 1, q.stderr
        assert json.loads(q.stdout)["rootCauses"][0]["category"] == "node-selector-mismatch"
        assert_clean(f"explain --from {path.name}", q.stdout, q.stderr, canary=canary)


def test_the_snapshot_model_holds_no_secret_value(cluster_file: Path, canary: str) -> None:
    """Below the outputs: nothing converted keeps a Secret value, an annotation or a literal env value."""
    from podtriage.loaders.files import load_path

    snap = load_path(cluster_file)
    assert {(o.kind, o.name) for o in snap.config_objects} >= {("Secret", "regcred"), ("Secret", "db-credentials")}
    dump = repr(snap)
    assert_clean("Snapshot repr", dump, canary=canary)
    pod = snap.pods[0]
    refs = {(r.kind, r.name, r.via) for c in pod.containers for r in c.config_refs}
    assert ("Secret", "db-credentials", "env DB_PASSWORD") in refs and ("Secret", "api-env", "envFrom") in refs
    assert pod.image_pull_secrets == ("regcred",)
