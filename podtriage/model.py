"""The snapshot's object model: plain, frozen data holding only the fields podtriage reads.

Both the live collector and the offline loaders turn Kubernetes JSON into these types through
`podtriage.convert`, so every analysis runs identically on both. Resource amounts are kept in
scheduler units (millicores for cpu, whole units rounded up for everything else).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

Resources = Mapping[str, int]  # resource name -> scheduler units


@dataclass(frozen=True)
class ObjectRef:
    kind: str
    name: str
    namespace: str = ""
    uid: str = ""

    def __str__(self) -> str:
        ns = f"{self.namespace}/" if self.namespace else ""
        return f"{self.kind}/{ns}{self.name}"


@dataclass(frozen=True)
class OwnerRef:
    kind: str
    name: str
    uid: str = ""
    controller: bool = False


@dataclass(frozen=True)
class Taint:
    key: str
    value: str = ""
    effect: str = ""

    def __str__(self) -> str:
        return f"{self.key}={self.value}:{self.effect}" if self.value else f"{self.key}:{self.effect}"


@dataclass(frozen=True)
class Toleration:
    key: str = ""
    operator: str = "Equal"
    value: str = ""
    effect: str = ""
    toleration_seconds: int | None = None

    def __str__(self) -> str:
        if self.operator == "Exists":
            head = f"{self.key or '*'} Exists"
        else:
            head = f"{self.key}={self.value}"
        return f"{head}:{self.effect or '*'}"


@dataclass(frozen=True)
class Requirement:
    """A NodeSelectorRequirement or LabelSelectorRequirement."""

    key: str
    operator: str
    values: tuple[str, ...] = ()


@dataclass(frozen=True)
class NodeSelectorTerm:
    match_expressions: tuple[Requirement, ...] = ()
    match_fields: tuple[Requirement, ...] = ()


@dataclass(frozen=True)
class LabelSelector:
    match_labels: tuple[tuple[str, str], ...] = ()
    match_expressions: tuple[Requirement, ...] = ()

    @property
    def is_empty(self) -> bool:
        return not self.match_labels and not self.match_expressions


@dataclass(frozen=True)
class PodAffinityTerm:
    topology_key: str
    label_selector: LabelSelector | None = None
    namespaces: tuple[str, ...] = ()
    namespace_selector: LabelSelector | None = None
    match_label_keys: tuple[str, ...] = ()
    mismatch_label_keys: tuple[str, ...] = ()


@dataclass(frozen=True)
class TopologySpreadConstraint:
    max_skew: int
    topology_key: str
    when_unsatisfiable: str
    label_selector: LabelSelector | None = None
    min_domains: int | None = None
    node_affinity_policy: str = "Honor"
    node_taints_policy: str = "Ignore"
    match_label_keys: tuple[str, ...] = ()


@dataclass(frozen=True)
class ContainerPort:
    container_port: int
    host_port: int = 0
    protocol: str = "TCP"
    host_ip: str = ""


@dataclass(frozen=True)
class ConfigRef:
    """A reference from a container or volume to a ConfigMap or Secret (never its data)."""

    kind: str  # ConfigMap | Secret
    name: str
    key: str = ""  # empty: the whole object (envFrom, volume)
    optional: bool = False
    via: str = ""  # "env FOO", "envFrom", "volume config"


@dataclass(frozen=True)
class Container:
    name: str
    image: str = ""
    requests: Resources = field(default_factory=dict)
    limits: Resources = field(default_factory=dict)
    ports: tuple[ContainerPort, ...] = ()
    config_refs: tuple[ConfigRef, ...] = ()
    restart_policy: str = ""  # "Always" on an init container = restartable sidecar
    # The requests as the spec writes them ("6.5G"), a limit standing in for a missing request
    # included: answers quote these, not the scheduler's units
    requests_text: Mapping[str, str] = field(default_factory=dict)
    # An init container's command line as answers show it (podtriage.waitrefs.shown_command: every
    # word that could be a credential is "…"), and the objects it waits for, (kind, namespace or ""
    # for the pod's own, name). The command line itself is never kept. App containers: empty.
    command_shown: str = ""
    waits: tuple[tuple[str, str, str], ...] = ()


@dataclass(frozen=True)
class Volume:
    name: str
    kind: str  # persistentVolumeClaim | ephemeral | configMap | secret | hostPath | emptyDir | csi | other
    claim_name: str = ""  # PVC name (for ephemeral: <pod>-<volume>)
    read_only: bool = False
    source_name: str = ""  # ConfigMap/Secret name
    optional: bool = False
    unique_disk: str = ""  # gcePD/awsEBS/rbd/iscsi identity for VolumeRestrictions
    # rbd: the Ceph monitors and pool (a conflict needs an overlapping monitor and the same pool)
    rbd_monitors: tuple[str, ...] = ()
    rbd_pool: str = ""
    driver: str = ""  # inline csi volume: spec.csi.driver


@dataclass(frozen=True)
class PodResourceClaim:
    """One entry of pod.spec.resourceClaims: a ResourceClaim by name, or one made from a template."""

    name: str
    claim_name: str = ""  # resourceClaimName
    template_name: str = ""  # resourceClaimTemplateName


@dataclass(frozen=True)
class ContainerState:
    """One container status, flattened: the current state and the last terminated one."""

    name: str
    state: str = ""  # waiting | running | terminated | ""
    reason: str = ""
    message: str = ""
    exit_code: int | None = None
    started_at: str = ""
    finished_at: str = ""
    restart_count: int = 0
    ready: bool = False
    started: bool | None = None
    container_id: str = ""
    image: str = ""
    last_reason: str = ""
    last_exit_code: int | None = None
    last_message: str = ""  # lastState.terminated.message: what a crash-looping container last said
    last_finished_at: str = ""
    last_started_at: str = ""


@dataclass(frozen=True)
class Condition:
    type: str
    status: str
    reason: str = ""
    message: str = ""
    last_transition_time: str = ""


@dataclass(frozen=True)
class Pod:
    namespace: str
    name: str
    uid: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)
    owner: OwnerRef | None = None
    creation_timestamp: str = ""
    deletion_timestamp: str = ""
    node_name: str = ""
    scheduler_name: str = "default-scheduler"
    priority: int = 0
    priority_class_name: str = ""
    preemption_policy: str = ""
    node_selector: Mapping[str, str] = field(default_factory=dict)
    required_node_affinity: tuple[NodeSelectorTerm, ...] | None = None  # None: no required affinity
    pod_affinity: tuple[PodAffinityTerm, ...] = ()
    pod_anti_affinity: tuple[PodAffinityTerm, ...] = ()
    tolerations: tuple[Toleration, ...] = ()
    containers: tuple[Container, ...] = ()
    init_containers: tuple[Container, ...] = ()
    overhead: Resources = field(default_factory=dict)
    # spec.resources.requests (PodLevelResources): replaces the containers' total for cpu/memory
    pod_requests: Resources = field(default_factory=dict)
    volumes: tuple[Volume, ...] = ()
    topology_spread_constraints: tuple[TopologySpreadConstraint, ...] = ()
    scheduling_gates: tuple[str, ...] = ()
    image_pull_secrets: tuple[str, ...] = ()
    runtime_class_name: str = ""
    service_account_name: str = ""
    active_deadline_seconds: int | None = None
    host_network: bool = False
    # status
    phase: str = "Pending"
    reason: str = ""
    message: str = ""
    nominated_node_name: str = ""
    start_time: str = ""
    conditions: tuple[Condition, ...] = ()
    container_statuses: tuple[ContainerState, ...] = ()
    init_container_statuses: tuple[ContainerState, ...] = ()
    # DRA: spec.resourceClaims and status.resourceClaimStatuses (pod claim name -> generated
    # ResourceClaim name, "" when the controller decided none is needed)
    resource_claims: tuple[PodResourceClaim, ...] = ()
    resource_claim_statuses: Mapping[str, str] = field(default_factory=dict)
    # NodeDeclaredFeatures the spec requires of a node (inferred like the scheduler does)
    required_features: tuple[str, ...] = ()
    # the vpaUpdates annotation: "Pod resources updated by <vpa>: container 0: cpu request, ..." (VPA admission)
    vpa_updates: str = ""

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    def condition(self, type_: str) -> Condition | None:
        for c in self.conditions:
            if c.type == type_:
                return c
        return None

    @property
    def is_terminal(self) -> bool:
        return self.phase in ("Succeeded", "Failed")


@dataclass(frozen=True)
class Node:
    name: str
    uid: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)
    taints: tuple[Taint, ...] = ()
    unschedulable: bool = False
    allocatable: Resources = field(default_factory=dict)
    capacity: Resources = field(default_factory=dict)
    conditions: tuple[Condition, ...] = ()
    creation_timestamp: str = ""
    deletion_timestamp: str = ""
    # CSINode per-driver attachable volume limits (NodeVolumeLimits), keyed by driver name
    volume_limits: Mapping[str, int] = field(default_factory=dict)
    # The newest lastHeartbeatTime of its conditions: kubelet's last word, so close to when the
    # snapshot was taken (podtriage.judged)
    last_heartbeat: str = ""
    # status.declaredFeatures (NodeDeclaredFeatures)
    declared_features: tuple[str, ...] = ()
    # CSINode spec.drivers[].name; None when the node has no CSINode object (or none was read)
    csi_drivers: tuple[str, ...] | None = None

    def condition(self, type_: str) -> Condition | None:
        for c in self.conditions:
            if c.type == type_:
                return c
        return None

    @property
    def ready(self) -> str:
        c = self.condition("Ready")
        return c.status if c else "Unknown"


@dataclass(frozen=True)
class PersistentVolumeClaim:
    namespace: str
    name: str
    uid: str = ""
    storage_class_name: str | None = None  # None: field unset (default class applies)
    volume_name: str = ""
    phase: str = "Pending"
    access_modes: tuple[str, ...] = ()
    requested_storage: int = 0
    deletion_timestamp: str = ""
    selected_node: str = ""  # volume.kubernetes.io/selected-node annotation
    labels: Mapping[str, str] = field(default_factory=dict)
    # pv.kubernetes.io/bind-completed: with volume_name, what the scheduler calls "fully bound"
    bind_completed: bool = False
    selector: LabelSelector | None = None
    volume_mode: str = "Filesystem"
    volume_attributes_class: str = ""
    owner: OwnerRef | None = None  # the controller (a generic ephemeral volume's pod)
    has_storage_request: bool = False  # spec.resources.requests.storage set


@dataclass(frozen=True)
class PersistentVolume:
    name: str
    uid: str = ""
    storage_class_name: str = ""
    capacity_storage: int = 0
    access_modes: tuple[str, ...] = ()
    phase: str = "Available"
    claim_ref: ObjectRef | None = None
    node_affinity: tuple[NodeSelectorTerm, ...] | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    csi_driver: str = ""
    volume_mode: str = "Filesystem"
    csi_volume_handle: str = ""
    volume_attributes_class: str = ""
    deletion_timestamp: str = ""
    # an in-tree source CSI migration translates: (plugin, volume id), e.g.
    # ("kubernetes.io/aws-ebs", "vol-0abc"); ("", "") when the PV is CSI or not migratable
    in_tree: tuple[str, str] = ("", "")


@dataclass(frozen=True)
class StorageClass:
    name: str
    provisioner: str = ""
    volume_binding_mode: str = "Immediate"
    is_default: bool = False
    allowed_topologies: tuple[NodeSelectorTerm, ...] = ()


@dataclass(frozen=True)
class CSIDriver:
    name: str
    attach_required: bool = True
    storage_capacity: bool = False
    prevent_scheduling_if_missing: bool = False


@dataclass(frozen=True)
class CSIStorageCapacity:
    namespace: str
    name: str
    storage_class: str = ""
    capacity: int | None = None  # bytes; None when unset
    maximum_volume_size: int | None = None
    node_topology: LabelSelector | None = None


@dataclass(frozen=True)
class VolumeAttachment:
    name: str
    attacher: str = ""
    node: str = ""
    pv_name: str = ""


# --- Dynamic Resource Allocation (resource.k8s.io/v1) ----------------------------------------------

@dataclass(frozen=True)
class DeviceAttribute:
    """One typed attribute value: kind is int | bool | string | version."""

    kind: str
    value: Any


@dataclass(frozen=True)
class CapacityPolicy:
    default: str = ""
    valid_values: tuple[str, ...] = ()
    min: str = ""
    max: str = ""
    step: str = ""
    has_range: bool = False


@dataclass(frozen=True)
class DeviceCapacity:
    value: str  # the quantity as written
    policy: CapacityPolicy | None = None


# A device's taints and a claim request's tolerations have the node ones' fields and matching rule
# (resourceclaim.ToleratesTaint is v1.Toleration.ToleratesTaint): the same classes.
DeviceTaint = Taint
DeviceToleration = Toleration


@dataclass(frozen=True)
class Device:
    name: str
    attributes: Mapping[str, DeviceAttribute] = field(default_factory=dict)  # qualified or bare name
    capacity: Mapping[str, DeviceCapacity] = field(default_factory=dict)
    consumes_counters: tuple[tuple[str, Mapping[str, str]], ...] = ()  # (counter set, {counter: qty})
    taints: tuple[DeviceTaint, ...] = ()
    allow_multiple_allocations: bool = False
    binds_to_node: bool = False
    binding_conditions: tuple[str, ...] = ()
    # per-device node selection (slice.spec.perDeviceNodeSelection)
    node_name: str = ""
    all_nodes: bool = False
    node_selector: tuple[NodeSelectorTerm, ...] | None = None


@dataclass(frozen=True)
class ResourceSlice:
    name: str
    driver: str
    pool: str
    generation: int = 0
    slice_count: int = 1
    node_name: str = ""
    all_nodes: bool = False
    node_selector: tuple[NodeSelectorTerm, ...] | None = None
    per_device_node_selection: bool = False
    devices: tuple[Device, ...] = ()
    shared_counters: tuple[tuple[str, Mapping[str, str]], ...] = ()  # (counter set, {counter: qty})


@dataclass(frozen=True)
class DeviceClass:
    name: str
    selectors: tuple[str, ...] = ()  # CEL expressions
    extended_resource_name: str = ""
    creation_timestamp: str = ""


@dataclass(frozen=True)
class DeviceSubRequest:
    """A request of `exactly` one kind, or one firstAvailable alternative."""

    name: str
    device_class: str = ""
    selectors: tuple[str, ...] = ()
    allocation_mode: str = "ExactCount"
    count: int = 1
    admin_access: bool = False
    tolerations: tuple[DeviceToleration, ...] = ()
    capacity_requests: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class DeviceRequest:
    name: str
    exactly: DeviceSubRequest | None = None
    first_available: tuple[DeviceSubRequest, ...] = ()


@dataclass(frozen=True)
class DeviceConstraint:
    requests: tuple[str, ...] = ()
    match_attribute: str = ""
    distinct_attribute: str = ""


@dataclass(frozen=True)
class AllocatedDevice:
    request: str
    driver: str
    pool: str
    device: str
    admin_access: bool = False
    share_id: str = ""
    consumed_capacity: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ResourceClaim:
    namespace: str
    name: str
    uid: str = ""
    owner: OwnerRef | None = None  # the controller
    deletion_timestamp: str = ""
    requests: tuple[DeviceRequest, ...] = ()
    constraints: tuple[DeviceConstraint, ...] = ()
    allocated: bool = False
    results: tuple[AllocatedDevice, ...] = ()
    allocation_node_selector: tuple[NodeSelectorTerm, ...] | None = None
    reserved_for: tuple[ObjectRef, ...] = ()
    extended_resource_claim: bool = False  # resource.kubernetes.io/extended-resource-claim annotation

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True)
class ResourceClaimTemplate:
    namespace: str
    name: str
    requests: tuple[DeviceRequest, ...] = ()
    constraints: tuple[DeviceConstraint, ...] = ()


@dataclass(frozen=True)
class Event:
    namespace: str
    name: str
    uid: str = ""
    type: str = ""  # Normal | Warning
    reason: str = ""
    message: str = ""
    involved: ObjectRef | None = None
    source: str = ""  # reportingController / source.component
    first_timestamp: str = ""
    last_timestamp: str = ""
    count: int = 1


@dataclass(frozen=True)
class Workload:
    """A pod controller: Deployment, ReplicaSet, StatefulSet, DaemonSet, Job, CronJob."""

    kind: str
    namespace: str
    name: str
    uid: str = ""
    owner: OwnerRef | None = None
    replicas: int | None = None
    ready_replicas: int = 0
    available_replicas: int = 0
    selector: LabelSelector | None = None
    conditions: tuple[Condition, ...] = ()
    template_pod: Pod | None = None  # the pod template, converted like a pod
    labels: Mapping[str, str] = field(default_factory=dict)
    suspended: bool = False  # a Job's spec.suspend: no pods until something (a queue controller) resumes it


@dataclass(frozen=True)
class AddonObject:
    """An object of an add-on's API the diagnosis reads for context (Kueue's queues and Workloads,
    the GPU Operator's ClusterPolicy): its JSON as read (managedFields dropped), parsed by the one
    module that reads it (diagnose/queueing.py, diagnose/accelerators.py)."""

    api_version: str
    kind: str
    namespace: str
    name: str
    uid: str = ""
    body: Mapping[str, Any] = field(default_factory=dict)

    @property
    def group(self) -> str:
        return self.api_version.rpartition("/")[0]


@dataclass(frozen=True)
class PriorityClass:
    name: str
    value: int = 0
    preemption_policy: str = "PreemptLowerPriority"
    global_default: bool = False


@dataclass(frozen=True)
class PodDisruptionBudget:
    namespace: str
    name: str
    selector: LabelSelector | None = None
    disruptions_allowed: int = 0


@dataclass(frozen=True)
class ResourceQuota:
    namespace: str
    name: str
    hard: Mapping[str, str] = field(default_factory=dict)
    used: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class LimitRange:
    namespace: str
    name: str
    limits: tuple[Mapping[str, object], ...] = ()


@dataclass(frozen=True)
class NamespaceInfo:
    name: str
    labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ObjectMeta:
    """Metadata-only view of a ConfigMap or Secret: name and key names, never values."""

    kind: str
    namespace: str
    name: str
    keys: tuple[str, ...] | None = None  # None when only existence is known


@dataclass(frozen=True)
class RuntimeClass:
    name: str
    handler: str = ""


@dataclass(frozen=True)
class Missing:
    """Something the collector could not read, and why (forbidden, not found, not in the files)."""

    resource: str
    namespace: str = ""
    reason: str = ""


# --- pickling -------------------------------------------------------------------------------------
# A large file's second half is converted in a forked process and sent back pickled
# (loaders/jsonstream.py). The default protocol rebuilds each frozen object through a failed
# __setstate__ lookup and a key-by-key update; handing the unpickler the object's dict whole is
# about 45% faster, which is most of the cost of receiving 75,000 pods.

def _rebuild(cls: type, state: dict) -> Any:
    obj: Any = object.__new__(cls)
    object.__setattr__(obj, "__dict__", state)
    return obj


def _reduce(obj: Any) -> tuple[Any, tuple[type, dict]]:
    return _rebuild, (type(obj), obj.__dict__)


def _register_pickling() -> None:
    import copyreg
    import dataclasses

    for value in list(globals().values()):
        if isinstance(value, type) and dataclasses.is_dataclass(value) and value.__module__ == __name__:
            copyreg.pickle(value, _reduce)


_register_pickling()
