"""Secret values never reach any output, live: a canary against the real kube-apiserver.

The admin client creates, in a fresh namespace, Secrets holding a fresh random value in `data`,
`stringData` and a kubernetes.io/dockerconfigjson auth, each with a
`kubectl.kubernetes.io/last-applied-configuration` annotation that repeats the data (what a
metadata-only LIST of Secrets returns), a ConfigMap and a Deployment annotated with the value,
and a pod that references the Secrets every way a pod can (env secretKeyRef, envFrom secretRef,
secret and projected volumes, imagePullSecrets), carries the value as a literal env value and in
its annotations, and cannot be scheduled (a nodeSelector no node matches), so the real scheduler
writes its FailedScheduling event.

podtriage then runs as its own identity (``podtriage_cli``): explain in every output format,
snapshot (the written file is checked) and audit in every format, each with and without
--redact. Neither stdout, stderr nor any file it writes may contain the value or its base64 forms.
"""

from __future__ import annotations

import base64
import gzip
import json
import secrets
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e


def _b64(s: str) -> str:
    return base64.b64encode(s.encode()).decode()


def _forms(canary: str) -> list[str]:
    auth = _b64(f"deploy-bot:{canary}")
    return [canary, _b64(canary), auth, _b64(json.dumps({"auths": {"registry.corp.example": {"auth": auth}}}))]


def _create(cp, ns: str, canary: str) -> str:
    from kubernetes import client

    core = cp.core_v1()
    apps = client.AppsV1Api(cp.api_client())
    docker_cfg = json.dumps({"auths": {"registry.corp.example": {"auth": _b64(f"deploy-bot:{canary}")}}})
    secrets_data = {
        "db-credentials": ("Opaque", {"password": _b64(canary)}, {"token": canary}),
        "ledger-env": ("Opaque", {"API_TOKEN": _b64(canary)}, None),
        "ledger-tls": ("kubernetes.io/tls", {"tls.key": _b64(canary), "tls.crt": _b64("x")}, None),
        "regcred": ("kubernetes.io/dockerconfigjson", {".dockerconfigjson": _b64(docker_cfg)}, None),
    }
    for name, (type_, data, string_data) in secrets_data.items():
        applied = json.dumps({"apiVersion": "v1", "kind": "Secret", "type": type_, "data": data,
                              "stringData": string_data, "metadata": {"name": name, "namespace": ns}})
        core.create_namespaced_secret(ns, client.V1Secret(
            metadata=client.V1ObjectMeta(name=name, labels={"app": "ledger"}, annotations={
                "kubectl.kubernetes.io/last-applied-configuration": applied, "example.com/copy": canary}),
            type=type_, data=data, string_data=string_data))
    core.create_namespaced_config_map(ns, client.V1ConfigMap(
        metadata=client.V1ObjectMeta(name="ledger-settings", annotations={"example.com/key": canary}),
        data={"settings.ini": f"password={canary}\n"}))
    container = client.V1Container(
        name="ledger", image="registry.corp.example/payments/ledger:4.2.0", args=["--api-key", canary],
        env=[client.V1EnvVar(name="API_KEY", value=canary),
             client.V1EnvVar(name="DB_PASSWORD", value_from=client.V1EnvVarSource(
                 secret_key_ref=client.V1SecretKeySelector(name="db-credentials", key="password")))],
        env_from=[client.V1EnvFromSource(secret_ref=client.V1SecretEnvSource(name="ledger-env"))],
        resources=client.V1ResourceRequirements(requests={"cpu": "100m", "memory": "64Mi"}))
    spec = client.V1PodSpec(
        containers=[container], node_selector={"canary-pool": "nowhere"},
        image_pull_secrets=[client.V1LocalObjectReference(name="regcred")],
        volumes=[client.V1Volume(name="tls", secret=client.V1SecretVolumeSource(secret_name="ledger-tls")),
                 client.V1Volume(name="bundle", projected=client.V1ProjectedVolumeSource(sources=[
                     client.V1VolumeProjection(secret=client.V1SecretProjection(name="db-credentials"))]))])
    annotations = {"example.com/token": canary,
                   "kubectl.kubernetes.io/last-applied-configuration": json.dumps({"env": [{"value": canary}]})}
    apps.create_namespaced_deployment(ns, client.V1Deployment(
        metadata=client.V1ObjectMeta(name="ledger", annotations=annotations),
        spec=client.V1DeploymentSpec(replicas=1, selector=client.V1LabelSelector(match_labels={"app": "ledger"}),
                                     template=client.V1PodTemplateSpec(
                                         metadata=client.V1ObjectMeta(labels={"app": "ledger"},
                                                                      annotations=annotations),
                                         spec=spec))))
    pod = "ledger-canary-0"
    core.create_namespaced_pod(ns, client.V1Pod(
        metadata=client.V1ObjectMeta(name=pod, labels={"app": "ledger-canary"}, annotations=annotations),
        spec=spec))
    cp.wait_for_failed_scheduling(ns, pod)
    # the apiserver really holds the canary where podtriage could read it (metadata-only included)
    listed = core.list_namespaced_secret(ns).items
    assert any(canary in (s.metadata.annotations or {}).get("kubectl.kubernetes.io/last-applied-configuration", "")
               or canary in (s.metadata.annotations or {}).get("example.com/copy", "") for s in listed)
    return pod


