"""From per-node verdicts to signals: what blocks the pod, named down to the key, with near misses.

Input: the pod, the snapshot and the Evaluation (every node, every filter). Output: Signals
that rules turn into root causes, and the VerdictGroups shown as evidence (the scheduler's view:
the first failing filter per node). A signal is about the pod's target nodes
(podtriage.decide.intent) and covers every one of them it blocks, whatever filter failed first;
which signal is *the* cause is decided in podtriage.decide.ranking.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import replace
from functools import cached_property, partial
from itertools import compress
from operator import not_
from typing import Any, Collection, Iterable, Literal, Mapping, Sequence

from .. import model as m
from ..decide.intent import (
    Intent,
    Term,
    control_plane_tainted,
    explicitly_named,
    find_intent,
    is_control_plane,
    is_intent_failure,
)
from ..findings import EvidenceItem, Signal, VerdictGroup, jsonable
from ..owners import owner_chain
from ..quantity import format_amount
from ..scheduler.framework import Column, Evaluation, Failure, NodeVerdict, Outside, per_snapshot
from ..scheduler.plugins.dynamic_resources import NAME as DRA_PLUGIN, may_filter
from ..scheduler.plugins.node_resources_fit import FitColumn, fit_facts
from ..scheduler.plugins.taint_toleration import tolerates
from ..scheduler.selectors import describe_requirement, requirement_matches
from ..snapshot import Snapshot
from .dra import dra_signals
from .labels import CONTROL_PLANE_TAINTS, DEPRECATED_LABELS, NOT_READY_TAINTS, closest, is_system_label

MAX_EXAMPLES = 3
# Nodes named as those that pass every filter but the pod's own placement (labels to set, a pin to move)
OTHERWISE_FEASIBLE = 5
# The labels a controller gives each revision of its pod template.
_REVISION_LABELS = ("pod-template-hash", "controller-revision-hash")
# The node condition each lifecycle taint stands for.
CONDITION_OF_TAINT = {"node.kubernetes.io/memory-pressure": "MemoryPressure",
                      "node.kubernetes.io/disk-pressure": "DiskPressure",
                      "node.kubernetes.io/pid-pressure": "PIDPressure",
                      "node.kubernetes.io/network-unavailable": "NetworkUnavailable"}
UNSCHEDULABLE_TAINT = "node.kubernetes.io/unschedulable"


def _examples(nodes: Sequence[str]) -> dict[str, Any]:
    ex = list(nodes[:MAX_EXAMPLES])
    return {"nodes_count": len(nodes), "node_examples": ", ".join(ex) + (", ..." if len(nodes) > len(ex) else ""),
            "node_example": ex[0] if ex else "NODE"}


def _verdict_evidence(summary: str, nodes: Sequence[str], failure: Failure) -> EvidenceItem:
    shown = ", ".join(nodes[:10]) + (f" (+{len(nodes) - 10} more)" if len(nodes) > 10 else "")
    return EvidenceItem(
        kind="node-verdict", summary=summary, source=f"podtriage {failure.plugin} filter on nodes {shown}",
        data={"plugin": failure.plugin, "code": failure.code, "reason": failure.reason, "nodeCount": len(nodes),
              "nodes": list(nodes[:50]), "example": failure.message, "detail": jsonable(failure.detail)},
    )


def node_groups(evaluation: Evaluation) -> list[VerdictGroup]:
    """Nodes grouped by the scheduler-visible reason (first failing filter), biggest first."""
    out = []
    # The walk over every node's first failing plugin is shared with the counts (Evaluation.first_pass).
    for (plugin, code, reason), (nodes, first) in evaluation.first_pass()[0].items():
        out.append(VerdictGroup(plugin=plugin, code=code, reason=reason, count=len(nodes),
                                examples=tuple(nodes[:MAX_EXAMPLES]), message=first.message,
                                detail=jsonable(first.detail)))
    out.sort(key=lambda g: (-g.count, g.plugin, g.reason))
    return out


def dominant_container(pod: m.Pod, res: str) -> tuple[str, int]:
    """The container whose request of `res` the scheduler's effective request is made of: the
    largest init container when it outweighs the app containers and sidecars together, else the
    largest app container (or sidecar). ("", 0) when no container requests it."""
    app = [(c.name, c.requests.get(res, 0)) for c in pod.containers]
    app += [(c.name, c.requests.get(res, 0)) for c in pod.init_containers if c.restart_policy == "Always"]
    init = [(c.name, c.requests.get(res, 0)) for c in pod.init_containers if c.restart_policy != "Always"]
    app_total = sum(v for _, v in app)
    best_init = max(init, key=lambda x: x[1], default=("", 0))
    if best_init[1] > app_total:
        return best_init
    best = max(app, key=lambda x: x[1], default=("", 0))
    return best if best[1] > 0 else ("", 0)


def request_source(pod: m.Pod, res: str, effective: int) -> tuple[str, str]:
    """(the effective request as the spec writes it, where it comes from).

    The scheduler's request is max(app containers + sidecars, the largest init container with the
    sidecars started before it) + overhead, or the pod-level request. When one container sets it,
    it is quoted as that container's spec writes it ("6.5G", the scheduler's units beside it when
    they differ); the source names the container."""
    computed = format_amount(res, effective)
    if res in pod.pod_requests:
        return computed, "set by the pod-level spec.resources.requests"
    name, share = dominant_container(pod, res)
    if not name:
        return computed, ""
    everyone = [*pod.containers, *pod.init_containers]
    c = next(x for x in everyone if x.name == name and x.requests.get(res, 0) == share)
    text = c.requests_text.get(res) or format_amount(res, share)
    is_init = c in pod.init_containers and c.restart_policy != "Always"
    overhead = pod.overhead.get(res, 0)
    others = [x for x in everyone if x is not c and x.requests.get(res, 0) and
              (x in pod.containers or x.restart_policy == "Always")]
    alone = share == effective  # this container's request is the whole effective request
    shown = (text if text == computed else f"{text} (= {computed})") if alone else computed
    extra = f", plus {format_amount(res, overhead)} RuntimeClass overhead" if overhead else ""
    if is_init:
        app = sum(x.requests.get(res, 0) for x in pod.containers)
        what = f"init container `{name}`" + ("" if alone else f" ({text})")
        return shown, f"set by {what}, more than the app containers together ({format_amount(res, app)}){extra}"
    if alone:
        return shown, f"set by container `{name}`"
    more = ", ".join(f"`{x.name}` {x.requests_text.get(res) or format_amount(res, x.requests.get(res, 0))}"
                     for x in others[:3])
    return shown, f"mostly container `{name}` ({text}), with {more}{extra}"


def _fit_of_class(out: Outside) -> FitColumn | None | Literal[False]:
    """What the nodes of an evaluation's class fail on besides the pod's own placement, when that
    is NodeResourcesFit alone (its column: its nodes' failures read as positions and free amounts)
    or nothing (None); False when their verdicts must be read. NodeResourcesFit's own class with
    no later rejection; a class of the nodes the pod's selector excludes that only
    NodeResourcesFit rejects besides (the nodes a corrected selector would target)."""
    if out.multi is not None:
        return out.multi if isinstance(out.multi, FitColumn) and out.clean else False
    o0 = out.first_position()
    if o0 is None or out.after == 0 or not is_intent_failure(out.failure(o0)):
        return False
    later = out.later_rejecting
    if not later:
        return None
    return later[0] if len(later) == 1 and isinstance(later[0], FitColumn) else False


class _Named:
    """A node in a signal's items where only its name is read (the handlers of every code but
    Insufficient read `.node` alone): no verdict is made for it. One per node, per snapshot."""

    __slots__ = ("node",)

    def __init__(self, node: str) -> None:
        self.node = node


def _named(out: Outside) -> list[_Named]:
    """Per position, the node's _Named (kept with the cluster state)."""
    got: list[_Named] | None = out.cluster.__dict__.get("_named")
    if got is None:
        got = out.cluster.__dict__["_named"] = [_Named(n) for n in out.names]
    return got


