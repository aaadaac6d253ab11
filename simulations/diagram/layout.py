"""The layout: a design's routes → columns and rows of nodes, and edges between them."""

from __future__ import annotations

from typing import Any

from simulations.diagram.geometry import (
    CLIENTS_WIDTH,
    FIRST_BASELINE,
    NODE_HEIGHT,
    NODE_HEIGHT_WITH_LOAD,
    NODE_LINE,
    NODE_MIN_WIDTH,
    TEXT_PADDING,
    place,
    text_width,
)
from simulations.diagram.words import (
    CACHES,
    component_detail,
    edge_badges,
    summary,
    type_label,
)
from simulations.engine.schema import REQUEST_CLASSES

CLIENTS_ID = "@clients"  # not a valid component id (those start with a letter): cannot collide

# Peak utilization bands [-] → how busy a component ran (colour *and* words on the run page).
LOAD_BANDS = ((0.9, "hot", "saturated"), (0.7, "busy", "busy"), (0.0, "calm", "calm"))


class DiagramError(ValueError):
    """The document is not shaped like a design (``message`` names the JSON pointer)."""


def design_diagram(
    doc: Any,
    *,
    utilization: dict[str, float] | None = None,
    root_cause: str | None = None,
) -> dict[str, Any]:
    """Lay out a design document as a left-to-right graph of its routes.

    Parameters
    ----------
    doc
        A design document (``components``, ``routes``, optional ``edges``). Only its shape is
        checked here; the engine's ``parse_design`` judges the values.
    utilization
        Optional peak utilization per component id [-] (a run's ``utilization:<id>`` series);
        each such node gets ``utilization`` (0–1), ``load`` (``calm`` / ``busy`` / ``hot``) and
        a ``load_text`` such as ``"peak 93 % busy (saturated)"``.
    root_cause
        Optional component the post-mortem blames, by id or (as incidents may) by type; the
        node(s) it names get ``root_cause: True``.

    Returns
    -------
    dict
        Plain JSON-safe data::

            {"width", "height": float,                    # [px] of the whole drawing
             "nodes": [{"id", "label", "type", "type_label", "detail", "column", "row",
                        "x", "y", "width", "height", "on_route": bool, "root_cause": bool,
                        "utilization", "load", "load_text",   # None without a run
                        "lines": [{"text", "style", "y"}]}],  # y from the node's top
             "edges": [{"source", "target", "classes": [str], "label", "label_x", "label_y",
                        "badges": [{"text", "x", "y",             # x centre, y baseline
                                    "box_x", "box_y", "box_width", "box_height"}],
                        "points": [[x, y], ...], "kind"}],
             "title": str,                                # for the SVG's <title>
             "summary": [str]}                            # the routes in words, for <desc>

        ``kind`` is ``"forward"`` (to the next column), ``"detour"`` (skips a column, drawn over
        the top) or ``"back"`` (to an earlier column, drawn under the bottom). The synthetic
        clients node has the id ``"@clients"``; components on no route sit in a last row with
        ``on_route`` False.

    Raises
    ------
    DiagramError
        When ``doc`` is not shaped like a design: not an object, components without string
        ``id``/``type``, duplicate ids, or a route naming an unknown component.

    Examples
    --------
    >>> d = design_diagram({"components": [{"id": "app", "type": "app_pool"}],
    ...                     "routes": {"read": ["app"]}})
    >>> [(n["id"], n["column"]) for n in d["nodes"]]
    [('@clients', 0), ('app', 1)]
    >>> d["edges"][0]["label"]
    'read'
    """
    components, routes, policies = _shape(doc)
    hops = _hops(routes)
    columns = _columns(hops)
    nodes = _nodes(components, routes, columns, hops, utilization or {}, root_cause)
    edges = _edges(hops, policies, components)
    width, height = place(nodes, edges)
    return {
        "width": width,
        "height": height,
        "nodes": list(nodes.values()),
        "edges": edges,
        "title": (
            f"Architecture diagram: {len(components)} component{'s' * (len(components) != 1)}, "
            "requests flowing left to right from the clients"
        ),
        "summary": summary(components, routes, edges, nodes),
    }


