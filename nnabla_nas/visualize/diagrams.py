"""Drawing primitives for architecture diagrams: matplotlib figures written as SVG and PNG.

Each search space draws its own architectures (``Space.draw``) with these: `draw_dag`
lays out nodes as circles and edges as curved, labelled arrows (cells of DARTS, Zoph and
NAS-Bench-201; `cell_nodes` places the nodes of a two-input cell), `new_axes` and
`titles` start a figure of another kind (a chain of blocks), `op_color` colours a
candidate, and `save_figure` writes any figure atomically. A DAG's figure carries its
graph as Graphviz DOT text (`attach_dot`), so it can be written as ``.dot`` too, and its
edge colours have a legend.

What `save_figure` writes can be changed for a block (`diagram_options`): other formats
(``pdf``, ``dot``) instead of the space's own, and a width in inches for a paper's column,
the whole drawing scaled to it, text and lines alike, as a document scales an image.

Text stays text in the SVG files, and every file is written atomically. Elements carry SVG
ids, by convention ``node-<key>``, ``edge-<source>-<target>``, ``block-<i>``, and
``label-<id>`` for the text of an element.
"""

from __future__ import annotations

import os
import re
import weakref
import zlib
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import matplotlib
import numpy as np
from matplotlib.backend_bases import RendererBase
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Circle, FancyArrowPatch, Patch
from matplotlib.path import Path
from matplotlib.text import Text
from matplotlib.transforms import Bbox

from ..utils.io import atomic_path, write_text

__all__ = [
    "CONCAT_COLOR",
    "INPUT_COLOR",
    "NODE_COLOR",
    "OUTPUT_COLOR",
    "PALETTE",
    "Edge",
    "Node",
    "add_legend",
    "attach_dot",
    "cell_nodes",
    "diagram_options",
    "dot_text",
    "draw_dag",
    "new_axes",
    "op_color",
    "save_figure",
    "titles",
    "unique_gid",
]

PALETTE = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
    "#bcbd22", "#17becf", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#3182bd",
    "#e6550d", "#31a354", "#756bb1", "#636363",
]  # fmt: skip
"""Colours for candidate names a space gives no colour."""
INPUT_COLOR, NODE_COLOR, OUTPUT_COLOR = "#b7e4c7", "#cfe2f3", "#ffe599"
CONCAT_COLOR = "#9a9a9a"
_INCH = 0.72  # inches per unit of the diagram's data coordinates
_RADIUS = 0.42  # of a DAG node
_DPI = 150
_LEGEND_COLUMNS = 4


def op_color(name: str, colors: Mapping[str, str] | None = None) -> str:
    """The colour of candidate `name`: from `colors` (a space's), or a fixed palette
    colour derived from the name."""
    if colors and name in colors:
        return colors[name]
    return PALETTE[zlib.crc32(name.encode("utf-8")) % len(PALETTE)]


FORMATS = ("svg", "png", "pdf", "dot")
"""The formats a diagram can be written in (``dot``: a DAG's graph, for Graphviz)."""


@dataclass(frozen=True)
class _Options:
    formats: tuple[str, ...] | None = None
    width: float | None = None


_OPTIONS: ContextVar[_Options | None] = ContextVar("diagram_options", default=None)
_DOT: weakref.WeakKeyDictionary[Figure, str] = weakref.WeakKeyDictionary()
# The legends of a figure with what made them: a legend lays its keys out in points when
# made, so a scaled figure makes them again at the scaled size.
_LEGENDS: weakref.WeakKeyDictionary[Figure, list[tuple[Any, list[Any], dict[str, Any]]]] = (
    weakref.WeakKeyDictionary()
)


