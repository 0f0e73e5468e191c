"""Diagram of a graph record (`Graph.record`): boxes in columns by depth, arrows from
parents to children.

Inputs sit in the first column and each node one column right of its deepest parent. A
choice node lists its candidates, each in its colour; given the chosen candidates, the
chosen one is filled and the others are dashed. SVG ids: ``node-<name>``,
``edge-<parent>-<child>``, ``candidate-<node>-<candidate>``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from ...visualize.diagrams import (
    INPUT_COLOR,
    NODE_COLOR,
    OUTPUT_COLOR,
    new_axes,
    op_color,
    save_figure,
    titles,
    unique_gid,
)
from .record import record_choices, validate_record

__all__ = ["draw_graph"]

_WIDTH, _HEIGHT, _ROW = 2.2, 0.78, 0.3  # a box, a plain node's height, a candidate's row
_CHOICE_TOP = 0.42  # a choice's header, above its candidates
_COLUMN_GAP, _GAP = 1.0, 0.45
_JOIN_COLOR = "#eeeeee"


@dataclass
class _Box:
    name: str
    column: int
    height: float
    y: float = 0.0


def _columns(record: Mapping[str, Any]) -> dict[str, int]:
    depth = {name: 0 for name in record["inputs"]}
    for node in record["nodes"]:  # a record lists its nodes after their parents
        depth[node["name"]] = 1 + max(depth[p] for p in node["parents"])
    return depth


def _layout(record: Mapping[str, Any]) -> dict[str, _Box]:
    """Boxes stacked in their columns, each column ordered by the mean height of its
    nodes' parents (fewer crossings) and centred on 0."""
    depth = _columns(record)
    parents = {n["name"]: n["parents"] for n in record["nodes"]}
    rows = {n["name"]: len(n.get("candidates", ())) for n in record["nodes"]}
    boxes = {
        name: _Box(name, column, _CHOICE_TOP + _ROW * rows[name] + 0.15 if rows.get(name)
                   else _HEIGHT)
        for name, column in depth.items()
    }  # fmt: skip
    for column in range(max(depth.values()) + 1):
        members = [b for b in boxes.values() if b.column == column]
        if column:
            members.sort(key=lambda b: -sum(boxes[p].y for p in parents[b.name])
                         / len(parents[b.name]))  # fmt: skip
        total = sum(b.height for b in members) + _GAP * (len(members) - 1)
        top = total / 2
        for box in members:
            box.y = top - box.height / 2
            top -= box.height + _GAP
    return boxes


def _curve(start: np.ndarray, end: np.ndarray, rad: float) -> np.ndarray:
    """Points of the quadratic curve matplotlib draws for ``arc3,rad=rad``."""
    d = end - start
    control = (start + end) / 2 + rad * np.array([d[1], -d[0]])
    t = np.linspace(0.0, 1.0, 41)[:, None]
    return (1 - t) ** 2 * start + 2 * (1 - t) * t * control + t**2 * end


def _route(start: np.ndarray, end: np.ndarray, between: list[tuple[float, float, float, float]]
           ) -> float:  # fmt: skip
    """The curvature of the first arc from `start` to `end` that misses every box of
    `between` (``x0, x1, y0, y1``), straight when none is in the way."""
    for rad in (0.0, 0.15, -0.15, 0.3, -0.3, 0.45, -0.45, 0.6, -0.6):
        points = _curve(start, end, rad)
        if not any(np.any((points[:, 0] > x0) & (points[:, 0] < x1) & (points[:, 1] > y0)
                          & (points[:, 1] < y1)) for x0, x1, y0, y1 in between):  # fmt: skip
            return rad
    return 0.6


def _face(record: Mapping[str, Any], name: str, node: Mapping[str, Any] | None) -> str:
    if node is None:
        return INPUT_COLOR
    if name in record["outputs"]:
        return OUTPUT_COLOR
    if "choice" in node:
        return "#ffffff"
    return _JOIN_COLOR if node["op"].split(" ")[0] in ("add", "concat") else NODE_COLOR


def _candidates(ax: Any, node: Mapping[str, Any], box: _Box, x: float,
                chosen: str | None, colors: Mapping[str, str] | None) -> None:  # fmt: skip
    top = box.y + box.height / 2 - _CHOICE_TOP
    for i, name in enumerate(node["candidates"]):
        color = op_color(name, colors)
        y = top - (i + 0.5) * _ROW
        picked = chosen == name
        row = FancyBboxPatch(
            (x - _WIDTH / 2 + 0.15, y - _ROW * 0.4), _WIDTH - 0.3, _ROW * 0.8,
            boxstyle="round,pad=0,rounding_size=0.06", fc=color if picked else "#ffffff",
            ec=color, lw=1.8 if picked else 1.0,
            linestyle=(0, (3, 2)) if chosen is not None and not picked else "-", zorder=4,
        )  # fmt: skip
        row.set_gid(f"candidate-{node['name']}-{name}")
        ax.add_patch(row)
        ax.text(x, y, name, ha="center", va="center", fontsize=7, zorder=5,
                color="#ffffff" if picked else "#111111" if chosen is None else "#777777",
                weight="bold" if picked else "normal")  # fmt: skip


@dataclass(frozen=True)
class _Arrow:
    gid: str
    start: np.ndarray
    end: np.ndarray
    rad: float


