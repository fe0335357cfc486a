"""The classes at the size where evaluate() and the diagnosis switch to their many-node paths (more
than 64 nodes kept out of a class or read at once): a pool's nodes and the tainted nodes made column
by column, the tainted nodes' failures made when read, a corrected selector's targets made together.
Every answer (verdicts, the scheduler's view, the signals, the preemption outlook) must be the one
the node-by-node walk gives."""

from __future__ import annotations

import pytest

from podtriage.decide.preemption import preemption_outlook
from podtriage.diagnose.scheduling import SchedulingDiagnosis
from podtriage.scheduler.framework import ClusterState, Column, CycleState, effective_requests, evaluate
from podtriage.scheduler.plugins import DEFAULT_PLUGINS

from .test_differential_fixes import snapshot
from .test_fit_class import _pod
from .test_uniform_class import _plugins


def _cluster() -> str:
    """240 nodes in three zones: a general pool (a third busy, some full of pods, a few cordoned),
    a tainted GPU pool of 80, and a tainted infra pool of 40; the zone label on every node, the
    deprecated one on none."""
    docs = []
    for i in range(240):
        zone = f"zone-{'abc'[i % 3]}"
        labels = {"kubernetes.io/hostname": f"n{i:03d}", "topology.kubernetes.io/zone": zone}
        spec: dict[str, object] = {}
        alloc = {"cpu": "8", "memory": "32Gi", "pods": "110"}
        if 120 <= i < 200:
            labels["accelerator"] = "a100"
            spec["taints"] = [{"key": "nvidia.com/gpu", "effect": "NoSchedule"}]
            alloc["nvidia.com/gpu"] = "8"
        elif i >= 200:
            labels["node-role.kubernetes.io/infra"] = ""
            spec["taints"] = [{"key": "node-role.kubernetes.io/infra", "effect": "NoSchedule"}]
        if i % 37 == 5:
            spec["unschedulable"] = True
        if i % 29 == 3:
            alloc["pods"] = "1"
        lab = ", ".join(f"{k}: '{v}'" for k, v in labels.items())
        docs.append(f"apiVersion: v1\nkind: Node\nmetadata: {{name: n{i:03d}, labels: {{{lab}}}}}\n"
                    f"spec: {spec!r}\nstatus: {{allocatable: {alloc!r}}}\n")
        if i % 3 == 0 or i % 29 == 3:  # busy: 6 of 8 cpu taken (and the full nodes' one pod)
            gpu = ", nvidia.com/gpu: '7'" if 120 <= i < 200 else ""
            docs.append(f"apiVersion: v1\nkind: Pod\nmetadata: {{name: busy-{i}, namespace: busy}}\n"
                        f"spec: {{nodeName: n{i:03d}, containers: [{{name: c, image: x, resources: "
                        f"{{requests: {{cpu: '6', memory: 4Gi{gpu}}}, limits: {{cpu: '6', memory: 4Gi{gpu}}}}}}}]}}\n"
                        "status: {phase: Running}\n")
    return "---\n".join(docs).replace("'", '"')


NODES = _cluster()


