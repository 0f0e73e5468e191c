"""What a built nnabla graph reads: its leaf variables and the module parameters among them."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import nnabla as nn

from .module import Module
from .parameter import Parameter

__all__ = ["graph_leaves", "used_parameters"]


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
