"""Zoph genotypes: the pairs of a block, derivation from their probabilities, validation.

A genotype is a JSON-serialisable dict of one list of blocks per cell type::

    {"normal": [[[op, input], [op, input]], ...], "reduce": [[[op, input], [op, input]], ...]}

Each block names two ``[op, input_index]`` pairs (in the order of a DARTS genotype's
entries) and adds their outputs. Input 0 is the cell input ``c_{k-2}``, 1 is ``c_{k-1}``
and ``2 + b`` the output of block ``b``, so block ``b`` reads an index in ``0..b + 1``.
Both cell types have the same number of blocks. A cell's output concatenates the outputs
of the blocks that no block of the cell reads (`unused_blocks`), as in NASNet.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..cells import CELL_INPUTS, CELL_TYPES, check_genotype_keys
from .ops import OPS

__all__ = [
    "CELL_INPUTS",
    "CELL_TYPES",
    "PAIRS_PER_BLOCK",
    "derive_cell",
    "pair_name",
    "pair_names",
    "parse_pair",
    "state_name",
    "unused_blocks",
    "validate_genotype",
]

PAIRS_PER_BLOCK = 2

Block = list[list[Any]]


def state_name(index: int) -> str:
    """``'c_{k-2}'``, ``'c_{k-1}'`` for the cell inputs, ``'b<i>'`` for block ``i``."""
    return ("c_{k-2}", "c_{k-1}")[index] if index < CELL_INPUTS else f"b{index - CELL_INPUTS}"


def pair_name(op: str, index: int) -> str:
    """The name of the candidate applying `op` to state `index`: ``'<op>.in<index>'``."""
    return f"{op}.in{index}"


def parse_pair(name: str) -> tuple[str, int]:
    """The ``(op, input_index)`` of a `pair_name`."""
    op, _, index = name.rpartition(".in")
    if not op or not index.isdigit():
        raise ValueError(f"expected a pair name '<op>.in<input_index>', got {name!r}")
    return op, int(index)


def pair_names(block: int, candidates: Sequence[str]) -> tuple[str, ...]:
    """The candidates of a pair of block `block`, in alpha order: every op on state 0,
    then every op on state 1, ... up to the previous block's output."""
    return tuple(pair_name(op, j) for j in range(block + CELL_INPUTS) for op in candidates)


def unused_blocks(blocks: Sequence[Sequence[Sequence[Any]]]) -> list[int]:
    """The blocks whose output no block of the cell reads (never empty: the last one)."""
    read = {int(index) for block in blocks for _, index in block}
    return [b for b in range(len(blocks)) if b + CELL_INPUTS not in read]


def derive_cell(probs: Sequence[np.ndarray], candidates: Sequence[str]) -> list[Block]:
    """The blocks of one cell: each pair takes its most probable ``(op, input)`` candidate
    (ties to the earlier one in `pair_names` order).

    Args:
        probs: the probabilities of each pair, block by block (two per block), each over
            the `pair_names` of its block.
    """
    if len(probs) % PAIRS_PER_BLOCK or not probs:
        raise ValueError(f"expected two probability vectors per block, got {len(probs)}")
    blocks: list[Block] = []
    for b in range(len(probs) // PAIRS_PER_BLOCK):
        names = pair_names(b, candidates)
        block = []
        for p in probs[PAIRS_PER_BLOCK * b : PAIRS_PER_BLOCK * (b + 1)]:
            p = np.asarray(p).reshape(-1)
            if p.shape != (len(names),):
                raise ValueError(
                    f"block {b}: expected {len(names)} probabilities ({b + CELL_INPUTS} "
                    f"inputs x {len(candidates)} ops), got {p.size}"
                )
            op, index = parse_pair(names[int(np.argmax(p))])
            block.append([op, index])
        blocks.append(block)
    return blocks


def _check_pair(where: str, block: int, pair: Any) -> list[Any]:
    if not isinstance(pair, (list, tuple)) or len(pair) != 2:
        raise ValueError(f"{where}: expected [op, input_index], got {pair!r}")
    op, index = pair
    if not isinstance(op, str) or op not in OPS:
        raise ValueError(f"{where}: unknown op {op!r}; known ops: {', '.join(OPS)}")
    last = block + CELL_INPUTS - 1
    if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index <= last:
        raise ValueError(
            f"{where}: bad input index {index!r}; block {block} reads an int in 0..{last} "
            f"(0, 1: the cell inputs c_{{k-2}}, c_{{k-1}}; 2 + i: block i)"
        )
    return [op, index]


def _check_cell(kind: str, blocks: Any) -> list[Block]:
    if not isinstance(blocks, (list, tuple)) or not blocks:
        raise ValueError(f"genotype {kind!r} must be a non-empty list of blocks")
    checked: list[Block] = []
    for b, block in enumerate(blocks):
        if not isinstance(block, (list, tuple)) or len(block) != PAIRS_PER_BLOCK:
            raise ValueError(
                f"genotype {kind!r} block {b}: expected {PAIRS_PER_BLOCK} [op, input_index] "
                f"pairs, got {block!r}"
            )
        checked.append(
            [_check_pair(f"genotype {kind!r} block {b} pair {s}", b, pair)
             for s, pair in enumerate(block)]
        )  # fmt: skip
    return checked


def validate_genotype(genotype: Any, *, num_blocks: int | None = None) -> dict[str, Any]:
    """Checks a genotype and returns a normalised copy (lists only, keys in standard order).

    Args:
        genotype: the dict to check.
        num_blocks: when given, both cells must have exactly this many blocks.

    Raises:
        ValueError: naming the key, the block, the pair and the problem.
    """
    check_genotype_keys(genotype, list(CELL_TYPES))
    checked = {kind: _check_cell(kind, genotype[kind]) for kind in CELL_TYPES}
    counts = {kind: len(checked[kind]) for kind in CELL_TYPES}
    if num_blocks is not None and any(n != num_blocks for n in counts.values()):
        raise ValueError(f"wrong block count: expected {num_blocks} blocks per cell, got {counts}")
    if len(set(counts.values())) > 1:
        raise ValueError(f"wrong block count: both cell types need as many blocks, got {counts}")
    return checked
