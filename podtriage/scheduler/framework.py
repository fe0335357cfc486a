"""A read-only model of kube-scheduler's Filter phase.

One module per upstream plugin (podtriage/scheduler/plugins/<snake_name>.py), one interface,
the upstream order. Unlike the scheduler we evaluate *every* plugin on every node, so we can
tell the scheduler's view (the first failing plugin per node, `NodeVerdict.first`) and what
would still block a node once that is fixed (`NodeVerdict.failures`).

Scale: the per-snapshot `ClusterState` sums pods' requests per node once; plugins memoise on
the node attributes they depend on (taints, the projected labels, ...), so identical nodes cost
one evaluation and nothing here loops pods x nodes x pods. Plugins may also answer for every
node at once (`FilterPlugin.filter_nodes`): those that read only node attributes keep that
column in the ClusterState, keyed by the part of the pod's spec they read (its tolerations, its
selector terms), so pods that differ elsewhere (their requests, their names) reuse it; resource
fit answers from the nodes' free capacity sorted once per snapshot instead of node by node.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from itertools import chain, filterfalse, repeat
from operator import attrgetter
from typing import Any, ClassVar, TypeVar

from .. import model as m
from ..snapshot import Snapshot


T = TypeVar("T")
L = TypeVar("L")

_ABSENT = object()


def per_snapshot(owner: Any, name: str, key: Hashable, make: Callable[[], T], limit: int) -> T:
    """make()'s value for `key`, kept in the dict `name` of a per-snapshot object (a ClusterState, a
    Snapshot) for the most recent keys: emptied when it holds `limit` (an entry holds up to a few
    lists as long as the node list). Its values are read only."""
    cache: dict[Hashable, Any] = owner.__dict__.setdefault(name, {})
    got = cache.get(key, _ABSENT)
    if got is _ABSENT:
        if len(cache) >= limit:
            cache.clear()
        got = cache[key] = make()
    return got  # type: ignore[no-any-return]


def per_snapshot_for(owner: Any, name: str, objs: tuple[Any, ...], make: Callable[[], T], limit: int) -> T:
    """per_snapshot() for objects compared by identity: they are held with the value, so none is
    freed (and its id reused) while it is kept."""
    return per_snapshot(owner, name, tuple(map(id, objs)), lambda: (objs, make()), limit)[1]


@dataclass(frozen=True)
class Failure:
    """Why one plugin rejects the pod, on one node (or for the whole pod in PreFilter).

    code:   stable key shared with podtriage.evidence.messages.reason_code ("taint", "insufficient", ...)
    reason: the reason text the scheduler prints for it (current wording), e.g.
            "node(s) had untolerated taint {dedicated: gpu}" or "Insufficient cpu"
    message: human text naming the exact term at fault
    detail: structured facts (taint key/value/effect, resource requested/free/allocatable, ...)
    unresolvable: UnschedulableAndUnresolvable: preempting pods on this node would not help
    """

    plugin: str
    code: str
    reason: str
    message: str
    detail: Mapping[str, Any] = field(default_factory=dict)
    unresolvable: bool = False

    def __getattr__(self, name: str) -> Any:
        # Only reached for a field not set yet: the message and detail of a failure made by
        # lazy_failure, built on first read (most per-node failures are counted, never rendered).
        # Safe if two threads read it at once (the watch's server): both make equal values.
        if name == "message" or name == "detail":
            d = self.__dict__
            make = d.get("_make")
            if make is not None:
                d["message"], d["detail"] = make[0](*make[1:])
                d.pop("_make", None)
            if name in d:
                return d[name]
        raise AttributeError(name)


_new = object.__new__


def with_message(f: Failure, message: str) -> Failure:
    """`f` with another message (dataclasses.replace, without its per-call introspection: this
    runs once per failing node)."""
    return make_failure(f.plugin, f.code, f.reason, message, f.detail, f.unresolvable)


def make_failure(plugin: str, code: str, reason: str, message: str, detail: Mapping[str, Any],
                 unresolvable: bool) -> Failure:
    """Failure(...) without the frozen dataclass's per-field object.__setattr__ (hot paths that
    make one per node)."""
    f = _new(Failure)
    d = f.__dict__
    d["plugin"] = plugin
    d["code"] = code
    d["reason"] = reason
    d["message"] = message
    d["detail"] = detail
    d["unresolvable"] = unresolvable
    return f


def lazy_failure(plugin: str, code: str, reason: str, unresolvable: bool, make: tuple[Any, ...]) -> Failure:
    """A Failure whose message and detail are `make[0](*make[1:])` (a (message, detail) pair), made
    when first read: equal in every field to the one made at once, for the per-node failures of a
    pod that are mostly counted by reason and never rendered (a DaemonSet pod's other nodes)."""
    f = _new(Failure)
    d = f.__dict__
    d["plugin"] = plugin
    d["code"] = code
    d["reason"] = reason
    d["unresolvable"] = unresolvable
    d["_make"] = make
    return f


class Column(list):  # type: ignore[type-arg]
    """A plugin's answers for every node (in node_infos order) that also knows which positions hold
    a rejection, so a pod's verdicts are built for those nodes only."""

    rejected: list[int]

    @classmethod
    def of(cls, answers: Iterable[Sequence[Failure]], rejected: list[int] | None = None) -> Column:
        col = cls(answers)
        col.rejected = rejected if rejected is not None else [i for i, fs in enumerate(col) if fs]
        return col


class LazyColumn(Sequence[Sequence[Failure]]):
    """A plugin's answers for every node whose rejections are made when read: every position but
    `passing` rejects with make(i) (a DaemonSet pod's NodeAffinity: every node but its own).

    uniform: every node not in `keep` is rejected with one failure, all of the same plugin, code
    and reason (a node selector no node, or only a pool, matches), or the column counts the nodes
    it rejects per reason itself (a ClassGroups: NodeResourcesFit): evaluate() then keeps the
    nodes outside `keep` that no earlier filter rejects as one class, as it does the nodes outside
    a PreFilterResult. `keep` is `passing` here; `keep_bound` says how many nodes `keep` holds at
    most before it is made."""

    def __init__(self, n: int, passing: frozenset[int], make: Callable[[int], tuple[Failure, ...]],
                 *, uniform: bool = False) -> None:
        self._n = n
        self.passing = passing
        self._make = make
        self._made: dict[int, tuple[Failure, ...]] = {}
        self.uniform = uniform
        self.keep_bound = len(passing)

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, i: int) -> tuple[Failure, ...]:  # type: ignore[override]
        if not 0 <= i < self._n:
            raise IndexError(i)
        if i in self.passing:
            return ()
        got = self._made.get(i)
        if got is None:
            got = self._made.setdefault(i, self._make(i))
        return got

    def __iter__(self) -> Iterator[tuple[Failure, ...]]:
        return (self[i] for i in range(self._n))

    @cached_property
    def rejected(self) -> list[int]:
        return [i for i in range(self._n) if i not in self.passing]

    @property
    def keep(self) -> frozenset[int]:
        """The positions a class made from this column leaves out (made at once)."""
        return self.passing


def rejected_positions(col: Sequence[Sequence[Failure]]) -> list[int]:
    """The positions a column rejects (its own list when it keeps one)."""
    if type(col) is Column or isinstance(col, LazyColumn):
        return col.rejected  # type: ignore[attr-defined, no-any-return]
    return [i for i, fs in enumerate(col) if fs]


