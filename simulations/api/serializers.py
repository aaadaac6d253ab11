"""Input and output serializers for scenarios and runs (inputs and outputs are separate classes)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.reverse import reverse

from scoring.api.serializers import PostMortemSerializer, ScoreSerializer
from simulations.api.schema import DESIGN_DOCUMENT_SCHEMA, SCENARIO_DOCUMENT_SCHEMA
from simulations.models import MAX_REPLICATIONS, Level, Run, RunStatus, Scenario


@extend_schema_field(DESIGN_DOCUMENT_SCHEMA)
class DesignDocumentField(serializers.JSONField):
    """The engine's design document; its JSON Schema is published in the OpenAPI document."""

    def to_internal_value(self, data: Any) -> Any:
        value = super().to_internal_value(data)
        if not isinstance(value, dict):
            raise serializers.ValidationError(
                [
                    {
                        "pointer": "",
                        "message": "The design must be a JSON object with components and routes.",
                    }
                ]
            )
        return value


@extend_schema_field(SCENARIO_DOCUMENT_SCHEMA)
class ScenarioDocumentField(serializers.JSONField):
    """The engine's scenario document (traffic, SLA, budget, incidents)."""


# Inline, not a named enum component: courses publishes its own "level" enum, and two enums of
# one name would collide in the OpenAPI document.
@extend_schema_field(
    {"type": "string", "enum": Level.values, "description": "Curriculum level, A1–C2."}
)
class LevelField(serializers.CharField):
    """A scenario's curriculum level code."""


class ScenarioListSerializer(serializers.HyperlinkedModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api-scenario-detail", lookup_field="slug")
    level = LevelField(read_only=True)

    class Meta:
        model = Scenario
        fields = ["url", "slug", "title", "summary", "pressure", "level", "order"]


class SlaSerializer(serializers.Serializer):
    availability = serializers.FloatField(
        help_text="Fraction of offered requests that must succeed [0–1]."
    )
    latency_percentile = serializers.FloatField(
        help_text="Which percentile the target applies to, e.g. 99."
    )
    latency_ms = serializers.FloatField(help_text="Target for that percentile, end to end [ms].")


class ScenarioDetailSerializer(ScenarioListSerializer):
    sla = SlaSerializer(source="spec.sla", read_only=True)
    budget_usd_per_month = serializers.FloatField(
        source="spec.budget_usd_per_month", read_only=True
    )
    spec = ScenarioDocumentField(read_only=True)
    starter_design = DesignDocumentField(read_only=True)

    class Meta(ScenarioListSerializer.Meta):
        fields = [
            *ScenarioListSerializer.Meta.fields,
            "brief",
            "teaching_notes",
            "sla",
            "budget_usd_per_month",
            "spec",
            "starter_design",
        ]


class RunSubmitSerializer(serializers.Serializer):
    """``POST /runs/``: a scenario slug and a design document (validated by the service)."""

    scenario = serializers.SlugField(help_text="Slug of a published scenario.")
    design = DesignDocumentField()
    replications = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_REPLICATIONS,
        help_text="Independent replications to simulate (more = tighter bands, slower).",
    )
    seed = serializers.IntegerField(
        required=False,
        min_value=0,
        max_value=2**31 - 1,
        help_text="Root seed, to reproduce a run exactly; random when omitted.",
    )


class DesignCheckSerializer(serializers.Serializer):
    """``POST /scenarios/{slug}/check-design/``: a design document to validate."""

    design = DesignDocumentField()


class ProblemSerializer(serializers.Serializer):
    pointer = serializers.CharField(
        help_text="RFC 6901 JSON pointer into the design; '' = all of it."
    )
    message = serializers.CharField(help_text="What is wrong, naming the value and the bound.")


class DiagramLineSerializer(serializers.Serializer):
    text = serializers.CharField()
    style = serializers.ChoiceField(choices=["title", "small", "text", "load"])
    y = serializers.FloatField(help_text="Baseline from the node's top [px].")


class DiagramNodeSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="Component id; '@clients' for the clients.")
    label = serializers.CharField()
    type = serializers.CharField(help_text="Component type, or 'clients'.")
    type_label = serializers.CharField(
        help_text="The type in words, e.g. 'app pool · autoscaling'."
    )
    detail = serializers.CharField(help_text="Key parameters, e.g. '3 × medium · 8 conc.'.")
    column = serializers.IntegerField(help_text="Depth along the routes; clients are 0.")
    row = serializers.IntegerField()
    x = serializers.FloatField(help_text="Left edge [px].")
    y = serializers.FloatField(help_text="Top edge [px].")
    width = serializers.FloatField(help_text="[px]")
    height = serializers.FloatField(help_text="[px]")
    on_route = serializers.BooleanField(help_text="False for a component no route uses.")
    root_cause = serializers.BooleanField(help_text="Named by a run's post-mortem.")
    utilization = serializers.FloatField(allow_null=True, help_text="A run's peak [0–1].")
    load = serializers.ChoiceField(choices=["calm", "busy", "hot"], allow_null=True)
    load_text = serializers.CharField(allow_null=True)
    lines = DiagramLineSerializer(many=True, help_text="The text drawn in the box, in order.")


class DiagramBadgeSerializer(serializers.Serializer):
    text = serializers.CharField(help_text="A call policy, e.g. 'timeout 800 ms'.")
    x = serializers.FloatField(help_text="Centre of the text [px].")
    y = serializers.FloatField(help_text="Baseline of the text [px].")
    box_x = serializers.FloatField()
    box_y = serializers.FloatField()
    box_width = serializers.FloatField()
    box_height = serializers.FloatField()


class DiagramEdgeSerializer(serializers.Serializer):
    source = serializers.CharField()
    target = serializers.CharField()
    classes = serializers.ListField(
        child=serializers.CharField(), help_text="Request classes travelling this hop."
    )
    label = serializers.CharField()
    label_x = serializers.FloatField(help_text="Centre of the label [px].")
    label_y = serializers.FloatField(help_text="Baseline of the label [px].")
    badges = DiagramBadgeSerializer(many=True)
    points = serializers.ListField(
        child=serializers.ListField(child=serializers.FloatField(), min_length=2, max_length=2),
        help_text="The polyline, [[x, y], ...] [px], ending at the target.",
    )
    kind = serializers.ChoiceField(
        choices=["forward", "detour", "back"],
        help_text="forward = next column; detour = skips columns (drawn over the top); "
        "back = to an earlier column (drawn under the bottom).",
    )


class DiagramSerializer(serializers.Serializer):
    """Documents ``simulations.diagram.design_diagram``: a laid-out architecture diagram."""

    width = serializers.FloatField(help_text="[px], the SVG viewBox width")
    height = serializers.FloatField(help_text="[px]")
    title = serializers.CharField()
    summary = serializers.ListField(
        child=serializers.CharField(), help_text="The diagram in sentences (routes, policies)."
    )
    nodes = DiagramNodeSerializer(many=True)
    edges = DiagramEdgeSerializer(many=True)


class DesignCheckResultSerializer(serializers.Serializer):
    valid = serializers.BooleanField()
    problems = ProblemSerializer(many=True)
    diagram = DiagramSerializer(
        allow_null=True,
        help_text="The design laid out as a left-to-right diagram; null unless valid.",
    )


class RunAcceptedSerializer(serializers.ModelSerializer):
    """The answer to a submission: where to poll."""

    url = serializers.HyperlinkedIdentityField(view_name="api-run-detail")

    class Meta:
        model = Run
        fields = ["id", "url", "status"]
        read_only_fields = fields


class RunListSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api-run-detail")
    scenario = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    scenario_title = serializers.CharField(source="scenario.title", read_only=True)
    points = serializers.SerializerMethodField(help_text="Score 0–100 once succeeded, else null.")
    passed = serializers.SerializerMethodField(
        help_text="Whether the contract was met, once succeeded."
    )

    class Meta:
        model = Run
        fields = [
            "id",
            "url",
            "scenario",
            "scenario_title",
            "status",
            "points",
            "passed",
            "created_at",
            "finished_at",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.FloatField(allow_null=True))
    def get_points(self, run: Run) -> float | None:
        score = _score_of(run)
        return None if score is None else score.points

    @extend_schema_field(serializers.BooleanField(allow_null=True))
    def get_passed(self, run: Run) -> bool | None:
        score = _score_of(run)
        return None if score is None else score.passed


class RunDetailSerializer(RunListSerializer):
    design = DesignDocumentField(source="design.document", read_only=True)
    series_url = serializers.SerializerMethodField()
    score = serializers.SerializerMethodField()
    postmortem = serializers.SerializerMethodField()

    class Meta(RunListSerializer.Meta):
        fields = [
            *RunListSerializer.Meta.fields,
            "seed",
            "replications",
            "engine_version",
            "failure_reason",
            "started_at",
            "design",
            "series_url",
            "score",
            "postmortem",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_series_url(self, run: Run) -> str | None:
        if run.status != RunStatus.SUCCEEDED:
            return None
        return reverse("api-run-series", args=[run.pk], request=self.context.get("request"))

    @extend_schema_field(ScoreSerializer(allow_null=True))
    def get_score(self, run: Run) -> dict | None:
        score = _score_of(run)
        return None if score is None else ScoreSerializer(score, context=self.context).data

    @extend_schema_field(PostMortemSerializer(allow_null=True))
    def get_postmortem(self, run: Run) -> dict | None:
        if run.status != RunStatus.SUCCEEDED or not hasattr(run, "postmortem"):
            return None
        return PostMortemSerializer(run.postmortem, context=self.context).data


def _score_of(run: Run):
    """The run's score, or ``None`` before it succeeded (reverse one-to-one raises otherwise)."""
    if run.status != RunStatus.SUCCEEDED or not hasattr(run, "score"):
        return None
    return run.score


class IncidentWindowSerializer(serializers.Serializer):
    kind = serializers.CharField()
    label = serializers.CharField(help_text="The kind in words, e.g. 'instance failure'.")
    component = serializers.CharField(allow_null=True)
    start_s = serializers.FloatField(help_text="[s] from the start of the run")
    end_s = serializers.FloatField(help_text="[s]; equal to start_s for instantaneous incidents")
    start = serializers.CharField(help_text="start_s as T+mm:ss")
    end = serializers.CharField(help_text="end_s as T+mm:ss")


class EventSerializer(serializers.Serializer):
    t_s = serializers.FloatField(help_text="[s]")
    kind = serializers.CharField()
    component = serializers.CharField(allow_null=True)
    detail = serializers.CharField()


class BandSerializer(serializers.Serializer):
    mean = serializers.ListField(child=serializers.FloatField())
    p05 = serializers.ListField(child=serializers.FloatField())
    p95 = serializers.ListField(child=serializers.FloatField())


class RunSeriesSerializer(serializers.Serializer):
    """Documents ``GET /runs/{id}/series/`` (built by ``simulations.specs.series_document``)."""

    tick_s = serializers.FloatField(help_text="Tick length [s].")
    times_s = serializers.ListField(
        child=serializers.FloatField(), help_text="Start of each tick [s]."
    )
    series = serializers.DictField(
        child=BandSerializer(),
        help_text="Per-tick mean and 5–95 % band over replications, keyed by series name "
        "(offered_rps, success_rps, error_rps, errors_<cause>_rps, latency_p50_ms, latency_p95_ms, "
        "latency_p99_ms, spend_usd, utilization:<component>, backlog:<component>, …).",
    )
    events = EventSerializer(many=True)
    incidents = IncidentWindowSerializer(many=True)
    sla = SlaSerializer()
    budget_usd_per_month = serializers.FloatField(help_text="[USD/month]")
    monthly_cost_usd = serializers.FloatField(help_text="The design's steady cost [USD/month].")
