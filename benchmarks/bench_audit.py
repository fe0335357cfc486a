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
# "merely parsing": the standard library's json.loads of the whole file, nothing else
JSON_ONLY = ("import gc, json, sys; gc.disable(); d = json.loads(open(sys.argv[1], 'rb').read()); "
             "print(len(d['items']))")


def measure_rss(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, float, str]:
    """(wall seconds, peak RSS MiB, stdout) of one fresh child process (its own rusage, via os.wait4).

    The loader may fork a helper for the second half of a large file (loaders/jsonstream.py); its
    peak is the larger of the two processes' (wait4 reports the largest of the tree), and the
    two run at the same time only while both halves are converted.
    """
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            env={**os.environ, **(env or {})})
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
    print(f"{'nodes':>6} {'pods':>8} {'pending':>8} {'MiB':>5} | {'json s':>7} | {'load s':>7} {'MiB':>5} | "
          f"{'audit s':>8} {'MiB':>5} | {'1-proc s':>8} {'MiB':>5} | {'analysis s':>10} {'analyses':>8}")
    for n in sizes:
        pods = n * a.pods_per_node
        pending = int(pods * a.pending_share)
        path = cluster_file(n, pods, pending, a.seed)
        size = path.stat().st_size / 2**20
        t_json, _, _ = measure_rss([sys.executable, "-c", JSON_ONLY, str(path)])
        t_parse, rss_parse, _ = measure_rss([sys.executable, "-c", PARSE, str(path)])
        out_file = Path(tempfile.gettempdir()) / f"podtriage-bench-audit-{n}.json"
        audit = [sys.executable, "-m", "podtriage.cli", "audit", "--from", str(path), "-o", "json",
                 "--out", str(out_file), "--fail-on", "none", "--no-progress"]
        t_audit, rss_audit, _ = measure_rss(audit)
        t_single, rss_single, _ = measure_rss(audit, env={"PODTRIAGE_PARALLEL": "0"})
        doc = json.loads(out_file.read_text())
        row = {"nodes": n, "pods": pods, "pending": pending, "fileMiB": round(size, 1),
               "jsonLoadsSeconds": round(t_json, 2),
               "parseSeconds": round(t_parse, 2), "parsePeakMiB": round(rss_parse),
               "auditSeconds": round(t_audit, 2), "auditPeakMiB": round(rss_audit),
               "auditOneProcessSeconds": round(t_single, 2), "auditOneProcessPeakMiB": round(rss_single),
               "analysisSeconds": round(t_audit - t_parse, 2), "analyses": doc["counts"].get("analyses"),
               "findings": doc["counts"].get("findings"), "pendingPods": doc["counts"].get("pendingPods")}
        rows.append(row)
        print(f"{n:>6} {pods:>8} {pending:>8} {size:>5.0f} | {t_json:>7.2f} | {t_parse:>7.2f} {rss_parse:>5.0f} | "
              f"{t_audit:>8.2f} {rss_audit:>5.0f} | {t_single:>8.2f} {rss_single:>5.0f} | "
              f"{t_audit - t_parse:>10.2f} {row['analyses']!s:>8}", flush=True)
    if a.json:
        Path(a.json).write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
