"""Geometry of the diagram: column widths and gaps, node positions, edge points and lanes.

Coordinates are SVG user units (≈ CSS px at 100 % zoom); text widths are estimated from
character counts, so the layout is deterministic and needs no font metrics.
"""

from __future__ import annotations

MARGIN = 16.0
NODE_MIN_WIDTH = 128.0
CLIENTS_WIDTH = 84.0
NODE_HEIGHT = 62.0
NODE_HEIGHT_WITH_LOAD = 80.0  # a fourth line: the peak utilization of a run
ROW_GAP = 34.0
FIRST_BASELINE = 20.0  # [px] from a node's top to its first line's baseline
NODE_LINE = 17.0  # [px] between a node's text baselines
GAP_MIN_WIDTH = 72.0
LANE_STEP = 26.0  # vertical distance between stacked detour lanes
LINE_STEP = 16.0  # baseline to baseline of an edge's label and badges
LANE_SPREAD = 12.0  # [px] between the vertical runs of lanes leaving or reaching one node
BEND_OFFSET = 14.0  # [px] from a node's side to the vertical run of an elbowed edge
# Mean advance per character [px] for each text style (site.css: 14.5 px semi-bold titles,
# 11.75 px text, 11 px small print, 11.75 px semi-bold load line); generous, so text fits.
CHAR_WIDTH = {"title": 8.0, "text": 6.4, "small": 6.0, "load": 7.0}
TEXT_PADDING = 20.0


def text_width(text: str, kind: str) -> float:
    return len(text) * CHAR_WIDTH[kind]


def place(nodes: dict[str, dict], edges: list[dict]) -> tuple[float, float]:
    """Set x/y on nodes and points/labels on edges; return the drawing's (width, height)."""
    n_cols = max(n["column"] for n in nodes.values()) + 1
    col_width = [
        max([n["width"] for n in nodes.values() if n["column"] == c] or [NODE_MIN_WIDTH])
        for c in range(n_cols)
    ]
    for n in nodes.values():  # one width per column keeps the columns straight
        n["width"] = col_width[n["column"]]
    gap = [GAP_MIN_WIDTH] * n_cols  # gap[c] sits right of column c
    for e in edges:
        src, dst = nodes[e["source"]], nodes[e["target"]]
        if dst["column"] == src["column"] + 1:
            e["kind"] = "forward"
            # The label must fit on the edge's horizontal run, beside any elbows.
            need = max(text_width(t, "small") for t in [e["label"], *e["badges"]]) + 36
            gap[src["column"]] = max(gap[src["column"]], need)
        else:
            e["kind"] = "detour" if dst["column"] > src["column"] + 1 else "back"
    col_x = [MARGIN]
    for c in range(1, n_cols):
        col_x.append(col_x[c - 1] + col_width[c - 1] + gap[c - 1])
    row_height = max(n["height"] for n in nodes.values())
    for n in nodes.values():  # one height for all: a run's load line makes every box taller
        n["height"] = row_height

    # Shorter lanes nearer the boxes, so longer ones pass over them instead of crossing them.
    def span(e: dict) -> int:
        return abs(nodes[e["target"]]["column"] - nodes[e["source"]]["column"])

    detours = sorted((e for e in edges if e["kind"] == "detour"), key=span)
    backs = sorted((e for e in edges if e["kind"] == "back"), key=span)
    # Room above the nodes for detour lanes, each with its label and badges above its line.
    top = MARGIN + sum(_lane_height(e) for e in detours) + (12.0 if _any_root(nodes) else 0.0)
    on_rows: dict[int, int] = {}
    for n in nodes.values():
        if n["on_route"]:
            on_rows[n["column"]] = max(on_rows.get(n["column"], 0), n["row"] + 1)
    tallest = max(on_rows.values())
    for n in nodes.values():
        # Centre each column's stack against the tallest column; off-route nodes go below.
        offset = (tallest - on_rows.get(n["column"], tallest)) / 2 if n["on_route"] else 0
        n["x"] = round(col_x[n["column"]], 1)
        n["y"] = round(top + (n["row"] + offset) * (row_height + ROW_GAP), 1)
        n["width"] = round(n["width"], 1)
    bottom = max(n["y"] + n["height"] for n in nodes.values())
    _ports(nodes, edges)
    lane_y = top - (12.0 if _any_root(nodes) else 0.0)  # just above the nodes (and root tag)
    ends: dict[str, int] = {}  # lanes already leaving or reaching each node
    for e in detours:
        lane_y -= LANE_STEP / 2
        _route_around(e, nodes, lane_y, ends)
        lane_y -= _lane_height(e) - LANE_STEP / 2
    lane_y = bottom
    for e in backs:
        lane_y += LANE_STEP / 2
        _route_around(e, nodes, lane_y, ends)
        lane_y += _lane_height(e) - LANE_STEP / 2
    for e in edges:
        first = e.pop("badges_y")
        e["badges"] = [
            _badge(text, e["label_x"], first + i * LINE_STEP) for i, text in enumerate(e["badges"])
        ]
    width = max(n["x"] + n["width"] for n in nodes.values()) + MARGIN
    # A forward edge's badges hang below its line and may reach past the lowest box.
    badge_bottom = max(
        (b["box_y"] + b["box_height"] for e in edges for b in e["badges"]), default=bottom
    )
    return round(width, 1), round(max(bottom, lane_y, badge_bottom) + MARGIN, 1)


def _badge(text: str, centre_x: float, baseline_y: float) -> dict:
    """A policy badge: its text's anchor and the pill behind it, centred under the label."""
    width = text_width(text, "small") + 10
    return {
        "text": text,
        "x": round(centre_x, 1),
        "y": round(baseline_y, 1),
        "box_x": round(centre_x - width / 2, 1),
        "box_y": round(baseline_y - 11, 1),
        "box_width": round(width, 1),
        "box_height": 15.0,
    }


