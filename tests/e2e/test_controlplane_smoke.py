"""Smoke test: the real control plane produces a real FailedScheduling event.

With PODTRIAGE_RECORD_FIXTURES=1 it also (re)writes the observed event
message and scheduler log lines to fixtures/real/ (real output only).
"""

from __future__ import annotations

import os

import pytest

from .controlplane import ADMIN_USER, REPO_ROOT, SCHEDULER_USER

pytestmark = pytest.mark.e2e

FIXTURES = REPO_ROOT / "fixtures" / "real"


def test_failed_scheduling_event_and_audit(control_plane, clean_nodes, e2e_namespace):
    cp = control_plane
    ns = e2e_namespace
    core = cp.core_v1()

    cp.create_node("smoke-gpu", labels={"pool": "gpu"}, taints=["dedicated=gpu:NoSchedule"])
    cp.create_node("smoke-small", labels={"pool": "small"}, allocatable={"cpu": "1"})

    nodes = {n.metadata.name: n for n in core.list_node().items}
    assert set(nodes) == {"smoke-gpu", "smoke-small"}
    assert nodes["smoke-small"].status.allocatable["cpu"] == "1"
    assert nodes["smoke-gpu"].spec.taints[0].key == "dedicated"
    assert any(c.type == "Ready" and c.status == "True" for c in nodes["smoke-small"].status.conditions)
    # No controller-manager and TaintNodesByCondition disabled: no automatic not-ready taint.
    assert not nodes["smoke-small"].spec.taints

    pod_name = "needs-2-cpu"
    core.create_namespaced_pod(
        ns,
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": pod_name},
            "spec": {
                "containers": [
                    {
                        "name": "main",
                        "image": "registry.k8s.io/pause:3.10",
                        "resources": {"requests": {"cpu": "2"}},
                    }
                ]
            },
        },
    )

    ev = cp.wait_for_failed_scheduling(ns, pod_name, timeout=60)
    msg = ev.message
    assert msg.startswith("0/2 nodes are available"), msg
    assert "Insufficient cpu" in msg, msg
    assert "untolerated taint" in msg, msg
    assert ev.type == "Warning"

    pod = core.read_namespaced_pod(pod_name, ns)
    assert pod.status.phase == "Pending"
    assert not pod.spec.node_name

    # Scheduler log (-v=2) mentions the pod.
    sched_lines = cp.scheduler_log_lines(contains=f"{ns}/{pod_name}")
    if cp.scheduler_log_path is not None:
        assert sched_lines, "scheduler log has no line about the pod"

    # Audit log: verb + user for our requests and the scheduler's.
    if cp.audit_log_path is not None:
        assert cp.audit_log_path.exists()
        events = cp.audit_events()
        assert events, "audit log is empty"
        assert all("verb" in e and "user" in e for e in events)
        creates = [
            e
            for e in events
            if e["verb"] == "create"
            and e.get("objectRef", {}).get("resource") == "pods"
            and e.get("objectRef", {}).get("namespace") == ns
            and e.get("objectRef", {}).get("name") == pod_name
        ]
        assert creates and creates[0]["user"]["username"] == ADMIN_USER
        assert any(e["user"].get("username") == SCHEDULER_USER for e in events)

    if os.environ.get("PODTRIAGE_RECORD_FIXTURES") == "1":
        FIXTURES.mkdir(parents=True, exist_ok=True)
        (FIXTURES / "smoke-failedscheduling.txt").write_text(msg + "\n")
        (FIXTURES / "smoke-scheduler-log.txt").write_text("\n".join(sched_lines) + "\n")


def test_ns_reader_has_no_permissions(control_plane, e2e_namespace):
    """The extra identity authenticates but has no RBAC bindings."""
    from kubernetes.client import CoreV1Api
    from kubernetes.client.rest import ApiException

    try:
        client = control_plane.api_client("podtriage-ns-reader")
    except KeyError:
        pytest.skip("no podtriage-ns-reader identity on an external cluster")
    with pytest.raises(ApiException) as ei:
        CoreV1Api(client).list_namespaced_pod(e2e_namespace)
    assert ei.value.status == 403
    assert "podtriage-ns-reader" in ei.value.body
