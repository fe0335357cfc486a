"""Kubernetes JSON (as the API or `kubectl get -o json|yaml` gives it) -> podtriage.model.

Tolerant by design: a field of the wrong type is treated as absent, never a traceback. Objects
that cannot be converted at all raise ConversionError, which the loaders turn into a warning
naming the object that was skipped.

Built for 150k pods: only the keys an object has are converted, and within one load (a
ConvertCache, see "Pods" below) the parts the replicas of a workload share are converted once
and shared. Shared parts are immutable: frozen dataclasses, tuples and read-only FrozenMaps.
tests/loaders/test_convert_equivalence.py holds this module to a frozen copy of the plain
implementation it replaced.
"""

from __future__ import annotations

import dataclasses
import marshal
import sys
from functools import lru_cache
from typing import Any, Callable, Mapping, NoReturn, TypeVar

from . import model as m
from .quantity import QuantityError, to_scheduler_units
from .waitrefs import container_summary

# Resource kinds podtriage reads, by the `kind` field of a List item.
KNOWN_KINDS = (
    "Pod", "Node", "Event", "PersistentVolumeClaim", "PersistentVolume", "StorageClass",
    "Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job", "CronJob",
    "PriorityClass", "PodDisruptionBudget", "ResourceQuota", "LimitRange", "Namespace",
    "ConfigMap", "Secret", "RuntimeClass", "CSINode",
    "CSIDriver", "CSIStorageCapacity", "VolumeAttachment",
    "DeviceClass", "ResourceSlice", "ResourceClaim", "ResourceClaimTemplate",
    "Workload", "LocalQueue", "ClusterQueue", "ResourceFlavor",  # Kueue (ADDON_KINDS)
    "VerticalPodAutoscaler", "InferenceService", "ClusterPolicy", "HorizontalPodAutoscaler", "PodGroup",
)
WORKLOAD_KINDS = ("Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job", "CronJob")


class ConversionError(ValueError):
    """This object cannot be understood (wrong shape), with a short reason."""


