"""Everything the tick loop needs that does not depend on the state, computed once per run."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from simulations.engine.cache import Popularity, hit_ratio, zipf_popularity
from simulations.engine.incidents import Timeline, build_timeline
from simulations.engine.network import POOL_TYPES, READ_CLASSES, Network, pool_read_share
from simulations.engine.policies import Policies, compile_policies
from simulations.engine.spec import Scenario
from simulations.engine.sweep import Skewed, Sweep, build_skewed, build_sweep, span
from simulations.engine.traffic import draw_arrivals, offered_rates

_WARM_GRID = np.geomspace(1.0, 1e13, 400)  # requests since a flush, for the warm-up curve
_LOG_WARM_GRID = np.log(_WARM_GRID)


@dataclass
class Scaling:
    """Autoscaling settings per (V, S); ``enabled`` is False where a pool has none."""

    enabled: np.ndarray
    low: np.ndarray  # min instances
    high: np.ndarray  # max instances
    target: np.ndarray  # target utilization [-]
    cooldown_s: np.ndarray  # [s]
    boot_ticks: np.ndarray  # cold start [ticks], integer
    horizon: int  # ticks of the pending-instances ring

    @property
    def any(self) -> bool:
        return bool(self.enabled.any())


@dataclass
class ReadSplit:
    """Reads of replicated databases split over the replicas actually live, per tick.

    The network routes a database's reads ``n / (n + 1)`` to its replica pool at the design
    replica count ``n`` (``network.pool_read_share``). While replicas are down, or after one is
    promoted to primary, the router spreads reads over the live replicas instead, and sends
    them all to the primary when none is left. The incidents are known in advance, so the live
    share is too: ``ratio`` rescales the design share of each station entered by the split.
    """

    stations: np.ndarray  # (n,) primaries, then their replica pools [station index]
    classes: np.ndarray  # (m,) indices of the read classes (those that split)
    ratio: np.ndarray  # (T, V, n) live / design share of the reads entering the station [-]


@dataclass
class PairSums:
    """Sums of per-pair values over groups of (station, class) pairs, such as a station's.

    Per-pair arrays have the pairs first, (P, ...): a pair's values are one contiguous block,
    so gathering and adding pairs moves whole blocks. Each group's pairs are added one after
    another in class order, as ``sum`` over a class axis adds them, and ``einsum`` too when
    the replications are the innermost axis and more than one. The classes left out hold +0.0
    in the dense arrays (and so do their products with finite weights): adding +0.0 changes
    nothing, so the sums are the dense ones, bit for bit. ``runs`` add the ``j``-th pair of
    consecutive groups having more than ``j`` pairs: (j, slice of those groups, their pairs as
    an index array or a slice), by rank ``j``, so that each run adds to a slice of the sums in
    place; ``complete``: every group has a pair.
    """

    size: int  # groups
    runs: list
    complete: bool

    @classmethod
    def build(cls, groups: list[np.ndarray]) -> PairSums:
        """``groups``: the pairs of each group, in class order."""
        longest = max((len(pairs) for pairs in groups), default=0)
        runs = []
        for j in range(longest):
            having = [g for g, pairs in enumerate(groups) if len(pairs) > j]
            at = np.array([groups[g][j] for g in having], dtype=np.int64)
            cuts = [i for i in range(1, len(having)) if having[i] != having[i - 1] + 1]
            for a, b in zip([0, *cuts], [*cuts, len(having)], strict=True):
                runs.append((j, slice(having[a], having[b - 1] + 1), span(at[a:b])))
        return cls(len(groups), runs, all(len(pairs) for pairs in groups))

    def sum(self, values: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
        """Each group's sum of ``values`` (times ``weights``), 0 where it has no pair.

        Parameters
        ----------
        values : ndarray, shape (P, ...)
        weights : ndarray, shape (P, M, ...), optional
            ``M`` sets of weights, broadcast against ``values[:, None]``.

        Returns
        -------
        ndarray, shape (groups, ...), or (groups, M, ...) with weights
        """

        def terms(pairs) -> np.ndarray:  # a new array: the sums are added to it in place
            if weights is None:
                return np.array(values[pairs])
            return values[pairs][:, None] * weights[pairs]

        if self.complete and self.runs and self.runs[0][1] == slice(0, self.size):
            out = terms(self.runs[0][2])  # the first pair of every group
            later = self.runs[1:]
        else:
            shape = values.shape[1:]
            if weights is not None:
                shape = np.broadcast_shapes((1, *shape), weights.shape[1:])
            out, later = np.zeros((self.size, *shape)), self.runs
        for rank, groups, at in later:
            if rank:
                out[groups] += terms(at)
            else:
                out[groups] = terms(at)
        return out


@dataclass
class Pairs:
    """The (station, class) pairs that can carry traffic: where arrivals enter, and where
    routes leave and arrive. No request is ever at another pair, so the calm blocks keep their
    per-class arrays over these P pairs, pairs first, (P, n, V, R), instead of over every
    (S, K) pair.

    Pairs are ordered by their rank among their station's classes (in class order), then by
    station: the first pair of every station, then the second, and so on, so that the sums
    over a station's classes (``PairSums``) add slices. With one replication they are every
    pair, in station order, then class order (``dense``, see
    :func:`~simulations.engine.calm._sum_classes`).
    Index arrays below are into the P pairs unless said otherwise. Per-pair constants have
    the pairs first too, and broadcast against (P, n, V, R).
    """

    dense: bool  # every (station, class) pair, P = S K
    station: np.ndarray  # (P,) station of each pair
    klass: np.ndarray  # (P,) class of each pair
    # per level with entries: (level, its stations (a slice), the entry pairs (those with a
    # share in some variant), their classes, (p, 1, V, 1) shares, their sums per station)
    entries: list[tuple]
    # ``Sweep.routes_by_level`` with pairs for (station, class) indices, (p, 1, V, 1) weights
    routes: list[tuple]
    cont: np.ndarray  # (P, 1, V, 1) 1 if the request continues after this pair
    caches: tuple[np.ndarray, np.ndarray]  # pairs at caches, and the index of their cache
    read_split: list[tuple[np.ndarray, np.ndarray]]  # per level: split pairs, ReadSplit column
    writes: tuple  # the replicated primaries writes reach (stations), and their write pairs
    replica_reads: PairSums  # over each replica station's read classes
    limiter: PairSums  # over the classes of each limiter station
    by_station: PairSums  # over the classes of each station
    svc: np.ndarray  # (P, 1, V, 1) mean service times [s]
    moments: np.ndarray  # (P, 3, 1, V, 1) 1, E[S], E[S^2] (see ``Sweep.moments``)


@dataclass
class Plan:
    scenario: Scenario
    net: Network
    timeline: Timeline
    policies: Policies
    scaling: Scaling
    tick_s: float
    shape: tuple[int, int, int, int]  # (V, S, K, R)
    rates: np.ndarray  # (T, K) expected arrival rate [1/s]
    arrivals: np.ndarray  # (T, K, R) arrival counts [requests]
    ratio: np.ndarray  # (T, K, R) expected / realized count (1 where none arrived)
    entry4: np.ndarray  # (V, S, K, 1)
    cont4: np.ndarray  # (V, S, K, 1)
    sweep: Sweep
    skew: Skewed
    qcap_per_instance: np.ndarray  # (V, S)
    hit_steady: np.ndarray  # (T, V, C) steady-state hit ratio [-]
    warm_hit: np.ndarray  # (n_grid,) hit ratio after r requests since a flush, on _WARM_GRID
    warm_keys: np.ndarray  # (n_grid,) distinct keys requested among r requests [keys]
    coalescing: np.ndarray  # (V, C) bool: concurrent misses on a key share one fetch
    cache_store: np.ndarray  # (C,) the station a cache's misses go to (first one found)
    popularity: Popularity
    write_class: int | None  # index of "write" among the classes
    read_classes: list[int]  # indices of classes replicas can serve (read, static)
    replicated: np.ndarray  # global indices of database primaries that have a replica station
    replica_of: np.ndarray  # their replica stations, same order
    apply_rate: np.ndarray  # (V, n_replicated) writes replicas apply per second [1/s]
    read_split: ReadSplit

    @property
    def n_ticks(self) -> int:
        return self.scenario.n_ticks

    @cached_property
    def same_flows(self) -> bool:
        """Every variant routes requests alike (entries, continuation shares, next hops,
        steady cache hit ratios and live read splits are equal), so while every station serves
        all it receives,
        the requests at each station are the same in every variant."""

        def alike(values: np.ndarray, axis: int) -> bool:
            return values.size == 0 or bool((values == values.take([0], axis=axis)).all())

        return (
            alike(self.entry4, 0)
            and alike(self.cont4, 0)
            and alike(self.sweep.routing.weight, 0)
            and alike(self.hit_steady, 1)
            and alike(self.read_split.ratio, 1)
        )

    @cached_property
    def same_service(self) -> bool:
        """Every variant has the same service times at every station (they may differ in
        capacity: instances, sizes, pools)."""
        return bool((self.sweep.svc == self.sweep.svc[:1]).all())

    @cached_property
    def pairs(self) -> Pairs:
        """The (station, class) pairs that can carry traffic (see :class:`Pairs`)."""
        return _pairs(self)

    @cached_property
    def quiet(self) -> np.ndarray:
        """(T,) bool: no slowdown, injected error, cache flush or lost primary in tick t.

        Instances out of service, stations down and reads following the live replicas may
        still differ from the design: calm blocks take each tick's capacity and read split.
        """
        tl = self.timeline
        return ~(
            (tl.slow != 1.0).any(axis=(1, 2))
            | tl.error.any(axis=(1, 2))
            | tl.flush.any(axis=(1, 2))
            | tl.primary_lost.any(axis=(1, 2))
        )


def build_plan(scenario: Scenario, net: Network, replications: int, seed: int) -> Plan:
    """Draw the random inputs and precompute state-independent arrays.

    Notes
    -----
    All randomness comes from one ``np.random.Generator(PCG64(SeedSequence(seed)))`` and is
    drawn per replication only, then broadcast over variants, so every variant sees the same
    arrivals (common random numbers). The draws depend on the scenario and ``replications``,
    never on the designs.
    """
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed)))
    n_v, n_s, n_k = len(net.designs), net.n_stations, len(net.classes)
    rates = offered_rates(scenario, net.classes)
    arrivals = draw_arrivals(rng, rates, scenario.tick_s, scenario.burstiness, replications)
    expected = rates[:, :, None] * scenario.tick_s
    ratio = np.divide(expected, arrivals, out=np.ones(arrivals.shape), where=arrivals > 0)
    timeline = build_timeline(scenario, net)
    policies = compile_policies(net, scenario.tick_s)
    replicated, replica_of, apply_rate = _replication(net)
    write_class = net.classes.index("write") if "write" in net.classes else None
    read_classes = [i for i, c in enumerate(net.classes) if c in READ_CLASSES]
    read_split = _read_split(net, timeline, replicated, replica_of, read_classes)
    sweep = build_sweep(net, policies, replicated, replica_of)
    popularity = zipf_popularity(scenario.keys, scenario.zipf_s)
    hit_steady = _steady_hit_ratios(scenario, net, timeline, rates, popularity)
    skew = build_skewed(timeline, hit_steady, sweep.level, net.caches, read_split)
    seen = -np.expm1(-popularity.prob * _WARM_GRID[:, None])  # P(key requested yet)
    warm_hit = np.sum(popularity.count * popularity.prob * seen, axis=1)
    warm_keys = np.sum(popularity.count * seen, axis=1)  # distinct keys fetched so far
    return Plan(
        scenario=scenario,
        net=net,
        timeline=timeline,
        policies=policies,
        scaling=_scaling(net, scenario.tick_s),
        tick_s=scenario.tick_s,
        shape=(n_v, n_s, n_k, replications),
        rates=rates,
        arrivals=arrivals,
        ratio=ratio,
        entry4=net.entry[..., None],
        cont4=net.cont[..., None],
        sweep=sweep,
        skew=skew,
        qcap_per_instance=net.qcap_per_instance,
        hit_steady=hit_steady,
        warm_hit=warm_hit,
        warm_keys=warm_keys,
        coalescing=_coalescing(net),
        cache_store=_cache_store(net),
        popularity=popularity,
        write_class=write_class,
        read_classes=read_classes,
        replicated=replicated,
        replica_of=replica_of,
        apply_rate=apply_rate,
        read_split=read_split,
    )


def _pairs(plan: Plan) -> Pairs:
    """The pairs where arrivals enter and routes leave and arrive, with what the calm blocks
    need of them (see :class:`Pairs`)."""
    sw, net = plan.sweep, plan.net
    _n_v, n_s, n_k, n_r = plan.shape
    carry = np.zeros((n_s, n_k), bool)
    for _level, at, share in sw.entries:
        carry[at] |= share[..., 0].any(axis=0)
    for src, _weight, _starts, dst in sw.routes_by_level:
        carry.flat[src] = True
        carry.flat[dst] = True
    if n_r == 1:
        # np.einsum then runs its inner loop along the classes, adding them in an order of its
        # own in which the zeros count: its sums over classes need every pair
        carry[:] = True
    station, klass = np.nonzero(carry)  # in station order, then class order
    if n_r > 1:  # by rank within the station, then station: a station's sum adds slices
        rank = np.arange(len(station)) - np.searchsorted(station, station)
        order = np.lexsort((station, rank))
        station, klass = station[order], klass[order]
    index = np.full((n_s, n_k), -1)
    index[station, klass] = np.arange(len(station))

    def of(s: int, classes: np.ndarray) -> np.ndarray:
        """The pairs of station ``s`` in ``classes`` that carry traffic, in class order."""
        found = index[s, classes]
        return found[found >= 0]

    def per_station(stations: np.ndarray, classes: np.ndarray) -> PairSums:
        return PairSums.build([of(s, classes) for s in stations])

    stations = np.arange(n_s)
    entries = []
    for level, at, share in sw.entries:
        entered = share[..., 0].any(axis=0)  # (stations of the level, K): in some variant
        entering = [
            of(s, np.flatnonzero(classes)) for s, classes in zip(stations[at], entered, strict=True)
        ]
        pairs = np.concatenate(entering)
        bounds = np.cumsum([0, *map(len, entering)])
        by_station = PairSums.build(
            [np.arange(bounds[j], bounds[j + 1]) for j in range(len(entering))]
        )
        shares = _pairs_first(share[:, station[pairs] - at.start, klass[pairs]])
        entries.append((level, at, span(pairs), klass[pairs], shares, by_station))
    split = plan.read_split
    read_split = []
    for a, b in net.levels:
        pairs, columns = [], []
        for column, s in enumerate(split.stations):
            if a <= s < b:
                found = of(s, split.classes).tolist()
                pairs += found
                columns += [column] * len(found)
        read_split.append((np.array(pairs, dtype=np.int64), np.array(columns, dtype=np.int64)))
    primaries = stations[sw.writes] if sw.writes is not None else np.zeros(0, np.int64)
    writes = np.full(len(primaries), -1)
    if plan.write_class is not None:
        writes = index[primaries, plan.write_class]
    replicas = stations[sw.replica_reads] if sw.replica_reads is not None else []
    at_caches = np.flatnonzero(np.isin(station, net.caches))
    return Pairs(
        dense=n_r == 1,
        station=station,
        klass=klass,
        entries=entries,
        routes=[
            (index.flat[src], _pairs_first(weight), starts, index.flat[dst])
            for src, weight, starts, dst in sw.routes_by_level
        ],
        cont=_pairs_first(plan.cont4[:, station, klass]),
        caches=(at_caches, net.cache_of[station[at_caches]]),
        read_split=read_split,
        writes=(span(primaries[writes >= 0]), span(writes[writes >= 0])),
        replica_reads=per_station(replicas, np.array(plan.read_classes, dtype=np.int64)),
        limiter=per_station(stations[sw.limiter_stations], np.arange(n_k)),
        by_station=per_station(stations, np.arange(n_k)),
        svc=_pairs_first(sw.svc[:, station, klass, None]),
        moments=np.ascontiguousarray(sw.moments[:, :, station, klass].transpose(2, 0, 1))[
            :, :, None, :, None
        ],
    )


def _pairs_first(values: np.ndarray) -> np.ndarray:
    """(V, p, 1) per-pair constants as (p, 1, V, 1), to broadcast against (p, n, V, R)."""
    return np.ascontiguousarray(values[..., 0].T)[:, None, :, None]


def _replication(net) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Primaries with replica stations, and how fast replicas apply their writes."""
    keys = {s.key: i for i, s in enumerate(net.stations)}
    mains, reps = [], []
    for i, st in enumerate(net.stations):
        if st.role == "replicas":
            mains.append(keys[st.component])
            reps.append(i)
    rate = np.zeros((len(net.designs), len(mains)))
    for v, design in enumerate(net.designs):
        for j, m in enumerate(mains):
            if not net.present[v, reps[j]]:
                continue
            params = design.component(net.stations[m].component).params
            write_ms = params["service_time_ms"].get("write")
            # replicas replay the primary's writes on apply_threads threads, one write at a
            # time per thread, each taking the write's service time
            rate[v, j] = params["apply_threads"] / (write_ms / 1000.0) if write_ms else np.inf
    return np.array(mains, dtype=np.int64), np.array(reps, dtype=np.int64), rate


