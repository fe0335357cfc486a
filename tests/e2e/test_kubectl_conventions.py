"""kubectl's conventions against the real kube-apiserver: shell completion of live names (through
podtriage's own scripts and through kubectl's plugin completion), --as/--as-group impersonation
checked by real RBAC and the audit log, -v=6/7/8 request logs, one warning for
insecure-skip-tls-verify, --no-secrets sending no Secret request, and `kubectl podtriage` installed
by krew explaining a live pod."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import yaml

import release_artifacts

from .controlplane import PODTRIAGE_CLI_USER, ExternalCluster, bind_cluster_role
from .scenarios import pod_body

pytestmark = pytest.mark.e2e

BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def cp(control_plane):
    if isinstance(control_plane, ExternalCluster):
        pytest.skip("needs the harness's identities and audit log")
    bind_cluster_role(control_plane, PODTRIAGE_CLI_USER)
    return control_plane


@pytest.fixture(scope="module")
def scene(cp):
    """A namespace with a Pending pod (a nodeSelector no node matches) and a Deployment."""
    from kubernetes import client

    ns = cp.ensure_namespace(f"kc-{uuid.uuid4().hex[:6]}")
    cp.core_v1().create_namespaced_pod(ns, pod_body("api-0", nodeSelector={"pool": f"none-{ns}"}))
    client.AppsV1Api(cp.api_client()).create_namespaced_deployment(ns, {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "frontend"},
        "spec": {"selector": {"matchLabels": {"app": "frontend"}},
                 "template": {"metadata": {"labels": {"app": "frontend"}},
                              "spec": {"containers": [{"name": "c", "image": "registry.k8s.io/pause:3.10"}]}}}})
    cp.wait_for_failed_scheduling(ns, "api-0")
    yield ns
    cp.force_delete_pods(ns)


def run(argv: list, *, env: dict | None = None, counter=None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    if counter is not None:
        counter.invocations += 1
    full = {k: v for k, v in os.environ.items() if not k.startswith(("KUBECONFIG", "PODTRIAGE_"))}
    full.update({"NO_COLOR": "1", **(env or {})})
    return subprocess.run([str(a) for a in argv], capture_output=True, text=True, env=full, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def podtriage(*args, **kw) -> subprocess.CompletedProcess[str]:
    return run([BIN / "podtriage", *args], **kw)


def audit_since(cp, n: int) -> list[dict]:
    time.sleep(0.5)
    return cp.audit_events()[n:]


# --- completion ----------------------------------------------------------------------------------------


def test_live_completion_of_namespaces_pods_and_workloads(cp, scene, readonly_audit) -> None:
    kcfg = str(cp.kubeconfig_for(PODTRIAGE_CLI_USER))
    comp = BIN / "kubectl_complete-podtriage"
    namespaces = run([comp, "explain", "--kubeconfig", kcfg, "-n", "kc-"], counter=readonly_audit)
    assert scene in namespaces.stdout.splitlines() and namespaces.stdout.splitlines()[-1] == ":4"
    targets = run([comp, "explain", "--kubeconfig", kcfg, "-n", scene, ""], counter=readonly_audit)
    assert targets.stdout.splitlines() == ["api-0", "deployment/frontend", ":4"], targets.stdout
    narrowed = run([comp, "explain", "--kubeconfig", kcfg, "-n", scene, "deploy/"], counter=readonly_audit)
    assert narrowed.stdout.splitlines() == ["deploy/frontend", ":4"]


def test_kubectl_completes_the_plugin_from_the_live_cluster(cp, scene, readonly_audit) -> None:
    """`kubectl podtriage explain -n NS <TAB>`: kubectl's own completion calls kubectl_complete-podtriage."""
    kubectl = release_artifacts.cli_tool("kubectl")
    env = {"PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "KUBECONFIG": str(cp.kubeconfig_for(PODTRIAGE_CLI_USER))}
    p = run([kubectl, "__complete", "podtriage", "explain", "-n", scene, ""], env=env, counter=readonly_audit)
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines()[:3] == ["api-0", "deployment/frontend", ":4"], p.stdout


def test_bash_completes_live_pod_names(cp, scene, readonly_audit) -> None:
    readonly_audit.invocations += 1
    src = podtriage("completion", "bash").stdout
    kcfg = cp.kubeconfig_for(PODTRIAGE_CLI_USER)
    prog = f"""{src}
COMP_WORDS=(podtriage explain --kubeconfig {kcfg} -n {scene} a); COMP_CWORD=6
_podtriage_completion podtriage
printf '%s\\n' "${{COMPREPLY[@]}}"
"""
    p = subprocess.run(["bash", "--norc", "-c", prog], capture_output=True, text=True, timeout=60,
                       env={**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"})
    assert p.stdout.split() == ["api-0"], p.stdout + p.stderr


# --- --as, --as-group ----------------------------------------------------------------------------------


def test_impersonation_is_checked_by_real_rbac(cp, scene, readonly_audit) -> None:
    from kubernetes import client

    kcfg = str(cp.kubeconfig_for(PODTRIAGE_CLI_USER))
    group = f"readers-{uuid.uuid4().hex[:6]}"
    user = f"alice-{uuid.uuid4().hex[:6]}"
    # As a user without any grant: podtriage reads as that user, and is refused.
    denied = podtriage("explain", "api-0", "-n", scene, "--kubeconfig", kcfg, "--as", user, counter=readonly_audit)
    assert denied.returncode == 3 and f'User "{user}" cannot list resource "pods"' in denied.stderr, denied.stderr
    # A role bound to the second of two groups: both Impersonate-Group headers must arrive.
    rbac = client.RbacAuthorizationV1Api(cp.api_client())
    rbac.create_namespaced_role(scene, {"metadata": {"name": group}, "rules": [
        {"apiGroups": [""], "resources": ["pods", "events"], "verbs": ["list"]}]})
    rbac.create_namespaced_role_binding(scene, {"metadata": {"name": group},
                                               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                                                           "name": group},
                                               "subjects": [{"kind": "Group", "name": group,
                                                             "apiGroup": "rbac.authorization.k8s.io"}]})
    before = len(cp.audit_events())
    allowed = podtriage("explain", "api-0", "-n", scene, "--kubeconfig", kcfg, "--as", user, "--as-group",
                        "dev", "--as-group", group, "-o", "json", counter=readonly_audit)
    assert allowed.returncode == 1, allowed.stderr  # blocked pod, explained from what the group may read
    doc = json.loads(allowed.stdout)
    assert any("nodes" in m for m in doc["missing"])  # the group may not list nodes: said, not fatal
    events = [e for e in audit_since(cp, before) if (e.get("impersonatedUser") or {}).get("username") == user]
    assert events and all(e["user"]["username"] == PODTRIAGE_CLI_USER for e in events)
    assert {tuple(e["impersonatedUser"].get("groups", ())) for e in events} >= {("dev", group, "system:authenticated")}


# --- -v=6/7/8, insecure-skip-tls-verify, --no-secrets -------------------------------------------------------


def test_v6_logs_requests_v7_headers_with_credentials_masked_v8_bodies(cp, scene, readonly_audit) -> None:
    kcfg = cp.kubeconfig_for(PODTRIAGE_CLI_USER)
    token = cp.token_for(PODTRIAGE_CLI_USER)
    quiet = podtriage("explain", "api-0", "-n", scene, "--kubeconfig", kcfg, counter=readonly_audit)
    assert quiet.returncode == 1 and "milliseconds" not in quiet.stderr
    v6 = podtriage("explain", "api-0", "-n", scene, "--kubeconfig", kcfg, "-v=6", counter=readonly_audit)
    assert v6.returncode == 1
    lines = [ln for ln in v6.stderr.splitlines() if " podtriage] GET " in ln]
    assert any(f"GET {cp.server}/api/v1/namespaces/{scene}/pods?limit=" in ln and " 200 OK in " in ln
               for ln in lines), v6.stderr[:2000]
    assert "authorization" not in v6.stderr.lower()
    v8 = podtriage("explain", "api-0", "-n", scene, "--kubeconfig", kcfg, "--v", "8", counter=readonly_audit)
    assert "Authorization: <masked>" in v8.stderr and token not in v8.stderr
    assert '"kind":"PodList"' in v8.stderr.replace(" ", "")


def test_insecure_skip_tls_verify_warns_once(cp, scene, readonly_audit, tmp_path) -> None:
    cfg = yaml.safe_load(Path(cp.kubeconfig_for(PODTRIAGE_CLI_USER)).read_text())
    cluster = cfg["clusters"][0]["cluster"]
    cluster.pop("certificate-authority")
    cluster["insecure-skip-tls-verify"] = True
    insecure = tmp_path / "insecure.kubeconfig"
    insecure.write_text(yaml.safe_dump(cfg))
    p = podtriage("explain", "api-0", "-n", scene, "--kubeconfig", insecure, "-o", "json", counter=readonly_audit)
    assert p.returncode == 1, p.stderr
    assert "InsecureRequestWarning" not in p.stderr and "Unverified HTTPS" not in p.stderr, p.stderr[:2000]
    warnings = [w for w in json.loads(p.stdout)["warnings"] if "TLS certificate verification is disabled" in w]
    assert len(warnings) == 1 and cp.server in warnings[0]


def test_no_secrets_sends_no_secret_request(cp, scene, readonly_audit) -> None:
    kcfg = cp.kubeconfig_for(PODTRIAGE_CLI_USER)
    for args, env in ((["--no-secrets"], {}), ([], {"PODTRIAGE_SECRETS": "false"})):
        before = len(cp.audit_events())
        p = podtriage("explain", "api-0", "-n", scene, "--kubeconfig", kcfg, "-o", "json", *args, env=env,
                      counter=readonly_audit)
        assert p.returncode == 1, p.stderr
        events = [e for e in audit_since(cp, before) if e["user"]["username"] == PODTRIAGE_CLI_USER]
        assert events and not [e for e in events if (e.get("objectRef") or {}).get("resource") == "secrets"]
        assert any(m.startswith("secrets could not be read: skipped (--no-secrets): Secret existence not verified")
                   for m in json.loads(p.stdout)["missing"])
    before = len(cp.audit_events())
    podtriage("explain", "api-0", "-n", scene, "--kubeconfig", kcfg, "-o", "json", counter=readonly_audit)
    secret_lists = [e for e in audit_since(cp, before) if (e.get("objectRef") or {}).get("resource") == "secrets"]
    assert secret_lists and all(e["verb"] == "list" for e in secret_lists)  # by default, metadata LISTs


# --- krew -------------------------------------------------------------------------------------------------


def test_kubectl_podtriage_from_krew_explains_a_live_pod(cp, scene, readonly_audit, tmp_path) -> None:
    release = release_artifacts.krew_release("http://127.0.0.1:1")  # installed from the local archive
    toolbin = tmp_path / "toolbin"
    toolbin.mkdir()
    (toolbin / "kubectl").symlink_to(release_artifacts.cli_tool("kubectl"))
    (toolbin / "kubectl-krew").symlink_to(release_artifacts.cli_tool("krew"))
    env = {"PATH": f"{tmp_path / 'krew' / 'bin'}{os.pathsep}{toolbin}{os.pathsep}{os.environ['PATH']}",
           "KREW_ROOT": str(tmp_path / "krew"), "PEX_ROOT": str(tmp_path / "pex"), "HOME": str(tmp_path)}
    install = run(["kubectl", "krew", "install", f"--manifest={release / 'podtriage.yaml'}",
                   f"--archive={release / 'kubectl-podtriage_linux_amd64.tar.gz'}"], env=env, timeout=300)
    assert install.returncode == 0, install.stderr
    kcfg = cp.kubeconfig_for(PODTRIAGE_CLI_USER)
    p = run(["kubectl", "podtriage", "explain", "api-0", "-n", scene, "--kubeconfig", kcfg], env=env,
            counter=readonly_audit, timeout=300)
    assert p.returncode == 1, p.stdout + p.stderr
    assert p.stdout.startswith(f"✗ {scene}/api-0 is Pending"), p.stdout
    # The same answer as the podtriage installed from the wheel (other tests change the nodes: compare).
    plugin = run(["kubectl", "podtriage", "explain", "api-0", "-n", scene, "--kubeconfig", kcfg, "-o", "json"],
                 env=env, counter=readonly_audit, timeout=300)
    direct = podtriage("explain", "api-0", "-n", scene, "--kubeconfig", kcfg, "-o", "json", counter=readonly_audit)
    rules = [[c["rule"] for c in json.loads(r.stdout)["rootCauses"]] for r in (plugin, direct)]
    assert rules[0] == rules[1] and rules[0], rules
