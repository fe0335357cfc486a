"""diagnose/queueing.py: Kueue's queues followed from the fixtures' clusters, and variations of them."""

from __future__ import annotations

import copy

from podtriage.analyze import Explainer
from podtriage.convert import addon_object
from podtriage.diagnose import queueing
from podtriage.snapshot import SnapshotBuilder

from fixture_cases import case_docs


def _explain(docs: list[dict], target: str, ns: str, rules, collected=("Workload", "LocalQueue", "ClusterQueue",
                                                                      "ResourceFlavor")):
    b = SnapshotBuilder("test")
    b.add_all(copy.deepcopy(docs))
    for kind in {d["kind"] for d in docs} | {"Node", "Pod", "Event", *collected}:
        if kind not in ("Workload", "LocalQueue", "ClusterQueue", "ResourceFlavor") or kind in collected:
            b.mark_collected(kind)
    return Explainer(b.build(), rules).explain(target, ns)


def _of(docs: list[dict], kind: str) -> dict:
    return next(d for d in docs if d["kind"] == kind)


def test_quota_rows_from_a_cluster_queue() -> None:
    cq = addon_object(_of(case_docs("kueue-quota-exhausted"), "ClusterQueue"))
    quotas, cohort = queueing.cluster_queue_quotas(cq)
    assert not cohort
    [gpu] = quotas["nvidia.com/gpu"]
    assert (gpu.flavor, gpu.nominal, gpu.used, gpu.room(cohort)) == ("a100", 8, 8, 0)
    assert quotas["memory"][0].nominal == 2 * 2**40


def test_v1beta1_cohort_and_borrowing_limit() -> None:
    obj = _of(case_docs("kueue-quota-exhausted"), "ClusterQueue")
    obj["apiVersion"] = "kueue.x-k8s.io/v1beta1"
    obj["spec"]["cohort"] = "research"
    res = obj["spec"]["resourceGroups"][0]["flavors"][0]["resources"]
    next(r for r in res if r["name"] == "nvidia.com/gpu")["borrowingLimit"] = "4"
    quotas, cohort = queueing.cluster_queue_quotas(addon_object(obj))
    assert cohort and quotas["nvidia.com/gpu"][0].room(cohort) == 4
    del next(r for r in res if r["name"] == "nvidia.com/gpu")["borrowingLimit"]
    quotas, cohort = queueing.cluster_queue_quotas(addon_object(obj))
    assert quotas["nvidia.com/gpu"][0].room(cohort) is None  # unbounded within the cohort


def test_workload_request_is_count_times_pod() -> None:
    wl = addon_object(_of(case_docs("kueue-request-exceeds-quota"), "Workload"))
    assert queueing.workload_requests(wl, "team-a")["nvidia.com/gpu"] == 16


def test_room_in_a_cohort_is_not_exhaustion(rules) -> None:
    """The same ClusterQueue, in a cohort that may lend 4: the quota is not the cause; the Workload
    waits (Kueue's message still quoted)."""
    docs = case_docs("kueue-quota-exhausted")
    cq = _of(docs, "ClusterQueue")
    cq["spec"]["cohortName"] = "research"
    report = _explain(docs, "triton-0", "team-a", rules)
    top = report.root_causes[0]
    assert top.rule == "queue-admission-pending", (top.rule, top.message)
    assert "insufficient unused quota" in top.message


def test_cluster_queue_missing(rules) -> None:
    docs = [d for d in case_docs("kueue-quota-exhausted") if d["kind"] != "ClusterQueue"]
    top = _explain(docs, "triton-0", "team-a", rules).root_causes[0]
    assert top.rule == "kueue-queue-missing"
    assert "points to ClusterQueue `team-a`, which does not exist" in top.message
    assert top.subject.startswith("LocalQueue/team-a/team-a-gpu")


def test_flavor_selecting_no_node(rules) -> None:
    """Quota free, but the flavor's node labels match no node."""
    docs = case_docs("kueue-quota-exhausted")
    cq = _of(docs, "ClusterQueue")
    for fu in cq["status"]["flavorsReservation"]:
        for r in fu["resources"]:
            r["total"] = "0"
    wl = _of(docs, "Workload")
    wl["status"]["conditions"][0]["message"] = "couldn't assign flavors to pod set main: no nodes match"
    _of(docs, "ResourceFlavor")["spec"]["nodeLabels"] = {"nvidia.com/gpu.product": "NVIDIA-H100-80GB-HBM3"}
    top = _explain(docs, "triton-0", "team-a", rules).root_causes[0]
    assert top.rule == "kueue-flavor-unusable", (top.rule, top.message)
    assert "nvidia.com/gpu.product=NVIDIA-H100-80GB-HBM3" in top.message
    # the counterfactual on the flavor's (would-be) nodes: the GPU nodes miss only that label
    assert "no node has all of its nodeLabels; 2 node(s) (gpu-1, gpu-2) miss only " \
           "`nvidia.com/gpu.product=NVIDIA-H100-80GB-HBM3`" in top.message, top.message


