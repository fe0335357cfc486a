#!/usr/bin/env python3
"""Benchmark: `podtriage audit --from FILE -o json` on generated clusters, next to merely parsing FILE.

    python benchmarks/bench_audit.py                      # 1,000 / 2,000 / 5,000 nodes
    python benchmarks/bench_audit.py --nodes 1000 --nodes 5000 --pods-per-node 30 --pending-share 0.07

Each measurement runs in a fresh process (wall time and that process's peak RSS, from wait4), so
the parse-only figure and the audit figure are comparable. Target (issue 5): the 5,000-node audit
in under 10 s and 2 GiB on 2 cores, and analysis (audit minus parse) costing no more than the parse.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PARSE = ("import sys; from podtriage.loaders.files import load_path; s = load_path(sys.argv[1]); "
         "print(len(s.nodes), len(s.pods))")


def measure_rss(cmd: list[str]) -> tuple[float, float, str]:
    """(wall seconds, peak RSS MiB, stdout) of one fresh child process (its own rusage, via os.wait4)."""
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, ru = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(cmd)} failed with exit code {proc.returncode}")
    return wall, ru.ru_maxrss / 1024, out


def cluster_file(nodes: int, pods: int, pending: int, seed: int) -> Path:
    path = Path(tempfile.gettempdir()) / f"podtriage-bench-{nodes}-{pods}-{pending}-{seed}.json"
    if not path.exists():
        subprocess.run([sys.executable, str(ROOT / "benchmarks" / "generate_cluster.py"), "--nodes", str(nodes),
                        "--pods", str(pods), "--pending", str(pending), "--seed", str(seed), "-o", str(path)],
                       check=True)
    return path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--nodes", type=int, action="append", help="cluster size (repeatable); default 1000 2000 5000")
    ap.add_argument("--pods-per-node", type=int, default=30)
    ap.add_argument("--pending-share", type=float, default=0.07)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", help="also write the figures to this file")
    a = ap.parse_args()
    sizes = a.nodes or [1000, 2000, 5000]
    rows = []
    print(f"{'nodes':>6} {'pods':>8} {'pending':>8} {'MiB':>5} | {'parse s':>8} {'parse MiB':>9} | "
          f"{'audit s':>8} {'audit MiB':>9} | {'analysis s':>10} {'analyses':>8} {'findings':>8}")
    for n in sizes:
        pods = n * a.pods_per_node
        pending = int(pods * a.pending_share)
        path = cluster_file(n, pods, pending, a.seed)
        size = path.stat().st_size / 2**20
        t_parse, rss_parse, _ = measure_rss([sys.executable, "-c", PARSE, str(path)])
        out_file = Path(tempfile.gettempdir()) / f"podtriage-bench-audit-{n}.json"
        t_audit, rss_audit, _ = measure_rss([sys.executable, "-m", "podtriage.cli", "audit", "--from", str(path),
                                             "-o", "json", "--out", str(out_file), "--fail-on", "none",
                                             "--no-progress"])
        doc = json.loads(out_file.read_text())
        row = {"nodes": n, "pods": pods, "pending": pending, "fileMiB": round(size, 1),
               "parseSeconds": round(t_parse, 2), "parsePeakMiB": round(rss_parse),
               "auditSeconds": round(t_audit, 2), "auditPeakMiB": round(rss_audit),
               "analysisSeconds": round(t_audit - t_parse, 2), "analyses": doc["counts"].get("analyses"),
               "findings": doc["counts"].get("findings"), "pendingPods": doc["counts"].get("pendingPods")}
        rows.append(row)
        print(f"{n:>6} {pods:>8} {pending:>8} {size:>5.0f} | {t_parse:>8.2f} {rss_parse:>9.0f} | "
              f"{t_audit:>8.2f} {rss_audit:>9.0f} | {t_audit - t_parse:>10.2f} {row['analyses']!s:>8} "
              f"{row['findings']!s:>8}", flush=True)
    if a.json:
        Path(a.json).write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
