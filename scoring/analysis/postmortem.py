"""Post-mortem of one simulated design: timeline, first breach, root cause, impact, summary.

Root cause rule (in this order):

1. No SLA breach: ``over_budget`` when the design costs more than the budget, else ``none``.
2. The *triggering incident*: the latest injected incident that started at or before the first
   breach and was still active then (or had ended less than ``INCIDENT_AFTERMATH_S`` earlier --
   backlogs, cold caches and retry storms outlive their trigger), and that touched this design
   (an incident naming a component the design lacks is a no-op; one naming no component, like
   a traffic spike, touches every design). It is the root cause unless a component was
   *already* saturated when it began; then the saturation is the root cause and the incident
   only the last straw.
3. Otherwise the first component to saturate (a ``saturation_start`` event) at or before the
   breach.
4. Otherwise the component with the highest utilization at the breach (``saturation`` when it
   is above the hot threshold, else ``slow_path``: the request path is slower than the target
   even unloaded).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from scoring.analysis.detectors import HOT_UTILIZATION
from scoring.analysis.labels import clock_label as _t
from scoring.analysis.view import VariantView
from simulations.engine import Event
from simulations.engine.spec import Incident

# How long after an incident ends its aftermath may still explain a breach [s].
INCIDENT_AFTERMATH_S = 300.0


@dataclass(frozen=True)
class PostMortemFacts:
    """The post-mortem of one design, JSON-safe (lists/dicts of plain values)."""

    summary: str
    root_cause: dict[str, Any]  # {kind, component, t_s, explanation}
    contributing_factors: list[dict[str, Any]]
    impact: dict[str, Any]
    timeline: list[dict[str, Any]]
    fixes: list[dict[str, Any]] = field(default_factory=list)


def _incident_active(incident: Incident, t_s: float, tick_s: float) -> bool:
    """Did ``incident`` start by the tick of ``t_s`` and end at most the aftermath window before?

    An instantaneous incident (a cache flush: no duration) counts as lasting zero seconds.
    """
    if incident.at_s >= t_s + tick_s:  # starts after the tick [t_s, t_s + tick_s) in breach
        return False
    return incident.at_s + (incident.duration_s or 0.0) + INCIDENT_AFTERMATH_S >= t_s


def _describe_incident(incident: Incident, view: VariantView) -> str:
    """E.g. "dependency slowdown on db at T+20:00" (the component by its id in this design)."""
    what = incident.kind.replace("_", " ")
    targets = view.targets(incident)
    where = f" on {', '.join(targets)}" if targets else ""
    return f"{what}{where} at {_t(incident.at_s)}"


def _saturated_at(view: VariantView, t_s: float) -> Event | None:
    """The earliest ``saturation_start`` at or before ``t_s`` not ended by then, if any."""
    open_since: dict[str | None, Event] = {}
    for event in view.events:
        if event.t_s > t_s:
            break
        if event.kind == "saturation_start":
            open_since.setdefault(event.component, event)
        elif event.kind == "saturation_end":
            open_since.pop(event.component, None)
    return min(open_since.values(), key=lambda e: e.t_s, default=None)


def find_root_cause(view: VariantView) -> dict[str, Any]:
    """Apply the module's root-cause rule. Returns ``{kind, component, t_s, explanation}``."""
    breach = view.breach.first
    contract = view.contract
    if breach is None:
        if view.monthly_cost_usd > contract.budget_usd_per_month:
            return {
                "kind": "over_budget",
                "component": None,
                "t_s": None,
                "explanation": (
                    f"The SLA held throughout, but the design costs "
                    f"${view.monthly_cost_usd:,.0f}/month against a "
                    f"${contract.budget_usd_per_month:,.0f} budget."
                ),
            }
        return {
            "kind": "none",
            "component": None,
            "t_s": None,
            "explanation": "The SLA held throughout the run and the design is within budget.",
        }

    t_b = breach.start_s
    what_broke = (
        f"availability fell below {contract.availability:.2%}"
        if breach.criterion == "availability"
        else f"{contract.latency_label} latency rose above {contract.latency_ms:g} ms"
    )
    triggers = [
        inc
        for inc in view.incidents
        if _incident_active(inc, t_b, view.tick_s) and (inc.component is None or view.targets(inc))
    ]
    if triggers:
        incident = max(triggers, key=lambda i: i.at_s)
        already = _saturated_at(view, incident.at_s)
        if already is None or already.t_s >= incident.at_s:
            targets = view.targets(incident)
            return {
                "kind": incident.kind,
                "component": targets[0] if targets else incident.component,
                "t_s": incident.at_s,
                "explanation": (
                    f"The injected {_describe_incident(incident, view)} triggered the first "
                    f"breach at {_t(t_b)}: {what_broke}."
                ),
            }
        return _saturation_cause(
            already,
            t_b,
            what_broke,
            f" It was already saturated when the {_describe_incident(incident, view)} hit.",
        )

    first = next(
        (e for e in view.events_of("saturation_start") if e.t_s <= t_b + view.tick_s), None
    )
    if first is not None:
        return _saturation_cause(first, t_b, what_broke, "")

    busiest = max(
        view.stations("utilization"),
        key=lambda key: view.at(f"utilization:{key}", t_b),
        default=None,
    )
    util = None if busiest is None else view.at(f"utilization:{busiest}", t_b)
    if util is not None and util > HOT_UTILIZATION:
        return {
            "kind": "saturation",
            "component": view.component_of(busiest),
            "t_s": t_b,
            "explanation": (
                f"{busiest} was the busiest component, at {util:.0%} utilization, when "
                f"{what_broke} at {_t(t_b)}: close to full utilization, queueing delay grows "
                "steeply with every extra request."
            ),
        }
    return {
        "kind": "slow_path",
        "component": None,
        "t_s": t_b,
        "explanation": (
            f"No component saturated, yet {what_broke} at {_t(t_b)}: the request path itself "
            "is slower than the target (service times and timeouts along the route add up)."
        ),
    }