@dataclass(frozen=True)
class NodeVerdict:
    node: str
    first: tuple[Failure, ...]  # reasons of the first failing plugin: what the scheduler reports
    failures: tuple[Failure, ...]  # every plugin's reasons, in plugin order

    def __getattr__(self, name: str) -> Any:
        # Only reached for a field not set yet: a verdict made by _Outside.verdict (a node outside
        # the pod's PreFilterResult), whose reasons are made on first read. Safe if two threads read
        # it at once: both set equal values.
        if name == "first" or name == "failures":
            d = self.__dict__
            src = d.get("_of")
            if src is not None:
                d["first"], d["failures"] = src.parts(src.positions_of[d["node"]])
                return d[name]
        raise AttributeError(name)

    def __getstate__(self) -> dict[str, Any]:
        # pickle and copy: the fields (a lazy verdict's made), not what it was made from.
        return {"node": self.node, "first": self.first, "failures": self.failures}

    @property
    def passed(self) -> bool:
        return not self.first

    @property
    def first_plugin(self) -> str:
        return self.first[0].plugin if self.first else ""



def make_verdict(node: str, first: tuple[Failure, ...], failures: tuple[Failure, ...]) -> NodeVerdict:
    """NodeVerdict(node, first, failures) without the frozen dataclass's per-field
    object.__setattr__ (one per node per evaluation: most of building a verdict)."""
    v = _new(NodeVerdict)
    d = v.__dict__
    d["node"] = node
    d["first"] = first
    d["failures"] = failures
    return v


POD_LEVEL_RESOURCES = frozenset({"cpu", "memory"})


def effective_requests(pod: m.Pod) -> dict[str, int]:
    """The pod's resource request as the scheduler computes it (resourcehelper.PodRequests).

    max(sum(app containers) + sum(restartable init 'sidecar' containers),
        max over init containers i of (request_i + sidecars started before i)) + overhead
    """
    total: dict[str, int] = {}
    for c in pod.containers:
        for k, v in c.requests.items():
            total[k] = total.get(k, 0) + v
    sidecars: dict[str, int] = {}
    init_max: dict[str, int] = {}
    for c in pod.init_containers:
        if c.restart_policy == "Always":
            for k, v in c.requests.items():
                total[k] = total.get(k, 0) + v
                sidecars[k] = sidecars.get(k, 0) + v
            step = dict(sidecars)
        else:
            step = dict(sidecars)
            for k, v in c.requests.items():
                step[k] = step.get(k, 0) + v
        for k, v in step.items():
            if v > init_max.get(k, 0):
                init_max[k] = v
    for k, v in init_max.items():
        if v > total.get(k, 0):
            total[k] = v
    # PodLevelResources (beta, on by default since 1.34): pod-level requests of the supported
    # resources replace the containers' aggregate; overhead is still added on top.
    for k, v in pod.pod_requests.items():
        if k in POD_LEVEL_RESOURCES:
            total[k] = v
    for k, v in pod.overhead.items():
        total[k] = total.get(k, 0) + v
    return total


def host_ports(pod: m.Pod) -> tuple[tuple[str, str, int], ...]:
    """(hostIP, protocol, hostPort) the pod wants on the node (containers and sidecars)."""
    out = []
    for c in tuple(pod.containers) + tuple(ic for ic in pod.init_containers if ic.restart_policy == "Always"):
        for p in c.ports:
            if p.host_port > 0:
                out.append((p.host_ip or "0.0.0.0", p.protocol or "TCP", p.host_port))
    return tuple(out)


# Volume sources the volume plugins look at (claims, generic ephemeral volumes, in-tree disks).
VOLUME_PLUGIN_KINDS = frozenset({"persistentVolumeClaim", "ephemeral", "gcePersistentDisk", "awsElasticBlockStore",
                                 "rbd", "iscsi", "azureDisk", "cinder", "portworxVolume"})


def uses_volumes(pod: m.Pod) -> bool:
    return any(v.kind in VOLUME_PLUGIN_KINDS for v in pod.volumes)


@dataclass
class NodeInfo:
    """A node and what is already on it (the scheduler's NodeInfo)."""

    node: m.Node
    pods: list[m.Pod]
    requested: dict[str, int]  # summed effective requests of the pods on it
    used_ports: set[tuple[str, str, int]]

    @property
    def name(self) -> str:
        return self.node.name


