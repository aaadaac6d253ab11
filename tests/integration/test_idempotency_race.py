"""Concurrent submissions with one Idempotency-Key create exactly one run (Postgres, real threads).

The web server here runs tasks in-process (settings.test is eager), so no worker is needed: what
is under test is the unique (owner, idempotency_key) constraint deciding a real race.
"""

import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from rest_framework.authtoken.models import Token

from simulations.models import Design, Run
from simulations.services import runs as run_services
from simulations.services.scenarios import scenario_import
from tests.simulations.conftest import FAST_REPLICATIONS, scenario_document

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

CONCURRENT_REQUESTS = 6


@pytest.fixture
def lookups_meet_first(monkeypatch):
    """Every request's first key lookup waits for all the others, so all of them miss it.

    This forces the interleaving the unique constraint exists for: N requests that each saw no
    run for the key and all try to insert one.
    """
    barrier = threading.Barrier(CONCURRENT_REQUESTS, timeout=30)
    seen = threading.local()
    lookup = run_services._run_for_key

    def first_lookup_waits(**kwargs):
        found = lookup(**kwargs)
        if not getattr(seen, "once", False):
            seen.once = True
            barrier.wait()
        return found

    monkeypatch.setattr(run_services, "_run_for_key", first_lookup_waits)


def test_concurrent_submissions_with_one_key_make_one_run(live_server, user, lookups_meet_first):
    document = scenario_document("request-response-basics")
    scenario_import(document=document, source="test")
    token = Token.objects.create(user=user)
    payload = {
        "scenario": document["slug"],
        "design": document["starter_design"],
        "replications": FAST_REPLICATIONS,
    }
    headers = {"Authorization": f"Token {token.key}", "Idempotency-Key": "race-1"}

    def submit(_):
        return httpx.post(
            f"{live_server.url}/api/v1/runs/", json=payload, headers=headers, timeout=60
        )

    with ThreadPoolExecutor(CONCURRENT_REQUESTS) as pool:
        responses = list(pool.map(submit, range(CONCURRENT_REQUESTS)))

    assert sorted(r.status_code for r in responses) == [200] * (CONCURRENT_REQUESTS - 1) + [202]
    assert len({r.json()["id"] for r in responses}) == 1
    assert Run.objects.count() == 1
    assert Design.objects.count() == 1  # the losers' designs were rolled back with their runs
