"""End-to-end latency distributions of request paths, and their percentiles.

Each stage of a path contributes a deterministic backlog delay D, an exponential service time
and an M/M/c-style wait that is 0 with probability 1 - C and exponential with rate theta
otherwise. A path keeps the stage with the largest mean service and the stage with the largest
mean wait as random terms and adds the other stages' means as a shift, so its response time is

    X = shift + S + W,   S ~ Exp(mu),   W ~ 0 w.p. 1 - C, Exp(theta) w.p. C,

whose survival function is closed form (a two-phase hypoexponential with an atom):

    P(X - shift > x) = e^{-mu x} [(1 - C) + C theta / (theta - mu)]
                       - e^{-theta x} C mu / (theta - mu).

For a single M/M/c stage this is exact (Harchol-Balter 2013, ch. 14). Timed-out requests are
cut at their timeout (they count in the tail at the timeout). Percentiles of the mixture over
paths and classes (and, for whole-run figures, over ticks) are found by evaluating the mixture
survival on a fixed log-spaced grid and interpolating log-survival linearly between grid
points, which is exact for exponential tails.
"""

from __future__ import annotations

import numpy as np

GRID_S = np.geomspace(1e-5, 2e3, 320)  # latency grid [s]: 10 us .. 33 min, 6 % steps
_LOG_FLOOR = 1e-300
# path_survival gathers the points between shift and cut up to this share of the grid (past
# it, gathering them costs more than evaluating the whole grid)
_BANDED_SHARE = 0.5


def path_survival(
    x: np.ndarray,
    shift: np.ndarray,
    mu: np.ndarray,
    p_wait: np.ndarray,
    theta: np.ndarray,
    cut: np.ndarray,
) -> np.ndarray:
    """Survival P(min(X, cut) > x) of X = shift + Exp(mu) + (0 | Exp(theta)).

    Parameters
    ----------
    x : ndarray, shape (n_grid,)
        Latencies, ascending [s].
    shift, mu, p_wait, theta, cut : ndarray, shape (n, n_paths)
        Deterministic part [s], service rate [1/s], probability of waiting [-], wait rate
        [1/s], timeout cut (``inf`` for none) [s].

    Returns
    -------
    ndarray, shape (n, n_paths, n_grid)
        Survival probabilities [-].

    Notes
    -----
    Up to the shift the survival is its value at 0 and from the cut on it is 0: unless most of
    the grid lies between them, the exponentials are evaluated only on the grid points between
    (in overloaded runs, with long backlog delays and timeouts, about a fifth of the grid),
    each as it would be on the whole grid (the same bits either way).

    Examples
    --------
    >>> one = np.ones((1, 1))
    >>> s = path_survival(np.array([np.log(2.0)]), 0 * one, one, 0 * one, 2 * one, np.inf * one)
    >>> round(float(s[0, 0, 0]), 6)  # Exp(1) survives ln 2 with probability 1/2
    0.5
    """
    shape = np.broadcast_shapes(shift.shape, mu.shape, p_wait.shape, theta.shape, cut.shape)
    shift, mu, p_wait, theta, cut = (
        np.broadcast_to(a, shape).ravel() for a in (shift, mu, p_wait, theta, cut)
    )
    theta, a_coef, b_coef = _coefficients(mu, p_wait, theta)
    first = np.searchsorted(x, shift, side="right")  # grid points at or below the shift
    first[np.isnan(shift)] = 0  # a NaN shift makes the whole row NaN
    stop = np.searchsorted(x, cut, side="left")  # grid points below the cut
    count = np.maximum(stop - first, 0)
    if count.sum() > _BANDED_SHARE * count.size * len(x):  # most of the grid: all of it
        u = np.maximum(x - shift[:, None], 0.0)
        surv = _clipped_survival(u, *(a[:, None] for a in (mu, theta, a_coef, b_coef)))
        return np.where(x >= cut[:, None], 0.0, surv).reshape(*shape, len(x))
    at_zero = _clipped_survival(np.zeros(1), mu, theta, a_coef, b_coef)
    below = np.minimum(first, stop)
    # each path's row, flat: its value at 0 up to the shift (or the cut), then zeros...
    surv = np.repeat(
        np.stack([at_zero, np.zeros_like(at_zero)], axis=1).ravel(),
        np.stack([below, len(x) - below], axis=1).ravel(),
    )
    # ... but for the grid points strictly between shift and cut, path by path
    point = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count - first, count)
    surv[point + np.repeat(np.arange(len(count)) * len(x), count)] = _clipped_survival(
        x[point] - np.repeat(shift, count),
        *(np.repeat(a, count) for a in (mu, theta, a_coef, b_coef)),
    )
    return surv.reshape(*shape, len(x))


