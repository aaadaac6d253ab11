"""The tick loop: a time-stepped fluid queueing network, vectorized over variants x replications.

State arrays are shaped ``(V, S, K, R)`` (variants, stations, request classes, replications)
or ``(V, S, R)``; everything that does not depend on the state (arrival draws, incident masks,
steady-state cache hit ratios, prices, retry kernels) is precomputed in :mod:`.plan`. Per tick
and station:

    arrivals = routed + retries - fast failures (incidents, open breakers, rate limits)
    present  = backlog + arrivals                               [requests]
    served   = present * min(1, c tau / work)   work = sum_k present_k s_k   [server-s]
    backlog  = present - served - dropped       dropped = overflow of the waiting room

and the served requests still wanted (not timed out) go on to the next stations of their routes
in the same tick (cache hits leave). Failed attempts on an edge with retries come back later as
new arrivals at the same station, with no damping.

Wavefront. A station at route depth (level) L needs the output of level L - 1 *of the same
tick*, so a naive loop sweeps the levels one after another. Instead, iteration i processes
tick i - L at every station of level L at once: every station is handled by one vectorized
pass per iteration, and the levels are a pipeline. Forwarded requests wait in a small delivery
buffer for the iteration where their next station processes the same tick.
"""

from __future__ import annotations

import numpy as np

from simulations.engine import steps
from simulations.engine.plan import Plan
from simulations.engine.state import State

_TINY = 1e-12


def run_ticks(plan: Plan, st: State, stop: int, record) -> None:
    """Advance every station from tick ``st.tick`` to ``stop`` (exclusive).

    Parameters
    ----------
    plan : Plan
        Precomputed inputs.
    st : State
        Mutable state, consistent at tick ``st.tick`` (every station has done the ticks
        before it); advanced in place to a state consistent at ``stop``.
    stop : int
        First tick not simulated.
    record : callable
        ``record(i, out, state)`` receives iteration ``i``'s per-station outputs; station
        ``s`` reports its tick ``i - level[s]`` (see :class:`TickOut`).
    """
    start = st.tick
    lmax = plan.sweep.lmax
    st.ring_clean = not any(ring.any() for ring in st.ring)
    st.backlog_clear = not st.backlog.any()
    st.capacity = st.capacity_facts = None
    st.go_steady = False
    out = TickOut(plan)
    n_v, n_s, n_k, n_r = plan.shape
    # forwarded requests, by iteration slot (see sweep.Routing); slot i mod (lmax + 1) is the
    # inflow of iteration i, a (V, S, K, R) view
    deliveries = np.zeros((n_v, lmax + 1, n_s * n_k, n_r))
    for i in range(start, stop + lmax):
        ticks = i - plan.sweep.level  # (S,) tick of each station in this iteration
        edge = i < start + lmax or i >= stop
        saved = active = None
        if edge:  # head or tail of the wavefront: some stations sit this iteration out
            active = (ticks >= start) & (ticks < stop)
            idle = np.flatnonzero(~active)
            saved = st.station_snapshot(plan, idle, i)
        out.clear()
        inflow = deliveries[:, i % (lmax + 1)].reshape(plan.shape)
        _external(plan, st, i, start, stop, inflow, out)
        _sweep(plan, st, i, inflow, deliveries, out)
        inflow[:] = 0.0
        st.after_tick(plan, i, out, active)
        if saved is not None:
            st.station_restore(plan, idle, saved, i)
            st.backlog_clear = not st.backlog.any()
            out.blank(idle)
        record(i, out, st)
    st.tick = stop


def _external(plan: Plan, st: State, i: int, start: int, stop: int, inflow, out) -> None:
    """New arrivals at the stations where routes begin, each at its own tick.

    Closed-loop users (``think_time_s``) waiting to retry send nothing new: see
    :func:`_thinking_share`. ``out.entered`` records what entered, per station.
    """
    closed = plan.scenario.think_time_s is not None and not st.ring_clean
    for level, stations, entry in plan.sweep.entries:
        t = i - level
        if start <= t < stop:
            arrivals = plan.arrivals[t][None, None]  # (1, 1, K, R)
            if closed:
                arrivals = arrivals * _thinking_share(plan, st, t)[:, None]
            entering = entry * arrivals
            inflow[:, stations] += entering
            out.entered[:, stations] = entering.sum(axis=2)


