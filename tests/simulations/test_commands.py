"""load_scenarios (idempotent by slug, validated) and simulate (the CLI)."""

import io
import json
import shutil

import pytest
import yaml
from django.core.management import CommandError, call_command

from scoring.analysis import assess
from simulations import engine
from simulations.models import Scenario
from tests.simulations.conftest import FAST_REPLICATIONS, SCENARIO_DIR, scenario_document

pytestmark = pytest.mark.django_db

BUNDLED = sorted(p.stem for p in SCENARIO_DIR.glob("*.yaml"))


def load(*args) -> str:
    out = io.StringIO()
    call_command("load_scenarios", *args, stdout=out)
    return out.getvalue()


def test_bundled_scenarios_include_the_required_ones():
    assert {"request-response-basics", "first-bottleneck", "caching-repeated-reads"} <= set(BUNDLED)


@pytest.mark.parametrize("slug", BUNDLED)
def test_every_bundled_scenario_has_a_curve_sla_budget_incident_and_a_brief(slug):
    document = scenario_document(slug)
    assert document["slug"] == slug
    spec = document["spec"]
    assert spec["traffic"]["curve"]["kind"]
    assert {"availability", "latency_percentile", "latency_ms"} <= set(spec["sla"])
    assert spec["budget_usd_per_month"] > 0
    assert len(spec["incidents"]) >= 1
    assert len(document["brief"]) > 200


def test_load_is_idempotent_by_slug():
    first = load()
    rows = {s.slug: s.updated_at for s in Scenario.objects.all()}
    second = load()

    assert sorted(rows) == BUNDLED
    assert first.count("created") == len(BUNDLED)
    assert second.count("unchanged") == len(BUNDLED)
    assert {s.slug: s.updated_at for s in Scenario.objects.all()} == rows  # nothing was written


def test_an_edited_file_updates_its_row(tmp_path):
    load()
    document = scenario_document("first-bottleneck")
    document["title"] = "A new title"
    document["spec"]["sla"]["latency_ms"] = 450
    path = tmp_path / "first-bottleneck.yaml"
    path.write_text(yaml.safe_dump(document))

    output = load(str(path))

    scenario = Scenario.objects.get(slug="first-bottleneck")
    assert "updated" in output
    assert scenario.title == "A new title"
    assert scenario.spec["sla"]["latency_ms"] == 450
    assert Scenario.objects.count() == len(BUNDLED)


def test_an_invalid_file_names_the_file_and_pointer_and_loads_nothing(tmp_path):
    good = tmp_path / "request-response-basics.yaml"
    shutil.copy(SCENARIO_DIR / "request-response-basics.yaml", good)
    document = scenario_document("caching-repeated-reads")
    document["spec"]["sla"]["availability"] = 1.7
    document["starter_design"]["components"][1]["instances"] = 0
    bad = tmp_path / "broken.yaml"
    bad.write_text(yaml.safe_dump(document))

    with pytest.raises(CommandError) as caught:
        load(str(good), str(bad))

    message = str(caught.value)
    assert str(bad) in message
    assert "/spec/sla/availability" in message
    assert not Scenario.objects.exists()


def test_a_starter_design_that_does_not_fit_is_reported(tmp_path):
    document = scenario_document("caching-repeated-reads")
    document["starter_design"]["components"][1]["instances"] = 0
    bad = tmp_path / "bad-starter.yaml"
    bad.write_text(yaml.safe_dump(document))
    with pytest.raises(CommandError, match="/starter_design/components/1/instances"):
        load(str(bad))


# ---- simulate -------------------------------------------------------------------------------


def simulate(*args) -> str:
    out = io.StringIO()
    call_command("simulate", *args, stdout=out)
    return out.getvalue()


def test_simulate_prints_the_score_and_post_mortem(scenario, tmp_path):
    design = tmp_path / "design.json"
    design.write_text(json.dumps(scenario.starter_design))

    output = simulate(
        scenario.slug, str(design), "--replications", str(FAST_REPLICATIONS), "--seed", "7"
    )

    assert scenario.title in output
    assert "Score:" in output and "/100" in output
    assert "Post-mortem" in output and "Root cause:" in output


def test_simulate_json_is_deterministic_for_a_seed(scenario, tmp_path):
    design = tmp_path / "design.json"
    design.write_text(json.dumps(scenario.starter_design))
    args = (
        scenario.slug,
        str(design),
        "--replications",
        str(FAST_REPLICATIONS),
        "--seed",
        "7",
        "--json",
    )

    first, second = json.loads(simulate(*args)), json.loads(simulate(*args))

    assert first == second
    assert 0 <= first["score"]["points"] <= 100
    assert first["score"]["replications"] == FAST_REPLICATIONS


def test_simulate_reports_design_problems_with_pointers(scenario, broken_design, tmp_path):
    design = tmp_path / "design.json"
    design.write_text(json.dumps(broken_design))
    with pytest.raises(CommandError, match="/components/1/instances"):
        simulate(scenario.slug, str(design))


def test_simulate_unknown_scenario_and_bad_json(scenario, tmp_path):
    design = tmp_path / "design.json"
    design.write_text("{not json")
    with pytest.raises(CommandError, match="load_scenarios"):
        simulate("no-such-scenario", str(design))
    with pytest.raises(CommandError, match="not valid JSON"):
        simulate(scenario.slug, str(design))


@pytest.mark.parametrize("slug", BUNDLED)
def test_every_starter_design_leaves_the_learner_something_to_fix(slug):
    # The starter is plausible (the engine accepts it) but does not already meet its contract.
    document = scenario_document(slug)
    assessment = assess(
        scenario=engine.parse_scenario(document["spec"]),
        design_doc=document["starter_design"],
        replications=FAST_REPLICATIONS,
        seed=0,
    )
    assert not assessment.score.passed
    assert assessment.postmortem.fixes, "the post-mortem should have measured fixes to offer"
