"""`Module`: the node of a search space tree. Bookkeeping only."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, ClassVar

import h5py
import nnabla as nn
import numpy as np

from ..utils.io import atomic_path
from .parameter import Parameter

_UNSET = object()


def _join(prefix: str, name: str) -> str:
    return f"{prefix}/{name}" if prefix else name


class Module:
    """Base class of layers, containers and search spaces.

    Subclasses assign child modules and `Parameter`s as attributes (calling
    ``super().__init__()`` is optional) and implement `call()`, the forward pass.
    Calling a module records its input shapes, then runs `call()`.

    Example:
        >>> import nnabla as nn
        >>> from nnabla_nas import module as Mo
        >>> class Net(Mo.Module):
        ...     def __init__(self):
        ...         self._conv = Mo.Conv(1, 4, (3, 3), pad=(1, 1))
        ...     def call(self, x):
        ...         return self._conv(x)
        >>> list(Net().get_parameters())
        ['_conv/_W', '_conv/_b']
    """

    def __init__(self) -> None:
        pass

    # -- the tree ---------------------------------------------------------
    def named_children(self) -> Iterator[tuple[str, Module]]:
        """Yields the direct children in assignment order."""
        for name, value in vars(self).items():
            if isinstance(value, Module):
                yield name, value

    def named_local_parameters(self) -> Iterator[tuple[str, Parameter]]:
        """Yields the parameters assigned to this module itself (not its children)."""
        for name, value in vars(self).items():
            if isinstance(value, Parameter):
                yield name, value

    def get_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        """Yields ``(path, module)`` for every module of the tree, pre-order, self first."""
        seen: set[int] = set()
        stack: list[tuple[str, Module]] = [(prefix, self)]
        while stack:
            name, module = stack.pop()
            if id(module) in seen:
                continue
            seen.add(id(module))
            yield name, module
            children = [(_join(name, k), m) for k, m in module.named_children()]
            stack.extend(reversed(children))

    def get_parameters(self, grad_only: bool = False) -> OrderedDict[str, Parameter]:
        """Returns the parameters of the tree keyed by ``/``-joined paths.

        A parameter shared by several modules appears once, under its first path.
        With ``grad_only``, parameters with ``need_grad=False`` and those of modules whose
        `need_grad` is False (e.g. inactive `MixedOp` candidates) are left out.
        """
        params: OrderedDict[str, Parameter] = OrderedDict()
        seen: set[int] = set()
        for path, module in self.get_modules():
            if grad_only and not module.need_grad:
                continue
            for name, p in module.named_local_parameters():
                if id(p) in seen or (grad_only and not p.need_grad):
                    continue
                seen.add(id(p))
                params[_join(path, name)] = p
        return params

    # -- modes --------------------------------------------------------------
    #: The instance attributes that make up a module's mode; `modes` saves and restores them.
    MODE_STATE: ClassVar[tuple[str, ...]] = ("_training", "_need_grad")

    @property
    def training(self) -> bool:
        """Training mode (batch statistics, dropout); setting it recurses."""
        return bool(self.__dict__.get("_training", True))

    @training.setter
    def training(self, mode: bool) -> None:
        for _, module in self.get_modules():
            module.__dict__["_training"] = bool(mode)

    @property
    def need_grad(self) -> bool:
        """Whether this module's parameters are trained; setting it recurses."""
        return bool(self.__dict__.get("_need_grad", True))

    @need_grad.setter
    def need_grad(self, flag: bool) -> None:
        for _, module in self.get_modules():
            module.__dict__["_need_grad"] = bool(flag)

    def set_choice(self, choice: str) -> None:
        """Sets how this module chooses among candidates (see `MixedOp`); a no-op here."""

    @contextmanager
    def modes(self, *, training: bool | None = None, choice: str | None = None) -> Iterator[Any]:
        """Within the block, the tree is in the given modes; afterwards exactly as before.

        Args:
            training: sets `training` on every module when not None.
            choice: sets the mode of every `MixedOp` (``'full'``, ``'sample'``, ``'max'``
                or ``'gate'``) when not None.

        Whatever changes inside the block to a module's `MODE_STATE` (its `training` and
        `need_grad` flags and a `MixedOp`'s mode, whether set here or by a graph build,
        which flags a sampled op's inactive candidates) is undone on exit, so a caller may
        build a graph in inference mode at the most likely choices without disturbing the
        tree. What a build records about itself (a `MixedOp`'s `index` and `gates`, every
        module's input shapes) describes the last build and stays.

        Example:
            >>> from nnabla_nas import module as Mo
            >>> op = Mo.MixedOp([Mo.Identity(), Mo.ReLU()], mode='sample', rng=0)
            >>> with op.modes(training=False, choice='max'):
            ...     op.mode, op.training
            ('max', False)
            >>> op.mode, op.training
            ('sample', True)
        """
        saved = [
            (module, [(key, module.__dict__.get(key, _UNSET)) for key in module.MODE_STATE])
            for _, module in self.get_modules()
        ]
        try:
            for module, _ in saved:
                if training is not None:
                    module.__dict__["_training"] = bool(training)
                if choice is not None:
                    module.set_choice(choice)
            yield self
        finally:
            for module, state in saved:
                for key, value in state:
                    if value is _UNSET:
                        module.__dict__.pop(key, None)
                    else:
                        module.__dict__[key] = value

    def apply(self, **attrs: Any) -> Module:
        """Sets each attribute on every module of the tree, e.g. ``apply(training=False)``."""
        for _, module in self.get_modules():
            for key, value in attrs.items():
                setattr(module, key, value)
        return self

    # -- forward ------------------------------------------------------------
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.__dict__["input_shapes"] = [a.shape for a in args if hasattr(a, "shape")]
        out = self.call(*args, **kwargs)
        if hasattr(out, "shape"):
            self.__dict__["output_shape"] = out.shape
        return out

    def call(self, *args: Any, **kwargs: Any) -> Any:
        """The forward pass: builds the nnabla graph of this module."""
        raise NotImplementedError(f"{type(self).__name__} must implement call()")

    # -- parameter values -----------------------------------------------------
    def set_parameters(
        self, params: Mapping[str, np.ndarray | nn.Variable], raise_if_missing: bool = False
    ) -> None:
        """Copies values into the parameters with the same keys.

        Raises:
            KeyError: a key of `params` is not a parameter of this module, or, with
                `raise_if_missing`, a parameter of this module has no value in `params`.
            ValueError: a value's shape differs from its parameter's.
        """
        own = self.get_parameters()
        unknown = [k for k in params if k not in own]
        if unknown:
            raise KeyError(f"{type(self).__name__} has no parameters {unknown}; it has {list(own)}")
        missing = [k for k in own if k not in params]
        if raise_if_missing and missing:
            raise KeyError(f"no values given for parameters {missing} of {type(self).__name__}")
        arrays = {
            k: v.d if isinstance(v, nn.Variable) else np.asarray(v) for k, v in params.items()
        }
        # Check every shape before copying, so that a bad value leaves the module unchanged.
        for key, array in arrays.items():
            if array.shape != own[key].shape:
                raise ValueError(
                    f"parameter '{key}' has shape {own[key].shape}, the value has {array.shape}"
                )
        for key, array in arrays.items():
            own[key].d = array

    def save_parameters(
        self,
        path: str,
        params: Mapping[str, nn.Variable] | None = None,
        grad_only: bool = False,
        *,
        attrs: Mapping[str, str] | None = None,
    ) -> None:
        """Writes parameters to an nnabla ``.h5`` file, atomically.

        Args:
            attrs: text attributes of the file itself (e.g. a fingerprint of the network);
                `read_parameter_attrs` reads them, nnabla's loader ignores them.
        """
        params = self.get_parameters(grad_only) if params is None else params
        with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
            for name, value in (attrs or {}).items():
                f.attrs[name] = str(value)
            for index, (key, p) in enumerate(params.items()):
                dataset = f.create_dataset(key, data=p.d)
                dataset.attrs["need_grad"] = p.need_grad
                dataset.attrs["index"] = index

    def load_parameters(self, path: str, raise_if_missing: bool = False) -> None:
        """Reads parameters written by `save_parameters` (or by ``nn.save_parameters``)."""
        self.set_parameters(read_parameters(path), raise_if_missing=raise_if_missing)

    # -- display --------------------------------------------------------------
    def extra_repr(self) -> str:
        """The arguments shown between the parentheses of this module's repr."""
        return ""

    def __repr__(self) -> str:
        lines = [
            f"({name}): {child!r}".replace("\n", "\n  ") for name, child in self.named_children()
        ]
        head = f"{type(self).__name__}({self.extra_repr()}"
        if not lines:
            return head + ")"
        return head + "\n  " + "\n  ".join(lines) + "\n)"


