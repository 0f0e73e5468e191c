"""Diagrams of a derived architecture (an ``arch.json``), drawn with matplotlib as SVG and PNG.

Three formats are recognised (`architecture_kind`):

- a DARTS genotype (`contrib.darts.genotype`; the PNAS space writes the same): one
  diagram per cell type, ``<stem>_normal`` and ``<stem>_reduce``. The cell inputs
  ``c_{k-2}`` and ``c_{k-1}`` sit on the left, the intermediate nodes in a zigzag and the
  output ``c_{k}`` on the right; an edge is coloured by its op and labelled with it, the
  dashed grey edges carry the states concatenated into the output.
- a MobileNetV2 genotype (`contrib.mobilenet.arch`): ``<stem>``, the chain of stem,
  blocks and head, wrapped into rows. A block's colour and width give its kernel size,
  its height the expansion ratio; a 'skip' is a dashed grey box.
- a NAS-Bench-201 cell (`contrib.nb201.arch`: the record or the string): ``<stem>``, the
  4-node DAG; ``'none'`` edges are left out.

Text stays text in the SVG files, and every file is written atomically. Elements carry SVG
ids: ``node-<key>``, ``edge-<source>-<target>``, ``concat-<source>``, ``block-<i>``, and
``label-<id>`` for the text of an element.
"""

from __future__ import annotations

import math
import os
import re
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import matplotlib
import numpy as np
from matplotlib.backend_bases import RendererBase
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch, Patch
from matplotlib.path import Path
from matplotlib.text import Text
from matplotlib.transforms import Bbox

from ..contrib.darts import genotype as darts_genotype
from ..contrib.mobilenet import arch as mobilenet_arch
from ..contrib.nb201 import arch as nb201_arch
from ..utils.io import atomic_path, read_json

__all__ = [
    "FORMATS",
    "OP_COLORS",
    "PALETTE",
    "architecture_kind",
    "draw_architecture",
    "draw_darts",
    "draw_mobilenet",
    "draw_nb201",
    "op_color",
    "save_figure",
]

FORMATS = {
    "darts": "a DARTS genotype {'normal', 'normal_concat', 'reduce', 'reduce_concat'}",
    "mobilenet": "a MobileNetV2 genotype {'settings', 'blocks'} (optionally 'stages')",
    "nb201": "a NAS-Bench-201 record {'arch': '|op~0|+|op~0|op~1|+|op~0|op~1|op~2|', 'ops'}"
    " or its string",
}
"""The architectures `draw_architecture` draws, by kind."""

OP_COLORS: dict[str, str] = {
    # DARTS
    "sep_conv_3x3": "#1f77b4",
    "sep_conv_5x5": "#17becf",
    "dil_conv_3x3": "#2ca02c",
    "dil_conv_5x5": "#9467bd",
    "max_pool_3x3": "#d62728",
    "avg_pool_3x3": "#ff7f0e",
    "skip_connect": "#7f7f7f",
    "none": "#bcbd22",
    # NAS-Bench-201 (with avg_pool_3x3, skip_connect and none above)
    "nor_conv_1x1": "#8c564b",
    "nor_conv_3x3": "#e377c2",
    # MobileNetV2: kernel 3 blue, 5 green, 7 orange; expansion 6 darker
    "k3_e3": "#6baed6",
    "k3_e6": "#08519c",
    "k5_e3": "#74c476",
    "k5_e6": "#006d2c",
    "k7_e3": "#fd8d3c",
    "k7_e6": "#a63603",
    "skip": "#7f7f7f",
}
"""The colour of each built-in candidate, shared by the diagrams and the plots."""

PALETTE = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
    "#bcbd22", "#17becf", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#3182bd",
    "#e6550d", "#31a354", "#756bb1", "#636363",
]  # fmt: skip
"""Colours for names without one in `OP_COLORS`."""
_INPUT_COLOR, _NODE_COLOR, _OUTPUT_COLOR = "#b7e4c7", "#cfe2f3", "#ffe599"
_CONCAT_COLOR = "#9a9a9a"
_INCH = 0.72  # inches per unit of the diagram's data coordinates
_RADIUS = 0.42  # of a DAG node
_DPI = 150


def op_color(name: str) -> str:
    """The colour of candidate `name`: `OP_COLORS`, or a fixed one derived from the name."""
    if name in OP_COLORS:
        return OP_COLORS[name]
    return PALETTE[zlib.crc32(name.encode("utf-8")) % len(PALETTE)]