def _thinking_share(plan: Plan, st: State, t: int) -> np.ndarray:
    """Share of closed-loop users free to send a new request in tick ``t``, (V, K, R) [-].

    The curve's rate lambda(t) is that of N = lambda(t) Z users who think for Z between calls
    (interactive response-time law, N = X (R + Z), with R small next to Z). A user whose call
    failed and who waits out a timeout or a backoff before retrying is not thinking, so new
    requests fall to lambda (1 - P / N) with P the retries pending in the rings. Backoff
    thereby lowers the offered load of a closed population, which it cannot do for open-loop
    arrivals (Schroeder, Wierman and Harchol-Balter, "Open versus closed: a cautionary tale",
    NSDI 2006; Brooker, "What is backoff for?", 2022).
    """
    pending = sum(ring.sum(axis=(0, 1, 3)) for ring in st.ring)  # (V, K, R) [users]
    users = plan.rates[t] * plan.scenario.think_time_s  # (K,) [users]
    with np.errstate(divide="ignore", invalid="ignore"):
        busy = np.where(users[:, None] > 0, pending / users[:, None], 0.0)
    return np.minimum(np.maximum(1.0 - busy, 0.0), 1.0)  # np.clip's values, without its wrapper


def _sweep(plan: Plan, st: State, i: int, inflow, deliveries, out) -> None:
    """Serve every station for its tick of iteration ``i`` and deliver its output."""
    sw = plan.sweep
    n_v, n_s, n_k, n_r = plan.shape
    tau = plan.tick_s
    servers, cap, finite_servers, empty_pool = _capacity(plan, st, i)
    go = plan.cont4
    if plan.net.caches:
        go = st.go
        # without flushes every cache stays warm at its steady ratio: go and out.hit only
        # change with it
        if plan.skew.any_flush or plan.skew.hit_moves[i] or not st.go_steady:
            hit, miss = st.cache_hit(plan, i)  # (V, C, R) or (V, C, 1)
            go[:, plan.net.caches] = plan.cont4[:, plan.net.caches] * miss[:, :, None, :]
            out.hit[:] = hit
            st.go_steady = not plan.skew.any_flush
    if plan.skew.any_read_ratio[i]:  # replicas down or promoted: reads follow the live ones
        split = plan.read_split
        inflow[:, split.stations[:, None], split.classes[None, :]] *= plan.skew.read_ratio[i][
            :, :, None, None
        ]
    arr = inflow
    routed = arr
    if sw.retry is not None:
        retry_now = st.take_retries(sw, i)  # (A-1, V, n_retry, K, R)
        if not st.ring_clean:  # else no retry is due
            arr = arr.copy()
            arr[:, sw.retry.local] += retry_now.sum(axis=0)
    arrived = arr
    fails = {}  # cause -> (V, S, K, R) failed attempts of this iteration
    breaking = sw.breaker and st.breaker_active(sw)
    if breaking:  # turned away before the call is made
        fails["rejected"] = arr * st.breaker_reject(plan, sw, arr)[:, :, None]
        arr = arr - fails["rejected"]
    rows = i - sw.level
    if i < sw.lmax or i >= plan.n_ticks:  # only the wavefront's edges reach outside the run
        rows = np.clip(rows, 0, plan.n_ticks - 1)
    ratio = plan.ratio[rows, :, :]  # (S, K, R)
    shed = st.limiter_shed(plan, sw, arr, ratio) if sw.limiter else None
    if shed is not None:
        stations, share = shed
        fails["shed"] = np.zeros_like(arr)
        fails["shed"][:, stations] = arr[:, stations] * share[:, :, None]
        arr = arr - fails["shed"]
    refused = plan.skew.error[i][:, :, None] * 1.0 if plan.skew.any_error[i] else None
    if empty_pool:  # every instance gone: connections refused
        empty = (servers == 0).astype(float)
        refused = empty if refused is None else np.maximum(refused, empty)
    if refused is not None:  # down, misrouted or failing instances answer with errors
        fails["dependency"] = arr * refused[:, :, None, :]
        arr = arr - fails["dependency"]
    slow = plan.skew.slow[i][:, :, None]
    weighted = arr * ratio[None]  # intensity, not the realized count
    moments = np.einsum("vskr,mvsk->mvsr", weighted, sw.moments)  # sum_k lambda_k E[S_k^m]
    if plan.skew.any_slow[i]:
        np.multiply(moments[0], 1.0 / tau, out=out.lam)
        np.multiply(moments[1], slow / tau, out=out.load)
        np.multiply(moments[2], slow**2 / tau, out=out.m2)
    else:  # no slowdown anywhere: slow / tau = slow**2 / tau = 1 / tau
        np.multiply(moments, 1.0 / tau, out=out.moments)
    live = _queue(plan, st, sw, i, arr, (servers, cap, finite_servers), slow, out, fails)
    forward = live * go
    steps.sum_classes(live - forward, out=out.success)
    sw.routing.deliver(i, forward.reshape(n_v, n_s * n_k, n_r), deliveries.reshape(n_v, -1, n_r))
    if sw.writes is not None:
        if plan.write_class is None:  # a mix without writes: replicas have nothing to apply
            out.writes[:, sw.writes] = 0.0
        else:
            out.writes[:, sw.writes] = live[:, sw.writes, plan.write_class]
        out.replica_reads[:, sw.replica_reads] = live[:, sw.replica_reads][
            :, :, plan.read_classes
        ].sum(axis=2)
    retry_share = None
    if sw.retry is not None and any(
        fails[c][:, sw.retry.local].any() for c in steps.RETRIED if c in fails
    ):  # only when a retry station failed something this tick
        retry_share = st.schedule_retries(plan, sw, i, routed, retry_now, arrived, fails, out)
    if sw.breaker and (breaking or fails):
        st.breaker_update(plan, sw, arrived, fails, out)
    steps.count_errors(sw, fails, retry_share, out)


