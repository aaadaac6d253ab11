"""assess() on the image-processing-queue starter: worker and queue fixes, measured (finding A4).

The starter's 3,000-job queue overflows during the campaign burst. The post-mortem must offer
the fixes the engine can express for a worker pool and its queue, measured on the run's seed,
and must not blame a missing cache: the database on the read route idles.
"""

from pathlib import Path

import pytest
import yaml

from scoring.analysis import assess, contract_of
from scoring.analysis.rules import score_variant
from simulations import engine

SCENARIO = Path(__file__).parents[2] / "simulations" / "scenarios" / "image-processing-queue.yaml"
REPLICATIONS = 8
SEED = 3
WORKER_FIXES = {"scale_out", "enable_autoscaling", "deepen_queue"}


@pytest.fixture(scope="module")
def document():
    return yaml.safe_load(SCENARIO.read_text())


@pytest.fixture(scope="module")
def scenario(document):
    return engine.parse_scenario(document["spec"])


@pytest.fixture(scope="module")
def starter(document, scenario):
    return assess(
        scenario=scenario,
        design_doc=document["starter_design"],
        replications=REPLICATIONS,
        seed=SEED,
    )


def component(doc, cid):
    return next(c for c in doc["components"] if c["id"] == cid)


def test_the_starter_overflows_its_queue_and_the_post_mortem_says_so(starter):
    assert not starter.score.passed
    codes = {(f["code"], f["component"]) for f in starter.postmortem.contributing_factors}
    assert {("under_provisioned", "workers"), ("queue_backlog", "workers")} <= codes
    # reads end at a database that never ran hot: a cache is not the lesson here
    assert "no_cache_read_heavy" not in {code for code, _ in codes}
    assert "add_cache" not in {f["code"] for f in starter.postmortem.fixes}


def test_worker_and_queue_fixes_are_measured_to_restore_availability(starter, document):
    fixes = {f["code"]: f for f in starter.postmortem.fixes}
    assert set(fixes) >= WORKER_FIXES
    for code in WORKER_FIXES:
        assert fixes[code]["delta_availability"] > 0, code
        assert fixes[code]["availability"] >= starter.score.availability_target, code
    # the deeper queue holds the burst's backlog, worked out from the spec as the notes do:
    # (burst arrivals - worker throughput) x burst length
    spec, workers = document["spec"], component(document["starter_design"], "workers")
    (burst,) = spec["incidents"]
    arrivals = spec["traffic"]["curve"]["rps"] * spec["traffic"]["mix"]["async_job"]
    throughput = workers["instances"] * workers["concurrency"] / 0.4  # 0.4 s per photo
    backlog = (arrivals * burst["multiplier"] - throughput) * burst["duration_s"]
    depth = component(fixes["deepen_queue"]["design"], "jobs")["max_depth"]
    assert depth > backlog > component(document["starter_design"], "jobs")["max_depth"]
    # a queue bills per message, not per slot: depth is free, workers are not
    assert fixes["deepen_queue"]["delta_monthly_cost_usd"] == pytest.approx(0, abs=1)
    assert fixes["scale_out"]["delta_monthly_cost_usd"] > 0


def test_worker_fix_numbers_match_an_independent_rerun_on_the_same_seed(starter, scenario):
    contract = contract_of(scenario)
    for fix in starter.postmortem.fixes:
        if fix["code"] not in WORKER_FIXES:
            continue
        rerun = engine.simulate(
            scenario,
            [engine.parse_design(fix["design"], scenario)],
            replications=REPLICATIONS,
            seed=SEED,
        ).variants[0]
        facts = score_variant(rerun.per_replication, rerun.monthly_cost_usd, contract)
        assert fix["availability"] == facts.availability
        assert fix["passes"] == facts.passed
