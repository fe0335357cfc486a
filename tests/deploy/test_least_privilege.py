"""Both install routes (the Helm chart and the kustomize base) grant exactly what podtriage reads,
with the least verbs, no Secrets unless opted in, and run the job as podtriage's image expects."""

from __future__ import annotations

from pathlib import Path

import pytest

from podtriage.collect import live

from .render import container, env_of, helm_template, kustomize, one


def _group(res: live.Resource) -> str:
    return "" if res.versions[0] == "v1" else res.versions[0].split("/")[0]


# Every resource the collector LISTs (a new one there must be granted here too, or the job gets 403).
LISTED = {(_group(r), r.plural) for r in (live.NODES, live.NAMESPACES, live.PODS, live.EVENTS,
                                          *live.CLUSTER_RESOURCES, *live.NAMESPACED_RESOURCES,
                                          *live.CLUSTER_WIDE_NAMESPACED)}
SECRETS = ("", "secrets")


def render(route: str, helm, kubectl, tmp_path: Path, secrets: bool) -> list[dict]:
    if route == "helm":
        return helm_template(helm, *(["--set", "rbac.secretMetadata=true"] if secrets else []))
    return kustomize(kubectl, tmp_path, secrets=secrets)


@pytest.fixture(params=["helm", "kustomize"])
def route(request) -> str:
    return request.param


@pytest.mark.parametrize("secrets", [False, True], ids=["default", "secret-metadata"])
def test_cluster_role_lists_exactly_what_the_collector_reads(route, secrets, helm, kubectl, tmp_path) -> None:
    docs = render(route, helm, kubectl, tmp_path, secrets)
    role = one(docs, "ClusterRole")
    granted = set()
    for rule in role["rules"]:
        assert rule["verbs"] == ["list"], rule  # podtriage never gets, watches or writes these
        assert "*" not in rule["resources"] and "*" not in rule["apiGroups"] and not rule.get("nonResourceURLs")
        granted |= {(g, r) for g in rule["apiGroups"] for r in rule["resources"]}
    wanted = LISTED if secrets else LISTED - {SECRETS}
    assert granted == wanted, (sorted(wanted - granted), sorted(granted - wanted))
    if secrets:
        [rule] = [r for r in role["rules"] if "secrets" in r["resources"]]
        assert rule == {"apiGroups": [""], "resources": ["secrets"], "verbs": ["list"]}
    # The job runs with --no-secrets exactly when it may not list them (no 403, an honest "not verified").
    assert env_of(container(docs))["PODTRIAGE_SECRETS"] == ("true" if secrets else "false")


def test_the_only_get_is_the_scheduler_lease(route, helm, kubectl, tmp_path) -> None:
    docs = render(route, helm, kubectl, tmp_path, False)
    roles = [d for d in docs if d["kind"] == "Role"]
    assert [r["metadata"]["namespace"] for r in roles] == ["kube-system"]
    assert roles[0]["rules"] == [{"apiGroups": ["coordination.k8s.io"], "resources": ["leases"],
                                  "resourceNames": [live.SCHEDULER_LEASE[1]], "verbs": ["get"]}]
    assert live.SCHEDULER_LEASE[0] == "kube-system" and live.LEASES.plural == "leases"
    binding = one(docs, "RoleBinding")
    assert binding["roleRef"]["name"] == roles[0]["metadata"]["name"]