class ClusterState:
    """Per-snapshot precomputation shared by every pod evaluated against it."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        infos: dict[str, NodeInfo] = {}
        for n in snapshot.nodes:
            infos[n.name] = NodeInfo(node=n, pods=[], requested={}, used_ports=set())
        # Replicas share their converted containers (podtriage.convert caches them per workload),
        # so a pod's request and host ports are computed once per distinct spec, keyed by identity
        # (the snapshot keeps every keyed object alive while this runs).
        memo: dict[tuple[int, int, int, int], tuple[dict[str, int], tuple[tuple[str, str, int], ...]]] = {}
        for node_name, pods in snapshot.pods_by_node.items():
            info = infos.get(node_name)
            if info is None:
                continue
            info.pods = pods
            # 150k pods at 5,000 nodes: count each node's distinct specs first, then add them up.
            per_spec: dict[tuple[int, int, int, int], int] = {}
            for p in pods:
                key = (id(p.containers), id(p.init_containers), id(p.overhead), id(p.pod_requests))
                if key in per_spec:
                    per_spec[key] += 1
                else:
                    per_spec[key] = 1
                    if key not in memo:
                        memo[key] = (effective_requests(p), host_ports(p))
            req = info.requested
            for key, count in per_spec.items():
                requests, ports = memo[key]
                for k, v in requests.items():
                    req[k] = req.get(k, 0) + v * count
                if ports:
                    info.used_ports.update(ports)
        self.node_infos = infos
        # Per-node answers of plugins that read only node attributes, keyed by the plugin and the
        # part of the pod's spec it reads; the most recently used few (each holds a node's worth).
        self._columns: dict[Hashable, Any] = {}
        self._free: dict[str, tuple[list[int], list[int]]] = {}

    COLUMN_CACHE = 64

    def node_classes(self, key: Hashable, project: Callable[[NodeInfo], Hashable]) -> tuple[
            list[Any], list[int], list[int]]:
        """The distinct values project(node) takes over the nodes (a filter that reads only that
        part of a node judges each once), each node's index (in node order) into them, and each
        value's first node: once per snapshot and `key` (the most recent COLUMN_CACHE keys)."""
        cache: dict[Hashable, tuple[list[Any], list[int], list[int]]] = self.__dict__.setdefault("_node_classes", {})
        got = cache.get(key)
        if got is None:
            classes: dict[Hashable, int] = {}
            first: list[int] = []
            index: list[int] = []
            for i, info in enumerate(self.infos):
                value = project(info)
                k = classes.get(value)
                if k is None:
                    k = classes[value] = len(first)
                    first.append(i)
                index.append(k)
            if len(cache) >= self.COLUMN_CACHE:
                del cache[next(iter(cache))]
            got = cache[key] = (list(classes), index, first)
        return got

    def column(self, key: Hashable, compute: Callable[[], T]) -> T:
        """A plugin's per-node results (in node_infos order) for pods whose relevant spec part is
        `key`: computed once, reused by every pod that shares that part."""
        cols = self._columns
        got: T | None = cols.pop(key, None)
        if got is None:
            got = compute()
            while len(cols) >= self.COLUMN_CACHE:
                del cols[next(iter(cols))]
        cols[key] = got
        return got

    @cached_property
    def infos(self) -> tuple[NodeInfo, ...]:
        return tuple(self.node_infos.values())

    @cached_property
    def node_names(self) -> tuple[str, ...]:
        return tuple(self.node_infos)

    @cached_property
    def positions(self) -> dict[str, int]:
        """Node name -> its position in node_infos order."""
        return {n: i for i, n in enumerate(self.node_names)}

    @cached_property
    def passed_verdicts(self) -> tuple[NodeVerdict, ...]:
        """Each node's verdict when every filter passes it (the same for every pod): shared."""
        return tuple(make_verdict(name, (), ()) for name in self.node_names)

    @cached_property
    def pod_counts(self) -> tuple[int, ...]:
        return tuple(len(i.pods) for i in self.infos)

    def free_index(self, resource: str) -> tuple[list[int], list[int]]:
        """(free amounts sorted ascending, node positions in that order) of `resource`
        (allocatable minus requested): the nodes short of a request are a prefix of it."""
        idx = self._free.get(resource)
        if idx is None:
            free = [i.node.allocatable.get(resource, 0) - i.requested.get(resource, 0) for i in self.infos]
            order = sorted(range(len(free)), key=free.__getitem__)
            idx = self._free[resource] = ([free[k] for k in order], order)
        return idx

    def outside_of(self, inside: frozenset[int]) -> tuple[list[int], list[str]]:
        """The positions not in `inside` (ascending) and their names. Kept for a few recent sets:
        pods that share their tolerations and placement keep the same nodes out of their classes.
        (Read only.)"""
        def make() -> tuple[list[int], list[str]]:
            positions = list(filterfalse(inside.__contains__, range(len(self.node_names))))
            return positions, list(map(self.node_names.__getitem__, positions))

        return per_snapshot(self, "_outside_of", inside, make, 64)

    def early_rejections(self, columns: Sequence[Column]) -> tuple[
            dict[int, tuple[Failure, ...]], dict[tuple[str, str, str], tuple[list[int], Failure]]] | None:
        """The nodes some of `columns` (shared columns: a cordon, the taints a set of tolerations
        leaves) rejects, with their first answer, and the first pass's groups of them (plugin, code,
        reason -> their positions ascending, the first one's failure). Kept for a few recent column
        lists (pods with the same tolerations share them). (Read only.) None when a node's first
        answer holds several failures (then counted node by node)."""
        def make() -> tuple[dict[int, tuple[Failure, ...]], dict[tuple[str, str, str], tuple[list[int], Failure]]] | None:
            first: dict[int, tuple[Failure, ...]] = {}
            for col in columns:
                for i in col.rejected:
                    if i not in first:
                        fs = col[i]
                        if fs:
                            first[i] = fs if type(fs) is tuple else tuple(fs)
            if any(len(f) != 1 for f in first.values()):
                return None
            at = sorted(first)
            groups, _ = _group_firsts(map(first.__getitem__, at), at)
            return first, groups

        return per_snapshot_for(self, "_early", tuple(columns), make, 16)

    def kept_out(self, keep: frozenset[int], earlier: Sequence[Sequence[Sequence[Failure]]]) -> tuple[
            list[int], frozenset[int]]:
        """The nodes kept out of a uniform column's class: those it keeps and those the columns
        `earlier` reject, ascending and as a set. Kept for a few recent (keep, columns) by identity:
        pods that share their tolerations and whose requests fall between the same free amounts
        (NodeResourcesFit's `keep` is kept per snapshot) share them. (Read only.)"""
        def make() -> tuple[list[int], frozenset[int]]:
            more: set[int] = set(keep)
            for col in earlier:
                more.update(rejected_positions(col))
            return sorted(more), frozenset(more)

        return per_snapshot_for(self, "_kept_out", (keep, *earlier), make, 64)

    def names_at(self, positions: list[int]) -> list[str]:
        """The names at `positions`, a list some per-snapshot cache keeps and nobody changes (kept
        by its identity for a few recent ones). (Read only.)"""
        return per_snapshot_for(self, "_names_at", (positions,),
                                lambda: list(map(self.node_names.__getitem__, positions)), 64)

    def short_of(self, resource: str, want: int) -> list[int]:
        """Positions (in node order) of the nodes with less than `want` of `resource` free."""
        free, order = self.free_index(resource)
        return sorted(order[:bisect_left(free, want)])

    @cached_property
    def pods_with_affinity(self) -> list[m.Pod]:
        """Assigned pods carrying required pod affinity or anti-affinity terms."""
        return [p for pods in self.snapshot.pods_by_node.values() for p in pods
                if p.pod_affinity or p.pod_anti_affinity]

    @cached_property
    def lowest_priority(self) -> dict[str, int]:
        """The lowest priority among the live pods on each node (nodes without pods are absent):
        preemption can only ever evict below it."""
        out: dict[str, int] = {}
        for name, info in self.node_infos.items():
            prios = [p.priority for p in info.pods if not p.is_terminal and not p.deletion_timestamp]
            if prios:
                out[name] = min(prios)
        return out

    @cached_property
    def lowest_priority_anywhere(self) -> int | None:
        """The lowest of lowest_priority (None: no live pod on any node): a pod at or below it has
        nothing to preempt anywhere."""
        return min(self.lowest_priority.values(), default=None)

    def namespace_labels(self, ns: str) -> Mapping[str, str]:
        return self.snapshot.namespace_labels.get(ns, {})

    @cached_property
    def nominated_by_node(self) -> dict[str, list[m.Pod]]:
        """Pods the scheduler nominated to a node (status.nominatedNodeName) that are not bound yet:
        Filter counts them as running there for pods of equal or lower priority."""
        out: dict[str, list[m.Pod]] = {}
        for p in self.snapshot.pods:
            if p.nominated_node_name and not p.node_name and not p.is_terminal and not p.deletion_timestamp:
                out.setdefault(p.nominated_node_name, []).append(p)
        return out

    def with_pods(self, info: NodeInfo, pods: Sequence[m.Pod], without: Sequence[m.Pod] = ()) -> NodeInfo:
        """A copy of `info` as if `pods` ran there too (and `without` did not)."""
        gone = {id(p) for p in without}
        kept = [p for p in info.pods if id(p) not in gone] + list(pods)
        requested: dict[str, int] = {}
        for p in kept:
            for k, v in effective_requests(p).items():
                requested[k] = requested.get(k, 0) + v
        # NodeInfo.UsedPorts is a set: RemovePod frees a port even when another pod on the node
        # still holds it (upstream behaviour the preemption dry run shows); AddPod adds it back.
        ports = set(info.used_ports)
        for p in without:
            ports.difference_update(host_ports(p))
        for p in pods:
            ports.update(host_ports(p))
        return NodeInfo(node=info.node, pods=kept, requested=requested, used_ports=ports)

    @cached_property
    def dra_extended_classes(self) -> dict[str, m.DeviceClass]:
        """Extended resource name -> the DeviceClass that provides it (DRA-backed extended resources)."""
        from .plugins.dynamic_resources import extended_resource_classes

        return extended_resource_classes(self.snapshot)


@dataclass
class CycleState:
    """One pod's evaluation: the pod, its computed request, and per-plugin scratch space."""

    pod: m.Pod
    cluster: ClusterState
    requests: dict[str, int]
    scratch: dict[str, Any] = field(default_factory=dict)

    @property
    def snapshot(self) -> Snapshot:
        return self.cluster.snapshot

    def once(self, key: str, compute: Callable[[CycleState], T]) -> T:
        """What `compute` derives from this pod alone, computed on first use and kept in scratch
        (PreFilter state that every node's Filter reads)."""
        got = self.scratch.get(key)
        if got is None:
            got = self.scratch[key] = compute(self)
        return got


