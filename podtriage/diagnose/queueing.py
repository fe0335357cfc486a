"""Queueing: pods and Jobs held back by Kueue, followed to the object that holds them.

Kueue keeps a Job suspended (`spec.suspend: true`), or a plain pod gated (`kueue.x-k8s.io/admission`),
until its Workload is admitted: Workload -> LocalQueue (namespace) -> ClusterQueue -> ResourceFlavors
and their quotas. The scheduler never sees such a pod, so "scheduling gate" is the symptom; the
cause is in the Workload's QuotaReserved condition (Kueue's own words, quoted) and in the quota the
ClusterQueue has left per flavor, which this module computes from its spec and status so the answer
says "flavor a100: nvidia.com/gpu 8 of 8 used, no cohort to borrow from" rather than "pending".

Kueue's objects are read as they are (model.AddonObject), v1beta1 and v1beta2 field names alike.
A Job suspended with no queue at all is said as such: nothing in the cluster will resume it.

When no flavor fits (Kueue's "doesn't match node affinity" / "untolerated taint", or a flavor whose
nodeLabels no node carries), the pod is evaluated as Kueue would admit it on each flavor (the flavor's
nodeLabels added to its nodeSelector, the flavor's tolerations to its tolerations) against the nodes
that carry the flavor's labels, every filter per node: which single change makes one of them
feasible, or, when no node carries all the labels, which nodes miss only one.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from typing import Any, Callable, Iterable, Mapping, Sequence

from .. import convert
from .. import model as m
from ..findings import EvidenceItem, Signal
from ..quantity import format_amount, to_scheduler_units
from ..scheduler.framework import ClusterState, effective_requests, evaluate
from ..scheduler.plugins.taint_toleration import untolerated
from ..snapshot import Snapshot

GATE = "kueue.x-k8s.io/admission"
QUEUE_LABEL = "kueue.x-k8s.io/queue-name"
KUEUE_KINDS = ("Workload", "LocalQueue", "ClusterQueue", "ResourceFlavor")


def _d(x: Any) -> Mapping[str, Any]:
    return x if isinstance(x, Mapping) else {}


def _l(x: Any) -> list[Any]:
    return x if isinstance(x, list) else []


def _cond(obj: m.AddonObject, type_: str) -> Mapping[str, Any] | None:
    for c in _l(_d(obj.body.get("status")).get("conditions")):
        if _d(c).get("type") == type_:
            return _d(c)
    return None


def _units(res: str, raw: Any) -> int:
    try:
        return to_scheduler_units(res, raw)
    except (ValueError, TypeError):
        return 0


@dataclass(frozen=True)
class Quota:
    """One flavor's quota for one resource in a ClusterQueue, and what is in use."""

    flavor: str
    resource: str
    nominal: int
    borrowing_limit: int | None  # None: unlimited (within the cohort); 0 without a cohort
    used: int

    def room(self, cohort: bool) -> int | None:
        """Units a new workload may still take (None: unbounded borrowing from the cohort)."""
        if cohort and self.borrowing_limit is None:
            return None
        return self.nominal + (self.borrowing_limit or 0 if cohort else 0) - self.used

    def ceiling(self, cohort: bool) -> int | None:
        if cohort and self.borrowing_limit is None:
            return None
        return self.nominal + (self.borrowing_limit or 0 if cohort else 0)

    def describe(self, cohort: bool) -> str:
        f = self.resource
        text = (f"flavor {self.flavor}: {f} {format_amount(f, self.used)} of {format_amount(f, self.nominal)} "
                "nominal used")
        if not cohort:
            return text + " (no cohort to borrow from)"
        if self.borrowing_limit is None:
            return text + " (may borrow from its cohort, no limit)"
        return text + f" (borrowing limit {format_amount(f, self.borrowing_limit)})"


