from django.urls import path

from simulations import views

app_name = "simulations"
urlpatterns = [
    path("scenarios/", views.scenario_list, name="scenario_list"),
    path("scenarios/<slug:slug>/", views.scenario_detail, name="scenario_detail"),
    path("runs/", views.run_list, name="run_list"),
    path("runs/<int:pk>/", views.run_detail, name="run_detail"),
]
