#!/usr/bin/env python3
"""Benchmark: the audit when Pending pods share shapes, and when none do (issue 15).

    python benchmarks/bench_distinct.py                               # 5,000 nodes, 150,000 pods, 10,000 Pending
    python benchmarks/bench_distinct.py --nodes 1000 --nodes 2000 --nodes 5000 --timeout 900

For each size, two files from benchmarks/generate_cluster.py with the same nodes and pod counts:
`shared` as generated (~100 distinct Pending shapes) and `distinct` (--distinct-pending: no two
Pending pods alike). Each runs `podtriage audit --from FILE -o json` in a fresh process; wall time
and peak RSS come from wait4. A run that exceeds --timeout is killed and reported as such.
Target: the distinct row at 5,000 nodes in under 30 s and 2 GiB on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def cluster_file(nodes: int, pods: int, pending: int, seed: int, distinct: bool) -> Path:
    tag = "distinct" if distinct else "shared"
    path = Path(tempfile.gettempdir()) / f"podtriage-bench-{tag}-{nodes}-{pods}-{pending}-{seed}.json"
    if not path.exists():
        cmd = [sys.executable, str(ROOT / "benchmarks" / "generate_cluster.py"), "--nodes", str(nodes),
               "--pods", str(pods), "--pending", str(pending), "--seed", str(seed), "-o", str(path)]
        subprocess.run(cmd + (["--distinct-pending"] if distinct else []), check=True)
    return path


def run_audit(path: Path, timeout: float) -> dict[str, object]:
    """Wall seconds and peak RSS (MiB) of one audit in a fresh process, or killed=True after `timeout`."""
    out = Path(tempfile.gettempdir()) / f"{path.stem}-audit.json"
    cmd = [sys.executable, "-m", "podtriage.cli", "audit", "--from", str(path), "-o", "json", "--out", str(out),
           "--fail-on", "none", "--no-progress"]
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    killed = False
    while True:
        pid, status, ru = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.perf_counter() - t > timeout:
            os.killpg(proc.pid, signal.SIGKILL)
            _, status, ru = os.wait4(proc.pid, 0)
            killed = True
            break
        time.sleep(0.05)
    wall = time.perf_counter() - t
    # CPU seconds too: on a shared machine wall time also counts waiting for a core.
    row: dict[str, object] = {"seconds": round(wall, 2), "cpuSeconds": round(ru.ru_utime + ru.ru_stime, 2),
                              "peakMiB": round(ru.ru_maxrss / 1024), "killed": killed}
    code = os.waitstatus_to_exitcode(status)
    if not killed and code not in (0, 1):
        raise SystemExit(f"audit of {path} failed with exit code {code}: {proc.stderr.read() if proc.stderr else ''}")
    if not killed:
        counts = json.loads(out.read_text())["counts"]
        row.update(analyses=counts.get("analyses"), pendingPods=counts.get("pendingPods"))
    return row


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--nodes", type=int, action="append", help="cluster size (repeatable); default 5000")
    ap.add_argument("--pods-per-node", type=int, default=30)
    ap.add_argument("--pending-per-node", type=float, default=2.0)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--only", choices=["shared", "distinct"], help="run one of the two rows")
    ap.add_argument("--timeout", type=float, default=900, help="kill an audit after this many seconds")
    ap.add_argument("--json", help="also write the figures to this file")
    a = ap.parse_args()
    rows = []
    print(f"{'nodes':>6} {'pods':>8} {'pending':>8} {'input':>9} | {'analyses':>8} {'audit s':>8} {'cpu s':>8} "
          f"{'peak MiB':>8}")
    for n in a.nodes or [5000]:
        pods, pending = n * a.pods_per_node, int(n * a.pending_per_node)
        for distinct in (False, True):
            tag = "distinct" if distinct else "shared"
            if a.only and a.only != tag:
                continue
            r = run_audit(cluster_file(n, pods, pending, a.seed, distinct), a.timeout)
            rows.append({"nodes": n, "pods": pods, "pending": pending, "input": tag, **r})
            secs = f"killed>{a.timeout:.0f}" if r["killed"] else f"{r['seconds']:.2f}"
            print(f"{n:>6} {pods:>8} {pending:>8} {tag:>9} | {r.get('analyses', '-')!s:>8} {secs:>8} "
                  f"{r['cpuSeconds']:>8} {r['peakMiB']:>8}", flush=True)
    if a.json:
        Path(a.json).write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
