"""Design edits behind the candidate fixes: each returns a new design document, or None.

Every edit has the signature ``edit(doc, component, view) -> (new_doc, description) | None``:
it deep-copies the normalised design document (the input is never mutated), changes one
thing, and says what it changed in one line ("app: instances 4 → 6"). It returns None when it
does not apply (wrong component type, nothing to change). Which edit answers which factor is
the table :data:`scoring.analysis.fixes.FIXES`.
"""

from __future__ import annotations

import copy
import math
from typing import Any

from scoring.analysis.view import VariantView
from simulations.engine.costs import CACHE_NODE_MEMORY_GB, cache_memory_gb
from simulations.engine.schema import SIZES  # cheapest first

# Utilization to aim for when right-sizing an over-budget tier (leaves headroom for bursts).
RIGHT_SIZE_TARGET = 0.6

DEFAULT_CACHE = {"type": "cache", "memory_gb": 2, "ttl_s": 300, "item_kb": 4}
DEFAULT_BREAKER = {"error_rate": 0.5, "open_s": 10, "half_open_probes": 5}
# Pools the engine scales by instances (and autoscales): request-serving and queue-draining.
POOLS = ("app_pool", "worker_pool")
# A queue this full (of its max_depth) at its consumer's peak backlog overflowed: the engine's
# per-tick mean over replications is below the cap when only some replications hit it.
QUEUE_FULL = 0.9
# How much deeper an overflowing queue is made: a backlog grows linearly with the burst, so one
# order of magnitude holds a burst many times longer (a queue bills per message, not per slot).
QUEUE_DEPTH_FACTOR = 10


Change = tuple[dict[str, Any], str]  # (new document, description of the change)


def _component(doc: dict, cid: str | None) -> dict | None:
    return next((c for c in doc.get("components", []) if c.get("id") == cid), None)


def _edited(doc: dict, cid: str | None, types: tuple[str, ...]) -> tuple[dict, dict] | None:
    """A deep copy of ``doc`` and its component ``cid`` if that component has one of ``types``."""
    new = copy.deepcopy(doc)
    comp = _component(new, cid)
    if comp is None or comp.get("type") not in types:
        return None
    return new, comp


def scale_out(doc: dict, cid: str | None, view: VariantView) -> Change | None:
    """App or worker pool ``cid``: 50 % more instances (at least one more); the floor follows."""
    found = _edited(doc, cid, POOLS)
    if found is None:
        return None
    new, pool = found
    before = int(pool.get("instances", 1))
    pool["instances"] = max(before + 1, math.ceil(before * 1.5))
    if pool.get("autoscaling"):
        scaling = pool["autoscaling"]
        scaling["min"] = max(int(scaling.get("min", 1)), pool["instances"])
        scaling["max"] = max(int(scaling.get("max", 1)), scaling["min"])
    return new, f"{cid}: instances {before} → {pool['instances']}"


def enable_autoscaling(doc: dict, cid: str | None, view: VariantView) -> Change | None:
    """App or worker pool ``cid`` without autoscaling: target tracking from its size to 3x."""
    found = _edited(doc, cid, POOLS)
    if found is None or found[1].get("autoscaling"):
        return None
    new, pool = found
    n = int(pool.get("instances", 1))
    pool["autoscaling"] = {
        "min": max(n, 2),
        "max": max(3 * n, 4),
        "target_utilization": 0.6,
        "cooldown_s": 60,
        "cold_start_s": 45,
    }
    s = pool["autoscaling"]
    return new, f"{cid}: autoscaling {s['min']}–{s['max']} instances at 60 % target utilization"


def raise_floor(doc: dict, cid: str | None, view: VariantView) -> Change | None:
    """App or worker pool ``cid`` with autoscaling: 50 % more warm instances at the floor."""
    found = _edited(doc, cid, POOLS)
    if found is None or not found[1].get("autoscaling"):
        return None
    new, pool = found
    scaling = pool["autoscaling"]
    before = int(scaling.get("min", 1))
    scaling["min"] = max(before + 1, math.ceil(before * 1.5))
    scaling["max"] = max(int(scaling.get("max", 1)), scaling["min"])
    pool["instances"] = max(int(pool.get("instances", 1)), scaling["min"])
    return new, f"{cid}: autoscaling floor {before} → {scaling['min']} warm instances"


