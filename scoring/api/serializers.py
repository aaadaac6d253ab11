"""Read-only representations of scores and post-mortems, nested in the run API."""

from rest_framework import serializers

from scoring.models import PostMortem, Score


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
