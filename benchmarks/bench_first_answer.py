#!/usr/bin/env python3
"""Benchmark (not a test): the time to a first answer, `podtriage explain POD` live, against the
time kubectl (a Go client) takes to LIST what that answer needs (issue 15).

Starts the e2e control plane (real etcd + kube-apiserver + kube-scheduler from tools/k8s/build.sh),
fills it like benchmarks/live_requests.py (--nodes Nodes with status, --pods bound pods, --pending
pods no node can take), then runs, alternating, --rounds times:

    podtriage explain POD -n NS -o json
    kubectl get nodes -o json  then  kubectl get pods -A -o json

each as a fresh process with the same admin kubeconfig, and prints the wall time of each round
and the medians. The bar from the issue: explain within 1.5x of the two kubectl LISTs.

    python -m benchmarks.bench_first_answer --nodes 2000 --pods 6000
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks.live_requests import Api, populate  # noqa: E402
from tests.e2e.controlplane import ControlPlane, build_binaries  # noqa: E402


def timed(argv: list[str]) -> tuple[float, int]:
    t = time.perf_counter()
    p = subprocess.run(argv, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=600, check=False)
    wall = time.perf_counter() - t
    if p.returncode not in (0, 1):
        print(f"{argv[:3]}: exit {p.returncode}: {p.stderr.decode()[-500:]}", file=sys.stderr)
    return wall, p.returncode


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--nodes", type=int, default=2000)
    ap.add_argument("--pods", type=int, default=6000)
    ap.add_argument("--pending", type=int, default=30)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--workers", type=int, default=8)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args(argv)
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        print("kubectl not found on PATH", file=sys.stderr)
        return 2
    cp = ControlPlane(bindir=build_binaries())
    cp.start()
    try:
        made = populate(Api(cp), a.nodes, a.pods, a.pending, a.workers, a.seed)
        time.sleep(5)  # the scheduler tries the pending pods: FailedScheduling events
        ns, pod = made["pending"][0]
        kcfg = str(cp.kubeconfig_path)
        explain = [sys.executable, "-m", "podtriage.cli", "explain", pod, "-n", ns, "-o", "json", "--kubeconfig", kcfg]
        lists = [[kubectl, "--kubeconfig", kcfg, "get", "nodes", "-o", "json"],
                 [kubectl, "--kubeconfig", kcfg, "get", "pods", "-A", "-o", "json"]]
        ours, theirs = [], []
        print(f"{a.nodes} nodes, {a.pods} bound pods, {a.pending} pending; explain {ns}/{pod}")
        print(f"{'round':>5} {'explain s':>10} {'kubectl LISTs s':>16}")
        for r in range(a.rounds):
            ours.append(timed(explain)[0])
            theirs.append(sum(timed(c)[0] for c in lists))
            print(f"{r + 1:>5} {ours[-1]:>10.2f} {theirs[-1]:>16.2f}", flush=True)
    finally:
        cp.stop()
    mo, mt = statistics.median(ours), statistics.median(theirs)
    print(f"median: explain {mo:.2f} s, kubectl get nodes + get pods -A {mt:.2f} s, ratio {mo / mt:.2f} "
          f"(bar: 1.5)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
