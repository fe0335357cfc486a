"""VolumeBinding: the pod's PersistentVolumeClaims must be bound, or bindable, on the node.

Upstream (pkg/scheduler/framework/plugins/volumebinding, volume_binding.go + binder.go):

PreFilter (podHasPVCs, then GetPodVolumeClaims), pod-level, UnschedulableAndUnresolvable:
  - a claim that does not exist: `persistentvolumeclaim "X" not found`, or for a generic
    ephemeral volume `waiting for ephemeral volume controller to create the persistentvolumeclaim "X"`;
  - a claim in phase Lost: `persistentvolumeclaim "X" bound to non-existent persistentvolume "PV"`;
  - a claim being deleted: `persistentvolumeclaim "X" is being deleted`;
  - a generic ephemeral volume's claim that the pod does not control:
    `PVC ns/X was not created for pod ns/P (pod is not owner)`;
  - any claim not fully bound whose class is not WaitForFirstConsumer (Immediate, a class that
    does not exist, no class at all), or that is pre-bound (spec.volumeName set, not bound yet):
    "pod has unbound immediate PersistentVolumeClaims".

Filter (FindPodVolumes), per node, UnschedulableAndUnresolvable, reasons in upstream order:
  - a bound claim's PV node affinity does not match the node labels:
    "node(s) didn't match PersistentVolume's node affinity" (1.33+; before:
    "node(s) had volume node affinity conflict");
  - a WaitForFirstConsumer claim can neither be matched to an Available PV usable from the node
    (class, size, volumeMode, volumeAttributesClassName, selector, access modes, not being
    deleted, node affinity) nor be provisioned there: "node(s) didn't find available persistent
    volumes to bind";
  - it could be provisioned, but the driver publishes storage capacity (CSIDriver
    storageCapacity: true) and no CSIStorageCapacity of the class reachable from the node
    (nodeTopology) has maximumVolumeSize (else capacity) >= the request:
    "node(s) did not have enough free storage";
  - a bound claim's PV does not exist:
    "node(s) unavailable due to one or more pvc(s) bound to non-existent pv(s)".

"Bound" is spec.volumeName plus the pv.kubernetes.io/bind-completed annotation, not status.phase.

The helpers at the top (claim lookup, the claim's class) are shared with the other volume plugins
so they all agree on what "the claim" and "known" mean.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ... import model as m
from ...snapshot import Snapshot
from ..framework import CycleState, Failure, FilterPlugin, NodeInfo, uses_volumes
from ..selectors import (
    describe_requirement,
    label_selector_matches,
    node_selector_matches,
    requirement_matches,
)

NAME = "VolumeBinding"

REASON_UNBOUND_IMMEDIATE = "pod has unbound immediate PersistentVolumeClaims"
REASON_NODE_CONFLICT = "node(s) didn't match PersistentVolume's node affinity"
REASON_NODE_CONFLICT_LEGACY = "node(s) had volume node affinity conflict"  # <= 1.32
REASON_BIND_CONFLICT = "node(s) didn't find available persistent volumes to bind"
REASON_PV_NOT_EXIST = "node(s) unavailable due to one or more pvc(s) bound to non-existent pv(s)"
REASON_NOT_ENOUGH_SPACE = "node(s) did not have enough free storage"

WAIT_FOR_FIRST_CONSUMER = "WaitForFirstConsumer"
_SAMPLE = 10  # PVs named per node-independent rejection list
_EXAMPLES = 3  # PVs named per node in a message
NO_PROVISIONER = "kubernetes.io/no-provisioner"


# --- helpers shared by the volume plugins -------------------------------------------------------

def knows(snapshot: Snapshot, kind: str, namespace: str = "") -> bool:
    """True when `kind` was read (in `namespace`), so an absent object really is absent."""
    if not snapshot.has(kind):
        return False
    scoped = snapshot.meta.namespaces
    return not (namespace and scoped and namespace not in scoped)


def claim_volumes(pod: m.Pod, *, include_ephemeral: bool = True) -> Iterator[m.Volume]:
    """The pod's volumes that reference a PVC (persistentVolumeClaim, and generic ephemeral)."""
    for v in pod.volumes:
        if v.kind == "persistentVolumeClaim" or (include_ephemeral and v.kind == "ephemeral"):
            yield v