def _read_split(net, timeline, replicated, replica_of, read_classes) -> ReadSplit:
    """Live over design read shares of primaries and replica pools (see :class:`ReadSplit`)."""
    design = net.instances[:, replica_of]  # (V, n) replicas in the design (0 where absent)
    live = np.maximum(design[None] - timeline.failed[:, :, replica_of], 0.0)  # (T, V, n)
    pool, pool_design = pool_read_share(live), pool_read_share(design)
    to_pool = np.divide(pool, pool_design, out=np.ones_like(pool), where=pool_design[None] > 0)
    to_primary = (1.0 - pool) / (1.0 - pool_design)
    return ReadSplit(
        stations=np.concatenate([replicated, replica_of]),
        classes=np.array(read_classes, dtype=np.int64),
        ratio=np.concatenate([to_primary, to_pool], axis=2),
    )


def _scaling(net, tick_s: float) -> Scaling:
    n_v, n_s = len(net.designs), net.n_stations
    enabled = np.zeros((n_v, n_s), bool)
    low, high = np.ones((n_v, n_s)), np.ones((n_v, n_s))
    target, cooldown = np.ones((n_v, n_s)), np.zeros((n_v, n_s))
    boot = np.zeros((n_v, n_s), dtype=np.int64)
    for v, design in enumerate(net.designs):
        for comp in design.components:
            auto = comp.params.get("autoscaling") if comp.type in POOL_TYPES else None
            if not auto:
                continue
            s = next(i for i, st in enumerate(net.stations) if st.key == comp.id)
            enabled[v, s] = True
            low[v, s], high[v, s] = auto["min"], auto["max"]
            target[v, s], cooldown[v, s] = auto["target_utilization"], auto["cooldown_s"]
            boot[v, s] = max(1, int(np.ceil(auto["cold_start_s"] / tick_s)))
    return Scaling(enabled, low, high, target, cooldown, boot, int(boot.max()) + 1)


