"""Kubernetes JSON (as the API or `kubectl get -o json|yaml` gives it) -> podtriage.model.

Tolerant by design: a field of the wrong type is treated as absent, never a traceback. Objects
that cannot be converted at all raise ConversionError, which the loaders turn into a warning
naming the object that was skipped.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

from . import model as m
from .quantity import QuantityError, to_scheduler_units

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


def _d(x: Any) -> dict:
    return x if isinstance(x, dict) else {}


def _l(x: Any) -> list:
    return x if isinstance(x, list) else []


def _s(x: Any, default: str = "") -> str:
    if isinstance(x, str):
        return x
    if isinstance(x, (int, float)) and not isinstance(x, bool):
        return str(x)
    return default


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
    return {str(k): _s(v) for k, v in _d(x).items()}


def resources(x: Any, warnings: list[str] | None = None, where: str = "") -> dict[str, int]:
    """A ResourceList -> scheduler units; invalid quantities are dropped with a warning."""
    out: dict[str, int] = {}
    for name, raw in _d(x).items():
        try:
            out[str(name)] = to_scheduler_units(str(name), raw)
        except (QuantityError, ValueError, OverflowError):
            if warnings is not None:
                warnings.append(f"{where}: ignored invalid quantity {name}={raw!r}")
    return out


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
    refs = [_d(r) for r in _l(meta.get("ownerReferences"))]
    chosen = next((r for r in refs if r.get("controller") is True), refs[0] if refs else None)
    if not chosen:
        return None
    return m.OwnerRef(kind=_s(chosen.get("kind")), name=_s(chosen.get("name")), uid=_s(chosen.get("uid")),
                      controller=chosen.get("controller") is True)


def _config_refs(c: dict) -> tuple[m.ConfigRef, ...]:
    refs: list[m.ConfigRef] = []
    for env in _l(c.get("env")):
        vf = _d(_d(env).get("valueFrom"))
        for kind, field_ in (("ConfigMap", "configMapKeyRef"), ("Secret", "secretKeyRef")):
            ref = _d(vf.get(field_))
            if ref:
                refs.append(m.ConfigRef(kind=kind, name=_s(ref.get("name")), key=_s(ref.get("key")),
                                        optional=ref.get("optional") is True,
                                        via=f"env {_s(_d(env).get('name'))}"))
    for ef in _l(c.get("envFrom")):
        for kind, field_ in (("ConfigMap", "configMapRef"), ("Secret", "secretRef")):
            ref = _d(_d(ef).get(field_))
            if ref:
                refs.append(m.ConfigRef(kind=kind, name=_s(ref.get("name")), optional=ref.get("optional") is True,
                                        via="envFrom"))
    return tuple(refs)


def container(x: Any, warnings: list[str] | None = None, where: str = "") -> m.Container:
    c = _d(x)
    res = _d(c.get("resources"))
    name = _s(c.get("name"))
    loc = f"{where} container {name}"
    limits = resources(res.get("limits"), warnings, loc)
    requests = resources(res.get("requests"), warnings, loc)
    # API defaulting: a limit with no request means request == limit.
    for k, v in limits.items():
        requests.setdefault(k, v)
    ports = tuple(
        m.ContainerPort(container_port=_i(_d(p).get("containerPort"), 0) or 0,
                        host_port=_i(_d(p).get("hostPort"), 0) or 0,
                        protocol=_s(_d(p).get("protocol"), "TCP") or "TCP",
                        host_ip=_s(_d(p).get("hostIP")))
        for p in _l(c.get("ports"))
    )
    return m.Container(name=name, image=_s(c.get("image")), requests=requests, limits=limits, ports=ports,
                       config_refs=_config_refs(c), restart_policy=_s(c.get("restartPolicy")))


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
            reason = _s(inner.get("reason"))
            message = _s(inner.get("message"))
            exit_code = _i(inner.get("exitCode"))
            started_at = _s(inner.get("startedAt"))
            finished_at = _s(inner.get("finishedAt"))
            break
    last = _d(_d(s.get("lastState")).get("terminated"))
    return m.ContainerState(
        name=_s(s.get("name")), state=state, reason=reason, message=message, exit_code=exit_code,
        started_at=started_at, finished_at=finished_at, restart_count=_i(s.get("restartCount"), 0) or 0,
        ready=s.get("ready") is True, started=s.get("started") if isinstance(s.get("started"), bool) else None,
        container_id=_s(s.get("containerID")), image=_s(s.get("image")),
        last_reason=_s(last.get("reason")), last_exit_code=_i(last.get("exitCode")),
        last_finished_at=_s(last.get("finishedAt")), last_started_at=_s(last.get("startedAt")),
    )


def conditions(x: Any) -> tuple[m.Condition, ...]:
    return tuple(
        m.Condition(type=_s(_d(c).get("type")), status=_s(_d(c).get("status")), reason=_s(_d(c).get("reason")),
                    message=_s(_d(c).get("message")),
                    last_transition_time=_s(_d(c).get("lastTransitionTime")))
        for c in _l(x)
    )


def tolerations(x: Any) -> tuple[m.Toleration, ...]:
    return tuple(
        m.Toleration(key=_s(_d(t).get("key")), operator=_s(_d(t).get("operator"), "Equal") or "Equal",
                     value=_s(_d(t).get("value")), effect=_s(_d(t).get("effect")),
                     toleration_seconds=_i(_d(t).get("tolerationSeconds")))
        for t in _l(x)
    )


def pod_from_spec(meta: dict, spec: dict, status: dict, warnings: list[str] | None = None) -> m.Pod:
    ns = _s(meta.get("namespace"), "default") or "default"
    name = _s(meta.get("name")) or _s(meta.get("generateName"))
    where = f"pod {ns}/{name}"
    aff = _d(spec.get("affinity"))
    node_aff = _d(_d(aff.get("nodeAffinity")).get("requiredDuringSchedulingIgnoredDuringExecution"))
    required = node_selector_terms(node_aff.get("nodeSelectorTerms")) if node_aff else None
    tsc = tuple(
        m.TopologySpreadConstraint(
            max_skew=_i(_d(c).get("maxSkew"), 1) or 1,
            topology_key=_s(_d(c).get("topologyKey")),
            when_unsatisfiable=_s(_d(c).get("whenUnsatisfiable"), "DoNotSchedule") or "DoNotSchedule",
            label_selector=label_selector(_d(c).get("labelSelector")),
            min_domains=_i(_d(c).get("minDomains")),
            node_affinity_policy=_s(_d(c).get("nodeAffinityPolicy"), "Honor") or "Honor",
            node_taints_policy=_s(_d(c).get("nodeTaintsPolicy"), "Ignore") or "Ignore",
            match_label_keys=tuple(_s(k) for k in _l(_d(c).get("matchLabelKeys"))),
        )
        for c in _l(spec.get("topologySpreadConstraints"))
    )
    prio = _i(spec.get("priority"), 0) or 0
    return m.Pod(
        namespace=ns, name=name, uid=_s(meta.get("uid")), labels=_str_map(meta.get("labels")),
        owner=owner(meta), creation_timestamp=_s(meta.get("creationTimestamp")),
        deletion_timestamp=_s(meta.get("deletionTimestamp")),
        node_name=_s(spec.get("nodeName")),
        scheduler_name=_s(spec.get("schedulerName"), "default-scheduler") or "default-scheduler",
        priority=prio, priority_class_name=_s(spec.get("priorityClassName")),
        preemption_policy=_s(spec.get("preemptionPolicy")),
        node_selector=_str_map(spec.get("nodeSelector")), required_node_affinity=required,
        pod_affinity=pod_affinity_terms(
            _d(aff.get("podAffinity")).get("requiredDuringSchedulingIgnoredDuringExecution")),
        pod_anti_affinity=pod_affinity_terms(
            _d(aff.get("podAntiAffinity")).get("requiredDuringSchedulingIgnoredDuringExecution")),
        tolerations=tolerations(spec.get("tolerations")),
        containers=tuple(container(c, warnings, where) for c in _l(spec.get("containers"))),
        init_containers=tuple(container(c, warnings, where) for c in _l(spec.get("initContainers"))),
        overhead=resources(spec.get("overhead"), warnings, where),
        volumes=tuple(volume(v, name) for v in _l(spec.get("volumes"))),
        topology_spread_constraints=tsc,
        scheduling_gates=tuple(_s(_d(g).get("name")) for g in _l(spec.get("schedulingGates"))),
        image_pull_secrets=tuple(_s(_d(s).get("name")) for s in _l(spec.get("imagePullSecrets"))),
        runtime_class_name=_s(spec.get("runtimeClassName")),
        service_account_name=_s(spec.get("serviceAccountName")),
        active_deadline_seconds=_i(spec.get("activeDeadlineSeconds")),
        host_network=spec.get("hostNetwork") is True,
        phase=_s(status.get("phase"), "Pending") or "Pending",
        reason=_s(status.get("reason")), message=_s(status.get("message")),
        nominated_node_name=_s(status.get("nominatedNodeName")), start_time=_s(status.get("startTime")),
        conditions=conditions(status.get("conditions")),
        container_statuses=tuple(container_state(s) for s in _l(status.get("containerStatuses"))),
        init_container_statuses=tuple(container_state(s) for s in _l(status.get("initContainerStatuses"))),
    )


def pod(obj: dict, warnings: list[str] | None = None) -> m.Pod:
    meta = _d(obj.get("metadata"))
    if not _s(meta.get("name")):
        raise ConversionError("pod without metadata.name")
    return pod_from_spec(meta, _d(obj.get("spec")), _d(obj.get("status")), warnings)


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
    )


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
        template_pod=template,
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
