"""The scenario library by pressure type: every scenario loads, its starter design fails its
contract for the reason its brief and teaching notes give, and the change the notes teach passes.

Everything runs on the real engine and the real scoring, 16 replications on a fixed seed. Each
scenario is simulated once per module: the starter through ``assess`` (score + post-mortem), and
the starter with its counterfactual designs in one batched ``simulate`` call, so they share
random draws and a difference between two variants comes from the design.

If an assertion here moves after an engine change, retune the scenario (and its brief and
notes, which quote these figures), not the assertion.
"""

from __future__ import annotations

import copy
import io
import re
from collections.abc import Callable
from functools import cache
from pathlib import Path

import frontmatter
import numpy as np
import pytest
from django.core.management import call_command

from scoring.analysis import Assessment, assess, contract_of
from scoring.analysis.rules import ScoreFacts, score_variant
from simulations import engine
from simulations.models import Scenario
from tests.simulations.conftest import scenario_document

REPLICATIONS = 16
SEED = 20261121
LESSON_ROOT = Path(__file__).resolve().parents[2] / "courses" / "curriculum" / "courses"
BASICS = ("request-response-basics", "first-bottleneck", "caching-repeated-reads")


# ---- the changes the teaching notes teach (design document -> design document) -------------
def component(design: dict, cid: str) -> dict:
    return next(c for c in design["components"] if c["id"] == cid)


def edge(design: dict, source: str, target: str) -> dict:
    return next(e for e in design["edges"] if e["from"] == source and e["to"] == target)


def changed(edit: Callable[[dict], None]) -> Callable[[dict], dict]:
    """Wrap an in-place edit so it returns an edited copy of a design document."""

    def apply(design: dict) -> dict:
        new = copy.deepcopy(design)
        edit(new)
        return new

    return apply


# flash-sale-catalogue: web tier sized for the sale, and a cache big enough for the database
web_scaled = changed(lambda d: component(d, "web").update(instances=8))
web_scaled_and_bigger_cache = changed(  # all the 1.5 GB its small node holds
    lambda d: (component(d, "web").update(instances=8), component(d, "cache").update(memory_gb=1.5))
)
web_autoscaled = changed(
    lambda d: component(d, "web").update(
        autoscaling={"min": 3, "max": 12, "target_utilization": 0.6, "cold_start_s": 60}
    )
)
# retry-storm: break the feedback loop, or back off long enough that the polling screens wait
breaker = changed(
    lambda d: edge(d, "app", "db").update(circuit_breaker={"error_rate": 0.5, "open_s": 10})
)
short_breaker = changed(
    lambda d: edge(d, "app", "db").update(circuit_breaker={"error_rate": 0.5, "open_s": 5})
)
retry_budget = changed(lambda d: edge(d, "app", "db")["retries"].update(budget=0.1))
backoff_and_jitter = changed(
    lambda d: edge(d, "app", "db")["retries"].update(backoff_ms=5000, jitter=True)
)
short_backoff = changed(
    lambda d: edge(d, "app", "db")["retries"].update(backoff_ms=1000, jitter=True)
)
app_shedding = changed(lambda d: component(d, "app").update(shed_after_ms=100))
# database-primary-failure: replicas to fail over to, applying writes fast enough to keep up
two_replicas = changed(lambda d: component(d, "db").update(read_replicas=2))
two_replicas_two_apply_threads = changed(
    lambda d: component(d, "db").update(read_replicas=2, apply_threads=2)
)
# image-processing-queue: room for the burst's backlog
deep_queue = changed(lambda d: component(d, "jobs").update(max_depth=50_000))
four_workers = changed(lambda d: component(d, "workers").update(instances=4))
five_workers = changed(lambda d: component(d, "workers").update(instances=5))

