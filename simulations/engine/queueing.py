"""Closed-form queueing relations used by the engine: Erlang C, Allen-Cunneen, response tails.

All functions are vectorized over numpy arrays of any (broadcastable) shape.

References
----------
.. [1] L. Kleinrock, *Queueing Systems, Vol. 1: Theory*, Wiley, 1975 (M/M/c, Erlang C).
.. [2] M. Harchol-Balter, *Performance Modeling and Design of Computer Systems*, Cambridge
   University Press, 2013, ch. 14 (M/M/k response time).
.. [3] A. O. Allen, *Probability, Statistics and Queueing Theory*, 2nd ed., 1990 (the
   Allen-Cunneen G/G/c approximation); J. F. C. Kingman, "The single server queue in heavy
   traffic", 1961.
.. [4] S. Halfin and W. Whitt, "Heavy-traffic limits for queues with many exponential servers",
   Operations Research 29(3), 1981.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

RHO_MAX = 0.995  # stationary formulas are used up to here; above it the fluid backlog rules
# Above saturation a large waiting room is still filling: the fluid backlog carries the wait,
# and the stationary term only describes the short-term fluctuations of a busy queue.
RHO_OVERLOAD = 0.9
_EXACT_C = 4096  # exact Erlang C (Erlang B recursion) up to this many servers; Halfin-Whitt above
_TABLE_RHO = 2048  # grid points per unit of rho
_RHO_TOP = 8.0  # Erlang B is tabulated for rho in [0, 8]


@lru_cache(maxsize=512)
def _erlang_b_row(servers: int) -> np.ndarray:
    """Erlang B for ``servers`` servers on a uniform rho grid over [0, 8] (step 1/2048)."""
    rho = np.linspace(0.0, _RHO_TOP, int(_TABLE_RHO * _RHO_TOP) + 1)
    offered = servers * rho  # a = c rho [Erlang]
    blocking = np.ones_like(offered)  # Erlang B recursion: B(n) = a B(n-1) / (n + a B(n-1))
    for n in range(1, servers + 1):
        blocking = offered * blocking / (n + offered * blocking)
    blocking.setflags(write=False)
    return blocking


@lru_cache(maxsize=64)
def _erlang_b_table(sizes: tuple[int, ...]) -> np.ndarray:
    """The :func:`_erlang_b_row` of each pool size in ``sizes``, stacked (n_sizes, grid)."""
    table = np.stack([_erlang_b_row(c) for c in sizes])
    table.setflags(write=False)
    return table


def erlang_b(servers: np.ndarray, rho: np.ndarray) -> np.ndarray:
    """Erlang B blocking probability B(c, a) of an M/M/c/c loss system, a = c rho.

    Parameters
    ----------
    servers : array_like of int
        c >= 1 [-] (up to 4096; the Erlang C table bounds apply).
    rho : array_like of float
        rho = a / c, clipped to [0, 8] [-].

    Returns
    -------
    ndarray
        B(c, a) [-].

    Examples
    --------
    >>> round(float(erlang_b(1, 1.0)), 6)  # a / (1 + a)
    0.5
    """
    servers, rho = np.asarray(servers), np.asarray(rho, dtype=float)
    if servers.shape != rho.shape:
        servers, rho = np.broadcast_arrays(servers, rho)
    # np.minimum / np.maximum instead of the slower np.clip wrapper (the same values); fmax
    # reads NaN as 0
    servers = np.minimum(np.maximum(np.round(servers).astype(np.int64), 1), _EXACT_C)
    pos = np.minimum(np.fmax(rho, 0.0), _RHO_TOP) * _TABLE_RHO
    low = np.minimum(pos.astype(np.int64), int(_TABLE_RHO * _RHO_TOP) - 1)
    frac = pos - low
    first = int(servers.flat[0]) if servers.size else 1
    if servers.size == 0 or (servers == first).all():  # the usual case: one pool size
        row = _erlang_b_row(first)
        return row[low] * (1.0 - frac) + row[low + 1] * frac
    # several pool sizes: one gather from their rows laid end to end
    sizes = np.unique(servers)
    table = _erlang_b_table(tuple(sizes.tolist()))
    at = np.searchsorted(sizes, servers) * table.shape[1] + low
    table = table.reshape(-1)
    return table[at] * (1.0 - frac) + table[at + 1] * frac


def _std_normal_cdf(x: np.ndarray) -> np.ndarray:
    # Abramowitz & Stegun 26.2.17, |error| < 7.5e-8; numpy has no erf.
    z = np.abs(x)
    t = 1.0 / (1.0 + 0.2316419 * z)
    poly = t * (
        0.319381530 + t * (-0.356563782 + t * (1.781477937 + t * (-1.821255978 + t * 1.330274429)))
    )
    upper = np.exp(-0.5 * z * z) / np.sqrt(2 * np.pi) * poly
    return np.where(x >= 0, 1.0 - upper, upper)


def erlang_c(servers: np.ndarray, rho: np.ndarray) -> np.ndarray:
    """Probability that an arrival waits in an M/M/c queue (Erlang C).

    Parameters
    ----------
    servers : array_like of int
        Number of servers c >= 1 [-].
    rho : array_like of float
        Utilization rho = lambda / (c mu), clipped to [0, 1] [-].

    Returns
    -------
    ndarray
        C(c, rho) in [0, 1] [-], broadcast shape of the inputs.

    Notes
    -----
    With offered load a = c rho, Erlang B follows the stable recursion
    B(0) = 1, B(n) = a B(n-1) / (n + a B(n-1)), and C = B / (1 - rho (1 - B)) [1]_. For each
    distinct c <= 4096 the recursion is run once on a rho grid (step 1/2048, cached) and
    interpolated linearly; larger pools use the Halfin-Whitt limit
    C = [1 + beta Phi(beta) / phi(beta)]^-1 with beta = (1 - rho) sqrt(c) [4]_.

    Examples
    --------
    >>> round(float(erlang_c(1, 0.5)), 6)  # M/M/1: P(wait) = rho
    0.5
    >>> round(float(erlang_c(2, 0.5)), 4)  # 2 a^2 / ... = 1/3
    0.3333
    """
    servers, rho = np.broadcast_arrays(np.asarray(servers), np.asarray(rho, dtype=float))
    servers = np.maximum(np.round(servers).astype(np.int64), 1)
    rho = np.clip(rho, 0.0, 1.0)
    blocking = erlang_b(servers, rho)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(rho < 1.0, blocking / (1.0 - rho * (1.0 - blocking)), 1.0)
    large = servers > _EXACT_C
    if large.any():
        beta = (1.0 - rho[large]) * np.sqrt(servers[large].astype(float))
        phi = np.exp(-0.5 * beta * beta) / np.sqrt(2 * np.pi)
        with np.errstate(divide="ignore", invalid="ignore"):
            out[large] = np.where(beta > 0, 1.0 / (1.0 + beta * _std_normal_cdf(beta) / phi), 1.0)
    return out


def allen_cunneen_factor(ca2: np.ndarray, cs2: np.ndarray) -> np.ndarray:
    """Variability factor (c_a^2 + c_s^2) / 2 that scales an M/M/c wait to G/G/c.

    Parameters
    ----------
    ca2, cs2 : array_like
        Squared coefficients of variation of inter-arrival and service times [-].

    Returns
    -------
    ndarray
        The factor [-]; 1 for Poisson arrivals and exponential service.

    Notes
    -----
    Allen-Cunneen: W_q(G/G/c) ~= W_q(M/M/c) (c_a^2 + c_s^2) / 2 [3]_; for c = 1 this is
    Kingman's heavy-traffic formula.

    Examples
    --------
    >>> float(allen_cunneen_factor(1.0, 1.0))
    1.0
    """
    return 0.5 * (np.asarray(ca2, dtype=float) + np.asarray(cs2, dtype=float))


def wait_parameters(
    servers: np.ndarray, offered: np.ndarray, mean_service_s: np.ndarray, variability: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Erlang C waiting probability, conditional wait rate and mean queue length.

    Parameters
    ----------
    servers : ndarray
        Servers c pooling one queue [-].
    offered : ndarray
        Offered load a = lambda E[S] [Erlang].
    mean_service_s : ndarray
        Mean service time E[S] [s].
    variability : ndarray
        Allen-Cunneen factor (c_a^2 + c_s^2) / 2 [-].

    Returns
    -------
    p_wait : ndarray
        C(c, rho) with rho = a / c clipped to ``RHO_MAX`` [-].
    wait_rate : ndarray
        Rate of the exponential conditional wait, (c mu - lambda) / variability [1/s].
    queue_len : ndarray
        Mean number waiting, L_q = lambda W_q (Little's law) [requests].

    Notes
    -----
    The M/M/c waiting time is 0 with probability 1 - C and Exp(c mu - lambda) with probability
    C, so E[W_q] = C / (c mu - lambda) [2]_; the variability factor stretches the conditional
    wait. Utilization is clipped at ``RHO_MAX``: above it the stationary relation no longer
    applies and the engine's fluid backlog carries the delay.
    """
    rho = np.minimum(offered / servers, RHO_MAX)
    p_wait = erlang_c(servers, rho)
    mu = 1.0 / mean_service_s
    wait_rate = servers * mu * (1.0 - rho) / variability
    with np.errstate(invalid="ignore", divide="ignore"):
        queue_len = np.nan_to_num(rho * servers * mu * p_wait / wait_rate)
    return p_wait, wait_rate, queue_len


