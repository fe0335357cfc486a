"""Hypothesis profiles for the fuzz targets.

`ci` (the default) runs a modest number of examples per target so that tests/property stays
within about 90 s on the project's 2-core machine; PODTRIAGE_FUZZ_EXAMPLES=N raises every target
to N examples (benchmarks/fuzz.py runs 10,000 per target). PODTRIAGE_FUZZ_SEED fixes the seed.
"""

from __future__ import annotations

import os

from hypothesis import settings

from .profiles import register_profiles

register_profiles()
settings.load_profile(os.environ.get("PODTRIAGE_FUZZ_PROFILE", "podtriage-ci"))
