#!/usr/bin/env python3
"""Benchmark: `podtriage explain` on a generated cluster (not a test; prints figures).

    python benchmarks/bench_explain.py --nodes 5000 --pods 150000 --pending 10000
    python benchmarks/bench_explain.py --file /tmp/c.json
    python benchmarks/bench_explain.py --curve 1000,2000,5000   # loading only, one process per step

`--curve` reports, for clusters of 30 pods per node with 7% Pending, the time to merely parse
the file (json.loads), to parse and convert it (load_path), and the peak RSS of each, every
figure from a fresh process.

Otherwise it reports the time to parse the snapshot, to build the per-snapshot index (requests per node),
and to explain single pending pods of each cause (each against every node), plus peak memory
(ru_maxrss: run one size per process). Times are wall clock and, in brackets, CPU time: on a
shared machine the CPU time is the steadier figure.
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

from benchmarks.generate_cluster import CAUSES, generate, write  # noqa: E402
from podtriage.analyze import Explainer  # noqa: E402
from podtriage.loaders.files import load_path  # noqa: E402
from podtriage.rulebook import load_rules  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--nodes", type=int, default=5000)
    ap.add_argument("--pods", type=int, default=150000)
    ap.add_argument("--pending", type=int, default=10000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--full", action="store_true", help="generate pods with status, volumes, env refs, ports")
    ap.add_argument("--file", help="use this generated file instead of generating one")
    ap.add_argument("--curve", help="comma-separated node counts: parse vs parse+convert time and memory")
    ap.add_argument("--load-only", choices=("parse", "load"), help=argparse.SUPPRESS)  # --curve's workers
    a = ap.parse_args()
    if a.load_only:
        return _load_only(a.file, a.load_only)
    if a.curve:
        return _curve([int(n) for n in a.curve.split(",") if n.strip()], a.seed, a.full)
    path = a.file or _generated(a.nodes, a.pods, a.pending, a.seed, a.full)
    size = os.path.getsize(path) / 2**20
    with _Timer() as tm:
        snap = load_path(path)
    print(f"snapshot: {len(snap.nodes)} nodes, {len(snap.pods)} pods, {size:.0f} MiB; parse+convert {tm}")
    rules = load_rules()
    ex = Explainer(snap, rules)
    with _Timer() as tm:
        ex.cluster  # noqa: B018  (build the per-node index once)
    print(f"cluster index (requests and ports per node): {tm}")
    pending = [p for p in snap.pods if p.phase == "Pending"]
    total = 0.0
    for cause in CAUSES:
        p = next((p for p in pending if p.labels.get("app", "").startswith(f"pending-{cause}")), None)
        if p is None:
            print(f"explain {cause:16} (no pending pod of this cause in the file)")
            continue
        with _Timer() as tm:
            report = ex.explain(p.name, p.namespace)
        total += tm.wall
        top = report.root_causes[0] if report.root_causes else None
        print(f"explain {cause:16} {tm.wall * 1000:7.1f} ms [{tm.cpu * 1000:7.1f}]  -> "
              f"{top.category if top else '-'}: {top.message[:80] if top else ''}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"mean explain per pod: {total / len(CAUSES) * 1000:.1f} ms; peak RSS {peak:.0f} MiB")
    return 0


def _generated(nodes: int, pods: int, pending: int, seed: int, full: bool) -> str:
    shape = "full" if full else "lean"
    # v2: the generator's output changed (capacity-aware placement, DaemonSets); never reuse v1 files
    path = os.path.join(tempfile.gettempdir(), f"podtriage-bench-v2-{shape}-{nodes}-{pods}-{pending}-{seed}.json")
    if not os.path.exists(path):
        t = time.perf_counter()
        write(generate(nodes, pods, pending, seed, full), path)
        print(f"generated {path} in {time.perf_counter() - t:.1f}s", flush=True)
    return path


def _load_only(path: str, what: str) -> int:
    """One measurement in this (fresh) process; prints `wall cpu peak_mib`."""
    import gc
    import json

    with _Timer() as tm:
        if what == "parse":
            gc.disable()  # as load_path does: the fair comparison
            with open(path, "rb") as f:
                json.loads(f.read())
        else:
            load_path(path)
    print(f"{tm.wall:.3f} {tm.cpu:.3f} {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f}")
    return 0


def _curve(node_counts: list[int], seed: int, full: bool) -> int:
    import subprocess

    print(f"{'nodes':>6} {'pods':>7} {'pending':>7} {'MiB':>5} | {'parse wall':>10} {'cpu':>6} {'RSS':>6} | "
          f"{'parse+convert wall':>18} {'cpu':>6} {'RSS':>6}")
    for n in node_counts:
        pods = 30 * n
        pending = round(pods * 0.07)
        path = _generated(n, pods, pending, seed, full)
        row = []
        for what in ("parse", "load"):
            best = None
            for _ in range(2):  # the better of two runs: the machine is shared
                out = subprocess.run([sys.executable, __file__, "--file", path, "--load-only", what],
                                     capture_output=True, text=True, check=True).stdout.split()
                wall, cpu, rss = float(out[0]), float(out[1]), float(out[2])
                if best is None or cpu < best[1]:
                    best = (wall, cpu, rss)
            row.append(best)
        (pw, pc, pr), (lw, lc, lr) = row
        print(f"{n:>6} {pods:>7} {pending:>7} {os.path.getsize(path) / 2**20:>5.0f} | {pw:>9.2f}s {pc:>5.2f}s "
              f"{pr:>5.0f}M | {lw:>17.2f}s {lc:>5.2f}s {lr:>5.0f}M", flush=True)
    return 0


class _Timer:
    """Wall and CPU time of a block."""

    def __enter__(self) -> _Timer:
        self._wall, self._cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self._wall
        self.cpu = time.process_time() - self._cpu

    def __str__(self) -> str:
        return f"{self.wall:.2f}s [cpu {self.cpu:.2f}s]"


if __name__ == "__main__":
    sys.exit(main())
