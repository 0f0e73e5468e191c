"""`GdasSearcher`: gradient-based search with differentiable sampling (Dong and Yang, CVPR 2019)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import nnabla as nn

from ...contrib.model import Model
from ...module.mixedop import draw_gumbel, find_choices
from ...optimizer import Optimizer
from ...utils.fields import limited
from ..algorithm import Batch, Graph, Transform
from .search import Cost, Searcher, SearchParts


@dataclass(frozen=True)
class GdasSettings:
    """The ``gdas:`` section of a search config."""

    tau_max: float = limited(10.0, above=0.0)  # the Gumbel-softmax temperature at the start
    tau_min: float = limited(0.1, above=0.0)  # the temperature of the last epoch (linear)

    def __post_init__(self) -> None:
        if self.tau_min > self.tau_max:
            raise ValueError(
                f"tau_min ({self.tau_min}) is above tau_max ({self.tau_max}): the temperature "
                "decays from tau_max to tau_min"
            )


class GdasSearcher(Searcher):
    """Alternates architecture and weight steps like first-order DARTS, on one sampled path.

    Each step draws one candidate per choice by the Gumbel-max trick,
    ``k = argmax(alpha + g)`` with standard Gumbel noise g (one draw per alpha: cells sharing
    an alpha build the same candidate), and builds the graph of that path alone: each
    choice computes only candidate k, scaled by ``h = p_k + (1 - p_k)`` evaluated as the
    constant 1 in the forward, where ``p = softmax((alpha + g) / tau)`` (`MixedOp`'s
    ``'gumbel'`` mode). The backward therefore carries the Gumbel-softmax gradient
    ``dL/dalpha = dL/dh * dp_k/dalpha`` to every alpha of the choice: a hard forward
    and a soft backward, so a step costs about one path instead of DARTS's every candidate
    on every edge. The architecture step uses a validation batch and a fresh draw, the
    weight step a training batch and another draw, updating the drawn path's weights only.
    The draws come from the generator the loop gives each epoch, so a resumed search draws
    what an uninterrupted one did.

    The temperature decays linearly from `tau_max` after the first epoch's start to
    `tau_min` at the last epoch's (the paper anneals it from 10 to 0.1 over the search);
    without the number of epochs it stays at `tau_max`. The architecture is the argmax of
    the alphas (evaluation builds it: ``eval_choice='max'``).

    With a `cost`, every architecture step adds the gradient of its penalty or target term
    (`CostTerm`: E[cost] under softmax(alpha), priced on one input), as DARTS does.

    Args:
        model: a search space whose architecture parameters are its MixedOp alphas.
        optimizer: updates the network weights (train split).
        arch_optimizer: updates the architecture parameters (valid split).
        tau_max: the temperature of the first epoch.
        tau_min: the temperature of the last epoch.
        epochs: the number of epochs of the search (for the schedule).
    """

    # Its draws and per-path updates are not yet made equal to one process's under data
    # parallel; the application refuses it under mpiexec.
    data_parallel = False

    Settings = GdasSettings
    cost_modes = ("penalty", "target")
    learns_edge_weights = True
    choice = "gumbel"
    eval_choice = "max"

    def __init__(
        self,
        model: Model,
        optimizer: Optimizer,
        arch_optimizer: Optimizer,
        *,
        tau_max: float = 10.0,
        tau_min: float = 0.1,
        epochs: int | None = None,
        transform: Transform | None = None,
        context: nn.Context | None = None,
        cost: Cost | None = None,
    ) -> None:
        super().__init__(
            model, {"weights": optimizer, "arch": arch_optimizer}, transform=transform,
            context=context,
        )  # fmt: skip
        GdasSettings(tau_max, tau_min)  # the same checks as a config's
        self.choices = find_choices(model)
        if not self.choices:
            raise ValueError(f"{type(model).__name__} has no MixedOp to search")
        self.tau_max, self.tau_min, self.epochs = tau_max, tau_min, epochs
        self.tau = tau_max
        self.cost = cost

    @classmethod
    def create(cls, model: Model, parts: SearchParts, settings: GdasSettings) -> GdasSearcher:
        return cls(
            model, parts.optimizer, parts.arch_optimizer, tau_max=settings.tau_max,
            tau_min=settings.tau_min, epochs=parts.epochs, transform=parts.transform,
            context=parts.context, cost=parts.cost,
        )  # fmt: skip

    def temperature(self, epoch: int) -> float:
        """tau at the start of `epoch` (from 0): linear from tau_max to tau_min."""
        if not self.epochs or self.epochs < 2:
            return self.tau_max
        share = min(max(epoch / (self.epochs - 1), 0.0), 1.0)
        return self.tau_max - (self.tau_max - self.tau_min) * share

    def on_epoch_start(self, epoch: int) -> None:
        self.tau = self.temperature(epoch)

    def sampled_graph(self, shape: tuple[int, ...]) -> Graph:
        """A new draw from `rng` and the graph of its path."""
        draw_gumbel(self.model, self.rng, self.tau, choices=self.choices)
        return self.build_graph(shape, training=True)

    def train_on_batch(self, batch: Mapping[str, Batch]) -> dict[str, float]:
        valid_x, train_x = batch["valid"][0], batch["train"][0]
        term = self.cost_term(valid_x.shape)
        arch = self.sampled_graph(valid_x.shape)
        self.feed(arch, batch["valid"])
        self.backward(arch, self.optimizers["arch"])
        result = self.step_architecture(arch, term)
        train = self.sampled_graph(train_x.shape)
        self.feed(train, batch["train"])
        # the drawn path's weights only
        self.minimize(train, self.optimizers["weights"], active=train.params)
        return {**self.metrics(train), **result, "tau": self.tau}
