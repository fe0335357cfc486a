"""Pods that differ only in their ResourceClaims do not share an analysis.

DynamicResources resolves a pod's claims in the pod's namespace, by name (or by the name its status
records for a template). Two pods of the same shape whose claims differ, by name or by namespace,
can have opposite answers: one claim allocated to another pod, the other not there at all. Found
by the watch's differential test (tests/watch/test_watcher_reuse.py): the audit's evaluation cache
and its equivalence classes left the claims out, and a second pod's answer became the first's.
"""

from __future__ import annotations

import copy
from pathlib import Path

import yaml

from podtriage.analyze import Explainer
from podtriage.audit.run import AuditOptions, run_audit
from podtriage.loaders.files import load_path
from podtriage.rulebook import load_rules

CASE = Path(__file__).resolve().parents[2] / "fixtures" / "cases" / "dra-claim-allocated-elsewhere.yaml"


def _objects() -> list[dict]:
    return [d for d in yaml.safe_load_all(CASE.read_text()) if isinstance(d, dict)]


def _copy(pod: dict, namespace: str, name: str, claim: str) -> dict:
    c = copy.deepcopy(pod)
    c["metadata"].update(namespace=namespace, name=name, uid=f"uid-{name}")
    for rc in c["spec"]["resourceClaims"]:
        rc["resourceClaimName"] = claim
    return c


def _by_pod(tmp_path: Path, objects: list[dict]) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    path = tmp_path / "cluster.yaml"
    path.write_text(yaml.safe_dump_all(objects))
    snap = load_path(path)
    rules = load_rules()
    report = run_audit(snap, rules, AuditOptions())
    audit: dict[str, set[str]] = {}
    for f in report.findings:
        for p in f.pods:
            audit.setdefault(f"{p.namespace}/{p.name}", set()).add(f.root_cause.rule)
    explain: dict[str, set[str]] = {}
    ex = Explainer(snap, rules)
    for key in audit:
        ns, name = key.split("/")
        explain[key] = {rc.rule for rc in ex.explain(name, ns).root_causes}
    return audit, explain


def test_a_same_named_claim_in_another_namespace(tmp_path: Path) -> None:
    objects = _objects()
    pod = next(o for o in objects if o["kind"] == "Pod" and o["metadata"]["name"] == "infer-b")
    claim = pod["spec"]["resourceClaims"][0]["resourceClaimName"]
    objects += [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-b"}},
                _copy(pod, "team-b", "infer-b-copy", claim)]  # no such claim in team-b
    audit, explain = _by_pod(tmp_path, objects)
    assert "dra-claim-allocated-elsewhere" in audit["ml/infer-b"]
    assert "dra-claim-missing" not in audit["ml/infer-b"]
    assert "dra-claim-missing" in audit["team-b/infer-b-copy"]
    for key in audit:  # the audit's primary causes are among what explain says of each pod
        assert audit[key] <= explain[key], key


def test_two_pods_of_one_shape_with_different_claims(tmp_path: Path) -> None:
    objects = [o for o in _objects() if not (o["kind"] == "Event")]  # no events: one shape
    pod = next(o for o in objects if o["kind"] == "Pod" and o["metadata"]["name"] == "infer-b")
    claim = pod["spec"]["resourceClaims"][0]["resourceClaimName"]
    objects += [_copy(pod, "ml", "infer-x", claim), _copy(pod, "ml", "infer-y", "no-such-claim")]
    audit, explain = _by_pod(tmp_path, objects)
    assert "dra-claim-missing" in audit["ml/infer-y"] and "dra-claim-missing" not in audit["ml/infer-x"]
    assert "dra-claim-allocated-elsewhere" in audit["ml/infer-x"]
    for key in audit:
        assert audit[key] <= explain[key], key
