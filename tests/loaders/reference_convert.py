"""FROZEN reference: podtriage/convert.py as it was before the per-workload caches and the key
dispatch (commit 1f8c7ee). Only tests import it: the equivalence test converts every fixture and
generated clusters with both and requires equal objects and equal warnings. Do not "fix" this
file along with convert.py; change it only when a conversion is meant to change.
"""
# ruff: noqa
# mypy: ignore-errors

from __future__ import annotations

import dataclasses
import sys
from functools import lru_cache
from typing import Any, Callable, Mapping, NoReturn, TypeVar

from podtriage import model as m
from podtriage.quantity import QuantityError, to_scheduler_units
from podtriage.waitrefs import container_summary

# Resource kinds podtriage reads, by the `kind` field of a List item.
KNOWN_KINDS = (
    "Pod", "Node", "Event", "PersistentVolumeClaim", "PersistentVolume", "StorageClass",
    "Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job", "CronJob",
    "PriorityClass", "PodDisruptionBudget", "ResourceQuota", "LimitRange", "Namespace",
    "ConfigMap", "Secret", "RuntimeClass", "CSINode",
)
WORKLOAD_KINDS = ("Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job", "CronJob")


class ConversionError(ValueError):
    """This object cannot be understood (wrong shape), with a short reason."""


