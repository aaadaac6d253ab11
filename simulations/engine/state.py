"""The mutable simulation state carried from tick to tick (and saved in checkpoints)."""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from simulations.engine.plan import Plan, distinct_keys, rewind_warmup, warm_hit_ratio
from simulations.engine.queueing import finite_queue
from simulations.engine.steps import ADMISSION, sum_classes

WARM = 1e15  # requests since the last flush of a cache that starts warm
_TINY = 1e-12


@dataclass
class State:
    """State at the start of tick ``tick``; arrays are per variant (V) and replication (R).

    Attributes
    ----------
    backlog : ndarray, shape (V, S, K, R)
        Requests waiting at each station [requests].
    doomed : ndarray, shape (V, S, R)
        Of those, requests whose caller already timed out (wasted work) [requests].
    instances, pending : ndarray, shape (V, S, R) and (H, V, S, R)
        Instances serving, and instances booting that serve h ticks from now [instances].
    last_scale, util_avg : ndarray, shape (V, S, R)
        Tick of the last scaling action; one-minute average busy fraction [-].
    since_flush : ndarray, shape (V, C, R)
        Requests a cache has seen since it was last emptied [requests].
    qcap : ndarray, shape (V, S, R)
        Waiting room [requests].
    ring : list of ndarray, each (H, A-1, V, n_retry, K, R)
        Retries of each retry level, by tick offset and attempt [requests].
    breaker_left, breaker_half : ndarray, shape (V, S, R)
        Ticks a breaker stays open; 1 while half-open.
    tokens : ndarray, shape (V, S, R)
        Rate-limiter tokens [requests].
    replication : ndarray, shape (V, S, R)
        Writes committed on a primary and not yet applied on its replicas [requests].
    writes_lost : ndarray, shape (V, S, R)
        Writes lost on failover (committed on a primary, never applied on a replica), by
        station [requests].
    cache_arrivals : ndarray, shape (V, C, R)
        Requests that reached each cache in the last tick [requests].
    fetch_s : ndarray, shape (H, V, C, R)
        Time a miss takes at the store behind each cache, by the store's tick modulo H [s].
    """

    tick: int
    backlog: np.ndarray
    doomed: np.ndarray
    instances: np.ndarray
    pending: np.ndarray
    last_scale: np.ndarray
    util_avg: np.ndarray
    since_flush: np.ndarray
    qcap: np.ndarray
    ring: list
    breaker_left: np.ndarray
    breaker_half: np.ndarray
    tokens: np.ndarray
    replication: np.ndarray
    writes_lost: np.ndarray
    cache_arrivals: np.ndarray
    fetch_s: np.ndarray
    go: np.ndarray
    # True while every retry ring is known to be empty (set by ``core.run_ticks``; not saved):
    # the common case of a run without failures skips the per-tick work on the rings.
    # Unannotated, so not a dataclass field (checkpoints carry the arrays only).
    ring_clean = False
    # True while no request waits at any station (set by ``core``; not saved): a calm tick
    # then skips the per-class backlog arithmetic.
    backlog_clear = False
    # Servers while no instance fails or is down, from the current instance counts (reset by
    # ``core`` and whenever instances change; not saved): None when unknown.
    capacity = None
    capacity_facts = None  # what ``core`` derives from ``capacity`` (reset with it)
    # True while ``go`` holds the steady hit ratios of the previous iteration (set by ``core``)
    go_steady = False

    @classmethod
    def initial(cls, plan: Plan) -> State:
        n_v, n_s, n_k, n_r = plan.shape
        zeros = np.zeros((n_v, n_s, n_r))
        sw = plan.sweep
        rings = []
        if sw.retry is not None:
            a_1 = sw.retry.ok.shape[0] - 1
            shape = (plan.policies.horizon, a_1, n_v, len(sw.retry.local), n_k, n_r)
            rings.append(np.zeros(shape))
        state = cls(
            tick=0,
            backlog=np.zeros((n_v, n_s, n_k, n_r)),
            doomed=zeros.copy(),
            instances=np.repeat(plan.net.instances[:, :, None], n_r, axis=2),
            pending=np.zeros((plan.scaling.horizon, n_v, n_s, n_r)),
            last_scale=np.full((n_v, n_s, n_r), -1e9),
            util_avg=zeros.copy(),
            since_flush=np.full((n_v, len(plan.net.caches), n_r), WARM),
            qcap=zeros.copy(),
            ring=rings,
            breaker_left=zeros.copy(),
            breaker_half=zeros.copy(),
            tokens=np.nan_to_num(plan.policies.limiter_burst)[:, :, None] + zeros,
            replication=zeros.copy(),
            writes_lost=zeros.copy(),
            cache_arrivals=np.zeros((n_v, len(plan.net.caches), n_r)),
            fetch_s=np.zeros((plan.sweep.lmax + 2, n_v, len(plan.net.caches), n_r)),
            go=np.repeat(plan.cont4, n_r, axis=3),
        )
        state.refresh_capacity(plan)
        return state

    def arrays(self) -> dict[str, np.ndarray]:
        """Every array of the state by name (rings as ``ring0``, ``ring1``...)."""
        out = {
            f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("tick", "ring")
        }
        out.update({f"ring{i}": r for i, r in enumerate(self.ring)})
        return out

    # ---------------------------------------------------------------- wavefront edges
    _PER_STATION = (
        "backlog",
        "doomed",
        "instances",
        "last_scale",
        "util_avg",
        "qcap",
        "breaker_left",
        "breaker_half",
        "tokens",
        "replication",
        "writes_lost",
    )
    _PER_CACHE = ("since_flush", "cache_arrivals")

    def station_snapshot(self, plan: Plan, idle: np.ndarray, i: int) -> dict:
        """Copy what ``idle`` stations own, so an iteration they sit out leaves it unchanged."""
        is_idle = np.zeros(plan.shape[1], bool)  # a lookup table: cheaper than np.isin
        is_idle[idle] = True
        caches = np.flatnonzero(is_idle[plan.net.caches])
        saved = {name: getattr(self, name)[:, idle].copy() for name in self._PER_STATION}
        saved.update({name: getattr(self, name)[:, caches].copy() for name in self._PER_CACHE})
        saved["caches"] = caches
        saved["pending"] = self.pending[:, :, idle].copy()
        if self.ring:
            local = np.flatnonzero(is_idle[plan.sweep.retry.local])
            slot = i % self.ring[0].shape[0]
            saved["ring"] = (local, self.ring[0][slot][:, :, local].copy())
        return saved

    def station_restore(self, plan: Plan, idle: np.ndarray, saved: dict, i: int) -> None:
        """Undo an iteration for the ``idle`` stations (see :meth:`station_snapshot`)."""
        caches = saved["caches"]
        for name in self._PER_STATION:
            getattr(self, name)[:, idle] = saved[name]
        for name in self._PER_CACHE:
            getattr(self, name)[:, caches] = saved[name]
        self.pending[:, :, idle] = saved["pending"]
        self.capacity = None
        if "ring" in saved:
            local, values = saved["ring"]
            self.ring[0][i % self.ring[0].shape[0]][:, :, local] = values

    def refresh_capacity(self, plan: Plan) -> None:
        """Recompute the waiting room from the instance counts (and forget the servers
        derived from the old ones)."""
        self.qcap = plan.qcap_per_instance[:, :, None] * self.instances
        self.capacity = None

    # ---------------------------------------------------------------- capacity and caches
    def servers(self, plan: Plan, t: int) -> np.ndarray:
        """Servers available in iteration ``t``, shape (V, S, R) [-]; ``inf`` for pure delays
        (see :meth:`servers_with`)."""
        tl = plan.skew
        quiet = not tl.any_capacity[t]  # then the servers follow the instance counts alone
        if quiet and self.capacity is not None:
            return self.capacity
        servers = self.servers_with(plan, tl.failed[t], tl.down[t])
        self.capacity = servers if quiet else None
        return servers

    def servers_with(self, plan: Plan, failed: np.ndarray, down: np.ndarray) -> np.ndarray:
        """Servers (V, S, R) with ``failed`` instances out and stations ``down`` (each (V, S)).

        Connection pools and bulkheads on an edge cap the callee's servers at
        size x (caller instances alive).
        """
        alive = np.maximum(self.instances - failed[:, :, None], 0.0)
        servers = alive * plan.net.per_instance[:, :, None] * (1.0 - down)[:, :, None]
        servers = np.where(plan.net.delay[None, :, None], np.inf, servers)
        for v, caps in enumerate(plan.policies.pool_of):
            for callee, caller, size in caps + plan.policies.bulkhead_of[v]:
                servers[v, callee] = np.minimum(servers[v, callee], size * alive[v, caller])
        return servers

    def cache_hit(self, plan: Plan, t: int) -> tuple[np.ndarray, np.ndarray]:
        """Hit and miss ratios of every cache in tick ``t``, each (V, C, R) [-], or (V, C, 1)
        when every cache is fully warm (the steady ratios, the same in every replication)."""
        flush = plan.skew.flush[t]
        if flush.any():
            # losing a share f of the keys leaves (1 - f) of the hits: rewind the warm-up
            # curve to the request count that gives that hit ratio
            kept = (1.0 - flush)[:, :, None] * warm_hit_ratio(plan, self.since_flush)
            self.since_flush = np.where(
                flush[:, :, None] > 0, rewind_warmup(plan, kept), self.since_flush
            )
        steady = plan.skew.hit_steady[t][:, :, None]
        if self.since_flush.min() >= WARM:  # every cache is fully warm
            return steady, 1.0 - steady
        # a key counts as cached once its fetch returns: requests arriving while the fetch is
        # in flight (fetch time x arrival rate) miss as well - the thundering herd
        # the cache sees the store's fetch time of the store's previous iteration
        seen = (t - plan.sweep.level[plan.cache_store] - 1) % self.fetch_s.shape[0]
        fetch = self.fetch_s[seen, :, np.arange(len(seen))]  # (C, V, R)
        in_fetch = self.cache_arrivals / plan.tick_s * np.moveaxis(fetch, 0, 1)
        hit = np.minimum(steady, warm_hit_ratio(plan, self.since_flush - in_fetch))
        miss = 1.0 - hit
        if plan.coalescing.any():
            # Request coalescing: concurrent misses on one key share a single fetch, so the
            # store sees the steady-state misses plus one fetch per new distinct key.
            coming = np.maximum(self.cache_arrivals, _TINY)
            fetches = distinct_keys(plan, self.since_flush + coming) - distinct_keys(
                plan, self.since_flush
            )
            coalesced = (1.0 - steady) + np.clip(fetches / coming - (1.0 - steady), 0.0, 1.0)
            miss = np.where(plan.coalescing[:, :, None], np.minimum(coalesced, miss), miss)
        return hit, miss

    # ---------------------------------------------------------------- retries
    def take_retries(self, level, t: int) -> np.ndarray:
        """Retries due at ``level``'s retry stations this tick, (A-1, V, n_retry, K, R)."""
        ring = self.ring[level.retry.ring]
        if self.ring_clean:  # nothing is due
            return np.zeros(ring.shape[1:])
        slot = t % ring.shape[0]
        due = ring[slot].copy()
        ring[slot] = 0.0
        return due

    def schedule_retries(self, plan, level, t, routed, due, arrived, fails, out) -> np.ndarray:
        """Send this tick's failed attempts back later; return the retried share of failures.

        Returns
        -------
        ndarray, shape (V, n_retry, K, R)
            Share of the failures at each retry station that will be retried [-].
        """
        rs = level.retry
        local = rs.local
        total = np.maximum(arrived[:, local], _TINY)
        attempts = [routed[:, local], *due]  # arrivals by attempt, each (V, n_retry, K, R)
        ok = rs.ok  # (A, V, n_retry): attempt a may be retried
        timed_out = fails["timeout"][:, local] if "timeout" in fails else 0.0
        fast = sum(
            fails[c][:, local] * (rs.admission_retried if c in ADMISSION else 1.0)
            for c in ("dependency", "blocked", "dropped", "shed_queue")
            if c in fails and not isinstance(fails[c], float)
        )
        ring = self.ring[rs.ring]
        self.ring_clean = False
        slots = (t + np.arange(ring.shape[0])) % ring.shape[0]
        shares = [attempts[i] / total * ok[i][:, :, None, None] for i in range(len(attempts) - 1)]
        budgeted = np.isfinite(rs.budget)
        if budgeted.any():
            wanted = sum(shares) * (timed_out + fast)  # retries the callers would send
            # a retry budget caps retries at budget x first attempts; the rest give up (final)
            allowed = np.where(budgeted, rs.budget, 0.0)[:, :, None, None] * routed[:, local]
            scale = np.where(
                budgeted[:, :, None, None],
                np.minimum(1.0, allowed / np.maximum(wanted, _TINY)),
                1.0,
            )
            shares = [share * scale for share in shares]
        retried = np.zeros_like(total)
        for i, share in enumerate(shares):
            retried += share
            later = (
                rs.kernel[i, 0][..., None, None] * (timed_out * share)[None]
                + rs.kernel[i, 1][..., None, None] * (fast * share)[None]
            )
            ring[slots, i] += later
        if plan.write_class is not None and not isinstance(timed_out, float):
            # the timed-out write still executes; retrying it without a key writes twice
            k = plan.write_class
            dup = timed_out[:, :, k] * retried[:, :, k] * ~rs.idempotent[:, :, None]
            out.duplicates[:, local] += dup
        return retried

    # ---------------------------------------------------------------- breakers, limiters
    def breaker_active(self, level) -> bool:
        """True if some breaker of the level is open or half-open."""
        a, b = level.start, level.stop
        return bool(self.breaker_left[:, a:b].any() or self.breaker_half[:, a:b].any())

    def breaker_reject(self, plan, level, arr) -> np.ndarray:
        """Share of arrivals an open or half-open breaker turns away, (V, n, R) [-]."""
        a, b = level.start, level.stop
        guarded = level.breaker_mask[:, :, None]
        incoming = arr.sum(axis=2)
        probes = plan.policies.breaker_probes[:, a:b, None]
        half = 1.0 - np.minimum(1.0, probes / np.maximum(incoming, _TINY))
        reject = np.where(
            self.breaker_left[:, a:b] > 0, 1.0, np.where(self.breaker_half[:, a:b] > 0, half, 0.0)
        )
        return np.where(guarded, reject, 0.0)

    def breaker_update(self, plan, level, arrived, fails, out) -> None:
        """Open, hold, half-open or close each breaker from this tick's error rate."""
        a, b = level.start, level.stop
        pol = plan.policies
        rejected = fails["rejected"].sum(axis=2) if "rejected" in fails else 0.0
        tried = arrived.sum(axis=2) - rejected
        failed = sum(
            fails[c].sum(axis=2)
            for c in fails
            if c != "rejected" and not isinstance(fails[c], float)
        )
        rate = failed / np.maximum(tried, _TINY)
        trips = rate >= pol.breaker_rate[:, a:b, None]
        left, half = self.breaker_left[:, a:b], self.breaker_half[:, a:b]
        was_open = left > 0
        enough = tried >= pol.breaker_min[:, a:b, None]
        opens = np.where(half > 0, trips, ~was_open & enough & trips)
        new_left = np.where(opens, pol.breaker_open_ticks[:, a:b, None], np.maximum(left - 1, 0.0))
        new_half = np.where(was_open & (new_left == 0), 1.0, np.where(half > 0, 0.0, half))
        guarded = level.breaker_mask[:, :, None]
        self.breaker_left[:, a:b] = np.where(guarded, new_left, 0.0)
        self.breaker_half[:, a:b] = np.where(guarded, new_half, 0.0)
        out.breaker_open[:, a:b] = np.where(guarded, (new_left > 0) + 0.5 * new_half, 0.0)

    def limiter_shed(self, plan, level, arr, ratio):
        """Token bucket at the rate-limiter stations: the share of arrivals shed as 429s.

        Returns
        -------
        (stations, share) or None
            Limiter station indices and the shed share there, shaped (V, n_limiters, R) [-];
            ``None`` when nothing is shed this tick.

        Notes
        -----
        The bucket refills continuously at ``rate`` and holds at most ``burst``: in a tick it
        can admit what it held plus the refill, ``tokens + rate tau``, and keeps at most
        ``burst`` of what is left. Within the tick, Poisson arrivals against a steady refill
        also find the bucket empty now and then: the missing tokens form a queue served at
        ``rate`` with room ``burst`` (M/D/1/B), approximated by M/M/1 with room ``2 burst``
        (deterministic service halves the variability); the larger of the two losses counts.
        """
        lim = level.limiter_stations
        mask, rate, burst, room, quiet = level.limiter_params
        sub = arr[:, lim]
        incoming = sub.sum(axis=2)
        admitted, self.tokens[:, lim] = token_bucket(
            self.tokens[:, lim], rate, burst, incoming, plan.tick_s
        )
        shed = 1.0 - admitted / np.maximum(incoming, _TINY)
        intensity = (sub * ratio[None, lim]).sum(axis=2) / plan.tick_s  # not the noisy count
        rho = np.where(mask, intensity / np.maximum(rate, _TINY), 0.0)
        if (rho <= quiet).all():  # surely rho**room <= 1e-7: no stationary loss to add
            shed = np.where(mask, shed, 0.0)
            return (lim, shed) if shed.any() else None
        with np.errstate(under="ignore", over="ignore"):
            tail = rho**room
        if (tail > 1e-7).any():
            ones = np.ones_like(rho)
            stationary = finite_queue(ones, rho, 2.0 * burst - 1.0, ones)[0]
            stationary = np.where(tail > 1e-7, np.nan_to_num(stationary), 0.0)
            shed = np.maximum(shed, stationary)
        shed = np.where(mask, shed, 0.0)
        return (lim, shed) if shed.any() else None

    # ---------------------------------------------------------------- end of tick
    def after_tick(self, plan: Plan, t: int, out, active: np.ndarray | None = None) -> None:
        """Cache warm-up, replication lag and autoscaling at the end of tick ``t``."""
        # without a flush every cache stays warm and never reads its arrivals or fetch times
        if plan.net.caches and plan.skew.any_flush:
            self.cache_arrivals = out.lam[:, plan.net.caches] * plan.tick_s
            # fetch time of a miss ~ time in system at the store behind the cache (Little)
            nxt = plan.cache_store
            busy = out.util[:, nxt] * out.servers[:, nxt]  # out.servers is finite (0 for delays)
            fetch = (out.backlog[:, nxt] + busy) / np.maximum(out.lam[:, nxt], _TINY)
            rows = (t - plan.sweep.level[nxt]) % self.fetch_s.shape[0]  # the store's tick
            store_active = active is None or active[nxt]
            for c in range(len(nxt)):
                if store_active is True or store_active[c]:
                    self.fetch_s[rows[c], :, c] = fetch[:, c]
        if plan.net.caches and plan.skew.any_flush and self.since_flush.min() < WARM:
            self.since_flush = np.minimum(
                self.since_flush + out.lam[:, plan.net.caches] * plan.tick_s, WARM
            )
        if plan.replicated.size:
            self._replicate(plan, t, out)
        if plan.scaling.any:
            self._autoscale(plan, t, out)
        out.instances[:] = self.instances
        waiting = 0.0 if self.backlog_clear else sum_classes(self.backlog)
        np.subtract(waiting, self.doomed, out=out.fluid)
        if self.ring and not self.ring_clean:
            out.fluid[:, plan.sweep.retry.local] += self.ring[0].sum(axis=(0, 1, 4))

    def _replicate(self, plan: Plan, t: int, out) -> None:
        main = plan.sweep.writes  # a slice when it can be
        if plan.skew.any_primary_lost[t]:  # a failover loses the unreplicated writes
            backlog = self.replication[:, main]
            lost = plan.skew.primary_lost[t][:, main][:, :, None] * backlog
            self.writes_lost[:, main] += lost
            self.replication[:, main] = backlog - lost
        out.lag[:, main] = self.replicate(plan, out.writes[None][:, :, main])[0]

    def replicate(self, plan: Plan, writes: np.ndarray, variants=slice(None)) -> np.ndarray:
        """Replicas apply the primaries' writes over ``n`` consecutive ticks; returns the lag.

        Parameters
        ----------
        writes : ndarray, shape (n, V, m, R)
            Writes committed on each replicated primary per tick [requests].
        variants : slice
            ``slice(0, 1)`` when every variant's replicas are alike (writes, unapplied writes
            and apply rates): the first variant's are computed and kept for all.

        Returns
        -------
        ndarray, shape (n, V, m, R)
            Replica lag at the end of each tick: the unapplied writes over the apply rate [s]
            (V is 1 with ``variants=slice(0, 1)``).

        Notes
        -----
        The unapplied writes follow a Lindley recursion, b' = max(0, b + w - a tau), run tick
        by tick (the recorder counts the stale reads from the lag, see ``record``).
        """
        main = plan.sweep.writes
        backlog = self.replication[variants, main]
        rate = plan.apply_rate[variants, :, None]
        per_tick = rate * plan.tick_s
        backlogs = np.empty(writes.shape)
        applied = np.empty(backlog.shape)
        for written, after in zip(writes, backlogs, strict=True):  # in place: tiny arrays
            np.add(backlog, written, out=after)
            np.minimum(after, per_tick, out=applied)
            backlog = np.subtract(after, applied, out=after)
        self.replication[:, main] = backlog
        return np.divide(backlogs, np.maximum(rate, _TINY), out=backlogs)

    def _autoscale(self, plan: Plan, t: int, out) -> None:
        sc = plan.scaling
        slot = t % self.pending.shape[0]
        booted = self.pending[slot].any()  # instances that finished their cold start
        self.instances += self.pending[slot]
        self.pending[slot] = 0.0
        self.util_avg += utilization_weight(plan.tick_s) * (out.util - self.util_avg)
        current = self.instances + self.pending.sum(axis=0)  # serving or booting
        grow, shrink = scaling_steps(
            plan, t, current, self.instances, self.util_avg, self.last_scale
        )
        if grow.any():
            for v, s in zip(*np.nonzero(sc.enabled), strict=False):
                when = (t + sc.boot_ticks[v, s]) % self.pending.shape[0]
                self.pending[when, v, s] += grow[v, s]
        self.instances -= shrink
        acted = (grow > 0) | (shrink > 0)
        self.last_scale = np.where(acted, t, self.last_scale)
        out.booting[:] = self.pending.sum(axis=0)
        if booted or acted.any():  # the waiting room follows the live instance count
            self.refresh_capacity(plan)

    def in_flight(self) -> np.ndarray:
        """Requests still wanted inside the system, shape (V, R) [requests]."""
        waiting = self.backlog.sum(axis=(1, 2)) - self.doomed.sum(axis=1)
        retries = sum(r.sum(axis=(0, 1, 3, 4)) for r in self.ring)
        return waiting + retries


