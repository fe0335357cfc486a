"""A failing API server: podtriage through the fault proxy (faultproxy.py) in front of the real one.

One module-scoped world on the real control plane: three nodes (two tainted
``dedicated=gpu:NoSchedule``, one with 1 cpu), a pod running on the small one and three pods the
real kube-scheduler rejected (each asks for 2 cpu and tolerates nothing). podtriage runs as
subprocesses and as its own ``podtriage-cli`` identity with a kubeconfig that points at the proxy
(TLS with the proxy's own certificate), LIST pages of 2 items (``PODTRIAGE_PAGE_SIZE``), so the
pods of the namespace take two pages.

* Faults that retries cure (429 with Retry-After, 500, 503, resets before and in the body,
  delayed headers or body beyond ``--request-timeout``, bodies cut short three ways, and a continue
  token expiring on the 2nd page): ``explain``, ``snapshot`` and ``audit`` give the same answer as
  without faults.
* A resource that stays unreadable: a partial answer naming it, exit code != 3.
* Nothing readable (the whole server, or the namespace's pods): exit 3 with a clear message.
* A stalled server: ``--timeout`` bounds the wall time; Ctrl-C exits 130 at once.

PODTRIAGE_FAULT_SUMMARY=FILE writes the fault matrix (fault x command, injected, outcome) as JSON.
"""

from __future__ import annotations

import json
import os
import re
import signal
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from .controlplane import PODTRIAGE_CLI_USER, ExternalCluster
from .faultproxy import Fault, FaultProxy
from .scenarios import CliResult, Podtriage, bound_pod_body, create_running_pod, pod_body, summary, top_cause, \
    wait_for_verdict

pytestmark = pytest.mark.e2e

EXIT_CLUSTER = 3
REQUEST_TIMEOUT = "2"  # --request-timeout for every run: a 3 s delay is a timeout, then a retry
STUCK = ("stuck-a", "stuck-b", "stuck-c")
COMMANDS = ("explain", "snapshot", "audit")
MATRIX: list[dict[str, Any]] = []  # one row per faulted run, for the report


@dataclass
class ProxiedPodtriage(Podtriage):
    """The scenario runner with extra environment (the LIST page size)."""

    env: dict[str, str] = field(default_factory=dict)

    def start(self, *args: str) -> tuple[list[str], Any]:
        saved = {k: os.environ.get(k) for k in self.env}
        os.environ.update(self.env)
        try:
            return super().start(*args)
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v


@dataclass
class World:
    namespace: str
    proxy: FaultProxy
    cli: ProxiedPodtriage
    tmp: Path
    baseline: dict[str, Any] = field(default_factory=dict)  # command -> comparable answer
    baseline_exit: dict[str, int] = field(default_factory=dict)
    causes: set[str] = field(default_factory=set)  # categories among the baseline explain's causes

    @property
    def pods_path(self) -> str:
        return f"/api/v1/namespaces/{self.namespace}/pods"

    def run(self, command: str, *extra: str) -> tuple[CliResult, Any, float]:
        """Run one command through the proxy -> (result, comparable answer or None, wall seconds)."""
        ns = self.namespace
        out = self.tmp / f"snap-{uuid.uuid4().hex[:6]}.json"
        args = {"explain": ("explain", STUCK[0], "-n", ns, "-o", "json"),
                "snapshot": ("snapshot", "-n", ns, "-o", str(out)),
                "audit": ("audit", "-n", ns, "-o", "json")}[command]
        t0 = time.monotonic()
        res = self.cli.run(*args, "--request-timeout", REQUEST_TIMEOUT, *extra)
        took = time.monotonic() - t0
        assert "Traceback" not in res.stderr and "internal error" not in res.stderr, res.describe()
        if res.returncode == EXIT_CLUSTER:
            return res, None, took
        if command == "snapshot":
            assert out.exists(), res.describe()
            return res, _snapshot_answer(out), took
        doc = res.json()
        return res, (_explain_answer(doc) if command == "explain" else _audit_answer(doc)), took


def _explain_answer(doc: dict[str, Any]) -> Any:
    top = top_cause(doc)
    return {"blocked": doc["blocked"], "rule": top["rule"], "category": top["category"],
            "message": top["message"], "confidence": doc["confidence"], "missing": doc["missing"]}


def _audit_answer(doc: dict[str, Any]) -> Any:
    return {"findings": [(f["rule"], f["subject"], f["podCount"]) for f in doc["findings"]],
            "missing": doc["missing"], "pending": doc["counts"].get("pending")}


