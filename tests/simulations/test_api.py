"""/api/v1/scenarios/ and /api/v1/runs/: scoping, validation, idempotency, query counts."""

import pytest
from django.core.cache import cache
from django.urls import reverse
from kombu.exceptions import OperationalError as KombuOperationalError
from rest_framework.throttling import ScopedRateThrottle

from simulations.diagram import design_diagram
from simulations.models import Design, Run, RunStatus
from simulations.services.runs import run_execute, run_fail, run_submit
from simulations.tasks import execute_run
from tests.simulations.conftest import FAST_REPLICATIONS, INSTANCES_POINTER

pytestmark = pytest.mark.django_db

RUNS_URL = "/api/v1/runs/"


def body(scenario, design, **extra):
    return {"scenario": scenario.slug, "design": design, "replications": FAST_REPLICATIONS, **extra}


# ---- scenarios ------------------------------------------------------------------------------


def test_scenarios_are_listed_without_logging_in(api_client, scenario):
    response = api_client.get("/api/v1/scenarios/")
    assert response.status_code == 200
    assert [s["slug"] for s in response.json()["results"]] == [scenario.slug]


def test_scenario_detail_has_brief_contract_and_starter_design(api_client, scenario):
    response = api_client.get(f"/api/v1/scenarios/{scenario.slug}/")
    assert response.status_code == 200
    data = response.json()
    assert data["starter_design"] == scenario.starter_design
    assert data["sla"]["latency_ms"] == scenario.spec["sla"]["latency_ms"]
    assert data["budget_usd_per_month"] == scenario.spec["budget_usd_per_month"]
    assert data["brief"] == scenario.brief
    assert data["spec"]["incidents"] == scenario.spec["incidents"]


def test_unknown_scenario_is_404(api_client, scenario):
    assert api_client.get("/api/v1/scenarios/nope/").status_code == 404


# ---- submit ---------------------------------------------------------------------------------


def test_submit_answers_202_with_a_url_to_poll(
    auth_client, scenario, starter_design, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        response = auth_client.post(RUNS_URL, body(scenario, starter_design), format="json")

    assert response.status_code == 202
    data = response.json()
    assert set(data) == {"id", "url", "status"}
    assert data["status"] == "queued"
    assert data["url"].endswith(f"/api/v1/runs/{data['id']}/")
    assert response["Location"] == data["url"]
    assert type(response["Location"]) is str  # WSGI servers refuse str subclasses (DRF Hyperlink)
    assert len(callbacks) == 1


@pytest.mark.django_db(transaction=True)
def test_submit_answer_shows_the_status_after_an_in_process_run(
    auth_client, scenario, starter_design
):
    # settings.test runs tasks eagerly, as the embedded default does; with real commits the
    # task runs when the submission commits, so the run is done by the time we answer
    response = auth_client.post(RUNS_URL, body(scenario, starter_design), format="json")

    assert response.status_code == 202
    assert response.json()["status"] == "succeeded"


def test_submitted_run_is_simulated_and_scored(
    auth_client, scenario, starter_design, django_capture_on_commit_callbacks
):
    # settings.test runs tasks eagerly: executing the on-commit callback runs the worker's job.
    with django_capture_on_commit_callbacks(execute=True):
        run_id = auth_client.post(RUNS_URL, body(scenario, starter_design), format="json").json()[
            "id"
        ]

    data = auth_client.get(f"{RUNS_URL}{run_id}/").json()

    assert data["status"] == "succeeded"
    assert 0 <= data["score"]["points"] <= 100
    assert data["points"] == data["score"]["points"]
    assert data["postmortem"]["summary"]
    assert data["design"] == starter_design
    assert data["series_url"].endswith(f"/api/v1/runs/{run_id}/series/")

    series = auth_client.get(data["series_url"]).json()
    assert len(series["times_s"]) == len(series["series"]["offered_rps"]["mean"])
    assert series["sla"]["latency_ms"] == scenario.spec["sla"]["latency_ms"]
    assert [i["kind"] for i in series["incidents"]] == [
        i["kind"] for i in scenario.spec["incidents"]
    ]


def test_invalid_design_is_400_with_pointers_and_nothing_enqueued(
    auth_client, scenario, broken_design, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        response = auth_client.post(RUNS_URL, body(scenario, broken_design), format="json")

    assert response.status_code == 400
    problems = response.json()["design"]
    assert {"pointer", "message"} <= set(problems[0])
    assert INSTANCES_POINTER in [p["pointer"] for p in problems]
    assert len(problems) >= 2
    assert callbacks == []
    assert not Run.objects.exists() and not Design.objects.exists()


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"scenario": "no-such-scenario"}, "scenario"),
        ({"design": ["not", "an", "object"]}, "design"),
        ({"replications": 0}, "replications"),
        ({"seed": -1}, "seed"),
    ],
)
def test_bad_fields_are_400_naming_the_field(auth_client, scenario, starter_design, payload, field):
    response = auth_client.post(
        RUNS_URL, {**body(scenario, starter_design), **payload}, format="json"
    )
    assert response.status_code == 400
    assert field in response.json()
    assert not Run.objects.exists()


