"""`podtriage watch` on the real control plane: converges to what a fresh audit says, survives faults.

`podtriage watch -A` runs as a subprocess, as its own ``podtriage-cli`` identity. A scripted
sequence changes the cluster (nodes created, relabelled, tainted, cordoned and deleted; pods the
real kube-scheduler rejects, pods bound, pods deleted; an event written) and after EVERY step the
test polls until the watch's `/api/v1/findings` equals a fresh audit (the `podtriage audit -o
json` code path, collect_live + run_audit, run in-process at the same moment), its `/metrics`
counts equal that audit's Prometheus counts, and `/api/v1/explain/NS/POD` equals a fresh `explain
-o json` for each Pending pod: within 2 s of the change. At the end, the findings also equal a
`podtriage audit -o json` subprocess.

The fault test runs the watch through the fault proxy (faultproxy.py): watch streams cut mid-event,
410 Gone on the watch request and as an ERROR event, 429 with Retry-After, and the API server
unreachable for a while (every request reset and every stream cut, as a restart looks to a client):
the watch counts the restarts, keeps serving the last good answer marked stale (metric and JSON),
and converges again after it recovers.

Times in the answers (generated, judgedAt, snapshotTime, ages, durations) differ by construction
and are left out of the comparison; everything else must be equal.
"""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from .controlplane import PODTRIAGE_CLI_USER, READ_VERBS, ExternalCluster, podtriage_audit_events
from .faultproxy import Fault, FaultProxy
from .scenarios import Podtriage, pod_body, wait_for_verdict

pytestmark = pytest.mark.e2e

CONVERGE_WITHIN = 2.0  # seconds after a change
VOLATILE = frozenset({"generated", "durationSeconds", "judgedAt", "snapshotTime", "stale", "lastSync", "ageSeconds",
                      "oldestPendingSeconds", "age", "pendingByAge"})
TIMELINE: list[dict[str, Any]] = []  # step -> seconds to converge (printed at the end)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def normalize(doc: Any) -> Any:
    """The document without the fields that differ by the time they were made."""
    if isinstance(doc, dict):
        return {k: normalize(v) for k, v in doc.items() if k not in VOLATILE}
    if isinstance(doc, list):
        return [normalize(v) for v in doc]
    return doc


def parse_metrics(text: str) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    """Prometheus text -> {name: {sorted label pairs: value}} (checks every line parses)."""
    out: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    line_rx = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
    label_rx = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = line_rx.match(line)
        assert m, f"not a Prometheus sample line: {line!r}"
        labels = tuple(sorted(label_rx.findall(m.group(2) or "")))
        out.setdefault(m.group(1), {})[labels] = float(m.group(3))
    return out


@dataclass
class WatchProcess:
    proc: subprocess.Popen
    base: str
    argv: list[str]
    stderr_lines: list[str] = field(default_factory=list)

    def get(self, path: str, timeout: float = 5.0) -> tuple[int, bytes]:
        try:
            with urllib.request.urlopen(self.base + path, timeout=timeout) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def json(self, path: str) -> tuple[int, Any]:
        status, body = self.get(path)
        return status, json.loads(body)

    def metrics(self) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
        status, body = self.get("/metrics")
        assert status == 200
        return parse_metrics(body.decode())

    def wait_ready(self, timeout: float = 60.0) -> None:
        until = time.monotonic() + timeout
        while time.monotonic() < until:
            assert self.proc.poll() is None, f"podtriage watch exited {self.proc.returncode}: {self.stderr()}"
            try:
                if self.get("/readyz", timeout=1.0)[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"podtriage watch not ready after {timeout}s: {self.stderr()}")

    def stderr(self) -> str:
        return "".join(self.stderr_lines)

    def stop(self) -> tuple[int, str]:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            _, err = self.proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            _, err = self.proc.communicate()
        return self.proc.returncode, err


def start_watch(cli: Podtriage, *args: str) -> WatchProcess:
    port = _free_port()
    argv, proc = cli.start("watch", "--listen", f"127.0.0.1:{port}", *args)
    return WatchProcess(proc, f"http://127.0.0.1:{port}", argv)


# --------------------------------------------------------------------------------------------
# the fresh answers to compare with (the audit's and explain's own code paths, in-process)


