"""Why a cause ranks first: counterfactuals over the target nodes, not counts over all nodes.

For every target node n, B(n) is the set of causes blocking it: the causes whose nodes include n
(every filter's failures, not only the first one the scheduler reports) plus the causes that block
the pod everywhere (a PreFilter rejection, a gate, a selector no node satisfies). A change removes
one cause, so:

- feasible after cause c alone: the target nodes with B(n) = {c};
- the smallest set containing c: the smallest B(n) over the target nodes c blocks;
- still blocked by, after c: that set without c.

A cause whose smallest set is larger than the smallest of all is background: it blocks some
target nodes, but fewer changes free others (it is kept, not blocking, and listed last).

Causes are ordered by the size of their smallest set (one change before two), then by who can make
the change (the pod's owner alone, safely, before a cluster admin; a change that would make things
worse last), pod-wide causes before node ones at equal size (nothing else is looked at until they
are fixed), then by how many target nodes the change frees. Severity and the rule id only break
ties. Causes that are context (the autoscaler's and preemption's words, the kubelet side) follow,
then those that do not block at all. Share of nodes never decides: 37 background nodes that the
pod excludes itself say nothing about why it does not run where it wants to.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from itertools import chain, filterfalse

from ..findings import SEVERITIES, Fix, RootCause, Signal

SEVERITY_WEIGHT = {"critical": 1.0, "high": 0.8, "medium": 0.5, "low": 0.3, "info": 0.1}

# How much of the score comes from the share of nodes explained vs. the share of scheduling attempts.
NODE_SHARE_WEIGHT = 0.7

# Causes that quote the scheduler where podtriage cannot reproduce it: no change is known to help.
UNREPRODUCED = frozenset({"scheduler-refuses"})

# A cause outside the smallest sets is less likely the answer, though it does block.
CONFIDENCE_NOT_IN_SMALLEST_SET = 0.9
MAX_LISTED = 50


@dataclass(frozen=True)
class Counterfactual:
    """What removing one cause would do, over the target nodes."""

    feasible_after: tuple[str, ...]  # target nodes feasible with this change alone
    smallest_set: frozenset[int]  # indexes of the causes that together free a target node (this one included)
    freed: tuple[str, ...]  # the target nodes that smallest set frees
    holders: int  # target nodes this cause blocks


# --- context causes: how much of the failure they cover --------------------------------------------
def _attempts(rc: RootCause) -> int:
    """Scheduling attempts a cause covers: RootCause.attempts when the model has it, else event counts."""
    explicit = getattr(rc, "attempts", None)
    if isinstance(explicit, int) and explicit > 0:
        return explicit
    total = 0
    for item in rc.evidence:
        if item.kind == "event" and isinstance(item.data, Mapping):
            count = item.data.get("count")
            if isinstance(count, int) and count > 0:
                total += count
    return total


def score(rc: RootCause, *, total_nodes: int, total_attempts: int) -> float:
    """How much of the failure `rc` explains, weighted by severity and confidence (0..1).

    A cause with no nodes is pod-level (a missing PVC, a scheduling gate, a scheduler nobody runs)
    and explains every node.
    """
    if rc.nodes and total_nodes > 0:
        node_share = min(len(rc.nodes) / total_nodes, 1.0)
    else:
        node_share = 1.0
    if total_attempts > 0:
        attempt_share = min(_attempts(rc) / total_attempts, 1.0)
        coverage = NODE_SHARE_WEIGHT * node_share + (1 - NODE_SHARE_WEIGHT) * attempt_share
    else:
        coverage = node_share
    confidence = max(0.0, min(rc.confidence, 1.0))
    return round(coverage * SEVERITY_WEIGHT.get(rc.severity, 0.5) * confidence, 4)


def rank(root_causes: Sequence[RootCause], *, total_nodes: int, total_attempts: int) -> list[RootCause]:
    """Causes the counterfactual cannot order (a bound pod, a workload's missing pods): `score` set,
    best first: blocking ones first, then score, severity, rule id."""
    sev_rank = {s: i for i, s in enumerate(SEVERITIES)}
    scored = [
        _with_score(rc, score(rc, total_nodes=total_nodes, total_attempts=total_attempts))
        for rc in root_causes
    ]
    return sorted(
        scored,
        key=lambda rc: (
            not rc.blocking,
            -rc.score,
            sev_rank.get(rc.severity, len(sev_rank)),
            rc.rule,
            rc.message,
        ),
    )


def _with_score(rc: RootCause, value: float) -> RootCause:
    return replace(rc, score=value)


# --- the counterfactual --------------------------------------------------------------------------


def blockers(signals: Sequence[Signal], blocking: Sequence[bool],
             candidates: Sequence[str]) -> dict[frozenset[int], list[str]]:
    """B(n) for every candidate node, grouped: each distinct set of blocking causes (indexes) and
    the nodes it keeps from the pod, in candidate order. Nodes share few distinct sets (a pool's
    nodes fail alike), so what follows works on the sets, not on every node."""
    wanted = set(candidates)
    cands = tuple(candidates)
    # A target-scoped cause on every candidate (a pod larger than every node) is in every B(n), like
    # a pod-scoped one: kept out of the walk over its nodes. (Its nodes mostly are the candidates,
    # in the same order: compared as they are before as sets.)
    common = {i for i, s in enumerate(signals) if blocking[i] and (
        s.scope == "pod" or (s.scope == "target" and len(s.nodes) >= len(wanted)
                             and (s.nodes == cands or wanted.issubset(s.nodes))))}
    everywhere = frozenset(common)
    # The candidates with blockers of their own, split by which of the other causes hold them (set
    # operations: a part per distinct set, a handful).
    parts: dict[tuple[int, ...], set[str]] = {}
    for i, s in enumerate(signals):
        if not blocking[i] or s.scope != "target" or i in common:
            continue
        rest = wanted.intersection(s.nodes)
        if not rest:
            continue
        split: dict[tuple[int, ...], set[str]] = {}
        for key, part in parts.items():
            inn = part & rest
            if inn:
                rest = rest - inn
                if len(inn) < len(part):
                    split[key] = part - inn
                split[key + (i,)] = inn
            else:
                split[key] = part
        if rest:
            split[(i,)] = rest
        parts = split
    if not parts:  # no node has a blocker of its own (a pod larger than every node): one group
        return {everywhere: list(candidates)} if candidates else {}
    # Each group's nodes in candidate order, the groups by their first node; the nodes with no
    # blocker of their own (most) are one group, taken in one pass.
    at = _index_of(cands)
    order = at.__getitem__
    groups = [(order(nodes[0]), everywhere | frozenset(key), nodes)
              for key, part in parts.items() for nodes in [sorted(part, key=order)]]
    held = set().union(*parts.values())
    if len(held) < len(cands):
        alone = list(filterfalse(held.__contains__, cands))
        groups.append((order(alone[0]), everywhere, alone))
    groups.sort(key=lambda g: g[0])
    return {b: nodes for _, b, nodes in groups}


_INDEX: list[tuple[tuple[str, ...], dict[str, int]]] = []


def _index_of(cands: tuple[str, ...]) -> dict[str, int]:
    """Each candidate's place (kept for the last list of candidates: pods of the same targets
    follow each other; compared by value, cheap when they share their names)."""
    last = _INDEX[0] if _INDEX else None  # (read once: another thread may replace it)
    if last is not None and last[0] == cands:
        return last[1]
    got = dict(zip(cands, range(len(cands))))
    _INDEX[:] = [(cands, got)]
    return got


def counterfactuals(groups: Mapping[frozenset[int], Sequence[str]], causes: Sequence[int]) -> dict[int, Counterfactual]:
    """The counterfactual of each cause in `causes` over the grouped B(n)."""
    out = {}
    for i in causes:
        mine = [b for b in groups if i in b]
        holders = sum(len(groups[b]) for b in mine)
        alone = tuple(groups.get(frozenset({i}), ()))
        if mine:
            best = min(mine, key=lambda b: (len(b), -len(groups[b]), sorted(b)))
            freed = tuple(chain.from_iterable([groups[b] for b in mine if b <= best]))
        else:
            best, freed = frozenset({i}), ()
        out[i] = Counterfactual(feasible_after=alone, smallest_set=best, freed=freed, holders=holders)
    return out


def _retarget(s: Signal) -> tuple[str, ...]:
    """Nodes the cause's fix moves the pod to, when that fix changes where the pod asks to run
    (a hostname pin on a control-plane node): they, not the target nodes, become feasible."""
    alt = s.params.get("alternative_node") if s.params.get("pinned") else ""
    return (str(alt),) if alt else ()


def _who(fixes: Sequence[Fix]) -> int:
    """0: the owner can do it alone, safely; 1: someone else must (or no structured fix); 2: only
    changes that would make things worse."""
    if any(f.safe and f.applied_by == "owner" for f in fixes):
        return 0
    if any(f.safe for f in fixes) or not fixes:
        return 1
    return 2


def _examples(nodes: Sequence[str], n: int = 3) -> str:
    return ", ".join(nodes[:n]) + (", ..." if len(nodes) > n else "")


def rank_causes(signals: Sequence[Signal], causes: Sequence[RootCause], candidates: Sequence[str], *,
                hypothetical: str = "", total_nodes: int = 1, total_attempts: int = 0) -> list[RootCause]:
    """Order `causes` (one per signal, same order) best first, each annotated with its counterfactual.

    `candidates`: the target nodes; or, when no node satisfies the pod's placement, the nodes a
    validated correction would target (`hypothetical` then describes that correction).
    """
    blocking = [c.blocking for c in causes]
    b = blockers(signals, blocking, candidates)
    decided = [i for i, s in enumerate(signals) if blocking[i] and s.scope in ("target", "pod")]
    cf = counterfactuals(b, decided) if b else {}
    smallest = min((len(x.smallest_set) for x in cf.values()), default=0)

    def why(i: int) -> str:
        s, x = signals[i], cf.get(i)
        if x is None or not candidates:
            if s.scope == "pod":
                return "it blocks the pod on every node: the scheduler considers nothing else until it is fixed"
            return ""
        where = f"the {len(candidates)} node(s) {hypothetical}" if hypothetical else \
            f"the {len(candidates)} target node(s)"
        moved = _retarget(s)
        if moved:
            return (f"the pod asks for node(s) no acceptable change frees; pointing it at {_examples(moved)} "
                    "instead (it passes every other filter) does")
        if s.name in UNREPRODUCED:
            return ("the scheduler refuses the pod where podtriage finds no reason to: its word stands, and no "
                    "change podtriage can name is known to free a node")
        if x.feasible_after:
            return (f"this change alone makes {len(x.feasible_after)} of {where} feasible "
                    f"({_examples(x.feasible_after)})")
        others = [causes[j].rule for j in sorted(x.smallest_set) if j != i]
        if not others:
            return f"it blocks {x.holders} of {where}"
        return (f"no single change suffices: together with {', '.join(others)} it makes "
                f"{len(x.freed)} of {where} feasible ({_examples(x.freed)})")

    out: dict[int, RootCause] = {}
    for i, c in enumerate(causes):
        x = cf.get(i)
        if x is None:
            out[i] = replace(c, rank_reason=why(i), score=score(c, total_nodes=total_nodes,
                                                                 total_attempts=total_attempts))
            continue
        still = tuple({"rule": causes[j].rule, "subject": causes[j].subject, "message": causes[j].message}
                      for j in sorted(x.smallest_set) if j != i)
        moved = _retarget(signals[i])
        feasible = () if signals[i].name in UNREPRODUCED else moved or x.feasible_after[:MAX_LISTED]
        rc = replace(c, feasible_after=feasible if candidates else None,
                     still_blocked_by=still, rank_reason=why(i),
                     score=score(c, total_nodes=total_nodes, total_attempts=total_attempts))
        if len(x.smallest_set) > smallest:
            # It blocks some target nodes, but others are freed with fewer changes: background,
            # like the nodes the pod excludes itself (a GPU pool's taint for a pod that fits on
            # the general workers once its claim exists).
            rc = replace(rc, blocking=False, severity="low" if rc.severity in ("critical", "high") else rc.severity,
                         confidence=round(rc.confidence * CONFIDENCE_NOT_IN_SMALLEST_SET, 3),
                         rank_reason=f"background: {rc.rank_reason}; fewer changes free other target nodes")
        out[i] = rc

    # Only changes that would make things worse free these nodes (tolerating a pool's taint the pod
    # does not ask for), and another cause as small can be fixed safely: background too.
    safe_sizes = [len(x.smallest_set) for i, x in cf.items() if out[i].blocking and _who(out[i].fixes) < 2]
    for i, x in cf.items():
        rc = out[i]
        if rc.blocking and _who(rc.fixes) == 2 and any(k <= len(x.smallest_set) for k in safe_sizes):
            out[i] = replace(rc, blocking=False,
                             severity="low" if rc.severity in ("critical", "high") else rc.severity,
                             confidence=round(rc.confidence * CONFIDENCE_NOT_IN_SMALLEST_SET, 3),
                             rank_reason=f"background: {rc.rank_reason}, but only by a change that would make "
                                         "things worse (see its fixes); the other causes can be fixed safely")

    sev = {s: k for k, s in enumerate(SEVERITIES)}

    def key(i: int) -> tuple:
        c, s, x = out[i], signals[i], cf.get(i)
        if not c.blocking and x is not None:  # background: after the context causes, in set order
            return (4, len(x.smallest_set), _who(c.fixes), 0, -len(x.freed), -x.holders, sev.get(c.severity, 9),
                    c.rule, i)
        if not c.blocking:
            return (3, 0, 0, 0, 0, -c.score, sev.get(c.severity, 9), c.rule, i)
        if x is None:
            return (2, 0, 0, 0, 0, -c.score, sev.get(c.severity, 9), c.rule, i)
        return (1, len(x.smallest_set), _who(c.fixes), s.scope != "pod", -len(x.feasible_after or x.freed),
                -x.holders, sev.get(c.severity, 9), c.rule, i)

    order = sorted(range(len(causes)), key=key)
    return [out[i] for i in order]


__all__ = ["Counterfactual", "blockers", "counterfactuals", "rank", "rank_causes", "score"]
