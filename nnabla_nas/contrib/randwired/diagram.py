"""Diagrams of a randwired architecture: one DAG per stage, each node coloured by its op.

The stage input sits in the first column, each node one column right of its deepest
parent and the output in the last column; within a column the nodes are ordered by the
mean height of their parents, which keeps crossings few. A legend under the graph names
the ops' colours. SVG ids: ``node-in``, ``node-n<i>``, ``node-out``,
``edge-<source>-<target>`` (with those keys), ``legend-<op>``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Circle, FancyArrowPatch

from ...visualize.diagrams import (
    INPUT_COLOR,
    OUTPUT_COLOR,
    Edge,
    Node,
    attach_dot,
    dot_text,
    new_axes,
    op_color,
    save_figure,
    titles,
)
from .arch import StageGraph, source_text, stage_graphs, validate_arch
from .graphs import INPUT, OUTPUT, Endpoint

__all__ = ["COLORS", "draw_randwired", "stage_figure"]

# The names the DARTS and Zoph spaces share keep their colours there.
COLORS: dict[str, str] = {
    "sep_conv_3x3": "#1f77b4",
    "sep_conv_5x5": "#17becf",
    "dil_conv_3x3": "#2ca02c",
    "avg_pool_3x3": "#ff7f0e",
    "max_pool_3x3": "#d62728",
}
"""The colour of each registered randwired op."""

_INCH = 0.72  # inches per unit of the data coordinates, as the other diagrams
_RADIUS, _PITCH, _ROW = 0.36, 1.6, 1.1
_EDGE_COLOR = "#555555"
_CHAR = 0.095  # the width of a legend character, in data units (8 pt text)


def _key(endpoint: Endpoint) -> str:
    return str(endpoint) if endpoint in (INPUT, OUTPUT) else f"n{endpoint}"


def _layout(graph: StageGraph) -> dict[str, np.ndarray]:
    """The centre of every node, ``'in'`` and ``'out'`` included."""
    depth = graph.depths()
    last = max(depth) + 1
    pos = {INPUT: np.array([0.0, 0.0]), OUTPUT: np.array([last * _PITCH, 0.0])}
    for column in range(1, last):
        members = [i for i in range(graph.num_nodes) if depth[i] == column]
        members.sort(
            key=lambda i: (-float(np.mean([pos[_key(p)][1] for p in graph.parents[i]])), i)
        )
        top = (len(members) - 1) * _ROW / 2
        for k, i in enumerate(members):
            pos[_key(i)] = np.array([column * _PITCH, top - k * _ROW])
    return pos


def _curve(p0: np.ndarray, p2: np.ndarray, rad: float, t: np.ndarray) -> np.ndarray:
    """Points of matplotlib's ``arc3,rad=rad`` curve from `p0` to `p2`."""
    d = p2 - p0
    control = (p0 + p2) / 2 + rad * np.array([d[1], -d[0]])
    t = t[:, None]
    return (1 - t) ** 2 * p0 + 2 * (1 - t) * t * control + t**2 * p2


def _rad(source: str, target: str, pos: Mapping[str, np.ndarray]) -> float:
    """The first curvature (straight first) whose arc passes no other node."""
    others = [p for k, p in pos.items() if k not in (source, target)]
    t = np.linspace(0.05, 0.95, 40)
    best, best_clearance = 0.0, -np.inf
    for rad in (0.0, 0.12, -0.12, 0.25, -0.25, 0.4, -0.4, 0.55, -0.55):
        curve = _curve(pos[source], pos[target], rad, t)
        clearance = min((float(np.min(np.hypot(*(curve - p).T))) for p in others), default=np.inf)
        if clearance > 1.3 * _RADIUS:
            return rad
        if clearance > best_clearance:
            best, best_clearance = rad, clearance
    return best


def _legend(ax: Any, ops: Sequence[str], y: float, x0: float) -> None:
    x = x0
    for op in ops:
        dot = Circle((x + 0.15, y), 0.15, fc=op_color(op, COLORS), ec="#333333", lw=0.8)
        dot.set_gid(f"legend-{op}")
        ax.add_patch(dot)
        ax.text(x + 0.4, y, op, ha="left", va="center", fontsize=8, color="#111111")
        x += 0.4 + _CHAR * len(op) + 0.45


