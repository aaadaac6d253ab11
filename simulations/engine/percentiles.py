"""Per-tick and whole-run latency percentiles from the recorded station state.

For every tick, replication and variant, each station's recorded arrival intensity, offered
load, servers and backlog give its Erlang C wait law (:mod:`simulations.engine.queueing`) and
its backlog delay; each path of each class combines its stations (:mod:`.latency`), and the
mixture over paths and classes (weighted by arrivals and cache hit ratios) is inverted on a
grid. Identical mixtures (the common case in steady state, where every replication sees the
same expected load) are evaluated once.
"""

from __future__ import annotations

import numpy as np

from simulations.engine.latency import (
    GRID_S,
    grid_quantiles,
    path_mean,
    path_survival,
    path_survival_at,
)
from simulations.engine.queueing import allen_cunneen_factor, station_law
from simulations.engine.renewal import GI_MAX_SERVERS, gamma_gi_m_c

TICK_PROBS = (0.50, 0.95, 0.99)
RUN_PROBS = (0.50, 0.90, 0.95, 0.99, 0.999)
_BATCH = 1024  # distinct latency laws evaluated on the grid at once
_DROP_BITS = 40  # of float64's 52 mantissa bits: states equal to ~2^-12 share one evaluation


def station_waits(plan, v: int, buf, ticks: slice) -> dict[str, np.ndarray]:
    """Wait-law parameters of every station of variant ``v`` over a chunk of ticks.

    Returns
    -------
    dict of ndarray, each shaped (n, S, R)
        ``p_wait`` [-], ``theta`` [1/s], ``delay`` [s] (backlog beyond the stationary
        queue, divided by the drain rate), ``waiting`` [requests] (the larger of the fluid
        backlog and the stationary mean queue L_q) and ``in_service`` [requests].
    """
    net = plan.net
    lam, load, m2 = buf.lam[:, v], buf.load[:, v], buf.m2[:, v]
    servers, qmid = buf.servers[:, v], buf.qmid[:, v]
    valid = np.isfinite(servers) & (servers > 0) & ~net.delay[None, :, None]
    servers = np.where(valid, servers, 1.0)
    per = net.per_instance[v][None, :, None]
    group = np.where(net.pooled[v][None, :, None], servers, per)
    group = np.maximum(np.round(group), 1.0)
    safe_lam = np.maximum(lam, 1e-12)
    mean_s = np.where(lam > 0, load / safe_lam, 1.0)
    mean_s = np.maximum(mean_s, 1e-9)
    with np.errstate(invalid="ignore", divide="ignore"):
        cs2 = np.where(lam > 0, m2 * safe_lam / np.maximum(load, 1e-300) ** 2 - 1.0, 1.0)
    # strict round robin hands each of n instances every n-th arrival: its inter-arrival
    # times are Erlang-n sums, squared coefficient of variation c_a^2 / n
    instances = np.maximum(servers / per, 1.0)
    ca2 = np.where(
        net.round_robin[v][None, :, None],
        plan.scenario.burstiness / instances,
        plan.scenario.burstiness,
    )
    factor = allen_cunneen_factor(ca2, np.maximum(cs2, 0.0))
    total = servers
    rho_load = load / total
    room = np.where(valid, buf.room[:, v] * group / total, np.inf)  # per queue [requests]
    p_wait, theta, lq = station_law(
        group, rho_load, room, lam * group / total, mean_s, factor, plan.tick_s
    )
    # Bursty (or round-robin-smoothed) arrivals into a small pool with room to spare: the exact
    # GI/M/c law for Gamma inter-arrivals (Allen-Cunneen keeps Erlang C's P(wait), too low)
    renewal = (np.abs(ca2 - 1.0) > 1e-9) & (group <= GI_MAX_SERVERS) & (rho_load < 0.95)
    renewal &= valid & (lam > 0) & (room >= 50 * group)
    if renewal.any():
        pw_g, rate_g = gamma_gi_m_c(
            group[renewal], rho_load[renewal], np.broadcast_to(ca2, group.shape)[renewal]
        )
        service = (1.0 + np.maximum(np.broadcast_to(cs2, group.shape)[renewal], 0.0)) / 2.0
        p_wait[renewal] = pw_g
        theta[renewal] = rate_g / mean_s[renewal] / service
        lq[renewal] = (lam * group / total)[renewal] * pw_g / theta[renewal]
    queueing = valid & (lam > 0)
    p_wait = np.where(queueing, p_wait, 0.0)
    theta = np.where(queueing, theta, 1.0)
    lq_total = np.where(queueing, lq * total / group, 0.0)
    drain = total / mean_s
    # Transient delay: the backlog beyond what the stationary queue itself holds, over the
    # drain rate, stretched or shrunk by the capacity actually available while it is served
    # (``wait_scale``). The fluid backlog is driven by the per-tick arrival counts, whose
    # fluctuations the stationary law already contains; a fluid backlog up to twice the
    # stationary mean queue L_q (the range a queue of mean L_q routinely visits) is treated as
    # that same queue, not as extra delay. Overloads build backlogs far beyond it.
    transient = np.maximum(qmid - 2.0 * lq_total, 0.0)
    delay = np.where(queueing, transient / drain * buf.scale[:, v], 0.0)
    waiting = np.maximum(buf.qend[:, v], lq_total)
    in_service = np.minimum(load, np.where(np.isfinite(servers), servers, load))
    return {
        "p_wait": p_wait,
        "theta": theta,
        "delay": delay,
        "waiting": waiting,
        "in_service": in_service,
    }


