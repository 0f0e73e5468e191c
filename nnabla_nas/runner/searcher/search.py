"""`Searcher`: the base of algorithms that learn an architecture in one supernet."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import nnabla as nn
import numpy as np

from ...contrib.model import Model
from ...module.mixedop import find_choices
from ...optimizer import Optimizer
from ...utils.fields import NoSettings
from ..algorithm import Algorithm, Transform
from .cost import Cost, CostModel, CostTerm

__all__ = ["Cost", "CostModel", "NoSettings", "SearchParts", "Searcher"]


@dataclass(frozen=True)
class SearchParts:
    """What every searcher is built from, besides the supernet and its own settings."""

    optimizer: Optimizer  # the network weights
    arch_optimizer: Optimizer  # the architecture parameters
    transform: Transform | None = None
    cost: Cost | None = None
    context: nn.Context | None = None
    epochs: int | None = None  # of the whole search, for schedules over it (None: unknown)


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
    #: The `Cost.mode`s the searcher takes; a cost of another mode (or any cost, when
    #: empty) is a config error.
    cost_modes: ClassVar[tuple[str, ...]] = ()

    #: The hardware cost of the objective, if any (set by the subclass's constructor).
    cost: Cost | None = None

    @classmethod
    def create(cls, model: Model, parts: SearchParts, settings: Any) -> Searcher:
        """The searcher of `model` from the common parts and its own `settings`."""
        raise NotImplementedError(f"{cls.__name__} must implement create()")

    def cost_term(self, input_shape: Sequence[int]) -> CostTerm | None:
        """The `CostTerm` of `cost` on inputs like `input_shape` (priced on one), built on
        first use."""
        if self.cost is None:
            return None
        term = self.__dict__.get("_cost_term")
        if term is None:
            if self.cost.mode not in self.cost_modes:
                raise ValueError(
                    f"{type(self).__name__} takes the cost modes {self.cost_modes}, "
                    f"not {self.cost.mode!r}"
                )
            term = CostTerm(self.cost, self.model, input_shape)
            self.__dict__["_cost_term"] = term
        return term

    def epoch_diagnostics(self) -> dict[str, float]:
        """The entropy of the choices' probabilities, as a share of its maximum (1: uniform,
        0: decided): the mean and the least over choices."""
        entropies = [
            float(-(p * np.log(np.maximum(p, 1e-30))).sum() / np.log(len(p)))
            for p in (c.probs() for c in find_choices(self.model))
            if len(p) > 1
        ]
        if not entropies:
            return {}
        return {"entropy_mean": float(np.mean(entropies)), "entropy_min": min(entropies)}

    def architecture(self) -> dict[str, Any]:
        """The architecture derived from the current architecture parameters."""
        derive = getattr(self.model, "genotype", None)
        if derive is None:
            raise NotImplementedError(
                f"{type(self.model).__name__} has no genotype(); a search space derives "
                "its architecture with a genotype() method"
            )
        return dict(derive())
