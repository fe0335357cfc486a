"""NodeVolumeLimits (CSI): per CSI driver, attached volumes + the pod's new ones <= the node's limit.

Upstream (pkg/scheduler/framework/plugins/nodevolumelimits/csi.go, CSILimits, v1.37):
  - PreFilter skips pods without a persistentVolumeClaim, generic ephemeral or migratable in-tree
    inline volume.
  - Each volume is resolved to (driver, volume handle): a claim through its PV (spec.csi; an in-tree
    PV of a plugin whose CSI migration is on (EBS, GCE PD, Azure Disk, Cinder, Portworx) is
    translated, only when the node has a CSINode object); a claim not bound yet (or whose PV is
    missing) through its StorageClass's provisioner with a per-claim handle (in-tree provisioners
    count against their CSI driver, same migration rule); an in-tree inline volume is translated
    the same way. vSphere and Azure File are migratable but their migration is not "on" in the
    scheduler, so they are never counted. Inline CSI volumes are never counted.
  - VolumeLimitScaling (beta, on in 1.37): a CSIDriver with preventPodSchedulingIfMissing whose
    driver is not in the node's CSINode: Unschedulable "<driver> CSI driver is not installed on
    the node" (upstream picks one of the pod's drivers at random when several are missing).
  - Limits come from CSINode spec.drivers[].allocatable.count only (the legacy
    attachable-volumes-csi-* node allocatable is no longer read). No limit for a driver: no check.
  - Attached: the volumes of every pod on the node (resolved alike; one shared with the new pod is
    not new), plus VolumeAttachments to the node (spec.attacher, a PV with spec.csi) not already
    counted; a VolumeAttachment of the pod's own volume still leaves that volume "new".
  - attached + new > limit for any driver: Unschedulable "node(s) exceed max volume count".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ... import model as m
from ...convert import IN_TREE_PLUGIN_OF_SOURCE
from ...snapshot import Snapshot
from ..framework import CycleState, Failure, FilterPlugin, NodeInfo, uses_volumes
from .volume_binding import claim_class, knows

REASON = "node(s) exceed max volume count"

# csi-translation-lib: in-tree plugin -> CSI driver it migrates to.
IN_TREE_TO_CSI = {
    "kubernetes.io/aws-ebs": "ebs.csi.aws.com",
    "kubernetes.io/gce-pd": "pd.csi.storage.gke.io",
    "kubernetes.io/azure-disk": "disk.csi.azure.com",
    "kubernetes.io/azure-file": "file.csi.azure.com",
    "kubernetes.io/cinder": "cinder.csi.openstack.org",
    "kubernetes.io/vsphere-volume": "csi.vsphere.vmware.com",
    "kubernetes.io/portworx-volume": "pxd.portworx.com",
}
# isCSIMigrationOn: the in-tree plugins whose volumes the scheduler counts against their CSI driver.
MIGRATION_ON = frozenset({"kubernetes.io/aws-ebs", "kubernetes.io/gce-pd", "kubernetes.io/azure-disk",
                          "kubernetes.io/cinder", "kubernetes.io/portworx-volume"})

Attachment = tuple[str, str]  # (driver, unique volume handle)


def node_limits(node: m.Node) -> dict[str, int]:
    """driver -> max attachable volumes, from the node's CSINode only."""
    return dict(node.volume_limits)


def _translated_handle(plugin: str, volume_id: str, zone: str = "UNSPECIFIED") -> str:
    """The volume handle csi-translation-lib gives an in-tree volume (what dedupes attachments)."""
    if plugin == "kubernetes.io/aws-ebs":
        return volume_id.rsplit("/", 1)[-1] if volume_id.startswith("aws://") else volume_id
    if plugin == "kubernetes.io/gce-pd":
        return f"projects/UNSPECIFIED/zones/{zone}/disks/{volume_id}"
    return volume_id


def _migration_on(node: m.Node, plugin: str) -> bool:
    return node.csi_drivers is not None and plugin in MIGRATION_ON


def _claim_attachment(snap: Snapshot, node: m.Node, pvc: m.PersistentVolumeClaim) -> Attachment | None:
    pv = snap.pv_by_name.get(pvc.volume_name) if pvc.volume_name else None
    if pv is not None:
        if pv.csi_driver:
            return (pv.csi_driver, pv.csi_volume_handle)
        plugin, volume_id = pv.in_tree
        if not plugin or not _migration_on(node, plugin):
            return None
        zone = pv.labels.get("topology.kubernetes.io/zone") or \
            pv.labels.get("failure-domain.beta.kubernetes.io/zone") or "UNSPECIFIED"
        return (IN_TREE_TO_CSI[plugin], _translated_handle(plugin, volume_id, zone))
    cls_name = claim_class(pvc)
    cls = snap.storage_class_by_name.get(cls_name) if cls_name else None
    if cls is None:
        return None
    handle = f"<unbound>-{pvc.namespace}/{pvc.name}"
    if cls.provisioner in IN_TREE_TO_CSI:
        if not _migration_on(node, cls.provisioner):
            return None
        return (IN_TREE_TO_CSI[cls.provisioner], handle)
    return (cls.provisioner, handle) if cls.provisioner else None


