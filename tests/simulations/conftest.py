"""Fixtures for the simulations tests: real scenario files, real engine, real scoring."""

import copy
from pathlib import Path

import pytest
import yaml

from simulations.services.scenarios import scenario_import

SCENARIO_DIR = Path(__file__).resolve().parents[2] / "simulations" / "scenarios"
# Enough replications for bands to exist, few enough to keep the suite quick.
FAST_REPLICATIONS = 2


def scenario_document(slug: str) -> dict:
    return yaml.safe_load((SCENARIO_DIR / f"{slug}.yaml").read_text())


@pytest.fixture
def scenario(db):
    """The bundled request-response-basics scenario, imported the way load_scenarios does it."""
    imported, _ = scenario_import(
        document=scenario_document("request-response-basics"), source="test"
    )
    return imported


@pytest.fixture
def starter_design(scenario) -> dict:
    return copy.deepcopy(scenario.starter_design)


@pytest.fixture
def broken_design(starter_design) -> dict:
    """The starter design with two independent mistakes the engine must both report."""
    design = copy.deepcopy(starter_design)
    assert design["components"][1]["id"] == "app"  # BROKEN_POINTERS below rely on it
    design["components"][1]["instances"] = -3
    design["routes"]["read"] = ["lb", "nowhere", "db"]
    return design


# Where the engine must locate the two mistakes of ``broken_design``.
INSTANCES_POINTER = "/components/1/instances"
ROUTE_POINTER_PREFIX = "/routes/read"
