"""`StaticSpace`: any `Graph` a user's function builds, behind the `Space` interface."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..dag import Graph, draw_graph, record_choices, validate_record
from ..model import Model
from ..space import Space
from .builder import build_graph

__all__ = ["EXAMPLE_BUILDER", "StaticSpace"]

EXAMPLE_BUILDER = "nnabla_nas.contrib.static.examples:tiny"
"""The built-in example graph (`examples.tiny`)."""


class StaticSpace(Space):
    """The space of a `Graph` built by the user's function ``model.builder``.

    The builder (``'package.module:function'``) is called as ``builder(in_channels,
    num_classes, rng=seed, **model.kwargs)`` and returns the supernet, a `Graph` with
    `MixedOp` choice nodes. An architecture is ``{"choices": {label: candidate},
    "graph": record}``: the chosen candidate of each choice and the graph's wiring
    (`Graph.record`), so that an ``arch.json`` is readable and drawn on its own, without
    importing any code it names. The train network is the builder's graph with each
    choice replaced by its candidate (`Graph.fixed`); it must be the graph the
    architecture records.

    Example:
        >>> space = StaticSpace()
        >>> net = space.make_search_net(1, 10, seed=0, options=space.quick_options)
        >>> sorted(space.derive(net)["choices"])
        ['left', 'right']
    """

    name = "static"
    quick_options = {"builder": EXAMPLE_BUILDER, "kwargs": {"channels": 4}}

    def search_net(
        self,
        in_channels: int,
        num_classes: int,
        *,
        rng: int,
        builder: str,
        kwargs: Mapping[str, Any] | None = None,
    ) -> Model:
        """The graph `builder` returns.

        Args:
            builder: the function building the graph, ``'package.module:function'``.
            kwargs: the function's own keyword arguments.
        """
        return build_graph(builder, in_channels, num_classes, rng=rng, kwargs=kwargs)

    def train_net(
        self,
        in_channels: int,
        num_classes: int,
        arch: Any,
        *,
        builder: str,
        kwargs: Mapping[str, Any] | None = None,
    ) -> Model:
        """The graph of `builder` fixed to the choices of `arch`.

        Raises:
            ValueError: `builder` builds another graph than the one `arch` records.
        """
        graph = build_graph(builder, in_channels, num_classes, rng=0, kwargs=kwargs)
        _check_same(graph, arch["graph"], builder)
        return graph.fixed(arch["choices"])

    def validate(self, arch: Any) -> Any:
        if not isinstance(arch, Mapping) or set(arch) != {"choices", "graph"}:
            got = sorted(arch) if isinstance(arch, Mapping) else repr(arch)
            raise ValueError(
                f"a static architecture is {{'choices': {{label: candidate}}, 'graph': "
                f"record}}, got {got}"
            )
        record = validate_record(arch["graph"])
        candidates = record_choices(record)
        choices = arch["choices"]
        if not isinstance(choices, Mapping) or set(choices) != set(candidates):
            raise ValueError(
                f"choices: expected one candidate for each of the graph's choices "
                f"{list(candidates)}, got {choices!r}"
            )
        for label, name in choices.items():
            if name not in candidates[label]:
                raise ValueError(
                    f"choice {label!r}: unknown candidate {name!r}; its candidates are "
                    f"{', '.join(candidates[label])}"
                )
        return {"choices": {k: choices[k] for k in candidates}, "graph": record}

    def derive(self, net: Model) -> Any:
        """The argmax candidate of each choice of the graph `net`, with its record."""
        if not isinstance(net, Graph):
            raise TypeError(f"the static space derives Graphs, got {type(net).__name__}")
        return self.validate({"choices": net.derive(), "graph": net.record()})

    def describe(self, arch: Any) -> str:
        return " ".join(f"{k}={v}" for k, v in self.validate(arch)["choices"].items())

    def draw(self, arch: Any, out_dir: str, stem: str = "arch") -> list[str]:
        checked = self.validate(arch)
        return draw_graph(
            checked["graph"], out_dir, stem, chosen=checked["choices"], colors=self.colors,
            title="static graph",
        )  # fmt: skip


def _check_same(graph: Graph, recorded: Mapping[str, Any], builder: str) -> None:
    """Raises a ValueError naming the first difference of `graph` from the `recorded`
    wiring of an architecture."""
    built = graph.record()
    if built == recorded:
        return
    fix = f"retrain with the model.builder and model.kwargs of the search (now {builder!r})"
    for key in ("inputs", "outputs"):
        if built[key] != recorded[key]:
            raise ValueError(
                f"the architecture's graph has {key} {recorded[key]}, the builder's "
                f"{built[key]}; {fix}"
            )
    pairs = zip(recorded["nodes"], built["nodes"], strict=False)
    for i, (old, new) in enumerate(pairs):
        if old != new:
            raise ValueError(
                f"node {i} of the architecture's graph is {old}, the builder's {new}; {fix}"
            )
    raise ValueError(
        f"the architecture's graph has {len(recorded['nodes'])} nodes, the builder's "
        f"{len(built['nodes'])}; {fix}"
    )