def _saturation_cause(event: Event, t_b: float, what_broke: str, extra: str) -> dict:
    """Root cause from a ``saturation_start`` event (its station may be a component part)."""
    return {
        "kind": "saturation",
        "component": VariantView.component_of(event.component),
        "t_s": float(event.t_s),
        "explanation": (
            # Events are logged once a change has held a few ticks, so a saturation can be
            # stamped up to one tick after the breach it caused began.
            f"{event.component} saturated at {_t(event.t_s)}, "
            f"{'before' if event.t_s < t_b else 'as'} the first breach began at {_t(t_b)} "
            f"when {what_broke}.{extra}"
        ),
    }


def compute_impact(view: VariantView) -> dict[str, Any]:
    """Failed requests, minutes in breach, error budget burned and spend, means over replications.

    ``error_budget_burned_fraction = failed / ((1 - A) * offered)``: 1.0 means the run used up
    exactly the failures the SLA allows; None when the target is 100 % or nothing was offered.
    ``budget_usd_for_horizon`` prorates the monthly budget to the simulated horizon (730 h/month).
    """
    offered, failed = view.total("offered"), view.total("failed")
    allowed = (1.0 - view.contract.availability) * offered
    first = view.breach.first
    return {
        "offered_requests": offered,
        "failed_requests": failed,
        "minutes_in_breach": view.breach.minutes,
        "first_breach_s": first.start_s if first else None,
        "error_budget_burned_fraction": failed / allowed if allowed > 0 else None,
        "spend_usd": view.total("spend_usd"),
        "budget_usd_for_horizon": view.contract.budget_usd_per_month
        * view.contract.duration_s
        / (730 * 3600),
        "monthly_cost_usd": view.monthly_cost_usd,
        "budget_usd_per_month": view.contract.budget_usd_per_month,
    }


def build_timeline(view: VariantView) -> list[dict[str, Any]]:
    """Engine events of replication 0 plus the SLA breach episodes, in time order."""
    rows = [
        {"t_s": float(e.t_s), "kind": e.kind, "component": e.component, "detail": e.detail}
        for e in view.events
    ]
    for episode in view.breach.episodes:
        rows.append(
            {
                "t_s": episode.start_s,
                "kind": "sla_breach_start",
                "component": None,
                "detail": f"SLA breached ({episode.criterion})",
            }
        )
        rows.append(
            {
                "t_s": episode.end_s,
                "kind": "sla_breach_end",
                "component": None,
                "detail": "SLA met again",
            }
        )
    rows.sort(key=lambda r: r["t_s"])
    for row in rows:
        row["t_label"] = _t(row["t_s"])
    return rows


def write_summary(
    *, root_cause: dict, impact: dict, factors: list[dict], fixes: list[dict], passed: bool
) -> str:
    """One plain-language paragraph for the learner."""
    parts = []
    if impact["first_breach_s"] is None:
        parts.append("The service kept its SLA for the whole run.")
    else:
        parts.append(
            f"The SLA was first breached at {_t(impact['first_breach_s'])} and stayed breached for "
            f"{impact['minutes_in_breach']:.1f} minutes in total."
        )
    if root_cause["kind"] != "none":
        parts.append(root_cause["explanation"])
    if impact["failed_requests"] > 0:
        burned = impact["error_budget_burned_fraction"]
        if burned is None:
            budget = ""
        elif burned >= 2:  # "52× the error budget" reads better than "5271 %"
            budget = f", {burned:.0f}× the error budget the SLA allows"
        else:
            budget = f", {burned:.0%} of the error budget"
        parts.append(
            f"About {impact['failed_requests']:,.0f} of {impact['offered_requests']:,.0f} "
            f"requests failed{budget}."
        )
    if factors:
        titles = dict.fromkeys(f["title"].lower() for f in factors)  # de-duplicated, in order
        parts.append("Contributing: " + ", ".join(titles) + ".")
    # A fix "helps" when it gains points or turns a failing design into a passing one.
    helpful = [f for f in fixes if f["delta_points"] > 0 or (f["passes"] and not passed)]
    if helpful:
        best = max(helpful, key=lambda f: f["delta_points"])
        parts.append(
            f'Rerun on the same seed, "{best["title"]}" would have changed the score by '
            f"{best['delta_points']:+.0f} points" + (" and passed." if best["passes"] else ".")
        )
    parts.append(
        "The design passes its contract."
        if passed
        else "The design does not pass its contract yet."
    )
    return " ".join(parts)
