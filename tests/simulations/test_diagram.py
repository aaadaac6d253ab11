"""simulations.diagram: the layout of a design document (pure; no database)."""

import copy
import doctest
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulations.diagram import CLIENTS_ID, DiagramError, design_diagram, layout
from simulations.diagram.words import component_detail
from simulations.engine.costs import CACHE_NODE_MEMORY_GB
from tests.simulations.conftest import scenario_document

STARTERS = ["request-response-basics", "first-bottleneck", "caching-repeated-reads"]


def starter(slug: str) -> dict:
    return copy.deepcopy(scenario_document(slug)["starter_design"])


def by_id(diagram: dict) -> dict[str, dict]:
    return {node["id"]: node for node in diagram["nodes"]}


def hops(diagram: dict) -> dict[tuple[str, str], dict]:
    return {(edge["source"], edge["target"]): edge for edge in diagram["edges"]}


def overlap(a: dict, b: dict) -> bool:
    return not (
        a["x"] + a["width"] <= b["x"]
        or b["x"] + b["width"] <= a["x"]
        or a["y"] + a["height"] <= b["y"]
        or b["y"] + b["height"] <= a["y"]
    )


def expected_hops(design: dict) -> dict[tuple[str, str], list[str]]:
    """Every consecutive hop of every route (clients first), with the classes travelling it."""
    expected: dict[tuple[str, str], list[str]] = {}
    for name, path in design["routes"].items():
        for pair in zip([CLIENTS_ID, *path], path, strict=False):
            expected.setdefault(pair, []).append(name)
    return expected


# ---- the three starter designs --------------------------------------------------------------


@pytest.mark.parametrize(
    ("slug", "columns"),
    [
        ("request-response-basics", {"lb": 1, "app": 2, "db": 3}),
        ("first-bottleneck", {"lb": 1, "app": 2, "db": 3}),
        # read: lb → app → cache → db, so db sits after the cache even for writes
        ("caching-repeated-reads", {"lb": 1, "app": 2, "cache": 3, "db": 4}),
    ],
)
def test_starter_designs_have_one_column_per_depth_along_the_routes(slug, columns):
    design = starter(slug)
    diagram = design_diagram(design)
    nodes = by_id(diagram)

    assert {cid: n["column"] for cid, n in nodes.items()} == {CLIENTS_ID: 0, **columns}
    assert {cid for cid in nodes} == {CLIENTS_ID} | {c["id"] for c in design["components"]}
    # Columns run left to right.
    order = sorted(columns, key=columns.get)
    assert [nodes[c]["x"] for c in order] == sorted(nodes[c]["x"] for c in order)
    assert all(
        nodes[a]["x"] + nodes[a]["width"] < nodes[b]["x"]
        for a, b in zip(order, order[1:], strict=False)
    )


@pytest.mark.parametrize("slug", STARTERS)
def test_every_hop_of_every_route_is_one_edge_labelled_with_its_classes(slug):
    design = starter(slug)
    diagram = design_diagram(design)
    assert {pair: e["classes"] for pair, e in hops(diagram).items()} == expected_hops(design)


@pytest.mark.parametrize("slug", STARTERS)
def test_starter_layouts_are_inside_the_drawing_and_nodes_never_overlap(slug):
    diagram = design_diagram(starter(slug))
    nodes = diagram["nodes"]
    for i, a in enumerate(nodes):
        assert a["x"] >= 0 and a["y"] >= 0
        assert a["x"] + a["width"] <= diagram["width"]
        assert a["y"] + a["height"] <= diagram["height"]
        assert not any(overlap(a, b) for b in nodes[i + 1 :])
    for edge in diagram["edges"]:
        assert all(
            0 <= x <= diagram["width"] and 0 <= y <= diagram["height"] for x, y in edge["points"]
        )


@pytest.mark.parametrize("slug", STARTERS)
def test_edges_start_on_their_source_and_end_on_their_target(slug):
    diagram = design_diagram(starter(slug))
    nodes = by_id(diagram)

    def on_border(point, node):
        x, y = point
        inside_x = node["x"] <= x <= node["x"] + node["width"]
        inside_y = node["y"] <= y <= node["y"] + node["height"]
        on_x = x in (node["x"], node["x"] + node["width"])
        on_y = y in (node["y"], node["y"] + node["height"])
        return (on_x and inside_y) or (on_y and inside_x)

    for edge in diagram["edges"]:
        assert on_border(edge["points"][0], nodes[edge["source"]])
        assert on_border(edge["points"][-1], nodes[edge["target"]])


