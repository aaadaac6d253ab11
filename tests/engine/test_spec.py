"""Parsing: every problem reported at once, with RFC 6901 pointers; schema and validator agree."""

from __future__ import annotations

import copy

import jsonschema
import pytest

from simulations.engine import (
    DESIGN_SCHEMA,
    SCENARIO_SCHEMA,
    DesignError,
    ScenarioError,
    parse_design,
    parse_scenario,
)
from simulations.engine.costs import CACHE_NODE_MEMORY_GB
from tests.engine.engine_docs import design_doc, scenario_doc


def _pointers(excinfo) -> set[str]:
    return {p.pointer for p in excinfo.value.problems}


def test_contract_example_parses_with_defaults_filled():
    scenario = parse_scenario(scenario_doc())
    design = parse_design(design_doc(), scenario)
    assert scenario.n_ticks == 600
    assert design.component("app").params["max_queue_per_instance"] == 200
    assert design.routes["write"] == ("lb", "app", "db")


def test_design_reports_every_problem_with_its_pointer():
    doc = design_doc()
    doc["components"][1]["instances"] = 0  # below 1
    doc["components"][2]["memory_gb"] = -1  # below 0.01
    doc["components"][3]["type"] = "mainframe"  # unknown type
    doc["routes"]["read"][2] = "redis"  # unknown id
    doc["edges"] = [{"from": "app", "to": "nowhere", "timeout_ms": 0}]
    with pytest.raises(DesignError) as excinfo:
        parse_design(doc)
    assert _pointers(excinfo) >= {
        "/components/1/instances",
        "/components/2/memory_gb",
        "/components/3/type",
        "/routes/read/2",
        "/edges/0/to",
        "/edges/0/timeout_ms",
    }
    messages = " ".join(p.message for p in excinfo.value.problems)
    assert "mainframe" in messages and "redis" in messages


def test_a_class_in_the_mix_without_a_route_is_a_problem():
    scenario = parse_scenario(scenario_doc())
    doc = design_doc()
    del doc["routes"]["write"]
    with pytest.raises(DesignError) as excinfo:
        parse_design(doc, scenario)
    assert _pointers(excinfo) == {"/routes/write"}


def test_route_rules_cache_at_end_duplicate_ids_missing_service_time():
    doc = design_doc()
    doc["routes"]["read"] = ["lb", "app", "cache"]
    doc["components"].append({"id": "app", "type": "app_pool", "service_time_ms": {"read": 1}})
    doc["routes"]["write"] = ["lb", "app", "db"]
    doc["components"][1]["service_time_ms"] = {"read": 25}
    with pytest.raises(DesignError) as excinfo:
        parse_design(doc)
    assert _pointers(excinfo) >= {
        "/routes/read/2",
        "/components/4/id",
        "/components/1/service_time_ms/write",
    }


def test_scenario_reports_every_problem():
    doc = scenario_doc(tick_s=0.0, duration_s=10)
    doc["traffic"]["mix"] = {"read": 0.5, "write": 0.1, "telepathy": 0.4}
    doc["traffic"]["curve"] = {"kind": "sawtooth", "rps": 5}
    doc["sla"]["latency_percentile"] = 98
    doc["incidents"] = [
        {"kind": "traffic_spike", "at_s": 5, "duration_s": 1},
        {"kind": "meteor", "at_s": 1},
    ]
    with pytest.raises(ScenarioError) as excinfo:
        parse_scenario(doc)
    assert _pointers(excinfo) >= {
        "/duration_s",
        "/tick_s",
        "/traffic/mix/telepathy",
        "/traffic/curve/kind",
        "/sla/latency_percentile",
        "/incidents/0/multiplier",
        "/incidents/1/kind",
    }


def test_mix_must_sum_to_one_and_incidents_fall_inside_the_horizon():
    doc = scenario_doc()
    doc["traffic"]["mix"] = {"read": 0.5, "write": 0.1}
    doc["incidents"] = [{"kind": "cache_flush", "at_s": 900, "component": "cache"}]
    with pytest.raises(ScenarioError) as excinfo:
        parse_scenario(doc)
    assert _pointers(excinfo) == {"/traffic/mix", "/incidents/0/at_s"}


def test_pointers_escape_slash_and_tilde():
    doc = scenario_doc()
    doc["traffic"]["mix"] = {"read": 1.0, "a/b~c": 0.0}
    with pytest.raises(ScenarioError) as excinfo:
        parse_scenario(doc)
    assert "/traffic/mix/a~1b~0c" in _pointers(excinfo)


def test_published_schemas_are_valid_draft_2020_12():
    jsonschema.Draft202012Validator.check_schema(SCENARIO_SCHEMA)
    jsonschema.Draft202012Validator.check_schema(DESIGN_SCHEMA)


