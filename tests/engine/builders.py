"""Scenario and design documents for the validation tests and the benchmark.

Plain JSON dicts in the shape of the engine contract, so tests go through the public
``parse_scenario`` / ``parse_design`` / ``simulate`` path only. Each builder returns the document
AND, where it matters, the queueing parameters the reference needs (λ, μ, c), so the mapping from
a design to theory is written once.
"""

from __future__ import annotations

from dataclasses import dataclass

# A queue that never fills in the tests that want M/M/c (infinite waiting room).
UNBOUNDED_QUEUE = 1_000_000
# Servers of a ``medium`` database in the engine's documented model (its vCPU count).
DB_CORES_MEDIUM = 4


def scenario_doc(
    *,
    rps: float | None = None,
    curve: dict | None = None,
    duration_s: float = 600.0,
    tick_s: float = 1.0,
    mix: dict[str, float] | None = None,
    burstiness: float = 1.0,
    incidents: list[dict] | None = None,
    keys: int = 1_000_000,
    zipf_s: float = 0.99,
) -> dict:
    """A scenario with a constant ``rps`` (or an explicit ``curve``) and a read-only mix."""
    if curve is None:
        curve = {"kind": "constant", "rps": rps}
    return {
        "duration_s": duration_s,
        "tick_s": tick_s,
        "traffic": {
            "curve": curve,
            "mix": mix or {"read": 1.0},
            "burstiness": burstiness,
            "key_space": {"keys": keys, "zipf_s": zipf_s},
        },
        "sla": {"availability": 0.99, "latency_percentile": 99, "latency_ms": 300},
        "budget_usd_per_month": 1500,
        "incidents": incidents or [],
    }


@dataclass(frozen=True)
class PoolSpec:
    """One app pool seen as an M/M/c queue: c = instances × concurrency, μ = 1000 / service_ms."""

    instances: int
    concurrency: int
    service_ms: float
    queue_per_instance: int = UNBOUNDED_QUEUE

    @property
    def servers(self) -> int:
        return self.instances * self.concurrency

    @property
    def mu(self) -> float:
        """Service rate of one server [1/s]."""
        return 1000.0 / self.service_ms

    @property
    def capacity_rps(self) -> float:
        """c μ [1/s]."""
        return self.servers * self.mu

    def component(self, id_: str = "app") -> dict:
        return {
            "id": id_,
            "type": "app_pool",
            "size": "medium",
            "instances": self.instances,
            "concurrency": self.concurrency,
            "service_time_ms": {"read": self.service_ms, "write": self.service_ms},
            "max_queue_per_instance": self.queue_per_instance,
        }


def single_pool_design(pool: PoolSpec) -> dict:
    """The smallest network: one app pool, ``read: [app]`` — an M/M/c queue."""
    return {"components": [pool.component()], "routes": {"read": ["app"]}}


@dataclass(frozen=True)
class ThreeTier:
    """LB → app pool → cache (cache-aside) → database, for reads; the same minus cache for
    writes. The parameters the DES reference needs are the fields here."""

    app: PoolSpec
    db_connections: int
    db_read_ms: float
    db_write_ms: float = 10.0
    cache_memory_gb: float = 1.0
    cache_item_kb: float = 4.0
    cache_ttl_s: float = 300.0
    cache_get_ms: float = 0.5

    def design(self) -> dict:
        return {
            "components": [
                {"id": "lb", "type": "load_balancer"},
                self.app.component(),
                {
                    "id": "cache",
                    "type": "cache",
                    "memory_gb": self.cache_memory_gb,
                    "item_kb": self.cache_item_kb,
                    "ttl_s": self.cache_ttl_s,
                    "service_time_ms": self.cache_get_ms,
                },
                {
                    "id": "db",
                    "type": "database",
                    "size": "medium",
                    "max_connections": self.db_connections,
                    "service_time_ms": {"read": self.db_read_ms, "write": self.db_write_ms},
                },
            ],
            "routes": {"read": ["lb", "app", "cache", "db"], "write": ["lb", "app", "db"]},
        }


def large_design() -> dict:
    """Eleven components covering every request class — the benchmark's "≥ 10 components"."""
    app = PoolSpec(instances=6, concurrency=8, service_ms=25.0, queue_per_instance=200).component()
    app["service_time_ms"]["async_job"] = 5.0  # the app only enqueues the job
    return {
        "components": [
            {"id": "cdn", "type": "cdn"},
            {"id": "lb", "type": "load_balancer"},
            {"id": "limiter", "type": "rate_limiter", "rate_rps": 2000},
            app,
            {"id": "cache", "type": "cache", "memory_gb": 2},
            {
                "id": "db",
                "type": "database",
                "max_connections": 100,
                "read_replicas": 1,
                "service_time_ms": {"read": 4, "write": 10, "async_job": 10, "ingest": 2},
            },
            {"id": "queue", "type": "queue"},
            {
                "id": "workers",
                "type": "worker_pool",
                "instances": 2,
                "concurrency": 8,
                "service_time_ms": {"async_job": 80},
            },
            {"id": "storage", "type": "object_storage"},
            {"id": "gateway", "type": "realtime_gateway", "instances": 2},
            {"id": "stream", "type": "stream"},
        ],
        "routes": {
            "read": ["lb", "limiter", "app", "cache", "db"],
            "write": ["lb", "limiter", "app", "db"],
            "async_job": ["lb", "app", "queue", "workers", "db"],
            "static": ["cdn", "storage"],
            "realtime": ["lb", "gateway"],
            "ingest": ["lb", "stream", "db"],
        },
    }


def mid_design() -> tuple[dict, dict[str, float]]:
    """Seven components (the large design without the CDN, rate limiter, realtime gateway and
    stream) and the mix of the classes it routes — the middle row of the scaling table."""
    keep = ("lb", "app", "cache", "db", "queue", "workers", "storage")
    design = large_design()
    design["components"] = [c for c in design["components"] if c["id"] in keep]
    design["routes"] = {
        "read": ["lb", "app", "cache", "db"],
        "write": ["lb", "app", "db"],
        "async_job": ["lb", "app", "queue", "workers", "db"],
        "static": ["lb", "storage"],
    }
    return design, {"read": 0.65, "write": 0.1, "async_job": 0.1, "static": 0.15}


LARGE_MIX = {
    "read": 0.6,
    "write": 0.1,
    "async_job": 0.05,
    "static": 0.15,
    "realtime": 0.05,
    "ingest": 0.05,
}