def _legend_width(ops: Sequence[str]) -> float:
    return sum(0.4 + _CHAR * len(op) + 0.45 for op in ops)


def stage_figure(ops: Sequence[str], graph: StageGraph, title: str, subtitle: str) -> Figure:
    """The figure of one stage whose node `i` applies ``ops[i]``."""
    pos = _layout(graph)
    edges = [(_key(a), _key(b)) for a, b in graph.edges]
    rads = [_rad(a, b, pos) for a, b in edges]
    used = [op for op in dict.fromkeys([*COLORS, *ops]) if op in ops]
    t = np.linspace(0.0, 1.0, 21)
    curves = [_curve(pos[a], pos[b], r, t) for (a, b), r in zip(edges, rads, strict=True)]
    points = np.vstack([*pos.values(), *curves])
    width = max(float(points[:, 0].max()), _legend_width(used) - 0.6, 6.0)
    legend_y = float(points[:, 1].min()) - _RADIUS - 0.75
    extent = (-0.8, width + 0.8, legend_y - 0.45, float(points[:, 1].max()) + _RADIUS + 1.1)
    fig, ax = new_axes(extent, _INCH)
    for key, xy in pos.items():
        face = {INPUT: INPUT_COLOR, OUTPUT: OUTPUT_COLOR}.get(key)
        node = None if face else int(key[1:])
        circle = Circle(tuple(xy), _RADIUS, fc=face or op_color(ops[node or 0], COLORS),
                        ec="#333333", lw=1.2, zorder=3)  # fmt: skip
        circle.set_gid(f"node-{key}")
        ax.add_patch(circle)
        ax.text(*xy, key if face else str(node), ha="center", va="center", zorder=4,
                fontsize=9, color="#111111" if face else "#ffffff", weight="bold")  # fmt: skip
    shrink = _RADIUS * _INCH * 72 + 1.0  # the circle's radius in points
    for (a, b), rad in zip(edges, rads, strict=True):
        arrow = FancyArrowPatch(
            tuple(pos[a]), tuple(pos[b]), arrowstyle="-|>", mutation_scale=9, lw=0.9,
            color=_EDGE_COLOR, shrinkA=shrink, shrinkB=shrink, zorder=2,
            connectionstyle=f"arc3,rad={rad}",
        )  # fmt: skip
        arrow.set_gid(f"edge-{a}-{b}")
        ax.add_patch(arrow)
    _legend(ax, used, legend_y, -0.3)
    titles(fig, title, subtitle)
    dot_nodes = [
        Node(key, (float(xy[0]), float(xy[1])), key if key in (INPUT, OUTPUT) else
             f"{key[1:]}: {ops[int(key[1:])]}",
             {INPUT: INPUT_COLOR, OUTPUT: OUTPUT_COLOR}.get(key) or
             op_color(ops[int(key[1:])], COLORS))
        for key, xy in pos.items()
    ]  # fmt: skip
    dot_edges = [Edge(a, b, None, _EDGE_COLOR, f"edge-{a}-{b}") for a, b in edges]
    attach_dot(fig, dot_text(dot_nodes, dot_edges, title))
    return fig


def draw_randwired(arch: Mapping[str, Any], out_dir: str, stem: str = "arch") -> list[str]:
    """Draws each stage of a randwired architecture to ``<stem>_stage<s>.svg`` and
    ``.png`` in `out_dir`; returns the paths written.

    Raises:
        ValueError: `arch` is not a valid randwired architecture (nothing is written).
    """
    checked = validate_arch(arch)
    source = source_text(checked)
    figures = [
        stage_figure(ops, graph, f"stage {s}: {graph.num_nodes} nodes",
                     f"{source}; node colour: its op")
        for s, (ops, graph) in enumerate(stage_graphs(checked))
    ]  # fmt: skip
    paths: list[str] = []
    for s, fig in enumerate(figures):
        base = os.path.join(out_dir, f"{stem}_stage{s}")
        paths += save_figure(fig, [f"{base}.svg", f"{base}.png"])
    return paths