def _queue_and_consumer(doc: dict, cid: str | None) -> tuple[str, str] | None:
    """``(queue id, worker pool id)`` of a route hop ``queue -> worker_pool`` that ``cid`` is in.

    The engine requires every queue on a route to be followed by the worker pool draining it,
    whose backlog series (``backlog:<worker pool>``) is the queue's depth.
    """
    for route in doc.get("routes", {}).values():
        for a, b in zip(route, route[1:], strict=False):
            kinds = ((_component(doc, a) or {}).get("type"), (_component(doc, b) or {}).get("type"))
            if kinds == ("queue", "worker_pool") and cid in (a, b):
                return a, b
    return None


def deepen_queue(doc: dict, cid: str | None, view: VariantView) -> Change | None:
    """The queue feeding worker pool ``cid`` (or queue ``cid``), if it overflowed: 10x deeper.

    Overflowed: requests were dropped and the backlog at its worker pool reached
    ``QUEUE_FULL`` of ``max_depth``. A deeper queue trades refused jobs for a longer wait.
    """
    hop = _queue_and_consumer(doc, cid)
    if hop is None or view.total("errors_dropped") <= 0:
        return None
    queue_id, consumer = hop
    before = int(_component(doc, queue_id)["max_depth"])  # the normalised document has it
    backlog = view.peak(f"backlog:{consumer}")
    if backlog is None or backlog.value < QUEUE_FULL * before:
        return None
    new, queue = _edited(doc, queue_id, ("queue",))
    queue["max_depth"] = before * QUEUE_DEPTH_FACTOR
    return new, (
        f"{queue_id}: max_depth {before:,} → {queue['max_depth']:,} messages "
        f"(the backlog at {consumer} peaked at {backlog.value:,.0f})"
    )


def upsize_database(doc: dict, cid: str | None, view: VariantView) -> Change | None:
    """Database ``cid``: one instance size up (faster service, higher price)."""
    found = _edited(doc, cid, ("database",))
    if found is None:
        return None
    new, db = found
    before = db.get("size", "medium")
    if before not in SIZES or before == SIZES[-1]:
        return None
    db["size"] = SIZES[SIZES.index(before) + 1]
    return new, f"{cid}: size {before} → {db['size']}"


def add_read_replica(doc: dict, cid: str | None, view: VariantView) -> Change | None:
    """Database ``cid`` serving reads: one more read replica."""
    found = _edited(doc, cid, ("database",))
    if found is None or float(view.mix.get("read", 0.0)) <= 0:
        return None
    new, db = found
    before = int(db.get("read_replicas", 0))
    db["read_replicas"] = before + 1
    return new, f"{cid}: read replicas {before} → {before + 1}"


def add_cache(doc: dict, cid: str | None, view: VariantView) -> Change | None:
    """A cache-aside cache in front of the first database of the read route, if none."""
    route = list(doc.get("routes", {}).get("read", []))
    types = {cid_: (_component(doc, cid_) or {}).get("type") for cid_ in route}
    databases = [c for c in route if types.get(c) == "database"]
    if not databases or {"cache", "cdn"} & set(types.values()):
        return None
    # Aimed at a component, a cache only relieves the database behind it.
    if cid is not None and cid not in databases:
        return None
    new = copy.deepcopy(doc)
    ids = {c["id"] for c in new["components"]}
    cache_id = next(
        name for name in ("cache", "read_cache", "cache_1", "cache_2") if name not in ids
    )
    new["components"].append({"id": cache_id, **DEFAULT_CACHE})
    at = route.index(databases[0])
    new["routes"]["read"] = route[:at] + [cache_id] + route[at:]
    return new, (
        f"read route: cache-aside {cache_id} ({DEFAULT_CACHE['memory_gb']} GB) "
        f"in front of {databases[0]}"
    )


