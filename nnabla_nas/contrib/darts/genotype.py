"""DARTS genotypes: derivation from architecture weights, validation, and JSON files.

A genotype is a JSON-serialisable dict::

    {"normal": [[op, input_index], ...], "normal_concat": [2, 3, 4, 5],
     "reduce": [[op, input_index], ...], "reduce_concat": [2, 3, 4, 5]}

with two entries per intermediate node. Input index 0 and 1 are the two cell inputs,
2, 3, ... the nodes in order; ``*_concat`` lists the states concatenated into the output.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ...utils.io import read_json, write_json
from ..cells import CELL_TYPES, check_genotype_keys
from .modules import CANDIDATES

__all__ = [
    "CELL_TYPES",
    "DARTS_V2",
    "GENOTYPE_KEYS",
    "derive_cell",
    "derive_genotype",
    "edge_count",
    "load_genotype",
    "save_genotype",
    "validate_genotype",
]

GENOTYPE_KEYS = ("normal", "normal_concat", "reduce", "reduce_concat")
INPUTS_PER_NODE = 2

# The cell found by second-order DARTS on CIFAR-10 (Liu et al., 2019).
DARTS_V2: dict[str, Any] = {
    "normal": [
        ["sep_conv_3x3", 0], ["sep_conv_3x3", 1], ["sep_conv_3x3", 0], ["sep_conv_3x3", 1],
        ["sep_conv_3x3", 1], ["skip_connect", 0], ["skip_connect", 0], ["dil_conv_3x3", 2],
    ],
    "normal_concat": [2, 3, 4, 5],
    "reduce": [
        ["max_pool_3x3", 0], ["max_pool_3x3", 1], ["skip_connect", 2], ["max_pool_3x3", 1],
        ["max_pool_3x3", 0], ["skip_connect", 2], ["skip_connect", 2], ["max_pool_3x3", 1],
    ],
    "reduce_concat": [2, 3, 4, 5],
}  # fmt: skip


def edge_count(num_nodes: int) -> int:
    """The number of edges of a search cell: node ``i`` has one from each of ``i + 2`` states."""
    return num_nodes * (num_nodes + 3) // 2


def derive_cell(
    probs: np.ndarray,
    candidates: Sequence[str],
    num_nodes: int,
    edge_weights: np.ndarray | None = None,
) -> list[list[Any]]:
    """Derives the ``[op, input_index]`` entries of one cell from its edge probabilities.

    For each node, the two incoming edges whose strongest op other than ``'none'`` has the
    largest probability (times the edge's weight, with `edge_weights`) are kept (strongest
    first, ties to the lower index), each with that op.

    Args:
        probs: ``(edge_count(num_nodes), len(candidates))`` probabilities, edges ordered by
            node, then by input state.
        edge_weights: PC-DARTS's edge normalisation: each edge's weight in its node's sum.
    """
    probs = np.asarray(probs)
    if probs.shape != (edge_count(num_nodes), len(candidates)):
        raise ValueError(
            f"expected probabilities of shape {(edge_count(num_nodes), len(candidates))} "
            f"for {num_nodes} nodes and {len(candidates)} candidates, got {probs.shape}"
        )
    weights = np.ones(len(probs)) if edge_weights is None else np.asarray(edge_weights)
    if weights.shape != (len(probs),):
        raise ValueError(f"expected {len(probs)} edge weights, got shape {weights.shape}")
    allowed = [k for k, name in enumerate(candidates) if name != "none"]
    if not allowed:
        raise ValueError("cannot derive a genotype: every candidate is 'none'")
    entries: list[list[Any]] = []
    start = 0
    for node in range(num_nodes):
        block = probs[start : start + node + 2][:, allowed]
        strength = block.max(axis=1) * weights[start : start + node + 2]
        for j in sorted(range(node + 2), key=lambda j: -strength[j])[:INPUTS_PER_NODE]:
            entries.append([candidates[allowed[int(np.argmax(block[j]))]], j])
        start += node + 2
    return entries


def derive_genotype(
    normal_probs: np.ndarray,
    reduce_probs: np.ndarray,
    *,
    candidates: Sequence[str],
    num_nodes: int,
    multiplier: int,
    edge_weights: tuple[np.ndarray, np.ndarray] | None = None,
) -> dict[str, Any]:
    """Derives a genotype from the edge probabilities of the normal and reduction cells
    (and, with PC-DARTS's edge normalisation, their edges' weights)."""
    concat = list(range(num_nodes + 2 - multiplier, num_nodes + 2))
    normal_w, reduce_w = (None, None) if edge_weights is None else edge_weights
    return {
        "normal": derive_cell(normal_probs, candidates, num_nodes, normal_w),
        "normal_concat": list(concat),
        "reduce": derive_cell(reduce_probs, candidates, num_nodes, reduce_w),
        "reduce_concat": list(concat),
    }


def _check_entry(kind: str, i: int, entry: Any) -> list[Any]:
    where = f"genotype {kind!r} entry {i}"
    if not isinstance(entry, (list, tuple)) or len(entry) != 2:
        raise ValueError(f"{where}: expected [op, input_index], got {entry!r}")
    op, index = entry
    if not isinstance(op, str) or op not in CANDIDATES:
        known = ", ".join(name for name in CANDIDATES if name != "none")
        raise ValueError(f"{where}: unknown op {op!r}; known ops: {known}")
    if op == "none":
        raise ValueError(f"{where}: op 'none' is not allowed in a derived genotype")
    node = i // INPUTS_PER_NODE
    if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < node + 2:
        raise ValueError(
            f"{where} (node {node}): input index {index!r} must point to an earlier state, "
            f"an int in 0..{node + 1}"
        )
    return [op, index]


def _check_cell(kind: str, entries: Any, num_nodes: int | None) -> list[list[Any]]:
    if not isinstance(entries, (list, tuple)) or not entries:
        raise ValueError(f"genotype {kind!r} must be a non-empty list of [op, input_index]")
    if len(entries) % INPUTS_PER_NODE:
        raise ValueError(
            f"genotype {kind!r} has {len(entries)} entries; a cell needs exactly "
            f"{INPUTS_PER_NODE} per node"
        )
    if num_nodes is not None and len(entries) != INPUTS_PER_NODE * num_nodes:
        raise ValueError(
            f"genotype {kind!r} has {len(entries)} entries; {num_nodes} nodes need "
            f"{INPUTS_PER_NODE * num_nodes}"
        )
    return [_check_entry(kind, i, entry) for i, entry in enumerate(entries)]


def _check_concat(kind: str, concat: Any, num_states: int) -> list[int]:
    key = f"{kind}_concat"
    if not isinstance(concat, (list, tuple)) or not concat:
        raise ValueError(f"genotype {key!r} must be a non-empty list of state indices")
    for index in concat:
        if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < num_states:
            raise ValueError(
                f"genotype {key!r}: index {index!r} is not a state of the cell "
                f"(0..{num_states - 1})"
            )
    if len(set(concat)) != len(concat):
        raise ValueError(f"genotype {key!r}: repeated index in {list(concat)}")
    return list(concat)


def validate_genotype(genotype: Any, *, num_nodes: int | None = None) -> dict[str, Any]:
    """Checks a genotype and returns a normalised copy (lists only, keys in standard order).

    Args:
        genotype: the dict to check.
        num_nodes: when given, both cells must have exactly this many nodes.

    Raises:
        ValueError: naming the key, the entry and the problem.
    """
    check_genotype_keys(genotype, GENOTYPE_KEYS)
    checked: dict[str, Any] = {}
    for kind in CELL_TYPES:
        checked[kind] = _check_cell(kind, genotype[kind], num_nodes)
        num_states = len(checked[kind]) // INPUTS_PER_NODE + 2
        checked[f"{kind}_concat"] = _check_concat(kind, genotype[f"{kind}_concat"], num_states)
    return {key: checked[key] for key in GENOTYPE_KEYS}


def save_genotype(path: str, genotype: Mapping[str, Any]) -> None:
    """Validates `genotype` and writes it to `path` as indented JSON, atomically."""
    write_json(path, validate_genotype(genotype))


def load_genotype(path: str) -> dict[str, Any]:
    """Reads and validates a genotype written by `save_genotype` (or by hand).

    Raises:
        FileNotFoundError: `path` does not exist.
        ValueError: the file is not JSON or not a valid genotype (the message names `path`).
    """
    data = read_json(path, "genotype")
    try:
        return validate_genotype(data)
    except ValueError as err:
        raise ValueError(f"genotype file '{path}': {err}") from None
