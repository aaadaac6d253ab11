"""Closed-form queueing results used as ground truth for the engine.

Every formula is written from its textbook definition, not taken from a library, so that the
tests can check it independently (against exact rationals and against ``scipy.stats.poisson``).

Notation (Kleinrock 1975, ch. 3; Harchol-Balter 2013, ch. 14-15):

* ``lam``  arrival rate λ [1/s]
* ``mu``   service rate of ONE server μ [1/s]  (mean service time 1/μ [s])
* ``c``    number of servers [-]
* ``a``    offered load a = λ/μ [Erlang]
* ``rho``  utilization ρ = λ/(cμ) [-]

References
----------
.. [K75] L. Kleinrock, *Queueing Systems, Volume 1: Theory*, Wiley, 1975.
.. [HB13] M. Harchol-Balter, *Performance Modeling and Design of Computer Systems*, Cambridge
   University Press, 2013.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq


def _check_stable(lam: float, mu: float, c: int) -> None:
    if lam <= 0 or mu <= 0 or c < 1:
        raise ValueError(f"need lam > 0, mu > 0, c >= 1; got lam={lam}, mu={mu}, c={c}")
    if lam >= c * mu:
        raise ValueError(f"unstable queue: rho = lam/(c mu) = {lam / (c * mu):.3f} >= 1")


def erlang_b(c: int, a: float) -> float:
    """Erlang B: probability an arrival finds all ``c`` servers busy in M/M/c/c [-].

    Uses the stable recursion ``B(0) = 1``, ``B(k) = a B(k-1) / (k + a B(k-1))``
    ([K75] eq. 3.46; [HB13] §14.5), which avoids factorial overflow for large ``c``.
    """
    if c < 0 or a < 0:
        raise ValueError(f"need c >= 0, a >= 0; got c={c}, a={a}")
    b = 1.0
    for k in range(1, c + 1):
        b = a * b / (k + a * b)
    return b


def erlang_c(c: int, a: float) -> float:
    """Erlang C: probability an arrival has to wait in M/M/c, P(W > 0) [-].

    ``C = c B / (c - a (1 - B))`` with ``B = erlang_b(c, a)`` ([HB13] §14.6), valid for a < c.
    """
    if a >= c:
        raise ValueError(f"Erlang C needs a < c; got a={a}, c={c}")
    b = erlang_b(c, a)
    return c * b / (c - a * (1.0 - b))


class _ExpWaitQueue:
    """Shared tail algebra of queues whose wait is 0 w.p. 1 − P_wait, else Exp(α) (α [1/s]),
    followed by an independent Exp(μ) service. Subclasses define ``p_wait`` and ``alpha``."""

    mu: float
    p_wait: float
    alpha: float

    @property
    def mean_wait(self) -> float:
        """E[W] = P_wait / α [s]."""
        return self.p_wait / self.alpha

    @property
    def mean_response(self) -> float:
        """E[T] = E[W] + 1/μ [s]."""
        return self.mean_wait + 1.0 / self.mu

    def response_sf(self, t: float) -> float:
        """Survival function P(T > t) of the response time [-], ``t`` in seconds.

        For W ~ Exp(α) and S ~ Exp(μ), P(W + S > t) is the hypoexponential tail
        ``(α e^{-μt} − μ e^{-αt}) / (α − μ)`` (``(1 + μt) e^{-μt}`` when α = μ).
        """
        if t <= 0:
            return 1.0
        mu, alpha, pw = self.mu, self.alpha, self.p_wait
        if math.isclose(alpha, mu, rel_tol=1e-9):
            queued = (1.0 + mu * t) * math.exp(-mu * t)
        else:
            queued = (alpha * math.exp(-mu * t) - mu * math.exp(-alpha * t)) / (alpha - mu)
        return (1.0 - pw) * math.exp(-mu * t) + pw * queued

    def response_percentile(self, q: float) -> float:
        """The ``q``-th percentile (0 < q < 100) of the response time [s].

        Found by root-finding on the exact CDF (the tail is monotone, so the bracket
        ``[0, upper]`` with ``upper`` grown until ``P(T > upper) < 1 - q/100`` is safe).
        """
        if not 0.0 < q < 100.0:
            raise ValueError(f"percentile must be in (0, 100); got {q}")
        target = 1.0 - q / 100.0
        upper = 1.0 / self.mu
        while self.response_sf(upper) > target:
            upper *= 2.0
        return brentq(lambda t: self.response_sf(t) - target, 0.0, upper, xtol=1e-12, rtol=1e-12)

    def wait_percentile(self, q: float) -> float:
        """The ``q``-th percentile of the waiting time W [s] (0 when q ≤ 100 (1 − P_wait))."""
        tail = 1.0 - q / 100.0
        if tail >= self.p_wait:
            return 0.0
        return math.log(self.p_wait / tail) / self.alpha


@dataclass(frozen=True)
class MMc(_ExpWaitQueue):
    """Steady-state M/M/c queue (M/M/1 is ``c=1``); times in seconds.

    The waiting time W is 0 with probability ``1 - P_wait`` and otherwise exponential with rate
    ``c mu - lam``; the response time T = W + S adds an independent Exp(mu) service time S
    ([K75] §3.5; [HB13] §14.6).
    """

    lam: float
    mu: float
    c: int = 1

    def __post_init__(self) -> None:
        _check_stable(self.lam, self.mu, self.c)

    @property
    def rho(self) -> float:
        """Utilization λ/(cμ) [-]."""
        return self.lam / (self.c * self.mu)

    @property
    def p_wait(self) -> float:
        """Probability of waiting, Erlang C [-]."""
        return erlang_c(self.c, self.lam / self.mu)

    @property
    def alpha(self) -> float:
        """Rate of the conditional wait, cμ − λ [1/s]."""
        return self.c * self.mu - self.lam

    @property
    def mean_in_system(self) -> float:
        """E[N] by Little's law, λ E[T] [requests]."""
        return self.lam * self.mean_response

    @property
    def mean_queue(self) -> float:
        """E[N_q] = λ E[W] [requests]."""
        return self.lam * self.mean_wait


