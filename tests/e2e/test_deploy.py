"""Installed as platform teams install it, run as the cluster runs it.

The Helm chart is installed with helm (built from Go modules) into the real kube-apiserver, and the
kustomize base is applied with kubectl; then the CronJob's pod, as the API server stores it, is run
the way a kubelet would (tests/e2e/jobrun.py): its command, from the container image's file set
(deploy/Dockerfile's steps, tests/rootfs.py), as uid 65532 on a read-only root, with its volumes and
the chart's ServiceAccount token, so podtriage authenticates in-cluster. The reports must land on
the claim, and RBAC must suffice: no 403 in the audit log for that ServiceAccount, and nothing in
the report's `missing` but what was deliberately not read (Secrets, unless opted in).
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

import release_artifacts
from podtriage.audit.render_machine import validate_audit

from .controlplane import ExternalCluster
from .jobrun import PodRun, cronjob_pod_spec, run_pod

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "deploy" / "helm" / "podtriage"
KUSTOMIZE = REPO / "deploy" / "kustomize"
SECRETS_SKIPPED = "skipped (--no-secrets)"


@pytest.fixture(scope="module")
def image():
    return release_artifacts.image()


@pytest.fixture(scope="module")
def cluster(control_plane):
    if isinstance(control_plane, ExternalCluster):
        pytest.skip("runs pods as a kubelet would and reads the audit log: needs the harness's control plane")
    return control_plane


@pytest.fixture(scope="module")
def pending(cluster):
    """Something to report: a namespace with a pod no node can take (its nodeSelector matches none)."""
    from .scenarios import pod_body

    ns = cluster.ensure_namespace(f"deploy-{uuid.uuid4().hex[:6]}")
    body = pod_body("web-0", nodeSelector={"pool": f"nowhere-{uuid.uuid4().hex[:6]}"})
    cluster.core_v1().create_namespaced_pod(ns, body)
    cluster.wait_for_failed_scheduling(ns, "web-0")
    yield ns
    cluster.force_delete_pods(ns)


def tool(name: str, cluster, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KUBECONFIG", "HELM_"))}
    env["HOME"] = os.environ.get("HOME", "/tmp")
    p = subprocess.run([str(release_artifacts.cli_tool(name)), *args, "--kubeconfig", str(cluster.kubeconfig_path)],
                       capture_output=True, text=True, env=env, timeout=300)
    if check:
        assert p.returncode == 0, f"{name} {' '.join(args)}\n{p.stdout[-3000:]}\n{p.stderr[-3000:]}"
    return p


def sa_requests(cluster, namespace: str, sa: str, since: int) -> list[dict]:
    time.sleep(0.5)  # the audit backend writes ResponseComplete after the response
    user = f"system:serviceaccount:{namespace}:{sa}"
    return [e for e in cluster.audit_events()[since:] if (e.get("user") or {}).get("username") == user]


def check_rbac_sufficed(cluster, namespace: str, sa: str, since: int, report: dict, secrets: bool) -> None:
    events = sa_requests(cluster, namespace, sa, since)
    assert len(events) > 20, f"the job made {len(events)} requests as {sa}: did it authenticate in-cluster?"
    forbidden = [f"{e['verb']} {e['requestURI']}" for e in events if (e.get("responseStatus") or {}).get("code") == 403]
    assert not forbidden, forbidden
    assert {e["verb"] for e in events} <= {"list", "get"}
    secret_reads = [e for e in events if (e.get("objectRef") or {}).get("resource") == "secrets"]
    assert bool(secret_reads) == secrets  # --no-secrets sends no request for them at all
    missing = report["missing"]
    if secrets:
        assert missing == [], missing
    else:
        assert [m["resource"] for m in missing] == ["secrets"] and missing[0]["reason"].startswith(SECRETS_SKIPPED)


def read_report(claim: Path) -> dict:
    doc = json.loads((claim / "latest.json").read_text())
    assert validate_audit(doc) == []
    return doc


def test_helm_chart_installs_and_its_job_audits_the_cluster(cluster, image, pending, readonly_audit, tmp_path) -> None:
    stage, _, mode = image
    release, ns = f"pt{uuid.uuid4().hex[:6]}", f"podtriage-{uuid.uuid4().hex[:6]}"
    helm = ["upgrade", "--install", release, str(CHART), "-n", ns, "--create-namespace", "--wait=false"]
    tool("helm", cluster, *helm)
    assert tool("helm", cluster, "status", release, "-n", ns).stdout.count("STATUS: deployed") == 1
    sa = f"{release}-podtriage"
    pod = cronjob_pod_spec(cluster, ns, f"{release}-podtriage-audit")
    state = PodRun(tmp_path)

    # Night 1: defaults (no Secrets); the reports land on the claim.
    since = len(cluster.audit_events())
    readonly_audit.invocations += 1
    p = run_pod(cluster, stage, mode, ns, pod, state)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-5000:]
    claim = state.claims[f"{release}-podtriage-reports"]
    report = read_report(claim)
    check_rbac_sufficed(cluster, ns, sa, since, report, secrets=False)
    stamped = sorted(x.name for x in (claim / "reports").iterdir())
    assert [x.rsplit(".", 1)[1] for x in stamped] == ["html", "json", "md", "xml"]
    assert {x.name for x in claim.iterdir()} >= {"latest.json", "latest.html", "latest.md", "latest.xml",
                                                  "podtriage.prom", "reports"}
    if mode == "root":
        assert {(claim / "latest.json").stat().st_uid} == {65532}
    ours = [f for f in report["findings"] if any(p_["namespace"] == pending for p_ in f["pods"])]
    assert [f["rule"] for f in ours] == ["node-selector-mismatch"] or ours, report["findings"]
    assert report["delta"] is None or not report["delta"].get("resolved")

    # Night 2: the previous report feeds --previous.
    time.sleep(1.1)  # a new report name (second resolution)
    readonly_audit.invocations += 1
    p = run_pod(cluster, stage, mode, ns, pod, state)
    assert p.returncode == 0, p.stderr[-3000:]
    second = read_report(claim)
    assert second["delta"] and second["delta"]["persisting"], second["delta"]
    assert len(list((claim / "reports").glob("*.json"))) == 2

    # Opted in to Secret metadata: granted and read, nothing missing.
    tool("helm", cluster, *helm, "--set", "rbac.secretMetadata=true")
    pod = cronjob_pod_spec(cluster, ns, f"{release}-podtriage-audit")
    since = len(cluster.audit_events())
    readonly_audit.invocations += 1
    p = run_pod(cluster, stage, mode, ns, pod, state)
    assert p.returncode == 0, p.stderr[-3000:]
    check_rbac_sufficed(cluster, ns, sa, since, read_report(claim), secrets=True)


def test_helm_stdout_destination_and_pushgateway(cluster, image, pending, readonly_audit, tmp_path) -> None:
    stage, _, mode = image
    pgw = subprocess.Popen([str(release_artifacts.cli_tool("pushgateway")), "--web.listen-address=127.0.0.1:0"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        port = None
        for line in pgw.stderr:  # the Pushgateway logs the address it listens on
            if "address=127.0.0.1:" in line:
                port = line.split("address=127.0.0.1:", 1)[1].split()[0]
                break
        assert port, "the Pushgateway did not say where it listens"
        url = f"http://127.0.0.1:{port}"
        release, ns = f"pt{uuid.uuid4().hex[:6]}", f"podtriage-{uuid.uuid4().hex[:6]}"
        tool("helm", cluster, "install", release, str(CHART), "-n", ns, "--create-namespace",
             "--set", "report.destination=stdout", "--set", "pushgateway.enabled=true",
             "--set", f"pushgateway.url={url}", "--set", "clusterName=e2e-east")
        pod = cronjob_pod_spec(cluster, ns, f"{release}-podtriage-audit")
        assert "reports" not in {v["name"] for v in pod["volumes"]}
        since = len(cluster.audit_events())
        readonly_audit.invocations += 1
        p = run_pod(cluster, stage, mode, ns, pod, PodRun(tmp_path))
        assert p.returncode == 0, p.stderr[-3000:]
        assert p.stdout.startswith("# podtriage audit") and pending in p.stdout  # the report, in the log
        events = sa_requests(cluster, ns, f"{release}-podtriage", since)
        assert events and not [e for e in events if (e.get("responseStatus") or {}).get("code") == 403]
        groups = json.loads(urllib.request.urlopen(f"{url}/api/v1/metrics", timeout=5).read())["data"]
        assert [g["labels"] for g in groups] == [{"job": "podtriage", "cluster": "e2e-east"}]
        metrics = groups[0]["podtriage_pending_pods"]["metrics"]
        assert any(m["labels"]["namespace"] == pending and m["labels"]["cluster"] == "e2e-east" for m in metrics)
    finally:
        pgw.terminate()
        pgw.wait(timeout=10)


def test_kustomize_base_applies_and_its_job_audits_the_cluster(cluster, image, pending, readonly_audit,
                                                               tmp_path) -> None:
    stage, _, mode = image
    applied = tool("kubectl", cluster, "apply", "-k", str(KUSTOMIZE))
    assert "cronjob.batch/podtriage-audit" in applied.stdout
    pod = cronjob_pod_spec(cluster, "podtriage", "podtriage-audit")
    state = PodRun(tmp_path)
    since = len(cluster.audit_events())
    readonly_audit.invocations += 1
    p = run_pod(cluster, stage, mode, "podtriage", pod, state)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-5000:]
    report = read_report(state.claims["podtriage-reports"])
    check_rbac_sufficed(cluster, "podtriage", "podtriage", since, report, secrets=False)
    assert any(p_["namespace"] == pending for f in report["findings"] for p_ in f["pods"])


# The watch Deployment and the prometheus-operator objects, installed into the real kube-apiserver:
# the ServiceMonitor and PrometheusRule against the real CRD schemas (prometheus-operator v0.85.0,
# vendored in crds/prometheus-operator/), the watch's RBAC asked of the real authorizer.

PROMETHEUS_OPERATOR_CRDS = Path(__file__).parent / "crds" / "prometheus-operator"
RULES_FILE = REPO / "deploy" / "prometheus" / "podtriage-rules.yaml"
MONITORING = ("monitoring.coreos.com", "v1")


def install_prometheus_operator_crds(cluster) -> None:
    import gzip

    import yaml
    from kubernetes import client
    from kubernetes.client.rest import ApiException

    ext = client.ApiextensionsV1Api(cluster.api_client())
    names = []
    for path in sorted(PROMETHEUS_OPERATOR_CRDS.glob("*.yaml.gz")):
        crd = yaml.safe_load(gzip.decompress(path.read_bytes()))
        names.append(crd["metadata"]["name"])
        try:
            ext.create_custom_resource_definition(crd)
        except ApiException as e:
            if e.status != 409:
                raise
    assert sorted(names) == ["prometheusrules.monitoring.coreos.com", "servicemonitors.monitoring.coreos.com"]
    deadline = time.monotonic() + 60
    objects = client.CustomObjectsApi(cluster.api_client())
    for name in names:
        while True:
            status = ext.read_custom_resource_definition(name).status
            if any(c.type == "Established" and c.status == "True" for c in (status.conditions or [])):
                try:  # served, not only established: discovery catches up a moment later
                    objects.list_cluster_custom_object(*MONITORING, name.split(".")[0])
                    break
                except ApiException:
                    pass
            assert time.monotonic() < deadline, f"CRD {name} not served: {status}"
            time.sleep(0.2)


def can(cluster, sa_user: str, verb: str, resource: str, group: str = "", namespace: str = "",
        name: str = "") -> bool:
    from kubernetes import client

    attrs = {"verb": verb, "resource": resource, "group": group}
    if namespace:
        attrs["namespace"] = namespace
    if name:
        attrs["name"] = name
    ns = sa_user.split(":")[2]
    review = client.AuthorizationV1Api(cluster.api_client()).create_subject_access_review({
        "apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
        "spec": {"user": sa_user, "groups": ["system:serviceaccounts", f"system:serviceaccounts:{ns}",
                                             "system:authenticated"],
                 "resourceAttributes": attrs}})
    return bool(review.status.allowed)


def collected_resources() -> set[tuple[str, str]]:
    from podtriage.collect import live

    def group(r) -> str:
        return "" if r.versions[0] == "v1" else r.versions[0].split("/")[0]

    return {(group(r), r.plural) for r in (live.NODES, live.NAMESPACES, live.PODS, live.EVENTS,
                                           *live.CLUSTER_RESOURCES, *live.NAMESPACED_RESOURCES,
                                           *live.CLUSTER_WIDE_NAMESPACED)}


def test_helm_watch_service_monitor_and_rules_install_into_the_real_apiserver(cluster) -> None:
    import yaml
    from kubernetes import client
    from kubernetes.client.rest import ApiException

    install_prometheus_operator_crds(cluster)
    release, ns = f"pt{uuid.uuid4().hex[:6]}", f"podtriage-{uuid.uuid4().hex[:6]}"
    tool("helm", cluster, "install", release, str(CHART), "-n", ns, "--create-namespace", "--wait=false",
         "--set", "watch.enabled=true", "--set", "watch.serviceMonitor.enabled=true",
         "--set", "watch.serviceMonitor.labels.release=kps", "--set", "prometheusRule.enabled=true",
         "--set", "clusterName=e2e-east")
    try:
        full = f"{release}-podtriage"
        objects = client.CustomObjectsApi(cluster.api_client())
        # Stored as rendered: a field the CRD's structural schema does not know would be pruned.
        rule = objects.get_namespaced_custom_object(*MONITORING, ns, "prometheusrules", full)
        assert rule["spec"]["groups"] == yaml.safe_load(RULES_FILE.read_text())["groups"]
        sm = objects.get_namespaced_custom_object(*MONITORING, ns, "servicemonitors", f"{full}-watch")
        assert sm["metadata"]["labels"]["release"] == "kps"
        assert sm["spec"]["endpoints"] == [{"port": "metrics", "path": "/metrics", "interval": "30s",
                                            "relabelings": [{"action": "replace", "targetLabel": "cluster",
                                                             "replacement": "e2e-east"}]}]
        svc = client.CoreV1Api(cluster.api_client()).read_namespaced_service(f"{full}-watch", ns)
        assert [(p.name, p.port) for p in svc.spec.ports] == [("metrics", 9417)]
        assert sm["spec"]["selector"]["matchLabels"].items() <= (svc.metadata.labels or {}).items()
        dep = client.AppsV1Api(cluster.api_client()).read_namespaced_deployment(f"{full}-watch", ns)
        [c] = dep.spec.template.spec.containers
        assert c.args[:4] == ["watch", "-A", "--listen", ":9417"]
        assert c.security_context.read_only_root_filesystem and not c.security_context.allow_privilege_escalation
        assert dep.spec.template.spec.service_account_name == f"{full}-watch"

        # The schemas are enforced, so the objects above passed them: a bad duration is refused.
        bad = {"apiVersion": "monitoring.coreos.com/v1", "kind": "PrometheusRule",
               "metadata": {"name": "bad", "namespace": ns},
               "spec": {"groups": [{"name": "g", "rules": [{"alert": "A", "expr": "vector(1)",
                                                            "for": "fifteen minutes"}]}]}}
        with pytest.raises(ApiException) as refused:
            objects.create_namespaced_custom_object(*MONITORING, ns, "prometheusrules", bad)
        assert refused.value.status == 422 and "for" in refused.value.body

        # The watch's ServiceAccount, asked of the real authorizer: list+watch on every kind podtriage
        # reads, cluster-wide and in a namespace; get, writes and Secrets refused.
        watch_sa = f"system:serviceaccount:{ns}:{full}-watch"
        audit_sa = f"system:serviceaccount:{ns}:{full}"
        kinds = collected_resources() - {("", "secrets")}
        deadline = time.monotonic() + 10  # the RBAC authorizer's cache follows the new bindings
        while not can(cluster, watch_sa, "watch", "pods") and time.monotonic() < deadline:
            time.sleep(0.1)
        wrong = []
        for group, res in sorted(kinds):
            for verb in ("list", "watch"):
                for where in ("", "default"):
                    if not can(cluster, watch_sa, verb, res, group, where):
                        wrong.append(f"{verb} {group}/{res} in {where or 'all namespaces'} refused")
            if can(cluster, watch_sa, "get", res, group, "default", "x"):
                wrong.append(f"get {group}/{res} allowed")
            if can(cluster, audit_sa, "watch", res, group):
                wrong.append(f"the audit's account may watch {group}/{res}")
            if not can(cluster, audit_sa, "list", res, group):
                wrong.append(f"the audit's account may not list {group}/{res}")
        for verb in ("create", "update", "patch", "delete", "deletecollection"):
            for group, res in (("", "pods"), ("", "nodes"), ("apps", "deployments"), ("", "configmaps")):
                if can(cluster, watch_sa, verb, res, group, "default"):
                    wrong.append(f"{verb} {group}/{res} allowed")
        for verb in ("get", "list", "watch"):
            if can(cluster, watch_sa, verb, "secrets", "", "default"):
                wrong.append(f"{verb} secrets allowed without rbac.secretMetadata")
        # The scheduler's lease: that one object only, followed with a metadata.name field selector.
        for verb in ("list", "watch"):
            if not can(cluster, watch_sa, verb, "leases", "coordination.k8s.io", "kube-system", "kube-scheduler"):
                wrong.append(f"{verb} the kube-scheduler lease refused")
            if can(cluster, watch_sa, verb, "leases", "coordination.k8s.io", "kube-system"):
                wrong.append(f"{verb} every lease in kube-system allowed")
        if can(cluster, watch_sa, "get", "leases", "coordination.k8s.io", "kube-system", "kube-scheduler"):
            wrong.append("get the kube-scheduler lease allowed")
        assert not wrong, wrong

        # Opted in to Secret metadata: the watch may then list and watch Secrets (never get them).
        tool("helm", cluster, "upgrade", release, str(CHART), "-n", ns, "--reuse-values", "--wait=false",
             "--set", "rbac.secretMetadata=true")
        deadline = time.monotonic() + 10
        while not can(cluster, watch_sa, "watch", "secrets") and time.monotonic() < deadline:
            time.sleep(0.1)
        assert can(cluster, watch_sa, "list", "secrets") and can(cluster, watch_sa, "watch", "secrets")
        assert not can(cluster, watch_sa, "get", "secrets", "", "default", "x")
    finally:
        tool("helm", cluster, "uninstall", release, "-n", ns, check=False)


def test_kustomize_watch_components_pass_the_real_apiserver(cluster, tmp_path) -> None:
    install_prometheus_operator_crds(cluster)
    cluster.ensure_namespace("podtriage")
    overlay = tmp_path / "overlay"
    overlay.mkdir()
    base = os.path.relpath(KUSTOMIZE, overlay)
    (overlay / "kustomization.yaml").write_text(
        f"resources: [{base}]\ncomponents: [{base}/components/watch, {base}/components/service-monitor, "
        f"{base}/components/prometheus-rule]\n")
    # Server-side dry run: every object through admission and the CRD schemas, nothing stored.
    p = tool("kubectl", cluster, "apply", "-k", str(overlay), "--dry-run=server")
    for obj in ("deployment.apps/podtriage-watch", "service/podtriage-watch", "clusterrole.rbac.authorization.k8s.io/podtriage-watch",
                "servicemonitor.monitoring.coreos.com/podtriage-watch", "prometheusrule.monitoring.coreos.com/podtriage"):
        assert obj in p.stdout, p.stdout


def _pids_with(*words: str) -> list[int]:
    out = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        args = [a.decode(errors="replace") for a in argv]
        if all(w in args for w in words) and args and Path(args[0]).name.startswith(("podtriage", "python")):
            out.append(int(proc.name))
    return out


def test_helm_watch_deployment_runs_as_its_service_account(cluster, image, pending, readonly_audit, podtriage_cli,
                                                           tmp_path) -> None:
    """The watch Deployment's pod, run as a kubelet would (its command, args, env, ConfigMap volume and
    ServiceAccount token, from the image's file set, as uid 65532 on a read-only root): with the
    chart's watch role alone it syncs (no 403, only list and watch), becomes ready, serves the Pending
    pod's cause on /api/v1/findings and /metrics, and exits 0 on the SIGTERM a kubelet sends."""
    import threading

    from kubernetes import client

    from .controlplane import free_port

    stage, _, mode = image
    port = free_port()  # the pod's own network namespace here is the host's: a free port for it
    release, ns = f"pt{uuid.uuid4().hex[:6]}", f"podtriage-{uuid.uuid4().hex[:6]}"
    tool("helm", cluster, "install", release, str(CHART), "-n", ns, "--create-namespace", "--wait=false",
         "--set", "watch.enabled=true", "--set", f"watch.port={port}")
    full = f"{release}-podtriage"
    try:
        dep = client.AppsV1Api(cluster.api_client()).read_namespaced_deployment(f"{full}-watch", ns)
        pod = cluster.api_client().sanitize_for_serialization(dep)["spec"]["template"]["spec"]
        [c] = pod["containers"]
        assert c["command"] == ["podtriage"] and c["args"][:4] == ["watch", "-A", "--listen", f":{port}"]
        # A safety net only: the test sends SIGTERM itself once it has its answers.
        c["command"] = ["timeout", "--preserve-status", "-s", "TERM", "240", *c["command"]]
        since = len(cluster.audit_events())
        readonly_audit.invocations += 1
        done: dict[str, subprocess.CompletedProcess[str]] = {}
        runner = threading.Thread(target=lambda: done.setdefault(
            "p", run_pod(cluster, stage, mode, ns, pod, PodRun(tmp_path), timeout=300)), daemon=True)
        runner.start()
        base = f"http://127.0.0.1:{port}"

        def get(path: str) -> tuple[int, str]:
            try:
                with urllib.request.urlopen(base + path, timeout=5) as r:
                    return r.status, r.read().decode()
            except urllib.error.HTTPError as e:
                return e.code, e.read().decode()
            except OSError:
                return 0, ""

        deadline = time.monotonic() + 120
        while get("/readyz")[0] != 200:
            assert runner.is_alive(), done["p"].stdout[-3000:] + done["p"].stderr[-5000:]
            assert time.monotonic() < deadline, "the watch pod did not become ready"
            time.sleep(0.5)
        status, body = get("/api/v1/findings")
        assert status == 200
        doc = json.loads(body)
        assert validate_audit(doc) == []
        assert doc["stale"] is False and doc["lastSync"]
        # Everything the watch role grants is read: only Secrets are missing, as the chart's default says.
        assert [m["resource"] for m in doc["missing"]] == ["secrets"], doc["missing"]
        assert doc["missing"][0]["reason"].startswith(SECRETS_SKIPPED)
        # The Pending pod's cause is what a fresh audit (admin, --no-secrets, same config) says now.
        audit = podtriage_cli.run("audit", "-A", "-o", "json", "--no-secrets", "--no-progress")
        assert audit.returncode in (0, 1), audit.stderr[-3000:]

        def rules_for(d: dict) -> list[str]:
            return sorted(f["rule"] for f in d["findings"] if any(p_["namespace"] == pending for p_ in f["pods"]))

        assert rules_for(doc) == rules_for(json.loads(audit.stdout)) != [], doc["findings"]
        status, metrics = get("/metrics")
        assert status == 200
        assert any(line.startswith("podtriage_pending_pods{") and f'namespace="{pending}"' in line
                   and line.endswith(" 1") for line in metrics.splitlines()), metrics[:3000]
        assert "podtriage_watch_stale 0" in metrics.splitlines()

        pids = _pids_with("watch", "--listen", f":{port}")
        assert len(pids) == 1, pids
        os.kill(pids[0], 15)  # what a kubelet sends when the pod is deleted
        runner.join(60)
        assert not runner.is_alive(), "the watch did not exit on SIGTERM"
        p = done["p"]
        assert p.returncode == 0 and "Traceback" not in p.stderr, p.stderr[-5000:]

        events = sa_requests(cluster, ns, f"{full}-watch", since)
        assert len(events) > 20, f"the watch made {len(events)} requests as its ServiceAccount"
        forbidden = [f"{e['verb']} {e['requestURI']}" for e in events
                     if (e.get("responseStatus") or {}).get("code") == 403]
        assert not forbidden, forbidden
        assert {e["verb"] for e in events if e.get("objectRef")} <= {"list", "watch"}
        assert "watch" in {e["verb"] for e in events}
    finally:
        tool("helm", cluster, "uninstall", release, "-n", ns, check=False)
