"""The field table of the design document (components, routes, call-edge policies).

Split from :mod:`simulations.engine.schema`, which builds the published JSON Schemas; every
number has a unit and a bound here.
"""

from __future__ import annotations

from simulations.engine.catalogue import REQUEST_CLASSES, SIZES
from simulations.engine.costs import CACHE_NODE_MEMORY_GB
from simulations.engine.fields import Bool, Enum, Ident, Mapping, Num, Obj, Seq, Tagged

# --------------------------------------------------------------------------------------------
# design
# --------------------------------------------------------------------------------------------
_SIZE = Enum(SIZES, "instance size (price and speed table in costs.py)", "medium")
_NODE_MEMORY = ", ".join(f"{size} {gb:g}" for size, gb in CACHE_NODE_MEMORY_GB.items())
_ZONES = Num(
    1, 3, "availability zones the instances are spread over", "[zones]", integer=True, default=1
)
_SERVICE = Mapping(
    REQUEST_CLASSES,
    Num(0.01, 600_000, "mean service time", "[ms]"),
    "mean service time per request class (exponentially distributed)",
)
_INSTANCES = Num(1, 1000, "instances", "[instances]", integer=True, default=2)
_CONCURRENCY = Num(
    1, 1024, "requests served at once per instance", "[requests]", integer=True, default=8
)
_QUEUE = Num(
    0,
    1_000_000,
    "waiting requests per instance before drops",
    "[requests]",
    integer=True,
    default=200,
)

AUTOSCALING = Obj(
    {
        "min": Num(1, 1000, "fewest instances", "[instances]", integer=True, default=1),
        "max": Num(1, 1000, "most instances", "[instances]", integer=True, default=10),
        "target_utilization": Num(0.1, 0.95, "utilization the scaler aims for", "[-]", default=0.6),
        "cooldown_s": Num(0, 3600, "wait between scaling actions", "[s]", default=60),
        "cold_start_s": Num(0, 1800, "boot time before a new instance serves", "[s]", default=30),
    },
    "target-tracking autoscaling",
    optional_object=True,
)

_POOL_FIELDS = {
    "size": _SIZE,
    "instances": _INSTANCES,
    "concurrency": _CONCURRENCY,
    "service_time_ms": _SERVICE,
    "max_queue_per_instance": _QUEUE,
    "zones": _ZONES,
    "autoscaling": AUTOSCALING,
    "shed_after_ms": Num(
        1,
        600_000,
        "load shedding: reject arrivals whose predicted queue "
        "wait exceeds this (429, counted apart)",
        "[ms]",
        default=None,
    ),
}

