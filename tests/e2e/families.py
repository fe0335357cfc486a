"""Scenario families for the differential test beyond the core filters (tests/e2e/differential.py).

Each family is one function `gen_<family>(seed) -> Scenario`, fully determined by the seed, that
fills `Scenario.objects` (created by the runner before the bound pods, in order, with
`status` written through the status subresource) and `Scenario.pending_pods`:

- volumes: StorageClasses (Immediate, WaitForFirstConsumer, no provisioner, allowedTopologies,
  in-tree aws-ebs and vsphere provisioners, a driver publishing storage capacity), PVs (local
  and zonal node affinity, zone labels, Block mode, volumeAttributesClassName, labels for claim
  selectors, pre-bound, Released, in-tree EBS, being deleted), PVCs (bound with and without
  bind-completed, unbound, Lost, being deleted, selected-node, selectors, Block, ReadWriteOncePod
  in use), generic ephemeral volumes (missing claim, a claim the pod does not own), inline EBS /
  GCE PD disks in use, CSINodes with limits (and nodes without), CSIDrivers with
  preventPodSchedulingIfMissing, CSIStorageCapacity, VolumeAttachments;
- preemption: PriorityClasses (one with preemptionPolicy Never), lower- and higher-priority pods
  on the nodes (held by a finalizer, so a preempted victim stays terminating and the preemptor
  stays nominated), PodDisruptionBudgets with disruptionsAllowed 0 or 1; some preemptors are
  kept, so later pods meet a nominated pod;
- resources: ephemeral-storage, hugepages-2Mi, an extended resource, RuntimeClass overhead, init
  containers and sidecars;
- dra: DeviceClasses (CEL selectors, an extended resource name), ResourceSlices written by the
  harness (attributes of every type, capacity, taints, shared counters, incomplete pools,
  node-selected and all-nodes slices), ResourceClaims allocated to bound pods, pending pods with
  claims (counts, All, CEL selectors on attributes and capacity, a selector that fails at run
  time, firstAvailable, tolerations, matchAttribute constraints, a missing class, a claim that
  does not exist, a template claim not created yet, a claim allocated on another node) and
  DRA-backed extended resources;
- features: nodes declaring (or not) RestartAllContainersOnContainerExits; pods that need it.

Names of cluster-scoped objects carry the scenario name, so nothing leaks into the next scenario.
"""

from __future__ import annotations

import random
from typing import Any

from .differential import (
    HOLD_FINALIZER,
    HOST,
    PAUSE,
    ZONE,
    Scenario,
    _container,
    _gen_node,
    _qty_cpu,
)

BETA_ZONE = "failure-domain.beta.kubernetes.io/zone"
FAMILIES = ("volumes", "preemption", "resources", "dra", "features")
# Held by this finalizer, a victim the scheduler preempts stays terminating (not HOLD_FINALIZER:
# the harness deletes pods created with that one at once).
VICTIM_FINALIZER = "podtriage.io/victim-hold"
PRIORITY_CLASSES = {"diff-low": 100, "diff-mid": 1000, "diff-high": 10000}
NEVER_CLASS = "diff-high-never"
RUNTIME_CLASS = "diff-rc"
KEEP_LABEL = "podtriage.io/keep-nominated"  # a preemptor the runner does not delete (stays nominated)


def _meta(name: str, ns: str | None = None, **extra: Any) -> dict[str, Any]:
    md: dict[str, Any] = {"name": name}
    if ns:
        md["namespace"] = ns
    md.update(extra)
    return md


def _pod(name: str, ns: str, spec: dict[str, Any], labels: dict[str, str] | None = None,
         finalizers: list[str] | None = None) -> dict[str, Any]:
    md = _meta(name, ns, labels=labels or {})
    if finalizers:
        md["finalizers"] = finalizers
    spec = {"terminationGracePeriodSeconds": 0, **spec}
    spec.setdefault("containers", [_container("main", {})])
    return {"apiVersion": "v1", "kind": "Pod", "metadata": md, "spec": spec}


def _nodes(r: random.Random, name: str, lo: int, hi: int) -> list[dict[str, Any]]:
    nodes = [_gen_node(r, f"{name}-n{i}") for i in range(r.randint(lo, hi))]
    last = nodes[-1]["status"]
    last["allocatable"]["pods"] = last["capacity"]["pods"] = "110"
    return nodes


def _calm(nodes: list[dict[str, Any]], r: random.Random, keep_taints: float = 0.2) -> None:
    """Fewer core-filter rejections, so the family's own plugin decides more often."""
    for n in nodes:
        if r.random() > keep_taints:
            n["spec"].pop("taints", None)
            n["spec"].pop("unschedulable", None)
            for c in n["status"]["conditions"]:
                if c["type"] == "Ready":
                    c.update(status="True", reason="KubeletReady", message="ready")
        n["status"]["allocatable"].update(cpu="8", memory="16Gi")
        n["status"]["capacity"].update(cpu="8", memory="16Gi")
        if n["status"]["allocatable"].get("pods") in ("1", "2"):
            n["status"]["allocatable"]["pods"] = n["status"]["capacity"]["pods"] = "10"


