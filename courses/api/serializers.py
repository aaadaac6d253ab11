"""API shapes. Output serializers are read-only; commands have their own input serializers."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from courses.models import Choice, Course, Enrollment, GlossaryTerm, Lesson, Level, Question, Stage


class SourceSerializer(serializers.Serializer):
    title = serializers.CharField()
    url = serializers.URLField()


class StageSerializer(serializers.ModelSerializer):
    class Meta:
        model = Stage
        fields = ["slug", "title", "order", "summary"]


class LevelSerializer(serializers.ModelSerializer):
    code = serializers.CharField(help_text="A1, A2, B1, B2, C1 or C2.")

    class Meta:
        model = Level
        fields = ["code", "title", "summary"]


class LessonSummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = Lesson
        fields = ["slug", "title", "order", "minutes"]


class CourseSerializer(serializers.ModelSerializer):
    stage = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    level = serializers.SlugRelatedField(slug_field="code", read_only=True)
    lessons = LessonSummarySerializer(source="published_lessons", many=True, read_only=True)
    minutes_total = serializers.IntegerField(
        read_only=True, allow_null=True, help_text="Sum of lesson estimates [min]."
    )

    class Meta:
        model = Course
        fields = [
            "slug",
            "title",
            "stage",
            "level",
            "order",
            "summary",
            "description",
            "minutes_total",
            "lessons",
        ]


class LessonDetailSerializer(serializers.Serializer):
    """A lesson as a learner reads it: raw Markdown and the sanitised HTML the site shows."""

    course = serializers.CharField(source="course.slug")
    slug = serializers.CharField(source="lesson.slug")
    title = serializers.CharField(source="lesson.title")
    order = serializers.IntegerField(source="lesson.order")
    minutes = serializers.IntegerField(
        source="lesson.minutes", help_text="Estimated reading time [min]."
    )
    body = serializers.CharField(source="lesson.body", help_text="Markdown source.")
    body_html = serializers.CharField(help_text="Sanitised HTML with glossary links.")
    recall_prompts = serializers.ListField(
        source="lesson.recall_prompts", child=serializers.CharField()
    )
    recap = serializers.CharField(source="lesson.recap")
    recap_html = serializers.CharField()
    sources = SourceSerializer(source="lesson.sources", many=True)
    scenario = serializers.CharField(source="lesson.scenario.slug", allow_null=True, default=None)
    previous = serializers.CharField(source="previous.slug", allow_null=True, default=None)
    next = serializers.CharField(source="next.slug", allow_null=True, default=None)
    completed = serializers.BooleanField(source="is_done")


class GlossaryTermSerializer(serializers.ModelSerializer):
    aliases = serializers.ListField(child=serializers.CharField())
    sources = SourceSerializer(many=True)

    class Meta:
        model = GlossaryTerm
        fields = ["slug", "term", "aliases", "short", "long", "sources"]


class QuizChoiceSerializer(serializers.ModelSerializer):
    class Meta:
        model = Choice
        fields = ["id", "text"]


class QuizQuestionSerializer(serializers.ModelSerializer):
    choices = QuizChoiceSerializer(many=True)

    class Meta:
        model = Question
        fields = ["id", "order", "kind", "prompt", "choices"]


class QuizSerializer(serializers.Serializer):
    """A quiz to answer: questions and choices, never which choices are correct."""

    slug = serializers.CharField()
    title = serializers.CharField()
    pass_threshold = serializers.DecimalField(max_digits=3, decimal_places=2)
    grading_policy = serializers.CharField()
    questions = QuizQuestionSerializer(many=True)


class AnswerInputSerializer(serializers.Serializer):
    question = serializers.IntegerField(min_value=1)
    choices = serializers.ListField(
        child=serializers.IntegerField(min_value=1), allow_empty=True, max_length=50
    )


class AttemptInputSerializer(serializers.Serializer):
    """``{"answers": [{"question": id, "choices": [id, …]}, …]}`` — never a score."""

    answers = AnswerInputSerializer(many=True, max_length=200)

    def validate_answers(self, value):
        ids = [a["question"] for a in value]
        if len(ids) != len(set(ids)):
            raise serializers.ValidationError("Each question may be answered once.")
        return {a["question"]: a["choices"] for a in value}


class ReviewedChoiceSerializer(serializers.ModelSerializer):
    class Meta:
        model = Choice
        fields = ["id", "text", "is_correct", "explanation"]


class ReviewSerializer(serializers.Serializer):
    question = serializers.IntegerField(source="question.id")
    prompt = serializers.CharField(source="question.prompt")
    kind = serializers.CharField(source="question.kind")
    chosen = serializers.ListField(child=serializers.IntegerField())
    correct = serializers.BooleanField()
    explanation = serializers.CharField(source="question.explanation")
    choices = ReviewedChoiceSerializer(source="question.choices.all", many=True)


class AttemptSerializer(serializers.Serializer):
    """A graded attempt; with ``review`` it explains every choice of every question."""

    id = serializers.IntegerField()
    quiz = serializers.CharField(source="quiz.slug")
    score = serializers.DecimalField(
        max_digits=5, decimal_places=4, help_text="Fraction of questions fully right [0–1]."
    )
    correct_count = serializers.IntegerField()
    question_count = serializers.IntegerField()
    passed = serializers.BooleanField()
    created_at = serializers.DateTimeField()


class AttemptResultSerializer(AttemptSerializer):
    review = ReviewSerializer(many=True)


class StillNeededSerializer(serializers.Serializer):
    lessons = serializers.ListField(child=serializers.CharField(), help_text="Lesson slugs.")
    quiz = serializers.CharField(allow_null=True, help_text="Quiz slug, if not passed yet.")
    scenarios = serializers.ListField(child=serializers.CharField(), help_text="Scenario slugs.")
    complete = serializers.BooleanField()

    def to_representation(self, needs):
        return {
            "lessons": [lesson.slug for lesson in needs.lessons],
            "quiz": needs.quiz.slug if needs.quiz else None,
            "scenarios": [s.slug for s in needs.scenarios],
            "complete": needs.complete,
        }


class ProgressSerializer(serializers.ModelSerializer):
    course = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    course_title = serializers.CharField(source="course.title", read_only=True)
    resume_lesson = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    enrolled_at = serializers.DateTimeField(source="created_at", read_only=True)
    still_needed = serializers.SerializerMethodField()

    class Meta:
        model = Enrollment
        fields = [
            "course",
            "course_title",
            "enrolled_at",
            "lessons_done",
            "lessons_total",
            "percent",
            "last_activity_at",
            "resume_lesson",
            "still_needed",
        ]
        read_only_fields = fields

    @extend_schema_field(StillNeededSerializer)
    def get_still_needed(self, enrollment):
        return StillNeededSerializer(self.context["needs"][enrollment.course_id]).data
