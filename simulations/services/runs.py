"""Writes for runs: submit, execute (the worker's job), fail, transition, reconcile.

Every status change goes through :func:`run_transition`, a conditional ``UPDATE`` that only
succeeds from the expected status, so two workers (or a worker and the reconciler) can never
both act on the same run.
"""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, InterfaceError, OperationalError, transaction
from django.db.models import F
from django.utils import timezone

from config.errors import InvalidStateError, UnprocessableError
from scoring.analysis import assess
from scoring.services import assessment_save
from simulations import engine, specs
from simulations.models import (
    DEFAULT_REPLICATIONS,
    MAX_REPLICATIONS,
    RUN_TRANSITIONS,
    Design,
    Run,
    RunResult,
    RunStatus,
    Scenario,
)

logger = logging.getLogger(__name__)

# Errors worth retrying: the database went away or is locked for a moment. Anything else is a
# property of the input or a bug, and retrying it would only fail again.
TRANSIENT_ERRORS: tuple[type[Exception], ...] = (OperationalError, InterfaceError)

# A run whose last change is older than this is presumed lost (broker restart, killed worker).
# "running" must outlast the task's hard time limit, or the reconciler would steal live runs.
STUCK_QUEUED_AFTER = timedelta(minutes=5)
STUCK_RUNNING_AFTER = timedelta(minutes=10)
# A run that killed its worker this many times is failed instead of being retried forever.
MAX_ATTEMPTS = 3

INTERNAL_FAILURE = (
    "The simulation stopped because of an internal error, not because of your design. "
    "Submit it again; if it keeps failing, tell us the run number."
)


class SubmissionError(ValidationError):
    """A run submission was refused; ``problems`` maps each field to what is wrong with it.

    ``problems["design"]`` is a list of ``{"pointer", "message"}`` (every problem the engine
    found, located by a JSON pointer into the design); other fields carry plain messages.
    """

    def __init__(self, problems: dict[str, list[Any]]) -> None:
        self.problems = problems
        super().__init__(
            {
                field: [p["message"] if isinstance(p, dict) else p for p in items]
                for field, items in problems.items()
            }
        )


class RunTakenError(InvalidStateError):
    """The run left ``running`` while this worker was simulating it (see ``runs_reconcile``)."""


def run_transition(*, run_id: int, source: str, target: str, **fields: Any) -> bool:
    """Move a run from ``source`` to ``target`` status if, and only if, it is still in ``source``.

    Extra ``fields`` are written in the same ``UPDATE`` (e.g. ``started_at``).

    Returns
    -------
    bool
        ``True`` if this call made the change; ``False`` if the run was not in ``source``
        (someone else moved it first) or does not exist.

    Raises
    ------
    InvalidStateError
        If ``source → target`` is not in ``RUN_TRANSITIONS`` (a programming error).
    """
    if target not in RUN_TRANSITIONS[source]:
        raise InvalidStateError(f"A run cannot go from {source} to {target}.", field="status")
    updated = Run.objects.filter(pk=run_id, status=source).update(
        status=target, updated_at=timezone.now(), **fields
    )
    return updated == 1


