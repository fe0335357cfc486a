"""podtriage's alert rules (deploy/prometheus/podtriage-rules.yaml), checked and unit-tested with
promtool built from Go modules: `promtool check rules`, and `promtool test rules` on
tests/deploy/alerts/*.yaml, which feed input series and assert which alerts fire, with which labels
and annotations, and which stay quiet (a blip under 15 minutes, a stale watch, info findings).
The Helm chart's PrometheusRule and the kustomize component carry the same groups."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from podtriage.findings import CATEGORIES

from .render import CHART, KUSTOMIZE, helm_template, one, run

RULES = CHART.parents[1] / "prometheus" / "podtriage-rules.yaml"
UNIT_TESTS = sorted((Path(__file__).parent / "alerts").glob("*.yaml"))
ALERTS = {"PodtriagePodsBlocked", "PodtriageWorkloadsBlocked", "PodtriagePendingTooLong",
          "PodtriageWatchStale", "PodtriageWatchNotSyncing", "PodtriageWatchAbsent"}
# The metrics `podtriage watch` serves (issue #17's contract): the alerts may use these and no other.
WATCH_METRICS = {"podtriage_pending_pods", "podtriage_pending_oldest_seconds", "podtriage_workloads_blocked",
                 "podtriage_pending_pod_info", "podtriage_watch_last_sync_timestamp_seconds",
                 "podtriage_watch_stale", "podtriage_watch_restarts_total", "podtriage_diagnosis_duration_seconds",
                 "podtriage_objects_held", "podtriage_build_info"}


def promtool_run(promtool: Path, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(promtool), *args], capture_output=True, text=True, timeout=300, cwd=cwd)


def rules_doc() -> dict:
    return yaml.safe_load(RULES.read_text())


def test_promtool_is_the_pinned_release(promtool) -> None:
    p = promtool_run(promtool, "--version")
    assert p.returncode == 0 and p.stdout.startswith("promtool, version 3.16.0 "), p.stdout + p.stderr


def test_promtool_check_rules_accepts_the_file(promtool) -> None:
    p = promtool_run(promtool, "check", "rules", str(RULES))
    assert p.returncode == 0, p.stdout + p.stderr
    assert f"SUCCESS: {len(ALERTS)} rules found" in p.stdout, p.stdout


def test_promtool_check_rules_refuses_a_broken_expression(promtool, tmp_path) -> None:
    broken = tmp_path / "rules.yaml"
    broken.write_text(RULES.read_text().replace("podtriage_pending_pods{severity!=\"info\"}) > 0",
                                                "podtriage_pending_pods{severity!=\"info\"} > 0", 1))
    p = promtool_run(promtool, "check", "rules", str(broken))
    assert p.returncode != 0 and "FAILED" in p.stdout + p.stderr, p.stdout + p.stderr


@pytest.mark.parametrize("unit", UNIT_TESTS, ids=lambda p: p.stem)
def test_promtool_unit_tests_pass(promtool, unit) -> None:
    p = promtool_run(promtool, "test", "rules", unit.name, cwd=unit.parent)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "SUCCESS" in p.stdout


@pytest.mark.parametrize("mutation,unit", [
    (("for: 15m", "for: 5m"), "pods-blocked"),                  # the blip and the 14m check would fire
    (("{severity!=\"info\"}", ""), "pods-blocked"),              # info findings would page
    (("(podtriage_watch_stale) == 1)\n    for: 15m", "(podtriage_watch_stale) == 2)\n    for: 15m"),
     "pods-blocked"),                                            # a stale watch would page about pods
    (("> 3600", "> 600"), "workloads-and-age"),
    (("absent(podtriage_build_info)", "absent(podtriage_build_info) or vector(1)"), "watch-health"),
], ids=["shorter-for", "info-pages", "stale-pages", "age-threshold", "always-absent"])
def test_unit_tests_catch_a_wrong_rule(promtool, tmp_path, mutation, unit) -> None:
    """The unit tests bite: each change of meaning in the rules makes one of them fail."""
    old, new = mutation
    text = RULES.read_text()
    assert old in text, old
    layout = tmp_path / "deploy" / "prometheus"
    layout.mkdir(parents=True)
    (layout / RULES.name).write_text(text.replace(old, new, 1))
    tests_dir = tmp_path / "tests" / "deploy" / "alerts"
    tests_dir.mkdir(parents=True)
    shutil.copy(Path(__file__).parent / "alerts" / f"{unit}.yaml", tests_dir)
    assert promtool_run(promtool, "check", "rules", str(layout / RULES.name)).returncode == 0
    p = promtool_run(promtool, "test", "rules", f"{unit}.yaml", cwd=tests_dir)
    assert p.returncode != 0 and "FAILED" in p.stdout + p.stderr, p.stdout + p.stderr


def test_every_alert_is_unit_tested_firing_and_quiet() -> None:
    fired: set[str] = set()
    quiet: set[str] = set()
    for unit in UNIT_TESTS:
        doc = yaml.safe_load(unit.read_text())
        assert doc["rule_files"] == ["../../../deploy/prometheus/podtriage-rules.yaml"], unit
        for case in doc["tests"]:
            for check in case.get("alert_rule_test", ()):
                (fired if check["exp_alerts"] else quiet).add(check["alertname"])
    assert fired == ALERTS and quiet == ALERTS, (ALERTS - fired, ALERTS - quiet)


def test_alerts_use_only_the_watch_metrics_and_document_themselves() -> None:
    docs_alerts = (CHART.parents[2] / "docs" / "alerts.md").read_text()
    names = set()
    for group in rules_doc()["groups"]:
        for rule in group["rules"]:
            names.add(rule["alert"])
            used = set(re.findall(r"\bpodtriage_[a-z_]+", rule["expr"]))
            assert used and used <= WATCH_METRICS, (rule["alert"], used - WATCH_METRICS)
            ann = rule["annotations"]
            assert {"summary", "description", "fix", "runbook_url"} <= set(ann), rule["alert"]
            anchor = rule["alert"].lower()
            assert ann["runbook_url"].endswith(f"docs/alerts.md#{anchor}")
            assert f"## {rule['alert']}" in docs_alerts, rule["alert"]
            assert rule["labels"]["severity"] in ("warning", "critical")
    assert names == ALERTS


def test_unit_tests_use_podtriage_categories_and_rules_and_link_their_pages() -> None:
    repo = CHART.parents[2]
    rules_md = (repo / "docs" / "rules.md").read_text()
    for unit in UNIT_TESTS:
        text = unit.read_text()
        for cat in re.findall(r'category="([^"]+)"', text):
            assert cat in CATEGORIES, (unit.name, cat)
        for rule in re.findall(r'rule="([^"]+)"', text):
            assert (repo / "rules" / f"{rule}.yaml").is_file(), (unit.name, rule)
        for anchor in re.findall(r"docs/rules\.md#([a-z0-9-]+)", text):
            assert f"\n## {anchor}\n" in rules_md, (unit.name, anchor)  # the link lands on the rule's page


def test_chart_and_kustomize_carry_the_same_rules(helm, kubectl, tmp_path) -> None:
    p = subprocess.run(["python3", str(RULES.parent / "sync.py"), "--check"], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert (CHART / "files" / RULES.name).read_text() == RULES.read_text()
    want = rules_doc()["groups"]
    assert not [d for d in helm_template(helm) if d["kind"] == "PrometheusRule"]  # off by default
    chart = one(helm_template(helm, "--set", "prometheusRule.enabled=true",
                              "--set", "prometheusRule.labels.release=kps"), "PrometheusRule")
    assert chart["spec"]["groups"] == want
    assert chart["metadata"]["labels"]["release"] == "kps" and chart["metadata"]["namespace"] == "podtriage"
    overlay = tmp_path / "overlay"
    overlay.mkdir()
    base = os.path.relpath(KUSTOMIZE, overlay)
    (overlay / "kustomization.yaml").write_text(
        f"resources: [{base}]\ncomponents: [{base}/components/prometheus-rule]\n")
    k = run([kubectl, "kustomize", "--load-restrictor=LoadRestrictionsNone", overlay])
    assert k.returncode == 0, k.stderr
    rule = one([d for d in yaml.safe_load_all(k.stdout) if d], "PrometheusRule")
    assert rule["spec"]["groups"] == want
