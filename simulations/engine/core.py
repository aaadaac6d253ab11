"""The tick loop: a time-stepped fluid queueing network, vectorized over variants x replications.

State arrays are shaped ``(V, S, K, R)`` (variants, stations, request classes, replications)
or ``(V, S, R)``; everything that does not depend on the state (arrival draws, incident masks,
steady-state cache hit ratios, prices, retry kernels) is precomputed in :mod:`.plan` before the
loop. Each tick sweeps the station levels once:

    arrivals = routed + retries - fast failures (incidents, open breakers, rate limits)
    present  = backlog + arrivals                               [requests]
    served   = present * min(1, c tau / work)   work = sum_k present_k s_k   [server-s]
    backlog  = present - served - dropped       dropped = overflow of the waiting room

and forwards the served requests that are still wanted (not timed out) to the next stations of
their routes (cache hits leave). Failed attempts on an edge with retries come back later as
new arrivals at the same station, with no damping.
"""

from __future__ import annotations

import numpy as np

from simulations.engine import steps
from simulations.engine.plan import Plan
from simulations.engine.state import State

_TINY = 1e-12


def run_ticks(plan: Plan, st: State, stop: int, record) -> None:
    """Advance ``st`` from tick ``st.tick`` to ``stop`` (exclusive), calling ``record``.

    Parameters
    ----------
    plan : Plan
        Precomputed inputs.
    st : State
        Mutable state; advanced in place.
    stop : int
        First tick not simulated.
    record : callable
        ``record(t, out, state)`` receives this tick's outputs (see :class:`TickOut`).
    """
    net = plan.net
    n_v, n_s, n_k, n_r = plan.shape
    inflow = np.zeros((n_v, n_s, n_k, n_r))
    out = TickOut(n_v, n_s, n_r, len(net.caches))
    go_buf = np.repeat(plan.cont4, n_r, axis=3)
    for t in range(st.tick, stop):
        out.clear()
        np.multiply(plan.entry4, plan.arrivals[t][None, None], out=inflow)
        servers = st.servers(plan, t)  # (V, S, R)
        go = plan.cont4
        if net.caches:
            hit, miss = st.cache_hit(plan, t)  # (V, C, R)
            go = go_buf
            go[:, net.caches] = plan.cont4[:, net.caches] * miss[:, :, None, :]
            out.hit[:] = hit
        for level in plan.levels:
            _sweep(plan, st, level, t, inflow, servers, go, out)
        st.after_tick(plan, t, out)
        record(t, out, st)
        st.tick = t + 1


def _sweep(plan: Plan, st: State, level, t: int, inflow, servers, go, out) -> None:
    """Serve one level of stations for tick ``t`` and forward its output downstream."""
    n_v, n_s, n_k, n_r = plan.shape
    tau = plan.tick_s
    a, b = level.start, level.stop
    arr = inflow[:, a:b]
    routed = arr
    if level.retry is not None:
        retry_now = st.take_retries(level, t)  # (A-1, V, n_retry, K, R)
        arr = arr.copy()
        arr[:, level.retry.local] += retry_now.sum(axis=0)
    arrived = arr
    fails = {}  # cause -> (V, n, K, R) failed attempts of this tick
    breaking = level.breaker and st.breaker_active(level)
    if breaking:  # turned away before the call is made
        fails["rejected"] = arr * st.breaker_reject(plan, level, arr)[:, :, None]
        arr = arr - fails["rejected"]
    if level.limiter:
        fails["shed"] = arr * st.limiter_shed(plan, level, arr)[:, :, None]
        arr = arr - fails["shed"]
    if level.any_error[t]:  # down, misrouted or failing instances answer with errors
        fails["dependency"] = arr * plan.timeline.error[t][:, a:b, None, None]
        arr = arr - fails["dependency"]
    slow = plan.timeline.slow[t][:, a:b, None]
    weighted = arr * plan.ratio[t][None, None]  # intensity, not the realized count
    out.lam[:, a:b] = weighted.sum(axis=2) / tau
    out.load[:, a:b] = np.einsum("vnkr,vnk->vnr", weighted, level.svc) * (slow / tau)
    out.m2[:, a:b] = np.einsum("vnkr,vnk->vnr", weighted, level.svc2) * (slow**2 / tau)
    live = arr if level.delay else _queue(plan, st, level, t, arr, servers, slow, out, fails)
    forward = live * go[:, a:b]
    out.success += (live - forward).sum(axis=(1, 2))
    if level.route is not None:
        moved = np.matmul(level.route, forward.reshape(n_v, -1, n_r))
        inflow[:, b:] += moved.reshape(n_v, n_s - b, n_k, n_r)
    if level.writes is not None:
        out.writes[:, level.writes] = live[:, level.writes - a, plan.write_class]
    if level.replica_reads is not None:
        out.replica_reads[:, level.replica_reads] = live[:, level.replica_reads - a][
            :, :, plan.read_classes
        ].sum(axis=2)
    retry_share = None
    if level.retry is not None and fails:
        retry_share = st.schedule_retries(plan, level, t, routed, retry_now, arrived, fails, out)
    if level.breaker and (breaking or fails):
        st.breaker_update(plan, level, arrived, fails, out)
    steps.count_errors(level, fails, retry_share, out)