# slug -> (pressure, level, named fix, other counterfactuals measured beside it)
LIBRARY: dict[str, tuple[str, str, Callable, dict[str, Callable]]] = {
    "flash-sale-catalogue": (
        "read_heavy",
        "B1",
        web_scaled_and_bigger_cache,
        {"web only": web_scaled, "autoscaling only": web_autoscaled},
    ),
    "retry-storm": (
        "reliability",
        "C1",
        breaker,
        {
            "retry budget": retry_budget,
            "backoff and jitter": backoff_and_jitter,
            "short backoff": short_backoff,
            "app-tier shedding": app_shedding,
            "short breaker": short_breaker,
        },
    ),
    "database-primary-failure": (
        "reliability",
        "B2",
        two_replicas_two_apply_threads,
        {"one apply thread": two_replicas},
    ),
    "image-processing-queue": (
        "async",
        "B2",
        deep_queue,
        {"four workers": four_workers, "five workers": five_workers},
    ),
}


# ---- one simulation per scenario, shared by the tests below --------------------------------
@cache
def parsed(slug: str) -> engine.Scenario:
    return engine.parse_scenario(scenario_document(slug)["spec"])


@cache
def starter_assessment(slug: str) -> Assessment:
    return assess(
        scenario=parsed(slug),
        design_doc=scenario_document(slug)["starter_design"],
        replications=REPLICATIONS,
        seed=SEED,
    )


@cache
def variants(slug: str) -> dict[str, engine.VariantResult]:
    """The starter, the named fix and the other counterfactuals, simulated in one batch."""
    _, _, fix, others = LIBRARY[slug]
    starter = scenario_document(slug)["starter_design"]
    docs = {"starter": starter, "fix": fix(starter)} | {n: f(starter) for n, f in others.items()}
    scenario = parsed(slug)
    designs = [engine.parse_design(doc, scenario) for doc in docs.values()]
    result = engine.simulate(scenario, designs, replications=REPLICATIONS, seed=SEED)
    return dict(zip(docs, result.variants, strict=True))


def score(slug: str, name: str) -> ScoreFacts:
    variant = variants(slug)[name]
    return score_variant(
        variant.per_replication, variant.monthly_cost_usd, contract_of(parsed(slug))
    )


def window_mean(slug: str, name: str, key: str, start_s: float, stop_s: float) -> float:
    """Mean over replications and over the ticks in [start_s, stop_s) of one series."""
    times = np.arange(parsed(slug).n_ticks) * parsed(slug).tick_s
    inside = (times >= start_s) & (times < stop_s)
    return float(variants(slug)[name].series[key].mean[inside].mean())


def availability_between(slug: str, name: str, start_s: float, stop_s: float) -> float:
    """Successful / offered requests in [start_s, stop_s), from the per-tick series."""
    return window_mean(slug, name, "success_rps", start_s, stop_s) / window_mean(
        slug, name, "offered_rps", start_s, stop_s
    )


def incident(slug: str) -> dict:
    (only,) = scenario_document(slug)["spec"]["incidents"]
    return only


def factor_codes(slug: str) -> dict[str, set]:
    """Contributing factor code -> the components the post-mortem names for it."""
    codes: dict[str, set] = {}
    for found in starter_assessment(slug).postmortem.contributing_factors:
        codes.setdefault(found["code"], set()).add(found["component"])
    return codes


# ---- the files -------------------------------------------------------------------------------
@pytest.mark.parametrize("slug", LIBRARY)
def test_a_library_scenario_has_its_pressure_level_and_a_place_after_the_basics(slug):
    document = scenario_document(slug)
    pressure, level, _, _ = LIBRARY[slug]
    assert (document["slug"], document["pressure"], document["level"]) == (slug, pressure, level)
    assert document["order"] > max(scenario_document(s)["order"] for s in BASICS)
    assert document["pressure"] in Scenario.Pressure.values


def test_library_scenarios_have_distinct_orders():
    orders = [scenario_document(s)["order"] for s in (*BASICS, *LIBRARY)]
    assert len(set(orders)) == len(orders)


