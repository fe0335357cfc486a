"""The snapshot: every object podtriage read, plain and immutable, plus what it could not read.

Built by `SnapshotBuilder.add(obj)` from Kubernetes JSON dicts (the live collector and the file
loaders both feed it), then `build()` freezes it. Indexes are computed once, lazily.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Iterable

from . import convert
from . import model as m


@dataclass(frozen=True)
class SnapshotMeta:
    source: str = ""  # "live" or the path it was loaded from
    created: str = ""  # RFC 3339, when the data was read (a file's own header wins)
    cluster_server: str = ""
    context: str = ""
    server_version: str = ""
    # kinds that were read completely in some scope ("Node" in here + no nodes = the cluster has none)
    collected: frozenset[str] = frozenset()
    # the namespaces that were read for namespaced kinds; empty tuple = all namespaces
    namespaces: tuple[str, ...] = ()
    missing: tuple[m.Missing, ...] = ()
    warnings: tuple[str, ...] = ()
    # kube-scheduler profile names seen running (from leases/pods) if known; None = unknown
    scheduler_names: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Snapshot:
    meta: SnapshotMeta
    pods: tuple[m.Pod, ...] = ()
    nodes: tuple[m.Node, ...] = ()
    events: tuple[m.Event, ...] = ()
    pvcs: tuple[m.PersistentVolumeClaim, ...] = ()
    pvs: tuple[m.PersistentVolume, ...] = ()
    storage_classes: tuple[m.StorageClass, ...] = ()
    workloads: tuple[m.Workload, ...] = ()
    priority_classes: tuple[m.PriorityClass, ...] = ()
    pdbs: tuple[m.PodDisruptionBudget, ...] = ()
    quotas: tuple[m.ResourceQuota, ...] = ()
    limit_ranges: tuple[m.LimitRange, ...] = ()
    namespaces: tuple[m.NamespaceInfo, ...] = ()
    config_objects: tuple[m.ObjectMeta, ...] = ()
    runtime_classes: tuple[m.RuntimeClass, ...] = ()
    csi_drivers: tuple[m.CSIDriver, ...] = ()
    csi_storage_capacities: tuple[m.CSIStorageCapacity, ...] = ()
    volume_attachments: tuple[m.VolumeAttachment, ...] = ()
    device_classes: tuple[m.DeviceClass, ...] = ()
    resource_slices: tuple[m.ResourceSlice, ...] = ()
    resource_claims: tuple[m.ResourceClaim, ...] = ()
    resource_claim_templates: tuple[m.ResourceClaimTemplate, ...] = ()
    addon_objects: tuple[m.AddonObject, ...] = ()

    def addons(self, kind: str, namespace: str | None = None) -> list[m.AddonObject]:
        """Add-on objects of one kind (Kueue's LocalQueue, ...), in one namespace or all."""
        return [o for o in self.addons_by_kind.get(kind, ()) if namespace is None or o.namespace == namespace]

    @cached_property
    def addons_by_kind(self) -> dict[str, list[m.AddonObject]]:
        out: dict[str, list[m.AddonObject]] = {}
        for o in self.addon_objects:
            out.setdefault(o.kind, []).append(o)
        return out

    # --- what was read -------------------------------------------------------------------
    def has(self, kind: str) -> bool:
        """True when `kind` was collected (possibly empty), False when it is unknown."""
        return kind in self.meta.collected

    # --- indexes (computed once) ---------------------------------------------------------
    @cached_property
    def pod_by_key(self) -> dict[str, m.Pod]:
        return {p.key: p for p in self.pods}

    @cached_property
    def pods_by_name(self) -> dict[str, list[m.Pod]]:
        """Pod name -> the pods of that name, one per namespace (target lookup without a scan)."""
        out: dict[str, list[m.Pod]] = {}
        for p in self.pods:
            out.setdefault(p.name, []).append(p)
        return out

    @cached_property
    def pods_by_node(self) -> dict[str, list[m.Pod]]:
        """Pods that occupy a node: assigned and not terminal (the scheduler's NodeInfo view)."""
        out: dict[str, list[m.Pod]] = {}
        for p in self.pods:
            if p.node_name and not p.is_terminal:
                out.setdefault(p.node_name, []).append(p)
        return out

    @cached_property
    def node_by_name(self) -> dict[str, m.Node]:
        return {n.name: n for n in self.nodes}

    @cached_property
    def nodes_by_label(self) -> dict[tuple[str, str], frozenset[str]]:
        """(label key, value) -> the names of the nodes carrying it."""
        out: dict[tuple[str, str], set[str]] = {}
        for n in self.nodes:
            for kv in n.labels.items():
                out.setdefault(kv, set()).add(n.name)
        return {kv: frozenset(names) for kv, names in out.items()}

    @cached_property
    def node_label_values(self) -> dict[str, dict[str, int]]:
        """label key -> value -> how many nodes carry it (in the order the nodes first show them)."""
        out: dict[str, dict[str, int]] = {}
        for (k, v), names in self.nodes_by_label.items():
            out.setdefault(k, {})[v] = len(names)
        return out

    @cached_property
    def pvc_by_key(self) -> dict[str, m.PersistentVolumeClaim]:
        return {f"{c.namespace}/{c.name}": c for c in self.pvcs}

    @cached_property
    def pv_by_name(self) -> dict[str, m.PersistentVolume]:
        return {v.name: v for v in self.pvs}

    @cached_property
    def storage_class_by_name(self) -> dict[str, m.StorageClass]:
        return {s.name: s for s in self.storage_classes}

    @cached_property
    def default_storage_class(self) -> m.StorageClass | None:
        defaults = [s for s in self.storage_classes if s.is_default]
        return defaults[0] if defaults else None

    @cached_property
    def csi_driver_by_name(self) -> dict[str, m.CSIDriver]:
        return {d.name: d for d in self.csi_drivers}

    @cached_property
    def device_class_by_name(self) -> dict[str, m.DeviceClass]:
        return {c.name: c for c in self.device_classes}

    @cached_property
    def resource_claim_by_key(self) -> dict[str, m.ResourceClaim]:
        return {c.key: c for c in self.resource_claims}

    @cached_property
    def resource_claim_template_by_key(self) -> dict[str, m.ResourceClaimTemplate]:
        return {f"{t.namespace}/{t.name}": t for t in self.resource_claim_templates}

    @cached_property
    def workload_by_key(self) -> dict[tuple[str, str, str], m.Workload]:
        """(kind, namespace, name) -> workload."""
        return {(w.kind, w.namespace, w.name): w for w in self.workloads}

    @cached_property
    def priority_class_by_name(self) -> dict[str, m.PriorityClass]:
        return {p.name: p for p in self.priority_classes}

    @cached_property
    def namespace_labels(self) -> dict[str, dict[str, str]]:
        return {n.name: dict(n.labels) for n in self.namespaces}

    @cached_property
    def config_object_keys(self) -> dict[tuple[str, str, str], m.ObjectMeta]:
        """(kind, namespace, name) -> metadata of a ConfigMap or Secret."""
        return {(o.kind, o.namespace, o.name): o for o in self.config_objects}

    @cached_property
    def events_by_object(self) -> dict[tuple[str, str, str], list[m.Event]]:
        """(kind, namespace, name) -> events about it, oldest first."""
        out: dict[tuple[str, str, str], list[m.Event]] = {}
        for e in self.events:
            if e.involved is None:
                continue
            ns = e.involved.namespace or e.namespace
            out.setdefault((e.involved.kind, ns, e.involved.name), []).append(e)
        for evs in out.values():
            evs.sort(key=lambda e: (e.first_timestamp or e.last_timestamp, e.last_timestamp))
        return out

    def events_for(self, kind: str, namespace: str, name: str, uid: str = "") -> list[m.Event]:
        """Events about one object; when a uid is known, events of an older namesake are dropped."""
        evs = self.events_by_object.get((kind, namespace, name), [])
        if uid:
            evs = [e for e in evs if not e.involved or not e.involved.uid or e.involved.uid == uid]
        return evs

    @cached_property
    def pods_by_owner(self) -> dict[tuple[str, str, str], list[m.Pod]]:
        """(owner kind, namespace, owner name) -> pods it controls."""
        out: dict[tuple[str, str, str], list[m.Pod]] = {}
        for p in self.pods:
            if p.owner:
                out.setdefault((p.owner.kind, p.namespace, p.owner.name), []).append(p)
        return out

    @cached_property
    def workloads_by_owner(self) -> dict[tuple[str, str, str], list[m.Workload]]:
        """(owner kind, namespace, owner name) -> workloads it controls (Deployment -> ReplicaSets)."""
        out: dict[tuple[str, str, str], list[m.Workload]] = {}
        for w in self.workloads:
            if w.owner:
                out.setdefault((w.owner.kind, w.namespace, w.owner.name), []).append(w)
        return out


# Kubernetes kinds grouped into the Snapshot field they land in.
_FIELD_OF_KIND = {
    "Pod": "pods", "Node": "nodes", "Event": "events", "PersistentVolumeClaim": "pvcs",
    "PersistentVolume": "pvs", "StorageClass": "storage_classes", "PriorityClass": "priority_classes",
    "PodDisruptionBudget": "pdbs", "ResourceQuota": "quotas", "LimitRange": "limit_ranges",
    "Namespace": "namespaces", "ConfigMap": "config_objects", "Secret": "config_objects",
    "RuntimeClass": "runtime_classes", "CSIDriver": "csi_drivers", "CSIStorageCapacity": "csi_storage_capacities",
    "VolumeAttachment": "volume_attachments", "DeviceClass": "device_classes", "ResourceSlice": "resource_slices",
    "ResourceClaim": "resource_claims", "ResourceClaimTemplate": "resource_claim_templates",
    **{k: "workloads" for k in convert.WORKLOAD_KINDS},
    **{k: "addon_objects" for k in convert.ADDON_KINDS},
}


class SnapshotBuilder:
    """Collects objects (as Kubernetes JSON dicts) and freezes them into a Snapshot."""

    def __init__(self, source: str = "") -> None:
        self.source = source
        self._items: dict[str, dict[tuple[str, str, str], Any]] = {f: {} for f in set(_FIELD_OF_KIND.values())}
        self._csinode: dict[str, dict[str, int]] = {}
        self._csinode_drivers: dict[str, tuple[str, ...]] = {}
        self.collected: set[str] = set()
        self.missing: list[m.Missing] = []
        self.warnings: list[str] = []
        self.meta_overrides: dict[str, Any] = {}
        self.counts: dict[str, int] = {}
        self._pods = self._items["pods"]
        # replicas of a workload share their converted containers, tolerations, labels...
        self._cache = convert.ConvertCache()

    def add(self, obj: Any, *, origin: str = "") -> bool:
        """Convert and keep one object. Unknown kinds are ignored; broken ones become a warning."""
        if type(obj) is not dict and not isinstance(obj, dict):
            self.warnings.append(f"{origin or self.source}: skipped an item that is not an object")
            return False
        kind: Any = obj.get("kind")
        if kind == "Pod":  # nine objects in ten: the shortest path
            try:
                converted = convert.pod(obj, self.warnings, self._cache)
            except (convert.ConversionError, TypeError, ValueError, AttributeError) as exc:
                return self._skipped(obj, kind, origin, exc)
            store = self._pods
            size = len(store)
            store["", converted.namespace, converted.name] = converted  # one hash, duplicate or not
            if len(store) == size:  # replaced (in place, as before): a duplicate
                self._duplicate(kind, converted.namespace, converted.name, origin)
            counts = self.counts
            counts["Pod"] = counts.get("Pod", 0) + 1
            return True
        if kind == "CSINode":
            name, limits = convert.csinode_limits(obj)
            self._csinode[name] = limits
            self._csinode_drivers[name] = convert.csinode_drivers(obj)[1]
            return True
        field_name = _FIELD_OF_KIND.get(kind) if isinstance(kind, str) else None
        if field_name is None:
            return False
        if field_name == "addon_objects" and str(obj.get("apiVersion", "")).rpartition("/")[0] \
                not in convert.ADDON_KINDS[kind]:
            return False  # a kind of the same name from another API (scheduling.k8s.io's Workload)
        try:
            if kind == "Secret":
                # Never keep Secret data, even transiently in a converted object.
                obj = {"kind": "Secret", "metadata": obj.get("metadata")}
            converted = convert.CONVERTERS[kind](obj, self.warnings)
        except (convert.ConversionError, TypeError, ValueError, AttributeError) as exc:
            return self._skipped(obj, kind, origin, exc)
        ns = getattr(converted, "namespace", "") or ""
        name = getattr(converted, "name", "") or ""
        key = (kind if field_name in ("workloads", "config_objects", "addon_objects") else "", ns, name)
        store = self._items[field_name]
        if field_name == "events":
            uid = getattr(converted, "uid", "")
            key = ("", ns, uid or f"{name}#{len(store)}")
        if key in store:
            self._duplicate(kind, ns, name, origin)
        store[key] = converted
        self.counts[kind] = self.counts.get(kind, 0) + 1
        return True

    def _skipped(self, obj: dict, kind: str, origin: str, exc: Exception) -> bool:
        meta: Any = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
        self.warnings.append(f"{origin or self.source}: skipped {kind} {meta.get('name', '?')!s}: {exc}")
        return False

    def _duplicate(self, kind: str, ns: str, name: str, origin: str) -> None:
        self.warnings.append(f"{origin or self.source}: duplicate {kind} {ns + '/' if ns else ''}{name}; "
                             "kept the last one")

    def add_all(self, objs: Iterable[Any], *, origin: str = "") -> None:
        for o in objs:
            self.add(o, origin=origin)

    def export_state(self) -> dict[str, Any]:
        """What this builder holds, as plain picklable data (a forked loader sends it back)."""
        return {"items": self._items, "csinode": self._csinode, "csinode_drivers": self._csinode_drivers,
                "collected": self.collected,
                "missing": self.missing, "warnings": self.warnings, "meta_overrides": self.meta_overrides,
                "counts": self.counts}

    def absorb_state(self, state: dict[str, Any], origin: str = "") -> None:
        """Add another builder's export_state(), as if its objects had been added here after ours
        (later duplicates win, with a warning)."""
        self.warnings.extend(state["warnings"])
        for field_name, objs in state["items"].items():
            store = self._items[field_name]
            if field_name == "events":
                for (_, ns, _k), ev in objs.items():
                    # an event's key without uid counts the events before it: recount here
                    key = ("", ns, getattr(ev, "uid", "") or f"{getattr(ev, 'name', '')}#{len(store)}")
                    if key in store:
                        self._duplicate("Event", ns, getattr(ev, "name", ""), origin)
                    store[key] = ev
                continue
            for key, obj in objs.items():
                if key in store:
                    kind = key[0] or type(obj).__name__.removesuffix("Info")  # NamespaceInfo
                    self._duplicate(kind, key[1], key[2], origin)
                store[key] = obj
        self._csinode.update(state["csinode"])
        self._csinode_drivers.update(state.get("csinode_drivers", {}))
        self.collected |= state["collected"]
        self.missing.extend(state["missing"])
        self.meta_overrides.update(state["meta_overrides"])
        for kind, n in state["counts"].items():
            self.counts[kind] = self.counts.get(kind, 0) + n

    def take(self) -> tuple[list[tuple[str, Any, Any]], list[str]]:
        """Remove and return what was added since the last `take`: ([(field, key, object)], warnings).

        For a long-lived converter (`podtriage watch`) that keeps each object's conversion and puts
        it into a fresh builder (`put`) until the object changes. CSINode entries come as
        ("csinode", name, (volume limits, drivers))."""
        out: list[tuple[str, Any, Any]] = []
        for field_name, objs in self._items.items():
            if objs:
                out.extend((field_name, k, v) for k, v in objs.items())
                objs.clear()
        for name, limits in self._csinode.items():
            out.append(("csinode", name, (limits, self._csinode_drivers.get(name))))
        self._csinode.clear()
        self._csinode_drivers.clear()
        warnings, self.warnings = self.warnings, []
        return out, warnings

    def put(self, field_name: str, key: Any, obj: Any) -> None:
        """Keep an object another builder converted (an entry of its `take`)."""
        if field_name == "csinode":
            self._csinode[key], drivers = obj
            if drivers is not None:
                self._csinode_drivers[key] = drivers
            return
        self._items[field_name][key] = obj

    def mark_collected(self, kind: str) -> None:
        self.collected.add(kind)

    def mark_missing(self, resource: str, namespace: str = "", reason: str = "") -> None:
        self.missing.append(m.Missing(resource=resource, namespace=namespace, reason=reason))

    def build(self, **meta: Any) -> Snapshot:
        self._cache = convert.ConvertCache()  # nothing converted from here on can reuse the old parts
        nodes = tuple(self._items["nodes"].values())
        if self._csinode:
            from dataclasses import replace
            nodes = tuple(replace(n, volume_limits=self._csinode.get(n.name, {}),
                                  csi_drivers=self._csinode_drivers.get(n.name)) for n in nodes)
        fields = {f: tuple(v.values()) for f, v in self._items.items()}
        fields["nodes"] = nodes
        meta_args: dict[str, Any] = {"source": self.source, "collected": frozenset(self.collected),
                     "missing": tuple(self.missing), "warnings": tuple(self.warnings)}
        meta_args.update(self.meta_overrides)
        meta_args.update(meta)
        return Snapshot(meta=SnapshotMeta(**meta_args), **fields)


def empty_collected_kinds(snapshot: Snapshot) -> list[str]:
    """Kinds that were not collected at all (for the 'what was missing' report)."""
    wanted = ("Node", "Pod", "Event", "PersistentVolumeClaim", "PersistentVolume", "StorageClass")
    return [k for k in wanted if k not in snapshot.meta.collected]


__all__ = ["Snapshot", "SnapshotBuilder", "SnapshotMeta", "field"]
