"""Shared test settings: hypothesis profiles (CI runs fewer examples per property)."""

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "default", max_examples=12, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "thorough", max_examples=100, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
