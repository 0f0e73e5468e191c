"""The export format of a file: by its name or as given; `export` dispatches on it."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

from ..module.module import Module
from .convert import DEFAULT_OPSET, export_onnx
from .nnp import Transform, export_nnp

__all__ = ["FORMATS", "export", "infer_format"]

FORMATS = ("nnp", "onnx")


def infer_format(path: str, format: str | None = None) -> str:
    """Returns `format`, checked, or the one named by the extension of `path`.

    An NNP file must end in ``.nnp``; an ONNX file may have any name but ``.nnp``.
    """
    ext = os.path.splitext(path)[1].lower().lstrip(".")
    if format is None:
        if ext not in FORMATS:
            raise ValueError(
                f"cannot tell the export format from '{path}'; name the file *.nnp or "
                f"*.onnx, or give the format ({', '.join(FORMATS)})"
            )
        return ext
    if format not in FORMATS:
        raise ValueError(f"unknown export format {format!r}; use one of: {', '.join(FORMATS)}")
    if ext in FORMATS and ext != format:
        raise ValueError(
            f"'{path}' is named as a .{ext} file but the format is {format}; name it *.{format}"
        )
    return format


def export(
    model: Module,
    input_shape: Sequence[int],
    path: str,
    *,
    format: str | None = None,
    opset: int = DEFAULT_OPSET,
    transform: Transform | None = None,
    metadata: Mapping[str, Any] | None = None,
    dynamic_batch: bool = False,
) -> str:
    """Exports `model` as ``'nnp'`` or ``'onnx'`` (by default, by the extension of `path`).

    `dynamic_batch` is ONNX's only: an NNP has the batch size of `input_shape`.
    """
    if infer_format(path, format) == "onnx":
        return export_onnx(
            model, input_shape, path, opset=opset, transform=transform, metadata=metadata,
            dynamic_batch=dynamic_batch,
        )  # fmt: skip
    if dynamic_batch:
        raise ValueError(
            "a dynamic batch is an ONNX option: an NNP file has the fixed batch size of its "
            "input shape; export ONNX, or leave out the dynamic batch"
        )
    return export_nnp(model, input_shape, path, transform=transform, metadata=metadata)
