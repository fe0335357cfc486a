"""VolumeRestrictions, NodeVolumeLimits, VolumeBinding and VolumeZone against realistic fixtures.

Cluster: three EKS nodes, one per zone (us-east-1a/b/c); ip-10-0-1-17 allows 3 EBS attachments.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from podtriage.scheduler.framework import (
    ClusterState,
    CycleState,
    Evaluation,
    FilterPlugin,
    effective_requests,
    evaluate,
)
from podtriage.scheduler.plugins.node_volume_limits import NodeVolumeLimits
from podtriage.scheduler.plugins.volume_binding import VolumeBinding
from podtriage.scheduler.plugins.volume_restrictions import VolumeRestrictions
from podtriage.scheduler.plugins.volume_zone import VolumeZone
from podtriage.snapshot import Snapshot, SnapshotBuilder

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "scheduler" / "volumes"
COLLECTED = ("Node", "Pod", "PersistentVolumeClaim", "PersistentVolume", "StorageClass")

N1, N2, N3 = "ip-10-0-1-17.ec2.internal", "ip-10-0-2-41.ec2.internal", "ip-10-0-3-88.ec2.internal"
GA_ONLY_NODE = "ip-10-0-2-99.ec2.internal"


def load(*files: str, base: tuple[str, ...] = ("nodes.yaml", "storageclasses.yaml")) -> Snapshot:
    builder = SnapshotBuilder(source="fixtures/scheduler/volumes")
    for name in base + files:
        with open(FIXTURES / name, encoding="utf-8") as fh:
            for doc in yaml.safe_load_all(fh):
                if not doc:
                    continue
                for obj in doc.get("items", []) if doc.get("kind") == "List" else [doc]:
                    assert builder.add(obj, origin=name), f"{name}: {obj.get('kind')} not accepted"
    for kind in COLLECTED:
        builder.mark_collected(kind)
    snap = builder.build()
    assert not snap.meta.warnings, snap.meta.warnings
    return snap


def run(snap: Snapshot, pod_key: str, plugin: FilterPlugin) -> Evaluation:
    return evaluate(snap.pod_by_key[pod_key], ClusterState(snap), plugins=[plugin])


def by_node(ev: Evaluation) -> dict[str, tuple]:
    return {v.node: v.failures for v in ev.verdicts}


def only(failures) -> object:
    assert len(failures) == 1, failures
    return failures[0]


# --- VolumeBinding: PreFilter -----------------------------------------------------------------------

def test_pvc_not_found_rejects_pod_in_prefilter() -> None:
    ev = run(load("broken-claims.yaml"), "ml/trainer-7d9cf", VolumeBinding())
    f = only(ev.prefilter)
    assert f.code == "pvc-not-found"
    assert f.reason == 'persistentvolumeclaim "datasets" not found'
    assert f.unresolvable and f.plugin == "VolumeBinding"
    assert f.detail["claim"] == "datasets" and "ml/datasets" in f.message
    assert ev.fit_error() == '0/3 nodes are available: persistentvolumeclaim "datasets" not found.'
    # Filter never runs after a PreFilter reject: no per-node reason, and no node is feasible
    assert ev.verdicts == () and ev.total_nodes == 3
    assert ev.feasible == ()


def test_ephemeral_volume_waits_for_its_claim() -> None:
    f = only(run(load("broken-claims.yaml"), "ml/notebook-0", VolumeBinding()).prefilter)
    assert f.code == "ephemeral-pvc-pending"
    assert f.reason == ('waiting for ephemeral volume controller to create the persistentvolumeclaim '
                        '"notebook-0-scratch"')
    assert f.detail["claim"] == "notebook-0-scratch" and f.detail["volume"] == "scratch"
    assert f.unresolvable


def test_claim_being_deleted() -> None:
    f = only(run(load("broken-claims.yaml"), "ml/inference-5f6b8c7d9-h7t2m", VolumeBinding()).prefilter)
    assert f.code == "pvc-deleting"
    assert f.reason == 'persistentvolumeclaim "model-cache" is being deleted'
    assert f.detail["claim"] == "model-cache" and "2025-03-09T09:30:00Z" in f.message


def test_lost_claim_bound_to_missing_pv() -> None:
    f = only(run(load("broken-claims.yaml"), "ml/trainer-resume-0", VolumeBinding()).prefilter)
    assert f.code == "pvc-bound-to-missing-pv"
    assert f.reason == ('persistentvolumeclaim "checkpoints" bound to non-existent persistentvolume '
                        '"pvc-d1e2f3a4-b5c6-4d7e-8f9a-0b1c2d3e4f02"')
    assert f.detail["pv"] == "pvc-d1e2f3a4-b5c6-4d7e-8f9a-0b1c2d3e4f02"


def test_unbound_immediate_claim_names_class() -> None:
    f = only(run(load("unbound-immediate.yaml"), "shop/orders-db-0", VolumeBinding()).prefilter)
    assert f.code == "volume-unbound-immediate"
    assert f.reason == "pod has unbound immediate PersistentVolumeClaims"
    assert f.unresolvable
    assert f.detail["claim"] == "orders-db-data"
    assert f.detail["storage_class"] == "standard-immediate" and f.detail["class_exists"] is True
    assert "shop/orders-db-data" in f.message and "Immediate" in f.message


def test_unbound_claim_with_missing_class_counts_as_immediate() -> None:
    f = only(run(load("unbound-immediate.yaml"), "shop/cache-0", VolumeBinding()).prefilter)
    assert f.code == "volume-unbound-immediate"
    assert f.detail["storage_class"] == "fast-ssd" and f.detail["class_exists"] is False
    assert "StorageClass fast-ssd, which does not exist" in f.message


def test_unset_class_without_default_class() -> None:
    snap = load("unbound-immediate.yaml", base=("nodes.yaml",))  # StorageClasses read: there are none
    f = only(run(snap, "shop/legacy-app-6b7c8d9e5f-x2k4p", VolumeBinding()).prefilter)
    assert f.code == "volume-unbound-immediate"
    assert f.reason == "pod has unbound immediate PersistentVolumeClaims"
    assert f.detail["claim"] == "legacy-data"
    assert f.detail["storage_class"] == "" and f.detail["default_class_exists"] is False
    assert f.detail["claims"][0]["storage_class_set"] is False
    assert "no default StorageClass" in f.message


def test_unset_class_with_default_class_still_immediate_for_the_scheduler() -> None:
    f = only(run(load("unbound-immediate.yaml"), "shop/legacy-app-6b7c8d9e5f-x2k4p", VolumeBinding()).prefilter)
    assert f.code == "volume-unbound-immediate"
    assert f.detail["default_class_exists"] is True and f.detail["default_storage_class"] == "gp3"


def test_unknown_claims_say_nothing() -> None:
    builder = SnapshotBuilder()
    with open(FIXTURES / "broken-claims.yaml", encoding="utf-8") as fh:
        for doc in yaml.safe_load_all(fh):
            builder.add(doc)
    builder.mark_collected("Pod")  # PVCs were not read (e.g. forbidden)
    snap = builder.build()
    ev = run(snap, "ml/trainer-7d9cf", VolumeBinding())
    assert ev.prefilter == ()


# --- VolumeBinding: Filter ---------------------------------------------------------------------------

def test_bound_pv_node_affinity_mismatch() -> None:
    ev = run(load("bound-zonal.yaml"), "db/postgres-0", VolumeBinding())
    assert ev.prefilter == ()
    assert ev.feasible == (N1,)
    f = only(by_node(ev)[N2])
    assert f.code == "volume-node-affinity"
    assert f.reason == "node(s) didn't match PersistentVolume's node affinity"
    assert f.unresolvable
    assert f.detail["pv"] == "pvc-4b8e1f0a-6c2d-4e3f-9a1b-2c3d4e5f6a7b" and f.detail["claim"] == "data-postgres-0"
    assert f.detail["node_labels"] == {"topology.kubernetes.io/zone": "us-east-1b"}
    assert f.detail["terms"][0]["failed"][0]["values"] == ["us-east-1a"]
    assert f.detail["legacy_reason"] == "node(s) had volume node affinity conflict"
    assert "topology.kubernetes.io/zone in (us-east-1a)" in f.message and "us-east-1b" in f.message
    assert ev.histogram() == {"node(s) didn't match PersistentVolume's node affinity": 2}


def test_wait_for_first_consumer_local_pv() -> None:
    ev = run(load("local-pvs.yaml"), "search/opensearch-0", VolumeBinding())
    assert ev.prefilter == ()
    assert ev.feasible == (N1,)  # only local-pv-5f0a8c21 is free, big enough and on that node
    verdicts = by_node(ev)
    f2 = only(verdicts[N2])
    assert f2.code == "volume-bind-conflict"
    assert f2.reason == "node(s) didn't find available persistent volumes to bind"
    assert f2.unresolvable
    claim = f2.detail["claims"][0]
    assert claim["claim"] == "data-opensearch-0" and claim["storage_class"] == "local-nvme"
    assert claim["rejected"]["local-pv-93be4d07"] == "claimed by search/data-opensearch-1"
    assert claim["rejected"]["local-pv-c2d61e9f"] == "capacity 50Gi < requested 100Gi"
    assert claim["rejected"]["local-pv-5f0a8c21"].startswith("nodeAffinity:")
    assert "kubernetes.io/no-provisioner" in f2.message and "search/data-opensearch-0" in f2.message
    f3 = only(verdicts[N3])
    assert f3.code == "volume-bind-conflict" and f3.detail["claim"] == "data-opensearch-0"


def test_dynamic_provisioning_allowed_topologies() -> None:
    ev = run(load("dynamic-topology.yaml"), "payments/ledger-0", VolumeBinding())
    assert ev.feasible == (N1,)
    f = only(by_node(ev)[N3])
    assert f.code == "volume-bind-conflict"
    assert f.reason == "node(s) didn't find available persistent volumes to bind"
    assert f.detail["storage_class"] == "io2-us-east-1a" and f.detail["claim"] == "ledger-data"
    assert "allowedTopologies" in f.message and "topology.kubernetes.io/zone=us-east-1c" in f.message


def test_selected_node_pins_provisioning() -> None:
    ev = run(load("dynamic-topology.yaml"), "payments/queue-0", VolumeBinding())
    assert ev.feasible == (N2,)
    f = only(by_node(ev)[N1])
    assert f.code == "volume-bind-conflict"
    assert f.detail["claims"][0]["selected_node"] == N2
    assert "volume.kubernetes.io/selected-node" in f.message


def test_bound_claim_whose_pv_is_missing_fails_every_node() -> None:
    ev = run(load("broken-claims.yaml"), "ml/reporter-0", VolumeBinding())
    assert ev.prefilter == ()  # phase Bound, not Lost: PreFilter lets it through
    for failures in by_node(ev).values():
        f = only(failures)
        assert f.code == "volume-pv-not-exist"
        assert f.reason == "node(s) unavailable due to one or more pvc(s) bound to non-existent pv(s)"
        assert f.detail["pv"] == "pvc-d1e2f3a4-b5c6-4d7e-8f9a-0b1c2d3e4f03" and f.detail["claim"] == "results"


def test_filter_memoises_per_relevant_labels() -> None:
    snap = load("bound-zonal.yaml")
    cluster = ClusterState(snap)
    pod = snap.pod_by_key["db/postgres-0"]
    state = CycleState(pod=pod, cluster=cluster, requests=effective_requests(pod))
    plugin = VolumeBinding()
    for info in cluster.node_infos.values():
        plugin.filter(state, info)
    # one entry per distinct zone, not per node name
    assert len(state.scratch["VolumeBinding.memo"]) == 3


# --- VolumeZone ---------------------------------------------------------------------------------------

def test_volume_zone_beta_labels_and_ga_only_node() -> None:
    ev = run(load("legacy-zone.yaml"), "reports/reports-0", VolumeZone())
    assert ev.prefilter == ()
    assert set(ev.feasible) == {N2, GA_ONLY_NODE}  # the GA-only node matches through the GA fallback
    f = only(by_node(ev)[N1])
    assert f.code == "volume-zone"
    assert f.reason == "node(s) had no available volume zone"
    assert f.unresolvable
    assert f.detail["pv"] == "pv-reports-archive"
    assert f.detail["label"] == "failure-domain.beta.kubernetes.io/zone"
    assert f.detail["pv_value"] == "us-east-1b" and f.detail["node_value"] == "us-east-1a"


def test_volume_zone_multi_zone_value() -> None:
    ev = run(load("legacy-zone.yaml"), "analytics/spark-worker-0", VolumeZone())
    assert set(ev.feasible) == {N1, N3}
    for node in (N2, GA_ONLY_NODE):
        f = only(by_node(ev)[node])
        assert f.code == "volume-zone"
        assert f.detail["label"] == "topology.kubernetes.io/zone"
        assert f.detail["pv_value"] == "us-east-1a__us-east-1c" and f.detail["pv_values"] == ["us-east-1a", "us-east-1c"]
        assert f.detail["node_value"] == "us-east-1b" and f.detail["pv"] == "pv-analytics-shared"


def test_volume_zone_ignores_unlabelled_pv_and_reports_missing_pv() -> None:
    assert run(load("bound-zonal.yaml"), "db/postgres-0", VolumeZone()).feasible == (N1, N2, N3)
    ev = run(load("broken-claims.yaml"), "ml/reporter-0", VolumeZone())
    f = only(ev.prefilter)
    assert f.code == "pv-not-found"
    assert f.reason == 'persistentvolume "pvc-d1e2f3a4-b5c6-4d7e-8f9a-0b1c2d3e4f03" not found'
    assert f.detail["claim"] == "results" and f.unresolvable


# --- VolumeRestrictions -------------------------------------------------------------------------------

def test_ebs_disk_conflict_even_read_only() -> None:
    ev = run(load("disk-conflict.yaml"), "legacy/reports-reader-0", VolumeRestrictions())
    assert set(ev.feasible) == {N2, N3}
    f = only(by_node(ev)[N1])
    assert f.code == "volume-restrictions-disk"
    assert f.reason == "node(s) had no available disk"
    assert f.unresolvable is False  # Unschedulable: preempting the holder would help
    assert f.detail["disk"] == "vol-0f3a9c1e2d4b5a6c7" and f.detail["holder"] == "legacy/reports-writer-0"


def test_iscsi_read_only_share_allowed_read_write_not() -> None:
    snap = load("disk-conflict.yaml")
    assert run(snap, "legacy/iscsi-reader-0", VolumeRestrictions()).feasible == (N1, N2, N3)
    ev = run(snap, "legacy/iscsi-restore-0", VolumeRestrictions())
    f = only(by_node(ev)[N2])
    assert f.code == "volume-restrictions-disk"
    assert f.detail["disk"] == "iqn.2016-04.com.example.storage:archive"
    assert f.detail["holder"] == "legacy/iscsi-primary-0"
    assert set(ev.feasible) == {N1, N3}


def test_read_write_once_pod_claim_in_use() -> None:
    ev = run(load("rwop.yaml"), "vault/vault-snapshot-29024040-7kq2d", VolumeRestrictions())
    assert ev.prefilter == () and ev.feasible == ()
    for failures in by_node(ev).values():
        f = only(failures)
        assert f.code == "volume-rwop"
        assert f.reason == ("node(s) unavailable due to PersistentVolumeClaim with ReadWriteOncePod access mode "
                            "already in-use by another pod")
        assert f.unresolvable is False
        assert f.detail["claim"] == "vault-data" and f.detail["holder"] == "vault/vault-0"
        assert f.detail["holder_node"] == N1


def test_volume_restrictions_prefilter_reports_missing_claim_first() -> None:
    f = only(run(load("broken-claims.yaml"), "ml/trainer-7d9cf", VolumeRestrictions()).prefilter)
    assert f.code == "pvc-not-found" and f.plugin == "VolumeRestrictions"
    assert f.reason == 'persistentvolumeclaim "datasets" not found'
    # generic ephemeral volumes are VolumeBinding's business, not VolumeRestrictions'
    assert run(load("broken-claims.yaml"), "ml/notebook-0", VolumeRestrictions()).prefilter == ()


# --- NodeVolumeLimits ---------------------------------------------------------------------------------

def test_csi_volume_limit_exceeded() -> None:
    ev = run(load("csi-limits.yaml"), "tenants/tenant-4-0", NodeVolumeLimits())
    assert set(ev.feasible) == {N2, N3}
    f = only(by_node(ev)[N1])
    assert f.code == "volume-limits"
    assert f.reason == "node(s) exceed max volume count"
    assert f.unresolvable is False
    assert f.detail["driver"] == "ebs.csi.aws.com"
    assert (f.detail["attached"], f.detail["new"], f.detail["limit"]) == (3, 1, 3)
    assert f.detail["claims"] == ["t4-data"]
    assert "ebs.csi.aws.com" in f.message and N1 in f.message


def test_csi_volume_already_attached_is_not_counted_twice() -> None:
    ev = run(load("csi-limits.yaml"), "tenants/tenant-1-backup-29024160-q8r5w", NodeVolumeLimits())
    assert ev.feasible == (N1, N2, N3)


def test_all_volume_plugins_in_upstream_order() -> None:
    """The default order: the scheduler's view is the first failing plugin per node."""
    snap = load("csi-limits.yaml")
    ev = evaluate(snap.pod_by_key["tenants/tenant-4-0"], ClusterState(snap),
                  plugins=[VolumeRestrictions(), NodeVolumeLimits(), VolumeBinding(), VolumeZone()])
    assert ev.prefilter == ()
    first = {v.node: v.first_plugin for v in ev.verdicts}
    assert first == {N1: "NodeVolumeLimits", N2: "", N3: ""}  # gp3 is WaitForFirstConsumer: provisionable


