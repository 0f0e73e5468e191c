"""MobileNetV2 stage settings, the searchable blocks they define, and architecture files.

A stage is ``(expansion t, channels c, repeats n, stride s)`` as in Table 2 of Sandler et
al. (2018); its first block has stride ``s``, the others stride 1. The first stage is
fixed (a 3x3 inverted residual block of its own expansion); every block of the later
stages is a choice. Searchable blocks are numbered from 0 in network order.

A genotype is the JSON object ``{"settings": "cifar10", "blocks": ["k3_e6", "skip", ...]}``
with one candidate name per searchable block, plus ``"stages"`` (a list of
``[t, c, n, s]``) when the network was built with custom stages. Whether ``'skip'`` is
allowed is decided on the unscaled channels, so a genotype is valid for every `width_mult`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from ...utils.io import read_json, write_json
from .modules import CANDIDATES, SKIP, skip_allowed

__all__ = [
    "HEAD_CHANNELS",
    "SETTINGS",
    "STEM_CHANNELS",
    "Block",
    "Settings",
    "Stage",
    "block_choices",
    "check_stages",
    "load_arch",
    "plan_blocks",
    "resolve_stages",
    "save_arch",
    "searchable_blocks",
    "validate_genotype",
]

STEM_CHANNELS = 32
HEAD_CHANNELS = 1280
GENOTYPE_KEYS = ("settings", "blocks", "stages")


class Stage(NamedTuple):
    """One row of the MobileNetV2 table: expansion, channels, repeats, stride."""

    expansion: int
    channels: int
    repeats: int
    stride: int


class Settings(NamedTuple):
    """The stride of the stem convolution and the stages that follow it."""

    stem_stride: int
    stages: tuple[Stage, ...]


_IMAGENET = tuple(
    Stage(*row)
    for row in [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
                (6, 160, 3, 2), (6, 320, 1, 1)]
)  # fmt: skip
# On 32x32 inputs the stem and the second stage keep the resolution (total stride 8).
_CIFAR10 = (_IMAGENET[0], _IMAGENET[1]._replace(stride=1), *_IMAGENET[2:])

SETTINGS: dict[str, Settings] = {
    "imagenet": Settings(stem_stride=2, stages=_IMAGENET),
    "cifar10": Settings(stem_stride=1, stages=_CIFAR10),
}


class Block(NamedTuple):
    """One inverted residual block of the network, with unscaled channel counts."""

    stage: int
    repeat: int
    in_channels: int
    out_channels: int
    stride: int
    expansion: int

    @property
    def searchable(self) -> bool:
        return self.stage > 0

    @property
    def skip_allowed(self) -> bool:
        return skip_allowed(self.in_channels, self.out_channels, self.stride)

    def describe(self, index: int) -> str:
        return f"block {index} (stage {self.stage}, repeat {self.repeat})"


def _positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def check_stages(stages: Sequence[Sequence[int]]) -> tuple[Stage, ...]:
    """Validates stage rows ``(t, c, n, s)`` of positive ints; at least 2 stages are needed."""
    if isinstance(stages, str) or not isinstance(stages, Sequence):
        raise ValueError(f"stages must be a list of [t, c, n, s] rows, got {stages!r}")
    rows = []
    for k, row in enumerate(stages):
        if isinstance(row, str) or not isinstance(row, Sequence) or len(row) != 4:
            raise ValueError(
                f"stages[{k}]: expected [expansion, channels, repeats, stride], got {row!r}"
            )
        if not all(_positive_int(v) for v in row):
            raise ValueError(f"stages[{k}]: expected 4 positive ints, got {list(row)!r}")
        rows.append(Stage(*row))
    if len(rows) < 2:
        raise ValueError(
            f"stages: need at least 2 stages (the first is fixed, the others are searched), "
            f"got {len(rows)}"
        )
    return tuple(rows)


def resolve_stages(
    settings: str, stages: Sequence[Sequence[int]] | None = None
) -> tuple[Stage, ...]:
    """The stages of `settings`, or the validated `stages` that override them."""
    if not isinstance(settings, str) or settings not in SETTINGS:
        raise ValueError(f"unknown MobileNetV2 settings {settings!r}; use one of {list(SETTINGS)}")
    return SETTINGS[settings].stages if stages is None else check_stages(stages)


def plan_blocks(stages: Sequence[Stage]) -> list[Block]:
    """Every block of the network in order, its input channels those of the block before."""
    blocks, channels = [], STEM_CHANNELS
    for s, stage in enumerate(stages):
        for r in range(stage.repeats):
            stride = stage.stride if r == 0 else 1
            blocks.append(Block(s, r, channels, stage.channels, stride, stage.expansion))
            channels = stage.channels
    return blocks


def searchable_blocks(stages: Sequence[Stage]) -> list[Block]:
    """The blocks that are choices (all but the first stage's), in network order."""
    return [b for b in plan_blocks(stages) if b.searchable]


def block_choices(stages: Sequence[Stage], candidates: Sequence[str]) -> list[tuple[str, ...]]:
    """The candidates each searchable block offers: `candidates`, less 'skip' where not allowed."""
    return [
        tuple(c for c in candidates if c != SKIP or b.skip_allowed)
        for b in searchable_blocks(stages)
    ]


def _check_blocks(names: Any, blocks: Sequence[Block], settings: str) -> list[str]:
    if isinstance(names, str) or not isinstance(names, Sequence):
        raise ValueError(f"genotype 'blocks' must be a list of candidate names, got {names!r}")
    if len(names) != len(blocks):
        raise ValueError(
            f"the genotype has {len(names)} blocks but its stages ({settings!r} or 'stages') "
            f"have {len(blocks)} searchable blocks; use a genotype searched on the same stages"
        )
    for i, (name, block) in enumerate(zip(names, blocks, strict=True)):
        if name not in CANDIDATES:
            raise ValueError(
                f"{block.describe(i)}: unknown op {name!r}; valid ops: {', '.join(CANDIDATES)}"
            )
        if name == SKIP and not block.skip_allowed:
            raise ValueError(
                f"{block.describe(i)}: 'skip' is not allowed, the block has stride "
                f"{block.stride} and {block.in_channels} -> {block.out_channels} channels "
                "(skip needs stride 1 and equal channels); choose an op such as 'k3_e6'"
            )
    return list(names)


def _check_keys(genotype: Any) -> None:
    if not isinstance(genotype, Mapping):
        raise ValueError(
            "a MobileNetV2 genotype is an object {'settings': ..., 'blocks': [...]}, got "
            f"{type(genotype).__name__}"
        )
    unknown = [k for k in genotype if k not in GENOTYPE_KEYS]
    missing = [k for k in ("settings", "blocks") if k not in genotype]
    if unknown or missing:
        raise ValueError(
            f"a MobileNetV2 genotype holds 'settings', 'blocks' and optionally 'stages'; "
            f"unknown keys {unknown}, missing keys {missing}"
        )


def validate_genotype(
    genotype: Mapping[str, Any], *, stages: Sequence[Sequence[int]] | None = None
) -> dict[str, Any]:
    """Checks a genotype against its stages and returns a clean copy.

    Args:
        stages: stages the network is built with; they must equal the genotype's own
            ``"stages"`` if it has some, and are recorded in the copy.

    Raises:
        ValueError: naming the problem (keys, settings, stages, block count, or the block
            with an unknown op or a 'skip' where the shape changes).
    """
    _check_keys(genotype)
    settings, own = genotype["settings"], genotype.get("stages")
    if own is not None and stages is not None and check_stages(own) != check_stages(stages):
        raise ValueError(
            f"the genotype was searched with stages {own} but stages={stages} was given; "
            "drop the stages option to use the genotype's"
        )
    chosen = own if own is not None else stages
    used = resolve_stages(settings, chosen)
    record: dict[str, Any] = {"settings": settings}
    record["blocks"] = _check_blocks(genotype["blocks"], searchable_blocks(used), settings)
    if chosen is not None:
        record["stages"] = [list(s) for s in used]
    return record


def save_arch(path: str, genotype: Mapping[str, Any]) -> None:
    """Validates `genotype` and writes it to `path` as indented JSON, atomically."""
    write_json(path, validate_genotype(genotype))


def load_arch(path: str) -> dict[str, Any]:
    """Reads and validates a genotype file.

    Raises:
        FileNotFoundError: `path` does not exist.
        ValueError: the file is not JSON or not a valid genotype (the message names `path`).
    """
    data = read_json(path, "architecture")
    try:
        return validate_genotype(data)
    except ValueError as err:
        raise ValueError(f"architecture file '{path}': {err}") from None
