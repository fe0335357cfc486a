"""NodeResourcesFit: the pod's effective request must fit in allocatable minus what the pods
already on the node request; the pod count must stay within allocatable pods.

Every insufficient resource of a node is reported, as upstream does ("Insufficient cpu",
"Insufficient memory" for the same node).

DRA-backed extended resources (DRAExtendedResource, GA in 1.37): an extended resource that a
DeviceClass provides (spec.extendedResourceName, or deviceclass.resource.kubernetes.io/<class>) is
not checked here on a node that does not advertise it (allocatable 0): DynamicResources allocates
devices for it instead (shouldDelegateResourceToDRA).
"""

from __future__ import annotations

from typing import Sequence

from ...quantity import format_amount
from ..framework import CycleState, Failure, FilterPlugin, NodeInfo

_NATIVE = ("cpu", "memory", "ephemeral-storage")


def is_scalar_resource(name: str) -> bool:
    """v1helper.IsScalarResourceName: extended or kubernetes.io/-prefixed resources, hugepages-*,
    attachable-volumes-*. cpu, memory, ephemeral-storage and pods are handled on their own."""
    return "/" in name or name.startswith("hugepages-") or name.startswith("attachable-volumes-")


class NodeResourcesFit(FilterPlugin):
    name = "NodeResourcesFit"

    def filter(self, state: CycleState, node: NodeInfo) -> Sequence[Failure]:
        alloc = node.node.allocatable
        used = node.requested
        out: list[Failure] = []
        max_pods = alloc.get("pods", 0)
        if len(node.pods) + 1 > max_pods:
            out.append(Failure(
                plugin=self.name, code="too-many-pods", reason="Too many pods",
                message=f"node {node.name} already runs {len(node.pods)} pods; allocatable pods is {max_pods}",
                detail={"resource": "pods", "running": len(node.pods), "allocatable": max_pods},
            ))
        wanted = state.scratch.get(self.name)
        if wanted is None:
            # The pod's non-zero requests in the order upstream checks them, computed once per pod.
            req = state.requests
            order = list(_NATIVE) + sorted(r for r in req if is_scalar_resource(r))
            wanted = state.scratch[self.name] = [(r, req[r]) for r in order if req.get(r, 0) > 0]
        dra = state.cluster.dra_extended_classes
        for res, want in wanted:
            have = alloc.get(res, 0)
            if dra and have <= 0 and res in dra:
                continue
            free = have - used.get(res, 0)
            if want > free:
                out.append(Failure(
                    plugin=self.name, code="insufficient", reason=f"Insufficient {res}",
                    message=(f"{res}: pod requests {format_amount(res, want)}, node {node.name} has "
                             f"{format_amount(res, max(free, 0))} free of {format_amount(res, have)} allocatable"),
                    detail={"resource": res, "requested": want, "free": free, "allocatable": have,
                            "used": used.get(res, 0), "capacity": node.node.capacity.get(res, 0)},
                    # More than the whole node: evicting pods cannot help.
                    unresolvable=want > have,
                ))
        return tuple(out)