def run_submit(
    *,
    owner,
    scenario_slug: str,
    design_doc: Any,
    idempotency_key: str | None = None,
    replications: int = DEFAULT_REPLICATIONS,
    seed: int | None = None,
) -> tuple[Run, bool]:
    """Validate a design, store it with a queued run, and enqueue the run once committed.

    Parameters
    ----------
    owner
        The learner submitting; the run and design belong to them.
    scenario_slug
        Slug of a published scenario.
    design_doc
        The engine design document (a dict); validated against the scenario.
    idempotency_key
        Optional client-chosen key (the ``Idempotency-Key`` header). The same key from the same
        owner always yields the same run, even under concurrent submissions.
    replications
        Independent replications to simulate, 1 … ``MAX_REPLICATIONS``.
    seed
        Root seed; a random one is drawn when omitted.

    Returns
    -------
    (Run, bool)
        The run, and whether it was created now (``False`` for a replayed idempotency key).

    Raises
    ------
    SubmissionError
        Unknown scenario, out-of-range numbers, or a design the engine refuses — with every
        problem located. Nothing is stored or enqueued.
    UnprocessableError
        The idempotency key was already used by this owner for a different request.
    """
    if idempotency_key:
        existing = _run_for_key(owner=owner, key=idempotency_key)
        if existing is not None:
            _check_replay(existing, scenario_slug=scenario_slug, design_doc=design_doc)
            return existing, False

    scenario = Scenario.objects.published().filter(slug=scenario_slug).first()
    if scenario is None:
        raise SubmissionError({"scenario": [f"There is no published scenario {scenario_slug!r}."]})
    problems: dict[str, list[Any]] = {}
    if not 1 <= replications <= MAX_REPLICATIONS:
        problems["replications"] = [f"Choose between 1 and {MAX_REPLICATIONS} replications."]
    if seed is not None and not 0 <= seed < 2**31:
        problems["seed"] = ["The seed must be between 0 and 2147483647."]
    design_errors = specs.design_problems(scenario_doc=scenario.spec, design_doc=design_doc)
    if design_errors:
        problems["design"] = design_errors
    if problems:
        raise SubmissionError(problems)

    try:
        # A savepoint, so a lost race on the idempotency key rolls back only this attempt.
        with transaction.atomic():
            design = Design(owner=owner, scenario=scenario, document=design_doc)
            design.full_clean()
            design.save()
            run = Run(
                owner=owner,
                scenario=scenario,
                design=design,
                seed=secrets.randbelow(2**31) if seed is None else seed,
                replications=replications,
                scenario_snapshot=scenario.spec,
                engine_version=engine.ENGINE_VERSION,
                idempotency_key=idempotency_key or None,
            )
            run.full_clean(validate_constraints=False)  # the key's uniqueness is the database's job
            run.save()
            _enqueue(run.pk)
    except IntegrityError:
        existing = _run_for_key(owner=owner, key=idempotency_key) if idempotency_key else None
        if existing is None:
            raise
        _check_replay(existing, scenario_slug=scenario_slug, design_doc=design_doc)
        return existing, False
    return run, True


def _run_for_key(*, owner, key: str) -> Run | None:
    return (
        Run.objects.select_related("scenario", "design")
        .filter(owner=owner, idempotency_key=key)
        .first()
    )


def _check_replay(run: Run, *, scenario_slug: str, design_doc: Any) -> None:
    """A replayed key must carry the same request; anything else is a client bug worth naming."""
    if run.scenario.slug != scenario_slug or run.design.document != design_doc:
        raise UnprocessableError(
            "This Idempotency-Key was already used for a different submission; use a new key.",
            field="idempotency_key",
        )


def _enqueue(run_id: int) -> None:
    """Send the run to a worker once the current transaction commits (at once outside one).

    ``robust``: the run is already committed, so a broker that is down must not turn the
    learner's accepted submission into a 500. The failure is logged, the run stays ``queued``
    in Postgres, and ``runs_reconcile`` re-sends it once the broker is back.
    """
    # Imported here because the task module imports this one (tasks are thin wrappers).
    from simulations.tasks import execute_run

    def send_to_worker() -> None:  # a named function: Django logs robust failures by __qualname__
        execute_run.delay(run_id)

    transaction.on_commit(send_to_worker, robust=True)


