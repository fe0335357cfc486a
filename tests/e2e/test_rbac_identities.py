"""podtriage under partial RBAC on the real kube-apiserver: one identity per missing permission.

Each test builds a realistic stuck pod with the admin client, runs ``podtriage explain`` (and
``audit -n NS`` where it matters) as a subprocess, first as ``podtriage-cli`` (cluster-admin: the
full-access baseline) and then as ``podtriage-ns-reader`` holding exactly one gap: a ClusterRole
made of the README's read-only rules minus what the identity lacks, bound for the test only.

For every identity the limited run must (a) still give the best answer its data allows, (b) list
the missing evidence precisely (resource, namespace, "forbidden") in the text and the JSON output,
(c) report a confidence strictly lower than the full-access run, (d) exit 1 when it found a
blocking cause (3 only when nothing useful could be said), (e) never print a traceback.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest

from .controlplane import NS_READER_USER, ExternalCluster
from .scenarios import CliResult, Podtriage, pod_body, summary, top_cause, wait_for_verdict

pytestmark = pytest.mark.e2e

EXIT_BLOCKED = 1
EXIT_CLUSTER = 3

# The README's read-only ClusterRole ("Permissions"), as (apiGroup, resource, verbs).
FULL_READ: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    *(("", r, ("get", "list", "watch")) for r in ("pods", "nodes", "events", "persistentvolumeclaims",
                                                     "persistentvolumes", "namespaces", "resourcequotas",
                                                     "limitranges", "configmaps")),
    ("", "secrets", ("list",)),
    *(("apps", r, ("get", "list", "watch")) for r in ("deployments", "replicasets", "statefulsets", "daemonsets")),
    *(("batch", r, ("get", "list", "watch")) for r in ("jobs", "cronjobs")),
    *(("storage.k8s.io", r, ("get", "list", "watch")) for r in ("storageclasses", "csinodes", "csidrivers",
                                                                   "csistoragecapacities", "volumeattachments")),
    *(("resource.k8s.io", r, ("get", "list", "watch")) for r in ("deviceclasses", "resourceslices",
                                                                    "resourceclaims", "resourceclaimtemplates")),
    ("scheduling.k8s.io", "priorityclasses", ("get", "list", "watch")),
    ("policy", "poddisruptionbudgets", ("get", "list", "watch")),
    ("node.k8s.io", "runtimeclasses", ("get", "list", "watch")),
    ("coordination.k8s.io", "leases", ("get",)),
    # add-on APIs (Kueue, VPA, KServe): listed when served, granted by both install routes
    *(("kueue.x-k8s.io", r, ("list",)) for r in ("clusterqueues", "resourceflavors", "workloads", "localqueues")),
    ("autoscaling.k8s.io", "verticalpodautoscalers", ("list",)),
    ("serving.kserve.io", "inferenceservices", ("list",)),
    ("nvidia.com", "clusterpolicies", ("list",)),
    ("autoscaling", "horizontalpodautoscalers", ("list",)),
    ("scheduling.x-k8s.io", "podgroups", ("list",)),
)
# What the namespace-only identity cannot read: every cluster-scoped kind podtriage lists.
CLUSTER_SCOPED = ("nodes", "namespaces", "persistentvolumes", "storageclasses", "priorityclasses",
                  "runtimeclasses", "csinodes", "csidrivers", "volumeattachments", "deviceclasses",
                  "resourceslices", "resourceclaims")


def read_rules(without: Iterable[str] = (), with_: Iterable[tuple[str, str, tuple[str, ...]]] = (),
               only: Iterable[str] | None = None) -> list[dict[str, Any]]:
    """FULL_READ minus the resources in `without` (or restricted to `only`), plus `with_`."""
    drop, keep = set(without), set(only) if only is not None else None
    rules = [{"apiGroups": [g], "resources": [r], "verbs": list(v)} for g, r, v in FULL_READ
             if r not in drop and (keep is None or r in keep)]
    rules += [{"apiGroups": [g], "resources": [r], "verbs": list(v)} for g, r, v in with_]
    return rules


@dataclass
class Access:
    """RBAC for one identity, created for one test and revoked at its end."""

    cp: Any
    user: str
    cluster_objects: list[str] = field(default_factory=list)

    def _rbac(self) -> Any:
        from kubernetes import client

        return client.RbacAuthorizationV1Api(self.cp.api_client())

    def cluster(self, rules: list[dict[str, Any]]) -> None:
        """A ClusterRole with `rules`, bound cluster-wide (every namespace and the cluster scope)."""
        name = f"podtriage-limited-{uuid.uuid4().hex[:8]}"
        self._rbac().create_cluster_role({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                                          "metadata": {"name": name}, "rules": rules})
        self.cluster_objects.append(name)
        self._rbac().create_cluster_role_binding({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": name},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": self.user}]})

    def namespace(self, ns: str, rules: list[dict[str, Any]]) -> None:
        """A Role with `rules` in `ns` only (the namespace goes away with the test's pods)."""
        self._rbac().create_namespaced_role(ns, {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
                                                 "metadata": {"name": "podtriage-limited"}, "rules": rules})
        self._rbac().create_namespaced_role_binding(ns, {
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
            "metadata": {"name": "podtriage-limited"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "podtriage-limited"},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": self.user}]})

    def can(self, verb: str, resource: str, namespace: str = "", subresource: str = "", group: str = "") -> bool:
        from kubernetes import client

        attrs = {"verb": verb, "resource": resource, "group": group, "namespace": namespace or None,
                 "subresource": subresource or None}
        review = client.AuthorizationV1Api(self.cp.api_client()).create_subject_access_review({
            "apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
            "spec": {"user": self.user, "resourceAttributes": {k: v for k, v in attrs.items() if v is not None}}})
        return bool(review.status.allowed)

    def expect(self, allowed: Mapping[tuple[str, str, str], bool], timeout: float = 10.0) -> None:
        """Wait until the authorizer's cache agrees: {(verb, resource[/sub], namespace): allowed}."""
        deadline = time.monotonic() + timeout
        while True:
            wrong = {k: v for k, v in allowed.items()
                     if self.can(k[0], k[1].split("/")[0], k[2], k[1].partition("/")[2]) != v}
            if not wrong:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"RBAC for {self.user} never settled: {wrong}")
            time.sleep(0.1)

    def revoke(self) -> None:
        from kubernetes.client.rest import ApiException

        for name in self.cluster_objects:
            for delete in (self._rbac().delete_cluster_role_binding, self._rbac().delete_cluster_role):
                try:
                    delete(name)
                except ApiException as e:
                    if e.status != 404:
                        raise
        if self.cluster_objects:
            # Later tests (test_permissions.py) rely on the identity having no cluster-wide grant.
            self.expect({("list", "nodes", ""): False, ("list", "pods", "default"): False})
        self.cluster_objects.clear()


@pytest.fixture
def access(control_plane) -> Iterator[Access]:
    if isinstance(control_plane, ExternalCluster):
        pytest.skip("needs the harness's podtriage-ns-reader identity and RBAC it may change")
    a = Access(control_plane, NS_READER_USER)
    yield a
    a.revoke()


@pytest.fixture
def limited(control_plane, podtriage_as) -> Podtriage:
    if isinstance(control_plane, ExternalCluster):
        pytest.skip("needs the harness's podtriage-ns-reader identity")
    return podtriage_as(NS_READER_USER)


# --------------------------------------------------------------------------------------------
# Running and checking


@dataclass
class Run:
    json: CliResult
    text: CliResult

    @property
    def doc(self) -> dict[str, Any]:
        return self.json.json()


def run(cli: Podtriage, *args: str) -> Run:
    """`args` with -o json and with text output, in parallel."""
    j = cli.start(*args, "-o", "json")
    t = cli.start(*args)
    run_ = Run(cli.finish(j), cli.finish(t))
    for res in (run_.json, run_.text):
        assert "Traceback" not in res.stderr and "internal error" not in res.stderr, res.describe()
    return run_


def assert_missing(r: Run, *wants: tuple[str, str]) -> None:
    """Each (resource, namespace) is listed as forbidden, in the JSON `missing` and in the text."""
    text_missing = text_missing_lines(r.text.stdout)
    for resource, namespace in wants:
        for where, lines in (("json", r.doc["missing"]), ("text", text_missing)):
            hits = [m for m in lines if _names(m, resource, namespace) and "forbidden" in m]
            assert hits, f"{where}: no forbidden {resource} in {namespace or 'cluster scope'}: {lines}"


def text_missing_lines(stdout: str) -> list[str]:
    """The footer's `missing: ...` entries, unwrapped (the text renderer wraps at 110 columns)."""
    entries: list[str] = []
    inside = False
    for ln in stdout.splitlines():
        if ln.startswith("missing: "):
            entries.append(ln)
            inside = True
        elif inside and ln and not ln.startswith(("confidence", "warning: ", "live cluster", "file ")):
            entries[-1] += " " + ln.strip()
        else:
            inside = False
    return entries


def _names(line: str, resource: str, namespace: str) -> bool:
    if resource not in line:
        return False
    if namespace:
        return f" in {namespace} " in line or f'namespace "{namespace}"' in line
    return "cluster scope" in line or " in " not in line.split(resource, 1)[1][:4]


def assert_degraded(full: Run, lim: Run, *, exit_code: int = EXIT_BLOCKED) -> None:
    f, d = full.doc, lim.doc
    assert full.json.returncode == EXIT_BLOCKED, full.json.describe()
    assert f["confidence"] == 1.0 and not f["missing"], (f["confidence"], f["missing"])
    assert lim.json.returncode == exit_code, lim.json.describe()
    assert lim.text.returncode == exit_code, lim.text.describe()
    assert d["confidence"] < f["confidence"], (d["confidence"], f["confidence"], d["missing"])
    assert top_cause(d)["confidence"] < top_cause(f)["confidence"], (top_cause(d), top_cause(f))
    conf_line = [ln for ln in lim.text.stdout.splitlines() if "confidence lowered to" in ln]
    assert conf_line and f"{d['confidence']:.2f}" in conf_line[0], lim.text.stdout[-2000:]
    print(f"full: {summary(f)[:1]} confidence {f['confidence']}\n"
          f"limited: {summary(d)[:1]} confidence {d['confidence']} exit {lim.json.returncode}\n"
          f"missing: {json.dumps(d['missing'], indent=1)}")


def audit_degraded(full_cli: Podtriage, lim_cli: Podtriage, ns: str,
                   *wants: tuple[str, str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """`audit -n NS -o json` both ways: exit 1, the forbidden reads listed, a lower top confidence."""
    full = full_cli.finish(full_cli.start("audit", "-n", ns, "-o", "json"))
    lim = lim_cli.run("audit", "-n", ns, "-o", "json")
    assert "Traceback" not in lim.stderr and "internal error" not in lim.stderr, lim.describe()
    assert full.returncode == EXIT_BLOCKED and lim.returncode == EXIT_BLOCKED, (full.describe(), lim.describe())
    f, d = full.json(), lim.json()
    assert not f["missing"], f["missing"]
    listed = {(m["resource"], m["namespace"]) for m in d["missing"] if m["reason"].startswith("forbidden")}
    assert set(wants) <= listed, d["missing"]
    ff, fd = f["findings"][0], d["findings"][0]
    assert ff["category"] == fd["category"], (ff["headline"], fd["headline"])
    assert fd["rootCause"]["confidence"] < ff["rootCause"]["confidence"], (fd["rootCause"], ff["rootCause"])
    return f, d


# --------------------------------------------------------------------------------------------
# Scenarios (built with the admin client)

TAINT = "dedicated=gpu:NoSchedule"


def taint_scenario(cp: Any, ns: str, name: str = "trainer") -> None:
    """Two GPU nodes tainted dedicated=gpu:NoSchedule and a pod that does not tolerate it."""
    for n in ("rbac-gpu-a", "rbac-gpu-b"):
        cp.create_node(n, taints=[TAINT], labels={"node-role": "gpu"})
    cp.core_v1().create_namespaced_pod(ns, pod_body(name, requests={"cpu": "500m"}))
    verdict = wait_for_verdict(cp, ns, name)
    assert "2 node(s) had untolerated taint" in (verdict.event_message or ""), verdict


class TestNamespaceOnly:
    """A Role in the namespace with everything namespaced; nothing cluster-scoped at all."""

    def test_taint_from_the_scheduler_message_and_every_cluster_read_listed(
            self, control_plane, clean_nodes, e2e_namespace, podtriage_cli, limited, access):
        cp, ns = control_plane, e2e_namespace
        taint_scenario(cp, ns)
        access.namespace(ns, read_rules(without=CLUSTER_SCOPED))
        access.expect({("list", "pods", ns): True, ("list", "nodes", ""): False})

        full = run(podtriage_cli, "explain", "trainer", "-n", ns)
        lim = run(limited, "explain", "trainer", "-n", ns)
        assert_degraded(full, lim)
        assert top_cause(full.doc)["category"] == "taint-untolerated"
        assert "dedicated=gpu" in top_cause(full.doc)["message"]
        top = top_cause(lim.doc)
        assert top["category"] == "taint-untolerated", summary(lim.doc)
        assert_missing(lim, *((r, "") for r in CLUSTER_SCOPED), ("pods", ""))

    def test_audit_lists_every_cluster_read_and_still_groups_the_cause(
            self, control_plane, clean_nodes, e2e_namespace, podtriage_cli, limited, access):
        cp, ns = control_plane, e2e_namespace
        taint_scenario(cp, ns)
        access.namespace(ns, read_rules(without=CLUSTER_SCOPED))
        access.expect({("list", "pods", ns): True, ("list", "nodes", ""): False})

        full = podtriage_cli.run("audit", "-n", ns, "-o", "json")
        lim = podtriage_cli.finish(limited.start("audit", "-n", ns, "-o", "json"))
        md = podtriage_cli.finish(limited.start("audit", "-n", ns, "-o", "markdown"))
        for res in (full, lim, md):
            assert "Traceback" not in res.stderr and "internal error" not in res.stderr, res.describe()
        assert full.returncode == EXIT_BLOCKED and lim.returncode == EXIT_BLOCKED, (full.describe(), lim.describe())
        assert md.returncode == EXIT_BLOCKED, md.describe()
        f, d = full.json(), lim.json()
        assert not f["missing"], f["missing"]
        missing = {(m["resource"], m["namespace"]) for m in d["missing"] if m["reason"].startswith("forbidden")}
        assert {(r, "") for r in CLUSTER_SCOPED} <= missing, d["missing"]
        for r in CLUSTER_SCOPED:
            assert any(r in ln and "forbidden" in ln for ln in md.stdout.splitlines()), (r, md.stdout[-3000:])
        ff, fd = f["findings"][0], d["findings"][0]
        assert (ff["category"], fd["category"]) == ("taint-untolerated", "taint-untolerated"), (ff, fd)
        assert [p["name"] for p in fd["pods"]] == ["trainer"], fd["pods"]
        assert fd["rootCause"]["confidence"] < ff["rootCause"]["confidence"], (fd["rootCause"], ff["rootCause"])


class TestNoEvents:
    """Everything readable except events: the per-node verdicts still name the taint."""

    def test_explain_names_the_taint_from_the_nodes(self, control_plane, clean_nodes, e2e_namespace,
                                                     podtriage_cli, limited, access):
        cp, ns = control_plane, e2e_namespace
        taint_scenario(cp, ns)
        access.cluster(read_rules(without=("events",)))
        access.expect({("list", "nodes", ""): True, ("list", "events", ns): False})

        full = run(podtriage_cli, "explain", "trainer", "-n", ns)
        lim = run(limited, "explain", "trainer", "-n", ns)
        assert_degraded(full, lim)
        top = top_cause(lim.doc)
        assert top["category"] == "taint-untolerated", summary(lim.doc)
        assert "dedicated=gpu:NoSchedule" in top["message"] and "rbac-gpu-a" in top["message"], top["message"]
        assert lim.doc["pods"][0]["scheduler"]["attempts"] == [], "no event could be read"
        assert_missing(lim, ("events", ns))
        assert not [m for m in lim.doc["missing"] if "forbidden" in m and "events" not in m], lim.doc["missing"]

    def test_audit_without_events(self, control_plane, clean_nodes, e2e_namespace, podtriage_cli, limited, access):
        cp, ns = control_plane, e2e_namespace
        taint_scenario(cp, ns)
        access.cluster(read_rules(without=("events",)))
        access.expect({("list", "nodes", ""): True, ("list", "events", ns): False})

        full = podtriage_cli.run("audit", "-n", ns, "-o", "json")
        lim = limited.run("audit", "-n", ns, "-o", "json")
        assert "Traceback" not in lim.stderr, lim.describe()
        assert full.returncode == EXIT_BLOCKED and lim.returncode == EXIT_BLOCKED, lim.describe()
        d = lim.json()
        assert [(m["resource"], m["namespace"]) for m in d["missing"]] == [("events", ns)], d["missing"]
        assert "forbidden" in d["missing"][0]["reason"]
        fd, ff = d["findings"][0], full.json()["findings"][0]
        assert fd["category"] == "taint-untolerated" and "dedicated=gpu:NoSchedule" in fd["rootCause"]["message"], fd
        assert fd["rootCause"]["confidence"] < ff["rootCause"]["confidence"], (fd["rootCause"], ff["rootCause"])


class TestNoPvcRead:
    """Nodes readable, PersistentVolumeClaims not: the scheduler's PreFilter message drives the answer."""

    def test_missing_claim_from_the_scheduler_message(self, control_plane, clean_nodes, e2e_namespace,
                                                       podtriage_cli, limited, access):
        cp, ns = control_plane, e2e_namespace
        cp.create_node("rbac-pvc-a")
        cp.create_node("rbac-pvc-b")
        body = pod_body("db-0", requests={"cpu": "100m"})
        body["spec"]["volumes"] = [{"name": "data", "persistentVolumeClaim": {"claimName": "data-db-0"}}]
        cp.core_v1().create_namespaced_pod(ns, body)
        verdict = wait_for_verdict(cp, ns, "db-0")
        assert 'persistentvolumeclaim "data-db-0" not found' in (verdict.event_message or ""), verdict
        access.cluster(read_rules(without=("persistentvolumeclaims",)))
        access.expect({("list", "nodes", ""): True, ("list", "persistentvolumeclaims", ns): False})

        full = run(podtriage_cli, "explain", "db-0", "-n", ns)
        lim = run(limited, "explain", "db-0", "-n", ns)
        assert_degraded(full, lim)
        assert top_cause(full.doc)["category"] == "pvc-not-found", summary(full.doc)
        top = top_cause(lim.doc)
        assert top["category"] == "pvc-not-found", summary(lim.doc)
        assert "data-db-0" in top["message"], top["message"]
        assert_missing(lim, ("persistentvolumeclaims", ns))
        assert not [c for c in lim.doc["rootCauses"] if c["rule"] == "fits-now"], summary(lim.doc)
        _, d = audit_degraded(podtriage_cli, limited, ns, ("persistentvolumeclaims", ns))
        assert d["findings"][0]["rule"] == "pvc-not-found" and "data-db-0" in d["findings"][0]["headline"] + \
            d["findings"][0]["rootCause"]["message"], d["findings"][0]


class TestNoConfigMetadata:
    """No ConfigMap and no Secret access: a missing ConfigMap the kubelet reports cannot be verified."""

    def test_kubelet_config_error_is_reported_but_not_claimed(self, control_plane, clean_nodes, e2e_namespace,
                                                               podtriage_cli, limited, access):
        cp, ns = control_plane, e2e_namespace
        cp.create_node("rbac-cfg-node")
        core = cp.core_v1()
        core.create_namespaced_secret(ns, {"apiVersion": "v1", "kind": "Secret",
                                           "metadata": {"name": "db-credentials"},
                                           "stringData": {"password": "rbac-canary-not-a-real-password"}})
        body = pod_body("api-0", requests={"cpu": "100m"})
        body["spec"]["nodeName"] = "rbac-cfg-node"
        body["spec"]["containers"][0]["envFrom"] = [{"configMapRef": {"name": "app-config"}}]
        body["spec"]["containers"][0]["env"] = [{"name": "DB_PASSWORD", "valueFrom": {
            "secretKeyRef": {"name": "db-credentials", "key": "password"}}}]
        core.create_namespaced_pod(ns, body)
        _kubelet_reports(cp, ns, "api-0", "main", "rbac-cfg-node", "CreateContainerConfigError",
                         'configmap "app-config" not found')
        access.cluster(read_rules(without=("configmaps", "secrets")))
        access.expect({("list", "nodes", ""): True, ("list", "configmaps", ns): False,
                       ("list", "secrets", ns): False})

        full = run(podtriage_cli, "explain", "api-0", "-n", ns)
        lim = run(limited, "explain", "api-0", "-n", ns)
        assert_degraded(full, lim)
        ftop, top = top_cause(full.doc), top_cause(lim.doc)
        assert ftop["category"] == "missing-config-object" and "does not exist" in ftop["message"], ftop
        assert top["category"] == "missing-config-object", summary(lim.doc)
        assert "app-config" in top["message"], top["message"]
        assert "does not exist" not in top["message"] and "could not verify" in top["message"], top["message"]
        assert "could not verify" in lim.text.stdout, lim.text.stdout[-2000:]
        assert_missing(lim, ("configmaps", ns), ("secrets", ns))
        assert not [c for c in lim.doc["rootCauses"] if "db-credentials" in c["message"]], summary(lim.doc)
        _, d = audit_degraded(podtriage_cli, limited, ns, ("configmaps", ns), ("secrets", ns))
        assert d["findings"][0]["rule"] == "config-object-unverified", d["findings"][0]["headline"]
        assert "rbac-canary" not in lim.json.stdout + lim.text.stdout + full.json.stdout + json.dumps(d)


def _kubelet_reports(cp: Any, ns: str, pod: str, container: str, node: str, reason: str, message: str) -> None:
    """What the kubelet writes when it cannot build a container: the status and a Failed event."""
    core = cp.core_v1()
    d = cp.api_client().sanitize_for_serialization(core.read_namespaced_pod(pod, ns))
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    d["status"] = {
        "phase": "Pending", "hostIP": "127.0.0.1", "startTime": now,
        "conditions": [{"type": "PodScheduled", "status": "True", "lastTransitionTime": now},
                       {"type": "Initialized", "status": "True", "lastTransitionTime": now},
                       {"type": "Ready", "status": "False", "reason": "ContainersNotReady",
                        "message": f"containers with unready status: [{container}]", "lastTransitionTime": now}],
        "containerStatuses": [{"name": container, "image": d["spec"]["containers"][0]["image"], "imageID": "",
                               "ready": False, "restartCount": 0, "started": False,
                               "state": {"waiting": {"reason": reason, "message": message}}}],
    }
    core.replace_namespaced_pod_status(pod, ns, d)
    core.create_namespaced_event(ns, {
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"name": f"{pod}.{uuid.uuid4().hex[:16]}", "namespace": ns},
        "involvedObject": {"apiVersion": "v1", "kind": "Pod", "name": pod, "namespace": ns,
                           "uid": d["metadata"]["uid"], "fieldPath": f"spec.containers{{{container}}}"},
        "reason": "Failed", "message": f"Error: {message}", "type": "Warning", "count": 3,
        "firstTimestamp": now, "lastTimestamp": now, "source": {"component": "kubelet", "host": node},
        "reportingComponent": "kubelet", "reportingInstance": node})


class TestNoWorkloadRead:
    """Pods readable, Deployments and ReplicaSets not: explain deployment/NAME from its pods."""

    def _deployment(self, cp: Any, ns: str) -> list[str]:
        from kubernetes import client

        apps = client.AppsV1Api(cp.api_client())
        template = {"metadata": {"labels": {"app": "web"}},
                    "spec": pod_body("web", requests={"cpu": "250m"})["spec"]}
        dep = apps.create_namespaced_deployment(ns, {
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}}, "template": template}})
        h = "7c9d8f6b5"
        rs = apps.create_namespaced_replica_set(ns, {
            "apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": f"web-{h}", "labels": {"app": "web", "pod-template-hash": h},
                         "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web",
                                              "uid": dep.metadata.uid, "controller": True}]},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web", "pod-template-hash": h}},
                     "template": {**template, "metadata": {"labels": {"app": "web", "pod-template-hash": h}}}}})
        names = []
        for suffix in ("x2k9p", "q8w7n"):
            body = pod_body(f"web-{h}-{suffix}", requests={"cpu": "250m"},
                            labels={"app": "web", "pod-template-hash": h})
            body["metadata"]["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                                                    "name": f"web-{h}", "uid": rs.metadata.uid, "controller": True}]
            cp.core_v1().create_namespaced_pod(ns, body)
            names.append(body["metadata"]["name"])
        for n in names:
            wait_for_verdict(cp, ns, n)
        return names

    @pytest.mark.parametrize("hidden", [("deployments", "replicasets"), ("replicasets",)],
                             ids=["no-deployments-no-replicasets", "no-replicasets"])
    def test_deployment_explained_from_its_pods(self, control_plane, clean_nodes, e2e_namespace, podtriage_cli,
                                                limited, access, hidden):
        cp, ns = control_plane, e2e_namespace
        for n in ("rbac-gpu-a", "rbac-gpu-b"):
            cp.create_node(n, taints=[TAINT])
        pods = self._deployment(cp, ns)
        access.cluster(read_rules(without=hidden))
        access.expect({("list", "pods", ns): True, ("list", "replicasets", ns): False})

        full = run(podtriage_cli, "explain", "deployment/web", "-n", ns)
        lim = run(limited, "explain", "deployment/web", "-n", ns)
        assert_degraded(full, lim)
        top = top_cause(lim.doc)
        assert top["category"] == "taint-untolerated" and "dedicated=gpu:NoSchedule" in top["message"], top
        assert sorted(top["pods"]) == sorted(f"{ns}/{p}" for p in pods), top["pods"]
        assert lim.doc["target"] == {"kind": "Deployment", "namespace": ns, "name": "web"}
        assert_missing(lim, *((r, ns) for r in hidden))

    def test_unknown_deployment_without_workload_read_is_a_cluster_error(self, control_plane, e2e_namespace,
                                                                         limited, access):
        ns = e2e_namespace
        access.cluster(read_rules(without=("deployments", "replicasets")))
        access.expect({("list", "pods", ns): True, ("list", "deployments", ns): False})
        res = limited.run("explain", "deployment/nowhere", "-n", ns, "-o", "json")
        assert res.returncode == EXIT_CLUSTER, res.describe()
        assert res.stdout == "" and "Traceback" not in res.stderr, res.describe()
        assert "forbidden" in res.stderr and "deployments" in res.stderr and ns in res.stderr, res.stderr


class TestNoPodLogs:
    """`--scheduler-logs` without get on pods/log in kube-system: forbidden, not "unavailable"."""

    @pytest.fixture
    def scheduler_pod(self, control_plane):
        """A Ready kube-scheduler pod in kube-system, as kubeadm runs it (its log cannot be served:
        the harness has no kubelet)."""
        cp = control_plane
        cp.create_node("rbac-cp", taints=["node-role.kubernetes.io/control-plane:NoSchedule"])
        name = f"kube-scheduler-rbac-{uuid.uuid4().hex[:6]}"
        body = pod_body(name, labels={"component": "kube-scheduler", "tier": "control-plane"})
        body["spec"].update(nodeName="rbac-cp", priorityClassName="system-node-critical",
                            tolerations=[{"operator": "Exists"}])
        body["spec"]["containers"][0]["name"] = "kube-scheduler"
        core = cp.core_v1()
        core.create_namespaced_pod("kube-system", body)
        d = cp.api_client().sanitize_for_serialization(core.read_namespaced_pod(name, "kube-system"))
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        d["status"] = {"phase": "Running", "hostIP": "127.0.0.1", "startTime": now,
                       "conditions": [{"type": t, "status": "True", "lastTransitionTime": now}
                                      for t in ("PodScheduled", "Initialized", "ContainersReady", "Ready")],
                       "containerStatuses": [{"name": "kube-scheduler", "image": body["spec"]["containers"][0]["image"],
                                              "imageID": "", "ready": True, "restartCount": 0, "started": True,
                                              "state": {"running": {"startedAt": now}}}]}
        core.replace_namespaced_pod_status(name, "kube-system", d)
        yield name
        core.delete_namespaced_pod(name, "kube-system", grace_period_seconds=0)

    def test_forbidden_pod_logs_are_named_and_lower_confidence(self, control_plane, clean_nodes, e2e_namespace,
                                                               scheduler_pod, podtriage_cli, limited, access):
        cp, ns = control_plane, e2e_namespace
        for n in ("rbac-small-a", "rbac-small-b"):
            cp.create_node(n, allocatable={"cpu": "1"})
        cp.core_v1().create_namespaced_pod(ns, pod_body("batch-0", requests={"cpu": "2"}))
        verdict = wait_for_verdict(cp, ns, "batch-0")
        assert "Insufficient cpu" in (verdict.event_message or ""), verdict
        access.cluster(read_rules())
        access.expect({("list", "nodes", ""): True, ("list", "pods", "kube-system"): True,
                       ("get", "pods/log", "kube-system"): False})
        assert cp.scheduler_log_path is not None

        # Full access: the real kube-scheduler's log, as `--scheduler-logs` would fetch it with a kubelet.
        full = run(podtriage_cli, "explain", "batch-0", "-n", ns, "--scheduler-log", str(cp.scheduler_log_path))
        # Full access, fetched: the API server cannot reach a kubelet -> unavailable, not forbidden.
        unavailable = run(podtriage_cli, "explain", "batch-0", "-n", ns, "--scheduler-logs")
        lim = run(limited, "explain", "batch-0", "-n", ns, "--scheduler-logs")
        assert_degraded(full, lim)
        for r in (full, lim, unavailable):
            top = top_cause(r.doc)
            assert top["category"] == "insufficient-resources" and "cpu" in top["message"], summary(r.doc)
        assert any(c["rule"] == "scheduler-log-no-fit" for c in full.doc["rootCauses"]), summary(full.doc)
        logs = [m for m in lim.doc["missing"] if "kube-scheduler logs" in m]
        assert len(logs) == 1 and "forbidden" in logs[0] and "pods/log" in logs[0] and "kube-system" in logs[0], \
            lim.doc["missing"]
        assert_missing(lim, ("pods/log", "kube-system"))
        assert unavailable.json.returncode == EXIT_BLOCKED, unavailable.json.describe()
        other = [m for m in unavailable.doc["missing"] if "kube-scheduler logs" in m]
        assert len(other) == 1 and "forbidden" not in other[0] and scheduler_pod in other[0], \
            unavailable.doc["missing"]
        assert unavailable.doc["confidence"] == lim.doc["confidence"] < 1.0
