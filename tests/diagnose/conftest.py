"""Fixtures shared by the diagnosis tests."""

from __future__ import annotations

import pytest

from podtriage.rulebook import load_rules


@pytest.fixture(scope="module")
def rules():
    return load_rules()
