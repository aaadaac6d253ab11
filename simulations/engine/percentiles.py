"""Per-tick and whole-run latency percentiles from the recorded station state.

For every tick, replication and variant, each station's recorded arrival intensity, offered
load, servers and backlog give its Erlang C wait law (:mod:`simulations.engine.queueing`) and
its backlog delay; each path of each class combines its stations (:mod:`.latency`), and the
mixture over paths and classes (weighted by arrivals and cache hit ratios) is inverted on a
grid. Identical mixtures (the common case in steady state, where every replication sees the
same expected load) are evaluated once, and states that recur from chunk to chunk once per run.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

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
_BATCH = 256  # latency laws evaluated on the grid at once: ~1 MB temporaries, reused not faulted
_KEPT = 4096  # evaluated states kept across chunks (a run that never settles starts afresh)
_DROP_BITS = 40  # of float64's 52 mantissa bits: states equal to ~2^-12 share one evaluation


def station_waits(plan, buf) -> dict[str, np.ndarray]:
    """Wait-law parameters of every station in each of ``U`` station states.

    Parameters
    ----------
    buf : _Distinct or its :meth:`~_Distinct.take`
        Station states: ``lam``, ``load``, ``m2``, ``servers``, ``qmid``, ``room``, ``qend``
        and ``scale``, each (U, S), and ``variant`` (U,), the variant each state belongs to.

    Returns
    -------
    dict of ndarray, each shaped (U, S)
        ``p_wait`` [-], ``theta`` [1/s], ``delay`` [s] (backlog beyond the stationary
        queue, divided by the drain rate), ``waiting`` [requests] (the larger of the fluid
        backlog and the stationary mean queue L_q) and ``in_service`` [requests].
    """
    net, v = plan.net, buf.variant
    lam, load, m2 = buf.lam, buf.load, buf.m2
    servers, qmid = buf.servers, buf.qmid
    valid = np.isfinite(servers) & (servers > 0) & ~net.delay[None, :]
    servers = np.where(valid, servers, 1.0)
    per = net.per_instance[v]
    group = np.where(net.pooled[v], servers, per)
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
        net.round_robin[v],
        plan.scenario.burstiness / instances,
        plan.scenario.burstiness,
    )
    factor = allen_cunneen_factor(ca2, np.maximum(cs2, 0.0))
    total = servers
    rho_load = load / total
    room = np.where(valid, buf.room * group / total, np.inf)  # per queue [requests]
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
    delay = np.where(queueing, transient / drain * buf.scale, 0.0)
    waiting = np.maximum(buf.qend, lq_total)
    in_service = np.minimum(load, np.where(np.isfinite(servers), servers, load))
    return {
        "p_wait": p_wait,
        "theta": theta,
        "delay": delay,
        "waiting": waiting,
        "in_service": in_service,
    }


@dataclass(frozen=True)
class PathTable:
    """Every variant's class paths, padded to ``J`` paths of ``L`` stages (one array pass).

    Attributes
    ----------
    cls : ndarray, shape (V, J)
        Request class of each path (0 for padding).
    weight : ndarray, shape (V, J)
        Static share of the class taking the path [-] (0 for padding).
    real : ndarray, shape (V, J)
        True for a path, False for padding.
    count : ndarray, shape (V,)
        Paths of each variant.
    stages, on : ndarray, shape (V, J, L)
        Client stations in route order (0 where padded) and where they are real.
    service : ndarray, shape (V, J, L)
        The class's mean service time at each stage, before incident slowdowns [s].
    miss : ndarray, shape (V, J, M)
        Caches passed on a miss, in route order (index into caches; -1 for none).
    hit : ndarray, shape (V, J)
        Cache where the request ends on a hit (-1 for none).
    split : ndarray, shape (V, J, M)
        Database stations entered by a read split, in route order (index into
        ``plan.read_split.stations``; -1 for none): their live share scales the weight.
    timeout : ndarray, shape (V, J)
        The first caller timeout along the path [s] (``inf`` if none).
    before : ndarray, shape (V, J, L)
        Stages before the station whose caller times out first.
    """

    cls: np.ndarray
    weight: np.ndarray
    real: np.ndarray
    count: np.ndarray
    stages: np.ndarray
    on: np.ndarray
    service: np.ndarray
    miss: np.ndarray
    hit: np.ndarray
    split: np.ndarray
    timeout: np.ndarray
    before: np.ndarray

    @classmethod
    def build(cls, plan) -> PathTable:
        net = plan.net
        per_variant = [
            [(k, p) for k, name in enumerate(net.classes) for p in net.paths[v][name]]
            for v in range(plan.shape[0])
        ]
        n_v = len(per_variant)
        n_j = max(1, max(len(ps) for ps in per_variant))
        n_l = max([1] + [len(p.client_stations) for ps in per_variant for _, p in ps])
        n_m = max([1] + [len(p.miss_caches) for ps in per_variant for _, p in ps])
        n_split = max([1] + [len(p.read_split) for ps in per_variant for _, p in ps])
        split_column = {int(s): j for j, s in enumerate(plan.read_split.stations)}
        t = {
            "cls": np.zeros((n_v, n_j), np.int64),
            "weight": np.zeros((n_v, n_j)),
            "real": np.zeros((n_v, n_j), bool),
            "count": np.array([len(ps) for ps in per_variant]),
            "stages": np.zeros((n_v, n_j, n_l), np.int64),
            "on": np.zeros((n_v, n_j, n_l), bool),
            "service": np.zeros((n_v, n_j, n_l)),
            "miss": np.full((n_v, n_j, n_m), -1),
            "hit": np.full((n_v, n_j), -1),
            "split": np.full((n_v, n_j, n_split), -1),
            "timeout": np.full((n_v, n_j), np.inf),
            "before": np.zeros((n_v, n_j, n_l), bool),
        }
        for v, paths in enumerate(per_variant):
            for j, (k, path) in enumerate(paths):
                stages = path.client_stations
                n = len(stages)
                t["cls"][v, j], t["weight"][v, j], t["real"][v, j] = k, path.static_weight, True
                t["stages"][v, j, :n], t["on"][v, j, :n] = stages, True
                t["service"][v, j, :n] = net.svc[v, stages, k]
                t["miss"][v, j, : len(path.miss_caches)] = net.cache_of[path.miss_caches]
                if path.hit_cache is not None:
                    t["hit"][v, j] = net.cache_of[path.hit_cache]
                for m, station in enumerate(path.read_split):
                    t["split"][v, j, m] = split_column[station]
                finite = np.flatnonzero(np.isfinite(plan.policies.timeout_s[v, stages]))
                if finite.size:
                    t["timeout"][v, j] = plan.policies.timeout_s[v, stages[finite[0]]]
                    t["before"][v, j, : finite[0]] = True
        return cls(**t)


def chunk_mixture(plan, paths: PathTable, buf):
    """Mixture components (one per class path) of each of ``U`` distinct station states.

    Parameters
    ----------
    paths : PathTable
    buf : _Distinct or its :meth:`~_Distinct.take`
        The states (see :func:`station_waits`), their ``ticks`` and ``hit`` ratios (U, C).

    Returns
    -------
    weight, shift, mu, p_wait, theta, cut : ndarray, each (U, J)
        Arrival weight [requests] and the path law parameters (see ``latency.py``); padded
        paths have weight 0 and a harmless law.
    """
    waits = station_waits(plan, buf)
    buf.waits = waits
    v = buf.variant
    at = np.arange(len(v))[:, None]
    slow = plan.timeline.slow[buf.ticks, v]  # (U, S)
    # Mixture weights use the expected class rates: the realized class mix of a tick is noise
    # around it, not a different latency law. (Whole-run weights use realized counts.)
    weight = plan.rates[buf.ticks][at, paths.cls[v]] * paths.weight[v]  # (U, J)
    hit = np.concatenate([buf.hit, np.zeros((len(v), 1))], axis=1)  # index -1: no cache
    miss = paths.miss[v]
    for m in range(miss.shape[2]):
        weight = weight * np.where(miss[:, :, m] >= 0, 1.0 - hit[at, miss[:, :, m]], 1.0)
    ends = paths.hit[v]
    weight = weight * np.where(ends >= 0, hit[at, ends], 1.0)
    # reads split over the replicas live at the tick, not the design count (plan.ReadSplit)
    live = plan.read_split.ratio[buf.ticks, v]  # (U, n_split)
    live = np.concatenate([live, np.ones((len(v), 1))], axis=1)  # index -1: no split
    split = paths.split[v]
    for m in range(split.shape[2]):
        weight = weight * np.where(split[:, :, m] >= 0, live[at, split[:, :, m]], 1.0)
    at = at[:, :, None]
    stages, on = paths.stages[v], paths.on[v]  # (U, J, L)
    svc = paths.service[v] * slow[at, stages]
    p_w = np.where(on, waits["p_wait"][at, stages], 0.0)
    th = np.where(on, waits["theta"][at, stages], 1.0)
    delay = np.where(on, waits["delay"][at, stages], 0.0)
    mean_w = np.where(p_w > 0, p_w / np.maximum(th, 1e-300), 0.0)
    top_w = mean_w.argmax(axis=2)[..., None]
    # the value at argmax (NaN propagates alike); 0 for padding, so its shift is 0
    big_s = np.where(paths.real[v], np.where(on, svc, -np.inf).max(axis=2), 0.0)
    shift = delay.sum(axis=2) + svc.sum(axis=2) - big_s + mean_w.sum(axis=2) - mean_w.max(axis=2)
    # A caller that gives up after T on the edge into a station sees min(T, response) for that
    # station and everything behind it, after the (mean) time spent in the stations before it.
    before = np.where(paths.before[v], svc + mean_w + delay, 0.0).sum(axis=2)
    return (
        weight,
        shift,
        1.0 / np.maximum(big_s, 1e-9),
        np.take_along_axis(p_w, top_w, 2)[..., 0],
        np.take_along_axis(th, top_w, 2)[..., 0],
        paths.timeout[v] + before,
    )


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


def wait_scale(buf, tick_s: float) -> np.ndarray:
    """Virtual waiting time through the backlog over its current-drain estimate, (n, V, S, R).

    Notes
    -----
    A request arriving in tick t behind a fluid backlog B(t) is served once the departures
    after it reach B(t): W(t) = inf{w : integral_t^{t+w} c(u)/E[S](u) du >= B(t)}, with the
    capacity recorded per tick (a slowdown ending, instances coming back). Past the end of the
    chunk the last tick's capacity is assumed. The ratio W(t) / (B(t) E[S](t) / c(t)) is 1 when
    capacity is steady (a read-only view of ones where it is steady throughout the chunk).
    """
    lam, load, servers = buf.lam, buf.load, buf.servers
    backlog = buf.qmid
    steady = np.broadcast_to(1.0, backlog.shape)
    if "qmid" in buf.zero or not (backlog > 0).any():
        return steady
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where((lam > 0) & (load > 0), servers * lam / load, 0.0)  # [requests/s]
    cap = np.maximum(rate * tick_s, 1e-12)  # requests served per tick
    # only where capacity changes within the chunk does the virtual wait differ
    varies = (cap.max(axis=0) > cap.min(axis=0) * (1 + 1e-6)) & (backlog > 1e-9).any(axis=0)
    if not varies.any():
        return steady
    scale = np.ones(backlog.shape)
    cols = (slice(None), *np.nonzero(varies))
    cap, backlog, rate = cap[cols], backlog[cols], rate[cols]
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
    scale[cols] = np.where(busy, np.clip(virtual / np.maximum(current, 1e-300), 0.0, 1e6), 1.0)
    return scale


class _Distinct:
    """The distinct (quantized) station states of a chunk over every variant, each (U, S).

    Attributes ``lam`` ... ``scale`` as in :func:`station_waits`, ``hit`` (U, C), and for each
    state its ``variant`` and (first) ``ticks``; ``inverse`` maps the chunk's (tick, variant,
    replication) rows to their state.
    """

    def __init__(self, plan, buf, ticks: slice):
        n, n_v, n_s, n_r = buf.lam.shape
        scale = wait_scale(buf, plan.tick_s)
        # the columns of a (tick, variant, replication) row: the station inputs and hit ratios
        # (each (n, V, width, R), in their recorded layout: no transposes), then what else a
        # tick's latency law depends on: the class rates (n, K), incident slowdowns (n, V, S)
        # and live read splits (n, V, n_split)
        blocks = [scale if name == "scale" else getattr(buf, name) for name in _INPUTS]
        blocks.append(buf.hit)
        # blocks known to be zero (codes 0) add nothing to the hash: they are not read; those
        # known to be equal in every variant are hashed for the first (the rows' hashes agree)
        names = (*_INPUTS, "hit")
        zero = [name in buf.zero for name in names]
        keys = np.zeros((n, n_v, n_r), np.int64)
        column = 0
        for name, block, is_zero in zip(names, blocks, zero, strict=True):  # a block at a time
            width = block.shape[2]
            if not is_zero:
                keys += _block_hash(block[:, :1] if name in buf.same else block, column)
            column += width
        rates = _quantize(plan.rates[ticks])
        slow = _quantize(plan.timeline.slow[ticks])
        split = _quantize(plan.read_split.ratio[ticks])
        keys += _hash(rates, axis=1, first=column)[:, None, None]
        column += rates.shape[1]
        keys += _hash(slow, axis=2, first=column)[:, :, None]
        column += slow.shape[2]
        keys += _hash(split, axis=2, first=column)[:, :, None]
        column += split.shape[2]
        # the variant is part of the state: it is hashed like one more column
        keys += _HASH_MULT[column] * np.arange(n_v)[:, None]
        # rows in (tick, variant, replication) order, as np.unique numbers them
        first, self.inverse = _first_and_inverse(keys.ravel())
        at, self.variant, rep = np.unravel_index(first, (n, n_v, n_r))
        self.ticks = ticks.start + at
        codes = [
            np.zeros((len(first), block.shape[2]), np.int64)
            if is_zero
            else _quantize(block[at, self.variant, :, rep])
            for block, is_zero in zip(blocks, zero, strict=True)
        ]
        for name, state_codes in zip((*_INPUTS, "hit"), codes, strict=True):
            setattr(self, name, _dequantize(state_codes))  # each state at its quantized value
        self.shape = (n, n_v, n_r)
        # what a state's latency law depends on, exactly: its codes and variant, and the raw
        # class rates, slowdowns and read splits of its first tick (see chunk_mixture)
        raw = (
            plan.rates[self.ticks],
            plan.timeline.slow[self.ticks, self.variant],
            plan.read_split.ratio[self.ticks, self.variant],
        )
        bits = [np.asarray(values, np.float64).view(np.int64) for values in raw]
        identity = np.concatenate([*codes, self.variant[:, None], *bits], axis=1)
        self.identity = [row.tobytes() for row in identity]

    def take(self, states: list[int]) -> SimpleNamespace:
        """The inputs of some of the states (rows of the attributes)."""
        states = np.asarray(states)  # converted once, not once per attribute
        return SimpleNamespace(
            **{name: getattr(self, name)[states] for name in (*_INPUTS, "hit", "variant", "ticks")}
        )


def chunk_percentiles(
    plan,
    paths: PathTable,
    buf,
    ticks: slice,
    run_acc: np.ndarray,
    offered: np.ndarray,
    evaluated: dict,
) -> dict:
    """Per-tick percentiles and mean for a chunk; adds the chunk to the whole-run survival.

    Parameters
    ----------
    paths : PathTable
        The plan's class paths (:meth:`PathTable.build`).
    buf : record._Chunk
        The chunk's station arrays, each (n, V, S, R), hit ratios (n, V, C, R), ``zero``,
        the names of the arrays known to be zero throughout (not read), and ``same``, those
        equal in every variant (hashed for the first).
    run_acc : ndarray, shape (V, R, n_grid)
        Accumulated arrival-weighted survival over ticks (updated in place).
    offered : ndarray, shape (n, V, R)
        New requests per tick of the chunk [requests]: the whole-run weights.
    evaluated : dict
        The states evaluated in earlier chunks of the run, each as its figures' batch (see
        :func:`_evaluate`) and row there (updated in place; starts empty): steady states recur
        from chunk to chunk, and a state's figures are its own.

    Returns
    -------
    dict of ndarray
        ``state``, the index of each row's distinct state (n, V, R), and per state: the
        ``latency`` p50, p95, p99 and mean (U, 4) [s], and ``waiting`` and ``in_service`` per
        station, each (U, S) [requests].
    """
    # Steady states repeat across replications and ticks: evaluate each distinct station state
    # once, at its quantized value, so the figures do not depend on chunking or checkpoints.
    distinct = _Distinct(plan, buf, ticks)
    if len(evaluated) > _KEPT:
        evaluated.clear()
    found = [evaluated.get(identity) for identity in distinct.identity]
    new = [u for u, place in enumerate(found) if place is None]
    if new:
        figures = _evaluate(plan, paths, distinct.take(new))
        for row, u in enumerate(new):
            found[u] = evaluated[distinct.identity[u]] = (figures, row)
    # in busy runs every state of the chunk is new: its batch is the chunk's tables
    tables = figures if len(new) == len(found) else _gather(found)
    mix, q_u, mean_u, waiting, in_service = tables
    n, n_v, n_r = distinct.shape
    _add_run_survival(run_acc.reshape(n_v * n_r, -1), mix, distinct.inverse, offered.ravel())
    return {
        "latency": np.column_stack([q_u, mean_u]),
        "state": distinct.inverse.reshape(n, n_v, n_r),
        "waiting": waiting,
        "in_service": in_service,
    }


def _gather(found: list[tuple[tuple[np.ndarray, ...], int]]) -> tuple[np.ndarray, ...]:
    """The figures of ``U`` states, each given as its batch (from :func:`_evaluate`) and row.

    Notes
    -----
    The rows are copied with one indexed copy per batch and table, not one per row.
    """
    batches = {}  # id of a batch: the batch, the states taken from it and their rows there
    for u, (figures, row) in enumerate(found):
        _, states, rows = batches.setdefault(id(figures), (figures, [], []))
        states.append(u)
        rows.append(row)
    out = tuple(np.empty((len(found), *a.shape[1:]), a.dtype) for a in found[0][0])
    for figures, states, rows in batches.values():
        for table, a in zip(out, figures, strict=True):
            table[states] = a[rows]
    return out


def _add_run_survival(
    run_acc: np.ndarray, mix: np.ndarray, inverse: np.ndarray, offered: np.ndarray
) -> None:
    """Add the chunk's arrival-weighted state survivals to each (variant, replication) column.

    Parameters
    ----------
    run_acc : ndarray, shape (V * R, n_grid)
        Accumulated survival of each column (updated in place).
    mix : ndarray, shape (U, n_grid)
        Mixture survival of each distinct state.
    inverse, offered : ndarray, shape (n * V * R,)
        State and new requests [requests] of each (tick, variant, replication) row.

    Notes
    -----
    A column meets at most ``n`` of the ``U`` states (in busy runs U ~ n R), so only its own
    (column, state) pairs are summed: a dense (V R, U) @ (U, n_grid) product multiplies mostly
    zeros, and its BLAS threads cost far more than they save on a shared machine. The pairs
    are added rank by rank (each column's first, second... pair), in small temporaries.
    """
    n_u, n_columns = len(mix), len(run_acc)
    # each row's (column, state) pair as column * U + state: the pairs in ascending order
    # (so sorted by column) and their weights [requests]
    key = (inverse.reshape(-1, n_columns) + np.arange(n_columns) * n_u).ravel()
    if n_u <= 16 * (len(inverse) // n_columns):  # few states: count every pair densely
        weight = np.bincount(key, weights=offered, minlength=n_columns * n_u)
        pair = np.flatnonzero(weight)
        weight = weight[pair]
    else:  # about a state per row: sort the rows' pairs instead
        pair, pair_of_row = np.unique(key, return_inverse=True)
        weight = np.bincount(pair_of_row, weights=offered)
    pair_column, pair_state = np.divmod(pair, n_u)
    rank = np.arange(len(pair)) - np.searchsorted(pair_column, pair_column)
    for k in range(rank.max(initial=-1) + 1):
        at = np.flatnonzero(rank == k)  # at most one pair per column
        terms = mix[pair_state[at]]
        terms *= weight[at, None]
        if len(at) == n_columns:  # every column (often, in steady runs): no row lookup
            run_acc += terms
        else:
            run_acc[pair_column[at]] += terms


def _evaluate(plan, paths: PathTable, states) -> tuple[np.ndarray, ...]:
    """Latency law of each of ``U`` states (see :meth:`_Distinct.take`) and its figures.

    Returns
    -------
    tuple of ndarray
        The mixture survival on :data:`GRID_S` (U, n_grid), its ``TICK_PROBS`` quantiles
        (U, 3) and mean (U,) [s], and ``waiting`` and ``in_service`` (U, S) [requests].
    """
    weight, shift, mu, p_wait, theta, cut = chunk_mixture(plan, paths, states)  # each (U, J)
    n_u = weight.shape[0]
    expected = weight.sum(axis=-1, keepdims=True)
    # no arrivals: every path of the variant counts alike
    even = paths.real[states.variant] / np.maximum(paths.count[states.variant], 1)[:, None]
    norm = np.where(expected > 0, weight / np.maximum(expected, 1e-300), even)
    mean_u = (norm * path_mean(shift, mu, p_wait, theta, cut)).sum(axis=-1)
    laws = np.stack([norm, shift, mu, p_wait, theta, cut], axis=-1)  # (U, J, 6)
    mix = np.empty((n_u, len(GRID_S)))
    for lo in range(0, n_u, _BATCH):  # bounded memory when few states repeat
        part = laws[lo : lo + _BATCH]
        surv = path_survival(GRID_S, *(part[..., i] for i in range(1, 6)))  # (u, J, G)
        mix[lo : lo + _BATCH] = np.einsum("uj,ujg->ug", part[..., 0], surv)
    q_u = _refine_at_cuts(grid_quantiles(mix, TICK_PROBS), TICK_PROBS, laws)
    return mix, q_u, mean_u, states.waits["waiting"], states.waits["in_service"]


def _first_and_inverse(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(keys, return_index=True, return_inverse=True)[1:]`` for ``keys`` (N,): the
    first row of each distinct key, in ascending key order, and each row's key there.

    Notes
    -----
    np.unique sorts the rows stably (a merge sort) to find first rows; an unstable sort
    (several times faster, most of all when few keys recur over many rows) and the least row
    of each run of equal keys give the same.
    """
    order = np.argsort(keys)
    ordered = keys[order]
    starts = np.empty(len(keys), bool)
    starts[:1] = True
    np.not_equal(ordered[1:], ordered[:-1], out=starts[1:])
    first = np.minimum.reduceat(order, np.flatnonzero(starts))
    inverse = np.empty(len(keys), np.intp)
    inverse[order] = np.cumsum(starts) - 1
    return first, inverse


def _quantize(params: np.ndarray) -> np.ndarray:
    """Integer codes: the float64 bits with the last 40 mantissa bits dropped (~0.02 %)."""
    codes = np.array(params, dtype=np.float64, order="C").view(np.int64)
    return np.right_shift(codes, _DROP_BITS, out=codes)


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


def _hash(codes: np.ndarray, axis: int, first: int = 0, at: np.ndarray | None = None) -> np.ndarray:
    """One int64 per vector of codes along ``axis``: a linear hash with pseudo-random odd
    multipliers, modulo 2^64 (two distinct vectors collide with probability ~2^-64).

    ``first`` is the column of ``codes[..., 0, ...]`` in a longer vector, or ``at`` (an int
    array) are the columns' offsets from ``first`` when they are not consecutive: the hash of
    a vector is the sum of the hashes of its blocks of columns."""
    if at is None:
        multipliers = _HASH_MULT[first : first + codes.shape[axis]]
    else:
        multipliers = _HASH_MULT[first + at]
    # unsigned products and sums wrap modulo 2^64 (the same bits as signed ones), in any order
    if axis == codes.ndim - 1:  # a matrix-vector product (a fraction of einsum's overhead)
        return (codes.view(np.uint64) @ multipliers.view(np.uint64)).view(np.int64)
    letters = "abcdefgh"[: codes.ndim]
    kept = letters.replace(letters[axis], "")
    return np.einsum(
        f"{letters},{letters[axis]}->{kept}", codes.view(np.uint64), multipliers.view(np.uint64)
    ).view(np.int64)


def _block_hash(block: np.ndarray, first: int) -> np.ndarray:
    """The row hash (:func:`_hash`) of the codes of a block of columns (n, V, W, R) starting at
    column ``first``, broadcastable to (n, V, R).

    Notes
    -----
    A column whose code is one throughout the chunk (steady traffic: most of them, even where
    the values differ across replications by a few ulps) adds the same to every row: only the
    other columns are hashed row by row. The codes are monotone in the float64 bits read as
    int64, so a column has one code when its least and greatest bits do.
    """
    if block.strides[-1] == 0:  # every replication agrees: one hash per tick and variant
        return _hash(_quantize(block[..., 0]), axis=2, first=first)[..., None]
    bits = block.view(np.int64)
    least = np.right_shift(bits.min(axis=0).min(axis=-1), _DROP_BITS)  # (V, W) codes
    greatest = np.right_shift(bits.max(axis=0).max(axis=-1), _DROP_BITS)
    steady = (least == greatest).all(axis=0)  # (W,) columns with one code per variant
    keys = _hash(np.where(steady, least, 0), axis=1, first=first)[None, :, None]  # (1, V, 1)
    if steady.all():
        return keys
    moving = np.flatnonzero(~steady)
    part = block[:, :, moving]
    if (part[:1] == part[:1, ..., :1]).all() and (part == part[..., :1]).all():
        # every replication agrees (often): one hash per tick and variant
        return keys + _hash(_quantize(part[..., 0]), axis=2, first=first, at=moving)[..., None]
    return keys + _hash(_quantize(part), axis=2, first=first, at=moving)


def run_percentiles(run_acc: np.ndarray, total: np.ndarray) -> np.ndarray:
    """Whole-run quantiles from the accumulated survival, shape (R, len(RUN_PROBS)) [s]."""
    surv = run_acc / np.maximum(total[:, None], 1e-300)
    return grid_quantiles(surv, RUN_PROBS)
