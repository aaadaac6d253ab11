"""Collects per-tick outputs during the loop and turns them into a :class:`SimulationResult`."""

from __future__ import annotations

import numpy as np

from simulations.engine.costs import HOURS_PER_MONTH
from simulations.engine.events import state_events
from simulations.engine.network import POOL_TYPES
from simulations.engine.percentiles import RUN_PROBS, chunk_percentiles, run_percentiles
from simulations.engine.result import Band, Event, SimulationResult, VariantResult

CHUNK = 256  # ticks per latency batch: bounds the memory of the latency buffers


class _ChunkBuffers:
    def __init__(self, n_v: int, n_s: int, n_r: int, n_c: int):
        shape = (CHUNK, n_v, n_s, n_r)
        self.lam, self.load, self.m2 = np.zeros(shape), np.zeros(shape), np.zeros(shape)
        self.servers, self.qmid, self.qend = np.zeros(shape), np.zeros(shape), np.zeros(shape)
        self.room = np.zeros(shape)
        self.hit = np.zeros((CHUNK, n_v, n_c, n_r))


class Recorder:
    """Receives :class:`simulations.engine.core.TickOut` each tick (see ``run_ticks``)."""

    def __init__(self, plan):
        self.plan = plan
        n_v, n_s, _n_k, n_r = plan.shape
        n_t, n_c = plan.n_ticks, len(plan.net.caches)
        self.totals = {
            name: np.zeros((n_t, n_v, n_r))
            for name in (
                "success",
                "timeout",
                "dropped",
                "shed",
                "dependency",
                "duplicates",
                "spend",
                "request_spend",
            )
        }
        self.util = np.zeros((n_t, n_v, n_s, n_r), np.float32)
        self.arrivals = np.zeros((n_t, n_v, n_s, n_r), np.float32)
        self.backlog = np.zeros((n_t, n_v, n_s, n_r), np.float32)  # waiting [requests]
        self.station_flight = np.zeros((n_t, n_v, n_s, n_r), np.float32)
        self.fluid_flight = np.zeros((n_t, n_v, n_r))
        self.qend_total = np.zeros((n_t, n_v, n_r))
        self.instances = np.zeros((n_t, n_v, n_s, n_r), np.float32)
        self.hit = np.zeros((n_t, n_v, n_c, n_r), np.float32)
        self.booting = np.zeros((n_t, n_v, n_s, n_r), np.float32)
        self.lag = np.zeros((n_t, n_v, len(plan.replicated), n_r), np.float32)
        self.breaker = np.zeros((n_t, n_v, n_s), np.float32)  # replication 0
        self.breaker_all = np.zeros((n_t, n_v, n_s, n_r), np.float32)
        self.latency = {name: np.zeros((n_t, n_v, n_r)) for name in ("p50", "p95", "p99", "mean")}
        self.run_acc = np.zeros((n_v, n_r, 160))
        self.buf = _ChunkBuffers(n_v, n_s, n_r, n_c)
        self.chunk_start = 0
        self.instances_now = None

    def record(self, t: int, out, state) -> None:
        plan = self.plan
        for name in ("success", "timeout", "dropped", "shed", "dependency", "duplicates"):
            self.totals[name][t] = getattr(out, name)
        self.util[t] = out.util
        self.arrivals[t] = out.lam
        self.fluid_flight[t] = state.in_flight()
        self.instances[t] = state.instances
        self.booting[t] = out.booting
        self.lag[t] = out.lag[:, plan.replicated]
        self.breaker[t] = out.breaker_open[:, :, 0]
        self.breaker_all[t] = out.breaker_open
        self.hit[t] = out.hit
        # booting instances are billed too
        hourly = plan.net.hourly_usd[:, :, None] + plan.net.instance_usd[:, :, None] * (
            state.instances + out.booting - plan.net.instances[:, :, None]
        )
        per_request = (out.lam * plan.net.request_usd[:, :, None]).sum(axis=1) * plan.tick_s
        self.totals["spend"][t] = hourly.sum(axis=1) * plan.tick_s / 3600.0 + per_request
        self.totals["request_spend"][t] = per_request
        i = t - self.chunk_start
        buf = self.buf
        buf.lam[i], buf.load[i], buf.m2[i] = out.lam, out.load, out.m2
        buf.servers[i], buf.qmid[i], buf.hit[i] = out.servers, out.qmid, out.hit
        buf.qend[i] = out.backlog
        buf.room[i] = out.room
        self.qend_total[t] = out.backlog.sum(axis=1)
        if i + 1 == CHUNK or t + 1 == plan.n_ticks:
            self._flush_chunk(t + 1)

    def _flush_chunk(self, stop: int) -> None:
        ticks = slice(self.chunk_start, stop)
        n = stop - self.chunk_start
        view = _ChunkView(self.buf, n)
        for v in range(self.plan.shape[0]):
            q = chunk_percentiles(self.plan, v, view, ticks, self.run_acc[v])
            for name in ("p50", "p95", "p99", "mean"):
                self.latency[name][ticks, v] = q[name]
            self.backlog[ticks, v] = q["waiting"]
            self.station_flight[ticks, v] = q["waiting"] + q["in_service"]
        self.chunk_start = stop

    def finish(self, state, engine_version: str) -> SimulationResult:
        plan = self.plan
        n_v, _n_s, _n_k, n_r = plan.shape
        offered = plan.arrivals.sum(axis=1)  # (T, R)
        variants = [self._variant(v, offered, state) for v in range(n_v)]
        times = np.arange(plan.n_ticks) * plan.tick_s
        return SimulationResult(
            engine_version=engine_version,
            tick_s=plan.tick_s,
            times_s=times,
            replications=n_r,
            variants=variants,
        )

    def _variant(self, v: int, offered: np.ndarray, state) -> VariantResult:
        plan, net, tau = self.plan, self.plan.net, self.plan.tick_s
        tot = {k: a[:, v] for k, a in self.totals.items()}
        # The fluid counts finish a request in the tick it is served; requests in service and
        # in the stationary queue (L = lambda W, by Little's law) are still in flight. Moving
        # them out of "succeeded" until they leave keeps offered = succeeded + failed + in
        # flight exact, tick by tick.
        hidden = self.station_flight[:, v].sum(axis=1) - self.backlog_fluid(v)
        hidden = np.maximum(hidden, 0.0)
        # ... but a request cannot "un-succeed": when the stationary part grows faster than
        # requests finish (overload), it stops growing, so success per tick stays >= 0.
        done = np.cumsum(tot["success"], axis=0)
        slack = np.minimum.accumulate(np.minimum(hidden - done, 0.0), axis=0)
        hidden = slack + done
        tot["success"] = -np.diff(slack, axis=0, prepend=0.0)
        in_flight = self.fluid_flight[:, v] + hidden
        errors = tot["timeout"] + tot["dropped"] + tot["shed"] + tot["dependency"]
        series = {
            "offered_rps": Band.over_replications(offered / tau),
            "success_rps": Band.over_replications(tot["success"] / tau),
            "error_rps": Band.over_replications(errors / tau),
            "errors_timeout_rps": Band.over_replications(tot["timeout"] / tau),
            "errors_dropped_rps": Band.over_replications(tot["dropped"] / tau),
            "errors_shed_rps": Band.over_replications(tot["shed"] / tau),
            "errors_dependency_rps": Band.over_replications(tot["dependency"] / tau),
            "spend_usd": Band.over_replications(np.cumsum(tot["spend"], axis=0)),
            "in_flight": Band.over_replications(in_flight),
        }
        for name in ("p50", "p95", "p99", "mean"):
            series[f"latency_{name}_ms"] = Band.over_replications(self.latency[name][:, v] * 1e3)
        for s, station in enumerate(net.stations):
            if not net.present[v, s]:
                continue
            name = station.key
            if not net.delay[s]:
                series[f"utilization:{name}"] = Band.over_replications(self.util[:, v, s])
                series[f"backlog:{name}"] = Band.over_replications(self.backlog[:, v, s])
            series[f"in_flight:{name}"] = Band.over_replications(self.station_flight[:, v, s])
            series[f"load_rps:{name}"] = Band.over_replications(self.arrivals[:, v, s])
            if station.comp_type in POOL_TYPES and station.role == "main":
                series[f"instances:{name}"] = Band.over_replications(self.instances[:, v, s])
                series[f"booting:{name}"] = Band.over_replications(self.booting[:, v, s])
            if self.breaker[:, v, s].any() or plan.policies.breaker[v, s]:
                series[f"breaker_open:{name}"] = Band.over_replications(self.breaker_all[:, v, s])
            if net.cache_of[s] >= 0:
                series[f"hit_ratio:{name}"] = Band.over_replications(
                    self.hit[:, v, net.cache_of[s]]
                )
        for j, s in enumerate(plan.replicated):
            if net.present[v, plan.replica_of[j]]:
                key = net.stations[s].key
                series[f"replica_lag_s:{key}"] = Band.over_replications(self.lag[:, v, j])
        failed = errors.sum(axis=0)
        run_q = run_percentiles(self.run_acc[v], offered.sum(axis=0))
        per_rep = {
            "offered": offered.sum(axis=0),
            "succeeded": tot["success"].sum(axis=0),
            "failed": failed,
            "in_flight": in_flight[-1],
            "errors_timeout": tot["timeout"].sum(axis=0),
            "errors_dropped": tot["dropped"].sum(axis=0),
            "errors_shed": tot["shed"].sum(axis=0),
            "errors_dependency": tot["dependency"].sum(axis=0),
            "spend_usd": tot["spend"].sum(axis=0),
            "latency_mean_ms": _weighted_mean(self.latency["mean"][:, v], offered) * 1e3,
            "duplicate_writes": tot["duplicates"].sum(axis=0),
            "stale_reads": state.counters[1, v].copy(),
            "writes_lost": state.counters[2, v].copy(),
        }
        for i, p in enumerate(RUN_PROBS):
            per_rep[f"latency_p{p * 100:g}_ms"] = run_q[:, i] * 1e3
        request_usd_per_h = tot["request_spend"].mean() * 3600 / tau
        monthly = (net.hourly_usd[v].sum() + request_usd_per_h) * HOURS_PER_MONTH
        events = [Event(*e) for e in plan.timeline.events[v]]
        events += state_events(
            plan, v, self.util[:, v, :, 0], self.instances[:, v, :, 0], self.breaker[:, v]
        )
        events.sort(key=lambda e: (e.t_s, e.kind))
        return VariantResult(
            series=series, per_replication=per_rep, events=events, monthly_cost_usd=float(monthly)
        )

    def backlog_fluid(self, v: int) -> np.ndarray:
        """Fluid backlog summed over stations, (T, R) [requests]."""
        return self.qend_total[:, v]


class _ChunkView:
    """The first ``n`` ticks of the chunk buffers."""

    def __init__(self, buf: _ChunkBuffers, n: int):
        for name in ("lam", "load", "m2", "servers", "qmid", "qend", "room", "hit"):
            setattr(self, name, getattr(buf, name)[:n])


def _weighted_mean(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    return (values * weights).sum(axis=0) / np.maximum(weights.sum(axis=0), 1e-300)
