"""Callbacks of the run loop: text log, metrics.csv, TensorBoard, architecture snapshots,
choice probabilities, figures and costs.

They receive paths and callables, never a config: what to derive, where to write it and
how to draw it is decided by whoever builds the loop.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import nnabla as nn
import numpy as np
from matplotlib.image import imread
from tensorboardX import SummaryWriter
from tensorboardX.summary import hparams as hparams_summary

from ..module.mixedop import choice_probs, find_choices
from ..utils.logging import MetricsTable
from ..utils.tbgraph import add_nnabla_graph
from ..visualize.plots import write_probabilities
from .loop import Callback, LogCallback, Loop


class MetricsCallback(Callback):
    """Keeps ``metrics.csv``: one row per epoch, rewritten atomically."""

    def __init__(self, path: str) -> None:
        self.table = MetricsTable(path)

    def on_run_start(self, loop: Loop) -> None:
        self.table.load(done=loop.start_epoch)
        self.table.save()

    def on_epoch_end(self, loop: Loop, epoch: int, metrics: dict[str, float]) -> None:
        self.table.add(epoch + 1, {k: v for k, v in metrics.items() if k != "epoch"})


class TensorBoardCallback(Callback):
    """Logs metrics, the parameter count, each choice's probabilities and the graph.

    With `sample_shape`, the model's graph on one input of that shape goes to the Graphs
    tab at the start of the run (a supernet that samples shows its most likely path). The
    Custom Scalars tab gets one chart per choice, its candidates' probabilities as lines,
    and one per metric kind (loss, error) with every split's line.

    Args:
        config: the run's config text, shown in the Text tab.
        hparams: the settings the HParams tab sets against the final metrics
            (``{'optimizer.lr': 0.05, ...}``: numbers, strings, booleans).
        arch: the architecture derived so far as text, shown after each epoch.
    """

    def __init__(
        self,
        log_dir: str,
        sample_shape: Sequence[int] | None = None,
        *,
        config: str | None = None,
        hparams: Mapping[str, float | str | bool] | None = None,
        arch: Callable[[], str] | None = None,
    ) -> None:
        self.log_dir = log_dir
        self.sample_shape = None if sample_shape is None else tuple(sample_shape)
        self.config, self.hparams, self.arch = config, dict(hparams or {}), arch
        self.writer: Any = None

    def on_run_start(self, loop: Loop) -> None:
        # Steps are epoch numbers from 1; purge_step drops the events of epochs that a
        # resumed run repeats.
        self.writer = SummaryWriter(self.log_dir, purge_step=loop.start_epoch + 1)
        model = loop.algorithm.model
        self.writer.add_scalar("model/parameters", model.count_parameters(), loop.start_epoch)
        if loop.start_epoch == 0:
            self.writer.add_custom_scalars(scalar_layout(choice_probs(model)))
            if self.config is not None:
                self.writer.add_text("config", _code_block(self.config), 0)
            if self.sample_shape is not None:
                self._add_graph(model, loop.algorithm.choice)

    def _add_graph(self, model: Any, choice: str | None) -> None:
        assert self.sample_shape is not None
        sampled = choice in ("sample", "gate")
        with nn.auto_forward(False), model.modes(training=False, choice="max" if sampled else None):
            output = model(nn.Variable((1, *self.sample_shape)))
        add_nnabla_graph(self.writer, output, name_of=model.get_parameters())

    def on_epoch_end(self, loop: Loop, epoch: int, metrics: dict[str, float]) -> None:
        for key, value in metrics.items():
            if key != "epoch":
                self.writer.add_scalar(key, value, epoch + 1)
        for edge, probs in choice_probs(loop.algorithm.model).items():
            self.writer.add_histogram(f"arch/{edge}", np.array(list(probs.values())), epoch + 1)
            for label, value in probs.items():
                self.writer.add_scalar(f"arch/{edge}/{label}", value, epoch + 1)
        if self.arch is not None:
            self.writer.add_text("architecture", _code_block(self.arch()), epoch + 1)
        self.writer.flush()

    def add_figure(self, tag: str, png_path: str, epoch: int) -> None:
        """Logs a PNG file as an image."""
        image = imread(png_path)[..., :3]  # RGBA floats in [0, 1]
        self.writer.add_image(tag, image, epoch, dataformats="HWC")
        self.writer.flush()

    def on_run_end(self, loop: Loop, metrics: dict[str, float]) -> None:
        final = {k: float(v) for k, v in metrics.items() if k != "epoch" and np.isfinite(v)}
        if self.hparams and final:
            # Into this run's own file (tensorboardX's add_hparams would open a new run).
            for summary in hparams_summary(self.hparams, final):
                self.writer.file_writer.add_summary(summary)
        self.writer.close()


def scalar_layout(choices: Mapping[str, Mapping[str, float]]) -> dict[str, Any]:
    """The Custom Scalars layout: a chart of each choice's candidates, and a chart of each
    metric kind over the splits (``train/loss`` and ``valid/loss`` on one chart)."""
    metrics = {
        kind: ["Multiline", [rf"^[^/]+/{kind}$"]]
        for kind in ("loss", "error", "arch_loss", "arch_error")
    }
    layout: dict[str, Any] = {"metrics": metrics}
    if choices:
        layout["architecture"] = {
            edge: ["Multiline", [f"^arch/{re.escape(edge)}/[^/]+$"]] for edge in choices
        }
    return layout


def _code_block(text: str) -> str:
    """`text` verbatim in TensorBoard's Markdown (an indented code block)."""
    return "\n".join("    " + line for line in text.splitlines())


