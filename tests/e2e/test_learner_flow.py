"""A learner's first session in a real browser: sign up, enroll, read, complete, quiz, dashboard.

Loads the real curriculum into the live server's database and saves screenshots of the main
pages (desktop, plus the lesson on a phone-sized viewport) under ./screenshots.
"""

import re
from pathlib import Path

import pytest
from django.conf import settings
from playwright.sync_api import expect

from courses.models import Course, Quiz
from courses.services.curriculum_load import curriculum_load
from tests.e2e.conftest import SCREENSHOTS

pytestmark = pytest.mark.e2e

CURRICULUM = Path(settings.BASE_DIR) / "courses" / "curriculum"
COURSE = "how-a-request-travels"


@pytest.fixture
def curriculum(transactional_db):
    curriculum_load(root=CURRICULUM)
    return Course.objects.get(slug=COURSE)


def _progress(page) -> int:
    return int(page.get_by_test_id("progress").first.get_attribute("value"))


def test_learner_signs_up_enrolls_reads_completes_and_passes(
    live_server, page, screenshot, curriculum
):
    lessons = list(curriculum.lessons.published().order_by("order"))
    quiz = Quiz.objects.prefetch_related("questions__choices").get(course=curriculum)
    right = [c.id for q in quiz.questions.all() for c in q.choices.all() if c.is_correct]

    # A welcoming home page for an anonymous visitor.
    page.goto(f"{live_server.url}/")
    assert page.get_by_role("heading", level=1).inner_text().startswith("Learn backend")
    screenshot("01-catalogue-anonymous")

    # Sign up (keyboard-friendly labelled form) and land on an empty dashboard.
    page.get_by_role("link", name="Sign up").first.click()
    page.get_by_label("Username").fill("e2e-learner")
    page.get_by_label("Password", exact=True).fill("a-long-pass-phrase-9")
    page.get_by_label("Password confirmation").fill("a-long-pass-phrase-9")
    page.get_by_role("button", name="Sign up").click()
    page.wait_for_url(re.compile(r"/dashboard/$"))
    assert "not enrolled in any course yet" in page.content()
    screenshot("02-dashboard-empty")

    # Enroll from the course page.
    page.goto(f"{live_server.url}/")
    page.get_by_role("link", name=curriculum.title).click()
    page.get_by_role("button", name="Enroll in this course").click()
    assert _progress(page) == 0
    screenshot("03-course-enrolled")

    # Read the first lesson: glossary tooltips, recall prompts, recap, sources.
    page.get_by_role("link", name=f"Start: {lessons[0].title}").click()
    assert page.locator("a.glossary").count() > 0
    assert page.locator("a.glossary").first.get_attribute("title")
    page.locator(".recall summary").first.click()
    screenshot("04-lesson")
    page.set_viewport_size({"width": 390, "height": 844})
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(SCREENSHOTS / "05-lesson-phone.png"))  # the first screenful
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scroll
    page.set_viewport_size({"width": 1280, "height": 900})

    # Mark it complete: on to the next lesson, and the dashboard's bar moves.
    page.get_by_role("button", name=re.compile("^Mark complete")).click()
    page.wait_for_url(re.compile(rf"/lessons/{lessons[1].slug}/$"))
    page.goto(f"{live_server.url}/dashboard/")
    expected = 100 * 1 // len(lessons)
    assert _progress(page) == expected > 0
    assert page.get_by_role("link", name=re.compile(f"Resume.*{re.escape(lessons[1].title)}"))
    screenshot("06-dashboard-after-lesson")

    # Take the quiz (plain HTML form) and read every explanation.
    page.goto(f"{live_server.url}/courses/{COURSE}/quiz/")
    screenshot("07-quiz")
    for choice_id in right:
        page.locator(f"#choice-{choice_id}").check()
    page.get_by_role("button", name="Submit answers").click()
    page.wait_for_url(re.compile(r"/quiz/attempts/\d+/$"))
    assert "Passed" in page.content()
    assert page.locator(".explanation").count() == sum(
        q.choices.count() for q in quiz.questions.all()
    )
    screenshot("08-quiz-result")
    page.screenshot(path=str(SCREENSHOTS / "08-quiz-result-first-screen.png"))

    # The dashboard no longer lists the quiz as needed.
    page.goto(f"{live_server.url}/dashboard/")
    page.locator("details summary", has_text="What you still need").first.click()
    card = page.locator(".enrollment").first.inner_text()
    assert "Pass the" not in card and "Quiz passed" in card
    screenshot("09-dashboard-after-quiz")

    # The glossary, searched server-side.
    page.goto(f"{live_server.url}/glossary/?q=latency")
    assert page.locator(".glossary-entry").count() >= 1
    screenshot("10-glossary-search")


def test_author_previews_a_draft_lesson_and_publishes_it(
    live_server, page, screenshot, django_user_model, transactional_db
):
    from courses.models import Lesson
    from tests.courses.conftest import FIXTURE_ROOT

    curriculum_load(root=FIXTURE_ROOT)
    django_user_model.objects.create_superuser("author", "a@example.com", "pw-author-123")
    draft = Lesson.objects.get(slug="draft-lesson")

    page.goto(f"{live_server.url}/admin/login/?next=/admin/courses/lesson/")
    page.get_by_label("Username").fill("author")
    page.get_by_label("Password").fill("pw-author-123")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/admin/courses/lesson/$"))
    screenshot("11-admin-lessons")

    # The preview is the learner's lesson template, for a lesson learners cannot see yet.
    page.goto(f"{live_server.url}/admin/courses/lesson/{draft.pk}/preview/")
    assert "Preview" in page.content() and "Not yet published." in page.content()
    screenshot("12-admin-preview-draft")

    page.goto(f"{live_server.url}/admin/courses/lesson/")
    page.locator(f'input[name="_selected_action"][value="{draft.pk}"]').check()
    page.locator('select[name="action"]').select_option("publish")
    page.get_by_role("button", name="Go").click()
    expect(page.locator(".messagelist")).to_contain_text("1 lesson(s) published.")
    draft.refresh_from_db()
    assert draft.status == "published"
