"""Random inputs of a graph: uniform noise drawn by whoever runs the graph.

A layer that needs randomness (`DropPath`, `Dropout`, the random augmentations of
`nnabla_nas.dataset.transforms`) asks for `uniform(shape)` while its graph is built.

- Inside a `collect_noise()` block (the run loop's searchers and trainers build their
  graphs in one), the result is a plain input variable recorded in the block's `Noise`.
  The code running the graph fills it before every forward with `Noise.fill(rng)`, from a
  numpy generator it owns, so every random draw of a run comes from an explicit, seeded
  generator, and a resumed run redraws exactly what an uninterrupted one did.
- Outside such a block, it is ``F.rand``: nnabla's own generator draws at each forward,
  as ``nn.seed`` sets it.

Example:
    >>> import numpy as np
    >>> import nnabla as nn
    >>> with collect_noise() as noise:
    ...     u = uniform((2, 3))
    >>> noise.fill(np.random.default_rng(0))
    >>> bool(((u.d >= 0) & (u.d < 1)).all())
    True
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import nnabla as nn
import nnabla.functions as F
import numpy as np

__all__ = ["Noise", "collect_noise", "uniform"]

_LOCAL = threading.local()


class Noise:
    """The uniform noise inputs of one graph, in the order its layers asked for them."""

    def __init__(self) -> None:
        self.variables: list[nn.Variable] = []

    def __len__(self) -> int:
        return len(self.variables)

    def fill(self, rng: np.random.Generator, shard: tuple[int, int] = (0, 1)) -> None:
        """Draws every noise input anew, uniform in ``[0, 1)``, from `rng`.

        Graph noise is per sample: its first axis is the batch. With `shard`
        ``(index, count)`` (data parallel), each input gets the `index`-th of `count` parts
        of the noise of the whole batch, drawn alike on every process from the same `rng`.
        """
        index, count = shard
        for variable in self.variables:
            shape = (variable.shape[0] * count, *variable.shape[1:])
            whole = rng.random(shape, dtype=np.float32)
            rows = variable.shape[0]
            variable.d = whole[index * rows : (index + 1) * rows]


def _stack() -> list[Noise]:
    if not hasattr(_LOCAL, "stack"):
        _LOCAL.stack = []
    stack: list[Noise] = _LOCAL.stack
    return stack


@contextmanager
def collect_noise() -> Iterator[Noise]:
    """Within the block, `uniform` makes inputs recorded in the yielded `Noise`."""
    noise = Noise()
    stack = _stack()
    stack.append(noise)
    try:
        yield noise
    finally:
        stack.remove(noise)


def uniform(shape: Sequence[int]) -> nn.Variable:
    """Uniform noise in ``[0, 1)`` of `shape` for the graph being built (see the module
    docstring for who draws it)."""
    shape = tuple(int(d) for d in shape)
    stack = _stack()
    if not stack:
        return F.rand(0.0, 1.0, shape=shape)
    variable = nn.Variable(shape, need_grad=False)
    stack[-1].variables.append(variable)
    return variable