@pytest.mark.parametrize("slug", STARTERS)
def test_the_layout_is_deterministic_plain_json(slug):
    first = design_diagram(starter(slug))
    assert json.loads(json.dumps(first)) == first == design_diagram(starter(slug))


def test_key_parameters_are_written_on_the_boxes():
    nodes = by_id(design_diagram(starter("caching-repeated-reads")))
    assert nodes["app"]["detail"] == "4 × medium · 16 conc."
    assert nodes["cache"]["detail"] == "0.5 GB · TTL 120 s"
    assert nodes["db"]["detail"] == "1 primary"
    assert nodes["db"]["type_label"] == "database · small"
    assert nodes["lb"]["detail"] == "least conn. · check 5 s"


def test_defaults_come_from_the_engine_schema_and_optional_features_show():
    design = {
        "components": [
            {
                "id": "web",
                "type": "app_pool",
                "service_time_ms": {"read": 5},
                "autoscaling": {"min": 2, "max": 12},
            },
            {"id": "db", "type": "database", "service_time_ms": {"read": 5}, "read_replicas": 2},
        ],
        "routes": {"read": ["web", "db"]},
    }
    nodes = by_id(design_diagram(design))
    # instances, size and concurrency are absent: the engine's defaults (medium, 8) are shown
    assert nodes["web"]["detail"] == "2–12 × medium · 8 conc."
    assert nodes["web"]["type_label"] == "app pool · autoscaling"
    assert nodes["db"]["detail"] == "1 primary + 2 replicas"


def test_edge_policies_become_badges():
    design = starter("first-bottleneck")
    design["edges"][0].update(
        retries={"max_attempts": 4, "backoff_ms": 50, "jitter": True},
        circuit_breaker={"error_rate": 0.5},
    )
    edge = hops(design_diagram(design))[("app", "db")]
    texts = [badge["text"] for badge in edge["badges"]]
    assert texts == ["timeout 1,000 ms", "4 attempts + jitter", "circuit breaker", "pool 10"]
    for badge in edge["badges"]:  # each pill sits around its own text
        assert badge["box_x"] < badge["x"] < badge["box_x"] + badge["box_width"]
        assert badge["box_y"] < badge["y"] <= badge["box_y"] + badge["box_height"]


# ---- cache-aside, stray components, cycles --------------------------------------------------


def test_a_cache_aside_route_puts_the_cache_between_app_and_database():
    diagram = design_diagram(starter("caching-repeated-reads"))
    edges, nodes = hops(diagram), by_id(diagram)

    assert edges[("cache", "db")]["label"] == "read (misses)"
    assert edges[("app", "cache")]["label"] == "read"
    # Writes skip the cache column: drawn as a detour over the top, clear of every box.
    write = edges[("app", "db")]
    assert (write["kind"], write["classes"]) == ("detour", ["write"])
    lane_y = write["points"][1][1]
    assert lane_y < min(n["y"] for n in diagram["nodes"])
    assert write["label_y"] < lane_y
    assert "hits return and misses go on" in diagram["summary"][0]
    assert nodes["cache"]["column"] == 3


def test_a_component_on_no_route_is_drawn_apart_and_named():
    design = starter("request-response-basics")
    design["components"].append({"id": "spare", "type": "cache", "memory_gb": 1})
    diagram = design_diagram(design)
    nodes = by_id(diagram)

    assert nodes["spare"]["on_route"] is False
    # said in words, not only by the dashed outline
    assert nodes["spare"]["type_label"] == "cache · medium · on no route"
    assert all(n["on_route"] for cid, n in nodes.items() if cid != "spare")
    below = max(n["y"] + n["height"] for cid, n in nodes.items() if cid != "spare")
    assert nodes["spare"]["y"] > below
    assert not any(e["source"] == "spare" or e["target"] == "spare" for e in diagram["edges"])
    assert "On no route: spare." in diagram["summary"]