class FilterPlugin:
    """One kube-scheduler Filter plugin. Subclasses set `name` and override what they implement."""

    name: ClassVar[str] = ""
    # Whether its failures can be Filter errors (detail["error"]): the attempt then aborts.
    may_error: ClassVar[bool] = False

    def pre_enqueue(self, state: CycleState) -> Sequence[Failure]:
        """PreEnqueue: a reason the scheduler does not even try the pod (no event, no condition)."""
        return ()

    def pre_filter(self, state: CycleState) -> Sequence[Failure]:
        """Pod-level rejection before any node is looked at (PreFilter): empty when none."""
        return ()

    def filter(self, state: CycleState, node: NodeInfo) -> Sequence[Failure]:
        """Reasons this node cannot take the pod; empty when it can."""
        return ()

    def filter_nodes(self, state: CycleState) -> Sequence[Sequence[Failure]] | None:
        """filter() for every node of the cluster at once (in node_infos order), or None to be
        asked node by node. Same answers; for plugins that can share work across nodes or pods."""
        return None

    def applies(self, state: CycleState) -> bool:
        """False when filter() cannot fail any node for this pod (it is then not called)."""
        return True

    def pre_filter_result(self, state: CycleState) -> frozenset[str] | None:
        """PreFilterResult: the only node names worth filtering (None: every node).

        Called after pre_filter. Upstream skips the other nodes entirely and reports them as
        "node(s) didn't satisfy plugin(s) [<plugins>]" (see `absent_node_failure`).
        """
        return None

    def absent_node_failures(self, state: CycleState, positions: Sequence[int], reason: str) -> dict[int, Failure]:
        """absent_node_failure for the nodes at `positions` (in node_infos order), by position."""
        infos = state.cluster.infos
        return {i: self.absent_node_failure(state, infos[i], reason) for i in positions}

    def absent_node_class(self, state: CycleState, inside: Sequence[int],
                          reason: str) -> Callable[[int], Failure] | None:
        """When the failures absent_node_failures would give every node not at `inside` (the
        PreFilterResult's positions) share their plugin, code and reason, a maker of each one (by
        position), so they can be made for the nodes read only; None otherwise (all made at once)."""
        return None

    def absent_node_failure(self, state: CycleState, node: NodeInfo, reason: str) -> Failure:
        """The verdict for a node left out of this plugin's PreFilterResult (`reason` is the
        scheduler's text for it)."""
        return Failure(plugin=self.name, code="absent-nodes", reason=reason,
                       message=f"node {node.name} is not among the nodes {self.name}'s PreFilter selected",
                       unresolvable=True)


class _InsideParts:
    """What a verdict kept out of a class is made from when its failures are read (its first
    reasons, an earlier column's, are made at once): every column's answers on the node."""

    def __init__(self, positions_of: Mapping[str, int], columns: Sequence[Sequence[Sequence[Failure]]]) -> None:
        self.positions_of = positions_of
        self.columns = columns

    def parts(self, i: int) -> tuple[tuple[Failure, ...], tuple[Failure, ...]]:
        hit = [got for col in self.columns if (got := col[i])]
        first = hit[0] if type(hit[0]) is tuple else tuple(hit[0])
        return first, first if len(hit) == 1 else tuple(chain.from_iterable(hit))


def _column_hits(columns: Sequence[Sequence[Sequence[Failure]]],
                 positions: Sequence[int]) -> dict[int, list[Sequence[Failure]]]:
    """Each of `positions`' non-empty column answers, in column order, walked column by column as
    evaluate() does (a column that lists its rejections visits only those among `positions`;
    NodeResourcesFit's answers made in one go): for many nodes at once."""
    wanted = set(positions)
    hits: dict[int, list[Sequence[Failure]]] = {}
    for col in columns:
        if type(col) is Column:
            where: Iterable[int] = [i for i in col.rejected if i in wanted]
        else:
            where = positions
            if isinstance(col, ClassGroups):
                col.firsts(positions)  # (made in one go, then read)
        for i in where:
            got = col[i]
            if got:
                h = hits.get(i)
                if h is None:
                    hits[i] = [got]
                else:
                    h.append(got)
    return hits


class _OutsideParts:
    """What a verdict outside the PreFilterResult is made from (a lazy verdict refers to this, not
    to the _Outside that holds the verdicts: no reference cycle, so an evaluation is freed by
    reference counting as soon as nothing reads it, collector or not)."""

    def __init__(self, cluster: ClusterState, columns: Sequence[Sequence[Sequence[Failure]]],
                 first: Callable[[int], tuple[Failure, ...]]) -> None:
        self.positions_of = cluster.positions
        self.columns = columns
        self.first_of = first
        self._made: dict[int, tuple[Failure, ...]] = {}

    def first(self, i: int) -> tuple[Failure, ...]:
        """Node i's first reasons (kept: its verdict and the count share them)."""
        got = self._made.get(i)
        if got is None:
            got = self._made.setdefault(i, self.first_of(i))
        return got

    def parts(self, i: int) -> tuple[tuple[Failure, ...], tuple[Failure, ...]]:
        """(first, failures) of node i's verdict: as evaluate's column walk makes them."""
        fs: list[Failure] = []
        for col in self.columns:
            got = col[i]
            if got:
                fs.extend(got)
        return self.first(i), tuple(fs)


class _FirstOf:
    """The one failure a uniform column gives node i (its maker is kept by the column)."""

    def __init__(self, column: Sequence[Sequence[Failure]]) -> None:
        self.column = column

    def __call__(self, i: int) -> Failure:
        return self.column[i][0]


class _Single:
    """First reasons of one failure per node (`absent(i)`), of one plugin, code and reason."""

    def __init__(self, absent: Callable[[int], Failure]) -> None:
        self.absent = absent

    def __call__(self, i: int) -> tuple[Failure, ...]:
        return (self.absent(i),)


FirstKey = tuple[str, str, str]


class ClassGroups:
    """How the nodes of a class made by a column fail first when that column may give a node several
    reasons (NodeResourcesFit: too many pods, Insufficient cpu and memory): per (plugin, code,
    reason), the positions of the class's nodes with it and one of those failures."""

    def groups(self, inside: frozenset[int]) -> list[tuple[FirstKey, list[int], Failure]]:
        """Per reason, the positions not `inside` with it (ascending) and the first one's failure."""
        raise NotImplementedError

    def firsts(self, positions: Sequence[int]) -> list[tuple[Failure, ...]]:
        """The column's answers on `positions` (in one go: a reader walks every node)."""
        raise NotImplementedError


