"""The static space: search any `Graph` (`nnabla_nas.contrib.dag`) from the command line.

``model: {name: static, builder: "mypkg.nets:build", kwargs: {...}}`` names the
function that builds the supernet; `StaticSpace` searches it, derives and records its
architecture and retrains the fixed graph. `examples.tiny` is a small built-in graph.
"""

from .builder import build_graph, resolve_builder
from .examples import tiny
from .space import EXAMPLE_BUILDER, StaticSpace

__all__ = ["EXAMPLE_BUILDER", "StaticSpace", "build_graph", "resolve_builder", "tiny"]
