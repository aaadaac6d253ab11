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
