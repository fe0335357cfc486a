"""Accelerators: why an extended resource such as `nvidia.com/gpu` is not there to be had.

NodeResourcesFit only says "Insufficient nvidia.com/gpu". Behind it is a stack that must work on
every GPU node before the kubelet advertises one unit: the node is recognised as a GPU node (node
feature discovery labels), the driver is loaded, the container runtime is set up for the devices
(container toolkit), and the device plugin registers the resource and counts healthy devices. With
the NVIDIA GPU Operator each link is a DaemonSet the operator schedules on nodes labelled
`nvidia.com/gpu.deploy.<component>=true`; MIG partitioning (mig-manager) renames what is
advertised (`nvidia.com/mig-1g.10gb`), and time-slicing may rename it (`nvidia.com/gpu.shared`).

This module reads what the snapshot holds of that stack (the nodes' labels and allocatable, the
component pods and DaemonSets, in every namespace) and refines an extended-resource signal with the
link that is broken, per node, with the evidence for it. It never says a component is missing
when its pods run: a plugin that is Running and ready yet advertises 0 points below it (driver,
runtime, device health), and that is what is said.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, replace
from typing import Any, Iterable, Mapping, Sequence

from .. import model as m
from ..findings import EvidenceItem, Signal
from ..scheduler.framework import effective_requests
from ..scheduler.plugins.taint_toleration import untolerated
from ..scheduler.selectors import node_selector_matches
from ..snapshot import Snapshot
from .status import kubectl_status

# A component of the enablement stack: the names its pods and DaemonSets go by.
@dataclass(frozen=True)
class Component:
    key: str  # the GPU Operator's name for it (nvidia.com/gpu.deploy.<key>)
    title: str
    apps: tuple[str, ...]  # values of the pods' `app` / `app.kubernetes.io/name` / `name` labels
    name_parts: tuple[str, ...]  # substrings of pod / DaemonSet names
    role: str  # what breaks when it does


@dataclass(frozen=True)
class Vendor:
    name: str
    prefixes: tuple[str, ...]  # extended-resource name prefixes
    hardware_labels: tuple[tuple[str, str], ...]  # (label, value or "" for any) that mark hardware
    chain: tuple[Component, ...]  # in the order the links depend on each other; the plugin is among them
    plugin: str  # the key of the component that advertises the resource
    family: str = ""  # prefix shared by the names the same devices may be advertised under


_NVIDIA_CHAIN = (
    Component("driver", "NVIDIA driver", ("nvidia-driver-daemonset", "nvidia-driver"),
              ("nvidia-driver-daemonset", "nvidia-driver"), "loads the kernel driver"),
    Component("container-toolkit", "NVIDIA container toolkit",
              ("nvidia-container-toolkit-daemonset", "nvidia-container-toolkit"),
              ("nvidia-container-toolkit",), "configures the container runtime for the GPUs"),
    Component("device-plugin", "NVIDIA device plugin",
              ("nvidia-device-plugin-daemonset", "nvidia-device-plugin", "nvidia-device-plugin-ds"),
              ("nvidia-device-plugin",), "registers nvidia.com/gpu with the kubelet"),
    Component("mig-manager", "NVIDIA MIG manager", ("nvidia-mig-manager",), ("nvidia-mig-manager",),
              "partitions the GPUs into MIG devices"),
    # Not a link of what the kubelet advertises: it labels the nodes (nvidia.com/gpu.product, ...), which
    # matters to a pod that selects on those labels (refine_labels).
    Component("gpu-feature-discovery", "NVIDIA GPU feature discovery", ("gpu-feature-discovery",),
              ("gpu-feature-discovery",), "labels the nodes with the GPUs' product, memory and CUDA version"),
)
# Judged apart from the chain: the MIG state from node labels, GFD only for label selectors.
_NOT_CHAIN_LINKS = ("mig-manager", "gpu-feature-discovery")
# The GPU Operator's ClusterPolicy field of each operand (nvidia.com/v1, api/v1/clusterpolicy_types.go);
# every one defaults to enabled when `enabled` is unset.
CLUSTER_POLICY_FIELDS = {"driver": "driver", "container-toolkit": "toolkit", "device-plugin": "devicePlugin",
                         "mig-manager": "migManager", "gpu-feature-discovery": "gfd",
                         "dcgm-exporter": "dcgmExporter", "dcgm": "dcgm"}
# Text of a pod that fails for want of the driver or runtime below it (NVML names the driver library);
# a pod that waits in an init container (the operands' driver-validation / toolkit-validation) does too.
_NEEDS_BELOW = re.compile(r"driver|nvml|libnvidia|nvidia-smi|validation|runtime", re.I)


@dataclass(frozen=True)
class ClusterPolicy:
    """The GPU Operator's ClusterPolicy as far as the diagnosis needs it."""

    name: str
    disabled: frozenset[str]  # component keys whose `spec.<field>.enabled` is false
    state: str  # status.state: ready | notReady | ignored | ''
    message: str  # the Error condition's message when it is set (which states are not ready)

    def field(self, key: str) -> str:
        return f"spec.{CLUSTER_POLICY_FIELDS[key]}.enabled"

    def patch(self, key: str) -> str:
        body = json.dumps({"spec": {CLUSTER_POLICY_FIELDS[key]: {"enabled": True}}}, separators=(",", ":"))
        return f"kubectl patch clusterpolicy {self.name} --type merge -p '{body}'"


