"""The architecture diagram follows the design as the learner edits it, and shows load after a run.

Runs against ``live_server`` with eager tasks (settings.test), like test_run_flow.py.
"""

import io
import json

import pytest
from django.core.management import call_command

from tests.e2e.test_run_flow import PASSWORD, SCENARIO, log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

DIAGRAM = "#design-diagram"


@pytest.fixture
def learner(django_user_model):
    call_command("load_scenarios", stdout=io.StringIO())
    return django_user_model.objects.create_user(username="e2e-diagram", password=PASSWORD)


def node(page, component_id):
    return page.locator(f'{DIAGRAM} [data-component="{component_id}"]')


def edit(page, change):
    """Apply ``change`` to the design in the textarea, as typing would (one input event)."""
    textarea = page.get_by_label("Design document (JSON)")
    design = json.loads(textarea.input_value())
    change(design)
    textarea.fill(json.dumps(design, indent=2))
    return design


def test_the_diagram_redraws_as_the_design_is_edited(page, live_server, learner, screenshot):
    log_in(page, live_server.url, learner.username)
    page.goto(f"{live_server.url}/scenarios/{SCENARIO}/")

    # The server drew the starter design: clients, then lb → app → db.
    svg = page.locator(f"{DIAGRAM} svg[role=img]")
    assert svg.is_visible()
    assert "Read requests: clients → lb" in svg.locator("desc").text_content()
    assert "2 × small · 4 conc." in node(page, "app").text_content()
    screenshot("diagram-scenario-starter")

    # More app instances: the app box says so once the check comes back.
    edit(page, lambda d: d["components"][1].update(instances=5))
    node(page, "app").get_by_text("5 × small · 4 conc.").wait_for()

    # A cache-aside cache on the read route: a new column between app and db.
    def add_cache(design):
        design["components"].append({"id": "cache", "type": "cache", "memory_gb": 2, "ttl_s": 300})
        design["routes"]["read"] = ["lb", "app", "cache", "db"]

    edit(page, add_cache)
    node(page, "cache").wait_for()
    assert "2 GB · TTL 300 s" in node(page, "cache").text_content()
    edge = page.locator(f'{DIAGRAM} .diagram-edge[data-source="cache"][data-target="db"]')
    assert edge.text_content().strip().startswith("read (misses)")
    x = {cid: node(page, cid).bounding_box()["x"] for cid in ("app", "cache", "db")}
    assert x["app"] < x["cache"] < x["db"]  # left to right along the read route
    screenshot("diagram-scenario-with-cache")

    # A design the engine refuses (no app instances): the drawing greys, and says why.
    edit(page, lambda d: d["components"][1].update(instances=0))
    figure = page.locator(DIAGRAM)
    page.wait_for_function(
        "() => document.querySelector('#design-diagram').classList.contains('stale')"
    )
    assert "cannot run the edited design" in figure.locator(".diagram-note").inner_text()
    assert "5 × small · 4 conc." in node(page, "app").text_content()  # the last good one
    edit(page, lambda d: d["components"][1].update(instances=5))
    page.wait_for_function(
        "() => !document.querySelector('#design-diagram').classList.contains('stale')"
    )

    # Broken JSON: the last good drawing stays, greyed, with a note saying why.
    page.get_by_label("Design document (JSON)").fill('{"components": [')
    page.wait_for_function(
        "() => document.querySelector('#design-diagram').classList.contains('stale')"
    )
    assert "last valid design" in figure.locator(".diagram-note").inner_text()
    assert node(page, "cache").count() == 1
    screenshot("diagram-scenario-stale")

    # Valid again (back to the starter): the drawing comes back to life.
    page.goto(f"{live_server.url}/scenarios/{SCENARIO}/")
    edit(page, lambda d: d["components"][2].update(read_replicas=2))
    node(page, "db").get_by_text("1 primary + 2 replicas").wait_for()
    assert "stale" not in (figure.get_attribute("class") or "")

    # On a phone the drawing shrinks only so far (text stays legible), then scrolls sideways.
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/scenarios/{SCENARIO}/")
    natural = float(svg.get_attribute("width"))
    assert svg.bounding_box()["width"] >= 0.85 * natural - 1
    scroller = figure.locator(".diagram-scroll")
    assert scroller.evaluate("el => el.scrollWidth > el.clientWidth")
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
    screenshot("diagram-scenario-phone")


# What a drawing shows, with numbers parsed, so markup from the template and from the script
# compare equal when they draw the same thing.
DRAWING = """() => {
  const svg = document.querySelector('#design-diagram svg');
  const nums = s => (s || '').trim().split(/[ ,()a-z]+/).filter(Boolean).map(Number);
  return {
    box: svg.getAttribute('viewBox'),
    desc: svg.querySelector('desc').textContent,
    nodes: [...svg.querySelectorAll('.diagram-node')].map(g => [
      g.dataset.component, g.getAttribute('class'), nums(g.getAttribute('transform')),
      [...g.querySelectorAll('text')].map(t => [t.getAttribute('class'), t.textContent]),
    ]),
    edges: [...svg.querySelectorAll('.diagram-edge')].map(g => [
      g.dataset.source, g.dataset.target, g.getAttribute('class'),
      nums(g.querySelector('polyline').getAttribute('points')),
      [...g.querySelectorAll('text')].map(
        t => [t.textContent, +t.getAttribute('x'), +t.getAttribute('y')]),
    ]),
  };
}"""


def test_the_script_draws_exactly_what_the_server_drew(page, live_server, learner, screenshot):
    log_in(page, live_server.url, learner.username)
    page.goto(f"{live_server.url}/scenarios/caching-repeated-reads/")
    server_drawn = page.evaluate(DRAWING)
    screenshot("diagram-scenario-cache-aside")
    assert server_drawn["nodes"] and server_drawn["edges"]

    # The same design, retyped: the script redraws it from the check-design answer.
    page.evaluate("() => document.querySelector('#design-diagram svg').remove()")
    textarea = page.get_by_label("Design document (JSON)")
    textarea.fill(textarea.input_value() + " ")
    page.wait_for_selector("#design-diagram svg")
    assert page.evaluate(DRAWING) == server_drawn


def test_the_run_page_colours_components_by_peak_load(page, live_server, learner, screenshot):
    log_in(page, live_server.url, learner.username)
    page.goto(f"{live_server.url}/scenarios/{SCENARIO}/")
    page.get_by_role("button", name="Run the simulation").click()
    page.wait_for_url(f"{live_server.url}/runs/*/", timeout=120_000)
    page.wait_for_selector("#score-heading", timeout=120_000)

    diagram = page.locator("#run-diagram")
    assert diagram.locator("svg[role=img]").is_visible()
    for component_id in ("app", "db"):  # the pools and the database report utilization
        box = diagram.locator(f'[data-component="{component_id}"]')
        # The load is said in words, not only in colour.
        assert "% busy" in box.text_content()
        assert any(c.startswith("load-") for c in box.get_attribute("class").split())
    diagram.scroll_into_view_if_needed()
    screenshot("diagram-run-page")
