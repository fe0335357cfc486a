"""NodePorts: a requested hostPort must not already be in use on the node.

Conflict rule (upstream HostPortInfo): same protocol and port, and either side binds 0.0.0.0
or both bind the same IP.
"""

from __future__ import annotations

from typing import Sequence

from ..framework import CycleState, Failure, FilterPlugin, NodeInfo, host_ports


def _conflicts(want: tuple[str, str, int], used: set[tuple[str, str, int]]) -> bool:
    ip, proto, port = want
    for uip, uproto, uport in used:
        if uport == port and uproto == proto and (ip == "0.0.0.0" or uip == "0.0.0.0" or ip == uip):
            return True
    return False


class NodePorts(FilterPlugin):
    name = "NodePorts"

    def applies(self, state: CycleState) -> bool:
        return bool(host_ports(state.pod))


    def filter(self, state: CycleState, node: NodeInfo) -> Sequence[Failure]:
        wanted = state.scratch.get(self.name)
        if wanted is None:
            wanted = state.scratch[self.name] = host_ports(state.pod)
        if not wanted or not node.used_ports:
            return ()
        taken = [w for w in wanted if _conflicts(w, node.used_ports)]
        if not taken:
            return ()
        ports = ", ".join(f"{p}/{proto}" + (f" on {ip}" if ip != "0.0.0.0" else "") for ip, proto, p in taken)
        holders = sorted(
            p.key for p in node.pods
            if any(_conflicts(w, set(host_ports(p))) for w in taken)
        )
        return (Failure(
            plugin=self.name, code="node-ports",
            reason="node(s) didn't have free ports for the requested pod ports",
            message=f"host port {ports} already used on {node.name}" + (f" by {', '.join(holders)}" if holders else ""),
            detail={"ports": [{"hostIP": ip, "protocol": proto, "hostPort": p} for ip, proto, p in taken],
                    "holders": holders},
        ),)
