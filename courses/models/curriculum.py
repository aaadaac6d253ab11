"""Curriculum models: stages, levels, courses, lessons, quizzes and the glossary.

Every authored object has a stable ``slug`` (or ``code``) so that the files under
``courses/curriculum/`` can be loaded idempotently and exported back.
"""

from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower

from config.models import TimeStampedModel
from courses.validators import validate_sources, validate_string_list


class PublicationStatus(models.TextChoices):
    """Drafts are visible to authors (admin preview) only; learners see published content."""

    DRAFT = "draft", "Draft"
    PUBLISHED = "published", "Published"


class PublishedQuerySet(models.QuerySet):
    def published(self):
        return self.filter(status=PublicationStatus.PUBLISHED)


class Stage(TimeStampedModel):
    """One of the three stages of the curriculum: Request path → Scale and isolate → Operate."""

    slug = models.SlugField(max_length=80, unique=True)
    title = models.CharField(max_length=120)
    order = models.PositiveSmallIntegerField()
    summary = models.TextField(blank=True)

    class Meta:
        ordering = ["order", "slug"]

    def __str__(self) -> str:
        return self.title


class Level(TimeStampedModel):
    """A rung of the A1–C2 ladder (A = foundations, B = working engineer, C = senior)."""

    class Code(models.TextChoices):
        A1 = "A1"
        A2 = "A2"
        B1 = "B1"
        B2 = "B2"
        C1 = "C1"
        C2 = "C2"

    # The codes sort alphabetically in ladder order, so ``ordering = ["code"]`` is the ladder.
    code = models.CharField(max_length=2, choices=Code.choices, unique=True)
    title = models.CharField(max_length=120)
    summary = models.TextField(blank=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} · {self.title}"


class Course(TimeStampedModel):
    """A sequence of lessons ending in a quiz and the scenarios that prove the skill."""

    slug = models.SlugField(max_length=80, unique=True)
    title = models.CharField(max_length=200)
    stage = models.ForeignKey(Stage, on_delete=models.PROTECT, related_name="courses")
    level = models.ForeignKey(Level, on_delete=models.PROTECT, related_name="courses")
    order = models.PositiveSmallIntegerField(help_text="Position within the stage.")
    summary = models.CharField(max_length=300, help_text="One line for the catalogue.")
    description = models.TextField(blank=True, help_text="Markdown.")
    prerequisites = models.ManyToManyField(
        "self",
        symmetrical=False,
        blank=True,
        related_name="unlocks",
        help_text="Courses a learner should finish first (recommended, not enforced).",
    )
    required_scenarios = models.ManyToManyField(
        "simulations.Scenario",
        blank=True,
        related_name="required_by_courses",
        help_text="Scenarios a learner must pass for the certificate.",
    )
    status = models.CharField(
        max_length=10, choices=PublicationStatus.choices, default=PublicationStatus.DRAFT
    )

    objects = PublishedQuerySet.as_manager()

    class Meta:
        ordering = ["stage__order", "order", "slug"]
        indexes = [
            # The catalogue: published courses grouped by stage, in order.
            models.Index(fields=["status", "stage", "order"], name="course_catalogue_idx"),
        ]

    def __str__(self) -> str:
        return self.title


class Lesson(TimeStampedModel):
    """A short Markdown reading with recall prompts and a recap, optionally ending in a scenario."""

    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="lessons")
    slug = models.SlugField(max_length=80)
    title = models.CharField(max_length=200)
    order = models.PositiveSmallIntegerField(help_text="Position within the course.")
    minutes = models.PositiveSmallIntegerField(
        default=5,
        validators=[MinValueValidator(1), MaxValueValidator(120)],
        help_text="Estimated reading time [min].",
    )
    status = models.CharField(
        max_length=10, choices=PublicationStatus.choices, default=PublicationStatus.DRAFT
    )
    body = models.TextField(help_text="Markdown; headings start at ##; no raw HTML.")
    recall_prompts = models.JSONField(
        default=list,
        blank=True,
        validators=[validate_string_list],
        help_text="A list of questions to answer before moving on.",
    )
    recap = models.TextField(blank=True, help_text="Markdown; 3–5 bullet points.")
    sources = models.JSONField(
        default=list,
        blank=True,
        validators=[validate_sources],
        help_text='[{"title": …, "url": …}]',
    )
    scenario = models.ForeignKey(
        "simulations.Scenario",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="lessons",
        help_text="The tiny simulation this lesson ends in.",
    )

    objects = PublishedQuerySet.as_manager()

    class Meta:
        ordering = ["course", "order", "slug"]
        constraints = [
            models.UniqueConstraint(
                fields=["course", "slug"], name="lesson_unique_slug_per_course"
            ),
            models.CheckConstraint(condition=Q(minutes__gte=1), name="lesson_minutes_positive"),
        ]
        # The course page lists a course's lessons in order: served by the unique (course, slug)
        # index's leading column plus a sort of a few dozen rows, so no extra index.

    def __str__(self) -> str:
        return self.title


