"""Server-side grading: single and multiple answers, thresholds, and grading policies."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from courses.models import Enrollment, Question, Quiz, QuizAttempt
from courses.selectors.progress import counting_attempts, requirements_for
from courses.services.quizzes import quiz_attempt_submit
from tests.courses.conftest import right_answers, wrong_answers

pytestmark = pytest.mark.django_db


def test_all_right_scores_one_and_passes(user, quiz):
    attempt = quiz_attempt_submit(learner=user, quiz=quiz, answers=right_answers(quiz))
    assert (attempt.correct_count, attempt.question_count) == (3, 3)
    assert attempt.score == Decimal("1") and attempt.passed
    assert [a["correct"] for a in attempt.answers] == [True, True, True]


def test_all_wrong_scores_zero(user, quiz):
    attempt = quiz_attempt_submit(learner=user, quiz=quiz, answers=wrong_answers(quiz))
    assert attempt.score == 0 and not attempt.passed


def test_multiple_answer_needs_exactly_the_correct_set(user, quiz):
    multiple = quiz.questions.get(kind=Question.Kind.MULTIPLE)
    correct = [c.id for c in multiple.choices.all() if c.is_correct]
    wrong = [c.id for c in multiple.choices.all() if not c.is_correct]
    answers = right_answers(quiz)
    for chosen, expected in [
        (correct, True),
        (correct[:1], False),
        (correct + wrong, False),
        ([], False),
    ]:
        answers[multiple.id] = chosen
        attempt = quiz_attempt_submit(learner=user, quiz=quiz, answers=answers)
        graded = next(a for a in attempt.answers if a["question"] == multiple.id)
        assert graded["correct"] is expected, chosen


def test_unanswered_questions_count_as_wrong(user, quiz):
    first = quiz.questions.order_by("order").first()
    attempt = quiz_attempt_submit(
        learner=user, quiz=quiz, answers={first.id: right_answers(quiz)[first.id]}
    )
    assert (attempt.correct_count, attempt.question_count) == (1, 3)
    assert attempt.score == Decimal("0.3333")


@pytest.mark.parametrize(
    "threshold, right, passed",
    [
        ("0.60", 2, True),  # 2/3 = 0.667 ≥ 0.60
        ("0.67", 2, False),  # 2/3 < 0.67, though the rounded score 0.6667 is close
        ("0.66", 2, True),
        ("1.00", 2, False),
        ("1.00", 3, True),
        ("0.00", 0, True),
    ],
)
def test_pass_threshold_is_compared_exactly(user, quiz, threshold, right, passed):
    Quiz.objects.filter(pk=quiz.pk).update(pass_threshold=Decimal(threshold))
    quiz.refresh_from_db()
    answers, wrong = right_answers(quiz), wrong_answers(quiz)
    for question_id in list(answers)[right:]:
        answers[question_id] = wrong[question_id]
    attempt = quiz_attempt_submit(learner=user, quiz=quiz, answers=answers)
    assert attempt.correct_count == right
    assert attempt.passed is passed


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda answers, quiz: answers.update({999999: []}), "not part of this quiz"),
        (
            lambda answers, quiz: answers.update(
                {quiz.questions.first().id: [quiz.questions.last().choices.first().id]}
            ),
            "do not belong",
        ),
        (
            lambda answers, quiz: answers.update(
                {
                    quiz.questions.filter(kind="single").first().id: [
                        c.id for c in quiz.questions.filter(kind="single").first().choices.all()
                    ]
                }
            ),
            "single answer",
        ),
    ],
)
def test_invalid_answers_are_rejected_and_nothing_is_stored(user, quiz, mutate, message):
    answers = right_answers(quiz)
    mutate(answers, quiz)
    with pytest.raises(ValidationError, match=message) as excinfo:
        quiz_attempt_submit(learner=user, quiz=quiz, answers=answers)
    assert "answers" in excinfo.value.message_dict
    assert not QuizAttempt.objects.exists()
    assert not Enrollment.objects.exists()


def test_submitting_enrolls_and_records_activity(user, quiz):
    now = timezone.now()
    quiz_attempt_submit(learner=user, quiz=quiz, answers={}, now=now)
    enrollment = Enrollment.objects.get(learner=user, course=quiz.course)
    assert enrollment.last_activity_at == now


def _attempt(user, quiz, right: int, when):
    answers, wrong = right_answers(quiz), wrong_answers(quiz)
    for question_id in list(answers)[right:]:
        answers[question_id] = wrong[question_id]
    return quiz_attempt_submit(learner=user, quiz=quiz, answers=answers, now=when)


def test_highest_policy_keeps_the_best_attempt(user, quiz, course):
    start = timezone.now()
    best = _attempt(user, quiz, 3, start)
    _attempt(user, quiz, 1, start + timedelta(minutes=5))
    assert counting_attempts(user=user, quizzes=[quiz])[quiz.id] == best
    needs = requirements_for(user=user, courses=[course])[course.id]
    assert needs.quiz is None  # passed once, and the best attempt counts


def test_latest_policy_keeps_the_newest_attempt(user, quiz, course):
    Quiz.objects.filter(pk=quiz.pk).update(grading_policy=Quiz.GradingPolicy.LATEST)
    quiz.refresh_from_db()
    start = timezone.now()
    _attempt(user, quiz, 3, start)
    latest = _attempt(user, quiz, 1, start + timedelta(minutes=5))
    assert counting_attempts(user=user, quizzes=[quiz])[quiz.id] == latest
    needs = requirements_for(user=user, courses=[course])[course.id]
    assert needs.quiz == quiz and needs.quiz_attempt == latest


def test_attempts_of_other_learners_do_not_count(user, other_user, quiz):
    _attempt(other_user, quiz, 3, timezone.now())
    assert counting_attempts(user=user, quizzes=[quiz]) == {}
