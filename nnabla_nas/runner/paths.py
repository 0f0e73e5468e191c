"""Single paths of a supernet: set one, price it, and score it with the supernet's weights.

A path is one candidate index per choice, in `find_choices` order. Scoring follows Single
Path One-Shot (Guo et al., ECCV 2020): the path inherits the supernet's weights, its
BatchNorm running statistics are recalibrated on a few training batches (the supernet's
are those of no single path), and its accuracy is measured on validation batches. SPOS's
evolution and the multi-trial supernet evaluator both score paths here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Protocol

import nnabla as nn
import numpy as np

from ..module import BatchNormalization, Choice, Module
from .algorithm import Algorithm, Batch, Graph, top1_error

Path = tuple[int, ...]
"""A path of the supernet: one candidate index per choice, in `find_choices` order."""

#: The logit gap by which a path's candidate leads the others in its choice's alpha:
#: softmax gives it 1 - 1e-13, so the alphas read as the decision.
DECIDED = 30.0


class Pricer(Protocol):
    """An estimator's `cost` of the network as built (see `nnabla_nas.contrib.estimator`)."""

    def cost(self, model: Any, input_shape: Any = None) -> float: ...


def set_path(choices: Sequence[Choice], path: Path) -> None:
    """Sets each choice's alpha to the logits of `path` (`DECIDED` ahead at it)."""
    for c, index in zip(choices, path, strict=True):
        logits = np.full(len(c.names), -DECIDED)
        logits[index] = 0.0
        c.alpha.d = logits.reshape(c.alpha.shape)


@contextmanager
def on_path(choices: Sequence[Choice], path: Path) -> Iterator[None]:
    """Within the block, graphs built in ``'max'`` mode are `path`; the alphas are
    restored afterwards."""
    saved = [c.alpha.d.copy() for c in choices]
    try:
        set_path(choices, path)
        yield
    finally:
        for c, alpha in zip(choices, saved, strict=True):
            c.alpha.d = alpha


def path_of(choices: Sequence[Choice], names: Sequence[str]) -> Path:
    """The path of one candidate name per choice (a multi-trial choice tuple).

    Raises:
        ValueError: not one name per choice, or a name the choice does not have.
    """
    if len(names) != len(choices):
        raise ValueError(f"expected {len(choices)} candidate names, one per choice, got {names}")
    for c, name in zip(choices, names, strict=True):
        if name not in c.names:
            raise ValueError(f"choice {c.label!r} has no candidate {name!r}: {list(c.names)}")
    return tuple(c.names.index(name) for c, name in zip(choices, names, strict=True))


def path_graph(
    algorithm: Algorithm, choices: Sequence[Choice], path: Path, shape: tuple[int, ...], *,
    training: bool,
) -> Graph:  # fmt: skip
    """The graph of `path` of `algorithm`'s model on inputs of `shape`."""
    with on_path(choices, path):
        return algorithm.build_graph(shape, training, choice="max")


def recalibrate(
    algorithm: Algorithm, choices: Sequence[Choice], path: Path, batches: Sequence[Batch]
) -> None:
    """Sets the running statistics of the BatchNorms on `path` to the mean of their batch
    statistics over `batches` (forwards in training mode); the old values play no part."""
    model = algorithm.model
    norms = [m for _, m in model.get_modules() if isinstance(m, BatchNormalization)]
    decays = [bn.decay_rate for bn in norms]
    try:
        for bn in norms:
            bn.decay_rate = 0.0  # each forward stores its batch's statistics
        graph = path_graph(algorithm, choices, path, batches[0][0].shape, training=True)
    finally:
        for bn, decay in zip(norms, decays, strict=True):
            bn.decay_rate = decay
    used = {id(p) for p in graph.params.values()}
    norms = [bn for bn in norms if id(bn._mean) in used]
    sums = [(np.zeros(bn._mean.shape), np.zeros(bn._var.shape)) for bn in norms]
    for batch in batches:
        algorithm.feed(graph, batch)
        graph.logits.forward(clear_buffer=True)
        for (mean, var), bn in zip(sums, norms, strict=True):
            mean += bn._mean.d
            var += bn._var.d
    for (mean, var), bn in zip(sums, norms, strict=True):
        bn._mean.d, bn._var.d = mean / len(batches), var / len(batches)


