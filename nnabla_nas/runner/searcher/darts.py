"""`DartsSearcher`: differentiable architecture search (Liu et al., ICLR 2019)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import nnabla as nn
import numpy as np

from ...contrib.model import Model
from ...optimizer import Optimizer
from ...utils.fields import limited
from ..algorithm import Batch, Graph, Transform
from .search import Cost, Searcher, SearchParts


@dataclass(frozen=True)
class DartsSettings:
    """The ``darts:`` section of a search config."""

    unrolled: bool = False  # second-order approximation (about 3x the cost of a step)
    xi: float | None = limited(None, above=0.0)  # the virtual step; None: the weights' lr
    fd_scale: float = limited(0.01, above=0.0)  # finite-difference step: / ||dL_valid/dw'||


class DartsSearcher(Searcher):
    """Alternates architecture steps on the valid split and weight steps on the train split.

    With ``unrolled=False`` the architecture gradient is that of the valid loss at the
    current weights (first order). With ``unrolled=True`` it is the gradient of the valid
    loss after one virtual SGD step of the weights, ``w' = w - xi * dL_train/dw``, where
    the Hessian-vector product is approximated by central finite differences
    (the second-order approximation of the DARTS paper); `xi` is the weights' learning
    rate unless given.

    Args:
        model: a search space whose architecture parameters are its MixedOp alphas.
        optimizer: updates the network weights (train split).
        arch_optimizer: updates the architecture parameters (valid split).
        unrolled: second-order approximation when True.
        xi: the virtual step size; None means the weights' current learning rate.
        fd_scale: the finite-difference step is ``fd_scale / ||dL_valid/dw'||``.

    With a `cost`, every architecture step adds the gradient of its penalty or target term
    (`CostTerm`, priced on one input) to the validation loss's.

    Each `train_on_batch` takes ``{'train': (x, y), 'valid': (x, y)}``. Every graph
    is built with the `MixedOp`s in ``'full'`` mode (the softmax-weighted sum).
    """

    Settings = DartsSettings
    cost_modes = ("penalty", "target")
    choice = "full"
    eval_choice = "full"

    def __init__(
        self,
        model: Model,
        optimizer: Optimizer,
        arch_optimizer: Optimizer,
        *,
        unrolled: bool = False,
        xi: float | None = None,
        fd_scale: float = 0.01,
        transform: Transform | None = None,
        context: nn.Context | None = None,
        cost: Cost | None = None,
    ) -> None:
        super().__init__(
            model, {"weights": optimizer, "arch": arch_optimizer}, transform=transform,
            context=context,
        )  # fmt: skip
        self.unrolled, self.xi, self.fd_scale = unrolled, xi, fd_scale
        self.cost = cost

    @classmethod
    def create(cls, model: Model, parts: SearchParts, settings: DartsSettings) -> DartsSearcher:
        return cls(
            model, parts.optimizer, parts.arch_optimizer, unrolled=settings.unrolled,
            xi=settings.xi, fd_scale=settings.fd_scale, transform=parts.transform,
            context=parts.context, cost=parts.cost,
        )  # fmt: skip

    def train_on_batch(self, batch: Mapping[str, Batch]) -> dict[str, float]:
        train = self.graph("train", batch["train"][0].shape)
        arch = self.graph("arch", batch["valid"][0].shape)
        term = self.cost_term(batch["valid"][0].shape)
        self.feed(arch, batch["valid"])
        opt = self.optimizers["arch"]
        if self.unrolled:
            self._unrolled_arch_gradient(train, arch, batch["train"])
        else:
            opt.zero_grad()
            arch.loss.forward(clear_no_need_grad=True)
            arch.loss.backward(clear_buffer=True)
        if term is not None:
            term.add_gradient()
        opt.step()
        result = self.metrics(arch, prefix="arch_")
        if term is not None:
            result["arch_cost"] = term.value()
        self.feed(train, batch["train"])
        self.minimize(train, self.optimizers["weights"])
        return {**self.metrics(train), **result}

    def _unrolled_arch_gradient(self, train: Graph, arch: Graph, train_batch: Batch) -> None:
        """Sets each alpha's gradient to the second-order DARTS approximation."""
        weights = self.model.get_net_parameters(grad_only=True)
        alphas = self.model.get_arch_parameters(grad_only=True)
        saved = {k: p.d.copy() for k, p in self.model.get_net_parameters().items()}
        opt = self.optimizers["weights"]
        xi = opt.lr if self.xi is None else self.xi
        self.feed(train, train_batch)  # one batch and one noise draw for every term
        g_train = self._gradients(train, weights)
        for k, p in weights.items():  # the virtual step w' = w - xi * (g + wd * w)
            p.d = saved[k] - xi * (g_train[k] + opt.weight_decay * saved[k])
        g_valid = self._gradients(arch, {**weights, **alphas})
        v = {k: g_valid[k] for k in weights}
        eps = self.fd_scale / max(np.sqrt(sum(float(np.sum(g * g)) for g in v.values())), 1e-12)
        hessian_terms = []
        for sign in (1.0, -1.0):  # dL_train/dalpha at w + eps v and at w - eps v
            for k, p in weights.items():
                p.d = saved[k] + sign * eps * v[k]
            hessian_terms.append(self._gradients(train, alphas))
        self.model.set_parameters(saved)
        for k, a in alphas.items():
            a.g = g_valid[k] - xi * (hessian_terms[0][k] - hessian_terms[1][k]) / (2 * eps)

    def _gradients(self, graph: Graph, params: Mapping) -> dict[str, np.ndarray]:
        """Returns d(loss)/d(param) for `params` at the current values."""
        for p in self.model.get_parameters().values():
            p.grad.zero()
        graph.loss.forward(clear_no_need_grad=True)
        graph.loss.backward(clear_buffer=True)
        return {k: p.g.copy() for k, p in params.items()}