class _ColumnFailures:
    """A column's failures besides the pod's own placement on `positions` (ascending), per code:
    (position, place in the node's answer, failure), and the positions with any; the (node,
    failure) items of each code. A shared column's on every node it rejects are kept with it
    (`of`: every pod that shares the column reads the same)."""

    def __init__(self, col: Sequence[Sequence[Failure]], positions: Iterable[int]) -> None:
        self.by_code: dict[str, list[tuple[int, int, Failure]]] = {}
        where: set[int] = set()
        for i in positions:
            for k, f in enumerate(col[i]):
                if not is_intent_failure(f):
                    self.by_code.setdefault(f.code, []).append((i, k, f))
                    where.add(i)
        self.where = frozenset(where)
        self._items: dict[str, _SharedItems] = {}

    @staticmethod
    def of(col: Column) -> _ColumnFailures:
        got: _ColumnFailures | None = col.__dict__.get("_failures")
        if got is None:
            got = col.__dict__["_failures"] = _ColumnFailures(col, col.rejected)
        return got

    def items(self, code: str, named: list[_Named]) -> _SharedItems:
        got = self._items.get(code)
        if got is None:
            got = self._items[code] = _SharedItems((named[i], f) for i, _, f in self.by_code[code])
        return got


class _SharedItems(list):  # type: ignore[type-arg]
    """Items every pod that shares a column reads (_ColumnFailures.items): what a handler derives
    from them alone may be kept with them."""


class _ShortNodes:
    """The nodes short of one resource, in node order, as columns: their names, what each has
    free, whether something besides this resource blocks each; the first one's failure, or None
    to make it from the column at position `at`."""

    def __init__(self, names: list[str], frees: list[int], blocked: list[bool], failure: Failure | None,
                 at: int) -> None:
        self.names, self.frees, self.blocked, self.failure, self.at = names, frees, blocked, failure, at

    @cached_property
    def nodes(self) -> tuple[str, ...]:
        return tuple(self.names)

    @cached_property
    def summary(self) -> tuple[int, int, str, int]:
        """(total free, largest free (0 at least), where lowering this request alone would help
        most and what is free there): a node this resource is the only thing blocking, with the
        most of it free (else the roomiest of them all), of those the last by name."""
        names, frees, blocked = self.names, self.frees, self.blocked
        cands, cand_frees = names, frees
        if not all(blocked):
            cands, cand_frees = list(compress(names, map(not_, blocked))), list(compress(frees, map(not_, blocked)))
        most = max(cand_frees, default=0)
        fit_node = max(compress(cands, map(most.__eq__, cand_frees)), default="")
        return (sum(filter((0).__lt__, frees)), max(max(frees, default=0), 0), fit_node,
                max(most, 0) if fit_node else 0)


def _short_of(fit: _FitItems, res: str, mine: list[int]) -> _ShortNodes:
    """The nodes at `mine` (short of `res`) as _ShortNodes, from NodeResourcesFit's column."""
    col, names = fit.column, fit.names
    others = fit.elsewhere.union(*[p for _, r, p in col.fit_keys if r != res])
    frees = col.free(res)
    return _ShortNodes(list(map(names.__getitem__, mine)), list(map(frees.__getitem__, mine)),
                       list(map(others.__contains__, mine)), None, mine[0])


class _FitItems(list):  # type: ignore[type-arg]
    """A pod's Insufficient failures on its targets as positions (SchedulingDiagnosis._short_columns):
    per resource, the targets short of it, ascending; the targets kept out of the class with a
    failure of another filter (besides the pod's own placement); NodeResourcesFit's column. Empty
    as a list of (verdict, failure) pairs: none is made."""

    short: dict[str, list[int]]
    elsewhere: set[int]
    column: FitColumn
    names: Sequence[str]
    key: tuple[Any, ...]  # what the short nodes per resource depend on (_short_columns)


