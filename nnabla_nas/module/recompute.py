"""Recomputation of cheap activations: less memory in training graphs for little time.

nnabla keeps, until the backward, every buffer a backward function reads. A variable
marked ``recompute`` is cleared once the forward no longer needs it and recomputed from its
inputs when the backward reaches it. Within `recompute_activations`, the layers whose
outputs are cheap to recompute from an input that is kept anyway mark them: `ReLU` and the
pointwise (1x1) convolutions, one matrix product each. Depthwise convolutions and pooling
are not marked: on CPU nnabla's depthwise 3x3 forward takes twice a pointwise one's time
(a 5x5 six times) and a 3x3 max pooling three times. On the DARTS supernet (16 channels,
5 cells, batch 16 of 32x32) this lowers the peak RSS of a search step from 1628 to 1087
MiB (0.57x the raw nnabla graph that keeps everything) with the same losses, in 0.90x-1.01x
that graph's time (`benchmarks/darts_step.py --recompute true`, three runs; a second-order
step 0.587x its raw step's memory); recomputing the poolings as well would save another
60 MiB. Training graphs use it when asked (``recompute: true``, `Algorithm.recompute`).

Batch normalization is never marked: recomputing its training forward would update the
running statistics twice.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ..utils.scoped import ThreadSetting

_ENABLED = ThreadSetting(False)


@contextmanager
def recompute_activations(enabled: bool = True) -> Iterator[None]:
    """Within the block, cheap layers mark the outputs of the graphs being built for
    recomputation during the backward (`enabled` False: they do not)."""
    with _ENABLED.scoped(enabled):
        yield


def recomputed(output: Any) -> Any:
    """Marks `output` for recomputation within `recompute_activations`; returns it."""
    if _ENABLED.value:
        output.apply(recompute=True)
    return output
