"""Progress reads: the dashboard, "what you still need", quiz status, attempt reviews, streaks."""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from accounts.models import User
from courses.models import Course, Enrollment, Lesson, LessonProgress, Quiz, QuizAttempt

STREAK_WINDOW_DAYS = 400  # longer than any streak we display; bounds the streak query


def passed_scenario_slugs(*, user: User) -> set[str]:
    """Slugs of scenarios the learner has passed, from the scoring app's committed facts."""
    try:
        from scoring.selectors import passed_scenario_slugs as scoring_passed
    except ImportError:
        # The scoring app may not provide its selector yet; until it does no scenario counts
        # as passed, which errs on the side of not issuing certificates.
        return set()
    return set(scoring_passed(user=user))


def counting_attempts(*, user: User, quizzes: list[Quiz]) -> dict[int, QuizAttempt]:
    """The attempt that counts for each quiz under its grading policy (one query).

    ``highest``: the best score (the latest among equals); ``latest``: the newest attempt.
    Quizzes the learner has not attempted are absent from the result.
    """
    policies = {q.id: q.grading_policy for q in quizzes}
    counting: dict[int, QuizAttempt] = {}
    attempts = QuizAttempt.objects.filter(learner=user, quiz_id__in=policies).order_by(
        "created_at", "id"
    )
    for attempt in attempts:  # oldest first, so a later attempt replaces an earlier one
        best = counting.get(attempt.quiz_id)
        if (
            best is None
            or policies[attempt.quiz_id] == Quiz.GradingPolicy.LATEST
            or attempt.score >= best.score
        ):
            counting[attempt.quiz_id] = attempt
    return counting


@dataclass
class Requirements:
    """What stands between a learner and a course's certificate (server-side facts only)."""

    lessons: list[Lesson] = field(default_factory=list)
    quiz: Quiz | None = None  # set when the quiz still has to be passed
    quiz_attempt: QuizAttempt | None = None  # the attempt that counts so far, if any
    scenarios: list = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not (self.lessons or self.quiz or self.scenarios)


def requirements_for(*, user: User, courses: list[Course]) -> dict[int, Requirements]:
    """ "What you still need" for each course: lessons not done, the quiz, scenarios not passed.

    ``courses`` must come from a selector that prefetched ``required_scenarios``; this adds
    five queries however many courses (lessons, completions, quizzes, attempts, and the
    scenarios passed — only when some course requires one).
    """
    course_ids = [c.id for c in courses]
    lessons_by_course: dict[int, list[Lesson]] = defaultdict(list)
    for lesson in (
        Lesson.objects.published().filter(course_id__in=course_ids).order_by("order", "slug")
    ):
        lessons_by_course[lesson.course_id].append(lesson)
    done = set(
        LessonProgress.objects.filter(learner=user, lesson__course_id__in=course_ids).values_list(
            "lesson_id", flat=True
        )
    )
    quizzes = {q.course_id: q for q in Quiz.objects.filter(course_id__in=course_ids)}
    attempts = counting_attempts(user=user, quizzes=list(quizzes.values()))
    passed_slugs = (
        passed_scenario_slugs(user=user)
        if any(c.required_scenarios.all() for c in courses)
        else set()
    )
    result = {}
    for course in courses:
        quiz = quizzes.get(course.id)
        attempt = attempts.get(quiz.id) if quiz else None
        result[course.id] = Requirements(
            lessons=[lesson for lesson in lessons_by_course[course.id] if lesson.id not in done],
            quiz=quiz if quiz and not (attempt and attempt.passed) else None,
            quiz_attempt=attempt,
            scenarios=[s for s in course.required_scenarios.all() if s.slug not in passed_slugs],
        )
    return result


def enrollment_list(*, user: User) -> QuerySet[Enrollment]:
    """The learner's enrollments, most recently active first, with course and resume lesson."""
    return (
        Enrollment.objects.filter(learner=user)
        .select_related("course__stage", "course__level", "resume_lesson")
        .prefetch_related(Prefetch("course__required_scenarios"))
        .order_by("-last_activity_at", "-created_at")
    )


