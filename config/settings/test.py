"""Test settings: fast hashing; Postgres/Redis only when DATABASE_URL/CELERY_BROKER_URL are set."""

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "test-only-not-secret")

from config.settings.base import *  # noqa: E402,F403
from config.settings.base import REST_FRAMEWORK, env  # noqa: E402

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# The unit suite runs tasks in-process; the integration tests start a real worker with this
# switched off (CELERY_TASK_ALWAYS_EAGER=false in the worker's environment).
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=True)
# Each integration test's worker sends and consumes its own queue, so test runs sharing one Redis
# (two checkouts, CI next to a developer) never take each other's messages.
CELERY_TASK_DEFAULT_QUEUE = env("CELERY_TASK_DEFAULT_QUEUE", default="celery")
REST_FRAMEWORK = {
    **REST_FRAMEWORK,
    "DEFAULT_THROTTLE_RATES": {"run_submit": "1000/minute", "anon": "1000/minute"},
}
# Tests serve static files through Django's finders (live_server), not a collected STATIC_ROOT.
MIDDLEWARE = [m for m in MIDDLEWARE if m != "whitenoise.middleware.WhiteNoiseMiddleware"]  # noqa: F405
