"""When did the SLA break, and for how long: breach detection on per-tick series.

A contract is judged on a whole run, but a post-mortem needs *when*. We read the engine's
per-tick means over replications (which already smooth one unlucky draw):

* availability: a tick is in breach when ``1 - error_rps / offered_rps < A`` in the tick
  **and** over the trailing ``BREACH_WINDOW_S`` window (the usual one-minute SLO window).
  Requiring the window keeps a lone noisy tick from counting as an outage; requiring the tick
  keeps the window from smearing an outage past its end. Errors, not successes, are counted:
  successes lag arrivals by the response time, so ``success / offered`` dips in the first tick
  of every run (and after every burst) without a single request failing.
* latency: a tick is in breach when its percentile named by the SLA is ``> T``. No window here:
  averaging percentiles over a window would delay the onset, whereas a window's p99 crosses the
  target as soon as 1 % of its requests are slow. When the engine does not report that
  percentile per tick (it reports p50/p95/p99), the nearest reported percentile at or above it
  is used, else the highest.

"Minutes in breach" is the number of breached ticks times the tick length. Episodes separated
by less than one window are reported as one, so the timeline does not flicker.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from scoring.analysis.rules import Contract

BREACH_WINDOW_S = 60.0
# Per-tick latency percentiles the engine reports, lowest first.
_TICK_PERCENTILES = (50.0, 90.0, 95.0, 99.0, 99.9)


@dataclass(frozen=True)
class Episode:
    """One contiguous stretch of breached ticks, ``[start_s, end_s)``."""

    start_s: float  # [s]
    end_s: float  # [s]
    criterion: str  # "availability" or "latency": what broke first in the episode


@dataclass(frozen=True)
class Breach:
    """Per-tick verdicts and their summary."""

    mask: np.ndarray  # (n_ticks,) bool: tick in breach
    episodes: tuple[Episode, ...]
    minutes: float  # [min]

    @property
    def first(self) -> Episode | None:
        return self.episodes[0] if self.episodes else None


def tick_latency_key(series: Mapping[str, object], percentile: float) -> str | None:
    """Series key for the per-tick latency percentile closest at or above ``percentile``."""
    available = [p for p in _TICK_PERCENTILES if f"latency_p{p:g}_ms" in series]
    if not available:
        return None
    at_or_above = [p for p in available if p >= percentile]
    chosen = at_or_above[0] if at_or_above else available[-1]
    return f"latency_p{chosen:g}_ms"


def trailing_sum(values: np.ndarray, window: int) -> np.ndarray:
    """Sum of the last ``window`` values ending at each index (partial at the start)."""
    csum = np.concatenate(([0.0], np.cumsum(values)))
    idx = np.arange(1, len(values) + 1)
    return csum[idx] - csum[np.maximum(idx - window, 0)]


def find_breach(
    series: Mapping[str, np.ndarray], times_s: np.ndarray, tick_s: float, contract: Contract
) -> Breach:
    """Find the ticks in which the SLA was breached.

    Parameters
    ----------
    series : mapping of key to ndarray (n_ticks,)
        Per-tick means: ``offered_rps``, ``error_rps`` [1/s] and at least one
        ``latency_pXX_ms`` [ms].
    times_s : ndarray (n_ticks,)
        Start of each tick [s].
    tick_s : float
        Tick length [s].
    contract : Contract

    Returns
    -------
    Breach
    """
    offered = np.nan_to_num(np.asarray(series["offered_rps"], dtype=float))
    errors = np.nan_to_num(np.asarray(series["error_rps"], dtype=float))
    window = max(1, int(round(BREACH_WINDOW_S / tick_s)))

    offered_w = trailing_sum(offered, window)
    errors_w = trailing_sum(errors, window)
    availability = 1.0 - np.divide(
        errors_w, offered_w, out=np.zeros_like(offered_w), where=offered_w > 0
    )
    tick_availability = 1.0 - np.divide(
        errors, offered, out=np.zeros_like(offered), where=offered > 0
    )
    availability_bad = (availability < contract.availability) & (
        tick_availability < contract.availability
    )

    key = tick_latency_key(series, contract.latency_percentile)
    latency = (
        np.full(offered.shape, np.nan) if key is None else np.asarray(series[key], dtype=float)
    )
    # NaN (nothing succeeded in the tick) is left to the availability check.
    latency_bad = np.nan_to_num(latency, nan=-np.inf) > contract.latency_ms

    mask = availability_bad | latency_bad
    return Breach(
        mask=mask,
        episodes=_episodes(mask, availability_bad, times_s, tick_s, merge_gap=window),
        minutes=float(mask.sum() * tick_s / 60.0),
    )


def _episodes(
    mask: np.ndarray,
    availability_bad: np.ndarray,
    times_s: np.ndarray,
    tick_s: float,
    merge_gap: int,
) -> tuple[Episode, ...]:
    """Contiguous runs of ``mask``, merged across gaps shorter than ``merge_gap`` ticks.

    Each episode says which criterion broke at its first tick.
    """
    padded = np.concatenate(([False], mask, [False])).astype(np.int8)
    changes = np.flatnonzero(np.diff(padded))
    runs: list[list[int]] = []  # [start, end) tick indices
    for start, end in zip(changes[0::2], changes[1::2], strict=True):
        if runs and start - runs[-1][1] < merge_gap:
            runs[-1][1] = int(end)
        else:
            runs.append([int(start), int(end)])
    return tuple(
        Episode(
            start_s=float(times_s[s]),
            end_s=float(times_s[e - 1] + tick_s),
            criterion="availability" if availability_bad[s] else "latency",
        )
        for s, e in runs
    )
