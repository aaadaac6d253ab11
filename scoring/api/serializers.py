"""Read-only representations of scores and post-mortems, nested in the run API.

The post-mortem's JSON columns get explicit OpenAPI shapes so API clients can rely on them.
"""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from scoring.models import PostMortem, Score


def _obj(properties: dict, description: str) -> dict:
    return {"type": "object", "description": description, "properties": properties}


_NUM = {"type": "number"}
_NUM_OR_NULL = {"type": "number", "nullable": True}
_STR = {"type": "string"}
_STR_OR_NULL = {"type": "string", "nullable": True}

ROOT_CAUSE = _obj(
    {"kind": _STR, "component": _STR_OR_NULL, "t_s": _NUM_OR_NULL, "explanation": _STR},
    "kind: an incident kind, 'saturation', 'slow_path', 'over_budget' or 'none'; t_s [s].",
)
FACTOR = _obj(
    {
        "code": _STR,
        "title": _STR,
        "component": _STR_OR_NULL,
        "evidence": _STR,
        "data": {"type": "object", "additionalProperties": True},
        "lesson_hint": _STR,
    },
    "A contributing factor from the catalogue, with the numbers that triggered it.",
)
IMPACT = _obj(
    {
        "offered_requests": _NUM,
        "failed_requests": _NUM,
        "minutes_in_breach": _NUM,
        "first_breach_s": _NUM_OR_NULL,
        "error_budget_burned_fraction": _NUM_OR_NULL,
        "spend_usd": _NUM,
        "budget_usd_for_horizon": _NUM,
        "monthly_cost_usd": _NUM,
        "budget_usd_per_month": _NUM,
    },
    "Means over replications; error_budget_burned_fraction = failed / ((1 - target) x offered).",
)
TIMELINE_ROW = _obj(
    {"t_s": _NUM, "t_label": _STR, "kind": _STR, "component": _STR_OR_NULL, "detail": _STR},
    "An engine event of replication 0, or an SLA breach start/end.",
)
FIX = _obj(
    {
        "code": _STR,
        "title": _STR,
        "component": _STR_OR_NULL,
        "answers": _STR,
        "design_change": _STR,
        "design": {"type": "object", "additionalProperties": True},
        "points": _NUM,
        "delta_points": _NUM,
        "p_contract_met": _NUM,
        "availability": _NUM,
        "delta_availability": _NUM,
        "latency_ms": _NUM_OR_NULL,
        "delta_latency_ms": _NUM_OR_NULL,
        "monthly_cost_usd": _NUM,
        "delta_monthly_cost_usd": _NUM,
        "passes": {"type": "boolean"},
        "correctness": {
            "type": "object",
            "description": "duplicate_writes / stale_reads / writes_lost, where nonzero.",
            "additionalProperties": _obj({"before": _NUM, "after": _NUM}, "[requests]"),
        },
    },
    "A modified design simulated on the run's seed; deltas are against the learner's design.",
)


@extend_schema_field(ROOT_CAUSE)
class RootCauseField(serializers.JSONField):
    pass


@extend_schema_field({"type": "array", "items": FACTOR})
class FactorsField(serializers.JSONField):
    pass


@extend_schema_field(IMPACT)
class ImpactField(serializers.JSONField):
    pass


@extend_schema_field({"type": "array", "items": TIMELINE_ROW})
class TimelineField(serializers.JSONField):
    pass


@extend_schema_field({"type": "array", "items": FIX})
class FixesField(serializers.JSONField):
    pass


class ScoreSerializer(serializers.ModelSerializer):
    """The grade of a run against its scenario's contract."""

    class Meta:
        model = Score
        fields = [
            "passed",
            "points",
            "p_contract_met",
            "p_availability_met",
            "p_latency_met",
            "p_cost_met",
            "availability",
            "availability_target",
            "latency_percentile",
            "latency_ms",
            "latency_target_ms",
            "monthly_cost_usd",
            "budget_usd_per_month",
            "replications",
            "created_at",
        ]
        read_only_fields = fields


class PostMortemSerializer(serializers.ModelSerializer):
    """Summary, root cause, contributing factors, impact, timeline and measured fixes."""

    root_cause = RootCauseField(read_only=True)
    contributing_factors = FactorsField(read_only=True)
    impact = ImpactField(read_only=True)
    timeline = TimelineField(read_only=True)
    fixes = FixesField(read_only=True)

    class Meta:
        model = PostMortem
        fields = [
            "summary",
            "root_cause",
            "contributing_factors",
            "impact",
            "minutes_in_breach",
            "timeline",
            "fixes",
            "created_at",
        ]
        read_only_fields = fields
