"""Collects the loop's outputs, realigns them by tick, and builds the :class:`SimulationResult`.

The loop reports, each iteration, every station at its own tick (the wavefront, see
``core``). The recorder keeps the last iterations in a ring buffer and, every ``CHUNK`` ticks,
gathers the completed ticks, computes latency percentiles for them and reduces every series to
its band over replications, so memory does not grow with ticks x replications.
"""

from __future__ import annotations

import numpy as np

from simulations.engine.core import TickOut
from simulations.engine.costs import HOURS_PER_MONTH
from simulations.engine.events import state_events
from simulations.engine.latency import GRID_S
from simulations.engine.network import POOL_TYPES
from simulations.engine.percentiles import (
    RUN_PROBS,
    PathTable,
    chunk_percentiles,
    run_percentiles,
)
from simulations.engine.plan import warm_hit_ratio
from simulations.engine.result import Band, Event, SimulationResult, VariantResult
from simulations.engine.sweep import span

CHUNK = 128  # ticks reduced at once
_F = {name: j for j, name in enumerate(TickOut.FIELDS)}
_TOTALS = ("success", "timeout", "dropped", "shed", "dependency", "duplicates", "dead_letters")
_SCALARS = (
    "offered_rps",
    "success_rps",
    "error_rps",
    "errors_timeout_rps",
    "errors_dropped_rps",
    "errors_shed_rps",
    "errors_dependency_rps",
    "spend_usd",
    "in_flight",
    "latency_p50_ms",
    "latency_p95_ms",
    "latency_p99_ms",
    "latency_mean_ms",
)
_STATION = (  # in the order a station's series are listed
    "utilization",
    "backlog",
    "in_flight",
    "load_rps",
    "queue_delay_s",
    "instances",
    "booting",
    "breaker_open",
    "replica_lag_s",
)
_STATION_FIELDS = {  # the station series that are recorded fields
    "utilization": "util",
    "load_rps": "lam",
    "instances": "instances",
    "booting": "booting",
    "breaker_open": "breaker_open",
    "replica_lag_s": "lag",
}


_CHUNK_FIELDS = {  # the station inputs of the latency law, named as in ``percentiles``: field
    **{name: name for name in ("lam", "load", "m2", "servers", "qmid", "room")},
    "qend": "backlog",
}


class _Chunk:
    """Per-tick station arrays of a chunk, shaped (n, V, S, R), read by ``percentiles``;
    ``zero`` names those known to be zero throughout (a calm chunk's backlogs), which need
    not be read, and ``same`` those equal in every variant (the first variant's, read-only)."""

    def __init__(self, data: np.ndarray, hit: np.ndarray, blank: frozenset, same: frozenset):
        for name, field in _CHUNK_FIELDS.items():
            values = data[:, _F[field]]
            if field in same:
                values = np.broadcast_to(values[:, :1], values.shape)
            setattr(self, name, values)
        self.hit = hit
        self.zero = frozenset(name for name, field in _CHUNK_FIELDS.items() if field in blank)
        self.same = frozenset(name for name, field in _CHUNK_FIELDS.items() if field in same)


