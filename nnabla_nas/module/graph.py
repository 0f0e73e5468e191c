"""What a built nnabla graph reads (its leaf variables and the module parameters among
them), and which of them a pass differentiates (`no_gradient`)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import nnabla as nn

from .module import Module
from .parameter import Parameter

__all__ = ["graph_leaves", "no_gradient", "used_parameters"]


def graph_leaves(*outputs: nn.Variable) -> list[nn.Variable]:
    """The variables without a parent function that the graphs of `outputs` read, once
    each (by their data buffer), in the order a forward pass reaches them."""
    leaves: dict[Any, nn.Variable] = {}

    def visit(function: Any) -> None:
        for v in function.inputs:
            if v.parent is None:
                leaves.setdefault(v.data, v)

    for output in outputs:
        output.visit(visit)
    return list(leaves.values())


def used_parameters(model: Module, *outputs: nn.Variable) -> OrderedDict[str, Parameter]:
    """The parameters of `model` that the graphs of `outputs` read, by path, in the
    order of ``model.get_parameters()``. For a `MixedOp` that built one candidate, these
    are the active path's parameters only, whatever modes the tree is in now."""
    read = {v.data for v in graph_leaves(*outputs)}
    return OrderedDict((k, p) for k, p in model.get_parameters().items() if p.data in read)


@contextmanager
def no_gradient(params: Iterable[nn.Variable]) -> Iterator[None]:
    """Within the block, `params` need no gradient (their ``need_grad`` is restored after):
    a forward and backward run in it neither compute nor keep what only their gradients
    would need, e.g. a half-step of a search that updates other parameters."""
    changed = [p for p in params if p.need_grad]
    try:
        for p in changed:
            p.need_grad = False
        yield
    finally:
        for p in changed:
            p.need_grad = True
