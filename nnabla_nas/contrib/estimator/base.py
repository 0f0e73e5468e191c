"""`Estimator`: the one protocol of hardware cost models.

An estimator prices single leaf layers (`layer_cost`); the base class walks a module tree
with it. `cost` gives the cost of the network as last built (only the active candidate of
a `MixedOp` in ``'sample'``/``'max'`` mode, the softmax-weighted mean in ``'full'`` mode),
`expected` the expected cost as an `nn.Variable` differentiable in every `alpha`, and
`table` the per-layer rows behind `cost`.

What is counted: leaf modules (modules without children) that were called in the last
graph build. Functions a non-leaf module calls directly in its `call()` (e.g. an
``F.concatenate`` inside a cell) are not layers and cost nothing here; wrap them in a
layer such as `Merging` to count them. A leaf module called several times in one graph
is counted once, with the input shapes of its last call.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import nnabla as nn
import nnabla.functions as F
import numpy as np

from ...module import MixedOp, Module

Shape = tuple[int, ...]

__all__ = ["Estimator", "Shape", "build", "infer_output_shape", "recorded_shapes"]


def _join(prefix: str, name: str) -> str:
    return f"{prefix}/{name}" if prefix else name


def recorded_shapes(module: Module) -> list[Shape] | None:
    """The input shapes of the module's last call, or None if it was never called."""
    shapes = module.__dict__.get("input_shapes")
    return None if shapes is None else [tuple(int(d) for d in s) for s in shapes]


def build(model: Module, input_shape: Sequence[int] | nn.Variable) -> Any:
    """Builds a throwaway graph of `model` on a fresh input of `input_shape`; returns its output.

    `input_shape` may also be the input variable itself.

    The shapes recorded by an earlier build are forgotten first, so that modules left out
    of this graph (e.g. an auxiliary head in inference mode) are not counted. Building a
    graph computes nothing and changes no parameter value; a `MixedOp` in ``'sample'``
    mode draws a new candidate, as at any build.
    """
    for _, module in model.get_modules():
        module.__dict__.pop("input_shapes", None)
    with nn.auto_forward(False):
        if isinstance(input_shape, nn.Variable):
            return model(input_shape)
        return model(nn.Variable(tuple(int(d) for d in input_shape)))


def infer_output_shape(layer: Module, input_shapes: Sequence[Shape]) -> Shape:
    """The output shape of a leaf `layer` on inputs of `input_shapes`, as nnabla infers it.

    Calls the layer's `call()` directly on fresh variables, so the shapes recorded by the
    last graph build are left as they are.
    """
    with nn.auto_forward(False):
        out = layer.call(*[nn.Variable(tuple(s)) for s in input_shapes])
    return tuple(int(d) for d in out.shape)


def _constant(values: Sequence[float]) -> nn.Variable:
    return nn.Variable.from_numpy_array(np.asarray(values, dtype=np.float32))