def _clean(what: str, canary: str, *texts: str) -> None:
    for text in texts:
        for form in _forms(canary):
            assert form not in text, f"{what}: the Secret canary leaked ({form[:16]}...)"
        assert "Traceback" not in text, f"{what}: {text[-1500:]}"


@pytest.mark.parametrize("redact", [False, True], ids=["plain", "redact"])
def test_secret_canary_never_leaks_live(control_plane, clean_nodes, e2e_namespace, podtriage_cli, tmp_path: Path,
                                        redact: bool) -> None:
    canary = f"canary-{secrets.token_hex(12)}"
    ns = e2e_namespace
    for name in ("canary-worker-1", "canary-worker-2"):
        control_plane.create_node(name, labels={"kubernetes.io/hostname": name, "canary-pool": "general"})
    pod = _create(control_plane, ns, canary)
    flag = ["--redact"] if redact else []
    ran = 0

    for fmt in (("-o", "text"), ("-o", "json"), ("-o", "yaml"), ("--graph", "mermaid"), ("--graph", "dot")):
        for target in (pod, "deployment/ledger"):
            r = podtriage_cli.run("explain", target, "-n", ns, *fmt, *flag)
            assert r.returncode in (0, 1), r.stderr
            assert r.stdout.strip()
            _clean(f"explain {target} {fmt}", canary, r.stdout, r.stderr)
            ran += 1
    r = podtriage_cli.run("explain", pod, "-n", ns, "-o", "json", *flag)
    doc = json.loads(r.stdout)
    assert r.returncode == 1 and doc["rootCauses"][0]["category"] == "node-selector-mismatch", r.stdout[:2000]
    if redact:
        assert ns not in r.stdout and pod not in r.stdout and "ledger" not in r.stdout

    snap = tmp_path / "snap.json.gz"
    r = podtriage_cli.run("snapshot", "-n", ns, "-o", str(snap), *flag)
    assert r.returncode == 0, r.stderr
    text = gzip.decompress(snap.read_bytes()).decode()
    assert '"kind":"Secret"' in text  # the Secrets are in the file, by metadata
    _clean("snapshot", canary, text, r.stdout, r.stderr)
    if redact:
        assert ns not in text and "db-credentials" not in text
    else:
        assert "db-credentials" in text and "regcred" in text
    ran += 1

    for fmt in ("html", "markdown", "json", "junit", "prometheus"):
        out, metrics = tmp_path / f"audit.{fmt}", tmp_path / f"audit-{fmt}.prom"
        r = podtriage_cli.run("audit", "-n", ns, "-o", fmt, "--out", str(out), "--prometheus-textfile",
                              str(metrics), *flag)
        assert r.returncode == 1, r.stderr
        _clean(f"audit -o {fmt}", canary, out.read_text(), metrics.read_text(), r.stdout, r.stderr)
        ran += 1
    assert ran == 16
