"""DynamicResources: the pod's ResourceClaims must be allocatable (or allocated) for the node.

Upstream (pkg/scheduler/framework/plugins/dynamicresources, in the default profile since DRA went
GA; the allocation itself is k8s.io/dynamic-resource-allocation/structured, modelled in
`podtriage.scheduler.dra_allocator`):

PreEnqueue (before any attempt; a failure leaves the pod waiting with *no* event and no
condition), for every entry of spec.resourceClaims:
  - from a template, but status.resourceClaimStatuses has no entry yet:
    `pod "ns/name": ResourceClaim not created yet`;
  - the claim does not exist: `resourceclaim.resource.k8s.io "X" not found`;
  - it is being deleted: `resourceclaim "X" is being deleted`;
  - from a template but not controlled by the pod:
    `ResourceClaim ns/X was not created for Pod ns/name (Pod is not owner)`.
PreFilter (UnschedulableAndUnresolvable, pod-level), for claims not allocated yet: every request's
device class must exist: `request R: device class C does not exist` (`R/S` for a firstAvailable
alternative). Extended resources a DeviceClass maps (spec.extendedResourceName, or
deviceclass.resource.kubernetes.io/<class>) and that a node does not advertise are allocated as a
synthetic claim ("DRA-backed extended resources").
Filter (UnschedulableAndUnresolvable), per node:
  - the claims to allocate cannot all be allocated there: "cannot allocate all claims" (or
    "invalid resource pools were encountered");
  - an allocated claim's allocation.nodeSelector excludes the node:
    "resourceclaim not available on the node";
  - an error while allocating (a CEL runtime error, "asks for all devices, but resource pool ...
    is currently being updated") aborts the whole scheduling attempt (`error` in the detail).
PostFilter runs before DefaultPreemption; after a PreFilter rejection by an earlier plugin it finds
no state and fails with "not found", which is why the scheduler's message then ends in " not found"
and preemption is never tried.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ... import model as m
from ...snapshot import Snapshot
from ..dra_allocator import AllocatedState, Allocator
from ..framework import Column, CycleState, Failure, FilterPlugin, NodeInfo
from ..selectors import node_selector_matches

NAME = "DynamicResources"
REASON_CANNOT_ALLOCATE = "cannot allocate all claims"
REASON_NOT_AVAILABLE = "resourceclaim not available on the node"
DEVICE_CLASS_PREFIX = "deviceclass.resource.kubernetes.io/"
DRA_KINDS = ("ResourceClaim", "DeviceClass", "ResourceSlice")


def extended_resource_classes(snapshot: Snapshot) -> dict[str, m.DeviceClass]:
    """Extended resource name -> the DeviceClass that provides it (the extended resource cache).

    Every class provides deviceclass.resource.kubernetes.io/<name>; spec.extendedResourceName goes to
    the oldest class naming it (ties: the smaller name). Made once per snapshot (the evaluation, the
    intent and the diagnosis of every pod read it): shared, not to be changed."""
    got: dict[str, m.DeviceClass] | None = snapshot.__dict__.get("_extended_resource_classes")
    if got is None:
        got = {}
        for c in sorted(snapshot.device_classes, key=lambda c: (c.creation_timestamp, c.name)):
            got[DEVICE_CLASS_PREFIX + c.name] = c
            if c.extended_resource_name and c.extended_resource_name not in got:
                got[c.extended_resource_name] = c
        snapshot.__dict__["_extended_resource_classes"] = got
    return got


def is_dra_extended_name(name: str) -> bool:
    """IsDRAExtendedResourceName: an extended resource name, or the deviceclass prefix."""
    if name.startswith(DEVICE_CLASS_PREFIX):
        return True
    return "/" in name and not name.startswith("kubernetes.io/") and not name.startswith("requests.")


def may_filter(pod: m.Pod, requests: Mapping[str, int], snapshot: Snapshot) -> bool:
    """Whether DynamicResources can say anything of the pod: it has ResourceClaims, or requests an
    extended resource that a DeviceClass provides (without either it has nothing to allocate: no
    PreEnqueue, PreFilter or Filter verdict). An nvidia.com/gpu request on a cluster without such a
    DeviceClass is the device plugin's, NodeResourcesFit's alone."""
    if pod.resource_claims:
        return True
    classes = extended_resource_classes(snapshot)
    return any(v > 0 and is_dra_extended_name(r) and r in classes for r, v in requests.items())


@dataclass
class PodClaim:
    """One entry of pod.spec.resourceClaims and the ResourceClaim it resolves to."""

    pod_name: str  # the entry's name in the pod spec
    claim_name: str
    claim: m.ResourceClaim | None
    from_template: bool


@dataclass
class DraState:
    prefilter: tuple[Failure, ...] = ()
    gated: bool = False  # a PreEnqueue failure: the scheduler never tries the pod
    claims: list[PodClaim] = field(default_factory=list)
    to_allocate: list[m.ResourceClaim] = field(default_factory=list)
    allocated: list[m.ResourceClaim] = field(default_factory=list)
    extended: dict[str, int] = field(default_factory=dict)  # DRA-backed extended resources: name -> count
    extended_classes: dict[str, m.DeviceClass] = field(default_factory=dict)
    active: bool = False  # there is something to check per node
    unknown: str = ""  # why the claims cannot be judged (not read)


def resolve_claims(pod: m.Pod, snapshot: Snapshot) -> tuple[list[PodClaim], Failure | None]:
    """foreachPodResourceClaim: the pod's claims, or the PreEnqueue failure that gates the pod."""
    out: list[PodClaim] = []
    for rc in pod.resource_claims:
        if rc.claim_name:
            name, from_template = rc.claim_name, False
        elif rc.template_name:
            if rc.name not in pod.resource_claim_statuses:
                return out, _gate("dra-claim-pending", f'pod "{pod.namespace}/{pod.name}": ResourceClaim not created yet',
                                  f"ResourceClaim for pod claim {rc.name!r} (from ResourceClaimTemplate "
                                  f"{rc.template_name}) has not been created yet by the resource claim controller",
                                  {"pod_claim": rc.name, "template": rc.template_name})
            name, from_template = pod.resource_claim_statuses[rc.name], True
            if not name:
                continue  # the controller decided no claim is needed
        else:
            continue
        claim = snapshot.resource_claim_by_key.get(f"{pod.namespace}/{name}")
        if claim is None:
            return out, _gate("dra-claim-not-found", f'resourceclaim.resource.k8s.io "{name}" not found',
                              f"ResourceClaim {pod.namespace}/{name} (pod claim {rc.name!r}) does not exist",
                              {"claim": name, "pod_claim": rc.name, "template": rc.template_name})
        if claim.deletion_timestamp:
            return out, _gate("dra-claim-deleting", f'resourceclaim "{name}" is being deleted',
                              f"ResourceClaim {pod.namespace}/{name} is being deleted",
                              {"claim": name, "pod_claim": rc.name})
        if from_template and (claim.owner is None or claim.owner.kind != "Pod" or claim.owner.name != pod.name
                              or (claim.owner.uid and pod.uid and claim.owner.uid != pod.uid)):
            return out, _gate("dra-claim-not-owned",
                              f"ResourceClaim {pod.namespace}/{name} was not created for Pod "
                              f"{pod.namespace}/{pod.name} (Pod is not owner)",
                              f"ResourceClaim {pod.namespace}/{name} belongs to another pod, not to this one",
                              {"claim": name, "pod_claim": rc.name})
        out.append(PodClaim(pod_name=rc.name, claim_name=name, claim=claim, from_template=from_template))
    return out, None