class _Outside:
    """The nodes outside a pod's PreFilterResult as one class (a DaemonSet pod's every node but its
    own): the scheduler gives each the same reason (`absent(i)`, one plugin, code and reason), so
    the walk over the first failing plugins counts them at once, and a node's verdict (that reason
    first, then every column's failures on it) is made when something reads it.

    Also the nodes a uniform column rejects and no earlier column does (a node selector no node, or
    only a pool, matches): `inside` is then the nodes that column keeps out of the class and those an
    earlier column rejects, and `absent(i)` that column's failure on node i (_FirstOf), which is
    their first reason as it is the first that rejects them. A column that gives its nodes several
    reasons (NodeResourcesFit) passes `multi` instead: their first reasons are its answers, counted
    per reason by multi.groups."""

    def __init__(self, cluster: ClusterState, inside: list[int], columns: Sequence[Sequence[Sequence[Failure]]],
                 absent: Callable[[int], Failure] | None = None, *,
                 multi: tuple[Callable[[int], tuple[Failure, ...]], ClassGroups, int] | None = None,
                 after: int = 0) -> None:
        self.cluster = cluster
        self.names = cluster.node_names
        self.positions_of = cluster.positions
        # Positions in the PreFilterResult (kept out of the class), ascending: their verdicts are made
        # at once (their first reasons, at least: make_inside).
        self.inside = inside
        # Of those, the positions some filter rejects and those every filter passes, ascending
        # (make_inside): readers of the rejections walk only the first.
        self.failing: list[int] = []
        self.passing: list[int] = []
        # The nodes an earlier column than the class's own rejects, when their verdicts are made
        # when read (make_inside): their first reasons (shared per snapshot), and those grouped.
        self.early: dict[int, tuple[Failure, ...]] = {}
        self.early_groups: dict[tuple[str, str, str], tuple[list[int], Failure]] = {}
        self.made: list[int] = []  # of `failing`, those whose verdicts make_inside made (node order)
        self._early_src: _InsideParts | None = None
        self.columns = columns
        self.multi: ClassGroups | None = None
        # The columns after the class's own, the only others that can reject its nodes (0: a
        # PreFilterResult's class, every column).
        self.after = after
        first: Callable[[int], tuple[Failure, ...]]
        if multi is not None:
            first, self.multi, self.after = multi
        else:
            assert absent is not None
            first = _Single(absent)
        self.src = _OutsideParts(cluster, columns, first)
        self._verdicts: list[NodeVerdict | None] | None = None
        self._all: tuple[NodeVerdict, ...] | None = None
        self._positions: list[int] | None = None

    def failure(self, i: int) -> Failure:
        """Node i's (first) first reason."""
        return self.src.first(i)[0]

    def groups(self) -> list[tuple[FirstKey, list[int] | None, Failure]]:
        """The class's first reasons: (plugin, code, reason), its nodes' positions (None: every
        position outside) and its first failure, ordered by their first node (then as a node lists
        them)."""
        o0 = self.first_position()
        if o0 is None:
            return []
        if self.multi is None:
            f0 = self.failure(o0)
            return [((f0.plugin, f0.code, f0.reason), None, f0)]
        got = sorted(self.multi.groups(self.inside_set),
                     key=lambda g: g[1][0])  # (stable: a node's reasons in its order)
        return [(k, pos, f) for k, pos, f in got]

    def make_inside(self, passed: Sequence[NodeVerdict], lazy_early: bool = False) -> list[NodeVerdict]:
        """The verdicts inside the PreFilterResult, made now as the column walk makes them (those an
        earlier column than the class's own rejects: their first reasons now, the rest when read;
        with `lazy_early` and shared earlier columns, made when read too, their first reasons
        known per snapshot); the others are made when read. Returns the failing verdicts made
        (in node order)."""
        names = self.names
        slots: list[NodeVerdict | None] = [None] * len(names)
        empty: tuple[Failure, ...] = ()
        inside = self.inside
        failing: list[int] = []
        early_cols = self.columns[:self.after - 1] if self.after > 1 and len(inside) > 64 else ()
        shared = self.cluster.early_rejections(early_cols) if lazy_early and early_cols and all(  # type: ignore[arg-type]
            type(c) is Column for c in early_cols) else None
        if shared is not None:
            # (every node an earlier column rejects is inside: the class holds none of them)
            self.early, self.early_groups = shared
            early_at = shared[0]
            inside = [i for i in inside if i not in early_at]
            failing += early_at
        elif early_cols:
            # The nodes a column before the class's own rejects (the tainted pools, the cordoned
            # nodes): their first reasons are that column's, known from the earlier columns alone;
            # the rest of their failures is made when read (most are only counted).
            early = _column_hits(self.columns[:self.after - 1], inside)
            src = self.early_src
            for i, seen in early.items():
                v = slots[i] = _new(NodeVerdict)
                d = v.__dict__
                d["node"] = names[i]
                d["first"] = seen[0] if type(seen[0]) is tuple else tuple(seen[0])
                d["_of"] = src
            inside = [i for i in inside if i not in early]
            failing += early
        # Many nodes inside (a class of the nodes a filter rejects, a pool or the tainted nodes
        # inside): column by column, as evaluate's walk does, a column that lists its rejections
        # visiting only those; a few (a DaemonSet pod's own node): each node's columns.
        # (what no earlier column rejects the class's own column passes: not read again)
        columns = self.columns if self.after == 0 or (self.after > 1 and len(self.inside) <= 64) else \
            [col for k, col in enumerate(self.columns) if k != self.after - 1]
        hits = _column_hits(columns, inside) if len(inside) > 64 else {
            i: h for i in inside if (h := [got for col in columns if (got := col[i])])}
        passing = self.passing
        for i in inside:
            hit = hits.get(i)
            if hit is None:
                slots[i] = passed[i]
                passing.append(i)
                continue
            first = hit[0] if type(hit[0]) is tuple else tuple(hit[0])
            slots[i] = make_verdict(names[i], first, first if len(hit) == 1 else
                                    tuple(chain.from_iterable(hit)) or empty)
            failing.append(i)
        # (the verdicts made: those of the failing nodes but the early ones made when read)
        self.made = failing[len(self.early):] if self.early else failing
        if len(failing) > len(hits):  # (the early ones first: back in node order)
            failing.sort()
        self.failing = failing
        self._verdicts = slots
        return [slots[i] for i in self.made]  # type: ignore[misc]

    def verdict(self, i: int) -> NodeVerdict:
        """Node i's verdict (outside: its reasons made when read)."""
        slots = self._verdicts
        assert slots is not None
        v = slots[i]
        if v is None:
            v = _new(NodeVerdict)
            d = v.__dict__
            d["node"] = self.names[i]
            e = self.early.get(i) if self.early else None
            if e is None:
                d["_of"] = self.src
            else:  # rejected by an earlier column: its first reasons known, the rest when read
                d["first"] = e
                d["_of"] = self.early_src
            slots[i] = v
        return v

    @property
    def early_src(self) -> _InsideParts:
        got = self._early_src
        if got is None:
            got = self._early_src = _InsideParts(self.positions_of, self.columns)
        return got

    def all(self) -> tuple[NodeVerdict, ...]:
        """Every node's verdict, in node order (a reader that walks them all)."""
        got = self._all
        if got is None:
            slots = self._verdicts
            assert slots is not None
            if self.multi is not None:
                self._make_class(slots)
            for i in self.early:
                if slots[i] is None:
                    self.verdict(i)
            src = self.src
            for i, name in enumerate(self.names):  # (one per node per pod: inlined)
                if slots[i] is None:
                    v = _new(NodeVerdict)
                    d = v.__dict__
                    d["node"] = name
                    d["_of"] = src
                    slots[i] = v
            got = self._all = tuple(slots)  # type: ignore[arg-type]
        return got

    def make_many(self, positions: Sequence[int]) -> None:
        """Make the verdicts of many nodes at once, column by column (a reader is about to read
        each: the nodes a corrected selector would target), rather than each node's on its own read."""
        slots = self._verdicts
        assert slots is not None
        todo = [i for i in positions if slots[i] is None or "failures" not in slots[i].__dict__]  # type: ignore[union-attr]
        if len(todo) <= 64:
            return
        found = _column_hits(self.columns, todo)
        first, names, early = self.src.first, self.names, self.early
        for i in todo:
            v = slots[i]
            if v is None:
                v = slots[i] = _new(NodeVerdict)
                v.__dict__["node"] = names[i]
            d = v.__dict__
            # (a lazy verdict keeps its `_of`: a thread reading it at the same time still finds it;
            # one kept out of the class has its first reasons already)
            if "first" not in d:
                d["first"] = early.get(i) or first(i)
            d["failures"] = tuple(chain.from_iterable(found.get(i, ())))

    @cached_property
    def inside_set(self) -> frozenset[int]:
        """The positions kept out of the class, as a set (the class: every other position)."""
        return frozenset(self.inside)

    @cached_property
    def clean(self) -> bool:
        """A class made by a column with several reasons a node (multi): no later column rejects any
        of its nodes, so a node's failures are that column's answers alone (its first reasons)."""
        return self.multi is not None and not self.later_rejecting

    @cached_property
    def later_rejecting(self) -> list[Sequence[Sequence[Failure]]]:
        """The columns after the class's own that reject some node of the class."""
        inside = self.inside_set
        return [col for col in self.columns[self.after:] if any(i not in inside for i in rejected_positions(col))]

    def _make_class(self, slots: list[NodeVerdict | None]) -> None:
        """Every verdict of a class whose column gives several reasons a node, made now (a reader
        walks them all): the column's answers in one go, then the later columns' rejections of
        them (no earlier column rejects them: they would be inside)."""
        assert self.multi is not None
        todo = [i for i in self.positions() if slots[i] is None]
        inside = self.inside_set
        extra: dict[int, list[Failure]] = {}
        for col in self.columns[self.after:]:
            for i in rejected_positions(col):
                if i not in inside:
                    fs = col[i]
                    if fs:
                        extra.setdefault(i, []).extend(fs)
        names = self.names
        for i, first in zip(todo, self.multi.firsts(todo)):
            v = _new(NodeVerdict)
            d = v.__dict__
            d["node"] = names[i]
            d["first"] = first
            more = extra.get(i)
            d["failures"] = first + tuple(more) if more else first
            slots[i] = v

    def first_position(self) -> int | None:
        """The first position outside (None: every node is inside)."""
        i = 0
        for p in self.inside:
            if p != i:
                break
            i += 1
        return i if i < len(self.names) else None

    def positions(self) -> list[int]:
        """The positions outside, ascending (kept: not to be changed by the reader)."""
        got = self._positions
        if got is None:
            n, inside = len(self.names), self.inside
            if 8 * len(inside) < n:  # (a few inside, a DaemonSet pod's own node: the runs between them)
                got = []
                prev = 0
                for p in inside:
                    got += range(prev, p)
                    prev = p + 1
                got += range(prev, n)
            else:
                got = self.cluster.outside_of(self.inside_set)[0]
            self._positions = got
        return got

    def outside_names(self) -> list[str]:
        """The names of the nodes outside, in node order (read only)."""
        if 8 * len(self.inside) >= len(self.names):
            return self.cluster.outside_of(self.inside_set)[1]
        out: list[str] = []
        prev = 0
        for p in self.inside:
            out += self.names[prev:p]
            prev = p + 1
        out += self.names[prev:]
        return out