def enlarge_cache(doc: dict, cid: str | None, view: VariantView) -> Change | None:
    """Cache ``cid`` (or the design's first cache): twice the memory. Memory comes with the
    nodes, so when its nodes cannot hold that much they move up a size (past the largest
    size, more nodes of it): the change, and its price, are in the description."""
    caches = [c for c in doc.get("components", []) if c.get("type") == "cache"]
    target = cid if _component(doc, cid) in caches else (caches[0]["id"] if caches else None)
    found = _edited(doc, target, ("cache",))
    if found is None:
        return None
    new, cache = found
    size, nodes = cache.get("size", "medium"), int(cache.get("nodes", 1))
    before = float(cache.get("memory_gb") or cache_memory_gb(size, nodes))
    cache["memory_gb"] = before * 2
    for larger in SIZES[SIZES.index(size) :]:
        cache["size"] = larger
        if _holds_its_memory(cache):
            break
    else:  # past the largest size: more nodes of it
        cache["nodes"] = math.ceil(cache["memory_gb"] / CACHE_NODE_MEMORY_GB[larger])
    change = f"{target}: memory {before:g} GB → {cache['memory_gb']:g} GB"
    if cache["size"] != size:
        change += f", node size {size} → {cache['size']}"
    if cache.get("nodes", 1) != nodes:
        change += f", nodes {nodes} → {cache['nodes']}"
    return new, change


def _holds_its_memory(cache: dict) -> bool:
    """Whether the cache's nodes hold its ``memory_gb`` (the engine refuses more)."""
    nodes = int(cache.get("nodes", 1))
    memory = cache.get("memory_gb")
    return memory is None or memory <= cache_memory_gb(cache.get("size", "medium"), nodes)


def coalesce_misses(doc: dict, cid: str | None, view: VariantView) -> Change | None:
    """Cache ``cid`` (or the first cache): concurrent misses on a key share one fetch."""
    caches = [c["id"] for c in doc.get("components", []) if c.get("type") == "cache"]
    target = cid if cid in caches else (caches[0] if caches else None)
    found = _edited(doc, target, ("cache",))
    if found is None or found[1].get("coalescing"):
        return None
    new, cache = found
    cache["coalescing"] = True
    return (
        new,
        f"{target}: coalesce concurrent misses on a key into one fetch (stampede protection)",
    )


def spread_zones(doc: dict, cid: str | None, view: VariantView) -> Change | None:
    """Every single-zone component on a route goes to two zones -- only when a zone fails.

    One change for the whole path (whichever component the reason named), since a zone outage
    takes down every single-zone tier at once. A database primary lives in one zone whatever
    ``zones`` says, so a database without a replica also gets one to fail over to (multi-AZ).
    """
    if not any(inc.kind == "az_outage" for inc in view.incidents):
        return None
    new = copy.deepcopy(doc)
    on_path = {c for route in doc.get("routes", {}).values() for c in route}
    targets = [c for c in new.get("components", []) if c.get("zones") == 1 and c["id"] in on_path]
    standbys = []
    for comp in targets:
        comp["zones"] = 2
        if comp.get("type") == "database" and int(comp.get("read_replicas", 0)) == 0:
            comp["read_replicas"] = 1
            standbys.append(comp["id"])
    if not targets:
        return None
    extra = f" ({', '.join(standbys)} with a replica to fail over to)" if standbys else ""
    return new, f"{', '.join(c['id'] for c in targets)}: spread over 2 availability zones{extra}"


def jitter_backoff(doc: dict, cid: str | None, view: VariantView) -> Change | None:
    """Every retrying edge without jitter or backoff: 50 ms exponential backoff, full jitter."""
    new = copy.deepcopy(doc)
    changed = []
    for edge in new.get("edges", []):
        retries = edge.get("retries")
        if (
            retries
            and int(retries.get("max_attempts", 1)) > 1
            and (not retries.get("jitter") or float(retries.get("backoff_ms", 0)) <= 0)
        ):
            retries["jitter"] = True
            retries["backoff_ms"] = max(float(retries.get("backoff_ms", 0)), 50.0)
            changed.append(f"{edge['from']} → {edge['to']}")
    if not changed:
        return None
    return new, f"retries on {', '.join(changed)}: exponential backoff from 50 ms with jitter"


