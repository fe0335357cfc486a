"""NodeResourcesFit's column names the nodes short of each request without visiting them (prefixes
of the nodes sorted by free capacity) and makes a node's failures when read. When most nodes are
short of one resource, evaluate() keeps the nodes it rejects that no earlier filter rejects as one
class (framework._Outside with the column's answers as their first reasons, ClassGroups counting
them per reason). Every answer must be the one the node-by-node walk gives, and each node's verdict
what the filters say on that node alone."""

from __future__ import annotations

import pytest

from podtriage.decide.preemption import preemption_outlook
from podtriage.diagnose.scheduling import SchedulingDiagnosis
from podtriage.scheduler.framework import (
    ClusterState,
    CycleState,
    Evaluation,
    effective_requests,
    evaluate,
)
from podtriage.scheduler.plugins import DEFAULT_PLUGINS

from .test_differential_fixes import snapshot
from .test_uniform_class import _made, _plugins, assert_freed_without_the_collector, evaluate_both


def _node(name: str, cpu: str, mem: str = "8Gi", pods: int = 110, gpu: int = -1, taint: str = "",
          cordon: bool = False) -> str:
    alloc = f'cpu: "{cpu}", memory: {mem}, pods: "{pods}"' + (f', nvidia.com/gpu: "{gpu}"' if gpu >= 0 else "")
    spec = "{unschedulable: true}" if cordon else \
        f"{{taints: [{{key: {taint}, effect: NoSchedule}}]}}" if taint else "{}"
    return f"""
apiVersion: v1
kind: Node
metadata: {{name: {name}, labels: {{kubernetes.io/hostname: {name}}}}}
spec: {spec}
status: {{allocatable: {{{alloc}}}}}
"""


def _running(name: str, node: str, cpu: str, mem: str = "1Gi") -> str:
    return f"""
apiVersion: v1
kind: Pod
metadata: {{name: {name}, namespace: busy}}
spec:
  nodeName: {node}
  containers: [{{name: main, image: app, resources: {{requests: {{cpu: "{cpu}", memory: {mem}}}}}}}]
status: {{phase: Running}}
"""


# Nine nodes: roomy and busy ones, a cordoned one, one full of pods, two GPU nodes (one tainted),
# one advertising 0 GPUs, one short of memory, one with the most memory and little cpu.
NODES = "---".join([
    _node("n0", "4"), _node("n1", "4"), _node("n2", "8", cordon=True), _node("n3", "2", pods=1),
    _node("n4", "16", gpu=4, taint="nvidia.com/gpu"), _node("n5", "16", gpu=2), _node("n6", "4", gpu=0),
    _node("n7", "4", mem="1Gi"), _node("n8", "1", mem="64Gi"),
]) + "---" + "---".join([_running("a", "n1", "3"), _running("b", "n3", "500m"), _running("c", "n5", "15")])
# The first node full of pods and short of cpu: its two reasons are met at the same node.
FULL_FIRST = "---".join([_node("m0", "2", pods=1), _node("m1", "4"), _node("m2", "1"), _running("d", "m0", "1")])


def _pod(cpu: str, mem: str = "512Mi", gpu: int = 0, extra: str = "") -> str:
    req = f'cpu: "{cpu}", memory: {mem}' + (f', nvidia.com/gpu: "{gpu}"' if gpu else "")
    return f"""
apiVersion: v1
kind: Pod
metadata: {{name: asks, namespace: ml}}
spec:
{extra}  containers: [{{name: main, image: job, resources: {{requests: {{{req}}}, limits: {{{req}}}}}}}]
"""


# Larger than every node; short of cpu on most (some short of memory too, one full of pods); a GPU
# most nodes have none of (with its taint tolerated, and not); short of memory everywhere and of cpu
# on some; a small pod most nodes fit (no class: the walk).
CASES = [
    _pod("64"),
    _pod("3", mem="2Gi"),
    _pod("1", gpu=1),
    _pod("1", gpu=1, extra="  tolerations: [{key: nvidia.com/gpu, operator: Exists}]\n"),
    _pod("2", mem="12Gi"),
    _pod("100m"),
    _pod("2", mem="100Gi"),  # n8 has the most memory free, but is short of cpu too
]


def _both(pod_yaml: str) -> tuple[Evaluation, Evaluation, ClusterState]:
    return evaluate_both(NODES, pod_yaml, _plugins(eager=True))


@pytest.mark.parametrize("pod", CASES)
def test_fit_class_gives_the_node_by_node_answers(pod: str) -> None:
    ev, ref, cluster = _both(pod)
    assert ref.outside is None
    got_groups, _ = ev.first_pass()
    assert ev.feasible == ref.feasible
    assert ev.histogram() == ref.histogram()
    assert ev.code_counts() == ref.code_counts()
    assert ev.code_counts(by_resource=True) == ref.code_counts(by_resource=True)
    assert ev.fit_error() == ref.fit_error()
    assert ev.error == ref.error
    if ev.outside is not None:
        # Counted from the class: no verdict of a node in it is made for the counts.
        slots = ev.outside._verdicts
        assert slots is not None
        assert not any(v is not None and _made(v) for i, v in enumerate(slots) if i not in ev.outside.inside)
    ref_groups, _ = ref.first_pass()
    assert list(got_groups.items()) == list(ref_groups.items())  # the same groups, in the same order
    # Each verdict, by name or in order, is the one the walk made, and what each filter says on that
    # node alone.
    by_node = ev.verdicts_by_node()
    assert [by_node[v.node] for v in ref.verdicts] == list(ref.verdicts)
    assert ev.verdicts == ref.verdicts
    assert [v.first for v in ev.verdicts] == [v.first for v in ref.verdicts]
    state = CycleState(pod=ev.pod, cluster=cluster, requests=effective_requests(ev.pod))
    for info, v in zip(cluster.infos, ev.verdicts):
        alone = [f for cls in DEFAULT_PLUGINS for f in cls().filter(state, info) if cls().applies(state)]
        assert list(v.failures) == alone, info.name
        first = next(([f for f in cls().filter(state, info)] for cls in DEFAULT_PLUGINS
                      if cls().applies(state) and cls().filter(state, info)), [])
        assert list(v.first) == first, info.name


