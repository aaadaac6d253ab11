"""Project-level promises: production fails fast on missing secrets; errors map to HTTP codes."""

import os
import subprocess
import sys

import pytest
from django.core.exceptions import ValidationError
from rest_framework.test import APIRequestFactory

from config.api import exception_handler
from config.errors import InvalidStateError, NotFoundError


def _import_production_settings(env: dict[str, str]) -> subprocess.CompletedProcess:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DJANGO_SECRET_KEY", "DATABASE_URL", "CELERY_BROKER_URL"}
    }
    return subprocess.run(
        [sys.executable, "-c", "import config.settings.production"],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("missing", ["DJANGO_SECRET_KEY", "DATABASE_URL", "CELERY_BROKER_URL"])
def test_production_settings_refuse_to_start_without_a_secret(missing):
    env = {
        "DJANGO_SECRET_KEY": "x" * 50,
        "DATABASE_URL": "postgres://u@localhost/db",
        "CELERY_BROKER_URL": "redis://localhost:6379/0",
    }
    del env[missing]
    result = _import_production_settings(env)
    assert result.returncode != 0
    assert missing in result.stderr


def test_production_settings_start_with_every_secret():
    result = _import_production_settings(
        {
            "DJANGO_SECRET_KEY": "x" * 50,
            "DATABASE_URL": "postgres://u@localhost/db",
            "CELERY_BROKER_URL": "redis://localhost:6379/0",
        }
    )
    assert result.returncode == 0, result.stderr


def test_debug_is_off_unless_asked_for():
    result = subprocess.run(
        [sys.executable, "-c", "import config.settings.base as s; print(s.DEBUG)"],
        env={k: v for k, v in os.environ.items() if k != "DJANGO_DEBUG"}
        | {"DJANGO_SECRET_KEY": "k"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stdout.strip() == "False", result.stderr


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (ValidationError({"title": ["Required."]}), 400),
        (NotFoundError("No such run."), 404),
        (InvalidStateError("Run already finished.", field="status"), 409),
    ],
)
def test_service_errors_map_to_http_statuses(error, status):
    request = APIRequestFactory().get("/")
    response = exception_handler(error, {"request": request})
    assert response.status_code == status


def test_validation_error_names_the_field():
    response = exception_handler(ValidationError({"title": ["Required."]}), {})
    assert response.data == {"title": ["Required."]}


def test_unknown_errors_are_left_to_become_500s():
    assert exception_handler(RuntimeError("bug"), {}) is None