class Recorder:
    """Receives :class:`~simulations.engine.core.TickOut` each iteration (``run_ticks``)."""

    def __init__(self, plan):
        self.plan = plan
        n_v, n_s, _n_k, n_r = plan.shape
        n_t, n_c = plan.n_ticks, len(plan.net.caches)
        # tick-aligned buffers: station s writes its tick i - level[s] in iteration i
        # two chunks: a chunk starting at a multiple of CHUNK is a view, not a copy; the ring
        # must also hold the lmax + 1 iterations a tick takes to cross the network
        self.width = max(2 * CHUNK, CHUNK + plan.sweep.lmax + 1)
        self.ring = np.zeros((self.width, len(TickOut.FIELDS), n_v, n_s, n_r))
        self.ring_hit = np.zeros((self.width, n_v, n_c, n_r))
        self.depths = [(depth, a, b) for depth, (a, b) in enumerate(plan.net.levels)]
        self.reach = np.arange(len(self.depths))  # an iteration writes ticks i - reach
        # rows whose ``zero_fields`` are known to hold zeros (see ``block_rows``)
        self.zeroed = np.ones(self.width, bool)  # the ring starts as zeros
        self.zero_fields, self.blank_fields = None, frozenset()
        # rows whose ``same_fields`` hold the first variant's values only, which stand for
        # every variant (``block_rows``)
        self.alike = np.zeros(self.width, bool)
        self.same_fields = frozenset()
        self.cache_depth = [int(plan.sweep.level[s]) for s in plan.net.caches]
        self.emitted = 0  # ticks before this one are reduced
        self.bands = {k: np.zeros((3, n_t, n_v)) for k in _SCALARS}
        self.station_bands = {k: np.zeros((3, n_t, n_v, n_s)) for k in _STATION}
        self.hit_bands = np.zeros((3, n_t, n_v, n_c))
        self.first = {k: np.zeros((n_t, n_v, n_s)) for k in ("util", "instances", "breaker")}
        self.sums = {
            k: np.zeros((n_v, n_r))
            for k in (
                *_TOTALS,
                "offered",
                "spend",
                "request_spend",
                "latency_weighted",
                "stale_reads",
            )
        }
        self.done = np.zeros((n_v, n_r))  # cumulative fluid exits
        self.slack = np.zeros((n_v, n_r))  # see _reconcile
        self.in_flight = np.zeros((n_v, n_r))
        self.run_acc = np.zeros((n_v, n_r, len(GRID_S)))
        self.paths = PathTable.build(plan)
        # the prices of a station, repeated over replications (1, V, S, R): an operand that is
        # broadcast along the innermost axis sends numpy's loops through buffered copies
        self.prices = {
            name: np.repeat(getattr(plan.net, name)[None, :, :, None], n_r, axis=3)
            for name in ("instances", "instance_usd", "hourly_usd")
        }
        self.evaluated = {}  # states whose latency law is known (see chunk_percentiles)
        self.reported = _reported(plan)
        # only the stations some variant reports a series at are reduced (the other entries
        # of ``station_bands`` stay zero, as the all-zero records of absent stations would be)
        self.stations = {
            k: span(np.flatnonzero(mask.any(axis=0)))
            for k, mask in self.reported.items()
            if mask.any()
        }

    # ------------------------------------------------------------------ during the loop
    def record(self, i: int, out, state) -> None:
        # at the head of a wavefront, deeper stations report (blank) ticks before
        # ``state.tick``, which are recorded already
        self.zeroed[(i - self.reach) % self.width] = False
        for depth, a, b in self.depths:  # stations are ordered by level: contiguous slices
            if i - depth >= state.tick:
                row = (i - depth) % self.width
                self.ring[row, :, :, a:b] = out.stack[:, :, a:b]
                # every station rewrites the row before it is reduced: all variants' values
                # (a row before ``state.tick``, a calm block's, keeps its flag)
                self.alike[row] = False
        for c, depth in enumerate(self.cache_depth):
            if i - depth >= state.tick:
                self.ring_hit[(i - depth) % self.width, :, c] = out.hit[:, c]
        complete = i - self.plan.sweep.lmax + 1  # every station has done the ticks before
        if complete - self.emitted >= CHUNK:
            self.emit(complete)

    def block_end(self, start: int, limit: int) -> int:
        """How far a block of whole ticks from ``start`` may go (at most ``limit``): no
        further than the next chunk, and contiguous in the ring."""
        return min(limit, self.emitted + CHUNK, start - start % self.width + self.width)

    def block_rows(
        self,
        start: int,
        stop: int,
        zeros: np.ndarray,
        blank: frozenset,
        same: frozenset = frozenset(),
    ) -> tuple:
        """Views of the ring rows of ticks ``[start, stop)`` (within :meth:`block_end`), to
        be filled in place: (n, F, V, S, R) outputs and (n, V, C, R) hit ratios; and (n,)
        bool, the rows that may hold nonzero values in the fields ``zeros`` (the others were
        last written by a block with those fields at zero, which the caller promises again).
        The fields named in ``blank`` (some of ``zeros``) are zero at every station: a chunk
        of such rows only is reduced without reading them. The fields named in ``same`` are
        equal in every variant, and the caller writes them for the first variant only: a
        chunk of such rows only reduces them once and copies the result to the others; a
        chunk that mixes them with other rows first copies the first variant's values there.
        """
        first = start % self.width
        rows = slice(first, first + stop - start)
        if self.zero_fields is not None and not np.array_equal(self.zero_fields, zeros):
            self.zeroed[:] = False  # known for other fields
        self.zero_fields, self.blank_fields = zeros, blank
        unclean = ~self.zeroed[rows]
        self.zeroed[rows] = True
        if same != self.same_fields:
            self._fill_variants(np.flatnonzero(self.alike))  # rows written for other fields
            self.same_fields = same
        self.alike[rows] = bool(same)
        return self.ring[rows], self.ring_hit[rows], unclean

    def block_done(self, stop: int) -> None:
        """Ticks before ``stop`` are in the ring: reduce them once a chunk is complete."""
        if stop - self.emitted >= CHUNK:
            self.emit(stop)

    def emit(self, stop: int) -> None:
        """Realign and reduce ticks ``[emitted, stop)``."""
        if stop <= self.emitted:
            return
        first = self.emitted % self.width
        if first + stop - self.emitted <= self.width:  # contiguous: a view
            rows = slice(first, first + stop - self.emitted)
        else:
            rows = np.arange(self.emitted, stop) % self.width
        alike = self.alike[rows]
        if alike.all():
            same = self.same_fields
        else:  # rows of both kinds: every variant's values (before a wrapped chunk's copy)
            self._fill_variants((np.arange(self.emitted, stop) % self.width)[alike])
            same = frozenset()
        data = self.ring[rows]  # (n, F, V, S, R)
        hit = self.ring_hit[rows]
        blank = self.blank_fields if self.zeroed[rows].all() else frozenset()
        self._reduce(slice(self.emitted, stop), data, hit, blank, same)
        self.emitted = stop

    def _fill_variants(self, rows: np.ndarray) -> None:
        """Copy the first variant's values of ``same_fields`` to the other variants in ring
        ``rows`` (indices), which then hold every variant's values."""
        for name in self.same_fields:
            self.ring[rows, _F[name], 1:] = self.ring[rows, _F[name], :1]
        self.alike[rows] = False

    # ------------------------------------------------------------------ per chunk
    def _reduce(
        self, ticks: slice, data: np.ndarray, hit: np.ndarray, blank: frozenset, same: frozenset
    ) -> None:
        """Reduce the chunk ``data`` (n, F, V, S, R); the fields named in ``blank`` are zero,
        those named in ``same`` equal in every variant."""
        plan, net, tau = self.plan, self.plan.net, self.plan.tick_s
        chunk = _Chunk(data, hit, blank, same)
        nothing = np.zeros(data.shape[:1] + data.shape[2:3] + data.shape[4:])  # (n, V, R)

        def field(name: str) -> np.ndarray:  # (n, V, S, R)
            values = data[:, _F[name]]
            return np.broadcast_to(values[:, :1], values.shape) if name in same else values

        def first_variant(name: str) -> np.ndarray:  # (n, 1, S, R)
            return data[:, _F[name], :1]

        def total(name: str) -> np.ndarray:  # (n, V, R)
            if name in blank:
                return nothing
            if name in same:  # the first variant's, read-only for every variant
                return np.broadcast_to(_sum_stations(first_variant(name)), nothing.shape)
            return _sum_stations(data[:, _F[name]])

        def per_second(counts: np.ndarray) -> np.ndarray:
            if counts is nothing:
                return nothing
            if counts.strides[1] == 0:  # equal in every variant (``total``): stays so
                return np.broadcast_to(counts[:, :1] / tau, counts.shape)
            return counts / tau

        offered = total("entered")  # new requests [requests]
        tot = {k: total(k) for k in _TOTALS}
        q = chunk_percentiles(plan, self.paths, chunk, ticks, self.run_acc, offered, self.evaluated)
        # the latency and per-station figures are tables over the chunk's distinct states
        states, waiting = q["state"], q["waiting"]  # (n, V, R) index of each row's state
        latency_ms = q["latency"] * 1e3  # (U, 4): p50, p95, p99, mean
        flight = waiting + q["in_service"]
        success, in_flight = self._reconcile(
            tot["success"], flight.sum(axis=1)[states], total("fluid"), total("backlog")
        )
        if blank.issuperset(("timeout", "dropped", "shed", "dependency")):
            errors = nothing
        else:
            errors = tot["timeout"] + tot["dropped"] + tot["shed"] + tot["dependency"]
        # hourly_usd + instance_usd * (instances + booting - design instances), in place:
        # booting instances are billed too (a calm chunk has none: adding its zeros would
        # change no more than the sign of a zero, which the prices then take away)
        prices, instances = self.prices, data[:, _F["instances"]]
        if "booting" in blank:
            # no instance boots: where every replication has the same instances (no pool
            # scaled apart) the bill is the first replication's, (n, V, S, 1)
            if (instances[..., :1] == instances).all():
                prices = {name: price[..., :1] for name, price in prices.items()}
                instances = instances[..., :1]
            hourly = np.subtract(instances, prices["instances"])
        else:
            hourly = np.add(instances, data[:, _F["booting"]])
            np.subtract(hourly, prices["instances"], out=hourly)
        np.multiply(prices["instance_usd"], hourly, out=hourly)
        np.add(prices["hourly_usd"], hourly, out=hourly)
        if "lam" in same and (net.request_usd == net.request_usd[:1]).all():  # once for all
            lam = data[:, _F["lam"], :1]
            per_request = np.einsum("nvsr,vs->nvr", lam, net.request_usd[:1]) * tau
        else:
            per_request = np.einsum("nvsr,vs->nvr", field("lam"), net.request_usd) * tau
        spend = _sum_stations(hourly) * tau / 3600.0 + per_request
        cumulative = self.sums["spend"][None] + _accumulate(np.add, spend)
        scalars = {
            "offered_rps": per_second(offered),
            "success_rps": per_second(success),
            "error_rps": per_second(errors),
            "errors_timeout_rps": per_second(tot["timeout"]),
            "errors_dropped_rps": per_second(tot["dropped"]),
            "errors_shed_rps": per_second(tot["shed"]),
            "errors_dependency_rps": per_second(tot["dependency"]),
            "spend_usd": cumulative,
            "in_flight": in_flight,
        }
        # the bands start at zero and a tick is reduced once: series of zeros are not written
        for key, values in scalars.items():
            if values is nothing:
                continue
            if values.strides[1] == 0:  # equal in every variant: the first one's band
                _band(values[:, :1], out=self.bands[key][:, ticks, :1])
                self.bands[key][:, ticks, 1:] = self.bands[key][:, ticks, :1]
            else:
                _band(values, out=self.bands[key][:, ticks])
        state_bands = _StateBands(states, len(latency_ms))
        for j, key in enumerate(("p50", "p95", "p99", "mean")):
            self.bands[f"latency_{key}_ms"][:, ticks] = state_bands.band(latency_ms[:, j])
        for key, stations in self.stations.items():
            if key in ("backlog", "in_flight"):
                band = state_bands.band(waiting if key == "backlog" else flight, stations)
            elif _STATION_FIELDS.get(key) in blank:
                continue
            elif _STATION_FIELDS.get(key) in same:  # the first variant's band, copied
                band = _band(self._station_series(key, stations, first_variant, waiting, states))
            else:
                series = self._station_series(key, stations, field, waiting, states)
                if isinstance(stations, slice):  # written in place
                    _band(series, out=self.station_bands[key][:, ticks, :, stations])
                    continue
                band = _band(series)
            self.station_bands[key][:, ticks, :, stations] = band
        _band(hit, out=self.hit_bands[:, ticks])
        self.first["util"][ticks] = data[:, _F["util"], :, :, 0]
        self.first["instances"][ticks] = data[:, _F["instances"], :, :, 0]
        self.first["breaker"][ticks] = data[:, _F["breaker_open"], :, :, 0]
        for k in _TOTALS:
            self.sums[k] += tot[k].sum(axis=0) if k != "success" else success.sum(axis=0)
        self.sums["offered"] += offered.sum(axis=0)
        self.sums["spend"] += spend.sum(axis=0)
        self.sums["request_spend"] += per_request.sum(axis=0)
        self.sums["latency_weighted"] += (q["latency"][states, 3] * offered).sum(axis=0)
        if plan.sweep.writes is not None:  # once for all variants when their replicas agree
            alike = {"writes", "replica_reads", "lag"} <= same
            self.sums["stale_reads"] += _stale_reads(plan, first_variant if alike else field)
        self.in_flight = in_flight[-1]

    @staticmethod
    def _station_series(key: str, stations, chunk_field, waiting, states) -> np.ndarray:
        """Recorded series ``key`` or ``queue_delay_s`` at ``stations`` (an index of the station
        axis), shaped (n, V, s, R), from the chunk's fields (``chunk_field(name)``, each
        (n, V, S, R)) and the ``waiting`` (U, S) of its ``states`` (n, V, R)."""

        def field(name: str) -> np.ndarray:
            return chunk_field(name)[:, :, stations]

        if key != "queue_delay_s":
            return field(_STATION_FIELDS[key])
        # how long a job arriving now waits before a worker takes it: the jobs ahead,
        # served at the pool's full rate (servers / E[S]) - not L / lambda, which only
        # holds on long-run averages
        rate = field("servers") * field("lam") / np.maximum(field("load"), 1e-300)
        ahead = np.moveaxis(waiting[:, stations][states], 3, 2)
        return np.divide(ahead, np.maximum(rate, 1e-12), out=np.empty(rate.shape))

    def _reconcile(self, exits, flight, fluid, backlog):
        """Success per tick and requests in flight, keeping offered = done + failed + in flight.

        The fluid counts finish a request in the tick it is served; requests in service and
        in the stationary queue (L = lambda W, by Little's law) are still in flight, so they
        leave "succeeded" until they finish. A request cannot "un-succeed": when that part
        grows faster than requests finish (overload), it stops growing, so success per tick
        stays >= 0.
        """
        hidden = np.maximum(flight - backlog, 0.0)
        done = self.done[None] + _accumulate(np.add, exits)
        gap = np.minimum(hidden - done, 0.0)
        slack = _accumulate(np.minimum, np.concatenate([self.slack[None], gap]))
        success = -np.diff(slack, axis=0)
        self.done, self.slack = done[-1], slack[-1]
        return success, fluid + slack[1:] + done

    # ------------------------------------------------------------------ the result
    def finish(self, state, engine_version: str, stop: int | None = None) -> SimulationResult:
        """The result; ``stop`` (default: the horizon) is the first tick not simulated."""
        plan = self.plan
        self.emit(plan.n_ticks if stop is None else stop)
        variants = [self._variant(v, state) for v in range(plan.shape[0])]
        return SimulationResult(
            engine_version=engine_version,
            tick_s=plan.tick_s,
            times_s=np.arange(plan.n_ticks) * plan.tick_s,
            replications=plan.shape[3],
            variants=variants,
        )

    def _variant(self, v: int, state) -> VariantResult:
        plan, net, tau = self.plan, self.plan.net, self.plan.tick_s
        series = {k: Band(*self.bands[k][:, :, v]) for k in _SCALARS}
        for s, station in enumerate(net.stations):
            for key in _STATION:
                if key != "replica_lag_s" and self.reported[key][v, s]:
                    series[f"{key}:{station.key}"] = Band(*self.station_bands[key][:, :, v, s])
            if net.present[v, s] and net.cache_of[s] >= 0:
                hit = self.hit_bands[:, :, v, net.cache_of[s]]
                series[f"hit_ratio:{station.key}"] = Band(*hit)
        for s in plan.replicated:
            if self.reported["replica_lag_s"][v, s]:
                series[f"replica_lag_s:{net.stations[s].key}"] = Band(
                    *self.station_bands["replica_lag_s"][:, :, v, s]
                )
        sums = {k: a[v] for k, a in self.sums.items()}
        failed = sums["timeout"] + sums["dropped"] + sums["shed"] + sums["dependency"]
        run_q = run_percentiles(self.run_acc[v], sums["offered"])
        per_rep = {
            "offered": sums["offered"],
            "succeeded": sums["success"],
            "failed": failed,
            "in_flight": self.in_flight[v],
            **{f"errors_{k}": sums[k] for k in ("timeout", "dropped", "shed", "dependency")},
            "spend_usd": sums["spend"],
            "latency_mean_ms": sums["latency_weighted"] / np.maximum(sums["offered"], 1e-300) * 1e3,
            "duplicate_writes": sums["duplicates"],
            "dead_letters": sums["dead_letters"],
            "stale_reads": sums["stale_reads"],
            "writes_lost": state.writes_lost[v].sum(axis=0),
        }
        for i, p in enumerate(RUN_PROBS):
            per_rep[f"latency_p{p * 100:g}_ms"] = run_q[:, i] * 1e3
        # what the run actually spent per hour (autoscaled and booting instance-hours and
        # per-request fees included), prorated to a 730-hour month
        horizon_h = max(self.emitted, 1) * tau / 3600.0
        monthly = sums["spend"].mean() / horizon_h * HOURS_PER_MONTH
        events = [Event(*e) for e in plan.timeline.events[v]]
        events += state_events(
            plan,
            v,
            self.first["util"][:, v],
            self.first["instances"][:, v],
            self.first["breaker"][:, v],
        )
        events.sort(key=lambda e: (e.t_s, e.kind))
        return VariantResult(
            series=series, per_replication=per_rep, events=events, monthly_cost_usd=float(monthly)
        )


