"""The Helm chart: helm lint, helm template with every value that matters, and what they render.

The rendered Job command is checked here for what each value puts in it (and that it is valid
sh); tests/e2e/test_deploy.py installs the chart into a real kube-apiserver and runs it."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml

from podtriage.audit.suppress import load_config

from .render import CHART, container, env_of, helm_template, kustomize, one, run, watch_container

SUPPRESSIONS = [{"category": "autoscaler-no-scale-up", "namespace": "ml-sandbox",
                 "reason": "sandbox GPUs are scaled by hand (INFRA-1234)", "expires": "2027-03-31"},
                {"rule": "control-plane-taint", "reason": "expected"}]


def values_file(tmp_path: Path, values: dict) -> str:
    path = tmp_path / "values.yaml"
    path.write_text(yaml.safe_dump(values))
    return str(path)


def script(docs: list[dict]) -> str:
    c = container(docs)
    assert c["command"] == ["/bin/sh", "-c"]
    [text] = c["args"]
    p = subprocess.run(["sh", "-n"], input=text, capture_output=True, text=True)
    assert p.returncode == 0, f"not valid sh: {p.stderr}\n{text}"
    return text


def test_helm_lint_passes_with_defaults_and_with_every_option(helm, tmp_path) -> None:
    assert run([helm, "lint", CHART, "--strict"]).returncode == 0
    full = {"clusterName": "prod-eu-1", "schedule": "0 * * * *", "timeZone": "Europe/Berlin",
            "audit": {"namespaces": ["ml", "shop"], "selector": "team=payments", "failOn": "high",
                      "failJobOnFindings": True, "suppressions": SUPPRESSIONS, "timeout": "10m",
                      "requestTimeout": "1m"},
            "pushgateway": {"enabled": True, "url": "http://pushgateway.monitoring.svc:9091"},
            "rbac": {"secretMetadata": True}, "image": {"digest": "sha256:" + "a" * 64}}
    p = run([helm, "lint", CHART, "--strict", "-f", values_file(tmp_path, full)])
    assert p.returncode == 0, p.stdout + p.stderr


@pytest.mark.parametrize("values,complaint", [
    ({"audit": {"failOn": "urgent"}}, "/audit/failOn"),
    ({"report": {"destination": "s3"}}, "/report/destination"),
    ({"audit": {"suppressions": [{"rule": "x"}]}}, "missing property 'reason'"),
    ({"audit": {"timeout": "5 minutes"}}, "/audit/timeout"),
    ({"pushgateway": {"enabled": True, "url": "http://pg:9091"}}, "clusterName is required"),
    ({"image": {"digest": "latest"}}, "/image/digest"),
    ({"shedule": "* * * * *"}, "shedule"),
])
def test_bad_values_are_refused_with_a_reason(helm, tmp_path, values, complaint) -> None:
    p = run([helm, "template", "pt", CHART, "-f", values_file(tmp_path, values)])
    assert p.returncode != 0 and complaint in p.stderr, p.stderr


def test_defaults_audit_every_namespace_nightly_onto_a_pvc(helm) -> None:
    docs = helm_template(helm)
    cj = one(docs, "CronJob")
    assert cj["spec"]["schedule"] == "30 5 * * *" and cj["spec"]["timeZone"] == "Etc/UTC"
    text = script(docs)
    assert "podtriage snapshot -A -o /tmp/snapshot.json.gz" in text
    assert '-o json --out "$dir/$stamp.json"' in text and "--prometheus-textfile /reports/podtriage.prom" in text
    assert "--previous /reports/latest.json" in text and "--pushgateway" not in text
    for fmt, ext in (("html", "html"), ("markdown", "md"), ("junit", "xml")):
        assert f'-o {fmt} --out "$dir/$stamp.{ext}"' in text and f"/reports/latest.{ext}" in text
    assert "-mtime +30 -delete" in text and text.rstrip().endswith("exit 0")
    pvc = one(docs, "PersistentVolumeClaim")
    assert pvc["spec"]["resources"]["requests"]["storage"] == "1Gi"
    assert pvc["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    pod = cj["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert {"name": "reports", "persistentVolumeClaim": {"claimName": pvc["metadata"]["name"]}} in pod["volumes"]


def test_values_reach_the_job(helm, tmp_path) -> None:
    values = {"schedule": "15 2 * * 1-5", "timeZone": "America/New_York", "clusterName": "prod eu/1",
              "audit": {"namespaces": ["ml", "shop"], "selector": "team=payments", "failOn": "high",
                        "failJobOnFindings": True, "suppressions": SUPPRESSIONS, "timeout": "10m",
                        "requestTimeout": "45s", "extraArgs": ["--rules", "/extra"]},
              "pushgateway": {"enabled": True, "url": "http://pushgateway.monitoring.svc:9091"},
              "report": {"formats": ["html"], "retentionDays": 0, "pvc": {"size": "5Gi", "storageClassName": "fast"}},
              "resources": {"requests": {"cpu": "2", "memory": "4Gi"}, "limits": {"memory": "8Gi"}},
              "image": {"repository": "registry.corp/podtriage", "digest": "sha256:" + "b" * 64},
              "nodeSelector": {"pool": "system"}}
    docs = helm_template(helm, "-f", values_file(tmp_path, values))
    cj = one(docs, "CronJob")
    assert cj["spec"]["schedule"] == "15 2 * * 1-5" and cj["spec"]["timeZone"] == "America/New_York"
    text = script(docs)
    assert 'podtriage snapshot -n "ml" -n "shop" -o /tmp/snapshot.json.gz --timeout "10m" --request-timeout "45s"' in text
    assert text.count('-n "ml" -n "shop"') == 3  # the snapshot and both audits
    assert '-l "team=payments"' in text and '--cluster "prod eu/1"' in text and '"--rules" "/extra"' in text
    assert text.count('--pushgateway "http://pushgateway.monitoring.svc:9091"') == 1  # pushed once, from the JSON run
    assert "-o markdown" not in text and "-mtime" not in text and text.rstrip().endswith('exit "$rc"')
    c = container(docs)
    assert c["image"] == "registry.corp/podtriage@sha256:" + "b" * 64
    assert c["resources"] == values["resources"]
    pod = cj["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert pod["nodeSelector"] == {"pool": "system"}
    pvc = one(docs, "PersistentVolumeClaim")
    assert pvc["spec"]["storageClassName"] == "fast" and pvc["spec"]["resources"]["requests"]["storage"] == "5Gi"


def test_suppressions_become_an_audit_config_podtriage_loads(helm, tmp_path) -> None:
    docs = helm_template(helm, "-f", values_file(tmp_path, {"audit": {"suppressions": SUPPRESSIONS, "failOn": "high"}}))
    cm = one(docs, "ConfigMap")
    path = tmp_path / "audit.yaml"
    path.write_text(cm["data"]["audit.yaml"])
    config = load_config(path)  # podtriage's own loader: what the job reads with --config
    assert config.fail_on == "high"
    assert [(s.category, s.namespace, s.rule, s.reason, s.expires) for s in config.suppressions] == [
        ("autoscaler-no-scale-up", "ml-sandbox", "", "sandbox GPUs are scaled by hand (INFRA-1234)", "2027-03-31"),
        ("", "", "control-plane-taint", "expected", "")]
    default = tmp_path / "default.yaml"
    default.write_text(one(helm_template(helm), "ConfigMap")["data"]["audit.yaml"])
    assert load_config(default).suppressions == ()
    # A config change rolls into the next Job (the pod template carries its checksum).
    def checksum(d: list[dict]) -> str:
        return one(d, "CronJob")["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["annotations"]["checksum/config"]

    assert checksum(docs) != checksum(helm_template(helm))


def test_stdout_destination_prints_the_report_and_needs_no_volume(helm, tmp_path) -> None:
    docs = helm_template(helm, "--set", "report.destination=stdout", "--set", "report.stdoutFormat=json")
    assert not [d for d in docs if d["kind"] == "PersistentVolumeClaim"]
    text = script(docs)
    assert "podtriage audit -A -o json --timeout" in text and "--out" not in text and "snapshot" not in text
    c = container(docs)
    assert "/reports" not in {m["mountPath"] for m in c["volumeMounts"]}
    pod = one(docs, "CronJob")["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert "reports" not in {v["name"] for v in pod["volumes"]}


def test_existing_claim_is_used_not_created(helm) -> None:
    docs = helm_template(helm, "--set", "report.pvc.existingClaim=shared-reports")
    assert not [d for d in docs if d["kind"] == "PersistentVolumeClaim"]
    pod = one(docs, "CronJob")["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert {"name": "reports", "persistentVolumeClaim": {"claimName": "shared-reports"}} in pod["volumes"]


def test_secret_metadata_opt_in(helm) -> None:
    off, on = helm_template(helm), helm_template(helm, "--set", "rbac.secretMetadata=true")
    assert env_of(container(off))["PODTRIAGE_SECRETS"] == "false"
    assert env_of(container(on))["PODTRIAGE_SECRETS"] == "true"
    assert not any("secrets" in r["resources"] for r in one(off, "ClusterRole")["rules"])
    notes = run([helm, "install", "pt", CHART, "--dry-run=client", "-n", "podtriage"])
    assert notes.returncode == 0 and "Secrets are not read (--no-secrets" in notes.stdout


def test_every_value_is_checked_by_the_schema() -> None:
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    schema = json.loads((CHART / "values.schema.json").read_text())

    def keys(v: dict, s: dict, path: str = "") -> None:
        props = s.get("properties", {})
        assert set(v) <= set(props), (path, set(v) - set(props))
        for k, sub in v.items():
            if isinstance(sub, dict) and props[k].get("additionalProperties") is False:
                keys(sub, props[k], f"{path}.{k}")

    keys(values, schema)
    assert schema.get("additionalProperties") is False  # a misspelt value is an error, not ignored


# The watch Deployment (watch.enabled), its Service, ServiceMonitor and the PrometheusRule.

WATCH_KINDS = ("Deployment", "Service", "ServiceMonitor", "PrometheusRule")


def test_watch_and_monitoring_objects_are_off_by_default(helm) -> None:
    docs = helm_template(helm)
    assert not [d["kind"] for d in docs if d["kind"] in WATCH_KINDS]
    assert [d["metadata"]["name"] for d in docs if d["kind"] == "ServiceAccount"] == ["pt-podtriage"]
    # The ServiceMonitor needs the watch: without it there is nothing to scrape.
    docs = helm_template(helm, "--set", "watch.serviceMonitor.enabled=true")
    assert not [d["kind"] for d in docs if d["kind"] in WATCH_KINDS]


def test_helm_lint_passes_with_the_watch_and_monitoring(helm, tmp_path) -> None:
    values = {"watch": {"enabled": True, "namespaces": ["ml"], "selector": "team=ml", "port": 9500,
                        "perPodMetrics": True, "serviceMonitor": {"enabled": True, "interval": "15s",
                                                                  "labels": {"release": "kps"}}},
              "prometheusRule": {"enabled": True, "labels": {"release": "kps"}}, "clusterName": "prod-eu-1"}
    p = run([helm, "lint", CHART, "--strict", "-f", values_file(tmp_path, values)])
    assert p.returncode == 0, p.stdout + p.stderr


@pytest.mark.parametrize("values,complaint", [
    ({"watch": {"port": 0}}, "/watch/port"),
    ({"watch": {"enabled": "yes"}}, "/watch/enabled"),
    ({"watch": {"serviceMonitor": {"interval": "often"}}}, "/watch/serviceMonitor/interval"),
    ({"watch": {"replicas": 2}}, "replicas"),
    ({"prometheusRule": {"enable": True}}, "enable"),
])
def test_bad_watch_values_are_refused(helm, tmp_path, values, complaint) -> None:
    p = run([helm, "template", "pt", CHART, "-f", values_file(tmp_path, values)])
    assert p.returncode != 0 and complaint in p.stderr, p.stderr


def test_watch_defaults_serve_every_namespace_on_9417(helm) -> None:
    docs = helm_template(helm, "--set", "watch.enabled=true")
    dep = one(docs, "Deployment", "-watch")
    assert dep["spec"]["replicas"] == 1 and dep["spec"]["strategy"] == {"type": "Recreate"}
    c = watch_container(docs)
    assert c["command"] == ["podtriage"]
    assert c["args"] == ["watch", "-A", "--listen", ":9417", "--config", "/config/audit.yaml"]
    assert c["ports"] == [{"name": "metrics", "containerPort": 9417, "protocol": "TCP"}]
    assert c["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "metrics"}
    assert c["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "metrics"}
    assert c["startupProbe"]["httpGet"] == {"path": "/healthz", "port": "metrics"}
    # The audit config (suppressions, failOn) is the same ConfigMap the CronJob reads.
    [cfg] = [v for v in dep["spec"]["template"]["spec"]["volumes"] if v["name"] == "config"]
    assert cfg["configMap"]["name"] == one(docs, "ConfigMap")["metadata"]["name"]
    svc = one(docs, "Service", "-watch")
    assert svc["spec"]["ports"] == [{"name": "metrics", "port": 9417, "targetPort": "metrics", "protocol": "TCP"}]
    pod_labels = dep["spec"]["template"]["metadata"]["labels"]
    assert svc["spec"]["selector"].items() <= pod_labels.items()
    assert dep["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    # The audit's Job pods are not behind the Service.
    job_labels = one(docs, "CronJob")["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["labels"]
    assert not svc["spec"]["selector"].items() <= job_labels.items()


def test_watch_values_reach_the_deployment_and_service_monitor(helm) -> None:
    docs = helm_template(helm, "--set", "watch.enabled=true", "--set", "watch.namespaces={ml,shop}",
                         "--set", "watch.selector=team=ml", "--set", "watch.port=9500",
                         "--set", "watch.perPodMetrics=true", "--set", "watch.extraArgs={--rules,/extra}",
                         "--set", "watch.serviceMonitor.enabled=true", "--set", "watch.serviceMonitor.interval=15s",
                         "--set", "watch.serviceMonitor.labels.release=kps", "--set", "clusterName=prod-eu-1",
                         "--set", "watch.resources.limits.memory=3Gi")
    c = watch_container(docs)
    assert c["args"] == ["watch", "-n", "ml", "-n", "shop", "-l", "team=ml", "--listen", ":9500",
                         "--per-pod-metrics", "--config", "/config/audit.yaml", "--rules", "/extra"]
    assert c["ports"][0]["containerPort"] == 9500 and c["resources"]["limits"]["memory"] == "3Gi"
    svc = one(docs, "Service", "-watch")
    assert svc["spec"]["ports"][0]["port"] == 9500
    sm = one(docs, "ServiceMonitor", "-watch")
    assert sm["apiVersion"] == "monitoring.coreos.com/v1" and sm["metadata"]["labels"]["release"] == "kps"
    assert sm["spec"]["selector"]["matchLabels"].items() <= svc["metadata"]["labels"].items()
    assert sm["spec"]["namespaceSelector"] == {"matchNames": ["podtriage"]}
    [ep] = sm["spec"]["endpoints"]
    assert ep["port"] == svc["spec"]["ports"][0]["name"] and ep["path"] == "/metrics" and ep["interval"] == "15s"
    assert ep["relabelings"] == [{"action": "replace", "targetLabel": "cluster", "replacement": "prod-eu-1"}]


def test_helm_and_kustomize_install_the_same_watch(helm, kubectl, tmp_path) -> None:
    h = helm_template(helm, "--set", "watch.enabled=true", "--set", "watch.serviceMonitor.enabled=true")
    k = kustomize(kubectl, tmp_path, components=("watch", "service-monitor"))
    for kind in ("ClusterRole", "Role"):
        assert one(h, kind, "-watch" if kind == "ClusterRole" else "-watch-scheduler-lease")["rules"] == \
            one(k, kind, "-watch" if kind == "ClusterRole" else "-watch-scheduler-lease")["rules"], kind
    hc, kc = watch_container(h), watch_container(k)
    for key in ("command", "args", "ports", "securityContext", "resources", "livenessProbe", "readinessProbe",
                "startupProbe", "volumeMounts"):
        assert hc[key] == kc[key], key
    assert env_of(hc) == env_of(kc)
    hd, kd = (one(d, "Deployment", "-watch")["spec"] for d in (h, k))
    assert hd["replicas"] == kd["replicas"] and hd["strategy"] == kd["strategy"]
    assert hd["template"]["spec"]["securityContext"] == kd["template"]["spec"]["securityContext"]
    assert one(h, "Service", "-watch")["spec"]["ports"] == one(k, "Service", "-watch")["spec"]["ports"]
    assert one(h, "ServiceMonitor")["spec"]["endpoints"] == one(k, "ServiceMonitor")["spec"]["endpoints"]
    # kustomize's Service and ServiceMonitor select the watch pod and only it.
    k_pod = kd["template"]["metadata"]["labels"]
    assert one(k, "Service", "-watch")["spec"]["selector"].items() <= k_pod.items()
    assert one(k, "ServiceMonitor")["spec"]["selector"]["matchLabels"].items() <= \
        one(k, "Service", "-watch")["metadata"]["labels"].items()
    k_job = one(k, "CronJob")["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["labels"]
    assert not one(k, "Service", "-watch")["spec"]["selector"].items() <= k_job.items()


def test_notes_say_where_the_watch_serves(helm) -> None:
    notes = run([helm, "install", "pt", CHART, "--dry-run=client", "-n", "podtriage", "--set", "watch.enabled=true",
                 "--set", "prometheusRule.enabled=true"])
    assert notes.returncode == 0, notes.stderr
    assert "kubectl -n podtriage port-forward service/pt-podtriage-watch 9417" in notes.stdout
    assert "Alerts: PrometheusRule pt-podtriage" in notes.stdout
    off = run([helm, "install", "pt", CHART, "--dry-run=client", "-n", "podtriage"])
    assert "port-forward" not in off.stdout and "PrometheusRule" not in off.stdout
