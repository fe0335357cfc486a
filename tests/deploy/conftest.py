"""Fixtures: helm and kubectl built from Go modules (tools/cli-tools/build.sh)."""

from __future__ import annotations

from pathlib import Path

import pytest

import release_artifacts


@pytest.fixture(scope="session")
def helm() -> Path:
    return release_artifacts.cli_tool("helm")


@pytest.fixture(scope="session")
def kubectl() -> Path:
    return release_artifacts.cli_tool("kubectl")


PROMTOOL_SCRIPT = release_artifacts.REPO / "tools" / "promtool" / "build.sh"


@pytest.fixture(scope="session")
def promtool() -> Path:
    """promtool built from Go modules (tools/promtool/build.sh, cached outside the clone)."""
    import shutil
    import subprocess

    if shutil.which("go") is None:
        release_artifacts.unavailable(f"Go is not installed: cannot build promtool ({PROMTOOL_SCRIPT})")
    proc = subprocess.run(["bash", str(PROMTOOL_SCRIPT)], capture_output=True, text=True, timeout=3600,
                          stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        release_artifacts.unavailable(f"{PROMTOOL_SCRIPT} failed (exit {proc.returncode}):\n" + proc.stderr[-4000:])
    path = Path(proc.stdout.strip().splitlines()[-1]) / "bin" / "promtool"
    assert path.is_file(), f"{PROMTOOL_SCRIPT} succeeded but {path} is missing"
    return path