def cluster_policy(snapshot: Snapshot) -> ClusterPolicy | None:
    """The ClusterPolicy the operator acts on (it marks duplicates `ignored`), if one was read."""
    for o in sorted(snapshot.addons("ClusterPolicy"), key=lambda o: o.name):
        spec: Mapping[str, Any] = o.body.get("spec") or {}
        status: Mapping[str, Any] = o.body.get("status") or {}
        if status.get("state") == "ignored":
            continue
        disabled = frozenset(k for k, f in CLUSTER_POLICY_FIELDS.items()
                             if isinstance(spec.get(f), Mapping) and spec[f].get("enabled") is False)
        message = next((str(c.get("message", "")) for c in status.get("conditions") or ()
                        if isinstance(c, Mapping) and c.get("type") == "Error" and c.get("status") == "True"), "")
        return ClusterPolicy(o.name, disabled, str(status.get("state", "")), message[:300])
    return None
VENDORS = (
    Vendor("NVIDIA", ("nvidia.com/",),
           (("nvidia.com/gpu.present", "true"), ("feature.node.kubernetes.io/pci-10de.present", "true"),
            ("cloud.google.com/gke-accelerator", ""), ("k8s.amazonaws.com/accelerator", ""),
            ("nvidia.com/gpu.product", "")),
           _NVIDIA_CHAIN, "device-plugin", family="nvidia.com/"),
    Vendor("AMD", ("amd.com/",),
           (("feature.node.kubernetes.io/amd-gpu", "true"), ("feature.node.kubernetes.io/pci-1002.present", "true"),
            ("amd.com/gpu.present", "true")),
           (Component("device-plugin", "AMD GPU device plugin", ("amdgpu-dp-ds", "amdgpu-device-plugin",
                                                                 "amd-gpu-device-plugin"),
                      ("amdgpu-device-plugin", "amd-gpu-device-plugin", "amdgpu-dp"), "registers amd.com/gpu"),),
           "device-plugin", family="amd.com/"),
    Vendor("Intel", ("gpu.intel.com/",),
           (("intel.feature.node.kubernetes.io/gpu", "true"), ("feature.node.kubernetes.io/pci-0300_8086.present", "true")),
           (Component("device-plugin", "Intel GPU device plugin", ("intel-gpu-plugin",), ("intel-gpu-plugin",),
                      "registers gpu.intel.com/i915 and xe"),),
           "device-plugin", family="gpu.intel.com/"),
    Vendor("AWS Neuron", ("aws.amazon.com/neuron",),
           (("aws.amazon.com/neuron.present", "true"),),
           (Component("device-plugin", "Neuron device plugin", ("neuron-device-plugin",), ("neuron-device-plugin",),
                      "registers aws.amazon.com/neuron*"),),
           "device-plugin", family="aws.amazon.com/neuron"),
    Vendor("Google TPU", ("google.com/tpu",),
           (("cloud.google.com/gke-tpu-accelerator", ""),),
           (Component("device-plugin", "TPU device plugin", ("tpu-device-plugin",), ("tpu-device-plugin",),
                      "registers google.com/tpu"),),
           "device-plugin", family="google.com/tpu"),
)
# Instance types whose hardware the label alone tells (EKS nodes without NFD).
_NEURON_INSTANCE_TYPES = ("inf1.", "inf2.", "trn1.", "trn1n.", "trn2.")
# nvidia.com/mig.config.state values the MIG manager sets while (or after failing at) partitioning.
_MIG_UNSETTLED = {"pending": "pending", "rebooting": "rebooting", "failed": "failed"}


def vendor_of(resource: str) -> Vendor | None:
    for v in VENDORS:
        if any(resource.startswith(p) for p in v.prefixes):
            return v
    return None


def is_accelerator(resource: str) -> bool:
    return vendor_of(resource) is not None


def hardware_label(resource: str, node: m.Node) -> str:
    """The label that says `node` has the devices behind `resource` ('' when none, or not an accelerator)."""
    vendor = vendor_of(resource)
    return _has_hardware(vendor, node) if vendor is not None else ""