def _stale_reads(plan, field) -> np.ndarray:
    """Replica reads of a chunk that returned stale data, summed over ticks, (V, R) [requests];
    ``field(name)`` gives the chunk's recorded field, (n, V, S, R) (or V = 1 for all).

    A read is stale when its key was written within the replica lag window: with the key
    popularity, that is the hit ratio of a cache that has seen ``write rate x lag`` writes
    (see ``plan.warm_hit_ratio``). Reads and the lag are paired tick by tick.
    """
    main, rep = plan.sweep.writes, plan.sweep.replica_reads
    written = field("writes")[:, :, main] / plan.tick_s * field("lag")[:, :, main]
    reads = field("replica_reads")[:, :, rep]
    return (reads * warm_hit_ratio(plan, written)).sum(axis=(0, 2))


def _reported(plan) -> dict[str, np.ndarray]:
    """Where each station series is reported: key -> (V, S) bool."""
    net = plan.net
    present = net.present
    comp_type = np.array([station.comp_type for station in net.stations])
    pool = np.isin(comp_type, POOL_TYPES) & np.array([st.role == "main" for st in net.stations])
    queueing = present & ~net.delay[None, :]
    replica_lag = np.zeros_like(present)
    for j, s in enumerate(plan.replicated):  # a primary's lag behind its replicas
        replica_lag[:, s] = present[:, plan.replica_of[j]]
    return {
        "utilization": queueing,
        "backlog": queueing,
        "in_flight": present,
        "load_rps": present,
        "queue_delay_s": present & (comp_type == "worker_pool")[None, :],
        "instances": present & pool[None, :],
        "booting": present & pool[None, :],
        "breaker_open": present & plan.policies.breaker,
        "replica_lag_s": replica_lag,
    }


