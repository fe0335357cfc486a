"""Who owns a pod: the controller chain up to the object a person edits (Deployment, not ReplicaSet)."""

from __future__ import annotations

from collections.abc import Mapping

from . import model as m
from .snapshot import Snapshot

API_VERSIONS = {"Pod": "v1", "Node": "v1", "Deployment": "apps/v1", "StatefulSet": "apps/v1",
                "DaemonSet": "apps/v1", "ReplicaSet": "apps/v1", "Job": "batch/v1", "CronJob": "batch/v1"}

# Where each kind keeps the pod spec, as a JSON pointer.
POD_SPEC_PATH = {"Pod": "/spec", "Deployment": "/spec/template/spec", "StatefulSet": "/spec/template/spec",
                 "DaemonSet": "/spec/template/spec", "ReplicaSet": "/spec/template/spec", "Job": "/spec/template/spec",
                 "CronJob": "/spec/jobTemplate/spec/template/spec"}


def owner_chain(snap: Snapshot, namespace: str, owner: m.OwnerRef | None,
                labels: Mapping[str, str] | None = None) -> tuple[tuple[str, ...], tuple[str, str] | None]:
    """("ReplicaSet/web-5f7d", "Deployment/web"), ("Deployment", "web"): innermost first, and the top."""
    chain: list[str] = []
    top: tuple[str, str] | None = None
    cur = owner
    while cur is not None and len(chain) < 6:
        chain.append(f"{cur.kind}/{cur.name}")
        top = (cur.kind, cur.name)
        w = snap.workload_by_key.get((cur.kind, namespace, cur.name))
        if w is None:
            # A ReplicaSet that was not read: its pods still say which Deployment made it.
            h = (labels or {}).get("pod-template-hash")
            if cur.kind == "ReplicaSet" and h and cur.name.endswith("-" + h):
                dep = cur.name[: -len(h) - 1]
                chain.append(f"Deployment/{dep}")
                top = ("Deployment", dep)
            break
        cur = w.owner
    return tuple(chain), top


def editable_owner(snap: Snapshot, pod: m.Pod) -> tuple[dict[str, str], str]:
    """The object whose pod spec a person edits to change `pod`, and the JSON pointer of that spec.

    A controller's pod template when the pod has a known controller kind; the pod itself otherwise
    (a bare pod, or an owner podtriage does not know how to edit, such as a custom resource).
    """
    _, top = owner_chain(snap, pod.namespace, pod.owner, pod.labels)
    if top is not None and top[0] in POD_SPEC_PATH:
        kind, name = top
    else:
        kind, name = "Pod", pod.name
    return ({"apiVersion": API_VERSIONS[kind], "kind": kind, "namespace": pod.namespace, "name": name},
            POD_SPEC_PATH[kind])


__all__ = ["API_VERSIONS", "POD_SPEC_PATH", "editable_owner", "owner_chain"]
