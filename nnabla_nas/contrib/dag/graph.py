"""`Graph`: a network written as a DAG of named modules instead of a `call()`."""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import nnabla as nn
import numpy as np

from ...module import Merging, MixedOp, Module, Sequential, find_choices
from ..model import Model
from .diagram import draw_graph
from .topology import as_names, topological_order

__all__ = ["Graph", "NodeSpec", "op_text", "parent_count"]

NodeSpec = tuple[str, Module, str | Sequence[str]]
"""A node as given to `Graph`: its name, its module and its parents' names."""


def parent_count(module: Module) -> tuple[int, int | None]:
    """How many parents a node of `module` takes: ``(least, most)``, None for no limit.

    A `Merging` joins two or more; a `MixedOp` takes one; a `Graph` one per input;
    any other module as many as the positional parameters of its `call()`.
    """
    if isinstance(module, Merging):
        return 2, None
    if isinstance(module, MixedOp):
        return 1, 1
    if isinstance(module, Graph):
        return len(module.inputs), len(module.inputs)
    least, most = 0, 0
    for p in inspect.signature(module.call).parameters.values():
        if p.kind == inspect.Parameter.VAR_POSITIONAL:
            return max(least, 1), None
        if p.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD):
            most += 1
            least += p.default is inspect.Parameter.empty
    return max(least, 1), most


def op_text(module: Module) -> str:
    """A short text of what `module` computes, for records and diagrams: its type, a
    `Merging`'s mode, a `Sequential`'s layer types."""
    if isinstance(module, Merging):
        mode, axis = module.mode, module.axis
        return mode if mode == "add" or axis == 1 else f"{mode} axis {axis}"
    if isinstance(module, Sequential):
        return " > ".join(type(m).__name__ for m in module)
    return type(module).__name__


def _shapes_text(parents: Sequence[str], shapes: Sequence[tuple[int, ...]]) -> str:
    return ", ".join(f"{p!r} {s}" for p, s in zip(parents, shapes, strict=True))