def mismatch_text(err: KeyError | ValueError) -> str:
    """The message of the error `Module.set_parameters` raises for parameters that do not
    fit (a `KeyError`'s without the quotes ``str`` adds to it)."""
    return str(err.args[0]) if isinstance(err, KeyError) and err.args else str(err)


def read_parameters(path: str) -> OrderedDict[str, np.ndarray]:
    """Returns the arrays of an nnabla parameter ``.h5`` file in their saved order."""
    try:
        f = h5py.File(path, "r")
    except OSError as err:
        raise FileNotFoundError(f"cannot read parameter file '{path}': {err}") from None
    with f:
        found: list[tuple[int, str, np.ndarray]] = []
        f.visititems(
            lambda key, obj: (
                found.append((int(obj.attrs.get("index", 0)), key, obj[()]))
                if isinstance(obj, h5py.Dataset)
                else None
            )
        )
    return OrderedDict((key, value) for _, key, value in sorted(found, key=lambda t: t[0]))


def read_parameter_attrs(path: str) -> dict[str, str]:
    """The text attributes `save_parameters` wrote to a parameter file itself."""
    try:
        f = h5py.File(path, "r")
    except OSError as err:
        raise FileNotFoundError(f"cannot read parameter file '{path}': {err}") from None
    with f:
        return {k: str(v.decode() if isinstance(v, bytes) else v) for k, v in f.attrs.items()}
