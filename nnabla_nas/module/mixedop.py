"""`MixedOp`: a labelled choice among candidate modules, the unit of a search space."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import nnabla as nn
import nnabla.functions as F
import numpy as np

from .container import ModuleList
from .misc import Zero
from .module import Module
from .parameter import Parameter

MODES: tuple[str, ...] = ("full", "sample", "max", "gate", "gumbel")
"""The closed set of `MixedOp` modes (see `MixedOp`)."""


def softmax(logits: np.ndarray) -> np.ndarray:
    """Numerically stable softmax of a 1-D array."""
    z = np.exp(logits - np.max(logits))
    return z / z.sum()


def weighted_sum(outputs: Sequence[Any], weights: Any) -> Any:
    """``sum_i weights[0, i] * outputs[i]`` of variables of one shape, `weights` of shape
    ``(1, len(outputs))``."""
    # A (1, n) x (n, size) product: on CPU about 15x faster than a broadcast
    # multiply-and-sum over the stacked outputs (benchmarks/darts_step.py).
    stacked = F.reshape(F.stack(*outputs, axis=0), (len(outputs), -1))
    return F.reshape(F.affine(weights, stacked), tuple(outputs[0].shape))


def _columns(weights: Any, index: Sequence[int]) -> Any:
    """The columns `index` (ascending) of a ``(1, n)`` variable, as a ``(1, len(index))``
    one: a slice per run of consecutive columns."""
    runs: list[list[int]] = []
    for i in index:
        if runs and i == runs[-1][1]:
            runs[-1][1] = i + 1
        else:
            runs.append([i, i + 1])
    parts = [weights[:, a:b] for a, b in runs]
    return parts[0] if len(parts) == 1 else F.concatenate(*parts, axis=1)


def check_mode(mode: str) -> str:
    """Returns `mode` if it is one of `MODES`, else raises a ValueError listing them."""
    if mode not in MODES:
        raise ValueError(f"MixedOp: unknown mode {mode!r}; use one of {', '.join(MODES)}")
    return mode


class MixedOp(Module):
    """Chooses among candidate operators, weighted by the architecture parameter `alpha`.

    Modes (`MODES`), fixed per graph build:
        ``'full'``: the softmax(alpha)-weighted sum of every candidate (DARTS relaxation).
        ``'sample'``: one candidate drawn from softmax(alpha) at each call (graph build),
        from the op's own generator `rng`.
        ``'max'``: the candidate of largest alpha (nothing is drawn).
        ``'gate'``: two candidates drawn from softmax(alpha), the first active, behind
        binary gates whose gradients give the ProxylessNAS architecture gradient.
        ``'gumbel'``: the candidate of the op's last `draw_gumbel` (the argmax of the
        Gumbel-perturbed logits), alone computed, times a weight of value 1 whose gradient
        is that of its Gumbel-softmax probability (GDAS's straight-through estimator:
        hard forward, soft backward).
    In ``'sample'``, ``'max'`` and ``'gumbel'`` mode only the active candidate keeps
    ``need_grad`` (in ``'gate'`` mode the two drawn ones), so
    ``get_parameters(grad_only=True)`` right after the build lists just the parameters on
    the active path. Searchers choose the mode of a graph with ``model.modes(choice=...)``,
    which restores the tree afterwards.

    Args:
        operators: the candidates; all must map an input to outputs of one shape.
        mode: one of `MODES`; the mode used when no `Module.modes` block sets another.
        alpha: an architecture parameter of ``len(operators)`` logits to use (and possibly
            share with other MixedOps); a new one is made when None.
        rng: the generator that initialises a new `alpha` and draws samples; pass one
            (or an int seed) for reproducible runs.
        label: the name of the choice (e.g. ``'normal/edge_3'``); MixedOps sharing an
            alpha are one choice and should share the label.
        names: the candidates' names, in alpha order (default ``'0'``, ``'1'``, ...).

    Example:
        >>> from nnabla_nas import module as Mo
        >>> op = Mo.MixedOp([Mo.Identity(), Mo.MaxPool((3, 3), (1, 1), (1, 1))], mode='max',
        ...                 label='block_0', names=['skip', 'pool'])
    """

    MODE_STATE = (*Module.MODE_STATE, "_mode")

    def __init__(
        self,
        operators: Iterable[Module],
        mode: str = "full",
        alpha: Parameter | None = None,
        *,
        rng: np.random.Generator | int | None = None,
        label: str | None = None,
        names: Sequence[str] | None = None,
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
        self.label = label
        self.names = tuple(str(i) for i in range(n)) if names is None else tuple(names)
        if len(self.names) != n or len(set(self.names)) != n:
            raise ValueError(
                f"MixedOp has {n} candidates; names must be {n} distinct names, got "
                f"{list(self.names)}"
            )

    @property
    def mode(self) -> str:
        """One of `MODES`: how the next graph build chooses (see the class docstring)."""
        return str(self.__dict__["_mode"])

    @mode.setter
    def mode(self, mode: str) -> None:
        self.__dict__["_mode"] = check_mode(mode)

    def set_choice(self, choice: str) -> None:
        """Sets `mode` (what `Module.modes` calls with its `choice`)."""
        self.mode = choice

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
        if self.mode == "gumbel":
            return self._gumbel_hard(input)
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
        n = len(self._ops)
        logits = self._alpha if self._alpha.shape == (n,) else F.reshape(self._alpha, (n,))
        weights = F.reshape(F.softmax(logits, axis=0), (1, n))
        return self._combine(input, list(range(n)), weights)

    def _combine(self, input: Any, chosen: list[int], weights: Any) -> Any:
        """``sum_j weights[0, j] * output_j`` of the candidates `chosen` (their outputs of
        one shape), without the memory of the candidates that need none.

        A `Zero` candidate adds nothing: it is left out of the sum (its graph is built for
        the shape check but never computed); its weight still normalises the others', so
        the gradients are those of the full sum. A candidate returning its input (the
        identity) adds ``weight * input`` instead of a copy of the input in the stacked
        outputs that the product's backward keeps.
        """
        outputs = [self._ops[i](input) for i in chosen]
        shapes = [tuple(o.shape) for o in outputs]
        if len(set(shapes)) != 1:
            detail = ", ".join(
                f"{i} {type(self._ops[i]).__name__}: {s}"
                for i, s in zip(chosen, shapes, strict=True)
            )
            raise ValueError(f"MixedOp candidates give outputs of different shapes ({detail})")
        kept = [j for j, i in enumerate(chosen) if not isinstance(self._ops[i], Zero)]
        passed = [j for j in kept if outputs[j] is input]
        stacked = [j for j in kept if j not in passed]
        if len(stacked) == len(outputs) or not kept:  # nothing to spare, or all zero
            return weighted_sum(outputs, weights)
        terms = []
        if stacked:
            terms.append(weighted_sum([outputs[j] for j in stacked], _columns(weights, stacked)))
        ones = (1,) * (input.ndim - 1)
        for j in passed:
            terms.append(F.mul2(input, F.reshape(_columns(weights, [j]), (1, *ones))))
        return F.add_n(*terms) if len(terms) > 1 else terms[0]

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
        return self._combine(input, [first, second], gate)

    @property
    def gumbel(self) -> GumbelDraw | None:
        """The draw ``'gumbel'`` mode builds with (set by `draw_gumbel`)."""
        return self.__dict__.get("_gumbel")

    def _gumbel_hard(self, input: Any) -> Any:
        """The drawn candidate's output times ``h = p_k + (1 - p_k.d)``: value 1, gradient
        that of ``p_k``, the candidate's probability in softmax((alpha + g) / tau)."""
        draw = self.gumbel
        if draw is None:
            raise ValueError(
                "MixedOp in 'gumbel' mode builds the candidate of a draw: call "
                "draw_gumbel(model, rng, tau) before building the graph"
            )
        n, k = len(self._ops), draw.index
        self._index = k
        for i, op in enumerate(self._ops):
            op.need_grad = i == k
        logits = self._alpha if self._alpha.shape == (n,) else F.reshape(self._alpha, (n,))
        noise = nn.Variable.from_numpy_array(draw.noise.astype(np.float32))
        soft = F.softmax(F.mul_scalar(F.add2(logits, noise), 1.0 / draw.tau), axis=0)
        value = float(draw.probs(self._alpha.d)[k])  # the alphas do not change before forward
        weight = F.add_scalar(F.slice(soft, (k,), (k + 1,)), 1.0 - value)
        return self._combine(input, [k], F.reshape(weight, (1, 1)))

    def extra_repr(self) -> str:
        label = "" if self.label is None else f"label={self.label!r}, "
        return f"{label}mode={self.mode!r}, num_ops={len(self._ops)}"