def _capacity(plan: Plan, st: State, i: int) -> tuple:
    """Servers (V, S, R), capacity per tick ``servers x tau`` [server-s], the servers with 0 for
    pure delays, and whether some queueing station has none; reused while the servers are."""
    servers = st.servers(plan, i)
    if st.capacity_facts is None or st.capacity_facts[0] is not servers:
        st.capacity_facts = (
            servers,
            servers * plan.tick_s,
            np.where(np.isfinite(servers), servers, 0.0),
            plan.sweep.can_empty and bool((servers == 0).any()),
        )
    return st.capacity_facts


def _queue(plan, st, sw, i, arr, capacity, slow, out, fails):
    """Queue and serve at every station; returns the served requests still wanted."""
    servers, cap, finite_servers = capacity
    room = st.qcap  # waiting room [requests]
    if sw.shedding:
        room = np.minimum(room, steps.shedding_room(sw, servers, out.lam, out.load))
    out.room[:] = room
    blocked = steps.stationary_blocking(plan, sw, servers, out.load, out.lam, room)
    if blocked is not None:
        fails["blocked"] = arr * blocked[:, :, None]
        arr = arr - fails["blocked"]
    if st.backlog_clear:  # nothing waits anywhere: what is present is what arrived
        q_start = np.zeros(servers.shape)
        present = arr
    else:
        q_start = steps.sum_classes(st.backlog)
        present = st.backlog + arr
    dooming = sw.timeout and steps.doom_possible(sw, servers, q_start, out.load, slow)
    if dooming:
        fails["timeout"] = arr * steps.doomed_share(plan, sw, servers, q_start, out, slow, room)
    work = np.einsum("vskr,vsk->vsr", present, sw.svc)
    if plan.skew.any_slow[i]:
        work *= slow
    frac = np.minimum(1.0, cap / np.maximum(work, _TINY))
    if frac.min() == 1.0:  # every station serves all it has (present x 1 - present = 0)
        served, rest = present, None
        rest_total = np.zeros(frac.shape)
    else:
        served = present * frac[:, :, None]
        rest = present - served
        rest_total = steps.sum_classes(rest)
    timing = dooming or (sw.timeout and st.doomed.any())
    share = 0.0  # of the requests present, those whose caller already gave up
    if timing:
        doomed = st.doomed + (fails["timeout"].sum(axis=2) if dooming else 0.0)
        share = np.minimum(doomed / np.maximum(present.sum(axis=2), _TINY), 1.0)[:, :, None]
    excess = np.maximum(rest_total - room, 0.0)
    if excess.any():
        if rest is None:
            rest = np.zeros(present.shape)
        drop_frac = excess / np.maximum(rest_total, _TINY)
        dropped = rest * drop_frac[:, :, None]
        # a dropped request that had already timed out was counted then; not again
        lost = dropped * (1.0 - share)
        if sw.shedding:  # shed where the station sheds load, dropped elsewhere
            shedder = sw.shed_finite[..., None]  # (V, S, 1, 1)
            fails["shed_queue"] = lost * shedder
            fails["dropped"] = lost * ~shedder
        else:
            fails["dropped"] = lost
        rest = rest - dropped
        rest_total = rest_total - excess
    else:
        drop_frac = 0.0
    if rest is not None:
        st.backlog = rest
    elif not st.backlog_clear:  # the last of it left this tick (else it is zeros already)
        st.backlog = np.zeros(present.shape)
    st.backlog_clear = rest is None
    live = served
    if timing:
        live = served * (1.0 - share)
        st.doomed = doomed * (1.0 - frac) * (1.0 - drop_frac)
    np.multiply(q_start + rest_total, 0.5, out=out.qmid)
    out.backlog[:] = rest_total
    np.divide(np.minimum(work, cap), np.maximum(cap, _TINY), out=out.util)
    out.util[:, sw.delay_idx] = 0.0
    out.servers[:] = finite_servers
    return live


