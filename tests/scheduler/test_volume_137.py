"""The volume plugins' 1.37 semantics: binding state, claim matching, storage capacity, attach limits
from CSINode and VolumeAttachments, CSI migration, a driver that is not installed, and what the
diagnosis prints for them."""

from __future__ import annotations

from typing import Any

from podtriage.analyze import Explainer
from podtriage.rulebook import load_rules
from podtriage.scheduler.framework import ClusterState, Evaluation, evaluate
from podtriage.snapshot import Snapshot, SnapshotBuilder

KINDS = ("Node", "Pod", "PersistentVolumeClaim", "PersistentVolume", "StorageClass", "CSINode", "CSIDriver",
         "CSIStorageCapacity", "VolumeAttachment", "Event")
ZONE = "topology.kubernetes.io/zone"
DRV = "disk.csi.example.com"


def node(name: str, zone: str = "a") -> dict:
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, ZONE: zone}},
            "status": {"allocatable": {"cpu": "4", "memory": "8Gi", "pods": "110"}}}


def csinode(name: str, drivers: dict[str, int | None]) -> dict:
    return {"apiVersion": "storage.k8s.io/v1", "kind": "CSINode", "metadata": {"name": name},
            "spec": {"drivers": [{"name": d, "nodeID": name, **({"allocatable": {"count": c}} if c is not None else {})}
                                 for d, c in drivers.items()]}}


def sc(name: str, provisioner: str = DRV, mode: str = "WaitForFirstConsumer") -> dict:
    return {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": name},
            "provisioner": provisioner, "volumeBindingMode": mode}


def pvc(name: str, cls: str = "wffc", size: str = "10Gi", volume: str = "", bound: bool = False, **spec: Any) -> dict:
    ann = {"pv.kubernetes.io/bind-completed": "yes"} if bound else {}
    s: dict[str, Any] = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": size}},
                         "storageClassName": cls, **spec}
    if volume:
        s["volumeName"] = volume
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": {"name": name, "namespace": "db", "annotations": ann}, "spec": s,
            "status": {"phase": "Bound" if volume else "Pending"}}


def pv(name: str, cls: str = "wffc", size: str = "10Gi", claim: str = "", labels: dict | None = None,
       **spec: Any) -> dict:
    s: dict[str, Any] = {"capacity": {"storage": size}, "accessModes": ["ReadWriteOnce"], "storageClassName": cls,
                         **spec}
    s.setdefault("csi", {"driver": DRV, "volumeHandle": f"h-{name}"})
    if claim:
        s["claimRef"] = {"namespace": "db", "name": claim}
    return {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": name, "labels": labels or {}},
            "spec": s, "status": {"phase": "Bound" if claim else "Available"}}


def pod(name: str = "p", claims: tuple[str, ...] = ("data",), node_name: str = "", **extra: Any) -> dict:
    vols = [{"name": f"v{i}", "persistentVolumeClaim": {"claimName": c}} for i, c in enumerate(claims)]
    spec: dict[str, Any] = {"containers": [{"name": "m", "image": "x"}], "volumes": vols + extra.pop("volumes", []),
                            **extra}
    if node_name:
        spec["nodeName"] = node_name
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "db", "uid": f"u-{name}"},
            "spec": spec, "status": {"phase": "Running" if node_name else "Pending"}}


def snap(*objs: dict) -> Snapshot:
    b = SnapshotBuilder(source="test")
    for o in objs:
        assert b.add(o), o
    for k in KINDS:
        b.mark_collected(k)
    return b.build()


def run(s: Snapshot, name: str = "p") -> Evaluation:
    return evaluate(s.pod_by_key[f"db/{name}"], ClusterState(s))


def test_bound_means_volume_name_and_bind_completed_not_phase() -> None:
    local = {"nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
        {"key": "kubernetes.io/hostname", "operator": "In", "values": ["n1"]}]}]}}}
    base = (node("n1"), node("n2"), sc("wffc"), pv("pv1", claim="data", **local))
    ev = run(snap(*base, pvc("data", volume="pv1", bound=True), pod()))
    assert ev.feasible == ("n1",)
    # pre-bound by hand: volumeName but no bind-completed, phase says Bound: still unbound to the scheduler
    ev = run(snap(*base, pvc("data", volume="pv1"), pod()))
    assert [f.reason for f in ev.prefilter] == ["pod has unbound immediate PersistentVolumeClaims"]


