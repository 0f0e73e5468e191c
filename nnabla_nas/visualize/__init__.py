"""Figures: drawing primitives for architecture diagrams (`diagrams`) and run plots (`plots`).

Everything is drawn with matplotlib on `matplotlib.figure.Figure` objects (no pyplot
state, no backend switch, no display needed) and written atomically. Each search space
draws its own diagrams with `diagrams`; the run folder decides which plots it has.
"""

from .diagrams import Edge, Node, draw_dag, op_color, save_figure
from .plots import (
    plot_costs,
    plot_curves,
    plot_front,
    plot_probabilities,
    read_metrics,
    read_probabilities,
    write_probabilities,
)

__all__ = [
    "Edge",
    "Node",
    "draw_dag",
    "op_color",
    "plot_costs",
    "plot_curves",
    "plot_front",
    "plot_probabilities",
    "read_metrics",
    "read_probabilities",
    "save_figure",
    "write_probabilities",
]