@dataclass
class Fresh:
    audit: dict[str, Any]
    prometheus: str
    explains: dict[str, dict[str, Any]]  # "ns/pod" -> explain document


def fresh_answers(kubeconfig: Path, pods: list[tuple[str, str]]) -> Fresh:
    """What `podtriage audit -o json` / `-o prometheus` and `explain POD -n NS -o json` say now."""
    from podtriage.analyze import Explainer
    from podtriage.audit.render_machine import audit_document, render_prometheus
    from podtriage.audit.run import AuditOptions, run_audit
    from podtriage.collect.live import collect_live, require_pods
    from podtriage.render.structured import report_document
    from podtriage.rulebook import load_rules

    rules = load_rules()
    snap = collect_live(kubeconfig=str(kubeconfig), scope="all").snapshot
    require_pods(snap, None)
    report = run_audit(snap, rules, AuditOptions())
    explains = {}
    for ns, name in pods:
        # explain's own collection: the namespace, events of the pod, its claims and controller
        psnap = collect_live(kubeconfig=str(kubeconfig), namespaces=[ns], scope="pod", pod_name=name).snapshot
        explains[f"{ns}/{name}"] = report_document(Explainer(psnap, rules).explain(name, ns))
    return Fresh(audit_document(report), render_prometheus(report), explains)


def expected_metrics(fresh: Fresh) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    """The watch's diagnosis gauges as the audit's own outputs say they must be."""
    prom = parse_metrics(fresh.prometheus)
    severity_of_rule = {}
    for f in fresh.audit["findings"] + fresh.audit["suppressed"]:
        severity_of_rule[f["rootCause"]["rule"]] = f["rootCause"]["severity"]
    pending = {}
    for labels, n in prom.get("podtriage_pending_pods", {}).items():
        d = dict(labels)
        d["severity"] = severity_of_rule.get(d["rule"], "none")
        pending[tuple(sorted(d.items()))] = n
    blocked: dict[tuple[tuple[str, str], ...], set[str]] = {}
    for f in fresh.audit["findings"]:
        if f["kind"] != "blocking":
            continue
        for w in f["workloads"]:
            k = tuple(sorted({"namespace": w["namespace"], "kind": w["kind"],
                              "category": f["rootCause"]["category"]}.items()))
            blocked.setdefault(k, set()).add(f"{w['kind']}/{w['namespace']}/{w['name']}")
    return {"podtriage_pending_pods": pending,
            "podtriage_workloads_blocked": {k: float(len(v)) for k, v in blocked.items()}}


def _unproxied(doc: Any) -> Any:
    """Without the server URL and context name (the watch reads through the fault proxy)."""
    doc = normalize(doc)
    doc["source"] = {k: v for k, v in doc["source"].items() if k not in ("server", "context")}
    return doc


def compare(watch: WatchProcess, fresh: Fresh, proxied: bool = False) -> list[str]:
    """Differences between what the watch serves and the fresh answers ([] when equal)."""
    problems = []
    norm = _unproxied if proxied else normalize
    status, doc = watch.json("/api/v1/findings")
    if status != 200:
        return [f"/api/v1/findings: HTTP {status}"]
    if norm(doc) != norm(fresh.audit):
        a, w = norm(fresh.audit), norm(doc)
        keys = sorted(k for k in set(a) | set(w) if a.get(k) != w.get(k))
        problems.append("findings differ in " + ", ".join(keys) + ": audit "
                        + json.dumps({k: a.get(k) for k in keys})[:600] + " | watch "
                        + json.dumps({k: w.get(k) for k in keys})[:600])
    got = watch.metrics()
    for name, want in expected_metrics(fresh).items():
        have = got.get(name, {})
        if have != want:
            problems.append(f"{name}: watch {sorted(have.items())} != audit {sorted(want.items())}")
    for key, want_doc in fresh.explains.items():
        status, have_doc = watch.json(f"/api/v1/explain/{key}")
        if status != 200 or norm(have_doc) != norm(want_doc):
            problems.append(f"explain {key}: HTTP {status}, documents differ")
    return problems


