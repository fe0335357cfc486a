"""Node cgroup memory stats: `podtriage node-stats` writes them, `explain --cgroup-stats` reads them.

collect.py walks the cgroup tree (v1 or v2, systemd or cgroupfs driver), layout.py knows the kubelet
and runtime cgroup names, files.py reads the memory controller files, document.py is the file format.
"""

from .collect import API_VERSION, KIND, collect_node_stats, detect_hierarchy
from .document import (
                       ContainerStats,
                       MemoryStats,
                       NodeStats,
                       PodStats,
                       load_node_stats,
                       node_stats_from_dict,
                       write_node_stats,
)

__all__ = [
    "API_VERSION", "KIND", "ContainerStats", "MemoryStats", "NodeStats", "PodStats", "collect_node_stats",
    "detect_hierarchy", "load_node_stats", "node_stats_from_dict", "write_node_stats",
]
