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
    cp = ControlPlane(bindir=bindir, extra_users=(NS_READER_USER,), workdir=workdir, keep_workdir=keep)
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