def _snapshot_answer(path: Path) -> Any:
    from podtriage.loaders import load_path

    snap = load_path(path)
    return {"pods": sorted(p.key for p in snap.pods), "nodes": sorted(n.name for n in snap.nodes),
            "collected": sorted(snap.meta.collected),
            "missing": sorted((m.resource, m.namespace, m.reason) for m in snap.meta.missing)}


@pytest.fixture(scope="module")
def world(control_plane, podtriage_cli, readonly_audit, tmp_path_factory) -> Iterator[World]:
    cp = control_plane
    if isinstance(cp, ExternalCluster):
        pytest.skip("the fault scenarios delete every node and need the harness's identities")
    cp.delete_all_nodes()
    ns = cp.ensure_namespace(f"e2e-faults-{uuid.uuid4().hex[:6]}")
    tmp = tmp_path_factory.mktemp("faults")
    proxy = FaultProxy(cp.server, cp.ca_path, tmp / "proxy")
    try:
        for n in ("fault-gpu-a", "fault-gpu-b"):
            cp.create_node(n, taints=["dedicated=gpu:NoSchedule"])
        cp.create_node("fault-small", allocatable={"cpu": "1"})
        create_running_pod(cp, ns, bound_pod_body("running-0", "fault-small", requests={"cpu": "500m"}))
        core = cp.core_v1()
        for name in STUCK:
            core.create_namespaced_pod(ns, pod_body(name, requests={"cpu": "2"}))
        for name in STUCK:
            verdict = wait_for_verdict(cp, ns, name)
            assert verdict.event_message.startswith("0/3 nodes are available"), verdict.event_message
        proxy.start()
        kubeconfig = proxy.kubeconfig(cp.token_for(PODTRIAGE_CLI_USER), PODTRIAGE_CLI_USER,
                                      tmp / "proxied.kubeconfig", namespace=ns)
        cli = ProxiedPodtriage(kubeconfig=kubeconfig, counter=readonly_audit, env={"PODTRIAGE_PAGE_SIZE": "2"})
        w = World(ns, proxy, cli, tmp)
        for command in COMMANDS:
            res, answer, _ = w.run(command)
            assert res.returncode != EXIT_CLUSTER, res.describe()
            w.baseline[command], w.baseline_exit[command] = answer, res.returncode
        assert w.baseline_exit["explain"] == 1 and w.baseline["explain"]["missing"] == [], w.baseline
        assert len(w.baseline["snapshot"]["pods"]) >= len(STUCK) + 1
        assert w.proxy.injected() == {}
        pages = [r for r in proxy.requests_to(w.pods_path)]
        assert any("continue=" in r.query for r in pages), "the namespace's pods must take 2 pages"
        # the proxy changes nothing: the same answer as straight to the API server
        direct = podtriage_cli.run("explain", STUCK[0], "-n", ns, "-o", "json")
        assert _explain_answer(direct.json()) == w.baseline["explain"], (summary(direct.json()), w.baseline)
        w.causes = {c["category"] for c in direct.json()["rootCauses"]}
        yield w
    finally:
        proxy.stop()
        cp.force_delete_pods(ns)
        cp.delete_all_nodes()
        _write_summary()


def _write_summary() -> None:
    path = os.environ.get("PODTRIAGE_FAULT_SUMMARY")
    if path and MATRIX:
        Path(path).write_text(json.dumps(MATRIX, indent=1) + "\n")


def _note(fault: str, command: str, injected: int, outcome: str, seconds: float, **extra: Any) -> None:
    MATRIX.append({"fault": fault, "command": command, "injected": injected, "outcome": outcome,
                   "seconds": round(seconds, 2), **extra})


# ==========================================================================================
# Faults that retries cure: the same answer as without them


def _transient(pods: str) -> dict[str, Callable[[], Fault]]:
    return {
        "429+Retry-After": lambda: Fault("status", pods, nth=(1, 2), status=429, retry_after="1"),
        "500": lambda: Fault("status", pods, nth=(1,), status=500),
        "503x3": lambda: Fault("status", pods, nth=(1, 2, 3), status=503),
        "reset": lambda: Fault("reset", pods, nth=(1,)),
        "reset-mid-body": lambda: Fault("reset-mid-body", pods, nth=(1,)),
        "slow-headers": lambda: Fault("delay-headers", pods, nth=(1,), delay=3.0),
        "slow-body": lambda: Fault("delay-body", pods, nth=(1,), delay=3.0),
        "slow-within-timeout": lambda: Fault("delay-headers", pods, nth=(1,), delay=1.0),
        "truncated-length": lambda: Fault("truncate-length", pods, nth=(1,)),
        "truncated-chunked": lambda: Fault("truncate-chunked", pods, nth=(1,)),
        "truncated-json": lambda: Fault("truncate-json", pods, nth=(1,)),
        "410-expired-continue": lambda: Fault("expire-continue", pods, query="continue=", nth=(1,)),
    }


