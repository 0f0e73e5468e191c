"""`SupernetEvaluator`: scores candidates with the weights they inherit from a supernet."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

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
