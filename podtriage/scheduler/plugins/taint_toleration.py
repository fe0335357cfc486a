"""TaintToleration: a node's NoSchedule/NoExecute taints must each be tolerated by the pod.

Upstream reports only the first untolerated taint of a node; so do we in `first`, and we keep
every untolerated taint in the detail for the near-miss analysis.
"""

from __future__ import annotations

from typing import Sequence

from ... import model as m
from ..framework import Column, CycleState, Failure, FilterPlugin, NodeInfo
from ..selectors import tolerates

FILTER_EFFECTS = ("NoSchedule", "NoExecute")


def untolerated(taints: Sequence[m.Taint], tolerations: Sequence[m.Toleration]) -> list[m.Taint]:
    return [t for t in taints
            if t.effect in FILTER_EFFECTS and not any(tolerates(tol, t) for tol in tolerations)]


def taint_reason(t: m.Taint) -> str:
    """The scheduler's text up to 1.34.x; 1.35 drops the key and value: 'untolerated taint(s)'."""
    return f"node(s) had untolerated taint {{{t.key}: {t.value}}}"


class TaintToleration(FilterPlugin):
    name = "TaintToleration"

    def filter_nodes(self, state: CycleState) -> Sequence[Sequence[Failure]] | None:
        # Reads only the nodes' taints and the pod's tolerations: one column per set of tolerations.
        def compute() -> Column:
            # Judged once per distinct set of taints (a handful: pools share theirs), then each
            # node takes its set's answer.
            sets, index, _ = state.cluster.node_classes(self.name, lambda info: tuple(info.node.taints))
            answers = [self._judge(state, t) for t in sets]
            bad = {k for k, a in enumerate(answers) if a}
            return Column.of([answers[k] for k in index], [i for i, k in enumerate(index) if k in bad] if bad else [])

        return state.cluster.column((self.name, state.pod.tolerations), compute)

    def filter(self, state: CycleState, node: NodeInfo) -> Sequence[Failure]:
        return self._judge(state, node.node.taints)

    def _judge(self, state: CycleState, taints: tuple[m.Taint, ...]) -> tuple[Failure, ...]:
        if not taints:
            return ()
        memo = state.scratch.setdefault(self.name, {})
        if taints in memo:
            return memo[taints]
        bad = untolerated(taints, state.pod.tolerations)
        result: tuple[Failure, ...] = ()
        if bad:
            t = bad[0]
            result = (Failure(
                plugin=self.name, code="taint", reason=taint_reason(t),
                message=f"taint {t} is not tolerated by the pod",
                detail={"taint": {"key": t.key, "value": t.value, "effect": t.effect},
                        "untolerated": [{"key": x.key, "value": x.value, "effect": x.effect} for x in bad]},
                unresolvable=True,
            ),)
        memo[taints] = result
        return result

