"""Scoring and post-mortem analysis: pure Python over the engine (no ORM).

:func:`assess` is the one entry point the run pipeline calls: it simulates the learner's design,
grades it (:mod:`scoring.analysis.rules`), writes its post-mortem
(:mod:`scoring.analysis.postmortem`, :mod:`scoring.analysis.factors`) and measures what would
have helped by rerunning modified designs on the same seed (:mod:`scoring.analysis.fixes`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from scoring.analysis.factors import detect_factors
from scoring.analysis.fixes import MAX_FIXES, Candidate, propose_fixes
from scoring.analysis.postmortem import (
    PostMortemFacts,
    build_timeline,
    compute_impact,
    find_root_cause,
    write_summary,
)
from scoring.analysis.rules import Contract, ScoreFacts, score_variant
from scoring.analysis.view import VariantView
from simulations import engine

# The engine's correctness counters [requests]: not in the contract, reported beside it.
CORRECTNESS_COUNTERS = ("duplicate_writes", "stale_reads", "writes_lost")

__all__ = ["Assessment", "Contract", "PostMortemFacts", "ScoreFacts", "assess", "contract_of"]


@dataclass(frozen=True)
class Assessment:
    """Everything the run pipeline stores for one run."""

    result: engine.SimulationResult  # variants[0] is the learner's design
    score: ScoreFacts  # for variants[0]
    postmortem: PostMortemFacts  # for variants[0], fixes measured on the same seed


def contract_of(scenario: engine.Scenario) -> Contract:
    """The SLA, budget and horizon of a parsed engine scenario."""
    return Contract(
        availability=float(scenario.sla["availability"]),
        latency_percentile=float(scenario.sla["latency_percentile"]),
        latency_ms=float(scenario.sla["latency_ms"]),
        budget_usd_per_month=float(scenario.budget_usd_per_month),
        duration_s=float(scenario.duration_s),
    )


def explicit_document(design: engine.Design) -> dict:
    """The design's normalised document (every default filled in) without its ``None`` values.

    The engine writes absent optional policies as ``None`` but accepts them only when omitted;
    dropping them gives a document that parses back to the same design, which the fixes edit.
    """

    def strip(value):
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if v is not None}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    return strip(design.doc)


def view_of(
    scenario: engine.Scenario,
    design: engine.Design,
    result: engine.SimulationResult,
    index: int = 0,
) -> VariantView:
    """A :class:`VariantView` of ``result.variants[index]``, which was simulated from ``design``."""
    variant = result.variants[index]
    return VariantView(
        contract=contract_of(scenario),
        mix=dict(scenario.mix),
        incidents=list(scenario.incidents),
        design_doc=explicit_document(design),
        times_s=result.times_s,
        tick_s=float(result.tick_s),
        series={key: band.mean for key, band in variant.series.items()},
        per_replication=variant.per_replication,
        events=sorted(variant.events, key=lambda e: e.t_s),
        monthly_cost_usd=float(variant.monthly_cost_usd),
    )


def _score(result: engine.SimulationResult, index: int, contract: Contract) -> ScoreFacts:
    variant = result.variants[index]
    return score_variant(variant.per_replication, variant.monthly_cost_usd, contract)


def _accepted(
    scenario: engine.Scenario, candidates: Sequence[Candidate]
) -> list[tuple[Candidate, engine.Design]]:
    """The first ``MAX_FIXES`` candidates the engine can express (others are skipped silently)."""
    accepted = []
    for candidate in candidates:
        try:
            accepted.append((candidate, engine.parse_design(candidate.design, scenario)))
        except engine.SpecError:
            continue
        if len(accepted) == MAX_FIXES:
            break
    return accepted


def _correctness_change(
    before: Mapping[str, np.ndarray], after: Mapping[str, np.ndarray]
) -> dict[str, dict[str, float]]:
    """``{counter: {before, after}}`` (means over replications) for counters nonzero in either."""
    change = {}
    for name in CORRECTNESS_COUNTERS:
        if name in before and name in after:
            b, a = float(np.mean(before[name])), float(np.mean(after[name]))
            if b or a:
                change[name] = {"before": b, "after": a}
    return change


def measure_fixes(
    scenario: engine.Scenario,
    candidates: Sequence[Candidate],
    baseline: engine.VariantResult,
    *,
    replications: int,
    seed: int,
) -> list[dict]:
    """Simulate every accepted fix in ONE batch on ``seed``; report the deltas to ``baseline``.

    ``baseline`` is the learner's design simulated with the same ``seed`` and
    ``replications``. The engine gives every variant of a batch, and every batch on a seed, the
    same random draws (common random numbers), so a variant's result does not depend on what it
    is batched with: the delta comes from the change, not from noise, without simulating the
    learner's design a second time.

    When the engine refuses the batch as too much work, the least relevant fixes are dropped
    until it fits (possibly all of them).

    Returns
    -------
    list of dict
        One per measured fix, best first: ``code, title, component, answers, design_change,
        design, points, delta_points, p_contract_met, availability, delta_availability [-],
        latency_ms, delta_latency_ms [ms], monthly_cost_usd, delta_monthly_cost_usd
        [USD/month], passes``, and ``correctness``: the engine's correctness counters
        (duplicate writes, stale reads, lost writes [requests]) before and after, where either
        is nonzero -- they are not in the contract, but a fix may exist for them alone.
    """
    accepted = _accepted(scenario, candidates)
    batch = None
    while accepted and batch is None:
        try:
            batch = engine.simulate(
                scenario, [d for _, d in accepted], replications=replications, seed=seed
            )
        except engine.DesignError:
            # The batch is over the engine's work cap (the learner's design alone was not):
            # measure fewer fixes, least relevant dropped first, rather than fail the run.
            accepted = accepted[:-1]
    if batch is None:
        return []
    contract = contract_of(scenario)
    base = score_variant(baseline.per_replication, baseline.monthly_cost_usd, contract)
    rows = []
    for index, (candidate, _) in enumerate(accepted):
        s = _score(batch, index, contract)
        rows.append(
            {
                "code": candidate.code,
                "title": candidate.title,
                "component": candidate.component,
                "answers": candidate.answers,
                "design_change": candidate.design_change,
                "design": candidate.design,
                "points": s.points,
                "delta_points": round(s.points - base.points, 2),
                "p_contract_met": s.p_contract_met,
                "availability": s.availability,
                "delta_availability": s.availability - base.availability,
                "latency_ms": s.latency_ms,
                "delta_latency_ms": None
                if s.latency_ms is None or base.latency_ms is None
                else s.latency_ms - base.latency_ms,
                "monthly_cost_usd": s.monthly_cost_usd,
                "delta_monthly_cost_usd": s.monthly_cost_usd - base.monthly_cost_usd,
                "passes": s.passed,
                "correctness": _correctness_change(
                    baseline.per_replication, batch.variants[index].per_replication
                ),
            }
        )
    # Best measured first (passing, then most points gained); ties keep relevance order.
    rows.sort(key=lambda row: (row["passes"], row["delta_points"]), reverse=True)
    return rows


def assess(
    *, scenario: engine.Scenario, design_doc: dict, replications: int, seed: int
) -> Assessment:
    """Simulate, score and explain one design; measure what would have helped.

    Parameters
    ----------
    scenario : engine.Scenario
        Parsed scenario (SLA, budget, traffic, incidents).
    design_doc : dict
        The learner's design document.
    replications : int
        Replications per variant (the batch axis).
    seed : int
        Root seed; the fixes reuse it (common random numbers).

    Returns
    -------
    Assessment

    Raises
    ------
    engine.SpecError
        If the design (or scenario) is invalid; ``.problems`` locates every problem.
    """
    design = engine.parse_design(design_doc, scenario)
    result = engine.simulate(scenario, [design], replications=replications, seed=seed)
    contract = contract_of(scenario)
    score = _score(result, 0, contract)
    view = view_of(scenario, design, result)

    root_cause = find_root_cause(view)
    factors = detect_factors(view)
    impact = compute_impact(view)
    fixes = measure_fixes(
        scenario,
        propose_fixes(view, root_cause, factors),
        result.variants[0],
        replications=replications,
        seed=seed,
    )
    postmortem = PostMortemFacts(
        summary=write_summary(
            root_cause=root_cause, impact=impact, factors=factors, fixes=fixes, passed=score.passed
        ),
        root_cause=root_cause,
        contributing_factors=factors,
        impact=impact,
        timeline=build_timeline(view),
        fixes=fixes,
    )
    return Assessment(result=result, score=score, postmortem=postmortem)
