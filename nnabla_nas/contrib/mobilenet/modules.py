"""Building blocks of the MobileNetV2 space and the registry of its candidate blocks.

A candidate is built by a function ``(in_channels, out_channels, stride) -> Module``
registered under its name with `register`. The built-in candidates follow ProxylessNAS
(Cai et al., ICLR 2019): the six inverted residual blocks ``'k{3,5,7}_e{3,6}'`` (kernel size
and expansion ratio) and ``'skip'``, the identity, which removes the block and is only
valid where the block keeps the shape (stride 1, as many output as input channels).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import nnabla.functions as F

from ... import module as Mo
from ...module.misc import DropPath
from ...module.module import Module
from ...utils.registry import registrar

__all__ = [
    "CANDIDATES",
    "CANDIDATE_NAMES",
    "EXPANSIONS",
    "KERNELS",
    "SKIP",
    "InvertedResidual",
    "candidate",
    "conv_bn",
    "register",
    "skip_allowed",
]

Candidate = Callable[[int, int, int], Module]

CANDIDATES: dict[str, Candidate] = {}

KERNELS = (3, 5, 7)
EXPANSIONS = (3, 6)
SKIP = "skip"

_register = registrar(CANDIDATES, "MobileNetV2 candidate")


def register(name: str) -> Callable[[Candidate], Candidate]:
    """Registers a candidate builder ``(in_channels, out_channels, stride) -> Module``.

    Example:
        >>> @register("k9_e6_example")
        ... def k9_e6(in_channels, out_channels, stride):
        ...     return InvertedResidual(in_channels, out_channels, 9, stride, 6)
        >>> del CANDIDATES["k9_e6_example"]
    """
    return _register(name)


def skip_allowed(in_channels: int, out_channels: int, stride: int) -> bool:
    """Whether the identity can replace a block: stride 1 and equal channel counts."""
    return stride == 1 and in_channels == out_channels


def candidate(name: str, in_channels: int, out_channels: int, stride: int) -> Module:
    """Builds the registered candidate `name` for one block."""
    if name not in CANDIDATES:
        raise ValueError(f"unknown MobileNetV2 candidate {name!r}; registered: {list(CANDIDATES)}")
    return CANDIDATES[name](in_channels, out_channels, stride)


def conv_bn(
    in_channels: int, out_channels: int, kernel: int, stride: int = 1, *, relu6: bool = True
) -> Mo.Sequential:
    """A kxk convolution without bias (padding ``k // 2``), BN, then ReLU6 if `relu6`."""
    conv = Mo.Conv(
        in_channels, out_channels, (kernel, kernel), pad=(kernel // 2,) * 2,
        stride=(stride, stride), with_bias=False,
    )  # fmt: skip
    layers: list[Module] = [conv, Mo.BatchNormalization(out_channels, 4, axes=[1])]
    if relu6:
        layers.append(Mo.ReLU6())
    return Mo.Sequential(*layers)


def _check_block(**values: int) -> None:
    for name, value in values.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"InvertedResidual: {name} must be a positive int, got {value!r}")
    if values["kernel"] % 2 == 0:
        raise ValueError(f"InvertedResidual: kernel must be odd, got {values['kernel']}")


class InvertedResidual(Module):
    """The MobileNetV2 block (Sandler et al., 2018): expand, depthwise, project.

    A 1x1 convolution to ``expansion * in_channels`` channels with BN and ReLU6 (left out
    when ``expansion == 1``), a kxk depthwise convolution (padding ``k // 2``, `stride`)
    with BN and ReLU6, then a 1x1 projection to `out_channels` with BN and no activation.
    No convolution has a bias. When ``stride == 1`` and the channels agree, the input is
    added to the output; that residual branch passes a `DropPath` (the identity until
    `drop_prob` is set above 0).

    Example:
        >>> import nnabla as nn
        >>> block = InvertedResidual(8, 8, 3, 1, 6)
        >>> block(nn.Variable((2, 8, 6, 6))).shape, block.residual
        ((2, 8, 6, 6), True)
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel: int,
        stride: int,
        expansion: int,
        *,
        drop_prob: float = 0.0,
    ) -> None:
        _check_block(
            in_channels=in_channels, out_channels=out_channels, kernel=kernel, stride=stride,
            expansion=expansion,
        )  # fmt: skip
        hidden = in_channels * expansion
        self._in_channels, self._out_channels = in_channels, out_channels
        self._kernel, self._stride, self._expansion = kernel, stride, expansion
        self._expand = conv_bn(in_channels, hidden, 1) if expansion != 1 else None
        self._depthwise = Mo.Sequential(
            Mo.DwConv(
                hidden, (kernel, kernel), pad=(kernel // 2,) * 2, stride=(stride, stride),
                with_bias=False,
            ),
            Mo.BatchNormalization(hidden, 4, axes=[1]),
            Mo.ReLU6(),
        )  # fmt: skip
        self._project = conv_bn(hidden, out_channels, 1, relu6=False)
        self._residual = skip_allowed(in_channels, out_channels, stride)
        self._drop_path = DropPath(drop_prob) if self._residual else None

    @property
    def residual(self) -> bool:
        """Whether the block adds its input to its output."""
        return self._residual

    def call(self, input: Any) -> Any:
        x = input if self._expand is None else self._expand(input)
        x = self._project(self._depthwise(x))
        if self._drop_path is None:
            return x
        return F.add2(input, self._drop_path(x))

    def extra_repr(self) -> str:
        return (
            f"in_channels={self._in_channels}, out_channels={self._out_channels}, "
            f"kernel={self._kernel}, stride={self._stride}, expansion={self._expansion}"
        )


def _inverted_residual(kernel: int, expansion: int) -> Candidate:
    def build(in_channels: int, out_channels: int, stride: int) -> Module:
        return InvertedResidual(in_channels, out_channels, kernel, stride, expansion)

    return build


for _kernel, _expansion in itertools.product(KERNELS, EXPANSIONS):
    register(f"k{_kernel}_e{_expansion}")(_inverted_residual(_kernel, _expansion))


@register(SKIP)
def _skip(in_channels: int, out_channels: int, stride: int) -> Module:
    if not skip_allowed(in_channels, out_channels, stride):
        raise ValueError(
            f"'skip' needs stride 1 and as many output as input channels, got stride {stride} "
            f"and {in_channels} -> {out_channels} channels; choose an inverted residual block"
        )
    return Mo.Identity()


# The built-in candidates, 'skip' last: a block that cannot skip offers a prefix of these.
CANDIDATE_NAMES: tuple[str, ...] = tuple(CANDIDATES)
