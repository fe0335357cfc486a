"""deploy/: the RBAC grants only reads of what podtriage reads, and no Secret data."""

from __future__ import annotations

from pathlib import Path

import yaml

from podtriage.collect import live

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def docs() -> list[dict]:
    out = []
    for f in sorted(DEPLOY.glob("*.yaml")):
        if f.name.startswith("."):
            continue
        out += [d for d in yaml.safe_load_all(f.read_text()) if d]
    return out


def rbac_rules() -> list[dict]:
    rules = []
    for d in docs():
        if d["kind"] in ("ClusterRole", "Role"):
            rules += d["rules"]
    return rules


def test_only_read_verbs_and_secrets_only_listed() -> None:
    rules = rbac_rules()
    assert rules
    for r in rules:
        assert set(r["verbs"]) <= {"get", "list", "watch"}, r
        assert "*" not in r.get("resources", []) and "*" not in r.get("apiGroups", []), r
        assert not r.get("nonResourceURLs")
        if "secrets" in r.get("resources", []):
            assert r["verbs"] == ["list"] and r["resources"] == ["secrets"], r


def test_grants_exactly_what_the_collector_reads() -> None:
    granted = {(g, res) for r in rbac_rules() for g in r["apiGroups"] for res in r["resources"]}
    wanted = set()
    for res in (live.NODES, live.NAMESPACES, live.PODS, live.EVENTS, live.LEASES, *live.CLUSTER_RESOURCES,
                *live.NAMESPACED_RESOURCES, *live.CLUSTER_WIDE_NAMESPACED):
        group = "" if res.versions[0] == "v1" else res.versions[0].split("/")[0]
        wanted.add((group, res.plural))
    assert wanted <= granted, wanted - granted
    assert granted <= wanted, granted - wanted


def test_cronjob_uses_the_service_account_and_is_quiet() -> None:
    by_kind = {d["kind"]: d for d in docs()}
    cj = by_kind["CronJob"]
    pod = cj["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == by_kind["ServiceAccount"]["metadata"]["name"]
    script = " ".join(pod["containers"][0]["args"])
    assert "--no-progress" in script and "--prometheus-textfile" in script and "--previous" in script
    binding = by_kind["ClusterRoleBinding"]
    assert binding["roleRef"]["name"] == by_kind["ClusterRole"]["metadata"]["name"]


def test_krew_template_states_the_python_caveat() -> None:
    text = (DEPLOY / ".krew.yaml").read_text()
    doc = yaml.safe_load(text)
    assert doc["kind"] == "Plugin" and "Python" in doc["spec"]["caveats"]
    assert all(p["bin"] == "kubectl-podtriage" for p in doc["spec"]["platforms"])
