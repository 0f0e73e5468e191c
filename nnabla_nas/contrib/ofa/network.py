"""The Once-for-All MobileNetV3 networks: `OFASupernet` (elastic kernel, expansion and
depth, weights shared by every sub-network) and `OFANet` (the plain network of one
architecture, trained from scratch or returned by `OFASupernet.to_static`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np

from ... import module as Mo
from ...module.module import Module
from ..model import Model
from .arch import (
    DEPTHS,
    EXPAND_RATIOS,
    KERNELS,
    NUM_STAGES,
    StageSpec,
    arch_of,
    check_subset,
    resolve_settings,
    validate_arch,
)
from .blocks import ACTIVATIONS, ElasticMBConv, ElasticStage, MBConv

__all__ = ["OFANet", "OFASupernet", "Plan", "plain_mbconv", "plan"]

Rng = np.random.Generator | int | None


class Plan(NamedTuple):
    """The scaled widths and the stage specs of a network."""

    stem: int
    stem_stride: int
    first: int
    stages: tuple[StageSpec, ...]
    head: int
    feature: int


def plan(settings: str, width_mult: float) -> Plan:
    """The widths of `settings` at `width_mult`: every width is scaled and rounded to a
    multiple of 8 but the feature layer's, which only grows (as MobileNetV3's 1280)."""
    if isinstance(width_mult, bool) or not isinstance(width_mult, int | float) or width_mult <= 0:
        raise ValueError(f"width_mult must be a positive number, got {width_mult!r}")
    s = resolve_settings(settings)

    def scale(c: int) -> int:
        return c if width_mult == 1 else Mo.make_divisible(c * width_mult)

    stages = tuple(st._replace(channels=scale(st.channels)) for st in s.stages)
    feature = Mo.make_divisible(s.feature_channels * max(1.0, width_mult))
    return Plan(scale(s.stem_channels), s.stem_stride, scale(s.first_channels), stages,
                scale(s.head_channels), feature)  # fmt: skip


def _random_state(rng: Rng) -> np.random.RandomState:
    """The weights' generator: a seed, or one drawn from a `Generator` (None: seed 0)."""
    if isinstance(rng, np.random.Generator):
        rng = int(rng.integers(2**31))
    return np.random.RandomState(0 if rng is None else rng)


def _check_sizes(in_channels: int, num_classes: int) -> None:
    for name, value in (("in_channels", in_channels), ("num_classes", num_classes)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}")