def _has_hardware(vendor: Vendor, node: m.Node) -> str:
    """The label that says the node has the vendor's devices ('' when none does)."""
    for key, want in vendor.hardware_labels:
        have = node.labels.get(key)
        if have is not None and (not want or have == want):
            return f"{key}={have}"
    if vendor.name == "AWS Neuron":
        it = node.labels.get("node.kubernetes.io/instance-type", "")
        if it.startswith(_NEURON_INSTANCE_TYPES):
            return f"node.kubernetes.io/instance-type={it}"
    return ""


def _app_names(labels: Mapping[str, str]) -> set[str]:
    return {labels.get(k, "") for k in ("app", "app.kubernetes.io/name", "name", "k8s-app", "app.kubernetes.io/component")}


def _is_component(c: Component, name: str, labels: Mapping[str, str]) -> bool:
    if _app_names(labels) & set(c.apps):
        return True
    return any(part in name for part in c.name_parts)


@dataclass(frozen=True)
class PodState:
    pod: m.Pod
    status: str
    healthy: bool
    restarts: int
    last: str  # the last termination's reason / message, when it restarted


def _state(p: m.Pod) -> PodState:
    status = kubectl_status(p)
    statuses = p.container_statuses + p.init_container_statuses
    restarts = sum(s.restart_count for s in statuses)
    healthy = p.phase == "Running" and bool(p.container_statuses) and all(s.ready for s in p.container_statuses)
    last = ""
    for s in statuses:
        # A crash loop's own words are in the last termination, not in the back-off message.
        if s.last_reason or s.last_message:
            code = f" (exit code {s.last_exit_code})" if s.last_exit_code is not None else ""
            last = f"last exit {s.last_reason or 'Error'}{code}" + (f": {s.last_message}" if s.last_message else "")
            break
        if s.state == "waiting" and s.message and not last:
            last = s.message
    return PodState(p, status, healthy, restarts, last[:200])


class Stack:
    """The vendor's enablement stack as the snapshot shows it: component pods by node, DaemonSets."""

    def __init__(self, snapshot: Snapshot, vendor: Vendor) -> None:
        self.snapshot = snapshot
        self.vendor = vendor
        self.pods: dict[str, dict[str, list[PodState]]] = {c.key: defaultdict(list) for c in vendor.chain}
        self.anywhere: dict[str, list[PodState]] = {c.key: [] for c in vendor.chain}
        for p in snapshot.pods:
            if p.is_terminal or p.deletion_timestamp:
                continue
            for c in vendor.chain:
                if _is_component(c, p.name, p.labels):
                    st = _state(p)
                    self.anywhere[c.key].append(st)
                    if p.node_name:
                        self.pods[c.key][p.node_name].append(st)
                    break
        self.daemonsets: dict[str, list[m.Workload]] = {c.key: [] for c in vendor.chain}
        for w in snapshot.workloads:
            if w.kind != "DaemonSet":
                continue
            labels = w.template_pod.labels if w.template_pod is not None else {}
            for c in vendor.chain:
                if _is_component(c, w.name, labels):
                    self.daemonsets[c.key].append(w)
                    break
        self.policy = cluster_policy(snapshot) if vendor.name == "NVIDIA" else None
        # GPU Operator in use: its ClusterPolicy, its deploy labels on nodes, or its operands' pods
        self.operator = vendor.name == "NVIDIA" and (self.policy is not None or
            any(k.startswith("nvidia.com/gpu.deploy.") for n in snapshot.nodes for k in n.labels)
            or any(p.labels.get("app") == "gpu-operator" or p.name.startswith("gpu-operator") for p in snapshot.pods))

    def deployed(self, key: str) -> bool:
        """The component exists in this cluster at all (pods or a DaemonSet somewhere)."""
        return bool(self.anywhere[key] or self.daemonsets[key])

    def why_absent(self, key: str, node: m.Node) -> tuple[str, str, str]:
        """Why no pod of a deployed component is on the node: (link, detail, source)."""
        dep = node.labels.get(f"nvidia.com/gpu.deploy.{key}") if self.operator else None
        if dep is not None and dep != "true":
            return ("deploy-label", f"node label `nvidia.com/gpu.deploy.{key}={dep}`: the GPU Operator does not "
                    f"deploy the {key} on it", f"Node {node.name} metadata.labels")
        for ds in self.daemonsets[key]:
            t = ds.template_pod
            if t is None:
                continue
            ref = f"DaemonSet {ds.namespace}/{ds.name}"
            if t.node_selector and not all(node.labels.get(k) == v for k, v in t.node_selector.items()):
                sel = ", ".join(f"{k}={v}" for k, v in t.node_selector.items())
                missing = [f"{k}={v}" for k, v in t.node_selector.items() if node.labels.get(k) != v]
                return ("not-selected", f"{ref} has nodeSelector `{sel}`; node {node.name} lacks `{missing[0]}`",
                        f"{ref} spec.template.spec.nodeSelector")
            if t.required_node_affinity is not None and not node_selector_matches(
                    t.required_node_affinity, node.labels, node.name):
                return ("not-selected", f"{ref}'s required node affinity does not match node {node.name}'s labels",
                        f"{ref} spec.template.spec.affinity")
            bad = untolerated(node.taints, t.tolerations)
            if bad:
                taint = f"{bad[0].key}{'=' + bad[0].value if bad[0].value else ''}:{bad[0].effect}"
                return ("not-tolerated", f"{ref} does not tolerate node {node.name}'s taint `{taint}`",
                        f"{ref} spec.template.spec.tolerations")
        if self.daemonsets[key]:
            ds = self.daemonsets[key][0]
            return ("no-pod", f"DaemonSet {ds.namespace}/{ds.name} selects node {node.name} but has no pod on it "
                    f"({ds.ready_replicas}/{ds.replicas} ready)", f"DaemonSet {ds.namespace}/{ds.name} status")
        # DaemonSets read in a few namespaces only (`-n`) say nothing of kube-system or gpu-operator
        whole = self.snapshot.has("DaemonSet") and not self.snapshot.meta.namespaces
        why = "and no DaemonSet of it was found" if whole else "(DaemonSets of every namespace were not read)"
        return ("no-pod", f"no {key} pod on node {node.name} {why}", "Pod list")


