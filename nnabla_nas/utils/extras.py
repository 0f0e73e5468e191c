"""Optional extras: imported where used, with a one-line error naming what to install."""

from __future__ import annotations

import importlib
import importlib.util
from importlib.metadata import version
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


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # a parent package is missing
        return False


def onnx_export_problem() -> str | None:
    """What ONNX export lacks here and the one command that completes it, or None.

    The export extra brings onnx and onnxruntime. nnabla-converter, released in step with
    nnabla, cannot be in it: it requires TensorFlow, which its NNP-to-ONNX exporter never
    imports, so it is installed without its dependencies.
    """
    converter = f"pip install --no-deps nnabla-converter=={version('nnabla')}"
    if not _importable("onnx"):
        return (
            "ONNX export needs the export extra and nnabla-converter (installed without its "
            f"TensorFlow requirements): pip install 'nnabla-nas[export]' && {converter}"
        )
    if not _importable("nnabla.utils.converter.onnx"):
        return (
            "ONNX export needs nnabla-converter, installed without its TensorFlow "
            f"requirements, which its ONNX exporter never imports: {converter}"
        )
    return None
