"""Scenarios, designs and runs."""

from django.db import models

from config.models import TimeStampedModel


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
    spec = models.JSONField(help_text="The engine's scenario document (traffic, SLA, budget, incidents).")
    starter_design = models.JSONField(help_text="The engine design document a learner begins from.")
    is_published = models.BooleanField(default=True)

    objects = ScenarioQuerySet.as_manager()

    class Meta:
        ordering = ["order", "slug"]

    def __str__(self) -> str:
        return self.title