@pytest.mark.parametrize("slug", LIBRARY)
def test_the_brief_is_a_ticket_that_states_the_contract_of_its_spec(slug):
    document = scenario_document(slug)
    brief, spec = document["brief"], document["spec"]
    assert 150 <= len(brief.split()) <= 330
    assert brief.startswith("**Ticket LL-")
    # the numbers a learner is held to are the ones the engine grades
    assert f"{spec['sla']['availability'] * 100:g} %" in brief
    assert f"{spec['sla']['latency_percentile']}th percentile" in brief
    assert f"{spec['sla']['latency_ms']:g} ms" in brief
    assert f"${spec['budget_usd_per_month']:,.0f}" in brief
    assert "Known risk" in brief
    for timed in spec["incidents"]:  # and it says when the known risk strikes
        assert f"minute {timed['at_s'] / 60:g}" in brief


@pytest.mark.parametrize("slug", LIBRARY)
def test_a_run_stays_small(slug):
    spec = scenario_document(slug)["spec"]
    assert spec["duration_s"] <= 3600
    assert spec["duration_s"] / spec["tick_s"] <= 1800  # ticks: tick 1 s, or 5 s for an hour
    assert 1 <= len(spec["incidents"]) <= 2


def lesson_slugs_by_course() -> dict[str, set[str]]:
    return {
        course.name: {frontmatter.load(p)["slug"] for p in (course / "lessons").glob("*.md")}
        for course in LESSON_ROOT.iterdir()
        if (course / "lessons").is_dir()
    }


@pytest.mark.parametrize("slug", LIBRARY)
def test_teaching_notes_link_lessons_that_exist(slug):
    links = re.findall(
        r"\]\(/courses/([a-z0-9-]+)/lessons/([a-z0-9-]+)/\)",
        scenario_document(slug)["teaching_notes"],
    )
    existing = lesson_slugs_by_course()
    assert links, "the notes should send the learner back to at least one lesson"
    for course, lesson in links:
        assert lesson in existing.get(course, set()), f"/courses/{course}/lessons/{lesson}/"


@pytest.mark.django_db
def test_load_scenarios_imports_the_library_idempotently():
    def load() -> str:
        out = io.StringIO()
        call_command("load_scenarios", stdout=out)
        return out.getvalue()

    first, second = load(), load()

    for slug in LIBRARY:
        assert re.search(rf"created\s+{slug}\b", first)
        assert re.search(rf"unchanged\s+{slug}\b", second)
    rows = {s.slug: s for s in Scenario.objects.filter(slug__in=LIBRARY)}
    assert {slug: (row.pressure, row.level) for slug, row in rows.items()} == {
        slug: LIBRARY[slug][:2] for slug in LIBRARY
    }
    for slug, row in rows.items():
        document = scenario_document(slug)
        assert (row.spec, row.starter_design) == (document["spec"], document["starter_design"])


# ---- starters fail for the stated reason; the taught change passes ---------------------------
@pytest.mark.parametrize("slug", LIBRARY)
def test_the_starter_fails_and_the_post_mortem_blames_the_incident(slug):
    assessment = starter_assessment(slug)
    assert not assessment.score.passed
    assert assessment.score.p_contract_met == 0.0
    assert assessment.postmortem.root_cause["kind"] == incident(slug)["kind"]
    if "component" in incident(slug):  # named by its id in the design
        assert assessment.postmortem.root_cause["component"] == incident(slug)["component"]
    assert assessment.postmortem.fixes, "the post-mortem should have measured fixes to offer"


@pytest.mark.parametrize("slug", LIBRARY)
def test_the_named_fix_passes_its_contract(slug):
    starter, fixed = score(slug, "starter"), score(slug, "fix")
    assert not starter.passed
    assert fixed.passed and fixed.p_contract_met == 1.0
    assert fixed.monthly_cost_usd <= fixed.budget_usd_per_month
    assert fixed.points > starter.points


