"""Channel-last data on contexts whose kernels only accept channel-first data.

nnabla runs convolution and pooling with ``channel_last=True`` through cuDNN only; its CPU
kernels raise ``not_implemented`` at the first forward. Layers therefore build the native
channel-last call under cuDNN and, elsewhere, the same computation wrapped in transposes.
"""

from __future__ import annotations

from typing import Any

import nnabla as nn
import nnabla.functions as F


def native_channel_last() -> bool:
    """Whether the current nnabla context runs channel-last convolution and pooling."""
    return any(str(b).startswith("cudnn") for b in nn.get_current_context().backend)


def move_axis(x: Any, source: int, destination: int) -> Any:
    """Returns `x` transposed so that axis `source` ends at position `destination`."""
    ndim = len(x.shape)
    source, destination = source % ndim, destination % ndim
    if source == destination:
        return x
    axes = [a for a in range(ndim) if a != source]
    axes.insert(destination, source)
    return F.transpose(x, axes)