class SchedulingDiagnosis:
    """Turns one pod's Evaluation into signals about the nodes it wants (its target nodes).

    Every filter's failures on the target nodes become signals, not only the first one per node
    that the scheduler reports: what would still block after one change is part of the answer
    (podtriage.decide.ranking). Nodes the pod excludes itself are background and give no signal.
    When no node satisfies the pod's placement, the terms that fail are the signals, and when a
    validated correction exists, the nodes it would target are analysed the same way.
    """

    def __init__(self, pod: m.Pod, snapshot: Snapshot, evaluation: Evaluation, intent: Intent | None = None, *,
                 after: Evaluation | None = None) -> None:
        """`after`: after a PreFilter rejection (a missing claim), the pod evaluated as if it were
        resolved, to say what would still block the nodes; without it, the nodes are not analysed."""
        self.pod = pod
        self.snapshot = snapshot
        self.ev = evaluation
        self.total = evaluation.total_nodes
        nodes_ev = after if evaluation.prefilter else evaluation
        self.memo: dict[Any, Any] = (nodes_ev or evaluation).memo
        if intent is None:
            # The intent depends only on what makes pods share an evaluation (their placement
            # terms, requests, tolerations), so it is kept with it.
            intent = self.memo.get("intent")
            if intent is None:
                intent = self.memo["intent"] = find_intent(pod, snapshot, nodes_ev or evaluation)
        self.intent = intent
        self._nodes_ev = nodes_ev
        self.requests = (nodes_ev or evaluation).requests
        # Nothing is known of the nodes past a PreFilter rejection without `after`.
        self.nodes_known = nodes_ev is not None
        # The nodes the counterfactual is about: the targets, or those a corrected term would target.
        self.candidates: tuple[str, ...] = self.intent.targets
        self.hypothetical = ""

    @cached_property
    def verdicts(self) -> Mapping[str, NodeVerdict]:
        """Each node's verdict by name (none past a PreFilter rejection without `after`). Kept with
        the evaluation: every pod of its shape (and every diagnosis of it) reads it."""
        return self._nodes_ev.verdicts_by_node() if self._nodes_ev is not None else {}

    def _base(self, nodes: Sequence[str]) -> dict[str, Any]:
        return {"pod": self.pod.key, "total_nodes": self.total, **_examples(nodes),
                "targets_count": len(self.candidates), "intent": self.intent.describe(),
                "where": self._where(len(nodes)), "node_args": self._node_args(nodes)}

    def _node_args(self, nodes: Sequence[str]) -> str:
        """What a kubectl command (taint, uncordon, label) takes to act on exactly `nodes`: their
        names, or, for many, a label selector that picks them and no other node."""
        if len(nodes) <= 20:
            return " ".join(nodes) or "NODE"
        by_name = self.snapshot.node_by_name
        first = by_name.get(nodes[0])
        distinct = -1  # (how many distinct nodes: counted only when a label's nodes hold them all)
        for k, v in sorted(first.labels.items()) if first is not None else ():
            if k == "kubernetes.io/hostname":
                continue
            got = self.snapshot.nodes_by_label.get((k, v))
            if got is None or len(got) > len(nodes) or not got.issuperset(nodes):
                continue
            if distinct < 0:
                distinct = len(set(nodes))
            if len(got) == distinct:  # (every node in it, as many: the same set)
                return f"-l {k}={v}" if v else f"-l {k}"
        return " ".join(nodes)

    def _where(self, n: int) -> str:
        """'2 of the 2 node(s) the pod asks for with nodeSelector `gpu=true`' / '3 of 5 node(s)'."""
        t = len(self.candidates)
        if self.hypothetical:
            return f"{n} of the {t} node(s) {self.hypothetical}"
        if self.intent.constrained and self.intent.targets:
            return f"{n} of the {t} node(s) the pod asks for with {self.intent.describe()}"
        return f"{n} of {t or self.total} node(s)"

    def _effects(self, plugin: str, nodes: Sequence[str]) -> tuple[str, ...]:
        return (f"{len(nodes)}/{len(self.candidates) or self.total} target nodes rejected by {plugin}",)

    def signals(self) -> list[Signal]:
        out: list[Signal] = []
        if self.total == 0:
            return [self._no_nodes()]
        out += self._prefilter()
        if not self.nodes_known:
            self.candidates = ()
        elif self.intent.targets:
            out += self._node_signals(self.intent.targets)
        else:
            out += self._no_target()
        # DynamicResources, its PreEnqueue and PreFilter rejections included (self.ev keeps them): a
        # claim or class that is missing blocks everywhere (pod); the rest is what blocks nodes
        targets = set(self.candidates)
        for s_ in dra_signals(self.pod, self.snapshot, self.ev) if self._dra_applies() else ():
            if not s_.nodes:
                out.append(replace(s_, scope=s_.scope or "pod"))
            elif not targets or targets & set(s_.nodes):
                out.append(replace(s_, scope=s_.scope or "target"))
            else:  # only nodes the pod excludes itself (an allocated claim pins it): background
                out.append(replace(s_, blocking=False))
        return out

    def _dra_applies(self) -> bool:
        """Whether DynamicResources can have said anything about the pod: a PreEnqueue/PreFilter
        reason of it, or the pod has claims or extended requests a DeviceClass provides (without
        which it filters no node). Spares dra_signals its scan of every node's verdict."""
        return any(f.plugin == DRA_PLUGIN for f in self.ev.prefilter) or may_filter(self.pod, self.ev.requests,
                                                                                   self.snapshot)

    def _failures_on(self, nodes: Sequence[str]) -> dict[str, list[tuple[NodeVerdict, Failure]]]:
        """Every failure that is not the pod's own placement choice, on `nodes`, by code (kept with
        the evaluation: pods of the same shape ask for the same nodes)."""
        # Per evaluation there are two lists: the targets, or the nodes a correction would target.
        key = ("failures", self.hypothetical)
        cached = self.memo.get(key)
        if cached is not None:
            return cached
        by_code: dict[str, list[tuple[NodeVerdict, Failure]]] = defaultdict(list)
        ev = self._nodes_ev
        out = ev.outside if ev is not None else None
        fit = _fit_of_class(out) if out is not None else False
        if fit is not False:
            assert out is not None
            self.memo[key] = by_code = self._failures_with_fit_class(nodes, out, fit)
            return by_code
        if ev is not None and nodes is self.intent.targets and len(nodes) == len(ev.verdicts):
            # Every node is a target (a pod with no placement of its own): both are in node order,
            # so the verdicts are read as they are, without the map by name.
            found: Iterable[NodeVerdict] = ev.verdicts
        else:
            if out is not None:  # the nodes' verdicts made together, not one read at a time
                pos = out.positions_of
                out.make_many([pos[n] for n in nodes if n in pos])
            get = self.verdicts.get
            found = [v for v in map(get, nodes) if v is not None]
        for v in found:
            for f in v.failures:
                if not is_intent_failure(f):
                    by_code[f.code].append((v, f))
        self.memo[key] = by_code
        return by_code

    def _failures_with_fit_class(self, nodes: Sequence[str], out: Outside,
                                 col: FitColumn | None) -> dict[str, list[tuple[NodeVerdict, Failure]]]:
        """_failures_on when the failures of a class's nodes other than the pod's own placement are
        NodeResourcesFit's alone (_fit_of_class: `col`), or none. Without `col`, the verdicts kept
        out of the class that some filter rejects are walked. With it, NodeResourcesFit's failures
        on every target are read as positions: its full nodes' verdicts are made, the nodes short of
        each resource are kept as positions (_FitItems, which _insufficient reads with the free
        amounts); the other columns' failures are read on the nodes kept out of the class that some
        filter rejects (no other column rejects the class's nodes). Codes and items in the order the
        walk over every target gives them."""
        pos = out.positions_of
        wanted = None if nodes is self.intent.targets and len(nodes) == len(out.names) else \
            {pos[n] for n in nodes if n in pos}
        # (the nodes kept out of the class that every filter passes have no failure to walk)
        walked = out.failing if wanted is None else [i for i in out.failing if i in wanted]
        by_code: dict[str, list[tuple[NodeVerdict, Failure]]] = {}
        if col is None:
            out.make_many(walked)  # (their failures made together, not one read at a time)
            for i in walked:
                v = out.verdict(i)
                for f in v.failures:
                    if not is_intent_failure(f):
                        by_code.setdefault(f.code, []).append((v, f))
            return by_code
        # Per code, the columns that give it: (column, its failures there as (position, place in the
        # node's answer, failure) in node order, what keeps its items when they are shared); and
        # the nodes kept out with a failure of a column other than NodeResourcesFit's.
        given: dict[str, list[tuple[int, list[tuple[int, int, Failure]], _ColumnFailures | None]]] = {}
        elsewhere: set[int] = set()
        inside = set(walked) if len(walked) > 64 else walked
        at_fit = 0
        for ck, c in enumerate(out.columns):
            if c is col:
                at_fit = ck
                continue
            if type(c) is Column and ck < out.after - 1:
                # A column before the class's own: every node it rejects is kept out of the class and
                # rejected, so its failures there are the same for every pod that shares it.
                fc = _ColumnFailures.of(c)
                keeper = fc if wanted is None else None
            else:
                fc = _ColumnFailures(c, [i for i in c.rejected if i in inside] if type(c) is Column else walked)
                keeper = None
            elsewhere |= fc.where if wanted is None else fc.where.intersection(wanted)
            for code, got in fc.by_code.items():
                if wanted is not None:
                    got = [e for e in got if e[0] in wanted]
                if got:
                    given.setdefault(code, []).append((ck, got, keeper))
        # Where the walk meets each code first (position, column, place) and its items.
        first: dict[str, tuple[int, int, int]] = {}
        named = _named(out)
        items: dict[str, list[tuple[_Named, Failure]]] = {}
        for code, cols in given.items():
            if len(cols) == 1:
                ck, got, keeper = cols[0]
                first[code] = (got[0][0], ck, got[0][1])
                items[code] = keeper.items(code, named) if keeper is not None else [(named[i], f) for i, _, f in got]
            else:  # (positions, columns and places are unique: failures are never compared)
                walk = sorted((i, ck, k, f) for ck, got, _ in cols for i, k, f in got)
                first[code] = walk[0][:3]
                items[code] = [(named[i], f) for i, _, _, f in walk]
        short: dict[str, list[int]] = {}
        full: list[int] = []
        for code, res, mine in col.sorted_keys:
            ordered = mine if wanted is None else [i for i in mine if i in wanted]
            if not ordered:
                continue
            first.setdefault(code, (ordered[0], at_fit, 0 if code == "too-many-pods" else 1))
            if code == "too-many-pods":
                full = ordered
            else:
                short[res] = ordered
        for code in sorted(first, key=first.__getitem__):
            if code in items:
                by_code[code] = items[code]  # type: ignore[assignment]
            elif code == "insufficient":
                fit = by_code[code] = _FitItems()
                fit.short, fit.elsewhere, fit.column, fit.names = short, elsewhere, col, out.names
                fit.key = (col.short_ids, frozenset(elsewhere), None if wanted is None else tuple(nodes))
            else:  # too-many-pods (its handler reads each node's name alone: _Named, no verdict made)
                by_code[code] = [(named[i], col.full[i]) for i in full]  # type: ignore[misc]
        return by_code

    def _node_signals(self, nodes: Sequence[str]) -> list[Signal]:
        handlers = {
            "taint": self._taints, "insufficient": self._insufficient,
            "too-many-pods": self._simple("too-many-pods", lambda fs: {"max_pods": fs[0].detail.get("allocatable")}),
            "node-unschedulable": self._simple("node-unschedulable", lambda fs: {}),
            "node-ports": self._ports,
        }
        out = []
        for code, items in self._failures_on(nodes).items():
            if items and items[0][1].plugin == "DynamicResources":
                continue  # diagnose/dra.py: per claim and request, once for the pod (signals())
            for sig in handlers.get(code, self._generic)(code, items):
                out.append(replace(sig, scope="target"))
        return out

    # --- no node satisfies the pod's placement ---------------------------------------------------
    def _no_target(self) -> list[Signal]:
        """The terms that match no node are the cause; each terms alone matching some nodes but never
        the same one is a conflict. A validated correction of a single failing term gives the nodes
        it would target, whose own blockers are what would still stand in the way."""
        failing = self.intent.failing_terms()
        if not failing:
            if not self.intent.terms:  # only control-plane nodes were excluded: cannot happen
                return []
            return [self._conflict()]
        out: list[Signal] = []
        for term in failing:
            out += self._term_signals(term)
        out = [replace(s_, scope="pod") for s_ in out]
        if len(failing) == 1:
            corrected = self._corrected_targets(failing[0], out)
            if corrected:
                self.candidates = tuple(corrected)
                self.hypothetical = "the corrected selector would select"
                out += self._node_signals(self.candidates)
        return out

    def _term_signals(self, term: Term) -> list[Signal]:
        everywhere = list(self.snapshot.node_by_name)  # every node, in node order
        ev0 = EvidenceItem(kind="node-verdict", summary=f"no node satisfies {term.text}",
                           source=f"podtriage NodeAffinity/InterPodAffinity on all {self.total} nodes",
                           data={"term": term.id, "nodeCount": self.total})
        if term.id.startswith("nodeSelector:"):
            return [self._label_signal("nodeSelector", term.key, term.value, f"{term.key}={term.value}",
                                       everywhere, ev0)]
        if term.id == "nodeAffinity":
            return self._affinity_signals(everywhere, ev0)
        if term.id == "podAffinity":
            items = [(v, f) for v in self.verdicts.values() for f in v.failures if f.code == "pod-affinity"]
            return self._generic("pod-affinity", items) if items else []
        if term.id.startswith("resource:"):
            items = [(v, f) for v in self.verdicts.values() for f in v.failures
                     if f.code == "insufficient" and fit_facts(f)[0] == term.key]
            return self._insufficient("insufficient", items) if items else []
        return []

    def _affinity_signals(self, everywhere: list[str], ev0: EvidenceItem) -> list[Signal]:
        pod = self.pod
        terms = pod.required_node_affinity or ()
        out: list[Signal] = []
        if len(terms) == 1:
            for req in terms[0].match_expressions:
                if any(requirement_matches(req, n.labels) for n in self.snapshot.nodes):
                    continue
                want = req.values[0] if req.operator == "In" and len(req.values) == 1 else ""
                out.append(self._label_signal("nodeAffinity", req.key, want, describe_requirement(req), everywhere,
                                              ev0, operator=req.operator))
        if not out:
            exprs = "; ".join(" AND ".join([describe_requirement(r) for r in t.match_expressions] +
                                           [f"field {describe_requirement(r)}" for r in t.match_fields])
                              or "<empty term>" for t in terms)
            params = {**self._base(everywhere), "expression": exprs, "key": "", "present_values": "",
                      "closest_value": "", "field": "nodeAffinity"}
            out.append(Signal(name="node-affinity-mismatch", params=params, nodes=tuple(everywhere), evidence=(ev0,),
                              subject=f"Pod/{pod.key} spec.affinity.nodeAffinity",
                              effects=("no node satisfies the pod's placement",)))
        return out

    def _conflict(self) -> Signal:
        terms = self.intent.terms
        listed = "; ".join(f"{t.text} matches {len(t.nodes)} node(s) ({', '.join(sorted(t.nodes)[:3])}"
                           f"{', ...' if len(t.nodes) > 3 else ''})" for t in terms)
        everywhere = list(self.snapshot.node_by_name)  # every node, in node order
        params = {**self._base(everywhere), "terms": listed, "term_count": len(terms)}
        return Signal(name="placement-conflict", params=params, nodes=tuple(everywhere), scope="pod",
                      evidence=(EvidenceItem(kind="node-verdict", summary=f"each placement term matches some nodes, "
                                             f"no node matches all: {listed}", source="podtriage placement terms",
                                             data={"terms": [{"term": t.id, "nodes": sorted(t.nodes)[:50]}
                                                             for t in terms]}),),
                      subject=f"Pod/{self.pod.key} spec", effects=("no node satisfies every placement constraint",))

    def _corrected_targets(self, term: Term, term_signals: Sequence[Signal]) -> list[str]:
        """The nodes a validated correction of `term` would target (with the other terms kept)."""
        sig = next((x for x in term_signals if x.params.get("suggested_key") or x.params.get("suggested_value")),
                   None)
        if sig is None:
            return []
        key = str(sig.params.get("suggested_key") or sig.params.get("key"))
        value = str(sig.params.get("suggested_value") or sig.params.get("value"))
        # the nodes with that label that every other term selects (set operations), in node order
        ok = self.snapshot.nodes_by_label.get((key, value), frozenset())
        for t in self.intent.terms:
            if t is not term and ok:
                ok = ok & t.nodes
        if not ok:
            return []
        plane = control_plane_tainted(self.snapshot)  # only these can be is_control_plane
        got = list(filter(ok.__contains__, self.snapshot.node_by_name))  # (node order)
        if plane:
            by_name = self.snapshot.node_by_name
            got = [n for n in got if n not in plane or not is_control_plane(by_name[n], self.pod)]
        return got

    def _no_nodes(self) -> Signal:
        return Signal(name="no-nodes", scope="pod", params={"pod": self.pod.key, "total_nodes": 0, "nodes_count": 0,
                                               "node_examples": "", "node_example": "NODE"},
                      evidence=(EvidenceItem(kind="object", summary="the node list is empty",
                                             source="Node list", data={"nodes": 0}),),
                      subject="Node list", effects=("no node exists to run any pod",))

    # --- PreFilter (pod-level) ------------------------------------------------------------
    def _prefilter(self) -> list[Signal]:
        out = []
        seen: set[tuple[str, str]] = set()
        for f in self.ev.prefilter:
            # VolumeRestrictions and VolumeBinding both reject a missing claim; the scheduler reports
            # the first, and so do we, once.
            if (f.code, f.reason) in seen or f.plugin == "DynamicResources":
                continue
            seen.add((f.code, f.reason))
            d = f.detail
            claim = d.get("claim") or ", ".join(d.get("claims", []) or []) or ""
            params = {"pod": self.pod.key, "total_nodes": self.total, "nodes_count": self.total, "claim": claim,
                      "reason_detail": f.message, "storage_class": d.get("storage_class") or "",
                      "detail": f.message, "node_example": "NODE", "node_examples": "", "reason": f.reason,
                      **{k: v for k, v in d.items() if isinstance(v, (str, int)) and k not in ("claim",)}}
            name = {
                "pvc-not-found": "pvc-not-found", "pvc-deleting": "pvc-unbound",
                "ephemeral-pvc-pending": "pvc-unbound", "pvc-bound-to-missing-pv": "pvc-unbound",
                "volume-rwop": "volume-restriction-conflict", "pv-not-found": "pv-not-found",
                "ephemeral-pvc-not-owned": "ephemeral-pvc-conflict",
            }.get(f.code)
            if f.code == "volume-unbound-immediate":
                if d.get("storage_class") and d.get("class_exists") is False:
                    name = "storageclass-not-found"
                elif not d.get("storage_class") and d.get("default_class_exists") is False:
                    name = "no-default-storageclass"
                else:
                    name = "pvc-unbound"
            if name is None:
                name = "unknown-scheduling-failure"
                params["reason"] = f.reason
            subject = f"PersistentVolumeClaim/{self.pod.namespace}/{claim}" if claim else ""
            out.append(Signal(
                name=name, params=params, nodes=(), subject=subject, scope="pod",  # explains every node
                evidence=(EvidenceItem(kind="prefilter", summary=f"{f.plugin}: {f.reason}",
                                       source=f"podtriage {f.plugin} PreFilter", data=jsonable(dict(d))),),
                effects=(f"pod rejected before any node is considered ({f.plugin})",),
            ))
        return out

    # --- TaintToleration --------------------------------------------------------------------
    def _taint_groups(self, items: list[tuple[NodeVerdict, Failure]]) -> list[tuple[list[tuple[NodeVerdict, Failure]],
                                                                                 list[str]]]:
        """The items by taint (largest first) and each group's nodes; kept with items every pod that
        shares a column reads (_SharedItems)."""
        if isinstance(items, _SharedItems):
            got: Any = items.__dict__.get("_taint_groups")
            if got is not None:
                return got  # type: ignore[no-any-return]
        by_taint: dict[tuple[str, str, str], list[tuple[NodeVerdict, Failure]]] = defaultdict(list)
        by_name = self.snapshot.node_by_name
        gkeys: dict[int, tuple[str, str, str]] = {}  # per failure: nodes with the same taints share theirs
        for v, f in items:
            gkey = gkeys.get(id(f))
            if gkey is None:
                t = f.detail.get("taint", {})
                key = t.get("key", "")
                # A lifecycle taint comes as NoSchedule and NoExecute: one condition, one change.
                gkey = gkeys[id(f)] = (key, "", "") if key in NOT_READY_TAINTS else \
                    (key, t.get("value", ""), t.get("effect", ""))
            if gkey[0] == UNSCHEDULABLE_TAINT and v.node in by_name and by_name[v.node].unschedulable:
                continue  # the cordon's own taint: the NodeUnschedulable signal is the same change
            by_taint[gkey].append((v, f))
        got = [(group, list(dict.fromkeys(v.node for v, _ in group)))
               for _, group in sorted(by_taint.items(), key=lambda kv: -len(kv[1]))]
        if isinstance(items, _SharedItems):
            items.__dict__["_taint_groups"] = got
        return got  # type: ignore[no-any-return]

    def _taints(self, code: str, items: list[tuple[NodeVerdict, Failure]]) -> list[Signal]:
        out = []
        for group, nodes in self._taint_groups(items):
            t0 = group[0][1].detail.get("taint", {})
            key, value, effect = t0.get("key", ""), t0.get("value", ""), t0.get("effect", "")
            taint = m.Taint(key=key, value=value, effect=effect)
            params = {**self._base(nodes), "taint": str(taint), "key": key, "value": value, "effect": effect,
                      "value_suffix": f"={value}" if value else ""}
            ev = [_verdict_evidence(f"{len(nodes)} node(s): untolerated taint {taint}", nodes, group[0][1])]
            # Lifecycle taints first: the NoExecute tolerations admission adds for not-ready/unreachable
            # are not the user's intent, so they are no near miss.
            near = [t for t in self.pod.tolerations if t.key == key and not tolerates(t, taint)]
            name = "taint-untolerated"
            subject = f"Node/{nodes[0]}" if len(nodes) == 1 else f"taint {taint}"
            if key in CONTROL_PLANE_TAINTS:
                name = "control-plane-taint"
                params["single_node"] = self.total == 1
                # The pod asks for these control-plane nodes by name: the pin is the problem, and the
                # fix points it at a node that would accept the pod (never a toleration).
                by_name = self.snapshot.node_by_name
                params["pinned"] = self.total > 1 and all(n in by_name and explicitly_named(self.pod, by_name[n])
                                                          for n in nodes)
                alt = self._otherwise_feasible() if params["pinned"] else []
                params["alternative_node"] = alt[0] if alt else ""
                params["alternative_clause"] = f" (node {alt[0]} passes every other filter)" if alt else ""
            elif key in NOT_READY_TAINTS:
                name = "node-not-ready"
                params["condition"] = NOT_READY_TAINTS[key]
                # The condition behind the taint: a pressure taint's evidence is the pressure
                # (DiskPressure=True and the kubelet's message), not Ready.
                cond_type = CONDITION_OF_TAINT.get(key, "Ready")
                params["condition_type"] = cond_type
                for n in nodes[:MAX_EXAMPLES]:
                    node = self.snapshot.node_by_name.get(n)
                    cond = node.condition(cond_type) if node else None
                    if cond:
                        ev.append(EvidenceItem(kind="condition",
                                               summary=(f"node {n} {cond_type}={cond.status} {cond.reason}"
                                                        + (f": {cond.message}" if cond.message else "")).strip(),
                                               source=f"Node {n} status.conditions[{cond_type}]",
                                               data={"status": cond.status, "reason": cond.reason,
                                                     "message": cond.message},
                                               time=cond.last_transition_time))
            elif near:
                tol = near[0]
                if tol.effect and tol.effect != effect:
                    mismatch = "effect"
                elif tol.operator in ("", "Equal") and tol.value != value:
                    mismatch = "value"
                else:
                    mismatch = "operator"
                name = "taint-effect-mismatch"
                params.update(toleration=str(tol), mismatch=mismatch, toleration_effect=tol.effect or "*",
                              toleration_value=tol.value)
                subject = f"Pod/{self.pod.key} spec.tolerations"
            out.append(Signal(name=name, params=params, nodes=tuple(nodes), evidence=tuple(ev), subject=subject,
                              effects=self._effects("TaintToleration", nodes)))
        return out

    # --- NodeAffinity: a term that matches no node ----------------------------------------------
    @cached_property
    def _label_values(self) -> dict[str, Counter]:
        # From the snapshot's index, counted once per snapshot rather than over every node per pod
        # (kept beside the snapshot's own indexes; read only: .get, `in`, iteration).
        cache = self.snapshot.__dict__
        got = cache.get("_label_value_counters")
        if got is None:
            got = cache["_label_value_counters"] = defaultdict(
                Counter, {k: Counter(vals) for k, vals in self.snapshot.node_label_values.items()})
        return got  # type: ignore[no-any-return]

    def _otherwise_feasible(self) -> list[str]:
        """The first OTHERWISE_FEASIBLE nodes (in node order) whose only failures are the pod's own
        placement terms (control plane left aside): where the pod would run if its placement
        allowed it (what the fixes name). Kept with the evaluation per tolerations (what else it
        reads of the pod): a Job's pods share it."""
        key = ("otherwise_feasible", repr(self.pod.tolerations))
        got = self.memo.get(key)
        if got is None:
            got = self.memo[key] = self._otherwise_feasible_nodes(OTHERWISE_FEASIBLE)
        return list(got)

    def _otherwise_feasible_nodes(self, limit: int) -> list[str]:
        out: list[str] = []
        verdicts, pod = self.verdicts, self.pod
        for n in self.snapshot.nodes:
            v = verdicts.get(n.name)
            if v is None:
                continue
            fs = v.failures
            if fs and not all(map(is_intent_failure, fs)):
                continue
            if n.taints and is_control_plane(n, pod):
                continue
            out.append(n.name)
            if len(out) >= limit:  # the walk stops there (5,000 nodes that pass but for a label)
                break
        return out

    def _label_signal(self, field: str, key: str, want: str, expression: str, nodes: list[str], ev0: EvidenceItem,
                      operator: str = "In") -> Signal:
        """A nodeSelector entry or an affinity expression that no node satisfies, with a correction
        only when it makes at least one node pass (validated against the nodes' labels)."""
        values_by_key = self._label_values
        present = values_by_key.get(key, Counter())
        present_values = ", ".join(f"{v} ({c})" for v, c in present.most_common(5))
        params = {**self._base(nodes), "key": key, "value": want, "expression": expression, "field": field,
                  "present_values": present_values, "key_absent": not present, "closest_key": "",
                  "closest_value": "", "suggested_key": "", "suggested_value": "", "suggested_nodes": 0,
                  "system_label": is_system_label(key)}
        subject = f"Pod/{self.pod.key} spec.{'nodeSelector' if field == 'nodeSelector' else 'affinity.nodeAffinity'}"

        def carriers(k: str, v: str) -> int:
            return values_by_key.get(k, Counter()).get(v, 0) if v else sum(values_by_key.get(k, Counter()).values())

        free = self._otherwise_feasible()
        params["label_candidates"] = ", ".join(free)
        # For `kubectl label nodes`: nodes that pass every other filter (labelling any other would
        # not let the pod run), or a placeholder.
        params["label_nodes"] = " ".join(free) or "NODE"
        if key in DEPRECATED_LABELS and not present and DEPRECATED_LABELS[key] in values_by_key:
            current = DEPRECATED_LABELS[key]
            params["current_key"] = current
            params["current_value_present"] = bool(want) and carriers(current, want) > 0
            if carriers(current, want):
                params.update(suggested_key=current, suggested_nodes=carriers(current, want))
            return Signal(name="deprecated-label", params=params, nodes=tuple(nodes), evidence=(ev0,),
                          subject=subject, effects=("no node satisfies the pod's placement",))
        if not present:
            close = closest(key, values_by_key)
            if close and carriers(close, want):
                params.update(closest_key=close, suggested_key=close, suggested_nodes=carriers(close, want))
        elif want and want not in present:
            close = closest(want, present.keys())
            if close:
                params.update(closest_value=close, suggested_value=close, suggested_nodes=carriers(key, close))
        name = "node-selector-mismatch" if field == "nodeSelector" else "node-affinity-mismatch"
        return Signal(name=name, params=params, nodes=tuple(nodes), evidence=(ev0,), subject=subject,
                      effects=("no node satisfies the pod's placement",))

    # --- NodeResourcesFit -------------------------------------------------------------------
    def _pool_sizes(self, res: str) -> tuple[int, int, dict[str, Any]]:
        """(largest, total) allocatable `res` over the nodes the pod wants (all nodes when it wants
        none), and the roomiest of them (_largest_node). Depends only on those nodes and `res`, so it
        is kept per snapshot: distinct pods mostly want the same nodes (a few recent node sets kept)."""
        candidates = self.candidates

        def make() -> tuple[int, int, dict[str, Any]]:
            by_name = self.snapshot.node_by_name
            pool = [by_name[n] for n in candidates if n in by_name] or list(self.snapshot.nodes)
            advertised = [n.allocatable.get(res, 0) for n in pool]
            best = max(pool, key=lambda n: (n.allocatable.get(res, 0), n.name), default=None)
            if best is None:
                largest = {"largest_node": "", "largest_capacity": "", "largest_reserved": ""}
            else:
                alloc, cap = best.allocatable.get(res, 0), best.capacity.get(res, 0)
                largest = {"largest_node": best.name, "largest_capacity": format_amount(res, cap) if cap else "unknown",
                           "largest_reserved": format_amount(res, max(cap - alloc, 0)) if cap else "unknown"}
            return max(advertised, default=0), sum(advertised), largest

        return per_snapshot(self.snapshot, "_pool_sizes", (candidates, res), make, 64)

    def _allocatable(self, res: str) -> tuple[int, int]:
        """(largest, total) allocatable `res` over the nodes the pod wants (all nodes when it wants
        none): sizes are judged against those."""
        largest, total, _ = self._pool_sizes(res)
        return largest, total

    def _largest_node(self, res: str) -> dict[str, Any]:
        """The roomiest node the pod can use for `res`: its capacity, allocatable and what the
        node keeps back for the system (kubelet's reserved and eviction thresholds)."""
        return self._pool_sizes(res)[2]

    def _short_columns(self, items: list[tuple[NodeVerdict, Failure]]) -> dict[str, _ShortNodes]:
        """Per resource (in the order the walk over the nodes meets them), its short nodes in node
        order (_ShortNodes)."""
        fit = items if isinstance(items, _FitItems) else None
        if fit is None:
            # (fit_facts: the resource and what is free, without making each failure's message and detail)
            rows: dict[str, _ShortNodes] = {}
            for v, f in items:
                res, _, free = fit_facts(f)
                # Where lowering this request alone would help: a node this resource is the only
                # thing blocking (a node with one failure: it is this Insufficient `res`;
                # NodeResourcesFit's reason names the resource: "Insufficient cpu").
                reason = f.reason
                sole = len(v.failures) == 1 or all(g.reason == reason and g.code == "insufficient"
                                                   for g in v.failures if not is_intent_failure(g))
                row = rows.get(res)
                if row is None:
                    row = rows[res] = _ShortNodes([], [], [], f, -1)
                row.names.append(v.node)
                row.frees.append(free)
                row.blocked.append(not sole)
            return rows
        # Each resource's short nodes from the column (per node, in node order); the walk meets a
        # resource first at its first node (a node lists its resources in request order). They
        # depend only on which nodes are short of what and the targets' other failures: kept per
        # snapshot, as pods whose requests fall between the same free amounts share them.
        return {res: per_snapshot(self.snapshot, "_short_nodes", (res, fit.key), partial(_short_of, fit, res, mine), 256)
                for res, mine in sorted(fit.short.items(), key=lambda kv: kv[1][0])}  # (stable: request order)

    def _insufficient(self, code: str, items: list[tuple[NodeVerdict, Failure]]) -> list[Signal]:
        out = []
        for res, short in sorted(self._short_columns(items).items(), key=lambda kv: -len(kv[1].names)):
            nodes = short.names
            requested = self.requests.get(res, 0)
            max_alloc, all_alloc = self._allocatable(res)
            total_free, largest_free, fit_node, fit_amount = short.summary
            dominant, share = dominant_container(self.pod, res)
            as_written, source = request_source(self.pod, res, requested)
            params = {**self._base(nodes), "resource": res, "requested": as_written,
                      "request_source": source, **self._largest_node(res),
                      "requested_amount": requested,
                      "largest_free": format_amount(res, largest_free),
                      "largest_allocatable": format_amount(res, max_alloc),
                      "total_free": format_amount(res, total_free),
                      "total_allocatable": format_amount(res, all_alloc),
                      "too_large": requested > max_alloc,
                      "fragmented": requested <= max_alloc and total_free >= requested,
                      "fit_node": fit_node, "fit_amount": fit_amount, "dominant": dominant,
                      "dominant_request": format_amount(res, share) if share else ""}
            name = "insufficient-resources"
            subject = f"Pod/{self.pod.key} resources.requests.{res}"
            if "/" in res:
                # (the nodes advertising it: per snapshot and resource)
                advertising = self.snapshot.__dict__.setdefault("_advertising", {})
                adv = advertising.get(res)
                if adv is None:
                    adv = advertising[res] = frozenset(n.name for n in self.snapshot.nodes
                                                       if n.allocatable.get(res, 0) > 0)
                advertised_here = not adv.isdisjoint(nodes)
                # No node has the device at all (no device plugin, or no such node type), or every
                # unit of it on the nodes the pod wants is taken.
                name = "extended-resource-exhausted" if advertised_here else "extended-resource-missing"
                if advertised_here and requested > max_alloc > 0:
                    # More than any node advertises (12 GPUs where nodes have 8): no unit is taken
                    # that matters; the pod is larger than any node (pod-larger-than-any-node)
                    name = "insufficient-resources"
                # Advertised as 0 is not absent: a device plugin registered the resource on these
                # nodes and found no usable device (driver, container runtime, device health).
                zeros = self.snapshot.__dict__.setdefault("_advertised_zero", {})  # per snapshot and resource
                zero = zeros.get(res)
                if zero is None:
                    zero = zeros[res] = [n.name for n in self.snapshot.nodes if n.allocatable.get(res, -1) == 0]
                params.update(zero_count=len(zero), zero_nodes=", ".join(zero[:5]) + (", ..." if len(zero) > 5 else ""))
            f0 = short.failure
            if f0 is None:  # read as positions: the first node's failure made now
                assert isinstance(items, _FitItems)
                f0 = items.column.failure_of(short.at, f"Insufficient {res}")
            ev = [_verdict_evidence(f"{len(nodes)} node(s): Insufficient {res} (pod requests "
                                    f"{format_amount(res, requested)})", nodes, f0)]
            out.append(Signal(name=name, params=params, nodes=short.nodes, evidence=tuple(ev), subject=subject,
                              effects=self._effects("NodeResourcesFit", nodes)))
        return out

    def _ports(self, code: str, items: list[tuple[NodeVerdict, Failure]]) -> list[Signal]:
        nodes = [v.node for v, _ in items]
        f = items[0][1]
        ports = f.detail.get("ports", [{}])
        holders = sorted({h for _, fx in items for h in fx.detail.get("holders", [])})
        params = {**self._base(nodes), "port": ports[0].get("hostPort", "?"),
                  "protocol": ports[0].get("protocol", "TCP"), "holders": ", ".join(holders[:5]),
                  "host_network": self.pod.host_network, **self._rollout(holders)}
        return [Signal(name="host-port-conflict", params=params, nodes=tuple(nodes),
                       evidence=(_verdict_evidence(f"{len(nodes)} node(s): host port {params['port']}/"
                                                   f"{params['protocol']} in use", nodes, f),),
                       subject=f"Pod/{self.pod.key} hostPort {params['port']}",
                       effects=self._effects("NodePorts", nodes))]

    def _rollout(self, holders: Sequence[str]) -> dict[str, Any]:
        """Whether the ports are held by an older revision of the pod's own workload: a rollout with
        surge that blocks itself (the old pod stays until the new one runs, which needs its port)."""
        snap, pod = self.snapshot, self.pod
        _, top = owner_chain(snap, pod.namespace, pod.owner, pod.labels)
        if top is None or top[0] not in ("Deployment", "DaemonSet", "StatefulSet"):
            return {"rollout": False, "workload": ""}
        old = []
        for key in holders:
            other = snap.pod_by_key.get(key)
            if other is None or other.namespace != pod.namespace:
                continue
            _, other_top = owner_chain(snap, other.namespace, other.owner, other.labels)
            # Another revision: its template hash differs (a sibling replica of the same revision
            # holding the port is replicas > nodes, not a rollout).
            if other_top == top and any(other.labels.get(h) != pod.labels.get(h) for h in _REVISION_LABELS
                                        if h in pod.labels or h in other.labels):
                old.append(other)
        if not old:
            return {"rollout": False, "workload": ""}
        kind, name = top
        return {"rollout": True, "workload": f"{kind.lower()}/{name}", "workload_kind": kind,
                "old_revision": ", ".join(sorted({o.owner.name for o in old if o.owner}))}

    def _simple(self, name: str, extra):
        def handler(code: str, items: list[tuple[NodeVerdict, Failure]]) -> list[Signal]:
            nodes = [v.node for v, _ in items]
            fs = [f for _, f in items]
            params = {**self._base(nodes), **extra(fs)}
            return [Signal(name=name, params=params, nodes=tuple(nodes),
                           evidence=(_verdict_evidence(f"{len(nodes)} node(s): {fs[0].reason}", nodes, fs[0]),),
                           subject=f"Node/{nodes[0]}" if len(nodes) == 1 else "",
                           effects=self._effects(fs[0].plugin, nodes))]
        return handler

    def _spread_near_miss(self, f: Failure) -> dict[str, Any]:
        """The emptiest domain pins the minimum, but the pod could never land there itself.

        With nodeTaintsPolicy Ignore (the default), tainted nodes still define domains and count.
        """
        d = f.detail
        key, dom = d.get("topology_key"), d.get("min_domain")
        if not key or not dom or d.get("node_taints_policy") == "Honor":
            return {"min_domain_blocked": ""}
        verdicts = self.verdicts
        nodes = [n for n in self.snapshot.nodes if n.labels.get(key) == dom]
        blocked = [verdicts[n.name] for n in nodes if n.name in verdicts and verdicts[n.name].first_plugin ==
                   "TaintToleration"]
        if nodes and len(blocked) == len(nodes):
            return {"min_domain_blocked": f"every node of {key}={dom} carries a taint the pod does not tolerate "
                                          f"({_taint_text(blocked[0])}), so the domain stays empty",
                    "min_domain": dom}
        return {"min_domain_blocked": ""}

    # --- everything else: volume, spread, inter-pod affinity ----------------------------------
    _GENERIC = {
        "volume-node-affinity": "volume-node-affinity-conflict", "volume-zone": "volume-zone-conflict",
        "volume-limits": "volume-limit-exceeded", "volume-bind-conflict": "pvc-unbound",
        "volume-restrictions-disk": "volume-restriction-conflict", "volume-rwop": "volume-restriction-conflict",
        "topology-spread": "topology-spread", "topology-spread-missing-label": "topology-spread-missing-label",
        "pod-affinity": "pod-affinity", "pod-anti-affinity": "pod-anti-affinity",
        "existing-anti-affinity": "existing-anti-affinity", "node-name": "unknown-scheduling-failure",
        "volume-no-space": "storage-capacity-exhausted", "csi-driver-missing": "csi-driver-not-installed",
        "node-features": "node-features-missing",
    }

    def _generic(self, code: str, items: list[tuple[NodeVerdict, Failure]]) -> list[Signal]:
        # Group by the per-node message's stable parts: detail keys that name the object.
        groups: dict[str, list[tuple[NodeVerdict, Failure]]] = defaultdict(list)
        for v, f in items:
            d = f.detail
            gk = str(d.get("claim") or d.get("pv") or d.get("topology_key") or d.get("driver") or "")
            groups[gk].append((v, f))
        out = []
        name = self._GENERIC.get(code, "unknown-scheduling-failure")
        for _, group in sorted(groups.items(), key=lambda kv: -len(kv[1])):
            nodes = [v.node for v, _ in group]
            f = group[0][1]
            params: dict[str, Any] = {**self._base(nodes), "reason": f.reason, "detail": f.message,
                                      "reason_detail": f.message}
            for k, val in f.detail.items():
                if isinstance(val, (str, int, float, bool)):
                    params.setdefault(k, val)
                elif isinstance(val, (list, tuple)) and all(isinstance(x, str) for x in val):
                    params.setdefault(k, ", ".join(val))
            for k in ("claim", "pv", "zone", "driver", "limit", "topology_key", "max_skew", "domain", "skew",
                      "min_domain", "min_count", "selector", "matching_pods", "other_pod", "storage_class"):
                params.setdefault(k, "")
            if code == "topology-spread":
                params.update(self._spread_near_miss(f))
            subject = ""
            if params.get("claim"):
                subject = f"PersistentVolumeClaim/{self.pod.namespace}/{params['claim']}"
            elif params.get("pv"):
                subject = f"PersistentVolume/{params['pv']}"
            out.append(Signal(name=name, params=params, nodes=tuple(nodes),
                              evidence=(_verdict_evidence(f"{len(nodes)} node(s): {f.reason}", nodes, f),),
                              subject=subject, effects=self._effects(f.plugin, nodes)))
        return out


