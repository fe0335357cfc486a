"""What an init container waits for, when its command names Kubernetes objects.

Init containers that hold a pod until something else is ready are common: `k8s-wait-for job NAME`
(groundnuty/k8s-wait-for), `kubectl wait --for=condition=complete job/NAME`, `until nslookup
db.data.svc` or `nc -z postgres.data.svc 5432`. When such an init container runs forever (or keeps
failing), the answer is the object it waits for: missing, failed, or not ready. Jobs and pods are
in the snapshot and are checked; Services are not read by podtriage, and the answer says so.
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import model as m
from ..findings import EvidenceItem
from ..snapshot import Snapshot

@dataclass(frozen=True)
class Wait:
    """One object the init container's command waits for, and what the snapshot says of it."""

    kind: str
    namespace: str
    name: str  # or a label selector ("-lapp=db") for k8s-wait-for's pod form
    state: str  # "missing", "failed", "not ready", "done", "unknown" (not read by podtriage)
    detail: str

    def describe(self) -> str:
        return f"{self.kind} `{self.namespace}/{self.name}`: {self.detail}"


def runs(c: m.Container) -> str:
    """'image busybox:1.36, command sh -c "until nc -z postgres.data.svc 5432; do sleep 2; done"' for the
    answer: the command as podtriage.waitrefs.shown_command shows it (possible credentials are "…")."""
    parts = [f"image {c.image}" if c.image else "the image's entrypoint"]
    if c.command_shown:
        parts.append(f"command {c.command_shown}")
    return ", ".join(parts)


def references(c: m.Container, namespace: str) -> list[tuple[str, str, str]]:
    """(kind, namespace, name) of the objects the command waits for, in order, without repeats."""
    return list(dict.fromkeys((kind, ns or namespace, name) for kind, ns, name in c.waits))


def check(snap: Snapshot, kind: str, namespace: str, name: str) -> Wait:
    """What the snapshot says of one waited-for object."""
    if kind == "Service":
        return Wait(kind, namespace, name, "unknown",
                    f"podtriage does not read Services: check that it exists and has endpoints "
                    f"(`kubectl -n {namespace} get endpointslices -l kubernetes.io/service-name={name}`)")
    if kind == "Pod":
        pods = _pods(snap, namespace, name)
        if not pods:
            return Wait(kind, namespace, name, "missing", f"no such pod in namespace {namespace}")
        ready = [p for p in pods if (c := p.condition("Ready")) is not None and c.status == "True"]
        if not ready:
            return Wait(kind, namespace, name, "not ready",
                        f"{len(pods)} pod(s), none Ready ({', '.join(sorted({p.phase for p in pods}))})")
        return Wait(kind, namespace, name, "done", f"{len(ready)} Ready")
    w = snap.workload_by_key.get((kind, namespace, name))
    if w is None:
        if not snap.has(kind):
            return Wait(kind, namespace, name, "unknown", f"{kind} objects were not read")
        return Wait(kind, namespace, name, "missing", f"no {kind} {name} in namespace {namespace}: "
                                                      "the wait can never end")
    conds = {c.type: c for c in w.conditions if c.status == "True"}
    if kind == "Job":
        if "Failed" in conds:
            c = conds["Failed"]
            why = c.reason + (f": {c.message}" if c.message else "")
            return Wait(kind, namespace, name, "failed", f"the Job failed ({why}): it will never complete")
        if "Complete" in conds:
            return Wait(kind, namespace, name, "done", "the Job completed")
        return Wait(kind, namespace, name, "not ready", "the Job has not completed yet")
    if w.ready_replicas < (w.replicas or 0):
        return Wait(kind, namespace, name, "not ready", f"{w.ready_replicas}/{w.replicas} replicas ready")
    return Wait(kind, namespace, name, "done", "ready")


def _pods(snap: Snapshot, namespace: str, name: str) -> list[m.Pod]:
    if name.startswith("-l"):
        want = dict(kv.split("=", 1) for kv in name[2:].split(",") if "=" in kv)
        return [p for p in snap.pods if p.namespace == namespace and want
                and all(p.labels.get(k) == v for k, v in want.items())]
    p = snap.pod_by_key.get(f"{namespace}/{name}")
    return [p] if p is not None else []


def waits_for(snap: Snapshot, pod: m.Pod, c: m.Container) -> tuple[str, list[EvidenceItem], str]:
    """The sentence for the answer ('' when the command names no object), its evidence, and the
    first line of the fix ('' when nothing specific is known)."""
    found = [check(snap, *ref) for ref in references(c, pod.namespace)]
    if not found:
        return "", [], ""
    blocking = [w for w in found if w.state in ("missing", "failed", "not ready")] or found
    text = "it waits for " + "; ".join(w.describe() for w in blocking[:3])
    ev = [EvidenceItem(kind="object", summary=w.describe(),
                       source=f"{w.kind} list" if w.state != "unknown" else f"Pod {pod.key} spec.initContainers"
                                                                             f"[{c.name}] command/args",
                       data={"kind": w.kind, "namespace": w.namespace, "name": w.name, "state": w.state})
          for w in blocking[:3]]
    return text, ev, fix_hint(blocking[0])


def fix_hint(w: Wait) -> str:
    """What to change, for the first object the wait is blocked on."""
    ref = f"{w.kind} `{w.namespace}/{w.name}`"
    if w.state == "failed":
        return (f"The {ref} it waits for failed and will never complete: read why "
                f"(`kubectl -n {w.namespace} logs job/{w.name}`), fix it and run it again (a failed Job is "
                f"not retried: delete and re-create it, or re-run what creates it, such as the Helm hook); "
                f"the wait then ends. The init container's own log:")
    if w.state == "missing":
        return (f"Nothing named {ref} exists: create it, or correct the name the init container waits for "
                f"(a finished Job with ttlSecondsAfterFinished is deleted, and a wait for it never ends). "
                f"The init container's own log:")
    if w.state == "not ready":
        return f"Make {ref} ready ({w.detail}), or give the wait a timeout inside the init container:"
    return ""


__all__ = ["Wait", "check", "fix_hint", "references", "runs", "waits_for"]
