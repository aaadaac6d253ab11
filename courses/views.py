"""Learner pages: thin views over the selectors and services (server-rendered, no JS needed)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from config.errors import DomainError, NotFoundError
from courses.markdown import render_markdown
from courses.selectors.catalogue import (
    LessonPage,
    catalogue,
    course_get,
    course_quiz,
    done_lesson_ids,
    glossary_search,
    lesson_page,
)
from courses.selectors.progress import (
    attempt_get,
    attempt_review,
    enrollment_get,
    enrollment_list,
    enrollments_by_course,
    requirements_for,
    streak_for,
)
from courses.services.progress import enrollment_create, lesson_complete
from courses.services.quizzes import quiz_attempt_submit

GLOSSARY_PAGE_SIZE = 100


def _course_or_404(slug: str):
    try:
        return course_get(slug=slug)
    except NotFoundError as exc:
        raise Http404(exc.message) from exc


def catalogue_view(request: HttpRequest) -> HttpResponse:
    """The home page: every stage and its courses by level, with the learner's progress."""
    return render(
        request,
        "courses/catalogue.html",
        {"sections": catalogue(), "enrollments": enrollments_by_course(user=request.user)},
    )


def course_detail_view(request: HttpRequest, slug: str) -> HttpResponse:
    """A course: lessons with done marks, progress, enroll button, what is still needed."""
    course = _course_or_404(slug)
    lessons = course.visible_lessons
    context = {
        "course": course,
        "lessons": lessons,
        "done_ids": done_lesson_ids(
            user=request.user, lesson_ids=[lesson.id for lesson in lessons]
        ),
        "enrollment": enrollment_get(user=request.user, course=course),
        "has_quiz": hasattr(course, "quiz"),
        "description_html": render_markdown(course.description),
    }
    if request.user.is_authenticated:
        context["needs"] = requirements_for(user=request.user, courses=[course])[course.id]
    return render(request, "courses/course_detail.html", context)


@login_required
@require_POST
def course_enroll_view(request: HttpRequest, slug: str) -> HttpResponse:
    """POST: enroll (idempotent), then back to the course page."""
    course = _course_or_404(slug)
    _, created = enrollment_create(learner=request.user, course=course)
    if created:
        messages.success(request, f"You are enrolled in {course.title}.")
    return redirect("courses:course_detail", slug=course.slug)


def lesson_template_context(page: LessonPage, *, preview: bool = False) -> dict:
    """Context for ``courses/lesson_detail.html`` (shared with the admin's draft preview)."""
    return {
        "page": page,
        "course": page.course,
        "lesson": page.lesson,
        "body_html": render_markdown(page.lesson.body),
        "recap_html": render_markdown(page.lesson.recap),
        "preview": preview,
        "lesson_count": len(page.course.visible_lessons),
    }


def lesson_detail_view(request: HttpRequest, slug: str, lesson_slug: str) -> HttpResponse:
    """A published lesson, readable without an account."""
    try:
        page = lesson_page(course_slug=slug, lesson_slug=lesson_slug, user=request.user)
    except NotFoundError as exc:
        raise Http404(exc.message) from exc
    return render(request, "courses/lesson_detail.html", lesson_template_context(page))


@login_required
@require_POST
def lesson_complete_view(request: HttpRequest, slug: str, lesson_slug: str) -> HttpResponse:
    """POST: mark the lesson complete, then go on to the next lesson (or the course)."""
    try:
        page = lesson_page(course_slug=slug, lesson_slug=lesson_slug, user=request.user)
    except NotFoundError as exc:
        raise Http404(exc.message) from exc
    enrollment, _ = lesson_complete(learner=request.user, lesson=page.lesson)
    messages.success(
        request,
        f"“{page.lesson.title}” marked complete — {enrollment.percent} % of the course done.",
    )
    if page.next is not None:
        return redirect("courses:lesson_detail", slug=slug, lesson_slug=page.next.slug)
    return redirect("courses:course_detail", slug=slug)


def _answers_from_post(request: HttpRequest, quiz) -> dict[int, list[int]]:
    """``question-<id>`` form fields → ``{question_id: [choice_id, …]}`` for the grader."""
    answers = {}
    for question in quiz.questions.all():
        values = request.POST.getlist(f"question-{question.id}")
        try:
            answers[question.id] = [int(v) for v in values]
        except ValueError as exc:
            raise ValidationError({"answers": "Choices must be numeric ids."}) from exc
    return answers


@login_required
def quiz_view(request: HttpRequest, slug: str) -> HttpResponse:
    """GET: the quiz as a plain form. POST: grade on the server, then show the review."""
    course = _course_or_404(slug)
    quiz = course_quiz(course=course)
    if quiz is None:
        raise Http404("This course has no quiz.")
    error = None
    if request.method == "POST":
        try:
            attempt = quiz_attempt_submit(
                learner=request.user, quiz=quiz, answers=_answers_from_post(request, quiz)
            )
        except (ValidationError, DomainError) as exc:
            error = "; ".join(getattr(exc, "messages", None) or [str(exc)])
        else:
            return redirect("courses:attempt_detail", slug=slug, attempt_id=attempt.id)
    return render(
        request,
        "courses/quiz.html",
        {"course": course, "quiz": quiz, "error": error},
        status=400 if error else 200,
    )


@login_required
def attempt_detail_view(request: HttpRequest, slug: str, attempt_id: int) -> HttpResponse:
    """One of the learner's own graded attempts, with every choice explained."""
    attempt = attempt_get(user=request.user, attempt_id=attempt_id)
    if attempt is None or attempt.quiz.course.slug != slug:
        raise Http404("No such attempt.")
    return render(
        request,
        "courses/attempt_detail.html",
        {
            "attempt": attempt,
            "course": attempt.quiz.course,
            "quiz": attempt.quiz,
            "reviews": attempt_review(attempt=attempt),
            "percent": round(attempt.score * 100),
        },
    )


@login_required
def dashboard_view(request: HttpRequest) -> HttpResponse:
    """Every enrollment with its progress bar, resume button and what is still needed."""
    enrollments = list(enrollment_list(user=request.user))
    needs = requirements_for(user=request.user, courses=[e.course for e in enrollments])
    rows = [(e, needs[e.course_id]) for e in enrollments]
    return render(
        request, "courses/dashboard.html", {"rows": rows, "streak": streak_for(user=request.user)}
    )


def glossary_view(request: HttpRequest) -> HttpResponse:
    """All terms (or those matching ``?q=``), each with an anchor for the auto-links."""
    query = request.GET.get("q", "").strip()[:100]
    page = Paginator(glossary_search(query=query), GLOSSARY_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    terms = [
        (term, render_markdown(term.long, glossary_exclude=term.slug)) for term in page.object_list
    ]
    return render(
        request, "courses/glossary.html", {"terms": terms, "page_obj": page, "query": query}
    )
