"""run_submit, run_transition, run_execute, run_fail and runs_reconcile, called directly."""

from datetime import timedelta

import pytest
from celery.exceptions import SoftTimeLimitExceeded
from django.db import OperationalError
from django.utils import timezone

from config.errors import InvalidStateError, UnprocessableError
from simulations import engine
from simulations.models import RUN_TRANSITIONS, Design, Run, RunResult, RunStatus
from simulations.services import runs as run_services
from simulations.services.runs import (
    MAX_ATTEMPTS,
    STUCK_QUEUED_AFTER,
    STUCK_RUNNING_AFTER,
    SubmissionError,
    run_execute,
    run_fail,
    run_submit,
    run_transition,
    runs_reconcile,
)
from simulations.tasks import execute_run
from tests.simulations.conftest import FAST_REPLICATIONS, INSTANCES_POINTER, ROUTE_POINTER_PREFIX

pytestmark = pytest.mark.django_db


def submit(user, scenario, design, **kwargs):
    kwargs.setdefault("replications", FAST_REPLICATIONS)
    return run_submit(owner=user, scenario_slug=scenario.slug, design_doc=design, **kwargs)


# ---- run_submit -----------------------------------------------------------------------------


def test_submit_stores_design_and_queued_run_and_enqueues_after_commit(
    user, scenario, starter_design, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        run, created = submit(user, scenario, starter_design)

    assert created is True
    assert len(callbacks) == 1  # exactly one task, sent only once the transaction commits
    run.refresh_from_db()
    assert run.status == RunStatus.QUEUED
    assert run.design.document == starter_design
    assert run.design.owner == user and run.owner == user
    assert run.scenario_snapshot == scenario.spec
    assert run.engine_version == engine.ENGINE_VERSION
    assert 0 <= run.seed < 2**31
    assert run.replications == FAST_REPLICATIONS


def test_submit_draws_different_seeds_unless_one_is_given(user, scenario, starter_design):
    seeds = {submit(user, scenario, starter_design)[0].seed for _ in range(4)}
    assert len(seeds) > 1
    assert submit(user, scenario, starter_design, seed=1234)[0].seed == 1234


def test_snapshot_does_not_follow_later_scenario_edits(user, scenario, starter_design):
    run, _ = submit(user, scenario, starter_design)
    original_budget = scenario.spec["budget_usd_per_month"]
    scenario.spec = {**scenario.spec, "budget_usd_per_month": original_budget * 2}
    scenario.save()
    run.refresh_from_db()
    assert run.scenario_snapshot["budget_usd_per_month"] == original_budget


def test_invalid_design_reports_every_problem_and_stores_nothing(
    user, scenario, broken_design, django_capture_on_commit_callbacks
):
    with (
        django_capture_on_commit_callbacks() as callbacks,
        pytest.raises(SubmissionError) as caught,
    ):
        submit(user, scenario, broken_design)

    pointers = [p["pointer"] for p in caught.value.problems["design"]]
    assert INSTANCES_POINTER in pointers
    assert any(p.startswith(ROUTE_POINTER_PREFIX) for p in pointers)
    assert all(p["message"] for p in caught.value.problems["design"])
    assert callbacks == []
    assert not Run.objects.exists() and not Design.objects.exists()


@pytest.mark.parametrize("design", [[], "lb -> app", None, 42])
def test_a_design_that_is_not_an_object_is_refused(user, scenario, design):
    with pytest.raises(SubmissionError) as caught:
        submit(user, scenario, design)
    assert caught.value.problems["design"][0]["pointer"] == ""


def test_unknown_or_unpublished_scenario_is_named(user, scenario, starter_design):
    with pytest.raises(SubmissionError) as caught:
        run_submit(owner=user, scenario_slug="no-such-thing", design_doc=starter_design)
    assert list(caught.value.problems) == ["scenario"]

    scenario.is_published = False
    scenario.save()
    with pytest.raises(SubmissionError):
        submit(user, scenario, starter_design)


@pytest.mark.parametrize("replications", [0, 65, -1])
def test_replications_out_of_range_are_refused(user, scenario, starter_design, replications):
    with pytest.raises(SubmissionError) as caught:
        submit(user, scenario, starter_design, replications=replications)
    assert "replications" in caught.value.problems
    assert not Run.objects.exists()


def test_same_idempotency_key_same_owner_gives_the_same_run(
    user, other_user, scenario, starter_design, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        first, created_first = submit(user, scenario, starter_design, idempotency_key="k-1")
        again, created_again = submit(user, scenario, starter_design, idempotency_key="k-1")
        other, created_other = submit(other_user, scenario, starter_design, idempotency_key="k-1")
        fresh, _ = submit(user, scenario, starter_design, idempotency_key="k-2")

    assert (created_first, created_again, created_other) == (True, False, True)
    assert again.pk == first.pk
    assert other.pk != first.pk and fresh.pk != first.pk
    assert Run.objects.filter(owner=user).count() == 2
    assert len(callbacks) == 3  # the replay enqueued nothing


def test_idempotency_key_reused_for_a_different_design_is_refused(user, scenario, starter_design):
    submit(user, scenario, starter_design, idempotency_key="k-1")
    changed = {**starter_design, "routes": {**starter_design["routes"], "write": ["app", "db"]}}
    with pytest.raises(UnprocessableError):
        submit(user, scenario, changed, idempotency_key="k-1")
    assert Run.objects.count() == 1


# ---- transitions ----------------------------------------------------------------------------

ALL_PAIRS = [(s, t) for s in RunStatus.values for t in RunStatus.values]


@pytest.mark.parametrize(("source", "target"), ALL_PAIRS)
def test_transitions_follow_the_table(user, scenario, starter_design, source, target):
    run, _ = submit(user, scenario, starter_design)
    Run.objects.filter(pk=run.pk).update(status=source, failure_reason="x")
    if target in RUN_TRANSITIONS[source]:
        assert run_transition(run_id=run.pk, source=source, target=target) is True
        run.refresh_from_db()
        assert run.status == target
    else:
        with pytest.raises(InvalidStateError):
            run_transition(run_id=run.pk, source=source, target=target)


def test_a_transition_from_a_status_the_run_is_not_in_does_nothing(user, scenario, starter_design):
    run, _ = submit(user, scenario, starter_design)
    assert (
        run_transition(run_id=run.pk, source=RunStatus.RUNNING, target=RunStatus.SUCCEEDED) is False
    )
    run.refresh_from_db()
    assert run.status == RunStatus.QUEUED


def test_finished_runs_are_terminal():
    assert RUN_TRANSITIONS[RunStatus.SUCCEEDED] == frozenset()
    assert RUN_TRANSITIONS[RunStatus.FAILED] == frozenset()


# ---- run_execute ----------------------------------------------------------------------------


def test_execute_scores_stores_series_and_succeeds(user, scenario, starter_design):
    run, _ = submit(user, scenario, starter_design)

    finished = run_execute(run_id=run.pk)

    assert finished.status == RunStatus.SUCCEEDED
    assert finished.attempts == 1
    assert finished.started_at <= finished.finished_at
    assert 0 <= finished.score.points <= 100
    assert finished.postmortem.summary
    result = RunResult.objects.get(run=run)
    n_ticks = round(scenario.spec["duration_s"] / scenario.spec["tick_s"])
    assert len(result.times_s) == n_ticks
    assert len(result.series["offered_rps"]["mean"]) == n_ticks
    # Offered load follows the scenario's ramp: ~start_rps at the start, ~end_rps at the end.
    curve = scenario.spec["traffic"]["curve"]
    offered = result.series["offered_rps"]["mean"]
    assert offered[0] == pytest.approx(curve["start_rps"], rel=0.25)
    assert offered[-1] == pytest.approx(curve["end_rps"], rel=0.25)
    assert len(result.per_replication["offered"]) == FAST_REPLICATIONS


def test_execute_is_idempotent_once_claimed(user, scenario, starter_design):
    run, _ = submit(user, scenario, starter_design)
    run_execute(run_id=run.pk)
    run.refresh_from_db()
    finished_at = run.finished_at

    assert run_execute(run_id=run.pk) is None  # a redelivered message
    run.refresh_from_db()
    assert (run.status, run.attempts, run.finished_at) == (RunStatus.SUCCEEDED, 1, finished_at)
    assert RunResult.objects.filter(run=run).count() == 1


def test_execute_leaves_a_run_claimed_by_another_worker_alone(user, scenario, starter_design):
    run, _ = submit(user, scenario, starter_design)
    Run.objects.filter(pk=run.pk).update(status=RunStatus.RUNNING)

    assert run_execute(run_id=run.pk) is None
    run.refresh_from_db()
    assert run.status == RunStatus.RUNNING
    assert not RunResult.objects.filter(run=run).exists()


def test_a_design_the_engine_refuses_ends_the_run_failed_with_the_pointer(
    user, scenario, starter_design, broken_design
):
    # Submitted when valid; the stored document is then corrupted (as a migration bug might).
    run, _ = submit(user, scenario, starter_design)
    Design.objects.filter(pk=run.design_id).update(document=broken_design)

    finished = run_execute(run_id=run.pk)

    assert finished.status == RunStatus.FAILED
    assert INSTANCES_POINTER in finished.failure_reason
    assert not RunResult.objects.filter(run=run).exists()


def test_an_unexpected_error_in_the_task_fails_the_run_readably(
    user, scenario, starter_design, monkeypatch
):
    run, _ = submit(user, scenario, starter_design)

    def explode(**kwargs):
        raise ZeroDivisionError("a bug in the analysis")

    monkeypatch.setattr(run_services, "assess", explode)  # the scoring boundary
    execute_run.apply(args=[run.pk])

    run.refresh_from_db()
    assert run.status == RunStatus.FAILED
    assert run.failure_reason == run_services.INTERNAL_FAILURE
    assert "ZeroDivisionError" not in run.failure_reason


def test_a_transient_database_error_hands_the_run_back_for_a_retry(
    user, scenario, starter_design, monkeypatch
):
    run, _ = submit(user, scenario, starter_design)

    def database_gone(**kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(run_services, "assess", database_gone)
    with pytest.raises(OperationalError):
        run_execute(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == RunStatus.QUEUED  # claimable again by the retried task
    assert run.attempts == 1


def test_execute_run_task_retries_only_transient_errors():
    assert set(execute_run.autoretry_for) == {OperationalError, run_services.InterfaceError}
    assert execute_run.acks_late is True
    assert execute_run.name == "simulations.execute_run"


# ---- run_fail -------------------------------------------------------------------------------


def test_fail_never_overwrites_a_finished_run(user, scenario, starter_design):
    run, _ = submit(user, scenario, starter_design)
    assert run_fail(run_id=run.pk, reason="worker lost") is True
    assert run_fail(run_id=run.pk, reason="second opinion") is False
    run.refresh_from_db()
    assert (run.status, run.failure_reason) == (RunStatus.FAILED, "worker lost")


# ---- runs_reconcile -------------------------------------------------------------------------


def _age(run, *, status, by, attempts=1):
    Run.objects.filter(pk=run.pk).update(
        status=status, attempts=attempts, updated_at=timezone.now() - by - timedelta(seconds=1)
    )


def test_reconcile_requeues_stuck_runs_and_fails_hopeless_ones(
    user, scenario, starter_design, django_capture_on_commit_callbacks
):
    stuck_running, _ = submit(user, scenario, starter_design)
    hopeless, _ = submit(user, scenario, starter_design)
    stuck_queued, _ = submit(user, scenario, starter_design)
    busy, _ = submit(user, scenario, starter_design)
    waiting, _ = submit(user, scenario, starter_design)
    _age(stuck_running, status=RunStatus.RUNNING, by=STUCK_RUNNING_AFTER)
    _age(hopeless, status=RunStatus.RUNNING, by=STUCK_RUNNING_AFTER, attempts=MAX_ATTEMPTS)
    _age(stuck_queued, status=RunStatus.QUEUED, by=STUCK_QUEUED_AFTER)
    _age(busy, status=RunStatus.RUNNING, by=STUCK_RUNNING_AFTER / 2)
    _age(waiting, status=RunStatus.QUEUED, by=STUCK_QUEUED_AFTER / 2)

    with django_capture_on_commit_callbacks() as callbacks:
        outcome = runs_reconcile()

    assert outcome == {"requeued": 2, "failed": 1}
    assert len(callbacks) == 2
    statuses = dict(Run.objects.values_list("pk", "status"))
    assert statuses[stuck_running.pk] == RunStatus.QUEUED
    assert statuses[hopeless.pk] == RunStatus.FAILED
    assert statuses[stuck_queued.pk] == RunStatus.QUEUED
    assert statuses[busy.pk] == RunStatus.RUNNING
    assert statuses[waiting.pk] == RunStatus.QUEUED

    # Requeued runs were touched, so an immediate second sweep re-sends nothing.
    assert runs_reconcile() == {"requeued": 0, "failed": 0}


def test_a_requeued_run_is_claimed_and_finished_by_the_next_attempt(user, scenario, starter_design):
    run, _ = submit(user, scenario, starter_design)
    _age(run, status=RunStatus.RUNNING, by=STUCK_RUNNING_AFTER)
    runs_reconcile()

    finished = run_execute(run_id=run.pk)

    assert finished.status == RunStatus.SUCCEEDED
    assert finished.attempts == 2


def test_a_run_over_its_soft_time_limit_fails_with_advice(
    user, scenario, starter_design, monkeypatch
):
    run, _ = submit(user, scenario, starter_design)

    def too_slow(**kwargs):
        raise SoftTimeLimitExceeded()

    monkeypatch.setattr(run_services, "assess", too_slow)
    execute_run.apply(args=[run.pk])

    run.refresh_from_db()
    assert run.status == RunStatus.FAILED
    assert "took longer than" in run.failure_reason and "fewer replications" in run.failure_reason


def test_the_reconciler_never_takes_a_run_a_live_worker_may_still_hold(settings):
    # A live task is killed at the hard time limit, so a claim older than that is abandoned.
    assert STUCK_RUNNING_AFTER.total_seconds() > settings.CELERY_TASK_TIME_LIMIT