COMPONENT = Tagged(
    "type",
    {
        "load_balancer": Obj(
            {
                "algorithm": Enum(
                    ("round_robin", "least_connections"),
                    "how requests are spread over a pool",
                    "least_connections",
                ),
                "health_check_interval_s": Num(1, 300, "health-check period", "[s]", default=5),
                "unhealthy_threshold": Num(
                    1, 10, "failed checks before removal", "[checks]", integer=True, default=2
                ),
            },
            "layer-7 load balancer in front of a pool",
        ),
        "app_pool": Obj(_POOL_FIELDS, "stateless service instances", ("service_time_ms",)),
        "worker_pool": Obj(
            {
                **_POOL_FIELDS,
                "max_receives": Num(
                    1,
                    100,
                    "deliveries before dead-lettering",
                    "[attempts]",
                    integer=True,
                    default=3,
                ),
            },
            "consumers of a queue",
            ("service_time_ms",),
        ),
        "cache": Obj(
            {
                "size": _SIZE,
                "memory_gb": Num(
                    0.01,
                    4096,
                    "memory for items across all nodes; at most (and by default) nodes x the "
                    f"memory of one node of the size: {_NODE_MEMORY} GB",
                    "[GB]",
                ),
                "item_kb": Num(0.01, 102_400, "mean item size", "[kB]", default=4),
                "ttl_s": Num(1, 604_800, "time to live of an item", "[s]", default=300),
                "nodes": Num(
                    1,
                    64,
                    "cache nodes (keys sharded across them)",
                    "[nodes]",
                    integer=True,
                    default=1,
                ),
                "coalescing": Bool("concurrent misses on one key wait for one fetch", False),
                "service_time_ms": Num(0.01, 1000, "time per get", "[ms]", default=0.5),
            },
            "cache-aside in-memory cache; hits return, misses continue",
        ),
        "cdn": Obj(
            {
                "cache_gb": Num(0.1, 1_000_000, "edge cache capacity", "[GB]", default=100),
                "item_kb": Num(0.1, 10_000_000, "mean object size", "[kB]", default=256),
                "ttl_s": Num(1, 2_592_000, "time to live at the edge", "[s]", default=3600),
                "edge_ms": Num(0.1, 1000, "latency of an edge hit", "[ms]", default=15),
            },
            "edge cache; hits return, misses continue to the origin",
        ),
        "rate_limiter": Obj(
            {
                "rate_rps": Num(0.1, 10_000_000, "token refill rate", "[1/s]"),
                "burst": Num(1, 100_000_000, "bucket size", "[requests]", default=None),
            },
            "token bucket: excess requests are shed with 429 (counted apart from errors)",
            ("rate_rps",),
        ),
        "database": Obj(
            {
                "size": _SIZE,
                "max_connections": Num(
                    1,
                    100_000,
                    "connections (running + waiting)",
                    "[connections]",
                    integer=True,
                    default=100,
                ),
                "service_time_ms": _SERVICE,
                "read_replicas": Num(0, 15, "read replicas", "[replicas]", integer=True, default=0),
                "failover_s": Num(1, 3600, "time to promote a replica", "[s]", default=30),
                "apply_threads": Num(
                    1, 64, "replica apply parallelism", "[threads]", integer=True, default=1
                ),
                "shards": Num(
                    1, 256, "shards (each a primary)", "[shards]", integer=True, default=1
                ),
                "shard_skew": Num(0, 2, "Zipf exponent of load over shards", "[-]", default=0),
                "hot_row_fraction": Num(
                    0, 1, "fraction of writes contending on one row lock", "[-]", default=0
                ),
                "zones": _ZONES,
            },
            "relational database: primary, optional read replicas, optional shards",
            ("service_time_ms",),
        ),
        "queue": Obj(
            {
                "max_depth": Num(
                    1,
                    1e9,
                    "messages held before rejecting",
                    "[messages]",
                    integer=True,
                    default=100_000,
                ),
            },
            "message queue: producers return once enqueued; workers drain it",
        ),
        "object_storage": Obj(
            {
                "first_byte_ms": Num(0.1, 10_000, "time to first byte", "[ms]", default=20),
                "max_rps": Num(1, 1e7, "request-rate ceiling", "[1/s]", default=5500),
            },
            "blob store billed per request and per GB",
        ),
        "realtime_gateway": Obj(
            {
                "size": _SIZE,
                "instances": _INSTANCES,
                "concurrency": _CONCURRENCY,
                "fanout": Num(1, 10_000, "deliveries per message", "[deliveries]", default=1),
                "service_time_ms": Num(0.01, 10_000, "time per delivery", "[ms]", default=0.2),
                "max_queue_per_instance": _QUEUE,
                "zones": _ZONES,
            },
            "websocket gateway: each message is fanned out to subscribers",
        ),
        "stream": Obj(
            {
                "partitions": Num(1, 4096, "partitions", "[partitions]", integer=True, default=8),
                "consumers": Num(
                    1,
                    4096,
                    "consumer instances in the group",
                    "[consumers]",
                    integer=True,
                    default=4,
                ),
                "record_ms": Num(0.01, 60_000, "consumer time per record", "[ms]", default=2),
                "retention_records": Num(
                    1, 1e12, "records kept before the oldest are lost", "[records]", default=1e9
                ),
            },
            "partitioned log with a consumer group; lag = records not yet consumed",
        ),
    },
    "one component of the design",
    common={"id": Ident("component id, unique in the design")},
    common_required=("id",),
)

EDGE = Obj(
    {
        "from": Ident("calling component id"),
        "to": Ident("called component id"),
        "timeout_ms": Num(1, 600_000, "caller gives up after", "[ms]", default=None),
        "pool_size": Num(
            1,
            100_000,
            "connections per caller instance",
            "[connections]",
            integer=True,
            default=None,
        ),
        "bulkhead": Num(
            1,
            100_000,
            "concurrent calls allowed per caller instance",
            "[requests]",
            integer=True,
            default=None,
        ),
        "idempotency_keys": Bool("retried writes carry an idempotency key", False),
        "retries": Obj(
            {
                "max_attempts": Num(
                    1, 10, "attempts including the first", "[attempts]", integer=True, default=3
                ),
                "backoff_ms": Num(
                    0, 600_000, "first backoff, doubled per attempt", "[ms]", default=0
                ),
                "jitter": Bool("full jitter: wait uniform in [0, backoff]", False),
                "budget": Num(
                    0,
                    10,
                    "retry budget: at most this many retries per first attempt (per "
                    "tick); unlimited if absent",
                    "[-]",
                    default=None,
                ),
            },
            "retry failed calls",
            optional_object=True,
        ),
        "circuit_breaker": Obj(
            {
                "error_rate": Num(
                    0.01, 1, "error fraction that opens the breaker", "[-]", default=0.5
                ),
                "open_s": Num(0.1, 3600, "how long it stays open", "[s]", default=10),
                "half_open_probes": Num(
                    1, 10_000, "trial calls when half-open", "[requests]", integer=True, default=5
                ),
                "min_calls": Num(
                    1,
                    1_000_000,
                    "calls per tick before the rate counts",
                    "[requests]",
                    integer=True,
                    default=20,
                ),
            },
            "fail fast while the callee is failing",
            optional_object=True,
        ),
    },
    "policies on a call edge",
    ("from", "to"),
)

DESIGN = Obj(
    {
        "components": Seq(COMPONENT, "the components", min_items=1, max_items=32),
        "routes": Mapping(
            REQUEST_CLASSES,
            Seq(Ident("component id"), "path", min_items=1, max_items=12),
            "path of each request class through the components",
        ),
        "edges": Seq(EDGE, "call-edge policies", max_items=128),
    },
    "a design: components, routes, call-edge policies",
    ("components", "routes"),
)