class Estimator:
    """A hardware cost model: the cost of a layer, of a network, and its expectation.

    Subclasses set `name` and `unit` and implement `layer_cost`; they may override `cost`
    when a network's cost is not the sum of its layers' (see `MemoryEstimator`).

    Example:
        >>> import nnabla as nn
        >>> from nnabla_nas import module as Mo
        >>> from nnabla_nas.contrib.estimator import FLOPsEstimator
        >>> net = Mo.Sequential(Mo.Conv(1, 2, (3, 3), pad=(1, 1)), Mo.ReLU())
        >>> _ = net(nn.Variable((1, 1, 4, 4)))
        >>> FLOPsEstimator().cost(net)  # conv: 2*9*32 + 32 (bias); relu: 32
        640.0
    """

    name: str = "cost"
    unit: str = ""

    def offset(self) -> float:
        """A constant every network's cost includes beyond its layers' (0 here; the
        intercept of a calibrated `LatencyEstimator`)."""
        return 0.0

    def layer_cost(self, module: Module, input_shapes: list[Shape]) -> float:
        """The cost of one leaf layer on inputs of `input_shapes`."""
        raise NotImplementedError(f"{type(self).__name__} must implement layer_cost()")

    def unsupported(self, module: Module) -> float:
        """The cost of a layer type the estimator has no formula for.

        A parameter-free layer (`Lambda`, `DropPath`, ...) is taken as a cheap op of cost 0;
        a layer with parameters raises, so that no real cost is silently dropped.

        Raises:
            NotImplementedError: the layer has parameters.
        """
        if any(True for _ in module.named_local_parameters()):
            raise NotImplementedError(
                f"{type(self).__name__} has no formula for layer type "
                f"{type(module).__name__}, which has parameters; subclass the estimator and "
                f"handle it in layer_cost()"
            )
        return 0.0

    # -- the network as last built ---------------------------------------------
    def cost(self, model: Module, input_shape: Sequence[int] | None = None) -> float:
        """The cost of the network as last built, in `unit`.

        Args:
            model: a module called at least once (``model(x)``) so that shapes are recorded.
            input_shape: if given, a throwaway graph is built on an input of this shape first.
        """
        rows = self._rows(model, input_shape)
        return float(sum(weight * cost for _, _, weight, cost in rows)) + self.offset()

    def table(
        self, model: Module, input_shape: Sequence[int] | None = None
    ) -> list[tuple[str, str, float]]:
        """Rows ``(module path, layer type, cost)`` of the layers `cost` sums, in tree order.

        Under a `MixedOp` in ``'full'`` mode the cost of a candidate's layer is weighted by
        the candidate's probability, so the rows always add up to `cost`; a nonzero
        `offset` is the last row, ``('(offset)', 'offset', value)``.
        """
        rows = self._rows(model, input_shape)
        found = [(path, type(m).__name__, weight * cost) for path, m, weight, cost in rows]
        if self.offset():
            found.append(("(offset)", "offset", self.offset()))
        return found

    def _rows(
        self, model: Module, input_shape: Sequence[int] | None
    ) -> list[tuple[str, Module, float, float]]:
        self._prepare(model, input_shape)
        return [
            (path, m, weight, float(self.layer_cost(m, recorded_shapes(m) or [])))
            for path, m, weight in self.active_layers(model)
        ]

    def _prepare(self, model: Module, input_shape: Sequence[int] | None) -> None:
        if input_shape is not None:
            build(model, input_shape)
        if recorded_shapes(model) is None:
            raise RuntimeError(
                f"{type(model).__name__} has no recorded input shapes; call model(x) once "
                f"or pass input_shape= to the estimator"
            )

    def active_layers(self, model: Module, prefix: str = "") -> Iterator[tuple[str, Module, float]]:
        """Yields ``(path, leaf layer, weight)`` for the layers of the last graph build.

        The weight is 1 except under a `MixedOp` in ``'full'`` mode, where it is the product
        of the candidate probabilities on the way.
        """
        yield from self._walk(model, prefix, 1.0)

    def _walk(
        self, module: Module, path: str, weight: float
    ) -> Iterator[tuple[str, Module, float]]:
        if isinstance(module, MixedOp):
            yield from self._walk_mixed(module, path, weight)
            return
        children = list(module.named_children())
        if not children:
            if recorded_shapes(module) is not None:
                yield path, module, weight
            return
        for name, child in children:
            yield from self._walk(child, _join(path, name), weight)

    def _walk_mixed(
        self, op: MixedOp, path: str, weight: float
    ) -> Iterator[tuple[str, Module, float]]:
        paths = _candidate_paths(op, path)
        if op.index is not None:
            yield from self._walk(op.operators[op.index], paths[op.index], weight)
            return
        for candidate, cpath, p in zip(op.operators, paths, op.probs(), strict=True):
            _ensure_recorded(op, candidate, cpath)
            yield from self._walk(candidate, cpath, weight * float(p))

    # -- the expectation under the architecture probabilities ---------------------
    def expected(self, model: Module, input_shape: Sequence[int] | None = None) -> nn.Variable:
        """The expected cost under softmax(alpha) of every `MixedOp`, as an `nn.Variable`.

        Layers outside any `MixedOp` add a constant; each `MixedOp` adds
        ``sum(softmax(alpha) * candidate costs)``, whatever its mode, so the result is
        differentiable in every alpha. A candidate's cost is its own expected cost, so
        nested `MixedOp`s are handled recursively. A candidate not called in the last build
        (``'sample'``/``'max'`` mode) is built once on the `MixedOp`'s input shape.
        """
        self._prepare(model, input_shape)
        value = _add([self._expected(model, ""), self.offset()])
        return value if isinstance(value, nn.Variable) else _constant([value])

    def choice_costs(
        self, model: Module, input_shape: Sequence[int] | None = None
    ) -> tuple[float, dict[int, np.ndarray]]:
        """The cost outside every `MixedOp`, and each `MixedOp`'s candidate costs.

        Returns ``(constant, {id(op): costs})``, so that the cost of any path, whatever
        each op chose, is ``constant + sum(costs[id(op)][op.index])``; ops that share an
        alpha are priced one by one.

        Raises:
            ValueError: a `MixedOp` inside another one (its candidates have no one cost).
        """
        self._prepare(model, input_shape)
        per_op: dict[int, np.ndarray] = {}
        return self._split(model, "", per_op) + self.offset(), per_op

    def _split(self, module: Module, path: str, per_op: dict[int, np.ndarray]) -> float:
        if isinstance(module, MixedOp):
            costs = []
            for candidate, cpath in zip(module.operators, _candidate_paths(module, path),
                                        strict=True):  # fmt: skip
                _ensure_recorded(module, candidate, cpath)
                value = self._expected(candidate, cpath)
                if not isinstance(value, float):
                    raise ValueError(f"MixedOp '{cpath}' holds another MixedOp: no path cost")
                costs.append(value)
            per_op[id(module)] = np.asarray(costs, dtype=np.float64)
            return 0.0
        children = list(module.named_children())
        if not children:
            shapes = recorded_shapes(module)
            return 0.0 if shapes is None else float(self.layer_cost(module, shapes))
        return sum(self._split(child, _join(path, name), per_op) for name, child in children)

    def _expected(self, module: Module, path: str) -> float | nn.Variable:
        if isinstance(module, MixedOp):
            return self._expected_mixed(module, path)
        children = list(module.named_children())
        if not children:
            shapes = recorded_shapes(module)
            return 0.0 if shapes is None else float(self.layer_cost(module, shapes))
        values = [self._expected(child, _join(path, name)) for name, child in children]
        return _add(values)

    def _expected_mixed(self, op: MixedOp, path: str) -> nn.Variable:
        values = []
        for candidate, cpath in zip(op.operators, _candidate_paths(op, path), strict=True):
            _ensure_recorded(op, candidate, cpath)
            values.append(self._expected(candidate, cpath))
        n = len(values)
        logits = op.alpha if op.alpha.shape == (n,) else F.reshape(op.alpha, (n,))
        if all(isinstance(v, float) for v in values):
            costs = _constant([float(v) for v in values])
        else:
            parts = [
                F.reshape(v, (1,)) if isinstance(v, nn.Variable) else _constant([v]) for v in values
            ]
            costs = F.concatenate(*parts, axis=0)
        return F.sum(F.softmax(logits, axis=0) * costs, keepdims=True)


def _add(values: list[float | nn.Variable]) -> float | nn.Variable:
    constant = sum(v for v in values if isinstance(v, float))
    terms = [v for v in values if isinstance(v, nn.Variable)]
    if not terms:
        return float(constant)
    total = F.add_n(*terms) if len(terms) > 1 else terms[0]
    return F.add_scalar(total, constant) if constant else total


def _candidate_paths(op: MixedOp, path: str) -> list[str]:
    name = next((n for n, c in op.named_children() if c is op.operators), "operators")
    return [_join(path, f"{name}/{i}") for i in range(len(op.operators))]


def _ensure_recorded(op: MixedOp, candidate: Module, path: str) -> None:
    """Builds `candidate` on the `MixedOp`'s input if its recorded shapes are not that input's."""
    shapes = recorded_shapes(op)
    if shapes is None:
        raise RuntimeError(
            f"MixedOp '{path.rsplit('/', 2)[0]}' has no recorded input shapes; call the model "
            f"once (or pass input_shape=) before estimating"
        )
    if recorded_shapes(candidate) != shapes:
        with nn.auto_forward(False):
            candidate(*[nn.Variable(s) for s in shapes])