def plain_mbconv(
    in_channels: int,
    out_channels: int,
    *,
    kernel: int,
    expand: float,
    stride: int,
    activation: str,
    use_se: bool,
    rng: np.random.RandomState | None = None,
) -> MBConv:
    """The plain block `ElasticMBConv.to_static` returns, with fresh weights (the same
    layers, so that parameter names and counts agree)."""
    mid, act = Mo.make_divisible(in_channels * expand, 8), ACTIVATIONS[activation]
    expand_layers = Mo.Sequential(
        Mo.Conv(in_channels, mid, (1, 1), with_bias=False, rng=rng),
        Mo.BatchNormalization(mid, 4), act(),
    )  # fmt: skip
    depthwise: list[Module] = [
        Mo.DwConv(mid, (kernel, kernel), pad=(kernel // 2,) * 2, stride=(stride,) * 2,
                  with_bias=False, rng=rng),
        Mo.BatchNormalization(mid, 4), act(),
    ]  # fmt: skip
    if use_se:
        depthwise.append(Mo.SqueezeExcitation(mid, 4, divisor=8, rng=rng))
    project = Mo.Sequential(
        Mo.Conv(mid, out_channels, (1, 1), with_bias=False, rng=rng),
        Mo.BatchNormalization(out_channels, 4),
    )  # fmt: skip
    residual = stride == 1 and in_channels == out_channels
    return MBConv(expand_layers, Mo.Sequential(*depthwise), project, residual=residual)


class _OFABase(Model):
    """Stem, fixed first block, the stages (built by the subclass), head and classifier."""

    _stages: Mo.ModuleList

    def _build_ends(
        self, in_channels: int, num_classes: int, p: Plan, dropout: float, rng: Any
    ) -> None:
        _check_sizes(in_channels, num_classes)
        # The input resized to the network's resolution (the identity without one, or for
        # inputs of that side already): an elastic resolution changes the compute of every
        # layer after it, and the network keeps taking the dataset's images.
        self._resize = Mo.Resize(None)
        self._stem = Mo.Sequential(
            Mo.Conv(in_channels, p.stem, (3, 3), pad=(1, 1), stride=(p.stem_stride,) * 2,
                    with_bias=False, rng=rng),
            Mo.BatchNormalization(p.stem, 4), Mo.Hswish(),
        )  # fmt: skip
        # MobileNetV3's first block: expansion 1 (no expansion layer), 3x3, ReLU, no SE.
        depthwise = Mo.Sequential(
            Mo.DwConv(p.stem, (3, 3), pad=(1, 1), with_bias=False, rng=rng),
            Mo.BatchNormalization(p.stem, 4), Mo.ReLU(),
        )  # fmt: skip
        project = Mo.Sequential(
            Mo.Conv(p.stem, p.first, (1, 1), with_bias=False, rng=rng),
            Mo.BatchNormalization(p.first, 4),
        )  # fmt: skip
        self._first = MBConv(Mo.Identity(), depthwise, project, residual=p.stem == p.first)
        last = p.stages[-1].channels
        self._head = Mo.Sequential(
            Mo.Conv(last, p.head, (1, 1), with_bias=False, rng=rng),
            Mo.BatchNormalization(p.head, 4), Mo.Hswish(), Mo.GlobalAvgPool(),
        )  # fmt: skip
        self._feature = Mo.Sequential(
            Mo.Linear(p.head, p.feature, rng=rng), Mo.Hswish(), Mo.Dropout(dropout)
        )
        self._classifier = Mo.Linear(p.feature, num_classes, rng=rng)

    def call(self, input: Any) -> Any:
        x = self._first(self._stem(self._resize(input)))
        for stage in self._stages:
            x = stage(x)
        return self._classifier(self._feature(self._head(x)))


class OFANet(_OFABase):
    """The plain MobileNetV3 network of one OFA architecture.

    Args:
        arch: the architecture (validated here); its ``resolution``, if any, is the side
            the network resizes its input to (bilinear) before the stem.
        settings: ``'imagenet'``, ``'cifar10'`` or ``'digits'`` (see `arch.SETTINGS`).
        width_mult: scales every width but the feature layer's.
        dropout: the dropout probability before the classifier.
        rng: seeds the weights.

    Example:
        >>> import nnabla as nn
        >>> net = OFANet(1, 10, OFASupernet(1, 10, settings="digits").min_arch(),
        ...              settings="digits")
        >>> net(nn.Variable((2, 1, 8, 8))).shape
        (2, 10)
    """

    def __init__(
        self,
        in_channels: int,
        num_classes: int,
        arch: Mapping[str, Any],
        *,
        settings: str = "cifar10",
        width_mult: float = 1.0,
        dropout: float = 0.0,
        rng: Rng = None,
    ) -> None:
        self._arch = validate_arch(arch)
        p, state = plan(settings, width_mult), _random_state(rng)
        self._build_ends(in_channels, num_classes, p, dropout, state)
        stages, cin = [], p.first
        for spec, record in zip(p.stages, self._arch["stages"], strict=True):
            blocks = []
            for i, block in enumerate(record["blocks"]):
                blocks.append(plain_mbconv(
                    cin, spec.channels, kernel=block["kernel"], expand=block["expand"],
                    stride=spec.stride if i == 0 else 1, activation=spec.activation,
                    use_se=spec.use_se, rng=state,
                ))  # fmt: skip
                cin = spec.channels
            stages.append(Mo.Sequential(*blocks))
        self._stages = Mo.ModuleList(stages)
        self._settings, self._width_mult = settings, width_mult
        self._resize.size = self._arch.get("resolution")

    def arch(self) -> dict[str, Any]:
        """The (validated) architecture this network was built from."""
        return validate_arch(self._arch)

    def extra_repr(self) -> str:
        return f"settings={self._settings!r}, width_mult={self._width_mult}"


class OFASupernet(_OFABase):
    """The Once-for-All supernet over MobileNetV3: every block of kernel size in `kernels`
    and expansion ratio in `expand_ratios`, every stage of depth in `depths`, all sharing
    the weights of the largest network.

    The active sub-network is set with `set_active` (or drawn with `sample_active`) and
    read back with `active_arch`; after a change, build the graph again. `to_static`
    returns the plain network of the active architecture holding the inherited weights.

    Args:
        settings: ``'imagenet'`` (224x224, total stride 32), ``'cifar10'`` (32x32, stride
            8) or ``'digits'`` (8x8, narrow; for tests on a CPU).
        width_mult: scales every width but the feature layer's.
        kernels: the kernel sizes offered, some of 3, 5, 7.
        expand_ratios: the expansion ratios offered, some of 3, 4, 6.
        depths: the stage depths offered, some of 2, 3, 4; a stage holds the largest.
        resolutions: the input sides offered (elastic resolution): the network resizes
            its input to the active one (bilinear) before the stem, and the architecture
            records it; None: the resolution is not a choice (the input is used as given).
        dropout: the dropout probability before the classifier.
        rng: seeds the weights.

    Example:
        >>> import nnabla as nn
        >>> net = OFASupernet(1, 10, settings="digits")
        >>> arch = net.sample_active(0, kernels=[3], depths=[2])
        >>> net(nn.Variable((2, 1, 8, 8))).shape, arch["stages"][0]["depth"]
        ((2, 10), 2)
    """

    def __init__(
        self,
        in_channels: int,
        num_classes: int,
        *,
        settings: str = "cifar10",
        width_mult: float = 1.0,
        kernels: Sequence[int] = KERNELS,
        expand_ratios: Sequence[int] = EXPAND_RATIOS,
        depths: Sequence[int] = DEPTHS,
        resolutions: Sequence[int] | None = None,
        dropout: float = 0.0,
        rng: Rng = None,
    ) -> None:
        self.kernels = check_subset("kernels", kernels, KERNELS)
        self.expand_ratios = check_subset("expand_ratios", expand_ratios, EXPAND_RATIOS)
        self.depths = check_subset("depths", depths, DEPTHS)
        self.resolutions = None if resolutions is None else _check_resolutions(resolutions)
        p, state = plan(settings, width_mult), _random_state(rng)
        self._build_ends(in_channels, num_classes, p, dropout, state)
        self.active_resolution = None if self.resolutions is None else self.resolutions[-1]
        stages, cin = [], p.first
        for spec in p.stages:
            blocks = []
            for i in range(self.depths[-1]):
                blocks.append(ElasticMBConv(
                    cin, spec.channels, kernels=self.kernels, expand_ratios=self.expand_ratios,
                    stride=spec.stride if i == 0 else 1, activation=spec.activation,
                    use_se=spec.use_se, rng=state,
                ))  # fmt: skip
                cin = spec.channels
            stages.append(ElasticStage(blocks, depths=self.depths))
        self._stages = Mo.ModuleList(stages)
        self._settings, self._width_mult, self._dropout = settings, width_mult, dropout
        self._in_channels, self._num_classes = in_channels, num_classes

    @property
    def active_resolution(self) -> int | None:
        """The input side of the active sub-network (None: no elastic resolution)."""
        return self._resize.size

    @active_resolution.setter
    def active_resolution(self, value: int | None) -> None:
        self._resize.size = value

    @property
    def stages(self) -> list[ElasticStage]:
        """The elastic stages, in network order."""
        return list(self._stages)  # type: ignore[arg-type]

    def blocks(self, stage: int) -> list[ElasticMBConv]:
        """Every block of stage `stage` (from 0), the inactive ones included."""
        return list(self.stages[stage]._blocks)  # type: ignore[arg-type]

    # -- the active sub-network ---------------------------------------------------------
    def active_arch(self) -> dict[str, Any]:
        """The architecture of the active sub-network (normalised)."""
        depths = [s.active_depth for s in self.stages]
        blocks = [
            [(b.active_kernel, int(b.active_expand_ratio)) for b in self.blocks(s)[:d]]
            for s, d in enumerate(depths)
        ]
        return arch_of(depths, blocks, self.active_resolution)

    def set_active(self, arch: Mapping[str, Any]) -> None:
        """Makes `arch` the active sub-network (the blocks past a stage's depth keep theirs).

        Raises:
            ValueError: `arch` is not an OFA architecture, or asks for a size this
                supernet does not offer (naming the field and the sizes it offers).
        """
        record = validate_arch(arch)
        self._check_offered(record)
        for s, entry in enumerate(record["stages"]):
            self.stages[s].active_depth = entry["depth"]
            for block, b in zip(self.blocks(s), entry["blocks"], strict=False):
                block.active_kernel, block.active_expand_ratio = b["kernel"], b["expand"]
        if self.resolutions is not None:
            self.active_resolution = record.get("resolution", self.resolutions[-1])

    def _check_offered(self, record: Mapping[str, Any]) -> None:
        def check(where: str, value: Any, offered: Sequence[int] | None, what: str) -> None:
            if offered is not None and value not in offered:
                raise ValueError(
                    f"{where}: {what} {value} is not offered by this supernet; it offers "
                    f"{list(offered)} (model: {what}s)"
                )

        for s, stage in enumerate(record["stages"]):
            check(f"stages[{s}].depth", stage["depth"], self.depths, "depth")
            for i, b in enumerate(stage["blocks"]):
                check(f"stages[{s}].blocks[{i}].kernel", b["kernel"], self.kernels, "kernel")
                check(f"stages[{s}].blocks[{i}].expand", b["expand"], self.expand_ratios,
                      "expand_ratio")  # fmt: skip
        if "resolution" in record:
            check("resolution", record["resolution"], self.resolutions or (), "resolution")

    def sample_active(
        self,
        rng: Rng,
        *,
        kernels: Sequence[int] | None = None,
        expand_ratios: Sequence[int] | None = None,
        depths: Sequence[int] | None = None,
        resolutions: Sequence[int] | None = None,
    ) -> dict[str, Any]:
        """Activates a uniformly drawn sub-network whose sizes are among those given (all
        that the supernet offers when None, as progressive shrinking widens them phase by
        phase); returns its architecture."""
        gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        ks = check_subset("kernels", kernels or self.kernels, self.kernels)
        es = check_subset("expand_ratios", expand_ratios or self.expand_ratios, self.expand_ratios)
        ds = check_subset("depths", depths or self.depths, self.depths)
        resolution = None
        if self.resolutions is not None:
            rs = check_subset("resolutions", resolutions or self.resolutions, self.resolutions)
            resolution = int(gen.choice(rs))
        chosen = [int(gen.choice(ds)) for _ in range(NUM_STAGES)]
        blocks = [[(int(gen.choice(ks)), int(gen.choice(es))) for _ in range(d)] for d in chosen]
        arch = arch_of(chosen, blocks, resolution)
        self.set_active(arch)
        return arch

    def max_arch(self) -> dict[str, Any]:
        """The largest sub-network: every largest size."""
        return self._uniform(self.kernels[-1], self.expand_ratios[-1], self.depths[-1], -1)

    def min_arch(self) -> dict[str, Any]:
        """The smallest sub-network: every smallest size."""
        return self._uniform(self.kernels[0], self.expand_ratios[0], self.depths[0], 0)

    def _uniform(self, kernel: int, expand: int, depth: int, end: int) -> dict[str, Any]:
        resolution = None if self.resolutions is None else self.resolutions[end]
        block = [(kernel, expand)] * depth
        return arch_of([depth] * NUM_STAGES, [block] * NUM_STAGES, resolution)

    def to_static(self, arch: Mapping[str, Any] | None = None) -> OFANet:
        """The plain `OFANet` of `arch` (the active sub-network when None, else `arch` is
        made active) holding copies of the inherited weights; same `training` mode."""
        if arch is not None:
            self.set_active(arch)
        net = OFANet(
            self._in_channels, self._num_classes, self.active_arch(), settings=self._settings,
            width_mult=self._width_mult, dropout=self._dropout, rng=0,
        )  # fmt: skip
        params: dict[str, Any] = {
            k: p for k, p in self.get_parameters().items() if not k.startswith("_stages/")
        }
        for s, stage in enumerate(self.stages):
            for key, p in stage.to_static().get_parameters().items():
                params[f"_stages/{s}/{key}"] = p
        net.set_parameters(params, raise_if_missing=True)
        net.training = self.training
        return net

    def extra_repr(self) -> str:
        return (
            f"settings={self._settings!r}, width_mult={self._width_mult}, "
            f"kernels={self.kernels}, expand_ratios={self.expand_ratios}, depths={self.depths}"
        )


def _check_resolutions(values: Sequence[int]) -> tuple[int, ...]:
    if isinstance(values, str) or not isinstance(values, Sequence) or not values:
        raise ValueError(f"resolutions must be a non-empty list of ints, got {values!r}")
    if any(isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in values):
        raise ValueError(f"resolutions must be positive ints (input sides), got {list(values)}")
    return tuple(sorted(set(values)))
