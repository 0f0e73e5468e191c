"""`Searcher`: the base of algorithms that learn an architecture in one supernet."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

import nnabla as nn

from ...contrib.model import Model
from ...optimizer import Optimizer
from ...utils.fields import NoSettings
from ..algorithm import Algorithm, Transform

__all__ = ["Cost", "CostModel", "NoSettings", "SearchParts", "Searcher"]


class CostModel(Protocol):
    """What a searcher needs of a hardware estimator (see `nnabla_nas.contrib.estimator`)."""

    def cost(self, model: Any, input_shape: Any = None) -> float: ...
    def expected(self, model: Any, input_shape: Any = None) -> nn.Variable: ...


@dataclass(frozen=True)
class Cost:
    """A hardware cost in a search's objective.

    Args:
        estimator: prices the active path (`cost`) and its expectation (`expected`).
        mode: ``'penalty'`` (add ``weight * E[cost]`` to the architecture loss) or
            ``'reward'`` (multiply a sampled path's reward by ``(cost / target) ** weight``).
        weight: the penalty coefficient or the reward exponent.
        target: the cost the reward exponent is relative to.
    """

    estimator: CostModel
    mode: str = "penalty"
    weight: float = 0.0
    target: float | None = None


@dataclass(frozen=True)
class SearchParts:
    """What every searcher is built from, besides the supernet and its own settings."""

    optimizer: Optimizer  # the network weights
    arch_optimizer: Optimizer  # the architecture parameters
    transform: Transform | None = None
    cost: Cost | None = None
    context: nn.Context | None = None


class Searcher(Algorithm):
    """Learns the architecture parameters and the weights of a search space.

    A searcher implements `train_on_batch` (one step: weights and, by its own rule, the
    architecture) and inherits `valid_on_batch`. A searcher class is registered under a
    name (`nnabla_nas.runner.searcher.SEARCHERS`) with its `Settings`, a dataclass of its
    own hyperparameters that is its config section (``darts: {unrolled: true}``), and
    `create` builds it from that and the `SearchParts`.
    """

    #: The dataclass of this searcher's own hyperparameters (its config section).
    Settings: ClassVar[type] = NoSettings
    #: Whether the searcher takes a hardware `Cost`; a cost given to one that does not
    #: is a config error.
    takes_cost: ClassVar[bool] = False

    @classmethod
    def create(cls, model: Model, parts: SearchParts, settings: Any) -> Searcher:
        """The searcher of `model` from the common parts and its own `settings`."""
        raise NotImplementedError(f"{cls.__name__} must implement create()")

    def architecture(self) -> dict[str, Any]:
        """The architecture derived from the current architecture parameters."""
        derive = getattr(self.model, "genotype", None)
        if derive is None:
            raise NotImplementedError(
                f"{type(self.model).__name__} has no genotype(); a search space derives "
                "its architecture with a genotype() method"
            )
        return dict(derive())