@contextmanager
def diagram_options(
    *, formats: Sequence[str] | None = None, width: float | None = None
) -> Iterator[None]:
    """Within the block, `save_figure` writes `formats` (of `FORMATS`) in place of the
    ones asked for, at `width` inches (None: the figure's natural size).

    Example:
        >>> import tempfile
        >>> from nnabla_nas.contrib.registry import get_space
        >>> space, out = get_space("nb201"), tempfile.mkdtemp()
        >>> with diagram_options(formats=["pdf", "dot"], width=3.3):
        ...     paths = space.draw("|nor_conv_3x3~0|+|skip_connect~0|none~1|+"
        ...                        "|avg_pool_3x3~0|none~1|nor_conv_1x1~2|", out)
        >>> [os.path.basename(p) for p in paths]
        ['arch.pdf', 'arch.dot']
    """
    unknown = [f for f in formats or () if f not in FORMATS]
    if unknown or (formats is not None and not formats):
        raise ValueError(f"diagram formats are {', '.join(FORMATS)}; got {list(formats or [])}")
    if width is not None and not width > 0:
        raise ValueError(f"a diagram's width is a positive number of inches, got {width}")
    token = _OPTIONS.set(_Options(None if formats is None else tuple(formats), width))
    try:
        yield
    finally:
        _OPTIONS.reset(token)


def attach_dot(fig: Figure, text: str) -> None:
    """Keeps `text` (Graphviz DOT) as the graph form of `fig`, for a ``.dot`` path."""
    _DOT[fig] = text


def save_figure(fig: Figure, paths: Sequence[str], dpi: int = _DPI) -> list[str]:
    """Writes `fig` atomically to each of `paths`, in the format of its extension, or in
    the formats and width of `diagram_options`; returns the paths written.

    SVG files keep text as text and carry no date, so an unchanged figure gives the same
    file.

    Raises:
        ValueError: a ``.dot`` path for a figure that is not a DAG.
    """
    options = _OPTIONS.get() or _Options()
    if options.formats is not None:
        bases = dict.fromkeys(os.path.splitext(p)[0] for p in paths)
        paths = [f"{base}.{fmt}" for base in bases for fmt in options.formats]
    if options.width is not None:
        _scale(fig, options.width / fig.get_figwidth())
    rc = {"svg.fonttype": "none", "svg.hashsalt": "nnabla-nas"}
    with matplotlib.rc_context(rc):
        for path in paths:
            fmt = os.path.splitext(path)[1][1:].lower()
            if fmt == "dot":
                if fig not in _DOT:
                    raise ValueError(f"'{path}': this diagram is no graph, so it has no DOT form")
                write_text(path, _DOT[fig])
                continue
            metadata = {"Date": None} if fmt in ("svg", "pdf") else None
            with atomic_path(path) as tmp:
                fig.savefig(tmp, format=fmt, dpi=dpi, metadata=metadata)
    return list(paths)


def add_legend(ax: Any, handles: Sequence[Any], *, columns: int) -> None:
    """A legend of `handles` (proxy artists with labels) centred under the drawing of
    `ax`, in rows of at most `columns` keys."""
    kwargs = {"loc": "lower center", "ncol": min(len(handles), columns), "fontsize": 8,
              "frameon": False, "handlelength": 1.7, "borderaxespad": 0.2}  # fmt: skip
    ax.legend(handles=list(handles), **kwargs)
    _LEGENDS.setdefault(ax.figure, []).append((ax, list(handles), kwargs))


def _scale(fig: Figure, factor: float) -> None:
    """Scales `fig` by `factor`: its size, and with it every font and line width."""
    fig.set_size_inches(fig.get_figwidth() * factor, fig.get_figheight() * factor)
    for found in fig.findobj():
        if isinstance(found, Text):
            found.set_fontsize(float(found.get_fontsize()) * factor)
        elif isinstance(found, (Patch, Line2D)):
            found.set_linewidth(found.get_linewidth() * factor)
        if isinstance(found, FancyArrowPatch):
            found.set_mutation_scale(found.get_mutation_scale() * factor)
    for ax, handles, kwargs in _LEGENDS.get(fig, []):
        for handle in handles:  # proxies, outside the figure's tree
            handle.set_linewidth(handle.get_linewidth() * factor)
        kwargs["fontsize"] *= factor
        ax.legend(handles=handles, **kwargs)  # replaces the axes' legend