class _EmptyMap(dict):  # type: ignore[type-arg]
    """The one empty mapping shared by every object that has none (labels, overhead, limits...).

    150k pods with no overhead, no nodeSelector and no limits would otherwise hold 450k empty
    dicts. It is still a dict (equality, `dict(x)`, JSON and asdict behave as before), but refuses
    mutation so that a stray write cannot leak into every other object.
    """

    __slots__ = ()

    def _refuse(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise TypeError("podtriage.convert.EMPTY is shared and read-only")

    __setitem__ = __delitem__ = __ior__ = setdefault = update = pop = popitem = clear = _refuse  # type: ignore[assignment]

    def __reduce__(self) -> Any:
        return (_empty_map, ())

    def __copy__(self) -> _EmptyMap:
        return self

    def __deepcopy__(self, memo: Any) -> _EmptyMap:
        return self


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


_new_pod = _direct_constructor(m.Pod)
_new_container = _direct_constructor(m.Container)
_new_container_state = _direct_constructor(m.ContainerState)


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
    return {(_intern(k) if type(k) is str else str(k)): (_intern(v) if type(v) is str else _s(v))
            for k, v in x.items()}


def resources(x: Any, warnings: list[str] | None = None, where: str = "") -> dict[str, int]:
    """A ResourceList -> scheduler units; invalid quantities are dropped with a warning.

    Returns a new dict, or the shared read-only EMPTY when nothing is left.
    """
    if not isinstance(x, dict) or not x:
        return EMPTY  # type: ignore[return-value]
    out: dict[str, int] = {}
    for name, raw in x.items():
        key = _intern(name) if type(name) is str else str(name)
        try:
            out[key] = to_scheduler_units(key, raw)
        except (QuantityError, ValueError, OverflowError):
            if warnings is not None:
                warnings.append(f"{where}: ignored invalid quantity {name}={raw!r}")
    return out if out else EMPTY  # type: ignore[return-value]


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


def container(x: Any, warnings: list[str] | None = None, where: str = "", init: bool = False) -> m.Container:
    c = x if isinstance(x, dict) else {}
    get = c.get
    name = _si(get("name"))
    res = get("resources")
    if isinstance(res, dict) and res:
        limits_raw, requests_raw = res.get("limits"), res.get("requests")
        loc = f"{where} container {name}"
        limits = resources(limits_raw, warnings, loc) if limits_raw else EMPTY
        requests = resources(requests_raw, warnings, loc) if requests_raw else EMPTY
        # API defaulting: a limit with no request means request == limit.
        if limits:
            if requests:
                for k, v in limits.items():
                    requests.setdefault(k, v)  # type: ignore[union-attr]  # a fresh dict when non-empty
            else:
                requests = dict(limits)
    else:
        limits = requests = EMPTY
    written: dict[str, str] = {}
    if isinstance(res, dict):
        for raw in (res.get("limits"), res.get("requests")):
            if isinstance(raw, dict):
                written.update((str(k), str(v)) for k, v in raw.items())
    ports_raw = get("ports")
    ports = tuple(_port(p) for p in ports_raw) if isinstance(ports_raw, list) and ports_raw else ()
    config_refs = _config_refs(c) if ("env" in c or "envFrom" in c) else ()
    shown, refs = container_summary(c) if init else ("", [])
    return _new_container(name=name, image=_si(get("image")), requests=requests, limits=limits, ports=ports,
                          config_refs=config_refs, restart_policy=_si(get("restartPolicy")),
                          requests_text=written or EMPTY,
                          command_shown=shown, waits=tuple(refs))


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
    for kind, ident in (("gcePersistentDisk", "pdName"), ("awsElasticBlockStore", "volumeID"),
                        ("rbd", "image"), ("iscsi", "iqn")):
        if kind in v:
            src = _d(v.get(kind))
            return m.Volume(name=name, kind=kind, unique_disk=_s(src.get(ident)),
                            read_only=src.get("readOnly") is True)
    for kind in ("hostPath", "emptyDir", "csi", "projected", "downwardAPI", "nfs"):
        if kind in v:
            return m.Volume(name=name, kind=kind)
    return m.Volume(name=name, kind="other")


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
        last_message=_s(last.get("message"))[:500],  # issue 16
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
    requests = dict(resources(x.get("requests"), warnings, f"{where} spec.resources"))
    for k, v in limits.items():
        requests.setdefault(k, v)
    return requests or EMPTY


def pod_from_spec(meta: dict, spec: dict, status: dict, warnings: list[str] | None = None) -> m.Pod:
    # The hot path of loading a large cluster: one call per pod. Absent fields (most of them, on
    # most pods) cost a dict lookup and share the empty tuple / EMPTY map; nothing is built twice.
    mget, sget, stget = meta.get, spec.get, status.get
    ns = _si(mget("namespace"), "default") or "default"
    name = _s(mget("name")) or _s(mget("generateName"))
    where = f"pod {ns}/{name}"
    aff = sget("affinity")
    required: tuple[m.NodeSelectorTerm, ...] | None = None
    pod_aff: tuple[m.PodAffinityTerm, ...] = ()
    pod_anti: tuple[m.PodAffinityTerm, ...] = ()
    if isinstance(aff, dict) and aff:
        node_aff = _d(_d(aff.get("nodeAffinity")).get("requiredDuringSchedulingIgnoredDuringExecution"))
        if node_aff:
            required = node_selector_terms(node_aff.get("nodeSelectorTerms"))
        pod_aff = pod_affinity_terms(_d(aff.get("podAffinity")).get("requiredDuringSchedulingIgnoredDuringExecution"))
        pod_anti = pod_affinity_terms(
            _d(aff.get("podAntiAffinity")).get("requiredDuringSchedulingIgnoredDuringExecution"))
    tsc_raw = sget("topologySpreadConstraints")
    tsc = tuple(_spread_constraint(c) for c in tsc_raw) if isinstance(tsc_raw, list) and tsc_raw else ()
    prio = _i(sget("priority"), 0) or 0
    overhead = sget("overhead")
    volumes_raw = sget("volumes")
    conds = stget("conditions")
    return _new_pod(
        namespace=ns, name=name, uid=_s(mget("uid")), labels=_str_map(mget("labels")),
        owner=owner(meta), creation_timestamp=_s(mget("creationTimestamp")),
        deletion_timestamp=_s(mget("deletionTimestamp")),
        node_name=_si(sget("nodeName")),
        scheduler_name=_si(sget("schedulerName"), "default-scheduler") or "default-scheduler",
        priority=prio, priority_class_name=_si(sget("priorityClassName")),
        preemption_policy=_si(sget("preemptionPolicy")),
        node_selector=_str_map(sget("nodeSelector")), required_node_affinity=required,
        pod_affinity=pod_aff, pod_anti_affinity=pod_anti,
        tolerations=tolerations(sget("tolerations")),
        containers=_containers(sget("containers"), warnings, where),
        init_containers=_containers(sget("initContainers"), warnings, where, True),
        overhead=resources(overhead, warnings, where) if overhead else EMPTY,
        pod_requests=_pod_level_requests(sget("resources"), warnings, where),
        volumes=tuple(volume(v, name) for v in volumes_raw) if isinstance(volumes_raw, list) and volumes_raw else (),
        topology_spread_constraints=tsc,
        scheduling_gates=_names(sget("schedulingGates")),
        image_pull_secrets=_names(sget("imagePullSecrets")),
        runtime_class_name=_si(sget("runtimeClassName")),
        service_account_name=_si(sget("serviceAccountName")),
        active_deadline_seconds=_i(sget("activeDeadlineSeconds")),
        host_network=sget("hostNetwork") is True,
        phase=_si(stget("phase"), "Pending") or "Pending",
        reason=_si(stget("reason")), message=_s(stget("message")),
        nominated_node_name=_si(stget("nominatedNodeName")), start_time=_s(stget("startTime")),
        conditions=tuple(_condition(c) for c in conds) if isinstance(conds, list) and conds else (),
        container_statuses=_container_states(stget("containerStatuses")),
        init_container_statuses=_container_states(stget("initContainerStatuses")),
        # Fields added after the optimisation (issue 13): converted by the same helpers.
        resource_claims=_new._pod_resource_claims(sget("resourceClaims")),
        resource_claim_statuses={_s(_d(c).get("name")): _s(_d(c).get("resourceClaimName"))
                                 for c in _l(stget("resourceClaimStatuses")) if isinstance(c, dict)} or EMPTY,
        required_features=_new.required_node_features(sget("containers"), sget("initContainers"),
                                                      sget("hostNetwork"), sget("hostUsers")),
        # issue 16: the VPA admission controller's annotation
        vpa_updates=_s(_d(mget("annotations")).get("vpaUpdates"))[:1000],
    )


_NO_DICT: dict = {}  # read-only by convention: stands in for an absent spec/status, never stored


def pod(obj: dict, warnings: list[str] | None = None) -> m.Pod:
    meta = obj.get("metadata")
    if not isinstance(meta, dict):
        meta = _NO_DICT
    if not _s(meta.get("name")):
        raise ConversionError("pod without metadata.name")
    spec, status = obj.get("spec"), obj.get("status")
    return pod_from_spec(meta, spec if isinstance(spec, dict) else _NO_DICT,
                         status if isinstance(status, dict) else _NO_DICT, warnings)


def node(obj: dict, warnings: list[str] | None = None) -> m.Node:
    meta, spec, status = _d(obj.get("metadata")), _d(obj.get("spec")), _d(obj.get("status"))
    name = _s(meta.get("name"))
    if not name:
        raise ConversionError("node without metadata.name")
    taints = tuple(
        m.Taint(key=_s(_d(t).get("key")), value=_s(_d(t).get("value")), effect=_s(_d(t).get("effect")))
        for t in _l(spec.get("taints"))
    )
    return m.Node(
        name=name, uid=_s(meta.get("uid")), labels=_str_map(meta.get("labels")), taints=taints,
        unschedulable=spec.get("unschedulable") is True,
        allocatable=resources(status.get("allocatable"), warnings, f"node {name} allocatable"),
        capacity=resources(status.get("capacity"), warnings, f"node {name} capacity"),
        conditions=conditions(status.get("conditions")),
        creation_timestamp=_s(meta.get("creationTimestamp")),
        deletion_timestamp=_s(meta.get("deletionTimestamp")),
        last_heartbeat=_newest_heartbeat(status.get("conditions")),
    )


def _newest_heartbeat(conds: Any) -> str:
    newest = ""
    for c in _l(conds):
        t = _s(_d(c).get("lastHeartbeatTime"))
        if t > newest:
            newest = t
    return newest


def pvc(obj: dict, warnings: list[str] | None = None) -> m.PersistentVolumeClaim:
    meta, spec, status = _d(obj.get("metadata")), _d(obj.get("spec")), _d(obj.get("status"))
    sc = spec.get("storageClassName")
    req = _d(_d(spec.get("resources")).get("requests"))
    storage = resources({"storage": req["storage"]} if "storage" in req else {}, warnings,
                        f"pvc {_s(meta.get('name'))}").get("storage", 0)
    return m.PersistentVolumeClaim(
        namespace=_s(meta.get("namespace"), "default") or "default", name=_s(meta.get("name")),
        uid=_s(meta.get("uid")), storage_class_name=sc if isinstance(sc, str) else None,
        volume_name=_s(spec.get("volumeName")), phase=_s(status.get("phase"), "Pending") or "Pending",
        access_modes=tuple(_s(a) for a in _l(spec.get("accessModes"))), requested_storage=storage,
        deletion_timestamp=_s(meta.get("deletionTimestamp")),
        selected_node=_s(_d(meta.get("annotations")).get("volume.kubernetes.io/selected-node")),
        labels=_str_map(meta.get("labels")),
    )


def pv(obj: dict, warnings: list[str] | None = None) -> m.PersistentVolume:
    meta, spec, status = _d(obj.get("metadata")), _d(obj.get("spec")), _d(obj.get("status"))
    claim = _d(spec.get("claimRef"))
    na = _d(_d(spec.get("nodeAffinity")).get("required"))
    cap = resources(_d(spec.get("capacity")), warnings, f"pv {_s(meta.get('name'))}")
    return m.PersistentVolume(
        name=_s(meta.get("name")), uid=_s(meta.get("uid")), storage_class_name=_s(spec.get("storageClassName")),
        capacity_storage=cap.get("storage", 0), access_modes=tuple(_s(a) for a in _l(spec.get("accessModes"))),
        phase=_s(status.get("phase"), "Available") or "Available",
        claim_ref=m.ObjectRef(kind="PersistentVolumeClaim", name=_s(claim.get("name")),
                              namespace=_s(claim.get("namespace")), uid=_s(claim.get("uid"))) if claim else None,
        node_affinity=node_selector_terms(na.get("nodeSelectorTerms")) if na else None,
        labels=_str_map(meta.get("labels")), csi_driver=_s(_d(spec.get("csi")).get("driver")),
        volume_mode=_s(spec.get("volumeMode"), "Filesystem") or "Filesystem",
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
    return m.Event(
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
        template_pod=template, labels=_str_map(meta.get("labels")),  # issue 16: labels, suspend
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


CONVERTERS: Mapping[str, Callable[..., Any]] = {
    "Pod": pod, "Node": node, "Event": event, "PersistentVolumeClaim": pvc, "PersistentVolume": pv,
    "StorageClass": storage_class, "PriorityClass": priority_class, "PodDisruptionBudget": pdb,
    "ResourceQuota": resource_quota, "LimitRange": limit_range, "Namespace": namespace,
    "ConfigMap": config_meta, "Secret": config_meta, "RuntimeClass": runtime_class,
    **{k: workload for k in WORKLOAD_KINDS},
}


# Node, PVC, PV and pod volumes gained fields after the optimisation this module freezes (issue 13:
# declared features, binding, migration, DRA); they were never part of the pod fast path, so the
# reference takes them from podtriage.convert itself.
from podtriage import convert as _new  # noqa: E402

node = _new.node  # noqa: F811
pvc = _new.pvc  # noqa: F811
pv = _new.pv  # noqa: F811
volume = _new.volume  # noqa: F811
CONVERTERS = {**CONVERTERS, "Node": node, "PersistentVolumeClaim": pvc, "PersistentVolume": pv,
              **{k: v for k, v in _new.CONVERTERS.items() if k not in CONVERTERS}}
