"""What a release ships, built once per test session: the sdist and wheel, the container image's
file set, and the Go-built tools that install them (helm, kubectl, krew, the Pushgateway).

Shared by tests/distribution, tests/deploy and tests/e2e (each conftest wraps these in fixtures).
A missing toolchain skips outside CI and fails in CI, like the control plane (tests/e2e/conftest.py).
"""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
TOOLS_SCRIPT = REPO / "tools" / "cli-tools" / "build.sh"
TOOLS = ("helm", "kubectl", "krew", "validate-krew-manifest", "pushgateway")

_cache: dict[str, object] = {}


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def unavailable(reason: str):
    """Skip outside CI; in CI what the tests need must be there."""
    if in_ci():
        pytest.fail(f"CI is set and {reason}", pytrace=False)
    pytest.skip(f"{reason} (set CI=true to make this an error)")


def _session_dir() -> Path:
    d = _cache.get("dir")
    if d is None:
        d = Path(tempfile.mkdtemp(prefix="podtriage-release-"))
        # ~300 MB with every krew platform: gone with the test session (PODTRIAGE_KEEP_RELEASE=1 keeps it).
        if os.environ.get("PODTRIAGE_KEEP_RELEASE") != "1":
            atexit.register(shutil.rmtree, d, True)
        _cache["dir"] = d
    assert isinstance(d, Path)
    return d


def cli_tool(name: str) -> Path:
    """tools/cli-tools/build.sh's binary `name` (built once, then cached outside the clone)."""
    assert name in TOOLS, name
    bindir = _cache.get("tools")
    if bindir is None:
        if shutil.which("go") is None:
            unavailable(f"Go is not installed: cannot build {', '.join(TOOLS)} ({TOOLS_SCRIPT})")
        proc = subprocess.run(["bash", str(TOOLS_SCRIPT)], capture_output=True, text=True, timeout=3600,
                              stdin=subprocess.DEVNULL)
        if proc.returncode != 0:
            unavailable(f"{TOOLS_SCRIPT} failed (exit {proc.returncode}):\n" + proc.stderr[-4000:])
        bindir = Path(proc.stdout.strip().splitlines()[-1]) / "bin"
        _cache["tools"] = bindir
    assert isinstance(bindir, Path)
    path = bindir / name
    if not os.access(path, os.X_OK):
        pytest.fail(f"{TOOLS_SCRIPT} succeeded but {path} is missing")
    return path


def dists() -> tuple[Path, Path]:
    """(sdist, wheel) built from this checkout with `python -m build`, the backend from the lock."""
    got = _cache.get("dists")
    if got is None:
        out = _session_dir() / "dist"
        # --no-isolation: the build backend is the locked one in this venv (tools/setup.sh), not a
        # fresh unpinned download; build itself builds the wheel from the sdist, as pip would.
        proc = subprocess.run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(REPO)],
                              capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, f"python -m build failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        [sdist] = out.glob("podtriage-*.tar.gz")
        [wheel] = out.glob("podtriage-*.whl")
        got = (sdist, wheel)
        _cache["dists"] = got
    assert isinstance(got, tuple)
    return got


def image():
    """The container image's file set: deploy/Dockerfile's steps on its context, the unpacked sdist."""
    import rootfs

    got = _cache.get("image")
    if got is None:
        mode = rootfs.isolation()
        if not mode:
            unavailable("neither root nor user namespaces allow mount namespaces and chroot here "
                        "(needed to build the image's file set without a container engine)")
        sdist, _ = dists()
        context_parent = _session_dir() / "image-context"
        context_parent.mkdir()
        with tarfile.open(sdist) as tar:
            safe = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
            tar.extractall(context_parent, **safe)  # type: ignore[arg-type]
        [context] = list(context_parent.iterdir())
        work = _session_dir() / "image"
        work.mkdir()
        got = (rootfs.build(context / "deploy" / "Dockerfile", context, work, mode=mode), context, mode)
        _cache["image"] = got
    return got


KREW_PLATFORMS_ALL = ("linux/amd64", "linux/arm64", "darwin/amd64", "darwin/arm64")


def krew_platforms() -> tuple[str, ...]:
    """Every platform in CI (or with PODTRIAGE_KREW_ALL_PLATFORMS=1); this machine's alone otherwise,
    since each platform's PEX takes a minute or two to build."""
    if in_ci() or os.environ.get("PODTRIAGE_KREW_ALL_PLATFORMS") == "1":
        return KREW_PLATFORMS_ALL
    return ("linux/amd64",)


def krew_release(base_url: str) -> Path:
    """tools/release/krew.py's output directory (archives, SHA256SUMS, podtriage.yaml) for `base_url`.

    The archives are built once; only the manifest is rewritten for another base URL."""
    got = _cache.get("krew")
    out = _session_dir() / "krew"
    if got is None:
        _, wheel = dists()
        argv = [sys.executable, str(REPO / "tools" / "release" / "krew.py"), "--wheel", str(wheel), "--out", str(out),
                "--base-url", base_url]
        for platform in krew_platforms():
            argv += ["--platform", platform]
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=3600)
        assert proc.returncode == 0, f"krew.py failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}"
        _cache["krew"] = base_url
    elif got != base_url:
        import importlib.util

        spec = importlib.util.spec_from_file_location("krew_release", REPO / "tools" / "release" / "krew.py")
        assert spec and spec.loader
        krew = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(krew)
        archives = {}
        for line in (out / "SHA256SUMS").read_text().splitlines():
            digest, name = line.split()
            platform = name.removeprefix("kubectl-podtriage_").removesuffix(".tar.gz").replace("_", "/")
            archives[platform] = (f"{base_url}/{name}", digest)
        (out / "podtriage.yaml").write_text(krew.manifest(krew.wheel_version(dists()[1]), archives))
        _cache["krew"] = base_url
    return out