def test_missing_fields_are_400(auth_client, scenario):
    response = auth_client.post(RUNS_URL, {}, format="json")
    assert response.status_code == 400
    assert {"scenario", "design"} <= set(response.json())


def test_idempotency_key_replays_the_same_run(auth_client, scenario, starter_design):
    headers = {"Idempotency-Key": "3f1c-attempt-1"}
    first = auth_client.post(
        RUNS_URL, body(scenario, starter_design), format="json", headers=headers
    )
    again = auth_client.post(
        RUNS_URL, body(scenario, starter_design), format="json", headers=headers
    )

    assert (first.status_code, again.status_code) == (202, 200)
    assert again.json()["id"] == first.json()["id"]
    assert again["Idempotent-Replayed"] == "true"
    assert Run.objects.count() == 1


def test_idempotency_key_reused_for_another_design_is_422(auth_client, scenario, starter_design):
    headers = {"Idempotency-Key": "k"}
    auth_client.post(RUNS_URL, body(scenario, starter_design), format="json", headers=headers)
    other = {**starter_design, "routes": {**starter_design["routes"], "write": ["app", "db"]}}
    response = auth_client.post(RUNS_URL, body(scenario, other), format="json", headers=headers)
    assert response.status_code == 422
    assert Run.objects.count() == 1


def test_anonymous_cannot_submit(api_client, scenario, starter_design):
    response = api_client.post(RUNS_URL, body(scenario, starter_design), format="json")
    assert response.status_code in (401, 403)


# ---- reading runs ---------------------------------------------------------------------------


def test_another_learners_run_is_404(auth_client, other_user, scenario, starter_design):
    theirs, _ = run_submit(owner=other_user, scenario_slug=scenario.slug, design_doc=starter_design)

    assert auth_client.get(f"{RUNS_URL}{theirs.pk}/").status_code == 404
    assert auth_client.get(f"{RUNS_URL}{theirs.pk}/series/").status_code == 404
    assert auth_client.get(RUNS_URL).json()["count"] == 0


def test_series_of_an_unfinished_run_is_404(auth_client, user, scenario, starter_design):
    run, _ = run_submit(owner=user, scenario_slug=scenario.slug, design_doc=starter_design)
    assert auth_client.get(f"{RUNS_URL}{run.pk}/series/").status_code == 404


def test_a_failed_run_shows_its_reason_and_no_score(auth_client, user, scenario, starter_design):
    run, _ = run_submit(owner=user, scenario_slug=scenario.slug, design_doc=starter_design)
    run_fail(run_id=run.pk, reason="The engine refused this run.")
    data = auth_client.get(f"{RUNS_URL}{run.pk}/").json()
    assert (data["status"], data["failure_reason"]) == ("failed", "The engine refused this run.")
    assert data["score"] is None and data["postmortem"] is None and data["series_url"] is None


def _make_runs(user, scenario, design, n):
    for i in range(n):
        run, _ = run_submit(owner=user, scenario_slug=scenario.slug, design_doc=design)
        if i % 2:
            run_fail(run_id=run.pk, reason="stopped")


def test_run_list_query_count_does_not_grow_with_runs(
    auth_client, user, scenario, starter_design, django_assert_num_queries
):
    _make_runs(user, scenario, starter_design, 2)
    # session-less token auth is forced: count = page count + page rows (scenario, score joined)
    with django_assert_num_queries(2):
        small = auth_client.get(RUNS_URL)
    _make_runs(user, scenario, starter_design, 8)
    with django_assert_num_queries(2):
        large = auth_client.get(RUNS_URL)
    assert (small.json()["count"], large.json()["count"]) == (2, 10)
    assert [r["status"] for r in large.json()["results"]].count(RunStatus.FAILED) == 5


def test_run_list_is_newest_first_and_paginated(
    auth_client, user, scenario, starter_design, settings
):
    _make_runs(user, scenario, starter_design, 3)
    ids = list(Run.objects.order_by("-created_at", "-pk").values_list("pk", flat=True))
    data = auth_client.get(RUNS_URL).json()
    assert [r["id"] for r in data["results"]] == ids
    assert data["next"] is None


def test_run_detail_query_count(
    auth_client, user, scenario, starter_design, django_assert_num_queries
):
    run, _ = run_submit(owner=user, scenario_slug=scenario.slug, design_doc=starter_design)
    with django_assert_num_queries(1):
        assert auth_client.get(reverse("api-run-detail", args=[run.pk])).status_code == 200