def chunk_mixture(plan, v: int, buf, ticks: slice):
    """Mixture components (one per class path) for variant ``v`` over a chunk of ticks.

    Returns
    -------
    weight, shift, mu, p_wait, theta, cut : ndarray, each (n, R, J)
        Arrival weight [requests] and the path law parameters (see ``latency.py``).
    """
    net = plan.net
    waits = station_waits(plan, v, buf, ticks)
    buf.waits = waits
    slow = plan.timeline.slow[ticks, v][:, :, None]  # (n, S, 1)
    # Mixture weights use the expected class rates: the realized class mix of a tick is noise
    # around it, not a different latency law. (Whole-run weights use realized counts.)
    rates = plan.rates[ticks][:, :, None]  # (n, K, 1)
    # reads split over the replicas live at the tick, not the design count (plan.ReadSplit)
    live_split = plan.read_split.ratio[ticks, v]  # (n, n_split)
    split_column = {int(s): j for j, s in enumerate(plan.read_split.stations)}
    comps = {name: [] for name in ("weight", "shift", "mu", "p_wait", "theta", "cut")}
    for k, cls in enumerate(net.classes):
        for path in net.paths[v][cls]:
            weight = np.broadcast_to(
                rates[:, k] * path.static_weight, (rates.shape[0], plan.shape[3])
            )
            for s in path.miss_caches:
                weight = weight * (1.0 - buf.hit[:, v, net.cache_of[s]])
            if path.hit_cache is not None:
                weight = weight * buf.hit[:, v, net.cache_of[path.hit_cache]]
            for s in path.read_split:
                weight = weight * live_split[:, split_column[s], None]
            stages = path.client_stations
            svc = net.svc[v, stages, k][None, :, None] * slow[:, stages]  # (n, n_st, 1)
            svc = np.broadcast_to(svc, (svc.shape[0], len(stages), weight.shape[1]))
            p_w = waits["p_wait"][:, stages]
            th = waits["theta"][:, stages]
            mean_w = np.where(p_w > 0, p_w / np.maximum(th, 1e-300), 0.0)
            top_w = mean_w.argmax(axis=1)[:, None]
            big_s = svc.max(axis=1)  # the value at argmax (NaN propagates alike)
            comps["shift"].append(
                waits["delay"][:, stages].sum(axis=1)
                + svc.sum(axis=1)
                - big_s
                + mean_w.sum(axis=1)
                - mean_w.max(axis=1)
            )
            comps["mu"].append(1.0 / np.maximum(big_s, 1e-9))
            comps["p_wait"].append(np.take_along_axis(p_w, top_w, 1)[:, 0])
            comps["theta"].append(np.take_along_axis(th, top_w, 1)[:, 0])
            comps["weight"].append(weight)
            comps["cut"].append(
                _cut(plan, v, stages, svc, mean_w, waits["delay"][:, stages], weight.shape)
            )
    return tuple(
        np.stack(comps[name], axis=-1)
        for name in ("weight", "shift", "mu", "p_wait", "theta", "cut")
    )