def attachments(snap: Snapshot, node: m.Node, pod: m.Pod) -> dict[Attachment, str]:
    """(driver, handle) -> the volume's name in the pod, for the pod's countable volumes."""
    out: dict[Attachment, str] = {}
    for v in pod.volumes:
        att: Attachment | None = None
        if v.kind in ("persistentVolumeClaim", "ephemeral"):
            pvc = snap.pvc_by_key.get(f"{pod.namespace}/{v.claim_name}")
            if pvc is None:
                continue  # existing pods: not counted upstream; a new pod: PreFilter rejected it already
            att = _claim_attachment(snap, node, pvc)
            label = v.claim_name
        elif v.kind in IN_TREE_PLUGIN_OF_SOURCE:
            plugin = IN_TREE_PLUGIN_OF_SOURCE[v.kind]
            if _migration_on(node, plugin):
                att = (IN_TREE_TO_CSI[plugin], _translated_handle(plugin, v.unique_disk))
            label = f"{v.kind} {v.unique_disk}"
        if att is not None and att[0] and att[1]:
            out[att] = label
    return out


def _countable(pod: m.Pod) -> bool:
    return any(v.kind in ("persistentVolumeClaim", "ephemeral") or v.kind in IN_TREE_PLUGIN_OF_SOURCE
               for v in pod.volumes)


class NodeVolumeLimits(FilterPlugin):
    name = "NodeVolumeLimits"

    def applies(self, state: CycleState) -> bool:
        return uses_volumes(state.pod) or _countable(state.pod)

    def filter(self, state: CycleState, node: NodeInfo) -> Sequence[Failure]:
        pod, snap = state.pod, state.snapshot
        if not _countable(pod) or not knows(snap, "PersistentVolumeClaim", pod.namespace):
            return ()
        new = attachments(snap, node.node, pod)
        if not new:
            return ()
        missing = self._drivers_not_installed(snap, node.node, {d for d, _ in new})
        if missing:
            driver = missing[0]
            return (Failure(
                plugin=self.name, code="csi-driver-missing", reason=f"{driver} CSI driver is not installed on the node",
                message=f"CSIDriver {driver} has preventPodSchedulingIfMissing: true and node {node.name}'s CSINode "
                        "does not list it (the driver's node plugin is not running there)",
                detail={"driver": driver, "drivers": missing, "node": node.name}),)
        limits = node_limits(node.node)
        if not limits or not {d for d, _ in new} & limits.keys():
            return ()
        attached: dict[Attachment, str] = {}
        pod_cache = state.scratch.setdefault(self.name + ".pods", {})
        for other in node.pods:
            key = (other.key, node.name)
            got = pod_cache.get(key)
            if got is None:
                got = pod_cache[key] = attachments(snap, node.node, other)
            attached.update(got)
        vas = [va for va in self._attachments_to(state, node.name) if va not in attached]
        return self._compare(new, attached, vas, limits, node)

    @staticmethod
    def _drivers_not_installed(snap: Snapshot, node: m.Node, drivers: set[str]) -> list[str]:
        out = []
        for d in sorted(drivers):
            drv = snap.csi_driver_by_name.get(d)
            if drv is None or not drv.prevent_scheduling_if_missing:
                continue
            if node.csi_drivers is None or d not in node.csi_drivers:
                out.append(d)
        return out

    @staticmethod
    def _attachments_to(state: CycleState, node_name: str) -> list[Attachment]:
        by_node = state.scratch.get("NodeVolumeLimits.va")
        if by_node is None:
            snap = state.snapshot
            by_node = {}
            for va in snap.volume_attachments:
                if not va.attacher or not va.pv_name:
                    continue
                pv = snap.pv_by_name.get(va.pv_name)
                if pv is None or not pv.csi_driver:
                    continue
                by_node.setdefault(va.node, []).append((va.attacher, pv.csi_volume_handle))
            state.scratch["NodeVolumeLimits.va"] = by_node
        return by_node.get(node_name, [])

    def _compare(self, new: Mapping[Attachment, str], attached: Mapping[Attachment, str],
                 vas: Sequence[Attachment], limits: Mapping[str, int], node: NodeInfo) -> tuple[Failure, ...]:
        # Volumes of pods on the node are attached (a new volume among them is not new); a
        # VolumeAttachment no pod accounts for adds to the count but, upstream, does not make the
        # pod's own volume "already attached".
        attached_count: dict[str, int] = {}
        for d, _ in list(attached) + list(vas):
            attached_count[d] = attached_count.get(d, 0) + 1
        new_claims: dict[str, list[str]] = {}
        for att, claim in new.items():
            if att not in attached:  # already attached for another pod: no new attachment
                new_claims.setdefault(att[0], []).append(claim)
        for driver in sorted(new_claims):
            limit = limits.get(driver)
            if limit is None:
                continue
            have, want = attached_count.get(driver, 0), len(new_claims[driver])
            if have + want > limit:
                return (Failure(
                    plugin=self.name, code="volume-limits", reason=REASON,
                    message=f"node {node.name} can attach at most {limit} {driver} volume(s) (CSINode); "
                            f"{have} attached + {want} new ({', '.join(sorted(new_claims[driver]))}) = {have + want}",
                    detail={"driver": driver, "attached": have, "new": want, "limit": limit,
                            "claims": sorted(new_claims[driver]), "node": node.name}),)
        return ()
