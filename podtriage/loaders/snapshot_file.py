"""podtriage's own snapshot file: what `podtriage snapshot` writes and every command can read back.

Layout (JSON, gzip when the path ends in ``.gz``)::

    {"apiVersion": "podtriage.dev/v1", "kind": "Snapshot",
     "metadata": {"created": RFC 3339, "source": ..., "cluster": {"server", "context", "version"},
                  "collected": [kinds], "namespaces": [...], "missing": [{"resource", "namespace", "reason"}],
                  "schedulerNames": [...] | null, "podtriageVersion": ...},
     "items": [trimmed Kubernetes objects, one per line]}

Items are trimmed to the fields podtriage reads (`trim_object`): no managedFields, almost no
annotations, no Secret data at all and no ConfigMap values, so a snapshot can be attached to a
ticket without leaking credentials.
"""

from __future__ import annotations

import gzip
import json
import os
import sys
import tempfile
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .. import __version__
from ..convert import KNOWN_KINDS
from ..errors import InputFileError
from ..snapshot import SnapshotBuilder, SnapshotMeta
from ..waitrefs import container_summary, summary_document

API_VERSION = "podtriage.dev/v1"
KIND = "Snapshot"

# Annotations podtriage reads; every other annotation (last-applied-configuration above all) is dropped.
KEPT_ANNOTATIONS = frozenset({
    "volume.kubernetes.io/selected-node",
    "volume.kubernetes.io/storage-provisioner",
    "volume.beta.kubernetes.io/storage-provisioner",
    "storageclass.kubernetes.io/is-default-class",
    "storageclass.beta.kubernetes.io/is-default-class",
    "pv.kubernetes.io/bind-completed",
    "volume.beta.kubernetes.io/storage-class",
    "resource.kubernetes.io/extended-resource-claim",
    "cluster-autoscaler.kubernetes.io/safe-to-evict",
    "vpaUpdates",  # the VerticalPodAutoscaler that set a pod's requests (diagnose/autoscaling.py)
})

_META_KEYS = ("name", "generateName", "namespace", "uid", "labels", "ownerReferences",
              "creationTimestamp", "deletionTimestamp")
_POD_SPEC_KEYS = (
    "nodeName", "schedulerName", "priority", "priorityClassName", "preemptionPolicy", "nodeSelector",
    "affinity", "tolerations", "overhead", "topologySpreadConstraints", "schedulingGates",
    "imagePullSecrets", "runtimeClassName", "serviceAccountName", "activeDeadlineSeconds", "hostNetwork",
    "restartPolicy", "resources",  # spec.resources: pod-level requests (PodLevelResources), read by convert
    "resourceClaims", "hostUsers",  # DRA claims; NodeDeclaredFeatures (hostNetwork + hostUsers: false)
)
_POD_STATUS_KEYS = ("phase", "reason", "message", "nominatedNodeName", "startTime", "conditions",
                    "containerStatuses", "initContainerStatuses", "qosClass", "resourceClaimStatuses",
                    "extendedResourceClaimStatus")
_CONTAINER_KEYS = ("name", "image", "resources", "ports", "envFrom", "restartPolicy", "restartPolicyRules")


def _pick(d: Any, keys: Iterable[str]) -> dict:
    if not isinstance(d, dict):
        return {}
    return {k: d[k] for k in keys if k in d}


def _trim_meta(meta: Any, keys: Iterable[str] = _META_KEYS) -> dict:
    out = _pick(meta, keys)
    ann = meta.get("annotations") if isinstance(meta, dict) else None
    if isinstance(ann, dict):
        kept = {k: v for k, v in ann.items() if k in KEPT_ANNOTATIONS}
        if kept:
            out["annotations"] = kept
    return out


def _trim_container(c: Any, init: bool = False) -> Any:
    if not isinstance(c, dict):
        return c
    out = _pick(c, _CONTAINER_KEYS)
    if init:
        # An init container's command line may hold credentials: only what answers show of it (every
        # word that could be one elided) and the objects it waits for are kept
        out.update(summary_document(*container_summary(c)))
    env = c.get("env")
    if isinstance(env, list):
        # Literal env values can hold credentials; only references (valueFrom) are analysed.
        out["env"] = [{k: e[k] for k in ("name", "valueFrom") if k in e} for e in env if isinstance(e, dict)]
    mounts = c.get("volumeMounts")
    if isinstance(mounts, list):  # only what NodeDeclaredFeatures reads (VolumeBindMountOptions)
        kept = [{k: vm[k] for k in ("name", "bindMountOptions") if k in vm}
                for vm in mounts if isinstance(vm, dict) and vm.get("bindMountOptions")]
        if kept:
            out["volumeMounts"] = kept
    return out


