"""Seeds that stay where they are given."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import nnabla.random
import numpy as np


@contextmanager
def parameter_seed(seed: int) -> Iterator[None]:
    """Within the block nnabla's parameter generator starts from `seed`; afterwards the
    generator of before is back, unchanged.

    nnabla's initializers draw from that generator (``nnabla.random.prng``, a numpy
    ``RandomState``, which ``nn.seed`` replaces) when a layer is given no ``rng``, so
    building a network inside the block gives the same initial weights for the same seed,
    whatever ran before, without changing what runs after.
    """
    previous = nnabla.random.prng
    nnabla.random.prng = np.random.RandomState(seed)
    try:
        yield
    finally:
        nnabla.random.prng = previous
