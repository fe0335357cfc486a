#!/usr/bin/env python3
"""Benchmark (not a test): how many API requests podtriage issues against a large live cluster.

Starts the e2e control plane (tests/e2e/controlplane.py: real etcd + kube-apiserver +
kube-scheduler built by tools/k8s/build.sh, with a Metadata-level audit log), fills it with
--nodes Nodes (with status) and --pods bound pods spread over namespaces plus --pending pods
that no node can take, then runs, as subprocesses each under an identity of its own:

    podtriage snapshot -A -o FILE.json.gz
    podtriage explain POD -n NS -o json
    podtriage audit -A -o json            (when the CLI has it)

and counts from the audit log the requests each issued, by verb and resource. The count must
not grow with the cluster except through pagination: one request per page of each LIST,
ceil(items / page size). Prints wall and CPU time per command and a table.

    python -m benchmarks.live_requests                      # 5000 nodes, 15000 pods, 300 pending
    python -m benchmarks.live_requests --nodes 500 --pods 1500 --pending 30
"""

from __future__ import annotations

import argparse
import json
import math
import random
import resource
import subprocess
import sys
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tests.e2e.controlplane import (  # noqa: E402
    ADMIN_USER,
    NS_READER_USER,
    ControlPlane,
    bind_cluster_role,
    build_binaries,
)

PAGE_SIZE = 500  # podtriage's default --page-size for LISTs (collect_live)
USERS = {"snapshot": "podtriage-bench-snapshot", "explain": "podtriage-bench-explain",
         "audit": "podtriage-bench-audit"}
T = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


class Api:
    """Minimal JSON-over-HTTPS client for the admin identity (the kubernetes client's model
    objects would make 40,000 creations several times slower)."""

    def __init__(self, cp: ControlPlane) -> None:
        import urllib3

        self.server = cp.server
        self.pool = urllib3.PoolManager(maxsize=16, ca_certs=str(cp.ca_path), cert_reqs="CERT_REQUIRED",
                                        assert_hostname=False)
        self.headers = {"Authorization": f"Bearer {cp.token_for(ADMIN_USER)}", "Content-Type": "application/json",
                        "Accept": "application/json"}

    def call(self, method: str, path: str, body: Any = None, content_type: str = "application/json") -> Any:
        headers = dict(self.headers, **{"Content-Type": content_type})
        for attempt in range(5):
            r = self.pool.request(method, self.server + path, headers=headers,
                                  body=None if body is None else json.dumps(body).encode())
            if r.status == 429 or r.status >= 500:
                time.sleep(0.2 * (attempt + 1))
                continue
            if r.status >= 300 and not (method == "POST" and r.status == 409):
                raise RuntimeError(f"{method} {path}: HTTP {r.status} {r.data[:300]!r}")
            return json.loads(r.data) if r.data else None
        raise RuntimeError(f"{method} {path}: still failing after retries")

    def count(self, path: str) -> int:
        n, token = 0, ""
        while True:
            doc = self.call("GET", f"{path}?limit=500" + (f"&continue={token}" if token else ""))
            n += len(doc.get("items") or ())
            token = (doc.get("metadata") or {}).get("continue") or ""
            if not token:
                return n


ZONES = ["zone-a", "zone-b", "zone-c"]


