"""``/api/v1/``: each app contributes its own router."""

from django.urls import include, path

urlpatterns = [
    path("", include("accounts.api.urls")),
    path("", include("courses.api.urls")),
    path("", include("simulations.api.urls")),
    path("", include("scoring.api.urls")),
]