# ---------------------------------------------------------------------------------------------
# volumes


def gen_volumes(seed: int, pending: int = 6) -> Scenario:
    r = random.Random(seed * 7919 + 1)
    name, ns = f"v{seed}", f"diffv-{seed}"
    nodes = _nodes(r, name, 2, 6)
    _calm(nodes, r)
    for n in nodes:
        labels = n["metadata"]["labels"]
        if ZONE in labels and r.random() < 0.15:
            labels[BETA_ZONE] = labels.pop(ZONE)
    driver = f"{name}.csi.example.com"
    cap_driver = f"{name}-cap.csi.example.com"
    objs: list[dict[str, Any]] = []
    prevent = r.random() < 0.3
    objs.append({"apiVersion": "storage.k8s.io/v1", "kind": "CSIDriver", "metadata": _meta(driver),
                 "spec": {"attachRequired": True, "preventPodSchedulingIfMissing": prevent}})
    objs.append({"apiVersion": "storage.k8s.io/v1", "kind": "CSIDriver", "metadata": _meta(cap_driver),
                 "spec": {"attachRequired": False, "storageCapacity": True}})
    for n in nodes:
        if r.random() < 0.15:
            continue  # no CSINode: no limits, no migration, driver "not installed"
        drivers = []
        if r.random() < 0.8:
            d: dict[str, Any] = {"name": driver, "nodeID": n["metadata"]["name"], "topologyKeys": [ZONE]}
            if r.random() < 0.7:
                d["allocatable"] = {"count": r.choice((0, 1, 1, 2, 3))}
            drivers.append(d)
        if r.random() < 0.6:
            drivers.append({"name": "ebs.csi.aws.com", "nodeID": n["metadata"]["name"],
                            "allocatable": {"count": r.choice((1, 2, 3))}})
        objs.append({"apiVersion": "storage.k8s.io/v1", "kind": "CSINode", "metadata": _meta(n["metadata"]["name"]),
                     "spec": {"drivers": drivers}})
    zones = sorted({n["metadata"]["labels"].get(ZONE) or n["metadata"]["labels"].get(BETA_ZONE) or "zone-a"
                    for n in nodes})
    classes = {
        "imm": ("Immediate", driver, None),
        "wffc": ("WaitForFirstConsumer", driver, None),
        "topo": ("WaitForFirstConsumer", driver, r.choice(zones + ["zone-x"])),
        "local": ("WaitForFirstConsumer", "kubernetes.io/no-provisioner", None),
        "cap": ("WaitForFirstConsumer", cap_driver, None),
        "ebs": ("WaitForFirstConsumer", "kubernetes.io/aws-ebs", None),
        "vs": ("WaitForFirstConsumer", "kubernetes.io/vsphere-volume", None),
    }
    sc_name = {k: f"{name}-{k}" for k in classes}
    for k, (mode, prov, zone) in classes.items():
        sc: dict[str, Any] = {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
                              "metadata": _meta(sc_name[k]), "provisioner": prov, "volumeBindingMode": mode}
        if zone:
            sc["allowedTopologies"] = [{"matchLabelExpressions": [{"key": ZONE, "values": [zone]}]}]
        objs.append(sc)
    for z in zones:
        if r.random() < 0.7:
            cap: dict[str, Any] = {"apiVersion": "storage.k8s.io/v1", "kind": "CSIStorageCapacity",
                                   "metadata": _meta(f"cap-{z}", ns), "storageClassName": sc_name["cap"],
                                   "nodeTopology": {"matchLabels": {ZONE: z}},
                                   "capacity": r.choice(("1Gi", "5Gi", "50Gi"))}
            if r.random() < 0.3:
                cap["maximumVolumeSize"] = r.choice(("2Gi", "20Gi"))
            objs.append(cap)
    pvs: list[dict[str, Any]] = []
    pvcs: list[dict[str, Any]] = []

    def pv(pname: str, cls: str, size: str, **kw: Any) -> dict[str, Any]:
        spec: dict[str, Any] = {"capacity": {"storage": size}, "accessModes": kw.get("modes", ["ReadWriteOnce"]),
                                "storageClassName": cls, "persistentVolumeReclaimPolicy": "Retain"}
        if kw.get("ebs"):
            spec["awsElasticBlockStore"] = {"volumeID": kw["ebs"]}
        else:
            spec["csi"] = {"driver": kw.get("driver", driver), "volumeHandle": f"h-{pname}"}
        if kw.get("block"):
            spec["volumeMode"] = "Block"
        if kw.get("node"):
            spec["nodeAffinity"] = {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                {"key": HOST, "operator": "In", "values": [kw["node"]]}]}]}}
        elif kw.get("zone_affinity"):
            spec["nodeAffinity"] = {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                {"key": ZONE, "operator": "In", "values": [kw["zone_affinity"]]}]}]}}
        if kw.get("claim"):
            spec["claimRef"] = {"namespace": ns, "name": kw["claim"]}
        if kw.get("vac"):
            spec["volumeAttributesClassName"] = kw["vac"]
        md = _meta(pname, labels=kw.get("labels", {}))
        if kw.get("deleting"):
            md["finalizers"] = [HOLD_FINALIZER]
        obj = {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": md, "spec": spec,
               "status": {"phase": kw.get("phase", "Available")}}
        if kw.get("deleting"):
            obj["_delete"] = True
        pvs.append(obj)
        return obj

    def pvc(cname: str, cls: str | None, size: str, **kw: Any) -> dict[str, Any]:
        spec: dict[str, Any] = {"accessModes": kw.get("modes", ["ReadWriteOnce"]),
                                "resources": {"requests": {"storage": size}}}
        if cls is not None:
            spec["storageClassName"] = cls
        if kw.get("volume"):
            spec["volumeName"] = kw["volume"]
        if kw.get("block"):
            spec["volumeMode"] = "Block"
        if kw.get("selector"):
            spec["selector"] = {"matchLabels": kw["selector"]}
        if kw.get("vac"):
            spec["volumeAttributesClassName"] = kw["vac"]
        ann: dict[str, str] = {}
        if kw.get("bind_completed"):
            ann["pv.kubernetes.io/bind-completed"] = "yes"
        if kw.get("selected_node"):
            ann["volume.kubernetes.io/selected-node"] = kw["selected_node"]
        md = _meta(cname, ns, annotations=ann)
        if kw.get("owner"):
            md["ownerReferences"] = [kw["owner"]]
        if kw.get("deleting"):
            md["finalizers"] = [HOLD_FINALIZER]
        obj: dict[str, Any] = {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": md, "spec": spec,
                               "status": {"phase": kw.get("phase", "Pending")}}
        if kw.get("deleting"):
            obj["_delete"] = True
        pvcs.append(obj)
        return obj

    node_names = [n["metadata"]["name"] for n in nodes]
    claim_kinds: list[str] = []
    for i in range(r.randint(4, 9)):
        kind = r.choice(("bound-local", "bound-zonal", "bound-nozone", "wffc", "wffc-local", "wffc-sel",
                         "imm", "prebound", "lost", "deleting", "bound-missing-pv", "cap", "ebs-pv", "ebs-sc",
                         "vs", "topo", "selected", "block", "rwop", "noclass", "vac"))
        c = f"c{i}"
        size = r.choice(("1Gi", "3Gi", "10Gi"))
        if kind == "bound-local":
            node = r.choice(node_names + ["gone-node"])
            pv(f"{name}-pv{i}", sc_name["local"], size, node=node, claim=c, phase="Bound")
            pvc(c, sc_name["local"], size, volume=f"{name}-pv{i}", bind_completed=True, phase="Bound")
        elif kind in ("bound-zonal", "bound-nozone"):
            z = r.choice(zones + ["zone-x", "zone-a__zone-b"])
            labels = {r.choice((ZONE, BETA_ZONE)): z} if kind == "bound-zonal" else {}
            pv(f"{name}-pv{i}", sc_name["wffc"], size, labels=labels, claim=c, phase="Bound",
               zone_affinity=z if r.random() < 0.3 and "__" not in z else None)
            pvc(c, sc_name["wffc"], size, volume=f"{name}-pv{i}", bind_completed=r.random() < 0.9, phase="Bound")
        elif kind == "bound-missing-pv":
            pvc(c, sc_name["wffc"], size, volume=f"{name}-gone{i}", bind_completed=True, phase="Bound")
        elif kind in ("wffc", "wffc-local", "wffc-sel", "block", "vac"):
            cls = sc_name["local" if kind in ("wffc-local", "wffc-sel") else "wffc"]
            for j in range(r.choice((0, 1, 2))):
                pv(f"{name}-pv{i}-{j}", cls, r.choice(("1Gi", "5Gi", "20Gi")),
                   node=r.choice(node_names) if r.random() < 0.7 else None,
                   labels={"tier": r.choice(("gold", "silver"))}, block=kind == "block" and r.random() < 0.5,
                   modes=r.choice((["ReadWriteOnce"], ["ReadWriteMany"], ["ReadWriteOnce", "ReadOnlyMany"])),
                   vac=r.choice((None, f"{name}-vac")) if kind == "vac" else None,
                   phase=r.choice(("Available", "Available", "Released")), deleting=r.random() < 0.05)
            pvc(c, cls, size, selector={"tier": "gold"} if kind == "wffc-sel" else None,
                block=kind == "block", vac=f"{name}-vac" if kind == "vac" and r.random() < 0.6 else None,
                modes=r.choice((["ReadWriteOnce"], ["ReadWriteMany"])))
        elif kind == "imm":
            pvc(c, sc_name["imm"], size)
        elif kind == "noclass":
            pvc(c, r.choice(("", f"{name}-nosuchclass")), size)
        elif kind == "prebound":
            pv(f"{name}-pv{i}", sc_name["local"], size, node=r.choice(node_names), claim=c)
            pvc(c, sc_name["local"], size, volume=f"{name}-pv{i}", phase="Pending")
        elif kind == "lost":
            pvc(c, sc_name["wffc"], size, volume=f"{name}-gone{i}", phase="Lost", bind_completed=True)
        elif kind == "deleting":
            pvc(c, sc_name["wffc"], size, deleting=True)
        elif kind == "cap":
            pvc(c, sc_name["cap"], size)
        elif kind == "ebs-pv":
            pv(f"{name}-pv{i}", "", size, ebs=f"vol-{name}{i}", claim=c, phase="Bound")
            pvc(c, "", size, volume=f"{name}-pv{i}", bind_completed=True, phase="Bound")
        elif kind == "ebs-sc":
            pvc(c, sc_name["ebs"], size)
        elif kind == "vs":
            pvc(c, sc_name["vs"], size)
        elif kind == "topo":
            pvc(c, sc_name["topo"], size)
        elif kind == "selected":
            pvc(c, sc_name["wffc"], size, selected_node=r.choice(node_names))
        elif kind == "rwop":
            pvc(c, sc_name["wffc"], size, modes=["ReadWriteOncePod"])
        claim_kinds.append(c)
    objs += pvs + pvcs
    bound: list[dict[str, Any]] = []
    for j, n in enumerate(node_names):
        for k in range(r.choice((0, 1, 2))):
            vols: list[dict[str, Any]] = []
            if claim_kinds and r.random() < 0.6:
                vols.append({"name": "d", "persistentVolumeClaim": {"claimName": r.choice(claim_kinds)}})
            if r.random() < 0.2:
                vols.append({"name": "ebs", "awsElasticBlockStore": {"volumeID": f"vol-inline{r.randint(0, 2)}"}})
            if r.random() < 0.15:
                vols.append({"name": "pd", "gcePersistentDisk": {"pdName": f"pd{r.randint(0, 1)}",
                                                                "readOnly": r.random() < 0.5}})
            spec: dict[str, Any] = {"nodeName": n, "tolerations": [{"operator": "Exists"}]}
            if vols:
                spec["volumes"] = vols
            bound.append(_pod(f"{n}-b{k}", ns, spec))
    # VolumeAttachments of bound CSI PVs to nodes
    for p in pvs:
        if "csi" in p["spec"] and r.random() < 0.3:
            objs.append({"apiVersion": "storage.k8s.io/v1", "kind": "VolumeAttachment",
                         "metadata": _meta(f"va-{p['metadata']['name']}"),
                         "spec": {"attacher": p["spec"]["csi"]["driver"], "nodeName": r.choice(node_names),
                                  "source": {"persistentVolumeName": p["metadata"]["name"]}}})
    pend: list[dict[str, Any]] = []
    for i in range(pending):
        vols = []
        for v in range(r.choice((1, 1, 2, 3))):
            x = r.random()
            if x < 0.7 and claim_kinds:
                vols.append({"name": f"v{v}", "persistentVolumeClaim": {"claimName": r.choice(claim_kinds)}})
            elif x < 0.78:
                vols.append({"name": f"v{v}", "persistentVolumeClaim": {"claimName": "missing"}})
            elif x < 0.86:
                vols.append({"name": f"v{v}", "ephemeral": {"volumeClaimTemplate": {"spec": {
                    "accessModes": ["ReadWriteOnce"], "storageClassName": sc_name["wffc"],
                    "resources": {"requests": {"storage": "1Gi"}}}}}})
            elif x < 0.93:
                vols.append({"name": f"v{v}", "awsElasticBlockStore": {"volumeID": f"vol-inline{r.randint(0, 2)}"}})
            else:
                vols.append({"name": f"v{v}", "gcePersistentDisk": {"pdName": f"pd{r.randint(0, 1)}",
                                                                    "readOnly": r.random() < 0.5}})
        pod_name = f"p{i}"
        for v in vols:
            if "ephemeral" in v and r.random() < 0.5:
                # a claim of the ephemeral name that the pod does not own
                pvc(f"{pod_name}-{v['name']}", sc_name["wffc"], "1Gi")
                objs.append(pvcs[-1])
        spec = {"volumes": vols, "containers": [_container("main", {"requests": {"cpu": "100m"}})]}
        if r.random() < 0.2:
            spec["nodeSelector"] = {HOST: r.choice(node_names)}
        pend.append(_pod(pod_name, ns, spec, labels={"app": "vol"}))
    return Scenario(seed=seed, name=name, namespace=ns, other_namespace=None, nodes=nodes, bound_pods=bound,
                    pending_pods=pend, family="volumes", objects=objs)


