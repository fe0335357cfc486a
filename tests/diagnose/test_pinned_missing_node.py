"""A pod pinned (required matchFields metadata.name In) to a node that does not exist: the other
nodes' rejections are not background, the pod is blocked (found by the differential check)."""

from __future__ import annotations

from podtriage.analyze import Explainer
from podtriage.rulebook import load_rules
from podtriage.snapshot import SnapshotBuilder


def test_a_pin_to_a_missing_node_leaves_the_pod_blocked() -> None:
    b = SnapshotBuilder(source="test")
    for n in ("n0", "n1"):
        b.add({"apiVersion": "v1", "kind": "Node", "metadata": {"name": n, "labels": {"kubernetes.io/hostname": n}},
               "status": {"allocatable": {"cpu": "4", "memory": "8Gi", "pods": "110"}}})
    b.add({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "d", "uid": "u"},
           "spec": {"containers": [{"name": "m", "image": "x"}],
                    "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
                        "nodeSelectorTerms": [{"matchFields": [
                            {"key": "metadata.name", "operator": "In", "values": ["gone"]}]}]}}}},
           "status": {"phase": "Pending", "conditions": [{
               "type": "PodScheduled", "status": "False", "reason": "Unschedulable",
               "message": "0/2 nodes are available: 2 node(s) didn't satisfy plugin(s) [NodeAffinity]. "
                          "preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling."}]}})
    for k in ("Node", "Pod", "Namespace"):
        b.mark_collected(k)
    report = Explainer(b.build(), load_rules()).explain("p", "d")
    assert report.blocked
    assert report.root_causes and report.root_causes[0].blocking
