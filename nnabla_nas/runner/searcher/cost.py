"""`CostTerm`: a hardware cost in a one-shot search's objective, priced on one input.

The expected cost under the architecture probabilities is a static nnabla graph of the
alphas (`Estimator.expected` on a batch-1 input), built once: each step runs it forward,
and backward to add its gradient to the alphas'. Every cost is of one input (batch 1), in
the estimator's unit, the number reports show.

Forms (`Cost.mode`):

- ``'penalty'``: ``weight * E[cost]``, pushing the cost down by `weight` per unit;
- ``'target'``: ``weight * |E[cost] / target - 1|``, the absolute-value form of TuNAS
  (Bender et al., 2020): scale-free, and steering toward the budget from either side, so
  the search lands near it rather than at the cheapest architecture; FBNet's multiplicative
  ``(log E[cost]) ** beta`` keeps rewarding a cheaper network below any budget;
- ``'reward'``: a REINFORCE reward factor ``(cost / target) ** weight`` of a sampled path
  (`path_cost`), for searchers that learn from rewards.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import nnabla as nn
import nnabla.functions as F
import numpy as np

from ...contrib.model import Model
from ...module.mixedop import MixedOp

__all__ = ["COST_MODES", "Cost", "CostModel", "CostTerm"]

COST_MODES = ("penalty", "target", "reward")


class CostModel(Protocol):
    """What a searcher needs of a hardware estimator (see `nnabla_nas.contrib.estimator`)."""

    def cost(self, model: Any, input_shape: Any = None) -> float: ...
    def expected(self, model: Any, input_shape: Any = None) -> nn.Variable: ...
    def choice_costs(self, model: Any, input_shape: Any = None) -> tuple[float, dict[int, Any]]: ...


@dataclass(frozen=True)
class Cost:
    """A hardware cost in a search's objective.

    Args:
        estimator: prices the active path (`cost`) and its expectation (`expected`).
        mode: ``'penalty'`` (add ``weight * E[cost]`` to the architecture loss),
            ``'target'`` (add ``weight * |E[cost] / target - 1|``) or ``'reward'``
            (multiply a sampled path's reward by ``(cost / target) ** weight``); see
            `nnabla_nas.runner.searcher.cost`.
        weight: the coefficient of the term, or the reward exponent.
        target: the budget of the target form, or what the reward exponent is relative to.
    """

    estimator: CostModel
    mode: str = "penalty"
    weight: float = 0.0
    target: float | None = None


class CostTerm:
    """The cost of `cost` on `model`, for inputs of `input_shape` (batch 1).

    Args:
        cost: the estimator and the form (mode, weight, target).
        model: the supernet; its choices' alphas are the graph's inputs.
        input_shape: ``(1, C, H, W)``; only the sample shape matters.
    """

    def __init__(self, cost: Cost, model: Model, input_shape: Sequence[int]) -> None:
        if cost.mode not in COST_MODES:
            raise ValueError(f"cost mode must be one of {COST_MODES}, got {cost.mode!r}")
        if cost.mode in ("target", "reward") and cost.weight and not cost.target:
            raise ValueError(f"the {cost.mode} cost mode with a weight needs a positive target")
        self.cost, self.model = cost, model
        shape = (1, *(int(d) for d in input_shape[1:]))
        # Inference mode, each choice at its argmax: building the pricing graph draws nothing.
        with nn.auto_forward(False), model.modes(training=False, choice="max"):
            self.expected = cost.estimator.expected(model, shape)
            self._paths: tuple[float, dict[int, np.ndarray]] | None = None
            if cost.mode == "reward":
                self._paths = cost.estimator.choice_costs(model)
        self.loss = self._loss()

    def _loss(self) -> nn.Variable | None:
        cost = self.cost
        if not cost.weight or cost.mode == "reward":
            return None
        if cost.mode == "penalty":
            return F.mul_scalar(self.expected, cost.weight)
        assert cost.target is not None
        gap = F.add_scalar(F.mul_scalar(self.expected, 1.0 / cost.target), -1.0)
        return F.mul_scalar(F.abs(gap), cost.weight)

    def value(self) -> float:
        """E[cost] under the current architecture probabilities."""
        self.expected.forward()
        return float(np.asarray(self.expected.d).reshape(-1)[0])

    def add_gradient(self) -> None:
        """Adds the gradient of the penalty or target term to the alphas' gradients (a
        reward term has none: it enters through `reward_factor`)."""
        if self.loss is not None:
            self.loss.forward()
            self.loss.backward()  # nnabla adds to the leaves' gradients

    def path_cost(self, ops: Sequence[MixedOp]) -> float:
        """The cost of the path the `ops` chose in their last build (their `index`), in
        the reward mode."""
        if self._paths is None:
            raise ValueError("path_cost prices sampled paths of the reward cost mode only")
        constant, per_op = self._paths
        total = constant
        for op in ops:
            assert op.index is not None, "path_cost needs each MixedOp's last choice"
            total += float(per_op[id(op)][op.index])
        return total

    def reward_factor(self, cost: float) -> float:
        """``(cost / target) ** weight`` in the reward mode, else 1."""
        c = self.cost
        if c.mode != "reward" or not c.weight or not c.target:
            return 1.0
        return float((cost / c.target) ** c.weight)