def test_succeeded_run_detail_is_one_query(
    auth_client, user, scenario, starter_design, django_assert_num_queries
):
    run, _ = run_submit(
        owner=user,
        scenario_slug=scenario.slug,
        design_doc=starter_design,
        replications=FAST_REPLICATIONS,
    )
    run_execute(run_id=run.pk)
    with django_assert_num_queries(1):  # run + scenario + design + score + post-mortem, joined
        data = auth_client.get(reverse("api-run-detail", args=[run.pk])).json()
    assert data["status"] == "succeeded" and data["postmortem"]["root_cause"]["kind"]


def test_only_submissions_are_throttled(auth_client, scenario, starter_design, monkeypatch):
    cache.clear()
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"run_submit": "2/minute"})
    statuses = [
        auth_client.post(RUNS_URL, body(scenario, starter_design), format="json").status_code
        for _ in range(3)
    ]
    assert statuses == [202, 202, 429]
    assert auth_client.get(RUNS_URL).status_code == 200
    cache.clear()


def test_run_list_filters_by_scenario_and_status(auth_client, user, scenario, starter_design):
    _make_runs(user, scenario, starter_design, 4)  # two queued, two failed
    assert auth_client.get(RUNS_URL, {"status": "failed"}).json()["count"] == 2
    assert auth_client.get(RUNS_URL, {"scenario": scenario.slug}).json()["count"] == 4
    assert auth_client.get(RUNS_URL, {"scenario": "other"}).json()["count"] == 0
    assert auth_client.get(RUNS_URL, {"status": "lost"}).status_code == 400


# ---- checking a design without running it ---------------------------------------------------


def check_url(scenario):
    return f"/api/v1/scenarios/{scenario.slug}/check-design/"


def test_check_design_reports_problems_and_stores_nothing(
    auth_client, scenario, starter_design, broken_design, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        good = auth_client.post(check_url(scenario), {"design": starter_design}, format="json")
        bad = auth_client.post(check_url(scenario), {"design": broken_design}, format="json")

    assert good.status_code == 200
    assert (good.json()["valid"], good.json()["problems"]) == (True, [])
    assert bad.status_code == 200 and bad.json()["valid"] is False
    assert INSTANCES_POINTER in [p["pointer"] for p in bad.json()["problems"]]
    assert bad.json()["diagram"] is None  # nothing is drawn for a design the engine refuses
    assert callbacks == [] and not Run.objects.exists() and not Design.objects.exists()


def test_check_design_lays_out_a_valid_design_as_a_diagram(auth_client, scenario, starter_design):
    # given the starter design with one more component: a cache-aside cache on the read route
    design = {
        **starter_design,
        "components": [
            *starter_design["components"],
            {"id": "cache", "type": "cache", "memory_gb": 2},
        ],
        "routes": {**starter_design["routes"], "read": ["lb", "app", "cache", "db"]},
    }

    # when
    response = auth_client.post(check_url(scenario), {"design": design}, format="json")

    # then the layout is the one the diagram module computes, columns following the read route
    assert response.status_code == 200
    diagram = response.json()["diagram"]
    assert diagram == design_diagram(design)
    columns = {node["id"]: node["column"] for node in diagram["nodes"]}
    assert columns == {"@clients": 0, "lb": 1, "app": 2, "cache": 3, "db": 4}
    hops = {(e["source"], e["target"]): e["classes"] for e in diagram["edges"]}
    assert hops[("cache", "db")] == ["read"] and hops[("app", "db")] == ["write"]


def test_the_check_design_diagram_is_documented_in_the_openapi_schema(api_client):
    schema = api_client.get("/api/schema/", {"format": "json"}).json()
    result = schema["components"]["schemas"]["DesignCheckResult"]
    assert "diagram" in result["properties"]
    node = schema["components"]["schemas"]["DiagramNode"]["properties"]
    assert {"id", "x", "y", "width", "height", "load", "root_cause"} <= set(node)


def test_check_design_needs_a_login_and_a_real_scenario(
    api_client, auth_client, scenario, starter_design
):
    assert api_client.post(
        check_url(scenario), {"design": starter_design}, format="json"
    ).status_code in (
        401,
        403,
    )
    response = auth_client.post(
        "/api/v1/scenarios/nope/check-design/", {"design": {}}, format="json"
    )
    assert response.status_code == 404


def test_a_broker_outage_still_accepts_the_run_and_leaves_it_queued(
    auth_client, scenario, starter_design, monkeypatch, django_capture_on_commit_callbacks
):
    def broker_down(*args, **kwargs):
        raise KombuOperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(execute_run, "delay", broker_down)  # the broker boundary
    with django_capture_on_commit_callbacks(execute=True):
        response = auth_client.post(RUNS_URL, body(scenario, starter_design), format="json")

    assert response.status_code == 202  # the run exists; the reconciler will re-send it
    assert Run.objects.get().status == RunStatus.QUEUED
