"""Model serving: a KServe InferenceService as an `explain` target.

`podtriage explain inferenceservice/NAME` follows the InferenceService to the workloads KServe made
for it (the predictor's Deployment in raw-deployment mode, `NAME-predictor`; the Knative revision's
Deployment in serverless mode), both labelled `serving.kserve.io/inferenceservice=NAME`, and to their
pods, which are then explained like any workload's. When KServe made no predictor at all, the
InferenceService's own status says why (`modelStatus.lastFailureInfo`: no ServingRuntime supports the
model format, a runtime that is disabled...), and that is the cause.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from .. import model as m
from ..findings import EvidenceItem, Signal
from ..snapshot import Snapshot

LABEL = "serving.kserve.io/inferenceservice"
KIND = "InferenceService"


def _d(x: Any) -> Mapping[str, Any]:
    return x if isinstance(x, Mapping) else {}


def predictor_workloads(snap: Snapshot, namespace: str, name: str) -> list[m.Workload]:
    """The Deployments KServe created for the InferenceService (by label, else by the raw-mode name)."""
    out = [w for w in snap.workloads if w.kind == "Deployment" and w.namespace == namespace
           and (w.labels.get(LABEL) == name or (w.template_pod is not None and w.template_pod.labels.get(LABEL) == name))]
    if not out:
        out = [w for w in snap.workloads if w.kind == "Deployment" and w.namespace == namespace
               and w.name == f"{name}-predictor"]
    return out


def labelled_pods(snap: Snapshot, namespace: str, name: str) -> list[m.Pod]:
    return [p for p in snap.pods if p.namespace == namespace and p.labels.get(LABEL) == name]


def find(snap: Snapshot, name: str, namespace: str | None) -> list[m.Workload]:
    """The InferenceService as a Workload (kind InferenceService), one per namespace it is found in:
    by its object, or, when InferenceServices were not read, by the workloads and pods labelled for it."""
    spaces: dict[str, m.AddonObject | None] = {}
    for o in snap.addons(KIND):
        if o.name == name and (namespace is None or o.namespace == namespace):
            spaces[o.namespace] = o
    for w in snap.workloads:
        if w.kind == "Deployment" and (namespace is None or w.namespace == namespace) and w.labels.get(LABEL) == name:
            spaces.setdefault(w.namespace, None)
    for p in snap.pods:
        if (namespace is None or p.namespace == namespace) and p.labels.get(LABEL) == name:
            spaces.setdefault(p.namespace, None)
    out = []
    for ns, obj in sorted(spaces.items()):
        deps = predictor_workloads(snap, ns, name)
        replicas = sum(d.replicas or 0 for d in deps) if deps else None
        if not deps and obj is not None:  # what KServe would run: spec.predictor.minReplicas (default 1)
            mr = _d(_d(obj.body.get("spec")).get("predictor")).get("minReplicas")
            replicas = mr if isinstance(mr, int) else 1
        conds: tuple[m.Condition, ...] = ()
        if obj is not None:
            conds = tuple(m.Condition(type=str(_d(c).get("type", "")), status=str(_d(c).get("status", "")),
                                      reason=str(_d(c).get("reason", "")), message=str(_d(c).get("message", "")),
                                      last_transition_time=str(_d(c).get("lastTransitionTime", "")))
                          for c in _d(obj.body.get("status")).get("conditions") or [] if isinstance(c, Mapping))
        out.append(m.Workload(kind=KIND, namespace=ns, name=name, uid=obj.uid if obj else "", replicas=replicas,
                              ready_replicas=sum(d.ready_replicas for d in deps),
                              available_replicas=sum(d.available_replicas for d in deps), conditions=conds))
    return out


def signals(w: m.Workload, snap: Snapshot, pods: Sequence[m.Pod], total: int) -> list[Signal]:
    """KServe made no predictor workload and no pod: the InferenceService's status says why."""
    if w.kind != KIND or pods or predictor_workloads(snap, w.namespace, w.name):
        return []
    obj = next((o for o in snap.addons(KIND, w.namespace) if o.name == w.name), None)
    key = f"{w.namespace}/{w.name}"
    base = {"pod": f"InferenceService/{key}", "total_nodes": total, "nodes_count": 0, "node_examples": "",
            "node_example": "NODE", "isvc": w.name, "namespace": w.namespace}
    if obj is None:
        return []
    status = _d(obj.body.get("status"))
    failure = _d(_d(status.get("modelStatus")).get("lastFailureInfo"))
    not_ready = [c for c in w.conditions if c.status == "False"]
    reason = str(failure.get("reason", "")) or (not_ready[0].reason if not_ready else "")
    message = str(failure.get("message", "")) or (not_ready[0].message if not_ready else "")
    fmt = _d(_d(_d(_d(obj.body.get("spec")).get("predictor")).get("model")).get("modelFormat"))
    runtime = str(_d(_d(_d(obj.body.get("spec")).get("predictor")).get("model")).get("runtime", ""))
    ev = [EvidenceItem(kind="condition", summary=f"{c.type}={c.status} {c.reason}: {c.message}"[:300],
                       source=f"InferenceService {key} status.conditions", time=c.last_transition_time)
          for c in not_ready[:3]]
    if failure:
        ev.insert(0, EvidenceItem(kind="object", summary=f"modelStatus.lastFailureInfo: {reason}: {message}",
                                  source=f"InferenceService {key} status.modelStatus"))
    ev.append(EvidenceItem(kind="object", summary=f"no Deployment or pod labelled {LABEL}={w.name} in {w.namespace}",
                           source="Deployment and Pod lists"))
    params = {**base, "reason": reason or "unknown", "message": message or "(no failure reported)",
              "model_format": f"{fmt.get('name', '?')}" + (f" {fmt['version']}" if fmt.get("version") else ""),
              "runtime": runtime or "(chosen by KServe)"}
    return [Signal(name="inference-service-no-predictor", params=params, evidence=tuple(ev), scope="pod",
                   subject=f"InferenceService/{key} spec.predictor", confidence=0.9 if failure else 0.75,
                   effects=("KServe created no predictor workload, so no pod exists",))]


__all__ = ["KIND", "LABEL", "find", "labelled_pods", "predictor_workloads", "signals"]
