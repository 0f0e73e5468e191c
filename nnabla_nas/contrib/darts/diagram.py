"""Diagrams of a DARTS genotype: one DAG per cell type, and the candidates' colours.

The cell inputs ``c_{k-2}`` and ``c_{k-1}`` sit on the left, the intermediate nodes in a
zigzag and the output ``c_{k}`` on the right; an edge is coloured by its op and labelled
with it, the dashed grey edges carry the states concatenated into the output. SVG ids:
``node-<key>``, ``edge-<source>-<target>``, ``concat-<source>``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

from matplotlib.figure import Figure

from ...visualize.diagrams import (
    CONCAT_COLOR,
    Edge,
    cell_nodes,
    draw_dag,
    op_color,
    save_figure,
    unique_gid,
)
from .genotype import CELL_TYPES, validate_genotype

__all__ = ["COLORS", "draw_darts"]

COLORS: dict[str, str] = {
    "sep_conv_3x3": "#1f77b4",
    "sep_conv_5x5": "#17becf",
    "dil_conv_3x3": "#2ca02c",
    "dil_conv_5x5": "#9467bd",
    "max_pool_3x3": "#d62728",
    "avg_pool_3x3": "#ff7f0e",
    "skip_connect": "#7f7f7f",
    "none": "#bcbd22",
}
"""The colour of each built-in DARTS candidate."""


def _cell_figure(entries: Sequence[Sequence[Any]], concat: Sequence[int], kind: str) -> Figure:
    nodes = cell_nodes([f"n{i}" for i in range(len(entries) // 2)])

    def key(state: int) -> str:
        return f"in{state}" if state < 2 else f"n{state - 2}"

    seen: dict[str, int] = {}
    edges = [
        Edge(key(int(j)), f"n{k // 2}", str(op), op_color(str(op), COLORS),
             unique_gid(f"edge-{key(int(j))}-n{k // 2}", seen))
        for k, (op, j) in enumerate(entries)
    ]  # fmt: skip
    edges += [
        Edge(key(s), "out", None, CONCAT_COLOR, f"concat-{key(s)}", dashed=True) for s in concat
    ]
    title = "normal cell" if kind == "normal" else "reduction cell"
    return draw_dag(nodes, edges, title, "dashed: concatenated into the output")


def draw_darts(genotype: Mapping[str, Any], out_dir: str, stem: str = "arch") -> list[str]:
    """Draws both cells of a DARTS genotype to ``<stem>_normal`` and ``<stem>_reduce``
    (``.svg`` and ``.png``) in `out_dir`; returns the paths written.

    Raises:
        ValueError: `genotype` is not a valid DARTS genotype.
    """
    checked = validate_genotype(genotype)
    paths: list[str] = []
    for kind in CELL_TYPES:
        fig = _cell_figure(checked[kind], checked[f"{kind}_concat"], kind)
        base = os.path.join(out_dir, f"{stem}_{kind}")
        paths += save_figure(fig, [f"{base}.svg", f"{base}.png"])
    return paths
