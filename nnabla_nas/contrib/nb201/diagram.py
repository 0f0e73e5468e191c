"""Diagram of a NAS-Bench-201 cell (the 4-node DAG), and the candidates' colours.

``'none'`` edges are left out. SVG ids: ``node-n<i>``, ``edge-n<i>-n<j>``.
"""

from __future__ import annotations

import os

from ...visualize.diagrams import (
    INPUT_COLOR,
    NODE_COLOR,
    OUTPUT_COLOR,
    Edge,
    Node,
    draw_dag,
    op_color,
    save_figure,
)
from .arch import EDGES, NUM_NODES, ArchLike, as_ops, format_arch

__all__ = ["COLORS", "draw_nb201"]

COLORS: dict[str, str] = {
    "none": "#bcbd22",
    "skip_connect": "#7f7f7f",
    "nor_conv_1x1": "#8c564b",
    "nor_conv_3x3": "#e377c2",
    "avg_pool_3x3": "#ff7f0e",
}
"""The colour of each NAS-Bench-201 candidate (shared names as in the DARTS space)."""


def draw_nb201(arch: ArchLike, out_dir: str, stem: str = "arch") -> list[str]:
    """Draws a NAS-Bench-201 cell (string, op list or record) to ``<stem>.svg`` and
    ``<stem>.png`` in `out_dir`; ``'none'`` edges are left out. Returns the paths written.

    Raises:
        ValueError: `arch` is not a valid NAS-Bench-201 architecture.
    """
    ops = as_ops(arch)
    xy = [(0.0, 0.0), (2.7, 1.35), (5.4, -1.35), (8.1, 0.0)]
    colors = [INPUT_COLOR, NODE_COLOR, NODE_COLOR, OUTPUT_COLOR]
    nodes = [Node(f"n{i}", xy[i], str(i), colors[i]) for i in range(NUM_NODES)]
    edges = [
        Edge(f"n{i}", f"n{j}", op, op_color(op, COLORS), f"edge-n{i}-n{j}")
        for (i, j), op in zip(EDGES, ops, strict=True)
        if op != "none"
    ]
    fig = draw_dag(nodes, edges, "NAS-Bench-201 cell", format_arch(ops))
    base = os.path.join(out_dir, stem)
    return save_figure(fig, [f"{base}.svg", f"{base}.png"])