def claim_class(pvc: m.PersistentVolumeClaim) -> str:
    """storagehelpers.GetPersistentVolumeClaimClass: an unset class is "" (no class), not the default.

    The deprecated volume.beta.kubernetes.io/storage-class annotation, which wins upstream, is
    folded into storage_class_name by podtriage.convert.
    """
    return pvc.storage_class_name or ""


def is_fully_bound(pvc: m.PersistentVolumeClaim) -> bool:
    """isPVCFullyBound: spec.volumeName set *and* the pv.kubernetes.io/bind-completed annotation.

    Not status.phase: a claim pre-bound by hand (volumeName, no annotation) is still unbound to the
    scheduler, whatever its phase says.
    """
    return bool(pvc.volume_name) and pvc.bind_completed


def ephemeral_not_owned(pod: m.Pod, pvc: m.PersistentVolumeClaim) -> bool:
    """ephemeral.VolumeIsForPod fails: the claim is not controlled by this pod."""
    o = pvc.owner
    if o is None or o.kind != "Pod" or o.name != pod.name or pvc.namespace != pod.namespace:
        return True
    return bool(o.uid and pod.uid and o.uid != pod.uid)


def pv_bound_to_claim(pv: m.PersistentVolume, pvc: m.PersistentVolumeClaim) -> bool:
    """storagehelpers.IsVolumeBoundToClaim: claimRef names the claim (and its uid, when set)."""
    ref = pv.claim_ref
    if ref is None or ref.name != pvc.name or ref.namespace != pvc.namespace:
        return False
    return not ref.uid or not pvc.uid or ref.uid == pvc.uid


def pv_affinity_matches(pv: m.PersistentVolume, labels: Mapping[str, str]) -> bool:
    """storagehelpers.CheckNodeAffinity: matched against the node's *labels only*.

    Upstream builds a Node with labels and no name, so a matchFields term on metadata.name never
    matches; passing "" as the node name reproduces that.
    """
    if pv.node_affinity is None:
        return True
    return node_selector_matches(pv.node_affinity, labels, "")


def affinity_misses(terms: Sequence[m.NodeSelectorTerm], labels: Mapping[str, str]) -> list[dict[str, Any]]:
    """Per term, the requirements the node's labels fail, with the node's value (for messages)."""
    out = []
    for i, t in enumerate(terms):
        failed = [{"key": r.key, "operator": r.operator, "values": list(r.values), "have": labels.get(r.key),
                   "text": describe_requirement(r)}
                  for r in t.match_expressions if not requirement_matches(r, labels)]
        failed += [{"key": r.key, "operator": r.operator, "values": list(r.values), "have": None,
                    "text": f"field {describe_requirement(r)} (never matches a PersistentVolume)"}
                   for r in t.match_fields]
        out.append({"term": i, "empty": not t.match_expressions and not t.match_fields, "failed": failed})
    return out


def describe_misses(misses: list[dict[str, Any]]) -> str:
    parts = []
    for tm in misses:
        if tm["empty"]:
            parts.append(f"term {tm['term']} is empty")
        for f in tm["failed"]:
            have = "no such label" if f["have"] is None else f"{f['key']}={f['have']}"
            parts.append(f"{f['text']} (node has {have})")
    return "; ".join(parts) or "no term matches"


def _qty(n: int) -> str:
    """Bytes as the largest exact binary unit (5Gi), else plain bytes."""
    for unit, size in (("Ti", 1 << 40), ("Gi", 1 << 30), ("Mi", 1 << 20), ("Ki", 1 << 10)):
        if n and n % size == 0:
            return f"{n // size}{unit}"
    return str(n)


def _volume_mode(obj: object) -> str:
    # The PVC model has no volumeMode yet; both sides default to Filesystem upstream.
    return getattr(obj, "volume_mode", "") or "Filesystem"


def _keys_of(terms: Sequence[m.NodeSelectorTerm] | None) -> set[str]:
    return {r.key for t in terms or () for r in t.match_expressions}


# --- the pod-level analysis (PreFilter + everything Filter needs, computed once per pod) ----------

