"""A fix is a patch: each cause's change as something a tool can apply, and who may apply it.

The prose fix stays in the rule (rules/*.yaml); here the same change becomes structured: the
object to change (the pod's controller template, or the pod itself when it has none; a Node for
cluster-admin changes), a JSON patch against it, the kubectl command that applies it, and whether
someone other than the pod's owner must do it. Fixes come owner-first and safe-first; changes that
would make things worse (tolerating the control-plane or a not-ready taint, relabelling a node with
a label that kubelet or the cloud provider owns, evicting other teams' pods) are never offered
first, and most are not offered at all.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import Any

from .. import model as m
from ..diagnose.labels import is_system_label
from ..findings import Fix, Signal
from ..owners import editable_owner
from ..quantity import format_amount
from ..snapshot import Snapshot
from .intent import Intent

# The tolerations admission (DefaultTolerationSeconds) adds to every pod: not part of a template.
_ADMISSION_TOLERATIONS = {("node.kubernetes.io/not-ready", "NoExecute"), ("node.kubernetes.io/unreachable", "NoExecute")}


def pointer(*parts: str) -> str:
    """A JSON pointer from raw keys ('/' and '~' escaped, as RFC 6901 wants)."""
    return "".join("/" + p.replace("~", "~0").replace("/", "~1") for p in parts)


@dataclass(frozen=True)
class Context:
    """What every fix builder needs to know about the pod and where its spec is edited."""

    pod: m.Pod
    snapshot: Snapshot
    intent: Intent
    owner: Mapping[str, str]  # the object to edit: the controller, or the pod itself
    spec: str  # JSON pointer of the pod spec inside `owner`
    template: m.Pod | None  # the controller's pod template as converted (None: the pod itself, or unread)

    @classmethod
    def of(cls, pod: m.Pod, snapshot: Snapshot, intent: Intent) -> Context:
        owner, spec = editable_owner(snapshot, pod)
        template = None
        if owner["kind"] != "Pod":
            w = snapshot.workload_by_key.get((owner["kind"], pod.namespace, owner["name"]))
            template = w.template_pod if w is not None else None
        return cls(pod=pod, snapshot=snapshot, intent=intent, owner=owner, spec=spec, template=template)

    @property
    def bare(self) -> bool:
        return self.owner.get("kind") == "Pod"

    @property
    def apply(self) -> str:
        return "recreate" if self.bare else "patch"

    def edited(self) -> m.Pod:
        """The spec as it stands in the object being edited (template, else the pod)."""
        return self.template or self.pod

    def patch_fix(self, description: str, ops: list[dict[str, Any]], *, safe: bool = True) -> Fix:
        """A JSON patch of the pod spec, on the controller (it rolls the pods) or the bare pod."""
        kind, name, ns = self.owner["kind"], self.owner["name"], self.owner["namespace"]
        text = shlex.quote(json.dumps(ops, separators=(",", ":")))
        if self.bare:
            # A pod's spec is immutable once created: apply the patch client-side and recreate it.
            command = (f"kubectl patch pod {name} -n {ns} --type json -p {text} --dry-run=client -o yaml"
                       " | kubectl replace --force -f -")
        else:
            command = f"kubectl patch {kind.lower()} {name} -n {ns} --type json -p {text}"
        return Fix(description=description, object=dict(self.owner), patch_type="json", patch=ops,
                   command=command, apply=self.apply, applied_by="owner", safe=safe)


def _node_object(name: str) -> dict[str, str]:
    return {"apiVersion": "v1", "kind": "Node", "namespace": "", "name": name}


def _toleration(key: str, value: str, effect: str) -> dict[str, str]:
    if value:
        return {"key": key, "operator": "Equal", "value": value, "effect": effect}
    return {"key": key, "operator": "Exists", "effect": effect}


def add_toleration_ops(ctx: Context, tol: Mapping[str, str]) -> list[dict[str, Any]]:
    """JSON patch adding one toleration to the edited spec, whether or not it has a list yet."""
    if ctx.bare:
        has_list = bool(ctx.pod.tolerations)
    elif ctx.template is not None:
        has_list = bool(ctx.template.tolerations)
    else:  # the template was not read: the pod's tolerations, less admission's defaults, are its own
        has_list = any((t.key, t.effect) not in _ADMISSION_TOLERATIONS for t in ctx.pod.tolerations)
    if has_list:
        return [{"op": "add", "path": ctx.spec + "/tolerations/-", "value": dict(tol)}]
    return [{"op": "add", "path": ctx.spec + "/tolerations", "value": [dict(tol)]}]


# --- one builder per signal ------------------------------------------------------------------------

Builder = Callable[[Signal, Context], list[Fix]]


def _taint_of(s: Signal) -> tuple[str, str, str] | None:
    """(key, value, effect) of the taint a taint signal names; None when the signal names none."""
    p = s.params
    key = str(p.get("key", ""))
    return (key, str(p.get("value", "")), str(p.get("effect", "") or "NoSchedule")) if key else None


def _taint(s: Signal, ctx: Context) -> list[Fix]:
    p, taint = s.params, _taint_of(s)
    if taint is None:
        return []
    key, value, effect = taint
    tol = _toleration(key, value, effect)
    # A taint only some of the pod's target nodes carry dedicates those nodes to other workloads
    # (a GPU pool, for a pod that asks for no GPU and selects no pool): tolerating it would take
    # their capacity. It is the fix when every node the pod asks for carries it (the pool it selects).
    by_name = ctx.snapshot.node_by_name
    dedicated_to_others = any(n in by_name and not any((t.key, t.value, t.effect) == (key, value, effect)
                                                        for t in by_name[n].taints) for n in ctx.intent.targets)
    what = (f"tolerate taint `{p.get('taint')}` (only if the pod belongs on those {len(s.nodes)} node(s): the pod's "
            "other target nodes are untainted, so the taint keeps them for other workloads)"
            if dedicated_to_others else
            f"tolerate taint `{p.get('taint')}` on the {len(s.nodes)} node(s) the pod is meant for")
    fixes = [ctx.patch_fix(what, add_toleration_ops(ctx, tol), safe=not dedicated_to_others)]
    # A stale taint is the admin's to remove; a dedicated pool's taint keeps other pods off, so
    # removing it is never the first fix.
    fixes += _remove_taint(s, ctx, key, value, effect, safe=False)
    return fixes


def _remove_taint(s: Signal, ctx: Context, key: str, value: str, effect: str, *, safe: bool) -> list[Fix]:
    out = []
    by_name = ctx.snapshot.node_by_name
    for name in islice((n for n in s.nodes if n in by_name), 20):  # (the first 20 of up to every node)
        node = by_name[name]
        idx = next((i for i, t in enumerate(node.taints) if (t.key, t.value, t.effect) == (key, value, effect)), None)
        if idx is None:
            continue
        out.append(Fix(description=f"remove taint `{key}{'=' + value if value else ''}:{effect}` from node {name}",
                       object=_node_object(name), patch_type="json",
                       patch=[{"op": "test", "path": f"/spec/taints/{idx}/key", "value": key},
                              {"op": "remove", "path": f"/spec/taints/{idx}"}],
                       command=f"kubectl taint nodes {name} {key}{'=' + value if value else ''}:{effect}-",
                       apply="patch", applied_by="cluster-admin", safe=safe))
    return out


def _taint_mismatch(s: Signal, ctx: Context) -> list[Fix]:
    p, taint = s.params, _taint_of(s)
    if taint is None:
        return []
    return [ctx.patch_fix(f"add a toleration matching taint `{p.get('taint')}` (the existing one has the wrong "
                          f"{p.get('mismatch', 'effect')})", add_toleration_ops(ctx, _toleration(*taint)))]


def _control_plane(s: Signal, ctx: Context) -> list[Fix]:
    p, taint = s.params, _taint_of(s)
    if p.get("single_node") and taint is not None:
        # A single-node cluster: the taint keeps everything off the only node.
        return _remove_taint(s, ctx, *taint, safe=True)
    alt = str(p.get("alternative_node", ""))
    if p.get("pinned") and alt:
        return _retarget_hostname(ctx, alt)
    return []


def _retarget_hostname(ctx: Context, node: str) -> list[Fix]:
    """Point a hostname pin (nodeSelector or required affinity) at another node."""
    edited = ctx.edited()
    ops: list[dict[str, Any]] = []
    if "kubernetes.io/hostname" in edited.node_selector:
        ops.append({"op": "replace", "path": ctx.spec + pointer("nodeSelector", "kubernetes.io/hostname"),
                    "value": node})
    for i, t in enumerate(edited.required_node_affinity or ()):
        for j, r in enumerate(t.match_expressions):
            if r.key == "kubernetes.io/hostname" and r.operator == "In":
                ops.append({"op": "replace", "path": ctx.spec + "/affinity/nodeAffinity/requiredDuringScheduling"
                            f"IgnoredDuringExecution/nodeSelectorTerms/{i}/matchExpressions/{j}/values",
                            "value": [node]})
    if not ops:
        return []
    return [ctx.patch_fix(f"pin the pod to node {node}, which accepts it, instead of a control-plane node", ops)]


def _selector_fix(s: Signal, ctx: Context) -> list[Fix]:
    """A nodeSelector or single-term affinity expression no node satisfies: correct the term to one
    nodes do carry (validated), else label nodes with it when the key is the owner's own."""
    p = s.params
    field, key, want = str(p.get("field", "")), str(p.get("key", "")), str(p.get("value", ""))
    edited = ctx.edited()
    out: list[Fix] = []
    new_key = str(p.get("suggested_key", "") or "")
    new_value = str(p.get("suggested_value", "") or "")
    if field == "nodeSelector" and key in edited.node_selector:
        if new_key or new_value:
            k2, v2 = new_key or key, new_value or want
            ops: list[dict[str, Any]] = []
            if k2 != key:
                ops.append({"op": "remove", "path": ctx.spec + pointer("nodeSelector", key)})
                ops.append({"op": "add", "path": ctx.spec + pointer("nodeSelector", k2), "value": v2})
            else:
                ops.append({"op": "replace", "path": ctx.spec + pointer("nodeSelector", key), "value": v2})
            out.append(ctx.patch_fix(f"select `{k2}={v2}`, which {p.get('suggested_nodes', 'some')} node(s) carry, "
                                     f"instead of `{key}={want}`", ops))
    elif field == "nodeAffinity" and (new_key or new_value):
        for i, t in enumerate(edited.required_node_affinity or ()):
            for j, r in enumerate(t.match_expressions):
                if r.key != key:
                    continue
                base = ctx.spec + f"/affinity/nodeAffinity/requiredDuringSchedulingIgnoredDuringExecution/" \
                                  f"nodeSelectorTerms/{i}/matchExpressions/{j}"
                ops = []
                if new_key and new_key != key:
                    ops.append({"op": "replace", "path": base + "/key", "value": new_key})
                if new_value and want and want in r.values:
                    vals = [new_value if v == want else v for v in r.values]
                    ops.append({"op": "replace", "path": base + "/values", "value": vals})
                if ops:
                    out.append(ctx.patch_fix(f"correct the node affinity expression on `{key}` to what nodes carry",
                                             ops))
    # Labelling is for a label of the owner's own that no node carries yet; never overwrite a value a
    # node has (that is a typo in the selector, or another team's label), never a platform's label.
    label_nodes = [n for n in str(p.get("label_candidates", "")).split(", ") if n
                   and key not in getattr(ctx.snapshot.node_by_name.get(n), "labels", {key: ""})]
    if field == "nodeSelector" and want and label_nodes and not is_system_label(key) and p.get("key_absent"):
        for name in label_nodes[:3]:
            out.append(Fix(description=f"label node {name} `{key}={want}` (it passes every other filter)",
                           object=_node_object(name), patch_type="merge",
                           patch={"metadata": {"labels": {key: want}}},
                           command=f"kubectl label nodes {name} {key}={want}", apply="patch",
                           applied_by="cluster-admin", safe=not out))
    return out


