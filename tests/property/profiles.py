"""The hypothesis settings shared by the property tests and benchmarks/fuzz.py."""

from __future__ import annotations

import os
from datetime import timedelta

from hypothesis import HealthCheck, settings

# Per-target example counts in CI: the slow end-to-end targets run fewer examples.
CI_EXAMPLES = {
    "quantity": 300, "messages": 200, "schedlog": 150, "loader-bytes": 60, "loader-forms": 60,
    "node-stats": 80, "cgroup-files": 25, "rule-files": 80, "suppressions": 80, "previous-report": 60,
    "pipeline": 15, "kubelet": 20,
}
# hypothesis' own deadline flags a slow example after it finished; harness.HARD_CAP stops a hang.
DEADLINE = timedelta(seconds=float(os.environ.get("PODTRIAGE_FUZZ_DEADLINE", "10")))
_SUPPRESS = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much,
             HealthCheck.large_base_example, HealthCheck.function_scoped_fixture]


def register_profiles() -> None:
    settings.register_profile("podtriage-ci", deadline=DEADLINE, suppress_health_check=_SUPPRESS,
                              derandomize=False, print_blob=True, database=None)
    settings.register_profile("podtriage-fuzz", deadline=DEADLINE, suppress_health_check=_SUPPRESS,
                              print_blob=True, database=None)


def examples_for(target: str) -> int:
    """PODTRIAGE_FUZZ_EXAMPLES when set, else the CI count of the target."""
    env = os.environ.get("PODTRIAGE_FUZZ_EXAMPLES")
    return int(env) if env else CI_EXAMPLES.get(target, 50)
