"""Partial evidence offline: a fixture case with one kind of object taken out answers as well as its
data allows, says what is missing, and lowers confidence (the live counterpart, with real RBAC, is
tests/e2e/test_rbac_identities.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from podtriage.analyze import Explainer
from podtriage.errors import TargetNotFound
from podtriage.loaders.files import load_path
from podtriage.rulebook import load_rules

CASES = Path(__file__).parents[2] / "fixtures" / "cases"


@pytest.fixture(scope="module")
def rules():
    return load_rules()


def _without(tmp_path: Path, case: str, *kinds: str) -> Path:
    """The case's documents minus the objects (and Lists) of `kinds`."""
    docs = [d for d in yaml.safe_load_all((CASES / f"{case}.yaml").read_text()) if isinstance(d, dict)]
    keep = [d for d in docs if d.get("kind") not in kinds and d.get("kind", "").removesuffix("List") not in kinds]
    assert len(keep) < len(docs), f"{case} holds none of {kinds}"
    out = tmp_path / f"{case}-without.yaml"
    out.write_text(yaml.safe_dump_all(keep))
    return out


def _explain(path: Path, rules, target: str, namespace: str):
    return Explainer(load_path(path), rules).explain(target, namespace)


def test_missing_configmap_is_not_claimed_without_configmaps(tmp_path, rules):
    full = _explain(CASES / "kubelet-secret-missing-envfrom.yaml", rules, "api-6d5c4b3a2-p8q7r", "default")
    part = _explain(_without(tmp_path, "kubelet-secret-missing-envfrom", "ConfigMap", "Secret"), rules,
                    "api-6d5c4b3a2-p8q7r", "default")
    assert full.root_causes[0].rule == "config-object-missing"
    top = part.root_causes[0]
    assert (top.rule, top.category) == ("config-object-unverified", "missing-config-object")
    assert "db-credentials" in top.message and "could not verify" in top.message
    assert "does not exist" not in top.message
    assert "kubectl -n default get secret db-credentials" in top.fix_command
    assert part.blocked
    assert any("ConfigMap and Secret objects could not be read" in m for m in part.missing), part.missing
    assert part.confidence < full.confidence
    assert top.confidence < full.root_causes[0].confidence


def test_claims_unreadable_the_scheduler_message_names_the_claim(tmp_path, rules):
    full = _explain(CASES / "pvc-not-found.yaml", rules, "db-0", "default")
    part = _explain(_without(tmp_path, "pvc-not-found", "PersistentVolumeClaim"), rules, "db-0", "default")
    assert full.root_causes[0].category == "pvc-not-found"
    assert part.blocked
    top = part.root_causes[0]
    assert top.category == "pvc-not-found", [(c.rule, c.message) for c in part.root_causes]
    assert "fits-now" not in [c.rule for c in part.root_causes]
    assert any("PersistentVolumeClaims could not be read" in m for m in part.missing), part.missing
    assert part.confidence < full.confidence


@pytest.mark.parametrize("hidden", [("ReplicaSet",), ("Deployment", "ReplicaSet")])
def test_deployment_found_through_its_pods(tmp_path, rules, hidden):
    full = _explain(CASES / "workload-taint.yaml", rules, "deployment/inference", "ml")
    part = _explain(_without(tmp_path, "workload-taint", *hidden), rules, "deployment/inference", "ml")
    assert part.blocked and full.blocked
    assert part.root_causes[0].category == full.root_causes[0].category == "taint-untolerated"
    assert part.root_causes[0].pods == full.root_causes[0].pods and part.root_causes[0].pods
    assert any(f"{' and '.join(hidden)} objects could not be read" in m for m in part.missing), part.missing
    assert part.confidence < full.confidence
    assert part.root_causes[0].confidence < full.root_causes[0].confidence


def test_unknown_deployment_without_deployments_is_still_not_found_offline(tmp_path, rules):
    """A file without Deployments is not a permission problem: exit 2 (not found), not 3."""
    path = _without(tmp_path, "workload-taint", "Deployment", "ReplicaSet")
    with pytest.raises(TargetNotFound):
        _explain(path, rules, "deployment/nowhere", "ml")
