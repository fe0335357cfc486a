"""The fix-proof harness's own parts, without a control plane: patch application and harm checks."""

from __future__ import annotations

import pytest

from podtriage.findings import Fix

from .fixproof import PatchError, apply_json_patch, generate, harmful


def test_json_patch_ops() -> None:
    doc = {"spec": {"tolerations": [{"key": "a"}], "nodeSelector": {"x/y": "1"}}}
    out = apply_json_patch(doc, [{"op": "add", "path": "/spec/tolerations/-", "value": {"key": "b"}},
                                 {"op": "remove", "path": "/spec/nodeSelector/x~1y"},
                                 {"op": "add", "path": "/spec/nodeSelector/z", "value": "2"}])
    assert out == {"spec": {"tolerations": [{"key": "a"}, {"key": "b"}], "nodeSelector": {"z": "2"}}}
    assert doc["spec"]["nodeSelector"] == {"x/y": "1"}  # a copy
    with pytest.raises(PatchError):
        apply_json_patch(doc, [{"op": "replace", "path": "/spec/missing", "value": 1}])
    with pytest.raises(PatchError):
        apply_json_patch(doc, [{"op": "test", "path": "/spec/tolerations/0", "value": {"key": "z"}}])


def test_harm_checks_catch_what_would_make_things_worse() -> None:
    sc = generate(7)
    worker = sc.nodes[0]["metadata"]["name"]
    existing = next(iter(sc.nodes[0]["metadata"]["labels"]))
    pod_obj = {"kind": "Pod", "name": "x", "namespace": sc.namespace}
    bad = [
        Fix("tolerate cp", pod_obj, "json", [{"op": "add", "path": "/spec/tolerations/-",
                                              "value": {"key": "node-role.kubernetes.io/control-plane",
                                                        "operator": "Exists"}}], apply="recreate"),
        Fix("tolerate all", pod_obj, "json", [{"op": "add", "path": "/spec/tolerations",
                                               "value": [{"operator": "Exists"}]}], apply="recreate"),
        Fix("relabel", {"kind": "Node", "name": worker}, "merge", {"metadata": {"labels": {existing: "v"}}}),
        Fix("untaint", {"kind": "Node", "name": worker}, "json", [{"op": "remove", "path": "/spec/taints/0"}]),
        Fix("unsafe", pod_obj, "json", [], apply="recreate", safe=False),
    ]
    for f in bad:
        assert harmful(f, sc), f.description
    fine = Fix("tolerate the pool", pod_obj, "json", [{"op": "add", "path": "/spec/tolerations/-",
                                                       "value": {"key": "dedicated", "operator": "Equal",
                                                                 "value": "gpu", "effect": "NoSchedule"}}],
               apply="recreate")
    assert harmful(fine, sc) == []
