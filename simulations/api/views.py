"""``/api/v1/scenarios/`` and ``/api/v1/runs/``: validate, call a service or selector, render."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle

from simulations import selectors, specs
from simulations.api.serializers import (
    DesignCheckResultSerializer,
    DesignCheckSerializer,
    RunAcceptedSerializer,
    RunDetailSerializer,
    RunListSerializer,
    RunSeriesSerializer,
    RunSubmitSerializer,
    ScenarioDetailSerializer,
    ScenarioListSerializer,
)
from simulations.diagram import design_diagram
from simulations.models import RunStatus
from simulations.services.runs import SubmissionError, run_submit

IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=False,
    description="Any unique string up to 255 characters. Re-sending a submission with the same "
    "key returns the run created the first time (200) instead of creating another.",
)


@extend_schema_view(
    list=extend_schema(summary="List published scenarios", tags=["scenarios"]),
    retrieve=extend_schema(
        summary="A scenario: brief, SLA, budget, engine document and starter design",
        tags=["scenarios"],
    ),
)
class ScenarioViewSet(viewsets.ReadOnlyModelViewSet):
    """The scenario library; readable without logging in."""

    lookup_field = "slug"
    permission_classes = [AllowAny]

    def get_queryset(self):
        return selectors.scenario_list()

    def get_serializer_class(self):
        return ScenarioDetailSerializer if self.action == "retrieve" else ScenarioListSerializer

    def get_permissions(self):
        # Reading is public; checking a design is for learners (it is what the designer uses).
        return [IsAuthenticated()] if self.action == "check_design" else super().get_permissions()

    @extend_schema(
        summary="Check a design against this scenario without running it",
        description="The same validation a submission gets, with nothing stored or queued: "
        "`valid` and every problem located by a JSON pointer into the design. A valid design "
        "also comes back laid out as an architecture diagram (`diagram`: boxes and polylines in "
        "SVG pixels, ready to draw), which the designer page redraws as the learner types.",
        tags=["scenarios"],
        request=DesignCheckSerializer,
        responses={200: DesignCheckResultSerializer},
    )
    @action(detail=True, methods=["post"], url_path="check-design")
    def check_design(self, request, slug: str):
        scenario = selectors.scenario_get(slug=slug)
        data = DesignCheckSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        design = data.validated_data["design"]
        problems = specs.design_problems(scenario_doc=scenario.spec, design_doc=design)
        # A design the engine accepts always has the shape the diagram needs.
        diagram = None if problems else design_diagram(design)
        return Response({"valid": not problems, "problems": problems, "diagram": diagram})


@extend_schema_view(
    list=extend_schema(
        summary="My runs, newest first",
        tags=["runs"],
        parameters=[
            OpenApiParameter(
                "scenario", OpenApiTypes.STR, description="Only runs of this scenario slug."
            ),
            OpenApiParameter(
                "status",
                OpenApiTypes.STR,
                enum=RunStatus.values,
                description="Only runs in this status.",
            ),
        ],
    ),
    retrieve=extend_schema(
        summary="A run: status, then score and post-mortem once succeeded",
        tags=["runs"],
        responses={
            200: RunDetailSerializer,
            404: OpenApiResponse(description="Not yours, or no such run."),
        },
    ),
)
class RunViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """The learner's own runs; another learner's run is a 404."""

    throttle_scope = "run_submit"
    lookup_value_regex = "[0-9]+"  # any other id is simply not a run: 404 from the router

    def get_queryset(self):
        params = self.request.query_params
        status_filter = params.get("status")
        if status_filter and status_filter not in RunStatus.values:
            raise serializers.ValidationError(
                {"status": [f"Choose one of {', '.join(RunStatus.values)}."]}
            )
        return selectors.run_list(
            user=self.request.user, scenario_slug=params.get("scenario"), status=status_filter
        )

    def get_serializer_class(self):
        return RunDetailSerializer if self.action == "retrieve" else RunListSerializer

    def get_throttles(self):
        # Only submissions cost worker time; reads stay unthrottled.
        return [ScopedRateThrottle()] if self.action == "create" else super().get_throttles()

    def retrieve(self, request, pk: int):
        run = selectors.run_get(user=request.user, run_id=int(pk))
        return Response(RunDetailSerializer(run, context=self.get_serializer_context()).data)

    @extend_schema(
        summary="Submit a design for a scenario",
        description="Validates the design against the engine's schema and the scenario; every "
        "problem is reported with a JSON pointer into the design, and nothing is enqueued. A valid "
        "design is stored with a queued run and simulated by a worker: poll the returned `url`.",
        tags=["runs"],
        parameters=[IDEMPOTENCY_HEADER],
        request=RunSubmitSerializer,
        responses={
            202: OpenApiResponse(RunAcceptedSerializer, description="Queued; poll `url`."),
            200: OpenApiResponse(
                RunAcceptedSerializer, description="Replay of an Idempotency-Key."
            ),
            400: OpenApiResponse(
                description='Invalid: `{"design": [{"pointer", "message"}], ...}`'
            ),
            422: OpenApiResponse(description="Idempotency-Key reused for a different submission."),
        },
    )
    def create(self, request):
        data = RunSubmitSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        key = request.headers.get("Idempotency-Key") or None
        if key is not None and len(key) > 255:
            raise serializers.ValidationError({"idempotency_key": ["Use at most 255 characters."]})
        try:
            run, created = run_submit(
                owner=request.user,
                scenario_slug=data.validated_data["scenario"],
                design_doc=data.validated_data["design"],
                idempotency_key=key,
                **{k: v for k, v in data.validated_data.items() if k in ("replications", "seed")},
            )
        except SubmissionError as exc:
            raise serializers.ValidationError(exc.problems) from exc
        # in-process tasks (the embedded default) have already run it: say so, not "queued"
        run.refresh_from_db(fields=["status"])
        body = RunAcceptedSerializer(run, context=self.get_serializer_context()).data
        headers = {"Location": str(body["url"])}  # a DRF Hyperlink; WSGI servers want a plain str
        if not created:
            return Response(
                body, status=status.HTTP_200_OK, headers={**headers, "Idempotent-Replayed": "true"}
            )
        return Response(body, status=status.HTTP_202_ACCEPTED, headers=headers)

    @extend_schema(
        summary="Per-tick series of a succeeded run (for charts)",
        tags=["runs"],
        responses={
            200: RunSeriesSerializer,
            404: OpenApiResponse(description="Not yours, or not succeeded."),
        },
    )
    @action(detail=True, methods=["get"])
    def series(self, request, pk: int):
        result = selectors.run_result_get(user=request.user, run_id=int(pk))
        return Response(
            specs.series_document(result=result, scenario_doc=result.run.scenario_snapshot)
        )
