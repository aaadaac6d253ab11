"""Offered load: the traffic curve, traffic-spike incidents, and per-tick arrival draws."""

from __future__ import annotations

import numpy as np

from simulations.engine.poisson import poisson_counts
from simulations.engine.spec import Scenario


def tick_times(scenario: Scenario) -> np.ndarray:
    """Start time of each tick, shape ``(n_ticks,)`` [s]."""
    return np.arange(scenario.n_ticks, dtype=float) * scenario.tick_s


def curve_rps(scenario: Scenario) -> np.ndarray:
    """Offered request rate of the traffic curve, averaged over each tick.

    Returns
    -------
    ndarray, shape (n_ticks,)
        Rate [1/s], before traffic-spike incidents.

    Notes
    -----
    constant: r; ramp: r0 + (r1 - r0) t / T; diurnal: b + (p - b) (1 + cos(2 pi (t - t_p) / P)) / 2
    (base at the trough, peak at t_p); spike: base plus (spike - base) while
    at_s <= t < at_s + duration_s. Rates are evaluated at tick midpoints.

    Examples
    --------
    >>> from simulations.engine.spec import parse_scenario
    >>> s = parse_scenario({"duration_s": 60, "traffic": {"curve": {"kind": "ramp",
    ...     "start_rps": 0, "end_rps": 60}, "mix": {"read": 1}}})
    >>> float(curve_rps(s)[0])
    0.5
    """
    curve = scenario.curve
    mid = tick_times(scenario) + 0.5 * scenario.tick_s
    kind = curve["kind"]
    if kind == "constant":
        return np.full_like(mid, curve["rps"])
    if kind == "ramp":
        return (
            curve["start_rps"] + (curve["end_rps"] - curve["start_rps"]) * mid / scenario.duration_s
        )
    if kind == "diurnal":
        phase = 2 * np.pi * (mid - curve["peak_at_s"]) / curve["period_s"]
        return curve["base_rps"] + (curve["peak_rps"] - curve["base_rps"]) * 0.5 * (
            1 + np.cos(phase)
        )
    if kind == "spike":
        inside = (mid >= curve["at_s"]) & (mid < curve["at_s"] + curve["duration_s"])
        return np.where(inside, curve["spike_rps"], curve["base_rps"])
    raise ValueError(f"unknown curve kind {kind!r}")


def offered_rates(scenario: Scenario, classes: tuple[str, ...]) -> np.ndarray:
    """Expected arrival rate per class, after traffic-spike incidents.

    Returns
    -------
    ndarray, shape (n_ticks, n_classes)
        Poisson intensity lambda [1/s] of each class in each tick.
    """
    rate = curve_rps(scenario)
    mid = tick_times(scenario) + 0.5 * scenario.tick_s
    for incident in scenario.incidents:
        if incident.kind == "traffic_spike":
            inside = (mid >= incident.at_s) & (mid < incident.at_s + incident.duration_s)
            rate = np.where(inside, rate * incident.params["multiplier"], rate)
    shares = np.array([scenario.mix[c] for c in classes])
    return rate[:, None] * shares[None, :]


def draw_arrivals(
    rng: np.random.Generator,
    rates: np.ndarray,
    tick_s: float,
    burstiness: float,
    replications: int,
) -> np.ndarray:
    """Draw arrival counts per tick, class and replication.

    Parameters
    ----------
    rng : numpy.random.Generator
    rates : ndarray, shape (n_ticks, n_classes)
        Intensity lambda [1/s].
    tick_s : float
        Tick length tau [s].
    burstiness : float
        Index of dispersion of the counts, Var N / E N = c_a^2 >= 1 [-].
    replications : int

    Returns
    -------
    ndarray, shape (n_ticks, n_classes, replications)
        Arrival counts [requests] (float, integral values).

    Notes
    -----
    Burstiness 1: N ~ Poisson(lambda tau), from
    :func:`~simulations.engine.poisson.poisson_counts` (a table per recurring mean). Burstiness
    b > 1: gamma-Poisson (negative binomial) with N | G ~ Poisson(lambda tau G),
    G ~ Gamma(k, 1/k), 1/k = (b - 1) / (lambda tau), so that E N = lambda tau and
    Var N = b lambda tau.
    """
    if burstiness == 1.0:
        return poisson_counts(rng, rates * tick_s, replications)
    mean = np.broadcast_to((rates * tick_s)[:, :, None], (*rates.shape, replications))
    with np.errstate(divide="ignore"):
        shape = np.where(mean > 0, mean / (burstiness - 1.0), 1.0)
    mean = mean * rng.gamma(shape, 1.0 / shape)
    return rng.poisson(mean).astype(float)