TRANSIENT = list(_transient("").keys())


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("kind", TRANSIENT)
def test_retries_give_the_same_answer(world: World, kind: str, command: str) -> None:
    fault = _transient(world.pods_path)[kind]()
    world.proxy.set_faults(fault)
    res, answer, took = world.run(command)
    injected = sum(world.proxy.injected().values())
    _note(kind, command, injected, "same answer" if answer == world.baseline[command] else f"exit {res.returncode}",
          took)
    assert injected == len(fault.nth or ()), world.proxy.records
    assert res.returncode == world.baseline_exit[command], res.describe()
    assert answer == world.baseline[command], (answer, world.baseline[command])
    pods = world.proxy.requests_to(world.pods_path)
    assert pods[-1].status == 200 and pods[-1].fault is None
    if fault.kind == "expire-continue":  # the LIST restarted from its first page, and paged on
        steps = [("continue=" in r.query, r.status) for r in pods]
        assert steps[:4] == [(False, 200), (True, 410), (False, 200), (True, 200)], steps
    assert {r.method for r in world.proxy.records} == {"GET"}


# ==========================================================================================
# A resource that stays unreadable: a partial answer that names it


def test_nodes_failing_gives_a_partial_explain(world: World) -> None:
    world.proxy.set_faults(Fault("status", "/api/v1/nodes", status=503))
    res, answer, took = world.run("explain")
    _note("503 on nodes, always", "explain", sum(world.proxy.injected().values()),
          f"partial, exit {res.returncode}", took)
    assert res.returncode == 1, res.describe()
    assert len(world.proxy.requests_to("/api/v1/nodes")) == 4
    missing = "\n".join(answer["missing"])
    assert "nodes could not be read: unavailable: HTTP 503 (fault injected: HTTP 503) after 4 attempts" in missing
    assert "no per-node verdicts" in missing
    assert answer["confidence"] < world.baseline["explain"]["confidence"]
    assert answer["category"] in world.causes, (answer, world.causes)  # from the scheduler's own message


def test_events_reset_gives_the_same_cause_with_the_gap_named(world: World) -> None:
    world.proxy.set_faults(Fault("reset", f"/api/v1/namespaces/{world.namespace}/events"))
    res, answer, took = world.run("explain")
    _note("reset on events, always", "explain", sum(world.proxy.injected().values()),
          f"partial, exit {res.returncode}", took)
    assert res.returncode == 1, res.describe()
    base = world.baseline["explain"]
    assert (answer["rule"], answer["category"]) == (base["rule"], base["category"])
    missing = "\n".join(answer["missing"])
    assert re.search(rf"events in {world.namespace} could not be read: unavailable: .* after 4 attempts", missing), \
        missing
    assert "events could not be read: the scheduler's own messages are not compared" in missing
    assert answer["confidence"] < base["confidence"]


def test_nodes_failing_gives_a_partial_audit(world: World) -> None:
    world.proxy.set_faults(Fault("reset-mid-body", "/api/v1/nodes"))
    res, answer, took = world.run("audit")
    _note("reset mid-body on nodes, always", "audit", sum(world.proxy.injected().values()),
          f"partial, exit {res.returncode}", took)
    assert res.returncode != EXIT_CLUSTER, res.describe()
    (nodes,) = [m for m in answer["missing"] if m["resource"] == "nodes"]
    assert nodes["reason"].startswith("unavailable: ") and nodes["reason"].endswith("after 4 attempts"), nodes
    assert answer["findings"], "pending pods are still reported, from the scheduler's messages"


def test_events_failing_gives_a_partial_snapshot(world: World) -> None:
    world.proxy.set_faults(Fault("truncate-chunked", f"/api/v1/namespaces/{world.namespace}/events"))
    res, answer, took = world.run("snapshot")
    _note("truncated chunked events, always", "snapshot", sum(world.proxy.injected().values()),
          f"partial, exit {res.returncode}", took)
    assert res.returncode == 0, res.describe()
    assert "could not read: events" in res.stderr, res.stderr
    base = world.baseline["snapshot"]
    assert answer["pods"] == base["pods"] and answer["nodes"] == base["nodes"]
    ((_, ns, reason),) = [m for m in answer["missing"] if m[0] == "events"]
    assert ns == world.namespace and reason.startswith("unavailable: ") and "after 4 attempts" in reason


