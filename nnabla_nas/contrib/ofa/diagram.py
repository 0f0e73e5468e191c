"""Diagram of an OFA architecture: one row per stage, between the fixed stem and head.

A block's colour gives its kernel size, its height the expansion ratio; the slots past a
stage's depth (up to the largest depth) are dashed and empty. SVG ids: ``stage<s>-block<b>``
(from 1) for the blocks, ``stage<s>-unused<b>`` for the empty slots, ``stem``, ``first``,
``head``, ``classifier``.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Mapping
from typing import Any, NamedTuple

from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Patch

from ...visualize.diagrams import add_legend, new_axes, save_figure, titles
from .arch import EXPAND_RATIOS, MAX_DEPTH, SETTINGS

__all__ = ["COLORS", "draw_ofa"]

COLORS: dict[str, str] = {
    # kernel 3 blue, 5 green, 7 orange (as the MobileNetV2 space's); expansion greys
    "k3": "#3182bd",
    "k5": "#31a354",
    "k7": "#e6550d",
    "e3": "#bdbdbd",
    "e4": "#969696",
    "e6": "#525252",
}
"""The colour of each kernel size (``k<size>``) and expansion ratio (``e<ratio>``)."""

_FACES = {3: "#deebf7", 5: "#e5f5e0", 7: "#fee6ce"}
_FIXED = ("#f2f2f2", "#555555")
_WIDTH, _GAP, _PITCH = 1.05, 0.35, 1.9
_LEFT = 2.3  # room for the stage labels


class _Box(NamedTuple):
    gid: str
    text: str
    x: float
    y: float
    height: float
    face: str
    edge: str
    dashed: bool = False


def _rows(record: Mapping[str, Any]) -> list[list[_Box]]:
    fixed = [("stem", "stem\nconv 3x3"), ("first", "first block\nk3 e1")]
    rows = [[_Box(gid, text, _LEFT + i * (_WIDTH + _GAP), 0.0, 0.9, *_FIXED)
             for i, (gid, text) in enumerate(fixed)]]  # fmt: skip
    for s, stage in enumerate(record["stages"], start=1):
        y, row = -s * _PITCH, []
        for b in range(1, MAX_DEPTH + 1):
            x = _LEFT + (b - 1) * (_WIDTH + _GAP)
            if b > stage["depth"]:
                row.append(_Box(f"stage{s}-unused{b}", "", x, y, 0.9, "#ffffff", "#bbbbbb", True))
                continue
            block = stage["blocks"][b - 1]
            k, e = block["kernel"], block["expand"]
            height = 0.8 + 0.12 * EXPAND_RATIOS.index(e) * 2
            row.append(_Box(f"stage{s}-block{b}", f"k{k} e{e}", x, y, height, _FACES[k],
                            COLORS[f"k{k}"]))  # fmt: skip
        rows.append(row)
    y = -(len(record["stages"]) + 1) * _PITCH
    tail = [("head", "head\nconv 1x1"), ("classifier", "pool, fc\nclassifier")]
    rows.append([_Box(gid, text, _LEFT + i * (_WIDTH + _GAP), y, 0.9, *_FIXED)
                 for i, (gid, text) in enumerate(tail)])  # fmt: skip
    return rows


def _arrow(ax: Any, start: tuple[float, float], end: tuple[float, float]) -> None:
    ax.add_patch(FancyArrowPatch(
        start, end, arrowstyle="-|>", mutation_scale=9, color="#444444", lw=1.0, shrinkA=0,
        shrinkB=0, zorder=2,
    ))  # fmt: skip


def _figure(record: Mapping[str, Any]) -> Figure:
    rows = _rows(record)
    right = _LEFT + MAX_DEPTH * (_WIDTH + _GAP)
    fig, ax = new_axes((0.0, right + 0.2, -(len(rows) - 1) * _PITCH - 1.6, 1.7), 0.7)
    specs = SETTINGS["imagenet"].stages  # activations and SE are the same in every setting
    for r, row in enumerate(rows):
        active = [b for b in row if not b.dashed]
        for box in row:
            patch = FancyBboxPatch(
                (box.x, box.y - box.height / 2), _WIDTH, box.height,
                boxstyle="round,pad=0,rounding_size=0.1", fc=box.face, ec=box.edge, lw=1.2,
                linestyle=(0, (3, 2)) if box.dashed else "-", zorder=3,
            )  # fmt: skip
            patch.set_gid(box.gid)
            ax.add_patch(patch)
            ax.text(box.x + _WIDTH / 2, box.y, box.text, ha="center", va="center", fontsize=7.5,
                    zorder=4)  # fmt: skip
        for a, b in itertools.pairwise(active):
            _arrow(ax, (a.x + _WIDTH, a.y), (b.x, b.y))
        if 1 <= r <= len(specs):
            spec = specs[r - 1]
            label = f"stage {r}\n{spec.activation}" + (", SE" if spec.use_se else "")
            ax.text(0.15, row[0].y, label, ha="left", va="center", fontsize=8, color="#333333")
        if r + 1 < len(rows):  # from this row's last block to the next row's first
            last, below = active[-1], rows[r + 1][0]
            x0, x1, middle = last.x + _WIDTH / 2, below.x + _WIDTH / 2, row[0].y - _PITCH / 2
            ax.plot([x0, x0, x1], [last.y - last.height / 2, middle, middle], color="#444444",
                    lw=1.0, zorder=2)  # fmt: skip
            _arrow(ax, (x1, middle), (x1, below.y + below.height / 2))
    handles = [Patch(fc=_FACES[k], ec=COLORS[f"k{k}"], label=f"kernel {k}x{k}") for k in _FACES]
    handles.append(Patch(fc="#ffffff", ec="#bbbbbb", linestyle="--", label="past the depth"))
    add_legend(ax, handles, columns=len(handles))
    resolution = f", input {record['resolution']}" if "resolution" in record else ""
    titles(fig, f"Once-for-All MobileNetV3{resolution}", "box height: expansion ratio (e3, e4, e6)")
    return fig


def draw_ofa(record: Mapping[str, Any], out_dir: str, stem: str = "arch") -> list[str]:
    """Draws a validated OFA architecture to ``<stem>.svg`` and ``<stem>.png`` in
    `out_dir`; returns the paths written."""
    base = os.path.join(out_dir, stem)
    return save_figure(_figure(record), [f"{base}.svg", f"{base}.png"])
