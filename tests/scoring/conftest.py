"""Database fixtures for the scoring tests: scenarios and runs as plain rows."""

import pytest

from simulations.models import Design, Run, Scenario
from tests.scoring.builders import design


@pytest.fixture
def make_scenario(db):
    def make(slug="basics", **fields):
        return Scenario.objects.create(
            slug=slug,
            title=slug.title(),
            summary="s",
            brief="b",
            spec={
                "duration_s": 600,
                "traffic": {
                    "curve": {"kind": "constant", "rps": 100},
                    "mix": {"read": 0.9, "write": 0.1},
                },
            },
            starter_design=design(),
            **fields,
        )

    return make


@pytest.fixture
def make_run(db, user, make_scenario):
    """A run row in any status; the score/post-mortem are added by the test."""

    def make(*, owner=None, scenario=None, status=Run.Status.SUCCEEDED):
        owner = owner or user
        scenario = scenario or Scenario.objects.filter(slug="basics").first() or make_scenario()
        doc = Design.objects.create(owner=owner, scenario=scenario, document=design())
        return Run.objects.create(
            owner=owner,
            scenario=scenario,
            design=doc,
            status=status,
            seed=7,
            replications=4,
            scenario_snapshot=scenario.spec,
            engine_version="test",
            failure_reason="boom" if status == Run.Status.FAILED else "",
        )

    return make
