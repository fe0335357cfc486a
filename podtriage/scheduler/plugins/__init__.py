"""Filter plugins in the default kube-scheduler profile order (the MultiPoint default plugins).

SchedulingGates is a PreEnqueue plugin: it runs before any of these and is handled in
podtriage.diagnose.pending. DynamicResources has a PreEnqueue part too (its claims must exist).
NodeDeclaredFeatures is appended to the profile after the others (applyFeatureGates), and
DynamicResources sits right before DefaultPreemption, after InterPodAffinity.
"""

from __future__ import annotations

from .node_name import NodeName
from .node_unschedulable import NodeUnschedulable
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
from .dynamic_resources import DynamicResources
from .node_declared_features import NodeDeclaredFeatures

DEFAULT_PLUGINS = (
    NodeName,
    NodeUnschedulable,
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
    DynamicResources,
    NodeDeclaredFeatures,
)

__all__ = [c.__name__ for c in DEFAULT_PLUGINS] + ["DEFAULT_PLUGINS"]