def _arrows(record: Mapping[str, Any], boxes: Mapping[str, _Box], pitch: float) -> list[_Arrow]:
    """An arrow from each parent's right side to its child's left side, arced around the
    boxes of the columns between them."""
    seen: dict[str, int] = {}
    arrows = []
    for node in record["nodes"]:
        child = boxes[node["name"]]
        for parent in node["parents"]:
            source = boxes[parent]
            start = np.array([source.column * pitch + _WIDTH / 2, source.y])
            end = np.array([child.column * pitch - _WIDTH / 2, child.y])
            between = [
                (b.column * pitch - _WIDTH / 2 - 0.1, b.column * pitch + _WIDTH / 2 + 0.1,
                 b.y - b.height / 2 - 0.1, b.y + b.height / 2 + 0.1)
                for b in boxes.values() if source.column < b.column < child.column
            ]  # fmt: skip
            gid = unique_gid(f"edge-{parent}-{node['name']}", seen)
            arrows.append(_Arrow(gid, start, end, _route(start, end, between)))
    return arrows


def _draw_box(
    ax: Any,
    record: Mapping[str, Any],
    box: _Box,
    x: float,
    chosen: Mapping[str, str] | None,
    colors: Mapping[str, str] | None,
) -> None:
    node = next((n for n in record["nodes"] if n["name"] == box.name), None)
    patch = FancyBboxPatch(
        (x - _WIDTH / 2, box.y - box.height / 2), _WIDTH, box.height,
        boxstyle="round,pad=0,rounding_size=0.1", fc=_face(record, box.name, node),
        ec="#333333", lw=1.2, zorder=3,
    )  # fmt: skip
    patch.set_gid(f"node-{box.name}")
    ax.add_patch(patch)
    if node is None or "choice" not in node:
        text = box.name if node is None else f"{box.name}\n{node['op']}"
        ax.text(x, box.y, text, ha="center", va="center", fontsize=7.5, zorder=4,
                linespacing=1.3)  # fmt: skip
        return
    label = node["choice"]
    head = f"{box.name}: choice" if label == box.name else f"{box.name}: choice {label}"
    ax.text(x, box.y + box.height / 2 - 0.22, head, ha="center", va="center", fontsize=7.5,
            weight="bold", zorder=4)  # fmt: skip
    _candidates(ax, node, box, x, None if chosen is None else chosen.get(label), colors)


def _figure(
    record: Mapping[str, Any], chosen: Mapping[str, str] | None, colors: Mapping[str, str] | None,
    title: str,
) -> Figure:  # fmt: skip
    boxes = _layout(record)
    pitch = _WIDTH + _COLUMN_GAP
    arrows = _arrows(record, boxes, pitch)
    columns = max(b.column for b in boxes.values()) + 1
    ys = [y for b in boxes.values() for y in (b.y - b.height / 2, b.y + b.height / 2)]
    ys += [float(y) for a in arrows for y in _curve(a.start, a.end, a.rad)[:, 1]]
    extent = (
        -_WIDTH / 2 - 0.4,
        (columns - 1) * pitch + _WIDTH / 2 + 0.4,
        min(ys) - 0.4,
        max(ys) + 1.1,
    )
    fig, ax = new_axes(extent, 0.72)
    for box in boxes.values():
        _draw_box(ax, record, box, box.column * pitch, chosen, colors)
    for arrow in arrows:
        patch = FancyArrowPatch(
            tuple(arrow.start), tuple(arrow.end), arrowstyle="-|>", mutation_scale=10,
            color="#444444", lw=1.1, shrinkA=0, shrinkB=0, zorder=2,
            connectionstyle=f"arc3,rad={arrow.rad}",
        )  # fmt: skip
        patch.set_gid(arrow.gid)
        ax.add_patch(patch)
    if chosen is None:
        subtitle = "each choice lists its candidates"
    else:
        subtitle = "chosen: " + ", ".join(f"{k}={v}" for k, v in chosen.items())
    titles(fig, title, subtitle)
    return fig


def draw_graph(
    record: Mapping[str, Any],
    out_dir: str,
    stem: str = "graph",
    *,
    chosen: Mapping[str, str] | None = None,
    colors: Mapping[str, str] | None = None,
    title: str = "graph",
) -> list[str]:
    """Draws a graph record to ``<stem>.svg`` and ``<stem>.png`` in `out_dir`; returns
    the paths written.

    Args:
        record: a `Graph.record` (validated here).
        chosen: the candidate of each choice label (e.g. `Graph.derive`), to mark.
        colors: the colour of each candidate name (else a palette colour by name).

    Raises:
        ValueError: `record` is not a valid graph record, or `chosen` names a choice it
            lacks or a candidate its choice lacks.
    """
    checked = validate_record(record)
    if chosen is not None:
        _check_chosen(record_choices(checked), chosen)
    fig = _figure(checked, chosen, colors, title)
    base = os.path.join(out_dir, stem)
    return save_figure(fig, [f"{base}.svg", f"{base}.png"])


def _check_chosen(choices: Mapping[str, Sequence[str]], chosen: Mapping[str, str]) -> None:
    for label, name in chosen.items():
        if label not in choices:
            raise ValueError(f"chosen: the graph has no choice {label!r}; it has {list(choices)}")
        if name not in choices[label]:
            raise ValueError(
                f"chosen: choice {label!r} has no candidate {name!r}; its candidates are "
                f"{', '.join(choices[label])}"
            )