# ---------------------------------------------------------------------------------------------
# preemption


def priority_classes() -> list[dict[str, Any]]:
    out = [{"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass", "metadata": _meta(k), "value": v}
           for k, v in PRIORITY_CLASSES.items()]
    out.append({"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass", "metadata": _meta(NEVER_CLASS),
                "value": 10000, "preemptionPolicy": "Never"})
    return out


def gen_preemption(seed: int, pending: int = 6) -> Scenario:
    r = random.Random(seed * 7919 + 2)
    name, ns = f"q{seed}", f"diffq-{seed}"
    nodes = _nodes(r, name, 2, 5)
    _calm(nodes, r, keep_taints=0.3)
    for n in nodes:
        cpu = r.choice(("1", "2", "2", "4"))
        n["status"]["allocatable"]["cpu"] = n["status"]["capacity"]["cpu"] = cpu
        if r.random() < 0.2:
            n["status"]["allocatable"]["pods"] = n["status"]["capacity"]["pods"] = str(r.choice((1, 2, 3)))
    nodes[-1]["status"]["allocatable"]["pods"] = nodes[-1]["status"]["capacity"]["pods"] = "110"
    bound = []
    for n in nodes:
        for k in range(r.choice((1, 1, 2, 3))):
            pc = r.choice((None, "diff-low", "diff-low", "diff-mid", "diff-high"))
            spec: dict[str, Any] = {"nodeName": n["metadata"]["name"], "tolerations": [{"operator": "Exists"}],
                                    "containers": [_container("main", {"requests": {
                                        "cpu": _qty_cpu(r.choice((200, 500, 800, 1000, 1500)))}})]}
            if pc:
                spec["priorityClassName"] = pc
            if r.random() < 0.1:
                spec["containers"][0]["ports"] = [{"containerPort": 80, "hostPort": 8080}]
            bound.append(_pod(f"{n['metadata']['name']}-b{k}", ns, spec,
                              labels={"app": r.choice(("db", "web", "batch"))}, finalizers=[VICTIM_FINALIZER]))
    objs: list[dict[str, Any]] = []
    for app in ("db", "web", "batch"):
        if r.random() < 0.5:
            objs.append({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": _meta(f"pdb-{app}", ns),
                         "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": app}}},
                         "status": {"disruptionsAllowed": r.choice((0, 0, 1)), "currentHealthy": 1,
                                    "desiredHealthy": 1, "expectedPods": 1, "observedGeneration": 1}})
    pend = []
    node_names = [n["metadata"]["name"] for n in nodes]
    for i in range(pending):
        spec = {"containers": [_container("main", {"requests": {
            "cpu": _qty_cpu(r.choice((300, 700, 1000, 1500, 2500, 5000)))}})]}
        pc = r.choice((None, "diff-low", "diff-mid", "diff-high", "diff-high", NEVER_CLASS))
        if pc:
            spec["priorityClassName"] = pc
        if r.random() < 0.25:
            spec["nodeSelector"] = {HOST: r.choice(node_names)}
        if r.random() < 0.1:
            spec["containers"][0]["ports"] = [{"containerPort": 80, "hostPort": 8080}]
        if r.random() < 0.1:
            spec["tolerations"] = [{"operator": "Exists"}]
        labels = {"app": "pending"}
        if r.random() < 0.3:
            labels[KEEP_LABEL] = "1"
        pend.append(_pod(f"p{i}", ns, spec, labels=labels))
    return Scenario(seed=seed, name=name, namespace=ns, other_namespace=None, nodes=nodes, bound_pods=bound,
                    pending_pods=pend, family="preemption", objects=objs)