class Graph(Model):
    """A network as a DAG: named nodes, each a module applied to its named parents.

    A node is any `Module` (with as many parents as its `call()` takes), a `MixedOp`
    (a choice; one parent) or a join, a `Merging` of two or more parents by ``'add'`` or
    ``'concat'``. The graph is itself a `Model`: its parameters are keyed by node name
    (``'stem/_W'``), its architecture parameters are its choices' alphas, and every
    searcher searches it. The wiring is checked on construction (duplicate or unknown
    names, nodes without parents or with the wrong number, cycles, nodes that lead to no
    output, unread inputs) and the shapes at each build, or before one with `check`; each
    mistake is a one-line ValueError naming the nodes and the fix.

    Args:
        inputs: the names of the inputs, in the order `call` takes them.
        nodes: ``(name, module, parents)`` triples, in any order; a single parent may be
            given as a string.
        outputs: the node(s) `call` returns (one variable, or a tuple for several).

    Example:
        >>> from nnabla_nas import module as Mo
        >>> g = Graph("x", [
        ...     ("conv", Mo.Conv(3, 3, (3, 3), pad=(1, 1)), "x"),
        ...     ("sum", Mo.Merging("add"), ["x", "conv"]),
        ... ], "sum")
        >>> g.order
        ('conv', 'sum')
    """

    def __init__(
        self,
        inputs: str | Sequence[str],
        nodes: Iterable[NodeSpec],
        outputs: str | Sequence[str],
    ) -> None:
        specs = list(nodes)
        self._inputs = as_names(inputs, "inputs")
        self._outputs = as_names(outputs, "outputs")
        wiring = []
        for spec in specs:
            if isinstance(spec, str) or len(spec) != 3 or not isinstance(spec[1], Module):
                raise ValueError(f"a node is a (name, module, parents) triple, got {spec!r}")
            name = as_names(spec[0], "node")[0]
            wiring.append((name, as_names(spec[2], f"node {name!r}: parents")))
        self._order = tuple(topological_order(self._inputs, wiring, self._outputs))
        self._parents = dict(wiring)
        self._nodes: dict[str, Module] = {spec[0]: spec[1] for spec in specs}
        for name in self._order:
            self._check_node(name)

    def _check_node(self, name: str) -> None:
        module, parents = self._nodes[name], self._parents[name]
        least, most = parent_count(module)
        count = len(parents)
        if count < least or (most is not None and count > most):
            if most is None:
                wanted = f"at least {least}"
            else:
                wanted = str(least) if least == most else f"{least} to {most}"
            fix = (
                "join them first with a Merging node"
                if most is not None and count > most
                else "give it more parents"
            )
            raise ValueError(
                f"node {name!r} ({type(module).__name__}) takes {wanted} parent(s), got "
                f"{count} ({', '.join(map(repr, parents))}); {fix}"
            )
        inner = module.operators if isinstance(module, MixedOp) else module
        prefix = f"{name}/_ops" if isinstance(module, MixedOp) else name
        for path, sub in inner.get_modules(prefix):
            if isinstance(sub, MixedOp) and sub is not module:
                raise ValueError(
                    f"node {name!r} holds a MixedOp at '{path}'; a choice must be a node of its "
                    "own: make that MixedOp a node and wire it by name"
                )

    # -- the wiring ---------------------------------------------------------------------
    @property
    def inputs(self) -> tuple[str, ...]:
        return self._inputs

    @property
    def outputs(self) -> tuple[str, ...]:
        return self._outputs

    @property
    def order(self) -> tuple[str, ...]:
        """The node names in evaluation order (each after its parents)."""
        return self._order

    def parents(self, name: str) -> tuple[str, ...]:
        """The parents of node `name`, as given."""
        return self._parents[name]

    def __getitem__(self, name: str) -> Module:
        """The module of node `name`."""
        return self._nodes[name]

    def named_children(self) -> Iterator[tuple[str, Module]]:
        for name in self._order:
            yield name, self._nodes[name]

    # -- forward ------------------------------------------------------------------------
    def call(self, *inputs: Any) -> Any:
        if len(inputs) != len(self._inputs):
            raise ValueError(
                f"the graph takes {len(self._inputs)} inputs ({', '.join(self._inputs)}), got "
                f"{len(inputs)}"
            )
        values: dict[str, Any] = dict(zip(self._inputs, inputs, strict=True))
        for name in self._order:
            values[name] = self._run(name, [values[p] for p in self._parents[name]])
        shapes = {n: tuple(values[n].shape) for n in self._order if hasattr(values[n], "shape")}
        self.__dict__["node_shapes"] = shapes
        out = tuple(values[name] for name in self._outputs)
        return out[0] if len(out) == 1 else out

    def _run(self, name: str, args: list[Any]) -> Any:
        module, parents = self._nodes[name], self._parents[name]
        shapes = [tuple(a.shape) for a in args]
        if isinstance(module, Merging):
            self._check_join(name, module, shapes)
        try:
            return module(*args)
        except ValueError as err:
            raise ValueError(f"node {name!r} on {_shapes_text(parents, shapes)}: {err}") from err

    def _check_join(self, name: str, module: Merging, shapes: list[tuple[int, ...]]) -> None:
        if module.fits(shapes):
            return
        given = _shapes_text(self._parents[name], shapes)
        if module.mode == "add":
            raise ValueError(
                f"node {name!r} adds parents of different shapes ({given}); give them one shape "
                "(e.g. a 1x1 Conv or a pooling on a parent) or join with Merging('concat')"
            )
        raise ValueError(
            f"node {name!r} concatenates on axis {module.axis} parents whose other dimensions "
            f"differ ({given}); give them equal batch and spatial shapes (e.g. a stride "
            "or a pooling on the larger)"
        )

    def check(self, *input_shapes: Sequence[int]) -> dict[str, tuple[int, ...]]:
        """Builds the graph on inputs of `input_shapes` (nothing is computed) with every
        candidate of every choice, and returns each node's output shape; a node whose
        parents do not fit raises the ValueError of a build. The modes are restored."""
        variables = [nn.Variable(tuple(shape)) for shape in input_shapes]
        with self.modes(choice="full"):
            self(*variables)
        return dict(self.__dict__["node_shapes"])

    # -- architecture -------------------------------------------------------------------
    def _labels(self) -> dict[int, str]:
        """The label of each choice node's `MixedOp`, by id (MixedOps sharing an alpha
        are one choice with one label)."""
        return {id(op): c.label for c in find_choices(self) for op in c.ops}

    def derive(self) -> dict[str, str]:
        """The architecture the graph stands for now: for each choice (by label), its
        candidate of largest alpha. JSON-serialisable."""
        return {c.label: c.names[int(np.argmax(c.probs()))] for c in find_choices(self)}

    def fixed(self, choices: Mapping[str, str]) -> Graph:
        """The graph with each choice node replaced by its candidate in `choices` (label
        -> candidate name, e.g. from `derive`), sharing this graph's modules and weights.

        Raises:
            ValueError: a label is missing or unknown, or names no candidate of its choice.
        """
        found = {c.label: c for c in find_choices(self)}
        unknown = [k for k in choices if k not in found]
        if unknown:
            raise ValueError(f"the graph has no choices {unknown}; its choices are {list(found)}")
        missing = [k for k in found if k not in choices]
        if missing:
            raise ValueError(f"no candidate given for the choices {missing}; give one for each")
        for label, name in choices.items():
            if name not in found[label].names:
                raise ValueError(
                    f"choice {label!r} has no candidate {name!r}; its candidates are "
                    f"{', '.join(found[label].names)}"
                )
        labels = self._labels()
        nodes: list[NodeSpec] = []
        for name in self._order:
            module = self._nodes[name]
            if isinstance(module, MixedOp):
                module = module.operators[module.names.index(choices[labels[id(module)]])]
            nodes.append((name, module, self._parents[name]))
        return Graph(self._inputs, nodes, self._outputs)

    def record(self) -> dict[str, Any]:
        """The wiring as JSON data: inputs, outputs and, in order, each node's name,
        parents and `op_text`, with a choice node's label and candidates (what an
        ``arch.json`` holds, and what the diagram draws)."""
        labels = self._labels()
        nodes = []
        for name in self._order:
            module = self._nodes[name]
            entry: dict[str, Any] = {
                "name": name, "parents": list(self._parents[name]), "op": op_text(module)
            }  # fmt: skip
            if isinstance(module, MixedOp):
                entry.update(choice=labels[id(module)], candidates=list(module.names))
            nodes.append(entry)
        return {"inputs": list(self._inputs), "outputs": list(self._outputs), "nodes": nodes}

    def draw(
        self, out_dir: str, stem: str = "graph", *, chosen: Mapping[str, str] | None = None
    ) -> list[str]:
        """Draws the DAG to ``<stem>.svg`` and ``<stem>.png`` in `out_dir`, each choice
        with its candidates and, given `chosen` (e.g. `derive()`), the chosen one marked;
        returns the paths."""
        return draw_graph(self.record(), out_dir, stem, chosen=chosen)

    # -- display ------------------------------------------------------------------------
    def summary(self, input_shape: Sequence[int] | None = None, *more: Sequence[int]) -> str:
        """A table of the nodes in order: parents, module, output shape, parameters.

        With input shapes (one per input), the graph is built on fresh inputs (`check`);
        otherwise the shapes of the last build are shown.
        """
        if input_shape is not None:
            self.check(input_shape, *more)
        shapes = self.__dict__.get("node_shapes", {})
        rows = [("node", "parents", "module", "output shape", "params")]
        for name, module in self.named_children():
            count = sum(int(np.prod(p.shape)) for p in module.get_parameters().values())
            rows.append((name, ", ".join(self._parents[name]), op_text(module),
                         str(shapes.get(name, "-")), str(count)))  # fmt: skip
        total = sum(int(np.prod(p.shape)) for p in self.get_parameters().values())
        rows.append(("total", "", "", "", str(total)))
        widths = [max(len(r[i]) for r in rows) for i in range(5)]
        lines = ["  ".join(f"{c:<{w}}" for c, w in zip(r[:4], widths, strict=False))
                 + f"  {r[4]:>{widths[4]}}" for r in rows]  # fmt: skip
        rule = "-" * len(lines[0])
        return "\n".join([lines[0], rule, *lines[1:-1], rule, lines[-1]])

    def extra_repr(self) -> str:
        return f"inputs={list(self._inputs)}, outputs={list(self._outputs)}"

    def __repr__(self) -> str:
        lines = [
            f"({name} <- {', '.join(self._parents[name])}): {module!r}".replace("\n", "\n  ")
            for name, module in self.named_children()
        ]
        return f"Graph({self.extra_repr()}\n  " + "\n  ".join(lines) + "\n)"
