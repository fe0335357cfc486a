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
