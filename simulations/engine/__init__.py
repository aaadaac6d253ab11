"""Loadline's simulation engine: a batched, time-stepped fluid queueing model (numpy only).

Public interface (the engine contract): documents are validated by :func:`parse_scenario` and
:func:`parse_design` against :data:`SCENARIO_SCHEMA` / :data:`DESIGN_SCHEMA`; :func:`simulate`
runs design variants x replications and returns a :class:`SimulationResult`.
"""

from simulations.engine.checkpoint import Checkpoint, Simulation
from simulations.engine.errors import DesignError, Problem, ScenarioError, SpecError
from simulations.engine.result import Band, Event, SimulationResult, VariantResult
from simulations.engine.schema import DESIGN_SCHEMA, SCENARIO_SCHEMA
from simulations.engine.simulate import simulate
from simulations.engine.spec import Design, Scenario, parse_design, parse_scenario
from simulations.engine.version import ENGINE_VERSION

__all__ = [
    "DESIGN_SCHEMA",
    "ENGINE_VERSION",
    "SCENARIO_SCHEMA",
    "Band",
    "Checkpoint",
    "Design",
    "DesignError",
    "Event",
    "Problem",
    "Scenario",
    "ScenarioError",
    "Simulation",
    "SimulationResult",
    "SpecError",
    "VariantResult",
    "parse_design",
    "parse_scenario",
    "simulate",
]