def test_a_route_back_to_an_earlier_component_is_drawn_under_the_nodes():
    design = {
        "components": [
            {"id": "api", "type": "app_pool", "service_time_ms": {"read": 5}},
            {"id": "jobs", "type": "queue"},
        ],
        "routes": {"read": ["api", "jobs"], "async_job": ["jobs", "api"]},
    }
    diagram = design_diagram(design)
    edges = hops(diagram)
    assert edges[("jobs", "api")]["kind"] == "back"
    assert edges[("jobs", "api")]["points"][1][1] > max(
        n["y"] + n["height"] for n in diagram["nodes"]
    )


def busy_design() -> dict:
    """An edge cache, a cache-aside read, a queue with workers, a stray: lanes everywhere."""
    design = starter("caching-repeated-reads")
    design["components"] += [
        {"id": "edge", "type": "cdn"},
        {"id": "jobs", "type": "queue"},
        {"id": "workers", "type": "worker_pool", "service_time_ms": {"async_job": 80}},
        {"id": "spare", "type": "cache", "memory_gb": 1},
    ]
    design["routes"].update(
        static=["edge", "lb", "app"],
        async_job=["lb", "app", "jobs", "workers", "db"],
        ingest=["lb", "app", "jobs", "db"],  # jobs sits under the cache: its lane leaves sideways
    )
    design["edges"].append({"from": "app", "to": "cache", "timeout_ms": 50, "retries": {}})
    return design


def crosses(segment, box) -> bool:
    """Whether an axis-parallel segment passes through the inside of a box (0.5 px tolerance)."""
    (x1, y1), (x2, y2) = segment
    left, right = box["x"] + 0.5, box["x"] + box["width"] - 0.5
    top, bottom = box["y"] + 0.5, box["y"] + box["height"] - 0.5
    return max(x1, x2) > left and min(x1, x2) < right and max(y1, y2) > top and min(y1, y2) < bottom


@pytest.mark.parametrize("design", [*(starter(slug) for slug in STARTERS), busy_design()])
def test_edges_are_axis_parallel_and_never_run_through_a_box(design):
    diagram = design_diagram(design)
    for edge in diagram["edges"]:
        segments = list(zip(edge["points"], edge["points"][1:], strict=False))
        assert all(a[0] == b[0] or a[1] == b[1] for a, b in segments)
        for box in diagram["nodes"]:
            assert not any(crosses(seg, box) for seg in segments), (edge["source"], box["id"])


def test_a_busy_design_keeps_its_boxes_apart_and_inside_the_drawing():
    diagram = design_diagram(busy_design())
    nodes = by_id(diagram)
    assert nodes["jobs"]["column"] == nodes["cache"]["column"]
    assert nodes["jobs"]["row"] == nodes["cache"]["row"] + 1
    assert hops(diagram)[("jobs", "db")]["kind"] == "detour"
    for i, a in enumerate(diagram["nodes"]):
        assert a["x"] + a["width"] <= diagram["width"] and a["y"] + a["height"] <= diagram["height"]
        assert not any(overlap(a, b) for b in diagram["nodes"][i + 1 :])


# ---- run facts ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("peak", "load", "words"),
    [
        (0.0, "calm", "peak 0 % busy (calm)"),
        (0.69, "calm", "peak 69 % busy (calm)"),
        (0.7, "busy", "peak 70 % busy (busy)"),
        (0.93, "hot", "peak 93 % busy (saturated)"),
        (1.0, "hot", "peak 100 % busy (saturated)"),
    ],
)
def test_peak_utilization_is_given_in_words_and_a_band(peak, load, words):
    diagram = design_diagram(starter("first-bottleneck"), utilization={"db": peak})
    db = by_id(diagram)["db"]
    assert (db["load"], db["load_text"]) == (load, words)
    assert db["lines"][-1]["text"] == words
    assert f"db: {words}." in diagram["summary"]
    assert by_id(diagram)["app"]["load"] is None  # no series, no claim


def test_a_root_cause_given_as_a_component_type_marks_that_component():
    diagram = design_diagram(starter("first-bottleneck"), root_cause="database")
    assert [n["id"] for n in diagram["nodes"] if n["root_cause"]] == ["db"]
    unknown = design_diagram(starter("first-bottleneck"), root_cause="nowhere")
    assert not any(n["root_cause"] for n in unknown["nodes"])


def test_the_root_cause_component_is_marked():
    diagram = design_diagram(starter("first-bottleneck"), root_cause="db")
    assert [n["id"] for n in diagram["nodes"] if n["root_cause"]] == ["db"]
    assert "The post-mortem names db as the root cause." in diagram["summary"]