@contextmanager
def most_likely(model: Module) -> Iterator[Module]:
    """Within the block, every `MixedOp` of `model` builds its argmax candidate.

    The same as ``model.modes(choice='max')``: for inspecting a supernet mid-search
    (costs, diagrams, the graph). Nothing is drawn from the sampling generators, and every
    mode and `need_grad` flag is restored afterwards; `index` tells the last build's choice.

    Example:
        >>> from nnabla_nas import module as Mo
        >>> op = Mo.MixedOp([Mo.Identity(), Mo.ReLU()], mode='sample', rng=0)
        >>> with most_likely(op):
        ...     op.mode
        'max'
        >>> op.mode
        'sample'
    """
    with model.modes(choice="max"):
        yield model


@dataclass(frozen=True, eq=False)
class GumbelDraw:
    """One Gumbel-max draw of a choice: the noise ``g`` added to its logits, the
    temperature, and the drawn candidate ``argmax(alpha + g)``."""

    noise: np.ndarray
    tau: float
    index: int

    def probs(self, alpha: np.ndarray) -> np.ndarray:
        """softmax((alpha + g) / tau): the relaxed sample whose gradient GDAS uses."""
        return softmax((np.asarray(alpha, dtype=np.float64).reshape(-1) + self.noise) / self.tau)


