"""Reports built directly from findings dataclasses, shared by the renderer tests."""

from __future__ import annotations

from podtriage import SCHEMA_VERSION, __version__
from podtriage.findings import EvidenceItem, PodReport, Report, RootCause, VerdictGroup

TAINT_MSG = "28 node(s) carry taint `dedicated=gpu:NoSchedule` that the pod does not tolerate"
TAINT_FIX_CMD = (
    "kubectl patch statefulset web -n default --type=json -p '[{\"op\":\"add\","
    "\"path\":\"/spec/template/spec/tolerations/-\",\"value\":{\"key\":\"dedicated\","
    "\"operator\":\"Equal\",\"value\":\"gpu\",\"effect\":\"NoSchedule\"}}]'"
)
SCHED_MSG = ("0/30 nodes are available: 2 Insufficient cpu, 28 node(s) had untolerated taint "
             "{dedicated: gpu}. preemption: 0/30 nodes are available: 30 Preemption is not helpful "
             "for scheduling.")


def _event(pod: str = "web-0") -> EvidenceItem:
    return EvidenceItem(
        kind="event", summary=SCHED_MSG,
        source=f"Event default/{pod}.17a2f3c4d5e6 (uid 5c1e9a2b-0f4d-4b1e-9c7a-2d3e4f5a6b7c)",
        data={"reason": "FailedScheduling", "count": 14}, time="2024-05-02T10:41:07Z",
    )