def _cut(plan, v, stages, svc, mean_w, delay, shape) -> np.ndarray:
    """Where a path's latency is cut by its first caller timeout [s] (``inf`` if none).

    A caller that gives up after T on the edge into a station sees min(T, response) for that
    station and everything behind it, after the (mean) time spent in the stations before it.
    """
    timeouts = plan.policies.timeout_s[v, stages]
    finite = np.flatnonzero(np.isfinite(timeouts))
    if not finite.size:
        return np.full(shape, np.inf)
    first = finite[0]
    before = (svc[:, :first] + mean_w[:, :first] + delay[:, :first]).sum(axis=1)
    return np.broadcast_to(timeouts[first] + before, shape).copy()


def _refine_at_cuts(q, probs, uniq) -> np.ndarray:
    """Put quantiles that fall on a timeout atom exactly on the cut (the grid straddles it)."""
    weights, params = uniq[..., 0], uniq[..., 1:]
    cuts = params[..., 4]  # (U, J)
    for j in range(cuts.shape[1]):
        c = cuts[:, j]
        finite = np.isfinite(c)
        if not finite.any():
            continue
        just_below = np.nextafter(c, 0.0)
        surv = np.einsum(
            "uj,uj->u",
            weights,
            path_survival_at(
                just_below[:, None] - params[..., 0], params[..., 1], params[..., 2], params[..., 3]
            )
            * (just_below[:, None] < cuts),
        )
        for i, p in enumerate(probs):
            on_atom = finite & (surv > 1.0 - p) & (q[:, i] < c)
            on_atom &= q[:, i] >= c / 1.2  # only where the grid cell holding c was chosen
            q[:, i] = np.where(on_atom, c, q[:, i])
    return q


_INPUTS = ("lam", "load", "m2", "servers", "qmid", "room", "qend", "scale")


def wait_scale(buf, v: int, tick_s: float) -> np.ndarray:
    """Virtual waiting time through the backlog over its current-drain estimate, (n, S, R).

    Notes
    -----
    A request arriving in tick t behind a fluid backlog B(t) is served once the departures
    after it reach B(t): W(t) = inf{w : integral_t^{t+w} c(u)/E[S](u) du >= B(t)}, with the
    capacity recorded per tick (a slowdown ending, instances coming back). Past the end of the
    chunk the last tick's capacity is assumed. The ratio W(t) / (B(t) E[S](t) / c(t)) is 1 when
    capacity is steady.
    """
    lam, load, servers = buf.lam[:, v], buf.load[:, v], buf.servers[:, v]
    backlog = buf.qmid[:, v]
    scale = np.ones(backlog.shape)
    if not (backlog > 0).any():
        return scale
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where((lam > 0) & (load > 0), servers * lam / load, 0.0)  # [requests/s]
    cap = np.maximum(rate * tick_s, 1e-12)  # requests served per tick
    # only where capacity changes within the chunk does the virtual wait differ
    varies = (cap.max(axis=0) > cap.min(axis=0) * (1 + 1e-6)) & (backlog > 1e-9).any(axis=0)
    if not varies.any():
        return scale
    cols = np.nonzero(varies)
    cap, backlog, rate = (
        cap[:, cols[0], cols[1]],
        backlog[:, cols[0], cols[1]],
        rate[:, cols[0], cols[1]],
    )
    n = cap.shape[0]
    cum = np.concatenate([np.zeros((1, *cap.shape[1:])), np.cumsum(cap, axis=0)])
    ahead = cum[1:][None, :] - cum[:-1][:, None]  # [t, u]: served from t to the end of u
    later = np.triu(np.ones((n, n), bool))[:, :, None]
    full = ((ahead < backlog[:, None]) & later).sum(axis=1)  # whole ticks it takes
    rows = np.arange(n)[:, None]
    end = np.minimum(rows + full, n)
    done = np.take_along_axis(cum, end, axis=0) - cum[:-1]
    nxt = np.take_along_axis(cap, np.minimum(rows + full, n - 1), axis=0)
    virtual = (full + (backlog - done) / nxt) * tick_s
    current = backlog / np.maximum(rate, 1e-12)
    busy = (backlog > 1e-9) & (rate > 0)
    scale[:, cols[0], cols[1]] = np.where(
        busy, np.clip(virtual / np.maximum(current, 1e-300), 0.0, 1e6), 1.0
    )
    return scale