# -- directed acyclic graphs ------------------------------------------------------------


@dataclass(frozen=True)
class Node:
    key: str
    xy: tuple[float, float]
    label: str
    color: str


@dataclass(frozen=True)
class Edge:
    src: str
    dst: str
    label: str | None
    color: str
    gid: str
    dashed: bool = False


def _bezier(p0: np.ndarray, p2: np.ndarray, rad: float, t: np.ndarray) -> np.ndarray:
    """Points at parameters `t` of the curve matplotlib draws for ``arc3,rad=rad``."""
    d = p2 - p0
    control = (p0 + p2) / 2 + rad * np.array([d[1], -d[0]])
    t = t[:, None]
    return (1 - t) ** 2 * p0 + 2 * (1 - t) * t * control + t**2 * p2


def _clipped_curve(p0: np.ndarray, p2: np.ndarray, rad: float, gap: float) -> Path:
    """The ``arc3`` curve from `p0` to `p2` outside the node circles around both ends (the
    target's enlarged by `gap`), as a quadratic Bezier path."""
    t = np.linspace(0.0, 1.0, 801)
    curve = _bezier(p0, p2, rad, t)
    outside = (np.hypot(*(curve - p0).T) >= _RADIUS) & (np.hypot(*(curve - p2).T) >= _RADIUS + gap)
    inside = np.flatnonzero(outside)
    t0, t1 = (t[inside[0]], t[inside[-1]]) if len(inside) >= 2 else (0.0, 1.0)
    d = p2 - p0
    control = (p0 + p2) / 2 + rad * np.array([d[1], -d[0]])
    start, end = _bezier(p0, p2, rad, np.array([t0, t1]))
    tangent = 2 * (1 - t0) * (control - p0) + 2 * t0 * (p2 - control)
    middle = start + (t1 - t0) / 2 * tangent
    return Path([start, middle, end], [Path.MOVETO, Path.CURVE3, Path.CURVE3])


def _choose_rad(edge: Edge, pos: Mapping[str, np.ndarray]) -> float:
    """A curvature whose arc keeps clear of every other node, bowing away from ``y = 0``."""
    p0, p2 = pos[edge.src], pos[edge.dst]
    others = [p for key, p in pos.items() if key not in (edge.src, edge.dst)]
    middle = (p0[1] + p2[1]) / 2
    prefer = -1.0 if (middle >= 0) == (p2[0] >= p0[0]) else 1.0
    t = np.linspace(0.05, 0.95, 37)
    best, best_clearance = 0.0, -np.inf
    for size in (0.1, 0.2, 0.3, 0.42, 0.55):
        for rad in (prefer * size, -prefer * size):
            curve = _bezier(p0, p2, rad, t)
            clearance = min(
                (float(np.min(np.hypot(*(curve - p).T))) for p in others), default=np.inf
            )
            if clearance > 1.6 * _RADIUS:
                return rad
            if clearance > best_clearance:
                best, best_clearance = rad, clearance
    return best


def _overlap(box: Bbox, others: Sequence[Bbox]) -> float:
    total = 0.0
    for other in others:
        w = min(box.x1, other.x1) - max(box.x0, other.x0)
        h = min(box.y1, other.y1) - max(box.y0, other.y0)
        if w > 0 and h > 0:
            total += w * h
    return total


