"""VolumeRestrictions: disks that allow one writer, and ReadWriteOncePod claims.

Upstream (pkg/scheduler/framework/plugins/volumerestrictions/volume_restrictions.go):

PreFilter looks up every persistentVolumeClaim volume (generic ephemeral ones are not looked
at); a missing claim rejects the pod with `persistentvolumeclaim "X" not found`
(UnschedulableAndUnresolvable). This PreFilter runs before VolumeBinding's, so it is the one the
scheduler reports. It then counts how many scheduled pods already use one of the pod's
ReadWriteOncePod claims (by namespace/name).

Filter, Unschedulable (preempting the other pod may help):
  - an inline gcePersistentDisk / awsElasticBlockStore / rbd / iscsi volume that a pod on the node
    already uses: "node(s) had no available disk" (GCE PD, RBD and iSCSI are allowed when both
    mounts are read-only; EBS never; RBD needs the same pool and image and an overlapping monitor);
  - otherwise, if a ReadWriteOncePod claim is in use by any scheduled pod, on every node:
    "node(s) unavailable due to PersistentVolumeClaim with ReadWriteOncePod access mode already
    in-use by another pod" (1.37; before: "node has pod using PersistentVolumeClaim with the same
    name and ReadWriteOncePod access mode").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ... import model as m
from ..framework import CycleState, Failure, FilterPlugin, NodeInfo, uses_volumes
from .volume_binding import claim_volumes, knows

REASON_DISK = "node(s) had no available disk"
REASON_RWOP = ("node(s) unavailable due to PersistentVolumeClaim with ReadWriteOncePod access mode already in-use "
               "by another pod")
REASON_RWOP_LEGACY = "node has pod using PersistentVolumeClaim with the same name and ReadWriteOncePod access mode"

DISK_KINDS = ("gcePersistentDisk", "awsElasticBlockStore", "rbd", "iscsi")
_DISK_TEXT = {"gcePersistentDisk": "GCE persistent disk", "awsElasticBlockStore": "AWS EBS volume",
              "rbd": "Ceph RBD image", "iscsi": "iSCSI target"}


def _conflict(want: m.Volume, have: m.Volume) -> bool:
    """isVolumeConflict for one pair of inline volumes."""
    if want.kind != have.kind or want.kind not in DISK_KINDS:
        return False
    if want.unique_disk != have.unique_disk:
        return False
    if want.kind == "awsElasticBlockStore":
        return True
    if want.kind == "rbd" and (want.rbd_pool != have.rbd_pool
                               or not set(want.rbd_monitors) & set(have.rbd_monitors)):
        return False
    return not (want.read_only and have.read_only)


@dataclass(frozen=True)
class _PodState:
    prefilter: tuple[Failure, ...]
    disks: tuple[m.Volume, ...]
    rwop_holders: tuple[tuple[str, str, str], ...]  # (claim, holder pod key, holder node)


class VolumeRestrictions(FilterPlugin):
    name = "VolumeRestrictions"

    def applies(self, state: CycleState) -> bool:
        return uses_volumes(state.pod)


    def pre_filter(self, state: CycleState) -> Sequence[Failure]:
        return self._pod(state).prefilter

    def _pod(self, state: CycleState) -> _PodState:
        return state.once(self.name, self._analyse)

    def _analyse(self, state: CycleState) -> _PodState:
        pod, snap = state.pod, state.snapshot
        disks = tuple(v for v in pod.volumes if v.kind in DISK_KINDS)
        rwop: list[str] = []
        if knows(snap, "PersistentVolumeClaim", pod.namespace):
            for v in claim_volumes(pod, include_ephemeral=False):
                pvc = snap.pvc_by_key.get(f"{pod.namespace}/{v.claim_name}")
                if pvc is None:
                    return _PodState(prefilter=(Failure(
                        plugin=self.name, code="pvc-not-found",
                        reason=f'persistentvolumeclaim "{v.claim_name}" not found',
                        message=f"volume {v.name!r} uses PersistentVolumeClaim {pod.namespace}/{v.claim_name}, "
                                "which does not exist",
                        detail={"claim": v.claim_name, "namespace": pod.namespace, "volume": v.name},
                        unresolvable=True),), disks=disks, rwop_holders=())
                if "ReadWriteOncePod" in pvc.access_modes and pvc.name not in rwop:
                    rwop.append(pvc.name)
        holders: list[tuple[str, str, str]] = []
        if rwop:
            wanted = set(rwop)
            # The scheduler's view: pods assigned to nodes it knows (StorageInfos.IsPVCUsedByPods).
            for info in state.cluster.node_infos.values():
                for other in info.pods:
                    if other.namespace != pod.namespace or other.key == pod.key:
                        continue
                    for v in other.volumes:
                        if v.kind == "persistentVolumeClaim" and v.claim_name in wanted:
                            holders.append((v.claim_name, other.key, info.name))
        return _PodState(prefilter=(), disks=disks, rwop_holders=tuple(sorted(set(holders))))

    def filter(self, state: CycleState, node: NodeInfo) -> Sequence[Failure]:
        ps = self._pod(state)
        if ps.prefilter:
            return ()
        if ps.disks and node.pods:
            failure = self._disk_conflict(ps.disks, node)
            if failure is not None:
                return (failure,)
        if ps.rwop_holders:
            cached = state.scratch.get(self.name + ".rwop")
            if cached is None:
                cached = state.scratch[self.name + ".rwop"] = self._rwop(state, ps.rwop_holders)
            return cached
        return ()

    def _disk_conflict(self, disks: Sequence[m.Volume], node: NodeInfo) -> Failure | None:
        for want in disks:
            for other in node.pods:
                for have in other.volumes:
                    if _conflict(want, have):
                        what = _DISK_TEXT[want.kind]
                        return Failure(
                            plugin=self.name, code="volume-restrictions-disk", reason=REASON_DISK,
                            message=f"{what} {want.unique_disk} (volume {want.name!r}) is already mounted by pod "
                                    f"{other.key} on node {node.name}"
                                    + ("" if want.kind == "awsElasticBlockStore" else
                                       "; only read-only mounts can share it"),
                            detail={"disk": want.unique_disk, "volume_type": want.kind, "volume": want.name,
                                    "read_only": want.read_only, "holder": other.key,
                                    "holder_read_only": have.read_only, "node": node.name})
        return None

    def _rwop(self, state: CycleState, holders: Sequence[tuple[str, str, str]]) -> tuple[Failure, ...]:
        ns = state.pod.namespace
        claim, pod_key, node_name = holders[0]
        others = "; ".join(f"{c} by {p} on {n}" for c, p, n in holders)
        return (Failure(
            plugin=self.name, code="volume-rwop", reason=REASON_RWOP,
            message=f"PersistentVolumeClaim {ns}/{claim} has access mode ReadWriteOncePod and is already used "
                    f"(in use: {others}); only one pod in the cluster may use it",
            detail={"claim": claim, "namespace": ns, "holder": pod_key, "holder_node": node_name,
                    "holders": [{"claim": c, "pod": p, "node": n} for c, p, n in holders],
                    "legacy_reason": REASON_RWOP_LEGACY}),)
