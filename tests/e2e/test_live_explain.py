"""podtriage explain against the real kube-scheduler: one scenario per category it decides.

Each class is one group of scenarios sharing a set of nodes (the scheduler's "0/N nodes" counts
every node, so a group has the cluster to itself). The class-scoped ``group`` fixture does what
the ``clean_nodes`` and ``e2e_namespace`` fixtures do, once per group instead of once per test:
delete every Node, create the group's Nodes (with status, as a kubelet would), the pods "running"
on them and a fresh namespace; create every pending pod; wait for each pod's real
``FailedScheduling`` event and ``PodScheduled`` condition; write one ``podtriage snapshot``. At the
end it force-deletes the group's pods (a pending pod left behind would be scheduled onto the next
group's nodes) and its nodes.

Each test then runs, as subprocesses and as the ``podtriage-cli`` identity,
``podtriage explain POD -n NS -o json`` live and ``podtriage explain POD -n NS --from SNAPSHOT -o
json``, and asserts exit code 1, the top root cause's category (and rule where it matters), that
its message names the exact key/object, and that live and snapshot agree on the top cause.

PODTRIAGE_RECORD_FIXTURES=1 keeps each scenario's real FailedScheduling message and scheduler log
lines under fixtures/real/.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from .controlplane import ExternalCluster
from .scenarios import (
    Podtriage,
    Verdict,
    bound_pod_body,
    create_running_pod,
    pod_body,
    record_fixture,
    summary,
    top_cause,
    wait_for_verdict,
)

pytestmark = pytest.mark.e2e

EXIT_BLOCKED = 1


@dataclass(frozen=True)
class Scenario:
    id: str  # also the pod name and the fixtures/real/ file prefix
    pod: dict[str, Any]
    category: str
    mentions: tuple[str, ...]  # the top cause's message must name each
    rule: str | None = None
    scheduler_says: tuple[str, ...] = ()  # the real FailedScheduling message contains each
    expect: str = "event"  # see wait_for_verdict
    also_causes: tuple[str, ...] = ()  # rule ids that must be among the root causes too


@dataclass
class Group:
    name: str
    namespace: str
    nodes: list[str]
    snapshot: Path
    snapshot_result: Any
    verdicts: dict[str, Verdict] = field(default_factory=dict)
    reports: dict[str, dict[str, Any]] = field(default_factory=dict)  # scenario id -> live report


def _setup_group(cp: Any, cli: Podtriage, tmp: Path, name: str, nodes: Callable[[Any], list[str]],
                 existing: Callable[[Any, str], None] | None, scenarios: Sequence[Scenario]):
    if isinstance(cp, ExternalCluster):
        pytest.skip("the scenarios delete every node: not on an external cluster")
    cp.delete_all_nodes()
    ns = cp.ensure_namespace(f"e2e-{name}-{uuid.uuid4().hex[:6]}")
    try:
        node_names = nodes(cp)
        if existing is not None:
            existing(cp, ns)
        core = cp.core_v1()
        for sc in scenarios:
            core.create_namespaced_pod(ns, sc.pod)
        verdicts = {}
        for sc in scenarios:
            verdicts[sc.id] = wait_for_verdict(cp, ns, sc.id, expect=sc.expect,
                                               timeout=2.0 if sc.expect == "nothing" else 45.0)
        snap = tmp / f"{name}.json"
        res = cli.run("snapshot", "-n", ns, "-o", str(snap))
        assert res.returncode == 0, res.describe()
        yield Group(name, ns, node_names, snap, res, verdicts)
    finally:
        cp.force_delete_pods(ns)
        cp.delete_all_nodes()


def _check(group: Group, sc: Scenario, cli: Podtriage) -> None:
    verdict = group.verdicts[sc.id]
    total = len(group.nodes)
    if sc.expect == "event":
        assert verdict.event_message is not None
        head = f"0/{total} nodes are available" if total else "no nodes available to schedule pods"
        assert verdict.event_message.startswith(head), verdict.event_message
        for text in sc.scheduler_says:
            assert text in verdict.event_message, (text, verdict.event_message)
    elif sc.expect == "gated":
        assert verdict.event_message is None, verdict.event_message
    else:
        assert verdict.event_message is None and verdict.condition is None, verdict
    record_fixture(sc.id, verdict)

    live_p = cli.start("explain", sc.id, "-n", group.namespace, "-o", "json")
    snap_p = cli.start("explain", sc.id, "-n", group.namespace, "--from", str(group.snapshot), "-o", "json")
    live, snap = cli.finish(live_p), cli.finish(snap_p)
    context = f"real scheduler: {verdict.event_message!r} condition={verdict.condition}"
    # Live, ages are measured to the API server's clock; the snapshot file, to its capture time.
    assert live.json()["source"]["judgedAtFrom"] == "the API server's clock", live.json()["source"]
    assert snap.json()["source"]["judgedAtFrom"] == "the snapshot's capture time", snap.json()["source"]
    for res in (live, snap):
        doc = res.json()
        assert res.returncode == EXIT_BLOCKED, res.describe()
        assert doc["blocked"] is True, summary(doc)
        top = top_cause(doc)
        assert top["category"] == sc.category, (context, summary(doc))
        if sc.rule is not None:
            assert top["rule"] == sc.rule, (context, summary(doc))
        for text in sc.mentions:
            assert text in top["message"], (text, top["message"], context)
        assert top["evidence"], "a root cause must cite its evidence"
        rules = {c["rule"] for c in doc["rootCauses"]}
        for rule in sc.also_causes:
            assert rule in rules, (rule, summary(doc))
    group.reports[sc.id] = live.json()
    if sc.expect == "nothing":
        # The harness runs kube-scheduler with --leader-elect=false and not as a pod: the live
        # collector cannot see it (no lease, no kube-system pod) and must not invent "volcano".
        import json as _json

        header = _json.loads(group.snapshot.read_text())["metadata"]
        assert header.get("schedulerNames") in (None, ["default-scheduler"]), header
    lt, st = top_cause(live.json()), top_cause(snap.json())
    print(f"[{sc.id}] scheduler: {verdict.event_message or verdict.condition}\n"
          f"[{sc.id}] podtriage: {summary(live.json())}\n[{sc.id}] schedulers seen: "
          f"{live.json()['pods'][0]['scheduler'].get('schedulers')} warnings: {live.json()['warnings']}\n"
          f"[{sc.id}] comparison: {live.json()['pods'][0]['scheduler'].get('comparison')} "
          f"confidence: {live.json()['confidence']} missing: {live.json()['missing']}")
    assert (lt["rule"], lt["category"], lt["message"]) == (st["rule"], st["category"], st["message"]), \
        ("live and snapshot disagree", lt, st)


def _check_counts(group: Group, sc: Scenario, cli: Podtriage) -> None:
    """podtriage's per-node verdicts agree with the real scheduler's counts (no disagreement found)."""
    doc = group.reports.get(sc.id)
    if doc is None:
        doc = cli.run("explain", sc.id, "-n", group.namespace, "-o", "json").json()
    sched = doc["pods"][0]["scheduler"]
    assert sched.get("comparison") == [], (group.verdicts[sc.id].event_message, sched.get("comparison"),
                                           sched.get("ours"))
    assert doc["confidence"] == 1.0, (doc["confidence"], doc["missing"])


def _counts_params(scenarios: Sequence[Scenario]) -> list[Any]:
    out = []
    for sc in scenarios:
        if sc.expect != "event":
            continue
        out.append(pytest.param(sc, id=sc.id))
    return out


def _ids(scenarios: Sequence[Scenario]) -> list[str]:
    return [s.id for s in scenarios]


# ==========================================================================================
# Resources: two 4-cpu/8Gi nodes with one nvidia.com/gpu each, mostly used by running pods.

RESOURCE_NODES = ("res-a", "res-b")
PRIORITY_CLASS = "e2e-high-no-preempt"


def _resource_nodes(cp: Any) -> list[str]:
    for n in RESOURCE_NODES:
        cp.create_node(n, allocatable={"cpu": "4", "memory": "8Gi", "nvidia.com/gpu": "1"})
    return list(RESOURCE_NODES)


def _resource_existing(cp: Any, ns: str) -> None:
    from kubernetes import client
    from kubernetes.client.rest import ApiException

    for n in RESOURCE_NODES:
        cp.create_bound_pod(ns, f"hog-{n}", n, requests={"cpu": "3", "memory": "6Gi", "nvidia.com/gpu": "1"},
                            limits={"nvidia.com/gpu": "1"}, labels={"app": "hog"})
    try:
        client.SchedulingV1Api(cp.api_client()).create_priority_class({
            "apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
            "metadata": {"name": PRIORITY_CLASS}, "value": 100000, "preemptionPolicy": "Never",
            "description": "podtriage e2e: high priority that may not preempt"})
    except ApiException as e:
        if e.status != 409:
            raise


RESOURCE_SCENARIOS = (
    Scenario("insufficient-cpu", pod_body("insufficient-cpu", requests={"cpu": "3"}),
             "insufficient-resources", ("cpu",), scheduler_says=("2 Insufficient cpu",)),
    Scenario("insufficient-memory", pod_body("insufficient-memory", requests={"memory": "5Gi"}),
             "insufficient-resources", ("memory",), scheduler_says=("2 Insufficient memory",)),
    Scenario("gpu-exhausted", pod_body("gpu-exhausted", requests={"nvidia.com/gpu": "1"},
                                       limits={"nvidia.com/gpu": "1"}),
             "insufficient-resources", ("nvidia.com/gpu",), rule="accelerator-exhausted-held",
             scheduler_says=("2 Insufficient nvidia.com/gpu",)),
    Scenario("preemption-never", pod_body("preemption-never", requests={"cpu": "3"},
                                          priorityClassName=PRIORITY_CLASS),
             "insufficient-resources", ("cpu",), also_causes=("preemption-disabled",),
             scheduler_says=("2 Insufficient cpu",)),
)


@pytest.fixture(scope="class")
def resources_group(control_plane, podtriage_cli, tmp_path_factory):
    yield from _setup_group(control_plane, podtriage_cli, tmp_path_factory.mktemp("resources"), "resources",
                            _resource_nodes, _resource_existing, RESOURCE_SCENARIOS)


class TestResources:
    @pytest.mark.parametrize("sc", RESOURCE_SCENARIOS, ids=_ids(RESOURCE_SCENARIOS))
    def test_scenario(self, resources_group, sc, podtriage_cli):
        _check(resources_group, sc, podtriage_cli)

    @pytest.mark.parametrize("sc", _counts_params(RESOURCE_SCENARIOS))
    def test_counts_agree_with_scheduler(self, resources_group, sc, podtriage_cli):
        _check_counts(resources_group, sc, podtriage_cli)


# ==========================================================================================
# Labels, affinity, ports, spreading, volumes, gates, scheduler names: two healthy nodes in
# two zones; running pods that hold host port 8080, carry app=web and app=spread on both.

LAB_NODES = {"lab-a": "zone-a", "lab-b": "zone-b"}
IMMEDIATE_SC = "e2e-immediate-unprovisioned"
PINNED_PV = "e2e-pv-on-gone-node"


def _lab_nodes(cp: Any) -> list[str]:
    for n, zone in LAB_NODES.items():
        cp.create_node(n, labels={"topology.kubernetes.io/zone": zone, "disktype": "ssd"})
    return list(LAB_NODES)


def _lab_existing(cp: Any, ns: str) -> None:
    from kubernetes import client
    from kubernetes.client.rest import ApiException

    for n in LAB_NODES:
        create_running_pod(cp, ns, bound_pod_body(f"proxy-{n}", n, labels={"app": "old-proxy"},
                                                  ports=[{"containerPort": 8080, "hostPort": 8080,
                                                          "protocol": "TCP"}]))
        create_running_pod(cp, ns, bound_pod_body(f"web-{n}", n, labels={"app": "web"}))
        create_running_pod(cp, ns, bound_pod_body(f"spread-{n}", n, labels={"app": "spread"}))

    core = cp.core_v1()
    try:
        client.StorageV1Api(cp.api_client()).create_storage_class({
            "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": IMMEDIATE_SC},
            "provisioner": "example.com/nobody-runs-this", "volumeBindingMode": "Immediate"})
    except ApiException as e:
        if e.status != 409:
            raise
    core.create_namespaced_persistent_volume_claim(ns, {
        "apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "data-unbound"},
        "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": IMMEDIATE_SC,
                 "resources": {"requests": {"storage": "1Gi"}}}})

    # A PV pinned to a node that does not exist, bound to a claim (both phases Bound).
    pvc = core.create_namespaced_persistent_volume_claim(ns, {
        "apiVersion": "v1", "kind": "PersistentVolumeClaim",
        "metadata": {"name": "data-pinned", "annotations": {"pv.kubernetes.io/bind-completed": "yes"}},
        "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "", "volumeName": PINNED_PV,
                 "resources": {"requests": {"storage": "1Gi"}}}})
    with _suppress_404():
        core.delete_persistent_volume(PINNED_PV)  # from an earlier run of the group in this session
    core.create_persistent_volume({
        "apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": PINNED_PV},
        "spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"], "storageClassName": "",
                 "persistentVolumeReclaimPolicy": "Retain", "local": {"path": "/mnt/disks/ssd1"},
                 "claimRef": {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "namespace": ns,
                              "name": "data-pinned", "uid": pvc.metadata.uid},
                 "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                     {"key": "kubernetes.io/hostname", "operator": "In", "values": ["gone-node-7"]}]}]}}}})
    pv = cp.api_client().sanitize_for_serialization(core.read_persistent_volume(PINNED_PV))
    pv["status"] = {"phase": "Bound"}
    core.replace_persistent_volume_status(PINNED_PV, pv)
    pvc_d = cp.api_client().sanitize_for_serialization(core.read_namespaced_persistent_volume_claim("data-pinned", ns))
    pvc_d["status"] = {"phase": "Bound", "accessModes": ["ReadWriteOnce"], "capacity": {"storage": "1Gi"}}
    core.replace_namespaced_persistent_volume_claim_status("data-pinned", ns, pvc_d)


class _suppress_404:
    def __enter__(self) -> None:
        return None

    def __exit__(self, typ, exc, tb) -> bool:
        from kubernetes.client.rest import ApiException

        return isinstance(exc, ApiException) and exc.status == 404


def _claim(name: str) -> dict[str, Any]:
    return {"name": "data", "persistentVolumeClaim": {"claimName": name}}


def _term(key: str, op: str, values: list[str]) -> dict[str, Any]:
    return {"nodeSelectorTerms": [{"matchExpressions": [{"key": key, "operator": op, "values": values}]}]}


LAB_SCENARIOS = (
    Scenario("node-selector-key-absent", pod_body("node-selector-key-absent", nodeSelector={"gpu-node": "true"}),
             "node-selector-mismatch", ("gpu-node",),
             scheduler_says=("2 node(s) didn't match Pod's node affinity/selector",)),
    Scenario("node-selector-typo", pod_body("node-selector-typo", nodeSelector={"disktyp": "ssd"}),
             "node-selector-mismatch", ("disktyp", "disktype")),
    Scenario("deprecated-zone-label",
             pod_body("deprecated-zone-label", nodeSelector={"failure-domain.beta.kubernetes.io/zone": "zone-a"}),
             "deprecated-label", ("failure-domain.beta.kubernetes.io/zone", "topology.kubernetes.io/zone")),
    Scenario("required-node-affinity",
             pod_body("required-node-affinity", affinity={"nodeAffinity": {
                 "requiredDuringSchedulingIgnoredDuringExecution":
                     _term("topology.kubernetes.io/zone", "In", ["eu-west-1a"])}}),
             "node-affinity-mismatch", ("topology.kubernetes.io/zone", "eu-west-1a")),
    Scenario("gpu-absent", pod_body("gpu-absent", requests={"nvidia.com/gpu": "1"}, limits={"nvidia.com/gpu": "1"}),
             "extended-resource-missing", ("nvidia.com/gpu",), scheduler_says=("2 Insufficient nvidia.com/gpu",)),
    Scenario("host-port-conflict",
             pod_body("host-port-conflict", ports=[{"containerPort": 8080, "hostPort": 8080, "protocol": "TCP"}]),
             "host-port-conflict", ("8080",), scheduler_says=("didn't have free ports",)),
    Scenario("pod-affinity",
             pod_body("pod-affinity", labels={"app": "needs-cache"}, affinity={"podAffinity": {
                 "requiredDuringSchedulingIgnoredDuringExecution": [
                     {"labelSelector": {"matchLabels": {"app": "cache"}},
                      "topologyKey": "kubernetes.io/hostname"}]}}),
             "pod-affinity", ("app=cache",), scheduler_says=("didn't match pod affinity rules",)),
    Scenario("pod-anti-affinity",
             pod_body("pod-anti-affinity", labels={"app": "web"}, affinity={"podAntiAffinity": {
                 "requiredDuringSchedulingIgnoredDuringExecution": [
                     {"labelSelector": {"matchLabels": {"app": "web"}},
                      "topologyKey": "kubernetes.io/hostname"}]}}),
             "pod-anti-affinity", ("kubernetes.io/hostname",),
             scheduler_says=("didn't match pod anti-affinity rules",)),
    Scenario("topology-spread",
             pod_body("topology-spread", labels={"app": "spread"}, topologySpreadConstraints=[
                 {"maxSkew": 1, "minDomains": 3, "topologyKey": "topology.kubernetes.io/zone",
                  "whenUnsatisfiable": "DoNotSchedule", "labelSelector": {"matchLabels": {"app": "spread"}}}]),
             "topology-spread", ("topology.kubernetes.io/zone",),
             scheduler_says=("didn't match pod topology spread constraints",)),
    Scenario("pvc-not-found", pod_body("pvc-not-found", volumes=[_claim("data-missing")]),
             "pvc-not-found", ("data-missing",), scheduler_says=('persistentvolumeclaim "data-missing" not found',)),
    Scenario("pvc-unbound-immediate", pod_body("pvc-unbound-immediate", volumes=[_claim("data-unbound")]),
             "pvc-unbound", ("data-unbound",), scheduler_says=("unbound immediate PersistentVolumeClaims",)),
    Scenario("pv-node-affinity-conflict", pod_body("pv-node-affinity-conflict", volumes=[_claim("data-pinned")]),
             "volume-node-affinity-conflict", (PINNED_PV,), scheduler_says=("didn't match PersistentVolume's node affinity",)),
    Scenario("scheduling-gated",
             pod_body("scheduling-gated", schedulingGates=[{"name": "example.com/quota-check"}]),
             "scheduling-gated", ("example.com/quota-check",), expect="gated"),
    Scenario("scheduler-name-unknown", pod_body("scheduler-name-unknown", schedulerName="volcano"),
             "scheduler-name-unknown", ("volcano",), expect="nothing"),
)


@pytest.fixture(scope="class")
def lab_group(control_plane, podtriage_cli, tmp_path_factory):
    yield from _setup_group(control_plane, podtriage_cli, tmp_path_factory.mktemp("lab"), "lab",
                            _lab_nodes, _lab_existing, LAB_SCENARIOS)


class TestLabelsAffinityVolumes:
    @pytest.mark.parametrize("sc", LAB_SCENARIOS, ids=_ids(LAB_SCENARIOS))
    def test_scenario(self, lab_group, sc, podtriage_cli):
        _check(lab_group, sc, podtriage_cli)

    @pytest.mark.parametrize("sc", _counts_params(LAB_SCENARIOS))
    def test_counts_agree_with_scheduler(self, lab_group, sc, podtriage_cli):
        _check_counts(lab_group, sc, podtriage_cli)


# ==========================================================================================
# Taints: both nodes dedicated=gpu:NoSchedule.

TAINT_SCENARIOS = (
    Scenario("taint-untolerated", pod_body("taint-untolerated"), "taint-untolerated",
             ("dedicated=gpu:NoSchedule",), scheduler_says=("2 node(s) had untolerated taint(s)",)),
    Scenario("taint-effect-mismatch",
             pod_body("taint-effect-mismatch", tolerations=[
                 {"key": "dedicated", "operator": "Equal", "value": "gpu", "effect": "NoExecute"}]),
             "taint-effect-mismatch", ("NoExecute", "NoSchedule", "dedicated"),
             scheduler_says=("untolerated taint",)),
)


def _taint_nodes(cp: Any) -> list[str]:
    names = ["taint-a", "taint-b"]
    for n in names:
        cp.create_node(n, labels={"pool": "gpu"}, taints=["dedicated=gpu:NoSchedule"])
    return names


@pytest.fixture(scope="class")
def taints_group(control_plane, podtriage_cli, tmp_path_factory):
    yield from _setup_group(control_plane, podtriage_cli, tmp_path_factory.mktemp("taints"), "taints",
                            _taint_nodes, None, TAINT_SCENARIOS)


class TestTaints:
    @pytest.mark.parametrize("sc", TAINT_SCENARIOS, ids=_ids(TAINT_SCENARIOS))
    def test_scenario(self, taints_group, sc, podtriage_cli):
        _check(taints_group, sc, podtriage_cli)

    @pytest.mark.parametrize("sc", _counts_params(TAINT_SCENARIOS))
    def test_counts_agree_with_scheduler(self, taints_group, sc, podtriage_cli):
        _check_counts(taints_group, sc, podtriage_cli)


# ==========================================================================================
# Node state: cordoned nodes; NotReady nodes; full nodes. One small group each.

def _cordoned_nodes(cp: Any) -> list[str]:
    names = ["cordoned-a", "cordoned-b"]
    for n in names:
        cp.create_node(n, unschedulable=True)
    return names


def _not_ready_nodes(cp: Any) -> list[str]:
    names = ["not-ready-a", "not-ready-b"]
    for n in names:
        cp.create_node(n, ready=False, taints=["node.kubernetes.io/not-ready:NoSchedule"])
    return names


def _full_nodes(cp: Any) -> list[str]:
    names = ["full-a", "full-b"]
    for n in names:
        cp.create_node(n, allocatable={"pods": "1"})
    return names


def _full_existing(cp: Any, ns: str) -> None:
    for n in ("full-a", "full-b"):
        cp.create_bound_pod(ns, f"only-pod-{n}", n, labels={"app": "only"})


NODE_STATE_GROUPS: Mapping[str, tuple[Callable, Callable | None, Scenario]] = {
    "cordoned": (_cordoned_nodes, None,
                 Scenario("nodes-cordoned", pod_body("nodes-cordoned"), "node-unschedulable",
                          ("cordoned-a",), scheduler_says=("2 node(s) were unschedulable",))),
    "not-ready": (_not_ready_nodes, None,
                  Scenario("nodes-not-ready", pod_body("nodes-not-ready"), "node-not-ready",
                           ("node.kubernetes.io/not-ready",), scheduler_says=("untolerated taint",))),
    "too-many-pods": (_full_nodes, _full_existing,
                      Scenario("too-many-pods", pod_body("too-many-pods"), "too-many-pods", ("pods",),
                               scheduler_says=("2 Too many pods",))),
    "no-nodes": (lambda cp: [], None,
                 Scenario("no-nodes", pod_body("no-nodes"), "other", ("no nodes",), rule="no-nodes",
                          scheduler_says=("no nodes available to schedule pods",))),
}

def _node_state_params() -> list[Any]:
    return [pytest.param(k) for k in NODE_STATE_GROUPS]


@pytest.fixture(scope="class", params=_node_state_params())
def node_state_group(request, control_plane, podtriage_cli, tmp_path_factory):
    nodes, existing, sc = NODE_STATE_GROUPS[request.param]
    for g in _setup_group(control_plane, podtriage_cli, tmp_path_factory.mktemp(request.param),
                          request.param, nodes, existing, [sc]):
        yield g, sc


class TestNodeState:
    def test_scenario(self, node_state_group, podtriage_cli):
        group, sc = node_state_group
        _check(group, sc, podtriage_cli)
        _check_counts(group, sc, podtriage_cli)