def _gate(code: str, reason: str, message: str, detail: dict[str, Any]) -> Failure:
    return Failure(plugin=NAME, code=code, reason=reason, message=message,
                   detail={**detail, "pre_enqueue": True}, unresolvable=True)


def extended_requests(pod: m.Pod, requests: Mapping[str, int], node: m.Node | None,
                      classes: Mapping[str, m.DeviceClass]) -> dict[str, int]:
    """The pod's DRA-backed extended resources (for a node: those it does not advertise)."""
    out: dict[str, int] = {}
    for name, amount in requests.items():
        if amount <= 0 or not is_dra_extended_name(name) or name not in classes:
            continue
        if node is not None and node.allocatable.get(name, 0) > 0:
            continue
        out[name] = amount
    return out


def extended_claim(pod: m.Pod, resources: Mapping[str, int],
                   classes: Mapping[str, m.DeviceClass]) -> tuple[m.DeviceRequest, ...]:
    """createRequestsAndMappings: per resource, one ExactCount request of the class per long-lived
    container (app containers and sidecars) that asks for it, plus the largest extra an init
    container needs beyond what the long-lived containers after it already hold."""
    containers = list(pod.init_containers) + list(pod.containers)
    n_init = len(pod.init_containers)
    out: list[m.DeviceRequest] = []
    for res in sorted(resources):
        cls = classes.get(res)
        if cls is None:
            continue
        long_lived: dict[int, int] = {}
        for i, c in enumerate(containers):
            if i < n_init and c.restart_policy != "Always":
                continue
            count = c.requests.get(res, 0)
            if count:
                long_lived[i] = count
                out.append(_ext_request(i, sorted(c.requests).index(res), cls.name, count))
        biggest: m.DeviceRequest | None = None
        for i, c in enumerate(containers[:n_init]):
            count = c.requests.get(res, 0)
            if c.restart_policy == "Always" or not count:
                continue
            reuse = 0
            for j in sorted(j for j in long_lived if j >= i):
                reuse += long_lived[j]
                if reuse >= count:
                    break
            if reuse >= count:
                continue
            req = _ext_request(i, sorted(c.requests).index(res), cls.name, count - reuse)
            if biggest is None or (req.exactly and biggest.exactly and req.exactly.count > biggest.exactly.count):
                biggest = req
        if biggest is not None:
            out.append(biggest)
    return tuple(out)


