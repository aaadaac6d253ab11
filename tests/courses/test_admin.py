"""The admin as an authoring tool, driven through Django's test client as a superuser."""

import pytest
from django.urls import reverse

from courses.models import Choice, Course, Lesson, Question

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, django_user_model):
    admin = django_user_model.objects.create_superuser("boss", "boss@example.com", "pw-boss-1")
    client.force_login(admin)
    return client


@pytest.mark.parametrize(
    "model",
    [
        "stage",
        "level",
        "course",
        "lesson",
        "quiz",
        "question",
        "glossaryterm",
        "enrollment",
        "lessonprogress",
        "quizattempt",
    ],
)
def test_changelists_render_with_search_and_filters(admin_client, curriculum, model):
    url = reverse(f"admin:courses_{model}_changelist")
    assert admin_client.get(url).status_code == 200
    assert admin_client.get(url, {"q": "demo"}).status_code == 200


def test_course_change_page_has_lesson_inline(admin_client, course):
    response = admin_client.get(reverse("admin:courses_course_change", args=[course.pk]))
    assert response.status_code == 200
    assert b"First lesson" in response.content and b"Draft lesson" in response.content


def test_draft_lesson_preview_uses_the_learner_template(admin_client, course):
    draft = course.lessons.get(slug="draft-lesson")
    response = admin_client.get(reverse("admin:courses_lesson_preview", args=[draft.pk]))
    assert response.status_code == 200
    assert "courses/lesson_detail.html" in [t.name for t in response.templates]
    assert b"Preview" in response.content and b"Not yet published." in response.content
    # Learners cannot see it yet.
    learner_url = reverse("courses:lesson_detail", args=[course.slug, draft.slug])
    admin_client.logout()
    assert admin_client.get(learner_url).status_code == 404


def test_preview_needs_staff(client, user, course):
    client.force_login(user)
    draft = course.lessons.get(slug="draft-lesson")
    response = client.get(reverse("admin:courses_lesson_preview", args=[draft.pk]))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_publish_and_unpublish_actions(admin_client, course):
    draft = course.lessons.get(slug="draft-lesson")
    url = reverse("admin:courses_lesson_changelist")
    admin_client.post(url, {"action": "publish", "_selected_action": [draft.pk]})
    assert Lesson.objects.get(pk=draft.pk).status == "published"
    admin_client.post(url, {"action": "unpublish", "_selected_action": [draft.pk]})
    assert Lesson.objects.get(pk=draft.pk).status == "draft"
    course_url = reverse("admin:courses_course_changelist")
    admin_client.post(course_url, {"action": "unpublish", "_selected_action": [course.pk]})
    assert Course.objects.get(pk=course.pk).status == "draft"


def _question_post(question: Question, kind: str, correct: list[bool]) -> dict:
    """The question change form as the browser would post it, with choices as an inline."""
    choices = list(question.choices.all())
    data = {
        "quiz": question.quiz_id,
        "order": question.order,
        "prompt": question.prompt,
        "kind": kind,
        "explanation": question.explanation,
        "choices-TOTAL_FORMS": len(choices),
        "choices-INITIAL_FORMS": len(choices),
        "choices-MIN_NUM_FORMS": 2,
        "choices-MAX_NUM_FORMS": 1000,
    }
    for i, (choice, is_correct) in enumerate(zip(choices, correct, strict=True)):
        data |= {
            f"choices-{i}-id": choice.pk,
            f"choices-{i}-question": question.pk,
            f"choices-{i}-order": choice.order,
            f"choices-{i}-text": choice.text,
            f"choices-{i}-explanation": choice.explanation,
        }
        if is_correct:
            data[f"choices-{i}-is_correct"] = "on"
    return data


def test_question_without_a_correct_choice_is_blocked(admin_client, quiz):
    question = quiz.questions.filter(kind="single").first()
    url = reverse("admin:courses_question_change", args=[question.pk])
    response = admin_client.post(url, _question_post(question, "single", [False, False]))
    assert response.status_code == 200  # the form is shown again, with the error
    assert b"at least one correct choice" in response.content
    assert question.choices.filter(is_correct=True).count() == 1  # unchanged


def test_single_answer_question_with_two_correct_choices_is_blocked(admin_client, quiz):
    question = quiz.questions.filter(kind="single").first()
    url = reverse("admin:courses_question_change", args=[question.pk])
    response = admin_client.post(url, _question_post(question, "single", [True, True]))
    assert b"exactly one correct choice" in response.content
    assert question.choices.filter(is_correct=True).count() == 1


def test_switching_to_multiple_allows_two_correct_choices(admin_client, quiz):
    question = quiz.questions.filter(kind="single").first()
    url = reverse("admin:courses_question_change", args=[question.pk])
    response = admin_client.post(url, _question_post(question, "multiple", [True, True]))
    assert response.status_code == 302
    assert Choice.objects.filter(question=question, is_correct=True).count() == 2


def test_quiz_page_cannot_add_choice_less_questions_or_break_a_kind(admin_client, quiz):
    url = reverse("admin:courses_quiz_change", args=[quiz.pk])
    page = admin_client.get(url)
    assert page.status_code == 200
    assert page.context["inline_admin_formsets"][0].has_add_permission is False
    questions = list(quiz.questions.order_by("order", "id"))
    data = {
        "course": quiz.course_id,
        "slug": quiz.slug,
        "title": quiz.title,
        "pass_threshold": "0.60",
        "grading_policy": quiz.grading_policy,
        "questions-TOTAL_FORMS": len(questions),
        "questions-INITIAL_FORMS": len(questions),
        "questions-MIN_NUM_FORMS": 0,
        "questions-MAX_NUM_FORMS": 1000,
    }
    for i, q in enumerate(questions):
        data |= {
            f"questions-{i}-id": q.pk,
            f"questions-{i}-quiz": quiz.pk,
            f"questions-{i}-order": q.order,
            f"questions-{i}-prompt": q.prompt,
            f"questions-{i}-kind": q.kind,
            f"questions-{i}-explanation": q.explanation,
        }
    multiple = next(i for i, q in enumerate(questions) if q.kind == "multiple")
    data[f"questions-{multiple}-kind"] = "single"  # it has two correct choices
    response = admin_client.post(url, data)
    assert response.status_code == 200 and b"exactly one correct choice" in response.content
    assert Question.objects.get(pk=questions[multiple].pk).kind == "multiple"
    data[f"questions-{multiple}-kind"] = "multiple"
    assert admin_client.post(url, data).status_code == 302  # unchanged kinds save fine