def _uncordon(s: Signal, ctx: Context) -> list[Fix]:
    return [Fix(description=f"uncordon node {n} (if its maintenance is over)", object=_node_object(n),
                patch_type="merge", patch={"spec": {"unschedulable": False}}, command=f"kubectl uncordon {n}",
                apply="patch", applied_by="cluster-admin") for n in s.nodes[:5]]


def _resources(s: Signal, ctx: Context) -> list[Fix]:
    """Lower the request of the container that dominates it to what the roomiest target node has."""
    p = s.params
    if p.get("vpa"):
        return _vpa_cap(s, ctx)  # the template is not the origin: the VPA would raise it again
    res = str(p.get("resource", ""))
    fit = p.get("fit_amount")
    if not res or not isinstance(fit, int) or fit <= 0:
        return []
    edited = ctx.edited()
    pod_level = res in edited.pod_requests
    if pod_level:
        path = ctx.spec + pointer("resources", "requests", res)
        old = edited.pod_requests[res]
        return [ctx.patch_fix(f"lower the pod-level {res} request from {format_amount(res, old)} to "
                              f"{format_amount(res, fit)}", [{"op": "replace", "path": path,
                                                                "value": format_amount(res, fit)}])]
    containers = [(f"containers/{i}", c) for i, c in enumerate(edited.containers)]
    inits = [(f"initContainers/{i}", c) for i, c in enumerate(edited.init_containers)]
    src = str(p.get("dominant", ""))
    pick = next(((path, c) for path, c in inits + containers if c.name == src and res in c.requests), None)
    if pick is None:
        return []
    path, c = pick
    others = int(p.get("requested_amount", 0) or 0) - c.requests[res] if src and not path.startswith("init") else 0
    new = fit - max(others, 0)
    if new <= 0 or new >= c.requests[res]:
        return []
    value = format_amount(res, new)
    ops = [{"op": "replace", "path": ctx.spec + "/" + path + pointer("resources", "requests", res), "value": value}]
    limit = c.limits.get(res)
    if limit is not None and limit < new:
        ops.append({"op": "replace", "path": ctx.spec + "/" + path + pointer("resources", "limits", res),
                    "value": value})
    was = c.requests_text.get(res) or format_amount(res, c.requests[res])
    return [ctx.patch_fix(f"lower container {c.name}'s {res} request from {was} to {value}, which fits node "
                          f"{p.get('fit_node', '')}", ops)]


