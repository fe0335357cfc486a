"""NodeName: a pod with spec.nodeName fits only that node."""

from __future__ import annotations

from typing import Sequence

from ..framework import CycleState, Failure, FilterPlugin, NodeInfo


class NodeName(FilterPlugin):
    name = "NodeName"

    def applies(self, state: CycleState) -> bool:
        return bool(state.pod.node_name)


    def filter(self, state: CycleState, node: NodeInfo) -> Sequence[Failure]:
        want = state.pod.node_name
        if not want or want == node.name:
            return ()
        return (Failure(
            plugin=self.name, code="node-name", reason="node(s) didn't match the requested node name",
            message=f"pod asks for node {want} (spec.nodeName), not {node.name}",
            detail={"requested": want}, unresolvable=True,
        ),)
