"""Quiz attempts: validated, graded on the server and stored immutably."""

from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from config.errors import InvalidStateError, NotFoundError
from courses.models import PublicationStatus, Question, Quiz, QuizAttempt
from courses.services.progress import enrollment_create, enrollment_touch

SCORE_PLACES = Decimal("0.0001")


def _validated_answers(
    questions: list[Question], answers: Mapping[int, Iterable[int]]
) -> dict[int, set[int]]:
    by_id = {q.id: q for q in questions}
    unknown = sorted(set(answers) - set(by_id))
    if unknown:
        raise ValidationError({"answers": f"Questions {unknown} are not part of this quiz."})
    chosen: dict[int, set[int]] = {}
    for question_id, choice_ids in answers.items():
        question = by_id[question_id]
        ids = set(choice_ids)
        valid = {c.id for c in question.choices.all()}
        if ids - valid:
            foreign = sorted(ids - valid)
            raise ValidationError(
                {"answers": f"Choices {foreign} do not belong to question {question_id}."}
            )
        if question.kind == Question.Kind.SINGLE and len(ids) > 1:
            raise ValidationError(
                {"answers": f"Question {question_id} takes a single answer; got {len(ids)}."}
            )
        chosen[question_id] = ids
    return chosen


@transaction.atomic
def quiz_attempt_submit(
    *,
    learner: User,
    quiz: Quiz,
    answers: Mapping[int, Iterable[int]],
    now: datetime | None = None,
) -> QuizAttempt:
    """Grade ``answers`` (question id → chosen choice ids) and store a new attempt.

    A question counts as right only when the chosen set equals the set of correct choices
    (no partial credit); unanswered questions count as wrong. ``score`` = right / questions
    [0–1]; ``passed`` = score ≥ the quiz's pass threshold, compared exactly.

    Raises ``ValidationError`` (field ``answers``) for questions or choices that are not part
    of this quiz or several choices on a single-answer question; ``NotFoundError`` for a
    quiz whose course is not published; ``InvalidStateError`` for a quiz without questions.
    The learner is enrolled in the course if they were not already.
    """
    if quiz.course.status != PublicationStatus.PUBLISHED:
        raise NotFoundError(f"No published quiz {quiz.slug!r}.", field="quiz")
    questions = list(quiz.questions.prefetch_related("choices").order_by("order", "id"))
    if not questions:
        raise InvalidStateError("This quiz has no questions yet.", field="quiz")
    chosen = _validated_answers(questions, answers)
    graded = []
    for question in questions:
        correct_ids = {c.id for c in question.choices.all() if c.is_correct}
        picked = chosen.get(question.id, set())
        graded.append(
            {"question": question.id, "choices": sorted(picked), "correct": picked == correct_ids}
        )
    right = sum(g["correct"] for g in graded)
    now = now or timezone.now()
    attempt = QuizAttempt(
        learner=learner,
        quiz=quiz,
        answers=graded,
        correct_count=right,
        question_count=len(questions),
        score=(Decimal(right) / len(questions)).quantize(SCORE_PLACES),
        passed=Decimal(right) >= Decimal(str(quiz.pass_threshold)) * len(questions),
        created_at=now,
    )
    attempt.full_clean()
    attempt.save()
    enrollment, _ = enrollment_create(learner=learner, course=quiz.course, now=now)
    enrollment_touch(enrollment=enrollment, now=now)
    return attempt