@dataclass(frozen=True)
class GammaMc(_ExpWaitQueue):
    """Steady-state GI/M/c queue with Gamma renewal arrivals of rate λ and squared coefficient
    of variation ``scv`` (``scv = 1`` is M/M/c); times in seconds.

    Exact (Takács 1962; Gross, Shortle, Thompson & Harris, *Fundamentals of Queueing Theory*,
    4th ed., 2008, §6.3 "GI/M/c"): with Â(s) the Laplace-Stieltjes transform of the
    inter-arrival time, Â(s) = (1 + s scv/λ)^(−1/scv) for the Gamma law, let σ ∈ (0, 1) solve
    σ = Â(cμ(1 − σ)). A waiting arrival waits Exp(cμ(1 − σ)), and

        P_wait = K / (1 − σ),   C_j = Π_{i=1..j} Â(iμ) / (1 − Â(iμ)),
        1/K = 1/(1 − σ)
              + Σ_{j=1..c} binom(c, j) / (C_j (1 − Â(jμ))) · (c(1 − Â(jμ)) − j) / (c(1 − σ) − j).

    For ``scv = 1`` this is Erlang C (a test checks it).
    """

    lam: float
    mu: float
    c: int
    scv: float

    def __post_init__(self) -> None:
        _check_stable(self.lam, self.mu, self.c)
        if self.scv <= 0:
            raise ValueError(f"scv must be > 0; got {self.scv}")

    def _lst(self, s: float) -> float:
        return (1.0 + s * self.scv / self.lam) ** (-1.0 / self.scv)

    @property
    def sigma(self) -> float:
        """The root σ of σ = Â(cμ(1 − σ)) in (0, 1) [-]."""
        cmu = self.c * self.mu
        # f(x) = x − Â(cμ(1 − x)) is < 0 at 0 and > 0 just below 1 (slope 1/ρ − 1 there); the
        # upper end stays 1e-9 away from the trivial root x = 1, beyond float round-off.
        return brentq(lambda x: x - self._lst(cmu * (1.0 - x)), 0.0, 1.0 - 1e-9, xtol=1e-15)

    @property
    def alpha(self) -> float:
        """Rate of the conditional wait, cμ(1 − σ) [1/s]."""
        return self.c * self.mu * (1.0 - self.sigma)

    @property
    def p_wait(self) -> float:
        """Probability that an arrival waits [-]."""
        sigma, c = self.sigma, self.c
        total, c_j = 1.0 / (1.0 - sigma), 1.0
        for j in range(1, c + 1):
            a_j = self._lst(j * self.mu)
            c_j *= a_j / (1.0 - a_j)
            total += (
                math.comb(c, j)
                / (c_j * (1.0 - a_j))
                * (c * (1.0 - a_j) - j)
                / (c * (1.0 - sigma) - j)
            )
        return (1.0 / total) / (1.0 - sigma)


def mmck_distribution(lam: float, mu: float, c: int, k: int) -> list[float]:
    """Stationary distribution p_n, n = 0..K, of M/M/c/K (K = servers + waiting room) [-].

    Birth-death chain: ``p_n ∝ a^n / n!`` for n ≤ c and ``a^n / (c! c^{n-c})`` for n > c
    ([K75] §3.7; [HB13] §14.8). Valid for any λ (no stability condition, K is finite).
    """
    if k < c or c < 1 or lam <= 0 or mu <= 0:
        raise ValueError(f"need K >= c >= 1, lam > 0, mu > 0; got K={k}, c={c}")
    a = lam / mu
    # Unnormalised terms built by ratios p_n/p_{n-1} = a / min(n, c): no factorial overflow.
    terms = [1.0]
    for n in range(1, k + 1):
        terms.append(terms[-1] * a / min(n, c))
    total = math.fsum(terms)
    return [t / total for t in terms]


