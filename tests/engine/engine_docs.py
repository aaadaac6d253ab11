"""Small example documents shared by the engine tests (plain dicts, like the API receives)."""

from __future__ import annotations

import copy


def scenario_doc(**overrides) -> dict:
    doc = {
        "duration_s": 600,
        "tick_s": 1.0,
        "traffic": {
            "curve": {"kind": "constant", "rps": 200},
            "mix": {"read": 0.9, "write": 0.1},
            "burstiness": 1.0,
            "key_space": {"keys": 1_000_000, "zipf_s": 0.99},
        },
        "sla": {"availability": 0.995, "latency_percentile": 99, "latency_ms": 300},
        "budget_usd_per_month": 1500,
        "incidents": [],
    }
    doc.update(copy.deepcopy(overrides))
    return doc


def design_doc(**overrides) -> dict:
    doc = {
        "components": [
            {"id": "lb", "type": "load_balancer", "health_check_interval_s": 5},
            {
                "id": "app",
                "type": "app_pool",
                "size": "medium",
                "instances": 3,
                "concurrency": 8,
                "service_time_ms": {"read": 25, "write": 40},
            },
            {"id": "cache", "type": "cache", "memory_gb": 2, "ttl_s": 300, "item_kb": 4},
            {
                "id": "db",
                "type": "database",
                "size": "medium",
                "max_connections": 100,
                "read_replicas": 0,
                "service_time_ms": {"read": 4, "write": 10},
            },
        ],
        "routes": {"read": ["lb", "app", "cache", "db"], "write": ["lb", "app", "db"]},
        "edges": [],
    }
    doc.update(copy.deepcopy(overrides))
    return doc


def single_queue(
    servers: int, service_ms: float, rps: float, duration_s: float = 600, instances: int = 1
) -> tuple[dict, dict]:
    """An M/M/c station: Poisson arrivals at ``rps`` into ``instances x servers`` servers."""
    scenario = scenario_doc(
        duration_s=duration_s,
        traffic={"curve": {"kind": "constant", "rps": rps}, "mix": {"read": 1.0}},
    )
    design = {
        "components": [
            {
                "id": "app",
                "type": "app_pool",
                "instances": instances,
                "concurrency": servers,
                "service_time_ms": {"read": service_ms},
                "max_queue_per_instance": 1_000_000,
            }
        ],
        "routes": {"read": ["app"]},
    }
    return scenario, design


def catalogue_design() -> dict:
    """Every component type on some route, with every call-edge policy somewhere."""
    return {
        "components": [
            {"id": "cdn", "type": "cdn"},
            {"id": "lb", "type": "load_balancer", "algorithm": "round_robin"},
            {"id": "limiter", "type": "rate_limiter", "rate_rps": 900, "burst": 100},
            {
                "id": "app",
                "type": "app_pool",
                "instances": 4,
                "concurrency": 8,
                "zones": 2,
                "service_time_ms": {"read": 20, "write": 30, "async_job": 5},
                "shed_after_ms": 400,
                "autoscaling": {"min": 2, "max": 8, "cold_start_s": 20, "cooldown_s": 30},
            },
            {"id": "cache", "type": "cache", "memory_gb": 1, "nodes": 2, "coalescing": True},
            {
                "id": "db",
                "type": "database",
                "read_replicas": 1,
                "shards": 2,
                "shard_skew": 1.0,
                "hot_row_fraction": 0.1,
                "zones": 2,
                "service_time_ms": {"read": 3, "write": 8, "async_job": 8, "ingest": 2},
            },
            {"id": "queue", "type": "queue", "max_depth": 5000},
            {
                "id": "workers",
                "type": "worker_pool",
                "instances": 2,
                "concurrency": 4,
                "service_time_ms": {"async_job": 60},
            },
            {"id": "storage", "type": "object_storage"},
            {"id": "gateway", "type": "realtime_gateway", "instances": 2, "fanout": 20},
            {"id": "stream", "type": "stream", "partitions": 4, "consumers": 4},
        ],
        "routes": {
            "read": ["lb", "limiter", "app", "cache", "db"],
            "write": ["lb", "limiter", "app", "db"],
            "async_job": ["lb", "app", "queue", "workers", "db"],
            "static": ["cdn", "storage"],
            "realtime": ["lb", "gateway"],
            "ingest": ["lb", "stream", "db"],
        },
        "edges": [
            {
                "from": "app",
                "to": "db",
                "timeout_ms": 250,
                "pool_size": 30,
                "bulkhead": 40,
                "retries": {"max_attempts": 2, "backoff_ms": 100, "jitter": True, "budget": 0.5},
                "circuit_breaker": {"error_rate": 0.5, "open_s": 5},
            },
            {"from": "app", "to": "cache", "timeout_ms": 50},
        ],
    }


CATALOGUE_MIX = {
    "read": 0.55,
    "write": 0.1,
    "async_job": 0.05,
    "static": 0.15,
    "realtime": 0.05,
    "ingest": 0.1,
}
ALL_INCIDENTS = [
    {"kind": "traffic_spike", "at_s": 30, "duration_s": 20, "multiplier": 2.0},
    {"kind": "instance_failure", "at_s": 60, "duration_s": 30, "component": "app", "count": 1},
    {"kind": "cache_flush", "at_s": 90, "component": "cache"},
    {"kind": "cache_node_loss", "at_s": 120, "component": "cache", "count": 1},
    {
        "kind": "dependency_slowdown",
        "at_s": 150,
        "duration_s": 20,
        "component": "db",
        "factor": 4.0,
    },
    {"kind": "bad_deploy", "at_s": 180, "duration_s": 20, "component": "app", "error_rate": 0.3},
    {
        "kind": "capacity_loss",
        "at_s": 210,
        "duration_s": 20,
        "component": "workers",
        "fraction": 0.5,
    },
    {"kind": "az_outage", "at_s": 240, "duration_s": 30, "zone": "b"},
    {"kind": "db_primary_failure", "at_s": 280, "component": "database"},
    {"kind": "instance_failure", "at_s": 300, "duration_s": 10, "component": "search"},
]
