"""`MixedOp`: a labelled choice among candidate modules, the unit of a search space."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import nnabla as nn
import nnabla.functions as F
import numpy as np

from .container import ModuleList
from .module import Module
from .parameter import Parameter

MODES = ("full", "sample", "max", "gate")


def softmax(logits: np.ndarray) -> np.ndarray:
    """Numerically stable softmax of a 1-D array."""
    z = np.exp(logits - np.max(logits))
    return z / z.sum()


class MixedOp(Module):
    """Chooses among candidate operators, weighted by the architecture parameter `alpha`.

    Modes:
        ``'full'``: the softmax(alpha)-weighted sum of every candidate (DARTS relaxation).
        ``'sample'``: one candidate drawn from softmax(alpha) at each call (graph build).
        ``'max'``: the candidate of largest alpha.
        ``'gate'``: two candidates drawn from softmax(alpha), the first active, behind
        binary gates whose gradients give the ProxylessNAS architecture gradient.
    In ``'sample'`` and ``'max'`` mode only the active candidate keeps ``need_grad``, so
    ``get_parameters(grad_only=True)`` lists just the parameters on the active path.

    Args:
        operators: the candidates; all must map an input to outputs of one shape.
        mode: ``'full'``, ``'sample'`` or ``'max'``.
        alpha: an architecture parameter of ``len(operators)`` logits to use (and possibly
            share with other MixedOps); a new one is made when None.
        rng: the generator that initialises a new `alpha` and draws samples; pass one
            (or an int seed) for reproducible runs.

    Example:
        >>> from nnabla_nas import module as Mo
        >>> op = Mo.MixedOp([Mo.Identity(), Mo.MaxPool((3, 3), (1, 1), (1, 1))], mode='max')
    """

    def __init__(
        self,
        operators: Iterable[Module],
        mode: str = "full",
        alpha: Parameter | None = None,
        *,
        rng: np.random.Generator | int | None = None,
    ) -> None:
        self._ops = ModuleList(operators)
        n = len(self._ops)
        if n == 0:
            raise ValueError("MixedOp needs at least one candidate operator")
        self._rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        if alpha is None:
            # DARTS initialises the logits with small Gaussian noise.
            alpha = Parameter((n,), initializer=1e-3 * self._rng.standard_normal(n))
        if alpha.size != n:
            raise ValueError(f"MixedOp has {n} candidates but alpha has shape {alpha.shape}")
        self._alpha = alpha
        self.mode = mode
        self._index: int | None = None

    @property
    def mode(self) -> str:
        """``'full'``, ``'sample'`` or ``'max'``."""
        return str(self.__dict__["_mode"])

    @mode.setter
    def mode(self, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"MixedOp: unknown mode {mode!r}; use one of {MODES}")
        self.__dict__["_mode"] = mode

    @property
    def operators(self) -> ModuleList:
        return self._ops

    @property
    def alpha(self) -> Parameter:
        return self._alpha

    @property
    def rng(self) -> np.random.Generator:
        """The generator of the draws in ``'sample'`` mode (its state is checkpointed)."""
        return self._rng

    @property
    def index(self) -> int | None:
        """The active candidate of the last call in ``'sample'``/``'max'`` mode."""
        return self._index

    def probs(self) -> np.ndarray:
        """softmax(alpha) as a numpy array."""
        return softmax(self._alpha.d.reshape(-1))

    def call(self, input: Any) -> Any:
        if self.mode == "full":
            return self._weighted_sum(input)
        if self.mode == "gate":
            return self._gated_pair(input)
        probs = self.probs()
        if self.mode == "sample":
            self._index = int(self._rng.choice(len(probs), p=probs))
        else:
            self._index = int(np.argmax(probs))
        for i, op in enumerate(self._ops):
            op.need_grad = i == self._index
        return self._ops[self._index](input)

    def _weighted_sum(self, input: Any) -> Any:
        self._index = None
        for op in self._ops:
            op.need_grad = True
        outputs = [op(input) for op in self._ops]
        n = len(outputs)
        logits = self._alpha if self._alpha.shape == (n,) else F.reshape(self._alpha, (n,))
        return self._combine(outputs, F.reshape(F.softmax(logits, axis=0), (1, n)))

    def _combine(self, outputs: list[Any], weights: Any) -> Any:
        """``sum_i weights[0, i] * outputs[i]`` for outputs of one shape."""
        shapes = [tuple(o.shape) for o in outputs]
        if len(set(shapes)) != 1:
            detail = ", ".join(
                f"{i} {type(self._ops[i]).__name__}: {s}" for i, s in enumerate(shapes)
            )
            raise ValueError(f"MixedOp candidates give outputs of different shapes ({detail})")
        # A (1, n) x (n, size) product: on CPU about 15x faster than a broadcast
        # multiply-and-sum over the stacked outputs (benchmarks/darts_step.py).
        stacked = F.reshape(F.stack(*outputs, axis=0), (len(outputs), -1))
        return F.reshape(F.affine(weights, stacked), shapes[0])

    @property
    def gates(self) -> tuple[tuple[int, int], nn.Variable] | None:
        """In ``'gate'`` mode: the two candidates drawn at the last build, and the gate
        variable (value ``[1, 0]``) whose gradient is dL/dg of each (ProxylessNAS)."""
        return self.__dict__.get("_gates")

    def _gated_pair(self, input: Any) -> Any:
        """Two candidates drawn without replacement from softmax(alpha); the first is
        active. The output is ``1 * o_a + 0 * o_b``, so backward gives dL/dg for both."""
        probs = self.probs()
        if len(probs) < 2:
            raise ValueError("MixedOp in 'gate' mode needs at least two candidates")
        first = int(self._rng.choice(len(probs), p=probs))
        rest = np.delete(np.arange(len(probs)), first)
        second = int(self._rng.choice(rest, p=probs[rest] / probs[rest].sum()))
        self._index = first
        for i, op in enumerate(self._ops):
            op.need_grad = i in (first, second)
        gate = nn.Variable((1, 2), need_grad=True)
        gate.d = np.array([[1.0, 0.0]])
        self.__dict__["_gates"] = ((first, second), gate)
        return self._combine([self._ops[first](input), self._ops[second](input)], gate)

    def extra_repr(self) -> str:
        return f"mode={self.mode!r}, num_ops={len(self._ops)}"


@contextmanager
def most_likely(model: Module) -> Iterator[Module]:
    """Within the block, every `MixedOp` of `model` builds its argmax candidate.

    For inspecting a supernet mid-search (costs, diagrams, the graph) without side
    effects: nothing is drawn from the sampling generators, and each `MixedOp`'s mode,
    last index and gates, and every module's `need_grad` flag are restored afterwards.

    Example:
        >>> from nnabla_nas import module as Mo
        >>> op = Mo.MixedOp([Mo.Identity(), Mo.ReLU()], mode='sample', rng=0)
        >>> with most_likely(op):
        ...     op.mode
        'max'
        >>> op.mode
        'sample'
    """
    modules = [m for _, m in model.get_modules()]
    flags = [(m, m.__dict__.get("_need_grad")) for m in modules]
    saved = [
        (m, m.mode, m.__dict__.get("_index"), m.__dict__.get("_gates"))
        for m in modules
        if isinstance(m, MixedOp)
    ]
    for op, *_ in saved:
        op.mode = "max"
    try:
        yield model
    finally:
        for op, mode, index, gates in saved:
            op.mode = mode
            op.__dict__["_index"] = index
            if gates is None:
                op.__dict__.pop("_gates", None)
            else:
                op.__dict__["_gates"] = gates
        for module, flag in flags:
            if flag is None:
                module.__dict__.pop("_need_grad", None)
            else:
                module.__dict__["_need_grad"] = flag
