"""Scoring rules: how one simulated design is graded against its scenario's contract.

The contract has three criteria, each checked **per replication** (one replication is one
possible hour of traffic with its own random draws):

* availability  ``a = succeeded / offered``  must be ``>= A`` (the SLA target) [-]
* latency       the whole-run percentile named by the SLA (e.g. p99) must be ``<= T`` [ms]
* cost          the design's monthly cost must be ``<= B`` (the budget) [USD/month]

A replication *meets the contract* when all three hold. We report

* ``p_contract_met`` -- the fraction of replications that meet all three, and one such
  probability per criterion;
* ``passed`` -- ``p_contract_met >= PASS_PROBABILITY`` (0.9): a design passes when it holds its
  contract in at least nine hours out of ten, so a lucky average does not pass;
* ``points`` -- a 0-100 grade that is smooth in the margins, so a near miss scores better than
  a collapse. For each replication

      points_r = 100 * (W_AVAIL * s_avail + W_LATENCY * s_latency + W_COST * s_cost)

  with weights 0.5 / 0.3 / 0.2 and sub-scores in [0, 1]:

  - ``s_avail = clip(1 + (nines(a) - nines(A)) / 2, 0, 1)`` where ``nines(x) = -log10(1 - x)``:
    availability is measured in "nines", full marks at the target, zero when the design is two
    nines short (100x the allowed error rate). 99.4 % against 99.5 % loses ~4 % of the weight;
    90 % against 99.5 % loses ~65 %.
  - ``s_latency = clip(2 - L / T, 0, 1)``: full marks at or under the target, zero at twice it.
  - ``s_cost = clip(2 - C / B, 0, 1)``: full marks within budget, zero at twice the budget.

  A replication that misses any criterion is capped at ``MISS_CAP`` (99) points, so 100 means
  "met everywhere" and a hair's-breadth miss never displays as a perfect score.
  ``points`` is the mean of ``points_r`` over replications. Every sub-score is non-decreasing in
  its margin (and the cap is monotone), so a worse availability (or a slower tail, or a pricier
  design) never earns more points. Meeting the contract in every replication scores exactly 100:
  the grade measures the contract, not a reference answer, so over-building earns nothing.

This module is pure (numpy only) so it can be checked without the engine or a database.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass

import numpy as np

PASS_PROBABILITY = 0.9
W_AVAIL, W_LATENCY, W_COST = 0.5, 0.3, 0.2
MISS_CAP = 99.0
# Availability sub-score reaches zero this many nines below the target.
NINES_TO_ZERO = 2.0
# 1 - a is floored here so a perfect replication has a finite number of nines (9 nines).
_MIN_ERROR_FRACTION = 1e-9


@dataclass(frozen=True)
class Contract:
    """The scenario's promise: SLA targets, budget and horizon, in engine units."""

    availability: float  # target fraction of offered requests that succeed [-]
    latency_percentile: float  # 50, 90, 95, 99 or 99.9 [%]
    latency_ms: float  # target for that percentile [ms]
    budget_usd_per_month: float  # [USD/month]
    duration_s: float  # simulated horizon [s]

    @property
    def latency_key(self) -> str:
        """Key of the whole-run percentile in ``per_replication``, e.g. ``latency_p99.9_ms``."""
        return f"latency_p{self.latency_percentile:g}_ms"

    @property
    def latency_label(self) -> str:
        """Human name of the percentile, e.g. ``p99.9``."""
        return f"p{self.latency_percentile:g}"


@dataclass(frozen=True)
class ScoreFacts:
    """The grade of one design: probabilities over replications, means and the 0-100 points."""

    passed: bool
    p_contract_met: float  # [0, 1]
    p_availability_met: float  # [0, 1]
    p_latency_met: float  # [0, 1]
    p_cost_met: float  # [0, 1]
    points: float  # [0, 100]
    availability: float  # mean over replications [-]
    availability_target: float  # [-]
    latency_percentile: float  # [%]
    latency_ms: float | None  # mean over replications of the whole-run percentile [ms];
    # None when no request succeeded in any replication (there is no latency to measure)
    latency_target_ms: float  # [ms]
    monthly_cost_usd: float  # [USD/month]
    budget_usd_per_month: float  # [USD/month]
    replications: int

    def to_dict(self) -> dict:
        """JSON-safe dict of every field."""
        return asdict(self)


