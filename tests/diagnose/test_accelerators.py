"""diagnose/accelerators.py: the broken link of the accelerator stack, from the fixtures' clusters and
variations of them (another vendor, pods that could not be read, a plugin that recovered)."""

from __future__ import annotations

import copy

import pytest

from podtriage import model as m
from podtriage.analyze import Explainer
from podtriage.diagnose import accelerators
from podtriage.findings import Signal
from podtriage.snapshot import SnapshotBuilder

from fixture_cases import case_docs


def _explain(docs: list[dict], target: str, rules, *, missing: tuple[m.Missing, ...] = ()):
    b = SnapshotBuilder("test")
    b.add_all(copy.deepcopy(docs))
    for kind in {d["kind"] for d in docs} | {"Node", "Pod", "Event", "DaemonSet"}:
        b.mark_collected(kind)
    for x in missing:
        b.mark_missing(x.resource, x.namespace, x.reason)
    return Explainer(b.build(), rules).explain(target, "ml")


@pytest.mark.parametrize("resource,vendor", [
    ("nvidia.com/gpu", "NVIDIA"), ("nvidia.com/mig-1g.10gb", "NVIDIA"), ("amd.com/gpu", "AMD"),
    ("gpu.intel.com/i915", "Intel"), ("aws.amazon.com/neuroncore", "AWS Neuron"), ("google.com/tpu", "Google TPU"),
    ("example.com/foo", None), ("hugepages-2Mi", None),
])
def test_vendor_of(resource: str, vendor: str | None) -> None:
    v = accelerators.vendor_of(resource)
    assert (v.name if v else None) == vendor


def test_neuron_nodes_are_known_by_instance_type() -> None:
    n = m.Node(name="trn-1", labels={"node.kubernetes.io/instance-type": "trn1.32xlarge"})
    assert accelerators.hardware_label("aws.amazon.com/neuron", n) == "node.kubernetes.io/instance-type=trn1.32xlarge"
    assert accelerators.hardware_label("nvidia.com/gpu", n) == ""


def test_never_missing_when_the_plugin_runs(rules) -> None:
    """The field report: plugin pods Running on the GPU nodes; the answer must not be 'install it'."""
    report = _explain(case_docs("gpu-plugin-running-no-devices"), "triton-0", rules)
    top = report.root_causes[0]
    assert top.rule == "accelerator-plugin-sees-no-devices"
    assert "missing or not running" not in " ".join(c.message for c in report.root_causes)
    assert any("4 NVIDIA device plugin pod(s) are Running and ready" in e.summary for e in top.evidence)


def test_plugin_pods_unread_never_named_absent(rules) -> None:
    """Without the pods of other namespaces, an absent plugin pod may just be unread: no link is named
    from absence; the generic cause stays."""
    docs = [d for d in case_docs("gpu-plugin-not-tolerated")
            if not (d["kind"] in ("Pod", "DaemonSet") and d["metadata"]["namespace"] == "kube-system")]
    report = _explain(docs, "finetune-0", rules,
                      missing=(m.Missing("pods", "", "forbidden: cannot list pods at the cluster scope"),))
    rules_seen = [c.rule for c in report.root_causes]
    assert "accelerator-component-not-scheduled" not in rules_seen
    assert "accelerator-device-plugin-absent" not in rules_seen
    assert report.root_causes[0].category == "extended-resource-missing"


def test_plugin_absent_when_all_pods_were_read(rules) -> None:
    docs = [d for d in case_docs("gpu-plugin-not-tolerated")
            if not (d["kind"] in ("Pod", "DaemonSet") and d["metadata"]["namespace"] == "kube-system")]
    report = _explain(docs, "finetune-0", rules)
    assert report.root_causes[0].rule == "accelerator-device-plugin-absent"


def test_toleration_added_moves_to_the_next_link(rules) -> None:
    """Give the DaemonSet the pool's toleration and a Running pod there: the link is no longer the
    DaemonSet, it is what is below the plugin."""
    docs = case_docs("gpu-plugin-not-tolerated")
    for d in docs:
        if d["kind"] == "DaemonSet":
            d["spec"]["template"]["spec"]["tolerations"].append(
                {"key": "dedicated", "operator": "Exists", "effect": "NoSchedule"})
    plugin = next(d for d in docs if d["kind"] == "Pod" and d["metadata"]["name"].startswith("nvidia-device-plugin"))
    extra = []
    for i, node in ((1, "ml-gpu-1"), (2, "ml-gpu-2")):
        p = copy.deepcopy(plugin)
        p["metadata"]["name"] = f"nvidia-device-plugin-daemonset-ml{i}"
        p["metadata"]["uid"] = f"uid-ml{i}"
        p["spec"]["nodeName"] = node
        extra.append(p)
    report = _explain(docs + extra, "finetune-0", rules)
    top = report.root_causes[0]
    assert top.rule == "accelerator-plugin-sees-no-devices", (top.rule, top.message)
    assert "ml-gpu-1" in top.message


