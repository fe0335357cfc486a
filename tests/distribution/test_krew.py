"""`kubectl podtriage` through krew, both built from Go modules (sigs.k8s.io/krew v0.4.4, kubectl
v1.37.2): tools/release/krew.py's archives and manifest pass krew's own validator, which installs
every platform's archive as krew-index's CI does; then krew installs the plugin from the local
archive into a scratch KREW_ROOT and kubectl runs it. (The live explain through krew against the
real kube-apiserver is in tests/e2e/test_kubectl_conventions.py.)"""

from __future__ import annotations

import hashlib
import http.server
import os
import subprocess
import tarfile
import threading
from pathlib import Path

import pytest
import yaml

import release_artifacts
from release_artifacts import REPO

DEMO = REPO / "fixtures" / "demo" / "cluster.yaml"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """An HTTP server for the release directory: the manifest's URIs point at it."""
    holder: dict[str, Path] = {}

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **kw):
            super().__init__(*a, directory=str(holder["dir"]), **kw)

        def log_message(self, *a):  # quiet
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    holder["dir"] = release_artifacts.krew_release(base)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield holder["dir"]
    server.shutdown()


@pytest.fixture(scope="module")
def toolbin(tmp_path_factory) -> Path:
    """kubectl, and krew as the kubectl plugin `kubectl-krew`, on one PATH directory."""
    d = tmp_path_factory.mktemp("toolbin")
    (d / "kubectl").symlink_to(release_artifacts.cli_tool("kubectl"))
    (d / "kubectl-krew").symlink_to(release_artifacts.cli_tool("krew"))
    return d


def env_with(toolbin: Path, tmp: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KREW_", "KUBECONFIG", "PEX_"))}
    env.update(PATH=f"{toolbin}{os.pathsep}{env.get('PATH', '')}", HOME=str(tmp / "home"), NO_COLOR="1",
               PEX_ROOT=str(tmp / "pex"), **extra)
    (tmp / "home").mkdir(exist_ok=True)
    return env


def test_archives_hold_the_plugin_and_the_license_with_matching_sha256s(served) -> None:
    sums = dict(reversed(line.split()) for line in (served / "SHA256SUMS").read_text().splitlines())
    assert sorted(sums) == sorted(f"kubectl-podtriage_{p.replace('/', '_')}.tar.gz"
                                  for p in release_artifacts.krew_platforms())
    manifest = yaml.safe_load((served / "podtriage.yaml").read_text())
    platforms = manifest["spec"]["platforms"]
    assert len(platforms) == len(sums)
    for p in platforms:
        name = p["uri"].rsplit("/", 1)[1]
        data = (served / name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == sums[name] == p["sha256"]
        labels = p["selector"]["matchLabels"]
        assert name == f"kubectl-podtriage_{labels['os']}_{labels['arch']}.tar.gz" and p["bin"] == "kubectl-podtriage"
        with tarfile.open(served / name) as tar:
            members = {m.name: m for m in tar.getmembers()}
        assert sorted(members) == ["LICENSE", "kubectl-podtriage"]
        assert members["kubectl-podtriage"].mode == 0o755 and members["LICENSE"].mode == 0o644
    assert manifest["metadata"]["name"] == "podtriage" and manifest["spec"]["version"] == "v0.1.0"
    assert "Python" in manifest["spec"]["caveats"] and "3.10" in manifest["spec"]["caveats"]
    assert len(manifest["spec"]["shortDescription"]) <= 50  # krew-index's convention


def test_krew_validator_accepts_the_manifest_and_installs_every_platform(served, toolbin, tmp_path) -> None:
    validator = release_artifacts.cli_tool("validate-krew-manifest")
    p = subprocess.run([str(validator), "-manifest", str(served / "podtriage.yaml")], capture_output=True, text=True,
                       env=env_with(toolbin, tmp_path), timeout=600)
    assert p.returncode == 0, p.stdout + p.stderr
    out = p.stdout + p.stderr
    assert "structural validation OK" in out and "no overlapping spec.platform[].selector" in out
    assert f"all {len(release_artifacts.krew_platforms())} spec.platforms installed fine" in out


def test_krew_manifest_validator_refuses_a_wrong_name(served, toolbin, tmp_path) -> None:
    validator = release_artifacts.cli_tool("validate-krew-manifest")
    wrong = tmp_path / "podtriage-cli.yaml"
    wrong.write_text((served / "podtriage.yaml").read_text())
    p = subprocess.run([str(validator), "-manifest", str(wrong), "-skip-install"], capture_output=True, text=True,
                       env=env_with(toolbin, tmp_path), timeout=120)
    assert p.returncode != 0 and "plugin should be named" in p.stdout + p.stderr


def test_krew_installs_the_local_archive_and_kubectl_runs_the_plugin(served, toolbin, tmp_path) -> None:
    env = env_with(toolbin, tmp_path, KREW_ROOT=str(tmp_path / "krew"))
    # krew keeps its plugin index as a git clone of krew-index; CI has no network for that, so the
    # default index is an empty local repository (krew list/uninstall refuse to work without one).
    index = tmp_path / "krew" / "index" / "default"
    (index / "plugins").mkdir(parents=True)
    (index / "plugins" / ".keep").write_text("")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-C", str(index)]
    for args in (["init", "-q"], ["add", "."], ["commit", "-q", "-m", "empty index"]):
        subprocess.run([*git, *args], check=True, capture_output=True, env=env)
    archive = served / "kubectl-podtriage_linux_amd64.tar.gz"
    install = subprocess.run(["kubectl", "krew", "install", f"--manifest={served / 'podtriage.yaml'}",
                              f"--archive={archive}"], capture_output=True, text=True, env=env, timeout=300)
    assert install.returncode == 0, install.stdout + install.stderr
    assert "Installed plugin: podtriage" in install.stdout + install.stderr
    env["PATH"] = f"{tmp_path / 'krew' / 'bin'}{os.pathsep}{env['PATH']}"

    def kubectl(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["kubectl", *args], capture_output=True, text=True, env=env, timeout=300,
                              cwd=tmp_path)

    listed = kubectl("plugin", "list")
    assert str(tmp_path / "krew" / "bin" / "kubectl-podtriage") in listed.stdout, listed.stdout + listed.stderr
    helped = kubectl("podtriage", "--help")
    assert helped.returncode == 0 and helped.stdout.startswith("Usage: kubectl podtriage"), helped.stderr
    explained = kubectl("podtriage", "explain", "deployment/inference", "-n", "ml", "--from", str(DEMO))
    assert explained.returncode == 1, explained.stderr
    assert explained.stdout.startswith("✗ Deployment ml/inference") and "nvidia.com/gpu=present:NoSchedule" in \
        explained.stdout
    # The caveats' completion link, then kubectl's own plugin completion through it.
    link = tmp_path / "krew" / "bin" / "kubectl_complete-podtriage"
    link.symlink_to(tmp_path / "krew" / "bin" / "kubectl-podtriage")
    completed = kubectl("__complete", "podtriage", "explain", "--from", str(DEMO), "-n", "")
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.splitlines()[:4] == ["data", "default", "ml", "shop"]
    receipt = yaml.safe_load((tmp_path / "krew" / "receipts" / "podtriage.yaml").read_text())
    assert receipt["metadata"]["name"] == "podtriage" and receipt["spec"]["version"] == "v0.1.0"
    assert kubectl("krew", "list").stdout.split() == ["detached/podtriage"]  # installed from a manifest
    removed = kubectl("krew", "uninstall", "podtriage")
    assert removed.returncode == 0 and not (tmp_path / "krew" / "bin" / "kubectl-podtriage").exists()
