"""Poisson counts for many replications of the same intensities.

A constant traffic curve, or a step of one, gives the same mean count in thousands of ticks and
every replication: drawing each count with numpy's general sampler (transformed rejection,
~35 ns a draw) costs more than the rest of a calm hour's simulation. For a mean that recurs
that often, a table of its distribution is built once and sampled by Walker's alias method:
one uniform, one comparison and two lookups a draw (~8 ns). Both samplers are exact (the
table drops tails below 1e-30); which one a mean gets depends only on the scenario and the
replication count, so the same seed still gives the same counts.

References
----------
A. J. Walker, "An efficient method for generating discrete random variables with general
distributions", ACM TOMS 3(3), 1977. M. D. Vose, "A linear algorithm for generating random
numbers with a given distribution", IEEE TSE 17(9), 1991.
"""

from __future__ import annotations

import math

import numpy as np

# a table pays for itself when its mean is drawn this many times per entry: building costs
# ~1 us per entry (a Python loop), a draw saves ~25 ns
DRAWS_PER_ENTRY = 64


def poisson_counts(rng: np.random.Generator, mean: np.ndarray, replications: int) -> np.ndarray:
    """Independent Poisson counts, ``replications`` per cell of ``mean``.

    Parameters
    ----------
    rng : numpy.random.Generator
    mean : ndarray, shape (n_ticks, n_classes)
        Expected count of each cell, >= 0 [requests].
    replications : int

    Returns
    -------
    ndarray, shape (n_ticks, n_classes, replications)
        Counts [requests] (float, integral values).

    Notes
    -----
    The distinct means are visited in ascending order. A mean drawn at least
    ``DRAWS_PER_ENTRY`` times per entry of its table is sampled from the table
    (:func:`_alias_table`); the others go, together, to ``rng.poisson``.
    """
    out = np.zeros((*mean.shape, replications))
    flat_mean, flat_out = mean.ravel(), out.reshape(-1, replications)
    values, inverse, counts = np.unique(flat_mean, return_inverse=True, return_counts=True)
    inverse = inverse.ravel()
    cells_of = np.split(np.argsort(inverse, kind="stable"), np.cumsum(counts)[:-1])
    general = flat_mean > 0.0
    # a table has at least 31 entries: only means drawn that often are worth a closer look
    for j in np.flatnonzero((values > 0.0) & (counts * replications >= DRAWS_PER_ENTRY * 31)):
        support = _support(values[j])
        if counts[j] * replications < DRAWS_PER_ENTRY * len(support):
            continue
        cells = cells_of[j]
        accept, alias = _alias_table(_pmf(values[j], support))
        flat_out[cells] = support[_alias_draws(rng, accept, alias, (len(cells), replications))]
        general[cells] = False
    if general.any():
        lam = np.broadcast_to(flat_mean[general][:, None], (int(general.sum()), replications))
        flat_out[general] = rng.poisson(lam)
    return out


def _support(mu: float) -> np.ndarray:
    """The counts kept for mean ``mu``: the mode +- 12 standard deviations + 30 (the mass
    outside is below 1e-30 for any mean), as floats."""
    half = int(12.0 * math.sqrt(mu)) + 30
    mode = math.floor(mu)
    return np.arange(max(0, mode - half), mode + half + 1, dtype=float)


def _pmf(mu: float, support: np.ndarray) -> np.ndarray:
    """Poisson(``mu``) probabilities on ``support`` (consecutive counts), normalised there.

    Notes
    -----
    Built outward from the mode with p(k) / p(k - 1) = mu / k, summed as logarithms: every
    ratio is close to 1 near the mode, so the relative error stays near machine precision for
    large means, where k log mu - mu - log k! would lose digits to cancellation.
    """
    mode = math.floor(mu)
    above = support[support > mode]
    below = support[support < mode]
    log_up = np.cumsum(np.log(mu / above))  # log p(k) / p(mode), k > mode
    log_down = np.cumsum(np.log((below[::-1] + 1.0) / mu))[::-1]  # k < mode
    weights = np.exp(np.concatenate([log_down, [0.0], log_up]))
    return weights / weights.sum()


def _alias_table(pmf: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Vose's alias table of a distribution on ``m`` outcomes: column ``i`` keeps outcome ``i``
    with probability ``accept[i]``, else gives ``alias[i]``; each column is chosen with
    probability 1 / m. Returns (accept, alias), each (m,)."""
    m = len(pmf)
    scaled = pmf * m
    accept, alias = np.ones(m), np.arange(m)
    small = [i for i in range(m) if scaled[i] < 1.0]
    large = [i for i in range(m) if scaled[i] >= 1.0]
    while small and large:
        lo, hi = small.pop(), large.pop()
        accept[lo], alias[lo] = scaled[lo], hi
        scaled[hi] = (scaled[hi] + scaled[lo]) - 1.0
        (small if scaled[hi] < 1.0 else large).append(hi)
    # what is left is 1 up to rounding: kept with certainty (accept and alias as initialised)
    return accept, alias


def _alias_draws(rng, accept: np.ndarray, alias: np.ndarray, shape: tuple) -> np.ndarray:
    """Outcome indices drawn from an alias table, ``shape``: one uniform picks the column
    (its integer part, scaled by m) and decides between it and its alias (its fraction)."""
    u = rng.random(shape)
    u *= len(accept)
    column = np.minimum(u.astype(np.int64), len(accept) - 1)  # u * m may round up to m
    u -= column  # the fraction: uniform on [0, 1), independent of the column
    return np.where(u < accept[column], column, alias[column])
