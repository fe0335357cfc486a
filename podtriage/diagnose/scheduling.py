"""From per-node verdicts to signals: what blocks the pod, named down to the key, with near misses.

Input: the pod, the snapshot and the Evaluation (every node, every filter). Output: Signals
that rules turn into root causes, and the VerdictGroups shown as evidence. Each signal explains
the nodes whose *first* failing filter it accounts for (the scheduler's view), so ranking by
"how much of the failure it explains" is honest.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import replace
from typing import Any, Collection, Iterable, Mapping, Sequence

from .. import model as m
from ..findings import EvidenceItem, Signal, VerdictGroup, jsonable
from ..quantity import format_amount
from ..scheduler.framework import Evaluation, Failure, NodeVerdict
from ..scheduler.plugins.taint_toleration import tolerates
from ..scheduler.selectors import describe_requirement, requirement_matches
from ..snapshot import Snapshot
from .dra import dra_signals
from .labels import CONTROL_PLANE_TAINTS, DEPRECATED_LABELS, NOT_READY_TAINTS, closest

MAX_EXAMPLES = 3


def _examples(nodes: Sequence[str]) -> dict[str, Any]:
    ex = list(nodes[:MAX_EXAMPLES])
    return {"nodes_count": len(nodes), "node_examples": ", ".join(ex) + (", ..." if len(nodes) > len(ex) else ""),
            "node_example": ex[0] if ex else "NODE"}


def _verdict_evidence(summary: str, nodes: Sequence[str], failure: Failure) -> EvidenceItem:
    shown = ", ".join(nodes[:10]) + (f" (+{len(nodes) - 10} more)" if len(nodes) > 10 else "")
    return EvidenceItem(
        kind="node-verdict", summary=summary, source=f"podtriage {failure.plugin} filter on nodes {shown}",
        data={"plugin": failure.plugin, "code": failure.code, "reason": failure.reason, "nodeCount": len(nodes),
              "nodes": list(nodes[:50]), "example": failure.message, "detail": jsonable(failure.detail)},
    )


def node_groups(evaluation: Evaluation) -> list[VerdictGroup]:
    """Nodes grouped by the scheduler-visible reason (first failing filter), biggest first."""
    groups: dict[tuple[str, str, str], list[tuple[str, Failure]]] = defaultdict(list)
    for v in evaluation.verdicts:
        for f in v.first:
            groups[(f.plugin, f.code, f.reason)].append((v.node, f))
    out = []
    for (plugin, code, reason), items in groups.items():
        out.append(VerdictGroup(plugin=plugin, code=code, reason=reason, count=len(items),
                                examples=tuple(n for n, _ in items[:MAX_EXAMPLES]), message=items[0][1].message,
                                detail=jsonable(items[0][1].detail)))
    out.sort(key=lambda g: (-g.count, g.plugin, g.reason))
    return out


class SchedulingDiagnosis:
    """Turns one pod's Evaluation into signals."""

    def __init__(self, pod: m.Pod, snapshot: Snapshot, evaluation: Evaluation) -> None:
        self.pod = pod
        self.snapshot = snapshot
        self.ev = evaluation
        self.total = evaluation.total_nodes
        self.by_code: dict[str, list[tuple[NodeVerdict, Failure]]] = defaultdict(list)
        for v in evaluation.verdicts:
            for f in v.first:
                self.by_code[f.code].append((v, f))

    def _base(self, nodes: Sequence[str]) -> dict[str, Any]:
        return {"pod": self.pod.key, "total_nodes": self.total, **_examples(nodes)}

    def _effects(self, plugin: str, nodes: Sequence[str]) -> tuple[str, ...]:
        return (f"{len(nodes)}/{self.total} nodes rejected by {plugin}",)

    def signals(self) -> list[Signal]:
        out: list[Signal] = []
        if self.total == 0:
            return [self._no_nodes()]
        out += self._prefilter()
        handlers = {
            "taint": self._taints, "node-affinity": self._node_affinity, "insufficient": self._insufficient,
            "too-many-pods": self._simple("too-many-pods", lambda fs: {"max_pods": fs[0].detail.get("allocatable")}),
            "node-unschedulable": self._simple("node-unschedulable", lambda fs: {}),
            "node-ports": self._ports,
        }
        for code, items in self.by_code.items():
            if items[0][1].plugin == "DynamicResources":
                continue  # diagnose/dra.py (issue 13)
            handler = handlers.get(code, self._generic)
            out += handler(code, items)
        out += dra_signals(self.pod, self.snapshot, self.ev)
        return self._demote_non_candidates(out)

    def candidates(self) -> set[str] | None:
        """Nodes that advertise every extended resource the pod requests (None: no such request).

        A GPU pod can only ever land on GPU nodes; what blocks *those* is the root cause, and the
        other nodes' rejections are background.
        """
        result: set[str] | None = None
        wanted = [r for r, v in self.ev.requests.items() if "/" in r and v > 0]
        if wanted:
            result = {n.name for n in self.snapshot.nodes if all(n.allocatable.get(r, 0) > 0 for r in wanted)}
        # A DaemonSet-style pin (required matchFields metadata.name In [...]) in every term: the other
        # nodes are excluded by design, not a cause.
        terms = self.pod.required_node_affinity or ()
        if terms and all(any(r.key == "metadata.name" and r.operator == "In" for r in t.match_fields)
                         for t in terms):
            pinned = {v for t in terms for r in t.match_fields if r.key == "metadata.name" and r.operator == "In"
                      for v in r.values} & set(self.snapshot.node_by_name)  # a pin to a missing node excuses nothing
            result = pinned if result is None else result & pinned
        return result or None

    def _demote_non_candidates(self, signals: list[Signal]) -> list[Signal]:
        cands = self.candidates()
        if not cands:
            return signals
        out = []
        for s in signals:
            if s.nodes and s.blocking and not (set(s.nodes) & cands) and s.name != "extended-resource-elsewhere":
                s = replace(s, blocking=False, confidence=round(s.confidence * 0.5, 3),
                            params={**s.params, "not_candidates": True})
            out.append(s)
        return out

    def _no_nodes(self) -> Signal:
        return Signal(name="no-nodes", params={"pod": self.pod.key, "total_nodes": 0, "nodes_count": 0,
                                               "node_examples": "", "node_example": "NODE"},
                      evidence=(EvidenceItem(kind="object", summary="the node list is empty",
                                             source="Node list", data={"nodes": 0}),),
                      subject="Node list", effects=("no node exists to run any pod",))

    # --- PreFilter (pod-level) ------------------------------------------------------------
    def _prefilter(self) -> list[Signal]:
        out = []
        seen: set[tuple[str, str]] = set()
        for f in self.ev.prefilter:
            # VolumeRestrictions and VolumeBinding both reject a missing claim; the scheduler reports
            # the first, and so do we, once.
            if (f.code, f.reason) in seen or f.plugin == "DynamicResources":
                continue
            seen.add((f.code, f.reason))
            d = f.detail
            claim = d.get("claim") or ", ".join(d.get("claims", []) or []) or ""
            params = {"pod": self.pod.key, "total_nodes": self.total, "nodes_count": self.total, "claim": claim,
                      "reason_detail": f.message, "storage_class": d.get("storage_class") or "",
                      "detail": f.message, "node_example": "NODE", "node_examples": "", "reason": f.reason,
                      **{k: v for k, v in d.items() if isinstance(v, (str, int)) and k not in ("claim",)}}
            name = {
                "pvc-not-found": "pvc-not-found", "pvc-deleting": "pvc-unbound",
                "ephemeral-pvc-pending": "pvc-unbound", "pvc-bound-to-missing-pv": "pvc-unbound",
                "volume-rwop": "volume-restriction-conflict", "pv-not-found": "pv-not-found",
                "ephemeral-pvc-not-owned": "ephemeral-pvc-conflict",
            }.get(f.code)
            if f.code == "volume-unbound-immediate":
                if d.get("storage_class") and d.get("class_exists") is False:
                    name = "storageclass-not-found"
                elif not d.get("storage_class") and d.get("default_class_exists") is False:
                    name = "no-default-storageclass"
                else:
                    name = "pvc-unbound"
            if name is None:
                name = "unknown-scheduling-failure"
                params["reason"] = f.reason
            subject = f"PersistentVolumeClaim/{self.pod.namespace}/{claim}" if claim else ""
            out.append(Signal(
                name=name, params=params, nodes=(), subject=subject,  # pod-level: explains every node
                evidence=(EvidenceItem(kind="prefilter", summary=f"{f.plugin}: {f.reason}",
                                       source=f"podtriage {f.plugin} PreFilter", data=jsonable(dict(d))),),
                effects=(f"pod rejected before any node is considered ({f.plugin})",),
            ))
        return out

    # --- TaintToleration --------------------------------------------------------------------
    def _taints(self, code: str, items: list[tuple[NodeVerdict, Failure]]) -> list[Signal]:
        by_taint: dict[tuple[str, str, str], list[tuple[NodeVerdict, Failure]]] = defaultdict(list)
        for v, f in items:
            t = f.detail.get("taint", {})
            by_taint[(t.get("key", ""), t.get("value", ""), t.get("effect", ""))].append((v, f))
        out = []
        for (key, value, effect), group in sorted(by_taint.items(), key=lambda kv: -len(kv[1])):
            nodes = [v.node for v, _ in group]
            taint = m.Taint(key=key, value=value, effect=effect)
            params = {**self._base(nodes), "taint": str(taint), "key": key, "value": value, "effect": effect,
                      "value_suffix": f"={value}" if value else ""}
            ev = [_verdict_evidence(f"{len(nodes)} node(s): untolerated taint {taint}", nodes, group[0][1])]
            # Lifecycle taints first: the NoExecute tolerations admission adds for not-ready/unreachable
            # are not the user's intent, so they are no near miss.
            near = [t for t in self.pod.tolerations if t.key == key and not tolerates(t, taint)]
            name = "taint-untolerated"
            subject = f"Node/{nodes[0]}" if len(nodes) == 1 else f"taint {taint}"
            if key in CONTROL_PLANE_TAINTS:
                name = "control-plane-taint"
                params["single_node"] = self.total == 1
            elif key in NOT_READY_TAINTS:
                name = "node-not-ready"
                params["condition"] = NOT_READY_TAINTS[key]
                for n in nodes[:MAX_EXAMPLES]:
                    node = self.snapshot.node_by_name.get(n)
                    ready = node.condition("Ready") if node else None
                    if ready:
                        ev.append(EvidenceItem(kind="condition",
                                               summary=f"node {n} Ready={ready.status} {ready.reason}".strip(),
                                               source=f"Node {n} status.conditions[Ready]",
                                               data={"status": ready.status, "reason": ready.reason,
                                                     "message": ready.message},
                                               time=ready.last_transition_time))
            elif near:
                tol = near[0]
                if tol.effect and tol.effect != effect:
                    mismatch = "effect"
                elif tol.operator in ("", "Equal") and tol.value != value:
                    mismatch = "value"
                else:
                    mismatch = "operator"
                name = "taint-effect-mismatch"
                params.update(toleration=str(tol), mismatch=mismatch, toleration_effect=tol.effect or "*",
                              toleration_value=tol.value)
                subject = f"Pod/{self.pod.key} spec.tolerations"
            out.append(Signal(name=name, params=params, nodes=tuple(nodes), evidence=tuple(ev), subject=subject,
                              effects=self._effects("TaintToleration", nodes)))
        return out

    # --- NodeAffinity -------------------------------------------------------------------------
    def _node_affinity(self, code: str, items: list[tuple[NodeVerdict, Failure]]) -> list[Signal]:
        pod = self.pod
        failing_nodes = [v.node for v, _ in items]
        all_nodes = self.snapshot.nodes
        all_keys: set[str] = set()
        values_by_key: dict[str, Counter] = defaultdict(Counter)
        for n in all_nodes:
            for k, val in n.labels.items():
                all_keys.add(k)
                values_by_key[k][val] += 1
        out: list[Signal] = []
        explained: set[str] = set()
        failing_set = set(failing_nodes)
        node_by_name = self.snapshot.node_by_name

        def nodes_failing(pred) -> list[str]:
            return [n for n in failing_nodes if pred(node_by_name[n].labels)] if node_by_name else []

        ev0 = _verdict_evidence(f"{len(failing_nodes)} node(s) didn't match the pod's node affinity/selector",
                                failing_nodes, items[0][1])
        # nodeSelector entries, one by one
        for key, want in sorted(pod.node_selector.items()):
            bad = nodes_failing(lambda labels, k=key, w=want: labels.get(k) != w)
            if not bad:
                continue
            explained.update(bad)
            out.append(self._label_signal("nodeSelector", key, want, f"{key}={want}", bad, all_keys, values_by_key,
                                          ev0))
        # required node affinity: single-term expressions are explained one by one
        terms = pod.required_node_affinity or ()
        if len(terms) == 1:
            for req in terms[0].match_expressions:
                bad = nodes_failing(lambda labels, r=req: not requirement_matches(r, labels))
                bad = [n for n in bad if n not in explained]
                if not bad:
                    continue
                explained.update(bad)
                want = req.values[0] if req.operator == "In" and len(req.values) == 1 else ""
                out.append(self._label_signal("nodeAffinity", req.key, want, describe_requirement(req), bad,
                                              all_keys, values_by_key, ev0, operator=req.operator))
        rest = [n for n in failing_nodes if n not in explained and n in failing_set]
        if rest:
            exprs = "; ".join(" AND ".join([describe_requirement(r) for r in t.match_expressions] +
                                           [f"field {describe_requirement(r)}" for r in t.match_fields])
                              or "<empty term>" for t in terms) or \
                ", ".join(f"{k}={v}" for k, v in pod.node_selector.items())
            params = {**self._base(rest), "expression": exprs, "key": "", "present_values": "",
                      "closest_value": ""}
            out.append(Signal(name="node-affinity-mismatch", params=params, nodes=tuple(rest), evidence=(ev0,),
                              subject=f"Pod/{pod.key} spec.affinity.nodeAffinity",
                              effects=self._effects("NodeAffinity", rest)))
        return out

    def _label_signal(self, field: str, key: str, want: str, expression: str, nodes: list[str], all_keys: set[str],
                      values_by_key: Mapping[str, Counter], ev0: EvidenceItem, operator: str = "In") -> Signal:
        present = values_by_key.get(key, Counter())
        present_values = ", ".join(f"{v} ({c})" for v, c in present.most_common(5))
        params = {**self._base(nodes), "key": key, "value": want, "expression": expression, "field": field,
                  "present_values": present_values, "key_absent": not present, "closest_key": "",
                  "closest_value": ""}
        subject = f"Pod/{self.pod.key} spec.{'nodeSelector' if field == 'nodeSelector' else 'affinity.nodeAffinity'}"
        if key in DEPRECATED_LABELS and not present and DEPRECATED_LABELS[key] in values_by_key:
            params["current_key"] = DEPRECATED_LABELS[key]
            current_values = values_by_key[DEPRECATED_LABELS[key]]
            params["current_value_present"] = bool(want) and want in current_values
            return Signal(name="deprecated-label", params=params, nodes=tuple(nodes), evidence=(ev0,),
                          subject=subject, effects=self._effects("NodeAffinity", nodes))
        if not present:
            params["closest_key"] = closest(key, all_keys)
        elif want and want not in present:
            params["closest_value"] = closest(want, present.keys())
        name = "node-selector-mismatch" if field == "nodeSelector" else "node-affinity-mismatch"
        if operator not in ("In", "Exists") and field != "nodeSelector":
            name = "node-affinity-mismatch"
        return Signal(name=name, params=params, nodes=tuple(nodes), evidence=(ev0,), subject=subject,
                      effects=self._effects("NodeAffinity", nodes))

    # --- NodeResourcesFit -------------------------------------------------------------------
    def _insufficient(self, code: str, items: list[tuple[NodeVerdict, Failure]]) -> list[Signal]:
        by_res: dict[str, list[tuple[NodeVerdict, Failure]]] = defaultdict(list)
        for v, f in items:
            by_res[f.detail.get("resource", "?")].append((v, f))
        out = []
        for res, group in sorted(by_res.items(), key=lambda kv: -len(kv[1])):
            nodes = [v.node for v, _ in group]
            requested = self.ev.requests.get(res, 0)
            advertised = [n.allocatable.get(res, 0) for n in self.snapshot.nodes]
            max_alloc = max(advertised, default=0)
            frees = [f.detail.get("free", 0) for _, f in group]
            total_free = sum(max(x, 0) for x in frees)
            params = {**self._base(nodes), "resource": res, "requested": format_amount(res, requested),
                      "largest_free": format_amount(res, max(max(frees, default=0), 0)),
                      "largest_allocatable": format_amount(res, max_alloc),
                      "total_free": format_amount(res, total_free),
                      "total_allocatable": format_amount(res, sum(advertised)),
                      "too_large": requested > max_alloc,
                      "fragmented": requested <= max_alloc and total_free >= requested}
            name = "insufficient-resources"
            subject = f"Pod/{self.pod.key} resources.requests.{res}"
            is_extended = "/" in res
            advertised_here = sum(1 for v, _ in group if v.node in self.snapshot.node_by_name
                                  and self.snapshot.node_by_name[v.node].allocatable.get(res, 0) > 0)
            params["advertised_elsewhere"] = sum(1 for a in advertised if a > 0)
            blocking = True
            if is_extended and advertised_here == 0 and params["advertised_elsewhere"]:
                # Only other nodes have the device: what blocks those nodes is the root cause.
                name = "extended-resource-elsewhere"
                blocking = False
                params["advertising_nodes"] = ", ".join(
                    [n.name for n in self.snapshot.nodes if n.allocatable.get(res, 0) > 0][:5])
            elif is_extended and advertised_here == 0:
                # No node has the device at all (no device plugin, or no such node type).
                name = "extended-resource-missing"
            elif is_extended:
                name = "extended-resource-exhausted"
            ev = [_verdict_evidence(f"{len(nodes)} node(s): Insufficient {res} (pod requests "
                                    f"{format_amount(res, requested)})", nodes, group[0][1])]
            out.append(Signal(name=name, params=params, nodes=tuple(nodes), evidence=tuple(ev), subject=subject,
                              blocking=blocking, effects=self._effects("NodeResourcesFit", nodes)))
        return out

    def _ports(self, code: str, items: list[tuple[NodeVerdict, Failure]]) -> list[Signal]:
        nodes = [v.node for v, _ in items]
        f = items[0][1]
        ports = f.detail.get("ports", [{}])
        holders = sorted({h for _, fx in items for h in fx.detail.get("holders", [])})
        params = {**self._base(nodes), "port": ports[0].get("hostPort", "?"),
                  "protocol": ports[0].get("protocol", "TCP"), "holders": ", ".join(holders[:5])}
        return [Signal(name="host-port-conflict", params=params, nodes=tuple(nodes),
                       evidence=(_verdict_evidence(f"{len(nodes)} node(s): host port {params['port']}/"
                                                   f"{params['protocol']} in use", nodes, f),),
                       subject=f"Pod/{self.pod.key} hostPort {params['port']}",
                       effects=self._effects("NodePorts", nodes))]

    def _simple(self, name: str, extra):
        def handler(code: str, items: list[tuple[NodeVerdict, Failure]]) -> list[Signal]:
            nodes = [v.node for v, _ in items]
            fs = [f for _, f in items]
            params = {**self._base(nodes), **extra(fs)}
            return [Signal(name=name, params=params, nodes=tuple(nodes),
                           evidence=(_verdict_evidence(f"{len(nodes)} node(s): {fs[0].reason}", nodes, fs[0]),),
                           subject=f"Node/{nodes[0]}" if len(nodes) == 1 else "",
                           effects=self._effects(fs[0].plugin, nodes))]
        return handler

    def _spread_near_miss(self, f: Failure) -> dict[str, Any]:
        """The emptiest domain pins the minimum, but the pod could never land there itself.

        With nodeTaintsPolicy Ignore (the default), tainted nodes still define domains and count.
        """
        d = f.detail
        key, dom = d.get("topology_key"), d.get("min_domain")
        if not key or not dom or d.get("node_taints_policy") == "Honor":
            return {"min_domain_blocked": ""}
        verdicts = _first_plugins(self.ev)
        nodes = [n for n in self.snapshot.nodes if n.labels.get(key) == dom]
        blocked = [verdicts[n.name] for n in nodes if n.name in verdicts and verdicts[n.name].first_plugin ==
                   "TaintToleration"]
        if nodes and len(blocked) == len(nodes):
            return {"min_domain_blocked": f"every node of {key}={dom} carries a taint the pod does not tolerate "
                                          f"({_taint_text(blocked[0])}), so the domain stays empty",
                    "min_domain": dom}
        return {"min_domain_blocked": ""}

    # --- everything else: volume, spread, inter-pod affinity ----------------------------------
    _GENERIC = {
        "volume-node-affinity": "volume-node-affinity-conflict", "volume-zone": "volume-zone-conflict",
        "volume-limits": "volume-limit-exceeded", "volume-bind-conflict": "pvc-unbound",
        "volume-restrictions-disk": "volume-restriction-conflict", "volume-rwop": "volume-restriction-conflict",
        "topology-spread": "topology-spread", "topology-spread-missing-label": "topology-spread-missing-label",
        "pod-affinity": "pod-affinity", "pod-anti-affinity": "pod-anti-affinity",
        "existing-anti-affinity": "existing-anti-affinity", "node-name": "unknown-scheduling-failure",
        "volume-no-space": "storage-capacity-exhausted", "csi-driver-missing": "csi-driver-not-installed",
        "node-features": "node-features-missing",
    }

    def _generic(self, code: str, items: list[tuple[NodeVerdict, Failure]]) -> list[Signal]:
        # Group by the per-node message's stable parts: detail keys that name the object.
        groups: dict[str, list[tuple[NodeVerdict, Failure]]] = defaultdict(list)
        for v, f in items:
            d = f.detail
            gk = str(d.get("claim") or d.get("pv") or d.get("topology_key") or d.get("driver") or "")
            groups[gk].append((v, f))
        out = []
        name = self._GENERIC.get(code, "unknown-scheduling-failure")
        for _, group in sorted(groups.items(), key=lambda kv: -len(kv[1])):
            nodes = [v.node for v, _ in group]
            f = group[0][1]
            params: dict[str, Any] = {**self._base(nodes), "reason": f.reason, "detail": f.message,
                                      "reason_detail": f.message}
            for k, val in f.detail.items():
                if isinstance(val, (str, int, float, bool)):
                    params.setdefault(k, val)
                elif isinstance(val, (list, tuple)) and all(isinstance(x, str) for x in val):
                    params.setdefault(k, ", ".join(val))
            for k in ("claim", "pv", "zone", "driver", "limit", "topology_key", "max_skew", "domain", "skew",
                      "min_domain", "min_count", "selector", "matching_pods", "other_pod", "storage_class"):
                params.setdefault(k, "")
            if code == "topology-spread":
                params.update(self._spread_near_miss(f))
            subject = ""
            if params.get("claim"):
                subject = f"PersistentVolumeClaim/{self.pod.namespace}/{params['claim']}"
            elif params.get("pv"):
                subject = f"PersistentVolume/{params['pv']}"
            out.append(Signal(name=name, params=params, nodes=tuple(nodes),
                              evidence=(_verdict_evidence(f"{len(nodes)} node(s): {f.reason}", nodes, f),),
                              subject=subject, effects=self._effects(f.plugin, nodes)))
        return out