# ---- shape ------------------------------------------------------------------------------------
def _shape(doc: Any) -> tuple[dict[str, dict], dict[str, list[str]], dict[tuple, dict]]:
    """``(components by id, routes in request-class order, policies by (from, to))``."""
    if not isinstance(doc, dict):
        raise DiagramError("The design must be a JSON object with components and routes.")
    raw = doc.get("components")
    if not isinstance(raw, list) or not raw:
        raise DiagramError("/components must be a non-empty list of components.")
    components: dict[str, dict] = {}
    for i, comp in enumerate(raw):
        if not (isinstance(comp, dict) and isinstance(comp.get("id"), str)):
            raise DiagramError(f"/components/{i} needs a string id.")
        if not isinstance(comp.get("type"), str):
            raise DiagramError(f"/components/{i}/type must be a string.")
        if comp["id"] in components:
            raise DiagramError(f"/components/{i}/id {comp['id']!r} is used twice.")
        components[comp["id"]] = comp
    raw_routes = doc.get("routes")
    if not isinstance(raw_routes, dict) or not all(isinstance(k, str) for k in raw_routes):
        raise DiagramError("/routes must map request classes to lists of component ids.")
    order = {name: i for i, name in enumerate(REQUEST_CLASSES)}
    routes: dict[str, list[str]] = {}
    for name in sorted(raw_routes, key=lambda n: (order.get(n, len(order)), n)):
        path = raw_routes[name]
        if not isinstance(path, list) or not path:
            raise DiagramError(f"/routes/{name} must be a non-empty list of component ids.")
        for j, cid in enumerate(path):
            if not isinstance(cid, str) or cid not in components:
                raise DiagramError(f"/routes/{name}/{j}: there is no component {cid!r}.")
        routes[name] = path
    policies: dict[tuple, dict] = {}
    edges = doc.get("edges") or []
    if not isinstance(edges, list):
        raise DiagramError("/edges must be a list of call-edge policies.")
    for edge in edges:
        # A malformed policy is the engine's to report; the diagram just draws no badges for it.
        if (
            isinstance(edge, dict)
            and isinstance(edge.get("from"), str)
            and isinstance(edge.get("to"), str)
        ):
            policies[(edge["from"], edge["to"])] = edge
    return components, routes, policies


def _hops(routes: dict[str, list[str]]) -> dict[tuple[str, str], list[str]]:
    """``{(from, to): [request classes]}`` for every consecutive hop, clients first."""
    hops: dict[tuple[str, str], list[str]] = {}
    for name, path in routes.items():
        for pair in zip([CLIENTS_ID, *path], path, strict=False):
            if pair[0] != pair[1]:
                classes = hops.setdefault(pair, [])
                if name not in classes:
                    classes.append(name)
    return hops


def _columns(hops: dict[tuple[str, str], list[str]]) -> dict[str, int]:
    """Longest-path depth from the clients; hops that close a cycle are ignored for depth."""
    successors: dict[str, list[str]] = {}
    for src, dst in hops:
        successors.setdefault(src, []).append(dst)
    order: list[str] = []  # reverse post-order of a DFS = a topological order of the forward hops
    state: dict[str, int] = {}  # 1 = on the stack, 2 = done
    back: set[tuple[str, str]] = set()

    def visit(node: str) -> None:
        state[node] = 1
        for nxt in successors.get(node, []):
            if state.get(nxt) == 1:
                back.add((node, nxt))
            elif nxt not in state:
                visit(nxt)
        state[node] = 2
        order.append(node)

    visit(CLIENTS_ID)
    columns = {CLIENTS_ID: 0}
    for node in reversed(order):
        for nxt in successors.get(node, []):
            if (node, nxt) not in back:
                columns[nxt] = max(columns.get(nxt, 0), columns[node] + 1)
    return columns