def _vpa_cap(s: Signal, ctx: Context) -> list[Fix]:
    """Cap the VerticalPodAutoscaler's recommendation for the container (diagnose/autoscaling.py)."""
    patch = s.params.get("vpa_patch")
    if not patch:
        return []
    name, ns = str(s.params["vpa"]), ctx.pod.namespace
    text = shlex.quote(json.dumps(patch, separators=(",", ":")))
    return [Fix(description=f"cap VerticalPodAutoscaler {name}'s {s.params.get('resource')} for container "
                            f"{s.params.get('vpa_container')} at {s.params.get('largest_allocatable')} (maxAllowed)",
                object={"apiVersion": "autoscaling.k8s.io/v1", "kind": "VerticalPodAutoscaler", "namespace": ns,
                        "name": name}, patch_type="merge", patch=patch,
                command=f"kubectl patch vpa {name} -n {ns} --type merge -p {text}", applied_by="owner")]


def _host_port(s: Signal, ctx: Context) -> list[Fix]:
    port = s.params.get("port")
    if s.params.get("rollout"):
        return _rollout_strategy(s, ctx)
    if ctx.edited().host_network or not isinstance(port, int):
        return []  # with hostNetwork every container port is a host port: nothing to drop
    ops = []
    for i, c in enumerate(ctx.edited().containers):
        for j, cp in enumerate(c.ports):
            if cp.host_port == port:
                ops.append({"op": "remove", "path": ctx.spec + f"/containers/{i}/ports/{j}/hostPort"})
    if not ops:
        return []
    return [ctx.patch_fix(f"drop hostPort {port} (reach the pod through a Service instead)", ops)]