def test_flash_sale_saturates_the_web_tier_then_the_database():
    slug = "flash-sale-catalogue"
    spike = incident(slug)
    sale = (spike["at_s"] + 60, spike["at_s"] + spike["duration_s"])
    assert factor_codes(slug)["under_provisioned"] >= {"web"}
    # three web instances serve 3 x 4 / 25 ms = 480 requests/s; the sale brings more than twice
    starter = component(scenario_document(slug)["starter_design"], "web")
    capacity = (
        starter["instances"] * starter["concurrency"] / (starter["service_time_ms"]["read"] / 1e3)
    )
    assert window_mean(slug, "starter", "offered_rps", *sale) > 2 * capacity
    assert window_mean(slug, "starter", "utilization:web", *sale) > 0.99
    # scaling the web tier alone moves the bottleneck to the database behind the small cache
    assert not score(slug, "web only").passed
    assert window_mean(slug, "web only", "utilization:db", *sale) > 0.99
    # a bigger cache answers more reads, and the database keeps headroom
    assert window_mean(slug, "fix", "hit_ratio:cache", *sale) > window_mean(
        slug, "web only", "hit_ratio:cache", *sale
    )
    assert window_mean(slug, "fix", "utilization:db", *sale) < 0.85
    # the figures the teaching notes quote
    assert window_mean(slug, "web only", "hit_ratio:cache", *sale) == pytest.approx(2 / 3, abs=0.05)
    assert window_mean(slug, "fix", "hit_ratio:cache", *sale) == pytest.approx(0.8, abs=0.05)
    assert window_mean(slug, "fix", "utilization:web", *sale) == pytest.approx(0.87, abs=0.05)
    # autoscaling alone arrives a cold start too late for a sale whose minute is known
    assert not score(slug, "autoscaling only").passed
    first_minute = (spike["at_s"], spike["at_s"] + 60)
    assert availability_between(slug, "autoscaling only", *first_minute) < 0.9


def test_retry_storm_stays_down_after_the_stall_unless_the_loop_is_broken():
    slug = "retry-storm"
    stall = incident(slug)
    after = (stall["at_s"] + stall["duration_s"] + 60, parsed(slug).duration_s)
    before = (60, stall["at_s"])
    assert availability_between(slug, "starter", *before) > 0.999
    # metastable: the trigger is long gone, the retries keep the database saturated
    assert availability_between(slug, "starter", *after) < 0.3
    assert window_mean(slug, "starter", "utilization:db", *after) > 0.99
    assert window_mean(slug, "starter", "load_rps:db", *after) > 2 * 400
    # a breaker or a retry budget lets the database drain, and the system recovers by itself
    for name in ("fix", "retry budget"):
        assert availability_between(slug, name, *after) > 0.999, name
        assert window_mean(slug, name, "utilization:db", *after) < 0.8, name
    assert score(slug, "retry budget").passed
    # the screens are a closed loop: one backing off does not poll, so a long enough backoff
    # with jitter takes the load away and the database drains (by the last ten minutes) ...
    late = (parsed(slug).duration_s - 600, parsed(slug).duration_s)
    assert availability_between(slug, "backoff and jitter", *late) > 0.999
    assert window_mean(slug, "backoff and jitter", "utilization:db", *late) < 0.8
    # ... while a 1 s base keeps too few screens away: still down
    assert availability_between(slug, "short backoff", *after) < 0.3
    # and shedding in the app tier does not touch the queue, which builds in the database
    assert availability_between(slug, "app-tier shedding", *after) < 0.3

    # a breaker opens once for the stall; one whose open interval is shorter than the stall flaps
    def openings(name: str) -> list[float]:
        return [e.t_s for e in variants(slug)[name].events if e.kind == "breaker_open"]

    stall_end = stall["at_s"] + stall["duration_s"]
    assert len(openings("fix")) == 1 and stall["at_s"] <= openings("fix")[0] < stall_end
    assert len([t for t in openings("short breaker") if t < stall_end]) >= 2
    # the post-mortem's own "what would have helped" includes a breaker, measured to pass
    proposed = {f["code"]: f for f in starter_assessment(slug).postmortem.fixes}
    assert proposed["circuit_breaker"]["passes"]
    # the post-mortem names the retries, and counts the writes they applied twice
    assert "db" in factor_codes(slug)["retries_without_jitter"]
    assert "duplicate_writes" in factor_codes(slug)
    assert np.mean(variants(slug)["starter"].per_replication["duplicate_writes"]) > 1000


