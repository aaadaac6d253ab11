"""Calm stretches of a run, simulated a block of ticks at a time.

Most of a run is calm: nothing waits at any station, no retry is pending, no breaker is open,
nothing slows down or fails requests (``Plan.quiet``), every station serves all that arrives
within its tick, and no policy acts (the waiting room, the rate limiter and the callers'
timeouts never bite). In such a tick a station's outputs depend only on that tick's arrivals,
which are linear in the tick's external arrivals: nothing carries over from one tick to the
next except the replicas' unapplied writes (a Lindley recursion), the autoscalers' utilization
averages and the requests a cache has seen since a flush, a few numbers per station, advanced
tick by tick.

:func:`advance` therefore computes a whole block of up to ``record.CHUNK`` ticks at once, with
every array carrying a leading tick axis, checks every tick of the block against the same
tests the tick loop uses to skip its slow paths, and keeps the calm prefix. At the first tick
that is not calm, the wavefront loop (:func:`~simulations.engine.core.run_ticks`) takes over
for a while. The arithmetic is the tick loop's, in the same order, so the two paths give
bit-identical results (``tests/engine/test_calm.py``). The per-class arrays of a block hold
only the (station, class) pairs that can carry traffic (``Plan.pairs``): its sums over
classes leave out zeros the tick loop adds, which changes no bit.

Calm blocks are not used while instances are booting, nor while a cache warming up after a
flush still hits below its steady ratio (its hit ratio then carries state from tick to tick
through the flows themselves), nor for closed-loop users whose calls are retried (see
:func:`advance`). An autoscaled pool's one-minute utilization average, and the requests a
warming cache has seen, are carried through a block, which ends before the pool's next action.
"""

from __future__ import annotations

import numpy as np

from simulations.engine import core, steps
from simulations.engine.core import TickOut
from simulations.engine.plan import Plan, warm_hit_ratio
from simulations.engine.record import CHUNK
from simulations.engine.state import (
    WARM,
    State,
    scaling_steps,
    token_bucket,
    utilization_weight,
)

_TINY = 1e-12
# ticks the wavefront runs before the next try at a calm block: each wavefront call pays
# lmax head and tail iterations, so very short stretches would cost more than they save
WAVEFRONT_STRETCH = 32
_WORKSPACE_BYTES = 64 * 2**20
_F = {name: j for j, name in enumerate(TickOut.FIELDS)}
# fields that are zero in a calm tick (those with a per-station subset - entry stations,
# primaries, replicas - are zero outside it), and those zero at every station
_CALM_ZEROS = np.array(
    [
        j
        for j, name in enumerate(TickOut.FIELDS)
        if name not in ("success", "lam", "load", "m2", "util", "servers", "room", "instances")
    ]
)
_CALM_BLANK = frozenset(TickOut.FIELDS[j] for j in _CALM_ZEROS) - {
    "entered",
    "writes",
    "replica_reads",
    "lag",
}


def advance(plan: Plan, st: State, stop: int, recorder) -> None:
    """Simulate ticks ``[st.tick, stop)``: calm blocks where they apply, else the wavefront.

    Parameters
    ----------
    plan : Plan
    st : State
        Consistent at tick ``st.tick``; advanced in place to ``stop``.
    stop : int
        First tick not simulated.
    recorder : Recorder
        Receives the outputs (``record`` per wavefront iteration, ``block_rows`` per block).
    """
    if plan.scenario.think_time_s is not None and plan.sweep.retry is not None:
        # closed-loop arrivals thin with the retries pending, which the wavefront sees
        # level by level: splitting it would change what they see, so it runs unbroken
        core.run_ticks(plan, st, stop, recorder.record)
        return
    work = None
    while st.tick < stop:
        start = st.tick
        if _state_is_calm(plan, st):
            work = work or _Workspace(plan)
            _calm_block(plan, st, stop, recorder, work)
        if st.tick == start:  # not calm: the wavefront, up to the next quiet tick at least
            quiet = np.flatnonzero(plan.quiet[start + WAVEFRONT_STRETCH :])
            end = start + WAVEFRONT_STRETCH + (int(quiet[0]) if quiet.size else plan.n_ticks)
            core.run_ticks(plan, st, min(stop, end), recorder.record)


