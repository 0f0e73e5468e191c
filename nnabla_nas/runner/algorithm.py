"""`Algorithm`: what the run loop drives. Static graphs per phase, evaluation, state."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import nnabla as nn
import nnabla.functions as F
import numpy as np

from ..contrib.model import Model
from ..optimizer import Optimizer

Batch = tuple[np.ndarray, np.ndarray]
Transform = Callable[..., Any]


@dataclass
class Graph:
    """A static graph of one phase: inputs, logits and the loss to minimise."""

    x: nn.Variable
    y: nn.Variable
    logits: nn.Variable
    loss: nn.Variable

    def feed(self, batch: Batch) -> None:
        self.x.d, self.y.d = batch[0], batch[1]


def cross_entropy(logits: nn.Variable, y: nn.Variable) -> nn.Variable:
    """Mean softmax cross entropy of `logits` against integer labels of shape (N, 1)."""
    return F.mean(F.softmax_cross_entropy(logits, y))


def top1_error(logits: np.ndarray, labels: np.ndarray) -> float:
    """The share of samples whose largest logit is not at their label."""
    return float(np.mean(np.argmax(logits, axis=1) != labels.reshape(-1)))


class Algorithm:
    """Base of searchers and trainers: builds one static graph per phase and input shape.

    Subclasses implement `train_on_batch`; `valid_on_batch` evaluates in inference mode.
    Graphs are built on first use and reused: each step only sets input data.

    Args:
        model: the network to learn.
        optimizers: named optimizers, saved and restored with the checkpoints.
        transform: graph-level input transform called as ``transform(x, training=...)``.
    """

    def __init__(
        self,
        model: Model,
        optimizers: Mapping[str, Optimizer],
        *,
        transform: Transform | None = None,
    ) -> None:
        self.model = model
        self.optimizers = dict(optimizers)
        self.transform = transform
        self._graphs: dict[tuple[str, tuple[int, ...]], Graph] = {}

    # -- graphs ---------------------------------------------------------------
    def graph(self, phase: str, shape: tuple[int, ...], training: bool = True) -> Graph:
        """Returns the graph of `phase` for inputs of `shape`, building it once."""
        key = (phase, tuple(shape))
        if key not in self._graphs:
            self._graphs[key] = self.build_graph(tuple(shape), training)
        return self._graphs[key]

    def build_graph(self, shape: tuple[int, ...], training: bool) -> Graph:
        """Builds the model's graph on new input variables of `shape`."""
        x, y = nn.Variable(shape), nn.Variable((shape[0], 1))
        self.model.training = training
        try:
            inputs = self.transform(x, training=training) if self.transform else x
            logits, loss = self.loss(self.model(inputs), y)
        finally:
            self.model.training = True
        logits.persistent = True
        loss.persistent = True
        return Graph(x, y, logits, loss)

    def loss(self, output: Any, y: nn.Variable) -> tuple[nn.Variable, nn.Variable]:
        """Returns ``(logits, loss)`` for the model's output; override for extra heads."""
        return output, cross_entropy(output, y)

    @staticmethod
    def metrics(graph: Graph, prefix: str = "") -> dict[str, float]:
        """Loss and top-1 error of the batch last run through `graph`."""
        return {
            f"{prefix}loss": float(graph.loss.d),
            f"{prefix}error": top1_error(graph.logits.d, graph.y.d),
        }

    @staticmethod
    def minimize(graph: Graph, optimizer: Optimizer) -> None:
        """Forward, backward and one update of `optimizer`'s parameters."""
        optimizer.zero_grad()
        graph.loss.forward(clear_no_need_grad=True)
        graph.loss.backward(clear_buffer=True)
        optimizer.step()

    # -- the loop's interface ---------------------------------------------------
    def on_epoch_start(self, epoch: int) -> None:
        """Called by the loop before each epoch; schedules live here."""

    def train_on_batch(self, batch: Mapping[str, Batch]) -> dict[str, float]:
        """Runs one learning step; `batch` maps loader names to ``(x, y)``."""
        raise NotImplementedError(f"{type(self).__name__} must implement train_on_batch()")

    def valid_on_batch(self, batch: Batch) -> dict[str, float]:
        """Evaluates the model in inference mode on one batch."""
        graph = self.graph("eval", batch[0].shape, training=False)
        graph.feed(batch)
        graph.loss.forward(clear_buffer=True)
        return self.metrics(graph)

    def learning_rates(self) -> dict[str, float]:
        return {f"lr/{name}": opt.lr for name, opt in self.optimizers.items()}

    # -- state ------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """JSON-serialisable state beyond parameters (baselines, RNG states); saved in
        each checkpoint's ``state.json``."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restores what `state_dict` returned."""

    def save(self, folder: str) -> None:
        """Writes the model parameters and every optimizer's state into `folder`."""
        self.model.save_parameters(os.path.join(folder, "model.h5"))
        for name, opt in self.optimizers.items():
            opt.save_states(os.path.join(folder, f"optimizer_{name}.h5"))

    def load(self, folder: str) -> None:
        """Restores what `save` wrote."""
        self.model.load_parameters(os.path.join(folder, "model.h5"), raise_if_missing=True)
        for name, opt in self.optimizers.items():
            opt.load_states(os.path.join(folder, f"optimizer_{name}.h5"))
