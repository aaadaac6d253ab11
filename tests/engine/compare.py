"""Comparison of an engine output over replications with an expected value."""

from __future__ import annotations

import numpy as np

from tests.engine.reference.stats import replication_interval


def within(engine_values: np.ndarray, expected: float, rel: float) -> tuple[bool, str]:
    """``|mean − expected| ≤ rel·expected + CI half-width`` of the replication mean (99.9 %),
    and a message with both numbers for the assertion."""
    mean, half_width = replication_interval(engine_values)
    ok = abs(mean - expected) <= rel * expected + half_width
    return ok, f"engine {mean:.3f} ± {half_width:.3f} vs theory {expected:.3f} (rel {rel:.0%})"
