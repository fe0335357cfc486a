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

from .render import CHART, container, env_of, helm_template, one, run

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
