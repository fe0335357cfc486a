"""Fixtures: the release artifacts (tests/release_artifacts.py), built once per session."""

from __future__ import annotations

import pytest

import release_artifacts


@pytest.fixture(scope="session")
def dists():
    return release_artifacts.dists()


@pytest.fixture(scope="session")
def image():
    return release_artifacts.image()