def cluster_queue_quotas(cq: m.AddonObject) -> tuple[dict[str, list[Quota]], bool]:
    """resource -> its quotas by flavor (in the ClusterQueue's order); whether it is in a cohort."""
    spec, status = _d(cq.body.get("spec")), _d(cq.body.get("status"))
    cohort = bool(spec.get("cohortName") or spec.get("cohort"))
    used: dict[tuple[str, str], int] = {}
    # reserved quota (admitted or reserving) is what the next workload competes with
    for fu in _l(status.get("flavorsReservation")) or _l(status.get("flavorsUsage")):
        for r in _l(_d(fu).get("resources")):
            res = str(_d(r).get("name", ""))
            used[(str(_d(fu).get("name", "")), res)] = _units(res, _d(r).get("total", "0"))
    out: dict[str, list[Quota]] = {}
    for rg in _l(spec.get("resourceGroups")):
        for fl in _l(_d(rg).get("flavors")):
            fname = str(_d(fl).get("name", ""))
            for r in _l(_d(fl).get("resources")):
                res = str(_d(r).get("name", ""))
                bl = _d(r).get("borrowingLimit")
                out.setdefault(res, []).append(Quota(
                    fname, res, _units(res, _d(r).get("nominalQuota", "0")),
                    None if bl is None else _units(res, bl), used.get((fname, res), 0)))
    return out, cohort


def workload_requests(wl: m.AddonObject, namespace: str) -> dict[str, int]:
    """What the Workload asks of its ClusterQueue: per pod set, count x the pod's effective request."""
    total: dict[str, int] = {}
    for ps in _l(_d(wl.body.get("spec")).get("podSets")):
        ps = _d(ps)
        raw = ps.get("count")
        count = raw if isinstance(raw, int) else 1
        tmpl = _d(ps.get("template"))
        meta = dict(_d(tmpl.get("metadata")))
        meta.setdefault("namespace", namespace)
        meta.setdefault("name", f"{wl.name}-{ps.get('name', 'main')}")
        try:
            pod = convert.pod_from_spec(meta, dict(_d(tmpl.get("spec"))), {})
        except (convert.ConversionError, TypeError, ValueError, AttributeError):
            continue
        for res, amount in effective_requests(pod).items():
            total[res] = total.get(res, 0) + amount * count
    return total


class Queues:
    """Kueue's objects in the snapshot, indexed; made once per snapshot by the Explainer and shared by
    every pod it explains (`cluster`: its ClusterState, for the flavor counterfactual)."""

    def __init__(self, snap: Snapshot, cluster: Callable[[], ClusterState] | None = None) -> None:
        self.snap = snap
        self.read = any(snap.has(k) for k in KUEUE_KINDS)
        self.workloads = snap.addons("Workload")
        self.local = {(o.namespace, o.name): o for o in snap.addons("LocalQueue")}
        self.cluster = {o.name: o for o in snap.addons("ClusterQueue")}
        self.flavors = {o.name: o for o in snap.addons("ResourceFlavor")}
        self._cluster_state = cluster
        # (namespace, owner kind, owner name) -> [(position in self.workloads, owner uid)]
        self._by_owner: dict[tuple[str, Any, Any], list[tuple[int, Any]]] | None = None

    def cluster_state(self) -> ClusterState:
        if self._cluster_state is None:
            state = ClusterState(self.snap)
            self._cluster_state = lambda: state
        return self._cluster_state()

    def workload_of(self, namespace: str, owners: Iterable[tuple[str, str, str]]) -> m.AddonObject | None:
        """The first Workload (in snapshot order) whose owner is one of (kind, name, uid)."""
        if self._by_owner is None:
            self._by_owner = {}
            for i, wl in enumerate(self.workloads):
                for ref in _l(_d(wl.body.get("metadata")).get("ownerReferences")):
                    ref = _d(ref)
                    self._by_owner.setdefault((wl.namespace, ref.get("kind"), ref.get("name")), []).append(
                        (i, ref.get("uid")))
        found = [i for kind, name, uid in owners for i, ref_uid in self._by_owner.get((namespace, kind, name), ())
                 if not uid or not ref_uid or ref_uid == uid]
        return self.workloads[min(found)] if found else None


def _base(subject_key: str, total: int) -> dict[str, Any]:
    return {"pod": subject_key, "total_nodes": total, "nodes_count": total, "node_examples": "",
            "node_example": "NODE"}