def test_a_flavor_taint_the_pod_does_not_tolerate_names_the_toleration(rules) -> None:
    docs = case_docs("kueue-flavor-affinity-mismatch")
    fl = _of(docs, "ResourceFlavor")
    fl["spec"]["nodeTaints"] = [{"key": "dedicated", "value": "h100", "effect": "NoSchedule"}]
    msg = "couldn't assign flavors to pod set main: untolerated taint {dedicated h100 NoSchedule <nil>} in flavor h100"
    _of(docs, "Workload")["status"]["conditions"][0]["message"] = msg
    top = _explain(docs, "triton-0", "team-a", rules).root_causes[0]
    assert top.rule == "kueue-flavor-unusable", (top.rule, top.message)
    assert "the pod does not tolerate the flavor's nodeTaint `dedicated=h100:NoSchedule`" in top.message
    # a flavor toleration that covers it (Kueue adds it to the pod) is no cause
    fl["spec"]["tolerations"] = [{"key": "dedicated", "operator": "Equal", "value": "h100", "effect": "NoSchedule"}]
    top = _explain(docs, "triton-0", "team-a", rules).root_causes[0]
    assert "does not tolerate" not in top.message and "fails only on nodeSelector" in top.message


def test_a_flavor_whose_nodes_fit_the_pod_as_admitted_is_said_so(rules) -> None:
    docs = case_docs("kueue-flavor-affinity-mismatch")
    del _of(docs, "Pod")["spec"]["nodeSelector"]
    top = _explain(docs, "triton-0", "team-a", rules).root_causes[0]
    assert "passes every filter on 2 of its 2 node(s) (gpu-1, gpu-2)" in top.message, top.message


def test_kueue_objects_not_read_is_said_with_less_confidence(rules) -> None:
    docs = [d for d in case_docs("kueue-quota-exhausted") if d["kind"] not in ("Workload", "LocalQueue", "ClusterQueue",
                                                                            "ResourceFlavor")]
    report = _explain(docs, "triton-0", "team-a", rules, collected=())
    top = report.root_causes[0]
    assert top.rule == "queue-admission-pending"
    assert "holds no Kueue objects" in top.message and top.confidence < 0.7


def test_other_gates_are_still_reported(rules) -> None:
    docs = case_docs("kueue-quota-exhausted")
    pod = next(d for d in docs if d["kind"] == "Pod" and d["metadata"]["name"] == "triton-0")
    pod["spec"]["schedulingGates"].append({"name": "example.com/preflight"})
    rules_seen = [c.rule for c in _explain(docs, "triton-0", "team-a", rules).root_causes]
    assert "kueue-quota-exhausted" in rules_seen and "scheduling-gated" in rules_seen


def test_a_job_with_a_queue_label_and_no_kueue_is_not_called_unmanaged(rules) -> None:
    docs = [d for d in case_docs("kueue-request-exceeds-quota") if d["kind"] not in ("Workload", "LocalQueue",
                                                                                  "ClusterQueue", "ResourceFlavor")]
    top = _explain(docs, "job/llm-pretrain", "team-a", rules, collected=("Workload", "LocalQueue", "ClusterQueue",
                                                                         "ResourceFlavor")).root_causes[0]
    assert top.rule == "kueue-no-workload", (top.rule, top.message)
    assert "Kueue is not installed" in top.message


def test_addon_kind_of_another_api_is_not_taken_for_kueue() -> None:
    b = SnapshotBuilder("t")
    assert not b.add({"apiVersion": "scheduling.k8s.io/v1alpha1", "kind": "Workload",
                      "metadata": {"name": "gang", "namespace": "ml"}, "spec": {}})
    assert b.build().addons("Workload") == []


def test_unreadable_kueue_objects_are_noted_only_where_kueue_holds_the_pod(rules) -> None:
    docs = [d for d in case_docs("kueue-quota-exhausted") if d["kind"] not in ("Workload", "LocalQueue", "ClusterQueue",
                                                                            "ResourceFlavor")]
    plain = copy.deepcopy(next(d for d in docs if d["kind"] == "Pod"))
    plain["metadata"].update(name="plain-0", uid="uid-plain-0", labels={"app": "plain"})
    del plain["spec"]["schedulingGates"]
    b = SnapshotBuilder("test")
    b.add_all(copy.deepcopy(docs + [plain]))
    for kind in ("Node", "Pod", "Event"):
        b.mark_collected(kind)
    b.mark_missing("workloads", "team-a", 'forbidden: User "dev" cannot list resource "workloads"')
    ex = Explainer(b.build(), rules)
    gated = ex.explain("triton-0", "team-a").to_dict()["missing"]
    other = ex.explain("plain-0", "team-a").to_dict()["missing"]
    assert any(m.startswith("workloads in team-a could not be read: forbidden") for m in gated), gated
    assert not any("workloads" in m for m in other), other
