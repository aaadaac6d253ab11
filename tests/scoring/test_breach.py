"""SLA breach detection on per-tick series."""

import numpy as np
import pytest

from scoring.analysis.breach import find_breach, tick_latency_key, trailing_sum
from tests.scoring.builders import CONTRACT, N_TICKS, healthy_series, outage, slow

TIMES = np.arange(N_TICKS, dtype=float)


def breach_of(series, contract=CONTRACT):
    return find_breach(series, TIMES, 1.0, contract)


def test_healthy_run_has_no_breach():
    b = breach_of(healthy_series())
    assert b.first is None and b.minutes == 0.0 and not b.mask.any()


def test_outage_is_in_breach_exactly_while_it_lasts():
    b = breach_of(outage(healthy_series(), 200, 320))
    assert b.first.start_s == 200.0 and b.first.end_s == 320.0
    assert b.first.criterion == "availability"
    assert b.minutes == pytest.approx(2.0)  # 120 one-second ticks


def test_single_bad_tick_is_noise_not_a_breach():
    # one tick at 80 %: 20 of the window's 6,000 requests lost = 0.33 %, within the 0.5 % allowed
    b = breach_of(outage(healthy_series(), 100, 101, availability=0.8))
    assert b.first is None


def test_slow_tail_breaches_on_latency():
    b = breach_of(slow(healthy_series(), 400, 460, p99_ms=900.0))
    assert b.first.start_s == 400.0 and b.first.criterion == "latency"
    assert b.minutes == pytest.approx(1.0)


def test_episodes_closer_than_a_window_merge_but_minutes_count_only_bad_ticks():
    series = outage(healthy_series(), 100, 150)
    series["success_rps"][170:200] = 0.0  # a second outage 20 s after the first ends
    series["error_rps"][170:200] = series["offered_rps"][170:200]
    b = breach_of(series)
    assert len(b.episodes) == 1 and b.first.end_s == 200.0
    assert b.minutes == pytest.approx(80 / 60)


def test_latency_key_picks_the_nearest_reported_percentile_at_or_above():
    series = {"latency_p50_ms": 0, "latency_p95_ms": 0, "latency_p99_ms": 0}
    assert tick_latency_key(series, 90) == "latency_p95_ms"
    assert tick_latency_key(series, 99) == "latency_p99_ms"
    assert tick_latency_key(series, 99.9) == "latency_p99_ms"  # highest available
    assert tick_latency_key({}, 99) is None


def test_trailing_sum_matches_a_loop():
    values = np.arange(10, dtype=float)
    expected = [sum(values[max(0, i - 2) : i + 1]) for i in range(10)]
    np.testing.assert_allclose(trailing_sum(values, 3), expected)


def test_successes_lagging_arrivals_are_not_failures():
    # the first ticks complete fewer requests than arrive (they are still in flight), no errors
    series = healthy_series()
    series["success_rps"] = series["success_rps"].copy()
    series["success_rps"][:3] = [0.0, 40.0, 90.0]
    assert breach_of(series).first is None