UTIL_AVERAGE_S = 60.0  # autoscalers act on a one-minute average, like a cloud metric


def utilization_weight(tick_s: float) -> float:
    """Weight of one tick in the exponential one-minute utilization average [-]."""
    return min(1.0, tick_s / UTIL_AVERAGE_S)


def scaling_steps(plan: Plan, t, current, instances, util_avg, last_scale) -> tuple:
    """Instances each autoscaled pool adds and removes at the end of tick ``t``.

    Parameters
    ----------
    t : int or ndarray
        Tick(s); an array (n, 1, 1, 1) evaluates n ticks at once against ``util_avg`` of
        shape (n, V, S, R).
    current, instances : ndarray, shape (V, S, R)
        Instances serving or booting, and serving [instances].
    util_avg : ndarray, shape (V, S, R) or (n, V, S, R)
        One-minute average busy fraction [-].
    last_scale : ndarray, shape (V, S, R)
        Tick of each pool's last scaling action.

    Returns
    -------
    grow, shrink : ndarray, shaped like ``util_avg``
        Instances to start (they serve after the cold start) and to stop now [instances]:
        towards ``ceil(current x average / target)`` within [min, max], once the cooldown
        since the last action has passed.
    """
    sc = plan.scaling
    want = np.ceil(current * util_avg / sc.target[:, :, None] - 1e-9)
    want = np.clip(want, sc.low[:, :, None], sc.high[:, :, None])
    ready = (t - last_scale) * plan.tick_s >= sc.cooldown_s[:, :, None]
    on = sc.enabled[:, :, None] & ready
    grow = np.where(on & (want > current), want - current, 0.0)
    shrink = np.where(on & (want < current), np.minimum(current - want, instances), 0.0)
    return grow, shrink


def token_bucket(tokens, rate, burst, incoming, tick_s: float) -> tuple[np.ndarray, np.ndarray]:
    """One tick of a token bucket: the requests it admits and the tokens it keeps.

    The bucket refills continuously at ``rate`` [1/s] and holds at most ``burst``: in a tick
    it can admit what it held plus the refill, ``tokens + rate tau``, and keeps at most
    ``burst`` of what is left (arrays broadcast; [requests]).
    """
    available = tokens + rate * tick_s
    admitted = np.minimum(incoming, available)
    return admitted, np.minimum(burst, available - admitted)
