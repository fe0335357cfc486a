"""NodeVolumeLimits (CSI): per CSI driver, attached volumes + the pod's new ones <= the node's limit.

Upstream (pkg/scheduler/framework/plugins/nodevolumelimits/csi.go, CSILimits):
  - every persistentVolumeClaim and generic ephemeral volume is resolved to (driver, volume
    handle): through the bound PV's spec.csi, or, for a claim not bound yet (or whose PV is
    missing), through its StorageClass's provisioner with a per-claim placeholder handle
    (in-tree provisioners such as kubernetes.io/aws-ebs count against their CSI driver);
  - the volumes of every pod already on the node are resolved the same way; a volume shared
    with them is not counted twice;
  - limits come from CSINode spec.drivers[].allocatable.count (and the legacy
    attachable-volumes-csi-<driver> node allocatable);
  - any driver with attached + new > limit: Unschedulable "node(s) exceed max volume count".

Simplifications (the model lacks the fields): the PV name stands in for spec.csi.volumeHandle;
in-tree PVs and inline in-tree volumes (which count once CSI migration is on) are not counted;
CSI migration of in-tree provisioners is assumed on (it is GA for all of them). A new pod's claim
that does not exist is not reported here: VolumeRestrictions/VolumeBinding reject it in PreFilter.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ... import model as m
from ...snapshot import Snapshot
from ..framework import CycleState, Failure, FilterPlugin, NodeInfo, uses_volumes
from .volume_binding import claim_class, claim_volumes, knows

REASON = "node(s) exceed max volume count"

LEGACY_LIMIT_PREFIX = "attachable-volumes-csi-"

# csi-translation-lib: in-tree provisioner -> CSI driver it migrates to.
IN_TREE_TO_CSI = {
    "kubernetes.io/aws-ebs": "ebs.csi.aws.com",
    "kubernetes.io/gce-pd": "pd.csi.storage.gke.io",
    "kubernetes.io/azure-disk": "disk.csi.azure.com",
    "kubernetes.io/azure-file": "file.csi.azure.com",
    "kubernetes.io/cinder": "cinder.csi.openstack.org",
    "kubernetes.io/vsphere-volume": "csi.vsphere.vmware.com",
    "kubernetes.io/portworx-volume": "pxd.portworx.com",
}

Attachment = tuple[str, str]  # (driver, unique volume id)


def node_limits(node: m.Node) -> dict[str, int]:
    """driver -> max attachable volumes: CSINode counts over the legacy node allocatable keys."""
    out = {k[len(LEGACY_LIMIT_PREFIX):]: v for k, v in node.allocatable.items() if k.startswith(LEGACY_LIMIT_PREFIX)}
    out.update(node.volume_limits)
    return out


def _attachments(snap: Snapshot, pod: m.Pod) -> dict[Attachment, str]:
    """(driver, volume id) -> claim name, for the pod's CSI-backed claims that can be resolved."""
    out: dict[Attachment, str] = {}
    for v in claim_volumes(pod):
        pvc = snap.pvc_by_key.get(f"{pod.namespace}/{v.claim_name}")
        if pvc is None:
            continue  # existing pods: not counted upstream either; a new pod: PreFilter rejects it
        driver, handle = "", ""
        pv = snap.pv_by_name.get(pvc.volume_name) if pvc.volume_name else None
        if pv is not None:
            driver, handle = pv.csi_driver, pv.name
        else:
            cls_name = claim_class(pvc)
            cls = snap.storage_class_by_name.get(cls_name) if cls_name else None
            if cls is not None and cls.provisioner:
                driver = IN_TREE_TO_CSI.get(cls.provisioner, cls.provisioner)
                handle = f"unbound:{pvc.namespace}/{pvc.name}"
        if driver and handle:
            out[(driver, handle)] = pvc.name
    return out


class NodeVolumeLimits(FilterPlugin):
    name = "NodeVolumeLimits"

    def applies(self, state: CycleState) -> bool:
        return uses_volumes(state.pod)


    def _new(self, state: CycleState) -> dict[Attachment, str]:
        cached = state.scratch.get(self.name)
        if cached is None:
            pod, snap = state.pod, state.snapshot
            cached = {}
            if any(True for _ in claim_volumes(pod)) and knows(snap, "PersistentVolumeClaim", pod.namespace):
                cached = _attachments(snap, pod)
            state.scratch[self.name] = cached
        return cached

    def filter(self, state: CycleState, node: NodeInfo) -> Sequence[Failure]:
        new = self._new(state)
        if not new:
            return ()
        limits = node_limits(node.node)
        drivers = {d for d, _ in new}
        if not limits or not drivers & limits.keys():
            return ()
        # Upper bound first: even if every claim volume on the node were a distinct attachment of
        # one driver, would any limit be reached? Usually not, and then nothing needs resolving.
        ceiling = sum(1 for other in node.pods for v in other.volumes
                      if v.kind in ("persistentVolumeClaim", "ephemeral"))
        per_driver_new: dict[str, int] = {}
        for d, _ in new:
            per_driver_new[d] = per_driver_new.get(d, 0) + 1
        if all(ceiling + n <= limits.get(d, ceiling + n) for d, n in per_driver_new.items()):
            return ()
        attached: dict[Attachment, str] = {}
        pod_cache = state.scratch.setdefault(self.name + ".pods", {})
        for other in node.pods:
            got = pod_cache.get(other.key)
            if got is None:
                got = pod_cache[other.key] = _attachments(state.snapshot, other)
            attached.update(got)
        return self._compare(new, attached, limits, node)

    def _compare(self, new: Mapping[Attachment, str], attached: Mapping[Attachment, str],
                 limits: Mapping[str, int], node: NodeInfo) -> tuple[Failure, ...]:
        attached_count: dict[str, int] = {}
        for d, _ in attached:
            attached_count[d] = attached_count.get(d, 0) + 1
        new_claims: dict[str, list[str]] = {}
        for att, claim in new.items():
            if att not in attached:  # already attached for another pod: no new attachment
                new_claims.setdefault(att[0], []).append(claim)
        failures = []
        for driver in sorted(new_claims):
            limit = limits.get(driver)
            if limit is None:
                continue
            have, want = attached_count.get(driver, 0), len(new_claims[driver])
            if have + want > limit:
                failures.append(Failure(
                    plugin=self.name, code="volume-limits", reason=REASON,
                    message=f"node {node.name} can attach at most {limit} {driver} volume(s) (CSINode); "
                            f"{have} attached + {want} new ({', '.join(sorted(new_claims[driver]))}) = {have + want}",
                    detail={"driver": driver, "attached": have, "new": want, "limit": limit,
                            "claims": sorted(new_claims[driver]), "node": node.name}))
        return tuple(failures)