GPU_TOL = "  tolerations: [{key: nvidia.com/gpu, operator: Exists}]\n"
ANY_TAINT = "  tolerations: [{operator: Exists}]\n"
CASES = {
    "larger than every node": _pod("64"),
    "short on the busy third": _pod("3"),
    "a GPU, the pool tainted": _pod("1", gpu=1),
    "the a100 pool, too many GPUs": _pod("1", gpu=9, extra="  nodeSelector: {accelerator: a100}\n" + GPU_TOL),
    "the a100 pool, busy GPUs": _pod("1", gpu=2, extra="  nodeSelector: {accelerator: a100}\n" + GPU_TOL),
    "a queue label no node has": _pod("1", extra="  nodeSelector: {batch.example.com/queue: q7}\n"),
    "a deprecated zone label": _pod("3", extra="  nodeSelector: {failure-domain.beta.kubernetes.io/zone: zone-a}\n"),
    "the infra pool": _pod("3", extra="  nodeSelector: {node-role.kubernetes.io/infra: ''}\n"),
    "a small pod": _pod("100m"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_the_classes_give_the_node_by_node_answers(name: str) -> None:
    snap = snapshot(NODES, CASES[name])
    pod = next(p for p in snap.pods if not p.node_name)
    ev, ref = evaluate(pod, ClusterState(snap)), evaluate(pod, ClusterState(snap), _plugins(eager=True))
    assert ref.outside is None
    # The diagnosis first (it reads the class as it is, before any verdict is walked), then the
    # preemption outlook, then the scheduler's view and every verdict.
    got = SchedulingDiagnosis(pod, snap, ev).signals()
    assert got == SchedulingDiagnosis(pod, snap, ref).signals()
    targets = SchedulingDiagnosis(pod, snap, ref).intent.targets
    cluster = ClusterState(snap)
    assert preemption_outlook(pod, cluster, ev, targets, 240) == preemption_outlook(pod, cluster, ref, targets, 240)
    assert ev.fit_error() == ref.fit_error()
    assert ev.code_counts(by_resource=True) == ref.code_counts(by_resource=True)
    assert list(ev.first_pass()[0].items()) == list(ref.first_pass()[0].items())
    assert ev.feasible == ref.feasible
    assert ev.verdicts == ref.verdicts
    assert [v.first for v in ev.verdicts] == [v.first for v in ref.verdicts]
    state = CycleState(pod=pod, cluster=cluster, requests=effective_requests(pod))
    for info, v in list(zip(cluster.infos, ev.verdicts))[::7]:
        alone = [f for cls in DEFAULT_PLUGINS if cls().applies(state) for f in cls().filter(state, info)]
        assert list(v.failures) == alone, info.name


def test_the_many_node_paths_are_taken() -> None:
    """The cases above reach the paths they are there for (else they would test the small ones)."""
    snap = snapshot(NODES, CASES["a queue label no node has"])
    pod = next(p for p in snap.pods if not p.node_name)
    ev = evaluate(pod, ClusterState(snap))
    out = ev.outside
    assert out is not None and len(out.inside) > 64 and out.after > 1
    slots = out._verdicts
    assert slots is not None
    # The tainted pools and the cordoned nodes are kept out of the class with their first reasons
    # only, known per snapshot: no verdict is made for them until one is read.
    tainted = [i for i in out.inside if i in out.early]
    assert len(tainted) > 64 and {out.early[i][0].code for i in tainted} == {"taint", "node-unschedulable"}
    assert all(slots[i] is None for i in tainted)
    ev.first_pass()
    assert all(slots[i] is None for i in tainted)  # the counts did not need them
    n150 = ev.verdicts_by_node()["n150"]
    assert n150.first == out.early[150] and "failures" not in n150.__dict__
    assert n150.failures  # made when read
    # Pods with the same tolerations share them (another placement, another size).
    snap = snapshot(NODES, CASES["a queue label no node has"],
                    CASES["larger than every node"].replace("name: asks,", "name: big,"))
    cluster = ClusterState(snap)
    a, b = [evaluate(p, cluster).outside for p in snap.pods if not p.node_name]
    assert a is not None and b is not None and len(a.early) > 64 and a.early is b.early
    # Pods larger than every node, of two sizes: the nodes kept out of their classes are one list.
    snap = snapshot(NODES, CASES["larger than every node"], _pod("65").replace("name: asks,", "name: bigger,"))
    cluster = ClusterState(snap)
    a, b = [evaluate(p, cluster).outside for p in snap.pods if not p.node_name]
    assert a is not None and b is not None and a.multi is not None and a.inside is b.inside
    snap = snapshot(NODES, CASES["larger than every node"])
    fit = evaluate(next(p for p in snap.pods if not p.node_name), ClusterState(snap))
    assert fit.outside is not None and fit.outside.multi is not None and fit.outside.clean


def test_pods_short_of_the_same_nodes_share_them_and_only_they() -> None:
    """The nodes short of each resource are kept per snapshot by which nodes are short (pods whose
    requests fall between the same free amounts share them): diagnosed in turn on one snapshot,
    pods of other sizes and placements each get the node-by-node answers, and two pods short of the
    same nodes share one list of them."""
    asks = [("64", ""), ("3", ""), ("65", ""), ("2500m", ""), ("9", ""),
            ("3", "  nodeSelector: {failure-domain.beta.kubernetes.io/zone: zone-a}\n"),
            ("3", "  nodeSelector: {failure-domain.beta.kubernetes.io/zone: zone-b}\n"), ("3", GPU_TOL),
            ("3", "  nodeSelector: {topology.kubernetes.io/zone: zone-a}\n" + ANY_TAINT),
            ("3", "  nodeSelector: {topology.kubernetes.io/zone: zone-b}\n" + ANY_TAINT)]
    pods = [_pod(cpu, extra=extra).replace("name: asks,", f"name: asks-{k},") for k, (cpu, extra) in enumerate(asks)]
    snap = snapshot(NODES, *pods)
    cluster = ClusterState(snap)
    got = {}
    for pod in [p for p in snap.pods if not p.node_name]:
        ev = evaluate(pod, cluster)
        mine = SchedulingDiagnosis(pod, snap, ev).signals()
        alone = snapshot(NODES, next(d for d in pods if f"name: {pod.name}," in d))
        ref = evaluate(pod, ClusterState(alone), _plugins(eager=True))
        assert mine == SchedulingDiagnosis(pod, alone, ref).signals(), pod.name
        assert ev.fit_error() == ref.fit_error() and ev.feasible == ref.feasible, pod.name
        assert list(ev.first_pass()[0].items()) == list(ref.first_pass()[0].items()), pod.name
        assert [v.failures for v in ev.verdicts] == [v.failures for v in ref.verdicts], pod.name
        got[pod.name] = {s.params["resource"]: s.nodes for s in mine if s.name == "insufficient-resources"}
    # 64, 65 and 9 cpu: larger than every node, the same nodes short of cpu (one list); 2500m cpu is
    # short on the busy third as 3 cpu is.
    assert got["asks-0"]["cpu"] is got["asks-2"]["cpu"] is got["asks-4"]["cpu"]
    assert got["asks-1"]["cpu"] is got["asks-3"]["cpu"]
    assert len(got["asks-1"]["cpu"]) < len(got["asks-0"]["cpu"])
    assert got["asks-5"]["cpu"] != got["asks-6"]["cpu"]  # other targets (the corrected zone), other nodes
    # (and with nothing else failing on either zone's nodes: their short nodes told apart by the targets alone)
    assert got["asks-8"]["cpu"] != got["asks-9"]["cpu"]
    # The cordons' and taints' failures were read from what the shared columns keep.
    assert any("_failures" in c.__dict__ for c in cluster._columns.values() if isinstance(c, Column))
