"""Differential test: podtriage's Filter and PostFilter emulation against the real kube-scheduler v1.37.

Seeded random scenarios (tests/e2e/differential.py) run on the real control plane; every pending
pod is one comparison of the scheduler's FailedScheduling histogram (or its chosen node) with
podtriage's per-node verdicts. 100% agreement is required, except for the narrow, documented
`differential.LIMITATIONS`.

Environment:
  PODTRIAGE_DIFF_SCENARIOS   number of scenarios (default 200, x6 pending pods = 1200 comparisons)
  PODTRIAGE_DIFF_SEED        first seed (default 1); scenario i uses seed + i
  PODTRIAGE_RECORD_FIXTURES=1  also rewrite fixtures/real/differential/ from this run (real output)
"""

from __future__ import annotations

import os

import pytest

from .controlplane import REPO_ROOT, ExternalCluster
from .differential import DifferentialRunner, Summary, failure_report, generate, write_fixtures

pytestmark = pytest.mark.e2e

PENDING_PER_SCENARIO = 6
FIXTURES = REPO_ROOT / "fixtures" / "real" / "differential"


def test_podtriage_agrees_with_kube_scheduler(control_plane):
    if isinstance(control_plane, ExternalCluster):
        pytest.skip("the differential test deletes every node: not on an external cluster")
    scenarios = int(os.environ.get("PODTRIAGE_DIFF_SCENARIOS", "200"))
    first_seed = int(os.environ.get("PODTRIAGE_DIFF_SEED", "1"))
    record = os.environ.get("PODTRIAGE_RECORD_FIXTURES") == "1"

    runner = DifferentialRunner(control_plane)
    summary = Summary()
    results = []
    try:
        for seed in range(first_seed, first_seed + scenarios):
            res = runner.run_scenario(generate(seed, pending_per_scenario=PENDING_PER_SCENARIO), record=record)
            summary.add(res)
            if record:
                results.append(res)
    finally:
        runner.delete_all_nodes()
    print("\n" + summary.report())
    if record:
        print(f"fixtures: {write_fixtures(results, FIXTURES)} -> {FIXTURES}")

    assert summary.comparisons >= min(200, scenarios * PENDING_PER_SCENARIO)
    assert not summary.failures, (
        f"{len(summary.failures)} of {summary.comparisons} comparisons disagree with kube-scheduler "
        f"(agreement {100 * summary.agreement_rate:.2f}%); fix podtriage/scheduler or document a narrow "
        f"limitation in tests/e2e/differential.py.\n\n"
        + "\n\n".join(failure_report(s, c) for s, c in summary.failures[:3])
    )


FAMILY_SEED = 7000  # CI's seeds for the families; the benchmark uses others (benchmarks/differential.py)


@pytest.mark.parametrize("family", ["volumes", "preemption", "resources", "dra", "features"])
def test_families_agree_with_kube_scheduler(control_plane, family):
    """Every default plugin beyond the core filters (tests/e2e/families.py): volumes of every kind,
    priorities/PDBs and the preemption text, resources, DRA claims on harness-written ResourceSlices,
    node-declared features. PODTRIAGE_DIFF_FAMILY_SCENARIOS scenarios per family (default 10)."""
    if isinstance(control_plane, ExternalCluster):
        pytest.skip("the differential test deletes every node: not on an external cluster")
    from .families import generate_family

    scenarios = int(os.environ.get("PODTRIAGE_DIFF_FAMILY_SCENARIOS", "10"))
    runner = DifferentialRunner(control_plane)
    summary = Summary()
    try:
        for seed in range(FAMILY_SEED, FAMILY_SEED + scenarios):
            summary.add(runner.run_scenario(generate_family(family, seed, PENDING_PER_SCENARIO)))
    finally:
        runner.delete_all_nodes()
    print("\n" + summary.report())
    assert summary.comparisons == scenarios * PENDING_PER_SCENARIO
    assert summary.postfilter[0] > 0, "the PostFilter (preemption) text was compared"
    assert not summary.failures, (
        f"{family}: {len(summary.failures)} of {summary.comparisons} comparisons disagree with kube-scheduler\n\n"
        + "\n\n".join(failure_report(s, c) for s, c in summary.failures[:3]))