def test_primary_failure_is_an_outage_without_replicas_and_a_failover_with_them():
    slug = "database-primary-failure"
    failure = incident(slug)
    outage = (failure["at_s"], failure["at_s"] + failure["duration_s"])
    assert factor_codes(slug)["single_point_of_failure"] == {"db"}
    assert availability_between(slug, "starter", *outage) < 0.01
    assert 1 - score(slug, "starter").availability == pytest.approx(0.25, abs=0.03)  # "a quarter"
    # with replicas only the promotion window hurts, and the reads sent to the replicas
    # (read share x r / (r + 1)) go on meanwhile
    fixed = two_replicas_two_apply_threads(scenario_document(slug)["starter_design"])
    db = component(engine.parse_design(fixed, parsed(slug)).doc, "db")
    failover_s, replicas = db["failover_s"], db["read_replicas"]
    on_replicas = (
        scenario_document(slug)["spec"]["traffic"]["mix"]["read"] * replicas / (replicas + 1)
    )
    promotion = (failure["at_s"], failure["at_s"] + failover_s)
    assert availability_between(slug, "fix", *promotion) == pytest.approx(on_replicas, abs=0.03)
    assert availability_between(slug, "fix", failure["at_s"] + failover_s + 60, outage[1]) > 0.999
    failovers = [e.t_s for e in variants(slug)["fix"].events if e.kind == "failover"]
    assert failovers == [failure["at_s"] + failover_s]


def test_a_lagging_replica_loses_the_writes_it_had_not_applied():
    slug = "database-primary-failure"
    single, parallel = variants(slug)["one apply thread"], variants(slug)["fix"]
    lost = np.mean(single.per_replication["writes_lost"])
    # one apply thread replays 1 / 12 ms = 83 writes/s; the rush brings 30 % of 300 = 90/s
    assert lost > 1000
    assert np.max(parallel.per_replication["writes_lost"]) == 0
    at = incident(slug)["at_s"]
    assert 30 < window_mean(slug, "one apply thread", "replica_lag_s:db", at - 30, at) < 70
    assert window_mean(slug, "fix", "replica_lag_s:db", at - 30, at) < 1


def test_image_queue_overflows_then_absorbs_the_burst_when_deep_enough():
    slug = "image-processing-queue"
    spec, starter = scenario_document(slug)["spec"], scenario_document(slug)["starter_design"]
    burst = incident(slug)
    assert {"workers"} <= factor_codes(slug)["queue_backlog"]
    # the starter refuses uploads once its 3,000-job queue is full: more than the error budget
    dropped = np.mean(variants(slug)["starter"].per_replication["errors_dropped"])
    offered = np.mean(variants(slug)["starter"].per_replication["offered"])
    assert dropped > 2 * (1 - spec["sla"]["availability"]) * offered
    assert np.mean(variants(slug)["fix"].per_replication["errors_dropped"]) < 0.01 * dropped
    # backlog arithmetic: (burst arrivals - worker throughput) x burst length
    workers = component(starter, "workers")
    per_job_s = workers["service_time_ms"]["async_job"] / 1e3
    throughput = workers["instances"] * workers["concurrency"] / per_job_s
    arrivals = spec["traffic"]["curve"]["rps"] * spec["traffic"]["mix"]["async_job"]
    expected = (arrivals * burst["multiplier"] - throughput) * burst["duration_s"]
    peak = variants(slug)["fix"].series["backlog:workers"].mean.max()
    assert peak == pytest.approx(expected, rel=0.15)
    # ... and the workers catch up before the window ends; uploads stayed fast throughout
    assert variants(slug)["fix"].series["backlog:workers"].mean[-1] < 1
    assert score(slug, "fix").latency_ms < spec["sla"]["latency_ms"] / 2
    # the last photo of the burst waits about backlog / throughput for a worker
    delay = variants(slug)["fix"].series["queue_delay_s:workers"].mean.max()
    assert delay == pytest.approx(expected / throughput, rel=0.15)
    # more workers instead: five outrun the burst at about $280 a month more; four do not
    assert score(slug, "five workers").passed and not score(slug, "four workers").passed
    assert variants(slug)["five workers"].series["backlog:workers"].mean.max() < 0.01 * expected
    extra = score(slug, "five workers").monthly_cost_usd - score(slug, "starter").monthly_cost_usd
    assert extra == pytest.approx(280, abs=15)
