"""Calm blocks: simulating calm ticks a block at a time gives the wavefront's results, bit for bit.

``calm.advance`` runs calm stretches as blocks of ticks and hands the rest to the wavefront
loop. Each case is simulated twice, once as it runs and once with calm blocks refused, and
every output array must be identical. A spy counts the ticks the blocks simulated, so a case
cannot pass by never taking the block path.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest

from simulations.engine import Simulation, calm, parse_design, parse_scenario, record, simulate
from simulations.engine.network import compile_network
from simulations.engine.plan import build_plan
from tests.engine.builders import LARGE_MIX, large_design, scenario_doc

# incidents that interrupt the calm: the blocks stop before each and resume after it
INCIDENTS = [
    {"kind": "traffic_spike", "at_s": 100, "duration_s": 60, "multiplier": 3},
    {"kind": "instance_failure", "at_s": 220, "duration_s": 40, "component": "app", "count": 2},
    {"kind": "dependency_slowdown", "at_s": 300, "duration_s": 20, "component": "db", "factor": 3},
    {"kind": "bad_deploy", "at_s": 350, "duration_s": 30, "component": "app", "error_rate": 0.2},
    {"kind": "db_primary_failure", "at_s": 420, "component": "db"},
    {"kind": "cache_flush", "at_s": 540, "component": "cache"},
]


def _with(design: dict, cid: str, **params) -> dict:
    new = copy.deepcopy(design)
    next(c for c in new["components"] if c["id"] == cid).update(params)
    return new


def _edged(design: dict) -> dict:
    """Timeouts, retries and a breaker on app -> db, so failures leave work for later ticks."""
    new = copy.deepcopy(design)
    new["edges"] = [
        {
            "from": "app",
            "to": "db",
            "timeout_ms": 500,
            "retries": {"max_attempts": 3, "backoff_ms": 50, "jitter": True},
            "circuit_breaker": {"error_rate": 0.5, "open_s": 5},
        }
    ]
    return new


DESIGNS = {
    "large": large_design(),
    "small app pool": _with(large_design(), "app", instances=3),
    "shedding app": _with(large_design(), "app", shed_after_ms=50),
    "edges": _edged(large_design()),
    "autoscaled app": _with(
        large_design(),
        "app",
        instances=4,
        autoscaling={"min": 2, "max": 12, "target_utilization": 0.5, "cold_start_s": 30},
    ),
}
SLOWER_APP = _with(large_design(), "app", service_time_ms={"read": 40, "write": 40, "async_job": 8})
# (designs, Plan.same_flows, Plan.same_service): variants that route alike share one
# computation of the flows, and those with the same service times one sum over classes; a
# second replica changes the read split, so that batch computes the flows per variant
BATCHES = {
    "same routes": (list(DESIGNS.values()), True, True),
    "other service times": ([large_design(), SLOWER_APP], True, False),
    "different routes": (
        [large_design(), _with(large_design(), "db", read_replicas=2)],
        False,
        True,
    ),
}


@pytest.fixture
def blocks(monkeypatch):
    """The calm blocks simulated: (first tick, ticks) each."""
    done = []
    original = calm._calm_block

    def spy(plan, st, stop, recorder, work):
        before = st.tick
        original(plan, st, stop, recorder, work)
        done.append((before, st.tick - before))

    monkeypatch.setattr(calm, "_calm_block", spy)
    return done


@pytest.fixture
def shared_chunks(monkeypatch):
    """The fields each reduced chunk had equal in every variant (``Recorder._reduce``)."""
    seen = []
    original = record.Recorder._reduce

    def spy(self, ticks, data, hit, blank, same):
        seen.append(same)
        original(self, ticks, data, hit, blank, same)

    monkeypatch.setattr(record.Recorder, "_reduce", spy)
    return seen


def _ticks(blocks, after: int = 0) -> int:
    return sum(n for start, n in blocks if start >= after)


def _arrays(result) -> dict:
    out = {}
    for v, variant in enumerate(result.variants):
        for key, band in variant.series.items():
            out[f"{v}/{key}"] = np.stack([band.mean, band.p05, band.p95])
        for key, values in variant.per_replication.items():
            out[f"{v}/rep/{key}"] = np.asarray(values)
        out[f"{v}/cost"] = np.array(variant.monthly_cost_usd)
        out[f"{v}/events"] = np.array([repr(e) for e in variant.events])
    return out


def _assert_identical(blocked, wavefront) -> None:
    a, b = _arrays(blocked), _arrays(wavefront)
    assert a.keys() == b.keys()
    different = [k for k in a if not np.array_equal(a[k], b[k])]
    assert not different, f"{len(different)} outputs differ, e.g. {different[:5]}"


def _wavefront_only(monkeypatch):
    monkeypatch.setattr(calm, "_state_is_calm", lambda plan, st: False)


@pytest.mark.parametrize("batch", BATCHES)
@pytest.mark.parametrize("incidents", [[], INCIDENTS], ids=["no incident", "incidents"])
def test_blocks_reproduce_the_wavefront_bit_for_bit(
    monkeypatch, blocks, shared_chunks, incidents, batch
):
    scenario = parse_scenario(
        scenario_doc(rps=900, duration_s=1080, mix=LARGE_MIX, incidents=incidents)
    )
    docs, same_flows, same_service = BATCHES[batch]
    designs = [parse_design(d, scenario) for d in docs]
    plan = build_plan(scenario, compile_network(scenario, designs), 8, 11)
    assert (plan.same_flows, plan.same_service) == (same_flows, same_service)
    blocked = simulate(scenario, designs, replications=8, seed=11)
    # not while instances boot or in most incidents: with incidents, at least the chunk
    # before the first one, and some ticks after the failover (the primary's replica gone)
    # and once the flushed cache is back at its steady hit ratio
    assert _ticks(blocks) >= (0.4 * scenario.n_ticks if not incidents else 64)
    if incidents:
        assert _ticks(blocks, after=450) > 0 and _ticks(blocks, after=600) > 0
    # only variants that route alike share fields (test_variants_that_route_alike_...)
    assert same_flows or not any(shared_chunks)
    _wavefront_only(monkeypatch)
    wavefront = simulate(scenario, designs, replications=8, seed=11)
    _assert_identical(blocked, wavefront)


def test_a_checkpoint_taken_between_blocks_resumes_to_the_same_run(monkeypatch, blocks):
    scenario = parse_scenario(scenario_doc(rps=900, duration_s=600, mix=LARGE_MIX))
    design = parse_design(DESIGNS["edges"], scenario)
    whole = simulate(scenario, [design], replications=8, seed=5)
    sim = Simulation(scenario, [design], replications=8, seed=5)
    sim.run(320.0)  # a multiple of the chunk neither here nor at the end
    resumed = simulate(scenario, [design], start=sim.checkpoint())
    assert _ticks(blocks) >= scenario.n_ticks
    _wavefront_only(monkeypatch)
    sim = Simulation(scenario, [design], replications=8, seed=5)
    sim.run(320.0)
    _assert_identical(resumed, simulate(scenario, [design], start=sim.checkpoint()))
    assert np.array_equal(
        whole.variants[0].per_replication["offered"], resumed.variants[0].per_replication["offered"]
    )


def test_calm_blocks_stop_at_the_first_tick_that_is_not_calm(blocks):
    """An overloaded app pool queues from the first tick: no block may cover it."""
    scenario = parse_scenario(scenario_doc(rps=900, duration_s=300, mix=LARGE_MIX))
    overloaded = _with(large_design(), "app", instances=1)
    simulate(scenario, [parse_design(overloaded, scenario)], replications=4, seed=2)
    assert _ticks(blocks) == 0


@pytest.mark.parametrize("slower", [False, True], ids=["same service", "other service"])
def test_variants_that_route_alike_are_reduced_once(monkeypatch, shared_chunks, slower):
    """Variants that differ in capacity only (the bench's eight): the recorder reduces the flows,
    and with the same service times the moments, of a calm chunk once - the same run."""
    scenario = parse_scenario(scenario_doc(rps=900, duration_s=900, mix=LARGE_MIX))
    docs = [large_design(), _with(SLOWER_APP if slower else large_design(), "app", instances=9)]
    designs = [parse_design(d, scenario) for d in docs]
    blocked = simulate(scenario, designs, replications=8, seed=5)
    # the replicas' lag too: the design's database replicas are alike in both variants
    alike = {"entered", "success", "lag"} | (set() if slower else {"lam", "load", "m2"})
    shared = [same for same in shared_chunks if same]
    assert len(shared) >= 4 and all(same >= alike for same in shared)
    assert slower == all(not (same & {"lam", "load", "m2"}) for same in shared)
    _wavefront_only(monkeypatch)
    _assert_identical(blocked, simulate(scenario, designs, replications=8, seed=5))


def test_variants_reduced_once_run_in_segments_through_incidents_as_in_one_run():
    """A run stopped off the chunk grid reduces chunks that wrap around the recorder's ring,
    some mixing calm rows (written for the first variant only) with the wavefront's."""
    scenario = parse_scenario(
        scenario_doc(rps=900, duration_s=900, mix=LARGE_MIX, incidents=INCIDENTS)
    )
    docs = [large_design(), _with(large_design(), "app", instances=9)]
    designs = [parse_design(d, scenario) for d in docs]
    whole = simulate(scenario, designs, replications=8, seed=5)
    sim = Simulation(scenario, designs, replications=8, seed=5)
    for until in (150.0, None):
        sim.run(until)
    a, b = _arrays(whole), _arrays(sim.result())
    assert a.keys() == b.keys()
    for key in a:
        if a[key].dtype.kind == "f":
            np.testing.assert_allclose(b[key], a[key], rtol=1e-9, atol=1e-12, err_msg=key)
        else:
            assert np.array_equal(b[key], a[key]), key


def test_short_blocks_from_a_small_workspace_give_the_same_run(monkeypatch, blocks):
    """A large batch gets blocks shorter than a chunk (the workspace is capped): same run."""
    scenario = parse_scenario(scenario_doc(rps=900, duration_s=300, mix=LARGE_MIX))
    designs = [parse_design(d, scenario) for d in BATCHES["different routes"][0]]
    whole = simulate(scenario, designs, replications=8, seed=3)
    assert max(n for _, n in blocks) == record.CHUNK
    blocks.clear()
    one_tick = 3 * 8 * len(designs) * 12 * 6 * 8  # bytes of one tick of the workspace
    monkeypatch.setattr(calm, "_WORKSPACE_BYTES", 5 * one_tick)
    _assert_identical(simulate(scenario, designs, replications=8, seed=3), whole)
    assert max(n for _, n in blocks) == 5 and _ticks(blocks) >= 0.9 * scenario.n_ticks