def taint_cause(pods: tuple[str, ...] = ()) -> RootCause:
    return RootCause(
        rule="PT-TAINT-001", category="taint-untolerated", severity="high",
        title="Untolerated taint", message=TAINT_MSG,
        fix="Add a toleration for `dedicated=gpu:NoSchedule` to the pod template, or run it on nodes "
            "without that taint.",
        fix_command=TAINT_FIX_CMD,
        evidence=(
            _event(),
            EvidenceItem(kind="node-verdict",
                         summary="TaintToleration: untolerated taint dedicated=gpu:NoSchedule",
                         source="Node gpu-a-01",
                         data={"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}),
        ),
        confidence=0.9, subject="Node/gpu-a-01", nodes=tuple(f"gpu-a-{i:02d}" for i in range(1, 29)),
        score=28.0, references=("https://kubernetes.io/docs/concepts/scheduling-eviction/taint-and-toleration/",),
        pods=pods, signal="taint-untolerated",
    )


def cpu_cause(pods: tuple[str, ...] = ()) -> RootCause:
    return RootCause(
        rule="PT-RES-001", category="insufficient-resources", severity="medium",
        title="Insufficient CPU", message="2 node(s) have 350m cpu free; the pod requests `cpu: 2`",
        fix="Lower the pod's cpu request or add capacity to the untainted pool.",
        evidence=(), confidence=0.8, subject="Node/worker-1", nodes=("worker-1", "worker-2"),
        score=2.0, pods=pods, signal="insufficient-resources",
    )


def taint_groups() -> tuple[VerdictGroup, ...]:
    return (
        VerdictGroup(plugin="TaintToleration", code="taint",
                     reason="node(s) had untolerated taint {dedicated: gpu}", count=28,
                     examples=("gpu-a-01", "gpu-a-02", "gpu-a-03"),
                     message="node gpu-a-01 has taint `dedicated=gpu:NoSchedule`, not tolerated",
                     detail={"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}),
        VerdictGroup(plugin="NodeResourcesFit", code="insufficient", reason="Insufficient cpu", count=2,
                     examples=("worker-1", "worker-2"),
                     message="cpu: requested 2, free 350m of 4 allocatable",
                     detail={"resource": "cpu", "requested": 2000, "free": 350}),
    )


def scheduler_view(pod: str = "web-0") -> dict:
    return {
        "attempts": [{"firstSeen": "2024-05-02T08:12:40Z", "lastSeen": "2024-05-02T10:41:07Z", "count": 14,
                      "message": SCHED_MSG, "source": f"Event default/{pod}.17a2f3c4d5e6"}],
        "message": SCHED_MSG,
        "comparison": [{"code": "taint", "scheduler": 28, "ours": 26,
                        "note": "cluster changed since the event"}],
        "condition": {"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                      "message": SCHED_MSG, "lastTransitionTime": "2024-05-02T08:12:40Z"},
    }


def _source() -> dict:
    return {"kind": "file", "path": "fixtures/clusters/gpu-taint.yaml",
            "snapshotTime": "2024-05-02T10:45:00Z"}


def blocked_pod_report() -> Report:
    """A pod blocked by a taint on 28 nodes and by cpu on 2: two node groups, two causes."""
    causes = (taint_cause(), cpu_cause())
    pod = PodReport(
        namespace="default", name="web-0", phase="Pending", status="Pending", node="", age="2h",
        blocked=True, root_causes=causes, node_groups=taint_groups(), total_nodes=30,
        scheduler=scheduler_view(),
    )
    return Report(
        schema_version=SCHEMA_VERSION, podtriage_version=__version__, generated="2024-05-02T10:45:03Z",
        source=_source(), target={"kind": "Pod", "namespace": "default", "name": "web-0"}, blocked=True,
        root_causes=causes, pods=(pod,),
        graph={"directed": True, "multigraph": False, "graph": {},
               "nodes": [{"id": "pod:default/web-0"}, {"id": "rc:PT-TAINT-001"}],
               "edges": [{"source": "rc:PT-TAINT-001", "target": "pod:default/web-0"}]},
    )


def missing_evidence_report() -> Report:
    """Nodes could not be listed: no per-node verdicts, lowered confidence, a label value with brackets."""
    cause = RootCause(
        rule="PT-SEL-001", category="node-selector-mismatch", severity="high",
        title="Node selector matches no node",
        message="nodeSelector `pool=[blue]` matches no node in the snapshot",
        fix="Fix the pod's nodeSelector.",
        fix_command="kubectl label node worker-3 'pool=[blue]'",
        evidence=(EvidenceItem(kind="missing", summary="nodes: forbidden", source="RBAC list nodes"),),
        confidence=0.6, subject="Pod/default/api-7c9d-xk2", signal="node-selector-mismatch",
    )
    pod = PodReport(
        namespace="default", name="api-7c9d-xk2", phase="Pending", status="Pending", node="", age="5m",
        blocked=True, root_causes=(cause,), total_nodes=None,
        missing=("no permission to list nodes: per-node verdicts unavailable",), confidence=0.6,
    )
    return Report(
        schema_version=SCHEMA_VERSION, podtriage_version=__version__, generated="2024-05-02T10:45:03Z",
        source={"kind": "live", "context": "prod-eu", "server": "https://10.0.0.1:6443",
                "snapshotTime": "2024-05-02T10:45:00Z"},
        target={"kind": "Pod", "namespace": "default", "name": "api-7c9d-xk2"}, blocked=True,
        root_causes=(cause,), pods=(pod,),
        missing=("no permission to list nodes: per-node verdicts unavailable",),
        warnings=("events older than 1h were not available",), confidence=0.6,
    )


def workload_report() -> Report:
    """A Deployment with 3 replicas: 2 pods pending on the taint, one running."""
    pods = ("default/web-5d8f-abcde", "default/web-5d8f-fghij")
    agg = (taint_cause(pods=pods),)
    pod_reports = tuple(
        PodReport(namespace="default", name=k.split("/")[1], phase="Pending", status="Pending", node="",
                  age="2h", blocked=True, root_causes=(taint_cause(),), node_groups=taint_groups(),
                  total_nodes=30, scheduler=scheduler_view(k.split("/")[1]))
        for k in pods
    ) + (PodReport(namespace="default", name="web-5d8f-klmno", phase="Running", status="Running",
                   node="worker-2", age="2h", blocked=False, root_causes=(), total_nodes=30,
                   feasible_nodes=("worker-2",)),)
    return Report(
        schema_version=SCHEMA_VERSION, podtriage_version=__version__, generated="2024-05-02T10:45:03Z",
        source=_source(), target={"kind": "Deployment", "namespace": "default", "name": "web"}, blocked=True,
        root_causes=agg, pods=pod_reports,
        workload={"replicas": 4, "ready": 1, "available": 1, "pending": list(pods), "missing": 1,
                  "events": [{"reason": "FailedCreate", "type": "Warning", "count": 3,
                              "message": 'pods "web-5d8f-pqrst" is forbidden: exceeded quota: compute, '
                                         "requested: requests.cpu=2, used: requests.cpu=6, "
                                         "limited: requests.cpu=8",
                              "lastSeen": "2024-05-02T10:40:00Z"}]},
    )


def running_pod_report() -> Report:
    pod = PodReport(namespace="default", name="web-0", phase="Running", status="Running", node="worker-2",
                    age="3d", blocked=False, root_causes=(), total_nodes=30, feasible_nodes=("worker-2",))
    return Report(
        schema_version=SCHEMA_VERSION, podtriage_version=__version__, generated="2024-05-02T10:45:03Z",
        source={"kind": "live", "context": "prod-eu"},
        target={"kind": "Pod", "namespace": "default", "name": "web-0"}, blocked=False,
        root_causes=(), pods=(pod,),
    )
