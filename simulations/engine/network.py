"""Compile designs into a batched queueing network: stations, routing matrices, latency paths.

A *station* is one queue (or pure delay) of the fluid model. Most components are one station;
a database with read replicas adds a replica station (reads split over the primary and the
live replicas, see ``plan.ReadSplit``), and hot-row lock contention adds a single-server lock
station in front of the primary for that share of writes. Stations are the union over all
design variants (a station absent from a variant gets no traffic there) and are ordered by
*level* (longest route distance from the entry), so one sweep over the levels per tick moves
requests through the whole network.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from simulations.engine.costs import DATABASE_CORES, hourly_usd, usd_per_request
from simulations.engine.spec import Design, Scenario

DELAY_TYPES = ("load_balancer", "cache", "cdn", "queue", "rate_limiter")
POOL_TYPES = ("app_pool", "worker_pool", "realtime_gateway")
READ_CLASSES = ("read", "static")
LB_MS = 0.5  # load balancer / limiter / queue hand-off time [ms]


@dataclass
class Station:
    key: str  # unique name: component id, or "<id>#replicas" / "<id>#lock"
    component: str  # component id
    comp_type: str
    role: str  # "main", "replicas" or "lock"


@dataclass
class Path:
    """One way a class can traverse a variant, for latency: stations, in order."""

    stations: list[int]
    static_weight: float
    miss_caches: list[int]  # caches passed on a miss (weight x miss ratio)
    hit_cache: int | None  # cache where the request ends on a hit (weight x hit ratio)
    client_stations: list[int]  # stations counted in client latency (stops at a queue)
    # database stations entered by a read split (primary or replica pool): the live share
    # (see ``plan.ReadSplit``) replaces the design share in ``static_weight``
    read_split: list[int] = field(default_factory=list)


@dataclass
class Network:
    """Arrays describing all variants; shapes use V variants, S stations, K classes."""

    classes: tuple[str, ...]
    stations: list[Station]
    levels: list[tuple[int, int]]  # [start, stop) station index ranges, in sweep order
    present: np.ndarray  # (V, S) bool
    delay: np.ndarray  # (S,) bool: infinite-server station (no queue)
    svc: np.ndarray  # (V, S, K) mean service time [s]
    instances: np.ndarray  # (V, S) design instance (or node/replica) count
    per_instance: np.ndarray  # (V, S) servers per instance [-]
    qcap_per_instance: np.ndarray  # (V, S) waiting room per instance [requests]
    shed_s: np.ndarray  # (V, S) load shedding: max predicted queue wait [s], inf = off
    pooled: np.ndarray  # (V, S) bool: one shared queue (least-connections) vs per instance
    round_robin: np.ndarray  # (V, S) bool: per-instance queues fed in strict rotation
    entry: np.ndarray  # (V, S, K) where external arrivals enter
    route: np.ndarray  # (V, S*K, S*K) next-hop distribution of a forwarded request
    cont: np.ndarray  # (V, S, K) 1 if the request continues after this station
    cache_of: np.ndarray  # (S,) index into caches, -1 if not a cache
    caches: list[int]  # station indices of caches/CDNs
    paths: list[dict[str, list[Path]]]  # [variant][class] -> paths
    hourly_usd: np.ndarray  # (V, S) price per hour at design size
    instance_usd: np.ndarray  # (V, S) price per instance-hour (pools), 0 otherwise
    request_usd: np.ndarray  # (V, S) price per request handled
    component_ids: list[list[str]]  # [variant] component ids in design order
    designs: list[Design] = field(default_factory=list)

    @property
    def n_stations(self) -> int:
        return len(self.stations)


def station_params(comp_type: str, role: str, params: dict, classes: tuple[str, ...]) -> dict:
    """Servers, service times and waiting room of one station of a component."""
    k = len(classes)
    svc = np.zeros(k)
    out = {"instances": 1, "per_instance": 1, "qcap": np.inf, "shed_s": np.inf}
    times = params.get("service_time_ms")
    if isinstance(times, dict):
        svc = np.array([times.get(c, 0.0) for c in classes]) / 1000.0
    if comp_type in POOL_TYPES:
        out.update(
            instances=params["instances"],
            per_instance=params["concurrency"],
            qcap=params["max_queue_per_instance"],
        )
        if comp_type == "realtime_gateway":
            svc = np.full(k, params["service_time_ms"] * params["fanout"] / 1000.0)
        if params.get("shed_after_ms") is not None:
            out["shed_s"] = params["shed_after_ms"] / 1000.0
    elif comp_type == "database":
        cores = DATABASE_CORES[params["size"]]
        shards = params["shards"]
        # The hottest shard saturates first: with Zipf(skew) load over shards it takes
        # share p_max, so the database behaves like cores / p_max servers.
        ranks = np.arange(1, shards + 1, dtype=float) ** -params["shard_skew"]
        p_max = ranks[0] / ranks.sum()
        if role == "main":
            out.update(
                per_instance=cores, instances=1, qcap=max(0, params["max_connections"] - cores)
            )
            out["shard_servers"] = cores / p_max
        elif role == "replicas":
            out.update(
                per_instance=cores,
                instances=params["read_replicas"],
                qcap=max(0, params["max_connections"] - cores),
            )
        else:  # the hot row: one lock, one writer at a time
            out.update(per_instance=1, instances=1, qcap=params["max_connections"])
    elif comp_type == "cache":
        svc = np.full(k, params["service_time_ms"] / 1000.0)
    elif comp_type == "cdn":
        svc = np.full(k, params["edge_ms"] / 1000.0)
    elif comp_type == "object_storage":
        first_byte = params["first_byte_ms"] / 1000.0
        svc = np.full(k, first_byte)
        # Little's law: max_rps at first_byte seconds each is max_rps * first_byte in flight.
        out.update(per_instance=max(1, int(round(params["max_rps"] * first_byte))), qcap=0)
    elif comp_type == "stream":
        svc = np.full(k, params["record_ms"] / 1000.0)
        out.update(
            per_instance=min(params["partitions"], params["consumers"]),
            qcap=params["retention_records"],
        )
    elif comp_type in ("load_balancer", "rate_limiter", "queue"):
        svc = np.full(k, LB_MS / 1000.0)
    return {**out, "svc": svc}


def pool_read_share(replicas):
    """Share of a database's reads sent to its replica pool, ``n / (n + 1)`` [-].

    The router spreads reads evenly over the primary and the ``n`` live replicas; with none
    left, every read goes to the primary. Works on counts and on arrays of counts.
    """
    return replicas / (replicas + 1.0)


def splits_reads(comp, cls: str) -> bool:
    """Whether ``cls`` requests entering ``comp`` split between a primary and its replicas."""
    return comp.type == "database" and cls in READ_CLASSES and comp.params["read_replicas"] > 0


def _expand(comp, cls: str) -> tuple[dict[str, float], list[tuple[str, str]], list[str]]:
    """Entry distribution, internal hops and exit stations of a component for one class."""
    cid, params = comp.id, comp.params
    if comp.type == "database":
        if splits_reads(comp, cls):
            share = pool_read_share(params["read_replicas"])
            return {cid: 1 - share, f"{cid}#replicas": share}, [], [cid, f"{cid}#replicas"]
        hot = params["hot_row_fraction"]
        if cls == "write" and hot > 0:
            entry = {f"{cid}#lock": hot, cid: 1 - hot} if hot < 1 else {f"{cid}#lock": 1.0}
            return entry, [(f"{cid}#lock", cid)], [cid]
    return {cid: 1.0}, [], [cid]


def _stations_of(comp) -> list[tuple[str, str]]:
    out = [(comp.id, "main")]
    if comp.type == "database":
        if comp.params["read_replicas"] > 0:
            out.append((f"{comp.id}#replicas", "replicas"))
        if comp.params["hot_row_fraction"] > 0:
            out.append((f"{comp.id}#lock", "lock"))
    return out


class InconsistentVariants(ValueError):
    """The variants order components differently; simulate them in separate batches."""


def compile_network(scenario: Scenario, designs: list[Design]) -> Network:
    """Build the batched station network for ``designs`` under ``scenario``'s request classes.

    Raises
    ------
    InconsistentVariants
        If the union of the variants' routes has a cycle (e.g. one variant puts the cache
        before the app, another after it).
    """
    from simulations.engine.schema import REQUEST_CLASSES

    classes = tuple(c for c in REQUEST_CLASSES if c in scenario.mix)
    keys: dict[str, Station] = {}
    hops: set[tuple[str, str]] = set()
    starts: set[str] = set()
    for design in designs:
        for comp in design.components:
            for key, role in _stations_of(comp):
                keys.setdefault(key, Station(key, comp.id, comp.type, role))
        for cls in classes:
            route = design.routes.get(cls, ())
            prev_exits: list[str] = []
            for j, cid in enumerate(route):
                entry, internal, exits = _expand(design.component(cid), cls)
                if j == 0:
                    starts.update(entry)
                hops.update((a, b) for a in prev_exits for b in entry)
                hops.update(internal)
                prev_exits = exits
    level = _levels(list(keys), hops, starts)
    order = sorted(keys, key=lambda k: (level[k], list(keys).index(k)))
    stations = [keys[k] for k in order]
    index = {k: i for i, k in enumerate(order)}
    bounds: list[tuple[int, int]] = []
    for i, k in enumerate(order):
        if not bounds or level[order[bounds[-1][0]]] != level[k]:
            bounds.append((i, i + 1))
        else:
            bounds[-1] = (bounds[-1][0], i + 1)
    return _arrays(scenario, designs, classes, stations, index, bounds)


def _levels(keys: list[str], hops: set[tuple[str, str]], starts: set[str]) -> dict[str, int]:
    level = dict.fromkeys(keys, 0)
    for _ in range(len(keys) + 1):
        changed = False
        for a, b in hops:
            if level[b] < level[a] + 1:
                level[b] = level[a] + 1
                changed = True
        if not changed:
            return level
    raise InconsistentVariants("the variants' routes form a cycle over the components")


def _arrays(scenario, designs, classes, stations, index, bounds) -> Network:
    n_v, n_s, n_k = len(designs), len(stations), len(classes)
    present = np.zeros((n_v, n_s), bool)
    svc = np.zeros((n_v, n_s, n_k))
    instances = np.zeros((n_v, n_s))
    per_instance = np.ones((n_v, n_s))
    qcap = np.zeros((n_v, n_s))
    shed = np.full((n_v, n_s), np.inf)
    pooled = np.ones((n_v, n_s), bool)
    round_robin = np.zeros((n_v, n_s), bool)
    entry = np.zeros((n_v, n_s, n_k))
    route = np.zeros((n_v, n_s * n_k, n_s * n_k))
    hourly = np.zeros((n_v, n_s))
    instance_usd = np.zeros((n_v, n_s))
    request_usd = np.zeros((n_v, n_s))
    delay = np.array([s.comp_type in DELAY_TYPES for s in stations])
    caches = [i for i, s in enumerate(stations) if s.comp_type in ("cache", "cdn")]
    cache_of = np.full(n_s, -1)
    cache_of[caches] = np.arange(len(caches))
    paths: list[dict[str, list[Path]]] = []
    for v, design in enumerate(designs):
        for comp in design.components:
            for key, role in _stations_of(comp):
                s = index[key]
                p = station_params(comp.type, role, comp.params, classes)
                present[v, s] = True
                svc[v, s] = p["svc"]
                instances[v, s] = p["instances"]
                per_instance[v, s] = p["per_instance"]
                qcap[v, s] = p["qcap"]
                shed[v, s] = p["shed_s"]
                if "shard_servers" in p:  # hottest-shard capacity, queue per shard
                    instances[v, s] = p["shard_servers"] / p["per_instance"]
                    pooled[v, s] = False
                if role == "main":
                    hourly[v, s] = hourly_usd(comp.type, comp.params)
                    request_usd[v, s] = usd_per_request(comp.type, comp.params)
                    if comp.type in POOL_TYPES:
                        instance_usd[v, s] = hourly[v, s] / comp.params["instances"]
        for cls_i, cls in enumerate(classes):
            route_ids = design.routes.get(cls, ())
            prev_exits: list[str] = []
            for j, cid in enumerate(route_ids):
                comp = design.component(cid)
                entry_d, internal, exits = _expand(comp, cls)
                if j == 0:
                    for key, w in entry_d.items():
                        entry[v, index[key], cls_i] += w
                for a in prev_exits:
                    for key, w in entry_d.items():
                        route[v, index[key] * n_k + cls_i, index[a] * n_k + cls_i] += w
                for a, b in internal:
                    route[v, index[b] * n_k + cls_i, index[a] * n_k + cls_i] += 1.0
                prev = design.component(route_ids[j - 1]) if j else None
                if comp.type in POOL_TYPES and prev is not None:
                    if prev.type == "load_balancer" and prev.params["algorithm"] == "round_robin":
                        pooled[v, index[cid]] = False
                        round_robin[v, index[cid]] = True
                    if prev.type == "queue":  # the queue's depth is the workers' waiting room
                        qcap[v, index[cid]] = prev.params["max_depth"] / comp.params["instances"]
                prev_exits = exits
        paths.append({cls: _paths(design, cls, index) for cls in classes})
    cont = route.sum(axis=1).reshape(n_v, n_s, n_k)
    return Network(
        classes=classes,
        stations=stations,
        levels=bounds,
        present=present,
        delay=delay,
        svc=svc,
        instances=instances,
        per_instance=per_instance,
        qcap_per_instance=qcap,
        shed_s=shed,
        pooled=pooled,
        round_robin=round_robin,
        entry=entry,
        route=route,
        cont=np.minimum(cont, 1.0),
        cache_of=cache_of,
        caches=caches,
        paths=paths,
        hourly_usd=hourly,
        instance_usd=instance_usd,
        request_usd=request_usd,
        component_ids=[[c.id for c in d.components] for d in designs],
        designs=list(designs),
    )


def _paths(design: Design, cls: str, index: dict[str, int]) -> list[Path]:
    """Enumerate the ways one class can traverse the design (splits and cache outcomes)."""
    route = design.routes.get(cls, ())
    done: list[Path] = []
    partial = [Path([], 1.0, [], None, [])]
    client_open = {id(partial[0]): True}
    for cid in route:
        comp = design.component(cid)
        entry, internal, _exits = _expand(comp, cls)
        grown: list[Path] = []
        for path in partial:
            for key, weight in entry.items():
                chain = [index[key]] + [index[b] for a, b in internal if a == key]
                new = Path(
                    path.stations + chain,
                    path.static_weight * weight,
                    list(path.miss_caches),
                    None,
                    list(path.client_stations),
                    list(path.read_split),
                )
                if splits_reads(comp, cls):
                    new.read_split.append(index[key])
                if client_open.get(id(path), True):
                    new.client_stations += chain
                client_open[id(new)] = client_open.get(id(path), True) and comp.type != "queue"
                if comp.type in ("cache", "cdn"):
                    done.append(
                        Path(
                            new.stations,
                            new.static_weight,
                            new.miss_caches,
                            index[key],
                            new.client_stations,
                            new.read_split,
                        )
                    )
                    new.miss_caches = [*new.miss_caches, index[key]]
                grown.append(new)
        partial = grown
    return done + partial