def _blocked(node: dict, nodes: dict[str, dict], above: bool) -> bool:
    """Whether another box sits above (or below) ``node`` in its column."""
    return any(
        other is not node
        and other["column"] == node["column"]
        and (other["y"] < node["y"] if above else other["y"] > node["y"])
        for other in nodes.values()
    )


def _any_root(nodes: dict[str, dict]) -> bool:
    return any(n["root_cause"] for n in nodes.values())


def _lane_height(edge: dict) -> float:
    """Vertical room a detour or back lane takes: the line, its label and its badges."""
    return LANE_STEP / 2 + LINE_STEP * (len(edge["badges"]) + 1)


def _ports(nodes: dict[str, dict], edges: list[dict]) -> None:
    """Forward edges: spread each node's outgoing/incoming ends over its right/left side."""
    forward = [e for e in edges if e["kind"] == "forward"]
    for end, side in (("source", "out"), ("target", "in")):
        groups: dict[str, list[dict]] = {}
        for e in forward:
            groups.setdefault(e[end], []).append(e)
        for cid, group in groups.items():
            node = nodes[cid]
            other = "target" if end == "source" else "source"
            group.sort(key=lambda e, o=other: nodes[e[o]]["y"])
            for i, e in enumerate(group):
                y = node["y"] + node["height"] * (i + 1) / (len(group) + 1)
                x = node["x"] + node["width"] if side == "out" else node["x"]
                e[f"_{side}"] = (x, y)
    fan_out = {e["source"]: sum(f["source"] == e["source"] for f in forward) for e in forward}
    fan_in = {e["target"]: sum(f["target"] == e["target"] for f in forward) for e in forward}
    bends: dict[tuple[str, str], int] = {}  # how many bends already sit beside a node's side
    for e in forward:
        (x1, y1), (x2, y2) = e.pop("_out"), e.pop("_in")
        if abs(y1 - y2) < 0.5:
            e["points"] = [[round(x1, 1), round(y1, 1)], [round(x2, 1), round(y2, 1)]]
            label_from, label_to, label_y = x1, x2, y1
        # Orthogonal elbows. The label goes on the long horizontal run, which lies on the row
        # that is shared by fewer edges: beside a fan-out the edges part at once (labels on the
        # targets' rows), beside a fan-in they meet late (labels on the sources' rows).
        elif fan_out[e["source"]] > fan_in[e["target"]]:
            k = bends[(e["source"], "out")] = bends.get((e["source"], "out"), -1) + 1
            xb = x1 + BEND_OFFSET * (k + 1)
            e["points"] = [[x1, y1], [xb, y1], [xb, y2], [x2, y2]]
            label_from, label_to, label_y = xb, x2, y2
        else:
            k = bends[(e["target"], "in")] = bends.get((e["target"], "in"), -1) + 1
            xb = x2 - BEND_OFFSET * (k + 1)
            e["points"] = [[x1, y1], [xb, y1], [xb, y2], [x2, y2]]
            label_from, label_to, label_y = x1, xb, y1
        e["points"] = [[round(x, 1), round(y, 1)] for x, y in e["points"]]
        # The label just above the line, the badges stacked below it.
        e["label_x"] = round((label_from + label_to) / 2, 1)
        e["label_y"] = round(label_y - 6, 1)
        e["badges_y"] = round(label_y + LINE_STEP, 1)


def _route_around(edge: dict, nodes: dict[str, dict], lane_y: float, ends: dict) -> None:
    """Detours run along a lane over the top, back edges along one under the bottom.

    An end leaves (or reaches) its node through the top (bottom) side when nothing sits above
    (below) it in its column; otherwise through its right (left) side and the gap beside it, so
    the line never crosses another box. Several lanes at one node sit side by side (``ends``
    counts them), so their vertical runs never lie on top of each other.
    """
    src, dst = nodes[edge["source"]], nodes[edge["target"]]
    k_src = ends[edge["source"]] = ends.get(edge["source"], -1) + 1
    k_dst = ends[edge["target"]] = ends.get(edge["target"], -1) + 1
    above = edge["kind"] == "detour"
    side_y = 0.2 if above else 0.8  # clear of the forward edges' ports around mid-height
    if _blocked(src, nodes, above):
        x1 = src["x"] + src["width"] + BEND_OFFSET + LANE_SPREAD * k_src
        y = src["y"] + src["height"] * side_y
        start = [[src["x"] + src["width"], y], [x1, y]]
    else:
        x1 = src["x"] + src["width"] * 0.75 - LANE_SPREAD * k_src
        start = [[x1, src["y"] if above else src["y"] + src["height"]]]
    if _blocked(dst, nodes, above):
        x2 = dst["x"] - BEND_OFFSET - LANE_SPREAD * k_dst
        y = dst["y"] + dst["height"] * side_y
        finish = [[x2, y], [dst["x"], y]]
    else:
        x2 = dst["x"] + dst["width"] * 0.25 + LANE_SPREAD * k_dst
        finish = [[x2, dst["y"] if above else dst["y"] + dst["height"]]]
    points = [*start, [x1, lane_y], [x2, lane_y], *finish]
    edge["points"] = [[round(x, 1), round(y, 1)] for x, y in points]
    edge["label_x"] = round((x1 + x2) / 2, 1)
    # Label then badges, stacked away from the nodes: above a detour's lane, below a back lane.
    first = lane_y - 6 - LINE_STEP * len(edge["badges"]) if above else lane_y + 14
    edge["label_y"] = round(first, 1)
    edge["badges_y"] = round(first + LINE_STEP, 1)