def warm_hit_ratio(plan: Plan, requests_since_flush: np.ndarray) -> np.ndarray:
    """Hit ratio of a cache that has seen ``r`` requests since it was emptied [-].

    Notes
    -----
    After r requests the cache holds every key requested at least once, so the next request
    hits with probability sum_i p_i (1 - exp(-p_i r)) (Poisson approximation). The warm-up
    curve is capped by the steady-state (Che, TTL) ratio.

    The curve is tabulated on a log grid and interpolated as ``np.interp`` does (bitwise); a
    large array finds each value's cell directly (the grid is regular in log r, up to rounding),
    not by binary search, whose branches mispredict on values in no particular order.
    """
    grid, curve = _LOG_WARM_GRID, plan.warm_hit
    x = np.log(np.maximum(requests_since_flush, 1.0))
    if x.size < 2048:  # np.interp's search costs less than the dozen numpy calls below
        return np.interp(x, grid, curve)
    # beyond the grid np.interp gives the curve's last value: that of the last grid point,
    # a flat cell of its own (NaN stays NaN)
    top = np.minimum(x.ravel(), grid[-1])
    slope = np.append((curve[1:] - curve[:-1]) / (grid[1:] - grid[:-1]), 0.0)  # per cell
    cell = np.fmin(top * ((len(grid) - 1) / grid[-1]), len(grid) - 1).astype(np.intp)
    # the regular guess is at most one cell off, for values within rounding of a grid point
    cell -= grid.take(cell) > top
    cell += np.append(grid, np.inf).take(cell + 1) <= top
    offset = top - grid.take(cell)
    at_point = curve.take(cell)
    value = slope.take(cell) * offset + at_point
    # at a grid point np.interp takes the curve's value (not slope * 0 + value: -0.0, inf)
    return np.where(offset == 0.0, at_point, value).reshape(x.shape)


