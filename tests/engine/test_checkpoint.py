"""Checkpoints: resume equals an uninterrupted run; branches share the past and the draws."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest

from simulations.engine import (
    Checkpoint,
    DesignError,
    Simulation,
    parse_design,
    parse_scenario,
    simulate,
)
from tests.engine.engine_docs import design_doc, scenario_doc

INCIDENTS = [
    {"kind": "traffic_spike", "at_s": 100, "duration_s": 60, "multiplier": 2.5},
    {"kind": "cache_flush", "at_s": 250, "component": "cache"},
    {"kind": "instance_failure", "at_s": 320, "duration_s": 60, "component": "app"},
]
EDGES = [
    {
        "from": "app",
        "to": "db",
        "timeout_ms": 300,
        "pool_size": 20,
        "retries": {"max_attempts": 3, "backoff_ms": 100, "jitter": True},
        "circuit_breaker": {"error_rate": 0.5, "open_s": 5},
    }
]


@pytest.fixture(scope="module")
def setup():
    scenario = parse_scenario(scenario_doc(incidents=INCIDENTS))
    design = parse_design(design_doc(edges=EDGES), scenario)
    whole = simulate(scenario, [design], replications=6, seed=21)
    return scenario, design, whole


def _assert_same(a, b, ticks=slice(None)):
    for key, band in a.series.items():
        for part in ("mean", "p05", "p95"):
            np.testing.assert_allclose(
                getattr(band, part)[ticks],
                getattr(b.series[key], part)[ticks],
                rtol=1e-9,
                atol=1e-9,
                err_msg=key,
            )


def test_resume_without_changes_equals_an_uninterrupted_run(setup):
    scenario, design, whole = setup
    sim = Simulation(scenario, [design], replications=6, seed=21)
    sim.run(until_s=270)  # mid-incident: right after the cache flush
    saved = Checkpoint.from_bytes(sim.checkpoint().to_bytes())
    resumed = Simulation.resume(saved)
    resumed.run()
    result = resumed.result().variants[0]
    _assert_same(whole.variants[0], result)
    for key, values in whole.variants[0].per_replication.items():
        np.testing.assert_allclose(values, result.per_replication[key], rtol=1e-9, err_msg=key)
    assert [e.to_dict() for e in whole.variants[0].events] == [e.to_dict() for e in result.events]


def test_running_in_segments_equals_one_run(setup):
    scenario, design, whole = setup
    sim = Simulation(scenario, [design], replications=6, seed=21)
    for until in (50, 101, 333, None):
        sim.run(until_s=until)
    _assert_same(whole.variants[0], sim.result().variants[0])


def test_checkpoint_is_json_safe(setup):
    scenario, design, _ = setup
    sim = Simulation(scenario, [design], replications=2, seed=1)
    sim.run(until_s=30)
    doc = json.loads(json.dumps(sim.checkpoint().to_dict()))
    assert doc["tick"] == 30
    assert Checkpoint.from_dict(doc).tick == 30


def test_a_branch_keeps_the_past_and_changes_the_future(setup):
    scenario, design, whole = setup
    bigger = copy.deepcopy(design_doc(edges=EDGES))
    bigger["components"][1]["instances"] = 6
    sim = Simulation(scenario, [design], replications=6, seed=21)
    sim.run(until_s=300)
    branch = simulate(scenario, [parse_design(bigger, scenario), design], start=sim.checkpoint())
    fixed, same = branch.variants
    past = slice(0, 300)
    _assert_same(whole.variants[0], fixed, past)
    _assert_same(whole.variants[0], same)  # a branch with the same design is the parent
    # more instances: the instance failure at 320 s no longer hurts as much
    assert fixed.series["instances:app"].mean[310] == 6
    after = slice(320, 380)
    assert (
        fixed.series["utilization:app"].mean[after].mean()
        < 0.7 * same.series["utilization:app"].mean[after].mean()
    )
    np.testing.assert_array_equal(
        fixed.per_replication["offered"], same.per_replication["offered"]
    )  # same draws


def test_branching_into_an_incompatible_number_of_variants_is_refused(setup):
    scenario, design, _ = setup
    sim = Simulation(scenario, [design, design], replications=2, seed=1)
    sim.run(until_s=10)
    with pytest.raises(DesignError):
        Simulation.resume(sim.checkpoint(), [design, design, design])