def converge(step: str, watch: WatchProcess, kubeconfig: Path, pods: list[tuple[str, str]],
             changed_at: float, proxied: bool = False) -> float:
    """Poll until the watch equals a fresh audit; fail unless it does within CONVERGE_WITHIN of the change."""
    last: list[str] = []
    while True:
        fresh = fresh_answers(kubeconfig, pods)
        last = compare(watch, fresh, proxied)
        now = time.monotonic()  # an upper bound: the comparison itself takes a few hundred ms
        if not last:
            took = now - changed_at
            TIMELINE.append({"step": step, "converged_within_s": round(max(took, 0.0), 3)})
            return took
        if now - changed_at > CONVERGE_WITHIN:
            raise AssertionError(f"step {step!r}: the watch did not converge within {CONVERGE_WITHIN}s:\n"
                                 + "\n".join(last) + "\n--- watch stderr ---\n" + watch.stderr())
        time.sleep(0.1)


# --------------------------------------------------------------------------------------------


@pytest.fixture
def watch_all(podtriage_cli, clean_nodes, cli_kubeconfig) -> Iterator[WatchProcess]:
    w = start_watch(podtriage_cli, "-A")
    try:
        w.wait_ready()
        yield w
    finally:
        code, err = w.stop()
        w.stderr_lines.append(err)
        assert code == 0, f"podtriage watch exited {code} on SIGTERM: {err}"
        assert "Traceback" not in err, err


def _node_patch(cp: Any, name: str, body: dict[str, Any]) -> None:
    cp.core_v1().patch_node(name, body)


def test_watch_converges_after_every_step(control_plane, watch_all, e2e_namespace, cli_kubeconfig):
    cp, ns, w = control_plane, e2e_namespace, watch_all
    core = cp.core_v1()
    pods: list[tuple[str, str]] = []
    steps: list[tuple[str, Callable[[], None]]] = []

    def step(name: str) -> Callable[[Callable[[], None]], Callable[[], None]]:
        def add(fn: Callable[[], None]) -> Callable[[], None]:
            steps.append((name, fn))
            return fn
        return add

    @step("nodes created")
    def _() -> None:
        cp.create_node("watch-small", allocatable={"cpu": "2"}, labels={"pool": "general"})
        cp.create_node("watch-gpu", labels={"pool": "batch"}, taints=["dedicated=gpu:NoSchedule"])

    @step("a pod larger than any node")
    def _() -> None:
        core.create_namespaced_pod(ns, pod_body("too-big", requests={"cpu": "64"}))
        pods.append((ns, "too-big"))
        wait_for_verdict(cp, ns, "too-big")

    @step("a pod selecting a pool no node has")
    def _() -> None:
        core.create_namespaced_pod(ns, pod_body("wants-gpu", requests={"cpu": "1"}, nodeSelector={"pool": "gpu"}))
        pods.append((ns, "wants-gpu"))
        wait_for_verdict(cp, ns, "wants-gpu")

    @step("node relabelled: the pool exists, behind a taint")
    def _() -> None:
        _node_patch(cp, "watch-gpu", {"metadata": {"labels": {"pool": "gpu"}}})
        time.sleep(1.5)  # the scheduler retries on the node update and writes its new verdict

    @step("a pod that fits, bound by the scheduler")
    def _() -> None:
        core.create_namespaced_pod(ns, pod_body("fits", requests={"cpu": "1"}))
        until = time.monotonic() + 30
        while not core.read_namespaced_pod("fits", ns).spec.node_name:
            assert time.monotonic() < until, "the scheduler did not bind pod fits"
            time.sleep(0.1)

    @step("the only general node tainted")
    def _() -> None:
        _node_patch(cp, "watch-small", {"spec": {"taints": [{"key": "maintenance", "value": "true",
                                                             "effect": "NoSchedule"}]}})
        core.create_namespaced_pod(ns, pod_body("after-taint", requests={"cpu": "500m"}))
        pods.append((ns, "after-taint"))
        wait_for_verdict(cp, ns, "after-taint")

    @step("the general node cordoned, taint removed")
    def _() -> None:
        _node_patch(cp, "watch-small", {"spec": {"taints": None, "unschedulable": True}})
        time.sleep(1.5)

    @step("a pod bound directly to a node")
    def _() -> None:
        cp.create_bound_pod(ns, "bound", "watch-gpu", requests={"cpu": "3"})

    @step("an event about a Pending pod")
    def _() -> None:
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        core.create_namespaced_event(ns, {
            "apiVersion": "v1", "kind": "Event", "metadata": {"name": f"wants-gpu.{uuid.uuid4().hex[:8]}"},
            "involvedObject": {"kind": "Pod", "namespace": ns, "name": "wants-gpu", "apiVersion": "v1"},
            "reason": "FailedScheduling", "type": "Warning", "source": {"component": "default-scheduler"},
            "message": "0/2 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}, 1 node(s) "
                       "were unschedulable. preemption: 0/2 nodes are available: 2 Preemption is not helpful "
                       "for scheduling.",
            "firstTimestamp": now, "lastTimestamp": now, "count": 1})

    @step("a Pending pod deleted")
    def _() -> None:
        core.delete_namespaced_pod("too-big", ns, grace_period_seconds=0)
        pods.remove((ns, "too-big"))

    @step("the cordoned node deleted")
    def _() -> None:
        core.delete_node("watch-small")

    converge("start", w, cli_kubeconfig, pods, time.monotonic())
    for name, fn in steps:
        fn()
        converge(name, w, cli_kubeconfig, pods, time.monotonic())

    # The same as the CLI prints, and the explain of an unknown pod is a 404 JSON.
    res = Podtriage(kubeconfig=cli_kubeconfig).run("audit", "-A", "-o", "json")
    status, doc = w.json("/api/v1/findings")
    assert status == 200 and res.returncode in (0, 1), res.describe()
    assert normalize(doc) == normalize(res.json())
    assert doc["stale"] is False and doc["lastSync"]
    from podtriage.audit.render_machine import validate_audit
    from podtriage.render.structured import validate_report

    assert validate_audit(doc) == []  # the shipped schema documents stale and lastSync
    status, ex = w.json(f"/api/v1/explain/{ns}/wants-gpu")
    assert status == 200 and ex["stale"] is False and validate_report(ex) == []
    status, missing = w.json(f"/api/v1/explain/{ns}/no-such-pod")
    assert status == 404 and "no-such-pod" in missing["error"]
    m = w.metrics()
    assert m["podtriage_watch_stale"] == {(): 0.0}
    assert m["podtriage_build_info"] and m["podtriage_objects_held"][(("kind", "Pod"),)] >= 3
    assert m["podtriage_diagnosis_duration_seconds_count"][()] >= len(steps)
    assert any(labels for labels in m["podtriage_pending_oldest_seconds"])
    print("watch convergence:", json.dumps(TIMELINE))