def draw_gumbel(
    model: Module,
    rng: np.random.Generator,
    tau: float,
    *,
    choices: Sequence[Choice] | None = None,
) -> list[int]:
    """Draws a candidate for every choice of `model` (one draw per alpha: the `MixedOp`s
    sharing it build the same candidate) for its ``'gumbel'`` mode builds; returns the
    drawn indices in choice order. The noise is standard Gumbel, ``-log(-log u)``.

    Args:
        choices: ``find_choices(model)``, if the caller keeps it (a search draws twice a
            step; the walk over a large supernet's modules need not run each time).
    """
    if not tau > 0:
        raise ValueError(f"draw_gumbel needs a positive temperature, got {tau}")
    drawn = []
    for choice in find_choices(model) if choices is None else choices:
        u = rng.uniform(np.finfo(np.float64).tiny, 1.0, choice.alpha.size)
        noise = -np.log(-np.log(u))
        index = int(np.argmax(choice.alpha.d.reshape(-1).astype(np.float64) + noise))
        draw = GumbelDraw(noise, float(tau), index)
        for op in choice.ops:
            op.__dict__["_gumbel"] = draw
        drawn.append(index)
    return drawn


@dataclass(frozen=True, eq=False)
class Choice:
    """One decision of a search space: the `MixedOp`s that share one alpha.

    Attributes:
        label: the first op's `label`, else its module path.
        names: the candidates' names, in alpha order.
        alpha: the shared architecture parameter.
        ops: every `MixedOp` of the tree using `alpha`, in tree order.
    """

    label: str
    names: tuple[str, ...]
    alpha: Parameter
    ops: tuple[MixedOp, ...]

    def probs(self) -> np.ndarray:
        """softmax(alpha) as a numpy array."""
        return softmax(self.alpha.d.reshape(-1))


def find_choices(model: Module) -> list[Choice]:
    """The decisions of `model`: its `MixedOp`s grouped by alpha, in tree order.

    Raises:
        ValueError: two choices have one label, or MixedOps sharing an alpha name their
            candidates differently.
    """
    groups: dict[int, list[tuple[str, MixedOp]]] = {}
    for path, module in model.get_modules():
        if isinstance(module, MixedOp):
            groups.setdefault(id(module.alpha), []).append((path, module))
    found: list[Choice] = []
    for members in groups.values():
        path, first = members[0]
        names = {op.names for _, op in members}
        if len(names) > 1:
            raise ValueError(
                f"the MixedOps sharing the alpha of '{path}' name their candidates "
                f"differently: {sorted(names)}"
            )
        label = first.label or path or type(first).__name__
        found.append(Choice(label, first.names, first.alpha, tuple(op for _, op in members)))
    labels = [c.label for c in found]
    repeated = sorted({label for label in labels if labels.count(label) > 1})
    if repeated:
        raise ValueError(f"choices with different alphas share the labels {repeated}")
    return found


def choice_probs(model: Module) -> dict[str, dict[str, float]]:
    """The candidate probabilities of each choice of `model`, by label and candidate name."""
    return {
        c.label: {name: float(p) for name, p in zip(c.names, c.probs(), strict=True)}
        for c in find_choices(model)
    }
