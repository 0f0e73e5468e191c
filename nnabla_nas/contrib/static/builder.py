"""The user's graph builder named in a config (``builder: "mypkg.nets:build"``)."""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Mapping
from typing import Any

from ..dag import Graph

__all__ = ["build_graph", "resolve_builder"]

SIGNATURE = "(in_channels, num_classes, *, rng, **kwargs) -> Graph"
"""How the static space calls a builder."""


def resolve_builder(spec: str) -> Callable[..., Any]:
    """The function `spec` (``'package.module:function'``) names, imported.

    Raises:
        ValueError: `spec` is not of that form, its module cannot be imported, or it has
            no callable of that name.
    """
    module_name, colon, attr = spec.partition(":") if isinstance(spec, str) else ("", "", "")
    if not colon or not module_name or not attr:
        raise ValueError(f"model.builder: expected 'package.module:function', got {spec!r}")
    try:
        module = importlib.import_module(module_name)
    except ImportError as err:
        raise ValueError(
            f"model.builder {spec!r}: cannot import module {module_name!r} ({err}); install "
            "it or put its folder on PYTHONPATH"
        ) from None
    function = getattr(module, attr, None)
    if not callable(function):
        defined = sorted(
            k for k, v in vars(module).items() if inspect.isfunction(v) and not k.startswith("_")
        )
        what = "no function" if function is None else "a non-callable"
        raise ValueError(
            f"model.builder {spec!r}: module {module_name!r} has {what} {attr!r}; its "
            f"functions are: {', '.join(defined) or 'none'}"
        )
    return function


def build_graph(
    spec: str,
    in_channels: int,
    num_classes: int,
    *,
    rng: int,
    kwargs: Mapping[str, Any] | None = None,
) -> Graph:
    """Calls the builder `spec` names as ``builder(in_channels, num_classes, rng=rng,
    **kwargs)`` and checks that it returns a `Graph`.

    Raises:
        ValueError: the builder cannot be found (`resolve_builder`), does not take these
            arguments, or returns something else than a `Graph`.
    """
    function = resolve_builder(spec)
    extra = dict(kwargs or {})
    try:
        inspect.signature(function).bind(in_channels, num_classes, rng=rng, **extra)
    except TypeError as err:
        raise ValueError(
            f"model.builder {spec!r} is called as {SIGNATURE} with model.kwargs "
            f"{sorted(extra)}, which it does not take ({err})"
        ) from None
    graph = function(in_channels, num_classes, rng=rng, **extra)
    if not isinstance(graph, Graph):
        raise ValueError(
            f"model.builder {spec!r} returned a {type(graph).__name__}; it must return a "
            "nnabla_nas.contrib.dag.Graph"
        )
    return graph
