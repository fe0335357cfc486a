"""DynamicResources, NodeDeclaredFeatures and the structured allocator against small clusters.

Objects are written as the API returns them (resource.k8s.io/v1) and go through the snapshot like
any input. The texts are kube-scheduler v1.37.2's (seen on the e2e control plane)."""

from __future__ import annotations

from typing import Any

import pytest

from podtriage.scheduler import dra_cel
from podtriage.scheduler.framework import ClusterState, Evaluation, evaluate
from podtriage.scheduler.preemption import postfilter
from podtriage.snapshot import Snapshot, SnapshotBuilder

DRIVER = "gpu.example.com"
KINDS = ("Node", "Pod", "ResourceClaim", "DeviceClass", "ResourceSlice", "ResourceClaimTemplate", "PriorityClass",
         "PodDisruptionBudget")


def node(name: str, cpu: str = "4", features: list[str] | None = None, labels: dict | None = None) -> dict:
    st: dict[str, Any] = {"allocatable": {"cpu": cpu, "memory": "8Gi", "pods": "110"}}
    if features:
        st["declaredFeatures"] = features
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, **(labels or {})}},
            "spec": {}, "status": st}


def dev(name: str, model: str = "a100", mem: str = "40Gi", **extra: Any) -> dict:
    return {"name": name, "attributes": {"model": {"string": model}, "index": {"int": int(name[-1])}},
            "capacity": {"memory": {"value": mem}}, **extra}


def rslice(node_name: str, devices: list[dict], **spec: Any) -> dict:
    pool = spec.pop("pool", {"name": node_name, "generation": 1, "resourceSliceCount": 1})
    return {"apiVersion": "resource.k8s.io/v1", "kind": "ResourceSlice", "metadata": {"name": f"{node_name}-s"},
            "spec": {"driver": DRIVER, "nodeName": node_name, "pool": pool, "devices": devices, **spec}}


def dclass(name: str = "gpu", extended: str = "", selectors: list[str] | None = None) -> dict:
    sels = [{"cel": {"expression": e}} for e in (selectors or [f'device.driver == "{DRIVER}"'])]
    spec: dict[str, Any] = {"selectors": sels}
    if extended:
        spec["extendedResourceName"] = extended
    return {"apiVersion": "resource.k8s.io/v1", "kind": "DeviceClass", "metadata": {"name": name}, "spec": spec}


def claim(name: str, requests: list[dict], constraints: list[dict] | None = None,
          status: dict | None = None) -> dict:
    devices: dict[str, Any] = {"requests": requests}
    if constraints:
        devices["constraints"] = constraints
    return {"apiVersion": "resource.k8s.io/v1", "kind": "ResourceClaim",
            "metadata": {"name": name, "namespace": "ml", "uid": f"uid-{name}"},
            "spec": {"devices": devices}, "status": status or {}}


def exact(name: str = "g", cls: str = "gpu", **kw: Any) -> dict:
    return {"name": name, "exactly": {"deviceClassName": cls, "allocationMode": kw.pop("mode", "ExactCount"),
                                      "count": kw.pop("count", 1), **kw}}


def pod(name: str = "p", claims: list[dict] | None = None, **spec: Any) -> dict:
    s: dict[str, Any] = {"containers": [{"name": "main", "image": "x"}], **spec}
    if claims is not None:
        s["resourceClaims"] = claims
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "ml", "uid": f"uid-{name}"},
            "spec": s, "status": {"phase": "Pending"}}


def uses(claim_name: str) -> list[dict]:
    return [{"name": "g", "resourceClaimName": claim_name}]


def snap(*objs: dict) -> Snapshot:
    b = SnapshotBuilder(source="test")
    for o in objs:
        assert b.add(o), o
    for k in KINDS:
        b.mark_collected(k)
    s = b.build()
    assert not s.meta.warnings, s.meta.warnings
    return s


def run(s: Snapshot, name: str = "p") -> Evaluation:
    return evaluate(s.pod_by_key[f"ml/{name}"], ClusterState(s))


