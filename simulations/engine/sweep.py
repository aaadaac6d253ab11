"""The all-station sweep descriptor and the incident masks laid out by iteration.

See :mod:`simulations.engine.core` for the wavefront: station ``s`` handles tick
``i - level[s]`` in iteration ``i``. Everything here is computed once per run.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from simulations.engine.latency import path_survival_at
from simulations.engine.queueing import finite_queue, wait_parameters


def span(indices: np.ndarray) -> np.ndarray | slice:
    """``indices`` as a slice when they are consecutive (a view instead of a gathered copy)."""
    indices = np.asarray(indices)
    if indices.size and (np.diff(indices) == 1).all():
        return slice(int(indices[0]), int(indices[-1]) + 1)
    return indices


@dataclass
class RetrySlots:
    """Stations of a level whose callers retry, and how (see ``policies.retry_kernel``)."""

    local: np.ndarray  # indices of the retry stations within the level
    ring: int  # index into State.ring
    ok: np.ndarray  # (A, V, n_retry) bool: attempt a (0-based) may still be retried
    kernel: np.ndarray  # (A-1, 2, H, V, n_retry) retry timing shares
    idempotent: np.ndarray  # (V, n_retry) bool
    budget: np.ndarray  # (V, n_retry) retries allowed per first attempt [-]
    admission_retried: np.ndarray  # (V, n_retry, 1, 1) 0 for worker pools (see ADMISSION)


@dataclass
class Routing:
    """Forwarded requests between levels, as one sparse segment sum per iteration.

    The delivery buffer is shaped (V, lmax + 1, S K, R): a request forwarded in iteration
    ``i`` from (station, class) ``src`` to ``dst``, ``d`` levels deeper, waits in slot
    ``(i + d) mod (lmax + 1)``. ``buffer[:, slot, dst] += segment sums over sorted
    (delay, dst, src) pairs of forward[:, src] x weight``: a handful of pairs in one gather
    and one sum, instead of a dense (S K) x (S K) product per delay.
    """

    src: np.ndarray  # (nnz,) flat (station, class) sources, sorted by delay, destination, source
    weight: np.ndarray  # (V, nnz, 1) next-hop probabilities (0 where a variant lacks the hop)
    starts: np.ndarray  # (n_dst,) first pair of each (delay, destination)
    targets: list  # by i mod (lmax + 1): (n_dst,) flat (slot, station, class) destinations

    @classmethod
    def build(cls, hops: list, lmax: int, n_flat: int) -> Routing:
        """``hops``: (delay, (V, S K to, S K from) next-hop probabilities) per delay."""
        src, weight, starts, dst, delay = [], [], [], [], []
        used = 0
        for d, route in hops:
            rows, cols = np.nonzero(route.any(axis=0))  # (to, from) pairs used by some variant
            order = np.lexsort((cols, rows))
            rows, cols = rows[order], cols[order]
            to, first = np.unique(rows, return_index=True)
            src.append(cols)
            weight.append(route[:, rows, cols][:, :, None])
            starts.append(first + used)
            dst.append(to)
            delay.append(np.full(len(to), d))
            used += len(cols)
        if not hops:
            return cls(np.zeros(0, np.int64), np.zeros((0, 0, 1)), np.zeros(0, np.int64), [])
        dst, delay = np.concatenate(dst), np.concatenate(delay)
        slots = lmax + 1
        return cls(
            src=np.concatenate(src),
            weight=np.concatenate(weight, axis=1),
            starts=np.concatenate(starts),
            targets=[((r + delay) % slots) * n_flat + dst for r in range(slots)],
        )

    @cached_property
    def single(self) -> bool:
        """Every destination has one source (the usual case): its sum is that pair."""
        return len(self.starts) == len(self.src)

    def deliver(self, i: int, flat: np.ndarray, buffer: np.ndarray) -> None:
        """Add ``flat`` (V, S K, R), forwarded in iteration ``i``, to ``buffer``
        (V, (lmax + 1) S K, R), the delivery buffer with its slots flattened."""
        if not self.targets:
            return
        parts = flat[:, self.src] * self.weight
        sums = parts if self.single else np.add.reduceat(parts, self.starts, axis=1)
        # (slot, destination) pairs are distinct, so the fancy-indexed += adds each sum once
        buffer[:, self.targets[i % len(self.targets)]] += sums

    def by_source_level(self, level: np.ndarray, n_classes: int) -> list:
        """The pairs split by the route level of their source station, for a block of ticks
        in which every level forwards within its own tick (``calm``): per level, ``(src,
        weight, starts, dst)`` with ``starts`` None when every destination has one source."""
        if not self.targets:
            return []
        n_flat = len(level) * n_classes
        group_dst = self.targets[0] % n_flat  # slot 0: the destination itself
        group_end = np.append(self.starts[1:], len(self.src))
        group_level = level[self.src[self.starts] // n_classes]
        out = []
        for source_level in range(int(level.max()) + 1):
            groups = np.flatnonzero(group_level == source_level)
            pairs = [np.arange(self.starts[g], group_end[g]) for g in groups]
            pairs = np.concatenate(pairs) if pairs else np.zeros(0, np.int64)
            sizes = group_end[groups] - self.starts[groups]
            starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
            single = bool((sizes == 1).all())
            out.append(
                (
                    self.src[pairs],
                    self.weight[:, pairs],
                    None if single else starts,
                    group_dst[groups],
                )
            )
        return out


@dataclass
class Sweep:
    """All stations, swept together once per iteration (see ``core`` on the wavefront).

    Shapes use n = S (every station); ``start``/``stop`` span them all.
    """

    start: int
    stop: int
    level: np.ndarray  # (S,) route depth of each station: it handles tick i - level
    lmax: int
    entries: list  # (level, its stations' slice, (V, n, K, 1) share of arrivals entering there)
    routing: Routing  # forwarded requests between levels (sparse next-hop distribution)
    delay_idx: np.ndarray  # stations that are pure delays (no queue)
    svc: np.ndarray  # (V, n, K) mean service times [s]
    svc2: np.ndarray  # (V, n, K) second moments of exponential service times, 2 s^2 [s^2]
    pooled: np.ndarray  # (V, n) bool: one shared queue per station
    per_instance: np.ndarray  # (V, n) servers per instance
    timeout_s: np.ndarray  # (V, n) caller timeout [s], inf = none
    shed_s: np.ndarray  # (V, n) load-shedding queue-wait bound [s], inf = none
    breaker_mask: np.ndarray  # (V, n) bool
    limiter_mask: np.ndarray  # (V, n) bool
    limiter_rate: np.ndarray  # (V, n) token refill [1/s]; 0 where not a limiter
    limiter_burst: np.ndarray  # (V, n) bucket size [requests]; 0 where not a limiter
    retry: RetrySlots | None
    writes: np.ndarray | slice | None  # replicated primaries (indices, or a slice)
    replica_reads: np.ndarray | slice | None  # their replica stations (indices, or a slice)
    dead_letter: np.ndarray  # (V, n) bool: worker pools whose failed jobs are dead-lettered
    block_rho: np.ndarray  # (V, n) below this utilization no arrival finds the room full
    doom_rho: np.ndarray  # (V, n) below this (and with no backlog) no caller times out

    # Derived, state-independent facts read every iteration: computed once per run (the
    # fields above are never reassigned after ``build_sweep``).
    @cached_property
    def limiter_stations(self) -> np.ndarray | slice:
        """The stations that are rate limiters in some variant (indices, or a slice)."""
        return span(np.flatnonzero(self.limiter_mask.any(axis=0)))

    @cached_property
    def limiter_params(self) -> tuple[np.ndarray, ...]:
        """At the limiter stations, each (V, n_limiters, 1): mask, rate [1/s], burst
        [requests], M/M/1/K room ``2 burst`` (``inf`` where not a limiter) [requests], and
        ``quiet``: a utilization at or below which rho**room <= 1e-7 surely (a margin of
        1e-9 over the exact root; -1 where the room is empty, which is never quiet)."""
        lim = self.limiter_stations
        mask = self.limiter_mask[:, lim, None]
        burst = self.limiter_burst[:, lim, None]
        room = np.where(mask, 2.0 * burst, np.inf)
        with np.errstate(divide="ignore"):
            quiet = np.where(room > 0, 1e-7 ** (1.0 / room) * (1.0 - 1e-9), -1.0)
        return mask, self.limiter_rate[:, lim, None], burst, room, quiet

    @cached_property
    def routes_by_level(self) -> list:
        """Routing pairs by the level of their source (see ``Routing.by_source_level``)."""
        return self.routing.by_source_level(self.level, self.svc.shape[2])

    @cached_property
    def can_empty(self) -> bool:
        """Some queueing station could lose every server (failures, autoscaling to zero)."""
        return bool((~np.isin(np.arange(self.stop), self.delay_idx)).any())

    @cached_property
    def moments(self) -> np.ndarray:
        """(3, V, S, K): 1, E[S], E[S^2] per station and class (for one einsum; moment first,
        contiguous in the classes, so the einsum's inner loop runs on contiguous memory)."""
        return np.stack([np.ones_like(self.svc), self.svc, self.svc2])

    @cached_property
    def shed_finite(self) -> np.ndarray:
        return np.isfinite(self.shed_s)[:, :, None]

    @cached_property
    def shed_s3(self) -> np.ndarray:
        return np.where(np.isfinite(self.shed_s), self.shed_s, 0.0)[:, :, None]

    @cached_property
    def timeout(self) -> bool:
        return bool(np.isfinite(self.timeout_s).any())

    @cached_property
    def shedding(self) -> bool:
        return bool(np.isfinite(self.shed_s).any())

    @cached_property
    def breaker(self) -> bool:
        return bool(self.breaker_mask.any())

    @cached_property
    def limiter(self) -> bool:
        return bool(self.limiter_mask.any())


def build_sweep(net, policies, replicated, replica_of) -> Sweep:
    """Describe every station for the wavefront sweep (levels, deliveries, policies)."""
    n_v, n_s, n_k = net.svc.shape
    level = np.zeros(n_s, dtype=np.int64)
    for depth, (a, b) in enumerate(net.levels):
        level[a:b] = depth
    full = net.route.reshape(n_v, n_s, n_k, n_s, n_k)
    gap = level[:, None] - level[None, :]  # (to, from)
    hops = []
    for delay in np.unique(gap[gap > 0]):
        mask = (gap == delay)[None, :, None, :, None]
        route = np.where(mask, full, 0.0).reshape(n_v, n_s * n_k, n_s * n_k)
        if route.any():
            hops.append((int(delay), route))
    entries = []
    for depth, (a, b) in enumerate(net.levels):
        share = net.entry[:, a:b]
        if share.any():
            entries.append((depth, slice(a, b), share[..., None]))
    retry = None
    local = np.flatnonzero((policies.attempts > 1).any(axis=0))
    if local.size:
        n_a = policies.max_attempts
        retry = RetrySlots(
            local=local,
            ring=0,
            ok=np.arange(n_a)[:, None, None] + 1 < policies.attempts[None, :, local],
            kernel=policies.kernel[:, :, :, :, local],
            idempotent=policies.idempotent[:, local],
            budget=policies.budget[:, local],
            admission_retried=(~policies.dead_letter[:, local])[:, :, None, None] * 1.0,
        )
    sl = slice(0, n_s)
    return Sweep(
        start=0,
        stop=n_s,
        level=level,
        lmax=int(level.max()),
        entries=entries,
        routing=Routing.build(hops, int(level.max()), n_s * n_k),
        delay_idx=np.flatnonzero(net.delay),
        svc=net.svc,
        svc2=2.0 * net.svc**2,
        pooled=net.pooled,
        per_instance=net.per_instance,
        timeout_s=policies.timeout_s,
        shed_s=net.shed_s,
        breaker_mask=policies.breaker,
        limiter_mask=np.isfinite(policies.limiter_rate),
        limiter_rate=np.nan_to_num(policies.limiter_rate),
        limiter_burst=np.nan_to_num(policies.limiter_burst),
        retry=retry,
        writes=span(replicated) if replicated.size else None,
        replica_reads=span(replica_of) if replica_of.size else None,
        dead_letter=policies.dead_letter,
        block_rho=_block_rho(net, sl),
        doom_rho=_doom_rho(net, policies, sl),
    )


@dataclass
class Skewed:
    """Incident masks, hit ratios and read splits by *iteration*: entry [i, v, s] is for tick
    i - level[s].

    Attributes mirror :class:`~simulations.engine.incidents.Timeline`, each shaped
    ``(n_ticks + lmax, V, S)`` (caches: ``(n_ticks + lmax, V, C)``); ticks outside the
    horizon read as "no incident".
    """

    error: np.ndarray
    slow: np.ndarray
    failed: np.ndarray
    down: np.ndarray
    primary_lost: np.ndarray
    flush: np.ndarray
    hit_steady: np.ndarray
    read_ratio: np.ndarray  # (n_ticks + lmax, V, n_split): see ``plan.ReadSplit``
    any_error: np.ndarray  # (n_ticks + lmax,) bool
    any_primary_lost: np.ndarray  # (n_ticks + lmax,) bool
    any_read_ratio: np.ndarray  # (n_ticks + lmax,) bool: some read split differs from design
    any_capacity: np.ndarray  # (n_ticks + lmax,) bool: instances failed or down somewhere
    any_slow: np.ndarray  # (n_ticks + lmax,) bool: service slowed down somewhere
    any_flush: bool  # some cache loses keys during the run (else every cache stays warm)
    hit_moves: np.ndarray  # (n_ticks + lmax,) bool: hit_steady differs from the iteration before


def build_skewed(timeline, hit_steady, level, caches, read_split) -> Skewed:
    """Lay incident masks, hit ratios and read splits out by iteration (see :class:`Skewed`)."""
    lmax = int(level.max())

    def gather(values, fill, levels=level):
        return _by_iteration(values, fill, levels, lmax)

    error = gather(timeline.error, 0.0)
    primary_lost = gather(timeline.primary_lost, 0.0)
    failed, down = gather(timeline.failed, 0.0), gather(timeline.down, 0.0)
    slow = gather(timeline.slow, 1.0)
    cache_level = level[np.asarray(caches, dtype=np.int64)]
    flush = gather(timeline.flush, 0.0, cache_level)
    steady = gather(hit_steady, 0.0, cache_level)
    moves = np.ones(len(steady), bool)
    moves[1:] = (steady[1:] != steady[:-1]).any(axis=(1, 2))
    read_ratio = gather(read_split.ratio, 1.0, level[read_split.stations])
    return Skewed(
        error=error,
        slow=slow,
        failed=failed,
        down=down,
        primary_lost=primary_lost,
        flush=flush,
        hit_steady=steady,
        read_ratio=read_ratio,
        any_error=error.any(axis=(1, 2)),
        any_primary_lost=primary_lost.any(axis=(1, 2)),
        any_read_ratio=(read_ratio != 1.0).any(axis=(1, 2)),
        any_capacity=failed.any(axis=(1, 2)) | down.any(axis=(1, 2)),
        any_slow=(slow != 1.0).any(axis=(1, 2)),
        any_flush=bool(flush.any()),
        hit_moves=moves,
    )


def _by_iteration(values: np.ndarray, fill: float, levels: np.ndarray, lmax: int) -> np.ndarray:
    """(T, V, n) per tick -> (T + lmax, V, n) per iteration: column j is at tick i - levels[j]
    in iteration i (``fill`` outside the horizon)."""
    n_t = values.shape[0]
    out = np.full((n_t + lmax, *values.shape[1:]), fill)
    for level in np.unique(levels):  # the columns of one level move by whole slices
        columns = np.flatnonzero(levels == level)
        out[level : level + n_t, :, columns] = values[:, :, columns]
    return out


def _block_rho(net, sl: slice) -> np.ndarray:
    """Utilization below which p_K < 1e-7 for the smallest waiting room a queue can have."""
    room = net.qcap_per_instance[:, sl]
    group = net.per_instance[:, sl]
    out = np.full(room.shape, np.inf)
    at = np.nonzero(np.isfinite(room) & ~net.delay[sl][None, :])
    # variants often share their queues' sizes: each distinct (servers, room) once
    queues, which = np.unique(np.stack([group[at], room[at]], axis=1), axis=0, return_inverse=True)
    servers, rooms = queues[:, 0], queues[:, 1]
    out[at] = _largest_rho(
        len(queues), lambda rho: finite_queue(servers, rho, rooms, np.ones(rho.shape))[0] < 1e-7
    )[which.ravel()]
    return out


def _doom_rho(net, policies, sl: slice) -> np.ndarray:
    """Utilization below which P(W + S > timeout) < 1e-9 (smallest queue, slowest class)."""
    timeout = policies.timeout_s[:, sl]
    out = np.full(timeout.shape, np.inf)
    at = np.nonzero(np.isfinite(timeout))
    service = np.maximum(net.svc[:, sl].max(axis=2)[at], 1e-9)
    # each distinct (servers, service time, timeout) once
    queues, which = np.unique(
        np.stack([net.per_instance[:, sl][at], service, timeout[at]], axis=1),
        axis=0,
        return_inverse=True,
    )
    group, service, limit = queues.T

    def safe(rho):
        p_wait, theta, _ = wait_parameters(group, rho * group, service, 1.0)
        return path_survival_at(limit, 1.0 / service, p_wait, theta) < 1e-9

    out[at] = _largest_rho(len(queues), safe)[which.ravel()]
    return out


def _largest_rho(count: int, holds) -> np.ndarray:
    """The utilization, to 2^-40, below which ``holds(rho)`` is true, for ``count`` queues at
    once, shape (count,); ``holds`` maps an array of utilizations broadcast against (count,)
    to bools and is monotone (true at low load).

    Notes
    -----
    What a 40-step bisection of [0, 1) finds, in four rounds of 1023 candidates each: round r
    keeps the largest multiple of 2^-10(r+1) at which ``holds`` is still true (the values are
    dyadic, so exact in floating point). Four vectorised calls cost far less than forty.
    """
    low = np.zeros(count)
    for bits in (10, 20, 30, 40):
        steps = np.arange(1, 2**10)[:, None] * 2.0**-bits  # (1023, 1)
        candidates = low[None, :] + steps  # (1023, count), ascending along axis 0
        passed = np.asarray(holds(candidates)).sum(axis=0)  # true on a prefix (monotone)
        low = low + passed * 2.0**-bits
    return low
