"""Why a pod's ResourceClaims cannot be satisfied (DRA), the way a user needs to hear it.

The DynamicResources plugin (podtriage.scheduler.plugins.dynamic_resources) says per node *that*
the claims cannot be allocated ("cannot allocate all claims"), like the scheduler. This module
says *which request of which claim* fails and *why*, across the cluster:

- no device of the request's DeviceClass exists anywhere (no driver publishes one: a missing DRA
  driver, or a class whose selector matches nothing);
- devices exist but every one that fits is allocated, and to which claims (and their pods);
- the request's own CEL selectors match none of the class's devices, with the attribute values
  the devices do have (the closest one named);
- the devices that would fit carry a NoSchedule/NoExecute taint the request does not tolerate;
- enough devices exist in total but no single node has `count` of them free (devices are
  node-local);
- an allocated claim pins the pod to the node its devices are on;
- the claim, its template or its class does not exist yet (the scheduler never even tries the pod
  while a claim is missing), a selector fails at run time, or podtriage could not judge it.

Each finding becomes a Signal for a rule in rules/ (dra-*.yaml) with the fix.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .. import model as m
from ..findings import EvidenceItem, Signal, jsonable
from ..scheduler import dra_cel
from ..scheduler.dra_allocator import AllocatedState, blocking_taints, device_available_on
from ..scheduler.framework import Evaluation, Failure, NodeVerdict
from ..scheduler.plugins.dynamic_resources import (
    NAME as PLUGIN,
    extended_claim,
    extended_resource_classes,
    extended_requests,
)
from ..snapshot import Snapshot

MAX_EXAMPLES = 3
_ATTR_REF = re.compile(r"device\.attributes\[\s*[\"']([^\"']+)[\"']\s*\]\.(\w+)")


@dataclass
class _DeviceRef:
    node: str  # "" for a device not tied to one node
    slice: m.ResourceSlice
    device: m.Device

    @property
    def id(self) -> tuple[str, str, str]:
        return (self.slice.driver, self.slice.pool, self.device.name)

    @property
    def text(self) -> str:
        return f"{self.slice.driver}/{self.slice.pool}/{self.device.name}"


@dataclass
class RequestFinding:
    claim: str  # namespace/name, or "<extended resources>"
    request: str
    device_class: str
    count: int
    all_mode: bool
    cause: str  # no-devices | selector | allocated | tainted | per-node | class-missing | unknown | fits
    detail: dict[str, Any] = field(default_factory=dict)


def _nodes_of(snapshot: Snapshot, s: m.ResourceSlice, d: m.Device) -> list[str]:
    if s.node_name:
        return [s.node_name]
    nodes = []
    for n in snapshot.nodes:
        if s.per_device_node_selection:
            ok = device_available_on(n, d.node_name, d.all_nodes, d.node_selector)
        else:
            ok = device_available_on(n, s.node_name, s.all_nodes, s.node_selector)
        if ok:
            nodes.append(n.name)
    return nodes


def _all_devices(snapshot: Snapshot) -> list[_DeviceRef]:
    # newest generation per pool only, as the allocator sees them
    newest: dict[tuple[str, str], int] = {}
    for s in snapshot.resource_slices:
        key = (s.driver, s.pool)
        newest[key] = max(newest.get(key, s.generation), s.generation)
    out = []
    for s in snapshot.resource_slices:
        if s.generation != newest[(s.driver, s.pool)]:
            continue
        for d in s.devices:
            out.append(_DeviceRef(node=s.node_name, slice=s, device=d))
    return out


def _matches(exprs: Iterable[str], ref: _DeviceRef) -> bool | None:
    """All selectors match (True/False); None when one cannot be judged or fails at run time."""
    for e in exprs:
        try:
            if not dra_cel.matches(e, ref.slice.driver, ref.device):
                return False
        except (dra_cel.CelRuntimeError, dra_cel.Unevaluable):
            return None
    return True


def _attribute_hints(exprs: Sequence[str], devices: Sequence[_DeviceRef]) -> list[str]:
    """For each attribute a selector reads: the values the class's devices have."""
    hints = []
    for e in exprs:
        for domain, attr in _ATTR_REF.findall(e):
            values: Counter[str] = Counter()
            for ref in devices:
                a = ref.device.attributes.get(f"{domain}/{attr}")
                if a is None and domain == ref.slice.driver:
                    a = ref.device.attributes.get(attr)
                values[str(a.value) if a is not None else "(not set)"] += 1
            shown = ", ".join(f"{v} ({c})" for v, c in values.most_common(5))
            hints.append(f"{domain}/{attr}: {shown}")
    return list(dict.fromkeys(hints))