@dataclass
class _DelayClaim:
    """An unbound WaitForFirstConsumer claim and its node-independent PV candidates."""

    pvc: m.PersistentVolumeClaim
    volume: str
    storage_class: m.StorageClass
    pvs_in_class: int = 0
    prebound_pv: m.PersistentVolume | None = None  # the first of prebound_pvs
    prebound_pvs: list[m.PersistentVolume] = field(default_factory=list)  # claimRef to this claim
    candidates: list[m.PersistentVolume] = field(default_factory=list)  # smallest first
    rejected_sample: dict[str, str] = field(default_factory=dict)  # pv name -> why, first few
    rejected_counts: dict[str, int] = field(default_factory=dict)  # cause -> PVs (node-independent)

    def reject(self, pv: m.PersistentVolume, cause: str, why: str) -> None:
        self.rejected_counts[cause] = self.rejected_counts.get(cause, 0) + 1
        if len(self.rejected_sample) < _SAMPLE:
            self.rejected_sample[pv.name] = why

    @property
    def key(self) -> str:
        return f"{self.pvc.namespace}/{self.pvc.name}"

    def free_prebound(self, chosen: set[str]) -> m.PersistentVolume | None:
        """The PV pre-bound to the claim FindMatchingVolume returns when `chosen` are excluded (a
        claim mounted twice can end up with two PVs bound to it: the scheduler binds both)."""
        return next((pv for pv in self.prebound_pvs if pv.name not in chosen), None)

    @property
    def can_provision(self) -> bool:
        p = self.storage_class.provisioner
        return bool(p) and p != NO_PROVISIONER


class _CandidateIndex:
    """Which candidate PVs a node satisfies, without testing every PV on every node.

    Local and zonal PVs almost always carry terms of one `key In (values)` expression; those are
    looked up by the node's label value. Anything else is tested directly.
    """

    def __init__(self, pvs: Sequence[m.PersistentVolume]) -> None:
        self.order = {pv.name: i for i, pv in enumerate(pvs)}
        self.anywhere: list[m.PersistentVolume] = []
        self.by_label: dict[tuple[str, str], list[m.PersistentVolume]] = {}
        self.other: list[m.PersistentVolume] = []
        for pv in pvs:
            terms = pv.node_affinity
            if terms is None:
                self.anywhere.append(pv)
            elif terms and all(not t.match_fields and len(t.match_expressions) == 1
                               and t.match_expressions[0].operator == "In" for t in terms):
                for t in terms:
                    r = t.match_expressions[0]
                    for v in r.values:
                        self.by_label.setdefault((r.key, v), []).append(pv)
            else:
                self.other.append(pv)
        self.keys = sorted({k for k, _ in self.by_label})

    def matching(self, labels: Mapping[str, str]) -> list[m.PersistentVolume]:
        """Candidates usable from a node with these labels, in candidate order (smallest first)."""
        hits: dict[str, m.PersistentVolume] = {pv.name: pv for pv in self.anywhere}
        for k in self.keys:
            v = labels.get(k)
            if v is not None:
                for pv in self.by_label.get((k, v), ()):
                    hits[pv.name] = pv
        for pv in self.other:
            if pv_affinity_matches(pv, labels):
                hits[pv.name] = pv
        return sorted(hits.values(), key=lambda pv: self.order[pv.name])


@dataclass
class _PodVolumes:
    prefilter: tuple[Failure, ...] = ()
    has_claims: bool = False
    bound: list[tuple[m.PersistentVolumeClaim, m.PersistentVolume | None]] = field(default_factory=list)
    delay: list[_DelayClaim] = field(default_factory=list)
    indexes: dict[str, _CandidateIndex] = field(default_factory=dict)  # claim key -> index
    label_keys: tuple[str, ...] = ()
    uses_node_name: bool = False
    capacity_drivers: frozenset[str] = frozenset()  # CSIDrivers with storageCapacity: true
    capacities: tuple[m.CSIStorageCapacity, ...] = ()


