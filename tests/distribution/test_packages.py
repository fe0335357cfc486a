"""The sdist and the wheel, built and installed the ways users install podtriage.

`python -m build` makes both (the wheel from the sdist), `twine check --strict` passes them, and
each is installed outside the source tree, non-editable: into a fresh venv with pip (the locked
runtime dependencies, by hash), and with pipx. The demo's explain and audit then run from there,
from a directory that is not the checkout, and the installed rule catalogue and schemas are the
repository's.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from release_artifacts import REPO

DEMO = REPO / "fixtures" / "demo" / "cluster.yaml"
RUNTIME_LOCK = REPO / "requirements" / "runtime.lock"
TEST_LOCK = REPO / "requirements" / "test.lock"
RULES = sorted(p.name for p in (REPO / "rules").glob("*.yaml"))


def sh(argv: list[str], *, cwd: Path | None = None, env: dict[str, str] | None = None,
       timeout: float = 600) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "PYTHONPATH", "KUBECONFIG"))}
    full.update({"NO_COLOR": "1", **(env or {})})
    return subprocess.run([str(a) for a in argv], capture_output=True, text=True, cwd=cwd, env=full,
                          timeout=timeout, stdin=subprocess.DEVNULL)


def ok(p: subprocess.CompletedProcess[str], *codes: int) -> subprocess.CompletedProcess[str]:
    assert p.returncode in (codes or (0,)), f"$ {' '.join(p.args)}\nexit {p.returncode}\n{p.stdout[-3000:]}\n{p.stderr[-3000:]}"
    return p


def test_twine_check_passes(dists) -> None:
    sdist, wheel = dists
    p = ok(sh([sys.executable, "-m", "twine", "check", "--strict", sdist, wheel]))
    assert p.stdout.count("PASSED") == 2, p.stdout


def test_wheel_carries_the_package_rules_schemas_and_license(dists) -> None:
    _, wheel = dists
    names = set(zipfile.ZipFile(wheel).namelist())
    source = {str(p.relative_to(REPO)) for p in (REPO / "podtriage").rglob("*.py")}
    assert source <= names, sorted(source - names)
    assert {f"podtriage/builtin_rules/{r}" for r in RULES} <= names
    assert {"podtriage/schema/explain-v1.json", "podtriage/schema/audit-v1.json"} <= names
    info = next(n for n in names if n.endswith(".dist-info/METADATA")).rsplit("/", 1)[0]
    assert f"{info}/licenses/LICENSE" in names or f"{info}/LICENSE" in names
    entry_points = zipfile.ZipFile(wheel).read(f"{info}/entry_points.txt").decode()
    for script in ("podtriage", "kubectl-podtriage", "kubectl_complete-podtriage"):
        assert f"{script} = podtriage.cli:entry" in entry_points
    assert not any(n.startswith(("tests/", "fixtures/", "rules/", "deploy/")) for n in names)


def test_sdist_carries_what_the_wheel_and_the_image_are_built_from(dists) -> None:
    sdist, _ = dists
    with tarfile.open(sdist) as tar:
        names = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
    assert {f"rules/{r}" for r in RULES} <= names
    assert {"setup.py", "pyproject.toml", "LICENSE", "deploy/Dockerfile", "deploy/image/install.sh",
            "requirements/runtime.lock", "requirements/build.lock"} <= names
    assert not any(n.startswith(("tests/", "fixtures/")) for n in names)


def locked(lock: Path, name: str) -> str:
    """One package's pin with its hashes, as written in a lock file."""
    block = re.search(rf"^{re.escape(name)}==.*?(?=^\S|\Z)", lock.read_text(encoding="utf-8"), re.M | re.S)
    assert block, f"{name} is not in {lock}"
    return block.group(0)


@pytest.fixture(scope="module")
def wheelhouse(tmp_path_factory) -> Path:
    """The runtime dependencies as locked (by hash), and the pip that pipx's shared venv gets: what
    pip and pipx resolve the wheel against, offline."""
    out = tmp_path_factory.mktemp("wheelhouse")
    reqs = out / "requirements.txt"
    reqs.write_text(RUNTIME_LOCK.read_text(encoding="utf-8") + "\n" + locked(TEST_LOCK, "pip"), encoding="utf-8")
    ok(sh([sys.executable, "-m", "pip", "download", "--quiet", "--require-hashes", "--no-deps", "--only-binary",
           ":all:", "-r", reqs, "-d", out]))
    reqs.unlink()
    return out


