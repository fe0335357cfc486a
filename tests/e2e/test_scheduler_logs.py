"""kube-scheduler logs from real schedulers, and podtriage's parser reading them live.

The harness's kube-scheduler (`-v=2`, klog text, leader election off) produces the per-pod lines:
no nodes registered, no fit, successfully bound, and a bind the API server rejects (a
ValidatingAdmissionPolicy denies `pods/binding` in one namespace). Three more kube-scheduler
processes are started here, each with its own profile (schedulerName) so they never compete for
the same pods:

* a standby with `leaderElection.leaderElect: true` whose Lease is already held by another
  identity for an hour: it logs "Attempting to acquire leader lease..." and schedules nothing;
* one with `--logging-format=json`: the same per-pod lines as JSON;
* one with an extender at a port where nothing listens: the extender error.

A pod whose schedulerName no profile serves is also created: the real scheduler logs nothing about
it (its informer filter drops the pod before any queue), which the test asserts.

PODTRIAGE_RECORD_FIXTURES=1 writes the captured lines to fixtures/real/scheduler-logs/ (real output
only) and a `podtriage snapshot` of the pods they are about, for tests/evidence/test_schedlog.py.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest

from podtriage.evidence import schedlog

from .controlplane import REPO_ROOT, ExternalCluster, _http_get, _Proc, free_port
from .scenarios import pod_body

pytestmark = pytest.mark.e2e

OUT = REPO_ROOT / "fixtures" / "real" / "scheduler-logs"
RECORD = os.environ.get("PODTRIAGE_RECORD_FIXTURES") == "1"

# Fixed names (each run has a fresh control plane): recordings stay comparable between runs.
NS = "schedlog"
NS_BIND = "schedlog-bind"
NS_NONODES = "schedlog-nonodes"
NS_EXTRA = "schedlog-extra"
STANDBY = "podtriage-e2e-standby"
JSON_SCHED = "podtriage-e2e-json"
EXTENDER_SCHED = "podtriage-e2e-extender"
DENY_LABEL = "podtriage-e2e/deny-binding"
VAP_NAME = "podtriage-e2e-deny-binding"
LEASE_NAME = "podtriage-e2e-standby"
STARTUP = ("Starting Kubernetes Scheduler", "Golang settings")


def _skip_external(cp) -> None:
    if isinstance(cp, ExternalCluster) or cp.scheduler_log_path is None:
        pytest.skip("needs the harness's own kube-scheduler and its log file")


def _wait_for(what: str, check: Callable[[], bool], timeout: float = 60.0, tail: Callable[[], str] = str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}\n{tail()}")
        time.sleep(0.25)


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8", errors="replace").splitlines() if path.exists() else []


def _excerpt(lines: list[str], keep: Callable[[str], bool]) -> list[str]:
    """The lines `keep` selects, plus the whole multi-line "Using component config" record."""
    out: list[str] = []
    in_config = False
    for ln in lines:
        if in_config:
            out.append(ln)
            in_config = ln != " >"
        elif '"Using component config" config=<' in ln:
            out.append(ln)
            in_config = True
        elif keep(ln):
            out.append(ln)
    return out


def _record(name: str, lines: list[str]) -> None:
    if RECORD:
        OUT.mkdir(parents=True, exist_ok=True)
        (OUT / name).write_text("\n".join(lines) + "\n", encoding="utf-8")


def _force_delete(cp, *namespaces: str) -> None:
    for ns in namespaces:
        with contextlib.suppress(Exception):
            cp.force_delete_pods(ns)


def _snapshot(cli, namespaces: list[str], name: str, tmp_path: Path) -> None:
    """A `podtriage snapshot` of the pods the recorded lines are about (read-only, audited)."""
    out = (OUT if RECORD else tmp_path) / name
    if RECORD:
        OUT.mkdir(parents=True, exist_ok=True)
    args = ["snapshot", "-o", str(out)]
    for ns in namespaces:
        args += ["-n", ns]
    res = cli.run(*args)
    assert res.returncode == 0, res.describe()


# --------------------------------------------------------------------------
# Extra kube-scheduler processes


@contextlib.contextmanager
def extra_scheduler(cp, name: str, config: dict, *, args: tuple[str, ...] = (), ready: str = "readyz",
                    timeout: float = 60.0) -> Iterator[Path]:
    """Run one more kube-scheduler with this KubeSchedulerConfiguration; yield its log path.

    ready="readyz" waits for /readyz; otherwise it is a log text to wait for.
    """
    wd = cp.workdir / name
    wd.mkdir(parents=True, exist_ok=True)
    cfg = {"apiVersion": "kubescheduler.config.k8s.io/v1", "kind": "KubeSchedulerConfiguration",
           "clientConnection": {"kubeconfig": str(cp.kubeconfig_path)}, **config}
    (wd / "config.yaml").write_text(json.dumps(cfg, indent=2) + "\n")  # JSON is YAML
    port = free_port()
    log = wd / "kube-scheduler.log"
    proc = _Proc(name, [
        str(cp.bindir / "kube-scheduler"), f"--config={wd / 'config.yaml'}",
        f"--authentication-kubeconfig={cp.kubeconfig_path}", f"--authorization-kubeconfig={cp.kubeconfig_path}",
        "--bind-address=127.0.0.1", f"--secure-port={port}", f"--cert-dir={wd / 'certs'}", "--profiling=false",
        "-v=2", *args], log)
    proc.start()
    try:
        def up() -> bool:
            assert proc.alive(), f"{name} exited:\n" + "\n".join(_lines(log)[-30:])
            if ready == "readyz":
                try:
                    return _http_get(f"https://127.0.0.1:{port}/readyz", insecure=True) == "ok"
                except (OSError, RuntimeError, ValueError):  # not serving yet
                    return False
            return any(ready in ln for ln in _lines(log))

        _wait_for(f"{name} ({ready})", up, timeout, lambda: "\n".join(_lines(log)[-30:]))
        yield log
    finally:
        proc.stop()


def _wait_log(path: Path, *needles: str, timeout: float = 60.0) -> list[str]:
    """Wait until a line of the log holds every needle; return all lines holding the first one."""
    _wait_for(" & ".join(needles), lambda: any(all(n in ln for n in needles) for ln in _lines(path)), timeout,
              lambda: "\n".join(_lines(path)[-30:]))
    return [ln for ln in _lines(path) if needles[0] in ln]


# --------------------------------------------------------------------------
# The harness scheduler: no nodes, no fit, bound, bind rejected, unknown schedulerName


def _deny_bindings(cp) -> Callable[[], None]:
    """A ValidatingAdmissionPolicy that rejects every pods/binding in namespaces labelled DENY_LABEL."""
    from .differential import Api

    # Raw requests: the typed client of kubernetes 29 (the declared lower bound) predates v1 policies.
    api = Api(cp.api_client())
    api.req("POST", "/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies", {
        "apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": VAP_NAME},
        "spec": {"failurePolicy": "Fail",
                 "matchConstraints": {
                     "resourceRules": [{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE"],
                                        "resources": ["pods/binding"]}],
                     "namespaceSelector": {"matchLabels": {DENY_LABEL: "true"}}},
                 "validations": [{"expression": "false",
                                  "message": "bindings are frozen in this namespace (podtriage e2e)"}]}})
    api.req("POST", "/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings", {
        "apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": VAP_NAME},
        "spec": {"policyName": VAP_NAME, "validationActions": ["Deny"]}})

    # The policy takes effect once the API server has compiled it and sees the namespace label:
    # probe with a binding of our own (for a pod no scheduler serves) until it is denied.
    core = cp.core_v1()
    probes: list[str] = []

    def denied() -> bool:
        from kubernetes.client.rest import ApiException

        name = f"probe-{len(probes)}"
        probes.append(name)
        core.create_namespaced_pod(NS_BIND, pod_body(name, schedulerName="nobody-schedules-this"))
        body = {"apiVersion": "v1", "kind": "Binding", "metadata": {"name": name},
                "target": {"apiVersion": "v1", "kind": "Node", "name": "no-such-node"}}
        try:
            core.create_namespaced_pod_binding(name, NS_BIND, body, _preload_content=False)
        except ApiException as e:
            return "bindings are frozen" in str(e.body)
        time.sleep(0.5)
        return False

    _wait_for("the binding policy to take effect", denied, 30)
    for name in probes:
        core.delete_namespaced_pod(name, NS_BIND, grace_period_seconds=0)

    def undo() -> None:
        with contextlib.suppress(Exception):
            api.delete(f"/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings/{VAP_NAME}")
        with contextlib.suppress(Exception):
            api.delete(f"/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies/{VAP_NAME}")

    return undo


def test_harness_scheduler_log(control_plane, clean_nodes, podtriage_cli, tmp_path):
    cp = control_plane
    _skip_external(cp)
    core = cp.core_v1()
    log = cp.scheduler_log_path
    for ns in (NS, NS_BIND, NS_NONODES):
        cp.ensure_namespace(ns)
    core.patch_namespace(NS_BIND, {"metadata": {"labels": {DENY_LABEL: "true"}}})
    undo_policy = _deny_bindings(cp)
    try:
        # 1. no node at all
        core.create_namespaced_pod(NS_NONODES, pod_body("lonely", requests={"cpu": "100m"}))
        _wait_log(log, f'pod="{NS_NONODES}/lonely"', "no nodes are registered")
        cp.force_delete_pods(NS_NONODES)  # before nodes exist, or it gets scheduled

        # 2. nodes: one too small, one tainted
        cp.create_node("sl-small", allocatable={"cpu": "1"})
        cp.create_node("sl-gpu", taints=["dedicated=gpu:NoSchedule"])
        core.create_namespaced_pod(NS, pod_body("too-big", requests={"cpu": "2"}))
        core.create_namespaced_pod(NS, pod_body("fits", requests={"cpu": "100m"}))
        core.create_namespaced_pod(NS, pod_body("ghost", requests={"cpu": "100m"},
                                                schedulerName="no-such-scheduler"))
        core.create_namespaced_pod(NS_BIND, pod_body("frozen", requests={"cpu": "100m"}))
        _wait_log(log, f'pod="{NS}/too-big"', "no fit")
        _wait_log(log, "Successfully bound pod to node", f'pod="{NS}/fits"')
        _wait_log(log, f'pod="{NS_BIND}/frozen"', "Error scheduling pod; retrying")
        time.sleep(3)  # let the bind failure repeat once more, and give "ghost" time to (not) appear
        _snapshot(podtriage_cli, [NS, NS_BIND], "cluster-snapshot.json", tmp_path)
    finally:
        undo_policy()
        _force_delete(cp, NS, NS_BIND, NS_NONODES)

    namespaces = (f'"{NS}/', f'"{NS_BIND}/', f'"{NS_NONODES}/')
    lines = _excerpt(_lines(log), lambda ln: any(s in ln for s in STARTUP) or any(n in ln for n in namespaces))
    _record("default-scheduler.log", lines)

    parsed = schedlog.parse_log("\n".join(lines), "default-scheduler.log")
    assert parsed.format == "text" and parsed.skipped == 0, parsed.skipped
    assert parsed.version.startswith("v1."), parsed.version
    assert parsed.profiles == ("default-scheduler",), parsed.profiles
    kinds = {(e.pod, e.kind) for e in parsed.pod_events()}
    assert (f"{NS_NONODES}/lonely", "no-nodes") in kinds
    assert (f"{NS}/too-big", "no-fit") in kinds
    assert (f"{NS}/fits", "bound") in kinds
    assert (f"{NS_BIND}/frozen", "bind-failed") in kinds
    nofit = [e for e in parsed.pod_events(f"{NS}/too-big") if e.kind == "no-fit"][-1]
    assert nofit.fit is not None and nofit.fit.total_nodes == 2
    assert nofit.fit.node_counts().get("insufficient") == 1 and nofit.fit.node_counts().get("taint") == 1
    bound = next(e for e in parsed.pod_events(f"{NS}/fits") if e.kind == "bound")
    assert bound.node == "sl-small" and bound.evaluated_nodes == 2 and bound.feasible_nodes == 1
    frozen = [e for e in parsed.pod_events(f"{NS_BIND}/frozen") if e.kind == "bind-failed" and e.error]
    assert frozen and "bindings are frozen in this namespace" in frozen[-1].error
    # A schedulerName no profile serves: the real scheduler says nothing about the pod at all.
    assert not [ln for ln in _lines(log) if f"{NS}/ghost" in ln]
    assert not parsed.pod_events(f"{NS}/ghost")


# --------------------------------------------------------------------------
# A scheduler that never becomes leader


def test_standby_scheduler_waits_for_lease(control_plane, clean_nodes, podtriage_cli, tmp_path):
    cp = control_plane
    _skip_external(cp)
    from kubernetes import client

    coord = client.CoordinationV1Api(cp.api_client())
    now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    coord.create_namespaced_lease("kube-system", {
        "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
        "metadata": {"name": LEASE_NAME, "namespace": "kube-system"},
        "spec": {"holderIdentity": "other-scheduler_4f1c", "leaseDurationSeconds": 3600,
                 "acquireTime": now, "renewTime": now, "leaseTransitions": 0}})
    cp.ensure_namespace(NS_EXTRA)
    cp.create_node("sl-standby-node")
    try:
        config = {"leaderElection": {"leaderElect": True, "resourceLock": "leases", "resourceName": LEASE_NAME,
                                     "resourceNamespace": "kube-system", "leaseDuration": "15s",
                                     "renewDeadline": "10s", "retryPeriod": "2s"},
                  "profiles": [{"schedulerName": STANDBY}]}
        with extra_scheduler(cp, "standby", config, ready="acquire leader lease") as log:
            cp.core_v1().create_namespaced_pod(NS_EXTRA, pod_body("waits", requests={"cpu": "100m"},
                                                                   schedulerName=STANDBY))
            time.sleep(8)  # several retry periods: it must still not schedule
            lines = _lines(log)
            pod = cp.core_v1().read_namespaced_pod("waits", NS_EXTRA)
            assert not pod.spec.node_name and pod.status.phase == "Pending"
            _snapshot(podtriage_cli, [NS_EXTRA], "standby-snapshot.json", tmp_path)
            # The other holder goes away: the standby takes the lease and schedules the pod.
            coord.delete_namespaced_lease(LEASE_NAME, "kube-system")
            _wait_log(log, "Successfully acquired lease", LEASE_NAME)
            _wait_log(log, "Successfully bound pod to node", f'pod="{NS_EXTRA}/waits"')
            after = _lines(log)
    finally:
        _force_delete(cp, NS_EXTRA)
        with contextlib.suppress(Exception):
            coord.delete_namespaced_lease(LEASE_NAME, "kube-system")
    _record("standby-not-leader.log", lines)
    _record("standby-acquired.log", after)

    parsed = schedlog.parse_log("\n".join(lines), "standby-not-leader.log")
    assert parsed.waiting_for_lease is not None, "\n".join(lines[-20:])
    assert f"kube-system/{LEASE_NAME}" in schedlog._lock(parsed.waiting_for_lease)
    assert not parsed.leader_acquired and not parsed.schedules
    assert not [ln for ln in lines if f"{NS_EXTRA}/waits" in ln]
    assert parsed.profiles == (STANDBY,)

    leader = schedlog.parse_log("\n".join(after), "standby-acquired.log")
    assert leader.waiting_for_lease is None and leader.leader_acquired
    assert [e.kind for e in leader.pod_events(f"{NS_EXTRA}/waits")] == ["bound"]


# --------------------------------------------------------------------------
# --logging-format=json


def test_json_logging_format(control_plane, clean_nodes, podtriage_cli, tmp_path):
    cp = control_plane
    _skip_external(cp)
    cp.ensure_namespace(NS_EXTRA)
    cp.create_node("sl-json-small", allocatable={"cpu": "1"})
    try:
        config = {"leaderElection": {"leaderElect": False}, "profiles": [{"schedulerName": JSON_SCHED}]}
        with extra_scheduler(cp, "json", config, args=("--logging-format=json",)) as log:
            core = cp.core_v1()
            core.create_namespaced_pod(NS_EXTRA, pod_body("json-too-big", requests={"cpu": "2"},
                                                           schedulerName=JSON_SCHED))
            core.create_namespaced_pod(NS_EXTRA, pod_body("json-fits", requests={"cpu": "100m"},
                                                           schedulerName=JSON_SCHED))
            _wait_log(log, '"Unable to schedule pod; no fit; waiting"', "json-too-big")
            _wait_log(log, '"Successfully bound pod to node"', "json-fits")
            lines = _lines(log)
            _snapshot(podtriage_cli, [NS_EXTRA], "json-snapshot.json", tmp_path)
    finally:
        _force_delete(cp, NS_EXTRA)
    _record("json-scheduler.log", lines)

    parsed = schedlog.parse_log("\n".join(lines), "json-scheduler.log")
    assert parsed.format in ("json", "mixed"), parsed.format
    assert parsed.version.startswith("v1.")
    nofit = [e for e in parsed.pod_events(f"{NS_EXTRA}/json-too-big") if e.kind == "no-fit"]
    assert nofit and nofit[-1].fit is not None and nofit[-1].fit.total_nodes == 1
    assert nofit[-1].record.format == "json" and nofit[-1].record.verbosity == 2
    bound = [e for e in parsed.pod_events(f"{NS_EXTRA}/json-fits") if e.kind == "bound"]
    assert bound and bound[0].node == "sl-json-small"


# --------------------------------------------------------------------------
# An extender that does not answer


def test_extender_error(control_plane, clean_nodes, podtriage_cli, tmp_path):
    cp = control_plane
    _skip_external(cp)
    cp.ensure_namespace(NS_EXTRA)
    cp.create_node("sl-ext-node")
    dead = free_port()  # nothing listens there
    try:
        config = {"leaderElection": {"leaderElect": False}, "profiles": [{"schedulerName": EXTENDER_SCHED}],
                  "extenders": [{"urlPrefix": f"http://127.0.0.1:{dead}/scheduler", "filterVerb": "filter",
                                 "weight": 1, "enableHTTPS": False, "httpTimeout": "2s"}]}
        with extra_scheduler(cp, "extender", config) as log:
            cp.core_v1().create_namespaced_pod(NS_EXTRA, pod_body("ext-pod", requests={"cpu": "100m"},
                                                                   schedulerName=EXTENDER_SCHED))
            _wait_log(log, f'pod="{NS_EXTRA}/ext-pod"', "Error scheduling pod; retrying")
            lines = _lines(log)
            _snapshot(podtriage_cli, [NS_EXTRA], "extender-snapshot.json", tmp_path)
    finally:
        _force_delete(cp, NS_EXTRA)
    _record("extender-error.log", lines)

    parsed = schedlog.parse_log("\n".join(lines), "extender-error.log")
    assert parsed.extenders, "no 'Creating extender' line"
    errs = [e for e in parsed.pod_events(f"{NS_EXTRA}/ext-pod") if e.kind == "extender-error"]
    assert errs, [(e.kind, e.error) for e in parsed.pod_events(f"{NS_EXTRA}/ext-pod")]
    assert f"127.0.0.1:{dead}" in errs[-1].error


# --------------------------------------------------------------------------
# --scheduler-logs against the live API


def test_fetch_scheduler_logs_live(control_plane, readonly_audit):
    """No kube-scheduler pods in kube-system (the harness runs it as a process): an empty answer with
    a note; an identity without RBAC gets a note saying forbidden."""
    from podtriage.collect.live import fetch_scheduler_logs

    cp = control_plane
    if isinstance(cp, ExternalCluster):
        pytest.skip("asserts on the harness's kube-system")
    from .controlplane import PODTRIAGE_CLI_USER, bind_cluster_role

    bind_cluster_role(cp, PODTRIAGE_CLI_USER)
    readonly_audit.invocations += 1  # these requests are podtriage's: the session's audit check covers them
    logs, note = fetch_scheduler_logs(str(cp.kubeconfig_for(PODTRIAGE_CLI_USER)), None, 10.0, 100)
    assert logs == [] and "no kube-scheduler pods" in note
    logs, note = fetch_scheduler_logs(str(cp.kubeconfig_for("podtriage-ns-reader")), None, 10.0, 100)
    assert logs == [] and "forbidden" in note