def mmck_blocking(lam: float, mu: float, c: int, k: int) -> float:
    """Blocking probability of M/M/c/K: an arrival finds K in the system (PASTA) [-]."""
    return mmck_distribution(lam, mu, c, k)[-1]


def mmck_mean_response(lam: float, mu: float, c: int, k: int) -> float:
    """Mean response time of ADMITTED requests in M/M/c/K [s]: E[N] / (λ (1 − p_K))."""
    p = mmck_distribution(lam, mu, c, k)
    mean_n = math.fsum(n * pn for n, pn in enumerate(p))
    return mean_n / (lam * (1.0 - p[-1]))


def littles_law_l(lam: float, w: float) -> float:
    """Little's law L = λ W: mean number in a system [requests] from throughput λ [1/s] and
    mean time in system W [s] ([K75] §2.1; [HB13] ch. 6)."""
    return lam * w


def fluid_backlog_growth(lam: float, mu: float, c: int) -> float:
    """Fluid-limit growth rate of the backlog when overloaded, λ − cμ [requests/s] (≤ 0 means
    the queue drains at cμ − λ)."""
    return lam - c * mu


def fluid_drain_time(backlog: float, lam: float, mu: float, c: int) -> float:
    """Time to drain ``backlog`` requests at net rate cμ − λ [s] (fluid limit)."""
    net = c * mu - lam
    if net <= 0:
        raise ValueError(f"cannot drain: c mu - lam = {net} <= 0")
    return backlog / net


def che_lru_hit_ratio(popularity: np.ndarray, capacity_items: int) -> float:
    """Steady-state hit ratio of an LRU cache under independent references (Che approximation).

    The characteristic time T_C solves ``Σ_i (1 − e^{−p_i T_C}) = C`` and the hit ratio is
    ``Σ_i p_i (1 − e^{−p_i T_C})`` for key popularities ``p_i`` summing to 1. Accurate to well
    under 1 % for Zipf popularity (Che, Tung & Wang, IEEE JSAC 20(7), 2002; Fricker, Robert &
    Roberts, ITC 2012).
    """
    p = np.asarray(popularity, dtype=float)
    if capacity_items >= len(p):
        return 1.0
    occupancy = lambda t: float(np.sum(-np.expm1(-p * t))) - capacity_items  # noqa: E731
    upper = 1.0
    while occupancy(upper) < 0:
        upper *= 2.0
    t_c = brentq(occupancy, 0.0, upper, rtol=1e-12)
    return float(np.sum(p * -np.expm1(-p * t_c)))


def ttl_hit_ratio(popularity: np.ndarray, rate_rps: float, ttl_s: float) -> float:
    """Hit ratio of an unbounded cache whose entries expire ``ttl_s`` after a miss fills them.

    Key i is requested as a Poisson stream of rate ``p_i λ``; each miss starts a TTL window in
    which Poisson(p_i λ T) hits follow, so key i hits with probability ``p_i λ T / (1 + p_i λ T)``
    (renewal-reward argument; Jung, Berger & Balakrishnan, INFOCOM 2003).
    """
    p = np.asarray(popularity, dtype=float)
    x = p * rate_rps * ttl_s
    return float(np.sum(p * x / (1.0 + x)))


def zipf_popularity(keys: int, s: float) -> np.ndarray:
    """Request probabilities of keys ranked 1..keys under Zipf(s): p_k ∝ k^−s [-]."""
    w = np.arange(1, keys + 1, dtype=float) ** -s
    return w / w.sum()


def retry_fixed_point(
    lam: float, mu: float, c: int, timeout_s: float, attempts: int
) -> float | None:
    """Per-attempt timeout probability p when timed-out calls are retried at once.

    Each request makes up to ``attempts`` calls, so the callee (an M/M/c) receives
    λ_a(p) = λ (1 + p + … + p^{n−1}) = λ (1 − pⁿ)/(1 − p) calls per second, and a call times
    out when its response exceeds the timeout: p = P(T > timeout | λ_a(p)). The mean-field
    fixed point (attempts treated as independent, Poisson at rate λ_a) is the smallest root of
    that equation; ``None`` when no root exists below saturation — the retry storm, where only
    p → 1 is self-consistent (the metastable state of Bronson et al., "Metastable Failures in
    Distributed Systems", HotOS 2021).
    """

    def excess(p: float) -> float:
        offered = lam * (1.0 - p**attempts) / (1.0 - p)
        if offered >= c * mu:
            return 1.0 - p  # saturated: the queue grows, every call eventually times out
        return MMc(offered, mu, c).response_sf(timeout_s) - p

    grid = np.linspace(0.0, 1.0 - 1e-9, 4001)
    for low, high in zip(grid[:-1], grid[1:], strict=True):
        if excess(low) > 0 >= excess(high):
            return float(brentq(excess, low, high, xtol=1e-14))
    return None
