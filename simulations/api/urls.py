"""Routes under ``/api/v1/``: ``scenarios/``, ``runs/`` and ``runs/{id}/series/``."""

from rest_framework.routers import SimpleRouter

from simulations.api.views import RunViewSet, ScenarioViewSet

router = SimpleRouter()
router.register("scenarios", ScenarioViewSet, basename="api-scenario")
router.register("runs", RunViewSet, basename="api-run")

urlpatterns = router.urls
