"""Progress models: enrollments, completed lessons and immutable quiz attempts."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from config.models import TimeStampedModel
from courses.models.curriculum import Course, Lesson, Quiz


class Enrollment(TimeStampedModel):
    """A learner following a course, with denormalised progress kept current by the services.

    ``lessons_done`` / ``lessons_total`` count *published* lessons; ``percent`` is their ratio
    rounded down [0–100]. ``resume_lesson`` is the first published lesson not yet completed
    (``None`` once every lesson is done). ``created_at`` is the moment of enrollment.
    """

    learner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="enrollments"
    )
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="enrollments")
    lessons_done = models.PositiveIntegerField(default=0)
    lessons_total = models.PositiveIntegerField(default=0)
    percent = models.PositiveSmallIntegerField(default=0)
    last_activity_at = models.DateTimeField(null=True, blank=True)
    resume_lesson = models.ForeignKey(
        Lesson, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-last_activity_at", "-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["learner", "course"], name="enrollment_unique_learner_course"
            ),
            models.CheckConstraint(condition=Q(percent__lte=100), name="enrollment_percent_le_100"),
            models.CheckConstraint(
                condition=Q(lessons_done__lte=models.F("lessons_total")),
                name="enrollment_done_le_total",
            ),
        ]
        indexes = [
            # The dashboard: a learner's enrollments, most recently active first.
            models.Index(fields=["learner", "-last_activity_at"], name="enrollment_dashboard_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.learner} → {self.course}"


class LessonProgress(models.Model):
    """One row per lesson a learner has completed; completing it again changes nothing."""

    learner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="lesson_progress"
    )
    lesson = models.ForeignKey(Lesson, on_delete=models.CASCADE, related_name="progress")
    completed_at = models.DateTimeField()

    class Meta:
        verbose_name_plural = "lesson progress"
        constraints = [
            models.UniqueConstraint(
                fields=["learner", "lesson"], name="lessonprogress_unique_learner_lesson"
            ),
        ]
        indexes = [
            # The streak: a learner's completions over the last year, by time.
            models.Index(fields=["learner", "completed_at"], name="lessonprogress_streak_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.learner} ✓ {self.lesson}"


class QuizAttempt(models.Model):
    """One graded submission of a quiz. Immutable: a new attempt is a new row.

    ``answers`` is the graded snapshot ``[{"question": id, "choices": [ids], "correct": bool}]``
    in question order; ``score`` is the fraction of questions answered fully right [0–1].
    """

    learner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="quiz_attempts"
    )
    quiz = models.ForeignKey(Quiz, on_delete=models.CASCADE, related_name="attempts")
    answers = models.JSONField()
    correct_count = models.PositiveSmallIntegerField()
    question_count = models.PositiveSmallIntegerField()
    score = models.DecimalField(max_digits=5, decimal_places=4)
    passed = models.BooleanField()
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(score__gte=0) & Q(score__lte=1), name="quizattempt_score_fraction"
            ),
            models.CheckConstraint(
                condition=Q(correct_count__lte=models.F("question_count")),
                name="quizattempt_correct_le_questions",
            ),
        ]
        indexes = [
            # The counting attempt and the streak: a learner's attempts at a quiz, newest first.
            models.Index(
                fields=["learner", "quiz", "-created_at"], name="quizattempt_learner_quiz_idx"
            ),
            # The streak: a learner's attempts over the last year, by time.
            models.Index(fields=["learner", "created_at"], name="quizattempt_streak_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.learner} · {self.quiz} · {self.score}"

    def save(self, *args, **kwargs):
        # An invariant, not workflow: a graded attempt is a historical fact and never rewritten.
        if self.pk is not None and not self._state.adding:
            raise ValueError("Quiz attempts are immutable; submit a new attempt instead.")
        super().save(*args, **kwargs)
