"""`SupernetEvaluator` and `SubnetEvaluator`: score candidates with the weights they inherit
from a supernet."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ...contrib.model import Model
from ...module import find_choices
from .. import paths
from ..algorithm import Algorithm, Batch


class SupernetEvaluator:
    """Scores a candidate path of a trained single-path supernet (SPOS, FairNAS) without
    training it: SPOS's protocol (`paths.score_path`).

    The candidate inherits the supernet's weights; its BatchNorm statistics are
    recalibrated on `calib` and its accuracy (%) is measured on `valid`. Every candidate is
    scored from the same state with a fresh generator of graph noise, so its score does
    not depend on the order of the trials; a candidate scored before is not scored again.
    Runs in this process (it holds the supernet's graphs), and receives the strategy's
    choice tuple itself (a path), not the space's architecture of it.

    Args:
        algorithm: builds the supernet's graphs (its model holds the trained weights,
            with its input transform and context).
        calib: the training batches of the recalibration.
        valid: the validation batches scored.
        noise: a new generator of the graphs' noise (augmentation, dropout) per candidate.
    """

    def __init__(
        self,
        algorithm: Algorithm,
        calib: Sequence[Batch],
        valid: Sequence[Batch],
        noise: Callable[[], np.random.Generator],
    ) -> None:
        if not calib or not valid:
            raise ValueError("the supernet evaluator needs training and validation batches")
        self.algorithm, self.calib, self.valid, self.noise = algorithm, calib, valid, noise
        self.choices = find_choices(algorithm.model)
        self._scores: dict[paths.Path, float] = {}

    def evaluate(self, arch: Sequence[str]) -> dict[str, float]:
        """The accuracy (%) of the path of `arch`, one candidate name per choice."""
        path = paths.path_of(self.choices, arch)
        if path not in self._scores:
            self.algorithm.rng = self.noise()
            score = paths.score_path(self.algorithm, self.choices, path, self.calib, self.valid)
            self._scores[path] = 100.0 * score
        return {"accuracy": self._scores[path]}


class SubnetEvaluator:
    """Scores a candidate of an elastic supernet (Once-for-All's) without training it: its
    plain network with the weights it inherits (`subnet`), BatchNorm statistics
    recalibrated on `calib`, accuracy (%) measured on `valid` (`paths.score_path` on a
    network without choices). As `SupernetEvaluator`, every candidate is scored from the
    same state with a fresh generator of graph noise, and an architecture only once.

    Args:
        decode: the architecture of a choice tuple.
        subnet: the plain network of an architecture, with the inherited weights.
        make_algorithm: the algorithm that builds a network's graphs (input transform,
            context).
        calib: the training batches of the recalibration.
        valid: the validation batches scored.
        noise: a new generator of the graphs' noise (augmentation, dropout) per candidate.
        key: what identifies an architecture (choice tuples past a stage's depth differ
            without changing it).
        test: the test batches the chosen sub-network is scored on (`accuracy`).
    """

    def __init__(
        self,
        decode: Callable[[Sequence[str]], Any],
        subnet: Callable[[Any], Model],
        make_algorithm: Callable[[Model], Algorithm],
        calib: Sequence[Batch],
        valid: Sequence[Batch],
        noise: Callable[[], np.random.Generator],
        key: Callable[[Any], str],
        test: Sequence[Batch] = (),
    ) -> None:
        if not calib or not valid:
            raise ValueError("the supernet evaluator needs training and validation batches")
        self.decode, self.subnet, self.make_algorithm = decode, subnet, make_algorithm
        self.calib, self.valid, self.noise, self.key = calib, valid, noise, key
        self.test = test
        self._scores: dict[str, float] = {}

    def network(self, arch: Any) -> Model:
        """The plain network of `arch` with its inherited weights and its BatchNorm
        statistics recalibrated, as `evaluate` scores it."""
        algorithm = self.make_algorithm(self.subnet(arch))
        algorithm.rng = self.noise()
        paths.recalibrate(algorithm, [], (), self.calib)
        return algorithm.model

    def accuracy(self, model: Model, batches: Sequence[Batch]) -> float:
        """The accuracy (a fraction) of a network of `network` on `batches`."""
        algorithm = self.make_algorithm(model)
        algorithm.rng = self.noise()
        return paths.accuracy(algorithm, [], (), batches)

    def evaluate(self, arch: Sequence[str]) -> dict[str, float]:
        """The accuracy (%) of the sub-network of `arch`, one option per decision."""
        decoded = self.decode(arch)
        key = self.key(decoded)
        if key not in self._scores:
            self._scores[key] = 100.0 * self.accuracy(self.network(decoded), self.valid)
        return {"accuracy": self._scores[key]}
