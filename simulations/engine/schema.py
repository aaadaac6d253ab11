"""The field tables of the scenario and design documents, and the JSON Schemas built from them.

This module is the single source of truth for what a document may contain: every number has a
unit and a bound here. :data:`SCENARIO_SCHEMA` and :data:`DESIGN_SCHEMA` are generated from the
same tables that :func:`simulations.engine.spec.parse_scenario` and ``parse_design`` validate
against, so the published schema and the validator cannot drift apart.
"""

from __future__ import annotations

from simulations.engine.catalogue import (  # noqa: F401  (re-exported)
    MAX_DURATION_S,
    MAX_TICKS,
    PERCENTILES,
    REQUEST_CLASSES,
    SIZES,
    ZONES,
)
from simulations.engine.fields import (
    Enum,
    Ident,
    Mapping,
    Num,
    Obj,
    Seq,
    Tagged,
    to_schema,
)
from simulations.engine.schema_design import DESIGN

_T = Num(0, MAX_DURATION_S, "time since the start of the scenario", "[s]")
_DURATION = Num(0, MAX_DURATION_S, "how long it lasts", "[s]", exclusive_minimum=True)
_RPS = Num(0, 1_000_000, "request rate", "[1/s]")
_TARGET = Ident("component id or component type in the design")

# --------------------------------------------------------------------------------------------
# scenario
# --------------------------------------------------------------------------------------------
CURVE = Tagged(
    "kind",
    {
        "constant": Obj({"rps": _RPS}, "flat load", ("rps",)),
        "ramp": Obj(
            {"start_rps": _RPS, "end_rps": _RPS},
            "linear from start to end",
            ("start_rps", "end_rps"),
        ),
        "diurnal": Obj(
            {
                "base_rps": _RPS,
                "peak_rps": _RPS,
                "peak_at_s": _T,
                "period_s": Num(60, 7 * MAX_DURATION_S, "cycle length; default duration_s", "[s]"),
            },
            "cosine day: base at the trough, peak at peak_at_s",
            ("base_rps", "peak_rps", "peak_at_s"),
        ),
        "spike": Obj(
            {"base_rps": _RPS, "spike_rps": _RPS, "at_s": _T, "duration_s": _DURATION},
            "base load with one rectangular spike",
            ("base_rps", "spike_rps", "at_s", "duration_s"),
        ),
    },
    "offered load over time, before incidents",
)

INCIDENT = Tagged(
    "kind",
    {
        "instance_failure": Obj(
            {
                "duration_s": _DURATION,
                "component": _TARGET,
                "count": Num(
                    1, 1000, "instances that fail", "[instances]", integer=True, default=1
                ),
            },
            "instances crash and come back after duration_s",
            ("duration_s", "component"),
        ),
        "cache_flush": Obj({"component": _TARGET}, "the cache loses all its keys", ("component",)),
        "cache_node_loss": Obj(
            {
                "component": _TARGET,
                "count": Num(1, 64, "cache nodes lost", "[nodes]", integer=True, default=1),
            },
            "cache nodes die; their share of keys is lost and capacity shrinks",
            ("component",),
        ),
        "traffic_spike": Obj(
            {"duration_s": _DURATION, "multiplier": Num(0, 100, "load multiplier", "[-]")},
            "all classes multiplied for a while",
            ("duration_s", "multiplier"),
        ),
        "dependency_slowdown": Obj(
            {
                "duration_s": _DURATION,
                "component": _TARGET,
                "factor": Num(1, 1000, "service-time multiplier", "[-]"),
            },
            "a component's service times are multiplied",
            ("duration_s", "component", "factor"),
        ),
        "db_primary_failure": Obj(
            {
                "component": _TARGET,
                "duration_s": Num(
                    1, MAX_DURATION_S, "outage length without replicas", "[s]", default=300
                ),
            },
            "primary dies: failover to a replica after failover_s, else outage",
            ("component",),
        ),
        "az_outage": Obj(
            {"duration_s": _DURATION, "zone": Enum(ZONES, "availability zone lost")},
            "one availability zone is lost; components spread over zones lose their share",
            ("duration_s", "zone"),
        ),
        "bad_deploy": Obj(
            {
                "duration_s": _DURATION,
                "component": _TARGET,
                "error_rate": Num(0, 1, "fraction of requests that fail until rollback", "[-]"),
            },
            "a release fails a fraction of requests until it is rolled back",
            ("duration_s", "component", "error_rate"),
        ),
        "capacity_loss": Obj(
            {
                "duration_s": _DURATION,
                "component": _TARGET,
                "fraction": Num(0, 0.99, "fraction of capacity lost (noisy neighbour)", "[-]"),
            },
            "a component runs slower: service rate times (1 - fraction)",
            ("duration_s", "component", "fraction"),
        ),
    },
    "a timed incident",
    common={"at_s": _T},
    common_required=("at_s",),
)

SCENARIO = Obj(
    {
        "duration_s": Num(60, MAX_DURATION_S, "simulated horizon", "[s]"),
        "tick_s": Num(0.05, 3600, "time step", "[s]", default=1.0),
        "traffic": Obj(
            {
                "curve": CURVE,
                "mix": Mapping(
                    REQUEST_CLASSES,
                    Num(0, 1, "fraction of requests of this class", "[-]"),
                    "request mix; fractions sum to 1",
                ),
                "burstiness": Num(
                    1,
                    50,
                    "squared coefficient of variation of inter-arrival times",
                    "[-]",
                    default=1.0,
                ),
                "think_time_s": Num(
                    0.1,
                    86_400,
                    "closed-loop users: each sends its next request this long after the "
                    "previous one ended (the curve is then their rate when every call succeeds); "
                    "a user waiting out a timeout or backoff before a retry sends nothing new. "
                    "Absent: open loop, requests arrive whatever happens to earlier ones",
                    "[s]",
                ),
                "key_space": Obj(
                    {
                        "keys": Num(
                            1, 1e10, "distinct keys", "[keys]", integer=True, default=1_000_000
                        ),
                        "zipf_s": Num(0, 2, "Zipf popularity exponent", "[-]", default=0.99),
                    },
                    "key popularity, drives cache hit ratios",
                ),
            },
            "offered load",
            ("curve", "mix"),
        ),
        "sla": Obj(
            {
                "availability": Num(
                    0.5, 0.99999, "fraction of offered requests that succeed", "[-]", default=0.995
                ),
                "latency_percentile": Enum(PERCENTILES, "which end-to-end percentile", 99),
                "latency_ms": Num(1, 600_000, "target for that percentile", "[ms]", default=300),
            },
            "service level agreement",
        ),
        "budget_usd_per_month": Num(0, 10_000_000, "monthly budget", "[USD/month]", default=1500),
        "incidents": Seq(INCIDENT, "timed incidents", max_items=64),
    },
    "a scenario: horizon, traffic, SLA, budget and incidents",
    ("duration_s", "traffic"),
)


def _document_schema(node: Obj, title: str) -> dict:
    schema = to_schema(node)
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "title": title, **schema}


SCENARIO_SCHEMA: dict = _document_schema(SCENARIO, "Loadline scenario")
DESIGN_SCHEMA: dict = _document_schema(DESIGN, "Loadline design")
