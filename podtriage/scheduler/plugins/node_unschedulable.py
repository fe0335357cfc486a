"""NodeUnschedulable: a cordoned node (spec.unschedulable) takes no pod that does not tolerate
the node.kubernetes.io/unschedulable:NoSchedule taint."""

from __future__ import annotations

from typing import Sequence

from ... import model as m
from ..framework import Column, CycleState, Failure, FilterPlugin, NodeInfo
from .taint_toleration import tolerates

UNSCHEDULABLE_TAINT = m.Taint(key="node.kubernetes.io/unschedulable", effect="NoSchedule")


class NodeUnschedulable(FilterPlugin):
    name = "NodeUnschedulable"

    def filter_nodes(self, state: CycleState) -> Sequence[Sequence[Failure]] | None:
        # Reads only spec.unschedulable and whether the pod tolerates the cordon: two columns at most.
        tolerated = any(tolerates(t, UNSCHEDULABLE_TAINT) for t in state.pod.tolerations)

        def compute() -> Column:
            return Column.of([self.filter(state, info) for info in state.cluster.infos])

        return state.cluster.column((self.name, tolerated), compute)

    def filter(self, state: CycleState, node: NodeInfo) -> Sequence[Failure]:
        if not node.node.unschedulable:
            return ()
        if any(tolerates(t, UNSCHEDULABLE_TAINT) for t in state.pod.tolerations):
            return ()
        return (Failure(
            plugin=self.name, code="node-unschedulable", reason="node(s) were unschedulable",
            message=f"node {node.name} is cordoned (spec.unschedulable=true)",
            detail={"node": node.name}, unresolvable=True,
        ),)