@dataclass(frozen=True)
class Link:
    """What is broken on one node: the component, how, and the fact that shows it."""

    # disabled (ClusterPolicy) | other-name | deploy-label | not-selected | not-tolerated | no-pod | failing | mig | no-devices | absent
    # | registered-zero (no rule of its own: extended-resource-advertised-zero says it)
    link: str
    component: str
    detail: str
    source: str


_SPECIFIC = ("disabled", "failing", "mig", "deploy-label", "not-tolerated", "not-selected", "no-devices", "registered-zero",
             "no-pod", "absent")


def _node_link(stack: Stack, node: m.Node, resource: str) -> Link:
    link = _chain_link(stack, node, resource)
    policy = stack.policy
    host = [c for c in stack.vendor.chain if policy is not None and c.key in policy.disabled
            and c.key not in _NOT_CHAIN_LINKS and c.key != stack.vendor.plugin and not stack.pods[c.key].get(node.name)]
    if policy is not None and host and link.link in ("failing", "no-devices") \
            and (link.link == "no-devices" or " is Init:" in link.detail or _NEEDS_BELOW.search(link.detail)):
        # The operator was told the driver (or toolkit) is on the host; what fails above it says it is not.
        c = host[0]
        return Link("disabled", c.key, f"ClusterPolicy {policy.name} has `{policy.field(c.key)}: false` (the "
                    f"{c.title} is expected preinstalled on the host), and on {node.name} {link.detail}",
                    f"ClusterPolicy {policy.name} {policy.field(c.key)}; {link.source}")
    return link