def save_figure(fig: Figure, paths: Sequence[str], dpi: int = _DPI) -> list[str]:
    """Writes `fig` atomically to each of `paths`, in the format of its extension.

    SVG files keep text as text and carry no date, so an unchanged figure gives the same
    file. Returns the paths.
    """
    rc = {"svg.fonttype": "none", "svg.hashsalt": "nnabla-nas"}
    with matplotlib.rc_context(rc):
        for path in paths:
            fmt = os.path.splitext(path)[1][1:].lower()
            metadata = {"Date": None} if fmt == "svg" else None
            with atomic_path(path) as tmp:
                fig.savefig(tmp, format=fmt, dpi=dpi, metadata=metadata)
    return list(paths)


# -- directed acyclic graphs ------------------------------------------------------------


@dataclass(frozen=True)
class _Node:
    key: str
    xy: tuple[float, float]
    label: str
    color: str


@dataclass(frozen=True)
class _Edge:
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


def _choose_rad(edge: _Edge, pos: Mapping[str, np.ndarray]) -> float:
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


def _new_axes(extent: tuple[float, float, float, float], inch: float) -> tuple[Figure, Any]:
    """A figure whose one axes spans it, showing `extent` at `inch` inches per unit."""
    x0, x1, y0, y1 = extent
    fig = Figure(figsize=((x1 - x0) * inch, (y1 - y0) * inch), dpi=_DPI)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_axis_off()
    return fig, ax


def _titles(fig: Figure, title: str, subtitle: str | None) -> None:
    height = fig.get_figheight()
    fig.text(0.5, 1 - 0.12 / height, title, ha="center", va="top", fontsize=12, weight="bold")
    if subtitle:
        fig.text(0.5, 1 - 0.42 / height, subtitle, ha="center", va="top", fontsize=8, color="#444")


def _draw_dag(
    nodes: Sequence[_Node], edges: Sequence[_Edge], title: str, subtitle: str | None = None
) -> Figure:
    """Draws nodes as circles and edges as curved arrows, each label on its own arc."""
    pos = {n.key: np.asarray(n.xy, dtype=float) for n in nodes}
    rads = [_choose_rad(e, pos) for e in edges]
    samples = np.linspace(0.0, 1.0, 21)
    extent_points = np.vstack(
        [np.array([p + _RADIUS * np.array([sx, sy]) for p in pos.values()]) for sx in (-1, 1)
         for sy in (-1, 1)]
        + [_bezier(pos[e.src], pos[e.dst], r, samples) for e, r in zip(edges, rads, strict=True)]
    )  # fmt: skip
    top = 1.0 if subtitle else 0.75
    extent = (
        float(extent_points[:, 0].min()) - 0.9,
        float(extent_points[:, 0].max()) + 0.9,
        float(extent_points[:, 1].min()) - 0.45,
        float(extent_points[:, 1].max()) + top,
    )
    fig, ax = _new_axes(extent, _INCH)
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
    _titles(fig, title, subtitle)
    return fig


def _unique_gid(gid: str, seen: dict[str, int]) -> str:
    seen[gid] = seen.get(gid, 0) + 1
    return gid if seen[gid] == 1 else f"{gid}-{seen[gid]}"


def _darts_figure(entries: Sequence[Sequence[Any]], concat: Sequence[int], kind: str) -> Figure:
    num_nodes = len(entries) // 2
    step, first = 2.5, 2.8
    nodes = [
        _Node("in0", (0.0, 1.75), "$c_{k-2}$", _INPUT_COLOR),
        _Node("in1", (0.0, -1.75), "$c_{k-1}$", _INPUT_COLOR),
    ]
    for i in range(num_nodes):
        nodes.append(_Node(f"n{i}", (first + step * i, 0.95 if i % 2 == 0 else -0.95), str(i),
                           _NODE_COLOR))  # fmt: skip
    nodes.append(_Node("out", (2 * first + step * (num_nodes - 1), 0.0), "$c_{k}$", _OUTPUT_COLOR))

    def key(state: int) -> str:
        return f"in{state}" if state < 2 else f"n{state - 2}"

    seen: dict[str, int] = {}
    edges = [
        _Edge(key(int(j)), f"n{k // 2}", str(op), op_color(str(op)),
              _unique_gid(f"edge-{key(int(j))}-n{k // 2}", seen))
        for k, (op, j) in enumerate(entries)
    ]  # fmt: skip
    edges += [
        _Edge(key(s), "out", None, _CONCAT_COLOR, f"concat-{key(s)}", dashed=True) for s in concat
    ]
    title = "normal cell" if kind == "normal" else "reduction cell"
    return _draw_dag(nodes, edges, title, "dashed: concatenated into the output")


