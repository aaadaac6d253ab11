"""Scenarios, designs and runs."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from config.models import TimeStampedModel

# Bounds on one run's size: replications multiply engine work linearly, and the worker's time
# limits (CELERY_TASK_SOFT_TIME_LIMIT) are sized for at most this many.
DEFAULT_REPLICATIONS = 16
MAX_REPLICATIONS = 64


class Level(models.TextChoices):
    A1 = "A1", "A1 · foundations"
    A2 = "A2", "A2 · foundations"
    B1 = "B1", "B1 · working engineer"
    B2 = "B2", "B2 · working engineer"
    C1 = "C1", "C1 · senior"
    C2 = "C2", "C2 · senior"


class ScenarioQuerySet(models.QuerySet):
    def published(self):
        return self.filter(is_published=True)


class Scenario(TimeStampedModel):
    """A realistic situation to design for: traffic, SLA, budget and timed incidents."""

    class Pressure(models.TextChoices):
        BASICS = "basics", "Basics"
        READ_HEAVY = "read_heavy", "Read-heavy"
        WRITE_HEAVY = "write_heavy", "Write-heavy"
        ASYNC = "async", "Async work"
        RELIABILITY = "reliability", "Reliability"
        REALTIME = "realtime", "Realtime"
        INGESTION = "ingestion", "Ingestion"

    slug = models.SlugField(unique=True, max_length=80)
    title = models.CharField(max_length=200)
    summary = models.CharField(max_length=300, help_text="One line for the scenario library.")
    brief = models.TextField(help_text="Markdown, written like a product ticket.")
    teaching_notes = models.TextField(blank=True, help_text="Markdown; links back to lessons.")
    pressure = models.CharField(max_length=20, choices=Pressure.choices, default=Pressure.BASICS)
    level = models.CharField(max_length=2, choices=Level.choices, default=Level.A1)
    order = models.PositiveIntegerField(default=0)
    spec = models.JSONField(
        help_text="The engine's scenario document (traffic, SLA, budget, incidents)."
    )
    starter_design = models.JSONField(help_text="The engine design document a learner begins from.")
    is_published = models.BooleanField(default=True)

    objects = ScenarioQuerySet.as_manager()

    class Meta:
        ordering = ["order", "slug"]

    def __str__(self) -> str:
        return self.title


class Design(models.Model):
    """A design document as a learner submitted it; immutable, so every run can be reproduced."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="designs"
    )
    scenario = models.ForeignKey(Scenario, on_delete=models.PROTECT, related_name="designs")
    document = models.JSONField(help_text="The engine design document (components, routes, edges).")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"Design {self.pk} for {self.scenario_id}"


class RunStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


# The only legal status changes; `simulations.services.runs.run_transition` enforces them.
# running → queued exists for the reconciler: a worker that died mid-run leaves its run claimed.
RUN_TRANSITIONS: dict[str, frozenset[str]] = {
    RunStatus.QUEUED: frozenset({RunStatus.RUNNING, RunStatus.FAILED}),
    RunStatus.RUNNING: frozenset({RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.QUEUED}),
    RunStatus.SUCCEEDED: frozenset(),
    RunStatus.FAILED: frozenset(),
}
FINISHED_STATUSES = (RunStatus.SUCCEEDED, RunStatus.FAILED)
UNFINISHED_STATUSES = (RunStatus.QUEUED, RunStatus.RUNNING)


class RunQuerySet(models.QuerySet):
    def for_user(self, user):
        """Runs owned by ``user``; none for an anonymous user."""
        if not user.is_authenticated:
            return self.none()
        return self.filter(owner=user)

    def finished(self):
        return self.filter(status__in=FINISHED_STATUSES)

    def unfinished(self):
        return self.filter(status__in=UNFINISHED_STATUSES)


class Run(TimeStampedModel):
    """One simulation of a design against a snapshot of its scenario, processed by a worker."""

    Status = RunStatus

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="runs"
    )
    scenario = models.ForeignKey(Scenario, on_delete=models.PROTECT, related_name="runs")
    design = models.ForeignKey(Design, on_delete=models.PROTECT, related_name="runs")
    status = models.CharField(max_length=10, choices=RunStatus.choices, default=RunStatus.QUEUED)
    seed = models.PositiveIntegerField(help_text="Root seed of the engine's random draws.")
    replications = models.PositiveSmallIntegerField(default=DEFAULT_REPLICATIONS)
    scenario_snapshot = models.JSONField(
        help_text="The scenario's engine document when submitted; later edits don't change it."
    )
    engine_version = models.CharField(max_length=20)
    failure_reason = models.TextField(
        blank=True, help_text="Shown to the learner when the run failed."
    )
    attempts = models.PositiveSmallIntegerField(
        default=0, help_text="How many times a worker claimed it."
    )
    # NULL, not "", when absent: the unique (owner, key) constraint must ignore keyless runs.
    idempotency_key = models.CharField(max_length=255, null=True, blank=True)  # noqa: DJ001
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = RunQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="run_unique_idempotency_key_per_owner",
                violation_error_message="A run with this idempotency key already exists.",
            ),
            models.CheckConstraint(
                condition=Q(status__in=RunStatus.values), name="run_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(replications__gte=1, replications__lte=MAX_REPLICATIONS),
                name="run_replications_in_range",
            ),
            # A failed run always tells the learner why.
            models.CheckConstraint(
                condition=~Q(status=RunStatus.FAILED) | ~Q(failure_reason=""),
                name="run_failed_has_reason",
            ),
        ]
        indexes = [
            # "My runs": Run.objects.for_user(u).order_by("-created_at") (API list + run list page).
            models.Index(fields=["owner", "-created_at"], name="run_owner_created_idx"),
            # The reconciler: unfinished runs whose last change is older than a threshold.
            models.Index(
                fields=["status", "updated_at"],
                condition=Q(status__in=UNFINISHED_STATUSES),
                name="run_unfinished_updated_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"Run {self.pk} · {self.scenario_id} · {self.status}"

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED_STATUSES


class RunResult(models.Model):
    """The engine's per-tick series, event log and per-replication totals for a succeeded run."""

    run = models.OneToOneField(
        Run, on_delete=models.CASCADE, primary_key=True, related_name="result"
    )
    tick_s = models.FloatField(help_text="Tick length [s].")
    times_s = models.JSONField(help_text="Start of each tick [s], a list of n_ticks floats.")
    series = models.JSONField(
        help_text="Per-tick bands over replications: {name: {mean, p05, p95}}, each n_ticks floats."
    )
    per_replication = models.JSONField(
        help_text="Whole-run totals: {name: [one float per replication]}."
    )
    events = models.JSONField(
        help_text="Event log of replication 0: [{t_s, kind, component, detail}]."
    )
    monthly_cost_usd = models.FloatField(help_text="Steady design cost [USD/month].")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"Result of run {self.run_id}"