BASE = (node("n1"), node("n2"), dclass(),
        rslice("n1", [dev("gpu-0"), dev("gpu-1", "h100", "80Gi")]), rslice("n2", [dev("gpu-0", "l4", "16Gi")]))


def test_a_claim_that_fits_somewhere_fits_there_only() -> None:
    ev = run(snap(*BASE, claim("c", [exact(count=2)]), pod(claims=uses("c"))))
    assert ev.feasible == ("n1",)
    assert ev.fit_error() == "0/2 nodes are available: 1 cannot allocate all claims."


def test_selectors_on_attributes_and_capacity() -> None:
    h100 = exact(selectors=[{"cel": {"expression": f'device.attributes["{DRIVER}"].model == "h100"'}}])
    big = exact(selectors=[{"cel": {"expression": f'device.capacity["{DRIVER}"].memory.compareTo(quantity("64Gi")) >= 0'}}])
    for req in (h100, big):
        assert run(snap(*BASE, claim("c", [req]), pod(claims=uses("c")))).feasible == ("n1",)


def test_a_selector_that_fails_at_run_time_aborts_the_attempt() -> None:
    bad = exact(selectors=[{"cel": {"expression": f'device.attributes["{DRIVER}"].missing == "x"'}}])
    ev = run(snap(*BASE, claim("c", [bad]), pod(claims=uses("c"))))
    assert ev.error is not None and ev.feasible == ()
    assert "CEL runtime error: no such key: missing" in ev.error.reason
    assert ev.error.reason.startswith('running "DynamicResources" filter plugin: ')


def test_an_unknown_domain_is_an_empty_map_not_an_error() -> None:
    guarded = exact(selectors=[{"cel": {"expression": 'has(device.attributes["other.io"].model) || true'}}])
    assert run(snap(*BASE, claim("c", [guarded]), pod(claims=uses("c")))).feasible == ("n1", "n2")


def test_optional_syntax_is_never_reported_as_a_fit() -> None:
    opt = exact(selectors=[{"cel": {"expression": f'device.attributes["{DRIVER}"].?model.orValue("") == "a100"'}}])
    ev = run(snap(*BASE, claim("c", [opt]), pod(claims=uses("c"))))
    assert ev.feasible == ()
    assert {f.code for v in ev.verdicts for f in v.first} == {"dra-unknown"}


def test_allocated_devices_are_taken_and_owners_named() -> None:
    held = claim("held", [exact()], status={"allocation": {"devices": {"results": [
        {"request": "g", "driver": DRIVER, "pool": "n2", "device": "gpu-0"}]}}})
    ev = run(snap(*BASE, held, claim("c", [exact()]), pod(claims=uses("c")),
                  node("n3")))
    assert ev.feasible == ("n1",)


def test_device_taints_and_tolerations() -> None:
    taint = {"key": "unhealthy", "value": "yes", "effect": "NoSchedule"}
    objs = (node("n1"), dclass(), rslice("n1", [dev("gpu-0", taints=[taint])]))
    assert run(snap(*objs, claim("c", [exact()]), pod(claims=uses("c")))).feasible == ()
    tol = exact(tolerations=[{"key": "unhealthy", "operator": "Exists"}])
    assert run(snap(*objs, claim("c", [tol]), pod(claims=uses("c")))).feasible == ("n1",)
    none_effect = (node("n1"), dclass(), rslice("n1", [dev("gpu-0", taints=[{**taint, "effect": "None"}])]))
    assert run(snap(*none_effect, claim("c", [exact()]), pod(claims=uses("c")))).feasible == ("n1",)


def test_all_mode_first_available_and_constraints() -> None:
    assert run(snap(*BASE, claim("c", [exact(mode="All")]), pod(claims=uses("c")))).feasible == ("n1", "n2")
    first = {"name": "g", "firstAvailable": [
        {"name": "two", "deviceClassName": "gpu", "allocationMode": "ExactCount", "count": 2},
        {"name": "one", "deviceClassName": "gpu", "allocationMode": "ExactCount", "count": 1}]}
    assert run(snap(*BASE, claim("c", [first]), pod(claims=uses("c")))).feasible == ("n1", "n2")
    same = [{"matchAttribute": f"{DRIVER}/model"}]
    ev = run(snap(*BASE, claim("c", [exact("a"), exact("b")], same), pod(claims=uses("c"))))
    assert ev.feasible == ()  # n1's two devices are an a100 and an h100
    incomplete = rslice("n3", [dev("gpu-0")], pool={"name": "n3", "generation": 1, "resourceSliceCount": 2})
    ev = run(snap(node("n3"), dclass(), incomplete, claim("c", [exact(mode="All")]), pod(claims=uses("c"))))
    assert ev.error is not None and "currently being updated" in ev.error.reason