def pod_signals(pod: m.Pod, snap: Snapshot, total: int, queues: Queues | None = None) -> list[Signal]:
    """A pod Kueue gates: why its Workload is not admitted."""
    if GATE not in pod.scheduling_gates or pod.node_name:
        return []
    owners = [("Pod", pod.name, pod.uid)]
    if pod.owner is not None:
        owners.append((pod.owner.kind, pod.owner.name, pod.owner.uid))
    queue = pod.labels.get(QUEUE_LABEL, "")
    return [_diagnose(queues or Queues(snap), pod.namespace, owners, queue, f"Pod {pod.key}", f"Pod/{pod.key}",
                      pod.key, total, requests=effective_requests(pod), template=pod)]


def workload_signals(w: m.Workload, snap: Snapshot, total: int, queues: Queues | None = None) -> list[Signal]:
    """A suspended Job: held by Kueue (its Workload, queues and quota), or by nobody."""
    if w.kind != "Job" or not w.suspended:
        return []
    queue = w.labels.get(QUEUE_LABEL, "")
    key = f"{w.namespace}/{w.name}"
    what = f"Job {key}"
    qs = queues or Queues(snap)
    if not queue:
        wl = qs.workload_of(w.namespace, [("Job", w.name, w.uid)])
        if wl is None:
            ev = EvidenceItem(kind="object", summary=f"Job {key}: spec.suspend: true, no `{QUEUE_LABEL}` label"
                              + (" and no Kueue Workload owned by it" if qs.read else ""),
                              source=f"Job {key} spec.suspend / metadata.labels")
            unmanaged = (f"no `{QUEUE_LABEL}` label, no Kueue Workload owns it" if qs.read else
                         f"no `{QUEUE_LABEL}` label; Kueue's objects were not read")
            return [Signal(name="job-suspended", params={**_base(key, total), "job": w.name, "namespace": w.namespace,
                                                         "kueue_read": qs.read, "parallelism": w.replicas or 1,
                                                         "unmanaged": unmanaged},
                           evidence=(ev,), subject=f"Job/{key} spec.suspend", scope="pod",
                           confidence=0.9 if qs.read else 0.8,
                           effects=("the Job controller creates no pods while the Job is suspended",))]
        queue = str(_d(wl.body.get("spec")).get("queueName", ""))
    requests: dict[str, int] = {}
    if w.template_pod is not None:
        per_pod = effective_requests(w.template_pod)
        requests = {k: v * (w.replicas or 1) for k, v in per_pod.items()}
    return [_diagnose(qs, w.namespace, [("Job", w.name, w.uid)], queue, what, f"Job/{key}", key,
                      total, requests=requests, template=w.template_pod)]