def node_body(i: int) -> tuple[dict, dict]:
    name = f"node-{i:05d}"
    pool = ("general", "memory", "gpu", "infra")[i % 17 % 4]
    labels = {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
              "topology.kubernetes.io/zone": ZONES[i % 3], "pool": pool}
    taints = [{"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}] if pool == "gpu" else []
    alloc = {"cpu": "8", "memory": "32Gi", "pods": "110", "ephemeral-storage": "100Gi"}
    status = {"capacity": alloc, "allocatable": alloc,
              "conditions": [{"type": t, "status": s, "reason": r, "lastHeartbeatTime": T, "lastTransitionTime": T}
                             for t, s, r in (("MemoryPressure", "False", "KubeletHasSufficientMemory"),
                                             ("DiskPressure", "False", "KubeletHasNoDiskPressure"),
                                             ("PIDPressure", "False", "KubeletHasSufficientPID"),
                                             ("Ready", "True", "KubeletReady"))],
              "nodeInfo": {"architecture": "amd64", "operatingSystem": "linux", "kubeletVersion": "v1.37.2",
                           "bootID": "", "containerRuntimeVersion": "", "kernelVersion": "", "kubeProxyVersion": "",
                           "machineID": "", "osImage": "", "systemUUID": ""}}
    return ({"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": labels},
             "spec": {"taints": taints} if taints else {}}, status)


def pod_body(ns: str, name: str, app: str, node: str | None, cpu_m: int, selector: dict | None = None) -> dict:
    spec: dict[str, Any] = {
        "containers": [{"name": "app", "image": f"registry.example.com/{app}:1.0",
                        "resources": {"requests": {"cpu": f"{cpu_m}m", "memory": "128Mi"}}}],
        "tolerations": [{"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute",
                         "tolerationSeconds": 300}],
    }
    if node:
        spec["nodeName"] = node
    if selector:
        spec["nodeSelector"] = selector
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": ns, "labels": {"app": app}}, "spec": spec}


def populate(api: Api, n_nodes: int, n_pods: int, n_pending: int, workers: int, seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    namespaces = [f"team-{i:03d}" for i in range(max(5, n_pods // 300))]
    t0 = time.monotonic()
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(lambda ns: api.call("POST", "/api/v1/namespaces",
                                          {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}),
                      namespaces))

        def make_node(i: int) -> None:
            body, status = node_body(i)
            api.call("POST", "/api/v1/nodes", body)
            api.call("PATCH", f"/api/v1/nodes/{body['metadata']['name']}/status", {"status": status},
                     "application/merge-patch+json")

        list(pool.map(make_node, range(n_nodes)))
        t_nodes = time.monotonic() - t0
        print(f"  {n_nodes} nodes in {t_nodes:.0f}s", flush=True)

        schedulable = [f"node-{i:05d}" for i in range(n_nodes) if i % 17 % 4 != 2]
        jobs: list[tuple[str, dict, bool]] = []
        made = w = 0
        while made < n_pods:
            ns, app = rng.choice(namespaces), f"svc-{w:05d}"
            w += 1
            for r in range(min(rng.choice([1, 2, 3, 5, 10]), n_pods - made)):
                jobs.append((ns, pod_body(ns, f"{app}-{r:03d}", app, rng.choice(schedulable),
                                          rng.choice([50, 100, 250])), True))
                made += 1
        pending: list[tuple[str, str]] = []
        for i in range(n_pending):
            ns, app = rng.choice(namespaces), f"pending-{i % 30:02d}"
            name = f"{app}-{i:04d}"
            selector = {"pool": "does-not-exist"} if i % 2 else None
            cpu = 250 if selector else 64000  # no node has 64 cpus
            jobs.append((ns, pod_body(ns, name, app, None, cpu, selector), False))
            pending.append((ns, name))

        def make_pod(job: tuple[str, dict, bool]) -> None:
            ns, body, running = job
            api.call("POST", f"/api/v1/namespaces/{ns}/pods", body)
            if running:
                api.call("PATCH", f"/api/v1/namespaces/{ns}/pods/{body['metadata']['name']}/status",
                         {"status": {"phase": "Running", "startTime": T, "conditions": [
                             {"type": "PodScheduled", "status": "True", "lastTransitionTime": T},
                             {"type": "Ready", "status": "True", "lastTransitionTime": T}]}},
                         "application/merge-patch+json")

        list(pool.map(make_pod, jobs))
    print(f"  {n_pods} bound + {n_pending} pending pods in {time.monotonic() - t0 - t_nodes:.0f}s", flush=True)
    return {"namespaces": namespaces, "pending": pending}


def run(name: str, argv: list[str], kubeconfig: Path) -> dict[str, Any]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.monotonic()
    p = subprocess.run([sys.executable, "-m", "podtriage.cli", *argv, "--kubeconfig", str(kubeconfig)],
                       cwd=REPO, capture_output=True, text=True, timeout=1800, check=False)
    wall = time.monotonic() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if p.returncode not in (0, 1):
        print(f"{name}: exit {p.returncode}\n{p.stderr[-2000:]}", file=sys.stderr)
    return {"name": name, "rc": p.returncode, "wall": wall, "cpu": cpu, "stdout": p.stdout,
            "peak_rss_mib": after.ru_maxrss / 1024}


def requests_by_user(cp: ControlPlane) -> dict[str, Counter]:
    out: dict[str, Counter] = defaultdict(Counter)
    for e in cp.audit_events():
        user = (e.get("user") or {}).get("username", "")
        if user not in USERS.values():
            continue
        ref = e.get("objectRef") or {}
        res = ref.get("resource") or e.get("requestURI", "").split("?")[0]
        if ref.get("subresource"):
            res += "/" + ref["subresource"]
        scope = "ns" if ref.get("namespace") else "cluster"
        out[user][(e.get("verb", ""), res, scope)] += 1
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--nodes", type=int, default=5000)
    ap.add_argument("--pods", type=int, default=15000)
    ap.add_argument("--pending", type=int, default=300)
    ap.add_argument("--workers", type=int, default=8)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", default="/tmp/podtriage-live-snapshot.json.gz")
    a = ap.parse_args(argv)

    t = time.monotonic()
    cp = ControlPlane(bindir=build_binaries(), extra_users=(NS_READER_USER, *USERS.values()))
    cp.start()
    print(f"control plane up in {time.monotonic() - t:.1f}s", flush=True)
    results: list[dict[str, Any]] = []
    try:
        for user in USERS.values():
            bind_cluster_role(cp, user)
        api = Api(cp)
        print(f"creating {a.nodes} nodes, {a.pods} bound pods, {a.pending} pending ({a.workers} workers)",
              flush=True)
        made = populate(api, a.nodes, a.pods, a.pending, a.workers, a.seed)
        time.sleep(5)  # let the scheduler try (and fail) the pending pods: FailedScheduling events
        items = {"nodes": api.count("/api/v1/nodes"), "pods": api.count("/api/v1/pods"),
                 "events": api.count("/api/v1/events"), "namespaces": api.count("/api/v1/namespaces")}
        print("in the cluster: " + ", ".join(f"{v} {k}" for k, v in items.items()), flush=True)

        kcfg = {k: cp.kubeconfig_for(u) for k, u in USERS.items()}
        ns, pod = made["pending"][0]
        results.append(run("snapshot", ["snapshot", "-A", "-o", a.out], kcfg["snapshot"]))
        results.append(run("explain", ["explain", pod, "-n", ns, "-o", "json"], kcfg["explain"]))
        has_audit = subprocess.run([sys.executable, "-m", "podtriage.cli", "audit", "--help"], cwd=REPO,
                                   capture_output=True, check=False).returncode == 0
        if has_audit:
            results.append(run("audit", ["audit", "-A", "-o", "json", "--no-progress"], kcfg["audit"]))
        time.sleep(2)  # the audit log is written asynchronously
        counts = requests_by_user(cp)
    finally:
        cp.stop()

    print(f"\n{'command':10} {'exit':>4} {'wall s':>7} {'cpu s':>7} {'requests':>8}  largest child RSS so far")
    for r in results:
        total = sum(counts.get(USERS[r["name"]], Counter()).values())
        print(f"{r['name']:10} {r['rc']:>4} {r['wall']:7.1f} {r['cpu']:7.1f} {total:>8}  {r['peak_rss_mib']:.0f} MiB")
    expected_pages = {k: math.ceil(v / PAGE_SIZE) for k, v in items.items()}
    print(f"\nexpected pages per cluster-wide LIST at limit={PAGE_SIZE}: "
          + ", ".join(f"{k} {v}" for k, v in expected_pages.items()))
    print(f"\n{'command':10} {'verb':6} {'resource':28} {'scope':7} {'count':>6}")
    bounded = True
    for r in results:
        for (verb, res, scope), n in sorted(counts.get(USERS[r["name"]], Counter()).items()):
            note = ""
            if verb == "list" and res in expected_pages and scope == "cluster":
                ok = n <= expected_pages[res] + 1  # +1: pods are also listed once more for kube-system
                bounded &= ok or r["name"] != "snapshot"
                note = f"  (pages expected: {expected_pages[res]})"
            print(f"{r['name']:10} {verb:6} {res:28} {scope:7} {n:>6}{note}")
    print("\nrequest count bounded by pagination:", "yes" if bounded else "NO")
    return 0 if bounded and all(r["rc"] in (0, 1) for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
