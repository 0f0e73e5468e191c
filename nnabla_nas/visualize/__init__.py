"""Figures of a run: architecture diagrams (`diagrams`) and search plots (`plots`).

Everything is drawn with matplotlib on `matplotlib.figure.Figure` objects (no pyplot
state, no display needed) and written atomically. `plot_run` draws all that a run
folder allows into ``RUN_DIR/figures/``.
"""

from .diagrams import (
    FORMATS,
    architecture_kind,
    draw_architecture,
    draw_darts,
    draw_mobilenet,
    draw_nb201,
)
from .plots import (
    plot_costs,
    plot_curves,
    plot_probabilities,
    plot_run,
    read_metrics,
    read_probabilities,
    write_probabilities,
)

__all__ = [
    "FORMATS",
    "architecture_kind",
    "draw_architecture",
    "draw_darts",
    "draw_mobilenet",
    "draw_nb201",
    "plot_costs",
    "plot_curves",
    "plot_probabilities",
    "plot_run",
    "read_metrics",
    "read_probabilities",
    "write_probabilities",
]
