"""Containers: `Sequential`, `ModuleList`, `ModuleDict`, `ParameterList`."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, TypeVar, overload

from .module import Module
from .parameter import Parameter

L = TypeVar("L", bound="ModuleList")
P = TypeVar("P", bound="ParameterList")


def _check_iterable(value: Any, owner: str, item: type) -> Any:
    """`value` if it can be iterated for items; a clear error for a single item."""
    if isinstance(value, item) and not hasattr(value, "__iter__"):
        raise TypeError(
            f"{owner}.extend and += take an iterable of {item.__name__}s; use append() for one"
        )
    return value


def _check_module(value: Any, owner: str) -> Module:
    if not isinstance(value, Module):
        raise TypeError(f"{owner} holds Modules only, got {type(value).__name__}")
    return value


class ModuleList(Module):
    """A list of modules, registered under their indices ``'0'``, ``'1'``, ..."""

    def __init__(self, modules: Iterable[Module] | None = None) -> None:
        self._items: list[Module] = []
        self.extend(modules or [])

    def named_children(self) -> Iterator[tuple[str, Module]]:
        for i, module in enumerate(self._items):
            yield str(i), module

    def append(self, module: Module) -> ModuleList:
        self._items.append(_check_module(module, type(self).__name__))
        return self

    def extend(self, modules: Iterable[Module]) -> ModuleList:
        for module in _check_iterable(modules, type(self).__name__, Module):
            self.append(module)
        return self

    def __iadd__(self: L, modules: Iterable[Module]) -> L:
        """``modules += [a, b]`` appends each module, as `extend` does."""
        self.extend(modules)
        return self

    def __add__(self: L, modules: Iterable[Module]) -> L:
        """A new container of this one's modules followed by `modules` (shared, not copied)."""
        return self._new([*self._items, *_check_iterable(modules, type(self).__name__, Module)])

    @classmethod
    def _new(cls: type[L], modules: list[Module]) -> L:
        return cls(modules)

    def insert(self, index: int, module: Module) -> None:
        self._items.insert(index, _check_module(module, type(self).__name__))

    def index(self, module: Module) -> int:
        return self._items.index(module)

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._items)

    @overload
    def __getitem__(self, index: int) -> Module: ...
    @overload
    def __getitem__(self, index: slice) -> ModuleList: ...
    def __getitem__(self, index: int | slice) -> Module | ModuleList:
        if isinstance(index, slice):
            return self._new(self._items[index])
        return self._items[index]

    def __setitem__(self, index: int, module: Module) -> None:
        self._items[index] = _check_module(module, type(self).__name__)

    def __delitem__(self, index: int | slice) -> None:
        del self._items[index]


class Sequential(ModuleList):
    """Chains modules: the output of each is the input of the next.

    Example:
        >>> from nnabla_nas import module as Mo
        >>> net = Mo.Sequential(Mo.Conv(3, 8, (3, 3)), Mo.ReLU())
    """

    def __init__(self, *modules: Module) -> None:
        super().__init__(modules)

    @classmethod
    def _new(cls, modules: list[Module]) -> Sequential:
        return cls(*modules)

    def call(self, input: Any) -> Any:
        for module in self._items:
            input = module(input)
        return input


class ModuleDict(Module):
    """A mapping of names to modules, kept in insertion order."""

    def __init__(self, modules: Mapping[str, Module] | None = None) -> None:
        self._items: OrderedDict[str, Module] = OrderedDict()
        for key, module in (modules or {}).items():
            self[key] = module

    def named_children(self) -> Iterator[tuple[str, Module]]:
        yield from self._items.items()

    def __getitem__(self, key: str) -> Module:
        return self._items[key]

    def __setitem__(self, key: str, module: Module) -> None:
        if not isinstance(key, str) or "/" in key:
            raise KeyError(f"ModuleDict keys are strings without '/', got {key!r}")
        self._items[key] = _check_module(module, type(self).__name__)

    def __delitem__(self, key: str) -> None:
        del self._items[key]

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def keys(self) -> Iterable[str]:
        return self._items.keys()

    def values(self) -> Iterable[Module]:
        return self._items.values()

    def items(self) -> Iterable[tuple[str, Module]]:
        return self._items.items()

    def update(self, modules: Mapping[str, Module] | Iterable[tuple[str, Module]]) -> None:
        """Adds or replaces the modules of a mapping or of ``(name, module)`` pairs."""
        pairs = modules.items() if isinstance(modules, Mapping) else modules
        for key, module in pairs:
            self[key] = module


class ParameterList(Module):
    """A list of parameters, registered under their indices ``'0'``, ``'1'``, ..."""

    def __init__(self, parameters: Iterable[Parameter] | None = None) -> None:
        self._items: list[Parameter] = []
        self.extend(parameters or [])

    def named_local_parameters(self) -> Iterator[tuple[str, Parameter]]:
        for i, p in enumerate(self._items):
            yield str(i), p

    @staticmethod
    def _check(value: Any) -> Parameter:
        if not isinstance(value, Parameter):
            raise TypeError(f"ParameterList holds Parameters only, got {type(value).__name__}")
        return value

    def append(self, parameter: Parameter) -> ParameterList:
        self._items.append(self._check(parameter))
        return self

    def extend(self, parameters: Iterable[Parameter]) -> ParameterList:
        for p in _check_iterable(parameters, "ParameterList", Parameter):
            self.append(p)
        return self

    def __iadd__(self: P, parameters: Iterable[Parameter]) -> P:
        """``params += [a, b]`` appends each parameter, as `extend` does."""
        self.extend(parameters)
        return self

    def insert(self, index: int, parameter: Parameter) -> None:
        self._items.insert(index, self._check(parameter))

    def index(self, parameter: Parameter) -> int:
        for i, p in enumerate(self._items):
            if p is parameter:
                return i
        raise ValueError("the parameter is not in this ParameterList")

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[Parameter]:
        return iter(self._items)

    @overload
    def __getitem__(self, index: int) -> Parameter: ...
    @overload
    def __getitem__(self, index: slice) -> ParameterList: ...
    def __getitem__(self, index: int | slice) -> Parameter | ParameterList:
        if isinstance(index, slice):
            return ParameterList(self._items[index])
        return self._items[index]

    def __setitem__(self, index: int, parameter: Parameter) -> None:
        self._items[index] = self._check(parameter)

    def __delitem__(self, index: int | slice) -> None:
        del self._items[index]

    def extra_repr(self) -> str:
        return ", ".join(repr(p) for p in self._items)
