"""Small models shared by the estimator tests."""

from typing import Any

import numpy as np

from nnabla_nas import module as Mo

# FLOPs of the layers of `Tiny` on a (1, 1, 4, 4) input (a multiply-add is 2 FLOPs).
STEM_FLOPS = 2 * 32 * 9 + 32  # Conv(1, 2, 3x3) with bias: 32 outputs
HEAD_FLOPS = 32  # ReLU
CANDIDATE_FLOPS = np.array([2 * 32 * 18 + 32, 32 * 9, 0.0, 0.0])  # conv, max pool, id, zero
ALPHA = np.array([0.5, -1.0, 2.0, 0.1])


class Tiny(Mo.Module):
    """A conv stem, one MixedOp of four candidates, a ReLU."""

    def __init__(self, mode: str = "full") -> None:
        self._stem = Mo.Conv(1, 2, (3, 3), pad=(1, 1))
        candidates = [
            Mo.Conv(2, 2, (3, 3), pad=(1, 1)),
            Mo.MaxPool((3, 3), (1, 1), (1, 1)),
            Mo.Identity(),
            Mo.Zero(),
        ]
        self._mixed = Mo.MixedOp(candidates, mode=mode, rng=0)
        self._mixed.alpha.d = ALPHA
        self._head = Mo.ReLU()

    def call(self, x: Any) -> Any:
        return self._head(self._mixed(self._stem(x)))


def softmax(x: np.ndarray) -> np.ndarray:
    z = np.exp(x - x.max())
    return z / z.sum()


def snapshot(model: Mo.Module) -> dict[str, np.ndarray]:
    return {k: p.d.copy() for k, p in model.get_parameters().items()}


def assert_unchanged(model: Mo.Module, before: dict[str, np.ndarray]) -> None:
    after = model.get_parameters()
    assert list(after) == list(before)
    for key, value in before.items():
        assert np.array_equal(after[key].d, value), key