def draw_darts(genotype: Mapping[str, Any], out_dir: str, stem: str = "arch") -> list[str]:
    """Draws both cells of a DARTS genotype to ``<stem>_normal`` and ``<stem>_reduce``
    (``.svg`` and ``.png``) in `out_dir`; returns the paths written.

    Raises:
        ValueError: `genotype` is not a valid DARTS genotype.
    """
    checked = darts_genotype.validate_genotype(genotype)
    paths: list[str] = []
    for kind in darts_genotype.CELL_TYPES:
        fig = _darts_figure(checked[kind], checked[f"{kind}_concat"], kind)
        base = os.path.join(out_dir, f"{stem}_{kind}")
        paths += save_figure(fig, [f"{base}.svg", f"{base}.png"])
    return paths


def draw_nb201(arch: nb201_arch.ArchLike, out_dir: str, stem: str = "arch") -> list[str]:
    """Draws a NAS-Bench-201 cell (string, op list or record) to ``<stem>.svg`` and
    ``<stem>.png`` in `out_dir`; ``'none'`` edges are left out. Returns the paths written.

    Raises:
        ValueError: `arch` is not a valid NAS-Bench-201 architecture.
    """
    ops = nb201_arch.as_ops(arch)
    xy = [(0.0, 0.0), (2.7, 1.35), (5.4, -1.35), (8.1, 0.0)]
    colors = [_INPUT_COLOR, _NODE_COLOR, _NODE_COLOR, _OUTPUT_COLOR]
    nodes = [_Node(f"n{i}", xy[i], str(i), colors[i]) for i in range(nb201_arch.NUM_NODES)]
    edges = [
        _Edge(f"n{i}", f"n{j}", op, op_color(op), f"edge-n{i}-n{j}")
        for (i, j), op in zip(nb201_arch.EDGES, ops, strict=True)
        if op != "none"
    ]
    fig = _draw_dag(nodes, edges, "NAS-Bench-201 cell", nb201_arch.format_arch(ops))
    base = os.path.join(out_dir, stem)
    return save_figure(fig, [f"{base}.svg", f"{base}.png"])


# -- MobileNetV2 ------------------------------------------------------------------------

_KERNEL_STYLES = {3: ("#deebf7", "#3182bd"), 5: ("#e5f5e0", "#31a354"), 7: ("#fee6ce", "#e6550d")}
_OTHER_STYLE = ("#f2f2f2", "#555555")
_SKIP_STYLE = ("#ffffff", "#8c8c8c")
_CANDIDATE = re.compile(r"k(\d+)_e(\d+)")
_PER_ROW = 9
_GAP = 0.5


@dataclass(frozen=True)
class _Box:
    gid: str
    text: str
    width: float
    height: float
    face: str
    edge: str
    dashed: bool = False
    stage: int | None = None


def _block_box(gid: str, name: str, block: mobilenet_arch.Block, fixed: bool) -> _Box:
    shape = f"{block.out_channels} ch" + (f", s{block.stride}" if block.stride > 1 else "")
    if name == "skip":
        return _Box(gid, f"skip\n{shape}", 0.95, 0.9, *_SKIP_STYLE, True, block.stage)
    match = _CANDIDATE.fullmatch(name)
    kernel, expansion = (int(match[1]), int(match[2])) if match else (0, block.expansion)
    face, edge = _KERNEL_STYLES.get(kernel, _OTHER_STYLE)
    width = 0.85 + 0.1 * kernel if match else 1.2
    height = min(1.0 + 0.08 * expansion, 1.6)
    text = f"{name}\n{shape}" + ("\nfixed" if fixed else "")
    return _Box(gid, text, width, height, face, edge, False, block.stage)


