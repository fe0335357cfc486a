#!/usr/bin/env python3
"""Benchmark: `podtriage explain` on a generated cluster (not a test; prints figures).

    python benchmarks/bench_explain.py --nodes 5000 --pods 150000 --pending 10000

Reports the time to parse the snapshot, to build the per-snapshot index (requests per node),
and to explain single pending pods of each cause (each against every node), plus peak memory.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.generate_cluster import CAUSES, generate  # noqa: E402
from podtriage.analyze import Explainer  # noqa: E402
from podtriage.loaders.files import load_path  # noqa: E402
from podtriage.rulebook import load_rules  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--nodes", type=int, default=5000)
    ap.add_argument("--pods", type=int, default=150000)
    ap.add_argument("--pending", type=int, default=10000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--file", help="use this generated file instead of generating one")
    a = ap.parse_args()
    path = a.file
    if not path:
        import json

        path = os.path.join(tempfile.gettempdir(), f"podtriage-bench-{a.nodes}-{a.pods}-{a.pending}-{a.seed}.json")
        if not os.path.exists(path):
            t = time.perf_counter()
            with open(path, "w") as f:
                json.dump(generate(a.nodes, a.pods, a.pending, a.seed), f, separators=(",", ":"))
            print(f"generated {path} in {time.perf_counter() - t:.1f}s")
    size = os.path.getsize(path) / 2**20
    t = time.perf_counter()
    snap = load_path(path)
    t_load = time.perf_counter() - t
    print(f"snapshot: {len(snap.nodes)} nodes, {len(snap.pods)} pods, {size:.0f} MiB; parse+convert {t_load:.2f}s")
    rules = load_rules()
    ex = Explainer(snap, rules)
    t = time.perf_counter()
    ex.cluster  # noqa: B018  (build the per-node index once)
    t_index = time.perf_counter() - t
    print(f"cluster index (requests and ports per node): {t_index:.2f}s")
    pending = [p for p in snap.pods if p.phase == "Pending"]
    total = 0.0
    for cause in CAUSES:
        p = next(p for p in pending if p.labels.get("app", "").startswith(f"pending-{cause}"))
        t = time.perf_counter()
        report = ex.explain(p.name, p.namespace)
        dt = time.perf_counter() - t
        total += dt
        top = report.root_causes[0] if report.root_causes else None
        print(f"explain {cause:16} {dt * 1000:7.1f} ms  -> {top.category if top else '-'}: "
              f"{top.message[:90] if top else ''}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"mean explain per pod: {total / len(CAUSES) * 1000:.1f} ms; peak RSS {peak:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
