"""The OpenAPI document publishes the engine's design schema and stays valid."""

import pytest
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema

from simulations import engine


@pytest.fixture(scope="module")
def schema():
    return SchemaGenerator().get_schema(request=None, public=True)


def test_schema_is_valid_openapi(schema):
    validate_schema(schema)  # raises on an invalid document


def test_run_submission_publishes_the_engine_design_schema(schema):
    operation = schema["paths"]["/api/v1/runs/"]["post"]
    request = operation["requestBody"]["content"]["application/json"]["schema"]
    submit = schema["components"]["schemas"][request["$ref"].rsplit("/", 1)[-1]]
    design = submit["properties"]["design"]
    assert set(engine.DESIGN_SCHEMA["required"]) <= set(design["required"])
    assert set(design["properties"]) == set(engine.DESIGN_SCHEMA["properties"])
    assert {"202", "400"} <= set(operation["responses"])
    assert any(
        p["name"] == "Idempotency-Key" and p["in"] == "header" for p in operation["parameters"]
    )


def test_run_endpoints_are_documented(schema):
    paths = schema["paths"]
    assert "get" in paths["/api/v1/runs/{id}/"]
    assert "get" in paths["/api/v1/runs/{id}/series/"]
    assert "get" in paths["/api/v1/scenarios/{slug}/"]