Outside = _Outside  # (read by the diagnosis, for a class's parts)


class OutsideVerdicts(Sequence[NodeVerdict]):
    """Evaluation.verdicts of a pod whose nodes outside its PreFilterResult are one class: every
    node's verdict, made when the sequence is first walked or indexed (its length is known)."""

    def __init__(self, outside: _Outside) -> None:
        self._outside = outside

    def __len__(self) -> int:
        return len(self._outside.names)

    def __bool__(self) -> bool:
        return bool(self._outside.names)

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, int):
            n = len(self._outside.names)
            if not -n <= i < n:
                raise IndexError(i)
            return self._outside.verdict(i % n)
        return self._outside.all()[i]

    def __iter__(self) -> Iterator[NodeVerdict]:
        return iter(self._outside.all())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (tuple, OutsideVerdicts)):
            return tuple(self) == tuple(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(tuple(self))

    def __repr__(self) -> str:
        return repr(tuple(self))


class OutsideByNode(Mapping[str, NodeVerdict]):
    """Node name -> verdict over an OutsideVerdicts' evaluation: a verdict is made when looked up."""

    def __init__(self, outside: _Outside) -> None:
        self._outside = outside

    def __getitem__(self, name: str) -> NodeVerdict:
        return self._outside.verdict(self._outside.positions_of[name])

    def __contains__(self, name: object) -> bool:
        return name in self._outside.positions_of

    def __iter__(self) -> Iterator[str]:
        return iter(self._outside.names)

    def __len__(self) -> int:
        return len(self._outside.names)


@dataclass(frozen=True)
class Evaluation:
    """The pod against every node."""

    pod: m.Pod
    requests: Mapping[str, int]
    prefilter: tuple[Failure, ...]
    # Empty after a PreFilter rejection: no node was filtered. In node order. (An OutsideVerdicts
    # when the nodes outside a PreFilterResult are one class: read verdicts_by_node / verdicts_on
    # to look at some nodes without making every node's verdict.)
    verdicts: Sequence[NodeVerdict]
    node_count: int = -1  # nodes in the cluster; -1: len(verdicts)
    # What the diagnosis derives from this evaluation alone (the target nodes, failures grouped by
    # code): pods of the same shape share the evaluation, so they share this too.
    memo: dict[Any, Any] = field(default_factory=dict, compare=False, repr=False)
    # A PreEnqueue plugin holds the pod back: the scheduler never tries it (prefilter holds the reason)
    gated: bool = False
    # A Filter plugin fails with an error on some node: the attempt aborts (SchedulerError), no FitError
    error: Failure | None = None
    # The nodes outside the PreFilterResult as one class (their verdicts made when read), or None
    outside: _Outside | None = field(default=None, compare=False, repr=False)

    def verdicts_by_node(self) -> Mapping[str, NodeVerdict]:
        """Node name -> its verdict, kept with the evaluation (memo "verdicts_by_node"). With the
        nodes outside a PreFilterResult as one class, a verdict is made when looked up."""
        got = self.memo.get("verdicts_by_node")
        if got is None:
            got = self.memo["verdicts_by_node"] = OutsideByNode(self.outside) if self.outside is not None \
                else {v.node: v for v in self.verdicts}
        return got  # type: ignore[no-any-return]

    def verdicts_on(self, names: Iterable[str]) -> list[NodeVerdict]:
        """The verdicts of the nodes `names` (each once, unknown names left out), in node order:
        what `[v for v in verdicts if v.node in set(names)]` gives, without walking every node."""
        if self.outside is None:
            wanted = set(names)
            return [v for v in self.verdicts if v.node in wanted]
        pos = self.outside.positions_of
        return [self.outside.verdict(i) for i in sorted({pos[n] for n in names if n in pos})]

    @property
    def total_nodes(self) -> int:
        return self.node_count if self.node_count >= 0 else len(self.verdicts)

    @property
    def feasible(self) -> tuple[str, ...]:
        if self.prefilter or self.error is not None:
            return ()
        got = self.memo.get("feasible")
        if got is None:
            # Outside the PreFilterResult no node passes: only the nodes inside are read.
            if self.outside is None:
                got = tuple(v.node for v in self.verdicts if not v.first)
            else:
                names = self.outside.names
                got = tuple([names[i] for i in self.outside.passing])
            self.memo["feasible"] = got
        return got  # type: ignore[no-any-return]

    def first_pass(self) -> tuple[dict[tuple[str, str, str], tuple[list[str], Failure]], list[tuple[Failure, ...]]]:
        """One walk over the nodes' first failing plugin (the scheduler's view), kept with the
        evaluation: (plugin, code, reason) -> (the nodes in node order, once per failure, and the
        first of those failures); and the first reasons of the nodes that have more than one."""
        got = self.memo.get("first_pass")
        if got is not None:
            return got  # type: ignore[no-any-return]
        if self.outside is not None:
            got = self.memo["first_pass"] = self._first_pass_outside(self.outside)
            return got
        got = self.memo["first_pass"] = _group_firsts(map(_first_of, self.verdicts), map(_node_of, self.verdicts))
        return got

    def _first_pass_outside(self, out: _Outside) -> tuple[dict[tuple[str, str, str], tuple[list[str], Failure]],
                                                          list[tuple[Failure, ...]]]:
        """first_pass when the nodes outside the PreFilterResult are one class: the same groups, in
        the same order (by their first node), from the verdicts inside and that class. (The class's
        nodes with several first reasons are not in the list of those: _first_counts counts them
        from the class's groups, kept in memo "first_pass_class".)"""
        cgroups = out.groups()
        self.memo["first_pass_class"] = cgroups
        inside, multi = _group_firsts(map(_first_of, map(out.verdict, out.made)), out.made)
        for key, (at, f) in out.early_groups.items():  # (the nodes an earlier column rejects)
            got = inside.get(key)
            if got is None:
                inside[key] = (at, f)
            else:  # (their lists read only: merged into a new one)
                inside[key] = (sorted(got[0] + at), got[1] if got[0][0] < at[0] else f)
        o0 = out.first_position()
        # Every group where the walk over every node meets it first: at its first node (a node's
        # reasons in its order; inside and outside share no node, and a sort keeps ties in order).
        order: list[tuple[int, tuple[str, str, str]]] = [(pos[0], key) for key, (pos, _) in inside.items()]
        order += [(pos[0] if pos is not None else o0, key) for key, pos, _ in cgroups]  # type: ignore[misc]
        okeys = {key: (pos, f0) for key, pos, f0 in cgroups}
        names = out.names
        result: dict[tuple[str, str, str], tuple[list[str], Failure]] = {}
        for _, key in sorted(order, key=lambda t: t[0]):
            if key in result:
                continue
            got = inside.get(key)
            if key not in okeys:
                assert got is not None
                result[key] = ([names[i] for i in got[0]], got[1])
                continue
            mine, f = okeys[key]
            pos: list[int] = []
            if got is not None:
                pos = got[0]
                if pos[0] < (mine[0] if mine is not None else o0):  # type: ignore[operator]
                    f = got[1]  # (met inside first: its failure is the group's)
            if mine is None:
                if not pos:  # the usual case: only the nodes outside
                    result[key] = (out.outside_names(), f)
                    continue
                mine = out.positions()
            # (a class's own group: its positions a list the snapshot's cache keeps, FitColumn.outside_of)
            result[key] = ([names[i] for i in sorted(pos + mine)] if pos else out.cluster.names_at(mine), f)
        return result, multi

    def _first_counts(self, field: Callable[[Failure], str]) -> dict[str, int]:
        """field(failure) -> nodes whose first failing plugin gives it (each node once)."""
        groups, multi = self.first_pass()
        out: dict[str, int] = {}
        for nodes, f in groups.values():
            k = field(f)
            out[k] = out.get(k, 0) + len(nodes)
        for first in multi:  # counted once per failure above, once per node here
            ks = [field(f) for f in first]
            for k in set(ks):
                out[k] -= ks.count(k) - 1
        # A class whose nodes may have several first reasons: those that give the same field
        # (Insufficient cpu and memory: both "insufficient") count a node once.
        by_field: dict[str, list[list[int] | None]] = {}
        for _, pos, f in self.memo.get("first_pass_class") or ():
            by_field.setdefault(field(f), []).append(pos)
        for k, lists in by_field.items():
            if len(lists) > 1:
                out[k] -= sum(len(p) for p in lists if p is not None) - len(set().union(*[p for p in lists if p]))
        return out

    def histogram(self) -> dict[str, int]:
        """reason text -> node count, from the first failing plugin per node (the scheduler's view)."""
        return self._first_counts(_reason_of)

    def code_counts(self, *, by_resource: bool = False) -> dict[str, int]:
        """code -> node count, first failing plugin per node (for comparison with the scheduler).

        A PreFilter rejection stops the scheduler before any Filter runs, and its message
        (FitMessage.node_counts) counts every node under that one code: so do we.
        by_resource: count "Insufficient X" per resource, as `insufficient:X`.
        """
        if self.prefilter:
            return {self.prefilter[0].code: self.total_nodes}
        return self._first_counts(_code_by_resource if by_resource else _code_of)

    def fit_error(self) -> str:
        """The FitError text the current scheduler would print for this evaluation (no PostFilter part)."""
        n = self.total_nodes
        if self.gated:
            return f"(not attempted: {self.prefilter[0].reason})"
        if self.error is not None:
            return self.error.reason
        if self.prefilter:
            return f"0/{n} nodes are available: {self.prefilter[0].reason}."
        if n == 0:
            return "no nodes available to schedule pods"
        items = sorted(f"{c} {r}" for r, c in self.histogram().items())
        if not items:
            return f"{len(self.feasible)}/{n} nodes are available."
        return f"0/{n} nodes are available: {', '.join(items)}."


_node_of = attrgetter("node")
_first_of = attrgetter("first")


def _group_firsts(firsts: Iterable[tuple[Failure, ...]], labels: Iterable[L]) -> tuple[
        dict[tuple[str, str, str], tuple[list[L], Failure]], list[tuple[Failure, ...]]]:
    """The walk over the nodes' first failing plugin (each node's first reasons, with its label):
    (plugin, code, reason) -> (the labels, once per failure, in order, and the first of those
    failures); and the first reasons that hold more than one."""
    groups: dict[tuple[str, str, str], tuple[list[L], Failure]] = {}
    multi: list[tuple[Failure, ...]] = []
    # Neighbouring nodes mostly fail the same way (the same plugin, code and reason objects):
    # compared by identity before a key is built.
    plugin = code = reason = None
    at: list[L] = []
    for first, label in zip(firsts, labels):
        if not first:
            continue
        if len(first) > 1:
            multi.append(first)
        for f in first:
            if f.reason is not reason or f.code is not code or f.plugin is not plugin:
                plugin, code, reason = f.plugin, f.code, f.reason
                key = (plugin, code, reason)
                g = groups.get(key)
                if g is None:
                    g = groups[key] = ([], f)
                at = g[0]
            at.append(label)
    return groups, multi


def _reason_of(f: Failure) -> str:
    return f.reason


def _code_of(f: Failure) -> str:
    return f.code


def _code_by_resource(f: Failure) -> str:
    return f"insufficient:{f.detail.get('resource', '')}" if f.code == "insufficient" else f.code


def _plugins() -> list[FilterPlugin]:
    from .plugins import DEFAULT_PLUGINS

    return [cls() for cls in DEFAULT_PLUGINS]


def evaluate(pod: m.Pod, cluster: ClusterState, plugins: Iterable[FilterPlugin] | None = None) -> Evaluation:
    """Run PreFilter and every Filter plugin, in the default profile's order, against every node."""
    plist = list(plugins) if plugins is not None else _plugins()
    state = CycleState(pod=pod, cluster=cluster, requests=effective_requests(pod))
    for p in plist:
        gate = p.pre_enqueue(state)
        if gate:
            return Evaluation(pod=pod, requests=state.requests, prefilter=tuple(gate), verdicts=(),
                              node_count=len(cluster.node_infos), gated=True)
    prefilter: list[Failure] = []
    for p in plist:
        # PreFilter stops at the first plugin that rejects the pod outright (UnschedulableAndUnresolvable).
        if prefilter and prefilter[0].unresolvable:
            break
        prefilter.extend(p.pre_filter(state))
    # PreFilterResults are intersected (frameworkImpl.RunPreFilterPlugins). Nodes outside never
    # reach Filter: the scheduler counts them under one "didn't satisfy plugin(s) [...]" reason,
    # whatever else is wrong with them; we still run every filter on them for `failures`.
    allowed: frozenset[str] | None = None
    narrowing: list[FilterPlugin] = []
    if not prefilter:
        for p in plist:
            res = p.pre_filter_result(state)
            if res is not None:
                narrowing.append(p)
                allowed = res if allowed is None else allowed & res
        if narrowing and not allowed:
            names = sorted(p.name for p in narrowing)
            prefilter.append(Failure(
                plugin=names[0], code="prefilter-conflict",
                reason=f"node(s) didn't satisfy plugin(s) [{' '.join(names)}] simultaneously",
                message=f"the nodes selected by the PreFilter of {', '.join(names)} do not overlap",
                unresolvable=True))
            allowed = None
    if prefilter:
        # The scheduler stops here: no node is filtered, and the PreFilter reason is the answer.
        return Evaluation(pod=pod, requests=state.requests, prefilter=tuple(prefilter), verdicts=(),
                          node_count=len(cluster.node_infos))
    absent_reason = f"node(s) didn't satisfy plugin(s) [{' '.join(sorted(p.name for p in narrowing))}]"
    # Plugins with nothing to check for this pod (no ports, no volumes, no selectors...) are
    # skipped per node: at 5,000 nodes the call overhead is most of an evaluation.
    active = [p for p in plist if p.applies(state)]
    infos, node_names = cluster.infos, cluster.node_names
    # Each plugin's answers for every node (a column), then each node's verdict from them.
    columns: list[Sequence[Sequence[Failure]]] = []
    for p in active:
        col = p.filter_nodes(state)
        columns.append(col if col is not None else [p.filter(state, info) for info in infos])
    nominated = cluster.nominated_by_node if cluster.nominated_by_node else None
    verdicts: list[NodeVerdict] = []
    add = verdicts.append
    empty: tuple[Failure, ...] = ()
    rows: Iterable[tuple[Sequence[Failure], ...]] = zip(*columns) if columns else repeat((), len(infos))
    passed = cluster.passed_verdicts
    erring = {p.name for p in active if p.may_error}
    # A DaemonSet pod's every node but its own: when the nodes outside the PreFilterResult share
    # their reason, they are one class and their verdicts are made when read (_Outside).
    outside: _Outside | None = None
    if nominated is None and allowed is not None and narrowing[0].name not in erring:
        pos = cluster.positions
        inside = sorted(pos[n] for n in allowed if n in pos)
        make = narrowing[0].absent_node_class(state, inside, absent_reason)
        if make is not None:
            outside = _Outside(cluster, inside, columns, make)
            verdicts[:] = outside.make_inside(passed)
            rows = ()
    # (A column whose class would hold fewer than half the nodes is not worth one: the nodes kept
    # out of it are made by reading the columns there, where the walk below visits only rejections.
    # NodeResourcesFit's class pays from an eighth of the nodes on: the diagnosis reads it as
    # positions and free amounts, not verdicts.)
    uniform = next((k for k, col in enumerate(columns) if isinstance(col, LazyColumn) and col.uniform and (
        2 * col.keep_bound <= len(col) or isinstance(col, ClassGroups) and 8 * col.keep_bound <= 7 * len(col))), None) \
        if outside is None and nominated is None and allowed is None else None
    if uniform is not None:
        # A column rejects every node it rejects alike (a node selector no node, or only a pool,
        # matches): the rejected nodes no earlier column rejects have it as their first reason, so
        # they are one class as the nodes outside a PreFilterResult are (_Outside, their reason that
        # column's failure); the nodes it passes and those an earlier column rejects (a taint, a
        # cordon) are made at once.
        ucol = columns[uniform]
        assert isinstance(ucol, LazyColumn)
        inside, inside_set = cluster.kept_out(ucol.keep, columns[:uniform])
        outside = _Outside(cluster, inside, columns, multi=(ucol.__getitem__, ucol, uniform + 1)) \
            if isinstance(ucol, ClassGroups) else _Outside(cluster, inside, columns, _FirstOf(ucol),
                                                           after=uniform + 1)
        outside.__dict__["inside_set"] = inside_set  # (cached_property, known already)
        # (the nodes an earlier column rejects made when read, unless that column's plugin may
        # error: the error scan below reads the verdicts made)
        verdicts[:] = outside.make_inside(passed, lazy_early=not any(p.name in erring for p in active[:uniform]))
        rows = ()
    if outside is None and nominated is None:
        # Every node's verdict comes from the columns (and the PreFilterResult) alone: start from
        # the shared verdicts of nodes every filter passes and build only the others (as the loop
        # below does).
        verdicts[:] = passed
        # The nodes outside the PreFilterResult: the scheduler's reason for them is that, whatever
        # the filters say (known before the verdicts are built, so each is built once).
        absent: dict[int, Failure] = {} if allowed is None else narrowing[0].absent_node_failures(
            state, [i for i, n in enumerate(node_names) if n not in allowed], absent_reason)
        # Column by column, in plugin order: a node's first rejecting column is its `first`, and
        # every column's reasons are appended to its failures.
        # (make_verdict inlined: this runs once per rejected node per column.)
        for col in columns:
            for i in rejected_positions(col):
                fs = col[i]
                if not fs:
                    continue
                if type(fs) is not tuple:
                    fs = tuple(fs)
                old = verdicts[i].__dict__
                nv = _new(NodeVerdict)
                d = nv.__dict__
                d["node"] = node_names[i]
                if old["first"]:
                    d["first"] = old["first"]
                    d["failures"] = old["failures"] + fs
                else:
                    d["first"] = (absent[i],) if absent and i in absent else fs
                    d["failures"] = fs
                verdicts[i] = nv
        for i, out in absent.items():
            v = verdicts[i]
            if not v.first:  # no filter rejects it
                verdicts[i] = make_verdict(node_names[i], (out,), v.failures)
        rows = ()
    for i, (info, name, row) in enumerate(zip(infos, node_names, rows)):
        first: tuple[Failure, ...] = ()
        if allowed is not None and name not in allowed:
            first = (narrowing[0].absent_node_failure(state, info, absent_reason),)
        # RunFilterPluginsWithNominatedPods: pods nominated to the node with a priority >= this pod's
        # count as running there (first pass); a node that passes is filtered again without them.
        noms = [q for q in nominated.get(name, ()) if q.priority >= pod.priority and q.key != pod.key] \
            if nominated else None
        if noms:
            failures: list[Failure] = []
            for use in (cluster.with_pods(info, noms), info):
                for p in active:
                    fs = p.filter(state, use)
                    if fs:
                        if not first:
                            first = tuple(fs)
                        failures.extend(fs)
                if failures:
                    break
            add(make_verdict(name, first, tuple(failures) if failures else empty))
            continue
        # From the columns: the first plugin with reasons is the scheduler's, all of them ours.
        hit = [fs for fs in row if fs]
        if not hit:
            add(make_verdict(name, first, empty) if first else passed[i])
        elif len(hit) == 1:
            only = hit[0] if type(hit[0]) is tuple else tuple(hit[0])
            add(make_verdict(name, first or only, only))
        else:
            add(make_verdict(name, first or tuple(hit[0]), tuple(chain.from_iterable(hit))))
    # A Filter error on any node the scheduler reaches it on aborts the whole attempt.
    # (Only a plugin that may error gives detail["error"]: the others' details are not read.)
    # (Outside a PreFilterResult made one class, the first plugin is the narrowing one, which may not
    # error: the nodes inside are read only.)
    o0 = outside.first_position() if outside is not None else None
    scanned: Sequence[NodeVerdict] = verdicts if outside is None else outside.all() \
        if o0 is not None and outside.failure(o0).plugin in erring else verdicts  # (inside only)
    error = next((v.first[0] for v in scanned if v.first and v.first[0].plugin in erring
                  and v.first[0].detail.get("error")), None) if erring else None
    if outside is None:
        return Evaluation(pod=pod, requests=state.requests, prefilter=tuple(prefilter), verdicts=tuple(verdicts),
                          error=error)
    ev = Evaluation(pod=pod, requests=state.requests, prefilter=tuple(prefilter), verdicts=OutsideVerdicts(outside),
                    error=error, outside=outside)
    ev.verdicts_by_node()  # kept in memo["verdicts_by_node"], where the diagnosis looks for the map
    return ev
