"""NAS-Bench-201 architectures: the op tuple, the official string, our index, and JSON files.

A cell has 4 nodes and 6 edges; node ``j`` sums one edge from each earlier node. An
architecture is the tuple of the 6 edge ops in the order of the official string
``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|``, that is edges (0->1), (0->2), (1->2), (0->3),
(1->3), (2->3).

An architecture file holds the JSON record ``{"arch": "|...|", "ops": [...]}`` (`arch_record`);
`SearchNet.genotype()` returns that record and `load_arch` reads it back, so both go
straight into `TrainNet(..., genotype=...)`. Every function taking an architecture accepts
any `ArchLike`: the string, the op sequence, or the record.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ...utils.io import read_json, write_json

__all__ = [
    "EDGES",
    "NUM_ARCHS",
    "NUM_EDGES",
    "NUM_NODES",
    "OPS",
    "ArchLike",
    "all_archs",
    "arch_from_index",
    "arch_index",
    "arch_record",
    "as_ops",
    "choices",
    "format_arch",
    "load_arch",
    "parse_arch",
    "save_arch",
    "validate_arch",
]

OPS: tuple[str, ...] = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
NUM_NODES = 4
# (source, target) of each edge, in the order of the official string.
EDGES: tuple[tuple[int, int], ...] = tuple((i, j) for j in range(1, NUM_NODES) for i in range(j))
NUM_EDGES = len(EDGES)
NUM_ARCHS = len(OPS) ** NUM_EDGES
TEMPLATE = "|op~0|+|op~0|op~1|+|op~0|op~1|op~2|"
RECORD_KEYS = ("arch", "ops")

ArchLike = str | Sequence[str] | Mapping[str, Any]


def _valid_ops() -> str:
    return ", ".join(OPS)


def validate_arch(ops: Sequence[str]) -> tuple[str, ...]:
    """Checks a sequence of 6 op names and returns it as a tuple.

    Raises:
        ValueError: not a sequence of 6 names, or an unknown op (the valid ones are listed).
    """
    if isinstance(ops, str) or not isinstance(ops, Sequence):
        raise ValueError(f"an architecture is a sequence of {NUM_EDGES} op names, got {ops!r}")
    if len(ops) != NUM_EDGES:
        raise ValueError(
            f"an architecture has {NUM_EDGES} edges (one op each), got {len(ops)} ops: {ops!r}"
        )
    for k, op in enumerate(ops):
        if op not in OPS:
            raise ValueError(f"edge {k}: unknown op {op!r}; valid ops: {_valid_ops()}")
    return tuple(ops)


def _parse_node(text: str, node: int, group: str) -> list[str]:
    where = f"architecture string {text!r}, node {node}"
    if len(group) < 2 or not (group.startswith("|") and group.endswith("|")):
        raise ValueError(f"{where}: expected edges between '|', as in {TEMPLATE!r}, got {group!r}")
    tokens = group[1:-1].split("|")
    if len(tokens) != node:
        raise ValueError(
            f"{where}: has {len(tokens)} edges, needs {node} (one from each of nodes 0..{node - 1})"
        )
    ops = []
    for source, token in enumerate(tokens):
        op, sep, index = token.partition("~")
        if not sep:
            raise ValueError(f"{where}: edge {token!r} is not of the form 'op~input'")
        if op not in OPS:
            raise ValueError(f"{where}: unknown op {op!r}; valid ops: {_valid_ops()}")
        if index != str(source):
            raise ValueError(
                f"{where}: edge {token!r} has input {index!r}; edge {source} of a node must "
                f"come from node {source} ('{op}~{source}')"
            )
        ops.append(op)
    return ops


def parse_arch(text: str) -> tuple[str, ...]:
    """Parses an official NAS-Bench-201 string into the tuple of 6 edge ops.

    Example:
        >>> parse_arch("|nor_conv_3x3~0|+|none~0|skip_connect~1|+|none~0|none~1|none~2|")
        ('nor_conv_3x3', 'none', 'skip_connect', 'none', 'none', 'none')

    Raises:
        ValueError: naming the node and edge at fault (format, op, input index or count).
    """
    if not isinstance(text, str):
        raise ValueError(f"an architecture string must be a str, got {type(text).__name__}")
    groups = text.split("+")
    if len(groups) != NUM_NODES - 1:
        raise ValueError(
            f"architecture string {text!r} has {len(groups)} nodes separated by '+'; "
            f"a cell has {NUM_NODES - 1}: {TEMPLATE!r}"
        )
    ops: list[str] = []
    for node, group in enumerate(groups, start=1):
        ops.extend(_parse_node(text, node, group))
    return tuple(ops)


def format_arch(ops: Sequence[str]) -> str:
    """Formats 6 edge ops as the official string (the inverse of `parse_arch`)."""
    ops = validate_arch(ops)
    nodes = []
    for j in range(1, NUM_NODES):
        edges = [f"{ops[k]}~{i}" for k, (i, target) in enumerate(EDGES) if target == j]
        nodes.append("|" + "|".join(edges) + "|")
    return "+".join(nodes)


def _check_record(record: Mapping[str, Any]) -> tuple[str, ...]:
    unknown = [k for k in record if k not in RECORD_KEYS]
    if unknown or not any(k in record for k in RECORD_KEYS):
        raise ValueError(
            f"an architecture record holds 'arch' (the string) and/or 'ops' (the list of "
            f"{NUM_EDGES} ops); got keys {list(record)}"
        )
    from_text = parse_arch(record["arch"]) if "arch" in record else None
    from_ops = validate_arch(record["ops"]) if "ops" in record else None
    if from_text is not None and from_ops is not None and from_text != from_ops:
        raise ValueError(
            f"the record's 'arch' {record['arch']!r} and 'ops' {list(from_ops)} disagree"
        )
    return from_text or from_ops or ()


def as_ops(arch: ArchLike) -> tuple[str, ...]:
    """Returns the 6 validated edge ops of an architecture string, op sequence or record."""
    if isinstance(arch, str):
        return parse_arch(arch)
    if isinstance(arch, Mapping):
        return _check_record(arch)
    return validate_arch(arch)


def arch_record(arch: ArchLike) -> dict[str, Any]:
    """The JSON-serialisable record ``{"arch": "|...|", "ops": [...]}`` of an architecture."""
    ops = as_ops(arch)
    return {"arch": format_arch(ops), "ops": list(ops)}


def arch_index(arch: ArchLike) -> int:
    """Our index of an architecture in ``range(5**6)``: base 5, first edge most significant.

    Digits follow the order of `OPS`. This is not the NAS-Bench-201 API index.
    """
    index = 0
    for op in as_ops(arch):
        index = index * len(OPS) + OPS.index(op)
    return index


def arch_from_index(index: int) -> tuple[str, ...]:
    """The architecture of `arch_index` ``index`` (the inverse of `arch_index`)."""
    integer = isinstance(index, (int, np.integer)) and not isinstance(index, bool)
    if not integer or not 0 <= index < NUM_ARCHS:
        raise ValueError(f"an architecture index is an int in 0..{NUM_ARCHS - 1}, got {index!r}")
    index = int(index)
    digits = []
    for _ in range(NUM_EDGES):
        index, digit = divmod(index, len(OPS))
        digits.append(OPS[digit])
    return tuple(reversed(digits))


def choices() -> list[list[str]]:
    """The decisions of the space: the options (`OPS`) of each of the 6 edges, in edge order."""
    return [list(OPS) for _ in range(NUM_EDGES)]


def all_archs() -> list[tuple[str, ...]]:
    """Every architecture of the space, in `arch_index` order."""
    return list(itertools.product(OPS, repeat=NUM_EDGES))


def save_arch(path: str, arch: ArchLike) -> None:
    """Validates `arch` and writes its record to `path` as indented JSON, atomically."""
    write_json(path, arch_record(arch))


def load_arch(path: str) -> dict[str, Any]:
    """Reads and validates an architecture file; returns its complete record.

    The file may hold ``"arch"``, ``"ops"`` or both (they must agree).

    Raises:
        FileNotFoundError: `path` does not exist.
        ValueError: the file is not JSON or not a valid architecture (the message names `path`).
    """
    data = read_json(path, "architecture")
    if not isinstance(data, Mapping):
        raise ValueError(
            f"architecture file '{path}': expected a JSON object with 'arch' and/or 'ops', "
            f"got {type(data).__name__}"
        )
    try:
        return arch_record(data)
    except ValueError as err:
        raise ValueError(f"architecture file '{path}': {err}") from None