def _diagnose(qs: Queues, namespace: str, owners: Sequence[tuple[str, str, str]], queue: str, what: str,
              subject: str, key: str, total: int, *, requests: Mapping[str, int],
              template: m.Pod | None = None) -> Signal:
    snap = qs.snap
    params: dict[str, Any] = {**_base(key, total), "what": what, "namespace": namespace, "queue": queue or "",
                              "workload": "", "cluster_queue": "", "kueue_message": "", "quota": "",
                              "flavors": "", "needed": "", "resource": "", "local_queues": "",
                              "flavor_fix": ""}
    ev: list[EvidenceItem] = []
    if what.startswith("Pod "):
        ev.append(EvidenceItem(kind="object", summary=f"spec.schedulingGates: {GATE}", source=f"{what} spec.schedulingGates"))
    else:
        ev.append(EvidenceItem(kind="object", summary="spec.suspend: true" + (f", {QUEUE_LABEL}={queue}" if queue else ""),
                               source=f"{what} spec.suspend"))

    def out(state: str, problem: str, *, confidence: float = 0.95, subj: str = subject) -> Signal:
        return Signal(name="queue-admission", params={**params, "queue_state": state, "problem": problem},
                      evidence=tuple(ev),
                      subject=subj, scope="pod", confidence=confidence,
                      effects=(f"Kueue does not admit the workload ({state})",
                               "Kueue keeps the pods gated (or the Job suspended) until admission"))

    if not qs.read:
        ev.append(EvidenceItem(kind="missing", summary="no Kueue objects (Workloads, LocalQueues, ClusterQueues) in "
                               "the input", source="snapshot"))
        return out("unread", "the input holds no Kueue objects, so its Workload and queues cannot be followed", confidence=0.6)
    wl = qs.workload_of(namespace, owners)
    if wl is None:
        lq_here = [n for (ns, n) in qs.local if ns == namespace]
        params["local_queues"] = ", ".join(sorted(lq_here)) or "none"
        ev.append(EvidenceItem(kind="object", summary=f"no Kueue Workload in namespace {namespace} is owned by "
                               f"{what}" + ("" if qs.workloads or qs.local or qs.cluster else
                                            "; the cluster holds no Kueue objects at all"),
                               source="Workload list"))
        state = "no-workload" if (qs.workloads or qs.local or qs.cluster) else "kueue-absent"
        return out(state, (f"no Kueue Workload exists for it (LocalQueues in {namespace}: {params['local_queues']})"
                           if state == "no-workload" else "the cluster has no Kueue objects at all (no Workload, "
                           "LocalQueue or ClusterQueue): Kueue is not installed, or its CRDs are not served"),
                   confidence=0.85)
    params["workload"] = wl.name
    wl_ref = f"Workload {wl.namespace}/{wl.name}"
    spec = _d(wl.body.get("spec"))
    queue = str(spec.get("queueName", "") or queue)
    params["queue"] = queue
    reserved, admitted, evicted = _cond(wl, "QuotaReserved"), _cond(wl, "Admitted"), _cond(wl, "Evicted")
    for c in (reserved, admitted, evicted):
        if c is not None:
            ev.append(EvidenceItem(kind="condition", summary=f"{c.get('type')}={c.get('status')} {c.get('reason', '')}: "
                                   f"{c.get('message', '')}"[:400], source=f"{wl_ref} status.conditions",
                                   data={"type": c.get("type"), "reason": c.get("reason"), "message": c.get("message")},
                                   time=str(c.get("lastTransitionTime", ""))))
    message = str((reserved or {}).get("message", ""))
    params["kueue_message"] = message or "(no QuotaReserved condition yet)"
    if spec.get("active") is False:
        return out("deactivated", f"its Workload {wl.name} is deactivated (spec.active: false)", subj=f"Workload/{wl.namespace}/{wl.name} spec.active")
    if admitted is not None and admitted.get("status") == "True":
        return out("admitted", f"its Workload {wl.name} is admitted, yet the gate is still there: Kueue has not "
                       "released it (its controller may be down)", confidence=0.7, subj=f"Workload/{wl.namespace}/{wl.name}")
    if evicted is not None and evicted.get("status") == "True":
        params["evicted_reason"] = str(evicted.get("reason", ""))
    lq = qs.local.get((namespace, queue))
    if lq is None:
        params["local_queues"] = ", ".join(sorted(n for (ns, n) in qs.local if ns == namespace)) or "none"
        ev.append(EvidenceItem(kind="object", summary=f"no LocalQueue {queue!r} in namespace {namespace} (there: "
                               f"{params['local_queues']})", source="LocalQueue list"))
        return out("localqueue-missing", f"its Workload {wl.name} names LocalQueue `{queue}`, which does not exist "
                   f"in namespace {namespace} (there: {params['local_queues']})", subj=f"Workload/{wl.namespace}/{wl.name} spec.queueName")
    cq_name = str(_d(lq.body.get("spec")).get("clusterQueue", ""))
    params["cluster_queue"] = cq_name
    cq = qs.cluster.get(cq_name)
    if cq is None:
        ev.append(EvidenceItem(kind="object", summary=f"LocalQueue {namespace}/{queue} points to ClusterQueue "
                               f"{cq_name!r}, which does not exist", source=f"LocalQueue {namespace}/{queue} spec.clusterQueue"))
        return out("clusterqueue-missing", f"LocalQueue {namespace}/{queue} points to ClusterQueue `{cq_name}`, "
                   "which does not exist", subj=f"LocalQueue/{namespace}/{queue} spec.clusterQueue")
    active = _cond(cq, "Active")
    if active is not None and active.get("status") == "False":
        params["cq_reason"] = str(active.get("reason", ""))
        params["cq_message"] = str(active.get("message", ""))
        ev.append(EvidenceItem(kind="condition", summary=f"ClusterQueue {cq_name} Active=False {active.get('reason', '')}: "
                               f"{active.get('message', '')}", source=f"ClusterQueue {cq_name} status.conditions"))
        return out("clusterqueue-inactive", f"ClusterQueue `{cq_name}` is inactive ({params['cq_reason']}: "
                   f"{params['cq_message']})", subj=f"ClusterQueue/{cq_name}")
    if "namespace doesn't match ClusterQueue selector" in message:
        return out("namespace-not-selected", f"ClusterQueue `{cq_name}`'s namespaceSelector does not select "
                   f"namespace {namespace}", subj=f"ClusterQueue/{cq_name} spec.namespaceSelector")
    # Flavors whose node labels no node has: quota there is unusable by any pod.
    quotas, cohort = cluster_queue_quotas(cq)
    want = dict(workload_requests(wl, namespace) or requests)
    missing_flavors = [f for rs in quotas.values() for q in rs for f in [q.flavor] if f not in qs.flavors]
    if missing_flavors:
        params["flavors"] = ", ".join(sorted(set(missing_flavors)))
        return out("flavor-missing", f"ClusterQueue `{cq_name}` uses ResourceFlavor(s) {params['flavors']}, which "
                   "do not exist", subj=f"ClusterQueue/{cq_name} spec.resourceGroups")
    uncovered = sorted(r for r, amount in want.items() if amount > 0 and r not in quotas and r not in ("pods",))
    if uncovered and f"resource {uncovered[0]} unavailable in ClusterQueue" in message:
        params["resource"] = uncovered[0]
        params["needed"] = format_amount(uncovered[0], want[uncovered[0]])
        params["covered"] = ", ".join(sorted(quotas)) or "none"
        return out("resource-not-covered", f"ClusterQueue `{cq_name}` has no quota for `{params['resource']}` at "
                   f"all (it covers {params['covered']})", subj=f"ClusterQueue/{cq_name} spec.resourceGroups")
    # Quota, per resource the workload asks for: is there room in some flavor?
    for res, amount in sorted(want.items(), key=lambda kv: (not kv[0].startswith(("nvidia.com", "amd.com")), kv[0])):
        rows = quotas.get(res)
        if not rows or amount <= 0:
            continue
        rooms = [q.room(cohort) for q in rows]
        if any(r is None or r >= amount for r in rooms):
            continue
        params.update(resource=res, needed=format_amount(res, amount),
                      quota="; ".join(q.describe(cohort) for q in rows),
                      flavors=", ".join(q.flavor for q in rows), cohort=cohort)
        ev.append(EvidenceItem(kind="object", summary=f"ClusterQueue {cq_name}: " + params["quota"] +
                               f"; the workload needs {params['needed']} {res}",
                               source=f"ClusterQueue {cq_name} spec.resourceGroups / status.flavorsReservation",
                               data={"quotas": [q.__dict__ for q in rows]}))
        ceilings = [q.ceiling(cohort) for q in rows]
        if all(c is not None and c < amount for c in ceilings):
            params["max_quota"] = format_amount(res, max(c or 0 for c in ceilings))
            return out("exceeds-quota", f"it needs {params['needed']} `{res}`, more than ClusterQueue `{cq_name}` can "
                   f"ever give in any flavor (at most {params['max_quota']}): {params['quota']}", subj=f"ClusterQueue/{cq_name} spec.resourceGroups")
        params["pending_workloads"] = _d(cq.body.get("status")).get("pendingWorkloads", "?")
        return out("quota-exhausted", f"ClusterQueue `{cq_name}` has no `{res}` quota left for the "
                   f"{params['needed']} it needs: {params['quota']}", subj=f"ClusterQueue/{cq_name}")
    # Flavors whose nodes the pod cannot use.
    used_flavors = sorted({q.flavor for res, rs in quotas.items() for q in rs if not want or want.get(res)})
    if "doesn't match node affinity" in message or "untolerated taint" in message:
        params["flavors"] = ", ".join(sorted({q.flavor for rs in quotas.values() for q in rs}))
        cf = _on_flavor_nodes(template, [qs.flavors[f] for f in used_flavors if f in qs.flavors], qs, ev)
        params["flavor_fix"] = cf
        return out("flavor-mismatch", f"no flavor of ClusterQueue `{cq_name}` fits the pods' placement: "
                   f"{message}" + (f". On the flavors' nodes: {cf}" if cf else ""),
                   subj=f"Workload/{wl.namespace}/{wl.name}")
    no_nodes = [f for f in sorted({q.flavor for rs in quotas.values() for q in rs})
                if _flavor_nodes(qs.flavors[f], snap) == 0 and snap.has("Node")]
    if no_nodes and len(no_nodes) == len({q.flavor for rs in quotas.values() for q in rs}):
        labels = _d(_d(qs.flavors[no_nodes[0]].body.get("spec")).get("nodeLabels"))
        params["flavors"] = ", ".join(no_nodes)
        params["flavor_labels"] = ", ".join(f"{k}={v}" for k, v in labels.items())
        ev.append(EvidenceItem(kind="object", summary=f"ResourceFlavor {no_nodes[0]} has nodeLabels "
                               f"{params['flavor_labels']}, which no node carries", source=f"ResourceFlavor {no_nodes[0]} spec.nodeLabels"))
        cf = _on_flavor_nodes(template, [qs.flavors[no_nodes[0]]], qs, ev)
        params["flavor_fix"] = cf
        return out("flavor-no-nodes", f"ResourceFlavor `{no_nodes[0]}` selects nodes with "
                   f"`{params['flavor_labels']}`, and no node has those labels" + (f"; {cf}" if cf else ""),
                   subj=f"ResourceFlavor/{no_nodes[0]} spec.nodeLabels")
    if evicted is not None and evicted.get("status") == "True":
        return out("evicted", f"its Workload {wl.name} was evicted ({params.get('evicted_reason', '')}) and waits "
                   "to be admitted again", subj=f"Workload/{wl.namespace}/{wl.name}")
    params["pending_workloads"] = _d(cq.body.get("status")).get("pendingWorkloads", "?")
    return out("waiting", f"its Workload {wl.name} waits in ClusterQueue `{cq_name}` "
                   f"({params['pending_workloads']} pending)", confidence=0.8, subj=f"Workload/{wl.namespace}/{wl.name}")


