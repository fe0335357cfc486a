"""B(n), the blocking causes of each candidate node, grouped by set (ranking.blockers): the groups
and their order must be those of the definition, node by node, whatever the signals' node lists
(every candidate, a few, none, nodes that are not candidates, in another order)."""

from __future__ import annotations

import random

import pytest

from podtriage.decide.ranking import blockers
from podtriage.findings import Signal


def _by_definition(signals: list[Signal], blocking: list[bool], candidates: list[str]) -> dict[frozenset[int], list[str]]:
    out: dict[frozenset[int], list[str]] = {}
    for n in candidates:
        b = frozenset(i for i, s in enumerate(signals) if blocking[i] and (
            s.scope == "pod" or (s.scope == "target" and n in s.nodes)))
        out.setdefault(b, []).append(n)
    return out


@pytest.mark.parametrize("seed", range(60))
def test_blockers_are_the_definitions_groups_in_its_order(seed: int) -> None:
    rnd = random.Random(seed)
    nodes = [f"n{i:03d}" for i in range(rnd.choice([1, 5, 40, 300]))]
    candidates = rnd.sample(nodes, rnd.randint(1, len(nodes))) if rnd.random() < 0.5 else list(nodes)
    signals, blocking = [], []
    for _ in range(rnd.randint(0, 6)):
        shape = rnd.random()
        if shape < 0.25:
            mine = tuple(candidates)  # every candidate, in their order
        elif shape < 0.35:
            mine = tuple(nodes)  # every node, candidates or not
        elif shape < 0.45:
            mine = tuple(reversed(candidates))
        else:
            mine = tuple(rnd.sample(nodes, rnd.randint(0, len(nodes))))
        signals.append(Signal(name="s", params={}, nodes=mine, scope=rnd.choice(["target", "target", "pod", ""])))
        blocking.append(rnd.random() < 0.8)
    got = blockers(signals, blocking, candidates)
    assert list(got.items()) == list(_by_definition(signals, blocking, candidates).items())


def test_most_nodes_unblocked_of_their_own_keep_their_place() -> None:
    """The nodes with no blocker of their own are one group, placed where its first node comes."""
    candidates = [f"n{i}" for i in range(10)]
    for at in ([0], [5], [9], [0, 9], []):
        sig = Signal(name="s", params={}, nodes=tuple(candidates[i] for i in at), scope="target")
        got = blockers([sig], [True], candidates)
        assert list(got.items()) == list(_by_definition([sig], [True], candidates).items())