class FrozenMap(dict):  # type: ignore[type-arg]
    """A read-only dict: what the converters return for string maps and resource lists.

    Converted maps are shared: every replica of a workload holds the same containers, requests
    and node selector (see ConvertCache), and every object without labels holds EMPTY. It is
    still a dict (equality, `dict(x)`, JSON and asdict behave as before), but refuses mutation so
    that a stray write cannot leak into every other object. Copies (`dict(x)`, `x.copy()`,
    `x | y`) are ordinary dicts.
    """

    __slots__ = ()

    def _refuse(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise TypeError("converted podtriage maps are shared and read-only; copy with dict(x) first")

    __setitem__ = __delitem__ = __ior__ = setdefault = update = pop = popitem = clear = _refuse  # type: ignore[assignment]

    def __reduce__(self) -> Any:
        return (FrozenMap, (dict(self),))

    def __copy__(self) -> FrozenMap:
        return self

    def __deepcopy__(self, memo: Any) -> FrozenMap:
        return self


class _EmptyMap(FrozenMap):
    """The one empty mapping shared by every object that has none (labels, overhead, limits...).

    150k pods with no overhead, no nodeSelector and no limits would otherwise hold 450k empty
    dicts.
    """

    __slots__ = ()

    def __reduce__(self) -> Any:
        return (_empty_map, ())


def _empty_map() -> Mapping[Any, Any]:
    return EMPTY


EMPTY: Mapping[Any, Any] = _EmptyMap()
_intern = sys.intern
_T = TypeVar("_T")


def _direct_constructor(cls: type[_T]) -> Callable[..., _T]:
    """`cls(**fields)` for a frozen model dataclass, without the frozen __init__'s cost.

    A frozen dataclass __init__ sets each field through object.__setattr__: for m.Pod's 37 fields
    that is most of the time spent converting a pod, and past 30 attributes CPython stops
    sharing instance-dict keys, so each pod also carries a ~1.6 KB private dict. When every
    field is given, the keyword dict itself becomes the instance __dict__ (as pickle and
    copy.copy restore frozen dataclasses): ~4x faster and about half the memory. Anything else
    (a missing or unknown field, a class with slots or __post_init__) goes through the real
    constructor, so defaults and errors stay exactly those of `cls(**fields)`.
    """
    fields = dataclasses.fields(cls)  # type: ignore[arg-type]
    if "__slots__" in cls.__dict__ or hasattr(cls, "__post_init__") or not all(f.init for f in fields):
        return cls
    names = frozenset(f.name for f in fields)
    new, set_attr = object.__new__, object.__setattr__

    def make(**kw: Any) -> _T:
        if kw.keys() != names:
            return cls(**kw)
        obj = new(cls)
        set_attr(obj, "__dict__", kw)
        return obj

    return make


_object_new, _set_attr = object.__new__, object.__setattr__
_new_pod = _direct_constructor(m.Pod)
_new_container = _direct_constructor(m.Container)
_new_container_state = _direct_constructor(m.ContainerState)
_new_node = _direct_constructor(m.Node)
_new_event = _direct_constructor(m.Event)


# Frozen, hashable and heavily repeated (every pod of a ReplicaSet has the same owner and the same
# default tolerations; conditions share reasons and, for pods created together, timestamps):
# one shared instance per distinct value.
@lru_cache(maxsize=4096)
def _shared_toleration(key: str, operator: str, value: str, effect: str, seconds: int | None) -> m.Toleration:
    return m.Toleration(key=key, operator=operator, value=value, effect=effect, toleration_seconds=seconds)


@lru_cache(maxsize=4096)
def _shared_owner(kind: str, name: str, uid: str, controller: bool) -> m.OwnerRef:
    return m.OwnerRef(kind=kind, name=name, uid=uid, controller=controller)


@lru_cache(maxsize=4096)
def _shared_condition(type_: str, status: str, reason: str, message: str, time: str) -> m.Condition:
    return m.Condition(type=type_, status=status, reason=reason, message=message, last_transition_time=time)


def _d(x: Any) -> dict:
    return x if isinstance(x, dict) else {}


def _l(x: Any) -> list:
    return x if isinstance(x, list) else []


def _s(x: Any, default: str = "") -> str:
    if isinstance(x, str):
        return x
    if x is None:  # the common case: an absent field
        return default
    if isinstance(x, (int, float)) and not isinstance(x, bool):
        return str(x)
    return default


def _si(x: Any, default: str = "") -> str:
    """_s, interned: for strings that repeat across objects (namespaces, label keys and values,
    node names, images, reasons), so that one copy is kept once the raw JSON is dropped."""
    if type(x) is str:
        return _intern(x)
    if x is None:
        return default
    return _s(x, default)


def _i(x: Any, default: int | None = None) -> int | None:
    if isinstance(x, bool):
        return default
    if isinstance(x, int):
        return x
    if isinstance(x, str):
        try:
            return int(x)
        except ValueError:
            return default
    return default


def _str_map(x: Any) -> dict[str, str]:
    """A string map (labels, nodeSelector, annotations), keys and values interned; the shared
    EMPTY when there is none."""
    if not isinstance(x, dict) or not x:
        return EMPTY  # type: ignore[return-value]
    return FrozenMap({(_intern(k) if type(k) is str else str(k)): (_intern(v) if type(v) is str else _s(v))
                      for k, v in x.items()})


def resources(x: Any, warnings: list[str] | None = None, where: str = "") -> dict[str, int]:
    """A ResourceList -> scheduler units; invalid quantities are dropped with a warning.

    Returns a new read-only FrozenMap, or the shared EMPTY when nothing is left.
    """
    if not isinstance(x, dict) or not x:
        return EMPTY  # type: ignore[return-value]
    out: dict[str, int] = {}
    for name, raw in x.items():
        key = _intern(name) if type(name) is str else str(name)
        try:
            out[key] = _str_units(key, raw) if type(raw) is str else to_scheduler_units(key, raw)
        except (QuantityError, ValueError, OverflowError):
            if warnings is not None:
                warnings.append(f"{where}: ignored invalid quantity {name}={raw!r}")
    return FrozenMap(out) if out else EMPTY  # type: ignore[return-value]


# to_scheduler_units for a quantity given as text, memoised here too to save a call per quantity
# (an invalid quantity raises, and is therefore never memoised)
_str_units = lru_cache(maxsize=4096)(to_scheduler_units)


def requirement(x: Any) -> m.Requirement:
    x = _d(x)
    return m.Requirement(key=_s(x.get("key")), operator=_s(x.get("operator")),
                         values=tuple(_s(v) for v in _l(x.get("values"))))


def node_selector_terms(x: Any) -> tuple[m.NodeSelectorTerm, ...]:
    return tuple(
        m.NodeSelectorTerm(
            match_expressions=tuple(requirement(r) for r in _l(_d(t).get("matchExpressions"))),
            match_fields=tuple(requirement(r) for r in _l(_d(t).get("matchFields"))),
        )
        for t in _l(x)
    )


def label_selector(x: Any) -> m.LabelSelector | None:
    if not isinstance(x, dict):
        return None
    return m.LabelSelector(
        match_labels=tuple(sorted(_str_map(x.get("matchLabels")).items())),
        match_expressions=tuple(requirement(r) for r in _l(x.get("matchExpressions"))),
    )


def pod_affinity_terms(x: Any) -> tuple[m.PodAffinityTerm, ...]:
    return tuple(
        m.PodAffinityTerm(
            topology_key=_s(_d(t).get("topologyKey")),
            label_selector=label_selector(_d(t).get("labelSelector")),
            namespaces=tuple(_s(n) for n in _l(_d(t).get("namespaces"))),
            namespace_selector=label_selector(_d(t).get("namespaceSelector")),
            match_label_keys=tuple(_s(k) for k in _l(_d(t).get("matchLabelKeys"))),
            mismatch_label_keys=tuple(_s(k) for k in _l(_d(t).get("mismatchLabelKeys"))),
        )
        for t in _l(x)
    )


def owner(meta: dict) -> m.OwnerRef | None:
    raw = meta.get("ownerReferences")
    if not isinstance(raw, list) or not raw:
        return None
    if len(raw) == 1 and type(raw[0]) is dict:  # the usual case: one owner, its controller
        chosen = raw[0]
    else:
        refs = [r if isinstance(r, dict) else {} for r in raw]
        chosen = next((r for r in refs if r.get("controller") is True), refs[0])
    if not chosen:
        return None
    return _shared_owner(_si(chosen.get("kind")), _si(chosen.get("name")), _s(chosen.get("uid")),
                         chosen.get("controller") is True)


_ENV_REFS = (("ConfigMap", "configMapKeyRef"), ("Secret", "secretKeyRef"))
_ENV_FROM_REFS = (("ConfigMap", "configMapRef"), ("Secret", "secretRef"))


def _config_refs(c: dict) -> tuple[m.ConfigRef, ...]:
    refs: list[m.ConfigRef] = []
    env_list = c.get("env")
    if isinstance(env_list, list):
        for env in env_list:
            # Most env entries are plain name/value pairs: skip them without building anything.
            vf = env.get("valueFrom") if isinstance(env, dict) else None
            if not isinstance(vf, dict) or not vf:
                continue
            for kind, field_ in _ENV_REFS:
                ref = _d(vf.get(field_))
                if ref:
                    refs.append(m.ConfigRef(kind=kind, name=_si(ref.get("name")), key=_s(ref.get("key")),
                                            optional=ref.get("optional") is True,
                                            via=f"env {_s(env.get('name'))}"))
    env_from = c.get("envFrom")
    if isinstance(env_from, list):
        for ef in env_from:
            if not isinstance(ef, dict):
                continue
            for kind, field_ in _ENV_FROM_REFS:
                ref = _d(ef.get(field_))
                if ref:
                    refs.append(m.ConfigRef(kind=kind, name=_si(ref.get("name")),
                                            optional=ref.get("optional") is True, via="envFrom"))
    return tuple(refs) if refs else ()


def _port(p: Any) -> m.ContainerPort:
    p = _d(p)
    return m.ContainerPort(container_port=_i(p.get("containerPort"), 0) or 0,
                           host_port=_i(p.get("hostPort"), 0) or 0,
                           protocol=_si(p.get("protocol"), "TCP") or "TCP",
                           host_ip=_s(p.get("hostIP")))


def _container_resources(res: dict) -> tuple[Mapping[str, int], Mapping[str, int], Mapping[str, str]] | None:
    """(requests, limits, requests as written) of a container's `resources`, shared by every container asking the same
    (a few dozen distinct sizes in a cluster); None when they cannot be shared: something in them
    is invalid (the caller converts them again, and warns) or not plain data."""
    try:
        return _resources_of(_marshal(res, 4))
    except (QuantityError, ValueError, OverflowError, TypeError, EOFError):
        return None


@lru_cache(maxsize=2048)
def _resources_of(fingerprint: bytes) -> tuple[Mapping[str, int], Mapping[str, int], Mapping[str, str]]:
    """container()'s requests, limits and requests as written for the `resources` dict marshalled
    in `fingerprint`. Raises on an invalid quantity (and is then not cached), where container()
    would warn."""
    res = marshal.loads(fingerprint)
    limits_raw, requests_raw = res.get("limits"), res.get("requests")
    limits = _strict_resources(limits_raw) if limits_raw else EMPTY
    requests = _strict_resources(requests_raw) if requests_raw else EMPTY
    return with_limit_defaults(requests, limits), limits, requests_as_written(requests_raw, limits_raw)


def requests_as_written(requests_raw: Any, limits_raw: Any) -> Mapping[str, str]:
    """The quantities of `resources.requests` as written (a limit's where the request is missing,
    as API defaulting does), for answers that quote the spec."""
    out: dict[str, str] = {}
    for raw in (limits_raw, requests_raw):  # requests win
        if isinstance(raw, dict):
            for k, v in raw.items():
                out[str(k)] = str(v)
    return FrozenMap(out) if out else EMPTY


def with_limit_defaults(requests: Mapping[str, int], limits: Mapping[str, int]) -> Mapping[str, int]:
    """API defaulting: a resource with a limit and no request requests its limit."""
    if not limits:
        return requests
    if not requests:
        return FrozenMap(limits)
    if limits.keys() <= requests.keys():
        return requests
    merged = dict(requests)
    for k, v in limits.items():
        merged.setdefault(k, v)
    return FrozenMap(merged)


def _strict_resources(x: Any) -> Mapping[str, int]:
    """resources(x) for a list without an invalid quantity; raises on the first invalid one."""
    if not isinstance(x, dict) or not x:
        return EMPTY
    out = {}
    for name, raw in x.items():
        key = _intern(name) if type(name) is str else str(name)
        out[key] = _str_units(key, raw) if type(raw) is str else to_scheduler_units(key, raw)
    return FrozenMap(out) if out else EMPTY


def container(x: Any, warnings: list[str] | None = None, where: str = "", init: bool = False) -> m.Container:
    c = x if isinstance(x, dict) else {}
    get = c.get
    name = get("name")
    name = _intern(name) if type(name) is str else _si(name)
    res = get("resources")
    shared = _container_resources(res) if res and type(res) is dict else None
    if shared is not None:
        requests, limits, written = shared
    elif res and isinstance(res, dict):
        limits_raw, requests_raw = res.get("limits"), res.get("requests")
        loc = f"{where} container {name}"
        limits = resources(limits_raw, warnings, loc) if limits_raw else EMPTY
        requests = resources(requests_raw, warnings, loc) if requests_raw else EMPTY
        requests = with_limit_defaults(requests, limits)
        written = requests_as_written(requests_raw, limits_raw)
    else:
        limits = requests = written = EMPTY
    ports_raw = get("ports")
    ports = tuple(_port(p) for p in ports_raw) if ports_raw and isinstance(ports_raw, list) else ()
    config_refs = _config_refs(c) if ("env" in c or "envFrom" in c) else ()
    image = get("image")
    shown: str = ""
    refs: tuple[tuple[str, str, str], ...] = ()
    if init and ("command" in c or "args" in c or "x-podtriage-waits" in c or "x-podtriage-command" in c):
        shown, found = container_summary(c)
        refs = tuple(found)
    obj = _object_new(m.Container)
    _set_attr(obj, "__dict__", {
        "name": name, "image": _intern(image) if type(image) is str else _si(image), "requests": requests,
        "limits": limits, "ports": ports, "config_refs": config_refs, "restart_policy": _si(get("restartPolicy")),
        "requests_text": written, "command_shown": shown, "waits": refs})
    return obj


def volume(x: Any, pod_name: str) -> m.Volume:
    v = _d(x)
    name = _s(v.get("name"))
    if "persistentVolumeClaim" in v:
        pvc = _d(v.get("persistentVolumeClaim"))
        return m.Volume(name=name, kind="persistentVolumeClaim", claim_name=_s(pvc.get("claimName")),
                        read_only=pvc.get("readOnly") is True)
    if "ephemeral" in v:
        return m.Volume(name=name, kind="ephemeral", claim_name=f"{pod_name}-{name}")
    if "configMap" in v:
        cm = _d(v.get("configMap"))
        return m.Volume(name=name, kind="configMap", source_name=_s(cm.get("name")),
                        optional=cm.get("optional") is True)
    if "secret" in v:
        sec = _d(v.get("secret"))
        return m.Volume(name=name, kind="secret", source_name=_s(sec.get("secretName")),
                        optional=sec.get("optional") is True)
    for kind, ident in _IN_TREE_DISKS:
        if kind in v:
            src = _d(v.get(kind))
            if kind == "rbd":
                return m.Volume(name=name, kind=kind, unique_disk=_s(src.get(ident)),
                                read_only=src.get("readOnly") is True,
                                rbd_monitors=tuple(_s(x) for x in _l(src.get("monitors"))),
                                rbd_pool=_s(src.get("pool"), "rbd") or "rbd")
            return m.Volume(name=name, kind=kind, unique_disk=_s(src.get(ident)),
                            read_only=src.get("readOnly") is True)
    if "csi" in v:
        return m.Volume(name=name, kind="csi", driver=_s(_d(v.get("csi")).get("driver")))
    for kind in ("hostPath", "emptyDir", "projected", "downwardAPI", "nfs"):
        if kind in v:
            return m.Volume(name=name, kind=kind)
    return m.Volume(name=name, kind="other")


# In-tree disk sources and the field that identifies the disk (VolumeRestrictions, NodeVolumeLimits).
_IN_TREE_DISKS = (("gcePersistentDisk", "pdName"), ("awsElasticBlockStore", "volumeID"), ("rbd", "image"),
                  ("iscsi", "iqn"), ("azureDisk", "diskURI"), ("cinder", "volumeID"),
                  ("portworxVolume", "volumeID"), ("vsphereVolume", "volumePath"), ("azureFile", "shareName"))
# CSI migration: in-tree volume source -> its in-tree plugin name.
IN_TREE_PLUGIN_OF_SOURCE = {
    "awsElasticBlockStore": "kubernetes.io/aws-ebs", "gcePersistentDisk": "kubernetes.io/gce-pd",
    "azureDisk": "kubernetes.io/azure-disk", "azureFile": "kubernetes.io/azure-file",
    "cinder": "kubernetes.io/cinder", "vsphereVolume": "kubernetes.io/vsphere-volume",
    "portworxVolume": "kubernetes.io/portworx-volume",
}


def container_state(x: Any) -> m.ContainerState:
    s = _d(x)
    state, reason, message, exit_code, started_at, finished_at = "", "", "", None, "", ""
    st = _d(s.get("state"))
    for key in ("waiting", "running", "terminated"):
        if key in st:
            inner = _d(st.get(key))
            state = key
            reason = _si(inner.get("reason"))
            message = _s(inner.get("message"))
            exit_code = _i(inner.get("exitCode"))
            started_at = _s(inner.get("startedAt"))
            finished_at = _s(inner.get("finishedAt"))
            break
    last = _d(_d(s.get("lastState")).get("terminated"))
    return _new_container_state(
        name=_si(s.get("name")), state=state, reason=reason, message=message, exit_code=exit_code,
        started_at=started_at, finished_at=finished_at, restart_count=_i(s.get("restartCount"), 0) or 0,
        ready=s.get("ready") is True, started=s.get("started") if isinstance(s.get("started"), bool) else None,
        container_id=_s(s.get("containerID")), image=_si(s.get("image")),
        last_reason=_si(last.get("reason")), last_exit_code=_i(last.get("exitCode")),
        last_message=_s(last.get("message"))[:500],
        last_finished_at=_s(last.get("finishedAt")), last_started_at=_s(last.get("startedAt")),
    )


def _condition(c: Any) -> m.Condition:
    c = _d(c)
    return _shared_condition(_si(c.get("type")), _si(c.get("status")), _si(c.get("reason")), _s(c.get("message")),
                             _s(c.get("lastTransitionTime")))


def conditions(x: Any) -> tuple[m.Condition, ...]:
    if not isinstance(x, list) or not x:
        return ()
    return tuple(_condition(c) for c in x)


def taints(x: Any) -> tuple[m.Taint, ...]:
    """A Node's spec.taints (or a Kueue ResourceFlavor's spec.nodeTaints)."""
    return tuple(m.Taint(key=_s(_d(t).get("key")), value=_s(_d(t).get("value")), effect=_s(_d(t).get("effect")))
                 for t in _l(x))


def _toleration(t: Any) -> m.Toleration:
    t = _d(t)
    return _shared_toleration(_si(t.get("key")), _si(t.get("operator"), "Equal") or "Equal", _si(t.get("value")),
                              _si(t.get("effect")), _i(t.get("tolerationSeconds")))


def tolerations(x: Any) -> tuple[m.Toleration, ...]:
    if not isinstance(x, list) or not x:
        return ()
    return tuple(_toleration(t) for t in x)


def _spread_constraint(c: Any) -> m.TopologySpreadConstraint:
    c = _d(c)
    return m.TopologySpreadConstraint(
        max_skew=_i(c.get("maxSkew"), 1) or 1,
        topology_key=_si(c.get("topologyKey")),
        when_unsatisfiable=_si(c.get("whenUnsatisfiable"), "DoNotSchedule") or "DoNotSchedule",
        label_selector=label_selector(c.get("labelSelector")),
        min_domains=_i(c.get("minDomains")),
        node_affinity_policy=_si(c.get("nodeAffinityPolicy"), "Honor") or "Honor",
        node_taints_policy=_si(c.get("nodeTaintsPolicy"), "Ignore") or "Ignore",
        match_label_keys=tuple(_s(k) for k in _l(c.get("matchLabelKeys"))),
    )


def _names(x: Any) -> tuple[str, ...]:
    """[{name: a}, {name: b}] -> ('a', 'b') (schedulingGates, imagePullSecrets)."""
    if not isinstance(x, list) or not x:
        return ()
    return tuple(_si(_d(g).get("name")) for g in x)


def _containers(x: Any, warnings: list[str] | None, where: str, init: bool = False) -> tuple[m.Container, ...]:
    if not isinstance(x, list) or not x:
        return ()
    return tuple(container(c, warnings, where, init) for c in x)


def _container_states(x: Any) -> tuple[m.ContainerState, ...]:
    if not isinstance(x, list) or not x:
        return ()
    return tuple(container_state(s) for s in x)


def _pod_level_requests(x: Any, warnings: list[str] | None, where: str) -> Mapping[str, int]:
    """spec.resources (PodLevelResources): requests, defaulted from limits like the API does."""
    if not isinstance(x, dict) or not x:
        return EMPTY
    limits = resources(x.get("limits"), warnings, f"{where} spec.resources")
    requests = resources(x.get("requests"), warnings, f"{where} spec.resources")
    return with_limit_defaults(requests, limits)


# --------------------------------------------------------------------------------------------
# Pods: the hot path of loading a large cluster (150k calls).
#
# The replicas of a workload carry identical labels, owner, containers, tolerations, node
# selectors and affinity terms. Within one load (a ConvertCache) these parts are converted once
# per workload and then shared: their raw JSON is fingerprinted with marshal (C speed, a fraction
# of the cost of converting it, and type-exact: 1, 1.0 and True never share an entry) and the
# converted fields are reused whenever the fingerprint repeats. Parts whose conversion warned are
# never cached, so every pod still gets its own warning naming it. What is the pod's own (name,
# uid, node, volumes, status) is converted per pod, and only the keys it has are looked at:
# absent fields keep the defaults below without a call.


class ConvertCache:
    """Converted pod parts of one load, by fingerprint of their raw JSON (see above).

    Use one per snapshot being built (SnapshotBuilder does) and drop it afterwards; it holds
    nothing but converted, read-only values. Each table is bounded: a cluster whose parts never
    repeat (per-pod affinity of DaemonSet pods) restarts a table rather than growing it.
    """

    __slots__ = ("affinity", "conditions", "owner_spec", "spec", "tolerations")
    LIMIT = 50_000

    def __init__(self) -> None:
        # (labels, ownerReferences, spec template) -> the Pod fields they give (where not default)
        self.spec: dict[bytes, dict[str, Any]] = {}
        # (ownerReferences, spec template values) -> the same, for pods whose labels are their own
        self.owner_spec: dict[bytes, dict[str, Any]] = {}
        self.affinity: dict[bytes, tuple[Any, Any, Any]] = {}
        self.conditions: dict[bytes, tuple[m.Condition, ...]] = {}
        self.tolerations: dict[bytes, tuple[m.Toleration, ...]] = {}


_marshal = marshal.dumps


def _fingerprint(x: Any) -> bytes | None:
    """Type-exact bytes for plain JSON/YAML data; None when it cannot be computed.

    marshal output decodes back to exactly the value it encodes, so two different values never
    share a fingerprint. The reverse is not guaranteed (format 4 flags objects shared within the
    value, and interned strings), so two equal parts may now and then be converted twice: a
    missed saving, never a wrong answer. Format 4 is ~30% faster than the flag-free format 2.
    """
    try:
        return _marshal(x, 4)
    except ValueError:  # a type marshal does not know, or nested too deeply
        return None


def _remember(table: dict[bytes, _T], key: bytes, value: _T) -> _T:
    if len(table) >= ConvertCache.LIMIT:
        table.clear()
    table[key] = value
    return value


def _cached_tolerations(x: Any, cache: ConvertCache | None) -> tuple[m.Toleration, ...]:
    """tolerations(x), shared: nearly every pod carries the same two default tolerations."""
    if cache is None or not isinstance(x, list) or not x:
        return tolerations(x)
    key = _fingerprint(x)
    hit = cache.tolerations.get(key) if key is not None else None
    if hit is None:
        hit = tolerations(x)
        if key is not None:
            _remember(cache.tolerations, key, hit)
    return hit


def _spread_constraints(x: Any) -> tuple[m.TopologySpreadConstraint, ...]:
    return tuple(_spread_constraint(c) for c in x) if isinstance(x, list) and x else ()


# Every Pod field with the value an absent key gives (namespace and name are always computed).
_POD_DEFAULTS: dict[str, Any] = {
    "namespace": "default", "name": "", "uid": "", "labels": EMPTY, "owner": None, "creation_timestamp": "",
    "deletion_timestamp": "", "node_name": "", "scheduler_name": "default-scheduler", "priority": 0,
    "priority_class_name": "", "preemption_policy": "", "node_selector": EMPTY, "required_node_affinity": None,
    "pod_affinity": (), "pod_anti_affinity": (), "tolerations": (), "containers": (), "init_containers": (),
    "overhead": EMPTY, "pod_requests": EMPTY, "volumes": (), "topology_spread_constraints": (),
    "scheduling_gates": (), "image_pull_secrets": (), "runtime_class_name": "", "service_account_name": "",
    "active_deadline_seconds": None, "host_network": False, "phase": "Pending", "reason": "", "message": "",
    "nominated_node_name": "", "start_time": "", "conditions": (), "container_statuses": (),
    "init_container_statuses": (), "resource_claims": (), "resource_claim_statuses": EMPTY,
    "required_features": (), "vpa_updates": "",
}
if list(_POD_DEFAULTS) != [f.name for f in dataclasses.fields(m.Pod)] or [f.name for f in dataclasses.fields(
        m.Container)] != ["name", "image", "requests", "limits", "ports", "config_refs", "restart_policy",
                           "requests_text", "command_shown", "waits"]:
    raise AssertionError("model changed: update _POD_DEFAULTS and container()")  # pragma: no cover

# The spec keys that are the same for every replica of a workload, in the order _template_fields
# unpacks them (nodeName and volumes are per pod; affinity has its own table, being per pod for
# DaemonSets). Every converter maps None to the field's default: absent and `key: null` agree.
_SPEC_TEMPLATE_KEYS = (
    "schedulerName", "priority", "priorityClassName", "preemptionPolicy", "nodeSelector", "tolerations",
    "topologySpreadConstraints", "schedulingGates", "imagePullSecrets", "runtimeClassName",
    "serviceAccountName", "activeDeadlineSeconds", "hostNetwork",
    "containers", "initContainers", "overhead", "resources", "resourceClaims", "hostUsers",
)
# spec keys read per pod (never part of a workload fingerprint)
_SPEC_PER_POD_KEYS = ("nodeName", "volumes", "affinity")
# Owners whose pods carry labels of their own (statefulset pod-name/pod-index, job
# completion-index) but share everything else.
_PER_POD_LABEL_OWNERS = frozenset({"StatefulSet", "Job"})


def _template_fields(d: dict[str, Any], values: tuple[Any, ...], warnings: list[str] | None, where: str,
                     cache: ConvertCache | None) -> None:
    """Set in `d` the Pod fields that come from the values of _SPEC_TEMPLATE_KEYS.

    The calls that can warn come last, in field order (containers, init containers, overhead,
    pod-level resources), so warnings come out in the same order as ever.
    """
    (scheduler, priority, pc_name, preemption, selector, tols, spread, gates, pull_secrets, rc_name,
     sa_name, deadline, host_network, containers, init_containers, overhead, pod_resources, claims,
     host_users) = values
    if scheduler is not None:
        d["scheduler_name"] = _si(scheduler, "default-scheduler") or "default-scheduler"
    if priority is not None:
        d["priority"] = _i(priority, 0) or 0
    if pc_name is not None:
        d["priority_class_name"] = _si(pc_name)
    if preemption is not None:
        d["preemption_policy"] = _si(preemption)
    if selector is not None:
        d["node_selector"] = _str_map(selector)
    if tols is not None:
        d["tolerations"] = _cached_tolerations(tols, cache)
    if spread is not None:
        d["topology_spread_constraints"] = _spread_constraints(spread)
    if gates is not None:
        d["scheduling_gates"] = _names(gates)
    if pull_secrets is not None:
        d["image_pull_secrets"] = _names(pull_secrets)
    if rc_name is not None:
        d["runtime_class_name"] = _si(rc_name)
    if sa_name is not None:
        d["service_account_name"] = _si(sa_name)
    if deadline is not None:
        d["active_deadline_seconds"] = _i(deadline)
    if host_network is not None:
        d["host_network"] = host_network is True
    if containers is not None:
        d["containers"] = _containers(containers, warnings, where)
    if init_containers is not None:
        d["init_containers"] = _containers(init_containers, warnings, where, True)
    if overhead:
        d["overhead"] = resources(overhead, warnings, where)
    if pod_resources is not None:
        d["pod_requests"] = _pod_level_requests(pod_resources, warnings, where)
    if claims is not None:
        d["resource_claims"] = _pod_resource_claims(claims)
    if containers is not None or init_containers is not None or host_users is not None:
        features = required_node_features(containers, init_containers, host_network, host_users)
        if features:
            d["required_features"] = features


def _pod_resource_claims(x: Any) -> tuple[m.PodResourceClaim, ...]:
    if not isinstance(x, list) or not x:
        return ()
    return tuple(m.PodResourceClaim(name=_si(_d(c).get("name")), claim_name=_si(_d(c).get("resourceClaimName")),
                                    template_name=_si(_d(c).get("resourceClaimTemplateName")))
                 for c in x if isinstance(c, dict))


# NodeDeclaredFeatures (k8s.io/component-helpers/nodedeclaredfeatures): the features a pod spec
# makes a node need, as InferForScheduling decides them (sorted by name, as the framework is).
FEATURE_RESTART_ALL_CONTAINERS = "RestartAllContainersOnContainerExits"
FEATURE_USERNS_HOST_NETWORK = "UserNamespacesHostNetworkSupport"
FEATURE_BIND_MOUNT_OPTIONS = "VolumeBindMountOptions"


def required_node_features(containers: Any, init_containers: Any, host_network: Any,
                           host_users: Any) -> tuple[str, ...]:
    out = set()
    all_containers = [c for c in _l(containers) + _l(init_containers) if isinstance(c, dict)]
    for c in all_containers:
        if any(_d(r).get("action") == "RestartAllContainers" for r in _l(c.get("restartPolicyRules"))):
            out.add(FEATURE_RESTART_ALL_CONTAINERS)
        if any(_l(_d(vm).get("bindMountOptions")) for vm in _l(c.get("volumeMounts"))):
            out.add(FEATURE_BIND_MOUNT_OPTIONS)
    if host_network is True and host_users is False:
        out.add(FEATURE_USERNS_HOST_NETWORK)
    return tuple(sorted(out))


def _workload_part(meta: dict, labels: Any, owners: Any, values: tuple[Any, ...] | None,
                   warnings: list[str] | None, where: str, cache: ConvertCache | None,
                   key: bytes | None) -> dict[str, Any]:
    """The Pod fields that labels, owner and spec template give, where not the defaults: a cache miss."""
    # A StatefulSet's pods differ only by their labels: look for the same owner and spec first.
    key2 = base = None
    if key is not None and type(owners) is list and owners and type(owners[0]) is dict \
            and owners[0].get("kind") in _PER_POD_LABEL_OWNERS:
        key2 = _fingerprint((owners, values))
        if key2 is not None:
            base = cache.owner_spec.get(key2)  # type: ignore[union-attr]
    shared = base is not None
    if base is None:
        before = len(warnings) if warnings is not None else 0
        base = {}
        if values is not None:
            _template_fields(base, values, warnings, where, cache)
        if owners is not None:
            base["owner"] = owner(meta)
        if warnings is not None and len(warnings) != before:
            key = key2 = None  # never cached: the next pod like this one must warn too
        if key2 is not None:
            _remember(cache.owner_spec, key2, base)  # type: ignore[union-attr]
    if labels is not None:
        if shared or key2 is not None:
            base = base.copy()
        base["labels"] = _str_map(labels)
    if key is not None:
        _remember(cache.spec, key, base)  # type: ignore[union-attr]
    return base


def _affinity(aff: Any) -> tuple[tuple[m.NodeSelectorTerm, ...] | None, tuple[m.PodAffinityTerm, ...],
                                 tuple[m.PodAffinityTerm, ...]]:
    """spec.affinity -> (required node affinity, required pod affinity, required anti-affinity)."""
    if not isinstance(aff, dict) or not aff:
        return None, (), ()
    required = None
    node_aff = _d(_d(aff.get("nodeAffinity")).get("requiredDuringSchedulingIgnoredDuringExecution"))
    if node_aff:
        required = node_selector_terms(node_aff.get("nodeSelectorTerms"))
    return (required,
            pod_affinity_terms(_d(aff.get("podAffinity")).get("requiredDuringSchedulingIgnoredDuringExecution")),
            pod_affinity_terms(_d(aff.get("podAntiAffinity")).get("requiredDuringSchedulingIgnoredDuringExecution")))


def _status_fields(d: dict[str, Any], status: dict, cache: ConvertCache | None) -> None:
    stget = status.get
    x = stget("phase")
    if x is not None:
        d["phase"] = _intern(x) if type(x) is str and x else (_si(x, "Pending") or "Pending")
        if len(status) == 1:  # most Running pods: {phase: Running} and nothing else
            return
    x = stget("reason")
    if x is not None:
        d["reason"] = _si(x)
    x = stget("message")
    if x is not None:
        d["message"] = _s(x)
    x = stget("nominatedNodeName")
    if x is not None:
        d["nominated_node_name"] = _si(x)
    x = stget("startTime")
    if x is not None:
        d["start_time"] = _s(x)
    x = stget("resourceClaimStatuses")
    if x and isinstance(x, list):
        d["resource_claim_statuses"] = FrozenMap({_s(_d(c).get("name")): _s(_d(c).get("resourceClaimName"))
                                                  for c in x if isinstance(c, dict)})
    x = stget("conditions")
    if x and isinstance(x, list):
        key = converted = None
        if cache is not None:
            key = _fingerprint(x)
            converted = cache.conditions.get(key) if key is not None else None
        if converted is None:
            converted = tuple([_condition(c) for c in x])
            if key is not None:
                _remember(cache.conditions, key, converted)  # type: ignore[union-attr]
        d["conditions"] = converted
    x = stget("containerStatuses")
    if x is not None:
        d["container_statuses"] = _container_states(x)
    x = stget("initContainerStatuses")
    if x is not None:
        d["init_container_statuses"] = _container_states(x)


def pod_from_spec(meta: dict, spec: dict, status: dict, warnings: list[str] | None = None,
                  cache: ConvertCache | None = None) -> m.Pod:
    """A Pod from its metadata, spec and status dicts; `cache` shares parts across replicas."""
    # `type(x) is str` first: the fast path for well-formed input; the helpers for anything else.
    mget, sget = meta.get, spec.get
    x = mget("namespace")
    ns = _intern(x) if type(x) is str and x else (_si(x, "default") or "default")
    x = mget("name")
    name = x if type(x) is str and x else (_s(x) or _s(mget("generateName")))

    # Labels, owner and the spec's workload-wide part: one fingerprint, one lookup. The key is
    # the spec without its per-pod keys (a shallow copy costs less than picking the template keys
    # out of it); keys podtriage ignores stay in it, which is harmless: replicas share them too.
    labels, owners = mget("labels"), mget("ownerReferences")
    d = _POD_DEFAULTS.copy()
    if labels is not None or owners is not None or spec:
        fields = None
        key = None
        if cache is not None:
            shared = spec.copy()
            for k in _SPEC_PER_POD_KEYS:
                if k in shared:
                    del shared[k]
            try:
                key = _marshal((labels, owners, shared), 4)
            except ValueError:
                pass
            else:
                fields = cache.spec.get(key)
        if fields is None:
            values = tuple(map(sget, _SPEC_TEMPLATE_KEYS)) if spec else None
            fields = _workload_part(meta, labels, owners, values, warnings, f"pod {ns}/{name}", cache, key)
        d.update(fields)
    d["namespace"] = ns
    d["name"] = name
    x = mget("uid")
    if x is not None:
        d["uid"] = x if type(x) is str else _s(x)
    x = mget("creationTimestamp")
    if x is not None:  # interned: shared by the pods created in the same second
        d["creation_timestamp"] = _intern(x) if type(x) is str else _s(x)
    x = mget("deletionTimestamp")
    if x is not None:
        d["deletion_timestamp"] = _s(x)
    x = mget("annotations")
    if x and type(x) is dict and "vpaUpdates" in x:  # requests the VPA admission controller set
        d["vpa_updates"] = _s(x["vpaUpdates"])[:1000]

    if spec:
        x = sget("nodeName")
        if x is not None:
            d["node_name"] = _intern(x) if type(x) is str else _s(x)
        x = sget("affinity")
        if x:
            key = terms = None
            if cache is not None and isinstance(x, dict):
                key = _fingerprint(x)
                terms = cache.affinity.get(key) if key is not None else None
            if terms is None:
                terms = _affinity(x)
                if key is not None:
                    _remember(cache.affinity, key, terms)  # type: ignore[union-attr]
            d["required_node_affinity"], d["pod_affinity"], d["pod_anti_affinity"] = terms
        x = sget("volumes")
        if x and isinstance(x, list):
            d["volumes"] = tuple([volume(v, name) for v in x])
    if status:
        x = status.get("phase")
        if type(x) is str and x and len(status) == 1:  # most Running pods: {phase: Running}, nothing else
            d["phase"] = _intern(x)
        else:
            _status_fields(d, status, cache)
    obj = _object_new(m.Pod)
    _set_attr(obj, "__dict__", d)  # as _direct_constructor does: every field is in d
    return obj


_NO_DICT: dict = {}  # read-only by convention: stands in for an absent spec/status, never stored


def pod(obj: dict, warnings: list[str] | None = None, cache: ConvertCache | None = None) -> m.Pod:
    meta = obj.get("metadata")
    if type(meta) is not dict:
        meta = meta if isinstance(meta, dict) else _NO_DICT
    name = meta.get("name")
    if not (type(name) is str and name) and not _s(name):
        raise ConversionError("pod without metadata.name")
    spec, status = obj.get("spec"), obj.get("status")
    return pod_from_spec(meta, spec if type(spec) is dict or isinstance(spec, dict) else _NO_DICT,
                         status if type(status) is dict or isinstance(status, dict) else _NO_DICT, warnings, cache)


def node(obj: dict, warnings: list[str] | None = None) -> m.Node:
    meta, spec, status = _d(obj.get("metadata")), _d(obj.get("spec")), _d(obj.get("status"))
    name = _s(meta.get("name"))
    if not name:
        raise ConversionError("node without metadata.name")
    return _new_node(
        name=name, uid=_s(meta.get("uid")), labels=_str_map(meta.get("labels")), taints=taints(spec.get("taints")),
        unschedulable=spec.get("unschedulable") is True,
        allocatable=resources(status.get("allocatable"), warnings, f"node {name} allocatable"),
        capacity=resources(status.get("capacity"), warnings, f"node {name} capacity"),
        conditions=conditions(status.get("conditions")),
        creation_timestamp=_s(meta.get("creationTimestamp")),
        deletion_timestamp=_s(meta.get("deletionTimestamp")),
        volume_limits={},  # every field given: the fast constructor (build() fills it from CSINodes)
        last_heartbeat=max((_s(_d(c).get("lastHeartbeatTime")) for c in _l(status.get("conditions"))), default=""),
        declared_features=tuple(_s(f) for f in _l(status.get("declaredFeatures"))),
        csi_drivers=None,
    )


def pvc(obj: dict, warnings: list[str] | None = None) -> m.PersistentVolumeClaim:
    meta, spec, status = _d(obj.get("metadata")), _d(obj.get("spec")), _d(obj.get("status"))
    sc = spec.get("storageClassName")
    req = _d(_d(spec.get("resources")).get("requests"))
    storage = resources({"storage": req["storage"]} if "storage" in req else {}, warnings,
                        f"pvc {_s(meta.get('name'))}").get("storage", 0)
    ann = _d(meta.get("annotations"))
    if isinstance(ann.get(BETA_STORAGE_CLASS), str):
        sc = ann[BETA_STORAGE_CLASS]  # the deprecated annotation wins (GetPersistentVolumeClaimClass)
    return m.PersistentVolumeClaim(
        namespace=_s(meta.get("namespace"), "default") or "default", name=_s(meta.get("name")),
        uid=_s(meta.get("uid")), storage_class_name=sc if isinstance(sc, str) else None,
        volume_name=_s(spec.get("volumeName")), phase=_s(status.get("phase"), "Pending") or "Pending",
        access_modes=tuple(_s(a) for a in _l(spec.get("accessModes"))), requested_storage=storage,
        deletion_timestamp=_s(meta.get("deletionTimestamp")),
        selected_node=_s(ann.get("volume.kubernetes.io/selected-node")),
        labels=_str_map(meta.get("labels")),
        bind_completed="pv.kubernetes.io/bind-completed" in ann,
        selector=label_selector(spec.get("selector")),
        volume_mode=_s(spec.get("volumeMode"), "Filesystem") or "Filesystem",
        volume_attributes_class=_s(spec.get("volumeAttributesClassName")),
        owner=_controller(meta), has_storage_request="storage" in req,
    )


BETA_STORAGE_CLASS = "volume.beta.kubernetes.io/storage-class"


def _controller(meta: dict) -> m.OwnerRef | None:
    """metav1.GetControllerOf: the owner reference with controller: true (None without one)."""
    for r in _l(meta.get("ownerReferences")):
        if isinstance(r, dict) and r.get("controller") is True:
            return m.OwnerRef(kind=_s(r.get("kind")), name=_s(r.get("name")), uid=_s(r.get("uid")), controller=True)
    return None


def pv(obj: dict, warnings: list[str] | None = None) -> m.PersistentVolume:
    meta, spec, status = _d(obj.get("metadata")), _d(obj.get("spec")), _d(obj.get("status"))
    claim = _d(spec.get("claimRef"))
    na = _d(_d(spec.get("nodeAffinity")).get("required"))
    cap = resources(_d(spec.get("capacity")), warnings, f"pv {_s(meta.get('name'))}")
    ann = _d(meta.get("annotations"))
    sc = ann[BETA_STORAGE_CLASS] if isinstance(ann.get(BETA_STORAGE_CLASS), str) else _s(spec.get("storageClassName"))
    in_tree = ("", "")
    for kind, ident in _IN_TREE_DISKS:
        if kind in spec and kind in IN_TREE_PLUGIN_OF_SOURCE:
            in_tree = (IN_TREE_PLUGIN_OF_SOURCE[kind], _s(_d(spec.get(kind)).get(ident)))
            break
    return m.PersistentVolume(
        name=_s(meta.get("name")), uid=_s(meta.get("uid")), storage_class_name=sc,
        capacity_storage=cap.get("storage", 0), access_modes=tuple(_s(a) for a in _l(spec.get("accessModes"))),
        phase=_s(status.get("phase"), "Available") or "Available",
        claim_ref=m.ObjectRef(kind="PersistentVolumeClaim", name=_s(claim.get("name")),
                              namespace=_s(claim.get("namespace")), uid=_s(claim.get("uid"))) if claim else None,
        node_affinity=node_selector_terms(na.get("nodeSelectorTerms")) if na else None,
        labels=_str_map(meta.get("labels")), csi_driver=_s(_d(spec.get("csi")).get("driver")),
        volume_mode=_s(spec.get("volumeMode"), "Filesystem") or "Filesystem",
        csi_volume_handle=_s(_d(spec.get("csi")).get("volumeHandle")),
        volume_attributes_class=_s(spec.get("volumeAttributesClassName")),
        deletion_timestamp=_s(meta.get("deletionTimestamp")), in_tree=in_tree,
    )


def storage_class(obj: dict, warnings: list[str] | None = None) -> m.StorageClass:
    meta = _d(obj.get("metadata"))
    ann = _d(meta.get("annotations"))
    default = ann.get("storageclass.kubernetes.io/is-default-class") == "true" or \
        ann.get("storageclass.beta.kubernetes.io/is-default-class") == "true"
    topo = [{"matchExpressions": [{"key": e.get("key"), "operator": "In", "values": e.get("values")}
                                  for e in _l(_d(t).get("matchLabelExpressions")) if isinstance(e, dict)]}
            for t in _l(obj.get("allowedTopologies"))]
    return m.StorageClass(name=_s(meta.get("name")), provisioner=_s(obj.get("provisioner")),
                          volume_binding_mode=_s(obj.get("volumeBindingMode"), "Immediate") or "Immediate",
                          is_default=default, allowed_topologies=node_selector_terms(topo))


def event(obj: dict, warnings: list[str] | None = None) -> m.Event:
    """core/v1 Event or events.k8s.io/v1 Event."""
    meta = _d(obj.get("metadata"))
    inv = _d(obj.get("involvedObject")) or _d(obj.get("regarding"))
    series = _d(obj.get("series"))
    source = _s(_d(obj.get("source")).get("component")) or _s(obj.get("reportingController")) or \
        _s(obj.get("reportingComponent"))
    first = _s(obj.get("firstTimestamp")) or _s(obj.get("eventTime")) or _s(obj.get("deprecatedFirstTimestamp"))
    last = _s(obj.get("lastTimestamp")) or _s(series.get("lastObservedTime")) or \
        _s(obj.get("deprecatedLastTimestamp")) or first
    count = _i(obj.get("count")) or _i(series.get("count")) or _i(obj.get("deprecatedCount")) or 1
    return _new_event(
        namespace=_s(meta.get("namespace")), name=_s(meta.get("name")), uid=_s(meta.get("uid")),
        type=_s(obj.get("type")), reason=_s(obj.get("reason")),
        message=_s(obj.get("message")) or _s(obj.get("note")),
        involved=m.ObjectRef(kind=_s(inv.get("kind")), name=_s(inv.get("name")),
                             namespace=_s(inv.get("namespace")), uid=_s(inv.get("uid"))) if inv else None,
        source=source, first_timestamp=first, last_timestamp=last, count=count,
    )


def workload(obj: dict, warnings: list[str] | None = None) -> m.Workload:
    kind = _s(obj.get("kind"))
    meta, spec, status = _d(obj.get("metadata")), _d(obj.get("spec")), _d(obj.get("status"))
    if kind == "CronJob":
        tmpl = _d(_d(_d(_d(spec.get("jobTemplate")).get("spec")).get("template")))
    else:
        tmpl = _d(spec.get("template"))
    tmeta = dict(_d(tmpl.get("metadata")))
    tmeta.setdefault("namespace", meta.get("namespace"))
    tmeta.setdefault("name", f"{_s(meta.get('name'))}-<template>")
    template = pod_from_spec(tmeta, _d(tmpl.get("spec")), {}, warnings) if tmpl else None
    replicas = _i(spec.get("replicas"))
    if kind == "DaemonSet":
        replicas = _i(status.get("desiredNumberScheduled"))
    elif kind == "Job":
        replicas = _i(spec.get("parallelism"), 1)
    elif kind == "CronJob":
        replicas = None
    elif replicas is None:
        replicas = 1
    return m.Workload(
        kind=kind, namespace=_s(meta.get("namespace"), "default") or "default", name=_s(meta.get("name")),
        uid=_s(meta.get("uid")), owner=owner(meta), replicas=replicas,
        ready_replicas=_i(status.get("readyReplicas"), 0) or _i(status.get("numberReady"), 0) or 0,
        available_replicas=_i(status.get("availableReplicas"), 0) or _i(status.get("numberAvailable"), 0) or 0,
        selector=label_selector(spec.get("selector")), conditions=conditions(status.get("conditions")),
        template_pod=template, labels=_str_map(meta.get("labels")),
        suspended=kind in ("Job", "CronJob") and spec.get("suspend") is True,
    )


def priority_class(obj: dict, warnings: list[str] | None = None) -> m.PriorityClass:
    return m.PriorityClass(name=_s(_d(obj.get("metadata")).get("name")), value=_i(obj.get("value"), 0) or 0,
                           preemption_policy=_s(obj.get("preemptionPolicy"), "PreemptLowerPriority"),
                           global_default=obj.get("globalDefault") is True)


def pdb(obj: dict, warnings: list[str] | None = None) -> m.PodDisruptionBudget:
    meta = _d(obj.get("metadata"))
    return m.PodDisruptionBudget(namespace=_s(meta.get("namespace")), name=_s(meta.get("name")),
                                 selector=label_selector(_d(obj.get("spec")).get("selector")),
                                 disruptions_allowed=_i(_d(obj.get("status")).get("disruptionsAllowed"), 0) or 0)


def resource_quota(obj: dict, warnings: list[str] | None = None) -> m.ResourceQuota:
    meta = _d(obj.get("metadata"))
    return m.ResourceQuota(namespace=_s(meta.get("namespace")), name=_s(meta.get("name")),
                           hard=_str_map(_d(obj.get("status")).get("hard") or _d(obj.get("spec")).get("hard")),
                           used=_str_map(_d(obj.get("status")).get("used")))


def limit_range(obj: dict, warnings: list[str] | None = None) -> m.LimitRange:
    meta = _d(obj.get("metadata"))
    return m.LimitRange(namespace=_s(meta.get("namespace")), name=_s(meta.get("name")),
                        limits=tuple(_d(x) for x in _l(_d(obj.get("spec")).get("limits"))))


def namespace(obj: dict, warnings: list[str] | None = None) -> m.NamespaceInfo:
    meta = _d(obj.get("metadata"))
    return m.NamespaceInfo(name=_s(meta.get("name")), labels=_str_map(meta.get("labels")))


def config_meta(obj: dict, warnings: list[str] | None = None) -> m.ObjectMeta:
    """ConfigMap: key names only. Secret: existence only; its data is never read or kept."""
    kind = _s(obj.get("kind"))
    meta = _d(obj.get("metadata"))
    keys: tuple[str, ...] | None = None
    if kind == "ConfigMap" and ("data" in obj or "binaryData" in obj):
        keys = tuple(sorted(set(_d(obj.get("data"))) | set(_d(obj.get("binaryData")))))
    return m.ObjectMeta(kind=kind, namespace=_s(meta.get("namespace")), name=_s(meta.get("name")), keys=keys)


def runtime_class(obj: dict, warnings: list[str] | None = None) -> m.RuntimeClass:
    return m.RuntimeClass(name=_s(_d(obj.get("metadata")).get("name")), handler=_s(obj.get("handler")))


def csinode_limits(obj: dict) -> tuple[str, dict[str, int]]:
    """CSINode -> (node name, {driver: allocatable count})."""
    name = _s(_d(obj.get("metadata")).get("name"))
    limits: dict[str, int] = {}
    for drv in _l(_d(obj.get("spec")).get("drivers")):
        count = _i(_d(_d(drv).get("allocatable")).get("count"))
        if count is not None:
            limits[_s(_d(drv).get("name"))] = count
    return name, limits


def csinode_drivers(obj: dict) -> tuple[str, tuple[str, ...]]:
    """CSINode -> (node name, the names of the drivers installed on it)."""
    name = _s(_d(obj.get("metadata")).get("name"))
    return name, tuple(_s(_d(d).get("name")) for d in _l(_d(obj.get("spec")).get("drivers")))


def csi_driver(obj: dict, warnings: list[str] | None = None) -> m.CSIDriver:
    spec = _d(obj.get("spec"))
    return m.CSIDriver(name=_s(_d(obj.get("metadata")).get("name")),
                       attach_required=spec.get("attachRequired") is not False,
                       storage_capacity=spec.get("storageCapacity") is True,
                       prevent_scheduling_if_missing=spec.get("preventPodSchedulingIfMissing") is True)


def _bytes_or_none(x: Any, warnings: list[str] | None, where: str) -> int | None:
    if x is None:
        return None
    got = resources({"storage": x}, warnings, where)
    return got.get("storage")


def csi_storage_capacity(obj: dict, warnings: list[str] | None = None) -> m.CSIStorageCapacity:
    meta = _d(obj.get("metadata"))
    where = f"csistoragecapacity {_s(meta.get('name'))}"
    return m.CSIStorageCapacity(
        namespace=_s(meta.get("namespace")), name=_s(meta.get("name")),
        storage_class=_s(obj.get("storageClassName")),
        capacity=_bytes_or_none(obj.get("capacity"), warnings, where),
        maximum_volume_size=_bytes_or_none(obj.get("maximumVolumeSize"), warnings, where),
        node_topology=label_selector(obj.get("nodeTopology")))


def volume_attachment(obj: dict, warnings: list[str] | None = None) -> m.VolumeAttachment:
    spec = _d(obj.get("spec"))
    return m.VolumeAttachment(name=_s(_d(obj.get("metadata")).get("name")), attacher=_s(spec.get("attacher")),
                              node=_s(spec.get("nodeName")),
                              pv_name=_s(_d(spec.get("source")).get("persistentVolumeName")))


# --- Dynamic Resource Allocation -------------------------------------------------------------------

def _qty_text(x: Any) -> str:
    return x if isinstance(x, str) else (str(x) if isinstance(x, (int, float)) and not isinstance(x, bool) else "")


def _device_attribute(x: Any) -> m.DeviceAttribute | None:
    x = _d(x)
    for kind in ("int", "bool", "string", "version"):
        if kind in x:
            v = x[kind]
            if kind == "int":
                v = _i(v)
            elif kind == "bool":
                v = v is True
            else:
                v = _s(v)
            return m.DeviceAttribute(kind=kind, value=v)
    return None


def _device_capacity(x: Any) -> m.DeviceCapacity:
    x = _d(x)
    pol = x.get("requestPolicy")
    policy = None
    if isinstance(pol, dict):
        rng = _d(pol.get("validRange"))
        policy = m.CapacityPolicy(default=_qty_text(pol.get("default")),
                                  valid_values=tuple(_qty_text(v) for v in _l(pol.get("validValues"))),
                                  min=_qty_text(rng.get("min")), max=_qty_text(rng.get("max")),
                                  step=_qty_text(rng.get("step")), has_range=bool(rng))
    return m.DeviceCapacity(value=_qty_text(x.get("value")), policy=policy)


def _counter_sets(x: Any) -> tuple[tuple[str, Mapping[str, str]], ...]:
    """[{name|counterSet: s, counters: {c: {value: q}}}] -> ((s, {c: q}), ...)."""
    out = []
    for cs in _l(x):
        cs = _d(cs)
        name = _s(cs.get("name")) or _s(cs.get("counterSet"))
        counters = {_s(k): _qty_text(_d(v).get("value")) for k, v in _d(cs.get("counters")).items()}
        out.append((name, FrozenMap(counters)))
    return tuple(out)


def _device(x: Any) -> m.Device:
    x = _d(x)
    attrs = {}
    for k, v in _d(x.get("attributes")).items():
        a = _device_attribute(v)
        if a is not None:
            attrs[_s(k)] = a
    ns = x.get("nodeSelector")
    return m.Device(
        name=_s(x.get("name")), attributes=FrozenMap(attrs),
        capacity=FrozenMap({_s(k): _device_capacity(v) for k, v in _d(x.get("capacity")).items()}),
        consumes_counters=_counter_sets(x.get("consumesCounters")),
        taints=tuple(m.DeviceTaint(key=_s(_d(t).get("key")), value=_s(_d(t).get("value")),
                                   effect=_s(_d(t).get("effect"))) for t in _l(x.get("taints"))),
        allow_multiple_allocations=x.get("allowMultipleAllocations") is True,
        binds_to_node=x.get("bindsToNode") is True,
        binding_conditions=tuple(_s(c) for c in _l(x.get("bindingConditions"))),
        node_name=_s(x.get("nodeName")), all_nodes=x.get("allNodes") is True,
        node_selector=node_selector_terms(_d(ns).get("nodeSelectorTerms")) if isinstance(ns, dict) else None)


def resource_slice(obj: dict, warnings: list[str] | None = None) -> m.ResourceSlice:
    meta, spec = _d(obj.get("metadata")), _d(obj.get("spec"))
    pool = _d(spec.get("pool"))
    ns = spec.get("nodeSelector")
    return m.ResourceSlice(
        name=_s(meta.get("name")), driver=_s(spec.get("driver")), pool=_s(pool.get("name")),
        generation=_i(pool.get("generation"), 0) or 0, slice_count=_i(pool.get("resourceSliceCount"), 1) or 1,
        node_name=_s(spec.get("nodeName")), all_nodes=spec.get("allNodes") is True,
        node_selector=node_selector_terms(_d(ns).get("nodeSelectorTerms")) if isinstance(ns, dict) else None,
        per_device_node_selection=spec.get("perDeviceNodeSelection") is True,
        devices=tuple(_device(d) for d in _l(spec.get("devices"))),
        shared_counters=_counter_sets(spec.get("sharedCounters")))


def _cel_selectors(x: Any) -> tuple[str, ...]:
    return tuple(_s(_d(_d(sel).get("cel")).get("expression")) for sel in _l(x))


def device_class(obj: dict, warnings: list[str] | None = None) -> m.DeviceClass:
    meta, spec = _d(obj.get("metadata")), _d(obj.get("spec"))
    return m.DeviceClass(name=_s(meta.get("name")), selectors=_cel_selectors(spec.get("selectors")),
                         extended_resource_name=_s(spec.get("extendedResourceName")),
                         creation_timestamp=_s(meta.get("creationTimestamp")))


def _sub_request(name: str, x: Any) -> m.DeviceSubRequest:
    x = _d(x)
    return m.DeviceSubRequest(
        name=name, device_class=_s(x.get("deviceClassName")), selectors=_cel_selectors(x.get("selectors")),
        allocation_mode=_s(x.get("allocationMode"), "ExactCount") or "ExactCount",
        count=_i(x.get("count"), 1) or 0 if x.get("count") is not None else 1,
        admin_access=x.get("adminAccess") is True,
        tolerations=tuple(m.DeviceToleration(key=_s(_d(t).get("key")),
                                             operator=_s(_d(t).get("operator"), "Equal") or "Equal",
                                             value=_s(_d(t).get("value")), effect=_s(_d(t).get("effect")))
                          for t in _l(x.get("tolerations"))),
        capacity_requests=FrozenMap({_s(k): _qty_text(v)
                                     for k, v in _d(_d(x.get("capacity")).get("requests")).items()}))


def _claim_spec(spec: Any) -> tuple[tuple[m.DeviceRequest, ...], tuple[m.DeviceConstraint, ...]]:
    devices = _d(_d(spec).get("devices"))
    requests = []
    for r in _l(devices.get("requests")):
        r = _d(r)
        name = _s(r.get("name"))
        exactly = _sub_request(name, r["exactly"]) if isinstance(r.get("exactly"), dict) else None
        first = tuple(_sub_request(_s(_d(sr).get("name")), sr) for sr in _l(r.get("firstAvailable")))
        requests.append(m.DeviceRequest(name=name, exactly=exactly, first_available=first))
    constraints = tuple(m.DeviceConstraint(requests=tuple(_s(x) for x in _l(_d(c).get("requests"))),
                                           match_attribute=_s(_d(c).get("matchAttribute")),
                                           distinct_attribute=_s(_d(c).get("distinctAttribute")))
                        for c in _l(devices.get("constraints")))
    return tuple(requests), constraints


def resource_claim(obj: dict, warnings: list[str] | None = None) -> m.ResourceClaim:
    meta, status = _d(obj.get("metadata")), _d(obj.get("status"))
    requests, constraints = _claim_spec(obj.get("spec"))
    alloc = status.get("allocation")
    results: tuple[m.AllocatedDevice, ...] = ()
    node_sel = None
    if isinstance(alloc, dict):
        results = tuple(m.AllocatedDevice(
            request=_s(_d(r).get("request")), driver=_s(_d(r).get("driver")), pool=_s(_d(r).get("pool")),
            device=_s(_d(r).get("device")), admin_access=_d(r).get("adminAccess") is True,
            share_id=_s(_d(r).get("shareID")),
            consumed_capacity=FrozenMap({_s(k): _qty_text(v) for k, v in _d(_d(r).get("consumedCapacity")).items()}))
            for r in _l(_d(alloc.get("devices")).get("results")))
        ns = alloc.get("nodeSelector")
        node_sel = node_selector_terms(_d(ns).get("nodeSelectorTerms")) if isinstance(ns, dict) else None
    ann = _d(meta.get("annotations"))
    return m.ResourceClaim(
        namespace=_s(meta.get("namespace"), "default") or "default", name=_s(meta.get("name")),
        uid=_s(meta.get("uid")), owner=_controller(meta), deletion_timestamp=_s(meta.get("deletionTimestamp")),
        requests=requests, constraints=constraints, allocated=isinstance(alloc, dict), results=results,
        allocation_node_selector=node_sel,
        reserved_for=tuple(m.ObjectRef(kind=_s(_d(r).get("resource")), name=_s(_d(r).get("name")),
                                       uid=_s(_d(r).get("uid"))) for r in _l(status.get("reservedFor"))),
        extended_resource_claim=ann.get("resource.kubernetes.io/extended-resource-claim") == "true")


def resource_claim_template(obj: dict, warnings: list[str] | None = None) -> m.ResourceClaimTemplate:
    meta = _d(obj.get("metadata"))
    requests, constraints = _claim_spec(_d(_d(obj.get("spec")).get("spec")))
    return m.ResourceClaimTemplate(namespace=_s(meta.get("namespace"), "default") or "default",
                                   name=_s(meta.get("name")), requests=requests, constraints=constraints)


# Add-on kinds kept as their JSON (model.AddonObject), by kind and the API groups that serve it: a kind
# of the same name from another group is not taken for it.
ADDON_KINDS: Mapping[str, tuple[str, ...]] = {
    "Workload": ("kueue.x-k8s.io",), "LocalQueue": ("kueue.x-k8s.io",), "ClusterQueue": ("kueue.x-k8s.io",),
    "ResourceFlavor": ("kueue.x-k8s.io",), "VerticalPodAutoscaler": ("autoscaling.k8s.io",),
    "InferenceService": ("serving.kserve.io",), "ClusterPolicy": ("nvidia.com",),
    "HorizontalPodAutoscaler": ("autoscaling",), "PodGroup": ("scheduling.x-k8s.io",),
}


def addon_object(obj: dict, warnings: list[str] | None = None) -> m.AddonObject:
    meta = _d(obj.get("metadata"))
    api_version = _s(obj.get("apiVersion"))
    kind = _s(obj.get("kind"))
    if api_version.rpartition("/")[0] not in ADDON_KINDS.get(kind, ()):
        raise ConversionError(f"{kind} of apiVersion {api_version!r} is not read (expected "
                              f"{' or '.join(ADDON_KINDS.get(kind, ()))})")
    body = {k: v for k, v in obj.items() if k not in ("metadata",)}
    body["metadata"] = {k: v for k, v in meta.items() if k != "managedFields"}
    return m.AddonObject(api_version=api_version, kind=kind, namespace=_s(meta.get("namespace")),
                         name=_s(meta.get("name")), uid=_s(meta.get("uid")), body=body)


CONVERTERS: Mapping[str, Callable[..., Any]] = {
    "Pod": pod, "Node": node, "Event": event, "PersistentVolumeClaim": pvc, "PersistentVolume": pv,
    "StorageClass": storage_class, "PriorityClass": priority_class, "PodDisruptionBudget": pdb,
    "ResourceQuota": resource_quota, "LimitRange": limit_range, "Namespace": namespace,
    "ConfigMap": config_meta, "Secret": config_meta, "RuntimeClass": runtime_class,
    "CSIDriver": csi_driver, "CSIStorageCapacity": csi_storage_capacity, "VolumeAttachment": volume_attachment,
    "DeviceClass": device_class, "ResourceSlice": resource_slice, "ResourceClaim": resource_claim,
    "ResourceClaimTemplate": resource_claim_template,
    **{k: workload for k in WORKLOAD_KINDS},
    **{k: addon_object for k in ADDON_KINDS},
}
