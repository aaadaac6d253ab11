"""Web pages: scenario library, designer form (works without JS), my runs, one run."""

import copy
import json
import re

import pytest
from django.urls import reverse

from simulations.models import Run, RunStatus
from simulations.services.runs import run_execute, run_fail, run_submit
from tests.simulations.conftest import FAST_REPLICATIONS, INSTANCES_POINTER

pytestmark = pytest.mark.django_db


@pytest.fixture
def web(client, user):
    client.force_login(user)
    return client


def detail_url(scenario):
    return reverse("simulations:scenario_detail", args=[scenario.slug])


def test_scenario_library_groups_by_pressure(client, scenario):
    response = client.get(reverse("simulations:scenario_list"))
    assert response.status_code == 200
    ((label, scenarios),) = response.context["groups"]
    assert label == scenario.get_pressure_display()
    assert scenarios == [scenario]
    assert detail_url(scenario) in response.content.decode()


def test_scenario_page_shows_brief_contract_incidents_and_the_starter_design(web, scenario):
    response = web.get(detail_url(scenario))
    html = response.content.decode()
    assert response.status_code == 200
    assert "<strong>Ticket" in html  # the Markdown brief, rendered
    assert (
        f"p{scenario.spec['sla']['latency_percentile']} ≤ {scenario.spec['sla']['latency_ms']} ms"
        in html
    )
    assert "Instance failure" in html
    shown = json.loads(response.context["form"]["design"].value())
    assert shown == scenario.starter_design


def test_anonymous_visitors_can_read_but_not_submit(client, scenario, starter_design):
    assert client.get(detail_url(scenario)).status_code == 200
    response = client.post(detail_url(scenario), {"design": json.dumps(starter_design)})
    assert response.status_code == 302 and reverse("accounts:login") in response["Location"]
    assert not Run.objects.exists()


def test_submitting_the_form_redirects_to_the_run_page(web, scenario, starter_design):
    response = web.post(
        detail_url(scenario), {"design": json.dumps(starter_design), "idempotency_key": "page-1"}
    )
    run = Run.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("simulations:run_detail", args=[run.pk])


def test_submitting_the_same_page_twice_gives_one_run(web, scenario, starter_design):
    form = {"design": json.dumps(starter_design), "idempotency_key": "page-1"}
    first = web.post(detail_url(scenario), form)
    second = web.post(detail_url(scenario), form)
    assert first["Location"] == second["Location"]
    assert Run.objects.count() == 1


def test_resubmitting_an_old_page_with_an_edited_design_asks_before_a_new_run(
    web, scenario, starter_design
):
    web.post(detail_url(scenario), {"design": json.dumps(starter_design), "idempotency_key": "p"})
    edited = {**starter_design, "routes": {**starter_design["routes"], "write": ["app", "db"]}}

    response = web.post(
        detail_url(scenario), {"design": json.dumps(edited), "idempotency_key": "p"}
    )

    assert response.status_code == 400
    assert "already submitted" in response.content.decode()
    fresh_key = response.context["form"]["idempotency_key"].value()
    assert fresh_key != "p"
    again = web.post(
        detail_url(scenario), {"design": json.dumps(edited), "idempotency_key": fresh_key}
    )
    assert again.status_code == 302
    assert Run.objects.count() == 2


def test_invalid_json_is_shown_next_to_the_form(web, scenario):
    response = web.post(
        detail_url(scenario), {"design": '{"components": [', "idempotency_key": "x"}
    )
    assert response.status_code == 400
    assert "This is not valid JSON" in response.content.decode()
    assert not Run.objects.exists()


def test_engine_problems_are_listed_with_their_pointers(web, scenario, broken_design):
    typed = json.dumps(broken_design, indent=2)
    response = web.post(detail_url(scenario), {"design": typed, "idempotency_key": "x"})
    html = response.content.decode()
    assert response.status_code == 400
    assert f"<code>{INSTANCES_POINTER}</code>" in html
    assert 'aria-invalid="true"' in html
    assert response.context["form"]["design"].value() == typed  # the learner's text is kept
    assert not Run.objects.exists()


def test_edit_and_rerun_prefills_the_runs_design(web, user, scenario, starter_design):
    changed = {**starter_design, "routes": {**starter_design["routes"], "write": ["app", "db"]}}
    run, _ = run_submit(owner=user, scenario_slug=scenario.slug, design_doc=changed)
    response = web.get(detail_url(scenario), {"from_run": run.pk})
    assert json.loads(response.context["form"]["design"].value()) == changed


def test_run_page_of_a_queued_run_polls_and_has_a_noscript_hint(
    web, user, scenario, starter_design
):
    run, _ = run_submit(owner=user, scenario_slug=scenario.slug, design_doc=starter_design)
    html = web.get(reverse("simulations:run_detail", args=[run.pk])).content.decode()
    assert "<progress" in html and "<noscript>" in html
    assert f'data-api-url="{reverse("api-run-detail", args=[run.pk])}"' in html
    assert "js/run_page.js" in html


