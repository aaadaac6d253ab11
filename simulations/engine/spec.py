"""Parsed, validated scenario and design specs (frozen dataclasses) and their parsers.

:func:`parse_scenario` and :func:`parse_design` check a JSON document against the field tables
in :mod:`simulations.engine.schema` (structure, types, bounds) and then against the rules a
schema cannot express (the mix sums to 1, routes name existing components, every class in the
mix has a route, ...). All problems are collected before raising.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from simulations.engine.costs import CACHE_NODE_MEMORY_GB, cache_memory_gb
from simulations.engine.errors import DesignError, Problem, ScenarioError, pointer_join
from simulations.engine.fields import check
from simulations.engine.schema import DESIGN, MAX_TICKS, SCENARIO

# Work cap: ticks x replications x variants x components. 3600 ticks x 64 replications x
# 16 variants x 32 components is ~1.2e8; larger runs are refused before any work.
MAX_WORK_CELLS = 150_000_000
# Batch cap: replications x variants x components held in memory at once, whatever the run's
# length (the recorder keeps 256 ticks of ~22 series per cell, the state ~6 classes): about
# 55 KB per cell, so ~1.8 GB at the cap - e.g. 8 variants x 512 replications x 8 components.
MAX_BATCH_CELLS = 32_768

# Components a request can stop at (hits return) and those that must be followed by a store.
CACHING_TYPES = ("cache", "cdn")


@dataclass(frozen=True)
class Incident:
    """One timed incident. ``params`` holds the kind-specific fields (``count``, ``factor``...)."""

    kind: str
    at_s: float
    duration_s: float | None
    component: str | None
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Scenario:
    """A validated scenario. ``doc`` is the normalised document (defaults filled in).

    Attributes
    ----------
    duration_s, tick_s : float
        Horizon and time step [s].
    n_ticks : int
        ``ceil(duration_s / tick_s)``.
    curve : dict
        The traffic curve (``kind`` plus its parameters, rates in [1/s]).
    mix : dict[str, float]
        Fraction of requests per class [-]; sums to 1.
    burstiness : float
        Squared coefficient of variation of inter-arrival times c_a^2 [-].
    keys : int
        Distinct keys in the key space [keys].
    zipf_s : float
        Zipf popularity exponent [-].
    sla : dict
        ``availability`` [-], ``latency_percentile``, ``latency_ms`` [ms].
    budget_usd_per_month : float
        [USD/month].
    incidents : tuple of Incident
    think_time_s : float or None
        Closed-loop users' think time Z [s]; ``None`` for open-loop arrivals.
    """

    duration_s: float
    tick_s: float
    n_ticks: int
    curve: dict
    mix: dict
    burstiness: float
    keys: int
    zipf_s: float
    sla: dict
    budget_usd_per_month: float
    incidents: tuple[Incident, ...]
    think_time_s: float | None
    doc: dict


@dataclass(frozen=True)
class Component:
    """One component: its ``id``, ``type`` and normalised type-specific ``params``."""

    id: str
    type: str
    params: dict[str, Any]


@dataclass(frozen=True)
class Edge:
    """Policies on the call edge ``source -> target`` (``None`` where a policy is absent)."""

    source: str
    target: str
    timeout_ms: float | None
    pool_size: int | None
    bulkhead: int | None
    idempotency_keys: bool
    retries: dict | None
    circuit_breaker: dict | None


@dataclass(frozen=True)
class Design:
    """A validated design: components, the route of each class, and call-edge policies."""

    components: tuple[Component, ...]
    routes: dict[str, tuple[str, ...]]
    edges: tuple[Edge, ...]
    doc: dict

    def component(self, component_id: str) -> Component:
        """Return the component with this id (``KeyError`` if absent)."""
        for comp in self.components:
            if comp.id == component_id:
                return comp
        raise KeyError(component_id)

    def edge(self, source: str, target: str) -> Edge | None:
        """Return the policies on ``source -> target``, or ``None`` if it has none."""
        for edge in self.edges:
            if edge.source == source and edge.target == target:
                return edge
        return None


def parse_scenario(doc: dict) -> Scenario:
    """Validate a scenario document and return a :class:`Scenario`.

    Parameters
    ----------
    doc : dict
        The JSON document (see ``SCENARIO_SCHEMA``).

    Returns
    -------
    Scenario

    Raises
    ------
    ScenarioError
        With ``problems`` listing every problem found, each with its JSON pointer.

    Examples
    --------
    >>> s = parse_scenario({"duration_s": 600, "traffic": {"curve": {"kind": "constant",
    ...     "rps": 100}, "mix": {"read": 0.9, "write": 0.1}}})
    >>> s.n_ticks, s.tick_s
    (600, 1.0)
    """
    problems: list[Problem] = []
    norm = check(SCENARIO, doc, "", problems)
    if norm is not None:
        _scenario_rules(norm, problems)
    if problems:
        raise ScenarioError(problems)
    traffic = norm["traffic"]
    curve = dict(traffic["curve"])
    if curve["kind"] == "diurnal" and curve.get("period_s") is None:
        curve["period_s"] = norm["duration_s"]
    incidents = tuple(
        Incident(
            kind=inc["kind"],
            at_s=inc["at_s"],
            duration_s=inc.get("duration_s"),
            component=inc.get("component"),
            params={
                k: v for k, v in inc.items() if k not in ("kind", "at_s", "duration_s", "component")
            },
        )
        for inc in norm["incidents"]
    )
    return Scenario(
        duration_s=norm["duration_s"],
        tick_s=norm["tick_s"],
        n_ticks=_n_ticks(norm["duration_s"], norm["tick_s"]),
        curve=curve,
        mix={k: v for k, v in traffic["mix"].items() if v > 0},
        burstiness=traffic["burstiness"],
        keys=traffic["key_space"]["keys"],
        zipf_s=traffic["key_space"]["zipf_s"],
        sla=dict(norm["sla"]),
        budget_usd_per_month=norm["budget_usd_per_month"],
        incidents=incidents,
        think_time_s=traffic.get("think_time_s"),
        doc=_without_nulls(norm),
    )


def _without_nulls(value: Any) -> Any:
    """The normalised document minus absent optional fields, so it parses again as is."""
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


def _n_ticks(duration_s: float, tick_s: float) -> int:
    return max(1, math.ceil(duration_s / tick_s - 1e-9))


def _scenario_rules(norm: dict, problems: list[Problem]) -> None:
    duration, tick = norm["duration_s"], norm["tick_s"]
    if duration is not None and tick is not None:
        if tick > duration:
            problems.append(Problem("/tick_s", f"tick_s {tick:g} s exceeds duration_s"))
        elif _n_ticks(duration, tick) > MAX_TICKS:
            problems.append(
                Problem(
                    "/tick_s",
                    f"{_n_ticks(duration, tick)} ticks exceed the cap of "
                    f"{MAX_TICKS}; use a longer tick_s",
                )
            )
    traffic = norm.get("traffic") or {}
    mix = traffic.get("mix")
    if isinstance(mix, dict) and mix and all(v is not None for v in mix.values()):
        total = sum(mix.values())
        if abs(total - 1.0) > 1e-6:
            problems.append(Problem("/traffic/mix", f"fractions sum to {total:g}, not 1"))
    for i, inc in enumerate(norm.get("incidents") or []):
        if inc and duration is not None and inc.get("at_s") is not None and inc["at_s"] >= duration:
            problems.append(
                Problem(
                    f"/incidents/{i}/at_s",
                    f"at_s {inc['at_s']:g} s is not before duration_s {duration:g} s",
                )
            )


def parse_design(doc: dict, scenario: Scenario | None = None) -> Design:
    """Validate a design document (and, with a scenario, its fit to that scenario).

    Parameters
    ----------
    doc : dict
        The JSON document (see ``DESIGN_SCHEMA``).
    scenario : Scenario, optional
        When given, every class in the scenario's mix must have a route, and the work
        (ticks x components) must fit under :data:`MAX_WORK_CELLS`.

    Returns
    -------
    Design

    Raises
    ------
    DesignError
        With every problem found, each with its JSON pointer (e.g. ``/components/1/instances``,
        ``/routes/read/2``).

    Examples
    --------
    >>> d = parse_design({"components": [{"id": "db", "type": "database",
    ...     "service_time_ms": {"read": 5}}], "routes": {"read": ["db"]}})
    >>> d.routes["read"]
    ('db',)
    """
    problems: list[Problem] = []
    norm = check(DESIGN, doc, "", problems)
    if norm is not None:
        _design_rules(norm, scenario, problems)
    if problems:
        raise DesignError(problems)
    components = tuple(
        Component(c["id"], c["type"], {k: v for k, v in c.items() if k not in ("id", "type")})
        for c in norm["components"]
    )
    edges = tuple(
        Edge(
            source=e["from"],
            target=e["to"],
            timeout_ms=e["timeout_ms"],
            pool_size=e["pool_size"],
            bulkhead=e["bulkhead"],
            idempotency_keys=e["idempotency_keys"],
            retries=e["retries"],
            circuit_breaker=e["circuit_breaker"],
        )
        for e in norm["edges"]
    )
    routes = {k: tuple(v) for k, v in norm["routes"].items()}
    return Design(components=components, routes=routes, edges=edges, doc=_without_nulls(norm))


def _design_rules(norm: dict, scenario: Scenario | None, problems: list[Problem]) -> None:
    types: dict[str, str] = {}
    comps = [c for c in (norm.get("components") or []) if c]
    for i, comp in enumerate(norm.get("components") or []):
        if not comp or comp.get("id") is None:
            continue
        if comp["id"] in types:
            problems.append(Problem(f"/components/{i}/id", f"duplicate id {comp['id']!r}"))
        types[comp["id"]] = comp["type"]
        _component_rules(comp, f"/components/{i}", problems)
    routes = norm.get("routes") or {}
    hops: set[tuple[str, str]] = set()
    for cls, path in routes.items():
        if not path:
            continue
        where = pointer_join("/routes", cls)
        _route_rules(cls, path, where, types, comps, problems)
        hops.update(zip(path, path[1:], strict=False))
    for i, edge in enumerate(norm.get("edges") or []):
        if not edge:
            continue
        for end in ("from", "to"):
            if edge.get(end) is not None and edge[end] not in types:
                problems.append(Problem(f"/edges/{i}/{end}", f"unknown component {edge[end]!r}"))
        if (
            edge.get("from") in types
            and edge.get("to") in types
            and (edge["from"], edge["to"]) not in hops
        ):
            problems.append(
                Problem(f"/edges/{i}", f"{edge['from']} -> {edge['to']} is not a hop of any route")
            )
    if scenario is not None:
        for cls, share in scenario.mix.items():
            if share > 0 and cls not in routes:
                problems.append(
                    Problem(
                        pointer_join("/routes", cls),
                        f"class {cls!r} is {share:.0%} of the traffic but has no route",
                    )
                )
        cells = scenario.n_ticks * max(1, len(comps))
        if cells > MAX_WORK_CELLS:
            problems.append(
                Problem(
                    "", f"{cells:.3g} tick x component cells exceed the cap of {MAX_WORK_CELLS:.3g}"
                )
            )


def _component_rules(comp: dict, where: str, problems: list[Problem]) -> None:
    if comp.get("type") == "cache":
        _cache_memory(comp, where, problems)
    scaling = comp.get("autoscaling")
    if scaling and scaling.get("min") is not None and scaling.get("max") is not None:
        if scaling["min"] > scaling["max"]:
            problems.append(
                Problem(
                    f"{where}/autoscaling/min", f"min {scaling['min']} exceeds max {scaling['max']}"
                )
            )
        instances = comp.get("instances")
        if instances is not None and not scaling["min"] <= instances <= scaling["max"]:
            problems.append(
                Problem(
                    f"{where}/instances",
                    f"{instances} instances is outside autoscaling "
                    f"[{scaling['min']}, {scaling['max']}]",
                )
            )


def _cache_memory(comp: dict, where: str, problems: list[Problem]) -> None:
    """A cache's memory is its nodes' memory: ``memory_gb`` defaults to all of it (filled in
    here) and may not exceed it (more memory takes a larger size or more nodes)."""
    size, nodes, memory = comp.get("size"), comp.get("nodes"), comp.get("memory_gb")
    if size is None or nodes is None:  # already reported by the schema check
        return
    most = cache_memory_gb(size, nodes)
    if memory is None:
        comp["memory_gb"] = most
    elif memory > most:
        problems.append(
            Problem(
                f"{where}/memory_gb",
                f"{memory:g} GB is more than {nodes} {size} node(s) hold: at most {most:g} GB "
                f"({CACHE_NODE_MEMORY_GB[size]:g} GB per node); choose a larger size or more "
                "nodes",
            )
        )


def _route_rules(
    cls: str,
    path: list,
    where: str,
    types: dict[str, str],
    comps: list[dict],
    problems: list[Problem],
) -> None:
    seen: set[str] = set()
    for j, cid in enumerate(path):
        if cid is None:
            continue
        if cid not in types:
            problems.append(Problem(pointer_join(where, j), f"unknown component {cid!r}"))
            continue
        if cid in seen:
            problems.append(Problem(pointer_join(where, j), f"{cid!r} appears twice"))
        seen.add(cid)
        kind = types[cid]
        last = j == len(path) - 1
        if kind in CACHING_TYPES and last:
            problems.append(
                Problem(
                    pointer_join(where, j),
                    f"{kind} {cid!r} ends the route; misses need a store behind it",
                )
            )
        if kind == "queue" and (last or types.get(path[j + 1]) != "worker_pool"):
            problems.append(
                Problem(pointer_join(where, j), f"queue {cid!r} must be followed by a worker_pool")
            )
        comp = next(c for c in comps if c.get("id") == cid)
        service = comp.get("service_time_ms")
        if isinstance(service, dict) and cls not in service:
            index = comps.index(comp)
            problems.append(
                Problem(
                    f"/components/{index}/service_time_ms/{cls}",
                    f"{cid!r} serves class {cls!r} (route {where}) but has no service time for it",
                )
            )
