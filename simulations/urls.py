from django.urls import path
from django.views.generic import TemplateView

app_name = "simulations"
urlpatterns = [
    path("scenarios/", TemplateView.as_view(template_name="courses/placeholder.html"), name="scenario_list"),
    path("runs/", TemplateView.as_view(template_name="courses/placeholder.html"), name="run_list"),
]
