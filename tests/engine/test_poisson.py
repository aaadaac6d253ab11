"""Poisson counts by alias tables (``simulations.engine.poisson``), checked against scipy's
Poisson law (an independent implementation) and against numpy's own sampler."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from simulations.engine.poisson import (
    DRAWS_PER_ENTRY,
    _alias_table,
    _pmf,
    _support,
    poisson_counts,
)

MEANS = [0.3, 4.0, 50.0, 600.0, 2.5e5]


@pytest.mark.parametrize("mu", MEANS)
def test_the_table_holds_the_poisson_law(mu):
    support = _support(mu)
    pmf = _pmf(mu, support)
    # scipy evaluates k log mu - mu - log k! directly: at a mean of 2.5e5 that cancellation
    # costs it ~1e-9 relative; below, both agree to ~1e-13
    rtol = 1e-8 if mu > 1e4 else 1e-11
    np.testing.assert_allclose(pmf, stats.poisson.pmf(support, mu), rtol=rtol, atol=1e-300)
    # what the support leaves out is negligible next to a double's resolution
    outside = stats.poisson.cdf(support[0] - 1, mu) + stats.poisson.sf(support[-1], mu)
    assert outside < 1e-25


@pytest.mark.parametrize("mu", MEANS)
def test_the_alias_table_gives_back_each_probability(mu):
    pmf = _pmf(mu, _support(mu))
    accept, alias = _alias_table(pmf)
    m = len(pmf)
    # outcome i: its own column's kept share plus the columns whose alias it is
    rebuilt = accept / m + np.bincount(alias, weights=(1.0 - accept) / m, minlength=m)
    np.testing.assert_allclose(rebuilt, pmf, rtol=1e-9, atol=1e-15)
    assert ((accept >= 0.0) & (accept <= 1.0)).all()


def _chi_square_p(counts: np.ndarray, mu: float) -> float:
    """p-value of a chi-square goodness-of-fit test of integer ``counts`` to Poisson(mu),
    pooling the tails into cells of expected size >= 5."""
    lo, hi = stats.poisson.ppf([1e-4, 1 - 1e-4], mu).astype(int)
    edges = np.arange(lo, hi + 2)
    observed = np.histogram(counts, bins=np.concatenate([[-np.inf], edges[1:-1] - 0.5, [np.inf]]))
    expected = np.diff(np.concatenate([[0.0], stats.poisson.cdf(edges[:-2], mu), [1.0]]))
    expected *= counts.size
    return stats.chisquare(observed[0], expected).pvalue


@pytest.mark.parametrize("mu", [4.0, 50.0, 600.0])
def test_table_draws_are_poisson(mu):
    """Enough recurrences of one mean that it is drawn from its table: the counts fit the
    Poisson law (chi-square), with the right mean and variance."""
    mean = np.full((4000, 1), mu)
    draws = poisson_counts(np.random.default_rng(11), mean, 50).ravel()
    assert _chi_square_p(draws, mu) > 1e-3
    assert draws.mean() == pytest.approx(mu, rel=6 * np.sqrt(1 / (mu * draws.size)))
    assert draws.var() == pytest.approx(mu, rel=0.03)


def test_rare_means_use_numpys_sampler_and_common_ones_the_table():
    """A mean seen in a few cells only is drawn by ``rng.poisson``, in one call; the others by
    their tables - the rare cells get exactly numpy's draws for the stream after the tables."""
    rare = np.linspace(10.0, 20.0, 7)  # distinct: too few draws for a table each
    common = 300.0
    mean = np.concatenate([np.full(4000, common), rare])[:, None]
    counts = poisson_counts(np.random.default_rng(5), mean, 8)
    assert counts.shape == (4007, 1, 8)
    assert (counts == np.round(counts)).all() and (counts >= 0).all()
    rng = np.random.default_rng(5)
    support = _support(common)
    assert DRAWS_PER_ENTRY * len(support) <= 4000 * 8  # the common mean does get a table
    rng.random((4000, 8))  # the table's uniforms come first
    np.testing.assert_array_equal(counts[4000:, 0], rng.poisson(np.repeat(rare[:, None], 8, 1)))


def test_zero_means_draw_nothing_and_the_same_seed_gives_the_same_counts():
    mean = np.array([[0.0, 120.0]] * 3000)
    first = poisson_counts(np.random.default_rng(2), mean, 16)
    again = poisson_counts(np.random.default_rng(2), mean, 16)
    np.testing.assert_array_equal(first, again)
    assert (first[:, 0] == 0).all()
    assert first[:, 1].mean() == pytest.approx(120.0, rel=0.01)