def _as_admitted(pod: m.Pod, flavor: m.AddonObject) -> m.Pod:
    """The pod as Kueue releases it on this flavor: nodeLabels into its nodeSelector, tolerations added."""
    spec = _d(flavor.body.get("spec"))
    labels = {str(k): str(v) for k, v in _d(spec.get("nodeLabels")).items()}
    # a key the pod selects itself keeps the pod's value: that conflict is what Kueue refuses
    return replace(pod, node_selector={**labels, **pod.node_selector}, scheduling_gates=(),
                   tolerations=tuple(pod.tolerations) + convert.tolerations(_l(spec.get("tolerations"))))


def _on_flavor_nodes(template: m.Pod | None, flavors: Sequence[m.AddonObject], qs: Queues,
                     ev: list[EvidenceItem]) -> str:
    """What would make one node of a flavor feasible for the pod as admitted there ('' when unknown)."""
    snap = qs.snap
    if template is None or not snap.nodes or not flavors:
        return ""
    parts: list[str] = []
    for fl in flavors[:3]:
        spec = _d(fl.body.get("spec"))
        labels = {str(k): str(v) for k, v in _d(spec.get("nodeLabels")).items()}
        pod = _as_admitted(template, fl)
        bad = untolerated(convert.taints(spec.get("nodeTaints")), pod.tolerations)
        if bad:
            line = (f"flavor {fl.name}: the pod does not tolerate the flavor's nodeTaint `{bad[0]}`; add a toleration "
                    f"for it to the pod template")
            parts.append(line)
            ev.append(EvidenceItem(kind="object", summary=line, source=f"ResourceFlavor {fl.name} spec.nodeTaints"))
            continue
        on = [n for n in snap.nodes if all(n.labels.get(k) == v for k, v in labels.items())]
        if not on:
            # No node carries every label: the nodes that miss the fewest, and what they have instead.
            # Among the nodes the pod could use but for placement (resources, taints pass): else all.
            base = evaluate(replace(template, scheduling_gates=()), qs.cluster_state())
            usable = {v.node for v in base.verdicts if all(f.plugin == "NodeAffinity" for f in v.failures)}
            pool = [n for n in snap.nodes if n.name in usable] or list(snap.nodes)
            misses = [(n, [(k, v) for k, v in labels.items() if n.labels.get(k) != v]) for n in pool]
            fewest = min(len(x[1]) for x in misses)
            near = [(n, x) for n, x in misses if len(x) == fewest]
            k, v = near[0][1][0]
            have = Counter(n.labels.get(k, "") for n, _ in near)
            shown = ", ".join(f"`{k}={h}`" if h else f"no `{k}`" for h, _ in have.most_common(3))
            line = (f"flavor {fl.name}: no node has all of its nodeLabels; {len(near)} node(s) "
                    f"({', '.join(n.name for n, _ in near[:3])}) miss only " if fewest == 1 else
                    f"flavor {fl.name}: no node has all of its nodeLabels; the closest {len(near)} node(s) "
                    f"({', '.join(n.name for n, _ in near[:3])}) miss {fewest}, first ")
            line += f"`{k}={v}` (they have {shown}): correct the flavor's nodeLabels or label the pool's nodes"
            parts.append(line)
            ev.append(EvidenceItem(kind="object", summary=line, source=f"ResourceFlavor {fl.name} spec.nodeLabels; "
                                   "Node metadata.labels"))
            continue
        result = evaluate(pod, qs.cluster_state())
        names = {n.name for n in on}
        if result.prefilter:
            line = f"flavor {fl.name}: the admitted pod is refused before any node: {result.prefilter[0].message}"
            parts.append(line)
            ev.append(EvidenceItem(kind="object", summary=line, source=f"podtriage filters, pod as admitted on {fl.name}"))
            continue
        verdicts = [v for v in result.verdicts if v.node in names]
        fits = [v.node for v in verdicts if v.passed]
        if fits:
            line = (f"flavor {fl.name}: the pod as admitted there passes every filter on {len(fits)} of its "
                    f"{len(on)} node(s) ({', '.join(fits[:3])})")
            parts.append(line)
            ev.append(EvidenceItem(kind="object", summary=line, source=f"podtriage filters, pod as admitted on {fl.name}"))
            continue
        # Counterfactual: nodes that one change would make feasible (a single failing plugin).
        one = [v for v in verdicts if len({f.plugin for f in v.failures}) == 1]
        pick = one or verdicts
        def why(v: Any) -> str:  # the failure without the node's name, so that nodes group
            return str(v.failures[0].message).removeprefix(f"node {v.node}: ") if v.failures else ""
        common = Counter(why(v) for v in pick if v.failures).most_common(1)
        msg = common[0][0] if common else "?"
        which = [v.node for v in pick if why(v) == msg]
        line = (f"flavor {fl.name}: on {len(which)} of its {len(on)} node(s) ({', '.join(which[:3])}) the pod as "
                f"admitted there fails only on {msg}; changing that alone makes them feasible" if one else
                f"flavor {fl.name}: its {len(on)} node(s) refuse the pod as admitted there for more than one reason, "
                f"first: {msg}")
        parts.append(line)
        ev.append(EvidenceItem(kind="object", summary=line, source=f"podtriage filters on the nodes of flavor {fl.name}",
                               data={"flavor": fl.name, "nodes": sorted(names)[:50],
                                     "failures": {v.node: [f.message for f in v.failures] for v in verdicts[:20]}}))
    return "; ".join(parts)


def _flavor_nodes(flavor: m.AddonObject, snap: Snapshot) -> int:
    labels = _d(_d(flavor.body.get("spec")).get("nodeLabels"))
    if not labels:
        return len(snap.nodes)
    return sum(1 for n in snap.nodes if all(n.labels.get(k) == v for k, v in labels.items()))


__all__ = ["GATE", "QUEUE_LABEL", "cluster_queue_quotas", "pod_signals", "workload_requests", "workload_signals"]
