"""Diagram of a MobileNetV2 genotype (the chain of stem, blocks and head), and colours.

The chain wraps into rows. A block's colour and width give its kernel size, its height
the expansion ratio; a 'skip' is a dashed grey box. SVG ids: ``block-<i>`` for the
searchable blocks, ``fixed-<r>`` for the first stage's, ``stem``, ``head``.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Patch

from ...visualize.diagrams import add_legend, new_axes, save_figure, titles
from .arch import (
    HEAD_CHANNELS,
    SETTINGS,
    STEM_CHANNELS,
    Block,
    plan_blocks,
    resolve_stages,
    validate_genotype,
)

__all__ = ["COLORS", "draw_mobilenet"]

COLORS: dict[str, str] = {
    # kernel 3 blue, 5 green, 7 orange; expansion 6 darker
    "k3_e3": "#6baed6",
    "k3_e6": "#08519c",
    "k5_e3": "#74c476",
    "k5_e6": "#006d2c",
    "k7_e3": "#fd8d3c",
    "k7_e6": "#a63603",
    "skip": "#7f7f7f",
}
"""The colour of each built-in MobileNetV2 candidate (in plots; diagrams use styles)."""

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


def _block_box(gid: str, name: str, block: Block, fixed: bool) -> _Box:
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
    stages = resolve_stages(settings, record.get("stages"))
    stem_stride = SETTINGS[settings].stem_stride
    stem_text = f"stem\nconv 3x3\n{STEM_CHANNELS} ch" + (
        f", s{stem_stride}" if stem_stride > 1 else ""
    )
    boxes = [
        _Box("input", "input", 0.9, 0.8, "#ffffff", "#555555"),
        _Box("stem", stem_text, 1.15, 1.3, *_OTHER_STYLE),
    ]
    names = iter(record["blocks"])
    searchable = 0
    for block in plan_blocks(stages):
        if block.searchable:
            boxes.append(_block_box(f"block-{searchable}", next(names), block, False))
            searchable += 1
        else:
            name = f"k3_e{block.expansion}"
            boxes.append(_block_box(f"fixed-{block.repeat}", name, block, True))
    head = f"head\nconv 1x1\n{HEAD_CHANNELS} ch"
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
    fig, ax = new_axes(extent, 0.62)
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
    add_legend(ax, handles, columns=len(handles))
    custom = ", custom stages" if "stages" in record else ""
    subtitle = (
        "box height: expansion ratio (k<kernel>_e<expansion>); s2: stride 2; channels at "
        "width_mult 1"
    )
    titles(fig, f"MobileNetV2 ({record['settings']}{custom})", subtitle)
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
    fig = _mobilenet_figure(validate_genotype(genotype))
    base = os.path.join(out_dir, stem)
    return save_figure(fig, [f"{base}.svg", f"{base}.png"])
