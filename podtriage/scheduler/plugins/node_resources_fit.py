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

from bisect import bisect_left
from functools import cached_property, partial
from typing import Any, Sequence

from ...quantity import format_amount
from ..framework import (ClassGroups, ClusterState, CycleState, Failure, FilterPlugin, LazyColumn, NodeInfo,
                         per_snapshot)

_new = object.__new__

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
        nodes sorted by what they have free of it (ClusterState.free_index), so which nodes fail is
        known without visiting them, and each node's failures are made when read (FitColumn)."""
        return FitColumn(state.cluster, self._wanted(state))


class FitColumn(LazyColumn, ClassGroups):
    """NodeResourcesFit's answers for every node, made when read: "Too many pods" on a full node,
    then an Insufficient failure per requested resource the node has less free of than requested.

    The nodes it rejects are a class (uniform, with several reasons a node: ClassGroups): evaluate()
    keeps those no earlier filter rejects as one when its widest reason covers an eighth of the
    nodes or more (a pod larger than every node, a GPU most nodes have none of, a request a busy
    third of the cluster cannot hold), counted per reason from the nodes short of each resource,
    which are known without visiting them."""

    def __init__(self, cluster: ClusterState, wanted: Sequence[tuple[str, int]]) -> None:
        n = len(cluster.infos)
        super().__init__(n, frozenset(), _no_failures)
        self.cluster = cluster
        dra = cluster.dra_extended_classes
        full = _full_failures(cluster)
        self.full = full
        # Per requested resource, in filter()'s order: (want, facts per node, head, reason, skip, res).
        self.checks: list[tuple[int, list[tuple[str, int, int, int, int]], str, str, bool, str]] = []
        self._short: list[Sequence[int]] = []  # per check, the positions short of it
        # Per reason, in the order a node lists them: the reason and the positions with it.
        self._keys: list[tuple[str, Sequence[int]]] = [("Too many pods", list(full))] if full else []
        # What identifies each reason's positions within the snapshot (sorted_keys)
        self._ids: list[tuple[str, int, bool]] = [("", 0, False)] if full else []
        for res, want in wanted:
            free, order = cluster.free_index(res)
            k = bisect_left(free, want)
            skip = bool(dra) and res in dra
            facts = _node_facts(cluster, res)
            reason = f"Insufficient {res}"
            self.checks.append((want, facts, f"{res}: pod requests {format_amount(res, want)}, node ", reason, skip, res))
            short: Sequence[int] = () if not k else order[:k] if not skip else [i for i in order[:k] if facts[i][2] > 0]
            self._short.append(short)
            if short:
                self._keys.append((reason, short))
                self._ids.append((res, k, skip))
        # (code, resource or "", positions) per reason, in the same order: what a reader of the class
        # that needs more than counts (the diagnosis: free amounts, nodes short of one resource alone)
        # reads instead of each node's failures.
        self.fit_keys: list[tuple[str, str, Sequence[int]]] = [
            ("too-many-pods", "", p) if r == "Too many pods" else ("insufficient", r.removeprefix("Insufficient "), p)
            for r, p in self._keys]
        self.uniform = bool(self._keys)
        self.keep_bound = n - max((len(p) for _, p in self._keys), default=0)

    def __getitem__(self, i: int) -> tuple[Failure, ...]:  # type: ignore[override]
        got = self._made.get(i)
        if got is not None:
            return got
        if not 0 <= i < self._n:
            raise IndexError(i)
        out: list[Failure] = []
        f = self.full.get(i)
        if f is not None:
            out.append(f)
        for want, facts, head, reason, skip, res in self.checks:
            fact = facts[i]
            if want > fact[1] and not (skip and fact[2] <= 0):
                out.append(_lazy_insufficient(head, reason, res, want, fact))
        got = self._made[i] = tuple(out)
        return got

    @property
    def short_ids(self) -> tuple[tuple[str, int, bool], ...]:
        """What identifies the positions of every reason within the snapshot (equal for two pods:
        the same nodes are full and short of the same resources)."""
        return tuple(self._ids)

    @cached_property
    def sorted_keys(self) -> list[tuple[str, str, list[int]]]:
        """fit_keys with each reason's positions ascending. Kept per snapshot by resource and how
        many nodes are short of it: pods whose requests fall between the same free amounts (every
        pod larger than every node) share them."""
        return [(code, res, per_snapshot(self.cluster, "_fit_sorted", key, partial(sorted, p), 256))
                for (code, res, p), key in zip(self.fit_keys, self._ids)]

    @cached_property
    def rejected(self) -> list[int]:
        return sorted(set().union(*[p for _, p in self._keys]))

    @cached_property
    def keep(self) -> frozenset[int]:  # type: ignore[override]
        """The nodes it passes (kept per snapshot by which nodes are full and short of what)."""
        return per_snapshot(self.cluster, "_fit_keep", self.short_ids,
                            lambda: frozenset(range(self._n)).difference(*[p for _, p in self._keys]), 64)

    def free(self, res: str) -> list[int]:
        """Each node's free amount of `res` (allocatable minus requested; node order; per snapshot)."""
        frees: dict[str, list[int]] = self.cluster.__dict__.setdefault("_fit_free", {})
        got = frees.get(res)
        if got is None:
            got = frees[res] = [fact[1] for fact in _node_facts(self.cluster, res)]
        return got

    def failure_of(self, i: int, reason: str) -> Failure:
        """Node i's failure with `reason`."""
        return next(f for f in self[i] if f.reason == reason)

    def firsts(self, positions: Sequence[int]) -> list[tuple[Failure, ...]]:
        made = self._made
        todo = set(positions).difference(made)
        if todo:
            # A resource at a time over the nodes short of it (as filter() lists them on a node).
            found: dict[int, list[Failure]] = {}
            for i, f in self.full.items():
                if i in todo:
                    found[i] = [f]
            for (want, facts, head, reason, _, res), short in zip(self.checks, self._short):
                for i in short:
                    if i in todo:
                        f = _lazy_insufficient(head, reason, res, want, facts[i])
                        got = found.get(i)
                        if got is None:
                            found[i] = [f]
                        else:
                            got.append(f)
            empty: tuple[Failure, ...] = ()
            for i in todo:
                got = found.get(i)
                made[i] = tuple(got) if got else empty
        return [made[i] for i in positions]

    def outside_of(self, inside: frozenset[int]) -> list[list[int]]:
        """Per reason (as fit_keys), the positions with it not in `inside`, ascending (read only).
        Kept per snapshot for a few recent reasons and sets: pods that share their tolerations and
        placement and whose requests fall between the same free amounts share them."""
        return per_snapshot(self.cluster, "_fit_outside_of", (self.short_ids, inside),
                            lambda: [sorted(set(p).difference(inside)) for _, p in self._keys], 64)

    def groups(self, inside: frozenset[int]) -> list[tuple[tuple[str, str, str], list[int], Failure]]:
        out = []
        for (reason, _), mine in zip(self._keys, self.outside_of(inside)):
            if mine:
                f0 = self.failure_of(mine[0], reason)
                out.append(((f0.plugin, f0.code, reason), mine, f0))
        return out


def _no_failures(i: int) -> tuple[Failure, ...]:
    return ()


_FIELDS = {"plugin": NodeResourcesFit.name, "code": "insufficient"}


def _lazy_insufficient(head: str, reason: str, res: str, want: int, fact: tuple[str, int, int, int, int]) -> Failure:
    """_insufficient(node, res, want) from the node's facts, its message and detail made when read
    (most short nodes are only counted); what the diagnosis reads of every one of them (resource,
    request, free) is fit_facts()."""
    f = _new(Failure)
    d = f.__dict__
    d.update(_FIELDS)
    d["reason"] = reason
    d["unresolvable"] = want > fact[2]
    d["_make"] = (_fit_parts, head, res, want, fact)
    return f


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


def _full_failures(cluster: ClusterState) -> dict[int, Failure]:
    """Position -> "Too many pods" of the full nodes: the same for every pod, made once per snapshot."""
    got = cluster.__dict__.get("_full_failures")
    if got is None:
        got = cluster.__dict__["_full_failures"] = {i: _too_many(cluster.infos[i]) for i in _full_nodes(cluster)}
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