@pytest.mark.parametrize("n_nodes", [5000])
def test_scales_to_thousands_of_local_pvs(n_nodes: int) -> None:
    """5,000 nodes with one local PV each: the candidate index keeps this far from nodes x PVs."""
    import time

    docs: list[dict] = []
    for i in range(n_nodes):
        host = f"node-{i:04d}"
        docs.append({"apiVersion": "v1", "kind": "Node",
                     "metadata": {"name": host, "labels": {"kubernetes.io/hostname": host,
                                                            "topology.kubernetes.io/zone": f"z{i % 3}"}},
                     "status": {"allocatable": {"cpu": "4", "memory": "16Gi", "pods": "110"}}})
        docs.append({"apiVersion": "v1", "kind": "PersistentVolume",
                     "metadata": {"name": f"local-{host}"},
                     "spec": {"accessModes": ["ReadWriteOnce"], "capacity": {"storage": "100Gi"},
                              "local": {"path": "/mnt/disks/ssd0"}, "storageClassName": "local-nvme",
                              "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                                  {"key": "kubernetes.io/hostname", "operator": "In", "values": [host]}]}]}},
                              **({"claimRef": {"name": "other", "namespace": "x"}} if i % 2 else {})},
                     "status": {"phase": "Bound" if i % 2 else "Available"}})
    builder = SnapshotBuilder()
    for name in ("storageclasses.yaml", "local-pvs.yaml"):
        with open(FIXTURES / name, encoding="utf-8") as fh:
            for doc in yaml.safe_load_all(fh):
                for obj in doc.get("items", []) if doc.get("kind") == "List" else [doc]:
                    if obj.get("kind") != "PersistentVolume":
                        builder.add(obj)
    builder.add_all(docs)
    for kind in COLLECTED:
        builder.mark_collected(kind)
    snap = builder.build()
    started = time.perf_counter()
    ev = run(snap, "search/opensearch-0", VolumeBinding())
    elapsed = time.perf_counter() - started
    assert len(ev.feasible) == n_nodes // 2
    assert ev.code_counts() == {"volume-bind-conflict": n_nodes // 2}
    assert elapsed < 5.0, f"{elapsed:.2f}s"
