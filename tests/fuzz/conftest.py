"""Hypothesis settings of the fuzz tier: bounded examples, a deadline, reproducible in CI.

run: pytest tests/fuzz    (HYPOTHESIS_PROFILE=thorough for a longer hunt; CI=1 derandomises)

Profiles: `fuzz` (default, ~100 examples a test, the whole tier in about a minute on two cores),
`ci` (the same examples every run, no example database: a red CI run reproduces locally with CI=1)
and `thorough` (ten times the examples, for a hunt by hand).
"""

from __future__ import annotations

import os
from datetime import timedelta

from hypothesis import HealthCheck, settings

# An example that plans a sweep composes Hydra configs: ~0.1 s when cold, seconds on a loaded box;
# a hang is caught apart from this (tests/fuzz/common.py, no_hang).
DEADLINE = timedelta(seconds=5)

settings.register_profile(
    "fuzz",
    max_examples=100,
    deadline=DEADLINE,
    # generation of YAML documents and files is slow next to the code under test; that is expected
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    print_blob=True,
)
settings.register_profile("ci", parent=settings.get_profile("fuzz"), derandomize=True, database=None)
settings.register_profile("thorough", parent=settings.get_profile("fuzz"), max_examples=1000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "fuzz"))