def test_amd_plugin_crashloop(rules) -> None:
    """Another vendor's plugin, crash-looping on the node: named with its last words."""
    docs = case_docs("gpu-driver-crashloop")
    keep = [d for d in docs if d["kind"] in ("Node", "Pod", "Event") and not d["metadata"].get("namespace") == "gpu-operator"]
    for d in keep:
        if d["kind"] == "Node" and d["metadata"]["name"] in ("gpu-3", "gpu-4"):
            d["metadata"]["labels"]["feature.node.kubernetes.io/amd-gpu"] = "true"
        if d["kind"] == "Pod" and d["metadata"]["name"] == "llm-train-0":
            c = d["spec"]["containers"][0]
            for k in ("requests", "limits"):
                c["resources"][k]["amd.com/gpu"] = c["resources"][k].pop("nvidia.com/gpu")
    crash = next(d for d in docs if d["kind"] == "Pod" and d["metadata"]["name"].startswith("nvidia-driver")
                 and d["spec"]["nodeName"] == "gpu-3")
    crash = copy.deepcopy(crash)
    crash["metadata"].update(name="amdgpu-device-plugin-daemonset-7bq4x", namespace="kube-system",
                             labels={"name": "amdgpu-dp-ds"})
    crash["status"]["containerStatuses"][0]["lastState"]["terminated"]["message"] = "no AMD GPU found: /dev/kfd"
    report = _explain(keep + [crash], "llm-train-0", rules)
    top = report.root_causes[0]
    assert top.rule == "accelerator-component-failing", (top.rule, top.message)
    assert "AMD GPU device plugin" in top.message and "/dev/kfd" in top.message


def test_refine_leaves_other_resources_alone() -> None:
    s = Signal(name="extended-resource-missing", params={"resource": "example.com/dongle"}, nodes=("a",))
    b = SnapshotBuilder("t")
    assert accelerators.refine(s, m.Pod(namespace="x", name="y"), b.build()) is s


def test_a_dra_backed_extended_resource_is_not_blamed_on_a_device_plugin(rules) -> None:
    docs = case_docs("gpu-plugin-running-no-devices") + [{
        "apiVersion": "resource.k8s.io/v1", "kind": "DeviceClass", "metadata": {"name": "gpu.nvidia.com"},
        "spec": {"selectors": [{"cel": {"expression": 'device.driver == "gpu.nvidia.com"'}}],
                 "extendedResourceName": "nvidia.com/gpu"}}]
    rules_seen = [c.rule for c in _explain(docs, "triton-0", rules).root_causes]
    assert not [r for r in rules_seen if r.startswith("accelerator-")], rules_seen


# --- the GPU Operator's ClusterPolicy ------------------------------------------------------------------

def _policy(docs: list[dict]) -> dict:
    return next(d for d in docs if d["kind"] == "ClusterPolicy")


def test_without_the_cluster_policy_a_disabled_plugin_looks_absent(rules) -> None:
    docs = [d for d in case_docs("gpu-device-plugin-disabled") if d["kind"] != "ClusterPolicy"]
    top = _explain(docs, "triton-0", rules).root_causes[0]
    assert top.rule == "accelerator-device-plugin-absent", (top.rule, top.message)


def test_an_ignored_duplicate_cluster_policy_is_not_read(rules) -> None:
    docs = case_docs("gpu-device-plugin-disabled")
    _policy(docs)["status"]["state"] = "ignored"  # the operator acts on another one: none here
    top = _explain(docs, "triton-0", rules).root_causes[0]
    assert top.rule == "accelerator-device-plugin-absent", (top.rule, top.message)


def test_a_standalone_device_plugin_running_is_not_blamed_on_the_policy(rules) -> None:
    """devicePlugin disabled because another plugin is installed, and it runs and advertises 0: the
    answer is below that plugin, not the ClusterPolicy."""
    docs = case_docs("gpu-plugin-running-no-devices")
    docs.append(copy.deepcopy(_policy(case_docs("gpu-device-plugin-disabled"))))
    top = _explain(docs, "triton-0", rules).root_causes[0]
    assert top.rule == "accelerator-plugin-sees-no-devices", (top.rule, top.message)