def _coefficients(mu, p_wait, theta) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The wait rate (moved off ``mu``) and the weights A and B of the path survival
    A e^{-mu u} - B e^{-theta u}, broadcasting."""
    theta = np.where(np.abs(theta - mu) < 1e-6 * mu, mu * (1 + 1e-6), theta)
    a_coef = (1.0 - p_wait) + p_wait * theta / (theta - mu)
    b_coef = p_wait * mu / (theta - mu)
    return theta, a_coef, b_coef


def _clipped_survival(u, mu, theta, a_coef, b_coef) -> np.ndarray:
    """A e^{-mu u} - B e^{-theta u} clipped to [0, 1], for ``u >= 0`` [s] past the shift."""
    surv = a_coef * np.exp(-mu * u) - b_coef * np.exp(-theta * u)
    return np.clip(surv, 0.0, 1.0)


def path_survival_at(x, mu, p_wait, theta) -> np.ndarray:
    """Survival P(S + W > x) of Exp(mu) + (0 w.p. 1 - C | Exp(theta) w.p. C), broadcasting.

    Parameters
    ----------
    x : ndarray
        Latency [s]; ``x <= 0`` gives 1.
    mu, p_wait, theta : ndarray
        Service rate [1/s], probability of waiting C [-], wait rate [1/s].

    Examples
    --------
    >>> round(float(path_survival_at(np.log(2.0), 1.0, 0.0, 2.0)), 6)
    0.5
    """
    theta, a_coef, b_coef = _coefficients(mu, p_wait, theta)
    u = np.maximum(x, 0.0)
    with np.errstate(over="ignore", invalid="ignore"):
        surv = a_coef * np.exp(-mu * u) - b_coef * np.exp(-theta * u)
    return np.clip(np.nan_to_num(surv, nan=0.0), 0.0, 1.0)


def path_mean(shift, mu, p_wait, theta, cut) -> np.ndarray:
    """Mean of min(X, cut) for the path law above, closed form [s], shape of the inputs.

    Notes
    -----
    E[min(X, c)] = shift + integral_0^{c - shift} P(X - shift > u) du, with the survival a sum
    of two exponentials; for c = inf it is shift + 1/mu + C/theta.
    """
    theta, a_coef, b_coef = _coefficients(mu, p_wait, theta)
    span = np.maximum(cut - shift, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):  # theta = 0: no wait term at all
        wait = np.nan_to_num(b_coef * -np.expm1(-theta * span) / theta)
    body = a_coef * -np.expm1(-mu * span) / mu - wait
    return np.minimum(shift, cut) + body


def grid_quantiles(surv: np.ndarray, probs: tuple[float, ...]) -> np.ndarray:
    """Quantiles from survival values on :data:`GRID_S`.

    Parameters
    ----------
    surv : ndarray, shape (n, n_grid)
        Non-increasing survival of each distribution on the grid [-].
    probs : tuple of float
        Probabilities in (0, 1).

    Returns
    -------
    ndarray, shape (n, len(probs))
        Quantiles [s]; log-survival is interpolated linearly in x between grid points.
    """
    n = surv.shape[0]
    out = np.empty((n, len(probs)))
    rows = np.arange(n)
    for i, p in enumerate(probs):
        target = np.log(1.0 - p)
        above = np.count_nonzero(surv > 1.0 - p, axis=1)  # grid points still above the target
        hi = np.clip(above, 1, len(GRID_S) - 1)
        lo = hi - 1
        # log-survival only at the two grid points bracketing the quantile
        s_lo, s_hi = np.log(np.maximum(surv[rows, np.stack([lo, hi])], _LOG_FLOOR))
        x_lo, x_hi = GRID_S[lo], GRID_S[hi]
        with np.errstate(invalid="ignore", divide="ignore"):
            frac = np.where(s_lo > s_hi, (s_lo - target) / (s_lo - s_hi), 1.0)
        value = x_lo + np.clip(frac, 0.0, 1.0) * (x_hi - x_lo)
        value = np.where(above == 0, GRID_S[0], value)
        out[:, i] = np.where(above >= len(GRID_S), GRID_S[-1], value)
    return out
