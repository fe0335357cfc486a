"""Evidence from outside the API: kube-scheduler logs and node cgroup memory stats.

Collected by the CLI (`--scheduler-log`, `--scheduler-logs`, `--cgroup-stats`) and handed to the
Explainer; the diagnosis modules read it from here. Absent sources are simply empty, and say so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .. import model as m
from ..findings import Signal


@dataclass
class ExtraEvidence:
    # podtriage.evidence.schedlog.SchedulerLog objects (parsed log files), when given
    scheduler_logs: list[Any] = field(default_factory=list)
    scheduler_logs_requested: bool = False
    scheduler_logs_note: str = ""  # why logs are unavailable (e.g. forbidden), shown as missing evidence
    # podtriage.nodestats.NodeStats objects (node-stats files), when given
    cgroup_stats: list[Any] = field(default_factory=list)
    cgroup_stats_requested: bool = False

    def scheduler_log_signals(self, pod: m.Pod, total_nodes: int) -> list[Signal]:
        if not self.scheduler_logs:
            return []
        from ..evidence import schedlog

        return schedlog.signals_for_pod(self.scheduler_logs, pod, total_nodes)

    def missing_notes(self, pod: m.Pod) -> list[str]:
        notes = []
        if self.scheduler_logs_requested and not self.scheduler_logs:
            notes.append("kube-scheduler logs unavailable" + (f": {self.scheduler_logs_note}"
                                                               if self.scheduler_logs_note else ""))
        if self.cgroup_stats_requested and pod.node_name and not any(
                _node_of(s) in ("", pod.node_name) for s in self.cgroup_stats):
            notes.append(f"no cgroup stats for node {pod.node_name}")
        return notes


def _node_of(stats: Any) -> str:
    """The node a node-stats document came from (a NodeStats object or its plain JSON)."""
    if isinstance(stats, dict):
        return str(stats.get("node") or "")
    return str(getattr(stats, "node", "") or "")