def test_bindings_name_the_job_service_account(route, helm, kubectl, tmp_path) -> None:
    docs = render(route, helm, kubectl, tmp_path, False)
    sa = one(docs, "ServiceAccount")
    pod = one(docs, "CronJob")["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == sa["metadata"]["name"]
    for kind in ("ClusterRoleBinding", "RoleBinding"):
        [subject] = one(docs, kind)["subjects"]
        assert subject == {"kind": "ServiceAccount", "name": sa["metadata"]["name"],
                           "namespace": sa["metadata"]["namespace"]}
    assert one(docs, "ClusterRoleBinding")["roleRef"]["name"] == one(docs, "ClusterRole")["metadata"]["name"]


def test_job_runs_non_root_read_only_with_the_image_user(route, helm, kubectl, tmp_path) -> None:
    docs = render(route, helm, kubectl, tmp_path, False)
    cj = one(docs, "CronJob")
    pod = cj["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] == 65532
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    c = container(docs)
    assert c["securityContext"] == {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                                    "capabilities": {"drop": ["ALL"]}}
    assert c["image"].startswith("ghcr.io/podtriage/podtriage:") and "example" not in c["image"]
    assert cj["spec"]["timeZone"] == "Etc/UTC" and cj["spec"]["concurrencyPolicy"] == "Forbid"
    mounts = {m["mountPath"] for m in c["volumeMounts"]}
    assert {"/reports", "/config", "/tmp"} <= mounts  # the only writable places: the PVC and /tmp


def test_helm_and_kustomize_install_the_same_job(helm, kubectl, tmp_path) -> None:
    h, k = helm_template(helm), kustomize(kubectl, tmp_path)
    for kind in ("ClusterRole", "Role"):
        assert one(h, kind)["rules"] == one(k, kind)["rules"], kind
    hc, kc = container(h), container(k)
    for key in ("securityContext", "resources", "command"):
        assert hc[key] == kc[key], key
    hs, ks = (one(d, "CronJob")["spec"] for d in (h, k))
    for key in ("schedule", "timeZone", "concurrencyPolicy", "startingDeadlineSeconds"):
        assert hs[key] == ks[key], key
    assert hs["jobTemplate"]["spec"]["template"]["spec"]["securityContext"] == \
        ks["jobTemplate"]["spec"]["template"]["spec"]["securityContext"]


# The watch Deployment (helm watch.enabled, kustomize components/watch): its own ServiceAccount,
# list+watch on exactly what the collector reads, nothing else; the audit's role stays list-only.

def render_watch(route: str, helm, kubectl, tmp_path: Path, secrets: bool = False) -> list[dict]:
    if route == "helm":
        return helm_template(helm, "--set", "watch.enabled=true",
                             *(["--set", "rbac.secretMetadata=true"] if secrets else []))
    return kustomize(kubectl, tmp_path, secrets=secrets, components=("watch",))


@pytest.mark.parametrize("secrets", [False, True], ids=["default", "secret-metadata"])
def test_watch_role_lists_and_watches_exactly_what_the_collector_reads(route, secrets, helm, kubectl,
                                                                       tmp_path) -> None:
    docs = render_watch(route, helm, kubectl, tmp_path, secrets)
    role = one(docs, "ClusterRole", "-watch")
    granted = set()
    for rule in role["rules"]:
        assert rule["verbs"] == ["list", "watch"], rule  # never get, never a write
        assert "*" not in rule["resources"] and "*" not in rule["apiGroups"] and not rule.get("nonResourceURLs")
        assert not rule.get("resourceNames")
        granted |= {(g, r) for g in rule["apiGroups"] for r in rule["resources"]}
    wanted = LISTED if secrets else LISTED - {SECRETS}
    assert granted == wanted, (sorted(wanted - granted), sorted(granted - wanted))
    # The audit's role is untouched by the watch: list only, the same resources.
    audit = one(docs, "ClusterRole", "-read")
    assert {v for r in audit["rules"] for v in r["verbs"]} == {"list"}
    assert {(g, r_) for r in audit["rules"] for g in r["apiGroups"] for r_ in r["resources"]} == wanted
    [c] = one(docs, "Deployment", "-watch")["spec"]["template"]["spec"]["containers"]
    assert env_of(c)["PODTRIAGE_SECRETS"] == ("true" if secrets else "false")


def test_watch_follows_only_the_scheduler_lease_in_kube_system(route, helm, kubectl, tmp_path) -> None:
    docs = render_watch(route, helm, kubectl, tmp_path)
    role = one(docs, "Role", "-watch-scheduler-lease")
    assert role["metadata"]["namespace"] == "kube-system"
    assert role["rules"] == [{"apiGroups": ["coordination.k8s.io"], "resources": ["leases"],
                              "resourceNames": [live.SCHEDULER_LEASE[1]], "verbs": ["list", "watch"]}]
    binding = one(docs, "RoleBinding", "-watch-scheduler-lease")
    assert binding["roleRef"]["name"] == role["metadata"]["name"]


def test_watch_runs_as_its_own_service_account(route, helm, kubectl, tmp_path) -> None:
    docs = render_watch(route, helm, kubectl, tmp_path)
    sa = one(docs, "ServiceAccount", "-watch")
    audit_sa = [d for d in docs if d["kind"] == "ServiceAccount" and d is not sa]
    assert len(audit_sa) == 1 and audit_sa[0]["metadata"]["name"] != sa["metadata"]["name"]
    pod = one(docs, "Deployment", "-watch")["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == sa["metadata"]["name"]
    me = {"kind": "ServiceAccount", "name": sa["metadata"]["name"], "namespace": sa["metadata"]["namespace"]}
    for kind in ("ClusterRoleBinding", "RoleBinding"):
        assert one(docs, kind, "-watch" if kind == "ClusterRoleBinding" else "-watch-scheduler-lease")["subjects"] == [me]
        # and the audit's bindings do not name the watch (nor the other way round)
        for b in (d for d in docs if d["kind"] == kind and "watch" not in d["metadata"]["name"]):
            assert me not in b["subjects"]
    assert one(docs, "ClusterRoleBinding", "-watch")["roleRef"]["name"] == one(docs, "ClusterRole", "-watch")["metadata"]["name"]


def test_watch_is_as_locked_down_as_the_job(route, helm, kubectl, tmp_path) -> None:
    docs = render_watch(route, helm, kubectl, tmp_path)
    dep = one(docs, "Deployment", "-watch")
    pod = dep["spec"]["template"]["spec"]
    job_pod = one(docs, "CronJob")["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert pod["securityContext"] == job_pod["securityContext"]
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["seccompProfile"] == {
        "type": "RuntimeDefault"}
    [c] = pod["containers"]
    assert c["securityContext"] == {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                                    "capabilities": {"drop": ["ALL"]}}
    assert not c["securityContext"].get("privileged") and not pod.get("hostNetwork") and not pod.get("hostPID")
    assert {m["mountPath"] for m in c["volumeMounts"]} == {"/config", "/tmp"}  # only /tmp is writable
    assert c["resources"]["requests"] and c["resources"]["limits"]["memory"]
