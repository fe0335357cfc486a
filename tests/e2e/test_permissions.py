"""podtriage explain with less than full read access, on the real API server's RBAC.

The identity is ``podtriage-ns-reader``: a static token with no bindings of its own (no
ServiceAccount). Each test grants what it needs in its own fresh namespace.
"""

from __future__ import annotations

from typing import Any

import pytest

from .controlplane import NS_READER_USER, ExternalCluster
from .scenarios import pod_body, record_fixture, summary, top_cause, wait_for_verdict

pytestmark = pytest.mark.e2e

EXIT_BLOCKED = 1
EXIT_CLUSTER = 3

# Everything explain reads in a namespace, and nothing cluster-scoped.
NAMESPACE_READ_RULES = [
    {"apiGroups": [""], "resources": ["pods", "events", "persistentvolumeclaims", "configmaps"],
     "verbs": ["get", "list", "watch"]},
    {"apiGroups": ["apps"], "resources": ["replicasets", "deployments", "statefulsets", "daemonsets"],
     "verbs": ["get", "list", "watch"]},
    {"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ["get", "list", "watch"]},
]


def _bind_namespace_reader(cp: Any, ns: str, user: str) -> None:
    from kubernetes import client

    rbac = client.RbacAuthorizationV1Api(cp.api_client())
    rbac.create_namespaced_role(ns, {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
                                     "metadata": {"name": "podtriage-reader"}, "rules": NAMESPACE_READ_RULES})
    rbac.create_namespaced_role_binding(ns, {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
        "metadata": {"name": "podtriage-reader"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "podtriage-reader"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": user}]})


def _can_list_pods(cp: Any, ns: str, user: str) -> bool:
    from kubernetes import client

    review = client.AuthorizationV1Api(cp.api_client()).create_subject_access_review({
        "apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
        "spec": {"user": user, "resourceAttributes": {"namespace": ns, "verb": "list", "resource": "pods"}}})
    return bool(review.status.allowed)


@pytest.fixture
def reader(control_plane, podtriage_as):
    if isinstance(control_plane, ExternalCluster):
        pytest.skip("needs the harness's podtriage-ns-reader identity")
    return podtriage_as(NS_READER_USER)


def test_namespace_reader_answers_from_the_scheduler_message(control_plane, clean_nodes, e2e_namespace, reader):
    cp, ns = control_plane, e2e_namespace
    for n in ("perm-a", "perm-b"):
        cp.create_node(n, allocatable={"cpu": "1"})
    _bind_namespace_reader(cp, ns, NS_READER_USER)
    assert _can_list_pods(cp, ns, NS_READER_USER)
    cp.core_v1().create_namespaced_pod(ns, pod_body("needs-2-cpu", requests={"cpu": "2"}))
    verdict = wait_for_verdict(cp, ns, "needs-2-cpu")
    assert verdict.event_message.startswith("0/2 nodes are available: 2 Insufficient cpu"), verdict.event_message
    record_fixture("ns-reader-insufficient-cpu", verdict)

    res = reader.run("explain", "needs-2-cpu", "-n", ns, "-o", "json")
    doc = res.json()
    assert res.returncode == EXIT_BLOCKED, res.describe()
    assert "Traceback" not in res.stderr
    top = top_cause(doc)
    assert top["category"] == "insufficient-resources", summary(doc)
    assert "cpu" in top["message"], top["message"]
    missing = "\n".join(doc["missing"])
    assert "nodes could not be read" in missing, doc["missing"]
    assert "forbidden" in missing and "nodes" in missing, doc["missing"]
    assert doc["confidence"] < 1.0, doc["confidence"]
    assert top["confidence"] < 1.0, top


def test_namespace_reader_taint_is_named_as_far_as_the_message_allows(control_plane, clean_nodes,
                                                                      e2e_namespace, reader):
    """v1.37 prints "untolerated taint(s)" without the key; without nodes podtriage cannot name it."""
    cp, ns = control_plane, e2e_namespace
    for n in ("perm-t-a", "perm-t-b"):
        cp.create_node(n, taints=["dedicated=gpu:NoSchedule"])
    _bind_namespace_reader(cp, ns, NS_READER_USER)
    cp.core_v1().create_namespaced_pod(ns, pod_body("no-toleration"))
    verdict = wait_for_verdict(cp, ns, "no-toleration")
    assert "2 node(s) had untolerated taint(s)" in verdict.event_message, verdict.event_message

    res = reader.run("explain", "no-toleration", "-n", ns, "-o", "json")
    doc = res.json()
    assert res.returncode == EXIT_BLOCKED, res.describe()
    top = top_cause(doc)
    assert top["category"] == "taint-untolerated", summary(doc)
    assert "dedicated=gpu" not in top["message"], "podtriage cannot know the taint without reading nodes"
    assert doc["confidence"] < 1.0
    assert any("nodes could not be read" in m for m in doc["missing"]), doc["missing"]


def test_no_permissions_at_all_is_a_clear_cluster_error(control_plane, e2e_namespace, reader):
    cp, ns = control_plane, e2e_namespace
    cp.core_v1().create_namespaced_pod(ns, pod_body("invisible"))
    assert not _can_list_pods(cp, ns, NS_READER_USER)

    res = reader.run("explain", "invisible", "-n", ns, "-o", "json")
    assert res.returncode == EXIT_CLUSTER, res.describe()
    assert res.stdout == "", res.describe()
    assert "Traceback" not in res.stderr and "internal error" not in res.stderr, res.describe()
    err = res.stderr
    assert err.startswith("error: "), err
    assert "forbidden" in err and "pods" in err and ns in err and NS_READER_USER in err, err
    assert "hint: " in err, err