class ProbabilitiesCallback(Callback):
    """Keeps ``arch_probs.csv``: the probability of every candidate of every choice of the
    model (`choice_probs`) after each epoch; rows of the epochs a resumed run repeats are
    replaced."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.first = True

    def on_run_start(self, loop: Loop) -> None:
        self.first = True

    def on_epoch_end(self, loop: Loop, epoch: int, metrics: dict[str, float]) -> None:
        probs = choice_probs(loop.algorithm.model)
        if probs:
            # The run's first epoch drops what a killed run wrote past its checkpoint.
            before = loop.start_epoch + 1 if self.first else None
            write_probabilities(self.path, epoch + 1, probs, before_epoch=before)
        self.first = False


class FigureCallback(Callback):
    """Redraws the run's figures after every epoch with `draw` and logs the PNGs to
    TensorBoard as images.

    Args:
        draw: draws the figures and returns the paths written; it comes after the
            callbacks writing the files the figures are drawn from.
    """

    def __init__(self, draw: Callable[[], Sequence[str]]) -> None:
        self.draw = draw

    def on_epoch_end(self, loop: Loop, epoch: int, metrics: dict[str, float]) -> None:
        board = next((c for c in loop.callbacks if isinstance(c, TensorBoardCallback)), None)
        start = time.monotonic()
        paths = self.draw()
        # Drawing takes seconds (most of the silence after an epoch's line): say so.
        loop.logger.info(f"figures: {len(paths)} drawn in {time.monotonic() - start:.1f} s")
        for path in paths:
            if board is not None and path.endswith(".png"):
                name = os.path.splitext(os.path.basename(path))[0]
                board.add_figure(f"figures/{name}", path, epoch + 1)


class ArchitectureCallback(Callback):
    """Writes the architecture derived so far after every epoch: ``write(derive())``."""

    def __init__(self, derive: Callable[[], Any], write: Callable[[Any], None]) -> None:
        self.derive, self.write = derive, write

    def on_epoch_end(self, loop: Loop, epoch: int, metrics: dict[str, float]) -> None:
        self.write(self.derive())


def standard_callbacks(
    output_dir: str, sample_shape: Sequence[int] | None = None
) -> list[Callback]:
    """The callbacks every run has: log, metrics.csv and TensorBoard event files in
    `output_dir` (with the network graph on one input of `sample_shape` when given)."""
    return [
        LogCallback(),
        MetricsCallback(os.path.join(output_dir, "metrics.csv")),
        TensorBoardCallback(output_dir, sample_shape),
    ]


class CostCallback(Callback):
    """Adds the hardware cost of the architecture found so far to each epoch's metrics.

    After every epoch each estimator prices the supernet's most likely path (every
    choice at its argmax) in inference mode on one input of `sample_shape`, and the
    values join the epoch's metrics as ``cost/<name>`` (e.g. ``cost/flops``), so that
    ``metrics.csv``, TensorBoard and the log carry them. It must come before the
    callbacks that write the metrics. Nothing is drawn from the sampling generators.
    """

    def __init__(self, estimators: Mapping[str, Any], sample_shape: Sequence[int]) -> None:
        self.estimators = dict(estimators)
        self.shape = (1, *(int(d) for d in sample_shape))

    def on_epoch_end(self, loop: Loop, epoch: int, metrics: dict[str, float]) -> None:
        model = loop.algorithm.model
        with nn.auto_forward(False), model.modes(training=False, choice="max"):
            for name, estimator in self.estimators.items():
                metrics[f"cost/{name}"] = float(estimator.cost(model, self.shape))


class CollapseCallback(Callback):
    """Adds the share of parameter-free operations (skip, pooling, none) in the derived
    architecture to each epoch's metrics as ``diag/param_free_share``, and warns once it
    reaches `warn_at`: the failure mode of DARTS that Zela et al. (2020) describe, a cell
    of skips and poolings. A candidate counts as parameter-free when its module in the
    supernet has no learnable parameter. It must come before the callbacks that write the
    metrics.

    Args:
        derive: the architecture the search stands for now (JSON data naming candidates).
        costed: the search has a hardware cost, which may prefer parameter-free
            operations for good reason (the warning says so).
    """

    def __init__(
        self, derive: Callable[[], Any], warn_at: float = 0.5, *, costed: bool = False
    ) -> None:
        self.derive, self.warn_at, self.costed = derive, warn_at, costed
        self.free: set[str] = set()
        self.names: set[str] = set()
        self.warned = False

    def on_run_start(self, loop: Loop) -> None:
        for choice in find_choices(loop.algorithm.model):
            for op in choice.ops:
                for name, candidate in zip(op.names, op.operators, strict=True):
                    self.names.add(name)
                    if not candidate.get_parameters(grad_only=True):
                        self.free.add(name)

    def on_epoch_end(self, loop: Loop, epoch: int, metrics: dict[str, float]) -> None:
        used = [s for s in _strings(self.derive()) if s in self.names]
        if not used:
            return
        share = sum(name in self.free for name in used) / len(used)
        metrics["diag/param_free_share"] = share
        if share >= self.warn_at and not self.warned:
            self.warned = True
            loop.logger.warning(
                f"{100 * share:.0f}% of the derived architecture's operations are "
                "parameter-free (skip, pooling): the search may be collapsing"
                + (
                    ", or its hardware cost prefers them: compare the accuracy"
                    if self.costed
                    else ""
                )
            )


def _strings(data: Any) -> list[str]:
    """Every string in nested JSON data."""
    if isinstance(data, str):
        return [data]
    if isinstance(data, dict):
        return [s for v in data.values() for s in _strings(v)]
    if isinstance(data, (list, tuple)):
        return [s for v in data for s in _strings(v)]
    return []