def _first_plugins(ev: Evaluation) -> dict[str, NodeVerdict]:
    return {v.node: v for v in ev.verdicts}


def _taint_text(v: NodeVerdict) -> str:
    t = v.first[0].detail.get("taint", {}) if v.first else {}
    return str(m.Taint(key=t.get("key", ""), value=t.get("value", ""), effect=t.get("effect", "")))


def signals_from_message(pod: m.Pod, fit: Any, confidence: float,
                         codes: Collection[str] | None = None) -> list[Signal]:
    """Degraded mode: no node list, only the scheduler's own aggregated message.

    The counts are the scheduler's; the keys come from the message (taints before 1.35) and the
    pod spec (its selectors and requests). Lower confidence: we could not check any node.
    `codes`: only these reasons (what podtriage's own evaluation could not judge, e.g. the claims
    when PersistentVolumeClaims were unreadable).
    """
    out: list[Signal] = []
    total = fit.total_nodes or 0
    ev = EvidenceItem(kind="event", summary=f"scheduler: {fit.raw[:300]}", source="FailedScheduling message",
                      data={"message": fit.raw})
    entries = ([fit.prefilter] if fit.prefilter else []) + list(fit.reasons)
    if codes is not None:
        entries = [rc for rc in entries if rc.code in codes]
    for rc in entries:
        count = rc.count if rc.count is not None else total
        base = {"pod": pod.key, "total_nodes": total, "nodes_count": count, "node_examples": "(node list unavailable)",
                "node_example": "NODE", "reason": rc.reason, "detail": rc.reason, "reason_detail": rc.reason,
                "node_data": "no"}
        d = rc.details or {}
        name = "unknown-scheduling-failure"
        params: dict[str, Any] = dict(base)
        if rc.code == "taint":
            key, value = d.get("taint_key", ""), d.get("taint_value", "")
            params.update(key=key or "<not named by the scheduler>", value=value, effect="NoSchedule",
                          taint=f"{key}={value}" if key else "(the scheduler no longer names it)",
                          value_suffix=f"={value}" if value else "")
            name = "taint-untolerated"
            if key in CONTROL_PLANE_TAINTS:
                name = "control-plane-taint"
                params["single_node"] = total == 1
            elif key in NOT_READY_TAINTS:
                name = "node-not-ready"
            near = [t for t in pod.tolerations if key and t.key == key]
            if near:
                name = "taint-effect-mismatch"
                params.update(toleration=str(near[0]), mismatch="effect or value",
                              toleration_effect=near[0].effect or "*", toleration_value=near[0].value)
        elif rc.code == "insufficient":
            res = d.get("resource", "?")
            name = "extended-resource-exhausted" if "/" in res else "insufficient-resources"
            params.update(resource=res, requested="?", largest_free="?", largest_allocatable="?", total_free="?",
                          too_large=False, fragmented=False, total_allocatable="?")
        elif rc.code == "node-affinity":
            name = "node-affinity-mismatch"
            params.update(expression=", ".join(f"{k}={v}" for k, v in pod.node_selector.items()) or
                          "spec.affinity.nodeAffinity", key="", present_values="", closest_value="")
        else:
            name = {"too-many-pods": "too-many-pods", "node-unschedulable": "node-unschedulable",
                    "node-ports": "host-port-conflict", "pvc-not-found": "pvc-not-found",
                    "volume-unbound-immediate": "pvc-unbound", "volume-node-affinity": "volume-node-affinity-conflict",
                    "volume-zone": "volume-zone-conflict", "volume-limits": "volume-limit-exceeded",
                    "topology-spread": "topology-spread", "topology-spread-missing-label": "topology-spread-missing-label",
                    "pod-affinity": "pod-affinity", "pod-anti-affinity": "pod-anti-affinity",
                    "existing-anti-affinity": "existing-anti-affinity", "no-nodes": "no-nodes",
                    "volume-bind-conflict": "pvc-unbound"}.get(rc.code, name)
            params.update(claim=d.get("claim", ""), storage_class="", port="?", protocol="TCP", holders="",
                          topology_key="", max_skew="", domain="", skew="", min_domain="", min_count="",
                          selector="", matching_pods="", other_pod="", pv="", zone="", driver="", limit="",
                          max_pods="?")
        out.append(Signal(name=name, params=params, evidence=(ev,), confidence=confidence,
                          nodes=tuple(f"?{i}" for i in range(count or 0)),
                          effects=(f"{count} node(s): {rc.reason} (scheduler's count)",)))
    return out


def iter_failures(verdicts: Iterable[NodeVerdict]) -> Iterable[Failure]:
    for v in verdicts:
        yield from v.failures