def test_a_driver_disabled_on_nodes_whose_plugin_works_is_no_cause(rules) -> None:
    """spec.driver.enabled: false with a preinstalled driver that works (the plugin Running, GPUs
    advertised and all taken): the ClusterPolicy is not named."""
    docs = case_docs("gpu-exhausted-by-training")
    docs.append(copy.deepcopy(_policy(case_docs("gpu-driver-disabled-no-host-driver"))))
    causes = _explain(docs, "triton-0", rules).root_causes
    assert causes[0].rule == "accelerator-exhausted-held"
    assert "accelerator-component-disabled" not in [c.rule for c in causes]


def test_mig_manager_disabled_with_a_mig_profile_requested(rules) -> None:
    docs = case_docs("gpu-mig-config-failed")
    for d in docs:
        if d["kind"] == "Node":
            d["metadata"]["labels"]["nvidia.com/mig.config.state"] = "pending"
    policy = copy.deepcopy(_policy(case_docs("gpu-device-plugin-disabled")))
    policy["spec"]["devicePlugin"]["enabled"] = True
    policy["spec"]["migManager"]["enabled"] = False
    docs.append(policy)
    top = _explain(docs, "embedder-0", rules).root_causes[0]
    assert top.rule == "accelerator-component-disabled", (top.rule, top.message)
    assert "`spec.migManager.enabled: false`: nothing applies it" in top.message
    assert '"migManager":{"enabled":true}' in top.fix


def test_gfd_running_on_the_nodes_leaves_a_missing_label_to_the_selector_rules(rules) -> None:
    """GFD enabled and Running on every GPU node: a selector on a label it does not publish is the
    selector's problem (the generic rule for an operator's label no node has), not GFD's."""
    docs = case_docs("gpu-feature-discovery-disabled")
    _policy(docs)["spec"]["gfd"]["enabled"] = True
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools" / "fixtures"))
    import make_issue16_cases as mk

    ds = mk.daemonset("gpu-feature-discovery", "gpu-operator", "gpu-feature-discovery",
                      image="nvcr.io/nvidia/k8s-device-plugin:v0.17.4", desired=2, ready=2,
                      node_selector={"nvidia.com/gpu.deploy.gpu-feature-discovery": "true"},
                      tolerations=[mk.GPU_TOLERATION])
    docs += [ds, mk.operand(ds, "gpu-1", "a1b2c"), mk.operand(ds, "gpu-2", "d3e4f")]
    top = _explain(docs, "llm-serve-0", rules).root_causes[0]
    assert top.rule == "node-selector-system-label-absent", (top.rule, top.message)
    # GFD crash-looping on them: it is named
    docs[-1] = mk.operand(ds, "gpu-2", "d3e4f", state="crashloop", restarts=9, message="failed to initialize NVML")
    docs[-2] = mk.operand(ds, "gpu-1", "a1b2c", state="crashloop", restarts=9, message="failed to initialize NVML")
    top = _explain(docs, "llm-serve-0", rules).root_causes[0]
    assert top.rule == "node-selector-gpu-feature-label-absent", (top.rule, top.message)
    assert "CrashLoopBackOff" in top.message and "failed to initialize NVML" in top.message
    assert "kubectl logs -n gpu-operator" in top.fix


def test_an_unreadable_cluster_policy_is_noted_only_on_gpu_pods(rules) -> None:
    docs = case_docs("gpu-device-plugin-disabled")
    docs = [d for d in docs if d["kind"] != "ClusterPolicy"]
    plain = copy.deepcopy(next(d for d in docs if d["kind"] == "Pod" and d["metadata"]["name"] == "triton-0"))
    plain["metadata"].update(name="web-0", uid="web-0-uid")
    c = plain["spec"]["containers"][0]
    c["resources"] = {"requests": {"cpu": "100m"}}
    docs.append(plain)
    forbidden = (m.Missing("clusterpolicies", "", "forbidden"),)
    gpu = _explain(docs, "triton-0", rules, missing=forbidden)
    assert any(x.startswith("clusterpolicies could not be read") for x in gpu.missing), gpu.missing
    other = _explain(docs, "web-0", rules, missing=forbidden)
    assert not any("clusterpolicies" in x for x in other.missing), other.missing