def test_run_page_of_a_succeeded_run_has_report_charts_and_a_table(
    web, user, scenario, starter_design
):
    run, _ = run_submit(
        owner=user,
        scenario_slug=scenario.slug,
        design_doc=starter_design,
        replications=FAST_REPLICATIONS,
    )
    run_execute(run_id=run.pk)
    response = web.get(reverse("simulations:run_detail", args=[run.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="score-heading"' in html  # scoring/_run_report.html
    assert html.count("<canvas") == 4
    assert "vendor/chart.umd.min.js" in html
    names = [row["name"] for row in response.context["summary_rows"]]
    assert "offered_rps" in names and "latency_p99_ms" in names


def test_run_page_query_count_is_fixed(
    web, user, scenario, starter_design, django_assert_max_num_queries
):
    run, _ = run_submit(
        owner=user,
        scenario_slug=scenario.slug,
        design_doc=starter_design,
        replications=FAST_REPLICATIONS,
    )
    run_execute(run_id=run.pk)
    # session + user + the run with everything joined (+ glossary index for Markdown, if any)
    with django_assert_max_num_queries(4):
        assert web.get(reverse("simulations:run_detail", args=[run.pk])).status_code == 200


def test_admin_lists_runs_and_scenarios(admin_client, user, scenario, starter_design):
    run, _ = run_submit(owner=user, scenario_slug=scenario.slug, design_doc=starter_design)
    for url in (
        reverse("admin:simulations_run_changelist"),
        reverse("admin:simulations_run_change", args=[run.pk]),
        reverse("admin:simulations_scenario_change", args=[scenario.pk]),
        reverse("admin:simulations_design_changelist"),
    ):
        assert admin_client.get(url).status_code == 200, url


def test_admin_refuses_a_scenario_the_engine_cannot_run(admin_client, scenario):
    url = reverse("admin:simulations_scenario_change", args=[scenario.pk])
    spec = {**scenario.spec, "sla": {**scenario.spec["sla"], "availability": 2}}
    form = {
        "slug": scenario.slug,
        "title": scenario.title,
        "summary": scenario.summary,
        "brief": scenario.brief,
        "teaching_notes": "",
        "pressure": scenario.pressure,
        "level": scenario.level,
        "order": 1,
        "spec": json.dumps(spec),
        "starter_design": json.dumps(scenario.starter_design),
        "is_published": "on",
    }
    response = admin_client.post(url, form)
    assert response.status_code == 200  # re-rendered with errors, not saved
    assert "/spec/sla/availability" in response.content.decode()
    scenario.refresh_from_db()
    assert scenario.spec["sla"]["availability"] != 2


def test_run_page_of_a_failed_run_shows_the_reason(web, user, scenario, starter_design):
    run, _ = run_submit(owner=user, scenario_slug=scenario.slug, design_doc=starter_design)
    run_fail(run_id=run.pk, reason="The engine refused this run:\n/components/1: too big")
    html = web.get(reverse("simulations:run_detail", args=[run.pk])).content.decode()
    assert "The run failed" in html and "/components/1: too big" in html
    assert "<canvas" not in html


def test_another_learners_run_page_is_404(web, other_user, scenario, starter_design):
    theirs, _ = run_submit(owner=other_user, scenario_slug=scenario.slug, design_doc=starter_design)
    assert web.get(reverse("simulations:run_detail", args=[theirs.pk])).status_code == 404


def test_run_list_empty_state(web):
    response = web.get(reverse("simulations:run_list"))
    assert "You have not run a design yet" in response.content.decode()


def test_run_list_paginates_without_n_plus_one(
    web, user, scenario, starter_design, django_assert_max_num_queries
):
    for i in range(23):
        run, _ = run_submit(owner=user, scenario_slug=scenario.slug, design_doc=starter_design)
        if i % 3 == 0:
            run_fail(run_id=run.pk, reason="stopped")
    # session + user + count + page; independent of the 20 rows shown
    with django_assert_max_num_queries(5):
        first = web.get(reverse("simulations:run_list"))
    second = web.get(reverse("simulations:run_list"), {"page": 2})
    assert len(first.context["page"].object_list) == 20
    assert len(second.context["page"].object_list) == 3
    assert 'rel="next"' in first.content.decode()
    assert {r.status for r in first.context["page"].object_list} == {
        RunStatus.QUEUED,
        RunStatus.FAILED,
    }


def test_run_pages_need_a_login(client, scenario):
    response = client.get(reverse("simulations:run_list"))
    assert response.status_code == 302


def test_scenario_page_lists_the_learners_finished_attempts(
    web, user, other_user, scenario, starter_design
):
    mine, _ = run_submit(owner=user, scenario_slug=scenario.slug, design_doc=starter_design)
    run_fail(run_id=mine.pk, reason="stopped")
    run_submit(owner=user, scenario_slug=scenario.slug, design_doc=starter_design)  # unfinished
    theirs, _ = run_submit(owner=other_user, scenario_slug=scenario.slug, design_doc=starter_design)
    run_fail(run_id=theirs.pk, reason="stopped")

    response = web.get(detail_url(scenario))

    assert response.context["recent_runs"] == [mine]
    assert f"?from_run={mine.pk}" in response.content.decode()


# ---- the architecture diagram ---------------------------------------------------------------


def diagram_nodes(html: str, diagram_id: str) -> dict[str, str]:
    """``{component id: the node's class attribute}`` of one inline SVG diagram on a page."""
    figure = html.split(f'<figure class="diagram" id="{diagram_id}">', 1)[1].split("</figure>")[0]
    found = re.findall(r'<g class="diagram-node ([^"]*)"\s+data-component="([^"]+)"', figure)
    return {cid: classes for classes, cid in found}


def test_scenario_page_draws_the_starter_design_as_an_accessible_svg(client, scenario):
    html = client.get(detail_url(scenario)).content.decode()  # anonymous: reading needs no login
    assert '<svg class="diagram-svg" role="img"' in html
    assert 'aria-labelledby="design-diagram-title design-diagram-desc"' in html
    assert '<title id="design-diagram-title">' in html and '<desc id="design-diagram-desc">' in html
    ids = {c["id"] for c in scenario.starter_design["components"]}
    assert set(diagram_nodes(html, "design-diagram")) == {"@clients"} | ids
    assert "Read requests: clients → lb (load balancer) → app (app pool) → db (database)." in html


def test_scenario_page_draws_the_design_of_the_run_it_starts_from(
    web, user, scenario, starter_design
):
    changed = copy.deepcopy(starter_design)
    changed["components"].append({"id": "cache", "type": "cache", "memory_gb": 2})
    changed["routes"]["read"] = ["lb", "app", "cache", "db"]
    run, _ = run_submit(owner=user, scenario_slug=scenario.slug, design_doc=changed)
    html = web.get(detail_url(scenario), {"from_run": run.pk}).content.decode()
    assert "cache" in diagram_nodes(html, "design-diagram")


def test_a_refused_design_is_not_drawn(web, scenario, broken_design):
    response = web.post(
        detail_url(scenario), {"design": json.dumps(broken_design), "idempotency_key": "x"}
    )
    html = response.content.decode()
    assert response.status_code == 400 and response.context["diagram"] is None
    assert diagram_nodes(html, "design-diagram") == {}
    assert "The diagram returns once the engine can run the design." in html


def test_run_page_colours_the_design_by_peak_utilization_and_marks_the_root_cause(
    web, user, scenario, starter_design
):
    run, _ = run_submit(
        owner=user,
        scenario_slug=scenario.slug,
        design_doc=starter_design,
        replications=FAST_REPLICATIONS,
    )
    run_execute(run_id=run.pk)
    run.refresh_from_db()
    html = web.get(reverse("simulations:run_detail", args=[run.pk])).content.decode()

    nodes = diagram_nodes(html, "run-diagram")
    assert set(nodes) == {"@clients", "lb", "app", "db"}
    measured = {k.split(":", 1)[1] for k in run.result.series if k.startswith("utilization:")}
    assert {"app", "db"} <= measured
    for cid in ("lb", "app", "db"):
        if cid not in measured:  # no series, no colour and no claim
            assert "load-" not in nodes[cid]
            continue
        # Independent of the view: the busiest tick of the stored mean series, in words.
        peak = max(run.result.series[f"utilization:{cid}"]["mean"])
        band = "hot" if peak >= 0.9 else "busy" if peak >= 0.7 else "calm"
        assert f"load-{band}" in nodes[cid].split()
        assert f"peak {peak * 100:.0f} % busy" in html
    blamed = run.postmortem.root_cause.get("component")
    marked = {cid for cid, classes in nodes.items() if "root-cause" in classes.split()}
    of_type = {c["id"] for c in starter_design["components"] if c["type"] == blamed}
    assert marked == ({blamed} if blamed in nodes else of_type)


def test_run_page_of_a_queued_run_draws_the_submitted_design(web, user, scenario, starter_design):
    run, _ = run_submit(owner=user, scenario_slug=scenario.slug, design_doc=starter_design)
    html = web.get(reverse("simulations:run_detail", args=[run.pk])).content.decode()
    nodes = diagram_nodes(html, "run-diagram")
    assert set(nodes) == {"@clients", "lb", "app", "db"}
    assert not any("load-" in classes for classes in nodes.values())
