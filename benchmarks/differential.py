"""Differential benchmark: podtriage's Filter emulation against a real kube-scheduler.

Starts the e2e control plane (tests/e2e/controlplane.py: kube-apiserver + kube-scheduler + etcd
built by tools/k8s/build.sh), runs N seeded random scenarios (tests/e2e/differential.py) and
prints the agreement rate and the throughput.

    python -m benchmarks.differential                 # 1000 scenarios from seed 1, every family in turn
    python -m benchmarks.differential -n 50 --seed 7  # 50 scenarios, seeds 7..56
    python -m benchmarks.differential --seeds 12,40   # replay given seeds
    python -m benchmarks.differential --family dra    # one family: core (the filters), volumes,
                                                      # preemption, resources, dra, features
    PODTRIAGE_E2E_KUBECONFIG=... python -m benchmarks.differential   # an existing cluster (its
                                                                    # nodes are DELETED)
Exit code 1 when an unexplained disagreement was found.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tests.e2e.controlplane import ControlPlane, ExternalCluster, build_binaries
from tests.e2e.differential import DifferentialRunner, Summary, failure_report, generate
from tests.e2e.families import FAMILIES, generate_family

ALL_FAMILIES = ("core",) + FAMILIES


def scenario_for(family: str, seed: int, pending: int):
    return generate(seed, pending_per_scenario=pending) if family == "core" else \
        generate_family(family, seed, pending)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-n", "--scenarios", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=1, help="first seed (scenarios use seed, seed+1, ...)")
    ap.add_argument("--seeds", default="", help="comma-separated seeds to run instead")
    ap.add_argument("--pending", type=int, default=6, help="pending pods (comparisons) per scenario")
    ap.add_argument("--show", type=int, default=5, help="disagreements to print in full")
    ap.add_argument("--json", default="", help="write every disagreement as JSON lines to this file")
    ap.add_argument("--family", default="all", choices=("all",) + ALL_FAMILIES,
                    help="scenario family (all: each seed runs the next family in turn)")
    args = ap.parse_args(argv)

    seeds = [int(s) for s in args.seeds.split(",") if s.strip()] or \
        list(range(args.seed, args.seed + args.scenarios))

    external = os.environ.get("PODTRIAGE_E2E_KUBECONFIG")
    if external:
        cp = ExternalCluster(kubeconfig_path=Path(external))
    else:
        t = time.monotonic()
        cp = ControlPlane(bindir=build_binaries())
        cp.start()
        print(f"control plane up in {time.monotonic() - t:.1f}s", flush=True)
    summary = Summary()
    harness_errors: list[str] = []
    wall = time.monotonic()
    try:
        runner = DifferentialRunner(cp)
        for i, seed in enumerate(seeds, 1):
            family = ALL_FAMILIES[(i - 1) % len(ALL_FAMILIES)] if args.family == "all" else args.family
            try:
                res = runner.run_scenario(scenario_for(family, seed, args.pending))
            except Exception as exc:  # noqa: BLE001 - a harness failure is reported, not a verdict
                harness_errors.append(f"{family} seed {seed}: {type(exc).__name__}: {str(exc)[:300]}")
                continue
            summary.add(res)
            if i % 50 == 0 or i == len(seeds):
                print(f"[{i}/{len(seeds)}] {summary.comparisons} comparisons, {summary.agreed} agree, "
                      f"{len(summary.failures)} unexplained, {time.monotonic() - wall:.0f}s", flush=True)
        runner.delete_all_nodes()
    finally:
        cp.stop()
    wall = time.monotonic() - wall
    print(summary.report())
    print(f"  harness errors (scenario not run to the end, no verdict counted): {len(harness_errors)}")
    for e in harness_errors[:10]:
        print(f"    {e}")
    print(f"  wall time {wall:.1f}s ({summary.comparisons / wall:.1f} comparisons/s end to end)")
    for scenario, c in summary.failures[: args.show]:
        print("\n" + c.describe() + f"\n  replay: python -m benchmarks.differential --family {scenario.family} "
              f"--seeds {scenario.seed}")
    if args.json:
        with open(args.json, "w") as f:
            for scenario, c in summary.failures:
                f.write(json.dumps({"seed": scenario.seed, "report": failure_report(scenario, c)}) + "\n")
    return 1 if summary.failures else 0


if __name__ == "__main__":
    sys.exit(main())
