"""Scores and post-mortems of simulation runs."""

from django.db import models
from django.db.models import Q

from config.models import TimeStampedModel
from scoring.analysis.rules import PASS_PROBABILITY


def _unit_interval(field: str, name: str) -> models.CheckConstraint:
    return models.CheckConstraint(
        condition=Q(**{f"{field}__gte": 0.0, f"{field}__lte": 1.0}), name=name
    )


class Score(TimeStampedModel):
    """How one run's design fared against its scenario's contract (see scoring.analysis.rules)."""

    run = models.OneToOneField("simulations.Run", on_delete=models.CASCADE, related_name="score")
    passed = models.BooleanField(
        help_text=f"True when the contract held in at least {PASS_PROBABILITY:.0%} of replications."
    )
    points = models.FloatField(
        help_text="0-100, smooth in the margins: a near miss beats a collapse."
    )
    p_contract_met = models.FloatField(
        help_text="Fraction of replications meeting every criterion."
    )
    p_availability_met = models.FloatField()
    p_latency_met = models.FloatField()
    p_cost_met = models.FloatField()
    availability = models.FloatField(help_text="Succeeded / offered, mean over replications [-].")
    availability_target = models.FloatField()
    latency_percentile = models.FloatField(help_text="The SLA's percentile, e.g. 99 for p99 [%].")
    latency_ms = models.FloatField(
        null=True,
        blank=True,
        help_text="Whole-run percentile, mean over replications [ms]; empty if nothing succeeded.",
    )
    latency_target_ms = models.FloatField()
    monthly_cost_usd = models.FloatField(help_text="Steady design cost [USD/month].")
    budget_usd_per_month = models.FloatField()
    replications = models.PositiveSmallIntegerField()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(points__gte=0.0, points__lte=100.0), name="score_points_0_100"
            ),
            _unit_interval("p_contract_met", "score_p_contract_met_unit"),
            _unit_interval("p_availability_met", "score_p_availability_met_unit"),
            _unit_interval("p_latency_met", "score_p_latency_met_unit"),
            _unit_interval("p_cost_met", "score_p_cost_met_unit"),
            _unit_interval("availability", "score_availability_unit"),
            _unit_interval("availability_target", "score_availability_target_unit"),
            # The pass rule lives in scoring.analysis.rules; the database refuses a row that
            # contradicts it.
            models.CheckConstraint(
                condition=Q(passed=True, p_contract_met__gte=PASS_PROBABILITY)
                | Q(passed=False, p_contract_met__lt=PASS_PROBABILITY),
                name="score_passed_matches_rule",
            ),
        ]
        indexes = [
            # passed_scenario_slugs(): runs of a learner joined to their passing scores.
            models.Index(fields=["run"], condition=Q(passed=True), name="score_passed_run_idx"),
        ]

    def __str__(self) -> str:
        verdict = "passed" if self.passed else "not passed"
        return f"Score of run {self.run_id}: {self.points:.0f}/100, {verdict}"


class PostMortem(TimeStampedModel):
    """What happened in a run, why, what it cost, and which measured changes would have helped."""

    run = models.OneToOneField(
        "simulations.Run", on_delete=models.CASCADE, related_name="postmortem"
    )
    summary = models.TextField(help_text="One plain-language paragraph.")
    root_cause_kind = models.CharField(
        max_length=40, help_text="Copied from root_cause.kind so admins can filter by it."
    )
    root_cause = models.JSONField(help_text="{kind, component, t_s, explanation}.")
    contributing_factors = models.JSONField(
        default=list,
        blank=True,
        help_text="[{code, title, component, evidence, data, lesson_hint}] from the catalogue.",
    )
    impact = models.JSONField(
        help_text="{failed_requests, offered_requests, minutes_in_breach, first_breach_s, "
        "error_budget_burned_fraction, spend_usd, budget_usd_for_horizon, monthly_cost_usd, "
        "budget_usd_per_month}."
    )
    timeline = models.JSONField(
        default=list, blank=True, help_text="[{t_s, kind, component, detail}]."
    )
    fixes = models.JSONField(
        default=list,
        blank=True,
        help_text="[{code, title, design_change, points, delta_points, availability, "
        "delta_availability, latency_ms, delta_latency_ms, monthly_cost_usd, "
        "delta_monthly_cost_usd, passes}] measured on the run's seed.",
    )
    minutes_in_breach = models.FloatField(default=0.0, help_text="[min]")

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(minutes_in_breach__gte=0.0), name="postmortem_minutes_non_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"Post-mortem of run {self.run_id}: {self.root_cause_kind}"