def test_shared_counters_partitionable_devices() -> None:
    counters = {"apiVersion": "resource.k8s.io/v1", "kind": "ResourceSlice", "metadata": {"name": "n1-c"},
                "spec": {"driver": DRIVER, "nodeName": "n1",
                         "pool": {"name": "n1", "generation": 1, "resourceSliceCount": 2},
                         "sharedCounters": [{"name": "mem", "counters": {"memory": {"value": "40Gi"}}}]}}
    part = [dev(f"p-{i}", consumesCounters=[{"counterSet": "mem", "counters": {"memory": {"value": "20Gi"}}}])
            for i in range(3)]
    objs = (node("n1"), dclass(), counters,
            rslice("n1", part, pool={"name": "n1", "generation": 1, "resourceSliceCount": 2}))
    assert run(snap(*objs, claim("c", [exact(count=2)]), pod(claims=uses("c")))).feasible == ("n1",)
    assert run(snap(*objs, claim("c", [exact(count=3)]), pod(claims=uses("c")))).feasible == ()


def test_prefilter_and_pre_enqueue() -> None:
    ev = run(snap(*BASE, claim("c", [exact(cls="nope")]), pod(claims=uses("c"))))
    assert [f.reason for f in ev.prefilter] == ["request g: device class nope does not exist"]
    assert not ev.gated and postfilter(ev, ClusterState(snap(*BASE))).attempted
    gated = run(snap(*BASE, pod(claims=uses("absent"))))
    assert gated.gated and gated.prefilter[0].reason == 'resourceclaim.resource.k8s.io "absent" not found'
    tmpl = run(snap(*BASE, pod(claims=[{"name": "g", "resourceClaimTemplateName": "t"}])))
    assert tmpl.gated and tmpl.prefilter[0].reason == 'pod "ml/p": ResourceClaim not created yet'


def test_allocated_claim_pins_the_pod_to_its_node() -> None:
    pinned = claim("c", [exact()], status={"allocation": {
        "devices": {"results": [{"request": "g", "driver": DRIVER, "pool": "n1", "device": "gpu-0"}]},
        "nodeSelector": {"nodeSelectorTerms": [{"matchFields": [
            {"key": "metadata.name", "operator": "In", "values": ["n1"]}]}]}}})
    ev = run(snap(*BASE, pinned, pod(claims=uses("c"))))
    assert ev.feasible == ("n1",)
    assert ev.fit_error() == "0/2 nodes are available: 1 resourceclaim not available on the node."


def test_dra_backed_extended_resources() -> None:
    objs = (node("n1"), node("n2"), dclass("gpu", extended="example.com/gpu"), rslice("n1", [dev("gpu-0")]))
    one = pod(containers=[{"name": "m", "image": "x", "resources": {"requests": {"example.com/gpu": "1"},
                                                                     "limits": {"example.com/gpu": "1"}}}])
    assert run(snap(*objs, one)).feasible == ("n1",)  # NodeResourcesFit delegates it to DRA
    two = pod(containers=[{"name": "m", "image": "x", "resources": {"requests": {"example.com/gpu": "2"},
                                                                     "limits": {"example.com/gpu": "2"}}}])
    assert run(snap(*objs, two)).fit_error() == "0/2 nodes are available: 2 cannot allocate all claims."


def test_node_declared_features() -> None:
    c = {"name": "m", "image": "x", "restartPolicy": "Never",
         "restartPolicyRules": [{"action": "RestartAllContainers", "exitCodes": {"operator": "In", "values": [1]}}]}
    s = snap(node("n1", features=["RestartAllContainersOnContainerExits"]), node("n2"),
             pod(containers=[c], restartPolicy="Never"))
    ev = run(s)
    assert ev.feasible == ("n1",)
    assert ev.fit_error() == "0/2 nodes are available: 1 node(s) didn't match Pod's required features."