def distinct_keys(plan: Plan, requests: np.ndarray) -> np.ndarray:
    """Expected distinct keys among ``requests`` requests, sum_i (1 - exp(-p_i r)) [keys]."""
    return np.interp(np.log(np.maximum(requests, 1.0)), _LOG_WARM_GRID, plan.warm_keys)


def _cache_store(net) -> np.ndarray:
    n_v, n_s, n_k = net.svc.shape
    hops = net.route.reshape(n_v, n_s, n_k, n_s, n_k).sum(axis=(0, 2, 4))  # (to, from)
    return np.array([int(np.argmax(hops[:, c])) for c in net.caches], dtype=np.int64)


def _coalescing(net) -> np.ndarray:
    out = np.zeros((len(net.designs), len(net.caches)), bool)
    for v, design in enumerate(net.designs):
        for c, s in enumerate(net.caches):
            if net.present[v, s]:
                params = design.component(net.stations[s].component).params
                out[v, c] = bool(params.get("coalescing"))
    return out


def rewind_warmup(plan: Plan, hit: np.ndarray) -> np.ndarray:
    """Inverse of :func:`warm_hit_ratio`: requests since a flush that give ``hit`` [requests]."""
    return np.exp(np.interp(hit, plan.warm_hit, _LOG_WARM_GRID))


