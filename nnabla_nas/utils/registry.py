"""Name -> component tables: `Registry`, and plain dicts filled by a decorator (`registrar`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, MutableMapping
from importlib import metadata
from typing import Generic, TypeVar

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


class Registry(Generic[T]):
    """Named components of one kind (search spaces, searchers, datasets, ...).

    Looking up an unknown name is a ValueError that lists the registered ones. With
    `entry_points`, installed packages add components through that entry-point group
    (``[project.entry-points."nnabla_nas.spaces"] myspace = "mypkg.space:MySpace"``),
    loaded on the first lookup of a name not registered here.

    Example:
        >>> SOLVERS = Registry("solver")
        >>> _ = SOLVERS.add("sgd", object())
        >>> "sgd" in SOLVERS, SOLVERS.names()
        (True, ['sgd'])
    """

    def __init__(self, kind: str, *, entry_points: str | None = None) -> None:
        self.kind = kind
        self.entry_points = entry_points
        self._items: dict[str, T] = {}
        self._loaded = entry_points is None

    def add(self, name: str, component: T) -> T:
        """Registers `component` under `name`, which must be free; returns the component."""
        if name in self._items:
            raise ValueError(f"a {self.kind} named {name!r} is already registered")
        self._items[name] = component
        return component

    def remove(self, name: str) -> None:
        """Unregisters `name` (e.g. a component a test added)."""
        self._items.pop(name, None)

    def _load_entry_points(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        for entry in metadata.entry_points(group=self.entry_points or ""):
            if entry.name not in self._items:
                loaded = entry.load()
                self.add(entry.name, loaded() if isinstance(loaded, type) else loaded)

    def __getitem__(self, name: str) -> T:
        if name not in self._items:
            self._load_entry_points()
        if name not in self._items:
            raise ValueError(f"unknown {self.kind} {name!r}; registered: {', '.join(self.names())}")
        return self._items[name]

    def __contains__(self, name: object) -> bool:
        if isinstance(name, str) and name not in self._items:
            self._load_entry_points()
        return name in self._items

    def names(self) -> list[str]:
        """The registered names, sorted."""
        self._load_entry_points()
        return sorted(self._items)

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self.names())

    def values(self) -> list[T]:
        """The components, sorted by name."""
        return [self._items[name] for name in self.names()]

    def items(self) -> list[tuple[str, T]]:
        """``(name, component)`` pairs, sorted by name."""
        return [(name, self._items[name]) for name in self.names()]
