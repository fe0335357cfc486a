"""A DRA-backed extended resource (a DeviceClass's extendedResourceName) is no node list: a pod that
requests it and selects one tainted node is blocked by that taint, never "nothing blocks it" (found
by the differential check, seed 7002 of the dra family, against kube-scheduler v1.37.2)."""

from __future__ import annotations

from podtriage.analyze import Explainer
from podtriage.rulebook import load_rules
from podtriage.snapshot import SnapshotBuilder

MESSAGE = ("0/3 nodes are available: 1 node(s) had untolerated taint(s), 2 node(s) didn't match Pod's node "
           "affinity/selector. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.")


def _snapshot(with_class: bool = True, message: str = MESSAGE):
    b = SnapshotBuilder(source="test")
    for n in ("n0", "n1", "n2"):
        b.add({"apiVersion": "v1", "kind": "Node", "metadata": {"name": n, "labels": {"kubernetes.io/hostname": n}},
               "spec": {"taints": [{"key": "spot", "value": "b", "effect": "NoSchedule"}]} if n == "n0" else {},
               "status": {"allocatable": {"cpu": "8", "memory": "16Gi", "pods": "110"}}})
    if with_class:
        b.add({"apiVersion": "resource.k8s.io/v1", "kind": "DeviceClass", "metadata": {"name": "gpu"},
               "spec": {"extendedResourceName": "example.com/gpu",
                        "selectors": [{"cel": {"expression": 'device.driver == "gpu.example.com"'}}]}})
    b.add({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "d", "uid": "u"},
           "spec": {"nodeSelector": {"kubernetes.io/hostname": "n0"},
                    "containers": [{"name": "m", "image": "x", "resources": {
                        "requests": {"example.com/gpu": "3"}, "limits": {"example.com/gpu": "3"}}}]},
           "status": {"phase": "Pending", "conditions": [{
               "type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": message}]}})
    for k in ("Node", "Pod", "Namespace", "DeviceClass", "ResourceSlice", "ResourceClaim"):
        b.mark_collected(k)
    return b.build()


def test_the_taint_on_the_selected_node_is_the_cause() -> None:
    report = Explainer(_snapshot(), load_rules()).explain("p", "d")
    assert report.blocked
    top = report.root_causes[0]
    assert top.rule == "taint-untolerated" and "spot=b:NoSchedule" in top.message, \
        [(c.rule, c.message) for c in report.root_causes]


def test_a_refusal_the_diagnosis_misses_is_quoted_never_nothing_blocks_it(monkeypatch) -> None:
    # The safety net under every gap of the diagnosis: no node is feasible, the scheduler refused the
    # pod, and the per-node diagnosis names nothing (simulated by silencing it): the scheduler's
    # reasons are the blocking cause, quoted.
    from podtriage.diagnose import scheduling

    monkeypatch.setattr(scheduling.SchedulingDiagnosis, "signals", lambda self: [])
    report = Explainer(_snapshot(), load_rules()).explain("p", "d")
    assert report.blocked
    top = report.root_causes[0]
    assert top.rule == "scheduler-refuses" and "untolerated taint" in top.message, top.message
    assert top.blocking and "the scheduler's word stands" in top.message