# ---------------------------------------------------------------------------------------------
# resources


def runtime_class() -> dict[str, Any]:
    return {"apiVersion": "node.k8s.io/v1", "kind": "RuntimeClass", "metadata": _meta(RUNTIME_CLASS),
            "handler": "runc", "overhead": {"podFixed": {"cpu": "250m", "memory": "128Mi"}}}


def gen_resources(seed: int, pending: int = 6) -> Scenario:
    r = random.Random(seed * 7919 + 3)
    name, ns = f"r{seed}", f"diffr-{seed}"
    nodes = _nodes(r, name, 2, 6)
    _calm(nodes, r, keep_taints=0.3)
    for n in nodes:
        alloc = n["status"]["allocatable"]
        alloc["cpu"] = r.choice(("1", "2", "4"))
        alloc["memory"] = r.choice(("1Gi", "2Gi", "4Gi"))
        alloc["ephemeral-storage"] = r.choice(("1Gi", "10Gi", "50Gi"))
        if r.random() < 0.5:
            alloc["hugepages-2Mi"] = r.choice(("0", "64Mi", "256Mi"))
        if r.random() < 0.5:
            alloc["example.com/foo"] = str(r.choice((0, 1, 2, 4)))
        n["status"]["capacity"] = dict(alloc)
    bound = []
    for n in nodes:
        for k in range(r.choice((0, 1, 2))):
            req = {"cpu": _qty_cpu(r.choice((100, 500, 1000))), "ephemeral-storage": r.choice(("100Mi", "2Gi"))}
            if "hugepages-2Mi" in n["status"]["allocatable"] and r.random() < 0.4:
                req["hugepages-2Mi"] = "64Mi"
                req["memory"] = "64Mi"
            lim = {k2: v for k2, v in req.items() if k2 == "hugepages-2Mi"}
            if "example.com/foo" in n["status"]["allocatable"] and r.random() < 0.4:
                req["example.com/foo"] = lim["example.com/foo"] = "1"
            res = {"requests": req}
            if lim:
                res["limits"] = lim
            bound.append(_pod(f"{n['metadata']['name']}-b{k}", ns, {
                "nodeName": n["metadata"]["name"], "tolerations": [{"operator": "Exists"}],
                "containers": [_container("main", res)]}))
    pend = []
    for i in range(pending):
        req: dict[str, str] = {}
        lim: dict[str, str] = {}
        if r.random() < 0.7:
            req["cpu"] = _qty_cpu(r.choice((100, 500, 1000, 1500, 3000)))
        if r.random() < 0.5:
            req["memory"] = r.choice(("64Mi", "512Mi", "1Gi", "3Gi"))
        if r.random() < 0.5:
            req["ephemeral-storage"] = r.choice(("500Mi", "5Gi", "20Gi", "60Gi"))
        if r.random() < 0.3:
            req["hugepages-2Mi"] = lim["hugepages-2Mi"] = r.choice(("64Mi", "128Mi", "512Mi"))
            req.setdefault("memory", "64Mi")
        if r.random() < 0.3:
            req["example.com/foo"] = lim["example.com/foo"] = str(r.choice((1, 2, 3)))
        res: dict[str, Any] = {"requests": req} if req else {}
        if lim:
            res["limits"] = lim
        spec: dict[str, Any] = {"containers": [_container("main", res)]}
        if r.random() < 0.3:
            spec["initContainers"] = [_container("init", {"requests": {
                "cpu": _qty_cpu(r.choice((500, 2000, 5000))),
                "ephemeral-storage": r.choice(("1Gi", "30Gi"))}},
                restart_policy="Always" if r.random() < 0.3 else None)]
        if r.random() < 0.3:
            spec["runtimeClassName"] = RUNTIME_CLASS
        pend.append(_pod(f"p{i}", ns, spec))
    return Scenario(seed=seed, name=name, namespace=ns, other_namespace=None, nodes=nodes, bound_pods=bound,
                    pending_pods=pend, family="resources", objects=[])