def _taint_text(v: NodeVerdict) -> str:
    t = v.first[0].detail.get("taint", {}) if v.first else {}
    return str(m.Taint(key=t.get("key", ""), value=t.get("value", ""), effect=t.get("effect", "")))


def signals_from_message(pod: m.Pod, fit: Any, confidence: float,
                         codes: Collection[str] | None = None) -> list[Signal]:
    """Degraded mode: no node list, only the scheduler's own aggregated message.

    The counts are the scheduler's; the keys come from the message (taints before 1.35) and the
    pod spec (its selectors and requests). Lower confidence: we could not check any node.
    `codes`: only these reasons (what podtriage's own evaluation could not judge, e.g. the claims
    when PersistentVolumeClaims were unreadable).
    """
    out: list[Signal] = []
    total = fit.total_nodes or 0
    ev = EvidenceItem(kind="event", summary=f"scheduler: {fit.raw[:300]}", source="FailedScheduling message",
                      data={"message": fit.raw})
    entries = ([fit.prefilter] if fit.prefilter else []) + list(fit.reasons)
    if codes is not None:
        entries = [rc for rc in entries if rc.code in codes]
    for rc in entries:
        count = rc.count if rc.count is not None else total
        base = {"pod": pod.key, "total_nodes": total, "nodes_count": count, "where": f"{count} of {total} node(s)",
                "node_args": "NODE",
                "node_examples": "(node list unavailable)",
                "node_example": "NODE", "reason": rc.reason, "detail": rc.reason, "reason_detail": rc.reason,
                "node_data": "no"}
        d = rc.details or {}
        name = "unknown-scheduling-failure"
        params: dict[str, Any] = dict(base)
        if rc.code == "taint":
            key, value = d.get("taint_key", ""), d.get("taint_value", "")
            params.update(key=key or "<not named by the scheduler>", value=value, effect="NoSchedule",
                          taint=f"{key}={value}" if key else "(the scheduler no longer names it)",
                          value_suffix=f"={value}" if value else "")
            name = "taint-untolerated"
            if key in CONTROL_PLANE_TAINTS:
                name = "control-plane-taint"
                params["single_node"] = total == 1
            elif key in NOT_READY_TAINTS:
                name = "node-not-ready"
            near = [t for t in pod.tolerations if key and t.key == key]
            if near:
                name = "taint-effect-mismatch"
                params.update(toleration=str(near[0]), mismatch="effect or value",
                              toleration_effect=near[0].effect or "*", toleration_value=near[0].value)
        elif rc.code == "insufficient":
            res = d.get("resource", "?")
            name = "extended-resource-exhausted" if "/" in res else "insufficient-resources"
            params.update(resource=res, requested="?", largest_free="?", largest_allocatable="?", total_free="?",
                          too_large=False, fragmented=False, total_allocatable="?")
        elif rc.code == "node-affinity":
            name = "node-affinity-mismatch"
            params.update(expression=", ".join(f"{k}={v}" for k, v in pod.node_selector.items()) or
                          "spec.affinity.nodeAffinity", key="", present_values="", closest_value="")
        else:
            name = {"too-many-pods": "too-many-pods", "node-unschedulable": "node-unschedulable",
                    "node-ports": "host-port-conflict", "pvc-not-found": "pvc-not-found",
                    "volume-unbound-immediate": "pvc-unbound", "volume-node-affinity": "volume-node-affinity-conflict",
                    "volume-zone": "volume-zone-conflict", "volume-limits": "volume-limit-exceeded",
                    "topology-spread": "topology-spread", "topology-spread-missing-label": "topology-spread-missing-label",
                    "pod-affinity": "pod-affinity", "pod-anti-affinity": "pod-anti-affinity",
                    "existing-anti-affinity": "existing-anti-affinity", "no-nodes": "no-nodes",
                    "volume-bind-conflict": "pvc-unbound"}.get(rc.code, name)
            params.update(claim=d.get("claim", ""), storage_class="", port="?", protocol="TCP", holders="",
                          topology_key="", max_skew="", domain="", skew="", min_domain="", min_count="",
                          selector="", matching_pods="", other_pod="", pv="", zone="", driver="", limit="",
                          max_pods="?")
        out.append(Signal(name=name, params=params, evidence=(ev,), confidence=confidence,
                          nodes=tuple(f"?{i}" for i in range(count or 0)),
                          effects=(f"{count} node(s): {rc.reason} (scheduler's count)",)))
    return out


def iter_failures(verdicts: Iterable[NodeVerdict]) -> Iterable[Failure]:
    for v in verdicts:
        yield from v.failures
