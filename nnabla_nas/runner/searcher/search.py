"""`Searcher`: the base of algorithms that learn an architecture in one supernet."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import nnabla as nn
import numpy as np

from ...contrib.model import Model
from ...module.mixedop import find_choices
from ...optimizer import Optimizer
from ...utils.distributed import Communicator
from ...utils.fields import NoSettings
from ..algorithm import Algorithm, Batch, Graph, Transform
from .cost import Cost, CostModel, CostTerm

__all__ = ["Cost", "CostModel", "NoSettings", "SearchParts", "Searcher"]


@dataclass(frozen=True)
class SearchParts:
    """What every searcher is built from, besides the supernet and its own settings.

    `arch` is None for a searcher that learns no architecture parameters
    (`Searcher.learns_alphas` false); `arch_optimizer` reads it where it must exist.
    """

    optimizer: Optimizer  # the network weights
    arch: Optimizer | None = None  # the architecture parameters
    transform: Transform | None = None
    cost: Cost | None = None
    context: nn.Context | None = None
    epochs: int | None = None  # of the whole search, for schedules over it (None: unknown)
    communicator: Communicator | None = None  # data parallel (None: one process)
    sync_batch_norm: bool = False  # data parallel: batch statistics of the whole batch

    @property
    def arch_optimizer(self) -> Optimizer:
        """The optimizer of the architecture parameters (an error when there is none)."""
        if self.arch is None:
            raise ValueError(
                "these SearchParts have no architecture optimizer (arch=None); pass one for a "
                "searcher that learns the architecture parameters"
            )
        return self.arch


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
    #: Whether the searcher learns the architecture parameters during the epochs, with
    #: `SearchParts.arch` (a config's ``arch_optimizer`` section). One that does not
    #: refuses that section and decides the architecture in `finish`; its runs track no
    #: architecture per epoch.
    learns_alphas: ClassVar[bool] = True
    #: Whether the architecture step learns every architecture parameter by gradient,
    #: the model's `edge_weights` (PC-DARTS's edge normalization) included.
    learns_edge_weights: ClassVar[bool] = False
    #: Whether the searcher trains its supernet so that sub-networks score well with the
    #: weights they inherit (single paths: SPOS, FairNAS; elastic sub-networks: OFA): its
    #: runs are the supernets of multi-trial searches with ``evaluator: supernet``.
    trains_subnets: ClassVar[bool] = False
    #: The spaces (by name) the searcher is made for, whose supernets it trains without
    #: choices or architecture parameters; empty: any space whose supernet has them.
    spaces: ClassVar[tuple[str, ...]] = ()

    #: The hardware cost of the objective, if any (set by the subclass's constructor).
    cost: Cost | None = None

    @classmethod
    def create(cls, model: Model, parts: SearchParts, settings: Any) -> Searcher:
        """The searcher of `model` from the common parts and its own `settings`."""
        raise NotImplementedError(f"{cls.__name__} must implement create()")

    @classmethod
    def cost_problem(cls, mode: str, weight: float, target: float | None) -> str | None:
        """What is wrong with a cost of `mode`, `weight` and `target` for this searcher
        beyond `cost_modes` (e.g. a setting it does not use), or None."""
        return None

    @classmethod
    def schedule_segments(cls, settings: Any, epochs: int) -> list[int] | None:
        """The epochs of each segment of the run whose learning-rate schedule restarts
        (e.g. Once-for-All's phases), or None (the default): one schedule over the run."""
        return None

    @classmethod
    def config_problem(
        cls, settings: Any, *, epochs: int, options: Mapping[str, Any]
    ) -> str | None:
        """What is wrong with `settings` for a run of `epochs` on a supernet of the model
        `options` (the config's, completed), beyond what the settings check alone; None."""
        return None

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

    def step_architecture(
        self, arch: Graph, term: CostTerm | None, shown: dict[str, float] | None = None
    ) -> dict[str, float]:
        """Adds `term`'s gradient to the loss gradient of the architecture parameters, takes
        one step of the ``'arch'`` optimizer, and returns the metrics of `arch` prefixed
        ``arch_`` (with the cost, ``arch_cost``). `shown`: those metrics, when the graph has
        run another batch since (second-order DARTS)."""
        if term is not None:
            term.add_gradient()
        self.optimizers["arch"].step()
        result = self.metrics(arch, prefix="arch_") if shown is None else dict(shown)
        if term is not None:
            result["arch_cost"] = term.value()
        return result

    def finish(
        self,
        train: Iterable[Batch],
        valid: Iterable[Batch],
        *,
        rng: np.random.Generator,
        history: str | None = None,
    ) -> dict[str, float]:
        """After the last epoch: the final phase of a searcher that decides the architecture
        once the weights are trained (e.g. an evolution over paths); a no-op here.

        Args:
            train: batches of the weights' split (e.g. to recalibrate statistics).
            valid: batches of the held-out split, to score candidates on.
            rng: the generator of the phase's draws (the same on a resumed run).
            history: where to write a CSV of the phase's progress, if anywhere.

        Returns:
            Metrics of the phase for the run's summary (none here).
        """
        return {}

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