class VolumeBinding(FilterPlugin):
    name = NAME

    def applies(self, state: CycleState) -> bool:
        return uses_volumes(state.pod)

    # ---- PreFilter -----------------------------------------------------------------------------
    def pre_filter(self, state: CycleState) -> Sequence[Failure]:
        return self._pod(state).prefilter

    def _pod(self, state: CycleState) -> _PodVolumes:
        cached = state.scratch.get(self.name + ".pod")
        if cached is None:
            cached = state.scratch[self.name + ".pod"] = self._analyse(state)
        return cached

    def _analyse(self, state: CycleState) -> _PodVolumes:
        pod, snap = state.pod, state.snapshot
        out = _PodVolumes()
        vols = list(claim_volumes(pod))
        if not vols:
            return out
        out.has_claims = True
        if not knows(snap, "PersistentVolumeClaim", pod.namespace):
            return out  # nothing can be said about claims that were not read

        # podHasPVCs: the first broken claim, in volume order, rejects the pod.
        claims: list[tuple[m.Volume, m.PersistentVolumeClaim]] = []
        for v in vols:
            pvc = snap.pvc_by_key.get(f"{pod.namespace}/{v.claim_name}")
            failure = self._broken_claim(pod, v, pvc)
            if failure is not None:
                out.prefilter = (failure,)
                return out
            assert pvc is not None
            claims.append((v, pvc))

        # GetPodVolumeClaims: bound / unbound-immediate / unbound-delayed.
        pv_known = knows(snap, "PersistentVolume")
        sc_known = knows(snap, "StorageClass")
        immediate: list[dict[str, Any]] = []
        for v, pvc in claims:
            if is_fully_bound(pvc):
                pv = snap.pv_by_name.get(pvc.volume_name)
                if pv is not None or pv_known:
                    out.bound.append((pvc, pv))
                continue
            cls_name = claim_class(pvc)
            cls = snap.storage_class_by_name.get(cls_name) if cls_name else None
            if cls_name and cls is None and not sc_known:
                continue  # binding mode unknowable: say nothing rather than guess
            # Prebound claims (spec.volumeName set, not bound yet) count as immediate upstream.
            if cls is not None and cls.volume_binding_mode == WAIT_FOR_FIRST_CONSUMER and not pvc.volume_name:
                out.delay.append(_DelayClaim(pvc=pvc, volume=v.name, storage_class=cls))
            else:
                immediate.append(self._immediate_detail(snap, v, pvc, cls))
        if immediate:
            out.prefilter = (self._unbound_immediate(snap, immediate),)
            return out

        if out.delay:
            self._find_candidates(snap, out.delay, pv_known)
            for dc in out.delay:
                out.indexes[dc.key] = _CandidateIndex(dc.candidates)
        out.capacity_drivers = frozenset(d.name for d in snap.csi_drivers if d.storage_capacity)
        if out.capacity_drivers and any(dc.storage_class.provisioner in out.capacity_drivers for dc in out.delay):
            classes = {dc.storage_class.name for dc in out.delay}
            out.capacities = tuple(c for c in snap.csi_storage_capacities if c.storage_class in classes)
        keys: set[str] = set()
        for cap in out.capacities:
            if cap.node_topology is not None:
                keys |= {k for k, _ in cap.node_topology.match_labels}
                keys |= {r.key for r in cap.node_topology.match_expressions}
        for _, pv in out.bound:
            keys |= _keys_of(pv.node_affinity if pv else None)
        for dc in out.delay:
            keys |= _keys_of(dc.storage_class.allowed_topologies)
            for pv in dc.candidates + dc.prebound_pvs:
                keys |= _keys_of(pv.node_affinity)
            out.uses_node_name = out.uses_node_name or bool(dc.pvc.selected_node)
        out.label_keys = tuple(sorted(keys))
        return out

    def _broken_claim(self, pod: m.Pod, v: m.Volume, pvc: m.PersistentVolumeClaim | None) -> Failure | None:
        name, ns = v.claim_name, pod.namespace
        if pvc is None:
            if v.kind == "ephemeral":
                return Failure(
                    plugin=self.name, code="ephemeral-pvc-pending",
                    reason=f'waiting for ephemeral volume controller to create the persistentvolumeclaim "{name}"',
                    message=f"generic ephemeral volume {v.name!r} needs PersistentVolumeClaim {ns}/{name}, "
                            "which the ephemeral volume controller has not created yet",
                    detail={"claim": name, "namespace": ns, "volume": v.name}, unresolvable=True)
            return Failure(
                plugin=self.name, code="pvc-not-found", reason=f'persistentvolumeclaim "{name}" not found',
                message=f"volume {v.name!r} uses PersistentVolumeClaim {ns}/{name}, which does not exist",
                detail={"claim": name, "namespace": ns, "volume": v.name}, unresolvable=True)
        if pvc.phase == "Lost":
            return Failure(
                plugin=self.name, code="pvc-bound-to-missing-pv",
                reason=f'persistentvolumeclaim "{name}" bound to non-existent persistentvolume "{pvc.volume_name}"',
                message=f"PersistentVolumeClaim {ns}/{name} is Lost: its PersistentVolume "
                        f"{pvc.volume_name or '(none)'} no longer exists",
                detail={"claim": name, "namespace": ns, "volume": v.name, "pv": pvc.volume_name},
                unresolvable=True)
        if pvc.deletion_timestamp:
            return Failure(
                plugin=self.name, code="pvc-deleting", reason=f'persistentvolumeclaim "{name}" is being deleted',
                message=f"PersistentVolumeClaim {ns}/{name} has been deleted (at {pvc.deletion_timestamp}) and "
                        "waits for its finalizers; the pod can never use it",
                detail={"claim": name, "namespace": ns, "volume": v.name,
                        "deletion_timestamp": pvc.deletion_timestamp}, unresolvable=True)
        if v.kind == "ephemeral" and ephemeral_not_owned(pod, pvc):
            return Failure(
                plugin=self.name, code="ephemeral-pvc-not-owned",
                reason=f"PVC {ns}/{name} was not created for pod {ns}/{pod.name} (pod is not owner)",
                message=f"generic ephemeral volume {v.name!r} needs PersistentVolumeClaim {ns}/{name}, but a "
                        "claim of that name already exists and belongs to something else "
                        f"({pvc.owner.kind + '/' + pvc.owner.name if pvc.owner else 'no controller'}); "
                        "the ephemeral volume controller will not take it over",
                detail={"claim": name, "namespace": ns, "volume": v.name,
                        "owner": f"{pvc.owner.kind}/{pvc.owner.name}" if pvc.owner else ""},
                unresolvable=True)
        return None

    @staticmethod
    def _immediate_detail(snap: Snapshot, v: m.Volume, pvc: m.PersistentVolumeClaim,
                          cls: m.StorageClass | None) -> dict[str, Any]:
        default = snap.default_storage_class
        return {
            "claim": pvc.name, "namespace": pvc.namespace, "volume": v.name,
            "storage_class": claim_class(pvc),
            "storage_class_set": pvc.storage_class_name is not None,
            "class_exists": cls is not None,
            "binding_mode": cls.volume_binding_mode if cls else "",
            "provisioner": cls.provisioner if cls else "",
            "default_class_exists": default is not None,
            "default_storage_class": default.name if default else "",
            "prebound_pv": pvc.volume_name,
            "phase": pvc.phase,
        }

    def _unbound_immediate(self, snap: Snapshot, claims: list[dict[str, Any]]) -> Failure:
        parts = []
        for c in claims:
            who = f"PersistentVolumeClaim {c['namespace']}/{c['claim']}"
            if c["prebound_pv"]:
                parts.append(f"{who} is pre-bound to PersistentVolume {c['prebound_pv']} but not bound yet")
            elif not c["storage_class_set"]:
                tail = (f"; the default StorageClass {c['default_storage_class']} was not applied to it"
                        if c["default_class_exists"] else " and the cluster has no default StorageClass")
                parts.append(f"{who} has no storageClassName{tail}")
            elif not c["storage_class"]:
                parts.append(f'{who} has storageClassName "" (static binding only) and no PersistentVolume '
                             "has been bound to it")
            elif not c["class_exists"]:
                parts.append(f"{who} requests StorageClass {c['storage_class']}, which does not exist")
            else:
                parts.append(f"{who} (StorageClass {c['storage_class']}, {c['binding_mode']} binding, "
                             f"provisioner {c['provisioner'] or 'none'}) is not bound yet")
        first = claims[0]
        return Failure(
            plugin=self.name, code="volume-unbound-immediate", reason=REASON_UNBOUND_IMMEDIATE,
            message="; ".join(parts),
            detail={"claims": claims, "claim": first["claim"], "storage_class": first["storage_class"],
                    "class_exists": first["class_exists"], "default_class_exists": first["default_class_exists"],
                    "default_storage_class": first["default_storage_class"]},
            unresolvable=True)

    @staticmethod
    def _find_candidates(snap: Snapshot, delay: list[_DelayClaim], pv_known: bool) -> None:
        """The node-independent half of FindMatchingVolume, per WaitForFirstConsumer claim."""
        by_class: dict[str, list[m.PersistentVolume]] = {}
        if pv_known:
            wanted = {claim_class(dc.pvc) for dc in delay}
            for pv in snap.pvs:
                if pv.storage_class_name in wanted:
                    by_class.setdefault(pv.storage_class_name, []).append(pv)
        for dc in delay:
            pvc = dc.pvc
            pvs = by_class.get(claim_class(pvc), [])
            dc.pvs_in_class = len(pvs)
            selector = pvc.selector
            for pv in pvs:
                bound_to_us = pv_bound_to_claim(pv, pvc)
                if pv.claim_ref is not None and not bound_to_us:
                    dc.reject(pv, "claimed", f"claimed by {pv.claim_ref.namespace}/{pv.claim_ref.name}")
                    continue
                if pv.capacity_storage < pvc.requested_storage:
                    dc.reject(pv, "capacity", f"capacity {_qty(pv.capacity_storage)} < requested "
                                              f"{_qty(pvc.requested_storage)}")
                    continue
                if _volume_mode(pv) != _volume_mode(pvc):
                    dc.reject(pv, "volumeMode", f"volumeMode {_volume_mode(pv)} != {_volume_mode(pvc)}")
                    continue
                if pv.volume_attributes_class != pvc.volume_attributes_class:
                    dc.reject(pv, "volumeAttributesClass",
                              f"volumeAttributesClassName {pv.volume_attributes_class or '(none)'} != "
                              f"{pvc.volume_attributes_class or '(none)'}")
                    continue
                if pv.deletion_timestamp:
                    dc.reject(pv, "deleting", "being deleted")
                    continue
                if bound_to_us:
                    # wins outright, subject only to its node affinity, unless another claim of the
                    # pod took it already (the same claim mounted twice): then the others compete
                    dc.prebound_pvs.append(pv)
                    dc.prebound_pv = dc.prebound_pv or pv
                    continue
                if pv.phase != "Available":
                    dc.reject(pv, "phase", f"phase {pv.phase}")
                    continue
                if selector is not None and not label_selector_matches(selector, pv.labels):
                    dc.reject(pv, "selector", "labels don't match the claim's selector")
                    continue
                missing = [a for a in pvc.access_modes if a not in pv.access_modes]
                if missing:
                    dc.reject(pv, "access modes",
                              f"access modes {','.join(pv.access_modes) or 'none'} lack {','.join(missing)}")
                    continue
                dc.candidates.append(pv)
            # FindMatchingVolume keeps the smallest; ties keep the first seen.
            dc.candidates.sort(key=lambda pv: pv.capacity_storage)

    # ---- Filter ----------------------------------------------------------------------------------
    def filter(self, state: CycleState, node: NodeInfo) -> Sequence[Failure]:
        pv = self._pod(state)
        if pv.prefilter or not (pv.bound or pv.delay):
            return ()  # PreFilter rejected the pod (Filter never runs) or nothing to check
        labels = node.node.labels
        memo_key = (tuple(labels.get(k) for k in pv.label_keys), node.name if pv.uses_node_name else "")
        memo = state.scratch.setdefault(self.name + ".memo", {})
        if memo_key not in memo:
            memo[memo_key] = self._find_pod_volumes(pv, node)
        return memo[memo_key]

    def _find_pod_volumes(self, pv: _PodVolumes, node: NodeInfo) -> tuple[Failure, ...]:
        """Memoised across nodes with the same relevant labels: failures must not name the node."""
        labels = node.node.labels
        failures: list[Failure] = []
        missing_pv: tuple[m.PersistentVolumeClaim, str] | None = None
        # checkBoundClaims: stops at the first missing PV or the first affinity mismatch.
        for pvc, vol in pv.bound:
            if vol is None:
                missing_pv = (pvc, pvc.volume_name)
                break
            if not pv_affinity_matches(vol, labels):
                failures.append(self._node_conflict(pvc, vol, node))
                break
        if pv.delay:
            conflict = self._unbound(pv, node)
            if conflict is not None:
                failures.append(conflict)
        if missing_pv is not None:
            pvc, pv_name = missing_pv
            failures.append(Failure(
                plugin=self.name, code="volume-pv-not-exist", reason=REASON_PV_NOT_EXIST,
                message=f"PersistentVolumeClaim {pvc.namespace}/{pvc.name} is bound to PersistentVolume "
                        f"{pv_name}, which does not exist",
                detail={"claim": pvc.name, "namespace": pvc.namespace, "pv": pv_name},
                unresolvable=True))
        return tuple(failures)

    def _node_conflict(self, pvc: m.PersistentVolumeClaim, vol: m.PersistentVolume, node: NodeInfo) -> Failure:
        labels = node.node.labels
        misses = affinity_misses(vol.node_affinity or (), labels)
        keys = sorted({f["key"] for tm in misses for f in tm["failed"]})
        return Failure(
            plugin=self.name, code="volume-node-affinity", reason=REASON_NODE_CONFLICT,
            message=f"PersistentVolume {vol.name} (claim {pvc.namespace}/{pvc.name}) can only be used from nodes "
                    f"matching its nodeAffinity; the node fails {describe_misses(misses)}",
            detail={"pv": vol.name, "claim": pvc.name, "namespace": pvc.namespace,
                    "terms": misses, "node_labels": {k: labels.get(k) for k in keys},
                    "legacy_reason": REASON_NODE_CONFLICT_LEGACY},
            unresolvable=True)

    def _unbound(self, pv: _PodVolumes, node: NodeInfo) -> Failure | None:
        """FindPodVolumes for WaitForFirstConsumer claims, in upstream order: a claim already being
        provisioned for another node fails at once; then static matching (smallest claim first, each
        takes the smallest usable PV); then provisioning (checkVolumeProvisions), which stops at the
        first claim that cannot be provisioned here (bind conflict) or lacks storage capacity."""
        labels, name = node.node.labels, node.name
        for dc in pv.delay:
            if dc.pvc.selected_node and dc.pvc.selected_node != name:
                return self._bind_conflict([{
                    "claim": dc.pvc.name, "namespace": dc.pvc.namespace, "storage_class": dc.storage_class.name,
                    "selected_node": dc.pvc.selected_node,
                    "why": f"is already being provisioned for node {dc.pvc.selected_node} "
                           "(annotation volume.kubernetes.io/selected-node)"}])
        to_provision = [dc for dc in pv.delay if dc.pvc.selected_node]
        chosen: set[str] = set()
        to_match = [dc for dc in pv.delay if not dc.pvc.selected_node]
        for dc in sorted(to_match, key=lambda d: d.pvc.requested_storage):
            found: m.PersistentVolume | None = None
            prebound = dc.free_prebound(chosen)
            if prebound is not None:
                found = prebound if pv_affinity_matches(prebound, labels) else None
            else:
                for cand in pv.indexes[dc.key].matching(labels):
                    if cand.name not in chosen:
                        found = cand
                        break
            if found is not None:
                chosen.add(found.name)
            else:
                to_provision.append(dc)
        for dc in to_provision:
            cls = dc.storage_class
            if not dc.can_provision:
                return self._bind_conflict([self._no_match(dc, pv.indexes[dc.key], labels, chosen)])
            if cls.allowed_topologies and not node_selector_matches(cls.allowed_topologies, labels, ""):
                return self._bind_conflict([{
                    "claim": dc.pvc.name, "namespace": dc.pvc.namespace, "storage_class": cls.name,
                    "provisioner": cls.provisioner,
                    "allowed_topologies": affinity_misses(cls.allowed_topologies, labels),
                    "why": f"can be provisioned by {cls.provisioner}, but StorageClass {cls.name}'s "
                           f"allowedTopologies exclude the node: "
                           f"{describe_misses(affinity_misses(cls.allowed_topologies, labels))}"}])
            short = self._capacity_short(pv, dc, labels)
            if short is not None:
                return Failure(
                    plugin=self.name, code="volume-no-space", reason=REASON_NOT_ENOUGH_SPACE,
                    message=f"PersistentVolumeClaim {dc.pvc.namespace}/{dc.pvc.name} needs "
                            f"{_qty(dc.pvc.requested_storage)} from {cls.provisioner} (StorageClass {cls.name}), "
                            f"and no CSIStorageCapacity reachable from the node has that much: {short}",
                    detail={"claim": dc.pvc.name, "namespace": dc.pvc.namespace, "storage_class": cls.name,
                            "provisioner": cls.provisioner, "requested": _qty(dc.pvc.requested_storage),
                            "requested_bytes": dc.pvc.requested_storage, "capacities": short},
                    unresolvable=True)
        return None

    def _bind_conflict(self, problems: list[dict[str, Any]]) -> Failure:
        return Failure(
            plugin=self.name, code="volume-bind-conflict", reason=REASON_BIND_CONFLICT,
            message="; ".join(
                f"PersistentVolumeClaim {p['namespace']}/{p['claim']} {p['why']}" for p in problems),
            detail={"claims": problems, "claim": problems[0]["claim"],
                    "storage_class": problems[0]["storage_class"]},
            unresolvable=True)

    @staticmethod
    def _capacity_short(pv: _PodVolumes, dc: _DelayClaim, labels: Mapping[str, str]) -> str | None:
        """hasEnoughCapacity: None when the driver does not publish capacity or some CSIStorageCapacity
        of the class reachable from the node (nodeTopology) holds the request; else what there is."""
        if not dc.pvc.has_storage_request or dc.storage_class.provisioner not in pv.capacity_drivers:
            return None
        size = dc.pvc.requested_storage
        seen = []
        for cap in pv.capacities:
            if cap.storage_class != dc.storage_class.name:
                continue
            limit = cap.maximum_volume_size if cap.maximum_volume_size is not None else cap.capacity
            reachable = cap.node_topology is not None and label_selector_matches(cap.node_topology, labels)
            if limit is not None and limit >= size and reachable:
                return None
            if reachable:
                seen.append(f"{cap.namespace}/{cap.name} has {_qty(limit) if limit is not None else 'no capacity'}")
        return "; ".join(seen[:3]) or "none of the class's CSIStorageCapacity objects covers the node"

    @staticmethod
    def _no_match(dc: _DelayClaim, index: _CandidateIndex, labels: Mapping[str, str],
                  chosen: set[str]) -> dict[str, Any]:
        """Why no PV fits, summarised: counts per cause and a few named examples (no pools x nodes)."""
        cls = dc.storage_class
        counts = dict(dc.rejected_counts)
        rejected = dict(dc.rejected_sample)
        prebound = dc.free_prebound(chosen)
        if prebound is not None:
            pool: Sequence[m.PersistentVolume] = [prebound]
            usable = {prebound.name} if pv_affinity_matches(prebound, labels) else set()
        elif dc.prebound_pvs:
            pool = [*dc.prebound_pvs, *dc.candidates]
            usable = {pv.name for pv in index.matching(labels)} | {pv.name for pv in dc.prebound_pvs}
        else:
            pool = dc.candidates
            usable = {pv.name for pv in index.matching(labels)}
        excluded = len(pool) - len(usable)
        if excluded:
            counts["node affinity"] = excluded
            shown = 0
            for pv in pool:
                if pv.name not in usable:
                    rejected[pv.name] = "nodeAffinity: " + describe_misses(
                        affinity_misses(pv.node_affinity or (), labels))
                    shown += 1
                    if shown == _EXAMPLES:
                        break
        taken = sorted(usable & chosen)
        if taken:
            counts["taken by another claim of this pod"] = len(taken)
            rejected.update({n: "taken by another claim of this pod" for n in taken[:_EXAMPLES]})
        total = sum(counts.values())
        listed = "; ".join(f"{k}: {v}" for k, v in list(rejected.items())[:_EXAMPLES])
        more = f" (+{total - min(total, _EXAMPLES)} more)" if total > _EXAMPLES else ""
        pvs = (f"{dc.pvs_in_class} PersistentVolume(s) in the class, none usable ({listed}{more})"
               if dc.pvs_in_class else "no PersistentVolume exists in that class")
        prov = cls.provisioner or "none"
        return {
            "claim": dc.pvc.name, "namespace": dc.pvc.namespace, "storage_class": cls.name,
            "provisioner": cls.provisioner, "requested": dc.pvc.requested_storage,
            "access_modes": list(dc.pvc.access_modes), "pvs_in_class": dc.pvs_in_class,
            "prebound_pv": dc.prebound_pv.name if dc.prebound_pv else "",
            "rejected": rejected, "rejected_counts": counts,
            "why": f"(StorageClass {cls.name}, {_qty(dc.pvc.requested_storage)}, "
                   f"{','.join(dc.pvc.access_modes) or 'no access modes'}) has no matching available "
                   f"PersistentVolume: {pvs}; and the class cannot provision one (provisioner {prov})",
        }
