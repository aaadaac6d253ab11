"""The one place that converts between database rows and the engine's documents and results.

Everything else on the Django side talks to the engine through these functions, so a change in
the engine's document or result shape is absorbed here.
"""

from __future__ import annotations

from typing import Any, TypedDict

from simulations import engine


class ProblemDict(TypedDict):
    """One located problem, as the API and the designer form show it."""

    pointer: str  # RFC 6901 JSON pointer into the submitted document, "" for the whole document
    message: str


class IncidentWindow(TypedDict):
    kind: str
    label: str  # the kind in words, e.g. "instance failure"
    component: str | None
    start_s: float
    end_s: float  # equal to start_s for instantaneous incidents (a cache flush, a failover)


def problems_from_error(exc: engine.SpecError) -> list[ProblemDict]:
    """Every problem an engine ``SpecError`` carries, as plain dicts (JSON-safe, in order)."""
    return [{"pointer": p.pointer, "message": p.message} for p in exc.problems]


def parse_scenario(doc: dict[str, Any]) -> engine.Scenario:
    """Parse a scenario document (a ``Scenario.spec`` or a ``Run.scenario_snapshot``).

    Raises
    ------
    engine.ScenarioError
        With every problem located by a JSON pointer into ``doc``.
    """
    return engine.parse_scenario(doc)


def design_problems(*, scenario_doc: dict[str, Any], design_doc: Any) -> list[ProblemDict]:
    """Check a design document against a scenario; ``[]`` when the engine would accept it.

    A scenario that no longer parses is the author's fault, not the learner's, so it raises
    ``engine.ScenarioError`` instead of being reported as a design problem.
    """
    if not isinstance(design_doc, dict):
        return [
            {
                "pointer": "",
                "message": "The design must be a JSON object with components and routes.",
            }
        ]
    scenario = engine.parse_scenario(scenario_doc)
    try:
        engine.parse_design(design_doc, scenario)
    except engine.DesignError as exc:
        return problems_from_error(exc)
    return []


def run_result_fields(result: engine.SimulationResult) -> dict[str, Any]:
    """The ``RunResult`` column values for the learner's design (``variants[0]``) of a result.

    Counterfactual variants are summarised by scoring's post-mortem, so only the learner's own
    series are stored for charts.
    """
    variant = result.variants[0].to_dict()
    return {
        "tick_s": float(result.tick_s),
        "times_s": [float(t) for t in result.times_s],
        "series": variant["series"],
        "per_replication": variant["per_replication"],
        "events": variant["events"],
        "monthly_cost_usd": float(variant["monthly_cost_usd"]),
    }


def incident_windows(scenario_doc: dict[str, Any]) -> list[IncidentWindow]:
    """When each scheduled incident starts and ends [s], for shading charts and listing facts."""
    windows: list[IncidentWindow] = []
    for incident in scenario_doc.get("incidents") or []:
        start = float(incident["at_s"])
        windows.append(
            {
                "kind": incident["kind"],
                "label": incident["kind"].replace("_", " "),
                "component": incident.get("component"),
                "start_s": start,
                "end_s": start + float(incident.get("duration_s", 0.0)),
            }
        )
    return windows


def series_document(*, result: Any, scenario_doc: dict[str, Any]) -> dict[str, Any]:
    """What the run page's charts need: stored series plus the SLA target and incident windows.

    ``result`` is a ``RunResult`` row. The shape is the ``RunSeries`` schema of the API.
    """
    sla = scenario_doc["sla"]
    return {
        "tick_s": result.tick_s,
        "times_s": result.times_s,
        "series": result.series,
        "events": result.events,
        "incidents": incident_windows(scenario_doc),
        "sla": {
            "availability": sla["availability"],
            "latency_percentile": sla["latency_percentile"],
            "latency_ms": sla["latency_ms"],
        },
        "budget_usd_per_month": scenario_doc["budget_usd_per_month"],
        "monthly_cost_usd": result.monthly_cost_usd,
    }


def series_summary(result: Any) -> list[dict[str, Any]]:
    """Min / mean / max of each series' mean band: the text alternative to the run page's charts."""
    rows = []
    for name, band in sorted(result.series.items()):
        values = band["mean"] if isinstance(band, dict) else band
        if not values:
            continue
        rows.append(
            {
                "name": name,
                "min": min(values),
                "mean": sum(values) / len(values),
                "max": max(values),
            }
        )
    return rows


def contract_facts(scenario_doc: dict[str, Any]) -> dict[str, Any]:
    """The SLA and budget of a scenario document, formatted for people (pages and the CLI)."""
    sla = scenario_doc["sla"]
    return {
        "availability_pct": f"{sla['availability'] * 100:g}",
        "latency_percentile": f"{sla['latency_percentile']:g}",
        "latency_ms": f"{sla['latency_ms']:g}",
        "budget_usd_per_month": f"{scenario_doc['budget_usd_per_month']:,.0f}",
    }
