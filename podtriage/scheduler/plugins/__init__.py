"""Filter plugins in the default kube-scheduler profile order (the MultiPoint default plugins).

SchedulingGates is a PreEnqueue plugin: it runs before any of these and is handled in
podtriage.scheduler.plugins.scheduling_gates. DynamicResources (DRA) is not emulated.
"""

from __future__ import annotations

from .node_unschedulable import NodeUnschedulable
from .node_name import NodeName
from .taint_toleration import TaintToleration
from .node_affinity import NodeAffinity
from .node_ports import NodePorts
from .node_resources_fit import NodeResourcesFit
from .volume_restrictions import VolumeRestrictions
from .node_volume_limits import NodeVolumeLimits
from .volume_binding import VolumeBinding
from .volume_zone import VolumeZone
from .pod_topology_spread import PodTopologySpread
from .inter_pod_affinity import InterPodAffinity

DEFAULT_PLUGINS = (
    NodeUnschedulable,
    NodeName,
    TaintToleration,
    NodeAffinity,
    NodePorts,
    NodeResourcesFit,
    VolumeRestrictions,
    NodeVolumeLimits,
    VolumeBinding,
    VolumeZone,
    PodTopologySpread,
    InterPodAffinity,
)

__all__ = [c.__name__ for c in DEFAULT_PLUGINS] + ["DEFAULT_PLUGINS"]