def _demo_runs(bindir: Path, cwd: Path) -> None:
    """The README's demo, from an installation: explain names the taint, audit's JSON validates."""
    explain = ok(sh([bindir / "podtriage", "explain", "deployment/inference", "-n", "ml", "--from", DEMO], cwd=cwd), 1)
    assert explain.stdout.startswith("✗ Deployment ml/inference") and "nvidia.com/gpu=present:NoSchedule" in explain.stdout
    audit = ok(sh([bindir / "podtriage", "audit", "--from", DEMO, "-o", "json", "--fail-on", "none"], cwd=cwd))
    doc = json.loads(audit.stdout)
    assert doc["kind"] == "AuditReport" and doc["counts"]["pendingPods"] == 5
    assert {f["rule"] for f in doc["findings"]} >= {"taint-untolerated", "quota-exceeded"}
    rules = ok(sh([bindir / "podtriage", "rules", "list"], cwd=cwd))
    assert len(rules.stdout.splitlines()) == len(RULES)
    plugin = ok(sh([bindir / "kubectl-podtriage", "--help"], cwd=cwd))
    assert plugin.stdout.startswith("Usage: kubectl podtriage")


def _validate_offline(python: Path, doc_path: Path, cwd: Path) -> None:
    """The installed schemas validate the installed CLI's output with no network and no registry."""
    code = ("import json,sys,importlib.resources as r,jsonschema;"
            "s=json.loads(r.files('podtriage.schema').joinpath('audit-v1.json').read_text());"
            "jsonschema.Draft202012Validator(s).validate(json.load(open(sys.argv[1])));print('valid')")
    p = ok(sh([sys.executable, "-c", code, doc_path], cwd=cwd, env={"PYTHONPATH": str(python)}))
    assert p.stdout.strip() == "valid"


def test_pip_install_into_a_fresh_venv(dists, wheelhouse, tmp_path: Path) -> None:
    _, wheel = dists
    venv = tmp_path / "venv"
    ok(sh([sys.executable, "-m", "venv", venv]))
    py = venv / "bin" / "python"
    # Non-editable, resolved by pip from the wheel's own Requires-Dist, against the locked wheels only.
    ok(sh([py, "-m", "pip", "install", "--quiet", "--no-index", "--find-links", wheelhouse, wheel]))
    ok(sh([py, "-m", "pip", "check"]))
    where = ok(sh([py, "-c", "import podtriage.rulebook as r; print(r.__file__); print(r.BUILTIN_DIR)"],
                  cwd=tmp_path)).stdout.split()
    assert all(str(venv) in w and str(REPO) not in w for w in where), where
    assert where[1].endswith("site-packages/podtriage/builtin_rules")
    _demo_runs(venv / "bin", tmp_path)
    audit = ok(sh([venv / "bin" / "podtriage", "audit", "--from", DEMO, "-o", "json", "--fail-on", "none"],
                  cwd=tmp_path))
    (tmp_path / "audit.json").write_text(audit.stdout)
    site = next((venv / "lib").glob("python3*/site-packages"))
    _validate_offline(site, tmp_path / "audit.json", tmp_path)


def test_pipx_install(dists, wheelhouse, tmp_path: Path) -> None:
    _, wheel = dists
    home, bindir = tmp_path / "pipx", tmp_path / "bin"
    env = {"PIPX_HOME": str(home), "PIPX_BIN_DIR": str(bindir), "PIPX_MAN_DIR": str(tmp_path / "man"),
           "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(wheelhouse)}
    p = ok(sh([sys.executable, "-m", "pipx", "install", wheel], env=env, cwd=tmp_path))
    assert "podtriage" in p.stdout + p.stderr
    for script in ("podtriage", "kubectl-podtriage", "kubectl_complete-podtriage"):
        assert (bindir / script).exists(), sorted(x.name for x in bindir.iterdir())
    _demo_runs(bindir, tmp_path)
    listed = json.loads(ok(sh([sys.executable, "-m", "pipx", "list", "--json"], env=env)).stdout)
    assert listed["venvs"]["podtriage"]["metadata"]["main_package"]["package_version"] == wheel.name.split("-")[1]