class _Distinct:
    """The distinct station states of a chunk (quantized), shaped (U, V, S, 1), plus ticks."""

    def __init__(self, plan, buf, v: int, ticks: slice):
        n, n_v, n_s, n_r = buf.lam.shape
        n_c, n_k = buf.hit.shape[2], plan.rates.shape[1]
        # one column per (tick, replication), (n, width, R): the station inputs, the hit
        # ratios, then what else a tick's latency law depends on (the class rates, incident
        # slowdowns and live read splits), copied block by block in their recorded layout
        # (no transposes)
        split = plan.read_split.ratio[ticks, v][:, :, None]  # (n, n_split, 1)
        table = np.empty((n, len(_INPUTS) * n_s + n_c + n_k + n_s + split.shape[1], n_r))
        scale = wait_scale(buf, v, plan.tick_s)
        for j, name in enumerate(_INPUTS):
            source = scale if name == "scale" else getattr(buf, name)[:, v]  # (n, S, R)
            table[:, j * n_s : (j + 1) * n_s] = source
        n_features = len(_INPUTS) * n_s + n_c
        table[:, len(_INPUTS) * n_s : n_features] = buf.hit[:, v]
        table[:, n_features : n_features + n_k] = plan.rates[ticks][:, :, None]
        table[:, n_features + n_k : n_features + n_k + n_s] = plan.timeline.slow[ticks, v][
            :, :, None
        ]
        table[:, n_features + n_k + n_s :] = split
        tick = np.repeat(np.arange(ticks.start, ticks.stop), n_r)
        codes = _quantize(table)
        # rows in (tick, replication) order, as np.unique numbers them
        _, first, self.inverse = np.unique(
            _hash(codes, axis=1).ravel(), return_index=True, return_inverse=True
        )
        self.inverse = self.inverse.ravel()
        at, rep = np.divmod(first, n_r)
        values = _dequantize(codes[at, :n_features, rep])  # at the quantized state
        self.ticks = tick[first]
        u = len(first)
        for j, name in enumerate(_INPUTS):
            full = np.zeros((u, n_v, n_s, 1))
            full[:, v, :, 0] = values[:, j * n_s : (j + 1) * n_s]
            setattr(self, name, full)
        hit = np.zeros((u, n_v, buf.hit.shape[2], 1))
        hit[:, v, :, 0] = values[:, len(_INPUTS) * n_s :]
        self.hit = hit
        self.shape = (n, n_r)

    def expand_station(self, values: np.ndarray) -> np.ndarray:
        """(U, S, 1) -> (n, S, R)."""
        n, n_r = self.shape
        out = values[:, :, 0][self.inverse].reshape(n, n_r, -1)
        return np.moveaxis(out, 1, 2)