def _accumulate(ufunc: np.ufunc, values: np.ndarray) -> np.ndarray:
    """``ufunc.accumulate(values, axis=0)``, the same operations (bitwise), and as fast when
    there are more columns than rows: numpy accumulates an outer axis one column at a time
    (~0.7 us each, ~8x slower for an 8-variant chunk's (n, V, R)), this one row at a time."""
    if values[0].size <= len(values):
        return ufunc.accumulate(values, axis=0)
    out = np.empty(values.shape)
    out[0] = values[0]
    for i in range(1, len(values)):
        ufunc(out[i - 1], values[i], out=out[i])
    return out


def _sum_stations(values: np.ndarray) -> np.ndarray:
    """(n, V, S, R) -> (n, V, R): the sum over stations, in the same sequential order as
    ``values.sum(axis=2)`` when R is the innermost axis (bitwise equal), but faster.

    With R = 1 the stations would be the contiguous axis, which numpy sums pairwise: they are
    added one at a time instead, so a replication's sum has the same bits either way."""
    if values.shape[-1] > 1:
        return np.einsum("nvsr->nvr", values)
    total = np.zeros(values.shape[:2] + values.shape[3:])
    for s in range(values.shape[2]):
        total += values[:, :, s]
    return total


def _band(values: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Mean, 5th and 95th percentiles over the last axis (numpy's linear method), shaped
    (3, ...) for ``values`` shaped (..., R), written to ``out`` if given."""
    if out is None:
        out = np.empty((3, *values.shape[:-1]))
    # np.mean's sum and division, without its Python wrapper
    np.add.reduce(values, axis=-1, out=out[0])
    out[0] /= values.shape[-1]
    _spread(values, out[1:])
    return out


def _spread(values: np.ndarray, out: np.ndarray) -> None:
    """The 5th and 95th percentiles over the last axis (numpy's linear method), written to
    ``out`` (2, ...)."""
    first = values[..., 0]
    # where every replication agrees (and is finite) the percentiles are that value; the first
    # tick tells most series that vary apart cheaply (tested first)
    if (
        (values[:1] == first[:1, ..., None]).all()
        and np.isfinite(first).all()
        and (values == first[..., None]).all()
    ):
        out[:] = first
        return
    ordered = np.sort(values, axis=-1)
    n = ordered.shape[-1]
    for row, q in enumerate((0.05, 0.95)):
        pos = q * (n - 1)
        lo = int(np.floor(pos))
        hi = min(lo + 1, n - 1)
        low = ordered[..., lo]
        # low + (pos - lo) * (high - low), in place
        np.subtract(ordered[..., hi], low, out=out[row])
        out[row] *= pos - lo
        out[row] += low


class _StateBands:
    """Bands of the series that are tables over a chunk's distinct states.

    Parameters
    ----------
    states : ndarray, shape (n, V, R)
        The state of each tick, variant and replication (``U`` states).
    n_states : int
        ``U``.
    """

    def __init__(self, states: np.ndarray, n_states: int):
        self.states = states
        self.first = states[..., 0]
        # The replications of a table agree when it has one value at each pair of states met at
        # a tick and variant (the first replication's, another's): the same pairs for every
        # table of the chunk, and few (in a calm chunk, a state and its neighbour)
        met = (self.first[..., None] * n_states + states)[states != self.first[..., None]]
        met.sort()
        met = met[np.concatenate([[True], met[1:] != met[:-1]])] if met.size else met
        self.met_first, self.met_other = np.divmod(met, n_states)

    def band(self, table: np.ndarray, stations=slice(None)) -> np.ndarray:
        """The band of a series that is a table over states.

        Parameters
        ----------
        table : ndarray, shape (U,) or (U, S)
            The series in each distinct state of the chunk: a figure, or one per station.
        stations : slice or ndarray
            An index of the station axis (per-station series).

        Returns
        -------
        ndarray, shape (3, n, V) or (3, n, V, s)
            As :func:`_band` of ``table[states]``, (n, V, R), or of ``table[states]`` moved to
            (n, V, S, R) at ``stations`` (bitwise: numpy sums the replications in an order that
            depends on their layout in memory).
        """
        states, first = self.states, self.first
        values = table[:, stations] if table.ndim == 2 else table
        if np.isfinite(values).all() and (values[self.met_first] == values[self.met_other]).all():
            # every replication agrees: the percentiles are its value, the mean that of copies
            # of it in the same layout, one per state
            copies = np.repeat(table[:, None], states.shape[-1], axis=1)  # (U, R) or (U, R, S)
            if table.ndim == 1:
                mean = copies.mean(axis=-1)
            else:
                mean = np.moveaxis(copies, 2, 1).mean(axis=-1)[:, stations]
            out = np.empty((3, *first.shape, *values.shape[1:]))
            out[0] = mean[first]
            out[1] = values[first]
            out[2] = out[1]
            return out
        if table.ndim == 1:
            return _band(table[states])
        replicated = np.moveaxis(table[states], 3, 2)  # (n, V, S, R)
        out = np.empty((3, *first.shape, values.shape[1]))
        out[0] = replicated.mean(axis=-1)[:, :, stations]
        _spread(replicated[:, :, stations], out[1:])
        return out
