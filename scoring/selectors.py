"""Reads of the scoring app."""

from __future__ import annotations

from simulations.models import Run


def passed_scenario_slugs(*, user) -> set[str]:
    """Slugs of the scenarios in which ``user`` has a succeeded run whose score passed.

    One query. An anonymous user has passed nothing.
    """
    runs = Run.objects.for_user(user).filter(status=Run.Status.SUCCEEDED, score__passed=True)
    return set(runs.values_list("scenario__slug", flat=True).distinct())
