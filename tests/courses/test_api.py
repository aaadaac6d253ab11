"""The curriculum and progress API: public reads, learner-scoped writes, pinned query counts."""

import pytest
from django.urls import reverse

from courses.models import Course, Enrollment, LessonProgress, QuizAttempt
from courses.services.progress import enrollment_create, lesson_complete
from courses.services.quizzes import quiz_attempt_submit
from tests.courses.conftest import right_answers, wrong_answers
from tests.courses.factories import CourseFactory, GlossaryTermFactory, LessonFactory

pytestmark = pytest.mark.django_db

COURSES = "/api/v1/courses/"


def test_routes_are_where_the_docs_say():
    assert reverse("course-list") == COURSES
    assert reverse("progress-list") == "/api/v1/me/progress/"


def test_stages_levels_and_courses_are_public_and_paginated(api_client, curriculum):
    stages = api_client.get("/api/v1/stages/").json()
    assert [s["slug"] for s in stages["results"]] == ["request-path", "scale-and-isolate"]
    levels = api_client.get("/api/v1/levels/").json()
    assert [lv["code"] for lv in levels["results"]] == ["A1", "A2"]
    courses = api_client.get(COURSES).json()
    assert courses["count"] == 2
    demo = courses["results"][0]
    assert demo["slug"] == "demo-course" and demo["stage"] == "request-path"
    assert [lesson["slug"] for lesson in demo["lessons"]] == ["first-lesson", "second-lesson"]
    assert demo["minutes_total"] == 12


def test_courses_filter_by_stage_and_level(api_client, curriculum):
    assert api_client.get(COURSES, {"level": "A2"}).json()["count"] == 1
    assert api_client.get(COURSES, {"stage": "scale-and-isolate"}).json()["count"] == 0


def test_draft_courses_are_invisible(api_client, curriculum):
    CourseFactory(slug="secret", status="draft")
    assert api_client.get(f"{COURSES}secret/").status_code == 404
    assert "secret" not in str(api_client.get(COURSES).json())


def test_course_list_query_count_does_not_grow(api_client, curriculum, django_assert_num_queries):
    with django_assert_num_queries(3):  # count, courses (+stage, level, quiz), lessons
        api_client.get(COURSES)
    for _ in range(6):
        LessonFactory.create_batch(3, course=CourseFactory())
    with django_assert_num_queries(3):
        response = api_client.get(COURSES)
    assert response.json()["count"] == 8


def test_lesson_detail_has_raw_and_rendered_markdown(api_client, curriculum):
    data = api_client.get(f"{COURSES}demo-course/lessons/first-lesson/").json()
    assert data["body"].startswith("## Latency")
    assert '<a class="glossary" href="/glossary/#p99"' in data["body_html"]
    assert data["recall_prompts"] == ["What does p99 measure?"]
    assert data["previous"] is None and data["next"] == "second-lesson"
    assert data["completed"] is False
    assert api_client.get(f"{COURSES}demo-course/lessons/draft-lesson/").status_code == 404


def test_glossary_is_paginated_and_searchable(api_client, curriculum):
    for i in range(25):
        GlossaryTermFactory(term=f"zz-term-{i:02d}")
    page = api_client.get("/api/v1/glossary/").json()
    assert page["count"] == 28 and len(page["results"]) == 20 and page["next"]
    found = api_client.get("/api/v1/glossary/", {"q": "tail latency"}).json()
    assert [t["slug"] for t in found["results"]] == ["p99"]
    assert api_client.get("/api/v1/glossary/p99/").json()["aliases"] == [
        "99th percentile",
        "tail latency",
    ]


def test_progress_endpoints_need_authentication(api_client, curriculum):
    assert api_client.get("/api/v1/me/progress/").status_code in (401, 403)
    assert api_client.post(f"{COURSES}demo-course/enroll/").status_code in (401, 403)
    assert api_client.post(
        f"{COURSES}demo-course/quiz/attempts/", {"answers": []}, format="json"
    ).status_code in (401, 403)


def test_enroll_is_idempotent(auth_client, user, curriculum):
    first = auth_client.post(f"{COURSES}demo-course/enroll/")
    again = auth_client.post(f"{COURSES}demo-course/enroll/")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["resume_lesson"] == "first-lesson"
    assert Enrollment.objects.filter(learner=user).count() == 1


def test_complete_a_lesson_returns_progress(auth_client, user, curriculum):
    url = f"{COURSES}demo-course/lessons/first-lesson/complete/"
    data = auth_client.post(url).json()
    assert (data["lessons_done"], data["lessons_total"], data["percent"]) == (1, 2, 50)
    assert data["still_needed"]["lessons"] == ["second-lesson"]
    assert data["still_needed"]["quiz"] == "demo-quiz"
    assert auth_client.post(url).json()["lessons_done"] == 1  # twice: harmless
    assert LessonProgress.objects.filter(learner=user).count() == 1


