"""Failures whose message and detail are made when read (framework.lazy_failure): a DaemonSet pod's
NodeAffinity verdicts on the nodes other than its own, and a node selector's on every node. They
must be the same failures, field for field, as the ones made at once, whatever reads them."""

from __future__ import annotations

import copy
import dataclasses
import pickle

from podtriage.scheduler.framework import ClusterState, CycleState, Failure, effective_requests, evaluate, lazy_failure
from podtriage.scheduler.plugins.node_affinity import NodeAffinity

from .test_differential_fixes import DAEMON_POD, NODES, snapshot

SELECTOR_POD = """
apiVersion: v1
kind: Pod
metadata: {name: batch, namespace: shop}
spec:
  nodeSelector: {queue: nightly}
  containers: [{name: main, image: batch}]
"""

calls: list[str] = []


def _parts(name: str) -> tuple[str, dict[str, object]]:
    calls.append(name)
    return f"node {name}: no", {"have": name}


def test_lazy_failure_is_the_eager_one_for_every_reader():
    eager = Failure(plugin="P", code="c", reason="r", message="node n1: no", detail={"have": "n1"}, unresolvable=True)
    calls.clear()
    lazy = lazy_failure("P", "c", "r", True, (_parts, "n1"))
    assert calls == []
    assert lazy == eager
    assert calls == ["n1"]  # made once, then kept
    assert lazy.message == "node n1: no" and lazy.detail == {"have": "n1"} and calls == ["n1"]

    def make() -> Failure:  # a fresh one per reader: none has made its fields yet
        return lazy_failure("P", "c", "r", True, (_parts, "n1"))

    assert dataclasses.asdict(make()) == dataclasses.asdict(eager)
    assert dataclasses.replace(make(), reason="x") == dataclasses.replace(eager, reason="x")
    assert copy.deepcopy(make()) == eager
    assert pickle.loads(pickle.dumps(make())) == eager
    assert repr(make()) == repr(eager)
    assert not hasattr(lazy, "to_dict")  # other names are still missing attributes


def _named_filter(pod_yaml: str) -> tuple[dict[str, tuple[Failure, ...]], dict[str, tuple[Failure, ...]]]:
    """Each node's verdict failures from evaluate(), and NodeAffinity's filter() on each node alone."""
    snap = snapshot(NODES, pod_yaml)
    pod = next(p for p in snap.pods if not p.node_name)
    cluster = ClusterState(snap)
    ev = evaluate(pod, cluster)
    state = CycleState(pod=pod, cluster=cluster, requests=effective_requests(pod))
    alone = {info.name: tuple(NodeAffinity().filter(state, info)) for info in cluster.infos}
    got = {v.node: tuple(f for f in v.failures if f.plugin == "NodeAffinity") for v in ev.verdicts}
    return got, alone


def test_daemonset_pod_verdicts_are_filter_on_each_node():
    got, alone = _named_filter(DAEMON_POD)
    assert got == alone
    assert [n for n, fs in got.items() if fs] == ["worker-a1", "worker-a2", "worker-b1"]
    assert got["worker-a1"][0].message.startswith("node worker-a1: ")
    assert got["worker-b1"][0].detail["terms"][0]["failed"][0]["have"] == "worker-b1"


def test_selector_column_verdicts_are_filter_on_each_node():
    got, alone = _named_filter(SELECTOR_POD)
    assert got == alone
    assert all(fs for fs in got.values())
    assert {fs[0].message for fs in got.values()} == {
        f"node {n}: nodeSelector queue=nightly (node has no such label)" for n in got}