def _place_label(
    text: Text,
    spots: np.ndarray,
    obstacles: list[Bbox],
    curves: Sequence[np.ndarray],
    renderer: RendererBase,
) -> None:
    """Moves `text` to the first of `spots` that covers none of `obstacles` (display boxes)
    nor points of other `curves` (display coordinates), else to the least covering one;
    adds its box to `obstacles`."""
    best: tuple[float, tuple[float, float], Bbox] | None = None
    for x, y in spots:
        text.set_position((float(x), float(y)))
        box = text.get_window_extent(renderer).padded(5)
        crossed = sum(
            int(np.count_nonzero((c[:, 0] >= box.x0) & (c[:, 0] <= box.x1)
                                 & (c[:, 1] >= box.y0) & (c[:, 1] <= box.y1)))
            for c in curves
        )  # fmt: skip
        cost = _overlap(box, obstacles) + 400.0 * crossed
        if best is None or cost < best[0]:
            best = (cost, (float(x), float(y)), box)
        if cost == 0:
            break
    if best is not None:
        text.set_position(best[1])
        obstacles.append(best[2])


def new_axes(extent: tuple[float, float, float, float], inch: float) -> tuple[Figure, Any]:
    """A figure whose one axes spans it, showing `extent` at `inch` inches per unit."""
    x0, x1, y0, y1 = extent
    fig = Figure(figsize=((x1 - x0) * inch, (y1 - y0) * inch), dpi=_DPI)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_axis_off()
    return fig, ax


def titles(fig: Figure, title: str, subtitle: str | None) -> None:
    height = fig.get_figheight()
    fig.text(0.5, 1 - 0.12 / height, title, ha="center", va="top", fontsize=12, weight="bold")
    if subtitle:
        fig.text(0.5, 1 - 0.42 / height, subtitle, ha="center", va="top", fontsize=8, color="#444")


