"""A per-request discrete-event reference simulation of a request network, built on SimPy.

It shares NO code with ``simulations.engine``: every request is an individual SimPy process that
walks its class's route station by station (a tandem network, as in a Jackson network), waits
for a free server, is served for a random time and moves on. A cache station is cache-aside: a
hit ends the request there, a miss continues down the route. It is slow (≈10⁵ requests/s) and
exact up to sampling noise, which is why it is the reference for the time-stepped engine.

Times inside the simulation are in seconds; inputs and reported latencies use the units named
in the field (``_ms``, ``_s``, ``_rps``).
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
import simpy

OK, DROPPED, TIMED_OUT = 0, 1, 2
DELAY_SERVERS = 1_000_000  # servers of a pure-delay ("infinite-server") station: never a queue


@dataclass(frozen=True)
class Station:
    """One component: ``servers`` identical servers in front of one FIFO queue.

    Parameters
    ----------
    id : str
    servers : int
        Number of parallel servers c (app pool: instances × concurrency; database: cores).
    service_ms : dict[str, float]
        Mean service time per request class [ms]. A class absent here passes through with no
        service (zero time, no server held).
    distribution : {"exponential", "deterministic"}
        Service-time distribution around the mean.
    queue_limit : int or None
        Waiting room (requests queued, not in service); an arrival finding it full is dropped.
        ``None`` is an infinite queue. With ``queue_limit = K - c`` the station is M/M/c/K.
    hit_ratio : float or None
        For a cache: fixed probability that a request is a hit (ends here). Ignored when the
        network has a ``key_cache``.
    instances : int
        Instances the servers are split over (``servers`` must divide evenly).
    slowdowns : tuple of (start_s, stop_s, factor)
        A service that STARTS in [start_s, stop_s) takes ``factor`` times as long (a dependency
        slowdown or noisy-neighbour incident).
    call_timeout_ms, attempts, backoff_ms, jitter
        Policy on the call INTO this station: the caller waits at most ``call_timeout_ms`` per
        attempt, then retries (up to ``attempts`` in all) after ``backoff_ms`` doubled per
        retry — a uniform draw in [0, backoff] with ``jitter``. An abandoned attempt stays
        queued and is served anyway (timeouts waste work); when every attempt times out the
        request fails as TIMED_OUT.
    dispatch : {"pooled", "round_robin"}
        ``pooled``: one FIFO queue shared by all servers (a least-connections balancer in the
        limit). ``round_robin``: request i goes to instance i mod ``instances``, each with its
        own queue of ``servers / instances`` servers (and its own ``queue_limit``).
    """

    id: str
    servers: int
    service_ms: dict[str, float]
    distribution: str = "exponential"
    queue_limit: int | None = None
    hit_ratio: float | None = None
    instances: int = 1
    dispatch: str = "pooled"
    slowdowns: tuple[tuple[float, float, float], ...] = ()
    call_timeout_ms: float | None = None
    attempts: int = 1
    backoff_ms: float = 0.0
    jitter: bool = False

    @property
    def queues(self) -> int:
        """Number of separate FIFO queues."""
        return self.instances if self.dispatch == "round_robin" else 1


@dataclass(frozen=True)
class KeyCache:
    """Key-level cache-aside model: Zipf(``zipf_s``) key popularity over ``keys`` keys, an LRU
    of ``capacity_items`` entries, entries expire ``ttl_s`` after they were filled. A miss
    fills its key when the request has finished the rest of its route (the read).

    The hit ratio is then emergent (what a real LRU would do), not an input. ``flush_at_s``
    empties the cache at those times (a cache flush incident).
    """

    station_id: str
    keys: int
    zipf_s: float
    capacity_items: int
    ttl_s: float = math.inf
    flush_at_s: tuple[float, ...] = ()


@dataclass(frozen=True)
class Network:
    """Stations, a route per request class, and the class mix (fractions summing to 1)."""

    stations: tuple[Station, ...]
    routes: dict[str, tuple[str, ...]]
    mix: dict[str, float]
    key_cache: KeyCache | None = None


@dataclass
class DesResult:
    """Per-request records and per-tick samples of one replication.

    ``arrival_s``, ``latency_ms`` (end-to-end from the intended arrival; a timed-out request
    counts at the timeout), ``outcome`` (OK / DROPPED / TIMED_OUT) and ``klass`` (index into
    ``classes``) are aligned arrays, one entry per request that arrived within the horizon and
    finished; ``unfinished`` counts those still in flight at the horizon.
    ``cache_hit`` is 1 (hit), 0 (miss) or -1 (no cache lookup) per request.
    ``backlog[station_id]`` and ``busy[station_id]`` are sampled at each tick start (queued and
    in-service counts); ``in_flight`` is the number of requests in the system at each tick start.
    """

    tick_s: float
    classes: list[str]
    arrival_s: np.ndarray
    latency_ms: np.ndarray
    outcome: np.ndarray
    klass: np.ndarray
    cache_hit: np.ndarray
    backlog: dict[str, np.ndarray]
    busy: dict[str, np.ndarray]
    in_flight: np.ndarray
    offered: int
    cache_hits: int = 0
    cache_lookups: int = 0
    unfinished: int = 0

    def mask(self, after_s: float = 0.0, before_s: float = math.inf) -> np.ndarray:
        """Requests that arrived in [after_s, before_s) — e.g. to drop a warm-up period."""
        return (self.arrival_s >= after_s) & (self.arrival_s < before_s)

    def ok_latency_ms(self, after_s: float = 0.0, before_s: float = math.inf) -> np.ndarray:
        """Latencies of successful requests arriving in the window [ms]."""
        m = self.mask(after_s, before_s) & (self.outcome == OK)
        return self.latency_ms[m]

    @property
    def hit_ratio(self) -> float:
        """Fraction of cache lookups that hit [-] (nan without a cache on any route)."""
        return self.cache_hits / self.cache_lookups if self.cache_lookups else math.nan

    def hit_ratio_in(self, after_s: float, before_s: float = math.inf) -> float:
        """Hit ratio of the lookups by requests arriving in [after_s, before_s) [-]."""
        looked = self.mask(after_s, before_s) & (self.cache_hit >= 0)
        return float(self.cache_hit[looked].mean()) if looked.any() else math.nan


def arrival_times(
    rate_rps: np.ndarray, tick_s: float, rng: np.random.Generator, scv: float = 1.0
) -> np.ndarray:
    """Arrival epochs [s] of a renewal process time-changed by a piecewise-constant rate.

    Inter-arrival times of the unit-rate process are Gamma(shape=1/scv, scale=scv) — mean 1 and
    squared coefficient of variation ``scv`` (``scv = 1`` is Poisson) — and are mapped through
    the inverse of the cumulative rate Λ(t) = ∫ rate. For a constant rate this is exactly a
    renewal process with rate λ and SCV ``scv``.
    """
    rate = np.asarray(rate_rps, dtype=float)
    cum = np.concatenate([[0.0], np.cumsum(rate * tick_s)])  # Λ at tick edges
    total = cum[-1]
    n_guess = int(total + 10 * math.sqrt(total * max(scv, 1.0)) + 100)
    shape = 1.0 / scv
    epochs = np.cumsum(rng.gamma(shape, scv, size=n_guess))
    while epochs[-1] < total:
        more = epochs[-1] + np.cumsum(rng.gamma(shape, scv, size=n_guess))
        epochs = np.concatenate([epochs, more])
    epochs = epochs[epochs < total]
    # Invert Λ piecewise-linearly: find the tick, then the offset inside it.
    idx = np.searchsorted(cum, epochs, side="right") - 1
    idx = np.clip(idx, 0, len(rate) - 1)
    within = (epochs - cum[idx]) / np.where(rate[idx] > 0, rate[idx], np.inf)
    return idx * tick_s + within


class _LruTtl:
    """LRU of ``capacity`` keys whose entries expire ``ttl_s`` after they were filled."""

    def __init__(self, capacity: int, ttl_s: float) -> None:
        self.capacity, self.ttl_s = capacity, ttl_s
        self.filled_at: OrderedDict[int, float] = OrderedDict()

    def flush(self) -> None:
        self.filled_at.clear()

    def lookup(self, key: int, now: float) -> bool:
        """Hit if the key is present and younger than the TTL (and mark it recently used)."""
        filled = self.filled_at.get(key)
        if filled is not None and now - filled < self.ttl_s:
            self.filled_at.move_to_end(key)
            return True
        return False

    def fill(self, key: int, now: float) -> None:
        """Cache-aside fill after the read returned, evicting the least recently used key."""
        self.filled_at[key] = now
        self.filled_at.move_to_end(key)
        if len(self.filled_at) > self.capacity:
            self.filled_at.popitem(last=False)


def zipf_cdf(keys: int, s: float) -> np.ndarray:
    """Cumulative popularity of keys ranked 1..keys under Zipf(s): P(rank ≤ k) ∝ Σ k^-s."""
    weights = np.arange(1, keys + 1, dtype=float) ** -s
    cdf = np.cumsum(weights)
    return cdf / cdf[-1]


def simulate_network(
    network: Network,
    rate_rps: np.ndarray,
    tick_s: float,
    *,
    seed: int,
    scv: float = 1.0,
    timeout_ms: float | None = None,
) -> DesResult:
    """Simulate one replication of ``network`` under a piecewise-constant arrival rate.

    Parameters
    ----------
    network : Network
    rate_rps : ndarray, shape (n_ticks,)
        Intended arrival rate in each tick [1/s].
    tick_s : float
        Tick length [s]; the horizon is ``n_ticks * tick_s``.
    seed : int
        Seeds one ``np.random.Generator``; the run is deterministic for a seed.
    scv : float
        Squared coefficient of variation of inter-arrival times (1 = Poisson) [-].
    timeout_ms : float or None
        End-to-end client timeout [ms]: a request whose response would take longer counts as
        TIMED_OUT with latency ``timeout_ms``. The servers still do its work (timeouts waste
        work; nothing is removed from queues).

    Returns
    -------
    DesResult
    """
    rng = np.random.default_rng(seed)
    n_ticks = len(rate_rps)
    horizon = n_ticks * tick_s
    arrivals = arrival_times(rate_rps, tick_s, rng, scv)
    classes = list(network.mix)
    class_of = rng.choice(len(classes), size=len(arrivals), p=[network.mix[k] for k in classes])
    uniforms = rng.random(len(arrivals))  # cache hit draws (fixed hit ratio)

    kc = network.key_cache
    cache = _LruTtl(kc.capacity_items, kc.ttl_s) if kc else None
    keys = np.searchsorted(zipf_cdf(kc.keys, kc.zipf_s), rng.random(len(arrivals))) if kc else None

    env = simpy.Environment()
    stations = {s.id: s for s in network.stations}
    resources = {
        s.id: [simpy.Resource(env, capacity=s.servers // s.queues) for _ in range(s.queues)]
        for s in network.stations
    }
    dispatched = dict.fromkeys(stations, 0)
    routes = {k: [stations[sid] for sid in network.routes[k]] for k in classes}
    timeout_s = math.inf if timeout_ms is None else timeout_ms / 1000.0

    n = len(arrivals)
    latency = np.full(n, np.nan)
    outcome = np.full(n, -1, dtype=np.int8)
    cache_hit = np.full(n, -1, dtype=np.int8)
    counters = {"in_flight": 0, "hits": 0, "lookups": 0}

    def service_time(st: Station, klass: str) -> float:
        mean = st.service_ms[klass] / 1000.0
        for start, stop, factor in st.slowdowns:
            if start <= env.now < stop:
                mean *= factor
        return rng.exponential(mean) if st.distribution == "exponential" else mean

    def request(i: int):
        klass = classes[class_of[i]]
        t0 = env.now
        counters["in_flight"] += 1
        result = OK
        fill_after = False
        for st in routes[klass]:
            if st.hit_ratio is not None or (kc and kc.station_id == st.id):
                counters["lookups"] += 1
                hit = cache.lookup(int(keys[i]), env.now) if kc else uniforms[i] < st.hit_ratio
                cache_hit[i] = hit
                # The fill waits for the read further down the route, so requests for the same
                # key arriving meanwhile miss too (no request coalescing: a thundering herd).
                fill_after = kc is not None and not hit
                if klass in st.service_ms:
                    yield from _serve(st, klass, _pick(st))
                if hit:
                    counters["hits"] += 1
                    break
                continue
            if klass not in st.service_ms:
                continue
            res = _pick(st)
            full = res.count >= res.capacity and len(res.queue) >= (st.queue_limit or 0)
            if st.queue_limit is not None and full:
                result = DROPPED
                break
            if st.call_timeout_ms is None:
                yield from _serve(st, klass, res)
            elif not (yield from _call_with_retries(st, klass)):
                result = TIMED_OUT
                break
        if fill_after and result == OK:
            cache.fill(int(keys[i]), env.now)
        elapsed = env.now - t0
        if result == OK and elapsed > timeout_s:
            result, elapsed = TIMED_OUT, timeout_s
        latency[i] = elapsed * 1000.0
        outcome[i] = result
        counters["in_flight"] -= 1

    def _pick(st: Station) -> simpy.Resource:
        queues = resources[st.id]
        if len(queues) == 1:
            return queues[0]
        dispatched[st.id] += 1
        return queues[(dispatched[st.id] - 1) % len(queues)]

    def _call_with_retries(st: Station, klass: str):
        """Attempts with a per-attempt timeout; True when one completes in time."""
        backoff = st.backoff_ms / 1000.0
        for attempt in range(st.attempts):
            if attempt:
                wait = rng.uniform(0.0, backoff) if st.jitter else backoff
                if wait > 0:
                    yield env.timeout(wait)
                backoff *= 2.0
            call = env.process(_serve(st, klass, _pick(st)))
            yield call | env.timeout(st.call_timeout_ms / 1000.0)
            if call.triggered:
                return True
        return False

    def _serve(st: Station, klass: str, res: simpy.Resource):
        with res.request() as req:
            yield req
            yield env.timeout(service_time(st, klass))

    def source():
        last = 0.0
        for i, t in enumerate(arrivals):
            yield env.timeout(t - last)
            last = t
            env.process(request(i))

    backlog = {s.id: np.zeros(n_ticks) for s in network.stations}
    busy = {s.id: np.zeros(n_ticks) for s in network.stations}
    in_flight = np.zeros(n_ticks)

    def sampler():
        for k in range(n_ticks):
            for sid, queues in resources.items():
                backlog[sid][k] = sum(len(res.queue) for res in queues)
                busy[sid][k] = sum(res.count for res in queues)
            in_flight[k] = counters["in_flight"]
            yield env.timeout(tick_s)

    def flusher():
        last = 0.0
        for at in sorted(kc.flush_at_s if kc else ()):
            yield env.timeout(at - last)
            last = at
            cache.flush()

    # The sampler starts first so tick k is sampled at k*tick_s before that instant's arrivals.
    env.process(sampler())
    env.process(flusher())
    env.process(source())
    env.run(until=horizon)

    done = outcome >= 0
    return DesResult(
        tick_s=tick_s,
        classes=classes,
        arrival_s=arrivals[done],
        latency_ms=latency[done],
        outcome=outcome[done],
        klass=class_of[done],
        cache_hit=cache_hit[done],
        backlog=backlog,
        busy=busy,
        in_flight=in_flight,
        offered=n,
        cache_hits=counters["hits"],
        cache_lookups=counters["lookups"],
        unfinished=int(n - done.sum()),
    )


def token_bucket_shed_fraction(
    rate_rps: float, burst: float, lam: float, horizon_s: float, *, seed: int
) -> float:
    """Fraction of Poisson(``lam``) requests a token bucket sheds, simulated per request.

    The bucket holds at most ``burst`` tokens and refills continuously at ``rate_rps`` tokens
    per second; a request takes one token or is shed (HTTP 429). No queue is involved, so a
    plain event loop over the arrival epochs is exact (no SimPy needed).
    """
    rng = np.random.default_rng(seed)
    arrivals = np.sort(rng.uniform(0.0, horizon_s, rng.poisson(lam * horizon_s)))
    tokens, last, shed = float(burst), 0.0, 0
    for t in arrivals.tolist():
        tokens = min(burst, tokens + (t - last) * rate_rps)
        last = t
        if tokens >= 1.0:
            tokens -= 1.0
        else:
            shed += 1
    return shed / len(arrivals)
