"""VolumeZone: a bound PersistentVolume's zone/region labels must match the node's.

Upstream (pkg/scheduler/framework/plugins/volumezone/volume_zone.go):
  PreFilter collects, for each persistentVolumeClaim volume (not generic ephemeral ones), the
  bound PV's labels among failure-domain.beta.kubernetes.io/{zone,region} and
  topology.kubernetes.io/{zone,region}. A value may list several zones joined by "__"
  (LabelZonesToSet); a value with an empty element is ignored. Unbound WaitForFirstConsumer
  claims are skipped.
  Filter passes nodes that carry none of those four labels (single-zone clusters); otherwise each
  PV label must find the node's value for the same key (a beta key falls back to the node's GA
  key) in its set, else UnschedulableAndUnresolvable "node(s) had no available volume zone".

PreFilter errors: a bound claim whose PV does not exist gives `persistentvolume "X" not found`
(the scheduler reports this one: VolumeBinding's PreFilter does not look up PVs). The other
PreFilter errors (claim missing, unbound claim without a WaitForFirstConsumer class) can only
happen when VolumeRestrictions/VolumeBinding have already rejected the pod earlier in PreFilter,
so they are not repeated here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ... import model as m
from ..framework import CycleState, Failure, FilterPlugin, NodeInfo, uses_volumes
from .volume_binding import WAIT_FOR_FIRST_CONSUMER, claim_class, claim_volumes, knows

REASON = "node(s) had no available volume zone"

BETA_ZONE = "failure-domain.beta.kubernetes.io/zone"
BETA_REGION = "failure-domain.beta.kubernetes.io/region"
ZONE = "topology.kubernetes.io/zone"
REGION = "topology.kubernetes.io/region"
TOPOLOGY_LABELS = (BETA_ZONE, BETA_REGION, ZONE, REGION)  # upstream order
_GA = {BETA_ZONE: ZONE, BETA_REGION: REGION}


def zones_to_set(value: str) -> frozenset[str] | None:
    """volumehelpers.LabelZonesToSet: "a__b" -> {a, b}; None when an element is empty (invalid)."""
    parts = [p.strip() for p in value.split("__")]
    if any(not p for p in parts):
        return None
    return frozenset(parts)


@dataclass(frozen=True)
class _PVTopology:
    pv: str
    claim: str  # the claim's name (its namespace is the pod's)
    namespace: str
    key: str
    value: str  # the label as written
    values: frozenset[str]


class VolumeZone(FilterPlugin):
    name = "VolumeZone"

    def applies(self, state: CycleState) -> bool:
        return uses_volumes(state.pod)

    def pre_filter(self, state: CycleState) -> Sequence[Failure]:
        return self._topologies(state)[1]

    def _topologies(self, state: CycleState) -> tuple[tuple[_PVTopology, ...], tuple[Failure, ...]]:
        return state.once(self.name, self._collect)

    def _collect(self, state: CycleState) -> tuple[tuple[_PVTopology, ...], tuple[Failure, ...]]:
        pod, snap = state.pod, state.snapshot
        vols = list(claim_volumes(pod, include_ephemeral=False))
        if not vols or not knows(snap, "PersistentVolumeClaim", pod.namespace):
            return (), ()
        out: list[_PVTopology] = []
        for v in vols:
            pvc = snap.pvc_by_key.get(f"{pod.namespace}/{v.claim_name}")
            if pvc is None:
                return (), ()  # VolumeRestrictions/VolumeBinding reject the pod first
            if not pvc.volume_name:
                cls = snap.storage_class_by_name.get(claim_class(pvc))
                if cls is not None and cls.volume_binding_mode == WAIT_FOR_FIRST_CONSUMER:
                    continue  # decided by VolumeBinding once the volume is provisioned
                if cls is None and claim_class(pvc) and not knows(snap, "StorageClass"):
                    continue  # binding mode unknowable
                return (), ()  # "PersistentVolume had no name": VolumeBinding rejects it first
            pv = snap.pv_by_name.get(pvc.volume_name)
            if pv is None:
                if not knows(snap, "PersistentVolume"):
                    continue
                return (), (Failure(
                    plugin=self.name, code="pv-not-found",
                    reason=f'persistentvolume "{pvc.volume_name}" not found',
                    message=f"PersistentVolumeClaim {pvc.namespace}/{pvc.name} names PersistentVolume "
                            f"{pvc.volume_name}, which does not exist",
                    detail={"claim": pvc.name, "namespace": pvc.namespace, "pv": pvc.volume_name},
                    unresolvable=True),)
            out.extend(self._pv_topologies(pv, pvc))
        return tuple(out), ()

    @staticmethod
    def _pv_topologies(pv: m.PersistentVolume, pvc: m.PersistentVolumeClaim) -> list[_PVTopology]:
        out = []
        for key in TOPOLOGY_LABELS:
            value = pv.labels.get(key)
            if value is None:
                continue
            values = zones_to_set(value)
            if values is None:
                continue  # upstream logs and ignores an unparsable label
            out.append(_PVTopology(pv=pv.name, claim=pvc.name, namespace=pvc.namespace, key=key, value=value,
                                   values=values))
        return out

    def filter(self, state: CycleState, node: NodeInfo) -> Sequence[Failure]:
        if not state.pod.volumes:
            return ()
        topologies, prefilter = self._topologies(state)
        if prefilter or not topologies:
            return ()
        labels = node.node.labels
        memo_key = tuple(labels.get(k) for k in TOPOLOGY_LABELS)
        memo = state.scratch.setdefault(self.name + ".memo", {})
        if memo_key not in memo:
            memo[memo_key] = self._check(topologies, node)
        return memo[memo_key]

    def _check(self, topologies: Sequence[_PVTopology], node: NodeInfo) -> tuple[Failure, ...]:
        """Memoised across nodes with the same zone labels: failures must not name the node."""
        labels = node.node.labels
        if not any(k in labels for k in TOPOLOGY_LABELS):
            return ()  # a node without zone labels: single-zone cluster, anything goes
        for t in topologies:
            node_key = t.key
            have = labels.get(t.key)
            if have is None and t.key in _GA:
                node_key = _GA[t.key]
                have = labels.get(node_key)
            if have is not None and have in t.values:
                continue
            node_text = f"{node_key}={have}" if have is not None else f"no {t.key} label"
            return (Failure(
                plugin=self.name, code="volume-zone", reason=REASON,
                message=f"PersistentVolume {t.pv} (claim {t.namespace}/{t.claim}) is in {t.key}={t.value}; "
                        f"the node has {node_text}",
                detail={"pv": t.pv, "claim": t.claim, "namespace": t.namespace, "label": t.key,
                        "zone": t.value, "pv_value": t.value, "pv_values": sorted(t.values),
                        "node_label": node_key, "node_value": have},
                unresolvable=True),)
        return ()