def _chain_link(stack: Stack, node: m.Node, resource: str) -> Link:
    vendor = stack.vendor
    chain = vendor.chain
    policy = stack.policy
    for c in chain:
        if c.key in _NOT_CHAIN_LINKS:
            continue  # judged below, from the node's MIG state; GFD advertises nothing
        here = stack.pods[c.key].get(node.name, [])
        if policy is not None and c.key == vendor.plugin and c.key in policy.disabled and not here \
                and not stack.deployed(c.key) and resource not in node.allocatable:
            return Link("disabled", c.key, f"ClusterPolicy {policy.name} has `{policy.field(c.key)}: false`: the GPU "
                        f"Operator deploys no {c.title}, and none runs on {node.name}",
                        f"ClusterPolicy {policy.name} {policy.field(c.key)}")
        if not stack.deployed(c.key) and c.key != vendor.plugin:
            continue  # not part of this cluster's stack (a driver preinstalled on the host)
        if not here and c.key == vendor.plugin and resource in node.allocatable:
            # `resource: 0` means a plugin registered it here: its pod goes by a name we do not know
            # (or was not in the input); not absent, and not shown Running either.
            return Link("registered-zero", c.key, f"node {node.name} advertises `{resource}: 0` (a device plugin "
                        "registered it) and no device plugin pod is found on it under a known name",
                        f"Node {node.name} status.allocatable")
        if not here:
            if not stack.deployed(c.key):
                return Link("absent", c.key, f"no pod or DaemonSet of the {c.title} in the cluster", "Pod and "
                            "DaemonSet lists (all namespaces)")
            link, detail, source = stack.why_absent(c.key, node)
            return Link(link, c.key, detail, source)
        bad = [s for s in here if not s.healthy]
        if bad:
            s = bad[0]
            inits = [x.name for x in s.pod.init_container_statuses if not x.ready]
            detail = (f"{c.title} pod {s.pod.namespace}/{s.pod.name} on {node.name} is {s.status}"
                      + (f" ({s.restarts} restarts)" if s.restarts else "")
                      + (f", waiting in init container {inits[0]}" if inits else "")
                      + (f": {s.last}" if s.last else ""))
            return Link("failing", c.key, detail, f"Pod {s.pod.namespace}/{s.pod.name} status")
    state = node.labels.get("nvidia.com/mig.config.state", "")
    if state in _MIG_UNSETTLED:
        want = node.labels.get("nvidia.com/mig.config", "?")
        if policy is not None and "mig-manager" in policy.disabled and not stack.pods["mig-manager"].get(node.name):
            return Link("disabled", "mig-manager", f"node {node.name} asks for MIG profile `nvidia.com/mig.config={want}` "
                        f"(`nvidia.com/mig.config.state={state}`), and ClusterPolicy {policy.name} has "
                        f"`{policy.field('mig-manager')}: false`: nothing applies it",
                        f"ClusterPolicy {policy.name} {policy.field('mig-manager')}; Node {node.name} metadata.labels")
        mig = stack.pods["mig-manager"].get(node.name, []) if "mig-manager" in stack.pods else []
        who = f"; MIG manager pod {mig[0].pod.namespace}/{mig[0].pod.name} is {mig[0].status}" if mig else ""
        return Link("mig", "mig-manager", f"node {node.name} has `nvidia.com/mig.config.state={state}` (wanted "
                    f"profile `nvidia.com/mig.config={want}`){who}", f"Node {node.name} metadata.labels")
    plugin = stack.pods[vendor.plugin].get(node.name, [])
    name = f"{plugin[0].pod.namespace}/{plugin[0].pod.name}" if plugin else "?"
    have = node.allocatable.get(resource)
    shown = "advertises `" + resource + ": 0`" if have == 0 else f"does not advertise `{resource}`"
    return Link("no-devices", vendor.plugin, f"device plugin pod {name} is Running and ready on {node.name}, yet the "
                f"node {shown}", f"Pod {name} status; Node {node.name} status.allocatable")


def _other_names(snapshot: Snapshot, nodes: Sequence[m.Node], resource: str, vendor: Vendor) -> dict[str, list[str]]:
    """Names of the same vendor's devices the nodes advertise with units, other than `resource`."""
    out: dict[str, list[str]] = defaultdict(list)
    family = vendor.family or resource
    for n in nodes:
        for name, amount in n.allocatable.items():
            if name != resource and name.startswith(family) and amount > 0:
                out[name].append(n.name)
    return dict(out)


def _list(names: Sequence[str], n: int = 4) -> str:
    return ", ".join(names[:n]) + (f" and {len(names) - n} more" if len(names) > n else "")


def _holders(snapshot: Snapshot, nodes: Iterable[str], resource: str) -> list[tuple[m.Pod, int]]:
    out = []
    for name in nodes:
        for p in snapshot.pods_by_node.get(name, ()):
            amount = effective_requests(p).get(resource, 0)
            if amount > 0:
                out.append((p, amount))
    out.sort(key=lambda x: (-x[1], x[0].namespace, x[0].name))
    return out