def chunk_percentiles(
    plan, v: int, buf, ticks: slice, run_acc: np.ndarray, offered: np.ndarray
) -> dict:
    """Per-tick percentiles and mean for a chunk; adds the chunk to the whole-run survival.

    Parameters
    ----------
    run_acc : ndarray, shape (R, n_grid)
        Accumulated arrival-weighted survival over ticks (updated in place).
    offered : ndarray, shape (n, R)
        New requests per tick of the chunk [requests]: the whole-run weights.

    Returns
    -------
    dict of ndarray
        ``p50``, ``p95``, ``p99`` and ``mean`` latency [s], each (n, R); ``waiting`` and
        ``in_service`` per station, each (n, S, R) [requests].
    """
    # Steady states repeat across replications and ticks: evaluate each distinct station state
    # once, at its quantized value, so the figures do not depend on chunking or checkpoints.
    distinct = _Distinct(plan, buf, v, ticks)
    weight, shift, mu, p_wait, theta, cut = (
        x[:, 0] for x in chunk_mixture(plan, v, distinct, distinct.ticks)
    )  # each (U, J)
    n_u, n_j = weight.shape
    expected = weight.sum(axis=-1, keepdims=True)
    norm = np.where(expected > 0, weight / np.maximum(expected, 1e-300), 1.0 / n_j)
    mean_u = (norm * path_mean(shift, mu, p_wait, theta, cut)).sum(axis=-1)
    laws = np.stack([norm, shift, mu, p_wait, theta, cut], axis=-1)  # (U, J, 6)
    mix = np.empty((n_u, len(GRID_S)))
    for lo in range(0, n_u, _BATCH):  # bounded memory when few states repeat
        part = laws[lo : lo + _BATCH]
        surv = path_survival(GRID_S, *(part[..., i] for i in range(1, 6)))  # (u, J, G)
        mix[lo : lo + _BATCH] = np.einsum("uj,ujg->ug", part[..., 0], surv)
    q_u = _refine_at_cuts(grid_quantiles(mix, TICK_PROBS), TICK_PROBS, laws)
    n, n_r = distinct.shape
    q = q_u[distinct.inverse].reshape(n, n_r, len(TICK_PROBS))
    replication = np.tile(np.arange(n_r), n)
    counts = np.bincount(
        replication * n_u + distinct.inverse, weights=offered.ravel(), minlength=n_r * n_u
    ).reshape(n_r, n_u)
    run_acc += counts @ mix
    return {
        "p50": q[..., 0],
        "p95": q[..., 1],
        "p99": q[..., 2],
        "mean": mean_u[distinct.inverse].reshape(n, n_r),
        "waiting": distinct.expand_station(distinct.waits["waiting"]),
        "in_service": distinct.expand_station(distinct.waits["in_service"]),
    }


def _quantize(params: np.ndarray) -> np.ndarray:
    """Integer codes: the float64 bits with the last 40 mantissa bits dropped (~0.02 %)."""
    return np.ascontiguousarray(params, dtype=np.float64).view(np.int64) >> _DROP_BITS


def _dequantize(codes: np.ndarray) -> np.ndarray:
    """The (truncated) value each code stands for; inf and 0 map to themselves."""
    return np.ascontiguousarray(codes << _DROP_BITS).view(np.float64)


def _splitmix64(n: int) -> np.ndarray:
    """n well-mixed odd 64-bit constants (SplitMix64 of 1..n), for the row hash."""
    z = np.arange(1, n + 1, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z = z ^ (z >> np.uint64(31))
    return (z | np.uint64(1)).view(np.int64)


_HASH_MULT = _splitmix64(4096)


def _hash(codes: np.ndarray, axis: int) -> np.ndarray:
    """One int64 per vector of codes along ``axis``: a linear hash with pseudo-random odd
    multipliers, modulo 2^64 (two distinct vectors collide with probability ~2^-64)."""
    shape = [1] * codes.ndim
    shape[axis] = codes.shape[axis]
    with np.errstate(over="ignore"):
        # integer products and sums wrap modulo 2^64, in any order
        return (codes * _HASH_MULT[: codes.shape[axis]].reshape(shape)).sum(axis=axis)


def run_percentiles(run_acc: np.ndarray, total: np.ndarray) -> np.ndarray:
    """Whole-run quantiles from the accumulated survival, shape (R, len(RUN_PROBS)) [s]."""
    surv = run_acc / np.maximum(total[:, None], 1e-300)
    return grid_quantiles(surv, RUN_PROBS)