def test_watch_per_pod_metrics_and_endpoints(control_plane, podtriage_cli, e2e_namespace, clean_nodes):
    cp, ns = control_plane, e2e_namespace
    cp.create_node("pp-node", allocatable={"cpu": "1"})
    cp.core_v1().create_namespaced_pod(ns, pod_body("pp-big", requests={"cpu": "8"}))
    wait_for_verdict(cp, ns, "pp-big")
    w = start_watch(podtriage_cli, "-n", ns, "--per-pod-metrics")
    try:
        w.wait_ready()
        assert w.get("/healthz")[0] == 200
        info = w.metrics()["podtriage_pending_pod_info"]
        assert {dict(k)["pod"] for k in info} == {"pp-big"}
        assert all(dict(k)["namespace"] == ns and v == 1 for k, v in info.items())
        status, doc = w.json("/api/v1/findings")
        assert doc["scope"]["namespaces"] == [ns] and doc["counts"]["pendingPods"] == 1
        assert w.get("/nope")[0] == 404
        # Nothing changes in the namespace: the answer stays current, and the last sync says so
        # (PodtriageWatchNotSyncing must not fire on a quiet cluster).
        first = w.metrics()["podtriage_watch_last_sync_timestamp_seconds"][()]
        _wait(lambda: w.metrics()["podtriage_watch_last_sync_timestamp_seconds"][()] >= first + 1.0,
              "the last sync moving on a quiet cluster", 10)
        assert w.metrics()["podtriage_watch_stale"] == {(): 0.0}
    finally:
        code, err = w.stop()
    assert code == 0, err