# ---------------------------------------------------------------------------------------------
# dra


def gen_dra(seed: int, pending: int = 6) -> Scenario:
    r = random.Random(seed * 7919 + 4)
    name, ns = f"g{seed}", f"diffg-{seed}"
    nodes = _nodes(r, name, 2, 5)
    _calm(nodes, r, keep_taints=0.15)
    driver = "gpu.example.com"
    node_names = [n["metadata"]["name"] for n in nodes]
    cls_gpu, cls_big, cls_ext = f"{name}-gpu", f"{name}-big", f"{name}-ext"
    ext_name = f"example.com/{name}-gpu"
    objs: list[dict[str, Any]] = [
        {"apiVersion": "resource.k8s.io/v1", "kind": "DeviceClass", "metadata": _meta(cls_gpu),
         "spec": {"selectors": [{"cel": {"expression": f'device.driver == "{driver}"'}}]}},
        {"apiVersion": "resource.k8s.io/v1", "kind": "DeviceClass", "metadata": _meta(cls_big),
         "spec": {"selectors": [{"cel": {"expression": f'device.driver == "{driver}" && '
                                                      f'device.capacity["{driver}"].memory.compareTo('
                                                      'quantity("40Gi")) >= 0'}}]}},
        {"apiVersion": "resource.k8s.io/v1", "kind": "DeviceClass", "metadata": _meta(cls_ext),
         "spec": {"selectors": [{"cel": {"expression": f'device.driver == "{driver}"'}}],
                  "extendedResourceName": ext_name}},
    ]
    devices_by_node: dict[str, list[str]] = {}
    for n in node_names:
        if r.random() < 0.25:
            continue
        pool = f"{name}-{n}"
        devs = []
        counters = r.random() < 0.2
        for d in range(r.choice((1, 2, 2, 3, 4))):
            dev: dict[str, Any] = {"name": f"gpu-{d}", "attributes": {
                "model": {"string": r.choice(("a100", "h100", "l4"))}, "index": {"int": d},
                "healthy": {"bool": r.random() < 0.9}, "driverVersion": {"version": r.choice(("1.2.3", "2.0.0"))}},
                "capacity": {"memory": {"value": r.choice(("16Gi", "40Gi", "80Gi"))}}}
            if r.random() < 0.12:
                dev["taints"] = [{"key": "example.com/unhealthy", "value": "yes",
                                  "effect": r.choice(("NoSchedule", "NoExecute", "None"))}]
            if counters:
                dev["consumesCounters"] = [{"counterSet": "mem", "counters": {"memory": {"value": "40Gi"}}}]
            devs.append(dev)
        devices_by_node[n] = [d["name"] for d in devs]
        incomplete = r.random() < 0.08
        spec: dict[str, Any] = {"driver": driver, "nodeName": n,
                                "pool": {"name": pool, "generation": 1, "resourceSliceCount": 2 if incomplete else 1},
                                "devices": devs}
        if counters:
            objs.append({"apiVersion": "resource.k8s.io/v1", "kind": "ResourceSlice", "metadata": _meta(f"{pool}-c"),
                         "spec": {"driver": driver, "nodeName": n,
                                  "pool": {"name": pool, "generation": 1, "resourceSliceCount": 2},
                                  "sharedCounters": [{"name": "mem", "counters": {"memory": {"value": "80Gi"}}}]}})
            spec["pool"]["resourceSliceCount"] = 2
        objs.append({"apiVersion": "resource.k8s.io/v1", "kind": "ResourceSlice", "metadata": _meta(pool),
                     "spec": spec})
    if r.random() < 0.3:
        # a node-independent pool reachable from some nodes (by label) or from all
        sel_spec: dict[str, Any] = {"allNodes": True} if r.random() < 0.4 else {
            "nodeSelector": {"nodeSelectorTerms": [{"matchExpressions": [
                {"key": ZONE, "operator": "In", "values": ["zone-a"]}]}]}}
        objs.append({"apiVersion": "resource.k8s.io/v1", "kind": "ResourceSlice", "metadata": _meta(f"{name}-net"),
                     "spec": {"driver": driver, "pool": {"name": f"{name}-net", "generation": 1,
                                                         "resourceSliceCount": 1},
                              "devices": [{"name": "shared-0", "attributes": {"model": {"string": "a100"}},
                                           "capacity": {"memory": {"value": "40Gi"}}}], **sel_spec}})

    def claim(cname: str, requests: list[dict[str, Any]], constraints: list[dict[str, Any]] | None = None,
              allocation: dict[str, Any] | None = None) -> dict[str, Any]:
        devices: dict[str, Any] = {"requests": requests}
        if constraints:
            devices["constraints"] = constraints
        obj: dict[str, Any] = {"apiVersion": "resource.k8s.io/v1", "kind": "ResourceClaim",
                               "metadata": _meta(cname, ns), "spec": {"devices": devices}}
        if allocation is not None:
            obj["status"] = allocation
        return obj

    def req(rname: str, cls: str, **kw: Any) -> dict[str, Any]:
        ex: dict[str, Any] = {"deviceClassName": cls}
        if kw.get("all"):
            ex["allocationMode"] = "All"
        elif kw.get("count"):
            ex["count"] = kw["count"]
        if kw.get("cel"):
            ex["selectors"] = [{"cel": {"expression": kw["cel"]}}]
        if kw.get("tolerate"):
            ex["tolerations"] = [{"key": "example.com/unhealthy", "operator": "Exists"}]
        return {"name": rname, "exactly": ex}

    bound: list[dict[str, Any]] = []
    # claims allocated to bound pods: those devices are taken
    k = 0
    for n, devs in devices_by_node.items():
        for d in devs:
            if r.random() < 0.3:
                cname = f"held-{k}"
                pod_name = f"{n}-h{k}"
                k += 1
                bound.append(_pod(pod_name, ns, {"nodeName": n, "tolerations": [{"operator": "Exists"}],
                                                "resourceClaims": [{"name": "g", "resourceClaimName": cname}]}))
                alloc = {"allocation": {"devices": {"results": [{"request": "g", "driver": driver,
                                                                 "pool": f"{name}-{n}", "device": d}]},
                                        "nodeSelector": {"nodeSelectorTerms": [{"matchFields": [
                                            {"key": "metadata.name", "operator": "In", "values": [n]}]}]}},
                         "reservedFor": [{"resource": "pods", "name": pod_name, "uid": "<uid>"}]}
                objs.append(claim(cname, [req("g", cls_gpu)], allocation=alloc))
    celx = [
        None, None,
        f'device.attributes["{driver}"].model == "h100"',
        f'device.attributes["{driver}"].model == "a100" && device.attributes["{driver}"].healthy',
        f'device.capacity["{driver}"].memory.compareTo(quantity("64Gi")) >= 0',
        f'device.attributes["{driver}"].driverVersion.isGreaterThan(semver("1.5.0"))',
        f'device.attributes["{driver}"].index >= 1',
        f'device.attributes["{driver}"].missing == "x"',  # a CEL runtime error on any device
        f'has(device.attributes["{driver}"].missing) || device.attributes["{driver}"].index == 0',
        'device.attributes["other.example.com"].model == "x"',  # an empty domain: runtime error
    ]
    pend = []
    for i in range(pending):
        x = r.random()
        spec: dict[str, Any] = {"containers": [_container("main", {"requests": {"cpu": "100m"}})]}
        cname = f"p{i}-claim"
        if x < 0.08:
            spec["resourceClaims"] = [{"name": "g", "resourceClaimName": "does-not-exist"}]
        elif x < 0.13:
            spec["resourceClaims"] = [{"name": "g", "resourceClaimTemplateName": f"{name}-tmpl"}]
        elif x < 0.25:
            res = {"requests": {ext_name: str(r.choice((1, 2, 3)))}, "limits": {}}
            res["limits"][ext_name] = res["requests"][ext_name]
            spec["containers"] = [_container("main", res)]
        else:
            reqs = []
            for q in range(r.choice((1, 1, 1, 2))):
                y = r.random()
                cls = r.choice((cls_gpu, cls_gpu, cls_big)) if r.random() > 0.05 else f"{name}-nosuchclass"
                if y < 0.15:
                    reqs.append({"name": f"r{q}", "firstAvailable": [
                        {"name": "big", "deviceClassName": cls, "count": r.choice((1, 2)),
                         "selectors": [{"cel": {"expression": f'device.attributes["{driver}"].model == "h100"'}}]},
                        {"name": "any", "deviceClassName": cls_gpu, "count": 1}]})
                else:
                    reqs.append(req(f"r{q}", cls, all=y < 0.25, count=r.choice((1, 1, 2, 3)),
                                    cel=r.choice(celx), tolerate=r.random() < 0.2))
            constraints = None
            if len(reqs) > 1 and r.random() < 0.4:
                constraints = [{"matchAttribute": f"{driver}/model"}]
            objs.append(claim(cname, reqs, constraints))
            spec["resourceClaims"] = [{"name": "g", "resourceClaimName": cname}]
        if r.random() < 0.15:
            spec["nodeSelector"] = {HOST: r.choice(node_names)}
        pend.append(_pod(f"p{i}", ns, spec, labels={"app": "dra"}))
    # a claim allocated on one node and reserved by nobody that a pending pod shares
    if devices_by_node and r.random() < 0.4:
        n = r.choice(sorted(devices_by_node))
        objs.append(claim("shared", [req("g", cls_gpu)], allocation={"allocation": {
            "devices": {"results": [{"request": "g", "driver": driver, "pool": f"{name}-{n}",
                                     "device": devices_by_node[n][0]}]},
            "nodeSelector": {"nodeSelectorTerms": [{"matchFields": [
                {"key": "metadata.name", "operator": "In", "values": [n]}]}]}}}))
        pend[-1]["spec"]["resourceClaims"] = [{"name": "g", "resourceClaimName": "shared"}]
    return Scenario(seed=seed, name=name, namespace=ns, other_namespace=None, nodes=nodes, bound_pods=bound,
                    pending_pods=pend, family="dra", objects=objs)


