"""Confidence intervals for correlated simulation output (batch means).

Consecutive response times in a queue are strongly correlated, so the naive standard error
``s/√n`` is far too small. Splitting the run into a few long batches and treating the batch
statistics as independent is the standard remedy (Law & Kelton, *Simulation Modeling and
Analysis*, 3rd ed., §9.5.3).
"""

from __future__ import annotations

import numpy as np
from scipy import stats

# Two-sided 99.9 % intervals: each comparison is a fixed-seed test, and with a few dozen of them
# a 99 % level would make one spurious failure likely whenever a seed changes.
CONFIDENCE = 0.999


def batch_interval(
    x: np.ndarray, statistic=np.mean, n_batches: int = 20, confidence: float = CONFIDENCE
) -> tuple[float, float]:
    """Point estimate (``statistic`` of all of ``x``) and half-width of its confidence interval
    from ``n_batches`` contiguous batches (Student t with ``n_batches - 1`` d.o.f.)."""
    x = np.asarray(x, dtype=float)
    batches = np.array_split(x, n_batches)
    values = np.array([statistic(b) for b in batches])
    t = stats.t.ppf(0.5 + confidence / 2.0, n_batches - 1)
    return float(statistic(x)), float(t * values.std(ddof=1) / np.sqrt(n_batches))


def replication_interval(values: np.ndarray, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Mean of independent replication values and the half-width of its confidence interval."""
    v = np.asarray(values, dtype=float)
    t = stats.t.ppf(0.5 + confidence / 2.0, len(v) - 1)
    return float(v.mean()), float(t * v.std(ddof=1) / np.sqrt(len(v)))


def percentile_of(q: float):
    """A ``statistic`` for :func:`batch_interval` computing the q-th percentile."""
    return lambda x: float(np.percentile(x, q))
