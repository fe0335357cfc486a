"""Every loader and parser under hostile input (targets.py): a result, a warning naming what was
skipped, or a PodtriageError; never another exception, never a hang."""

from __future__ import annotations

import os

import pytest
from hypothesis import given, seed, settings

from .profiles import examples_for
from .targets import TARGETS, Target


def run_target(target: Target, examples: int) -> None:
    @settings(max_examples=examples)
    @given(target.strategy)
    def prop(example: object) -> None:
        target.check(example)

    if os.environ.get("PODTRIAGE_FUZZ_SEED"):
        prop = seed(int(os.environ["PODTRIAGE_FUZZ_SEED"]))(prop)
    prop()


@pytest.mark.parametrize("target", TARGETS, ids=[t.name for t in TARGETS])
def test_target(target: Target) -> None:
    run_target(target, examples_for(target.name))