class Quiz(TimeStampedModel):
    """The check at the end of a course: graded on the server, every answer explained."""

    class GradingPolicy(models.TextChoices):
        HIGHEST = "highest", "Highest attempt counts"
        LATEST = "latest", "Latest attempt counts"

    course = models.OneToOneField(Course, on_delete=models.CASCADE, related_name="quiz")
    slug = models.SlugField(max_length=80, unique=True)
    title = models.CharField(max_length=200)
    pass_threshold = models.DecimalField(
        max_digits=3,
        decimal_places=2,
        default=Decimal("0.70"),
        validators=[MinValueValidator(0), MaxValueValidator(1)],
        help_text="Fraction of questions that must be answered fully right [0–1].",
    )
    grading_policy = models.CharField(
        max_length=10, choices=GradingPolicy.choices, default=GradingPolicy.HIGHEST
    )

    class Meta:
        verbose_name_plural = "quizzes"
        constraints = [
            models.CheckConstraint(
                condition=Q(pass_threshold__gte=0) & Q(pass_threshold__lte=1),
                name="quiz_pass_threshold_fraction",
            ),
        ]

    def __str__(self) -> str:
        return self.title


class Question(TimeStampedModel):
    """One quiz question; ``single`` has exactly one correct choice, ``multiple`` at least one."""

    class Kind(models.TextChoices):
        SINGLE = "single", "Single answer"
        MULTIPLE = "multiple", "Multiple answers"

    quiz = models.ForeignKey(Quiz, on_delete=models.CASCADE, related_name="questions")
    order = models.PositiveSmallIntegerField()
    prompt = models.TextField(help_text="Markdown.")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.SINGLE)
    explanation = models.TextField(blank=True, help_text="Optional overall explanation (Markdown).")

    class Meta:
        ordering = ["quiz", "order", "id"]
        # Not unique on (quiz, order): admins re-number questions in one formset save, and a
        # swap would trip a non-deferrable unique constraint half-way through.

    def __str__(self) -> str:
        return f"Q{self.order}: {self.prompt[:60]}"


class Choice(TimeStampedModel):
    """One answer option, always with an explanation of why it is right or wrong."""

    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="choices")
    order = models.PositiveSmallIntegerField(default=0)
    text = models.TextField(help_text="Markdown (inline).")
    is_correct = models.BooleanField(default=False)
    explanation = models.TextField(help_text="Why this choice is right or wrong (Markdown).")

    class Meta:
        ordering = ["question", "order", "id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(explanation=""), name="choice_explanation_required"
            ),
        ]

    def __str__(self) -> str:
        return self.text[:80]


class GlossaryTerm(TimeStampedModel):
    """A term of the field, auto-linked from lessons wherever it (or an alias) appears."""

    slug = models.SlugField(max_length=80, unique=True)
    term = models.CharField(max_length=120)
    aliases = models.JSONField(
        default=list,
        blank=True,
        validators=[validate_string_list],
        help_text="Other spellings, matched too (case-insensitive, whole words).",
    )
    short = models.CharField(max_length=160, help_text="One sentence, shown in tooltips.")
    long = models.TextField(blank=True, help_text="Markdown: a paragraph or two, with an example.")
    sources = models.JSONField(
        default=list,
        blank=True,
        validators=[validate_sources],
        help_text='[{"title": …, "url": …}]',
    )

    class Meta:
        ordering = [Lower("term")]

    def __str__(self) -> str:
        return self.term
