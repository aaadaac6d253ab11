"""Celery tasks: thin wrappers that take ids and call one service each."""

import logging

from celery import shared_task
from celery.contrib.django.task import DjangoTask
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings

from simulations.services.runs import (
    INTERNAL_FAILURE,
    TRANSIENT_ERRORS,
    run_execute,
    run_fail,
    runs_reconcile,
)

logger = logging.getLogger(__name__)


class ExecuteRunTask(DjangoTask):
    """Ends the run as ``failed`` when the task itself fails for good (after any retries)."""

    def on_failure(self, exc, task_id, args, kwargs, einfo):
        run_id = kwargs.get("run_id", args[0] if args else None)
        if run_id is None:
            return
        if isinstance(exc, SoftTimeLimitExceeded):
            reason = (
                f"The simulation took longer than {settings.CELERY_TASK_SOFT_TIME_LIMIT} s and was "
                "stopped. Try fewer replications or a smaller design."
            )
        else:
            logger.error("run %s failed unexpectedly", run_id, exc_info=exc)
            reason = INTERNAL_FAILURE
        run_fail(run_id=run_id, reason=reason)


@shared_task(
    name="simulations.execute_run",
    base=ExecuteRunTask,
    acks_late=True,  # safe: run_execute claims by conditional update, so a redelivery is a no-op
    autoretry_for=TRANSIENT_ERRORS,
    retry_backoff=True,
    max_retries=5,
)
def execute_run(run_id: int) -> None:
    """Simulate, score and store one run (see ``simulations.services.runs.run_execute``)."""
    run_execute(run_id=run_id)


@shared_task(name="simulations.reconcile_stuck_runs", autoretry_for=TRANSIENT_ERRORS, max_retries=3)
def reconcile_stuck_runs() -> dict[str, int]:
    """Periodic (celery beat): re-enqueue runs stuck in queued/running; see ``runs_reconcile``."""
    return runs_reconcile()