@pytest.mark.parametrize(("expr", "want"), [
    ('quantity("1Gi").compareTo(quantity("1024Mi")) == 0', True),
    ('semver("1.2.3").isLessThan(semver("1.10.0"))', True),
    (f'device.attributes["{DRIVER}"].index > 0', False),
    ('"ABC".lowerAscii() == "abc"', True),
])
def test_cel_environment(expr: str, want: bool) -> None:
    from podtriage import model as m
    d = m.Device(name="gpu-0", attributes={"index": m.DeviceAttribute("int", 0)})
    assert dra_cel.matches(expr, DRIVER, d) is want


def test_preemption_postfilter_texts() -> None:
    pc = {"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass", "metadata": {"name": "high"}, "value": 1000}
    low = pod("low", nodeName="n1", containers=[{"name": "m", "image": "x", "resources": {"requests": {"cpu": "3"}}}])
    low["status"] = {"phase": "Running"}
    hi = pod("hi", priority=1000, priorityClassName="high",
             containers=[{"name": "m", "image": "x", "resources": {"requests": {"cpu": "2"}}}])
    s = snap(node("n1"), node("n2", cpu="1"), pc, low, hi)
    cs = ClusterState(s)
    ev = evaluate(s.pod_by_key["ml/hi"], cs)
    pf = postfilter(ev, cs)
    assert pf.message == "preemption: found a potential placement for pod on node n1, preempting 1 victims"
    assert pf.best == ("n1",)
    same = pod("same", containers=[{"name": "m", "image": "x", "resources": {"requests": {"cpu": "2"}}}])
    s2 = snap(node("n1"), node("n2", cpu="1"), low, same)
    cs2 = ClusterState(s2)
    pf2 = postfilter(evaluate(s2.pod_by_key["ml/same"], cs2), cs2)
    assert pf2.message == ("preemption: 0/2 nodes are available: 1 No preemption victims found for incoming pod, "
                           "1 Preemption is not helpful for scheduling.")
    missing = pod("m", volumes=[{"name": "d", "persistentVolumeClaim": {"claimName": "nope"}}])
    b = SnapshotBuilder()
    for o in (node("n1"), missing):
        b.add(o)
    for k in ("Node", "Pod", "PersistentVolumeClaim"):
        b.mark_collected(k)
    s3 = b.build()
    cs3 = ClusterState(s3)
    assert postfilter(evaluate(s3.pod_by_key["ml/m"], cs3), cs3).message == "not found"


def test_preemption_dry_run_frees_a_shared_host_port_with_its_victim() -> None:
    # NodeInfo.UsedPorts is a set: removing the low-priority pod frees port 8080 although a pod of
    # the preemptor's priority keeps it, so the dry run fails on cpu, not on the port (v1.37.2).
    pc = {"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass", "metadata": {"name": "low"}, "value": 100}
    port = [{"containerPort": 80, "hostPort": 8080}]

    def on_node(name: str, cpu: str, prio: int, cls: str = "") -> dict:
        spec: dict[str, Any] = {"nodeName": "n1", "priority": prio,
                                "containers": [{"name": "m", "image": "x", "ports": port,
                                                "resources": {"requests": {"cpu": cpu}}}]}
        if cls:
            spec["priorityClassName"] = cls
        return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "ml", "uid": name},
                "spec": spec, "status": {"phase": "Running"}}

    preemptor = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "ml", "uid": "p"},
                 "spec": {"priority": 100, "priorityClassName": "low",
                          "containers": [{"name": "m", "image": "x", "ports": port,
                                          "resources": {"requests": {"cpu": "1500m"}}}]},
                 "status": {"phase": "Pending"}}
    s = snap(node("n1", cpu="2"), pc, on_node("same", "1", 100, "low"), on_node("lower", "500m", 0), preemptor)
    ev = run(s)
    assert ev.fit_error() == "0/1 nodes are available: 1 node(s) didn't have free ports for the requested pod ports."
    assert postfilter(ev, ClusterState(s)).message == "preemption: 0/1 nodes are available: 1 Insufficient cpu."


