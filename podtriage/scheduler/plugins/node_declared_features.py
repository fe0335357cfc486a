"""NodeDeclaredFeatures: a node must declare every feature the pod's spec needs.

Upstream (pkg/scheduler/framework/plugins/nodedeclaredfeatures, GA and in the default profile in
1.37; the inference lives in k8s.io/component-helpers/nodedeclaredfeatures):

PreFilter infers the pod's requirements from its spec (`InferForPodScheduling`); today three
features can be inferred, see `podtriage.convert.required_node_features`:
  - RestartAllContainersOnContainerExits: a container or init container with a
    restartPolicyRules entry whose action is RestartAllContainers;
  - UserNamespacesHostNetworkSupport: hostNetwork with hostUsers: false;
  - VolumeBindMountOptions: a volumeMount with bindMountOptions.
No requirement: the plugin is skipped. Filter: every required feature must be in the node's
status.declaredFeatures (names the scheduler does not know are ignored), else
UnschedulableAndUnresolvable "node(s) didn't match Pod's required features".
"""

from __future__ import annotations

from collections.abc import Sequence

from ..framework import CycleState, Failure, FilterPlugin, NodeInfo

NAME = "NodeDeclaredFeatures"
REASON = "node(s) didn't match Pod's required features"


class NodeDeclaredFeatures(FilterPlugin):
    name = NAME

    def applies(self, state: CycleState) -> bool:
        return bool(state.pod.required_features)

    def filter(self, state: CycleState, node: NodeInfo) -> Sequence[Failure]:
        required = state.pod.required_features
        if not required:
            return ()
        declared = node.node.declared_features
        missing = [f for f in required if f not in declared]
        if not missing:
            return ()
        have = ", ".join(declared) if declared else "none"
        return (Failure(
            plugin=self.name, code="node-features", reason=REASON,
            message=f"the pod needs node feature(s) {', '.join(missing)}, which node {node.name} does not "
                    f"declare (status.declaredFeatures: {have})",
            detail={"missing": missing, "required": list(required), "declared": list(declared)},
            unresolvable=True),)
