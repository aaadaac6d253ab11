"""Reads for scenarios and runs; each selector owns its joins so callers never cause N+1 queries."""

from __future__ import annotations

from itertools import groupby

from django.db.models import QuerySet

from config.errors import NotFoundError
from simulations.models import Run, RunResult, Scenario


def scenario_list() -> QuerySet[Scenario]:
    """Published scenarios in library order (``order``, then slug)."""
    return Scenario.objects.published()


def scenarios_by_pressure() -> list[tuple[str, list[Scenario]]]:
    """Published scenarios grouped by pressure type, in the order of ``Scenario.Pressure``.

    Returns ``[(pressure label, [scenario, ...]), ...]``; empty groups are left out.
    """
    rank = {value: i for i, value in enumerate(Scenario.Pressure.values)}
    scenarios = sorted(
        scenario_list(), key=lambda s: (rank.get(s.pressure, len(rank)), s.order, s.slug)
    )
    return [
        (Scenario.Pressure(pressure).label, list(group))
        for pressure, group in groupby(scenarios, key=lambda s: s.pressure)
    ]


def scenario_get(*, slug: str) -> Scenario:
    """The published scenario with ``slug``; raises ``NotFoundError`` otherwise."""
    scenario = scenario_list().filter(slug=slug).first()
    if scenario is None:
        raise NotFoundError(f"There is no published scenario {slug!r}.", field="scenario")
    return scenario


def run_list(*, user, scenario_slug: str | None = None, status: str | None = None) -> QuerySet[Run]:
    """The user's runs, newest first, with scenario and score joined (for list pages).

    Optionally only those of one scenario (by slug) and/or in one status.
    """
    runs = Run.objects.for_user(user).select_related("scenario", "score")
    if scenario_slug:
        runs = runs.filter(scenario__slug=scenario_slug)
    if status:
        runs = runs.filter(status=status)
    return runs.order_by("-created_at", "-pk")


def recent_finished_runs(*, user, scenario: Scenario, limit: int = 5) -> list[Run]:
    """The user's last finished runs of one scenario (the scenario page's "your attempts")."""
    runs = Run.objects.for_user(user).finished().filter(scenario=scenario).select_related("score")
    return list(runs.order_by("-created_at", "-pk")[:limit])


def run_get(*, user, run_id: int) -> Run:
    """One of the user's runs with everything the run page shows joined in.

    Raises ``NotFoundError`` when it does not exist *or* belongs to someone else: another
    learner's run is indistinguishable from a missing one.
    """
    run = (
        Run.objects.for_user(user)
        .select_related("scenario", "design", "score", "postmortem", "result")
        .filter(pk=run_id)
        .first()
    )
    if run is None:
        raise NotFoundError(f"You have no run {run_id}.")
    return run


def run_result_get(*, user, run_id: int) -> RunResult:
    """The stored series of one of the user's succeeded runs; ``NotFoundError`` otherwise."""
    result = None
    if user.is_authenticated:
        result = (
            RunResult.objects.select_related("run").filter(run_id=run_id, run__owner=user).first()
        )
    if result is None:
        raise NotFoundError(f"Run {run_id} has no results (yet), or it is not yours.")
    return result