# ==========================================================================================
# Nothing useful can be said: exit 3, a clear message, nothing on stdout


@pytest.mark.parametrize("command", COMMANDS)
def test_a_server_failing_everything_is_a_cluster_error(world: World, command: str) -> None:
    world.proxy.set_faults(Fault("status", ".*", status=503))
    res, _, took = world.run(command)
    _note("503 on everything", command, sum(world.proxy.injected().values()), f"exit {res.returncode}", took)
    assert res.returncode == EXIT_CLUSTER, res.describe()
    assert res.stdout == ""
    first = res.stderr.splitlines()[0]
    assert first == (f"error: cannot reach the cluster at {world.proxy.url}: unavailable: HTTP 503 "
                     "(fault injected: HTTP 503) after 4 attempts"), res.stderr
    assert "hint: " in res.stderr


@pytest.mark.parametrize("command", COMMANDS)
def test_unreadable_pods_are_a_cluster_error(world: World, command: str) -> None:
    world.proxy.set_faults(Fault("reset", world.pods_path))
    res, _, took = world.run(command)
    _note("reset on the namespace's pods, always", command, sum(world.proxy.injected().values()),
          f"exit {res.returncode}", took)
    assert res.returncode == EXIT_CLUSTER, res.describe()
    assert res.stdout == "" or command == "snapshot"
    assert res.stderr.startswith(f"error: cannot read pods in namespace {world.namespace}: unavailable: "), res.stderr
    assert "after 4 attempts" in res.stderr.splitlines()[0] and "hint: " in res.stderr


# ==========================================================================================
# Never hang: the deadline, and Ctrl-C


@pytest.mark.parametrize("where", ["pods", "events", "events-trickle"])
def test_the_deadline_bounds_a_stalled_server(world: World, where: str) -> None:
    deadline = 5.0
    faults = {"pods": Fault("stall", world.pods_path),
              "events": Fault("stall", f"/api/v1/namespaces/{world.namespace}/events"),
              "events-trickle": Fault("trickle", f"/api/v1/namespaces/{world.namespace}/events", delay=0.5)}
    world.proxy.set_faults(faults[where])
    res, answer, took = world.run("explain", "--request-timeout", "60", "--timeout", str(deadline))
    _note(f"stall ({where})", "explain", sum(world.proxy.injected().values()), f"exit {res.returncode}", took,
          deadline=deadline)
    assert took < deadline + 6, f"{took:.1f}s for a {deadline}s deadline"  # + interpreter start and imports
    if where == "pods":  # nothing to explain without them
        assert res.returncode == EXIT_CLUSTER, res.describe()
        assert res.stderr.startswith(f"error: cannot read pods in namespace {world.namespace}: timed out: "
                                     "the 5 s deadline (--timeout) was reached"), res.stderr
    else:
        assert res.returncode == 1, res.describe()
        missing = "\n".join(answer["missing"])
        assert "timed out: " in missing and "the 5 s deadline (--timeout)" in missing, missing


@pytest.mark.parametrize("during", ["stalled-request", "retry-pause"])
def test_ctrl_c_exits_130_at_once(world: World, during: str) -> None:
    fault = (Fault("stall", world.pods_path) if during == "stalled-request"
             else Fault("status", world.pods_path, status=429, retry_after="60"))
    world.proxy.set_faults(fault)
    started = world.cli.start("explain", STUCK[0], "-n", world.namespace, "-o", "json")
    proc = started[1]
    until = time.monotonic() + 30
    while not world.proxy.requests_to(world.pods_path) and time.monotonic() < until:
        time.sleep(0.05)
    assert world.proxy.requests_to(world.pods_path), "podtriage never reached the pods LIST"
    time.sleep(0.3)  # inside the stalled read, or the pause after the 429
    t0 = time.monotonic()
    proc.send_signal(signal.SIGINT)
    res = Podtriage.finish(started, timeout=10)
    took = time.monotonic() - t0
    _note(f"Ctrl-C during {during}", "explain", sum(world.proxy.injected().values()), f"exit {res.returncode}",
          took)
    assert res.returncode == 130, res.describe()
    assert res.stderr.strip() == "interrupted" and res.stdout == "", res.describe()
    assert took < 3, f"took {took:.2f}s to exit after SIGINT"
