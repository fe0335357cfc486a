"""Preemption signals: what PodDisruptionBudgets can and cannot explain, and the ' not found' suffix."""

from __future__ import annotations

from podtriage.diagnose.pending import preemption_signals
from podtriage.evidence.messages import parse_fit_message
from podtriage.snapshot import SnapshotBuilder


def _snapshot(victim_priority: int = 0):
    b = SnapshotBuilder()
    b.add({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"},
           "status": {"allocatable": {"cpu": "2", "pods": "110"}}})
    b.add({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "db-0", "namespace": "db", "labels": {"app": "db"}},
           "spec": {"nodeName": "n1", "priority": victim_priority, "containers": [{"name": "m"}]},
           "status": {"phase": "Running"}})
    b.add({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "db", "namespace": "db"},
           "spec": {"selector": {"matchLabels": {"app": "db"}}}, "status": {"disruptionsAllowed": 0}})
    b.add({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "hi", "namespace": "ml"},
           "spec": {"priority": 1000, "containers": [{"name": "m"}]}, "status": {"phase": "Pending"}})
    return b.build()


def _names(snap, text: str) -> list[str]:
    pod = snap.pod_by_key["ml/hi"]
    return [s.name for s in preemption_signals(pod, snap, parse_fit_message(text), True, 1)]


def test_no_victims_is_never_blamed_on_a_pdb() -> None:
    snap = _snapshot(victim_priority=1000)
    text = ("0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 No preemption "
            "victims found for incoming pod.")
    assert "preemption-blocked-by-pdb" not in _names(snap, text)


def test_preempting_protected_pods_is_reported_as_best_effort() -> None:
    snap = _snapshot()
    text = ("0/1 nodes are available: 1 Insufficient cpu. preemption: found a potential placement for pod on node n1, "
            "preempting 1 victims")
    pod = snap.pod_by_key["ml/hi"]
    [sig] = [s for s in preemption_signals(pod, snap, parse_fit_message(text), True, 1)
             if s.name == "preemption-blocked-by-pdb"]
    assert sig.params["pdbs"] == "db/db" and sig.params["victims"] == "db/db-0" and not sig.blocking


def test_not_found_suffix_explained() -> None:
    snap = _snapshot()
    assert "preemption-not-attempted" in _names(
        snap, '0/1 nodes are available: persistentvolumeclaim "data" not found. not found')
