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
_EXACT_C = 4096  # exact Erlang C (Erlang B recursion) up to this many servers; Halfin-Whitt above
_TABLE_RHO = 2048


@lru_cache(maxsize=512)
def _erlang_c_row(servers: int) -> np.ndarray:
    """Erlang C for ``servers`` servers on a uniform rho grid over [0, 1] (2049 points)."""
    rho = np.linspace(0.0, 1.0, _TABLE_RHO + 1)
    offered = servers * rho  # a = c rho [Erlang]
    blocking = np.ones_like(offered)  # Erlang B recursion: B(n) = a B(n-1) / (n + a B(n-1))
    for n in range(1, servers + 1):
        blocking = offered * blocking / (n + offered * blocking)
    with np.errstate(invalid="ignore", divide="ignore"):
        row = blocking / (1.0 - rho * (1.0 - blocking))
    row[-1] = 1.0
    row.setflags(write=False)
    return row


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
    pos = rho * _TABLE_RHO
    low = np.minimum(pos.astype(np.int64), _TABLE_RHO - 1)
    frac = pos - low
    out = np.empty(rho.shape)
    for c in np.unique(servers):
        mask = servers == c
        if c <= _EXACT_C:
            row = _erlang_c_row(int(c))
            out[mask] = row[low[mask]] * (1.0 - frac[mask]) + row[low[mask] + 1] * frac[mask]
        else:
            beta = (1.0 - rho[mask]) * np.sqrt(float(c))
            phi = np.exp(-0.5 * beta * beta) / np.sqrt(2 * np.pi)
            with np.errstate(divide="ignore", invalid="ignore"):
                out[mask] = np.where(
                    beta > 0, 1.0 / (1.0 + beta * _std_normal_cdf(beta) / phi), 1.0
                )
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
    queue_len = rho * servers * mu * p_wait / wait_rate
    return p_wait, wait_rate, queue_len
