"""The utilization thresholds below which the tick loop skips its slow paths (``sweep``).

``_largest_rho`` searches [0, 1) for the point where a monotone test stops holding, to 2^-40;
the waiting-room threshold it finds for each queue is checked against the M/M/c/K blocking
probability of the independent closed forms.
"""

from __future__ import annotations

import numpy as np
import pytest

from simulations.engine import parse_design, parse_scenario
from simulations.engine.network import compile_network
from simulations.engine.plan import build_plan
from simulations.engine.queueing import finite_queue
from simulations.engine.sweep import _largest_rho
from tests.engine.builders import LARGE_MIX, large_design, scenario_doc
from tests.engine.reference import closed_forms as cf

STEP = 2.0**-40


def test_largest_rho_finds_each_threshold_to_2_to_the_minus_40():
    rng = np.random.default_rng(3)
    # random thresholds, a dyadic one (the test is strict: rho < x), and the ends of [0, 1]
    limits = np.concatenate([rng.random(200), [0.5, 3 * STEP, 0.0, 1.0, 1.5]])
    found = _largest_rho(len(limits), lambda rho: rho < limits)
    expected = np.minimum(np.ceil(limits / STEP) - 1, 2.0**40 - 1) * STEP
    np.testing.assert_array_equal(found, np.maximum(expected, 0.0))


@pytest.fixture(scope="module")
def plan():
    scenario = parse_scenario(scenario_doc(rps=1000, duration_s=60, mix=LARGE_MIX))
    design = parse_design(large_design(), scenario)
    return build_plan(scenario, compile_network(scenario, [design]), 2, 0)


def test_block_rho_is_where_the_smallest_room_starts_to_block(plan):
    """At block_rho the probability that an arrival finds the smallest waiting room full
    crosses 1e-7: below it in the engine's M/M/c/K, not one step above; and the closed form
    puts the crossing there too (p_K within 0.1 %: at a room of 200, p_K moves by 0.1 % when
    the utilization moves by 5e-6)."""
    block_rho = plan.sweep.block_rho[0]
    queues = np.flatnonzero(np.isfinite(block_rho))
    crossings = 0
    for s in queues:
        c = int(plan.sweep.per_instance[0, s])
        k = c + int(plan.net.qcap_per_instance[0, s])
        room = np.array([k - c], float)
        below, above = (
            finite_queue(np.array([c], float), np.array([rho]), room, np.ones(1))[0][0]
            for rho in (block_rho[s], block_rho[s] + STEP)
        )
        assert below < 1e-7
        if block_rho[s] == 1.0 - STEP:  # a room so large it never blocks below rho = 1
            continue
        assert above >= 1e-7
        closed = cf.mmck_blocking(block_rho[s] * c, 1.0, c, k)
        assert closed == pytest.approx(1e-7, rel=1e-3)
        crossings += 1
    assert crossings >= 2  # the design has several waiting rooms small enough to block
