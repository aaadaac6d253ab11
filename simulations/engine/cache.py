"""Cache hit ratios from Zipf key popularity: Che's characteristic-time approximation.

References
----------
.. [1] H. Che, Y. Tung and Z. Wang, "Hierarchical Web caching systems: modeling, design and
   experimental results", IEEE JSAC 20(7), 2002.
.. [2] C. Fricker, P. Robert and J. Roberts, "A versatile and accurate approximation for LRU
   cache performance", ITC 24, 2012.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_BINS = 256  # log-spaced popularity-rank bins; exact for the first ranks, one rank each


@dataclass(frozen=True)
class Popularity:
    """Zipf(s) popularity over ``keys`` keys, binned by rank.

    Attributes
    ----------
    count : ndarray, shape (n_bins,)
        Keys in each rank bin [keys].
    prob : ndarray, shape (n_bins,)
        Request probability of *one* key of the bin [-]; ``sum(count * prob) == 1``.
    """

    count: np.ndarray
    prob: np.ndarray

    def top_share(self, n_keys: np.ndarray) -> np.ndarray:
        """Share of requests that go to the ``n_keys`` most popular keys [-] (any shape)."""
        cum_keys = np.concatenate([[0.0], np.cumsum(self.count)])
        cum_share = np.concatenate([[0.0], np.cumsum(self.count * self.prob)])
        return np.interp(n_keys, cum_keys, cum_share)


def zipf_popularity(keys: int, zipf_s: float) -> Popularity:
    """Bin a Zipf(s) popularity law p_i ~ i^-s, i = 1..keys, into log-spaced rank bins.

    Examples
    --------
    >>> pop = zipf_popularity(10, 0.0)
    >>> float((pop.count * pop.prob).sum())
    1.0
    """
    edges = np.unique(np.round(np.geomspace(1, keys + 1, _BINS + 1)).astype(np.int64))
    low, high = edges[:-1], edges[1:]  # ranks [low, high)
    count = (high - low).astype(float)
    # mean of i^-s over the bin, by the integral of x^-s between the bin's edges
    if zipf_s == 0:
        weight = count.copy()
    elif abs(zipf_s - 1.0) < 1e-9:
        weight = np.log((high - 0.5) / (low - 0.5))
    else:
        weight = ((high - 0.5) ** (1 - zipf_s) - (low - 0.5) ** (1 - zipf_s)) / (1 - zipf_s)
    weight = np.where(count == 1, low.astype(float) ** -zipf_s, weight)
    share = weight / weight.sum()
    return Popularity(count=count, prob=share / count)


def characteristic_time(pop: Popularity, capacity_items: float) -> float:
    """Solve Che's equation sum_i (1 - exp(-p_i x)) = C for x = lambda T_C [requests].

    Parameters
    ----------
    pop : Popularity
    capacity_items : float
        Items the cache holds [items].

    Returns
    -------
    float
        x such that an LRU cache of C items keeps a key requested within the last x requests;
        ``inf`` when the cache holds every key.
    """
    total = pop.count.sum()
    if capacity_items >= total:
        return float("inf")
    low, high = 0.0, 1.0
    while np.sum(pop.count * -np.expm1(-pop.prob * high)) < capacity_items:
        high *= 2.0
    for _ in range(80):  # bisection: the left side is increasing in x
        mid = 0.5 * (low + high)
        if np.sum(pop.count * -np.expm1(-pop.prob * mid)) < capacity_items:
            low = mid
        else:
            high = mid
    return 0.5 * (low + high)


def hit_ratio(
    pop: Popularity, capacity_items: float, ttl_s: float, read_rps: np.ndarray
) -> np.ndarray:
    """Steady-state hit ratio of an LRU cache with a TTL under Zipf popularity.

    Parameters
    ----------
    pop : Popularity
    capacity_items : float
        [items].
    ttl_s : float
        Time to live [s].
    read_rps : ndarray
        Request rate reaching the cache, any shape [1/s].

    Returns
    -------
    ndarray
        Hit ratio in [0, 1], shape of ``read_rps`` [-].

    Notes
    -----
    Che: key i is in an LRU cache of C items with probability 1 - exp(-lambda p_i T_C), where
    T_C solves sum_i (1 - exp(-lambda p_i T_C)) = C [1]_ [2]_. A TTL bounds it by the
    hit probability of a TTL cache, lambda p_i TTL / (1 + lambda p_i TTL). The hit ratio is
    sum_i p_i h_i.

    Examples
    --------
    >>> pop = zipf_popularity(1000, 0.0)
    >>> round(float(hit_ratio(pop, 1000, 1e9, np.array(100.0))), 3)  # holds every key
    1.0
    """
    x = characteristic_time(pop, capacity_items)
    rate = np.asarray(read_rps, dtype=float)[..., None] * pop.prob  # per-key rates [1/s]
    lru = np.ones_like(pop.prob) if np.isinf(x) else -np.expm1(-pop.prob * x)
    ttl = rate * ttl_s / (1.0 + rate * ttl_s)
    return np.sum(pop.count * pop.prob * np.minimum(lru, ttl), axis=-1)