def _mobilenet_boxes(record: Mapping[str, Any]) -> list[_Box]:
    settings = record["settings"]
    stages = mobilenet_arch.resolve_stages(settings, record.get("stages"))
    stem_stride = mobilenet_arch.SETTINGS[settings].stem_stride
    stem_text = f"stem\nconv 3x3\n{mobilenet_arch.STEM_CHANNELS} ch" + (
        f", s{stem_stride}" if stem_stride > 1 else ""
    )
    boxes = [
        _Box("input", "input", 0.9, 0.8, "#ffffff", "#555555"),
        _Box("stem", stem_text, 1.15, 1.3, *_OTHER_STYLE),
    ]
    names = iter(record["blocks"])
    searchable = 0
    for block in mobilenet_arch.plan_blocks(stages):
        if block.searchable:
            boxes.append(_block_box(f"block-{searchable}", next(names), block, False))
            searchable += 1
        else:
            name = f"k3_e{block.expansion}"
            boxes.append(_block_box(f"fixed-{block.repeat}", name, block, True))
    head = f"head\nconv 1x1\n{mobilenet_arch.HEAD_CHANNELS} ch"
    boxes.append(_Box("head", head, 1.15, 1.3, *_OTHER_STYLE))
    boxes.append(_Box("classifier", "pool\nfc", 0.9, 0.8, "#ffffff", "#555555"))
    return boxes


def _mobilenet_figure(record: Mapping[str, Any]) -> Figure:
    boxes = _mobilenet_boxes(record)
    per_row = math.ceil(len(boxes) / math.ceil(len(boxes) / _PER_ROW))  # rows of even length
    rows = [boxes[i : i + per_row] for i in range(0, len(boxes), per_row)]
    pitch = 2.6
    centers: list[tuple[float, float]] = []
    for r, row in enumerate(rows):
        x = 0.0
        for box in row:
            centers.append((x + box.width / 2, -r * pitch))
            x += box.width + _GAP
    width = max(sum(b.width for b in row) + _GAP * (len(row) - 1) for row in rows)
    extent = (-0.6, width + 0.6, -(len(rows) - 1) * pitch - 1.75, 2.2)
    fig, ax = _new_axes(extent, 0.62)
    for box, (cx, cy) in zip(boxes, centers, strict=True):
        patch = FancyBboxPatch(
            (cx - box.width / 2, cy - box.height / 2), box.width, box.height,
            boxstyle="round,pad=0,rounding_size=0.12", fc=box.face, ec=box.edge,
            lw=1.3, linestyle=(0, (4, 2)) if box.dashed else "-", zorder=3,
        )  # fmt: skip
        patch.set_gid(box.gid)
        ax.add_patch(patch)
        color = "#666666" if box.dashed else "#111111"
        label = ax.text(cx, cy, box.text, ha="center", va="center", fontsize=7.5, color=color,
                        linespacing=1.25, zorder=4)  # fmt: skip
        label.set_gid(f"label-{box.gid}")
    _stage_bands(ax, boxes, centers)

    def arrow(start: tuple[float, float], end: tuple[float, float]) -> FancyArrowPatch:
        return FancyArrowPatch(
            start, end, arrowstyle="-|>", mutation_scale=10, color="#444444", lw=1.1,
            shrinkA=0, shrinkB=0, zorder=2,
        )  # fmt: skip

    for k in range(len(boxes) - 1):
        (x0, y0), (x1, y1) = centers[k], centers[k + 1]
        a, b = boxes[k], boxes[k + 1]
        if y0 == y1:
            start, end = (x0 + a.width / 2, y0), (x1 - b.width / 2, y1)
            ax.add_patch(arrow(start, end))
            continue
        middle = y0 - pitch / 2 + 0.05
        ax.plot([x0, x0, x1], [y0 - a.height / 2, middle, middle], color="#444444", lw=1.1)
        end = (x1, y1 + b.height / 2)
        ax.add_patch(arrow((x1, middle), end))
    handles = [
        Patch(fc=_KERNEL_STYLES[k][0], ec=_KERNEL_STYLES[k][1], label=f"kernel {k}x{k}")
        for k in sorted(_KERNEL_STYLES)
    ]
    handles.append(Patch(fc=_SKIP_STYLE[0], ec=_SKIP_STYLE[1], linestyle="--", label="skip"))
    ax.legend(handles=handles, loc="lower center", ncol=len(handles), fontsize=8,
              frameon=False, handlelength=1.6)  # fmt: skip
    custom = ", custom stages" if "stages" in record else ""
    subtitle = (
        "box height: expansion ratio (k<kernel>_e<expansion>); s2: stride 2; channels at "
        "width_mult 1"
    )
    _titles(fig, f"MobileNetV2 ({record['settings']}{custom})", subtitle)
    return fig