def refine(signal: Signal, pod: m.Pod, snapshot: Snapshot) -> Signal:
    """The extended-resource signal with the accelerator stack's broken link, when it is one; a label
    selector on a GPU feature discovery label no node has, with why GFD does not publish it."""
    if signal.name in ("node-selector-mismatch", "node-affinity-mismatch"):
        return _feature_labels(signal, snapshot)
    if signal.name not in ("extended-resource-missing", "extended-resource-exhausted"):
        return signal
    resource = str(signal.params.get("resource", ""))
    vendor = vendor_of(resource)
    if vendor is None:
        return signal
    if any(c.extended_resource_name == resource for c in snapshot.device_classes):
        return signal  # backed by DRA (a DeviceClass's extendedResourceName): no device plugin involved
    by_name = snapshot.node_by_name
    nodes = [by_name[n] for n in signal.nodes if n in by_name]
    if signal.name == "extended-resource-exhausted":
        return _exhausted(signal, snapshot, nodes, resource, pod)
    # Requested under one name, advertised under another (MIG profiles, shared GPUs).
    others = _other_names(snapshot, nodes, resource, vendor)
    if others:
        listed = "; ".join(f"`{k}` on {_list(v)}" for k, v in sorted(others.items(), key=lambda kv: -len(kv[1])))
        best = max(others.items(), key=lambda kv: (len(kv[1]), kv[0]))[0]
        seen = EvidenceItem(kind="object", summary=f"the target nodes advertise {listed}, and no `{resource}`",
                            source="Node status.allocatable", data={k: v[:20] for k, v in others.items()})
        params = {**signal.params, "accelerator_link": "other-name", "advertised_as": listed,
                  "suggested_resource": best, "mig": "mig-" in best or "mig-" in resource,
                  "shared": best.endswith(".shared") or resource.endswith(".shared")}
        return replace(signal, params=params, evidence=signal.evidence + (seen,),
                       effects=(f"the nodes advertise the devices as {best}, not {resource}",) + signal.effects)
    # Nodes that have the hardware (labels), else those that advertise 0 (a plugin registered there).
    hardware = [(n, _has_hardware(vendor, n)) for n in nodes]
    suspects = [(n, why) for n, why in hardware if why] or [(n, "advertises 0") for n in nodes
                                                           if n.allocatable.get(resource) == 0]
    if not suspects:
        return signal
    stack = Stack(snapshot, vendor)
    links = [(n, why, _node_link(stack, n, resource)) for n, why in suspects]
    unread = sorted({x.resource for x in snapshot.meta.missing if x.resource in ("pods", "daemonsets")})
    if unread:
        # Absent pods may be unread pods: never name a missing component on that basis.
        links = [(n, why, lk) for n, why, lk in links if lk.link not in ("absent", "no-pod")]
        if not links:
            return signal
    groups: dict[tuple[str, str], list[tuple[m.Node, str, Link]]] = defaultdict(list)
    for item in links:
        groups[(item[2].link, item[2].component)].append(item)
    # The link on most nodes; among equals, the one with the most direct evidence.
    (link, component), items = max(groups.items(), key=lambda kv: (len(kv[1]), -_SPECIFIC.index(kv[0][0]), kv[0]))
    comp = next(c for c in vendor.chain if c.key == component)
    names = [n.name for n, _, _ in items]
    ev = [EvidenceItem(kind="object", summary=f"{len(suspects)} target node(s) have {vendor.name} hardware: "
                       + _list([f"{n.name} ({why})" for n, why in suspects]),
                       source="Node metadata.labels / status.allocatable",
                       data={"nodes": [n.name for n, _ in suspects[:50]]})]
    for _, _, lk in items[:5]:
        ev.append(EvidenceItem(kind="status" if lk.link == "failing" else "object", summary=lk.detail,
                               source=lk.source, data={"link": lk.link, "component": lk.component}))
    healthy_plugins = [s for s in stack.anywhere[vendor.plugin] if s.healthy]
    if healthy_plugins:
        ev.append(EvidenceItem(kind="status", summary=f"{len(healthy_plugins)} {vendor.name} device plugin pod(s) "
                               f"are Running and ready in the cluster: " + _list([s.pod.name for s in healthy_plugins]),
                               source="Pod list (all namespaces)"))
    ev += _policy_evidence(stack.policy)
    others_count = Counter(lk.link for _, _, lk in links)
    params = {**signal.params, **_policy_params(stack.policy, component), "accelerator_link": link, "component": component, "component_title": comp.title,
              "component_role": comp.role, "vendor": vendor.name, "link_detail": items[0][2].detail,
              "problem_nodes": _list(names), "problem_count": len(names),
              "hardware_evidence": _list([f"{n.name} ({why})" for n, why, _ in items], 3),
              "hardware_count": len(suspects), "operator": stack.operator,
              "other_links": ", ".join(f"{k} ({v})" for k, v in others_count.items() if k != link)}
    effects = (f"{comp.title} broken on {len(names)} node(s): {link}",
               f"no usable {resource} is advertised on the {vendor.name} nodes") + signal.effects
    return replace(signal, params=params, evidence=signal.evidence + tuple(ev), effects=effects,
                   subject=_subject(items[0][2], signal.subject))


def _is_gfd_label(key: str) -> bool:
    """A label GPU feature discovery publishes (nvidia.com/gpu.product, gpu.memory, cuda.driver.major, ...);
    the operator's own (gpu.present, gpu.deploy.*, mig.config*) are not."""
    return key.startswith("nvidia.com/") and key != "nvidia.com/gpu.present" \
        and not key.startswith(("nvidia.com/gpu.deploy.", "nvidia.com/mig.config"))