def _ext_request(index: int, ridx: int, cls: str, count: int) -> m.DeviceRequest:
    name = f"container-{index}-request-{ridx}"
    return m.DeviceRequest(name=name, exactly=m.DeviceSubRequest(name=name, device_class=cls, count=count))


class DynamicResources(FilterPlugin):
    name = NAME
    may_error = True  # a failed allocation attempt is a Filter error (detail['error'])

    def _state(self, state: CycleState) -> DraState:
        return state.once(self.name, self._analyse)

    def _analyse(self, state: CycleState) -> DraState:
        pod, snap = state.pod, state.snapshot
        out = DraState()
        classes = extended_resource_classes(snap)
        out.extended_classes = classes
        out.extended = extended_requests(pod, state.requests, None, classes)
        if not pod.resource_claims and not out.extended:
            return out
        claims, gate = resolve_claims(pod, snap)
        if gate is not None and (gate.code == "dra-claim-pending" or snap.has("ResourceClaim")):
            out.prefilter, out.gated = (gate,), True
            return out
        if pod.resource_claims and not snap.has("ResourceClaim"):
            out.unknown = "ResourceClaims were not read"
            return out
        out.claims = claims
        if out.extended:
            # findExtendedResourceClaim: the claim an earlier attempt made for this pod's extended
            # resources; once allocated there is nothing left to allocate for them.
            own = next((c for c in snap.resource_claims if c.extended_resource_claim and c.namespace == pod.namespace
                        and c.owner is not None and c.owner.kind == "Pod" and c.owner.name == pod.name
                        and (not c.owner.uid or not pod.uid or c.owner.uid == pod.uid)), None)
            if own is not None and own.allocated:
                out.extended = {}
                out.allocated.append(own)
        for pc in claims:
            claim = pc.claim
            assert claim is not None
            if claim.allocated:
                out.allocated.append(claim)
                continue
            out.to_allocate.append(claim)
            if snap.has("DeviceClass") or snap.device_classes:
                for r in claim.requests:
                    subs = [(r.name, r.exactly)] if r.exactly else [(f"{r.name}/{s.name}", s) for s in r.first_available]
                    for rname, sub in subs:
                        if sub is not None and sub.device_class not in snap.device_class_by_name:
                            out.prefilter = (Failure(
                                plugin=self.name, code="dra-class-missing",
                                reason=f"request {rname}: device class {sub.device_class} does not exist",
                                message=f"ResourceClaim {claim.key} request {rname!r} asks for DeviceClass "
                                        f"{sub.device_class}, which does not exist",
                                detail={"claim": claim.name, "namespace": claim.namespace, "request": rname,
                                        "device_class": sub.device_class}, unresolvable=True),)
                            return out
        out.active = bool(out.to_allocate or out.allocated or out.extended)
        return out

    def applies(self, state: CycleState) -> bool:
        return bool(state.pod.resource_claims) or any(
            is_dra_extended_name(r) for r, v in state.requests.items() if v > 0)

    def pre_enqueue(self, state: CycleState) -> Sequence[Failure]:
        st = self._state(state)
        return st.prefilter if st.gated else ()

    def pre_filter(self, state: CycleState) -> Sequence[Failure]:
        st = self._state(state)
        return () if st.gated else st.prefilter

    def filter_nodes(self, state: CycleState) -> Sequence[Sequence[Failure]] | None:
        st = self._state(state)
        if st.prefilter or not st.active:  # nothing to allocate (an extended resource no class provides)
            return Column.of([()] * len(state.cluster.infos), [])
        return None

    def filter(self, state: CycleState, node: NodeInfo) -> Sequence[Failure]:
        st = self._state(state)
        if st.prefilter or not st.active:
            return ()
        snap = state.snapshot
        ext = extended_requests(state.pod, state.requests, node.node, st.extended_classes) if st.extended else {}
        if not ext and not st.to_allocate and not st.allocated:
            return ()
        unavailable = [c for c in st.allocated if c.allocation_node_selector is not None
                       and not node_selector_matches(c.allocation_node_selector, node.node.labels, node.name)]
        to_allocate: list[tuple[Sequence[m.DeviceRequest], Sequence[m.DeviceConstraint]]] = [
            (c.requests, c.constraints) for c in st.to_allocate]
        if ext:
            to_allocate.append((extended_claim(state.pod, ext, st.extended_classes), ()))
        if to_allocate:
            if not (snap.has("ResourceSlice") or snap.resource_slices):
                return (self._failure("ResourceSlices were not read", "dra-unknown",
                                      "podtriage could not read ResourceSlices, so it cannot tell whether the "
                                      "claims can be allocated here", {"unknown": True}),)
            result = self._allocator(state, node).allocate(to_allocate)
            if result.error:
                return (Failure(plugin=self.name, code="dra-error",
                                reason=f'running "DynamicResources" filter plugin: {result.error}',
                                message=f"allocating devices on node {node.name} fails with an error: {result.error}",
                                detail={"error": True, "text": result.error}, unresolvable=True),)
            if result.unevaluable:
                return (self._failure("device selector not evaluated", "dra-unknown",
                                      f"podtriage cannot evaluate a device selector ({result.unevaluable}); "
                                      "whether the claims fit on this node is unknown",
                                      {"unknown": True, "why": result.unevaluable}),)
            if not result.ok:
                reason = result.unschedulable or REASON_CANNOT_ALLOCATE
                names = [c.key for c in st.to_allocate] + (["<extended resources>"] if ext else [])
                return (self._failure(reason, "dra",
                                      f"the device requests of {', '.join(names)} cannot all be satisfied on "
                                      f"node {node.name}", {"claims": names, "extended": sorted(ext)}),)
        if unavailable:
            return (self._failure(REASON_NOT_AVAILABLE, "dra",
                                  f"ResourceClaim {unavailable[0].key} is already allocated with devices that "
                                  f"node {node.name} cannot reach (its allocation's node selector excludes it)",
                                  {"claims": [c.key for c in unavailable], "allocated": True}),)
        return ()

    def _allocator(self, state: CycleState, node: NodeInfo) -> Allocator:
        snap = state.snapshot
        alloc_state = state.scratch.get(self.name + ".allocated")
        if alloc_state is None:
            alloc_state = state.scratch[self.name + ".allocated"] = AllocatedState.of(snap.resource_claims)
        return Allocator(node.node, snap.resource_slices, snap.device_class_by_name, alloc_state)

    def _failure(self, reason: str, code: str, message: str, detail: dict[str, Any]) -> Failure:
        return Failure(plugin=self.name, code=code, reason=reason, message=message, detail=detail, unresolvable=True)
