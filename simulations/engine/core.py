"""The tick loop: a time-stepped fluid queueing network, vectorized over variants x replications.

State arrays are shaped ``(V, S, K, R)`` (variants, stations, request classes, replications)
or ``(V, S, R)``; everything that does not depend on the state (arrival draws, incident masks,
steady-state cache hit ratios, prices) is precomputed in :mod:`simulations.engine.plan` before
the loop. Each tick sweeps the station levels once:

    present = backlog + arrivals                       [requests]
    served  = present * min(1, c tau / work)           work = sum_k present_k s_k  [server-s]
    backlog = present - served - dropped               dropped = overflow above the waiting room

and forwards served requests to the next stations of their routes (cache hits leave).
"""

from __future__ import annotations

import numpy as np

from simulations.engine.plan import Plan
from simulations.engine.queueing import fill_fraction, finite_queue
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
    tau = plan.tick_s
    inflow = np.zeros((n_v, n_s, n_k, n_r))
    out = TickOut(n_v, n_s, n_r, len(net.caches))
    for t in range(st.tick, stop):
        out.clear()
        ext = plan.arrivals[t]  # (K, R)
        np.multiply(plan.entry4, ext[None, None], out=inflow)
        ratio = plan.ratio[t]  # (K, R): intensity / realized count
        servers = st.servers(plan, t)  # (V, S, R)
        go = plan.cont4
        if net.caches:
            hit, miss = st.cache_hit(plan, t)  # (V, C, R)
            go = np.repeat(plan.cont4, n_r, axis=3)
            go[:, net.caches] = plan.cont4[:, net.caches] * miss[:, :, None, :]
            out.hit[:] = hit
        error = plan.timeline.error[t]  # (V, S)
        slow = plan.timeline.slow[t]  # (V, S)
        for level in plan.levels:
            a, b = level.start, level.stop
            arr = inflow[:, a:b]
            if level.any_error[t]:
                fail = arr * error[:, a:b, None, None]
                out.dependency += fail.sum(axis=(1, 2))
                arr = arr - fail
            weighted = arr * ratio[None, None]
            out.lam[:, a:b] = weighted.sum(axis=2) / tau
            out.load[:, a:b] = np.einsum("vnkr,vnk->vnr", weighted, level.svc) * (
                slow[:, a:b, None] / tau
            )
            out.m2[:, a:b] = np.einsum("vnkr,vnk->vnr", weighted, level.svc2) * (
                slow[:, a:b, None] ** 2 / tau
            )
            if level.delay:
                served = arr
                out.util[:, a:b] = 0.0
            else:
                blocked = _stationary_blocking(plan, st, level, servers, out.load, out.lam)
                if blocked is not None:
                    lost = arr * blocked[:, :, None]
                    out.dropped += lost.sum(axis=(1, 2))
                    arr = arr - lost
                q_start = st.backlog[:, a:b].sum(axis=2)
                present = st.backlog[:, a:b] + arr
                work = np.einsum("vnkr,vnk->vnr", present, level.svc) * slow[:, a:b, None]
                cap = servers[:, a:b] * tau
                frac = np.minimum(1.0, cap / np.maximum(work, _TINY))
                served = present * frac[:, :, None]
                rest = present - served
                rest_total = rest.sum(axis=2)
                excess = np.maximum(rest_total - st.qcap[:, a:b], 0.0)
                drop_frac = excess / np.maximum(rest_total, _TINY)
                dropped = rest * drop_frac[:, :, None]
                out.dropped += excess.sum(axis=1)
                st.backlog[:, a:b] = rest - dropped
                q_end = rest_total - excess
                out.qmid[:, a:b] = 0.5 * (q_start + q_end)
                out.backlog[:, a:b] = q_end
                out.util[:, a:b] = np.minimum(work, cap) / np.maximum(cap, _TINY)
                out.servers[:, a:b] = servers[:, a:b]
            forward = served * go[:, a:b]
            out.success += (served - forward).sum(axis=(1, 2))
            if level.route is not None:
                moved = np.matmul(level.route, forward.reshape(n_v, -1, n_r))
                inflow[:, b:] += moved.reshape(n_v, n_s - b, n_k, n_r)
        st.after_tick(plan, t, out)
        record(t, out, st)
        st.tick = t + 1


def _stationary_blocking(plan, st, level, servers, load, lam) -> np.ndarray | None:
    """Fraction of a level's arrivals that find a finite waiting room full (M/M/c/K).

    Returns ``None`` when that fraction is negligible everywhere (the common case), so the
    M/M/c/K evaluation is skipped.

    Notes
    -----
    Below saturation the stationary p_K applies. Above it the stationary law is weighted by
    how much of the room one tick fills (``fill_fraction``), so a large room shows its
    transient fill (the fluid backlog) first.
    """
    a, b = level.start, level.stop
    total = servers[:, a:b]
    rho = load[:, a:b] / np.maximum(total, _TINY)
    group = np.where(level.pooled[:, :, None], total, level.per_instance[:, :, None])
    room = st.qcap[:, a:b] * group / np.maximum(total, _TINY)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        if not np.any((rho**room > 1e-7) & (total > 0)):
            return None
        p_block = finite_queue(group, rho, room, np.ones_like(rho))[0]
        weight = fill_fraction(lam[:, a:b], rho, st.qcap[:, a:b], plan.tick_s)
    return np.where(total > 0, weight * p_block, 0.0)


class TickOut:
    """Buffers one tick's outputs (reused across ticks)."""

    def __init__(self, n_v: int, n_s: int, n_r: int, n_c: int):
        self.success = np.zeros((n_v, n_r))
        self.dependency = np.zeros((n_v, n_r))
        self.dropped = np.zeros((n_v, n_r))
        self.timeout = np.zeros((n_v, n_r))
        self.shed = np.zeros((n_v, n_r))
        self.lam = np.zeros((n_v, n_s, n_r))  # intensity of arrivals [1/s]
        self.load = np.zeros((n_v, n_s, n_r))  # offered load [Erlang]
        self.m2 = np.zeros((n_v, n_s, n_r))  # sum_k lambda_k E[S_k^2] [s]
        self.qmid = np.zeros((n_v, n_s, n_r))  # mean backlog over the tick [requests]
        self.backlog = np.zeros((n_v, n_s, n_r))  # backlog at the end of the tick
        self.util = np.zeros((n_v, n_s, n_r))
        self.servers = np.zeros((n_v, n_s, n_r))
        self.hit = np.zeros((n_v, n_c, n_r))

    def clear(self) -> None:
        for arr in (self.success, self.dependency, self.dropped, self.timeout, self.shed):
            arr[:] = 0.0
