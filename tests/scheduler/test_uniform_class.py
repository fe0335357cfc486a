"""A node selector no node matches, or one only a pool matches, rejects every node it rejects alike:
NodeAffinity's column is then a uniform LazyColumn, and evaluate() keeps the rejected nodes no
earlier filter rejects as one class (framework._Outside with that column's failure as their reason). Every answer must be the one the node-by-node walk
gives, and each node's verdict what the filters say on that node alone."""

from __future__ import annotations

import gc
import weakref

import pytest

from podtriage.diagnose.scheduling import SchedulingDiagnosis
from podtriage.scheduler.framework import (
    ClusterState,
    Column,
    CycleState,
    Evaluation,
    FilterPlugin,
    LazyColumn,
    NodeVerdict,
    effective_requests,
    evaluate,
)
from podtriage.scheduler.plugins import DEFAULT_PLUGINS
from podtriage.scheduler.plugins.node_affinity import NodeAffinity
from podtriage.scheduler.plugins.node_resources_fit import NodeResourcesFit

from .test_differential_fixes import NODES, snapshot

MISS = "node(s) didn't match Pod's node affinity/selector"


class NodeByNodeAffinity(NodeAffinity):
    """NodeAffinity whose columns are plain lists: evaluate() walks every node."""

    def filter_nodes(self, state):  # type: ignore[no-untyped-def]
        col = super().filter_nodes(state)
        return Column.of(list(col)) if isinstance(col, LazyColumn) else col


def _pod(spec: str, cpu: str = "500m") -> str:
    return f"""
apiVersion: v1
kind: Pod
metadata: {{name: queued, namespace: batch}}
spec:
{spec}
  containers: [{{name: main, image: job, resources: {{requests: {{cpu: "{cpu}"}}}}}}]
"""


# A queue label no node has; a deprecated zone label; a value no node has of a key some have; an
# affinity term no node satisfies; the same with the gpu taint tolerated (no earlier rejection but
# the cordon); and a pod too large for two nodes (a node with two failures).
CASES = [
    _pod("  nodeSelector: {batch.example.com/queue: queue-00042}"),
    _pod("  nodeSelector: {failure-domain.beta.kubernetes.io/zone: zone-a}"),
    _pod("  nodeSelector: {disktype: nvme}", cpu="2"),
    _pod("  affinity:\n    nodeAffinity:\n      requiredDuringSchedulingIgnoredDuringExecution:\n"
         "        nodeSelectorTerms:\n        - matchExpressions: [{key: disktype, operator: In, values: [nvme]}]"),
    _pod("  nodeSelector: {disktype: nvme}\n  tolerations: [{key: dedicated, operator: Exists}]", cpu="2"),
]


# A selector some nodes match: worker-a1 and worker-b2 (ssd; worker-b2 short of 2 cpu); zone-b
# (worker-b1 tainted, worker-b2); hdd (both rejected earlier: cordoned, tainted); an affinity term
# with NotIn; the gpu taint tolerated.
POOLS = [
    _pod("  nodeSelector: {disktype: ssd}", cpu="2"),
    _pod("  nodeSelector: {topology.kubernetes.io/zone: zone-b}"),
    _pod("  nodeSelector: {disktype: hdd}"),
    _pod("  affinity:\n    nodeAffinity:\n      requiredDuringSchedulingIgnoredDuringExecution:\n"
         "        nodeSelectorTerms:\n        - matchExpressions: [{key: disktype, operator: NotIn, values: [ssd]}]"),
    _pod("  nodeSelector: {topology.kubernetes.io/zone: zone-b}\n  tolerations: [{key: dedicated, operator: Exists}]",
         cpu="2"),
]


class NodeByNodeFit(NodeResourcesFit):
    """NodeResourcesFit whose column is a plain list: no class of the nodes short of a request."""

    def filter_nodes(self, state):  # type: ignore[no-untyped-def]
        return Column.of(list(super().filter_nodes(state)))


def _plugins(eager: bool) -> list[FilterPlugin]:
    swap = {NodeAffinity: NodeByNodeAffinity, NodeResourcesFit: NodeByNodeFit} if eager else {}
    return [swap.get(cls, cls)() for cls in DEFAULT_PLUGINS]


def _both(pod_yaml: str) -> tuple[Evaluation, Evaluation, ClusterState]:
    return evaluate_both(NODES, pod_yaml, _plugins(eager=True))


def evaluate_both(nodes: str, pod_yaml: str, eager: list[FilterPlugin]) -> tuple[Evaluation, Evaluation, ClusterState]:
    """The pod (the one not bound) evaluated as evaluate() does and with the `eager` plugins (the
    node-by-node walk to compare with), and a ClusterState of its own."""
    snap = snapshot(nodes, pod_yaml)
    pod = next(p for p in snap.pods if not p.node_name)
    return evaluate(pod, ClusterState(snap)), evaluate(pod, ClusterState(snap), eager), ClusterState(snap)


def _made(v: NodeVerdict) -> bool:
    return "first" in v.__dict__