def _owner_pods(snapshot: Snapshot, claim_keys: Iterable[str]) -> list[str]:
    out = []
    for key in claim_keys:
        c = snapshot.resource_claim_by_key.get(key)
        pods = [f"{c.namespace}/{r.name}" for r in c.reserved_for if r.kind == "pods"] if c else []
        out.append(f"{key}" + (f" (pod {', '.join(pods)})" if pods else " (reserved for no pod)"))
    return out


def analyse_request(snapshot: Snapshot, claim: str, req_name: str, sub: m.DeviceSubRequest,
                    state: AllocatedState, devices: Sequence[_DeviceRef]) -> RequestFinding:
    cls = snapshot.device_class_by_name.get(sub.device_class)
    f = RequestFinding(claim=claim, request=req_name, device_class=sub.device_class, count=sub.count,
                       all_mode=sub.allocation_mode == "All", cause="fits")
    if cls is None:
        f.cause = "class-missing"
        return f
    of_class = []
    for ref in devices:
        ok = _matches(cls.selectors, ref)
        if ok is None:
            f.cause, f.detail = "unknown", {"why": f"DeviceClass {cls.name}'s selector cannot be evaluated"}
            return f
        if ok:
            of_class.append(ref)
    if not of_class:
        f.cause = "no-devices"
        f.detail = {"drivers": sorted({r.slice.driver for r in devices}), "devices_total": len(devices)}
        return f
    selected = []
    for ref in of_class:
        ok = _matches(sub.selectors, ref)
        if ok is None:
            f.cause, f.detail = "unknown", {"why": "a selector of the request cannot be evaluated for some devices"}
            return f
        if ok:
            selected.append(ref)
    if not selected:
        f.cause = "selector"
        f.detail = {"of_class": len(of_class), "selectors": list(sub.selectors),
                    "hints": _attribute_hints(sub.selectors, of_class)}
        return f
    free = [r for r in selected if r.id not in state.devices or sub.admin_access]
    if not free:
        owners = sorted({o for r in selected for o in state.owners.get(r.id, [])})
        f.cause = "allocated"
        f.detail = {"matching": len(selected), "owners": _owner_pods(snapshot, owners)}
        return f
    usable = [r for r in free if not blocking_taints(r.device, sub.tolerations)]
    if not usable:
        taints = sorted({str(t) for r in free for t in blocking_taints(r.device, sub.tolerations)})
        f.cause = "tainted"
        f.detail = {"free": len(free), "taints": taints, "devices": [r.text for r in free[:MAX_EXAMPLES]]}
        return f
    per_node: Counter[str] = Counter()
    for r in usable:
        for n in _nodes_of(snapshot, r.slice, r.device):
            per_node[n] += 1
    need = 1 if f.all_mode else sub.count
    best = max(per_node.values(), default=0)
    if best < need:
        f.cause = "per-node"
        f.detail = {"free_total": len(usable), "best_node": per_node.most_common(1)[0][0] if per_node else "",
                    "best_free": best, "per_node": dict(per_node.most_common(5))}
        return f
    f.detail = {"free_total": len(usable), "per_node": dict(per_node.most_common(5))}
    return f