def _trim_volume(v: Any) -> Any:
    if not isinstance(v, dict):
        return v
    out = dict(v)
    for src, secret_field in (("csi", "volumeAttributes"), ("flexVolume", "options")):
        if isinstance(out.get(src), dict):
            out[src] = {k: x for k, x in out[src].items() if k != secret_field}
    return out


def _trim_pod_spec(spec: Any) -> dict:
    out = _pick(spec, _POD_SPEC_KEYS)
    if not isinstance(spec, dict):
        return out
    for key in ("containers", "initContainers"):
        if isinstance(spec.get(key), list):
            out[key] = [_trim_container(c, key == "initContainers") for c in spec[key]]
    if isinstance(spec.get("volumes"), list):
        out["volumes"] = [_trim_volume(v) for v in spec["volumes"]]
    return out


def _trim_template(t: Any) -> dict:
    if not isinstance(t, dict):
        return {}
    return {"metadata": _trim_meta(t.get("metadata"), ("name", "namespace", "labels")),
            "spec": _trim_pod_spec(t.get("spec"))}


def _trim_workload(obj: dict, out: dict) -> None:
    spec = obj.get("spec")
    if isinstance(spec, dict):
        s = {k: v for k, v in spec.items() if k not in ("template", "jobTemplate", "volumeClaimTemplates")}
        if "template" in spec:
            s["template"] = _trim_template(spec["template"])
        jt = spec.get("jobTemplate")
        if isinstance(jt, dict):
            jspec = jt.get("spec")
            if not isinstance(jspec, dict):
                jspec = {}
            s["jobTemplate"] = {"spec": {**{k: v for k, v in jspec.items() if k != "template"},
                                         "template": _trim_template(jspec.get("template"))}}
        out["spec"] = s
    if isinstance(obj.get("status"), dict):
        out["status"] = obj["status"]


def trim_object(obj: dict) -> dict:
    """Keep only what podtriage reads from one Kubernetes object (never Secret data or ConfigMap values)."""
    kind = obj.get("kind")
    out: dict[str, Any] = {"apiVersion": obj.get("apiVersion", ""), "kind": kind}
    meta = obj.get("metadata")
    if kind == "Secret":
        out["metadata"] = _pick(meta, ("name", "namespace", "uid", "labels"))
        return out
    out["metadata"] = _trim_meta(meta)
    if kind == "Pod":
        out["spec"] = _trim_pod_spec(obj.get("spec"))
        out["status"] = _pick(obj.get("status"), _POD_STATUS_KEYS)
    elif kind == "Node":
        out["spec"] = _pick(obj.get("spec"), ("taints", "unschedulable", "providerID"))
        out["status"] = _pick(obj.get("status"), ("allocatable", "capacity", "conditions", "nodeInfo",
                                                   "declaredFeatures"))
    elif kind == "CSIStorageCapacity":
        out.update(_pick(obj, ("storageClassName", "capacity", "maximumVolumeSize", "nodeTopology")))
    elif kind == "ConfigMap":
        for key in ("data", "binaryData"):
            if isinstance(obj.get(key), dict):
                out[key] = {k: "" for k in obj[key]}  # key names matter, values may be sensitive
    elif kind == "StorageClass":
        # `parameters` may carry provisioner credentials; podtriage never reads them.
        out.update(_pick(obj, ("provisioner", "volumeBindingMode", "allowedTopologies", "reclaimPolicy",
                               "allowVolumeExpansion")))
    elif kind == "PersistentVolume":
        spec = dict(obj.get("spec") or {}) if isinstance(obj.get("spec"), dict) else {}
        if isinstance(spec.get("csi"), dict):
            spec["csi"] = {k: v for k, v in spec["csi"].items() if k != "volumeAttributes"}
        out["spec"] = spec
        out["status"] = _pick(obj.get("status"), ("phase", "reason", "message"))
    elif kind in ("Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job", "CronJob"):
        _trim_workload(obj, out)
    elif kind == "RuntimeClass":
        out.update(_pick(obj, ("handler", "overhead", "scheduling")))
    elif kind == "PriorityClass":
        out.update(_pick(obj, ("value", "preemptionPolicy", "globalDefault", "description")))
    elif kind == "Event":
        out.update({k: v for k, v in obj.items() if k not in ("apiVersion", "kind", "metadata")})
    elif kind == "Namespace":
        out["status"] = _pick(obj.get("status"), ("phase",))
    else:
        # PVC, PDB, ResourceQuota, LimitRange, CSINode, and kinds podtriage does not read
        for key in ("spec", "status"):
            if isinstance(obj.get(key), dict):
                out[key] = obj[key]
    return out


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def meta_to_header(meta: SnapshotMeta) -> dict:
    """A SnapshotMeta as the `metadata` of a snapshot file (what `write_snapshot(meta=)` takes)."""
    return {
        "created": meta.created or _now(),
        "source": meta.source,
        "cluster": {"server": meta.cluster_server, "context": meta.context, "version": meta.server_version},
        "collected": sorted(meta.collected),
        "namespaces": list(meta.namespaces),
        "missing": [{"resource": x.resource, "namespace": x.namespace, "reason": x.reason} for x in meta.missing],
        "schedulerNames": list(meta.scheduler_names) if meta.scheduler_names is not None else None,
    }


