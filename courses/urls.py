from django.urls import path

from courses import views

app_name = "courses"
urlpatterns = [
    path("", views.catalogue_view, name="catalogue"),
    path("dashboard/", views.dashboard_view, name="dashboard"),
    path("glossary/", views.glossary_view, name="glossary"),
    path("courses/<slug:slug>/", views.course_detail_view, name="course_detail"),
    path("courses/<slug:slug>/enroll/", views.course_enroll_view, name="course_enroll"),
    path("courses/<slug:slug>/quiz/", views.quiz_view, name="quiz"),
    path(
        "courses/<slug:slug>/quiz/attempts/<int:attempt_id>/",
        views.attempt_detail_view,
        name="attempt_detail",
    ),
    path(
        "courses/<slug:slug>/lessons/<slug:lesson_slug>/",
        views.lesson_detail_view,
        name="lesson_detail",
    ),
    path(
        "courses/<slug:slug>/lessons/<slug:lesson_slug>/complete/",
        views.lesson_complete_view,
        name="lesson_complete",
    ),
]
