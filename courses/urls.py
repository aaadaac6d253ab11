from django.urls import path
from django.views.generic import TemplateView

# Placeholder pages until the curriculum views land (issue 4).
app_name = "courses"
urlpatterns = [
    path("", TemplateView.as_view(template_name="courses/placeholder.html"), name="catalogue"),
    path("dashboard/", TemplateView.as_view(template_name="courses/placeholder.html"), name="dashboard"),
    path("glossary/", TemplateView.as_view(template_name="courses/placeholder.html"), name="glossary"),
]