def test_which_pods_make_a_class() -> None:
    too_large, _, _ = _both(CASES[0])
    assert too_large.outside is not None
    # n2 is cordoned and n4 tainted (rejected earlier): every other node is the class.
    assert too_large.outside.inside == [2, 4]
    gpu, _, _ = _both(CASES[2])
    assert gpu.outside is not None and gpu.outside.inside == [2, 4, 5]  # n5 has a GPU free
    small, _, _ = _both(CASES[5])
    assert small.outside is None  # n3 (full) and n7... most nodes fit: the walk


def test_several_reasons_a_node_are_counted_once_per_node() -> None:
    ev, ref, _ = _both(CASES[4])  # 12Gi everywhere too much; 2 cpu too much on n1, n3 (and full)
    assert ev.outside is not None
    counts = ev.code_counts()
    assert counts == ref.code_counts()
    # Once per node with any Insufficient reason first (n3 has cpu and memory both).
    assert counts["insufficient"] == sum(1 for v in ref.verdicts if any(f.code == "insufficient" for f in v.first))
    assert counts["insufficient"] < sum(1 for v in ref.verdicts for f in v.first if f.code == "insufficient")
    n3 = ev.verdicts_by_node()["n3"]
    assert [f.reason for f in n3.first] == ["Too many pods", "Insufficient cpu", "Insufficient memory"]


def test_lookups_make_only_what_they_read() -> None:
    ev, ref, _ = _both(CASES[0])
    out = ev.outside
    assert out is not None and out._verdicts is not None
    got = ev.verdicts_on(["n7", "n0", "nowhere"])
    assert got == [ref.verdicts[0], ref.verdicts[7]]  # node order, unknown names left out
    made = [ev.verdicts_by_node()[n].node for n in ("n0", "n7")]
    assert [out.names[i] for i, v in enumerate(out._verdicts) if v is not None and i not in out.inside] == made
    col = out.columns[out.after - 1]
    assert sorted(col._made) == sorted({0, 7} | set(out.inside) & set(col.rejected))  # type: ignore[attr-defined]


def test_an_evaluation_of_the_class_is_freed_without_the_collector() -> None:
    snap = snapshot(NODES, CASES[0])
    pod = next(p for p in snap.pods if not p.node_name)
    assert_freed_without_the_collector(evaluate(pod, ClusterState(snap)))


@pytest.mark.parametrize("nodes,pod", [(NODES, c) for c in CASES] + [(FULL_FIRST, _pod("3"))])
def test_the_diagnosis_of_the_class_is_that_of_the_walk(nodes: str, pod: str) -> None:
    """The signals (nodes, free amounts, the node to shrink the request for) and the preemption
    outlook read the class's nodes as positions and free amounts: the same as from every verdict."""
    snap = snapshot(nodes, pod)
    p = next(x for x in snap.pods if not x.node_name)
    ev, ref = evaluate(p, ClusterState(snap)), evaluate(p, ClusterState(snap), _plugins(eager=True))
    got = SchedulingDiagnosis(p, snap, ev).signals()
    assert got == SchedulingDiagnosis(p, snap, ref).signals()
    # (The GPU pods ask for the GPU nodes: the class, the nodes without one, is background.)
    assert any(s.name == "insufficient-resources" for s in got) == (pod not in (CASES[2], CASES[3], CASES[5]))
    targets = SchedulingDiagnosis(p, snap, ref).intent.targets
    cluster = ClusterState(snap)
    assert preemption_outlook(p, cluster, ev, targets, len(snap.nodes)) == \
        preemption_outlook(p, cluster, ref, targets, len(snap.nodes))
    if ev.outside is not None and ev.outside.clean:
        # Only the nodes kept out of the class and the few the signals name were made.
        slots = ev.outside._verdicts
        assert slots is not None
        made = [i for i, v in enumerate(slots) if v is not None and _made(v) and i not in ev.outside.inside]
        assert len(made) <= 3, made


def test_a_class_node_rejected_by_a_later_filter_is_read_from_its_verdict() -> None:
    # A host port held on n0 and n7 (NodePorts runs before NodeResourcesFit: those two are kept out
    # of the class) and a spread constraint (after it: the class is not clean).
    ports = _running("holder", "n0", "100m").replace("containers: [{name: main, image: app,",
                                                      "containers: [{name: main, image: app, ports: [{containerPort: 80, hostPort: 8080}],")
    pod = _pod("64").replace("containers: [{name: main, image: job,",
                             "containers: [{name: main, image: job, ports: [{containerPort: 80, hostPort: 8080}],")
    snap = snapshot(NODES, ports, pod)
    p = next(x for x in snap.pods if not x.node_name)
    ev, ref = evaluate(p, ClusterState(snap)), evaluate(p, ClusterState(snap), _plugins(eager=True))
    assert ev.outside is not None and 0 in ev.outside.inside
    assert ev.verdicts == ref.verdicts
    assert SchedulingDiagnosis(p, snap, ev).signals() == SchedulingDiagnosis(p, snap, ref).signals()
