"""Celery application: settings come from Django's ``CELERY_*`` settings."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("loadline")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