def write_snapshot(raw_items: Iterable[dict], path: str | Path, *, meta: Mapping[str, Any]) -> int:
    """Write a snapshot file (gzip when `path` ends in .gz), atomically. Returns the item count.

    `meta` holds the header's metadata keys (see `meta_to_header`); `created` and
    `podtriageVersion` are filled in when absent. Every item goes through `trim_object` again,
    so Secret data can never reach the file whatever the caller passes.
    """
    path = Path(path)
    header = {
        "created": meta.get("created") or _now(),
        "source": meta.get("source", ""),
        "cluster": dict(meta.get("cluster") or {}),
        "collected": sorted(meta.get("collected") or ()),
        "namespaces": list(meta.get("namespaces") or ()),
        "missing": [dict(x) for x in meta.get("missing") or ()],
        "schedulerNames": meta.get("schedulerNames"),
        "podtriageVersion": meta.get("podtriageVersion") or __version__,
    }
    if str(path) == "-":  # `snapshot -o -`: stdout, like kubectl (plain JSON: pipe it to gzip)
        out = sys.stdout.buffer
        count = _stream_items(raw_items, out, header)
        out.flush()
        return count
    directory = path.parent if str(path.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=directory)
    try:
        with os.fdopen(fd, "wb") as raw:
            stream: Any = gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) if path.name.endswith(".gz") \
                else raw
            with stream:
                count = _stream_items(raw_items, stream, header)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return count


def _stream_items(raw_items: Iterable[dict], stream: Any, header: Mapping[str, Any]) -> int:
    head = json.dumps({"apiVersion": API_VERSION, "kind": KIND, "metadata": header}, separators=(",", ":"))
    stream.write(head[:-1].encode() + b',"items":[')
    count = 0
    for item in raw_items:
        if not isinstance(item, dict) or item.get("kind") not in KNOWN_KINDS:
            continue
        stream.write((b"\n" if count == 0 else b",\n") + json.dumps(trim_object(item), separators=(",", ":")).encode())
        count += 1
    stream.write(b"\n]}\n")
    return count


def is_snapshot_document(doc: Any) -> bool:
    return isinstance(doc, dict) and doc.get("kind") == KIND and doc.get("apiVersion") == API_VERSION


def apply_snapshot_header(header: Any, builder: SnapshotBuilder, origin: str) -> None:
    """What a snapshot's header says about the collection (kinds read, reads that failed, the
    cluster), for `builder`; the header wins over anything inferred from the items."""
    if not isinstance(header, dict):
        raise InputFileError(origin, "podtriage snapshot without metadata")
    for kind in header.get("collected") or ():
        if isinstance(kind, str):
            builder.mark_collected(kind)
    for miss in header.get("missing") or ():
        if isinstance(miss, dict):
            builder.mark_missing(str(miss.get("resource", "")), str(miss.get("namespace", "")),
                                 str(miss.get("reason", "")))
    cluster = header.get("cluster")
    if not isinstance(cluster, dict):
        cluster = {}
    overrides: dict[str, Any] = {
        "created": str(header.get("created") or ""),
        "cluster_server": str(cluster.get("server") or ""),
        "context": str(cluster.get("context") or ""),
        "server_version": str(cluster.get("version") or ""),
        "namespaces": tuple(str(n) for n in header.get("namespaces") or ()),
    }
    names = header.get("schedulerNames")
    if isinstance(names, list):
        overrides["scheduler_names"] = tuple(str(n) for n in names)
    builder.meta_overrides.update(overrides)


def add_snapshot_document(doc: dict, builder: SnapshotBuilder, origin: str) -> int:
    """Feed a parsed snapshot document into `builder`; its header wins for meta. Returns the item count."""
    header = doc.get("metadata")
    items = doc.get("items")
    apply_snapshot_header(header, builder, origin)
    if not isinstance(items, list):
        raise InputFileError(origin, "podtriage snapshot without an items list")
    count = len(items)
    add = builder.add
    for i, item in enumerate(items):
        # Released once converted, as for List items: the raw objects are the largest thing in
        # memory while a big snapshot loads, and the converted snapshot keeps none of them.
        items[i] = None
        add(item, origin=origin)
    items.clear()
    return count


__all__ = [
    "API_VERSION",
    "KEPT_ANNOTATIONS",
    "KIND",
    "add_snapshot_document",
    "apply_snapshot_header",
    "is_snapshot_document",
    "meta_to_header",
    "trim_object",
    "write_snapshot",
]