def test_claim_selector_volume_mode_and_attributes_class_in_matching() -> None:
    base = (node("n1"), sc("static", provisioner="kubernetes.io/no-provisioner"))
    gold = pv("pv-gold", cls="static", labels={"tier": "gold"})
    block = pv("pv-block", cls="static", volumeMode="Block")
    vac = pv("pv-vac", cls="static", volumeAttributesClassName="fast")
    for vol, claim_spec, fits in ((gold, {"selector": {"matchLabels": {"tier": "gold"}}}, True),
                                  (gold, {"selector": {"matchLabels": {"tier": "silver"}}}, False),
                                  (block, {}, False), (block, {"volumeMode": "Block"}, True),
                                  (vac, {}, False), (vac, {"volumeAttributesClassName": "fast"}, True)):
        ev = run(snap(*base, vol, pvc("data", cls="static", **claim_spec), pod()))
        assert bool(ev.feasible) is fits, (vol["metadata"]["name"], claim_spec)
        if not fits:
            assert ev.fit_error() == "0/1 nodes are available: 1 node(s) didn't find available persistent volumes to bind."


def test_ephemeral_claim_not_owned_by_the_pod() -> None:
    other = pvc("p-scratch")
    other["metadata"]["ownerReferences"] = [{"apiVersion": "v1", "kind": "Pod", "name": "p", "uid": "old",
                                             "controller": True}]
    eph = {"name": "scratch", "ephemeral": {"volumeClaimTemplate": {"spec": {"accessModes": ["ReadWriteOnce"],
                                                                             "resources": {"requests": {"storage": "1Gi"}}}}}}
    ev = run(snap(node("n1"), sc("wffc"), other, pod(claims=(), volumes=[eph])))
    assert [f.reason for f in ev.prefilter] == ["PVC db/p-scratch was not created for pod db/p (pod is not owner)"]


def test_storage_capacity() -> None:
    drv = {"apiVersion": "storage.k8s.io/v1", "kind": "CSIDriver", "metadata": {"name": DRV},
           "spec": {"storageCapacity": True}}
    cap = {"apiVersion": "storage.k8s.io/v1", "kind": "CSIStorageCapacity", "metadata": {"name": "c", "namespace": "x"},
           "storageClassName": "wffc", "capacity": "5Gi", "nodeTopology": {"matchLabels": {ZONE: "a"}}}
    ev = run(snap(node("n1"), node("n2", "b"), sc("wffc"), drv, cap, pvc("data", size="1Gi"), pod()))
    assert ev.feasible == ("n1",)
    ev = run(snap(node("n1"), node("n2", "b"), sc("wffc"), drv, cap, pvc("data", size="10Gi"), pod()))
    assert ev.fit_error() == "0/2 nodes are available: 2 node(s) did not have enough free storage."


def test_limits_come_from_csinode_and_count_volume_attachments() -> None:
    n1 = node("n1")
    n1["status"]["allocatable"][f"attachable-volumes-csi-{DRV}"] = "0"  # legacy key: no longer a limit
    base = (n1, sc("wffc"), pvc("data"), pod())
    assert run(snap(*base)).feasible == ("n1",)
    va = {"apiVersion": "storage.k8s.io/v1", "kind": "VolumeAttachment", "metadata": {"name": "va1"},
          "spec": {"attacher": DRV, "nodeName": "n1", "source": {"persistentVolumeName": "pv-other"}}}
    other = pv("pv-other", claim="elsewhere")
    ev = run(snap(*base, csinode("n1", {DRV: 1}), va, other))
    assert ev.fit_error() == "0/1 nodes are available: 1 node(s) exceed max volume count."
    assert run(snap(*base, csinode("n1", {DRV: 2}), va, other)).feasible == ("n1",)


def test_in_tree_migration_counts_ebs_not_vsphere() -> None:
    base = (node("n1"), csinode("n1", {"ebs.csi.aws.com": 1}))
    held = pod("held", claims=(), node_name="n1", volumes=[{"name": "e", "awsElasticBlockStore": {"volumeID": "vol-1"}}])
    ebs = pod(claims=(), volumes=[{"name": "e", "awsElasticBlockStore": {"volumeID": "vol-2"}}])
    assert run(snap(*base, held, ebs)).fit_error() == "0/1 nodes are available: 1 node(s) exceed max volume count."
    ebs_pv = pv("pv-ebs", cls="", claim="data", awsElasticBlockStore={"volumeID": "vol-3"})
    del ebs_pv["spec"]["csi"]
    claim_ebs = pvc("data", cls="", volume="pv-ebs", bound=True)
    assert run(snap(*base, held, ebs_pv, claim_ebs, pod())).fit_error() == \
        "0/1 nodes are available: 1 node(s) exceed max volume count."
    vs = pod(claims=("vs",))
    assert run(snap(*base, held, sc("vsc", provisioner="kubernetes.io/vsphere-volume"), pvc("vs", cls="vsc"), vs)
               ).feasible == ("n1",)


