"""`DartsSearcher`: differentiable architecture search (Liu et al., ICLR 2019)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import nnabla as nn
import numpy as np

from ...contrib.model import Model
from ...optimizer import Optimizer
from ...utils.distributed import Communicator
from ...utils.fields import limited
from ..algorithm import Batch, Graph, Transform
from .search import Cost, Searcher, SearchParts

logger = logging.getLogger("nnabla_nas")


@dataclass(frozen=True)
class DartsSettings:
    """The ``darts:`` section of a search config."""

    unrolled: bool = False  # second-order approximation (about 3x the cost of a step)
    xi: float | None = limited(None, above=0.0)  # the virtual step; None: the weights' lr
    fd_scale: float = limited(0.01, above=0.0)  # finite-difference step: / ||dL_valid/dw'||
    # Lanczos steps per epoch for the largest eigenvalue of the Hessian of the valid loss
    # in the alphas (RobustDARTS); each costs two gradients of one batch; 0: off.
    hessian_iterations: int = limited(2, minimum=0)
    # DARTS-ES: stop when the eigenvalue's mean over the last `early_stop_window` epochs
    # exceeds the window before by a third, keeping the architecture of that window's start.
    early_stop: bool = False
    early_stop_window: int = limited(3, minimum=1)  # epochs per window of that rule


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

    Collapse diagnostics: after each epoch, with ``hessian_iterations`` > 0, the largest
    eigenvalue of the Hessian of the validation loss in the alphas, by Lanczos steps on
    central finite differences of gradients, warm started from the last epoch's vector
    (one validation batch; Zela et al., 2020, who show that its growth precedes the
    collapse to parameter-free operations). A rise of a
    third between two windows of ``early_stop_window`` epochs is logged as a warning, and
    with ``early_stop`` ends the search with the architecture of the earlier window's
    start (DARTS-ES).

    Each `train_on_batch` takes ``{'train': (x, y), 'valid': (x, y)}``. Every graph
    is built with the `MixedOp`s in ``'full'`` mode (the softmax-weighted sum).
    """

    Settings = DartsSettings
    cost_modes = ("penalty", "target")
    learns_edge_weights = True
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
        communicator: Communicator | None = None,
        sync_batch_norm: bool = False,
        hessian_iterations: int = 0,
        early_stop: bool = False,
        early_stop_window: int = 3,
    ) -> None:
        super().__init__(
            model, {"weights": optimizer, "arch": arch_optimizer}, transform=transform,
            context=context, communicator=communicator, sync_batch_norm=sync_batch_norm,
        )  # fmt: skip
        self.unrolled, self.xi, self.fd_scale = unrolled, xi, fd_scale
        self.cost = cost
        if early_stop and not hessian_iterations:
            raise ValueError(
                "darts.early_stop follows the Hessian eigenvalue: set darts.hessian_iterations > 0"
            )
        self.hessian_iterations, self.early_stop = hessian_iterations, early_stop
        self.early_stop_window = early_stop_window
        self.eigenvalues: list[float] = []
        self._alpha_history: list[list[list[float]]] = []
        self._valid_batch: Batch | None = None
        self._probe: dict[str, np.ndarray] | None = None  # the power iteration's warm start

    @classmethod
    def create(cls, model: Model, parts: SearchParts, settings: DartsSettings) -> DartsSearcher:
        return cls(
            model, parts.optimizer, parts.arch_optimizer, unrolled=settings.unrolled,
            xi=settings.xi, fd_scale=settings.fd_scale, transform=parts.transform,
            context=parts.context, cost=parts.cost, communicator=parts.communicator,
            sync_batch_norm=parts.sync_batch_norm,
            hessian_iterations=settings.hessian_iterations, early_stop=settings.early_stop,
            early_stop_window=settings.early_stop_window,
        )  # fmt: skip

    def train_on_batch(self, batch: Mapping[str, Batch]) -> dict[str, float]:
        # One graph serves every half-step and every term of a step (for batches of one
        # shape): they run one after the other, and nnabla's functions keep memory of
        # their own between steps, DepthwiseConvolution's a quarter of a step's peak on the
        # DARTS supernet, so a second graph would double it.
        train = self.graph("train", batch["train"][0].shape)
        arch = self.graph("train", batch["valid"][0].shape)
        term = self.cost_term(batch["valid"][0].shape)
        self._valid_batch = batch["valid"]
        self.feed(arch, batch["valid"])
        shown = None
        if self.unrolled:
            shown = self._unrolled_arch_gradient(train, arch, batch["train"])
        else:
            self.backward(arch, self.optimizers["arch"])  # the alphas' gradients only
        result = self.step_architecture(arch, term, shown)
        self.feed(train, batch["train"])
        self.minimize(train, self.optimizers["weights"])
        return {**self.metrics(train), **result}

    def _unrolled_arch_gradient(
        self, train: Graph, arch: Graph, train_batch: Batch
    ) -> dict[str, float]:
        """Sets each alpha's gradient to the second-order DARTS approximation; returns the
        metrics of the validation batch at the virtual weights, prefixed ``arch_``.

        `arch` holds the validation batch and its noise; `train` is fed `train_batch`. The
        two may be one graph: each term sets its own batch and noise back before it runs."""
        weights = self.model.get_net_parameters(grad_only=True)
        alphas = self.model.get_arch_parameters(grad_only=True)
        saved = {k: p.d.copy() for k, p in self.model.get_net_parameters().items()}
        opt = self.optimizers["weights"]
        xi = opt.lr if self.xi is None else self.xi
        valid_inputs = arch.inputs()
        self.feed(train, train_batch)  # one batch and one noise draw for every term
        train_inputs = train.inputs()
        g_train = self._gradients(train, weights)
        for k, p in weights.items():  # the virtual step w' = w - xi * (g + wd * w)
            p.d = saved[k] - xi * (g_train[k] + opt.weight_decay * saved[k])
        arch.restore(valid_inputs)
        g_valid = self._gradients(arch, {**weights, **alphas})
        shown = self.metrics(arch, prefix="arch_")
        v = {k: g_valid[k] for k in weights}
        eps = self.fd_scale / max(np.sqrt(sum(float(np.sum(g * g)) for g in v.values())), 1e-12)
        train.restore(train_inputs)
        hessian_terms = []
        for sign in (1.0, -1.0):  # dL_train/dalpha at w + eps v and at w - eps v
            for k, p in weights.items():
                p.d = saved[k] + sign * eps * v[k]
            hessian_terms.append(self._gradients(train, alphas))
        self.model.set_parameters(saved)
        for k, a in alphas.items():
            a.g = g_valid[k] - xi * (hessian_terms[0][k] - hessian_terms[1][k]) / (2 * eps)
        return shown

    def _gradients(self, graph: Graph, params: Mapping) -> dict[str, np.ndarray]:
        """Returns d(loss)/d(param) for `params` at the current values (of the whole batch
        under data parallel)."""
        for p in self.model.get_parameters().values():
            p.grad.zero()
        with graph.differentiating(params.values()):
            graph.loss.forward(clear_no_need_grad=True)
            graph.loss.backward(clear_buffer=True)
        self.comm.allreduce_mean([p.grad for p in params.values()])
        return {k: p.g.copy() for k, p in params.items()}

    # -- collapse diagnostics ------------------------------------------------------------
    def hessian_eigenvalue(
        self, batch: Batch, iterations: int, eps: float = 1e-2, start: Mapping | None = None
    ) -> tuple[float, dict[str, np.ndarray]]:
        """The largest eigenvalue of the Hessian of the valid loss on `batch` in the alphas
        (the sharpness RobustDARTS tracks), by `iterations` Lanczos steps, each one
        Hessian-vector product ``(g(a + e v) - g(a - e v)) / 2e`` of finite differences of
        gradients, from `start` (a random vector if None). Returns it and its Ritz vector,
        to warm start the next call. Every parameter, the running statistics included, is
        restored and no random draw of the search is consumed: the search is not changed.

        Lanczos rather than plain power iteration: with the same products it converges
        faster, and power iteration finds the eigenvalue largest in magnitude, which in an
        early search is often a negative one. Finite differences because nnabla has no
        second derivative of the depthwise convolution; `eps` is 1e-2 as ReLUs and
        max pooling make the gradient kinked at smaller steps (on the digits supernet,
        v'Hw and w'Hv differ least at 1e-2 to 2e-2 of the steps tried, 3e-3 to 5e-2)."""
        graph = self.graph("train", batch[0].shape)
        graph.feed(batch, np.random.default_rng(0), (self.comm.rank, self.comm.size))
        alphas = self.model.get_arch_parameters(grad_only=True)
        keys = list(alphas)
        everything = self.model.get_parameters()
        saved = {k: p.d.copy() for k, p in everything.items()}
        weights = {k: saved[k] for k in saved if k not in alphas}
        at = np.concatenate([alphas[k].d.reshape(-1) for k in keys]).astype(np.float64)
        if start is None:
            v = np.random.default_rng(len(self.eigenvalues)).standard_normal(at.size)
        else:
            v = np.concatenate([np.asarray(start[k]).reshape(-1) for k in keys])

        def gradient(point: np.ndarray) -> np.ndarray:
            self.model.set_parameters(weights)
            offset = 0
            for k in keys:
                alphas[k].d = point[offset : offset + alphas[k].size].reshape(alphas[k].shape)
                offset += alphas[k].size
            grads = self._gradients(graph, alphas)
            return np.concatenate([grads[k].reshape(-1) for k in keys]).astype(np.float64)

        basis, diagonal, off = [v / max(np.linalg.norm(v), 1e-12)], [], []
        try:  # each gradient is of the alphas only (`_gradients`): the weights' is not needed
            for _ in range(iterations):
                q = basis[-1]
                w = (gradient(at + eps * q) - gradient(at - eps * q)) / (2 * eps)
                diagonal.append(float(w @ q))
                for b in basis:  # full reorthogonalization: a handful of vectors
                    w = w - (w @ b) * b
                norm = float(np.linalg.norm(w))
                if norm < 1e-10 or len(basis) == at.size:
                    break
                off.append(norm)
                basis.append(w / norm)
        finally:
            self.model.set_parameters(saved)
            for p in everything.values():
                p.grad.zero()
        m = len(diagonal)
        values, vectors = np.linalg.eigh(
            np.diag(diagonal) + np.diag(off[: m - 1], 1) + np.diag(off[: m - 1], -1)
        )
        ritz = np.array(basis[:m]).T @ vectors[:, -1]
        split = np.cumsum([alphas[k].size for k in keys])[:-1]
        parts = np.split(ritz, split)
        return float(values[-1]), {
            k: x.reshape(alphas[k].shape) for k, x in zip(keys, parts, strict=True)
        }

    def epoch_diagnostics(self) -> dict[str, float]:
        found = super().epoch_diagnostics()
        self._alpha_history.append(
            [a.d.reshape(-1).tolist() for a in self.model.get_arch_parameters().values()]
        )
        if self.hessian_iterations and self._valid_batch is not None:
            value, self._probe = self.hessian_eigenvalue(
                self._valid_batch, self.hessian_iterations, start=self._probe
            )
            self.eigenvalues.append(value)
            found["hessian_eigenvalue"] = value
            if self._rising():
                logger.warning(
                    f"the largest Hessian eigenvalue of the alphas rose by more than a third "
                    f"over {self.early_stop_window} epochs ({self.eigenvalues[-1]:.4g}): DARTS "
                    "may be collapsing to parameter-free ops (darts.early_stop stops it)"
                )
        return found

    def _rising(self) -> bool:
        k, values = self.early_stop_window, self.eigenvalues
        if len(values) < 2 * k:
            return False
        before, now = np.mean(values[-2 * k : -k]), np.mean(values[-k:])
        return bool(before > 0 and now / before > 4 / 3)

    def stop_reason(self) -> str | None:
        if not (self.early_stop and self._rising()):
            return None
        back = self._alpha_history[-1 - self.early_stop_window]
        for alpha, values in zip(self.model.get_arch_parameters().values(), back, strict=True):
            alpha.d = np.asarray(values, dtype=np.float32).reshape(alpha.shape)
        return (
            f"DARTS-ES: the Hessian eigenvalue rose by more than a third over "
            f"{self.early_stop_window} epochs; the architecture is that of "
            f"{self.early_stop_window} epochs before"
        )

    def state_dict(self) -> dict[str, Any]:
        probe = None if self._probe is None else {k: v.tolist() for k, v in self._probe.items()}
        return {
            "eigenvalues": self.eigenvalues, "alpha_history": self._alpha_history,
            "probe": probe,
        }  # fmt: skip

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.eigenvalues = [float(v) for v in state.get("eigenvalues", [])]
        self._alpha_history = state.get("alpha_history", [])
        probe = state.get("probe")
        self._probe = None if probe is None else {k: np.asarray(v) for k, v in probe.items()}
