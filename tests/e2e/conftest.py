"""Fixtures for podtriage's end-to-end tests against a real control plane.

``control_plane`` (session scope) builds or reuses the cached binaries via
``tools/k8s/build.sh`` and runs etcd + kube-apiserver + kube-scheduler; see
``controlplane.py`` for what it does and does not provide.

Environment:
  PODTRIAGE_E2E_KUBECONFIG  use this existing cluster instead (no audit log,
                            no scheduler log, no extra identities).
  PODTRIAGE_K8S_CACHE       where build.sh keeps the binaries
                            (default <repo>/.cache/k8s).
  PODTRIAGE_E2E_KEEP=1      keep the control plane's temp dir (logs, kubeconfigs).
  CI=true                   a missing Go toolchain or a failed build is a test
                            failure instead of a skip. (A control plane that
                            was built but fails to start always fails.)
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from .controlplane import (
    NS_READER_USER,
    PODTRIAGE_CLI_USER,
    BuildFailed,
    BuildUnavailable,
    ControlPlane,
    ControlPlaneError,
    ExternalCluster,
    build_binaries,
)


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "e2e: end-to-end test against a real kube-apiserver + kube-scheduler (slow; needs Go or a cache)",
    )


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


@pytest.fixture(scope="session")
def control_plane(tmp_path_factory):
    """A running control plane (ControlPlane) or an ExternalCluster.

    Helpers: ``kubeconfig_path``, ``make_kubeconfig(token, user)``,
    ``token_for(user)``, ``api_client(user=admin)``, ``core_v1()``,
    ``audit_log_path``, ``audit_events()``, ``scheduler_log_path``,
    ``scheduler_log_lines(contains)``, ``create_node(...)``,
    ``create_bound_pod(...)``, ``ensure_namespace(name)``,
    ``wait_for_failed_scheduling(namespace, pod_name, timeout)``.

    Identities: admin (system:masters, the default) and ``podtriage-ns-reader``
    (token only, NO RBAC bindings: tests bind roles themselves).
    """
    external = os.environ.get("PODTRIAGE_E2E_KUBECONFIG")
    if external:
        cluster = ExternalCluster(kubeconfig_path=Path(external))
        try:
            yield cluster
        finally:
            cluster.stop()
        return

    problem = None
    try:
        bindir = build_binaries()
    except (BuildUnavailable, BuildFailed) as e:
        problem = f"{type(e).__name__}: {e}"
    if problem is not None:
        # Outside CI a missing/too-old Go or an offline module download should
        # not fail the whole suite; in CI it must.
        if _in_ci():
            pytest.fail(f"CI is set and the e2e control plane cannot be built: {problem}", pytrace=False)
        pytest.skip(f"e2e control plane unavailable (set CI=true to make this an error): {problem}")

    keep = os.environ.get("PODTRIAGE_E2E_KEEP") == "1"
    workdir = tmp_path_factory.mktemp("controlplane") if keep else None
    cp = ControlPlane(bindir=bindir, extra_users=(NS_READER_USER, PODTRIAGE_CLI_USER), workdir=workdir,
                      keep_workdir=keep)
    problem = None
    try:
        cp.start()  # stops whatever it started if it fails
    except ControlPlaneError as e:
        problem = str(e)
    if problem is not None:
        pytest.fail(f"e2e control plane failed to start: {problem}", pytrace=False)
    try:
        yield cp
    finally:
        cp.stop()


@pytest.fixture
def e2e_namespace(control_plane):
    """A fresh namespace per test; its pods are force-deleted afterwards.

    Namespaces themselves are never deleted (without kube-controller-manager a
    deleted namespace stays Terminating forever). Deleting the pods matters:
    a pod left Pending would be scheduled onto a later test's nodes.
    """
    ns = control_plane.ensure_namespace(f"e2e-{uuid.uuid4().hex[:8]}")
    yield ns
    control_plane.force_delete_pods(ns)


@pytest.fixture
def clean_nodes(control_plane):
    """No Node objects before the test, and none left after it.

    The scheduler's "0/N nodes are available" counts every node in the
    cluster, so tests that assert on it need the cluster to themselves.
    """
    if isinstance(control_plane, ExternalCluster):
        pytest.skip("clean_nodes would delete the nodes of an external cluster")
    control_plane.delete_all_nodes()
    yield control_plane
    control_plane.delete_all_nodes()


# --------------------------------------------------------------------------
# podtriage as its own identity, and the read-only proof from the audit log


class AuditWatch:
    """Counts podtriage invocations; at the end of the session the audit log is checked."""

    def __init__(self) -> None:
        self.invocations = 0
        self.report: dict = {}


@pytest.fixture(scope="session", autouse=True)
def readonly_audit(request, control_plane):
    """After every e2e test: no request by podtriage's identities may be other than get/list/watch.

    Fails the session (an error at teardown) when podtriage ran and the audit log shows no
    request of it (the check must be able to fail) or shows any writing verb.
    """
    import collections
    import json
    import time as _time

    from .controlplane import READ_VERBS, podtriage_audit_events

    watch = AuditWatch()
    yield watch
    if control_plane.audit_log_path is None or watch.invocations == 0:
        return
    _time.sleep(0.5)  # the audit backend writes the ResponseComplete stage after the response
    events = podtriage_audit_events(control_plane.audit_events())
    by_verb = collections.Counter(e.get("verb") for e in events)
    bad = [e for e in events if e.get("verb") not in READ_VERBS]
    watch.report = {"podtriage_invocations": watch.invocations, "requests": len(events),
                    "by_verb": dict(by_verb),
                    "secrets": dict(collections.Counter(e.get("verb") for e in events
                                                        if (e.get("objectRef") or {}).get("resource") == "secrets"))}
    summary_path = os.environ.get("PODTRIAGE_AUDIT_SUMMARY")
    if summary_path:
        Path(summary_path).write_text(json.dumps(watch.report, indent=2) + "\n")
    assert events, f"podtriage ran {watch.invocations} times but the audit log holds no request of it"
    assert not bad, "podtriage made non-read requests: " + "; ".join(
        f"{e.get('verb')} {e.get('requestURI')} as {(e.get('user') or {}).get('username')}" for e in bad[:20])


@pytest.fixture(scope="session")
def podtriage_cli(control_plane, readonly_audit):
    """Runs the podtriage CLI as ``podtriage-cli`` (cluster-admin), counted for the audit check."""
    from .controlplane import PODTRIAGE_CLI_USER, bind_cluster_role
    from .scenarios import Podtriage

    if isinstance(control_plane, ExternalCluster):
        return Podtriage(kubeconfig=control_plane.kubeconfig_path, counter=readonly_audit)
    bind_cluster_role(control_plane, PODTRIAGE_CLI_USER)
    return Podtriage(kubeconfig=control_plane.kubeconfig_for(PODTRIAGE_CLI_USER), counter=readonly_audit)


@pytest.fixture
def cli_kubeconfig(control_plane) -> Path:
    """The kubeconfig of ``podtriage-cli`` (cluster-admin), for in-process clients and proxies."""
    from .controlplane import PODTRIAGE_CLI_USER, bind_cluster_role

    if isinstance(control_plane, ExternalCluster):
        pytest.skip("needs the harness's identities")
    bind_cluster_role(control_plane, PODTRIAGE_CLI_USER)
    return Path(control_plane.kubeconfig_for(PODTRIAGE_CLI_USER))


@pytest.fixture
def podtriage_as(control_plane, readonly_audit):
    """``podtriage_as(user)`` -> a CLI runner for that harness identity (counted for the audit check)."""
    from .scenarios import Podtriage

    def make(user: str) -> Podtriage:
        return Podtriage(kubeconfig=control_plane.kubeconfig_for(user), counter=readonly_audit)

    return make