def _feature_labels(signal: Signal, snapshot: Snapshot) -> Signal:
    """No node has the GFD label the pod selects on: say which link keeps GFD from publishing it."""
    key = str(signal.params.get("key", ""))
    if not signal.params.get("key_absent") or not _is_gfd_label(key):
        return signal
    vendor = VENDORS[0]
    hardware = [(n, why) for n in snapshot.nodes if (why := _has_hardware(vendor, n))]
    if not hardware:
        return signal
    stack = Stack(snapshot, vendor)
    gfd = next(c for c in vendor.chain if c.key == "gpu-feature-discovery")
    policy = stack.policy
    unread = any(x.resource in ("pods", "daemonsets") for x in snapshot.meta.missing)
    links: list[tuple[m.Node, Link]] = []
    for n, _ in hardware:
        here = stack.pods[gfd.key].get(n.name, [])
        bad = [s for s in here if not s.healthy]
        if policy is not None and gfd.key in policy.disabled and not here:
            links.append((n, Link("disabled", gfd.key, f"ClusterPolicy {policy.name} has `{policy.field(gfd.key)}: "
                                  f"false`: no {gfd.title} runs to publish `{key}`",
                                  f"ClusterPolicy {policy.name} {policy.field(gfd.key)}")))
        elif bad:
            s = bad[0]
            links.append((n, Link("failing", gfd.key, f"{gfd.title} pod {s.pod.namespace}/{s.pod.name} on {n.name} "
                                  f"is {s.status}" + (f": {s.last}" if s.last else ""),
                                  f"Pod {s.pod.namespace}/{s.pod.name} status")))
        elif not here and not unread:
            if stack.deployed(gfd.key):
                why_link, detail, source = stack.why_absent(gfd.key, n)
                links.append((n, Link(why_link, gfd.key, detail, source)))
            else:
                links.append((n, Link("absent", gfd.key, f"no pod or DaemonSet of the {gfd.title} in the cluster",
                                      "Pod and DaemonSet lists (all namespaces)")))
    if not links:
        return signal  # GFD runs on every GPU node: the key is not one it publishes (a typo: said as such)
    groups: dict[str, list[tuple[m.Node, Link]]] = defaultdict(list)
    for n, lk in links:
        groups[lk.link].append((n, lk))
    link, items = max(groups.items(), key=lambda kv: (len(kv[1]), -_SPECIFIC.index(kv[0]) if kv[0] in _SPECIFIC
                                                      else 0, kv[0]))
    lk = items[0][1]
    names = [n.name for n, _ in items]
    if link == "disabled" and policy is not None:
        how = f"enable it in the ClusterPolicy: `{policy.patch(gfd.key)}`"
    elif link == "failing":
        pod_ref = lk.source.split(" ")[1]
        ns, _, name = pod_ref.partition("/")
        how = f"find why its pod fails: `kubectl logs -n {ns} {name}`"
    elif link == "absent":
        how = ("deploy it (the GPU Operator does unless `spec.gfd.enabled` is false; standalone: the "
               "gpu-feature-discovery DaemonSet of NVIDIA's k8s-device-plugin)")
    else:
        how = f"let its DaemonSet run there ({lk.detail})"
    ev = [EvidenceItem(kind="object", summary=f"{len(hardware)} node(s) have NVIDIA hardware and no `{key}` label: "
                       + _list([f"{n.name} ({why})" for n, why in hardware]),
                       source="Node metadata.labels", data={"nodes": [n.name for n, _ in hardware[:50]]})]
    ev += [EvidenceItem(kind="status" if x.link == "failing" else "object", summary=x.detail, source=x.source,
                        data={"link": x.link, "component": x.component}) for _, x in items[:5]]
    ev += _policy_evidence(policy)
    params = {**signal.params, **_policy_params(policy, gfd.key), "accelerator_link": link,
              "component": gfd.key, "component_title": gfd.title, "vendor": vendor.name, "link_detail": lk.detail,
              "problem_nodes": _list(names), "problem_count": len(names), "gfd_fix": how,
              # GFD owns the label: a hand-set one goes stale (and is overwritten when GFD runs)
              "label_candidates": ""}
    return replace(signal, params=params, evidence=signal.evidence + tuple(ev),
                   effects=(f"{gfd.title} does not run on the NVIDIA nodes: {link}",
                            f"no node has the label `{key}`") + signal.effects,
                   subject=_subject(lk, signal.subject))


def _policy_evidence(policy: ClusterPolicy | None) -> list[EvidenceItem]:
    if policy is None or policy.state in ("", "ready"):
        return []
    return [EvidenceItem(kind="status", summary=f"ClusterPolicy {policy.name} status.state: {policy.state}"
                         + (f" ({policy.message})" if policy.message else ""),
                         source=f"ClusterPolicy {policy.name} status")]


