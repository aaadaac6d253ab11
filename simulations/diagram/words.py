"""Words on the diagram: component types, key parameters, edge policy badges, the summary."""

from __future__ import annotations

from typing import Any

from simulations.engine.costs import CACHE_NODE_MEMORY_GB, cache_memory_gb
from simulations.engine.schema import DESIGN_SCHEMA

TYPE_WORDS = {
    "load_balancer": "load balancer",
    "app_pool": "app pool",
    "worker_pool": "worker pool",
    "rate_limiter": "rate limiter",
    "object_storage": "object storage",
    "realtime_gateway": "realtime gateway",
    "cdn": "CDN / edge cache",
}
CACHES = ("cache", "cdn")  # cache-aside on the path: hits return here, misses continue


def _defaults() -> dict[str, dict[str, Any]]:
    """``{component type: {field: default}}`` read from the engine's published schema."""
    table: dict[str, dict[str, Any]] = {}
    for option in DESIGN_SCHEMA["properties"]["components"]["items"]["oneOf"]:
        props = option["properties"]
        table[props["type"]["const"]] = {
            name: spec["default"] for name, spec in props.items() if "default" in spec
        }
        for name, spec in props.items():
            if spec.get("type") == "object" and "properties" in spec:
                table[f"{props['type']['const']}.{name}"] = {
                    sub: s["default"] for sub, s in spec["properties"].items() if "default" in s
                }
    edge_props = DESIGN_SCHEMA["properties"]["edges"]["items"]["properties"]
    table["edge.retries"] = {
        k: s["default"] for k, s in edge_props["retries"]["properties"].items() if "default" in s
    }
    return table


DEFAULTS = _defaults()


def type_words(ctype: str) -> str:
    """A component type in words: ``app_pool`` → ``app pool``."""
    return TYPE_WORDS.get(ctype, ctype.replace("_", " "))


def type_label(comp: dict) -> str:
    """The type line of a box: the type in words, plus its size or autoscaling when they matter."""
    words = type_words(comp["type"])
    params = {**DEFAULTS.get(comp["type"], {}), **comp}
    if comp["type"] in ("database", "cache") and "size" in params:
        return f"{words} · {params['size']}"
    if comp["type"] in ("app_pool", "worker_pool") and comp.get("autoscaling"):
        return f"{words} · autoscaling"
    return words


def component_detail(comp: dict) -> str:
    """Key parameters in a few words, e.g. ``3 × medium · 8 conc.`` or ``2 GB · TTL 300 s``."""
    ctype = comp["type"]
    p = {**DEFAULTS.get(ctype, {}), **comp}
    if ctype in ("app_pool", "worker_pool", "realtime_gateway"):
        count = num(p.get("instances"))
        if ctype != "realtime_gateway" and isinstance(comp.get("autoscaling"), dict):
            scaling = {**DEFAULTS.get(f"{ctype}.autoscaling", {}), **comp["autoscaling"]}
            count = f"{num(scaling.get('min'))}–{num(scaling.get('max'))}"
        if ctype == "realtime_gateway":
            return f"{count} × {p.get('size')} · fan-out {num(p.get('fanout'))}"
        return f"{count} × {p.get('size')} · {num(p.get('concurrency'))} conc."
    if ctype == "load_balancer":
        algorithm = "round robin" if p.get("algorithm") == "round_robin" else "least conn."
        return f"{algorithm} · check {num(p.get('health_check_interval_s'))} s"
    if ctype == "cache":
        nodes = p.get("nodes") or 1
        gb = p.get("memory_gb")
        size = p.get("size")
        if gb is None and isinstance(nodes, int) and isinstance(size, str):
            # by default the cache uses all the memory its nodes hold
            gb = cache_memory_gb(size, nodes) if size in CACHE_NODE_MEMORY_GB else None
        memory = f"{num(gb)} GB · TTL {num(p.get('ttl_s'))} s"
        return f"{num(nodes)} nodes · {memory}" if nodes != 1 else memory
    if ctype == "database":
        replicas = p.get("read_replicas") or 0
        shards = p.get("shards") or 1
        primary = "1 primary" + (
            f" + {num(replicas)} replica{'s' * (replicas != 1)}" if replicas else ""
        )
        return f"{num(shards)} shards × ({primary})" if shards != 1 else primary
    if ctype == "cdn":
        return f"{num(p.get('cache_gb'))} GB at the edge"
    if ctype == "rate_limiter":
        return f"{num(p.get('rate_rps'))} req/s"
    if ctype == "queue":
        return f"holds {num(p.get('max_depth'))} msgs"
    if ctype == "object_storage":
        return f"≤ {num(p.get('max_rps'))} req/s"
    if ctype == "stream":
        return f"{num(p.get('partitions'))} partitions · {num(p.get('consumers'))} consumers"
    return ""


def num(value: Any) -> str:
    """``3``, ``0.5``, ``100,000``; anything else as text (a bad value still draws)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "?" if value is None else str(value)
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:g}"


def edge_badges(policy: dict | None) -> list[str]:
    """Short words for an edge's call policies, in a fixed order."""
    if not policy:
        return []
    badges = []
    if policy.get("timeout_ms") is not None:
        badges.append(f"timeout {num(policy['timeout_ms'])} ms")
    if isinstance(policy.get("retries"), dict):
        retries = {**DEFAULTS["edge.retries"], **policy["retries"]}
        jitter = " + jitter" if retries.get("jitter") else ""
        badges.append(f"{num(retries.get('max_attempts'))} attempts{jitter}")
    if isinstance(policy.get("circuit_breaker"), dict):
        badges.append("circuit breaker")
    if policy.get("pool_size") is not None:
        badges.append(f"pool {num(policy['pool_size'])}")
    if policy.get("bulkhead") is not None:
        badges.append(f"bulkhead {num(policy['bulkhead'])}")
    if policy.get("idempotency_keys"):
        badges.append("idempotency keys")
    return badges


def summary(components, routes, edges, nodes) -> list[str]:
    """The diagram in sentences (its <desc>): each route, each edge policy, strays, load."""
    sentences = []
    for name, path in routes.items():
        steps = []
        for cid in path:
            step = f"{cid} ({type_words(components[cid]['type'])})"
            if components[cid]["type"] in CACHES and cid != path[-1]:
                step += ", where hits return and misses go on"
            steps.append(step)
        sentences.append(
            f"{name.replace('_', ' ').capitalize()} requests: clients → {' → '.join(steps)}."
        )
    for e in edges:
        if e["badges"]:
            words = ", ".join(b["text"] for b in e["badges"])
            sentences.append(f"Calls from {e['source']} to {e['target']}: {words}.")
    strays = [n["id"] for n in nodes.values() if not n["on_route"]]
    if strays:
        sentences.append(f"On no route: {', '.join(strays)}.")
    loaded = [n for n in nodes.values() if n["load_text"]]
    for n in sorted(loaded, key=lambda n: -n["utilization"]):
        sentences.append(f"{n['id']}: {n['load_text']}.")
    for n in nodes.values():
        if n["root_cause"]:
            sentences.append(f"The post-mortem names {n['id']} as the root cause.")
    return sentences