# ---------------------------------------------------------------------------------------------
# node-declared features


def gen_features(seed: int, pending: int = 6) -> Scenario:
    r = random.Random(seed * 7919 + 5)
    name, ns = f"f{seed}", f"difff-{seed}"
    nodes = _nodes(r, name, 2, 6)
    _calm(nodes, r, keep_taints=0.4)
    for n in nodes:
        feats = []
        if r.random() < 0.5:
            feats.append("RestartAllContainersOnContainerExits")
        if r.random() < 0.3:
            feats.append("SomeFutureFeature")
        if feats:
            n["status"]["declaredFeatures"] = feats
    node_names = [n["metadata"]["name"] for n in nodes]
    pend = []
    for i in range(pending):
        c = _container("main", {"requests": {"cpu": _qty_cpu(r.choice((100, 1000, 9000)))}})
        spec: dict[str, Any] = {"containers": [c]}
        if r.random() < 0.7:
            spec["restartPolicy"] = "Never"
            c["restartPolicy"] = "Never"
            c["restartPolicyRules"] = [{"action": "RestartAllContainers",
                                        "exitCodes": {"operator": "In", "values": [42]}}]
        if r.random() < 0.25:
            spec["nodeSelector"] = {HOST: r.choice(node_names)}
        if r.random() < 0.3:
            spec["tolerations"] = [{"operator": "Exists"}]
        pend.append(_pod(f"p{i}", ns, spec))
    return Scenario(seed=seed, name=name, namespace=ns, other_namespace=None, nodes=nodes, bound_pods=[],
                    pending_pods=pend, family="features", objects=[])


GENERATORS = {"volumes": gen_volumes, "preemption": gen_preemption, "resources": gen_resources, "dra": gen_dra,
              "features": gen_features}


def generate_family(family: str, seed: int, pending: int = 6) -> Scenario:
    return GENERATORS[family](seed, pending)


__all__ = ["FAMILIES", "GENERATORS", "KEEP_LABEL", "PAUSE", "generate_family", "priority_classes", "runtime_class"]
