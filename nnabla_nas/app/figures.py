"""The figures of a run folder, drawn from the files it holds into ``figures/``."""

from __future__ import annotations

import glob
import logging
import os
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import yaml

from ..contrib.space import Space
from ..visualize.diagrams import diagram_options
from ..visualize.plots import (
    plot_costs,
    plot_curves,
    plot_decision,
    plot_probabilities,
    plot_tradeoff,
    read_probabilities,
)
from .run import RunFolder

__all__ = ["choice_labels", "draw_architecture", "draw_figures", "model_options"]

logger = logging.getLogger("nnabla_nas")


def model_options(config: Any) -> dict[str, Any]:
    """The ``model:`` keys of a run's parsed config but ``name``; empty when it has none."""
    model = config.get("model") if isinstance(config, Mapping) else None
    if not isinstance(model, Mapping):
        return {}
    return {str(k): v for k, v in model.items() if k != "name"}


def choice_labels(
    space: Space | None, choices: Iterable[str], options: Mapping[str, Any] | None = None
) -> dict[str, str]:
    """The label of each choice (`Space.choice_label` with the run's model `options`); a
    choice keeps its name without a space, or where the space fails to name it, so a
    label never stops a figure or a report."""
    labels: dict[str, str] = {}
    for choice in choices:
        label = choice
        if space is not None:
            try:
                label = str(space.choice_label(choice, options=options))
            except Exception as err:  # a space of another package may fail in any way
                logger.debug(f"choice {choice!r} keeps its name: {type(err).__name__}: {err}")
        labels[choice] = label
    return labels


def _run_options(run: RunFolder) -> dict[str, Any]:
    """The model options of `run`'s ``config.yaml``; empty without a readable one (not
    valid YAML or UTF-8, or gone)."""
    try:
        return model_options(yaml.safe_load(run.config_text() or ""))
    except (OSError, ValueError, yaml.YAMLError):
        return {}


def _diagrams_current(arch: str, out: str) -> bool:
    """Whether diagrams exist in `out` and none is older than `arch`."""
    drawn = glob.glob(os.path.join(out, "arch*.png")) + glob.glob(os.path.join(out, "arch*.svg"))
    return bool(drawn) and min(os.path.getmtime(p) for p in drawn) >= os.path.getmtime(arch)


def draw_figures(run: RunFolder, space: Space) -> list[str]:
    """Draws every figure the files of `run` allow into its ``figures/``: ``probs.png``
    and ``decision.png`` (``arch_probs.csv``, in the space's colours, the choices named by
    `Space.choice_label`), ``curves.png``, ``costs.png`` and ``tradeoff.png``
    (``metrics.csv``) and the space's diagrams of ``arch.json``.

    A figure that cannot be drawn (a missing, truncated or invalid file) is logged as a
    warning and skipped, so a run never fails for its figures. Diagrams newer than
    ``arch.json`` are left as they are (a retraining's architecture never changes).

    Returns:
        The paths written.
    """
    out = run.file("figures")
    probs, metrics, arch = run.file("arch_probs"), run.file("metrics"), run.file("arch")

    def decision() -> str | None:
        history = read_probabilities(probs)
        labels = choice_labels(space, history, _run_options(run))
        return plot_decision(history, os.path.join(out, "decision.png"), labels, space.colors)

    def probabilities() -> str | None:
        history = read_probabilities(probs)
        labels = choice_labels(space, history, _run_options(run))
        return plot_probabilities(history, os.path.join(out, "probs.png"), space.colors, labels)

    jobs: list[tuple[str, str, Callable[[], str | list[str] | None]]] = [
        ("probs.png", probs, probabilities),
        ("decision.png", probs, decision),
        ("curves.png", metrics, lambda: plot_curves(metrics, os.path.join(out, "curves.png"))),
        ("costs.png", metrics, lambda: plot_costs(metrics, os.path.join(out, "costs.png"))),
        ("tradeoff.png", metrics,
         lambda: plot_tradeoff(metrics, os.path.join(out, "tradeoff.png"))),
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


def draw_architecture(
    space: Space,
    arch: Any,
    out_dir: str,
    *,
    formats: Sequence[str] = ("svg", "png"),
    width: float | None = None,
    stem: str = "arch",
) -> list[str]:
    """Draws `arch` of `space` into `out_dir` in `formats` (of `FORMATS`), at `width`
    inches (None: the natural size); returns the paths written.

    The diagrams are drawn aside first, so a file already in `out_dir` is never
    overwritten, and nothing is written when any of them exists.

    Raises:
        ValueError: a bad format or width, an invalid architecture, a format the space's
            diagrams have no form in (``dot`` of a chain), or a file that exists.
    """
    checked = space.validate(arch)
    with diagram_options(formats=formats, width=width):  # checks them: before any write
        os.makedirs(out_dir, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=out_dir, prefix=".tmp-") as aside:
            drawn = space.draw(checked, aside, stem)
            targets = [os.path.join(out_dir, os.path.basename(p)) for p in drawn]
            taken = [t for t in targets if os.path.exists(t)]
            if taken:
                raise ValueError(f"'{taken[0]}' exists; choose another output folder or remove it")
            for source, target in zip(drawn, targets, strict=True):
                os.replace(source, target)
    return targets
