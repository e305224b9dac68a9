"""Test-wide settings.

These machines are shared and noisy (2 cores), so Hypothesis gets no
per-example deadline and no "too slow" health check: tests here assert
behaviour, and timing lives in bench/.
"""

from __future__ import annotations

from hypothesis import HealthCheck, settings

settings.register_profile(
    "spec-kitty-telemetry",
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("spec-kitty-telemetry")
