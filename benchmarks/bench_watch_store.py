#!/usr/bin/env python3
"""Benchmark (not a test): the watch's diagnosis in-process, from a Store filled with a snapshot
file's objects as the reflectors would fill it (no API server), under churn.

Measures the first diagnosis (every object converted), then --rounds rounds of --changes changes
each (pods bound to random nodes and Pending pods created, the oldest deleted, a FailedScheduling
event per Pending pod) followed by one diagnosis: the diagnosis's wall time (one core, nothing else
running in the process), classes analysed and reused, and the resident set after each round —
memory held must settle, not grow with the number of diagnoses.

    python -m benchmarks.generate_cluster --nodes 5000 --pods 150000 --pending 10000 -o /tmp/c.json
    python -m benchmarks.bench_watch_store /tmp/c.json --rounds 50
"""

from __future__ import annotations

import argparse
import collections
import gc
import json
import random
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tests.watch.offline import filled_watcher  # noqa: E402


def rss_mib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS"):
            return int(line.split()[1]) // 1024
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("file", help="a snapshot file (a JSON List, as generate_cluster.py writes)")
    ap.add_argument("--rounds", type=int, default=30)
    ap.add_argument("--changes", type=int, default=20, help="changes per round (one diagnosis per round)")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args(argv)

    raw = json.loads(Path(a.file).read_text())
    items = raw["items"] if isinstance(raw, dict) else raw
    w = filled_watcher(items)
    nodes = [o["metadata"]["name"] for o in items if o.get("kind") == "Node"]
    namespaces = sorted({o["metadata"].get("namespace", "default") for o in items if o.get("kind") == "Pod"})
    del raw, items
    gc.collect()
    print(f"store filled: {w.store.count('pods')} pods, {len(nodes)} nodes; RSS {rss_mib()} MiB", flush=True)

    t = time.perf_counter()
    w.latest = w.diagnose()
    print(f"first diagnosis {time.perf_counter() - t:.2f} s; RSS {rss_mib()} MiB", flush=True)
    rng = random.Random(a.seed)
    live: collections.deque[tuple[str, str]] = collections.deque()
    k = 0
    times, rss = [], []
    for rnd in range(a.rounds):
        for _ in range(a.changes):
            k += 1
            if len(live) > 50 and k % 2:
                ns, name = live.popleft()
                w.store.delete("pods", {"metadata": {"name": name, "namespace": ns}})
                w.store.delete("events", {"metadata": {"name": f"{name}.1", "namespace": ns}})
                continue
            ns, name, bound = rng.choice(namespaces), f"churn-{k:06d}", k % 4 < 2
            spec: dict = {"containers": [{"name": "app", "image": "i",
                                          "resources": {"requests": {"cpu": "100m" if bound else "64"}}}]}
            if bound:
                spec["nodeName"] = rng.choice(nodes)
            w.store.put("pods", {"apiVersion": "v1", "kind": "Pod", "spec": spec,
                                 "metadata": {"name": name, "namespace": ns, "labels": {"app": "churn"}},
                                 "status": {"phase": "Running" if bound else "Pending"}})
            if not bound:
                w.store.put("events", {
                    "apiVersion": "v1", "kind": "Event", "metadata": {"name": f"{name}.1", "namespace": ns},
                    "involvedObject": {"kind": "Pod", "name": name, "namespace": ns}, "reason": "FailedScheduling",
                    "message": f"0/{len(nodes)} nodes are available: {len(nodes)} Insufficient cpu.",
                    "type": "Warning", "count": 1, "source": {"component": "default-scheduler"}})
            live.append((ns, name))
        t = time.perf_counter()
        w.latest = d = w.diagnose()
        times.append(time.perf_counter() - t)
        rss.append(rss_mib())
        if rnd % 10 == 0 or rnd == a.rounds - 1:
            print(f"round {rnd}: {times[-1]:.2f} s, {d.analysed} analysed, {d.reused} reused, RSS {rss[-1]} MiB",
                  flush=True)
    print(json.dumps({"diagnosis_median_s": round(statistics.median(times), 3), "diagnosis_max_s": round(max(times), 3),
                      "rss_first_round_mib": rss[0], "rss_last_round_mib": rss[-1], "rss_max_mib": max(rss),
                      "freezes": w.freezes, "rounds": a.rounds, "changes_per_round": a.changes}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
