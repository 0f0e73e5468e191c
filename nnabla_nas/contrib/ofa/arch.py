"""The Once-for-All MobileNetV3 settings and its architecture codec.

The supernet is MobileNetV3-Large (Howard et al., 2019) as Once-for-All searches it (Cai
et al., 2020): a 3x3 stem convolution, a fixed first block (3x3 depthwise, expansion 1),
five elastic stages of inverted residual blocks, a 1x1 expansion to the head width, global
average pooling, a feature layer and the classifier. Each block chooses its kernel size
(3, 5, 7) and expansion ratio (3, 4, 6), each stage its depth (2, 3, 4).

An architecture is the JSON object::

    {"stages": [{"depth": 2, "blocks": [{"kernel": 3, "expand": 6},
                                        {"kernel": 5, "expand": 4}]}, ... 5 stages ...],
     "resolution": 160}

with one entry per stage; a stage lists at least `depth` blocks (at most `MAX_DEPTH`),
of which the first `depth` run, and the normalised form keeps exactly those. The
``"resolution"`` (the input side, optional) is there only when the resolution is a choice.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

__all__ = [
    "DEPTHS",
    "EXPAND_RATIOS",
    "KERNELS",
    "MAX_DEPTH",
    "NUM_STAGES",
    "SETTINGS",
    "Settings",
    "StageSpec",
    "arch_of",
    "check_subset",
    "resolve_settings",
    "validate_arch",
]

#: The choices of the paper: kernel sizes and expansion ratios per block, depths per stage.
KERNELS: tuple[int, ...] = (3, 5, 7)
EXPAND_RATIOS: tuple[int, ...] = (3, 4, 6)
DEPTHS: tuple[int, ...] = (2, 3, 4)
MAX_DEPTH = max(DEPTHS)
NUM_STAGES = 5


class StageSpec(NamedTuple):
    """One elastic stage: output channels, stride of its first block, activation, SE."""

    channels: int
    stride: int
    activation: str
    use_se: bool


class Settings(NamedTuple):
    """The fixed skeleton around the stages, channels at width multiplier 1."""

    resolution: int  # the input side the setting is made for
    stem_channels: int
    stem_stride: int
    first_channels: int  # the fixed first block (3x3 depthwise, expansion 1)
    stages: tuple[StageSpec, ...]
    head_channels: int  # the 1x1 expansion before the pooling
    feature_channels: int  # the layer between the pooling and the classifier


# MobileNetV3-Large, Table 2 of Howard et al.: ReLU in the first two stages, h-swish after;
# squeeze-and-excitation in the 40, 112 and 160 channel stages (the 112 one follows the
# 80 one at stride 1, as Once-for-All groups the 80 and 112 blocks into separate stages).
_LARGE = (
    StageSpec(24, 2, "relu", False),
    StageSpec(40, 2, "relu", True),
    StageSpec(80, 2, "hswish", False),
    StageSpec(112, 1, "hswish", True),
    StageSpec(160, 2, "hswish", True),
)

SETTINGS: dict[str, Settings] = {
    # Total stride 32, as the paper.
    "imagenet": Settings(224, 16, 2, 16, _LARGE, 960, 1280),
    # 32x32 inputs: stem and first stage at stride 1, total stride 8 (4x4 before pooling).
    "cifar10": Settings(
        32, 16, 1, 16, (_LARGE[0]._replace(stride=1), *_LARGE[1:]), 960, 1280
    ),
    # 8x8 single-channel digits on a CPU: narrow, total stride 4 (2x2 before pooling).
    "digits": Settings(
        8, 8, 1, 8,
        (StageSpec(8, 1, "relu", False), StageSpec(16, 2, "relu", True),
         StageSpec(16, 1, "hswish", False), StageSpec(24, 1, "hswish", True),
         StageSpec(24, 2, "hswish", True)),
        48, 64,
    ),
}  # fmt: skip


def resolve_settings(settings: str) -> Settings:
    """The `Settings` named `settings`, or a ValueError listing the names."""
    if not isinstance(settings, str) or settings not in SETTINGS:
        raise ValueError(f"unknown OFA settings {settings!r}; use one of {list(SETTINGS)}")
    return SETTINGS[settings]


def check_subset(name: str, values: Sequence[int], allowed: Sequence[int]) -> tuple[int, ...]:
    """`values` distinct and ascending, or a ValueError unless they are some of `allowed`."""
    if isinstance(values, str) or not isinstance(values, Sequence) or not values:
        raise ValueError(
            f"{name} must be a non-empty list, some of {list(allowed)}; got {values!r}"
        )
    bad = [v for v in values if isinstance(v, bool) or v not in allowed]
    if bad:
        raise ValueError(
            f"{name}: {bad} not allowed; choose some of {list(allowed)} (Once-for-All's choices)"
        )
    return tuple(sorted({allowed[list(allowed).index(v)] for v in values}))


def _one_of(where: str, value: Any, allowed: Sequence[int], what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or value not in allowed:
        raise ValueError(
            f"{where}: {value!r} is not an allowed {what}; use one of "
            f"{', '.join(map(str, allowed))}"
        )
    return next(a for a in allowed if a == value)


def _keys(where: str, data: Any, required: Sequence[str], optional: Sequence[str] = ()) -> None:
    valid = [*required, *optional]
    form = "{" + ", ".join(f"{k!r}: ..." for k in valid) + "}"
    if not isinstance(data, Mapping):
        raise ValueError(f"{where}: expected an object {form}, got {type(data).__name__}")
    for key in data:
        if key not in valid:
            raise ValueError(
                f"{where}: unknown key {key!r}; valid keys are {', '.join(map(repr, valid))}; "
                "remove it"
            )
    for key in required:
        if key not in data:
            raise ValueError(f"{where}: missing key {key!r}; expected {form}")


def _block(where: str, block: Any) -> dict[str, int]:
    _keys(where, block, ("kernel", "expand"))
    return {
        "kernel": _one_of(f"{where}.kernel", block["kernel"], KERNELS, "kernel size"),
        "expand": _one_of(f"{where}.expand", block["expand"], EXPAND_RATIOS, "expansion ratio"),
    }


def _stage(where: str, stage: Any) -> dict[str, Any]:
    _keys(where, stage, ("depth", "blocks"))
    depth = _one_of(f"{where}.depth", stage["depth"], DEPTHS, "depth")
    blocks = stage["blocks"]
    if isinstance(blocks, str) or not isinstance(blocks, Sequence):
        raise ValueError(f"{where}.blocks: expected a list of blocks, got {blocks!r}")
    if not depth <= len(blocks) <= MAX_DEPTH:
        raise ValueError(
            f"{where}.blocks: {len(blocks)} blocks for depth {depth}; list from {depth} to "
            f"{MAX_DEPTH} blocks (the first {depth} are used)"
        )
    return {
        "depth": depth,
        "blocks": [_block(f"{where}.blocks[{i}]", blocks[i]) for i in range(depth)],
    }


def validate_arch(arch: Any) -> dict[str, Any]:
    """Checks an OFA architecture and returns its normalised copy (each stage holding
    exactly its `depth` blocks).

    Raises:
        ValueError: naming the field at fault (``stages[1].blocks[0].kernel``), the
            allowed values and the fix.

    Example:
        >>> block = {"kernel": 3, "expand": 6}
        >>> arch = validate_arch({"stages": [{"depth": 2, "blocks": [block] * 4}] * 5})
        >>> len(arch["stages"][0]["blocks"])
        2
    """
    _keys("the OFA architecture", arch, ("stages",), ("resolution",))
    stages = arch["stages"]
    if isinstance(stages, str) or not isinstance(stages, Sequence) or len(stages) != NUM_STAGES:
        got = f"{len(stages)} entries" if isinstance(stages, Sequence) else repr(stages)
        raise ValueError(
            f"stages: expected a list of {NUM_STAGES} stages (one per elastic stage of the "
            f"supernet), got {got}"
        )
    record: dict[str, Any] = {"stages": [_stage(f"stages[{s}]", st) for s, st in enumerate(stages)]}
    if "resolution" in arch:
        resolution = arch["resolution"]
        if isinstance(resolution, bool) or not isinstance(resolution, int) or resolution < 1:
            raise ValueError(
                f"resolution: expected the input side as a positive int (e.g. 224), got "
                f"{resolution!r}; or leave it out"
            )
        record["resolution"] = resolution
    return record


def arch_of(
    depths: Sequence[int],
    blocks: Sequence[Sequence[tuple[int, int]]],
    resolution: int | None = None,
) -> dict[str, Any]:
    """The normalised architecture of per-stage `depths` and ``(kernel, expand)`` blocks."""
    stages = [
        {"depth": d, "blocks": [{"kernel": k, "expand": e} for k, e in stage]}
        for d, stage in zip(depths, blocks, strict=True)
    ]
    arch: dict[str, Any] = {"stages": stages}
    if resolution is not None:
        arch["resolution"] = resolution
    return validate_arch(arch)
