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