class TickOut:
    """One iteration's per-station outputs, as views into one stacked array (reused)."""

    # the fields zeroed every iteration come first, so clearing them is one slice
    ZEROED = (
        "entered",  # new requests from clients [requests]
        "success",
        "dependency",
        "dropped",
        "timeout",
        "shed",
        "duplicates",  # [requests]
        "writes",
        "replica_reads",
        "dead_letters",  # jobs that failed max_receives times [requests]
    )
    FIELDS = (
        *ZEROED,
        "lam",  # intensity of arrivals [1/s]
        "load",  # offered load [Erlang]
        "m2",  # sum_k lambda_k E[S_k^2] [s]
        "qmid",  # mean fluid backlog over the tick [requests]
        "backlog",  # fluid backlog at the end of the tick [requests]
        "util",
        "servers",
        "room",
        "breaker_open",
        "lag",
        "booting",
        "instances",
        "fluid",
    )

    def __init__(self, plan: Plan):
        n_v, n_s, _n_k, n_r = plan.shape
        self.stack = np.zeros((len(self.FIELDS), n_v, n_s, n_r))
        for j, name in enumerate(self.FIELDS):
            setattr(self, name, self.stack[j])
        self.hit = np.zeros((n_v, len(plan.net.caches), n_r))
        lam = self.FIELDS.index("lam")
        self.moments = self.stack[lam : lam + 3]  # lam, load, m2 (consecutive in FIELDS)

    def clear(self) -> None:
        self.stack[: len(self.ZEROED)] = 0.0

    def blank(self, stations: np.ndarray) -> None:
        """Stations that sat the iteration out report nothing."""
        self.stack[:, :, stations] = 0.0
