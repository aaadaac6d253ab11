"""Learner pages through the test client: readable anonymously, progress when logged in."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from courses.models import Course, Enrollment, LessonProgress, QuizAttempt
from courses.services.progress import enrollment_create, lesson_complete
from courses.services.quizzes import quiz_attempt_submit
from tests.courses.conftest import right_answers, wrong_answers
from tests.courses.factories import CourseFactory, LessonFactory

pytestmark = pytest.mark.django_db


def test_catalogue_welcomes_anonymous_visitors(client, curriculum):
    response = client.get(reverse("courses:catalogue"))
    body = response.content.decode()
    assert response.status_code == 200
    assert "Create a free account" in body
    assert "Demo course" in body and "Second course" in body
    assert "2 lessons · about 12 min" in body  # the draft lesson is not counted


def test_catalogue_shows_progress_for_enrolled_learners(client, user, lessons):
    lesson_complete(learner=user, lesson=lessons[0])
    client.force_login(user)
    body = client.get(reverse("courses:catalogue")).content.decode()
    assert '<progress max="100" value="50"' in body


def test_course_page_lists_lessons_with_done_marks_and_needs(client, user, course, lessons):
    lesson_complete(learner=user, lesson=lessons[0])
    client.force_login(user)
    body = client.get(reverse("courses:course_detail", args=[course.slug])).content.decode()
    assert body.count('class="done"') == 1
    assert "Draft lesson" not in body
    assert "What you still need" in body and "1 lesson to read" in body
    assert "Resume: Second lesson" in body


def test_enroll_button(client, user, course):
    client.force_login(user)
    response = client.post(reverse("courses:course_enroll", args=[course.slug]))
    assert response.status_code == 302
    assert Enrollment.objects.filter(learner=user, course=course).exists()


def test_enroll_needs_login_and_post(client, user, course):
    response = client.post(reverse("courses:course_enroll", args=[course.slug]))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    client.force_login(user)
    assert client.get(reverse("courses:course_enroll", args=[course.slug])).status_code == 405


def test_lesson_page_has_glossary_tooltips_recall_recap_sources_and_pager(client, course):
    url = reverse("courses:lesson_detail", args=[course.slug, "first-lesson"])
    body = client.get(url).content.decode()
    assert (
        '<a class="glossary" href="/glossary/#p99" title="The latency below which 99 % of' in body
    )
    assert "<details>" in body and "What does p99 measure?" in body
    assert "Recap" in body and "Averages hide the tail." in body
    assert 'href="https://www.rfc-editor.org/rfc/rfc9110"' in body
    assert "About 5 min read" in body
    assert 'rel="next"' in body and 'rel="prev"' not in body
    assert "Log in</a> to mark lessons complete" in body


def test_mark_complete_then_continue(client, user, course, lessons):
    client.force_login(user)
    url = reverse("courses:lesson_complete", args=[course.slug, lessons[0].slug])
    response = client.post(url)
    assert response["Location"] == reverse(
        "courses:lesson_detail", args=[course.slug, lessons[1].slug]
    )
    client.post(url)  # twice: harmless
    assert LessonProgress.objects.filter(learner=user).count() == 1
    body = client.get(
        reverse("courses:lesson_detail", args=[course.slug, lessons[0].slug])
    ).content.decode()
    assert "You completed this lesson" in body


def test_quiz_grades_without_javascript_and_explains_every_choice(client, user, course, quiz):
    client.force_login(user)
    url = reverse("courses:quiz", args=[course.slug])
    form = client.get(url).content.decode()
    assert form.count('type="radio"') == 4 and form.count('type="checkbox"') == 3
    assert "is_correct" not in form and "That is the average" not in form  # nothing leaks

    answers = right_answers(quiz)
    post = {f"question-{qid}": [str(c) for c in cids] for qid, cids in answers.items()}
    post["score"] = "0"  # a client-sent score is ignored
    response = client.post(url, post)
    attempt = QuizAttempt.objects.get(learner=user)
    assert response["Location"] == reverse("courses:attempt_detail", args=[course.slug, attempt.id])
    assert attempt.passed and attempt.correct_count == 3

    body = client.get(response["Location"]).content.decode()
    assert "3 of 3 right" in body and "Passed" in body
    explanations = [c.explanation for q in quiz.questions.all() for c in q.choices.all()]
    assert all(e in body for e in explanations)


def test_quiz_rejects_bad_input_with_400(client, user, course, quiz):
    client.force_login(user)
    question = quiz.questions.first()
    response = client.post(
        reverse("courses:quiz", args=[course.slug]), {f"question-{question.id}": "not-a-number"}
    )
    assert response.status_code == 400
    assert b"numeric" in response.content
    assert not QuizAttempt.objects.exists()


def test_another_learners_attempt_is_404(client, user, other_user, course, quiz):
    attempt = quiz_attempt_submit(learner=other_user, quiz=quiz, answers=wrong_answers(quiz))
    client.force_login(user)
    url = reverse("courses:attempt_detail", args=[course.slug, attempt.id])
    assert client.get(url).status_code == 404


def test_dashboard_shows_progress_resume_and_streak(client, user, course, lessons):
    lesson_complete(learner=user, lesson=lessons[0])
    client.force_login(user)
    body = client.get(reverse("courses:dashboard")).content.decode()
    assert re.search(r'<progress max="100" value="50"', body)
    assert "Resume" in body and lessons[1].title in body
    assert re.search(r'data-testid="streak">1 day<', body)


def test_dashboard_needs_login(client):
    response = client.get(reverse("courses:dashboard"))
    assert response.status_code == 302


def test_dashboard_query_count_does_not_grow_with_enrollments(
    client, user, curriculum, django_assert_max_num_queries
):

    client.force_login(user)
    for course in Course.objects.all():
        enrollment_create(learner=user, course=course)
    with django_assert_max_num_queries(14) as few:
        client.get(reverse("courses:dashboard"))
    for _ in range(4):
        lesson = LessonFactory()
        enrollment_create(learner=user, course=lesson.course)
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(reverse("courses:dashboard"))


def test_glossary_search_and_anchors(client, curriculum):
    body = client.get(reverse("courses:glossary")).content.decode()
    assert 'id="p99"' in body and 'id="load-balancer"' in body
    body = client.get(reverse("courses:glossary"), {"q": "lazy"}).content.decode()
    assert 'id="cache-aside"' in body and 'id="p99"' not in body
    assert "1 term" in body


def test_unknown_course_and_draft_lesson_are_404(client, curriculum):
    assert client.get(reverse("courses:course_detail", args=["nope"])).status_code == 404
    url = reverse("courses:lesson_detail", args=["demo-course", "draft-lesson"])
    assert client.get(url).status_code == 404


@pytest.mark.parametrize("logged_in", [False, True])
def test_page_query_counts_do_not_grow_with_the_curriculum(client, user, curriculum, logged_in):
    """Catalogue, course and lesson pages: the same number of queries for 2 or 8 courses."""
    if logged_in:
        client.force_login(user)
    urls = [
        reverse("courses:catalogue"),
        reverse("courses:course_detail", args=["demo-course"]),
        reverse("courses:lesson_detail", args=["demo-course", "first-lesson"]),
    ]

    def counts() -> list[int]:
        result = []
        for url in urls:
            with CaptureQueriesContext(connection) as queries:
                assert client.get(url).status_code == 200
            result.append(len(queries))
        return result

    counts()  # warms the glossary index cache
    before = counts()
    for _ in range(6):  # more courses in the catalogue, each enrolled and started
        course = CourseFactory()
        lessons = LessonFactory.create_batch(4, course=course)
        enrollment_create(learner=user, course=course)
        lesson_complete(learner=user, lesson=lessons[0])
    LessonFactory.create_batch(5, course=Course.objects.get(slug="demo-course"), order=9)
    assert counts() == before
    assert max(before) <= 14, before


def test_scenarios_link_to_their_pages(client, user, curriculum, scenario):
    client.force_login(user)
    scenario_url = reverse("simulations:scenario_detail", args=[scenario.slug])
    course_page = client.get(reverse("courses:course_detail", args=["second-course"]))
    assert f'href="{scenario_url}"' in course_page.content.decode()  # what you still need
    lesson_page = client.get(
        reverse("courses:lesson_detail", args=["second-course", "only-lesson"])
    )
    assert f'Try it: <a href="{scenario_url}"' in lesson_page.content.decode()