def run_execute(*, run_id: int) -> Run | None:
    """Claim a queued run, simulate and score it, and store the outcome (the worker's job).

    Idempotent: a run that is no longer ``queued`` (another worker has it, or it finished) is
    left alone and ``None`` is returned, so a redelivered message is harmless.

    A design or scenario the engine refuses ends the run as ``failed`` with the engine's
    located problems as the reason. A transient database error hands the run back to
    ``queued`` and re-raises, so the task's ``autoretry_for`` can claim it again.

    Returns
    -------
    Run or None
        The finished run, or ``None`` if this call did not claim it.
    """
    claimed = run_transition(
        run_id=run_id,
        source=RunStatus.QUEUED,
        target=RunStatus.RUNNING,
        started_at=timezone.now(),
        attempts=F("attempts") + 1,
    )
    if not claimed:
        logger.info("run %s is not queued; leaving it alone", run_id)
        return None
    run = Run.objects.select_related("design").get(pk=run_id)
    try:
        scenario = specs.parse_scenario(run.scenario_snapshot)
        assessment = assess(
            scenario=scenario,
            design_doc=run.design.document,
            replications=run.replications,
            seed=run.seed,
        )
        _run_succeed(run=run, assessment=assessment)
    except RunTakenError:
        logger.warning("run %s was requeued while this worker ran it; a newer attempt wins", run_id)
        return None
    except engine.SpecError as exc:
        lines = [f"{p['pointer'] or '/'}: {p['message']}" for p in specs.problems_from_error(exc)]
        run_fail(run_id=run_id, reason="The engine refused this run:\n" + "\n".join(lines))
    except TRANSIENT_ERRORS:
        run_transition(run_id=run_id, source=RunStatus.RUNNING, target=RunStatus.QUEUED)
        raise
    run.refresh_from_db()
    return run


@transaction.atomic
def _run_succeed(*, run: Run, assessment: Any) -> None:
    """Score, post-mortem, series and ``running → succeeded``: all committed, or none."""
    assessment_save(run=run, assessment=assessment)
    RunResult.objects.update_or_create(run=run, defaults=specs.run_result_fields(assessment.result))
    if not run_transition(
        run_id=run.pk,
        source=RunStatus.RUNNING,
        target=RunStatus.SUCCEEDED,
        finished_at=timezone.now(),
    ):
        # The reconciler requeued it meanwhile; roll back so the newer attempt writes the result.
        raise RunTakenError(f"Run {run.pk} was taken from this worker before it finished.")


def run_fail(*, run_id: int, reason: str) -> bool:
    """End an unfinished run as ``failed`` with ``reason`` (shown to the learner).

    Returns ``True`` if the run was queued or running and is now failed, ``False`` if it had
    already finished (a late failure never overwrites a success).
    """
    reason = reason.strip() or INTERNAL_FAILURE
    for source in (RunStatus.RUNNING, RunStatus.QUEUED):
        if run_transition(
            run_id=run_id,
            source=source,
            target=RunStatus.FAILED,
            failure_reason=reason,
            finished_at=timezone.now(),
        ):
            return True
    return False


def runs_reconcile(*, now=None) -> dict[str, int]:
    """Re-enqueue runs stuck in ``queued``/``running``; fail those that used up their attempts.

    A run is stuck when its last change is older than ``STUCK_QUEUED_AFTER`` (its message was
    lost, e.g. the broker restarted) or ``STUCK_RUNNING_AFTER`` (its worker died mid-run). A
    re-sent message for a run whose first message was merely slow is harmless: only one of
    them can claim the run.

    Returns
    -------
    dict
        ``{"requeued": n, "failed": m}``.
    """
    now = now or timezone.now()
    requeued = failed = 0
    stuck_running = Run.objects.filter(
        status=RunStatus.RUNNING, updated_at__lt=now - STUCK_RUNNING_AFTER
    ).values_list("pk", "attempts")
    for run_id, attempts in stuck_running:
        if attempts >= MAX_ATTEMPTS:
            failed += run_fail(
                run_id=run_id,
                reason=f"The simulation did not finish after {attempts} attempts; "
                "it is probably too large. Try fewer replications or fewer components.",
            )
        elif run_transition(run_id=run_id, source=RunStatus.RUNNING, target=RunStatus.QUEUED):
            _enqueue(run_id)
            requeued += 1
    queued_cutoff = now - STUCK_QUEUED_AFTER
    stuck_queued = Run.objects.filter(status=RunStatus.QUEUED, updated_at__lt=queued_cutoff)
    for run_id in stuck_queued.values_list("pk", flat=True):
        # Touch it (conditionally), so the next sweep waits a full threshold before re-sending.
        if stuck_queued.filter(pk=run_id).update(updated_at=now):
            _enqueue(run_id)
            requeued += 1
    if requeued or failed:
        logger.warning("reconciler: requeued %s run(s), failed %s", requeued, failed)
    return {"requeued": requeued, "failed": failed}