def _rollout_strategy(s: Signal, ctx: Context) -> list[Fix]:
    """A rollout that blocks itself on its old revision's host port: let the old pod go first."""
    kind = ctx.owner.get("kind")
    if kind == "Deployment":
        path, value = "/spec/strategy", {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}}
    elif kind == "DaemonSet":
        path, value = "/spec/updateStrategy", {"type": "RollingUpdate",
                                               "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}}
    else:
        return []
    ops = [{"op": "add", "path": path, "value": value}]  # add replaces an existing member (RFC 6902)
    name, ns = ctx.owner["name"], ctx.owner["namespace"]
    text = shlex.quote(json.dumps(ops, separators=(",", ":")))
    return [Fix(description=f"roll {kind.lower()}/{name} out old-pod-first (maxSurge 0, maxUnavailable 1), so the "
                            "old revision frees its host port before the new pod needs it",
                object=dict(ctx.owner), patch_type="json", patch=ops,
                command=f"kubectl patch {kind.lower()} {name} -n {ns} --type json -p {text}",
                apply="patch", applied_by="owner")]


def _spread(s: Signal, ctx: Context) -> list[Fix]:
    key = s.params.get("topology_key")
    ops = [{"op": "replace", "path": ctx.spec + f"/topologySpreadConstraints/{i}/whenUnsatisfiable",
            "value": "ScheduleAnyway"}
           for i, c in enumerate(ctx.edited().topology_spread_constraints)
           if c.topology_key == key and c.when_unsatisfiable == "DoNotSchedule"]
    if not ops:
        return []
    return [ctx.patch_fix(f"make the spread over `{key}` a preference (whenUnsatisfiable: ScheduleAnyway)", ops)]


def _gates(s: Signal, ctx: Context) -> list[Fix]:
    gates = ctx.pod.scheduling_gates
    if not gates:
        return []
    # Gates are removed on the pod itself (the only change a pod's spec allows), by whoever owns them.
    name, ns = ctx.pod.name, ctx.pod.namespace
    ops = [{"op": "remove", "path": "/spec/schedulingGates"}]
    text = shlex.quote(json.dumps(ops, separators=(",", ":")))
    return [Fix(description="remove the scheduling gates once what they wait for is done (the controller that "
                            "added them usually does)",
                object={"apiVersion": "v1", "kind": "Pod", "namespace": ns, "name": name}, patch_type="json",
                patch=ops, command=f"kubectl patch pod {name} -n {ns} --type json -p {text}", apply="patch",
                applied_by="owner", safe=False)]


BUILDERS: dict[str, Builder] = {
    "taint-untolerated": _taint,
    "taint-effect-mismatch": _taint_mismatch,
    "control-plane-taint": _control_plane,
    "node-selector-mismatch": _selector_fix,
    "node-affinity-mismatch": _selector_fix,
    "deprecated-label": _selector_fix,
    "node-unschedulable": _uncordon,
    "insufficient-resources": _resources,
    "extended-resource-exhausted": _resources,
    "host-port-conflict": _host_port,
    "topology-spread": _spread,
    "scheduling-gated": _gates,
}


def fixes_for(signal: Signal, ctx: Context) -> tuple[Fix, ...]:
    """The structured fixes for one signal: safe ones first, the owner's before an admin's."""
    build = BUILDERS.get(signal.name)
    if build is None:
        return ()
    fixes = build(signal, ctx)
    order = {"owner": 0, "cluster-admin": 1, "autoscaler-config": 2}
    return tuple(sorted(fixes, key=lambda f: (not f.safe, order.get(f.applied_by, 3))))


def first_fix(fixes: Sequence[Fix]) -> Fix | None:
    """The fix a tool applies by default: the first safe one (never an unsafe one)."""
    return next((f for f in fixes if f.safe), None)


__all__ = ["BUILDERS", "Context", "first_fix", "fixes_for", "pointer"]