def fill_fraction(lam: np.ndarray, rho: np.ndarray, room: np.ndarray, tick_s: float):
    """How much of a waiting room one tick fills at and above saturation (1 = it is full) [-].

    Notes
    -----
    A room of m places fills at the excess rate lambda (1 - 1/rho) and, at rho ~ 1, by
    diffusion in about m^2 / (2 lambda); the fill time is taken as
    m / (lambda (1 - 1/rho) + 2 lambda / m). Below saturation the stationary law applies (1).
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        excess = lam * (1.0 - 1.0 / np.maximum(rho, 1.0))
        rate = (excess + 2.0 * lam / np.maximum(room, 1e-12)) / np.maximum(room, 1e-12)
        return np.where(rho < 1.0, 1.0, np.minimum(np.maximum(rate * tick_s, 0.0), 1.0))


def finite_queue(
    servers: np.ndarray, rho: np.ndarray, room: np.ndarray, mean_service_s: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Stationary M/M/c/K quantities for c servers and ``room`` waiting places (K = c + room).

    Parameters
    ----------
    servers : ndarray
        c [-].
    rho : ndarray
        Offered utilization lambda / (c mu), any value >= 0 [-].
    room : ndarray
        Waiting places K - c >= 0 [requests].
    mean_service_s : ndarray
        1 / mu [s].

    Returns
    -------
    p_block : ndarray
        Probability an arrival finds the system full, p_K [-].
    p_wait : ndarray
        Probability an *admitted* arrival waits [-].
    wait_rate : ndarray
        Rate of an exponential with the admitted arrivals' mean conditional wait [1/s].
    queue_len : ndarray
        Mean number waiting L_q [requests].

    Notes
    -----
    With unnormalised weights u_c = 1 at n = c, u_n = rho^(n-c) for c < n <= K and
    sum_{n<c} u_n = 1/B(c, a) - 1 (Erlang B), the normaliser is
    Z = 1/B - 1 + sum_{j=0}^{room} rho^j; then p_K = rho^room / Z,
    P(wait | admitted) = sum_{j=0}^{room-1} rho^j / (Z (1 - p_K)),
    L_q = sum_{j=1}^{room} j rho^j / Z and, by Little's law, the admitted mean wait is
    W_q = L_q / (lambda (1 - p_K)) [1]_. The conditional wait (an Erlang mixture) is
    represented by an exponential with the same mean. As room -> inf with rho < 1 this is
    Erlang C.

    Examples
    --------
    >>> pb, _, _, _ = finite_queue(np.array(1), np.array(1.2), np.array(5), np.array(0.01))
    >>> round(float(pb), 4)  # M/M/1/6: rho^6 (1 - rho) / (1 - rho^7)
    0.2312
    """
    servers = np.maximum(np.round(servers), 1.0)
    # as np.nan_to_num (NaN -> 0, inf -> the largest float) without its wrapper's cost
    rho = np.fmax(np.minimum(rho, np.finfo(float).max), 1e-12)
    room = np.maximum(room, 0.0)
    below = 1.0 / np.maximum(erlang_b(servers, rho), 1e-300) - 1.0
    # Work with r = min(rho, 1/rho) < 1 so no power overflows; above saturation every sum is
    # divided by rho^room (the weight of the full state).
    # (each np.where below is skipped when its condition holds nowhere, the usual case)
    over = rho > 1.0
    any_over = over.any()
    r = np.where(over, 1.0 / rho, rho) if any_over else rho
    flat = np.abs(1.0 - r) < 1e-5  # rho ~ 1: the sums are m + 1 and m (m + 1) / 2
    any_flat = flat.any()
    if any_flat:
        r = np.where(flat, 0.5, r)
    r_m = r**room
    geo = (1.0 - r_m * r) / (1.0 - r)  # sum_{j=0}^{m} r^j
    mom = r * (1.0 - (room + 1.0) * r_m + room * r_m * r) / (1.0 - r) ** 2  # sum_{j=1}^{m} j r^j
    if any_flat:
        geo = np.where(flat, room + 1.0, geo)
        mom = np.where(flat, room * (room + 1.0) / 2.0, mom)
        r_m = np.where(flat, 1.0, r_m)
    # rho <= 1: weights rho^j; rho > 1 (scaled by rho^-m): weights r^(m-j)
    norm, full, waiting, queue_len = below + geo, r_m, geo - r_m, mom
    if any_over:
        norm = np.where(over, below * r_m + geo, norm)
        full = np.where(over, 1.0, full)
        waiting = np.where(over, geo - 1.0, waiting)
        queue_len = np.where(over, room * geo - mom, queue_len)
    p_block = full / norm
    waiting = waiting / norm  # P(c <= n < K)
    queue_len = queue_len / norm
    p_wait = waiting / np.maximum(1.0 - p_block, 1e-300)
    lam = rho * servers / mean_service_s
    mean_wait = queue_len / np.maximum(lam * (1.0 - p_block), 1e-300)
    wait_rate = np.where(p_wait > 0, p_wait / np.maximum(mean_wait, 1e-300), 1.0)
    return p_block, p_wait, wait_rate, queue_len