def _stage_bands(ax: Any, boxes: Sequence[_Box], centers: Sequence[tuple[float, float]]) -> None:
    """A light band behind the blocks of each stage (per row), labelled above its left end."""
    groups: list[list[int]] = []
    for k, box in enumerate(boxes):
        same = groups and boxes[groups[-1][-1]].stage == box.stage
        if box.stage is not None and same and centers[groups[-1][-1]][1] == centers[k][1]:
            groups[-1].append(k)
        elif box.stage is not None:
            groups.append([k])
    for group in groups:
        left = centers[group[0]][0] - boxes[group[0]].width / 2 - 0.14
        right = centers[group[-1]][0] + boxes[group[-1]].width / 2 + 0.14
        y = centers[group[0]][1]
        stage = boxes[group[0]].stage or 0
        face = "#f4f4f4" if stage % 2 == 0 else "#e9e9e9"
        band = FancyBboxPatch(
            (left, y - 0.95), right - left, 1.9, boxstyle="round,pad=0,rounding_size=0.15",
            fc=face, ec="none", zorder=1,
        )  # fmt: skip
        ax.add_patch(band)
        ax.text(left + 0.08, y + 0.98, f"stage {stage}", ha="left", va="bottom", fontsize=7,
                color="#555555")  # fmt: skip


def draw_mobilenet(genotype: Mapping[str, Any], out_dir: str, stem: str = "arch") -> list[str]:
    """Draws a MobileNetV2 genotype to ``<stem>.svg`` and ``<stem>.png`` in `out_dir`;
    returns the paths written.

    Raises:
        ValueError: `genotype` is not a valid MobileNetV2 genotype.
    """
    fig = _mobilenet_figure(mobilenet_arch.validate_genotype(genotype))
    base = os.path.join(out_dir, stem)
    return save_figure(fig, [f"{base}.svg", f"{base}.png"])


# -- any architecture -------------------------------------------------------------------


def _expected() -> str:
    return "; ".join(FORMATS.values())


def architecture_kind(arch: Any) -> str:
    """Which of `FORMATS` `arch` looks like (by its keys; it is validated when drawn).

    Raises:
        ValueError: none of them, naming the expected formats.
    """
    if isinstance(arch, str) and arch.startswith("|"):
        return "nb201"
    if not isinstance(arch, Mapping):
        raise ValueError(
            f"cannot draw an architecture of type {type(arch).__name__}; expected {_expected()}"
        )
    keys = set(arch)
    if keys and keys <= set(darts_genotype.GENOTYPE_KEYS) and {"normal", "reduce"} & keys:
        return "darts"
    if {"settings", "blocks"} & keys and keys <= set(mobilenet_arch.GENOTYPE_KEYS):
        return "mobilenet"
    if keys and keys <= {"arch", "ops"}:
        return "nb201"
    raise ValueError(
        f"cannot draw an architecture with keys {sorted(map(str, keys))}; expected {_expected()}"
    )


def draw_architecture(arch: Mapping[str, Any] | str, out_dir: str, stem: str = "arch") -> list[str]:
    """Draws an architecture of any of `FORMATS` into `out_dir`; returns the paths written.

    Args:
        arch: the architecture, or the path of its JSON file (e.g. a run's ``arch.json``);
            a str starting with ``'|'`` is a NAS-Bench-201 string.
        stem: the file name without extension (a DARTS genotype adds ``_normal`` and
            ``_reduce``).

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: the file is not JSON, the architecture is none of `FORMATS`, or it is
            not valid (the message says which format and what is wrong).
    """
    source: str | None = None
    data: Any = arch
    if isinstance(arch, str) and not arch.startswith("|"):
        source = arch
        data = read_json(arch, "architecture")
    where = f"architecture file '{source}': " if source else ""
    try:
        kind = architecture_kind(data)
    except ValueError as err:
        raise ValueError(f"{where}{err}") from None
    try:
        return _DRAW[kind](data, out_dir, stem)
    except ValueError as err:
        raise ValueError(f"{where}invalid {_NAMES[kind]}: {err}") from None


_NAMES = {
    "darts": "DARTS genotype",
    "mobilenet": "MobileNetV2 genotype",
    "nb201": "NAS-Bench-201 architecture",
}
_DRAW: dict[str, Callable[[Any, str, str], list[str]]] = {
    "darts": draw_darts,
    "mobilenet": draw_mobilenet,
    "nb201": draw_nb201,
}