def _queue(plan, st, level, t, arr, servers, slow, out, fails):
    """Queue and serve at the level's stations; returns the served requests still wanted."""
    a, b = level.start, level.stop
    tau = plan.tick_s
    total = servers[:, a:b]
    room = st.qcap[:, a:b]  # waiting room [requests]
    if level.shedding:
        # load shedding keeps the predicted queue wait under shed_after: the room is what the
        # servers drain in that time, total / E[S] x shed_after [requests]
        with np.errstate(invalid="ignore", divide="ignore"):
            drain = total * out.lam[:, a:b] / out.load[:, a:b]
            shed_room = np.where(
                np.isfinite(level.shed_s)[:, :, None],
                level.shed_s[:, :, None] * np.nan_to_num(drain, nan=np.inf),
                np.inf,
            )
        room = np.minimum(room, shed_room)
    out.room[:, a:b] = room
    blocked = steps.stationary_blocking(plan, level, total, out.load, out.lam, room)
    if blocked is not None:
        fails["blocked"] = arr * blocked[:, :, None]
        arr = arr - fails["blocked"]
    backlog = st.backlog[:, a:b]
    q_start = backlog.sum(axis=2)
    dooming = level.timeout and steps.doom_possible(level, total, q_start, out.load, slow)
    if dooming:
        fails["timeout"] = arr * steps.doomed_share(plan, level, total, q_start, out, slow, room)
    present = backlog + arr
    work = np.einsum("vnkr,vnk->vnr", present, level.svc) * slow
    cap = total * tau
    frac = np.minimum(1.0, cap / np.maximum(work, _TINY))
    served = present * frac[:, :, None]
    rest = present - served
    rest_total = rest.sum(axis=2)
    excess = np.maximum(rest_total - room, 0.0)
    if excess.any():
        drop_frac = excess / np.maximum(rest_total, _TINY)
        dropped = rest * drop_frac[:, :, None]
        fails["shed_queue" if level.shedding else "dropped"] = dropped
        rest = rest - dropped
        rest_total = rest_total - excess
    else:
        drop_frac = 0.0
    st.backlog[:, a:b] = rest
    live = served
    if dooming or (level.timeout and st.doomed[:, a:b].any()):
        doomed = st.doomed[:, a:b] + (fails["timeout"].sum(axis=2) if dooming else 0.0)
        share = doomed / np.maximum(present.sum(axis=2), _TINY)
        live = served * (1.0 - np.minimum(share, 1.0))[:, :, None]
        st.doomed[:, a:b] = doomed * (1.0 - frac) * (1.0 - drop_frac)
    out.qmid[:, a:b] = 0.5 * (q_start + rest_total)
    out.backlog[:, a:b] = rest_total
    out.util[:, a:b] = np.minimum(work, cap) / np.maximum(cap, _TINY)
    out.servers[:, a:b] = total
    return live


class TickOut:
    """Buffers one tick's outputs (reused across ticks)."""

    TOTALS = ("success", "dependency", "dropped", "timeout", "shed", "duplicates")

    def __init__(self, n_v: int, n_s: int, n_r: int, n_c: int):
        for name in self.TOTALS:
            setattr(self, name, np.zeros((n_v, n_r)))
        self.lam = np.zeros((n_v, n_s, n_r))  # intensity of arrivals [1/s]
        self.load = np.zeros((n_v, n_s, n_r))  # offered load [Erlang]
        self.m2 = np.zeros((n_v, n_s, n_r))  # sum_k lambda_k E[S_k^2] [s]
        self.qmid = np.zeros((n_v, n_s, n_r))  # mean backlog over the tick [requests]
        self.backlog = np.zeros((n_v, n_s, n_r))  # backlog at the end of the tick
        self.util = np.zeros((n_v, n_s, n_r))
        self.servers = np.zeros((n_v, n_s, n_r))
        self.hit = np.zeros((n_v, n_c, n_r))
        self.writes = np.zeros((n_v, n_s, n_r))  # writes committed at database primaries
        self.replica_reads = np.zeros((n_v, n_s, n_r))  # reads served by replicas
        self.breaker_open = np.zeros((n_v, n_s, n_r))  # 1 while a breaker rejects
        self.lag = np.zeros((n_v, n_s, n_r))  # replica lag at database primaries [s]
        self.booting = np.zeros((n_v, n_s, n_r))  # instances starting [instances]
        self.room = np.full((n_v, n_s, n_r), np.inf)  # waiting room used this tick

    def clear(self) -> None:
        for name in self.TOTALS:
            getattr(self, name)[:] = 0.0