def _claim_requests(claim: m.ResourceClaim | None, requests: Sequence[m.DeviceRequest]
                    ) -> list[tuple[str, m.DeviceSubRequest]]:
    """(name, request) to analyse: an exact request, or the last firstAvailable alternative's view
    (the request fails when every alternative does; the first one is reported)."""
    out = []
    for r in requests:
        if r.exactly is not None:
            out.append((r.name, r.exactly))
        elif r.first_available:
            out.append((f"{r.name}/{r.first_available[0].name}", r.first_available[0]))
    return out


@dataclass
class DraDiagnosis:
    pod: m.Pod
    snapshot: Snapshot
    ev: Evaluation

    def _base(self, nodes: Sequence[str]) -> dict[str, Any]:
        ex = list(nodes[:MAX_EXAMPLES])
        return {"pod": self.pod.key, "total_nodes": self.ev.total_nodes, "nodes_count": len(nodes),
                "node_examples": ", ".join(ex) + (", ..." if len(nodes) > len(ex) else ""),
                "node_example": ex[0] if ex else "NODE"}

    def signals(self) -> list[Signal]:
        out: list[Signal] = []
        pre = [f for f in self.ev.prefilter if f.plugin == PLUGIN]
        if pre:
            out += self._pod_level(pre[0])
        by_code: dict[str, list[tuple[NodeVerdict, Failure]]] = {}
        for v in self.ev.verdicts:
            for f in v.first:
                if f.plugin == PLUGIN:
                    by_code.setdefault(f.code, []).append((v, f))
        if "dra-error" in by_code:
            # the attempt aborts with the error: nothing else the plugin says matters
            return out + [self._error(by_code.pop("dra-error"))]
        if "dra-unknown" in by_code:
            out.append(self._unknown(by_code.pop("dra-unknown")))
        dra = by_code.pop("dra", [])
        not_available = [(v, f) for v, f in dra if f.detail.get("allocated")]
        cannot = [(v, f) for v, f in dra if not f.detail.get("allocated")]
        if not_available:
            out += self._allocated_elsewhere(not_available)
        if cannot:
            out += self._cannot_allocate(cannot)
        return out

    # ---- pod-level: the scheduler never tries, or rejects the pod before any node -----------------
    def _pod_level(self, f: Failure) -> list[Signal]:
        d = dict(f.detail)
        params = {**self._base([]), "nodes_count": self.ev.total_nodes, "reason": f.reason, "detail": f.message,
                  "claim": d.get("claim", ""), "pod_claim": d.get("pod_claim", ""),
                  "template": d.get("template", ""), "request": d.get("request", ""),
                  "device_class": d.get("device_class", ""), "namespace": self.pod.namespace,
                  "problem": {"dra-claim-not-found": "does not exist",
                              "dra-claim-pending": "has not been created from its ResourceClaimTemplate yet",
                              "dra-claim-deleting": "is being deleted",
                              "dra-claim-not-owned": "belongs to another pod"}.get(f.code, f.reason)}
        if f.code == "dra-class-missing":
            name, subject = "dra-device-class-missing", f"DeviceClass/{d.get('device_class', '')}"
        else:
            name = "dra-claim-missing"
            subject = f"ResourceClaim/{self.pod.namespace}/{d.get('claim') or d.get('pod_claim', '')}"
            if f.code == "dra-claim-pending":
                templ = self.snapshot.resource_claim_template_by_key.get(f"{self.pod.namespace}/{d.get('template')}")
                params["template_exists"] = templ is not None
        ev = EvidenceItem(kind="prefilter" if not d.get("pre_enqueue") else "object",
                          summary=f"{PLUGIN}: {f.reason}",
                          source=f"podtriage {PLUGIN} {'PreEnqueue' if d.get('pre_enqueue') else 'PreFilter'}",
                          data=jsonable(d))
        effect = ("the scheduler does not try the pod at all (no event, no condition) until the claim exists"
                  if d.get("pre_enqueue") else f"pod rejected before any node is considered ({PLUGIN})")
        return [Signal(name=name, params=params, evidence=(ev,), subject=subject, effects=(effect,))]

    def _error(self, items: list[tuple[NodeVerdict, Failure]]) -> Signal:
        nodes = [v.node for v, _ in items]
        f = items[0][1]
        text = str(f.detail.get("text", f.reason))
        params = {**self._base(nodes), "error": text, "reason": f.reason, "detail": f.message}
        return Signal(name="dra-selector-error", params=params, nodes=tuple(nodes),
                      evidence=(EvidenceItem(kind="node-verdict", summary=f.reason,
                                             source=f"podtriage {PLUGIN} filter on node {nodes[0]}",
                                             data={"error": text}),),
                      subject=f"Pod/{self.pod.key} spec.resourceClaims",
                      effects=("every scheduling attempt fails with an error",))

    def _unknown(self, items: list[tuple[NodeVerdict, Failure]]) -> Signal:
        nodes = [v.node for v, _ in items]
        f = items[0][1]
        params = {**self._base(nodes), "reason": f.reason, "detail": f.message, "why": f.detail.get("why", f.message)}
        return Signal(name="dra-not-verified", params=params, nodes=tuple(nodes), confidence=0.6,
                      evidence=(EvidenceItem(kind="node-verdict", summary=f.message,
                                             source=f"podtriage {PLUGIN} filter", data=jsonable(dict(f.detail))),),
                      subject=f"Pod/{self.pod.key} spec.resourceClaims",
                      effects=("whether the pod's devices can be allocated could not be checked",))

    def _allocated_elsewhere(self, items: list[tuple[NodeVerdict, Failure]]) -> list[Signal]:
        nodes = [v.node for v, _ in items]
        claims = items[0][1].detail.get("claims", [])
        key = claims[0] if claims else ""
        c = self.snapshot.resource_claim_by_key.get(key)
        where = sorted({vv for t in (c.allocation_node_selector or ()) if c for r in t.match_fields
                        for vv in r.values}) if c else []
        verdicts = {v.node: v for v in self.ev.verdicts}
        blockers = [f"{n}: {'; '.join(f.reason for f in verdicts[n].first)}" for n in where
                    if n in verdicts and verdicts[n].first]
        params = {**self._base(nodes), "claim": key, "allocated_nodes": ", ".join(where) or "(by node selector)",
                  "devices": ", ".join(f"{r.driver}/{r.pool}/{r.device}" for r in (c.results if c else ())),
                  "blocked_there": "; ".join(blockers) or "nothing else",
                  "reserved_for": ", ".join(r.name for r in c.reserved_for) if c else ""}
        return [Signal(name="dra-claim-allocated-elsewhere", params=params, nodes=tuple(nodes),
                       evidence=(EvidenceItem(kind="node-verdict",
                                              summary=f"{len(nodes)} node(s): resourceclaim not available on the node",
                                              source=f"podtriage {PLUGIN} filter", data=jsonable(params)),),
                       subject=f"ResourceClaim/{key}",
                       effects=(f"the claim's devices are on {params['allocated_nodes']}; the pod can only run there",))]

    def _cannot_allocate(self, items: list[tuple[NodeVerdict, Failure]]) -> list[Signal]:
        nodes = [v.node for v, _ in items]
        snap = self.snapshot
        state = AllocatedState.of(snap.resource_claims)
        devices = _all_devices(snap)
        findings: list[RequestFinding] = []
        claims = [c for c in (snap.resource_claim_by_key.get(k) for k in items[0][1].detail.get("claims", []))
                  if c is not None]
        for c in claims:
            for name, sub in _claim_requests(c, c.requests):
                findings.append(analyse_request(snap, c.key, name, sub, state, devices))
        ext = items[0][1].detail.get("extended") or []
        if ext:
            classes = extended_resource_classes(snap)
            reqs = extended_requests(self.pod, self.ev.requests, None, classes)
            for r in extended_claim(self.pod, reqs, classes):
                if r.exactly is not None:
                    f = analyse_request(snap, "<extended resources>", r.name, r.exactly, state, devices)
                    f.detail["resource"] = ", ".join(ext)
                    findings.append(f)
        failing = [f for f in findings if f.cause != "fits"] or findings
        out = []
        for f in failing[:3]:
            out.append(self._request_signal(f, nodes))
        if not out:
            out.append(Signal(name="dra-claim-unsatisfiable", params={
                **self._base(nodes), "claim": ", ".join(c.key for c in claims), "request": "", "device_class": "",
                "why": "the requests together (constraints, shared counters or capacity) cannot be met on one node"},
                nodes=tuple(nodes), subject=f"Pod/{self.pod.key} spec.resourceClaims",
                evidence=(EvidenceItem(kind="node-verdict", summary=f"{len(nodes)} node(s): cannot allocate all claims",
                                       source=f"podtriage {PLUGIN} filter", data={}),)))
        return out

    def _request_signal(self, f: RequestFinding, nodes: Sequence[str]) -> Signal:
        d = f.detail
        want = "all matching devices" if f.all_mode else f"{f.count} device(s)"
        params: dict[str, Any] = {**self._base(nodes), "claim": f.claim, "request": f.request,
                                  "device_class": f.device_class, "count": f.count, "want": want,
                                  "resource": d.get("resource", ""), "namespace": self.pod.namespace}
        if f.cause == "no-devices":
            name = "dra-no-devices"
            params["drivers"] = ", ".join(d.get("drivers", [])) or "none"
        elif f.cause == "selector":
            name = "dra-selector-no-match"
            params.update(selectors=" && ".join(d.get("selectors", [])), of_class=d.get("of_class", 0),
                          hints="; ".join(d.get("hints", [])) or "the selectors read no device attribute")
        elif f.cause == "allocated":
            name = "dra-devices-allocated"
            owners = d.get("owners", [])
            params.update(matching=d.get("matching", 0), owners="; ".join(owners[:5]) +
                          (f" (+{len(owners) - 5} more)" if len(owners) > 5 else ""))
        elif f.cause == "tainted":
            name = "dra-devices-tainted"
            params.update(taints=", ".join(d.get("taints", [])), free=d.get("free", 0),
                          devices=", ".join(d.get("devices", [])))
        elif f.cause == "per-node":
            name = "dra-claim-unsatisfiable"
            params["why"] = (f"{d.get('free_total', 0)} matching device(s) are free in the cluster, but at most "
                             f"{d.get('best_free', 0)} on one node ({d.get('best_node') or 'none'}), and devices "
                             f"are node-local: the request needs {f.count} on the same node")
        else:
            name = "dra-claim-unsatisfiable"
            params["why"] = ("the request on its own fits somewhere; together with the pod's other requests, "
                             "its constraints or shared counters, or the nodes its other filters allow, it does not"
                             if f.cause == "fits" else d.get("why", f.cause))
        subject = (f"DeviceClass/{f.device_class}" if name == "dra-no-devices" else
                   f"ResourceClaim/{f.claim}" if not f.claim.startswith("<") else
                   f"Pod/{self.pod.key} resources.requests.{params['resource']}")
        return Signal(name=name, params=params, nodes=tuple(nodes), subject=subject,
                      evidence=(EvidenceItem(kind="node-verdict",
                                             summary=f"{len(nodes)} node(s): cannot allocate all claims "
                                                     f"(request {f.request} of {f.claim})",
                                             source=f"podtriage {PLUGIN} filter and DRA analysis",
                                             data=jsonable({"cause": f.cause, **d})),),
                      effects=(f"{len(nodes)}/{self.ev.total_nodes} nodes rejected by {PLUGIN}",))


def dra_signals(pod: m.Pod, snapshot: Snapshot, ev: Evaluation) -> list[Signal]:
    """Signals for everything DynamicResources rejected (pod-level and per node)."""
    if not any(f.plugin == PLUGIN for f in ev.prefilter) and not any(
            f.plugin == PLUGIN for v in ev.verdicts for f in v.first):
        return []
    return DraDiagnosis(pod, snapshot, ev).signals()
