"""Test configuration shared by all test modules."""

import os

from hypothesis import HealthCheck, settings

# In CI the property tests draw a fixed sequence of examples, so a run is reproducible
# (a failure there is replayed by `CI=true python -m pytest`); locally they explore anew.
settings.register_profile(
    "ci", derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
if os.environ.get("CI"):
    settings.load_profile("ci")
