"""What an exported file says about itself: its input and output, versions, and the caller's
facts (architecture, normalisation, ...), as text key/value pairs.

ONNX keeps them in the model's ``metadata_props``; an NNP file in a ``metadata.json`` member
of its zip archive, which nnabla's loaders skip (they read members by extension: ``.nntxt``,
``.h5``, ...). `read_metadata` reads either.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Mapping, Sequence
from typing import Any

import nnabla as nn

from .. import __version__

__all__ = [
    "BATCH",
    "INPUT_NAME",
    "METADATA_FILE",
    "OUTPUT_NAME",
    "file_metadata",
    "read_metadata",
    "write_nnp_metadata",
]

INPUT_NAME = "x"
OUTPUT_NAME = "y"
BATCH = "batch"  # the symbolic first dimension of a dynamic-batch ONNX graph
METADATA_FILE = "metadata.json"


def _encode(key: Any, value: Any) -> str:
    if not isinstance(key, str) or not key:
        raise ValueError(f"metadata keys must be non-empty strings, got {key!r}")
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError):
        raise ValueError(
            f"metadata[{key!r}] = {value!r} is neither a str nor JSON data; pass a str, "
            "number, list or dict (a numpy array as .tolist())"
        ) from None


def file_metadata(
    input_shape: Sequence[int], *, dynamic_batch: bool = False, extra: Mapping[str, Any] | None
) -> dict[str, str]:
    """The key/value pairs of an exported file: its own facts, then `extra`.

    The export's own keys are ``nnabla_nas_version``, ``nnabla_version``, ``input_name``,
    ``output_name`` and ``input_shape`` (JSON, ``"batch"`` first when it is symbolic).
    A value of `extra` that is not a str is written as compact JSON.

    Raises:
        ValueError: a key of `extra` is one of the export's own, not a str, or its value
            is not JSON data.
    """
    first: int | str = BATCH if dynamic_batch else input_shape[0]
    props = {
        "nnabla_nas_version": __version__,
        "nnabla_version": str(nn.__version__),
        "input_name": INPUT_NAME,
        "output_name": OUTPUT_NAME,
        "input_shape": _encode("input_shape", [first, *input_shape[1:]]),
    }
    if extra is not None and not isinstance(extra, Mapping):
        raise ValueError(f"metadata must be a mapping of str to values, got {extra!r}")
    for key, value in (extra or {}).items():
        if key in props:
            raise ValueError(
                f"metadata key {key!r} is written by the export itself; use another key"
            )
        props[key] = _encode(key, value)
    return props


def write_nnp_metadata(path: str, props: Mapping[str, str]) -> None:
    """Adds `props` to the NNP file `path` as its ``metadata.json`` member."""
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr(METADATA_FILE, json.dumps(dict(props), indent=1, sort_keys=True))


def read_metadata(path: str) -> dict[str, str]:
    """The key/value pairs an exported ONNX or NNP file carries (empty if none).

    Example:
        >>> meta = read_metadata("model.onnx")
        >>> json.loads(meta["input_shape"])
        ['batch', 3, 32, 32]
    """
    if zipfile.is_zipfile(path):  # an NNP archive; an ONNX file is a bare protobuf
        with zipfile.ZipFile(path) as archive:
            if METADATA_FILE not in archive.namelist():
                return {}
            return dict(json.loads(archive.read(METADATA_FILE)))
    import onnx

    model = onnx.load(path, load_external_data=False)
    return {p.key: p.value for p in model.metadata_props}