def test_quiz_hides_correct_answers(auth_client, curriculum):
    data = auth_client.get(f"{COURSES}demo-course/quiz/").json()
    assert len(data["questions"]) == 3
    text = str(data)
    assert "is_correct" not in text and "explanation" not in text


def test_submit_attempt_grades_and_explains(auth_client, user, quiz):
    answers = [{"question": q, "choices": c} for q, c in right_answers(quiz).items()]
    response = auth_client.post(
        f"{COURSES}demo-course/quiz/attempts/",
        {"answers": answers, "score": 0, "passed": False},
        format="json",
    )
    assert response.status_code == 201
    data = response.json()
    assert data["passed"] is True and data["score"] == "1.0000"
    assert data["correct_count"] == data["question_count"] == 3
    explained = [c["explanation"] for r in data["review"] for c in r["choices"]]
    assert len(explained) == 7 and all(explained)
    listing = auth_client.get(f"{COURSES}demo-course/quiz/attempts/").json()
    assert listing["count"] == 1 and listing["results"][0]["id"] == data["id"]


@pytest.mark.parametrize(
    "payload, field",
    [
        ({}, "answers"),
        ({"answers": "nope"}, "answers"),
        ({"answers": [{"question": "x", "choices": []}]}, "answers"),
        ({"answers": [{"question": 999999, "choices": []}]}, "answers"),
    ],
)
def test_bad_attempts_are_400_naming_the_field(auth_client, quiz, payload, field):
    response = auth_client.post(f"{COURSES}demo-course/quiz/attempts/", payload, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not QuizAttempt.objects.exists()


def test_duplicate_and_wrong_choice_answers_are_400(auth_client, quiz):
    q1, q2 = list(quiz.questions.order_by("order"))[:2]
    dup = {"answers": [{"question": q1.id, "choices": []}, {"question": q1.id, "choices": []}]}
    assert (
        auth_client.post(f"{COURSES}demo-course/quiz/attempts/", dup, format="json").status_code
        == 400
    )
    foreign = {"answers": [{"question": q1.id, "choices": [q2.choices.first().id]}]}
    response = auth_client.post(f"{COURSES}demo-course/quiz/attempts/", foreign, format="json")
    assert response.status_code == 400 and "answers" in response.json()


def test_progress_is_scoped_to_the_learner(auth_client, user, other_user, lessons, quiz):
    lesson_complete(learner=other_user, lesson=lessons[0])
    assert auth_client.get("/api/v1/me/progress/").json()["count"] == 0
    assert auth_client.get("/api/v1/me/progress/demo-course/").status_code == 404
    enrollment_create(learner=user, course=lessons[0].course)
    mine = auth_client.get("/api/v1/me/progress/demo-course/").json()
    assert mine["lessons_done"] == 0  # the other learner's completion is not mine

    quiz_attempt_submit(learner=other_user, quiz=quiz, answers=wrong_answers(quiz))
    assert auth_client.get(f"{COURSES}demo-course/quiz/attempts/").json()["count"] == 0


def test_progress_list_query_count_does_not_grow(
    auth_client, user, curriculum, django_assert_num_queries
):

    for course in Course.objects.all():
        enrollment_create(learner=user, course=course)
    # count, enrollments (+course, stage, level, resume), required scenarios, then
    # "what you still need": lessons, completions, quizzes, attempts, passed scenarios.
    with django_assert_num_queries(8):
        auth_client.get("/api/v1/me/progress/")
    for _ in range(5):
        enrollment_create(learner=user, course=LessonFactory().course)
    with django_assert_num_queries(8):
        response = auth_client.get("/api/v1/me/progress/")
    assert response.json()["count"] == 7


def test_schema_documents_the_endpoints(api_client):
    schema = api_client.get("/api/schema/", {"format": "json"}).json()
    paths = schema["paths"]
    for path in [
        "/api/v1/courses/",
        "/api/v1/courses/{slug}/enroll/",
        "/api/v1/courses/{slug}/lessons/{lesson_slug}/",
        "/api/v1/courses/{slug}/lessons/{lesson_slug}/complete/",
        "/api/v1/courses/{slug}/quiz/attempts/",
        "/api/v1/glossary/",
        "/api/v1/me/progress/",
        "/api/v1/stages/",
        "/api/v1/levels/",
    ]:
        assert path in paths, path