# (document, pointer path, value) mutations that only touch structure/types/bounds, where the
# JSON Schema and the validator must give the same verdict.
_SCENARIO_MUTATIONS = [
    (("duration_s",), 59),
    (("duration_s",), 60),
    (("duration_s",), 86_400),
    (("duration_s",), 86_401),
    (("duration_s",), "600"),
    (("tick_s",), 0.05),
    (("tick_s",), 0.04),
    (("traffic", "burstiness"), 0.9),
    (("traffic", "burstiness"), 50),
    (("traffic", "burstiness"), True),
    (("traffic", "key_space", "keys"), 1.5),
    (("traffic", "key_space", "zipf_s"), 2.01),
    (("sla", "latency_percentile"), 99.9),
    (("sla", "latency_percentile"), 98),
    (("sla", "availability"), 1.0),
    (("budget_usd_per_month"), -1),
    (("traffic", "curve"), {"kind": "ramp", "start_rps": 1}),
    (("traffic", "curve"), {"kind": "ramp", "start_rps": 1, "end_rps": 2}),
    (("extra",), 1),
]
_DESIGN_MUTATIONS = [
    (("components", 1, "instances"), 0),
    (("components", 1, "instances"), 1000),
    (("components", 1, "instances"), 1001),
    (("components", 1, "concurrency"), 2.5),
    (("components", 1, "size"), "huge"),
    (("components", 2, "ttl_s"), 0.5),
    (("components", 2, "coalescing"), "yes"),
    (("components", 3, "read_replicas"), 15),
    (("components", 3, "read_replicas"), 16),
    (("components", 0, "algorithm"), "random"),
    (("components", 1, "service_time_ms", "read"), 0),
    (("routes", "read"), []),
    (("components", 1, "autoscaling"), {"min": 1, "max": 5, "cold_start_s": 1801}),
    (("components", 1, "wheels"), 4),
]


def _mutate(doc: dict, path: tuple, value) -> dict:
    out = copy.deepcopy(doc)
    node = out
    path = path if isinstance(path, tuple) else (path,)
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return out


@pytest.mark.parametrize(("path", "value"), _SCENARIO_MUTATIONS)
def test_scenario_schema_and_validator_agree(path, value):
    doc = _mutate(scenario_doc(), path, value)
    schema_ok = jsonschema.Draft202012Validator(SCENARIO_SCHEMA).is_valid(doc)
    try:
        parse_scenario(doc)
        parsed_ok = True
    except ScenarioError:
        parsed_ok = False
    assert schema_ok == parsed_ok


@pytest.mark.parametrize(("path", "value"), _DESIGN_MUTATIONS)
def test_design_schema_and_validator_agree(path, value):
    doc = _mutate(design_doc(), path, value)
    schema_ok = jsonschema.Draft202012Validator(DESIGN_SCHEMA).is_valid(doc)
    try:
        parse_design(doc)
        parsed_ok = True
    except DesignError:
        parsed_ok = False
    assert schema_ok == parsed_ok


def test_normalised_documents_parse_again_unchanged():
    scenario = parse_scenario(scenario_doc())
    design = parse_design(design_doc(), scenario)
    assert parse_scenario(scenario.doc).doc == scenario.doc
    assert parse_design(design.doc, scenario).doc == design.doc
    assert "autoscaling" not in design.doc["components"][1]  # absent, not null


def _cache_doc(**cache) -> dict:
    doc = design_doc()
    doc["components"][2] = {"id": "cache", "type": "cache", **cache}
    return doc


def test_cache_memory_defaults_to_what_its_nodes_hold():
    design = parse_design(_cache_doc(size="small", nodes=3))
    assert design.component("cache").params["memory_gb"] == pytest.approx(
        3 * CACHE_NODE_MEMORY_GB["small"]
    )
    assert design.doc["components"][2]["memory_gb"] == design.component("cache").params["memory_gb"]


def test_cache_memory_beyond_its_nodes_is_refused_with_the_maximum():
    most = 3 * CACHE_NODE_MEMORY_GB["small"]
    parse_design(_cache_doc(size="small", nodes=3, memory_gb=most))  # all of it is fine
    with pytest.raises(DesignError) as excinfo:
        parse_design(_cache_doc(size="small", nodes=3, memory_gb=most + 0.5))
    assert _pointers(excinfo) == {"/components/2/memory_gb"}
    assert f"at most {most:g} GB" in excinfo.value.problems[0].message
    # the same memory fits on a larger node
    parse_design(_cache_doc(size="medium", nodes=3, memory_gb=most + 0.5))
