"""Curriculum and progress API: reads are public, progress is scoped to ``request.user``."""

from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response

from courses.api.serializers import (
    AttemptInputSerializer,
    AttemptResultSerializer,
    AttemptSerializer,
    CourseSerializer,
    GlossaryTermSerializer,
    LessonDetailSerializer,
    LevelSerializer,
    ProgressSerializer,
    QuizSerializer,
    StageSerializer,
)
from courses.markdown import render_markdown
from courses.models import Level, Stage
from courses.selectors.catalogue import (
    course_get,
    course_list,
    course_quiz,
    glossary_search,
    lesson_page,
)
from courses.selectors.progress import (
    attempt_list,
    attempt_review,
    enrollment_list,
    requirements_for,
)
from courses.services.progress import enrollment_create, lesson_complete
from courses.services.quizzes import quiz_attempt_submit


@extend_schema(tags=["curriculum"])
class StageViewSet(viewsets.ReadOnlyModelViewSet):
    """The three stages of the curriculum, in order."""

    queryset = Stage.objects.order_by("order", "slug")
    serializer_class = StageSerializer
    permission_classes = [AllowAny]
    lookup_field = "slug"


@extend_schema(tags=["curriculum"])
class LevelViewSet(viewsets.ReadOnlyModelViewSet):
    """The A1–C2 ladder."""

    queryset = Level.objects.order_by("code")
    serializer_class = LevelSerializer
    permission_classes = [AllowAny]
    lookup_field = "code"


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter("stage", str, description="Stage slug, e.g. request-path"),
            OpenApiParameter("level", str, description="Level code, e.g. A2"),
        ]
    ),
)
@extend_schema(tags=["curriculum"])
class CourseViewSet(viewsets.ReadOnlyModelViewSet):
    """Published courses with their published lessons; enroll, read and complete lessons."""

    serializer_class = CourseSerializer
    permission_classes = [AllowAny]
    lookup_field = "slug"

    def get_queryset(self):
        return course_list(
            stage=self.request.query_params.get("stage"),
            level=self.request.query_params.get("level"),
        )

    def get_permissions(self):
        if self.action in ("enroll", "complete_lesson", "quiz", "attempts"):
            return [IsAuthenticated()]
        return super().get_permissions()

    @extend_schema(
        tags=["progress"],
        request=None,
        responses={200: ProgressSerializer, 201: ProgressSerializer},
    )
    @action(detail=True, methods=["post"])
    def enroll(self, request, slug=None):
        """Enroll in this course (idempotent: 201 the first time, 200 afterwards)."""
        course = course_get(slug=slug)
        enrollment, created = enrollment_create(learner=request.user, course=course)
        return _progress_response(
            request, enrollment, status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )

    @extend_schema(responses=LessonDetailSerializer)
    @action(detail=True, methods=["get"], url_path=r"lessons/(?P<lesson_slug>[-\w]+)")
    def lesson(self, request, slug=None, lesson_slug=None):
        """One published lesson: Markdown, sanitised HTML, recall prompts, recap, sources."""
        page = lesson_page(course_slug=slug, lesson_slug=lesson_slug, user=request.user)
        data = {
            "course": page.course,
            "lesson": page.lesson,
            "previous": page.previous,
            "next": page.next,
            "is_done": page.is_done,
            "body_html": render_markdown(page.lesson.body),
            "recap_html": render_markdown(page.lesson.recap),
        }
        return Response(LessonDetailSerializer(data).data)

    @extend_schema(tags=["progress"], request=None, responses=ProgressSerializer)
    @action(detail=True, methods=["post"], url_path=r"lessons/(?P<lesson_slug>[-\w]+)/complete")
    def complete_lesson(self, request, slug=None, lesson_slug=None):
        """Mark a lesson complete (enrolling if needed); completing it again changes nothing."""
        page = lesson_page(course_slug=slug, lesson_slug=lesson_slug, user=request.user)
        enrollment, _ = lesson_complete(learner=request.user, lesson=page.lesson)
        return _progress_response(request, enrollment, status.HTTP_200_OK)

    @extend_schema(tags=["progress"], responses=QuizSerializer)
    @action(detail=True, methods=["get"])
    def quiz(self, request, slug=None):
        """The course's quiz to answer (which choices are correct is never sent)."""
        quiz = course_quiz(course=course_get(slug=slug))
        if quiz is None:
            raise Http404("This course has no quiz.")
        return Response(QuizSerializer(quiz).data)

    @extend_schema(
        tags=["progress"],
        methods=["post"],
        request=AttemptInputSerializer,
        responses={201: AttemptResultSerializer},
    )
    @extend_schema(tags=["progress"], methods=["get"], responses=AttemptSerializer(many=True))
    @action(detail=True, methods=["get", "post"], url_path="quiz/attempts")
    def attempts(self, request, slug=None):
        """POST answers to be graded on the server (grade + every explanation back);
        GET your own attempts at this quiz, newest first (paginated)."""
        quiz = course_quiz(course=course_get(slug=slug))
        if quiz is None:
            raise Http404("This course has no quiz.")
        if request.method == "GET":
            attempts = attempt_list(user=request.user, quiz=quiz)
            page = self.paginate_queryset(attempts)
            return self.get_paginated_response(AttemptSerializer(page, many=True).data)
        data = AttemptInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        attempt = quiz_attempt_submit(
            learner=request.user, quiz=quiz, answers=data.validated_data["answers"]
        )
        attempt.review = attempt_review(attempt=attempt)
        return Response(AttemptResultSerializer(attempt).data, status=status.HTTP_201_CREATED)


def _progress_response(request, enrollment, code: int) -> Response:
    enrollment = enrollment_list(user=request.user).get(pk=enrollment.pk)
    needs = requirements_for(user=request.user, courses=[enrollment.course])
    return Response(ProgressSerializer(enrollment, context={"needs": needs}).data, status=code)


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter("q", str, description="Search term, alias or short definition"),
        ]
    )
)
@extend_schema(tags=["curriculum"])
class GlossaryViewSet(viewsets.ReadOnlyModelViewSet):
    """Glossary terms, alphabetical; ``?q=`` searches terms, aliases and definitions."""

    serializer_class = GlossaryTermSerializer
    permission_classes = [AllowAny]
    lookup_field = "slug"

    def get_queryset(self):
        return glossary_search(query=self.request.query_params.get("q", ""))


@extend_schema_view(
    retrieve=extend_schema(
        parameters=[
            OpenApiParameter("course", str, OpenApiParameter.PATH, description="Course slug"),
        ]
    )
)
@extend_schema(tags=["progress"])
class ProgressViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """My enrollments: done / total / percent, last activity, resume lesson, what I still need."""

    serializer_class = ProgressSerializer
    permission_classes = [IsAuthenticated]
    lookup_field = "course__slug"
    lookup_url_kwarg = "course"

    def get_queryset(self):
        return enrollment_list(user=self.request.user)

    def get_serializer(self, *args, **kwargs):
        # "What you still need" for the whole page in four queries, not four per enrollment.
        if args:
            items = args[0] if kwargs.get("many") else [args[0]]
            courses = [e.course for e in items]
            kwargs.setdefault("context", self.get_serializer_context())
            kwargs["context"]["needs"] = requirements_for(user=self.request.user, courses=courses)
        return super().get_serializer(*args, **kwargs)
