"""A DaemonSet pod's nodes other than its own, kept as one class (framework._Outside): their
verdicts are made when read, and the counts over the first failing plugin come from the class.
Every answer must be the one the node-by-node walk gives, and each node's verdict what the filters
say on that node alone."""

from __future__ import annotations

import copy
import dataclasses
import gc
import pickle
import weakref

import pytest

from podtriage.scheduler.framework import (
    ClusterState,
    CycleState,
    Evaluation,
    Failure,
    FilterPlugin,
    LazyColumn,
    NodeVerdict,
    effective_requests,
    evaluate,
)
from podtriage.scheduler.plugins import DEFAULT_PLUGINS
from podtriage.scheduler.plugins.node_affinity import NodeAffinity
from podtriage.scheduler.plugins.node_resources_fit import NodeResourcesFit

from .test_differential_fixes import DAEMON_POD, NODES, snapshot
from .test_uniform_class import NodeByNodeFit

ABSENT = "node(s) didn't satisfy plugin(s) [NodeAffinity]"
TAINT = "node(s) had untolerated taint {dedicated: gpu}"


class NodeByNodeAffinity(NodeAffinity):
    """NodeAffinity without the class of outside nodes: evaluate() walks them one by one."""

    def absent_node_class(self, state, inside, reason):  # type: ignore[no-untyped-def]
        return None


def _pinned(values: str, cpu: str = "2") -> str:
    return DAEMON_POD.replace("values: [worker-b2]", f"values: [{values}]").replace('cpu: "2"', f'cpu: "{cpu}"')


def _plugins(eager: bool) -> list[FilterPlugin]:
    swap = {NodeAffinity: NodeByNodeAffinity, NodeResourcesFit: NodeByNodeFit} if eager else {}
    return [swap.get(cls, cls)() for cls in DEFAULT_PLUGINS]


def _both(pod_yaml: str) -> tuple[Evaluation, Evaluation, ClusterState]:
    snap = snapshot(NODES, pod_yaml)
    pod = next(p for p in snap.pods if not p.node_name)
    cluster = ClusterState(snap)
    return evaluate(pod, cluster), evaluate(pod, cluster, _plugins(eager=True)), cluster


def _made(v: NodeVerdict) -> bool:
    return "first" in v.__dict__


# worker-b2 is last and short of cpu; worker-a1 first and fits; worker-a2 in the middle, cordoned;
# two names; a node that is gone (every node is outside).
CASES = ["worker-b2", "worker-a1", "worker-a2", "worker-a1, worker-b1", "gone-node"]

# A DaemonSet whose template has its own placement: the controller keeps the template's nodeSelector
# and each term's expressions, and adds the matchFields pin to every term. The nodes outside then
# differ in their labels (several classes); a named node may fail on a label too.
LABELLED = [
    DAEMON_POD.replace("  affinity:", "  nodeSelector: {disktype: ssd}\n  affinity:"),
    DAEMON_POD.replace(
        "- matchFields: [{key: metadata.name, operator: In, values: [worker-b2]}]",
        "- matchFields: [{key: metadata.name, operator: In, values: [worker-b2]}]\n"
        "          matchExpressions: [{key: topology.kubernetes.io/zone, operator: In, values: [zone-a]}]\n"
        "        - matchFields: [{key: metadata.name, operator: In, values: [worker-a2, worker-b1]}]\n"
        "          matchExpressions: [{key: disktype, operator: NotIn, values: [ssd]}]"),
]


@pytest.mark.parametrize("cpu", ["2", "8"])
@pytest.mark.parametrize("values", CASES)
def test_outside_class_gives_the_node_by_node_answers(values: str, cpu: str) -> None:
    _same_answers(_pinned(values, cpu))


@pytest.mark.parametrize("pod", LABELLED)
def test_outside_class_with_labelled_terms_gives_the_node_by_node_answers(pod: str) -> None:
    _same_answers(pod)


