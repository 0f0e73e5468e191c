"""Networks written as DAGs of named modules, shared by any search space.

`Graph` wires modules by the names of their parents instead of a `call()`; it checks
its wiring, evaluates its nodes in topological order, derives the choice of each
`MixedOp` node and builds the fixed graph of an architecture (`Graph.fixed`). Its JSON
record (`Graph.record`, checked by `validate_record`) describes the wiring for an
``arch.json`` and for `draw_graph`, its diagram.
"""

from .diagram import draw_graph
from .graph import Graph, NodeSpec, op_text, parent_count
from .record import record_choices, validate_record
from .topology import topological_order

__all__ = [
    "Graph",
    "NodeSpec",
    "draw_graph",
    "op_text",
    "parent_count",
    "record_choices",
    "topological_order",
    "validate_record",
]
