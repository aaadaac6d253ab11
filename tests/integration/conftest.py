"""Integration tests: real Postgres, real Redis and a real ``celery worker`` subprocess.

They run when ``DATABASE_URL`` points at Postgres and ``CELERY_BROKER_URL`` is set; otherwise
they skip with a reason saying how to enable them — unless ``LOADLINE_REQUIRE_SERVICES=1`` (CI),
where missing services are a failure, not a skip.
"""

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings

from config.celery import app as celery_app

HOW_TO_ENABLE = (
    "integration tests need Postgres and Redis: set "
    "DATABASE_URL=postgres://postgres@127.0.0.1:5432/test and "
    "CELERY_BROKER_URL=redis://127.0.0.1:6379/0 (as .ci/run does)"
)
WORKER_READY_TIMEOUT_S = 60


def _missing_services() -> str | None:
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        return "DATABASE_URL is not Postgres"
    if not os.environ.get("CELERY_BROKER_URL"):
        return "CELERY_BROKER_URL is not set"
    return None


@pytest.fixture(autouse=True)
def require_services():
    missing = _missing_services()
    if missing is None:
        return
    if os.environ.get("LOADLINE_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{missing}, but LOADLINE_REQUIRE_SERVICES=1; {HOW_TO_ENABLE}")
    pytest.skip(f"{missing}; {HOW_TO_ENABLE}")


def _test_database_url() -> str:
    """The URL of the database pytest-django created (``test_<name>``), for the worker."""
    db = settings.DATABASES["default"]
    credentials = quote(db["USER"] or "", safe="")
    if db.get("PASSWORD"):
        credentials += ":" + quote(db["PASSWORD"], safe="")
    return f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


class Worker:
    """A running ``celery -A config worker`` process and its log."""

    def __init__(self, process: subprocess.Popen, log: Path, queue: str) -> None:
        self.process, self.log, self.queue = process, log, queue

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()  # warm shutdown: finishes the current task
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture
def start_worker(transactional_db, tmp_path):
    """Start real workers on the test database, all consuming one queue unique to this test.

    The unique queue keeps this test's messages away from any other worker sharing the Redis
    server (another checkout, a developer's `make worker`), and theirs away from this one.
    ``start_worker()`` returns a running :class:`Worker`; every worker is stopped at teardown.
    """
    queue = f"loadline-it-{uuid.uuid4().hex[:10]}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": _test_database_url(),
        # Both read by config/settings/test.py: a real worker, whose own messages (the
        # reconciler re-enqueueing a run) go to the queue it consumes.
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "CELERY_TASK_DEFAULT_QUEUE": queue,
    }
    workers: list[Worker] = []

    def start() -> Worker:
        name = f"{queue}-{len(workers)}"
        log = tmp_path / f"{name}.log"
        command = [
            sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=solo", "-Q", queue,
            "-n", f"{name}@%h", "--loglevel=INFO", "--without-gossip", "--without-mingle",
        ]  # fmt: skip
        with log.open("w") as sink:
            process = subprocess.Popen(
                command, env=env, cwd=settings.BASE_DIR, stdout=sink, stderr=subprocess.STDOUT
            )
        worker = Worker(process, log, queue)
        workers.append(worker)
        deadline = time.monotonic() + WORKER_READY_TIMEOUT_S
        while "ready." not in worker.output():
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the celery worker did not start:\n{worker.output()[-4000:]}")
            time.sleep(0.2)
        return worker

    # This process (and the live server thread in it) publishes to that queue instead of
    # running tasks in-process.
    saved = (celery_app.conf.task_always_eager, celery_app.conf.task_default_queue)
    celery_app.conf.task_always_eager = False
    celery_app.conf.task_default_queue = queue
    try:
        yield start
    finally:
        celery_app.conf.task_always_eager, celery_app.conf.task_default_queue = saved
        for worker in workers:
            worker.stop()


@pytest.fixture
def celery_worker_process(start_worker):
    """One running worker (see ``start_worker``)."""
    return start_worker()