def add_idempotency_keys(doc: dict, cid: str | None, view: VariantView) -> Change | None:
    """Every retrying edge without idempotency keys: retried writes carry one."""
    new = copy.deepcopy(doc)
    changed = []
    for edge in new.get("edges", []):
        retries = edge.get("retries") or {}
        if int(retries.get("max_attempts", 1)) > 1 and not edge.get("idempotency_keys"):
            edge["idempotency_keys"] = True
            changed.append(f"{edge['from']} → {edge['to']}")
    if not changed:
        return None
    return new, f"retried writes on {', '.join(changed)} carry an idempotency key"


def circuit_breaker(doc: dict, cid: str | None, view: VariantView) -> Change | None:
    """Every call into ``cid`` (edges added where absent): a circuit breaker."""
    new = copy.deepcopy(doc)
    changed = []
    for edge in new.get("edges", []):
        if edge.get("to") == cid and not edge.get("circuit_breaker"):
            edge["circuit_breaker"] = dict(DEFAULT_BREAKER)
            changed.append(f"{edge['from']} → {edge['to']}")
    # Calls into ``cid`` that have no edge entry yet get one (edges are optional policies).
    existing = {(e["from"], e["to"]) for e in new.get("edges", [])}
    callers = dict.fromkeys(
        (a, b)
        for route in doc.get("routes", {}).values()
        for a, b in zip(route, route[1:], strict=False)
        if b == cid and (a, b) not in existing
    )
    for a, b in callers:
        new.setdefault("edges", []).append(
            {"from": a, "to": b, "circuit_breaker": dict(DEFAULT_BREAKER)}
        )
        changed.append(f"{a} → {b}")
    if not changed:
        return None
    return new, f"circuit breaker on {', '.join(changed)} (opens at 50 % errors for 10 s)"


def resize_pool_connections(doc: dict, cid: str | None, view: VariantView) -> Change | None:
    """Edges from pool ``cid``: pool size = min(concurrency, max_connections / instances)."""
    new = copy.deepcopy(doc)
    changed = []
    for edge in new.get("edges", []):
        source, target = _component(new, edge["from"]), _component(new, edge["to"])
        if edge["from"] != cid or "pool_size" not in edge or source is None or target is None:
            continue
        instances = max(
            int(source.get("instances", 1)), int((source.get("autoscaling") or {}).get("max", 1))
        )
        share = int(target.get("max_connections", 10**9)) // max(instances, 1)
        size = max(1, min(int(source.get("concurrency", edge["pool_size"])), share))
        if size != edge["pool_size"]:
            changed.append(f"{edge['from']} → {edge['to']} pool {edge['pool_size']} → {size}")
            edge["pool_size"] = size
    if not changed:
        return None
    return new, "; ".join(changed)


def right_size(doc: dict, cid: str | None, view: VariantView) -> Change | None:
    """Shrink the least-utilized tier that can shrink: app pools by instances, others by size."""

    def peak(c: dict) -> float:
        p = view.peak(f"utilization:{c['id']}")
        return p.value if p else 1.0

    for comp in sorted(doc.get("components", []), key=peak):
        util = peak(comp)
        if util >= RIGHT_SIZE_TARGET:
            return None
        new = copy.deepcopy(doc)
        target = _component(new, comp["id"])
        n = int(comp.get("instances", 1))
        if comp.get("type") == "app_pool" and n > 2 and not comp.get("autoscaling"):
            # - 1e-9: 6 x 0.2 / 0.6 is 2.0000000000000004 in floating point, and means 2
            target["instances"] = max(2, math.ceil(n * util / RIGHT_SIZE_TARGET - 1e-9))
            if target["instances"] < n:
                return (
                    new,
                    f"{comp['id']}: instances {n} → {target['instances']} "
                    f"(peak utilization {util:.0%})",
                )
        size = comp.get("size")
        if size in SIZES and size != SIZES[0]:
            target["size"] = SIZES[SIZES.index(size) - 1]
            if comp.get("type") == "cache" and not _holds_its_memory(target):
                continue  # smaller nodes cannot hold its memory: no saving by size
            return (
                new,
                f"{comp['id']}: size {size} → {target['size']} (peak utilization {util:.0%})",
            )
    return None
