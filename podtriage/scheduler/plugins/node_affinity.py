"""NodeAffinity: spec.nodeSelector and requiredDuringSchedulingIgnoredDuringExecution.

Both must match. Terms are ORed, expressions inside a term ANDed; an empty term matches
nothing. The verdict names each key that failed and what the node has instead.

PreFilter (upstream too): when every term carries matchFields `metadata.name In`, only those
nodes are filtered (a PreFilterResult, how DaemonSet pods target their node); the scheduler
reports every other node as "node(s) didn't satisfy plugin(s) [NodeAffinity]". Terms whose
names contradict each other reject the pod outright: "pod affinity terms conflict".
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ..framework import (
    Column,
    CycleState,
    Failure,
    FilterPlugin,
    LazyColumn,
    NodeInfo,
    lazy_failure,
    make_failure,
    with_message,
)
from ..selectors import (
    describe_requirement,
    field_requirement_matches,
    requirement_matches,
)

REASON = "node(s) didn't match Pod's node affinity/selector"
REASON_CONFLICT = "pod affinity terms conflict"


class NodeAffinity(FilterPlugin):
    name = "NodeAffinity"

    def applies(self, state: CycleState) -> bool:
        return bool(state.pod.node_selector) or state.pod.required_node_affinity is not None


    def _keys(self, state: CycleState) -> tuple[tuple[str, ...], bool]:
        cached = state.scratch.get(self.name + ".keys")
        if cached is None:
            pod = state.pod
            keys = set(pod.node_selector)
            uses_fields = False
            for t in pod.required_node_affinity or ():
                keys.update(r.key for r in t.match_expressions)
                uses_fields = uses_fields or bool(t.match_fields)
            cached = state.scratch[self.name + ".keys"] = (tuple(sorted(keys)), uses_fields)
        return cached

    def filter(self, state: CycleState, node: NodeInfo) -> Sequence[Failure]:
        pod = state.pod
        if not pod.node_selector and pod.required_node_affinity is None:
            return ()
        keys, uses_fields = self._keys(state)
        labels = node.node.labels
        memo_key = (tuple([labels.get(k) for k in keys]), node.name if uses_fields else "")
        memo = state.scratch.setdefault(self.name, {})
        result = memo.get(memo_key)
        if result is None:
            result = memo[memo_key] = self._evaluate(state, node)
        # Memoised per label values: name the node at hand, not the first one with those values.
        return tuple(with_message(f, f"node {node.name}: {f.message}") for f in result)

    def filter_nodes(self, state: CycleState) -> Sequence[Sequence[Failure]] | None:
        pod = state.pod
        if not pod.node_selector and pod.required_node_affinity is None:
            return None
        if self._keys(state)[1]:
            # matchFields name nodes: every pod has its own answer (a DaemonSet's pods). Kept for
            # absent_node_failure, which explains the nodes outside the names with the same verdict.
            return self._named_column(state)
        # Reads only the nodes' labels and the pod's selector terms: pods with the same terms share.
        key = (self.name, tuple(sorted(pod.node_selector.items())), pod.required_node_affinity)

        def compute() -> Column | LazyColumn:
            # filter() on every node: one verdict per projected label values, named per node, with
            # its message made when read (a selector no node matches is counted on every node).
            keys = self._keys(state)[0]
            memo = state.scratch.setdefault(self.name, {})
            cluster = state.cluster
            values, index, first = cluster.node_classes(
                (self.name, keys), lambda info: tuple([info.node.labels.get(k) for k in keys]))
            # _evaluate once per class, on its first node (as filter() would), kept in filter()'s memo
            results: list[tuple[Failure, ...]] = []
            for vals, i in zip(values, first):
                mk = (vals, "")
                result = memo.get(mk)
                if result is None:
                    result = memo[mk] = self._evaluate(state, cluster.infos[i])
                results.append(result)
            rejecting = [r for r in results if r]
            if rejecting and all(len(r) == 1 for r in rejecting) and \
                    len({(r[0].plugin, r[0].code, r[0].reason) for r in rejecting}) == 1:
                # Every rejected node is rejected alike, with one failure (a selector no node or only
                # a pool matches): each node's failure made when read, and evaluate() keeps the
                # rejected nodes no earlier filter rejects as one class (uniform).
                passing = frozenset() if len(rejecting) == len(results) else \
                    frozenset([i for i, k in enumerate(index) if not results[k]])
                return LazyColumn(len(index), passing, _ClassNamed(results, index, cluster.node_names),
                                  uniform=True)
            empty: tuple[Failure, ...] = ()
            col: list[tuple[Failure, ...]] = [empty] * len(index)
            rejected: list[int] = []
            if any(results):
                names = cluster.node_names
                for i, k in enumerate(index):
                    result = results[k]
                    if result:
                        rejected.append(i)
                        col[i] = tuple([lazy_failure(f.plugin, f.code, f.reason, f.unresolvable, (_prefixed, f, names[i]))
                                        for f in result])
            return Column.of(col, rejected)

        return state.cluster.column(key, compute)

    _NAME = "\x00node\x00"  # stands for the node's name in a verdict shared by a class of nodes

    def _named_column(self, state: CycleState) -> Sequence[Sequence[Failure]]:
        """_evaluate(named=True) on every node, computed once per class of nodes with the same
        projected label values and the same matchFields outcomes, then named per node (a
        DaemonSet pod's 4,999 nodes other than its own differ only in their names)."""
        keys = self._keys(state)[0]
        fields = [r for t in state.pod.required_node_affinity or () for r in t.match_fields]
        # class -> (its verdict with a placeholder name, and when the verdict names the node in one
        # field entry of one term (a DaemonSet pod: `metadata.name In [its node]`), that entry's
        # parts to build it without copying dicts), or None when the class passes.
        classes: dict[Any, tuple[Failure, tuple[Any, ...] | None] | None] = {}
        ph = self._NAME
        one = len(fields) == 1
        # The usual DaemonSet pod: no label keys and one `metadata.name In` field; its class is
        # whether the node is named (field_requirement_matches without a call per node).
        only_in = not keys and one and fields[0].key == "metadata.name" and fields[0].operator == "In"
        in_values = frozenset(fields[0].values) if only_in else frozenset()
        named = self._node_names(state)
        if named:
            # Every term names its nodes (a DaemonSet pod): the nodes outside cannot pass, and are
            # read one at a time if at all.
            lazy = self._named_lazy(state, named, keys, fields)
            state.scratch[self.name + ".column"] = lazy
            return lazy
        out = Column()
        out.rejected = rejected = []
        # Kept for absent_node_failure, which explains the nodes outside the PreFilterResult with
        # the same verdict (its detail marked as such).
        state.scratch[self.name + ".column"] = out
        ck: Any
        for info, name in zip(state.cluster.infos, state.cluster.node_names):
            if only_in:
                ck = name in in_values
            else:
                labels = info.node.labels
                ck = (tuple([labels.get(k) for k in keys]) if keys else (),
                      (field_requirement_matches(fields[0], name),) if one else
                      tuple([field_requirement_matches(r, name) for r in fields]))
            if ck in classes:
                cls = classes[ck]
            else:
                got = self._evaluate(state, info, named=True, as_name=ph)
                cls = classes[ck] = (got[0], self._quick_spec(got[0].detail["terms"], ph)) if got else None
            if cls is None:
                out.append(())
                continue
            rejected.append(len(out))
            tpl = cls[0]
            # Message and detail made when read (mostly never: the other nodes are counted).
            out.append((lazy_failure(tpl.plugin, tpl.code, tpl.reason, tpl.unresolvable,
                                     (_named_parts, tpl, cls[1], name)),))
        return out

    def _named_lazy(self, state: CycleState, named: frozenset[str], keys: tuple[str, ...],
                    fields: list[Any]) -> LazyColumn:
        """The named column of a pod whose every term has a `metadata.name In` field (`named`: the
        union of their names, the PreFilterResult) as a LazyColumn: a node not named fails every
        term, so only the named nodes are evaluated now; another node's verdict is its class's
        template (projected labels, matchFields outcomes) named when read."""
        cluster = state.cluster
        pos, infos, names = cluster.positions, cluster.infos, cluster.node_names
        ph = self._NAME
        classes: dict[Any, tuple[Failure, tuple[Any, ...] | None] | None] = {}
        # Its own scratch: the pod's holds this column, which must not hold the pod's scratch back
        # (a reference cycle outlives the evaluation until a full collection).
        state = CycleState(pod=state.pod, cluster=cluster, requests=state.requests)

        def class_of(i: int) -> tuple[Failure, tuple[Any, ...] | None] | None:
            info, name = infos[i], names[i]
            labels = info.node.labels
            ck = (tuple([labels.get(k) for k in keys]) if keys else (),
                  tuple([field_requirement_matches(r, name) for r in fields]))
            if ck in classes:
                return classes[ck]
            got = self._evaluate(state, info, named=True, as_name=ph)
            cls = classes[ck] = (got[0], self._quick_spec(got[0].detail["terms"], ph)) if got else None
            return cls

        passing = frozenset(i for i in (pos[n] for n in named if n in pos) if class_of(i) is None)

        def make(i: int) -> tuple[Failure, ...]:
            cls = class_of(i)
            if cls is None:
                return ()
            tpl, q = cls
            return (lazy_failure(tpl.plugin, tpl.code, tpl.reason, tpl.unresolvable, (_named_parts, tpl, q, names[i])),)

        return LazyColumn(len(infos), passing, make)

    @staticmethod
    def _quick_spec(terms: list[dict[str, Any]], ph: str) -> tuple[Any, ...] | None:
        """(term, empty, the entries before, key, operator, values, text) when `terms` is one term
        of keys term/empty/failed whose last failed entry alone names the node; else None."""
        if len(terms) != 1 or list(terms[0]) != ["term", "empty", "failed"] or not terms[0]["failed"]:
            return None
        t = terms[0]
        *before, e = t["failed"]
        if list(e) != ["key", "operator", "values", "have", "text"] or e["have"] is not ph or \
                any(x.get("have") is ph for x in before):
            return None
        return t["term"], t["empty"], before, e["key"], e["operator"], e["values"], e["text"]

    # --- PreFilter ---------------------------------------------------------------------------
    def pre_filter(self, state: CycleState) -> Sequence[Failure]:
        names = self._node_names(state)
        if names is not None and not names:
            return (Failure(
                plugin=self.name, code="affinity-terms-conflict", reason=REASON_CONFLICT,
                message=("every required node affinity term asks for metadata.name values that "
                         "contradict each other, so no node can match"),
                detail={"terms": len(state.pod.required_node_affinity or ())}, unresolvable=True,
            ),)
        return ()

    def pre_filter_result(self, state: CycleState) -> frozenset[str] | None:
        names = self._node_names(state)
        return names if names else None

    def _node_names(self, state: CycleState) -> frozenset[str] | None:
        """Upstream PreFilter: when every term has matchFields metadata.name In, only the union of
        those names (intersected within a term) can match; None when any term has none."""
        terms = state.pod.required_node_affinity
        if not terms:
            return None
        out: set[str] = set()
        for t in terms:
            term_names: set[str] | None = None
            for r in t.match_fields:
                if r.key == "metadata.name" and r.operator == "In":
                    term_names = set(r.values) if term_names is None else term_names & set(r.values)
            if term_names is None:
                return None
            out |= term_names
        return frozenset(out)

    def absent_node_class(self, state: CycleState, inside: Sequence[int],
                          reason: str) -> Callable[[int], Failure] | None:
        col = state.scratch.get(self.name + ".column")
        if not isinstance(col, LazyColumn) or not col.passing <= set(inside):
            return None
        # Every node outside is rejected by the one template: its failure, marked as outside.

        def make(i: int) -> Failure:
            f = col[i][0]  # (a node outside fails every term: its column entry is never empty)
            return lazy_failure(f.plugin, f.code, reason, f.unresolvable, (_absent_parts, f))

        return make

    def absent_node_failures(self, state: CycleState, positions: Sequence[int], reason: str) -> dict[int, Failure]:
        col = state.scratch.get(self.name + ".column")
        if col is None:
            return super().absent_node_failures(state, positions, reason)
        # The nodes outside a DaemonSet pod's one node: their verdicts (and marked details) are
        # already made by _named_column.
        infos = state.cluster.infos
        out: dict[int, Failure] = {}
        for i in positions:
            got = col[i]
            if not got:
                out[i] = self.absent_node_failure(state, infos[i], reason)
                continue
            f = got[0]
            out[i] = lazy_failure(f.plugin, f.code, reason, f.unresolvable, (_absent_parts, f))
        return out

    def absent_node_failure(self, state: CycleState, node: NodeInfo, reason: str) -> Failure:
        """A node outside the matchFields names: the scheduler never filters it and prints `reason`
        ("didn't satisfy plugin(s) [NodeAffinity]"); we explain it with the Filter's own verdict."""
        col = state.scratch.get(self.name + ".column")
        at = state.cluster.positions.get(node.name) if col is not None else None
        fs = col[at] if col is not None and at is not None else self.filter(state, node)
        if not fs:
            return super().absent_node_failure(state, node, reason)
        f = fs[0]
        return make_failure(f.plugin, f.code, reason, f.message, {**f.detail, "outside_prefilter_result": True},
                            f.unresolvable)

    def _label_part(self, state: CycleState, labels: Any) -> tuple[list[dict[str, Any]], list[str], list[Any]]:
        """What the verdict takes from the node's labels alone (memoised per projected label values):
        the nodeSelector misses and their texts, and per required term whether its expressions
        match, their failed entries and texts. matchFields (the node's name) is added per node."""
        keys = self._keys(state)[0]
        memo = state.scratch.setdefault(self.name + ".labels", {})
        mk = tuple([labels.get(k) for k in keys])
        got = memo.get(mk)
        if got is not None:
            return got  # type: ignore[no-any-return]
        pod = state.pod
        selector_misses: list[dict[str, Any]] = [
            {"key": k, "want": v, "have": labels.get(k)} for k, v in sorted(pod.node_selector.items())
            if labels.get(k) != v
        ]
        selector_parts = []
        for miss in selector_misses:
            have = "no such label" if miss["have"] is None else f"{miss['key']}={miss['have']}"
            selector_parts.append(f"nodeSelector {miss['key']}={miss['want']} (node has {have})")
        terms = []
        for t in pod.required_node_affinity or ():
            failed = [r for r in t.match_expressions if not requirement_matches(r, labels)]
            entries = [{"key": r.key, "operator": r.operator, "values": list(r.values),
                        "have": labels.get(r.key), "text": describe_requirement(r)} for r in failed]
            texts = [f"affinity {e['text']} (node has "
                     f"{'no such label' if e['have'] is None else e['key'] + '=' + str(e['have'])})" for e in entries]
            fields = [(r, f"field {describe_requirement(r)}") for r in t.match_fields]
            terms.append((t, not failed, entries, texts, fields))
        got = memo[mk] = (selector_misses, selector_parts, terms)
        return got

    def _evaluate(self, state: CycleState, node: NodeInfo, named: bool = False,
                  as_name: str | None = None) -> tuple[Failure, ...]:
        """The verdict on `node`; `named`: its message starts with the node's name as filter() says
        it (otherwise the verdict may be shared by nodes with the same label values). `as_name`:
        written in the texts and field entries in place of the node's name (a class template)."""
        pod, labels, name = state.pod, node.node.labels, node.name
        shown = name if as_name is None else as_name
        selector_misses, selector_parts, terms_info = self._label_part(state, labels)
        term_misses: list[dict[str, Any]] = []
        parts = list(selector_parts)
        affinity_ok = True
        if pod.required_node_affinity is not None:
            # node_selector_term_matches per term: an empty term matches nothing; expressions (known
            # from the labels) and fields (the node's name) ANDed; terms ORed.
            affinity_ok = False
            per_term = []
            for t, exprs_ok, entries, texts, fields in terms_info:
                failed_fields = [(r, text) for r, text in fields if not field_requirement_matches(r, name)]
                if exprs_ok and not failed_fields and (t.match_expressions or t.match_fields):
                    affinity_ok = True
                    break
                per_term.append((t, entries, texts, failed_fields))
            if not affinity_ok:
                for i, (t, entries, texts, failed_fields) in enumerate(per_term):
                    empty = not t.match_expressions and not t.match_fields
                    field_entries = [{"key": r.key, "operator": r.operator, "values": list(r.values), "have": shown,
                                      "text": text} for r, text in failed_fields]
                    term_misses.append({"term": i, "empty": empty, "failed": entries + field_entries})
                    if empty:
                        parts.append(f"affinity term {i} is empty and matches no node")
                    parts += texts
                    parts += [f"affinity {text} (node has {r.key}={shown})" for r, text in failed_fields]
        if not selector_misses and affinity_ok:
            return ()
        return (Failure(
            plugin=self.name, code="node-affinity", reason=REASON,
            message=f"node {shown}: {'; '.join(parts)}" if named else "; ".join(parts),
            detail={"selector": selector_misses, "terms": term_misses},
            unresolvable=True,
        ),)


def _named_parts(tpl: Failure, q: tuple[Any, ...] | None, name: str) -> tuple[str, dict[str, Any]]:
    """The message and detail of a class template `tpl` (made with NodeAffinity._NAME in place of
    the node's name) for the node `name`; `q`: its _quick_spec, when it has one."""
    ph = NodeAffinity._NAME
    d = tpl.detail
    if q is not None:
        ti, empty, before, k, op, vals, text = q
        terms = [{"term": ti, "empty": empty,
                  "failed": [*before, {"key": k, "operator": op, "values": vals, "have": name, "text": text}]}]
    else:
        terms = [{**t, "failed": [{**e, "have": name} if e["have"] is ph else e for e in t["failed"]]}
                 for t in d["terms"]]
    return tpl.message.replace(ph, name), {"selector": d["selector"], "terms": terms}


def _absent_parts(f: Failure) -> tuple[str, dict[str, Any]]:
    """A node outside the PreFilterResult explained with its Filter verdict `f`, marked as such."""
    return f.message, {**f.detail, "outside_prefilter_result": True}


def _prefixed(f: Failure, name: str) -> tuple[str, Any]:
    """filter()'s verdict on node `name` from the one shared by its label values."""
    return f"node {name}: {f.message}", f.detail


class _ClassNamed:
    """filter()'s verdict on node i (by position) from its label class's, named when read."""

    def __init__(self, results: list[tuple[Failure, ...]], index: list[int], names: Sequence[str]) -> None:
        self.results, self.index, self.names = results, index, names

    def __call__(self, i: int) -> tuple[Failure, ...]:
        name = self.names[i]
        return tuple([lazy_failure(f.plugin, f.code, f.reason, f.unresolvable, (_prefixed, f, name))
                      for f in self.results[self.index[i]]])