def test_watch_bad_input_exits_cleanly(podtriage_cli, control_plane, tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        res = podtriage_cli.run("watch", "--listen", f"127.0.0.1:{port}")
    assert res.returncode == 2 and "cannot listen on" in res.stderr and "Traceback" not in res.stderr, res.describe()
    res = podtriage_cli.run("watch", "--listen", "nonsense")
    assert res.returncode == 2 and "--listen" in res.stderr, res.describe()
    # an unreachable cluster at start: exit 3, as the other commands
    dead = tmp_path / "dead.kubeconfig"
    dead.write_text(json.dumps({"apiVersion": "v1", "kind": "Config",
                                "clusters": [{"name": "c", "cluster": {"server": f"http://127.0.0.1:{_free_port()}"}}],
                                "users": [{"name": "u", "user": {"token": "x"}}],
                                "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
                                "current-context": "x"}))
    res = Podtriage(kubeconfig=dead).run("watch", "--listen", "127.0.0.1:0", "--timeout", "3s")
    assert res.returncode == 3 and "cannot reach the cluster" in res.stderr and "Traceback" not in res.stderr, \
        res.describe()


def test_watch_ctrl_c_exits_130_at_once(podtriage_cli, control_plane):
    w = start_watch(podtriage_cli, "-A")
    w.wait_ready()
    t0 = time.monotonic()
    w.proc.send_signal(signal.SIGINT)
    _, err = w.proc.communicate(timeout=10)
    took = time.monotonic() - t0
    assert w.proc.returncode == 130, err
    assert err.strip().endswith("interrupted") and "Traceback" not in err, err
    assert took < 3, f"took {took:.2f}s to exit after SIGINT"


# --------------------------------------------------------------------------------------------
# faults


def _restarts(w: WatchProcess, resource: str, reason: str) -> float:
    return w.metrics().get("podtriage_watch_restarts_total", {}).get(
        (("reason", reason), ("resource", resource)), 0.0)


def _errors(w: WatchProcess) -> float:
    return sum(v for k, v in w.metrics().get("podtriage_watch_restarts_total", {}).items()
               if dict(k)["reason"] == "error")


def _wait(cond: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    until = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < until, f"timed out waiting for {what}"
        time.sleep(0.1)


def test_watch_survives_faults(control_plane, podtriage_cli, e2e_namespace, clean_nodes, cli_kubeconfig, tmp_path):
    cp, ns = control_plane, e2e_namespace
    core = cp.core_v1()
    cp.create_node("fault-node", allocatable={"cpu": "2"})
    proxy = FaultProxy(cp.server, cp.ca_path, tmp_path / "proxy")
    with proxy:
        kubeconfig = proxy.kubeconfig(cp.token_for(PODTRIAGE_CLI_USER), PODTRIAGE_CLI_USER, tmp_path / "proxied.kc")
        w = start_watch(Podtriage(kubeconfig=kubeconfig, counter=podtriage_cli.counter), "-A")
        pods: list[tuple[str, str]] = []
        try:
            w.wait_ready()
            # one stream per resource served (the add-on APIs this cluster lacks have none)
            _wait(lambda: proxy.open_streams() >= 25, "the watch streams to open")
            time.sleep(0.5)
            streams = proxy.open_streams()
            core.create_namespaced_pod(ns, pod_body("f-1", requests={"cpu": "16"}))
            pods.append((ns, "f-1"))
            wait_for_verdict(cp, ns, "f-1")
            converge("faults: start", w, cli_kubeconfig, pods, time.monotonic(), proxied=True)

            # 1. every watch stream cut in the middle of an event: resumed from the last resourceVersion
            assert proxy.cut_streams(mid_event=True) == streams
            _wait(lambda: _restarts(w, "pods", "cut") >= 1, "a 'cut' restart of the pods watch")
            _wait(lambda: proxy.open_streams() == streams, "the watch streams to reopen")
            core.create_namespaced_pod(ns, pod_body("f-2", requests={"cpu": "16"}))
            pods.append((ns, "f-2"))
            wait_for_verdict(cp, ns, "f-2")
            converge("faults: after cut streams", w, cli_kubeconfig, pods, time.monotonic(), proxied=True)

            # 2. 410 Gone on the next pods watch, and as an ERROR event on the nodes watch: relist
            proxy.set_faults(Fault("status", r"/api/v1/pods", query=r"watch=1", status=410, nth=(1,)),
                             Fault("watch-gone-event", r"/api/v1/nodes", query=r"watch=1", nth=(1,)))
            proxy.cut_streams(mid_event=False)
            _wait(lambda: _restarts(w, "pods", "410") >= 1 and _restarts(w, "nodes", "410") >= 1,
                  "410 relists of pods and nodes")

            def relisted() -> set[str]:
                return {r.path for r in list(proxy.records)
                        if r.path in ("/api/v1/pods", "/api/v1/nodes") and "watch=" not in r.query}

            # the restart is counted before the LIST goes out: wait for both LISTs
            _wait(lambda: relisted() == {"/api/v1/pods", "/api/v1/nodes"}, "the LISTs after the 410s")
            _node_patch(cp, "fault-node", {"metadata": {"labels": {"after": "gone"}}})
            core.create_namespaced_pod(ns, pod_body("f-3", requests={"cpu": "16"}))
            pods.append((ns, "f-3"))
            wait_for_verdict(cp, ns, "f-3")
            converge("faults: after 410", w, cli_kubeconfig, pods, time.monotonic(), proxied=True)

            # 3. 429 with Retry-After on the watch: backs off, counts it, comes back
            proxy.set_faults(Fault("status", r"/api/v1/pods", query=r"watch=1", status=429, retry_after="1",
                                   nth=(1, 2)))
            proxy.cut_streams(mid_event=False)
            _wait(lambda: _restarts(w, "pods", "429") >= 2, "two 429 restarts of the pods watch")
            core.delete_namespaced_pod("f-1", ns, grace_period_seconds=0)
            pods.remove((ns, "f-1"))
            time.sleep(1.0)  # Retry-After: 1
            converge("faults: after 429", w, cli_kubeconfig, pods, time.monotonic() - 1.0, proxied=True)

            # 4. the API server away (every connection reset, every stream cut): the last good answer, stale
            _, before = w.json("/api/v1/findings")
            synced_before = w.metrics()["podtriage_watch_last_sync_timestamp_seconds"][()]
            errors_before = _errors(w)
            proxy.set_faults(Fault("reset"))
            proxy.cut_streams(mid_event=True)
            _wait(lambda: w.metrics()["podtriage_watch_stale"] == {(): 1.0}, "podtriage_watch_stale 1")
            status, during = w.json("/api/v1/findings")
            # The last good sync kept moving while the quiet cluster was watched, and stops while stale.
            assert status == 200 and during["stale"] is True and during["lastSync"] >= before["lastSync"]
            assert normalize(during) == normalize(before), "the last good answer must be served while stale"
            frozen = w.metrics()["podtriage_watch_last_sync_timestamp_seconds"][()]
            assert frozen >= synced_before
            time.sleep(1.0)
            status, ex = w.json(f"/api/v1/explain/{ns}/f-2")
            assert status == 200 and ex["stale"] is True and ex["lastSync"] == during["lastSync"]
            assert w.metrics()["podtriage_watch_last_sync_timestamp_seconds"][()] == frozen
            assert w.get("/readyz")[0] == 200 and w.get("/healthz")[0] == 200
            core.create_namespaced_pod(ns, pod_body("f-4", requests={"cpu": "16"}))  # while away
            pods.append((ns, "f-4"))
            wait_for_verdict(cp, ns, "f-4")
            time.sleep(1.0)
            proxy.set_faults()  # back
            back = time.monotonic()
            _wait(lambda: w.metrics()["podtriage_watch_stale"] == {(): 0.0}, "podtriage_watch_stale 0", 30)
            print(f"recovered {time.monotonic() - back:.2f}s after the API server came back")
            converge("faults: after the API server came back", w, cli_kubeconfig, pods, time.monotonic(), proxied=True)
            status, after = w.json("/api/v1/findings")
            assert after["stale"] is False and after["lastSync"] >= before["lastSync"]
            assert w.metrics()["podtriage_watch_last_sync_timestamp_seconds"][()] > frozen
            assert _errors(w) > errors_before, "reconnecting to an unreachable server counts as reason=error"
        finally:
            code, err = w.stop()
        assert code == 0 and "Traceback" not in err, err
        # GETs only through the proxy (list and watch)
        assert {r.method for r in proxy.records} <= {"GET"}


def test_watch_issues_only_get_list_watch(control_plane, podtriage_cli, cli_kubeconfig, e2e_namespace):
    """The API server's audit log: the watch's identity only ever got, listed and watched."""
    if control_plane.audit_log_path is None:
        pytest.skip("needs the harness's audit log")
    started = time.time()
    w = start_watch(podtriage_cli, "-n", e2e_namespace)
    try:
        w.wait_ready()
        control_plane.core_v1().create_namespaced_pod(e2e_namespace, pod_body("ro", requests={"cpu": "64"}))
        _wait(lambda: w.json("/api/v1/findings")[1]["counts"]["pods"] >= 1, "the pod to be seen")
    finally:
        w.stop()
    time.sleep(0.5)

    def when(e: dict[str, Any]) -> float:
        from datetime import datetime

        t = e.get("requestReceivedTimestamp") or ""
        return datetime.fromisoformat(t.replace("Z", "+00:00")).timestamp() if t else 0.0

    events = [e for e in podtriage_audit_events(control_plane.audit_events()) if when(e) >= started - 1]
    verbs = {e.get("verb") for e in events}
    assert "watch" in verbs and "list" in verbs, verbs
    assert verbs <= READ_VERBS, verbs
    secrets = [e for e in events if (e.get("objectRef") or {}).get("resource") == "secrets"]
    assert secrets and all(e["verb"] in ("list", "watch") and not e["objectRef"].get("name") for e in secrets)


def test_namespace_scoped_identity_gets_the_audits_partial_answer(control_plane, podtriage_as, e2e_namespace,
                                                                  clean_nodes):
    """`watch -n NS` as an identity that may only read its namespace (and GET the namespace itself):
    the same partial answer, the same `missing` entries, as `audit -n NS` by the same identity."""
    from kubernetes import client

    from .controlplane import NS_READER_USER
    from .test_permissions import _bind_namespace_reader

    if isinstance(control_plane, ExternalCluster):
        pytest.skip("needs the harness's identities")
    cp, ns = control_plane, e2e_namespace
    _bind_namespace_reader(cp, ns, NS_READER_USER)
    rbac = client.RbacAuthorizationV1Api(cp.api_client())
    name = f"podtriage-get-{ns}"
    rbac.create_cluster_role({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                              "metadata": {"name": name},
                              "rules": [{"apiGroups": [""], "resources": ["namespaces"], "resourceNames": [ns],
                                         "verbs": ["get"]}]})
    rbac.create_cluster_role_binding({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": name},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": NS_READER_USER}]})
    cp.core_v1().patch_namespace(ns, {"metadata": {"labels": {"team": "watchers"}}})
    cp.create_node("ns-node", allocatable={"cpu": "1"})
    cp.core_v1().create_namespaced_pod(ns, pod_body("ns-big", requests={"cpu": "8"}))
    wait_for_verdict(cp, ns, "ns-big")
    reader = podtriage_as(NS_READER_USER)
    w = start_watch(reader, "-n", ns, "--no-secrets")
    try:
        w.wait_ready()
        res = reader.run("audit", "-n", ns, "--no-secrets", "-o", "json")
        assert res.returncode in (0, 1), res.describe()
        want = res.json()
        assert any(x["resource"] == "nodes" and x["reason"].startswith("forbidden") for x in want["missing"])
        until = time.monotonic() + 10
        while True:
            _, doc = w.json("/api/v1/findings")
            if normalize(doc) == normalize(want) or time.monotonic() > until:
                break
            time.sleep(0.2)
        assert normalize(doc)["missing"] == normalize(want)["missing"]
        assert normalize(doc) == normalize(want)
        assert doc["counts"]["pendingPods"] == 1
    finally:
        code, err = w.stop()
        rbac.delete_cluster_role_binding(name)
        rbac.delete_cluster_role(name)
    assert code == 0, err
