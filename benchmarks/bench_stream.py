#!/usr/bin/env python3
"""Benchmark: a multi-GiB `kubectl get -o json` file is streamed, not loaded whole.

    python benchmarks/bench_stream.py                 # 5,000 nodes / 150,000 pods, ~2 GiB
    python benchmarks/bench_stream.py --target-gib 1 --nodes 1000 --pods 30000

Real `kubectl get pods -A -o json` output is mostly what podtriage drops: managedFields and the
last-applied-configuration annotation (often ten times the spec). This inflates a generated
cluster (benchmarks/generate_cluster.py) with both, writing the file item by item, until it
reaches the target size; then runs `podtriage explain` on one Pending pod of it in a fresh
process and reports wall time and peak RSS, next to the same for the lean file. Loaded whole,
the raw objects of a 2 GiB file alone would need well over 10 GiB.
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
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from generate_cluster import generate  # noqa: E402


def _managed_fields(obj: dict[str, Any], filler: str) -> list[dict[str, Any]]:
    spec_keys = {f"f:{k}": {} for k in (obj.get("spec") or {})}
    return [{"apiVersion": "v1", "fieldsType": "FieldsV1", "manager": m, "operation": op,
             "time": "2026-11-20T10:00:00Z", "fieldsV1": {"f:metadata": {"f:labels": {}, "f:annotations": {
                 "f:note": {}}}, "f:spec": spec_keys, "f:status": {"f:phase": {}, "f:filler": filler}}}
            for m, op in (("kube-controller-manager", "Update"), ("kubelet", "Update"), ("kubectl", "Apply"))]


def write_inflated(path: Path, nodes: int, pods: int, pending: int, target: int) -> tuple[int, str]:
    """Write the inflated List; returns (items written, one Pending pod 'ns/name')."""
    doc = generate(nodes, pods, pending, seed=1)
    items = doc["items"]
    per_item = max(0, target // max(1, len(items)) - 1500)
    filler = "x" * (per_item // 5)
    pending_pod = ""
    with open(path, "w") as f:
        f.write('{"apiVersion": "v1", "items": [\n')
        for i, obj in enumerate(items):
            meta = obj.setdefault("metadata", {})
            meta["managedFields"] = _managed_fields(obj, filler)
            meta.setdefault("annotations", {})["kubectl.kubernetes.io/last-applied-configuration"] = \
                json.dumps({"apiVersion": "v1", "kind": obj.get("kind"), "metadata": {"name": meta.get("name")},
                            "spec": obj.get("spec"), "note": filler})
            if not pending_pod and obj.get("kind") == "Pod" and (obj.get("status") or {}).get("phase") == "Pending":
                pending_pod = f"{meta.get('namespace')}/{meta.get('name')}"
            f.write(("," if i else "") + json.dumps(obj, indent=4) + "\n")
            items[i] = None
        f.write('], "kind": "List", "metadata": {"resourceVersion": ""}}\n')
    return len(items), pending_pod


def run(path: Path, pod: str) -> tuple[float, float, int]:
    ns, name = pod.split("/", 1)
    t = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "podtriage.cli", "explain", name, "-n", ns, "--from", str(path),
                             "-o", "json"], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    _, status, ru = os.wait4(proc.pid, 0)
    return time.perf_counter() - t, ru.ru_maxrss / 1024, os.waitstatus_to_exitcode(status)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--nodes", type=int, default=5000)
    ap.add_argument("--pods", type=int, default=150000)
    ap.add_argument("--pending", type=int, default=10000)
    ap.add_argument("--target-gib", type=float, default=2.0)
    ap.add_argument("--keep", action="store_true", help="keep the generated files")
    ap.add_argument("--write-into", help=argparse.SUPPRESS)  # internal: generate the files, print the pod
    a = ap.parse_args()
    if a.write_into:
        tmp = Path(a.write_into)
        _, pod = write_inflated(tmp / "inflated.json", a.nodes, a.pods, a.pending, int(a.target_gib * 2**30))
        (tmp / "lean.json").write_text(json.dumps(generate(a.nodes, a.pods, a.pending, seed=1)))
        print(pod)
        return 0
    tmp = Path(tempfile.mkdtemp(prefix="podtriage-stream-"))
    big, lean = tmp / "inflated.json", tmp / "lean.json"
    t = time.perf_counter()
    # Generated in a process of its own: a peak RSS survives exec, so the measured explain runs
    # must not be started from a process that once held the generated cluster.
    pod = subprocess.run([sys.executable, __file__, "--write-into", str(tmp), "--nodes", str(a.nodes),
                          "--pods", str(a.pods), "--pending", str(a.pending), "--target-gib", str(a.target_gib)],
                         check=True, capture_output=True, text=True).stdout.strip()
    print(f"wrote {big}: {big.stat().st_size / 2**30:.2f} GiB ({time.perf_counter() - t:.0f} s); "
          f"lean: {lean.stat().st_size / 2**20:.0f} MiB; target pod {pod}")
    for label, path in (("lean", lean), ("inflated", big)):
        wall, rss, code = run(path, pod)
        print(f"{label:9} {path.stat().st_size / 2**20:8.0f} MiB  explain: {wall:6.1f} s wall, "
              f"peak {rss:6.0f} MiB, exit {code}")
    if not a.keep:
        big.unlink()
        lean.unlink()
        tmp.rmdir()
    return 0


if __name__ == "__main__":
    sys.exit(main())
