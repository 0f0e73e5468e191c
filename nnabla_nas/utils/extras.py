"""Optional extras: imported where used, with a one-line error naming what to install."""

from __future__ import annotations

import importlib
from types import ModuleType

# The pip extra of each optional package.
EXTRAS = {"optuna": "multitrial", "ray": "multitrial", "onnx": "export", "onnxruntime": "export"}


class MissingExtraError(ImportError):
    """An optional package is not installed; the message says which extra installs it."""


def require(module: str, what: str) -> ModuleType:
    """Imports `module` (e.g. ``'optuna'`` or ``'optuna.samplers'``) for `what` needs it.

    Raises:
        MissingExtraError: the package is missing, naming the extra to install.
    """
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as err:
        top = module.split(".")[0]
        extra = EXTRAS.get(top)
        hint = f"pip install 'nnabla-nas[{extra}]'" if extra else f"pip install {top}"
        raise MissingExtraError(f"{what} needs {top} ({err.name} is missing): {hint}") from None