def _same_answers(pod: str) -> None:
    ev, ref, _ = _both(pod)
    assert ev.outside is not None and ref.outside is None
    inside = set(ev.outside.inside)
    # Counted from the class: no verdict outside is made for the counts.
    got_groups, got_multi = ev.first_pass()
    assert ev.feasible == ref.feasible
    assert ev.histogram() == ref.histogram()
    assert ev.code_counts(by_resource=True) == ref.code_counts(by_resource=True)
    assert ev.fit_error() == ref.fit_error()
    assert not any(_made(v) for i, v in enumerate(ev.verdicts) if i not in inside)
    ref_groups, ref_multi = ref.first_pass()
    assert list(got_groups.items()) == list(ref_groups.items())  # the same groups, in the same order
    assert got_multi == ref_multi
    assert ev.error == ref.error
    # Each verdict, when read, is the one the walk made.
    assert ev.verdicts == ref.verdicts
    assert [v.first for v in ev.verdicts] == [v.first for v in ref.verdicts]


def test_the_groups_follow_node_order_around_the_pinned_node() -> None:
    ev, _, _ = _both(_pinned("worker-a1"))  # first node: fits, so the outside group comes first
    assert list(ev.first_pass()[0]) == [("NodeAffinity", "node-affinity", ABSENT)]
    assert ev.feasible == ("worker-a1",)
    ev, _, _ = _both(_pinned("worker-a1", cpu="8"))  # first node, too small: its reason comes first
    assert list(ev.first_pass()[0]) == [("NodeResourcesFit", "insufficient", "Insufficient cpu"),
                                        ("NodeAffinity", "node-affinity", ABSENT)]
    assert ev.feasible == ()
    ev, _, _ = _both(_pinned("worker-b1, worker-a1"))  # worker-b1 (third) is tainted
    assert list(ev.first_pass()[0]) == [("NodeAffinity", "node-affinity", ABSENT),
                                        ("TaintToleration", "taint", TAINT)]
    groups = ev.first_pass()[0]
    assert groups[("NodeAffinity", "node-affinity", ABSENT)][0] == ["worker-a2", "worker-b2"]
    assert ev.fit_error() == ("0/4 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}, "
                              "2 node(s) didn't satisfy plugin(s) [NodeAffinity].")


@pytest.mark.parametrize("pod_yaml,values", [(_pinned(v), v) for v in CASES] +
                         [(LABELLED[0], "worker-b2"), (LABELLED[1], "worker-b2, worker-a2, worker-b1")])
def test_each_verdict_is_the_filters_on_that_node_alone(pod_yaml: str, values: str) -> None:
    ev, _, cluster = _both(pod_yaml)
    pod = ev.pod
    state = CycleState(pod=pod, cluster=cluster, requests=effective_requests(pod))
    plugins = [cls() for cls in DEFAULT_PLUGINS]
    na = next(p for p in plugins if isinstance(p, NodeAffinity))
    names = {n.strip() for n in values.split(",")}
    for info, v in zip(cluster.infos, ev.verdicts):
        per_plugin = [tuple(p.filter(state, info)) for p in plugins if p.applies(state)]
        assert v.failures == tuple(f for fs in per_plugin for f in fs), info.name
        if info.name in names:
            assert v.first == next((fs for fs in per_plugin if fs), ())
        else:
            assert v.first == (na.absent_node_failure(state, info, ABSENT),)
            assert v.first[0].detail["outside_prefilter_result"] is True
            assert v.first[0].message.startswith(f"node {info.name}: ")


def test_an_outside_verdict_reads_as_the_eager_one_everywhere() -> None:
    def fresh() -> tuple[NodeVerdict, NodeVerdict]:
        ev, ref, _ = _both(_pinned("worker-b2"))
        v = ev.verdicts[1]  # worker-a2: cordoned and outside
        assert not _made(v)
        return v, ref.verdicts[1]

    v, want = fresh()
    assert v == want and _made(v)
    assert [f.code for f in v.failures] == ["node-unschedulable", "node-affinity"]
    v, want = fresh()
    assert pickle.loads(pickle.dumps(v)) == want
    v, want = fresh()
    assert copy.deepcopy(v) == want
    v, want = fresh()
    assert repr(v) == repr(want)
    v, want = fresh()
    assert dataclasses.asdict(v) == dataclasses.asdict(want)
    v, want = fresh()
    assert dataclasses.replace(v, node="x") == dataclasses.replace(want, node="x")
    v, _ = fresh()
    assert v.passed is False and v.first_plugin == "NodeAffinity"
    assert not hasattr(v, "to_dict")  # other names are still missing attributes
    assert isinstance(v.first[0], Failure)


