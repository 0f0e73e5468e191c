"""The path encoding of NAS-Bench-201 cells (White, Neiswanger and Savani, BANANAS, AAAI 2021).

A cell's output sums the paths from its input (node 0) to its output (node 3) over the
edges of `arch.EDGES`; a path carries data unless one of its edges is ``none``. The encoding
counts, for every sequence of one to three non-``none`` ops, the paths whose ops are that
sequence: 4 + 16 + 64 = 84 columns. Two cells that compute along the same op sequences get
the same code, whichever edges carry them, and an edge cut by ``none`` removes its paths,
which a one-hot code of the edges cannot express.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

from .arch import EDGES, NUM_NODES, OPS, validate_arch

__all__ = ["PATHS", "PATH_COLUMNS", "path_encoding"]

_LIVE = tuple(op for op in OPS if op != "none")


def _paths(node: int) -> list[tuple[int, ...]]:
    """The edge indices of every path from node 0 to `node`, in `EDGES` order."""
    if node == 0:
        return [()]
    return [
        (*path, k)
        for k, (source, target) in enumerate(EDGES)
        if target == node
        for path in _paths(source)
    ]


#: The edge indices of each input-to-output path: (0->3), (0->1->3), (0->2->3), (0->1->2->3).
PATHS: tuple[tuple[int, ...], ...] = tuple(sorted(_paths(NUM_NODES - 1), key=len))
#: The op sequence each column counts, shortest first.
PATH_COLUMNS: tuple[tuple[str, ...], ...] = tuple(
    seq
    for length in sorted({len(p) for p in PATHS})
    for seq in itertools.product(_LIVE, repeat=length)
)
_COLUMN = {seq: i for i, seq in enumerate(PATH_COLUMNS)}


def path_encoding(archs: Sequence[Sequence[str]]) -> np.ndarray:
    """One row per architecture (6 edge ops): how many live paths run each op sequence.

    Example:
        >>> code = path_encoding([("nor_conv_3x3", "none", "none", "skip_connect", "none", "none")])
        >>> [PATH_COLUMNS[i] for i in np.flatnonzero(code[0])]
        [('skip_connect',)]
    """
    encoded = np.zeros((len(archs), len(PATH_COLUMNS)))
    for row, arch in enumerate(archs):
        ops = validate_arch(arch)
        for path in PATHS:
            seq = tuple(ops[k] for k in path)
            if "none" not in seq:
                encoded[row, _COLUMN[seq]] += 1.0
    return encoded
