"""Fixtures the audit tests share."""

from __future__ import annotations

import pytest

from podtriage.rulebook import RuleSet, load_rules


@pytest.fixture(scope="session")
def rules() -> RuleSet:
    """The built-in catalogue (loading it is read-only work: one copy for every audit test)."""
    return load_rules()
