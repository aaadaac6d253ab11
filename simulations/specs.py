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
    start: str  # start_s as "T+mm:ss", the notation of post-mortem timelines
    end: str


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
        end = start + float(incident.get("duration_s") or 0.0)
        windows.append(
            {
                "kind": incident["kind"],
                "label": incident["kind"].replace("_", " "),
                "component": incident.get("component"),
                "start_s": start,
                "end_s": end,
                "start": clock(start),
                "end": clock(end),
            }
        )
    return windows


def clock(t_s: float) -> str:
    """Seconds into a run as ``T+mm:ss`` (``T+1:02:03`` past an hour)."""
    minutes, seconds = divmod(round(t_s), 60)
    hours, minutes = divmod(minutes, 60)
    return f"T+{hours}:{minutes:02d}:{seconds:02d}" if hours else f"T+{minutes:02d}:{seconds:02d}"


def traffic_description(scenario_doc: dict[str, Any]) -> str:
    """The traffic curve and request mix in one sentence, e.g. for the scenario page."""
    curve = scenario_doc["traffic"]["curve"]
    kind = curve["kind"]
    if kind == "constant":
        shape = f"A steady {curve['rps']:g} requests/s"
    elif kind == "ramp":
        shape = f"Ramps from {curve['start_rps']:g} to {curve['end_rps']:g} requests/s"
    elif kind == "diurnal":
        shape = (
            f"Follows the daily curve between {curve['base_rps']:g} and {curve['peak_rps']:g} "
            f"requests/s, peaking at {clock(curve['peak_at_s'])}"
        )
    elif kind == "spike":
        shape = (
            f"{curve['base_rps']:g} requests/s, spiking to {curve['spike_rps']:g} requests/s "
            f"from {clock(curve['at_s'])} to {clock(curve['at_s'] + curve['duration_s'])}"
        )
    else:  # a curve kind added to the engine later; still say something true
        shape = f"A {kind.replace('_', ' ')} traffic curve"
    mix = scenario_doc["traffic"].get("mix") or {}
    parts = [f"{share * 100:g} % {name.replace('_', ' ')}" for name, share in mix.items()]
    return f"{shape}; {', '.join(parts)}." if parts else f"{shape}."


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


def peak_utilizations(result: Any) -> dict[str, float]:
    """``{component id: peak utilization [-]}`` from a ``RunResult``'s ``utilization:<id>`` series.

    The peak is the largest per-tick mean over replications, so one unlucky replication does not
    colour a component red on its own.
    """
    peaks = {}
    for name, band in result.series.items():
        if name.startswith("utilization:"):
            values = band["mean"] if isinstance(band, dict) else band
            if values:
                peaks[name.split(":", 1)[1]] = max(values)
    return peaks


def contract_facts(scenario_doc: dict[str, Any]) -> dict[str, Any]:
    """The SLA and budget of a scenario document, formatted for people (pages and the CLI)."""
    sla = scenario_doc["sla"]
    return {
        "availability_pct": f"{sla['availability'] * 100:g}",
        "latency_percentile": f"{sla['latency_percentile']:g}",
        "latency_ms": f"{sla['latency_ms']:g}",
        "budget_usd_per_month": f"{scenario_doc['budget_usd_per_month']:,.0f}",
    }
