"""The submission flow on real services: HTTP → Postgres → Redis → celery worker → Postgres."""

import io
import os
import signal
import time
from datetime import timedelta

import httpx
import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from rest_framework.authtoken.models import Token

from scoring.models import PostMortem, Score
from simulations import engine
from simulations.models import MAX_REPLICATIONS, Design, Run, RunResult, RunStatus, Scenario
from simulations.services.runs import STUCK_RUNNING_AFTER, run_submit
from simulations.tasks import reconcile_stuck_runs

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

POLL_TIMEOUT_S = 120
REPLICATIONS = 4


@pytest.fixture
def scenarios(transactional_db):
    call_command("load_scenarios", stdout=io.StringIO())


def wait_for_finish(poll, worker) -> dict:
    deadline = time.monotonic() + POLL_TIMEOUT_S
    while time.monotonic() < deadline:
        data = poll()
        if data["status"] in (RunStatus.SUCCEEDED, RunStatus.FAILED):
            return data
        time.sleep(0.5)
    pytest.fail(f"run did not finish in {POLL_TIMEOUT_S} s; worker log:\n{worker.output()[-4000:]}")


def test_a_design_submitted_over_http_is_simulated_by_the_worker_and_stored_in_postgres(
    live_server, celery_worker_process, scenarios, user
):
    assert connection.vendor == "postgresql"
    token = Token.objects.create(user=user)
    starter = httpx.get(f"{live_server.url}/api/v1/scenarios/request-response-basics/").json()[
        "starter_design"
    ]

    with httpx.Client(
        base_url=live_server.url, headers={"Authorization": f"Token {token.key}"}
    ) as api:
        submitted = api.post(
            "/api/v1/runs/",
            json={
                "scenario": "request-response-basics",
                "design": starter,
                "replications": REPLICATIONS,
            },
            headers={"Idempotency-Key": "integration-1"},
        )
        assert submitted.status_code == 202, submitted.text
        run_url = submitted.json()["url"]
        finished = wait_for_finish(lambda: api.get(run_url).json(), celery_worker_process)

    assert finished["status"] == "succeeded", finished.get("failure_reason")
    run = Run.objects.get(pk=finished["id"])
    score, postmortem = Score.objects.get(run=run), PostMortem.objects.get(run=run)
    assert 0 <= score.points <= 100
    assert 0 <= score.availability <= 1
    assert score.replications == REPLICATIONS
    assert postmortem.summary and postmortem.root_cause["kind"]
    assert finished["score"]["points"] == pytest.approx(score.points)
    result = RunResult.objects.get(run=run)
    assert (
        len(result.times_s) == run.scenario_snapshot["duration_s"] / run.scenario_snapshot["tick_s"]
    )
    assert run.attempts == 1
    # The worker process did the work, not this one.
    log = celery_worker_process.output()
    assert "simulations.execute_run" in log and "succeeded" in log


def test_the_reconciler_on_the_worker_recovers_a_run_whose_worker_died(
    celery_worker_process, scenarios, user
):
    # As if a worker claimed the run and was killed: running, one attempt, untouched for too long.
    # (Written directly: submitting would enqueue it, and the live worker would simply run it.)
    scenario = Scenario.objects.get(slug="request-response-basics")
    design = Design.objects.create(owner=user, scenario=scenario, document=scenario.starter_design)
    run = Run.objects.create(
        owner=user,
        scenario=scenario,
        design=design,
        status=RunStatus.RUNNING,
        attempts=1,
        seed=11,
        replications=REPLICATIONS,
        scenario_snapshot=scenario.spec,
        engine_version=engine.ENGINE_VERSION,
    )
    Run.objects.filter(pk=run.pk).update(
        updated_at=timezone.now() - STUCK_RUNNING_AFTER - timedelta(seconds=5)
    )

    reconcile_stuck_runs.delay()  # what celery beat sends every minute

    def poll():
        run.refresh_from_db()
        return {"status": run.status}

    assert wait_for_finish(poll, celery_worker_process)["status"] == "succeeded"
    run.refresh_from_db()
    assert run.attempts == 2
    assert Score.objects.filter(run=run).count() == 1
    assert "simulations.reconcile_stuck_runs" in celery_worker_process.output()


def test_a_worker_killed_mid_run_leaves_the_run_claimed_and_a_new_worker_finishes_it(
    start_worker, scenarios, user
):
    first = start_worker()
    scenario = Scenario.objects.get(slug="first-bottleneck")
    # The largest run allowed, so the worker is still simulating when it is killed.
    run, _ = run_submit(
        owner=user, scenario_slug=scenario.slug, design_doc=scenario.starter_design,
        replications=MAX_REPLICATIONS,
    )  # fmt: skip
    deadline = time.monotonic() + POLL_TIMEOUT_S
    while Run.objects.get(pk=run.pk).status == RunStatus.QUEUED:
        assert time.monotonic() < deadline, first.output()[-4000:]
        time.sleep(0.05)
    os.kill(first.process.pid, signal.SIGKILL)  # no warm shutdown: the OOM killer, a lost node
    first.process.wait()

    run.refresh_from_db()
    assert (run.status, run.attempts) == (RunStatus.RUNNING, 1), "killed before it could finish"
    assert not Score.objects.filter(run=run).exists()  # nothing half-written
    assert not RunResult.objects.filter(run=run).exists()

    # A restarted worker, and the beat's reconciler once the claim has gone stale.
    second = start_worker()
    Run.objects.filter(pk=run.pk).update(
        updated_at=timezone.now() - STUCK_RUNNING_AFTER - timedelta(seconds=5)
    )
    reconcile_stuck_runs.delay()

    def poll():
        run.refresh_from_db()
        return {"status": run.status}

    assert wait_for_finish(poll, second)["status"] == "succeeded"
    run.refresh_from_db()
    assert run.attempts == 2
    assert Score.objects.filter(run=run).count() == 1