def _steady_hit_ratios(scenario, net, timeline, rates, popularity) -> np.ndarray:
    n_t, n_v = rates.shape[0], len(net.designs)
    out = np.zeros((n_t, n_v, len(net.caches)))
    visits = _visits(net)  # (V, S, K) expected visits per external request, caches missed
    known = {}  # variants often share a cache's size, TTL and traffic: each curve once
    for c, s in enumerate(net.caches):
        station = net.stations[s]
        for v, design in enumerate(net.designs):
            if not net.present[v, s]:
                continue
            params = design.component(station.component).params
            if station.comp_type == "cache":
                items = params["memory_gb"] * 1e6 / params["item_kb"]
            else:
                items = params["cache_gb"] * 1e6 / params["item_kb"]
            rate = rates @ visits[v, s]  # (T,) requests per second reaching the cache
            capacity = timeline.capacity[:, v, c]
            for level in np.unique(capacity):
                ticks = capacity == level
                # each distinct rate once: steady traffic repeats one rate over every tick
                distinct, inverse = np.unique(rate[ticks], return_inverse=True)
                key = (items * level, params["ttl_s"], distinct.tobytes())
                if key not in known:
                    known[key] = hit_ratio(popularity, items * level, params["ttl_s"], distinct)
                out[ticks, v, c] = known[key][inverse.ravel()]
    return out


def _visits(net: Network) -> np.ndarray:
    """Expected visits of each station per external request of each class (no cache hits)."""
    n_v, n_s, n_k = net.entry.shape
    flow = net.entry.reshape(n_v, n_s * n_k).copy()
    total = flow.copy()
    for _ in range(n_s):
        flow = np.einsum("vij,vj->vi", net.route, flow)
        if not flow.any():
            break
        total += flow
    return total.reshape(n_v, n_s, n_k)