def enrollments_by_course(*, user: User) -> dict[int, Enrollment]:
    """The learner's enrollments keyed by course id (one query; empty for anonymous users)."""
    if user is None or not user.is_authenticated:
        return {}
    return {e.course_id: e for e in Enrollment.objects.filter(learner=user)}


def enrollment_get(*, user: User, course: Course) -> Enrollment | None:
    """The learner's enrollment in ``course``, or ``None`` (anonymous visitors have none)."""
    if user is None or not user.is_authenticated:
        return None
    return Enrollment.objects.filter(learner=user, course=course).first()


@dataclass(frozen=True)
class Streak:
    """Consecutive days with activity, counted in the learner's time zone.

    ``current`` counts back from today, or from yesterday when there is no activity yet today
    (the streak is still alive until the learner's midnight). ``active_today`` says which.
    ``longest`` looks back ``STREAK_WINDOW_DAYS`` days.
    """

    current: int
    longest: int
    active_today: bool


def activity_days(*, user: User, now: datetime | None = None) -> set[date]:
    """Local dates (in ``user.time_zone``) with a completed lesson or a quiz attempt."""
    now = now or timezone.now()
    since = now - timedelta(days=STREAK_WINDOW_DAYS)
    zone = ZoneInfo(user.time_zone)
    stamps = list(
        LessonProgress.objects.filter(learner=user, completed_at__gte=since).values_list(
            "completed_at", flat=True
        )
    )
    stamps += QuizAttempt.objects.filter(learner=user, created_at__gte=since).values_list(
        "created_at", flat=True
    )
    return {stamp.astimezone(zone).date() for stamp in stamps if stamp <= now}


def streak_for(*, user: User, now: datetime | None = None) -> Streak:
    """The learner's streak at ``now`` (pass ``now`` to evaluate at a fixed moment). 2 queries."""
    now = now or timezone.now()
    days = activity_days(user=user, now=now)
    today = now.astimezone(ZoneInfo(user.time_zone)).date()
    active_today = today in days
    day, current = (today if active_today else today - timedelta(days=1)), 0
    while day in days:
        current, day = current + 1, day - timedelta(days=1)
    longest, run, previous = 0, 0, None
    for day in sorted(days):
        run = run + 1 if previous is not None and day - previous == timedelta(days=1) else 1
        longest, previous = max(longest, run), day
    return Streak(current=current, longest=longest, active_today=active_today)


@dataclass(frozen=True)
class QuestionReview:
    """One question of a graded attempt: what was chosen, what was right, and why."""

    question: object
    chosen: set[int]
    correct: bool


def attempt_review(*, attempt: QuizAttempt) -> list[QuestionReview]:
    """Per-question review of an attempt, with every choice and its explanation (2 queries)."""
    questions = {q.id: q for q in attempt.quiz.questions.prefetch_related("choices")}
    reviews = []
    for graded in attempt.answers:
        question = questions.get(graded["question"])
        if question is not None:  # a question deleted since the attempt is left out
            reviews.append(
                QuestionReview(
                    question=question, chosen=set(graded["choices"]), correct=graded["correct"]
                )
            )
    return reviews


def attempt_list(*, user: User, quiz: Quiz) -> QuerySet[QuizAttempt]:
    """The learner's own attempts at ``quiz``, newest first."""
    return QuizAttempt.objects.filter(learner=user, quiz=quiz).select_related("quiz")


def attempt_get(*, user: User, attempt_id: int) -> QuizAttempt | None:
    """One of the learner's own attempts (another learner's attempt is ``None`` → 404)."""
    return (
        QuizAttempt.objects.filter(learner=user, pk=attempt_id)
        .select_related("quiz__course")
        .first()
    )
