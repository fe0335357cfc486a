"""Fix proof on the real control plane: podtriage's top fix binds the pod (tests/e2e/fixproof.py).

A seeded set of scenarios, every family several times; benchmarks/fix_proof.py runs hundreds.

Environment:
  PODTRIAGE_FIXPROOF_SCENARIOS   number of scenarios (default 33: three per family)
  PODTRIAGE_FIXPROOF_SEED        first seed (default 1)
"""

from __future__ import annotations

import os

import pytest

from .controlplane import ExternalCluster
from .fixproof import FAMILIES, FixProofRunner, ProofSummary, generate

pytestmark = pytest.mark.e2e


def test_top_fix_binds_the_pod_on_the_real_scheduler(control_plane, podtriage_cli):
    # podtriage_cli: podtriage reads as its own identity (bound by that fixture), as in every e2e run
    if isinstance(control_plane, ExternalCluster):
        pytest.skip("the fix proof deletes every node: not on an external cluster")
    n = int(os.environ.get("PODTRIAGE_FIXPROOF_SCENARIOS", str(3 * len(FAMILIES))))
    first = int(os.environ.get("PODTRIAGE_FIXPROOF_SEED", "1"))
    runner = FixProofRunner(control_plane)
    summary = ProofSummary()
    try:
        for seed in range(first, first + n):
            summary.add(runner.run(generate(seed)))
    finally:
        runner.diff.delete_all_nodes()
    print("\n" + summary.report())
    assert {p.scenario.family for p in summary.proofs} == {generate(s).family for s in range(len(FAMILIES))}
    misses = [p for p in summary.proofs if not p.ok]
    assert not misses, "\n\n".join(p.describe() for p in misses[:5])


def test_without_the_fix_the_pods_stay_pending(control_plane, podtriage_cli):
    """The control: the same scenarios with the pod recreated unchanged never bind, so what binds
    them above is the fix, not a retry."""
    if isinstance(control_plane, ExternalCluster):
        pytest.skip("the fix proof deletes every node: not on an external cluster")
    runner = FixProofRunner(control_plane, bind_timeout=3.0)
    try:
        proofs = [runner.run(generate(seed), control=True) for seed in range(1, 1 + len(FAMILIES))]
    finally:
        runner.diff.delete_all_nodes()
    assert all(p.failure == "still-pending-after-fix" for p in proofs), \
        "\n\n".join(p.describe() for p in proofs if p.failure != "still-pending-after-fix")