# ---- nodes ------------------------------------------------------------------------------------
def _nodes(components, routes, columns, hops, utilization, root_cause) -> dict[str, dict]:
    """One node per component (plus the clients), with its words, column and row."""
    first_seen = [CLIENTS_ID] + list(dict.fromkeys(cid for path in routes.values() for cid in path))
    n_classes = len(routes)
    nodes = {
        CLIENTS_ID: _node(
            CLIENTS_ID, "clients", "", f"{n_classes} class{'es' * (n_classes != 1)}", CLIENTS_WIDTH
        )
    }
    # Like an incident's target, a root cause may name a component id or a component type.
    blamed = {root_cause} & set(components) or {
        cid for cid, comp in components.items() if comp["type"] == root_cause
    }
    off_route = [cid for cid in components if cid not in columns]
    for cid in first_seen[1:] + off_route:
        comp = components[cid]
        on_route = cid in columns
        kind = type_label(comp) if on_route else f"{type_label(comp)} · on no route"
        node = _node(cid, comp["type"], kind, component_detail(comp))
        node["on_route"] = on_route
        if cid in utilization:
            node.update(_load(utilization[cid]))
            _add_load_line(node)
        node["root_cause"] = cid in blamed
        nodes[cid] = node
    # Rows: on-route columns ordered by the mean row of their predecessors (fewer crossings),
    # then components on no route in one last row under everything.
    rows: dict[int, list[str]] = {}
    for cid in first_seen:
        rows.setdefault(columns[cid], []).append(cid)
    for col in sorted(rows):
        if col:
            rows[col].sort(key=lambda cid: _barycentre(cid, hops, nodes, first_seen))
        for row, cid in enumerate(rows[col]):
            nodes[cid].update(column=col, row=row)
    tallest = max(len(r) for r in rows.values())
    for i, cid in enumerate(off_route):
        nodes[cid].update(column=1 + i, row=tallest)
    return nodes


def _node(
    cid: str, ctype: str, kind: str, detail: str, min_width: float = NODE_MIN_WIDTH
) -> dict[str, Any]:
    label = "Clients" if cid == CLIENTS_ID else cid
    lines = [(t, style) for t, style in ((label, "title"), (kind, "small"), (detail, "text")) if t]
    return {
        "id": cid,
        "type": ctype,
        "label": label,
        "lines": [
            {"text": text, "style": style, "y": FIRST_BASELINE + i * NODE_LINE}
            for i, (text, style) in enumerate(lines)
        ],
        "type_label": kind,
        "detail": detail,
        "column": 0,
        "row": 0,
        "x": 0.0,
        "y": 0.0,
        "width": max(min_width, max(text_width(t, k) for t, k in lines) + TEXT_PADDING),
        "height": NODE_HEIGHT,
        "on_route": True,
        "root_cause": False,
        "utilization": None,
        "load": None,
        "load_text": None,
    }


def _barycentre(cid: str, hops, nodes, first_seen) -> tuple[float, int]:
    """Sort key: the mean row of a node's callers, then the order the routes first name it."""
    rows = [nodes[src]["row"] for (src, dst) in hops if dst == cid and "row" in nodes[src]]
    return (sum(rows) / len(rows) if rows else 0.0, first_seen.index(cid))


def _load(value: float) -> dict[str, Any]:
    """A node's run facts from its peak utilization [-]: the band, and the same in words."""
    value = max(0.0, float(value))
    load, words = next((name, words) for bound, name, words in LOAD_BANDS if value >= bound)
    return {
        "utilization": round(value, 4),
        "load": load,
        "load_text": f"peak {value * 100:.0f} % busy ({words})",
        "height": NODE_HEIGHT_WITH_LOAD,
    }


def _add_load_line(node: dict) -> None:
    y = FIRST_BASELINE + len(node["lines"]) * NODE_LINE
    node["lines"].append({"text": node["load_text"], "style": "load", "y": y})
    width = text_width(node["load_text"], "load") + TEXT_PADDING
    node["width"] = max(node["width"], width)


# ---- edges ------------------------------------------------------------------------------------
def _edges(hops, policies, components) -> list[dict[str, Any]]:
    """One edge per hop, labelled with its classes (``(misses)`` after a cache) and policies."""
    edges = []
    for (src, dst), classes in hops.items():
        label = ", ".join(c.replace("_", " ") for c in classes)
        if src in components and components[src]["type"] in CACHES:
            label += " (misses)"
        edges.append(
            {
                "source": src,
                "target": dst,
                "classes": classes,
                "label": label,
                "badges": edge_badges(policies.get((src, dst))),
                "points": [],
                "label_x": 0.0,
                "label_y": 0.0,
                "kind": "forward",
            }
        )
    return edges
