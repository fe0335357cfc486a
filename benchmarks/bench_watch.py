#!/usr/bin/env python3
"""Benchmark (not a test): `podtriage watch -A` on the real API server, at scale (issue 17).

Starts the e2e control plane (real etcd + kube-apiserver + kube-scheduler from tools/k8s/build.sh),
fills it like benchmarks/live_requests.py (--nodes Nodes with status, --pods bound Running pods,
--pending pods no node can take), then starts `podtriage watch -A --per-pod-metrics` as a
subprocess with the admin kubeconfig and measures:

- initial sync: from the process start to /readyz 200 (every LIST done and the first diagnosis);
- memory held: the process's resident set (VmRSS, and VmHWM, its peak) after the sync and at the end,
  and the largest VmRSS sampled every 0.5 s during the churn;
- steady state with churn: --rate pod changes per second for --seconds (pending pods created and
  deleted, bound pods created and deleted, alternating), the process's CPU (user+system) over that
  time, in cores;
- diagnosis latency after a change: during the churn, --probes times, a new pod no node can take
  is created and /metrics is polled until its `podtriage_pending_pod_info` series appears: the
  time from the creation's answer to the watch's answer (p50, p99, max); plus the diagnosis
  duration histogram's mean from /metrics.

    python -m benchmarks.bench_watch --nodes 2000 --pods 20000 --pending 1000
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks.live_requests import Api, pod_body, populate  # noqa: E402
from tests.e2e.controlplane import ControlPlane, build_binaries  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime


def memory_mib(pid: int) -> dict[str, float]:
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        k, _, v = line.partition(":")
        if k in ("VmRSS", "VmHWM"):
            out[k] = int(v.split()[0]) / 1024
    return out


def get(url: str, timeout: float = 30.0) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except OSError:
        return 0, b""


def metric(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return 0.0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--nodes", type=int, default=2000)
    ap.add_argument("--pods", type=int, default=20000)
    ap.add_argument("--pending", type=int, default=1000)
    ap.add_argument("--rate", type=float, default=50.0, help="pod changes per second during the churn")
    ap.add_argument("--seconds", type=float, default=60.0, help="how long the churn lasts")
    ap.add_argument("--probes", type=int, default=20)
    ap.add_argument("--workers", type=int, default=8)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", default=None, help="also write the figures to this file")
    a = ap.parse_args(argv)

    cp = ControlPlane(bindir=build_binaries())
    cp.start()
    proc = None
    try:
        api = Api(cp)
        made = populate(api, a.nodes, a.pods, a.pending, a.workers, a.seed)
        time.sleep(5)  # the scheduler tries the pending pods: FailedScheduling events
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        base = f"http://127.0.0.1:{port}"
        t0 = time.monotonic()
        proc = subprocess.Popen([sys.executable, "-m", "podtriage.cli", "watch", "-A", "--per-pod-metrics",
                                 "--listen", f"127.0.0.1:{port}", "--kubeconfig", str(cp.kubeconfig_path)],
                                cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        while get(base + "/readyz", 2.0)[0] != 200:
            if proc.poll() is not None:
                raise RuntimeError(f"podtriage watch exited {proc.returncode}: {proc.stderr.read() if proc.stderr else ''}")
            time.sleep(0.1)
        sync = time.monotonic() - t0
        mem_sync = memory_mib(proc.pid)
        _, body = get(base + "/api/v1/findings")
        counts = json.loads(body)["counts"]
        print(f"{a.nodes} nodes, {counts['pods']} pods, {counts['pendingPods']} Pending: initial sync + first "
              f"diagnosis {sync:.1f} s, RSS {mem_sync['VmRSS']:.0f} MiB", flush=True)

        # churn
        rng = random.Random(a.seed)
        ns_list = made["namespaces"]
        nodes = [f"node-{i:05d}" for i in range(a.nodes) if i % 17 % 4 != 2]
        stop = threading.Event()
        changes = [0]
        live: list[tuple[str, str]] = []

        def churn() -> None:
            i = 0
            next_at = time.monotonic()
            while not stop.is_set():
                next_at += 1.0 / a.rate
                if len(live) > 50 and i % 2:
                    ns, name = live.pop(0)
                    api.call("DELETE", f"/api/v1/namespaces/{ns}/pods/{name}?gracePeriodSeconds=0")
                else:
                    ns = rng.choice(ns_list)
                    name = f"churn-{i:06d}"
                    bound = i % 4 < 2
                    api.call("POST", f"/api/v1/namespaces/{ns}/pods",
                             pod_body(ns, name, "churn", rng.choice(nodes) if bound else None,
                                      100 if bound else 64000))
                    live.append((ns, name))
                changes[0] += 1
                i += 1
                pause = next_at - time.monotonic()
                if pause > 0:
                    time.sleep(pause)

        churn_rss: list[float] = []  # VmRSS every 0.5 s while the churn runs (the sync's peak is VmHWM)

        def sample_rss() -> None:
            while not stop.is_set():
                churn_rss.append(memory_mib(proc.pid)["VmRSS"])
                stop.wait(0.5)

        workers = [threading.Thread(target=churn, daemon=True), threading.Thread(target=sample_rss, daemon=True)]
        cpu0, w0 = cpu_seconds(proc.pid), time.monotonic()
        for t in workers:
            t.start()
        latencies = []
        probe_every = a.seconds / max(a.probes, 1)
        for k in range(a.probes):
            time.sleep(probe_every * 0.5)
            ns = rng.choice(ns_list)
            name = f"probe-{k:04d}"
            api.call("POST", f"/api/v1/namespaces/{ns}/pods", pod_body(ns, name, "probe", None, 64000))
            created = time.monotonic()
            needle = f'pod="{name}"'.encode()
            while True:
                status, text = get(base + "/metrics")
                if status == 200 and needle in text:
                    break
                if time.monotonic() - created > 120:
                    raise RuntimeError(f"probe {name} not seen after 120 s")
                time.sleep(0.02)
            latencies.append(time.monotonic() - created)
            time.sleep(max(probe_every * 0.5 - latencies[-1], 0))
        while time.monotonic() - w0 < a.seconds:
            time.sleep(0.2)
        stop.set()
        for t in workers:
            t.join()
        wall = time.monotonic() - w0
        cpu = (cpu_seconds(proc.pid) - cpu0) / wall
        mem_end = memory_mib(proc.pid)
        _, m = get(base + "/metrics")
        text = m.decode()
        n_diag = metric(text, "podtriage_diagnosis_duration_seconds_count")
        mean_diag = metric(text, "podtriage_diagnosis_duration_seconds_sum") / max(n_diag, 1)
        lat = sorted(latencies)
        p99 = lat[min(len(lat) - 1, int(round(0.99 * (len(lat) - 1))))]
        figures = {
            "nodes": a.nodes, "pods": counts["pods"], "pending": counts["pendingPods"],
            "initial_sync_s": round(sync, 2), "rss_after_sync_mib": round(mem_sync["VmRSS"]),
            "churn_changes_per_s": round(changes[0] / wall, 1), "churn_seconds": round(wall, 1),
            "cpu_cores_during_churn": round(cpu, 2), "rss_end_mib": round(mem_end["VmRSS"]),
            "rss_peak_mib": round(mem_end["VmHWM"]), "rss_churn_max_mib": round(max(churn_rss, default=0)),
            # VmRSS at 0, 25, 50, 75 and 100% of the churn: growing, or settled?
            "rss_churn_quartiles_mib": [round(churn_rss[min(len(churn_rss) - 1, q * (len(churn_rss) - 1) // 4)])
                                        for q in range(5)] if churn_rss else [],
            "diagnoses": int(n_diag),
            "diagnosis_mean_s": round(mean_diag, 3),
            "change_to_answer_p50_s": round(statistics.median(lat), 3), "change_to_answer_p99_s": round(p99, 3),
            "change_to_answer_max_s": round(lat[-1], 3), "probes": len(lat),
        }
        print(json.dumps(figures, indent=2))
        if a.json:
            Path(a.json).write_text(json.dumps(figures, indent=2) + "\n")
    finally:
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
        cp.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