# ---- invalid documents ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("doc", "pointer"),
    [
        (None, "JSON object"),
        ([], "JSON object"),
        ({}, "/components"),
        ({"components": [], "routes": {}}, "/components"),
        ({"components": [{"type": "cache"}], "routes": {}}, "/components/0"),
        ({"components": [{"id": "a"}], "routes": {}}, "/components/0/type"),
        ({"components": [{"id": "a", "type": "cache"}] * 2, "routes": {}}, "/components/1/id"),
        ({"components": [{"id": "a", "type": "cache"}]}, "/routes"),
        ({"components": [{"id": "a", "type": "cache"}], "routes": {"read": []}}, "/routes/read"),
        (
            {"components": [{"id": "a", "type": "cache"}], "routes": {"read": ["a", "b"]}},
            "/routes/read/1",
        ),
    ],
)
def test_a_document_that_is_not_a_design_is_a_clear_error(doc, pointer):
    with pytest.raises(DiagramError, match=pointer.replace("/", "/")):
        design_diagram(doc)


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-5, 5)
    | st.floats(allow_nan=False)
    | st.text(max_size=4),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=150, deadline=None)
@given(
    slug=st.sampled_from(STARTERS),
    key=st.sampled_from(["components", "routes", "edges"]),
    junk=JSON,
)
def test_any_mangled_design_draws_or_raises_a_diagram_error_never_crashes(slug, key, junk):
    design = starter(slug)
    design[key] = junk
    try:
        diagram = design_diagram(design)
    except DiagramError as exc:
        assert str(exc)
    else:
        assert diagram["nodes"][0]["id"] == CLIENTS_ID


@settings(max_examples=150, deadline=None)
@given(
    slug=st.sampled_from(STARTERS),
    index=st.integers(0, 3),
    field=st.sampled_from(
        [
            "instances",
            "size",
            "concurrency",
            "autoscaling",
            "memory_gb",
            "ttl_s",
            "nodes",
            "read_replicas",
            "shards",
            "algorithm",
            "health_check_interval_s",
            "type",
        ]
    ),
    junk=JSON,
    policy=st.dictionaries(
        st.sampled_from(["from", "to", "timeout_ms", "retries", "circuit_breaker", "pool_size"]),
        JSON,
        max_size=4,
    ),
)
def test_bad_values_inside_components_and_edges_still_draw(slug, index, field, junk, policy):
    design = starter(slug)
    component = design["components"][index % len(design["components"])]
    component[field] = junk
    design.setdefault("edges", []).append({"from": "app", "to": "db", **policy})
    try:
        diagram = design_diagram(design)
    except DiagramError as exc:
        assert field == "type" and "/type" in str(exc)
    else:
        assert {n["id"] for n in diagram["nodes"]} >= {c["id"] for c in design["components"]}


def test_the_docstring_example_holds():
    result = doctest.testmod(layout)
    assert result.attempted > 0 and result.failed == 0


def test_the_drawing_is_tall_enough_for_every_badge():
    # given: an edge with four policies, so four badges stacked under its line
    doc = {
        "components": [
            {
                "id": "app",
                "type": "app_pool",
                "instances": 2,
                "concurrency": 4,
                "service_time_ms": {"read": 10},
            },
            {"id": "db", "type": "database", "service_time_ms": {"read": 2}},
        ],
        "routes": {"read": ["app", "db"]},
        "edges": [
            {
                "from": "app",
                "to": "db",
                "timeout_ms": 100,
                "pool_size": 10,
                "bulkhead": 5,
                "retries": {"max_attempts": 3, "backoff_ms": 20, "jitter": True},
            }
        ],
    }
    # when
    diagram = design_diagram(doc)
    # then: the lowest badge ends inside the drawing
    lowest = max(b["box_y"] + b["box_height"] for e in diagram["edges"] for b in e["badges"])
    assert lowest <= diagram["height"]


def test_a_cache_without_memory_shows_what_its_nodes_hold():
    nodes_memory = 2 * CACHE_NODE_MEMORY_GB["large"]
    comp = {"id": "cache", "type": "cache", "size": "large", "nodes": 2, "ttl_s": 60}
    assert component_detail(comp) == f"2 nodes · {nodes_memory:g} GB · TTL 60 s"
