"""A learner submits a design from the scenario page and reads the charts and post-mortem.

Runs against ``live_server`` with eager tasks (settings.test), so no worker is needed: the run
is simulated in the request that submits it, and the run page opens already succeeded.
"""

import io
import json

import pytest
from django.core.management import call_command

from simulations import engine
from simulations.models import Design, Run, Scenario
from simulations.services.runs import run_execute

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SCENARIO = "request-response-basics"
PASSWORD = "pw-e2e-learner-1"


@pytest.fixture
def learner(django_user_model):
    call_command("load_scenarios", stdout=io.StringIO())
    return django_user_model.objects.create_user(username="e2e-learner", password=PASSWORD)


def log_in(page, base_url, username):
    page.goto(f"{base_url}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()


def test_submit_from_the_scenario_page_then_read_charts_and_post_mortem(
    page, live_server, learner, screenshot
):
    log_in(page, live_server.url, learner.username)

    page.goto(f"{live_server.url}/scenarios/{SCENARIO}/")
    textarea = page.get_by_label("Design document (JSON)")
    design = json.loads(textarea.input_value())
    assert {c["id"] for c in design["components"]} >= {"lb", "app", "db"}
    # A small, real edit, as a learner would make: one more app instance.
    design["components"][1]["instances"] += 1
    textarea.fill(json.dumps(design, indent=2))
    screenshot("e2e-scenario-page")
    page.get_by_role("button", name="Run the simulation").click()

    page.wait_for_url(f"{live_server.url}/runs/*/", timeout=120_000)
    page.wait_for_selector("#score-heading", timeout=120_000)
    assert page.locator("[data-run-status]").first.inner_text() == "Succeeded"

    # Chart.js has drawn into every canvas: each has a rendered, non-zero size.
    every_canvas_has_a_chart = """() => window.Chart
        && [...document.querySelectorAll('canvas')].every(c => Chart.getChart(c))"""
    page.wait_for_function(every_canvas_has_a_chart, timeout=30_000)
    sizes = page.eval_on_selector_all("canvas", "cs => cs.map(c => [c.width, c.height])")
    assert len(sizes) == 4 and all(w > 0 and h > 0 for w, h in sizes)
    labels = page.evaluate(
        "() => Chart.getChart(document.getElementById('chart-latency'))"
        ".data.datasets.map(d => d.label)"
    )
    assert any(label.startswith("SLA target") for label in labels)
    assert page.get_by_role("heading", name="Root cause").is_visible()
    screenshot("e2e-run-page")


def test_invalid_design_is_explained_on_the_form(page, live_server, learner, screenshot):
    log_in(page, live_server.url, learner.username)
    page.goto(f"{live_server.url}/scenarios/{SCENARIO}/")
    textarea = page.get_by_label("Design document (JSON)")
    design = json.loads(textarea.input_value())
    design["components"][1]["instances"] = 0
    textarea.fill(json.dumps(design, indent=2))

    # While editing, the page checks the design with the API and names the field.
    live = page.locator("#design-check")
    live.get_by_text("/components/1/instances").wait_for()
    assert "cannot run this design yet" in live.inner_text()

    # Submitted anyway (or without JavaScript), the server says the same next to the form.
    page.get_by_role("button", name="Run the simulation").click()

    alert = page.locator("#design-errors")
    alert.wait_for()
    assert "/components/1/instances" in alert.inner_text()
    assert page.url.endswith(f"/scenarios/{SCENARIO}/")
    screenshot("e2e-invalid-design")


def test_the_run_page_follows_a_queued_run_until_it_succeeds(
    page, live_server, learner, screenshot
):
    # Written directly, not submitted: in this eager test setup a submission would finish at once.
    scenario = Scenario.objects.get(slug=SCENARIO)
    design = Design.objects.create(
        owner=learner, scenario=scenario, document=scenario.starter_design
    )
    run = Run.objects.create(
        owner=learner,
        scenario=scenario,
        design=design,
        seed=5,
        replications=4,
        scenario_snapshot=scenario.spec,
        engine_version=engine.ENGINE_VERSION,
    )
    log_in(page, live_server.url, learner.username)
    page.goto(f"{live_server.url}/runs/{run.pk}/")
    status = page.locator("#run-status-text")
    assert "Waiting for a worker" in status.inner_text()
    assert page.locator("progress").is_visible()
    screenshot("e2e-run-queued")

    run_execute(run_id=run.pk)  # what a worker would do meanwhile

    # The page polls the API, notices the run finished, and reloads into the report.
    page.wait_for_selector("#score-heading", timeout=30_000)
    page.wait_for_function(
        "() => window.Chart && Chart.getChart(document.getElementById('chart-traffic'))"
    )
    assert page.locator("progress").count() == 0
