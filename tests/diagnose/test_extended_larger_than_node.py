"""A request for more units of an extended resource than any node advertises (12 GPUs where nodes
have 8) is a pod larger than any node, not "every unit already taken": freeing GPUs never helps
(found by benchmarks/check_generated_causes.py on a --distinct-pending cluster)."""

from __future__ import annotations

import pytest

from podtriage.analyze import Explainer
from podtriage.rulebook import load_rules
from podtriage.snapshot import SnapshotBuilder


def _explain(gpus: int):
    b = SnapshotBuilder(source="test")
    for n in ("g1", "g2"):
        alloc = {"cpu": "64", "memory": "256Gi", "pods": "110", "nvidia.com/gpu": "8"}
        b.add({"apiVersion": "v1", "kind": "Node", "metadata": {"name": n, "labels": {"kubernetes.io/hostname": n}},
               "status": {"allocatable": alloc, "capacity": alloc}})
    for node, held in (("g1", "7"), ("g2", "4")):
        b.add({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": f"held-{node}", "namespace": "ml", "uid": node},
               "spec": {"nodeName": node, "containers": [{"name": "m", "image": "x", "resources": {
                   "requests": {"nvidia.com/gpu": held}, "limits": {"nvidia.com/gpu": held}}}]},
               "status": {"phase": "Running"}})
    b.add({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "ml", "uid": "u"},
           "spec": {"containers": [{"name": "m", "image": "x", "resources": {
               "requests": {"nvidia.com/gpu": str(gpus)}, "limits": {"nvidia.com/gpu": str(gpus)}}}]},
           "status": {"phase": "Pending", "conditions": [{
               "type": "PodScheduled", "status": "False", "reason": "Unschedulable",
               "message": "0/2 nodes are available: 2 Insufficient nvidia.com/gpu. preemption: 0/2 nodes are "
                          "available: 2 No preemption victims found for incoming pod."}]}})
    for k in ("Node", "Pod", "Namespace"):
        b.mark_collected(k)
    return Explainer(b.build(), load_rules()).explain("p", "ml")


@pytest.mark.parametrize("gpus", [9, 16])
def test_more_than_any_node_advertises_is_larger_than_any_node(gpus: int) -> None:
    top = _explain(gpus).root_causes[0]
    assert top.rule == "pod-larger-than-any-node", top.message
    assert f"requests {gpus} nvidia.com/gpu" in top.message and "has 8 allocatable" in top.message


def test_units_held_by_other_pods_are_still_exhaustion() -> None:
    # 8 fit on a node, but g1 has 1 free and g2 4: the pods holding them are the cause
    report = _explain(8)
    top = report.root_causes[0]
    assert report.blocked and top.rule != "pod-larger-than-any-node", top.message
    assert "held-g1" in top.message or "held-g2" in top.message, top.message
