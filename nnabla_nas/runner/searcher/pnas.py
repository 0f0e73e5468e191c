"""`ProxylessNasSearcher`: architecture search on sampled paths (Cai et al., ICLR 2019)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import nnabla as nn
import numpy as np

from ...contrib.model import Model
from ...module.mixedop import MixedOp
from ...optimizer import Optimizer
from ...utils.fields import choice, limited
from ..algorithm import Batch, Transform
from .cost import COST_MODES, Cost, CostModel
from .search import Searcher, SearchParts

GRADIENTS = ("reinforce", "binary_gate")


@dataclass(frozen=True)
class PnasSettings:
    """The ``pnas:`` section of a search config."""

    warmup_epochs: int = limited(0, minimum=0)  # weights only, on uniformly drawn paths
    gradient: str = choice("reinforce", GRADIENTS)  # the architecture step's estimator
    samples: int = limited(2, minimum=1)  # paths evaluated per REINFORCE architecture step
    baseline_decay: float = limited(0.9, minimum=0.0, below=1.0)  # moving-average baseline


class ProxylessNasSearcher(Searcher):
    """Trains the weights of one sampled path per step and learns the architecture by REINFORCE.

    Every graph is built with the `MixedOp`s in ``'sample'`` mode: each build draws one
    candidate per choice from softmax(alpha), so a step holds one path in memory. During
    the first `warmup_epochs` only the weights learn (on paths drawn from the initial,
    nearly uniform, distribution). Afterwards each step also makes an architecture step on
    the valid split: `samples` paths are drawn and evaluated, and each alpha receives the
    REINFORCE gradient ``-(R - b) * d log p(path) / d alpha`` (averaged), where the reward
    R is the batch accuracy and b a moving average of past rewards (`baseline_decay`).

    With ``gradient='binary_gate'`` the architecture step is instead the binary-gate
    gradient of the ProxylessNAS paper: each choice draws two candidates, the first active
    behind gates ``[1, 0]``; one backward pass gives dL/dg for both, and the alphas of the
    pair receive ``sum_j dL/dg_j * p_j * (delta_ij - p_i)`` with p the softmax over the
    pair's two alphas. Memory: two paths instead of the supernet's all.

    Hardware cost (optional, an estimator; every cost is of one input, see `CostTerm`):
        ``cost_mode='reward'``: R is multiplied by ``(cost / cost_target) ** cost_weight``
        of the sampled path (a negative weight, e.g. -0.07, favours cheaper paths; the
        ProxylessNAS/MnasNet form).
        ``cost_mode='penalty'``: ``cost_weight * E[cost]``, differentiable in the alphas,
        is added to the architecture loss (both gradients); ``cost_mode='target'``:
        ``cost_weight * |E[cost] / cost_target - 1|`` likewise.

    Each `train_on_batch` takes ``{'train': (x, y), 'valid': (x, y)}``; evaluation uses
    the most likely path (every choice at its argmax).
    """

    # Its draws and per-path updates are not yet made equal to one process's under data
    # parallel; the application refuses it under mpiexec.
    data_parallel = False

    Settings = PnasSettings
    cost_modes = COST_MODES
    choice = "sample"
    eval_choice = "max"

    def __init__(
        self,
        model: Model,
        optimizer: Optimizer,
        arch_optimizer: Optimizer,
        *,
        warmup_epochs: int = 0,
        gradient: str = "reinforce",
        samples: int = 2,
        baseline_decay: float = 0.9,
        estimator: CostModel | None = None,
        cost_mode: str = "reward",
        cost_weight: float = 0.0,
        cost_target: float | None = None,
        transform: Transform | None = None,
        context: nn.Context | None = None,
    ) -> None:
        super().__init__(
            model, {"weights": optimizer, "arch": arch_optimizer}, transform=transform,
            context=context,
        )  # fmt: skip
        if gradient not in GRADIENTS:
            raise ValueError(f"gradient must be one of {GRADIENTS}, got {gradient!r}")
        if gradient == "binary_gate" and estimator is not None and cost_mode == "reward":
            raise ValueError("the reward factor is REINFORCE's; use cost_mode='penalty'")
        if cost_mode not in COST_MODES:
            raise ValueError(f"cost_mode must be one of {COST_MODES}, got {cost_mode!r}")
        if estimator is not None and cost_mode != "penalty" and cost_weight and not cost_target:
            raise ValueError(
                f"cost_mode={cost_mode!r} with a cost_weight needs a positive cost_target"
            )
        if samples < 1:
            raise ValueError(f"samples must be at least 1, got {samples}")
        self.warmup_epochs, self.gradient = warmup_epochs, gradient
        self.samples, self.baseline_decay = samples, baseline_decay
        self.estimator, self.cost_mode = estimator, cost_mode
        self.cost_weight, self.cost_target = cost_weight, cost_target
        if estimator is not None:
            self.cost = Cost(estimator, cost_mode, cost_weight, cost_target)
        self.baseline: float | None = None
        self.epoch = 0
        self.choices = [m for _, m in model.get_modules() if isinstance(m, MixedOp)]
        if not self.choices:
            raise ValueError(f"{type(model).__name__} has no MixedOp to search")

    @classmethod
    def create(
        cls, model: Model, parts: SearchParts, settings: PnasSettings
    ) -> ProxylessNasSearcher:
        cost = parts.cost
        return cls(
            model, parts.optimizer, parts.arch_optimizer, warmup_epochs=settings.warmup_epochs,
            gradient=settings.gradient, samples=settings.samples,
            baseline_decay=settings.baseline_decay,
            estimator=None if cost is None else cost.estimator,
            cost_mode="reward" if cost is None else cost.mode,
            cost_weight=0.0 if cost is None else cost.weight,
            cost_target=None if cost is None else cost.target,
            transform=parts.transform, context=parts.context,
        )  # fmt: skip

    def on_epoch_start(self, epoch: int) -> None:
        self.epoch = epoch

    def train_on_batch(self, batch: Mapping[str, Batch]) -> dict[str, float]:
        result = self._weight_step(batch["train"])
        if self.epoch >= self.warmup_epochs:
            step = self._arch_step if self.gradient == "reinforce" else self._gate_step
            result.update(step(batch["valid"]))
        return result

    def _weight_step(self, batch: Batch) -> dict[str, float]:
        graph = self.build_graph(batch[0].shape, training=True)  # draws a new path
        self.feed(graph, batch)
        # the sampled path's weights only
        self.minimize(graph, self.optimizers["weights"], active=graph.params)
        return self.metrics(graph)

    def _arch_step(self, batch: Batch) -> dict[str, float]:
        alphas = self.model.get_arch_parameters()
        term = self.cost_term(batch[0].shape)
        rewards, directions, costs = [], [], []
        for _ in range(self.samples):
            graph = self.build_graph(batch[0].shape, training=True)
            self.feed(graph, batch)
            graph.loss.forward(clear_buffer=True)
            reward = 1.0 - self.metrics(graph)["error"]
            if term is not None:
                costs.append(term.path_cost(self.choices) if self.cost_mode == "reward"
                             else term.value())  # fmt: skip
                reward *= term.reward_factor(costs[-1])
            rewards.append(reward)
            directions.append(self._log_prob_gradient())
        baseline = float(np.mean(rewards)) if self.baseline is None else self.baseline
        opt = self.optimizers["arch"]
        opt.zero_grad()
        for reward, direction in zip(rewards, directions, strict=True):
            for alpha in alphas.values():
                alpha.g += -(reward - baseline) * direction.get(id(alpha), 0.0) / self.samples
        if term is not None:
            term.add_gradient()
        opt.step()
        mean = float(np.mean(rewards))
        decay = self.baseline_decay
        self.baseline = (
            mean if self.baseline is None else decay * self.baseline + (1 - decay) * mean
        )
        result = {"arch_reward": mean, "arch_baseline": self.baseline}
        if costs:
            result["arch_cost"] = float(np.mean(costs))
        return result

    def _gate_step(self, batch: Batch) -> dict[str, float]:
        graph = self.build_graph(batch[0].shape, training=True, choice="gate")
        self.feed(graph, batch)
        opt = self.optimizers["arch"]
        self.backward(graph, opt)  # the gates' gradients: the pair's weights are left out
        for op in self.choices:
            assert op.gates is not None, "a MixedOp in 'gate' mode draws at each build"
            (first, second), gate = op.gates
            pair = [first, second]
            logits = op.alpha.d.reshape(-1)[pair]
            p = np.exp(logits - logits.max())
            p /= p.sum()
            dgate = gate.g.reshape(-1)
            grad = np.zeros(op.alpha.size)
            for i in range(2):
                grad[pair[i]] = sum(dgate[j] * p[j] * ((i == j) - p[i]) for j in range(2))
            op.alpha.g += grad.reshape(op.alpha.shape)  # shared alphas add up
        term = self.cost_term(batch[0].shape)
        result = self.metrics(graph, prefix="arch_")
        if term is not None:
            term.add_gradient()
            result["arch_cost"] = term.value()
        opt.step()
        return result

    def _log_prob_gradient(self) -> dict[int, np.ndarray]:
        """d log p(sampled path) / d alpha, summed over the choices sharing an alpha."""
        grads: dict[int, np.ndarray] = {}
        for op in self.choices:
            assert op.index is not None, "a MixedOp in 'sample' mode draws at each build"
            onehot = np.zeros(len(op.operators))
            onehot[op.index] = 1.0
            step = (onehot - op.probs()).reshape(op.alpha.shape)
            grads[id(op.alpha)] = grads.get(id(op.alpha), 0.0) + step
        return grads

    def state_dict(self) -> dict[str, Any]:
        generators = {id(op.rng): op.rng for op in self.choices}
        return {
            "baseline": self.baseline,
            "rngs": [g.bit_generator.state for g in generators.values()],
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.baseline = state.get("baseline")
        generators = {id(op.rng): op.rng for op in self.choices}
        for generator, saved in zip(generators.values(), state.get("rngs", []), strict=False):
            generator.bit_generator.state = saved