def _policy_params(policy: ClusterPolicy | None, component: str) -> dict[str, object]:
    known = policy is not None and component in CLUSTER_POLICY_FIELDS
    return {"cluster_policy": policy.name if policy else "", "cluster_policy_state": policy.state if policy else "",
            "cp_field": policy.field(component) if policy and known else "",
            "cp_patch": policy.patch(component) if policy and known else ""}


def _subject(lk: Link, default: str) -> str:
    src = lk.source.split(" status")[0].split(" spec.")[0].split(" metadata")[0]
    kind, _, name = src.partition(" ")
    name = name.split(" ")[0] if kind == "ClusterPolicy" else name
    if kind in ("Pod", "DaemonSet", "Node", "ClusterPolicy") and name and ";" not in name:
        return f"{kind}/{name}"
    return default


def _exhausted(signal: Signal, snapshot: Snapshot, nodes: Sequence[m.Node], resource: str, pod: m.Pod) -> Signal:
    """Every unit is taken: by whom, on which nodes (the pods holding them, largest first)."""
    with_units = [n.name for n in nodes if n.allocatable.get(resource, 0) > 0]
    holders = _holders(snapshot, with_units, resource)
    if not holders:
        return signal
    shown = [f"{p.namespace}/{p.name} ({amount} on {p.node_name})" for p, amount in holders]
    by_ns: Counter[str] = Counter()
    for p, amount in holders:
        by_ns[p.namespace] += amount
    ev = EvidenceItem(kind="object", summary=f"{len(holders)} pod(s) hold the {resource} on the target nodes: "
                      + _list(shown, 6), source="Pod list (all namespaces): resources.requests",
                      data={"holders": [{"pod": f"{p.namespace}/{p.name}", "node": p.node_name, "amount": a}
                                        for p, a in holders[:50]]})
    params = {**signal.params, "accelerator_link": "exhausted", "holders": _list(shown, 5),
              "holder_count": len(holders),
              "holder_namespaces": ", ".join(f"{ns} ({n})" for ns, n in by_ns.most_common(5)),
              "top_holder": f"{holders[0][0].namespace}/{holders[0][0].name}",
              # every unit is held by the pod's own siblings (a Deployment scaled past its pool): freeing
              # them is no fix, capacity is
              "own_replicas": pod.owner is not None and all(
                  h.owner is not None and h.namespace == pod.namespace and (h.owner.kind, h.owner.name)
                  == (pod.owner.kind, pod.owner.name) for h, _ in holders),
              "owner": f"{pod.owner.kind.lower()}/{pod.owner.name}" if pod.owner else ""}
    return replace(signal, params=params, evidence=signal.evidence + (ev,))


def refine_quota(signal: Signal, snapshot: Snapshot, namespace: str) -> Signal:
    """A ResourceQuota on an accelerator (`requests.nvidia.com/gpu`) that refuses new pods: which pods
    of the namespace hold the quota, so that the answer names them, not only the numbers."""
    if signal.name != "quota-exceeded":
        return signal
    text = str(signal.params.get("resources", ""))
    res = next((r for r in re.findall(r"(?:requests\.|limits\.)?([a-z0-9.-]+\.[a-z]+/[A-Za-z0-9._-]+)", text)
                if is_accelerator(r)), "")
    if not res:
        return signal
    holders = sorted(((p, effective_requests(p).get(res, 0)) for p in snapshot.pods
                      if p.namespace == namespace and not p.is_terminal and not p.deletion_timestamp),
                     key=lambda x: (-x[1], x[0].name))
    holders = [(p, a) for p, a in holders if a > 0]
    if not holders:
        return signal
    owners: Counter[str] = Counter()
    for p, a in holders:
        owners[f"{p.owner.kind.lower()}/{p.owner.name}" if p.owner else f"pod/{p.name}"] += a
    shown = [f"{k} ({v})" for k, v in owners.most_common()]
    ev = EvidenceItem(kind="object", summary=f"{len(holders)} pod(s) in namespace {namespace} hold {sum(a for _, a in holders)} "
                      f"{res}: " + _list(shown, 6), source=f"Pod list (namespace {namespace}): resources.requests",
                      data={"holders": [{"pod": p.name, "amount": a} for p, a in holders[:50]]})
    params = {**signal.params, "accelerator": res, "quota_holders": _list(shown, 5), "quota_holder_count": len(holders)}
    return replace(signal, params=params, evidence=signal.evidence + (ev,))


def refine_all(signals: Sequence[Signal], pod: m.Pod, snapshot: Snapshot) -> list[Signal]:
    return [refine(s, pod, snapshot) for s in signals]


__all__ = ["VENDORS", "hardware_label", "is_accelerator", "refine", "refine_all", "refine_quota", "vendor_of"]