def draw_dag(
    nodes: Sequence[Node], edges: Sequence[Edge], title: str, subtitle: str | None = None
) -> Figure:
    """Draws nodes as circles and edges as curved arrows, each label on its own arc, with
    a legend of the labels' colours below; the figure carries the graph as DOT."""
    legend = list(dict.fromkeys((e.label, e.color) for e in edges if e.label and not e.dashed))
    pos = {n.key: np.asarray(n.xy, dtype=float) for n in nodes}
    rads = [_choose_rad(e, pos) for e in edges]
    samples = np.linspace(0.0, 1.0, 21)
    extent_points = np.vstack(
        [np.array([p + _RADIUS * np.array([sx, sy]) for p in pos.values()]) for sx in (-1, 1)
         for sy in (-1, 1)]
        + [_bezier(pos[e.src], pos[e.dst], r, samples) for e, r in zip(edges, rads, strict=True)]
    )  # fmt: skip
    top = 1.0 if subtitle else 0.75
    rows = -(-len(legend) // _LEGEND_COLUMNS)  # the legend's rows, under the graph
    extent = (
        float(extent_points[:, 0].min()) - 0.9,
        float(extent_points[:, 0].max()) + 0.9,
        float(extent_points[:, 1].min()) - 0.45 - 0.4 * rows,
        float(extent_points[:, 1].max()) + top,
    )
    fig, ax = new_axes(extent, _INCH)
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    obstacles: list[Bbox] = []
    for node in nodes:
        circle = Circle(node.xy, _RADIUS, fc=node.color, ec="#333333", lw=1.2, zorder=3)
        circle.set_gid(f"node-{node.key}")
        ax.add_patch(circle)
        ax.text(*node.xy, node.label, ha="center", va="center", fontsize=11, zorder=4)
        obstacles.append(circle.get_window_extent(renderer).padded(6))
    for edge, rad in zip(edges, rads, strict=True):
        arrow = FancyArrowPatch(
            path=_clipped_curve(pos[edge.src], pos[edge.dst], rad, 0.03), arrowstyle="-|>",
            mutation_scale=13, lw=1.2 if edge.dashed else 1.7, color=edge.color, zorder=2,
            linestyle=(0, (4, 3)) if edge.dashed else "-",
        )  # fmt: skip
        arrow.set_gid(edge.gid)
        ax.add_patch(arrow)
    # Short edges have the least room, so their labels are placed first.
    order = sorted(
        (i for i, e in enumerate(edges) if e.label),
        key=lambda i: float(np.hypot(*(pos[edges[i].dst] - pos[edges[i].src]))),
    )
    dense = np.linspace(0.0, 1.0, 120)
    curves = [
        ax.transData.transform(_bezier(pos[e.src], pos[e.dst], r, dense))
        for e, r in zip(edges, rads, strict=True)
    ]
    tried = np.array([0.5, 0.42, 0.58, 0.35, 0.65, 0.28, 0.72])
    for i in order:
        edge = edges[i]
        text = ax.text(
            0.0, 0.0, edge.label, ha="center", va="center", fontsize=8, color="#111111",
            zorder=5, bbox={"boxstyle": "round,pad=0.25", "fc": "white", "ec": edge.color,
                            "lw": 1.0},
        )  # fmt: skip
        text.set_gid(f"label-{edge.gid}")
        spots = _bezier(pos[edge.src], pos[edge.dst], rads[i], tried)
        others = [c for k, c in enumerate(curves) if k != i]
        _place_label(text, spots, obstacles, others, renderer)
    if legend:
        handles = [Line2D([0], [0], color=c, lw=2.5, label=name) for name, c in legend]
        add_legend(ax, handles, columns=_LEGEND_COLUMNS)
    titles(fig, title, subtitle)
    attach_dot(fig, dot_text(nodes, edges, title))
    return fig


def dot_text(nodes: Sequence[Node], edges: Sequence[Edge], title: str) -> str:
    """The graph of `nodes` and `edges` in Graphviz DOT: nodes filled with their colour,
    edges coloured, labelled and dashed as drawn."""

    def quote(text: str) -> str:
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'

    lines = [f"digraph {quote(title)} {{", "  rankdir=LR;", f"  label={quote(title)};",
             "  node [shape=circle, style=filled];"]  # fmt: skip
    for n in nodes:
        label = re.sub(r"[$\\]", "", n.label)  # mathtext such as $c_{k-2}$ as plain text
        lines.append(f"  {quote(n.key)} [label={quote(label)}, fillcolor={quote(n.color)}];")
    for e in edges:
        attrs = [f"color={quote(e.color)}"]
        attrs += [f"label={quote(e.label)}"] if e.label else []
        attrs += ["style=dashed"] if e.dashed else []
        lines.append(f"  {quote(e.src)} -> {quote(e.dst)} [{', '.join(attrs)}];")
    return "\n".join([*lines, "}", ""])


def cell_nodes(inner: Sequence[str]) -> list[Node]:
    """The nodes of a cell of two inputs: ``in0`` (``c_{k-2}``) and ``in1`` (``c_{k-1}``)
    on the left, the keys `inner` (labelled 0, 1, ...) in a zigzag, ``out`` (``c_{k}``) on
    the right."""
    step, first = 2.5, 2.8
    nodes = [
        Node("in0", (0.0, 1.75), "$c_{k-2}$", INPUT_COLOR),
        Node("in1", (0.0, -1.75), "$c_{k-1}$", INPUT_COLOR),
    ]
    for i, key in enumerate(inner):
        xy = (first + step * i, 0.95 if i % 2 == 0 else -0.95)
        nodes.append(Node(key, xy, str(i), NODE_COLOR))
    nodes.append(Node("out", (2 * first + step * (len(inner) - 1), 0.0), "$c_{k}$", OUTPUT_COLOR))
    return nodes


def unique_gid(gid: str, seen: dict[str, int]) -> str:
    """`gid`, or ``gid-<n>`` when `seen` already counts it (parallel edges)."""
    seen[gid] = seen.get(gid, 0) + 1
    return gid if seen[gid] == 1 else f"{gid}-{seen[gid]}"
