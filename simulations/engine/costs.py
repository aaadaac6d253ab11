"""Illustrative price table: hourly instance prices by size, per-request and per-GB charges.

The figures are *illustrative list prices* shaped like public-cloud on-demand pricing (2024,
us-east, rounded); they are for teaching trade-offs, not for quoting. Every charge is [USD].
"""

from __future__ import annotations

HOURS_PER_MONTH = 730.0

# [USD / instance-hour] by size; vCPU counts double as database cores (servers).
INSTANCE_USD_PER_HOUR = {
    "app": {"small": 0.096, "medium": 0.192, "large": 0.384, "xlarge": 0.768},
    "database": {"small": 0.171, "medium": 0.342, "large": 0.684, "xlarge": 1.368},
    "cache": {"small": 0.103, "medium": 0.206, "large": 0.411, "xlarge": 0.822},
}
DATABASE_CORES = {"small": 2, "medium": 4, "large": 8, "xlarge": 16}
# [GB / node] memory of one cache node by size, shaped like AWS ElastiCache on-demand node
# types (2024): cache.t4g.small 1.37 GiB, cache.m7g.large 6.38 GiB, cache.m7g.xlarge 12.93 GiB,
# cache.m7g.2xlarge 26.04 GiB, rounded. Memory comes with the node: it is billed through size.
CACHE_NODE_MEMORY_GB = {"small": 1.5, "medium": 6.4, "large": 13.0, "xlarge": 26.0}

LOAD_BALANCER_USD_PER_HOUR = 0.025
STREAM_USD_PER_PARTITION_HOUR = 0.015
STREAM_CONSUMER_USD_PER_HOUR = 0.096  # consumers run on small app instances

# [USD / million requests]
USD_PER_MILLION = {
    "load_balancer": 0.40,
    "rate_limiter": 0.60,
    "cdn": 0.75,
    "queue": 0.40,
    "object_storage": 0.40,
    "stream": 0.014,
}
CDN_USD_PER_GB_EGRESS = 0.085


def hourly_usd(comp_type: str, params: dict, instances: float | None = None) -> float:
    """Hourly price of one component at its design size [USD/h].

    Parameters
    ----------
    comp_type : str
        Component type.
    params : dict
        The component's parameters.
    instances : float, optional
        Instances to price (defaults to the design's count) [instances].

    Examples
    --------
    >>> hourly_usd("app_pool", {"size": "medium", "instances": 3})
    0.576
    """
    size = params.get("size") or "medium"
    if comp_type in ("app_pool", "worker_pool", "realtime_gateway"):
        count = params["instances"] if instances is None else instances
        return round(count * INSTANCE_USD_PER_HOUR["app"][size], 6)
    if comp_type == "database":
        nodes = params["shards"] * (1 + params["read_replicas"])
        return round(nodes * INSTANCE_USD_PER_HOUR["database"][size], 6)
    if comp_type == "cache":
        return round(params["nodes"] * INSTANCE_USD_PER_HOUR["cache"][size], 6)
    if comp_type == "load_balancer":
        return LOAD_BALANCER_USD_PER_HOUR
    if comp_type == "stream":
        return (
            params["partitions"] * STREAM_USD_PER_PARTITION_HOUR
            + params["consumers"] * STREAM_CONSUMER_USD_PER_HOUR
        )
    return 0.0


def cache_memory_gb(size: str, nodes: int) -> float:
    """Memory of ``nodes`` cache nodes of ``size``: a cache's default and largest ``memory_gb``.

    Examples
    --------
    >>> cache_memory_gb("medium", 3)
    19.2
    """
    return round(nodes * CACHE_NODE_MEMORY_GB[size], 6)


def usd_per_request(comp_type: str, params: dict) -> float:
    """Charge per request handled by the component [USD/request] (egress included for CDNs)."""
    per_request = USD_PER_MILLION.get(comp_type, 0.0) / 1e6
    if comp_type == "cdn":
        per_request += params["item_kb"] / 1e6 * CDN_USD_PER_GB_EGRESS
    return per_request