def _state_is_calm(plan: Plan, st: State) -> bool:
    """Nothing waits, is pending, booting or held open."""
    waiting = st.backlog.any() or st.doomed.any() or any(ring.any() for ring in st.ring)
    return not (waiting or st.pending.any() or st.breaker_left.any() or st.breaker_half.any())


class _Workspace:
    """Per-class arrays of one block, (P, ticks, V, R) over the (station, class) pairs that
    carry traffic (``Plan.pairs``), pairs first, allocated once per run: a fresh array of this
    size per block would cost more in page faults than its arithmetic. When every variant
    routes alike (``plan.same_flows``) the flows are computed once: V is 1."""

    def __init__(self, plan: Plan):
        n_v, n_s, n_k, n_r = plan.shape
        n_flows = 1 if plan.same_flows else n_v
        # at most ~64 MB, counted over every (station, class) pair (P <= S K), a bound the
        # products of the three moments keep too (``_sum_classes``): large batches take
        # shorter blocks (the results do not change), whichever pairs carry traffic
        self.ticks = max(1, min(CHUNK, _WORKSPACE_BYTES // (3 * 8 * n_flows * n_s * n_k * n_r)))
        self.per_tick = (len(plan.pairs.station), n_flows, n_r)
        size = self.ticks * int(np.prod(self.per_tick))
        self.buffers = [np.empty(size) for _ in range(3)]
        self.same = _alike_in_every_variant(plan)

    def views(self, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """inflow, forward and scratch for ``n`` ticks, each (P, n, V, R), contiguous."""
        n_p, n_v, n_r = self.per_tick
        return tuple(b[: n_p * n * n_v * n_r].reshape(n_p, n, n_v, n_r) for b in self.buffers)


def _alike_in_every_variant(plan: Plan) -> frozenset:
    """The fields a calm block writes once for all variants, which the recorder then reduces
    once: the flows when every variant routes alike, and the moments when the service times
    are alike too (see ``_outputs``); the replicas' lag joins them block by block
    (``_replicas_alike``)."""
    if plan.shape[0] == 1 or not plan.same_flows:
        return frozenset()
    flows = frozenset({"entered", "success", "writes", "replica_reads"})
    return flows | {"lam", "load", "m2"} if plan.same_service else flows


def _replicas_alike(plan: Plan, st: State, same: frozenset) -> bool:
    """Every variant's replicas get the same writes, hold the same unapplied writes and apply
    them at the same rate: their lag is the same in every variant through the block."""
    if "writes" not in same:
        return False
    unapplied = st.replication[:, plan.sweep.writes]
    rate = plan.apply_rate
    return bool((rate == rate[:1]).all() and (unapplied == unapplied[:1]).all())


def _calm_block(plan: Plan, st: State, stop: int, recorder, work: _Workspace) -> None:
    """Simulate the calm prefix of the block from ``st.tick`` and record it."""
    start = st.tick
    quiet = np.flatnonzero(~plan.quiet[start:stop])
    end = recorder.block_end(start, min(stop, start + int(quiet[0]) if quiet.size else stop))
    end = min(end, start + work.ticks)
    failed, down = plan.timeline.failed, plan.timeline.down
    moves = (failed[start:end] != failed[start]) | (down[start:end] != down[start])
    changed = np.flatnonzero(moves.any(axis=(1, 2)))  # a block keeps one capacity
    if changed.size:
        end = start + int(changed[0])
    if end <= start:
        return
    # (n, F, V, S, R) and (n, V, C, R) views of the recorder's rows, and which of them may
    # hold something other than zeros in the fields a calm tick leaves at zero
    same = work.same | ({"lag"} if _replicas_alike(plan, st, work.same) else set())
    rows, hit, unclean = recorder.block_rows(start, end, _CALM_ZEROS, _CALM_BLANK, same)
    if unclean.any():
        rows[np.ix_(np.flatnonzero(unclean), _CALM_ZEROS)] = 0.0
    inflow, forward, scratch = work.views(end - start)
    _flows(plan, start, end, inflow, forward, rows, same)
    servers = st.servers_with(plan, failed[start], down[start])
    calm = _outputs(plan, st, start, end, servers, (inflow, forward, scratch), rows, hit, same)
    n = int(np.argmin(calm)) if not calm.all() else end - start
    if plan.net.caches and st.since_flush.min() < WARM:
        n = _while_caches_steady(plan, st, start, n, rows, same)
    if plan.scaling.any:
        n = _until_scaling(plan, st, start, n, rows)
    if n == 0:
        return
    sw = plan.sweep
    if sw.writes is not None:
        variants = slice(0, 1) if "lag" in same else slice(None)
        writes = _read(rows[:n], "writes", same)[:, variants, sw.writes]
        _written(rows[:n], "lag", same)[:, :, sw.writes] = st.replicate(plan, writes, variants)
    _leave_caches(plan, st, start, n, rows, hit, same)
    st.tick = start + n
    recorder.block_done(start + n)


def _read(rows: np.ndarray, name: str, same: frozenset) -> np.ndarray:
    """Field ``name`` of a block's recorder rows (n, F, V, S, R), as (n, V, S, R): the first
    variant's, read-only for every variant, when it is one of the fields ``same`` the block
    writes for the first variant only (:func:`_written`)."""
    values = rows[:, _F[name]]
    return np.broadcast_to(values[:, :1], values.shape) if name in same else values


def _written(rows: np.ndarray, name: str, same: frozenset) -> np.ndarray:
    """Where a block writes field ``name``: (n, V, S, R) rows, or only the first variant's
    (n, 1, S, R) when it is one of ``same``, the fields equal in every variant (the recorder
    copies them to the other variants only if a chunk mixes such rows with others)."""
    values = rows[:, _F[name]]
    return values[:, :1] if name in same else values


def _flows(plan: Plan, start: int, end: int, inflow, forward, rows, same) -> None:
    """Requests arriving at (``inflow``) and forwarded by (``forward``) every (station, class)
    pair that carries traffic in ticks ``[start, end)``, each (P, n, V, R) (``Plan.pairs``);
    the new requests go to ``rows`` (see :func:`_written` for ``same``).

    In a calm tick a station serves what arrives and forwards it along the routes: levels are
    filled in route order, external arrivals last, as in the tick loop's iterations. A level's
    route sources forward ``inflow x go`` (the tick loop's product) once the level is filled;
    ``forward`` is that product at every pair, taken once all levels are.
    """
    pairs = plan.pairs
    n, n_v = inflow.shape[1:3]
    variants = slice(0, n_v)  # all, or the first one standing for all (``same_flows``)
    arrivals = plan.arrivals[start:end]  # (n, K, R)
    cont = pairs.cont[:, :, variants]  # (P, 1, V, 1)
    go = np.broadcast_to(cont, (len(cont), n, n_v, 1))
    cached, cache = pairs.caches  # pairs at caches, and which cache
    if len(cached):
        go = go.copy()
        miss = 1.0 - plan.hit_steady[start:end, variants]  # (n, V, C)
        go[cached] = cont[cached] * miss[:, :, cache].transpose(2, 0, 1)[..., None]
    inflow.fill(0.0)
    read_ratio = plan.read_split.ratio[start:end, variants]  # (n, V, n_split)
    moved = (read_ratio != 1.0).any()  # replicas down or promoted: reads follow the live ones
    entries = {level: rest for level, *rest in pairs.entries}
    entered = _written(rows, "entered", same)
    for level in range(len(plan.net.levels)):
        if level in entries:
            stations, entry, classes, share, by_station = entries[level]
            counts = np.take(arrivals, classes, axis=1).transpose(1, 0, 2)  # (p, n, R)
            entering = share[:, :, variants] * counts[:, :, None]
            inflow[entry] += entering
            entered[:, :, stations] = _by_tick(by_station.sum(entering))
        if moved:
            split, columns = pairs.read_split[level]
            inflow[split] *= read_ratio[:, :, columns].transpose(2, 0, 1)[..., None]
        if level < len(pairs.routes) and len(pairs.routes[level][0]):
            # what the level's sources forward (``forward`` there), down their routes
            src, weight, starts, dst = pairs.routes[level]
            parts = inflow[src] * go[src] * weight[:, :, variants]
            inflow[dst] += parts if starts is None else np.add.reduceat(parts, starts, axis=0)
    np.multiply(inflow, go, out=forward)


def _by_tick(sums: np.ndarray) -> np.ndarray:
    """(G, n, V, R) sums over groups of pairs as the recorder's (n, V, G, R), a view."""
    return sums.transpose(1, 2, 0, 3)


def _sum_classes(pairs, values, weights=None) -> np.ndarray:
    """Sum over each station's classes of ``values`` (times ``weights``): the wavefront's
    einsum over classes, bit for bit.

    Parameters
    ----------
    pairs : Pairs
    values : ndarray, shape (P, n, V or 1, R)
    weights : ndarray, shape (P, M, 1, V or 1, 1), optional
        ``M`` sets of weights (moments of service times), summed in one pass.

    Returns
    -------
    ndarray, shape (S, n, V or 1, R), or (S, M, n, V or 1, R) with weights
    """
    if not pairs.dense:  # with R > 1 einsum adds the classes one after another
        return pairs.by_station.sum(values, weights)
    # one replication: every pair, and the einsum itself (see ``Plan.pairs``), on the layout
    # the tick loop's einsum has, classes within stations
    n_p, n, n_v, _n_r = values.shape
    by_class = np.ascontiguousarray(values.transpose(1, 2, 0, 3))
    by_class = by_class.reshape(n, n_v, pairs.by_station.size, -1, 1)  # (n, V, S, K, 1)
    if weights is None:
        return np.einsum("tvskr->tvsr", by_class).transpose(2, 0, 1, 3)
    weights = np.ascontiguousarray(weights[:, :, 0, :, 0].transpose(1, 2, 0))
    weights = weights.reshape(*weights.shape[:2], *by_class.shape[2:4])  # (M, V, S, K)
    if n_v == 1:
        sums = [np.einsum("tskr,vsk->tvsr", by_class[:, 0], w) for w in weights]
    else:
        sums = [np.einsum("tvskr,vsk->tvsr", by_class, w) for w in weights]
    return np.stack(sums, axis=1).transpose(3, 1, 0, 2, 4)  # (S, M, n, V, 1)


def _outputs(plan, st, start, end, servers, per_class, rows, hit, same) -> np.ndarray:
    """Fill the recorder's rows for ticks ``[start, end)``; return which ticks are calm, (n,).

    The calm tests are the tick loop's own shortcuts: every station serves all it has
    (``frac == 1``), no waiting room can fill (``stationary_blocking``), no caller can time
    out (``doom_possible``) and no rate limiter sheds (``limiter_shed``).
    """
    sw, pairs = plan.sweep, plan.pairs
    tau = plan.tick_s
    inflow, forward, scratch = per_class  # (P, n, V, R) each
    np.subtract(inflow, forward, out=scratch)
    _written(rows, "success", same)[:] = _by_tick(_sum_classes(pairs, scratch))  # V may be 1
    if sw.writes is not None:
        primaries, at = pairs.writes
        _written(rows, "writes", same)[:, :, primaries] = _by_tick(inflow[at])
        reads = _by_tick(pairs.replica_reads.sum(inflow))
        _written(rows, "replica_reads", same)[:, :, sw.replica_reads] = reads
    ratio = np.take(plan.ratio[start:end], pairs.klass, axis=1)  # (n, P, R)
    weighted = np.multiply(inflow, ratio.transpose(1, 0, 2)[:, :, None], out=scratch)
    # variants that differ only in capacity share their service times: sum once, then copy
    service = slice(0, 1) if plan.same_flows and plan.same_service else slice(None)
    rates = _sum_classes(pairs, weighted, pairs.moments[:, :, :, service])  # (S, 3, n, V, R)
    moments = rows[:, _F["lam"] : _F["lam"] + 3]  # lam, load, m2: (n, 3, V, S, R)
    if "lam" in same:  # and load, m2: the first variant's rows stand for all
        moments = moments[:, :, :1]
    np.multiply(rates.transpose(2, 1, 3, 0, 4), 1.0 / tau, out=moments)  # V may be 1
    lam, load = _read(rows, "lam", same), _read(rows, "load", same)
    cap = servers * tau
    work = _by_tick(_sum_classes(pairs, inflow, pairs.svc[:, None, :, service])[:, 0])
    # the tests read the variants the sums cover (every one, or the first standing for all)
    calm = _serving_calmly(sw, servers, cap, work, lam[:, service], load[:, service])
    room = rows[:, _F["room"]]
    room[:] = st.qcap
    if sw.shedding:
        np.minimum(room, steps.shedding_room(sw, servers, lam, load), out=room)
    util = rows[:, _F["util"]]
    np.divide(np.minimum(work, cap, out=util), np.maximum(cap, _TINY), out=util)
    util[:, :, sw.delay_idx] = 0.0
    rows[:, _F["servers"]] = np.where(np.isfinite(servers), servers, 0.0)
    rows[:, _F["instances"]] = st.instances
    if plan.net.caches:
        hit[:] = plan.hit_steady[start:end][..., None]
    ticks_calm = calm
    if sw.limiter:
        ticks_calm &= _limiter_calm(plan, st, inflow, weighted)
    return ticks_calm


def _serving_calmly(sw, servers, cap, work, lam, load) -> np.ndarray:
    """(n,) bool: in each tick every station serves all it has (``frac == 1``, or nothing
    arrived), no waiting room can fill and no caller can time out (``core._queue``).

    Parameters
    ----------
    servers, cap : ndarray, shape (V, S, R)
        Servers [-] and their capacity per tick [server-s].
    work, lam, load : ndarray, shape (n, V or 1, S, R)
        Service demand [server-s], arrival intensity [1/s] and offered load [Erlang].

    Notes
    -----
    The tests ask whether some replication fails them. With the same servers in every
    replication, the largest demand over the replications decides, exactly (division by the
    same positive number keeps the order), so they run on (n, V, S) maxima. The intensity
    only matters where the servers cannot serve all of the demand (rare in a calm block).
    Most blocks pass every test in every tick: one test on the block's largest values says
    so at a fraction of the cost of the per-tick tests.
    """
    if _block_serves_calmly(sw, servers, cap, work, load):
        return np.ones(len(work), bool)
    uniform = bool((servers == servers[..., :1]).all())
    if uniform:
        servers, cap = servers[..., :1], cap[..., :1]

    def largest(values: np.ndarray) -> np.ndarray:
        return values.max(axis=-1, keepdims=True) if uniform else values

    calm = cap >= np.maximum(largest(work), _TINY)  # serves all of it
    if not calm.all():
        calm |= largest(lam) == 0.0  # or has none
    with np.errstate(invalid="ignore", divide="ignore"):
        busy = largest(load) / servers
    calm &= ~(busy > sw.block_rho[:, :, None])
    if sw.timeout:
        calm &= ~(busy > sw.doom_rho[:, :, None])
    return calm.all(axis=(1, 2, 3))


def _block_serves_calmly(sw, servers, cap, work, load) -> bool:
    """Every tick of the block passes :func:`_serving_calmly`'s tests (same arguments).

    The tests compare each tick's demand and load with bounds that hold for the whole
    block, so the largest values over the ticks decide whether all ticks pass, exactly, as
    the largest over the replications do there. ``False`` asks for the per-tick tests (a
    station that cannot serve its largest demand may still have ticks without arrivals).
    """
    if not (cap >= np.maximum(work.max(axis=0), _TINY)).all():
        return False
    with np.errstate(invalid="ignore", divide="ignore"):
        busy = load.max(axis=0) / servers
    held = busy > sw.block_rho[:, :, None]  # some arrival may find the room full
    if sw.timeout:
        held |= busy > sw.doom_rho[:, :, None]
    return not held.any()


def _until_scaling(plan, st, start, n, rows) -> int:
    """Ticks of the block before the first autoscaling action; the utilization average is
    advanced over them (the wavefront takes the tick that acts)."""
    weight = utilization_weight(plan.tick_s)
    util = rows[:n, _F["util"]]
    averages = np.empty(util.shape)
    average = st.util_avg
    for j in range(n):  # the same running update as State._autoscale, tick by tick
        average = average + weight * (util[j] - average)
        averages[j] = average
    # the wavefront's clock: a station of level L acts on its tick t in iteration t + L
    iterations = np.arange(start, start + n)[:, None, None, None] + plan.sweep.level[:, None]
    grow, shrink = scaling_steps(
        plan, iterations, st.instances, st.instances, averages, st.last_scale
    )
    acts = ((grow > 0) | (shrink > 0)).any(axis=(1, 2, 3))
    calm = int(np.argmax(acts)) if acts.any() else n
    if calm:
        st.util_avg = averages[calm - 1].copy()
    return calm


def _limiter_calm(plan, st, inflow, weighted) -> np.ndarray:
    """(n,) bool: the token bucket admits every arrival and stays as it is, and the
    stationary loss is surely negligible (see ``State.limiter_shed``); ``inflow`` and
    ``weighted`` (its intensity, ``inflow`` x ``ratio``) are (P, n, V, R)."""
    sw, by_station = plan.sweep, plan.pairs.limiter
    lim = sw.limiter_stations
    mask, rate, burst, _room, quiet = sw.limiter_params
    incoming = _by_tick(by_station.sum(inflow))  # (n, V, n_limiters, R)
    admitted, kept = token_bucket(st.tokens[:, lim], rate, burst, incoming, plan.tick_s)
    intensity = _by_tick(by_station.sum(weighted)) / plan.tick_s
    rho = np.where(mask, intensity / np.maximum(rate, _TINY), 0.0)
    admits = (admitted == incoming) | ~mask  # nothing shed (1 - admitted / incoming = 0)
    holds = (kept == st.tokens[:, lim]) | ~mask
    return (admits & holds & (rho <= quiet)).all(axis=(1, 2, 3))


def _leave_caches(plan, st, start, n, rows, hit, same) -> None:
    """What the tick loop leaves in the cache state after the block's last tick."""
    caches = plan.net.caches
    if not caches:
        return
    last = start + n - 1
    st.go[:, caches] = plan.cont4[:, caches] * (1.0 - plan.hit_steady[last])[:, :, None, None]
    if not plan.skew.any_flush:
        return
    st.cache_arrivals = _read(rows, "lam", same)[n - 1][:, caches] * plan.tick_s
    depth = st.fetch_s.shape[0]
    first = max(0, n - depth)  # the ring keeps the store's last ``depth`` ticks
    for j, fetch in enumerate(_store_fetch(plan, rows[first:n], same), start=first):
        st.fetch_s[(start + j) % depth] = fetch


def _store_fetch(plan, rows, same) -> np.ndarray:
    """Time a miss takes at the store behind each cache, by the store's tick, (n, V, C, R) [s]:
    the time in system there (Little), as ``State.after_tick`` records it."""
    store = plan.cache_store
    busy = rows[:, _F["util"]][:, :, store] * rows[:, _F["servers"]][:, :, store]
    backlog, lam = rows[:, _F["backlog"]][:, :, store], _read(rows, "lam", same)[:, :, store]
    return (backlog + busy) / np.maximum(lam, _TINY)


def _while_caches_steady(plan, st, start, n, rows, same) -> int:
    """Ticks of the block in which every cache warming up after a flush already hits at its
    steady ratio; the requests each cache has seen since its flush are advanced over them.

    A warming cache hits at ``min(steady, warm-up curve at the requests seen, less those whose
    fetch is still in flight)`` (``State.cache_hit``): once the curve is above the steady ratio
    the flows are those of a warm cache. The test replays that formula tick by tick.
    """
    caches, tau, depth = plan.net.caches, plan.tick_s, st.fetch_s.shape[0]
    lam = _read(rows[:n], "lam", same)[:, :, caches]  # (n, V, C, R)
    fetch = _store_fetch(plan, rows[:n], same)
    level = plan.sweep.level
    behind = level[plan.cache_store] - level[caches] + 1  # store ticks seen lag this much
    seen = np.empty(lam.shape)  # the fetch time each cache sees in each tick [s]
    for c, lag in enumerate(behind):
        for j in range(n):
            u = j - lag
            seen[j, :, c] = fetch[u, :, c] if u >= 0 else st.fetch_s[(start + u) % depth, :, c]
    arriving = np.concatenate([st.cache_arrivals[None], lam[:-1] * tau])  # the tick before
    since = np.empty((n + 1, *lam.shape[1:]))  # requests seen before each tick
    since[0] = st.since_flush
    for j in range(n):  # as State.after_tick: stops growing once every cache is warm
        warming = since[j].min() < WARM
        since[j + 1] = np.minimum(since[j] + lam[j] * tau, WARM) if warming else since[j]
    in_fetch = arriving / tau * seen
    steady = plan.hit_steady[start : start + n][..., None]  # (n, V, C, 1)
    holds = (warm_hit_ratio(plan, since[:n] - in_fetch) >= steady).all(axis=(1, 2, 3))
    calm = int(np.argmin(holds)) if not holds.all() else n
    st.since_flush = since[calm].copy()
    return calm
