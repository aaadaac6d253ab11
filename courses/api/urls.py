from rest_framework.routers import SimpleRouter

from courses.api.views import (
    CourseViewSet,
    GlossaryViewSet,
    LevelViewSet,
    ProgressViewSet,
    StageViewSet,
)

router = SimpleRouter()
router.register("stages", StageViewSet, basename="stage")
router.register("levels", LevelViewSet, basename="level")
router.register("courses", CourseViewSet, basename="course")
router.register("glossary", GlossaryViewSet, basename="glossary-term")
router.register("me/progress", ProgressViewSet, basename="progress")
urlpatterns = router.urls