def test_a_term_without_names_keeps_every_node_in_the_walk() -> None:
    # No PreFilterResult (one term names no node): every node is filtered, no class of the nodes
    # outside one (a class of the nodes short of cpu alone is NodeResourcesFit's, not this).
    pod = DAEMON_POD.replace(
        "- matchFields: [{key: metadata.name, operator: In, values: [worker-b2]}]",
        "- matchFields: [{key: metadata.name, operator: In, values: [worker-b2]}]\n"
        "        - matchExpressions: [{key: disktype, operator: In, values: [hdd]}]")
    ev, ref, _ = _both(pod)
    assert ev.outside is None or ev.outside.failure(ev.outside.positions()[0]).plugin == "NodeResourcesFit"
    assert ABSENT not in ev.histogram()
    assert ev.verdicts == ref.verdicts and ev.fit_error() == ref.fit_error()


def test_some_nodes_are_read_without_making_every_verdict() -> None:
    ev, ref, cluster = _both(_pinned("worker-a2"))
    outside = ev.outside
    assert outside is not None
    by_node = ev.memo["verdicts_by_node"]  # where the diagnosis looks for the map: ready, and lazy
    assert by_node is ev.verdicts_by_node()
    assert by_node["worker-b1"] == next(v for v in ref.verdicts if v.node == "worker-b1")
    assert "worker-b1" in by_node and "gone" not in by_node and by_node.get("gone") is None
    assert len(by_node) == 4 and list(by_node) == list(cluster.node_names)
    made = [i for i, v in enumerate(outside._verdicts or ()) if v is not None]
    assert made == [1, 2]  # the node inside, and the one looked up
    assert [v.node for v in ev.verdicts_on(["worker-b2", "worker-a1", "gone", "worker-a1"])] == \
        ["worker-a1", "worker-b2"]
    assert ev.verdicts_on(["worker-b2", "worker-a1"]) == [v for v in ref.verdicts if v.node in {"worker-a1", "worker-b2"}]
    assert outside._all is None  # no reader walked every node
    # The map and the sequence give the verdicts the walk gives, and the same objects.
    assert dict(by_node) == {v.node: v for v in ref.verdicts}
    assert all(by_node[v.node] is v for v in ev.verdicts)
    # The sequence reads as the tuple it stands for.
    assert len(ev.verdicts) == 4 and bool(ev.verdicts) and ev.total_nodes == 4
    assert ev.verdicts[-1] == ref.verdicts[-1] and ev.verdicts[1:3] == ref.verdicts[1:3]
    assert ref.verdicts == ev.verdicts and tuple(ev.verdicts) == ref.verdicts
    with pytest.raises(IndexError):
        ev.verdicts[4]


def test_verdicts_on_without_the_class_is_the_walk() -> None:
    snap = snapshot(NODES, """
apiVersion: v1
kind: Pod
metadata: {name: plain, namespace: shop}
spec:
  containers: [{name: main, image: agent, resources: {requests: {cpu: "100m"}}}]
""")
    pod = next(p for p in snap.pods if not p.node_name)
    ev = evaluate(pod, ClusterState(snap))
    assert ev.outside is None
    assert ev.verdicts_on(["worker-b2", "worker-a1"]) == [ev.verdicts[0], ev.verdicts[3]]
    assert ev.verdicts_by_node() == {v.node: v for v in ev.verdicts}


def test_an_evaluation_with_the_class_is_freed_without_the_collector() -> None:
    """No reference cycle (lazy verdicts -> their class -> its verdicts, the lazy column -> the pod's
    scratch -> the column): the audit collects rarely, and a cycle would keep each DaemonSet pod's
    evaluation alive until a full collection."""
    ev, _, _ = _both(_pinned("worker-a2"))
    assert ev.outside is not None
    ev.first_pass()
    ev.verdicts_by_node()["worker-b1"].failures  # one verdict made when looked up
    list(ev.verdicts)  # every one
    ev.verdicts[0].first
    gone = weakref.ref(ev.outside)
    column = weakref.ref(next(c for c in ev.outside.columns if isinstance(c, LazyColumn)))
    gc.disable()
    try:
        del ev
        assert gone() is None and column() is None
    finally:
        gc.enable()