def test_csi_driver_not_installed() -> None:
    drv = {"apiVersion": "storage.k8s.io/v1", "kind": "CSIDriver", "metadata": {"name": DRV},
           "spec": {"preventPodSchedulingIfMissing": True}}
    ev = run(snap(node("n1"), node("n2"), csinode("n1", {DRV: None}), csinode("n2", {}), drv, sc("wffc"),
                  pvc("data"), pod()))
    assert ev.feasible == ("n1",)
    assert ev.fit_error() == f"0/2 nodes are available: 1 {DRV} CSI driver is not installed on the node."


def test_rwop_wording_and_zone_output() -> None:
    rwop = pvc("data", accessModes=["ReadWriteOncePod"])
    ev = run(snap(node("n1"), sc("wffc"), rwop, pod("holder", node_name="n1"), pod()))
    assert ev.fit_error() == ("0/1 nodes are available: 1 node(s) unavailable due to PersistentVolumeClaim with "
                              "ReadWriteOncePod access mode already in-use by another pod.")
    zonal = pv("pv1", claim="data", labels={ZONE: "b"})
    events = {"apiVersion": "v1", "kind": "Event", "metadata": {"name": "e1", "namespace": "db"},
              "involvedObject": {"kind": "Pod", "name": "p", "namespace": "db", "uid": "u-p"},
              "reason": "FailedScheduling", "type": "Warning", "count": 3,
              "message": "0/1 nodes are available: 1 node(s) had no available volume zone. preemption: 0/1 nodes "
                         "are available: 1 Preemption is not helpful for scheduling."}
    s = snap(node("n1"), sc("wffc"), zonal, pvc("data", volume="pv1", bound=True), pod(), events)
    report = Explainer(s, load_rules()).explain("p", "db")
    top = report.root_causes[0]
    assert top.rule == "volume-zone-conflict"
    assert "zone `b`" in top.message and "``" not in top.message
    assert top.subject == "PersistentVolumeClaim/db/data"


def test_pvc_unbound_does_not_print_an_empty_storage_class() -> None:
    deleting = pvc("data")
    deleting["metadata"]["deletionTimestamp"] = "2026-11-20T10:00:00Z"
    deleting["metadata"]["finalizers"] = ["kubernetes.io/pvc-protection"]
    s = snap(node("n1"), sc("wffc"), deleting, pod())
    # (no event either: "no scheduler activity" stands beside it; the claim's wording is the point)
    [c] = [c for c in Explainer(s, load_rules()).explain("p", "db").root_causes if c.rule == "pvc-unbound"]
    assert c.blocking and "``" not in c.message and "has been deleted" in c.message


def test_the_same_unbound_claim_mounted_twice_needs_a_second_volume() -> None:
    # FindPodVolumes lists a claim once per volume that mounts it; FindMatchingVolume excludes the
    # PV the first mount took, even one pre-bound to the claim (seen against the real scheduler).
    base = (node("n1"), sc("static", provisioner="kubernetes.io/no-provisioner"))
    mine = pv("pv-mine", cls="static", claim="data")
    mine["status"]["phase"] = "Available"
    ev = run(snap(*base, mine, pvc("data", cls="static"), pod(claims=("data",))))
    assert ev.feasible == ("n1",)
    ev = run(snap(*base, mine, pvc("data", cls="static"), pod(claims=("data", "data"))))
    assert ev.feasible == ()
    assert ev.fit_error() == "0/1 nodes are available: 1 node(s) didn't find available persistent volumes to bind."
    # a second PV of the class takes the second mount
    ev = run(snap(*base, mine, pv("pv-spare", cls="static"), pvc("data", cls="static"), pod(claims=("data", "data"))))
    assert ev.feasible == ("n1",)
    # what the scheduler leaves behind once it bound that pod: both PVs pre-bound to the one claim
    other = pv("pv-other", cls="static", claim="data")
    other["status"]["phase"] = "Available"
    ev = run(snap(*base, mine, other, pvc("data", cls="static"), pod(claims=("data", "data"))))
    assert ev.feasible == ("n1",)
