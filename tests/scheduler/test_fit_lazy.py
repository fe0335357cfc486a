"""NodeResourcesFit's per-node "Insufficient X" failures from the column (filter_nodes) make their
message and detail when read; fit_facts reads what the diagnosis needs of every short node without
making them. Both must give what filter() gives on each node alone."""

from __future__ import annotations

from podtriage.scheduler.framework import ClusterState, CycleState, Failure, effective_requests, evaluate
from podtriage.scheduler.plugins.node_resources_fit import NodeResourcesFit, fit_facts

from .test_differential_fixes import NODES, snapshot

BIG_POD = """
apiVersion: v1
kind: Pod
metadata: {name: big, namespace: shop}
spec:
  containers: [{name: main, image: big, resources: {requests: {cpu: "3500m", memory: 20Gi}}}]
---
apiVersion: v1
kind: Pod
metadata: {name: running, namespace: shop}
spec:
  nodeName: worker-a1
  containers: [{name: main, image: web, resources: {requests: {cpu: "1", memory: 1Gi}}}]
status: {phase: Running}
"""


def _columns() -> tuple[dict[str, tuple[Failure, ...]], dict[str, tuple[Failure, ...]]]:
    snap = snapshot(NODES, BIG_POD)
    pod = next(p for p in snap.pods if not p.node_name)
    assert [p.name for p in snap.pods if p.node_name] == ["running"]
    cluster = ClusterState(snap)
    ev = evaluate(pod, cluster)
    state = CycleState(pod=pod, cluster=cluster, requests=effective_requests(pod))
    alone = {info.name: tuple(NodeResourcesFit().filter(state, info)) for info in cluster.infos}
    got = {v.node: tuple(f for f in v.failures if f.plugin == NodeResourcesFit.name) for v in ev.verdicts}
    return got, alone


def test_fit_facts_read_without_making_the_failure():
    got, alone = _columns()
    short = [f for fs in got.values() for f in fs]
    assert short and all("_make" in f.__dict__ for f in short)  # nothing made by the evaluation
    facts = {(n, fit_facts(f)) for n, fs in got.items() for f in fs}
    assert all("_make" in f.__dict__ for f in short)  # fit_facts made nothing either
    assert facts == {(n, (f.detail["resource"], f.detail["requested"], f.detail["free"]))
                     for n, fs in alone.items() for f in fs}
    # an eagerly made failure answers from its detail
    f = next(f for fs in alone.values() for f in fs)
    assert fit_facts(f) == (f.detail["resource"], f.detail["requested"], f.detail["free"])


def test_insufficient_failures_are_filter_on_each_node():
    got, alone = _columns()
    assert got == alone  # every field, message and detail made on the way
    memory = {n for n, fs in got.items() for f in fs if f.reason == "Insufficient memory"}
    assert memory == set(got)  # 20Gi fits on no node of 8Gi
    f = next(f for f in got["worker-a1"] if f.reason == "Insufficient memory")
    assert f.message.startswith("memory: pod requests 20Gi, node worker-a1 has ")
    assert f.unresolvable  # more than the node's allocatable
    cpu = next(f for f in got["worker-a1"] if f.reason == "Insufficient cpu")  # 3 of 4 cores free
    assert (cpu.detail["free"], cpu.detail["allocatable"], cpu.unresolvable) == (3000, 4000, False)
    assert not any(f.reason == "Insufficient cpu" for f in got["worker-a2"])


ZONE_POD = """
apiVersion: v1
kind: Pod
metadata: {name: zoned, namespace: shop}
spec:
  nodeSelector: {topology.kubernetes.io/zone: zone-b}
  affinity:
    nodeAffinity:
      requiredDuringSchedulingIgnoredDuringExecution:
        nodeSelectorTerms:
        - matchExpressions: [{key: disktype, operator: In, values: [ssd]}]
  tolerations: [{key: dedicated, operator: Exists}]
  containers: [{name: main, image: app}]
"""


def test_label_and_taint_columns_by_class_are_filter_on_each_node():
    """NodeAffinity's label-only column and TaintToleration's column are judged once per class of
    nodes (the selector's label values, the node's taints) and given to each node: each node's
    verdict must be what filter() says of it alone, named after it."""
    from podtriage.scheduler.plugins.node_affinity import NodeAffinity
    from podtriage.scheduler.plugins.taint_toleration import TaintToleration

    snap = snapshot(NODES, ZONE_POD)
    pod = next(p for p in snap.pods if not p.node_name)
    cluster = ClusterState(snap)
    ev = evaluate(pod, cluster)
    state = CycleState(pod=pod, cluster=cluster, requests=effective_requests(pod))
    for plugin in (NodeAffinity(), TaintToleration()):
        alone = {info.name: tuple(plugin.filter(state, info)) for info in cluster.infos}
        got = {v.node: tuple(f for f in v.failures if f.plugin == plugin.name) for v in ev.verdicts}
        assert got == alone, plugin.name
    affinity = {v.node: [f.message for f in v.failures if f.plugin == "NodeAffinity"] for v in ev.verdicts}
    assert [n for n, msgs in affinity.items() if not msgs] == ["worker-b2"]  # zone-b and ssd
    assert all(msgs[0].startswith(f"node {n}: ") for n, msgs in affinity.items() if msgs)
    assert len({tuple(m.split(": ", 1)[1] for m in msgs) for msgs in affinity.values() if msgs}) == 3  # 3 classes
