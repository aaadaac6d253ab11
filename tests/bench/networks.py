"""The three-tier network of bench section (c), as an engine document and as a SimPy network.

Both describe the same system: reads go LB → app pool → cache → DB (cache-aside), writes go
LB → app → DB, with the same servers and the same exponential service-time means.
"""

from __future__ import annotations

from tests.engine.builders import DB_CORES_MEDIUM, PoolSpec, ThreeTier, scenario_doc
from tests.engine.reference.des import DELAY_SERVERS, Network, Station

THREE_TIER_RPS = 200.0
THREE_TIER_MIX = {"read": 0.9, "write": 0.1}
# The cache's hit ratio in the reference is fixed at a value typical of the engine's steady state
# for this cache; the speed of a per-request simulation does not depend on it.
THREE_TIER_HIT_RATIO = 0.8

THREE_TIER = ThreeTier(
    app=PoolSpec(instances=3, concurrency=8, service_ms=25.0, queue_per_instance=200),
    db_connections=20,
    db_read_ms=4.0,
    db_write_ms=10.0,
)


def three_tier_doc(duration_s: float) -> tuple[dict, dict]:
    """(scenario, design) documents for the engine."""
    return (
        scenario_doc(rps=THREE_TIER_RPS, duration_s=duration_s, mix=THREE_TIER_MIX),
        THREE_TIER.design(),
    )


def three_tier_des(rps: float) -> tuple[Network, float]:
    """The same network for the SimPy reference, and its arrival rate [1/s].

    Mapped as in ``tests/engine/test_des_agreement.py``: the load balancer and the cache are
    pure delays (0.5 ms, no queue), the app pool one queue of instances × concurrency servers,
    the ``medium`` database 4 cores with ``max_connections − 4`` waiting places.
    """
    t = THREE_TIER
    network = Network(
        stations=(
            Station("lb", DELAY_SERVERS, {"read": 0.5, "write": 0.5}),
            Station("app", t.app.servers, {"read": t.app.service_ms, "write": t.app.service_ms}),
            Station(
                "cache", DELAY_SERVERS, {"read": t.cache_get_ms}, hit_ratio=THREE_TIER_HIT_RATIO
            ),
            Station(
                "db",
                DB_CORES_MEDIUM,
                {"read": t.db_read_ms, "write": t.db_write_ms},
                queue_limit=t.db_connections - DB_CORES_MEDIUM,
            ),
        ),
        routes={"read": ("lb", "app", "cache", "db"), "write": ("lb", "app", "db")},
        mix=THREE_TIER_MIX,
    )
    return network, rps
