"""Grading properties over arbitrary answer sheets (hypothesis), checked against the key."""

from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from courses.models import Question
from courses.services.quizzes import quiz_attempt_submit

pytestmark = pytest.mark.django_db


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_score_is_the_share_of_exactly_right_questions(user, quiz, data):
    questions = list(quiz.questions.prefetch_related("choices").order_by("order"))
    answers = {}
    for question in questions:
        ids = [c.id for c in question.choices.all()]
        if question.kind == Question.Kind.SINGLE:
            picked = data.draw(st.lists(st.sampled_from(ids), max_size=1, unique=True))
        else:
            picked = data.draw(st.lists(st.sampled_from(ids), unique=True))
        if data.draw(st.booleans()):  # sometimes leave a question out entirely
            answers[question.id] = picked

    attempt = quiz_attempt_submit(learner=user, quiz=quiz, answers=answers)

    key = {q.id: {c.id for c in q.choices.all() if c.is_correct} for q in questions}
    right = sum(set(answers.get(q.id, [])) == key[q.id] for q in questions)
    assert attempt.correct_count == right
    assert attempt.question_count == len(questions)
    assert attempt.score == (Decimal(right) / len(questions)).quantize(Decimal("0.0001"))
    assert attempt.passed == (right / len(questions) >= float(quiz.pass_threshold))
    assert 0 <= attempt.score <= 1
