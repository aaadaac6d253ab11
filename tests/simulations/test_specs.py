"""The row ↔ engine conversions and page facts in simulations.specs, and the OpenAPI rewrite."""

from types import SimpleNamespace

import pytest

from simulations import engine, specs
from simulations.api.schema import openapi_schema
from tests.simulations.conftest import scenario_document


@pytest.mark.parametrize(
    ("t_s", "expected"), [(0, "T+00:00"), (59.6, "T+01:00"), (900, "T+15:00"), (3723, "T+1:02:03")]
)
def test_clock(t_s, expected):
    assert specs.clock(t_s) == expected


@pytest.mark.parametrize(
    ("curve", "expected"),
    [
        ({"kind": "constant", "rps": 200}, "A steady 200 requests/s"),
        ({"kind": "ramp", "start_rps": 60, "end_rps": 150}, "Ramps from 60 to 150 requests/s"),
        (
            {"kind": "diurnal", "base_rps": 80, "peak_rps": 220, "peak_at_s": 1500},
            "between 80 and 220 requests/s, peaking at T+25:00",
        ),
        (
            {"kind": "spike", "base_rps": 300, "spike_rps": 900, "at_s": 600, "duration_s": 600},
            "spiking to 900 requests/s from T+10:00 to T+20:00",
        ),
    ],
)
def test_traffic_description(curve, expected):
    doc = {"traffic": {"curve": curve, "mix": {"read": 0.85, "write": 0.15}}}
    sentence = specs.traffic_description(doc)
    assert expected in sentence
    assert sentence.endswith("85 % read, 15 % write.")


def test_incident_windows_cover_timed_and_instantaneous_incidents():
    doc = {
        "incidents": [
            {"kind": "instance_failure", "at_s": 900, "duration_s": 300, "component": "app"},
            {"kind": "cache_flush", "at_s": 1200, "component": "cache"},
        ]
    }
    timed, instant = specs.incident_windows(doc)
    assert (timed["start_s"], timed["end_s"], timed["end"]) == (900, 1200, "T+20:00")
    assert timed["label"] == "instance failure"
    assert instant["start_s"] == instant["end_s"] == 1200
    assert specs.incident_windows({}) == []


def test_series_summary_is_min_mean_max_of_each_mean_band():
    result = SimpleNamespace(
        series={"offered_rps": {"mean": [1.0, 2.0, 6.0], "p05": [0, 0, 0], "p95": [9, 9, 9]}}
    )
    assert specs.series_summary(result) == [
        {"name": "offered_rps", "min": 1.0, "mean": 3.0, "max": 6.0}
    ]


def test_contract_facts_formats_for_people():
    facts = specs.contract_facts(scenario_document("caching-repeated-reads")["spec"])
    assert facts == {
        "availability_pct": "99.5",
        "latency_percentile": "99",
        "latency_ms": "300",
        "budget_usd_per_month": "1,500",
    }


def test_design_problems_are_empty_for_a_valid_design_and_located_otherwise():
    document = scenario_document("request-response-basics")
    assert (
        specs.design_problems(scenario_doc=document["spec"], design_doc=document["starter_design"])
        == []
    )
    document["starter_design"]["components"][2]["read_replicas"] = -1
    problems = specs.design_problems(
        scenario_doc=document["spec"], design_doc=document["starter_design"]
    )
    assert [p["pointer"] for p in problems] == ["/components/2/read_replicas"]


def test_openapi_rewrite_inlines_refs_and_translates_2020_12_keywords():
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$defs": {"rate": {"type": "number", "exclusiveMinimum": 0, "maximum": 10}},
        "type": "object",
        "properties": {
            "type": {"const": "cache"},
            "rps": {"$ref": "#/$defs/rate"},
            "note": {"type": ["string", "null"]},
        },
    }
    out = openapi_schema(schema)
    assert "$schema" not in out and "$defs" not in out
    assert out["properties"]["type"] == {"enum": ["cache"]}
    assert out["properties"]["rps"] == {
        "type": "number",
        "minimum": 0,
        "exclusiveMinimum": True,
        "maximum": 10,
    }
    assert out["properties"]["note"] == {"type": "string", "nullable": True}


def test_the_published_design_schema_has_no_unresolved_references():
    assert "$ref" not in repr(openapi_schema(engine.DESIGN_SCHEMA))


def test_peak_utilizations_take_the_busiest_tick_of_each_components_mean_band():
    band = {"mean": [0.2, 0.9, 0.4], "p05": [0.1, 0.5, 0.3], "p95": [0.3, 1.0, 0.5]}
    result = SimpleNamespace(
        series={
            "utilization:app": band,
            "utilization:db": {"mean": [0.1, 0.05], "p05": [0, 0], "p95": [0.2, 0.1]},
            "utilization:idle": {"mean": [], "p05": [], "p95": []},  # no ticks: no claim
            "backlog:app": {"mean": [50.0], "p05": [0.0], "p95": [90.0]},
            "offered_rps": {"mean": [100.0], "p05": [90.0], "p95": [110.0]},
        }
    )
    assert specs.peak_utilizations(result) == {"app": 0.9, "db": 0.1}