def test_preemption_prefers_fewer_victims_to_a_lower_priority_sum() -> None:
    # pickOneNodeForPreemption adds MaxInt32+1 to each victim's priority before summing: two
    # victims of priority 100 (sum 200) beat three of priorities 100, 0, 0 (sum 100). Found by the
    # differential benchmark (preemption family, seed 500386) against kube-scheduler v1.37.2.
    pcs = [{"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass", "metadata": {"name": n}, "value": v}
           for n, v in (("low", 100), ("high", 10000))]

    def on(node_name: str, name: str, cpu: str, prio: int) -> dict:
        return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "ml", "uid": name},
                "spec": {"nodeName": node_name, "priority": prio,
                         "containers": [{"name": "m", "image": "x", "resources": {"requests": {"cpu": cpu}}}]},
                "status": {"phase": "Running"}}

    preemptor = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "ml", "uid": "p"},
                 "spec": {"priority": 10000, "priorityClassName": "high",
                          "containers": [{"name": "m", "image": "x", "resources": {"requests": {"cpu": "1"}}}]},
                 "status": {"phase": "Pending"}}
    a, b = node("a", cpu="2"), node("b", cpu="1")
    a["status"]["allocatable"]["pods"] = "2"
    s = snap(a, b, *pcs,
             # a (2 pods at most): a1 for the cpu, a3 for the pod count; a2 is reprieved: 2 victims, sum 200
             on("a", "a1", "1500m", 100), on("a", "a2", "200m", 100), on("a", "a3", "1", 100),
             # b (1 cpu): nothing can stay beside the preemptor: 3 victims, sum 100
             on("b", "b1", "300m", 100), on("b", "b2", "300m", 0), on("b", "b3", "300m", 0),
             preemptor)
    pf = postfilter(run(s), ClusterState(s))
    by_node = {c.node: c for c in pf.candidates}
    assert len(by_node["a"].victims) == 2 and by_node["a"].priority_sum == 200
    assert len(by_node["b"].victims) == 3 and by_node["b"].priority_sum == 100
    assert pf.best == ("a",)
    assert pf.message == "preemption: found a potential placement for pod on node a, preempting 2 victims"


def test_may_filter_only_what_dynamic_resources_can_judge() -> None:
    """An extended resource no DeviceClass provides is the device plugin's: DynamicResources has
    nothing to allocate (an empty column, no scan of every verdict for DRA reasons); one a class
    provides, or a claim, it judges (as test_dra_backed_extended_resources shows it does)."""
    from podtriage.scheduler.plugins.dynamic_resources import may_filter

    def gpus(resource: str) -> dict:
        return pod(containers=[{"name": "m", "image": "x", "resources": {"requests": {resource: "2"},
                                                                         "limits": {resource: "2"}}}])

    plain = snap(node("n1"), node("n2"), gpus("nvidia.com/gpu"))
    p = plain.pod_by_key["ml/p"]
    ev = run(plain)
    assert not may_filter(p, ev.requests, plain)
    assert ev.fit_error() == "0/2 nodes are available: 2 Insufficient nvidia.com/gpu."
    assert not any(f.plugin == "DynamicResources" for v in ev.verdicts for f in v.failures)
    backed = snap(node("n1"), node("n2"), dclass("gpu", extended="example.com/gpu"), rslice("n1", [dev("gpu-0")]),
                  gpus("example.com/gpu"))
    ev = run(backed)
    assert may_filter(backed.pod_by_key["ml/p"], ev.requests, backed)
    assert ev.fit_error() == "0/2 nodes are available: 2 cannot allocate all claims."
    other = snap(*BASE, gpus("example.com/gpu"))  # a class that provides another name
    assert not may_filter(other.pod_by_key["ml/p"], run(other).requests, other)
    claimed = snap(*BASE, claim("c", [exact()]), pod(claims=uses("c")))
    assert may_filter(claimed.pod_by_key["ml/p"], run(claimed).requests, claimed)
