"""Exact waits for renewal (non-Poisson) arrivals: GI/M/c with Gamma inter-arrival times."""

from __future__ import annotations

import numpy as np

GI_MAX_SERVERS = 64  # exact GI/M/c up to this many servers; Allen-Cunneen above (within ~3 %)


def gamma_gi_m_c(
    servers: np.ndarray, rho: np.ndarray, scv: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Exact GI/M/c waiting law for Gamma renewal arrivals (squared CV ``scv``), mu = 1.

    Parameters
    ----------
    servers : ndarray
        c <= ``GI_MAX_SERVERS`` [-].
    rho : ndarray
        lambda / (c mu) < 1 [-].
    scv : ndarray
        Squared coefficient of variation of the inter-arrival times [-].

    Returns
    -------
    p_wait : ndarray
        Probability that an arrival waits [-].
    wait_rate : ndarray
        Rate of the (exponential) conditional wait in units of mu, c (1 - sigma) [-].

    Notes
    -----
    With A(s) = (1 + s scv / lambda)^(-1/scv) the Laplace-Stieltjes transform of a Gamma
    inter-arrival time, sigma in (0, 1) solves sigma = A(c mu (1 - sigma)) (found here by
    bisection); a waiting arrival waits Exp(c mu (1 - sigma)) and
    P(wait) = K / (1 - sigma) with
    1/K = 1/(1 - sigma) + sum_{j=1..c} binom(c, j) / (C_j (1 - A(j mu)))
    (c (1 - A(j mu)) - j) / (c (1 - sigma) - j),  C_j = prod_{i<=j} A(i mu) / (1 - A(i mu))
    (Takacs 1962; Gross, Shortle, Thompson and Harris, *Fundamentals of Queueing Theory*, 4th
    ed., 2008, sec. 6.3). For scv = 1 it is Erlang C.

    Examples
    --------
    >>> p, r = gamma_gi_m_c(np.array(2.0), np.array(0.6), np.array(1.0))
    >>> round(float(p), 4), round(float(r), 4)  # M/M/2: C = 2 rho^2 / (1 + rho), 2 (1 - rho)
    (0.45, 0.8)
    """
    c = np.maximum(np.round(servers), 1.0)
    lam = np.clip(rho, 1e-9, 1 - 1e-9) * c

    def lst(s):
        return (1.0 + s * scv / lam) ** (-1.0 / scv)

    low, high = np.zeros_like(lam), np.full_like(lam, 1.0 - 1e-12)
    for _ in range(60):  # f(x) = x - A(c (1 - x)) < 0 below the root, > 0 above it
        mid = 0.5 * (low + high)
        above = mid - lst(c * (1.0 - mid)) > 0
        low, high = np.where(above, low, mid), np.where(above, mid, high)
    sigma = 0.5 * (low + high)
    total = 1.0 / (1.0 - sigma)
    c_j = np.ones_like(lam)
    binom = np.ones_like(lam)
    for j in range(1, int(c.max()) + 1):
        a_j = lst(float(j))
        c_j = c_j * a_j / (1.0 - a_j)
        binom = binom * (c - j + 1) / j
        gap = c * (1.0 - sigma) - j
        gap = np.where(np.abs(gap) < 1e-9, np.copysign(1e-9, gap), gap)  # removable point
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            term = binom / (c_j * (1.0 - a_j)) * (c * (1.0 - a_j) - j) / gap
        total = total + np.where(j <= c, np.nan_to_num(term), 0.0)
    p_wait = np.clip(1.0 / total / (1.0 - sigma), 0.0, 1.0)
    return p_wait, c * (1.0 - sigma)
