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

from typing import Any, Sequence

from ...quantity import format_amount
from ..framework import ClusterState, Column, CycleState, Failure, FilterPlugin, NodeInfo

_NATIVE = ("cpu", "memory", "ephemeral-storage")


def is_scalar_resource(name: str) -> bool:
    """v1helper.IsScalarResourceName: extended or kubernetes.io/-prefixed resources, hugepages-*,
    attachable-volumes-*. cpu, memory, ephemeral-storage and pods are handled on their own."""
    return "/" in name or name.startswith("hugepages-") or name.startswith("attachable-volumes-")


class NodeResourcesFit(FilterPlugin):
    name = "NodeResourcesFit"

    def _wanted(self, state: CycleState) -> list[tuple[str, int]]:
        wanted = state.scratch.get(self.name)
        if wanted is None:
            # The pod's non-zero requests in the order upstream checks them, computed once per pod.
            req = state.requests
            order = list(_NATIVE) + sorted(r for r in req if is_scalar_resource(r))
            wanted = state.scratch[self.name] = [(r, req[r]) for r in order if req.get(r, 0) > 0]
        return wanted

    def filter(self, state: CycleState, node: NodeInfo) -> Sequence[Failure]:
        alloc = node.node.allocatable
        used = node.requested
        out: list[Failure] = []
        max_pods = alloc.get("pods", 0)
        if len(node.pods) + 1 > max_pods:
            out.append(_too_many(node))
        dra = state.cluster.dra_extended_classes
        for res, want in self._wanted(state):
            have = alloc.get(res, 0)
            if dra and have <= 0 and res in dra:
                continue
            if want > have - used.get(res, 0):
                out.append(_insufficient(node, res, want))
        return tuple(out)

    def filter_nodes(self, state: CycleState) -> Sequence[Sequence[Failure]] | None:
        """Every node at once: the nodes short of each requested resource are a prefix of the
        nodes sorted by what they have free of it (ClusterState.free_index), so only the nodes
        that fail are visited."""
        cluster = state.cluster
        empty: tuple[Failure, ...] = ()
        column: list[tuple[Failure, ...]] = [empty] * len(cluster.infos)
        rejected: list[int] = []
        # "Too many pods" first, then each requested resource in order (as filter() lists them).
        for i, fs in _full_node_failures(cluster):
            column[i] = fs
            rejected.append(i)
        for res, want in self._wanted(state):
            for i, fs in _short(cluster, res, want):
                have = column[i]
                if have:
                    column[i] = have + fs
                else:
                    column[i] = fs
                    rejected.append(i)
        return Column.of(column, rejected)


def _short(cluster: ClusterState, res: str, want: int) -> Sequence[tuple[int, tuple[Failure]]]:
    """(position, (failure,)) of the nodes with less than `want` of `res` free: depends on the
    request alone, so pods asking the same amount (every 1-GPU pod) share it."""
    def compute() -> list[tuple[int, tuple[Failure]]]:
        dra = cluster.dra_extended_classes
        facts = _node_facts(cluster, res)
        # _insufficient(node, res, want) on each node short of `want`, from the per-node texts.
        # The message and detail are made when read (most short nodes are only counted); what the
        # diagnosis reads of every one of them (resource, request, free) is fit_facts().
        head = f"{res}: pod requests {format_amount(res, want)}, node "
        reason = f"Insufficient {res}"
        # (lazy_failure inlined: once per short node per distinct request)
        fields = {"plugin": NodeResourcesFit.name, "code": "insufficient", "reason": reason}
        skip = bool(dra) and res in dra
        new, cls = object.__new__, Failure
        out = []
        for i in cluster.short_of(res, want):
            fact = facts[i]
            have = fact[2]
            if skip and have <= 0:
                continue
            f = new(cls)
            d = f.__dict__
            d.update(fields)
            d["unresolvable"] = want > have
            d["_make"] = (_fit_parts, head, res, want, fact)
            out.append((i, (f,)))
        return out

    return cluster.column((NodeResourcesFit.name, res, want), compute)


def _fit_parts(head: str, res: str, want: int, fact: tuple[str, int, int, int, int]) -> tuple[str, dict[str, Any]]:
    """The message and detail of an Insufficient `res` failure (_insufficient's) from the node's facts."""
    tail, free, have, used, cap = fact
    return head + tail, {"resource": res, "requested": want, "free": free, "allocatable": have, "used": used,
                         "capacity": cap}


def fit_facts(f: Failure) -> tuple[str, int, int]:
    """(resource, requested, free) of an Insufficient failure, without making its message and
    detail when they are not made yet (the diagnosis reads these of every short node)."""
    make = f.__dict__.get("_make")
    if make is not None and make[0] is _fit_parts:
        return make[2], make[3], make[4][1]
    d = f.detail
    return d.get("resource", "?"), d.get("requested", 0), d.get("free", 0)


def _node_facts(cluster: ClusterState, res: str) -> list[tuple[str, int, int, int, int]]:
    """Per node (in node order), what an Insufficient `res` verdict says of it whatever the request:
    (its part of the message, free, allocatable, used, capacity); once per snapshot and resource."""
    facts: dict[str, list[tuple[str, int, int, int, int]]] = cluster.__dict__.setdefault("_fit_facts", {})
    got = facts.get(res)
    if got is None:
        got = facts[res] = []
        for info in cluster.infos:
            have = info.node.allocatable.get(res, 0)
            used = info.requested.get(res, 0)
            free = have - used
            got.append((f"{info.name} has {format_amount(res, max(free, 0))} free of {format_amount(res, have)} "
                        "allocatable", free, have, used, info.node.capacity.get(res, 0)))
    return got


def _full_nodes(cluster: ClusterState) -> list[int]:
    """Positions of the nodes whose pod slots are all taken (computed once per snapshot)."""
    got = cluster.__dict__.get("_full_nodes")
    if got is None:
        got = cluster.__dict__["_full_nodes"] = [
            i for i, info in enumerate(cluster.infos) if len(info.pods) + 1 > info.node.allocatable.get("pods", 0)]
    return got


def _full_node_failures(cluster: ClusterState) -> list[tuple[int, tuple[Failure]]]:
    """(position, ("Too many pods",)) of the full nodes: the same for every pod, made once per snapshot."""
    got = cluster.__dict__.get("_full_node_failures")
    if got is None:
        got = cluster.__dict__["_full_node_failures"] = [(i, (_too_many(cluster.infos[i]),)) for i in _full_nodes(cluster)]
    return got  # type: ignore[no-any-return]


def _too_many(node: NodeInfo) -> Failure:
    max_pods = node.node.allocatable.get("pods", 0)
    return Failure(
        plugin=NodeResourcesFit.name, code="too-many-pods", reason="Too many pods",
        message=f"node {node.name} already runs {len(node.pods)} pods; allocatable pods is {max_pods}",
        detail={"resource": "pods", "running": len(node.pods), "allocatable": max_pods},
    )


def _insufficient(node: NodeInfo, res: str, want: int) -> Failure:
    have = node.node.allocatable.get(res, 0)
    used = node.requested.get(res, 0)
    free = have - used
    return Failure(
        plugin=NodeResourcesFit.name, code="insufficient", reason=f"Insufficient {res}",
        message=(f"{res}: pod requests {format_amount(res, want)}, node {node.name} has "
                 f"{format_amount(res, max(free, 0))} free of {format_amount(res, have)} allocatable"),
        detail={"resource": res, "requested": want, "free": free, "allocatable": have,
                "used": used, "capacity": node.node.capacity.get(res, 0)},
        # More than the whole node: evicting pods cannot help.
        unresolvable=want > have,
    )
