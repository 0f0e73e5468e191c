"""`Model`: the base class of search spaces and of the networks derived from them."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

import nnabla as nn
import numpy as np

from ..module import MixedOp, Module, Parameter


class Model(Module):
    """A network whose parameters split into architecture and network parameters.

    Architecture parameters are the `alpha` of every `MixedOp` in the tree, found by
    type, so a subclass needs no override, and those `edge_weights` returns (none here);
    every other parameter is a network parameter.
    """

    def edge_weights(self) -> list[Parameter]:
        """Architecture parameters beyond the choices' alphas, e.g. the edge normalisation
        weights of PC-DARTS; a searcher must learn them by gradient
        (`Searcher.learns_edge_weights`)."""
        return []

    def _arch_ids(self) -> set[int]:
        ids = {id(m.alpha) for _, m in self.get_modules() if isinstance(m, MixedOp)}
        return ids | {id(p) for p in self.edge_weights()}

    def get_arch_parameters(self, grad_only: bool = False) -> OrderedDict[str, Parameter]:
        """Returns the architecture parameters (every `MixedOp`'s alpha)."""
        ids = self._arch_ids()
        return OrderedDict(
            (k, p) for k, p in self.get_parameters(grad_only).items() if id(p) in ids
        )

    def get_net_parameters(self, grad_only: bool = False) -> OrderedDict[str, Parameter]:
        """Returns the network parameters (everything but the architecture parameters)."""
        ids = self._arch_ids()
        params = self.get_parameters(grad_only).items()
        return OrderedDict((k, p) for k, p in params if id(p) not in ids)

    def count_parameters(self) -> int:
        """The number of network weights (architecture parameters not included)."""
        return sum(int(np.prod(p.shape)) for p in self.get_net_parameters().values())

    def summary(self, input_shape: Sequence[int] | None = None) -> str:
        """Returns a table of module paths, output shapes and parameter counts.

        With `input_shape`, a graph is built on a fresh input to record the shapes;
        otherwise the shapes of the last call are shown.
        """
        if input_shape is not None:
            self(nn.Variable(tuple(input_shape)))
        rows = [("module", "output shape", "params")]
        for path, module in self.get_modules():
            count = sum(int(np.prod(p.shape)) for _, p in module.named_local_parameters())
            shape = module.__dict__.get("output_shape")
            rows.append((path or type(self).__name__, str(shape or "-"), str(count)))
        total = sum(int(np.prod(p.shape)) for p in self.get_parameters().values())
        rows.append(("total", "", str(total)))
        widths = [max(len(r[i]) for r in rows) for i in range(3)]
        lines = [f"{a:<{widths[0]}}  {b:<{widths[1]}}  {c:>{widths[2]}}" for a, b, c in rows]
        lines.insert(1, "-" * len(lines[0]))
        lines.insert(len(lines) - 1, "-" * len(lines[0]))
        return "\n".join(lines)