def score_path(
    algorithm: Algorithm,
    choices: Sequence[Choice],
    path: Path,
    calib: Sequence[Batch],
    valid: Sequence[Batch],
) -> float:
    """The validation accuracy (a fraction) of `path` with the supernet's weights, its
    BatchNorm statistics recalibrated on `calib` (`recalibrate`)."""
    recalibrate(algorithm, choices, path, calib)
    return accuracy(algorithm, choices, path, valid)


def accuracy(
    algorithm: Algorithm, choices: Sequence[Choice], path: Path, batches: Sequence[Batch]
) -> float:
    """The accuracy (a fraction) of `path` on `batches`, with the statistics as they are."""
    graphs: dict[tuple[int, ...], Graph] = {}
    wrong = total = 0.0
    for x, y in batches:
        shape = tuple(x.shape)
        if shape not in graphs:
            graphs[shape] = path_graph(algorithm, choices, path, shape, training=False)
        graph = graphs[shape]
        algorithm.feed(graph, (x, y))
        graph.logits.forward(clear_buffer=True)
        wrong += top1_error(graph.logits.d, y) * len(y)
        total += len(y)
    return 1.0 - wrong / total


def path_cost(
    model: Module,
    choices: Sequence[Choice],
    path: Path,
    estimator: Pricer,
    input_shape: Sequence[int],
) -> float:
    """The cost `estimator` gives `path` of the supernet `model` on an input of
    `input_shape` (inference mode); the model's alphas and modes are left as they were."""
    modes = model.modes(training=False, choice="max")
    with on_path(choices, path), nn.auto_forward(False), modes:
        return float(estimator.cost(model, tuple(int(d) for d in input_shape)))


def most_likely_path(choices: Sequence[Choice]) -> Path:
    """Each choice's most likely candidate."""
    return tuple(int(np.argmax(c.probs())) for c in choices)


def most_likely_within(
    choices: Sequence[Choice], cost: Callable[[Path], float], budget: float
) -> Path | None:
    """A most likely path whose `cost` is within `budget`: the argmax path if it is;
    otherwise the argmax path repaired greedily, each step the one-choice change that
    gives up the least log-probability per unit of cost saved, then improved by
    one-choice changes that raise the log-probability and stay within the budget, until
    none does. A local optimum of the path's log-probability (exact when one change
    suffices); None when the repair finds no path within the budget.

    Args:
        cost: the cost of a path (e.g. `path_cost` with the search's estimator).
    """
    logp = [np.log(np.maximum(c.probs(), 1e-300)) for c in choices]
    known: dict[Path, float] = {}

    def price(path: Path) -> float:  # each path priced once: an estimate builds a graph
        if path not in known:
            known[path] = cost(path)
        return known[path]

    def score(path: Path) -> float:
        return float(sum(lp[i] for lp, i in zip(logp, path, strict=True)))

    def changes(path: Path) -> Iterator[Path]:
        for k, c in enumerate(choices):
            for j in range(len(c.names)):
                if j != path[k]:
                    yield (*path[:k], j, *path[k + 1 :])

    path = most_likely_path(choices)
    spent = price(path)
    while spent > budget:
        best: tuple[float, Path, float] | None = None
        for other in changes(path):
            saved = spent - (c := price(other))
            if saved > 0:
                rate = (score(path) - score(other)) / saved
                if best is None or rate < best[0]:
                    best = (rate, other, c)
        if best is None:
            return None
        _, path, spent = best
    improved = True
    while improved:
        improved = False
        for other in sorted(changes(path), key=score, reverse=True):
            if score(other) <= score(path):
                break
            if price(other) <= budget:
                path, improved = other, True
                break
    return path
