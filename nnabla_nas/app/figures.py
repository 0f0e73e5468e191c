"""The figures of a run folder, drawn from the files it holds into ``figures/``."""

from __future__ import annotations

import glob
import logging
import os
from collections.abc import Callable

from ..contrib.space import Space
from ..visualize.plots import plot_costs, plot_curves, plot_probabilities
from .run import RunFolder

logger = logging.getLogger("nnabla_nas")


def _diagrams_current(arch: str, out: str) -> bool:
    """Whether diagrams exist in `out` and none is older than `arch`."""
    drawn = glob.glob(os.path.join(out, "arch*.png")) + glob.glob(os.path.join(out, "arch*.svg"))
    return bool(drawn) and min(os.path.getmtime(p) for p in drawn) >= os.path.getmtime(arch)


def draw_figures(run: RunFolder, space: Space) -> list[str]:
    """Draws every figure the files of `run` allow into its ``figures/``: ``probs.png``
    (``arch_probs.csv``, in the space's colours), ``curves.png`` and ``costs.png``
    (``metrics.csv``) and the space's diagrams of ``arch.json``.

    A figure that cannot be drawn (a missing, truncated or invalid file) is logged as a
    warning and skipped, so a run never fails for its figures. Diagrams newer than
    ``arch.json`` are left as they are (a retraining's architecture never changes).

    Returns:
        The paths written.
    """
    out = run.file("figures")
    probs, metrics, arch = run.file("arch_probs"), run.file("metrics"), run.file("arch")
    jobs: list[tuple[str, str, Callable[[], str | list[str] | None]]] = [
        ("probs.png", probs,
         lambda: plot_probabilities(probs, os.path.join(out, "probs.png"), space.colors)),
        ("curves.png", metrics, lambda: plot_curves(metrics, os.path.join(out, "curves.png"))),
        ("costs.png", metrics, lambda: plot_costs(metrics, os.path.join(out, "costs.png"))),
        ("arch diagrams", arch, lambda: space.draw(space.read(arch), out, "arch")),
    ]  # fmt: skip
    written: list[str] = []
    for what, source, draw in jobs:
        if not os.path.isfile(source) or (source == arch and _diagrams_current(arch, out)):
            continue
        try:
            result = draw()
        except Exception as err:
            logger.warning(f"figure {what} not drawn from {source}: {type(err).__name__}: {err}")
            continue
        if isinstance(result, str):
            written.append(result)
        elif result:
            written.extend(result)
    return written
