"""Names of the functions of an nnabla graph, after the modules that made them.

A function is named ``<scope>/<FunctionType>_<n>`` (e.g. ``cells/0/_ops/1/Convolution_0``):

- its scope is the common module path of the parameters it reads;
- a function without parameters takes the common scope of the producers of its largest
  inputs, so that ``x * weight`` stays with ``x``;
- ``n`` counts the functions of one type in one scope, from 0, in forward order.

TensorBoard's graph (`nnabla_nas.utils.tbgraph`) and the node names of an ONNX export
(`nnabla_nas.export`) both come from `name_functions`, so a layer has the same name in both.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import nnabla as nn

__all__ = ["NamedFunction", "UniqueNames", "common_path", "name_functions"]


def common_path(paths: Sequence[str]) -> str:
    """The longest common module path of `paths` (``a/b/c``, ``a/b/d`` -> ``a/b``)."""
    parts = [path.split("/") if path else [] for path in paths]
    common: list[str] = []
    for level in zip(*parts, strict=False):
        if any(p != level[0] for p in level):
            break
        common.append(level[0])
    return "/".join(common)


class UniqueNames:
    """Hands out names that are unique among those it handed out or reserved."""

    def __init__(self, reserved: Sequence[str] = ()) -> None:
        self.used: set[str] = set(reserved)
        self.counts: dict[str, int] = {}

    def reserve(self, name: str) -> str:
        """`name` itself if it is free, else ``name_<n>`` for the smallest free ``n >= 1``."""
        if name in self.used:
            return self.numbered(name)
        self.used.add(name)
        return name

    def numbered(self, base: str, first: int = 1) -> str:
        """``base_<n>`` for the smallest free ``n`` from `first` on."""
        n = self.counts.get(base, first)
        while f"{base}_{n}" in self.used:
            n += 1
        self.counts[base] = n + 1
        self.used.add(f"{base}_{n}")
        return f"{base}_{n}"


@dataclass(frozen=True)
class NamedFunction:
    """A function of a graph with its name and the module path (scope) it belongs to."""

    function: Any  # an nnabla function node (``variable.parent``)
    name: str
    scope: str

    @property
    def kind(self) -> str:
        """The function's type, e.g. ``'Convolution'``."""
        return str(self.function.info.type_name)


def name_functions(
    output: nn.Variable,
    param_names: Mapping[nn.Variable, str],
    names: UniqueNames | None = None,
) -> list[NamedFunction]:
    """The functions that compute `output`, in forward order, named after their modules.

    Args:
        output: the variable the graph ends in.
        param_names: the path of each parameter the graph may read, e.g. the inverse of
            ``model.get_parameters()``; nnabla variables hash by the graph node they wrap.
        names: the names already taken (e.g. parameters'), so that none is handed out twice.
    """
    names = names if names is not None else UniqueNames()
    functions: list[Any] = []
    output.visit(functions.append)
    scopes: dict[Any, str] = {}

    def data_scope(variables: Sequence[nn.Variable]) -> str:
        # The largest inputs carry the data; smaller ones are e.g. architecture weights.
        largest = max((v.size for v in variables), default=0)
        biggest = [v for v in variables if v.size == largest]
        return common_path([scopes[v.parent] if v.parent else "" for v in biggest])

    named = []
    for function in functions:
        params = [param_names[v] for v in function.inputs if v.parent is None and v in param_names]
        if params:
            scope = common_path([p.rpartition("/")[0] for p in params])
        else:
            scope = data_scope(function.inputs)
        kind = function.info.type_name
        name = names.numbered(f"{scope}/{kind}" if scope else kind, first=0)
        scopes[function] = scope
        named.append(NamedFunction(function, name, scope))
    return named