def station_law(
    group: np.ndarray,
    rho: np.ndarray,
    room: np.ndarray,
    lam: np.ndarray,
    mean_service_s: np.ndarray,
    variability: np.ndarray,
    tick_s: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The stationary wait law of a station in one tick, by regime.

    Parameters
    ----------
    group : ndarray
        Servers sharing one queue c [-].
    rho : ndarray
        Offered utilization [-] (any value >= 0).
    room : ndarray
        Waiting places per queue [requests]; ``inf`` for an unbounded queue.
    lam : ndarray
        Arrival rate at the queue [1/s].
    mean_service_s : ndarray
        [s]
    variability : ndarray
        Allen-Cunneen factor [-].
    tick_s : float

    Returns
    -------
    p_wait, wait_rate, queue_len : ndarray
        As :func:`wait_parameters` (per queue).

    Notes
    -----
    Below saturation: Erlang C (unbounded room, rho clipped to ``RHO_MAX``) or M/M/c/K.
    At or above saturation: M/M/c/K if one tick fills the room (``fill_fraction`` >= 1/2);
    otherwise the room is still filling, the fluid backlog carries the delay, and the
    stationary part is taken at ``RHO_OVERLOAD``.
    """
    finite = np.isfinite(room)
    every_room_finite = bool(finite.all())
    fills = finite & (fill_fraction(lam, rho, room, tick_s) >= 0.5)
    rho_stat = np.where(rho < 1.0, rho, np.where(fills, rho, RHO_OVERLOAD))
    if not every_room_finite:
        p_wait, wait_rate, queue_len = wait_parameters(
            group, np.minimum(rho_stat, RHO_MAX) * group, mean_service_s, variability
        )
        if not finite.any():
            return p_wait, wait_rate, queue_len
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        _, pw_k, th_k, lq_k = finite_queue(
            group, rho_stat, np.where(finite, room, 0.0), mean_service_s
        )
    wait_rate_k = th_k / variability
    if every_room_finite:  # M/M/c/K everywhere: the Erlang C law is not evaluated at all
        # the queue length keeps the shape the Erlang C branch gives it (variability's axes)
        if lq_k.shape != wait_rate_k.shape:
            lq_k = np.broadcast_to(lq_k, wait_rate_k.shape).copy()
        return pw_k, wait_rate_k, lq_k
    p_wait = np.where(finite, pw_k, p_wait)
    wait_rate = np.where(finite, wait_rate_k, wait_rate)
    queue_len = np.where(finite, lq_k, queue_len)
    return p_wait, wait_rate, queue_len
