"""assess() end to end on the real engine: score, post-mortem and fixes measured on the seed."""

import copy

import numpy as np
import pytest

import scoring.analysis as analysis
from scoring.analysis import assess, contract_of
from scoring.analysis.fixes import MAX_FIXES, Candidate
from scoring.analysis.rules import score_variant
from simulations import engine

REPLICATIONS = 4
SEED = 11


def scenario(incidents=(), rps=150.0):
    return engine.parse_scenario(
        {
            "duration_s": 600,
            "tick_s": 1.0,
            "traffic": {"curve": {"kind": "constant", "rps": rps}, "mix": {"write": 1.0}},
            "sla": {"availability": 0.99, "latency_percentile": 99, "latency_ms": 300},
            "budget_usd_per_month": 3000,
            "incidents": list(incidents),
        }
    )


def design(instances=2, concurrency=1):
    """lb -> app -> db; each app instance serves ``concurrency / 15 ms`` requests per second."""
    return {
        "components": [
            {"id": "lb", "type": "load_balancer"},
            {
                "id": "app",
                "type": "app_pool",
                "instances": instances,
                "concurrency": concurrency,
                "service_time_ms": {"write": 15},
            },
            {
                "id": "db",
                "type": "database",
                "size": "large",
                "max_connections": 1000,
                "service_time_ms": {"write": 2},
            },
        ],
        "routes": {"write": ["lb", "app", "db"]},
    }


@pytest.fixture(scope="module")
def saturated():
    """150 rps offered to 2 x 66.7 rps of app capacity: the app pool saturates."""
    return assess(scenario=scenario(), design_doc=design(), replications=REPLICATIONS, seed=SEED)


def test_score_is_the_rules_applied_to_the_engines_totals(saturated):
    variant = saturated.result.variants[0]
    expected = score_variant(
        variant.per_replication, variant.monthly_cost_usd, contract_of(scenario())
    )
    assert saturated.score == expected
    offered, succeeded = variant.per_replication["offered"], variant.per_replication["succeeded"]
    assert saturated.score.availability == pytest.approx(float(np.mean(succeeded / offered)))
    assert saturated.score.availability < 0.99 and not saturated.score.passed


def test_saturated_pool_is_the_root_cause_with_evidence(saturated):
    pm = saturated.postmortem
    assert pm.root_cause["kind"] == "saturation" and pm.root_cause["component"] == "app"
    codes = {(f["code"], f["component"]) for f in pm.contributing_factors}
    assert {("under_provisioned", "app"), ("no_autoscaling", "app")} <= codes
    assert pm.impact["failed_requests"] > 0 and pm.impact["minutes_in_breach"] > 0
    assert pm.impact["failed_requests"] == pytest.approx(
        float(np.mean(saturated.result.variants[0].per_replication["failed"]))
    )


def test_adding_instances_to_the_saturated_pool_is_measured_and_helps(saturated):
    fixes = {f["code"]: f for f in saturated.postmortem.fixes}
    scale_out = fixes["scale_out"]
    assert scale_out["design_change"] == "app: instances 2 → 3"
    assert scale_out["delta_availability"] > 0 and scale_out["delta_points"] > 0
    assert scale_out["delta_monthly_cost_usd"] > 0  # a third instance is not free
    assert scale_out["passes"]
    assert scale_out["code"] == saturated.postmortem.fixes[0]["code"]  # best measured first
    ranks = [(f["passes"], f["delta_points"]) for f in saturated.postmortem.fixes]
    assert ranks == sorted(ranks, reverse=True)
    assert "would have changed the score" in saturated.postmortem.summary


def test_fix_numbers_match_an_independent_rerun_on_the_same_seed(saturated):
    s = scenario()
    for fix in saturated.postmortem.fixes:
        rerun = engine.simulate(
            s, [engine.parse_design(fix["design"], s)], replications=REPLICATIONS, seed=SEED
        ).variants[0]
        facts = score_variant(rerun.per_replication, rerun.monthly_cost_usd, contract_of(s))
        assert fix["availability"] == facts.availability
        assert fix["points"] == facts.points
        assert fix["delta_points"] == pytest.approx(facts.points - saturated.score.points, abs=0.01)


def test_variants_do_not_depend_on_their_batch_mates():
    # The assumption measure_fixes rests on: common random numbers across batches.
    s = scenario()
    alone = engine.simulate(s, [engine.parse_design(design(), s)], replications=3, seed=5)
    batched = engine.simulate(
        s,
        [engine.parse_design(design(3), s), engine.parse_design(design(), s)],
        replications=3,
        seed=5,
    )
    for key, values in alone.variants[0].per_replication.items():
        np.testing.assert_array_equal(values, batched.variants[1].per_replication[key], err_msg=key)


def test_incident_before_the_breach_is_the_root_cause():
    failure = {
        "kind": "instance_failure",
        "at_s": 300,
        "duration_s": 120,
        "component": "app",
        "count": 2,
    }
    a = assess(
        scenario=scenario([failure], rps=100.0),
        design_doc=design(instances=3),
        replications=REPLICATIONS,
        seed=SEED,
    )
    first_breach = a.postmortem.impact["first_breach_s"]
    assert first_breach is not None and first_breach >= 300
    assert a.postmortem.root_cause["kind"] == "instance_failure"
    assert (a.postmortem.root_cause["component"], a.postmortem.root_cause["t_s"]) == ("app", 300)
    assert [r["kind"] for r in a.postmortem.timeline].index("incident_start") < [
        r["kind"] for r in a.postmortem.timeline
    ].index("sla_breach_start")


