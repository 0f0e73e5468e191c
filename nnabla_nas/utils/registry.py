"""Name -> component tables filled by a decorator (``@register("name")``)."""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from typing import TypeVar

T = TypeVar("T")


def registrar(table: MutableMapping[str, T], kind: str) -> Callable[[str], Callable[[T], T]]:
    """Returns a ``register(name)`` decorator that adds to `table`; a name is taken once.

    Example:
        >>> OPS: dict = {}
        >>> register = registrar(OPS, "op")
        >>> @register("double")
        ... def double(x):
        ...     return 2 * x
        >>> OPS["double"](3)
        6
    """

    def register(name: str) -> Callable[[T], T]:
        def add(component: T) -> T:
            if name in table:
                raise ValueError(f"a {kind} named {name!r} is already registered")
            table[name] = component
            return component

        return add

    return register