def nines(availability: np.ndarray | float) -> np.ndarray:
    """Availability as a number of nines, ``-log10(1 - a)`` (0.999 -> 3) [-].

    ``1 - a`` is floored at 1e-9 so a perfect record is 9 nines, not infinity.
    """
    error_fraction = np.maximum(1.0 - np.asarray(availability, dtype=float), _MIN_ERROR_FRACTION)
    return -np.log10(error_fraction)


def availability_subscore(availability: np.ndarray, target: float) -> np.ndarray:
    """Sub-score in [0, 1]: 1 at or above ``target``, linear in nines down to 0 two nines short."""
    margin_nines = nines(availability) - nines(target)
    return np.clip(1.0 + margin_nines / NINES_TO_ZERO, 0.0, 1.0)


def ratio_subscore(value: np.ndarray, limit: float) -> np.ndarray:
    """Sub-score in [0, 1] for an upper limit: 1 at or under ``limit``, 0 at twice it.

    NaN (no successful request to measure) scores 0.
    """
    ratio = np.asarray(value, dtype=float) / limit
    return np.clip(2.0 - np.nan_to_num(ratio, nan=np.inf), 0.0, 1.0)


def per_replication_criteria(
    per_replication: Mapping[str, np.ndarray], monthly_cost_usd: float, contract: Contract
) -> dict[str, np.ndarray]:
    """Per-replication measures and verdicts.

    Returns arrays of shape ``(replications,)``: ``availability`` [-], ``latency_ms`` [ms],
    and booleans ``availability_met``, ``latency_met``, ``cost_met``, ``contract_met``.
    A replication with no offered request counts as fully available (nothing was refused).
    """
    offered = np.asarray(per_replication["offered"], dtype=float)
    succeeded = np.asarray(per_replication["succeeded"], dtype=float)
    availability = np.divide(succeeded, offered, out=np.ones_like(offered), where=offered > 0)
    latency = np.asarray(per_replication[contract.latency_key], dtype=float)
    cost_met = np.full(offered.shape, monthly_cost_usd <= contract.budget_usd_per_month)
    availability_met = availability >= contract.availability
    # NaN latency (nothing succeeded) compares False, i.e. not met.
    latency_met = latency <= contract.latency_ms
    return {
        "availability": availability,
        "latency_ms": latency,
        "availability_met": availability_met,
        "latency_met": latency_met,
        "cost_met": cost_met,
        "contract_met": availability_met & latency_met & cost_met,
    }


def score_variant(
    per_replication: Mapping[str, np.ndarray], monthly_cost_usd: float, contract: Contract
) -> ScoreFacts:
    """Grade one variant of a simulation against ``contract`` (see the module docstring).

    Parameters
    ----------
    per_replication : mapping of str to ndarray, each ``(replications,)``
        The engine's per-replication totals: ``offered``, ``succeeded`` [requests] and the
        whole-run percentile named by the SLA (``contract.latency_key``) [ms].
    monthly_cost_usd : float
        The design's steady cost prorated to a 730-hour month [USD/month].
    contract : Contract

    Returns
    -------
    ScoreFacts

    Raises
    ------
    KeyError
        If a required per-replication key is missing.
    """
    c = per_replication_criteria(per_replication, monthly_cost_usd, contract)
    points_r = 100.0 * (
        W_AVAIL * availability_subscore(c["availability"], contract.availability)
        + W_LATENCY * ratio_subscore(c["latency_ms"], contract.latency_ms)
        + W_COST
        * ratio_subscore(
            np.full(c["availability"].shape, monthly_cost_usd), contract.budget_usd_per_month
        )
    )
    points_r = np.where(c["contract_met"], points_r, np.minimum(points_r, MISS_CAP))
    p_met = float(np.mean(c["contract_met"]))
    finite = np.isfinite(c["latency_ms"])
    latency_mean = float(np.mean(c["latency_ms"][finite])) if finite.any() else None
    return ScoreFacts(
        passed=p_met >= PASS_PROBABILITY,
        p_contract_met=p_met,
        p_availability_met=float(np.mean(c["availability_met"])),
        p_latency_met=float(np.mean(c["latency_met"])),
        p_cost_met=float(np.mean(c["cost_met"])),
        points=float(np.mean(points_r)),
        availability=float(np.mean(c["availability"])),
        availability_target=contract.availability,
        latency_percentile=contract.latency_percentile,
        latency_ms=latency_mean,
        latency_target_ms=contract.latency_ms,
        monthly_cost_usd=float(monthly_cost_usd),
        budget_usd_per_month=contract.budget_usd_per_month,
        replications=int(c["availability"].shape[0]),
    )