def test_healthy_design_needs_no_fix_and_runs_one_simulation(monkeypatch):
    calls = []
    real = engine.simulate
    monkeypatch.setattr(
        analysis.engine, "simulate", lambda *a, **k: calls.append(k) or real(*a, **k)
    )
    a = assess(
        scenario=scenario(rps=50.0),
        design_doc=design(instances=3, concurrency=4),
        replications=REPLICATIONS,
        seed=SEED,
    )
    assert a.score.passed and a.score.points == 100.0
    assert a.postmortem.root_cause["kind"] == "none" and a.postmortem.fixes == []
    assert len(calls) == 1


def test_fixes_run_in_one_batch_on_the_same_seed_and_skip_what_the_engine_refuses(monkeypatch):
    calls = []
    real = engine.simulate
    monkeypatch.setattr(
        analysis.engine,
        "simulate",
        lambda s, designs, **k: calls.append((len(designs), k)) or real(s, designs, **k),
    )
    broken = copy.deepcopy(design())
    broken["components"][1]["instances"] = -1
    refused = Candidate(
        code="bogus",
        title="Bogus",
        component="app",
        answers="saturation",
        design_change="app: instances → -1",
        design=broken,
    )
    real_propose = analysis.propose_fixes
    monkeypatch.setattr(analysis, "propose_fixes", lambda *a: [refused, *real_propose(*a)])

    a = assess(scenario=scenario(), design_doc=design(), replications=REPLICATIONS, seed=SEED)

    assert "bogus" not in {f["code"] for f in a.postmortem.fixes}
    assert 1 <= len(a.postmortem.fixes) <= MAX_FIXES
    assert [n for n, _ in calls] == [1, len(a.postmortem.fixes)]
    assert all(k == {"replications": REPLICATIONS, "seed": SEED} for _, k in calls)


def test_same_inputs_same_assessment():
    kwargs = dict(scenario=scenario(), design_doc=design(), replications=2, seed=3)
    assert assess(**kwargs).postmortem == assess(**kwargs).postmortem


def test_invalid_design_raises_spec_error_with_located_problems():
    bad = design()
    bad["routes"]["write"] = ["lb", "nowhere"]
    with pytest.raises(engine.SpecError) as info:
        assess(scenario=scenario(), design_doc=bad, replications=2, seed=1)
    assert any(p.pointer.startswith("/routes/write") for p in info.value.problems)


def test_fix_batch_over_the_engines_work_cap_measures_fewer_fixes(monkeypatch):
    real = engine.simulate

    def capped(s, designs, **kwargs):
        if len(designs) > 1:  # pretend two variants of this size exceed the cap
            raise engine.DesignError([engine.Problem("", "too much work")])
        return real(s, designs, **kwargs)

    monkeypatch.setattr(analysis.engine, "simulate", capped)
    a = assess(scenario=scenario(), design_doc=design(), replications=2, seed=SEED)
    assert [f["code"] for f in a.postmortem.fixes] == ["scale_out"]  # the most relevant survives


def test_zone_outage_is_the_root_cause_and_spreading_zones_is_measured_to_help():
    outage = {"kind": "az_outage", "at_s": 200, "duration_s": 120, "zone": "a"}
    doc = design(instances=4, concurrency=4)
    a = assess(
        scenario=scenario([outage], rps=100.0), design_doc=doc, replications=REPLICATIONS, seed=SEED
    )
    assert a.postmortem.root_cause["kind"] == "az_outage"
    assert ("single_point_of_failure", "app") in {
        (f["code"], f["component"]) for f in a.postmortem.contributing_factors
    }
    spread = next(f for f in a.postmortem.fixes if f["code"] == "spread_zones")
    assert spread["delta_availability"] > 0 and spread["delta_points"] > 0


def test_explicit_document_parses_back_to_the_same_design():
    edge = {"from": "app", "to": "db", "retries": {"max_attempts": 2}}
    parsed = engine.parse_design({**design(), "edges": [edge]}, scenario())
    explicit = analysis.explicit_document(parsed)
    assert "autoscaling" not in explicit["components"][1]  # None dropped, not written as null
    assert explicit["components"][1]["instances"] == 2  # defaults made explicit
    assert engine.parse_design(explicit, scenario()).doc == parsed.doc


def test_duplicate_writes_are_explained_and_idempotency_keys_measured_to_remove_them():
    slowdown = {
        "kind": "dependency_slowdown",
        "at_s": 200,
        "duration_s": 60,
        "component": "db",
        "factor": 30,
    }
    doc = design(instances=3, concurrency=8)
    doc["edges"] = [{"from": "app", "to": "db", "timeout_ms": 100, "retries": {"max_attempts": 3}}]
    a = assess(
        scenario=scenario([slowdown], rps=100.0),
        design_doc=doc,
        replications=REPLICATIONS,
        seed=SEED,
    )
    duplicates = float(np.mean(a.result.variants[0].per_replication["duplicate_writes"]))
    assert duplicates > 0
    [factor] = [f for f in a.postmortem.contributing_factors if f["code"] == "duplicate_writes"]
    assert factor["data"]["duplicate_writes"] == pytest.approx(duplicates)
    fix = next(f for f in a.postmortem.fixes if f["code"] == "idempotency_keys")
    assert fix["correctness"]["duplicate_writes"] == {
        "before": pytest.approx(duplicates),
        "after": 0.0,
    }