@pytest.mark.parametrize("pod", CASES + POOLS)
def test_uniform_class_gives_the_node_by_node_answers(pod: str) -> None:
    ev, ref, cluster = _both(pod)
    assert ev.outside is not None and ref.outside is None
    inside = set(ev.outside.inside)
    # Only the nodes the selector matches, the cordoned and the tainted node are made at once.
    matched = {i for i, v in enumerate(ref.verdicts) if not any(f.plugin == "NodeAffinity" for f in v.failures)}
    assert inside == matched | ({1, 2} & {i for i, v in enumerate(ref.verdicts) if v.first and
                                          v.first[0].plugin in ("NodeUnschedulable", "TaintToleration")})
    got_groups, got_multi = ev.first_pass()
    assert ev.feasible == ref.feasible
    if pod in CASES:
        assert ev.feasible == ()
    assert ev.histogram() == ref.histogram()
    assert ev.code_counts() == ref.code_counts()
    assert ev.fit_error() == ref.fit_error()
    assert ev.error == ref.error
    # Counted from the class: no verdict of a node in it is made for the counts.
    assert not any(_made(v) for i, v in enumerate(ev.verdicts) if i not in inside)
    ref_groups, ref_multi = ref.first_pass()
    assert list(got_groups.items()) == list(ref_groups.items())  # the same groups, in the same order
    assert got_multi == ref_multi
    assert (MISS in ev.histogram()) == (len(inside) < 4)  # the class is counted under the selector
    # Each verdict, when read (by name or in order), is the one the walk made, and what each filter
    # says on that node alone.
    by_node = ev.verdicts_by_node()
    assert [by_node[v.node] for v in ref.verdicts] == list(ref.verdicts)
    assert ev.verdicts == ref.verdicts
    state = CycleState(pod=ev.pod, cluster=cluster, requests=effective_requests(ev.pod))
    for info, v in zip(cluster.infos, ev.verdicts):
        alone = [f for cls in DEFAULT_PLUGINS for f in cls().filter(state, info)
                 if cls().applies(state)]
        assert list(v.failures) == alone, info.name


def test_a_selector_some_node_matches_keeps_the_others_as_the_class() -> None:
    ev, ref, _ = _both(POOLS[4])  # zone-b with the taint tolerated: worker-a1 is the class
    assert ev.outside is not None and ev.outside.inside == [1, 2, 3]  # worker-a2 is cordoned
    assert ev.feasible == ref.feasible == ()
    assert not any(_made(v) for v in ev.verdicts_on(["worker-a1"]))
    assert ev.verdicts == ref.verdicts


def test_a_selector_every_node_matches_makes_no_class() -> None:
    ev, ref, _ = _both(_pod("  affinity:\n    nodeAffinity:\n      requiredDuringSchedulingIgnoredDuringExecution:\n"
                            "        nodeSelectorTerms:\n        - matchExpressions: [{key: disktype, operator: Exists}]"))
    assert ev.outside is None  # the column rejects no node: no class
    assert ev.verdicts == ref.verdicts and ev.feasible == ref.feasible == ("worker-a1", "worker-b2")


def test_lookups_make_only_the_verdicts_asked_for() -> None:
    ev, ref, _ = _both(CASES[0])
    assert ev.outside is not None
    got = ev.verdicts_on(["worker-b2", "worker-a1", "nowhere"])
    assert got == [ref.verdicts[0], ref.verdicts[3]]  # node order, unknown names left out
    made = [v.node for i, v in enumerate(ev.outside.all()) if _made(v) and i not in ev.outside.inside]
    assert made == ["worker-a1", "worker-b2"]


def test_an_evaluation_of_the_class_is_freed_without_the_collector() -> None:
    snap = snapshot(NODES, CASES[0])
    pod = next(p for p in snap.pods if not p.node_name)
    assert_freed_without_the_collector(evaluate(pod, ClusterState(snap)))


def assert_freed_without_the_collector(ev: Evaluation) -> None:
    """`ev`'s class, once counted and every verdict read, is freed when `ev` is dropped, by
    reference counting alone (no cycle through the class keeps it to the next collection)."""
    assert ev.outside is not None
    ev.first_pass()
    _ = list(ev.verdicts)
    ref = weakref.ref(ev.outside)
    was = gc.isenabled()
    gc.disable()
    try:
        del ev
        assert ref() is None
    finally:
        if was:
            gc.enable()


@pytest.mark.parametrize("pod", CASES + POOLS + [
    _pod("  nodeSelector: {failure-domain.beta.kubernetes.io/zone: zone-b}", cpu="2"),
    _pod("  nodeSelector: {failure-domain.beta.kubernetes.io/zone: zone-a}", cpu="3500m"),
])
def test_the_diagnosis_of_the_class_is_that_of_the_walk(pod: str) -> None:
    """What the diagnosis says of the nodes the pod asks for, or a corrected selector would (a
    deprecated zone label: the nodes with the current one, short of cpu), read from the class's
    columns: the same signals as from every verdict."""
    snap = snapshot(NODES, pod)
    p = next(x for x in snap.pods if not x.node_name)
    ev, ref = evaluate(p, ClusterState(snap)), evaluate(p, ClusterState(snap), _plugins(eager=True))
    assert ev.outside is not None
    got = SchedulingDiagnosis(p, snap, ev).signals()
    assert got == SchedulingDiagnosis(p, snap, ref).signals()
    if "failure-domain" in pod and "cpu: \"2\"" in pod:
        assert any(s.name == "insufficient-resources" for s in got)  # worker-b2, zone-b, 1 cpu
