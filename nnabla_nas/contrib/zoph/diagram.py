"""Diagrams of a Zoph genotype: one DAG per cell type, and the operations' colours.

The cell inputs ``c_{k-2}`` and ``c_{k-1}`` sit on the left, the blocks (each the sum of
its two pairs) in a zigzag and the output ``c_{k}`` on the right; a pair is an edge from
its input to its block, coloured by its op and labelled with it, and the dashed grey
edges carry the unused blocks concatenated into the output. SVG ids: ``node-<key>``,
``edge-<source>-<target>``, ``concat-<source>``.
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
from .genotype import CELL_INPUTS, CELL_TYPES, unused_blocks, validate_genotype

__all__ = ["COLORS", "draw_zoph"]

# The names the DARTS space shares keep its colours.
COLORS: dict[str, str] = {
    "identity": "#7f7f7f",
    "sep_conv_3x3": "#1f77b4",
    "sep_conv_5x5": "#17becf",
    "sep_conv_7x7": "#393b79",
    "dil_conv_3x3": "#2ca02c",
    "conv_1x3_3x1": "#e377c2",
    "conv_1x7_7x1": "#9467bd",
    "conv_1x1": "#8c564b",
    "conv_3x3": "#637939",
    "avg_pool_3x3": "#ff7f0e",
    "max_pool_3x3": "#d62728",
    "max_pool_5x5": "#843c39",
    "max_pool_7x7": "#7b4173",
}
"""The colour of each registered NASNet operation."""


def _key(state: int) -> str:
    return f"in{state}" if state < CELL_INPUTS else f"b{state - CELL_INPUTS}"


def _cell_figure(blocks: Sequence[Sequence[Sequence[Any]]], kind: str) -> Figure:
    nodes = cell_nodes([f"b{b}" for b in range(len(blocks))])
    seen: dict[str, int] = {}
    edges = [
        Edge(_key(int(j)), f"b{b}", str(op), op_color(str(op), COLORS),
             unique_gid(f"edge-{_key(int(j))}-b{b}", seen))
        for b, block in enumerate(blocks)
        for op, j in block
    ]  # fmt: skip
    edges += [
        Edge(f"b{b}", "out", None, CONCAT_COLOR, f"concat-b{b}", dashed=True)
        for b in unused_blocks(blocks)
    ]
    title = "normal cell" if kind == "normal" else "reduction cell"
    return draw_dag(nodes, edges, title, "each block adds its two inputs; dashed: unused blocks, "
                    "concatenated into the output")  # fmt: skip


def draw_zoph(genotype: Mapping[str, Any], out_dir: str, stem: str = "arch") -> list[str]:
    """Draws both cells of a Zoph genotype to ``<stem>_normal`` and ``<stem>_reduce``
    (``.svg`` and ``.png``) in `out_dir`; returns the paths written.

    Raises:
        ValueError: `genotype` is not a valid Zoph genotype.
    """
    checked = validate_genotype(genotype)
    paths: list[str] = []
    for kind in CELL_TYPES:
        fig = _cell_figure(checked[kind], kind)
        base = os.path.join(out_dir, f"{stem}_{kind}")
        paths += save_figure(fig, [f"{base}.svg", f"{base}.png"])
    return paths
