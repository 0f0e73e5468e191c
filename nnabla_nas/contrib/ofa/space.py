"""`OFASpace`: the Once-for-All MobileNetV3 space behind the `Space` interface."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from ..model import Model
from ..space import Decision, Space
from .arch import DEPTHS, EXPAND_RATIOS, KERNELS, NUM_STAGES, arch_of, validate_arch
from .diagram import COLORS, draw_ofa
from .network import OFANet, OFASupernet

__all__ = ["OFASpace"]

_LABEL = re.compile(r"stage(\d+)\.(?:block(\d+)\.(kernel|expand)|(depth))")


def _supernet(net: Model) -> OFASupernet:
    if not isinstance(net, OFASupernet):
        raise TypeError(f"the ofa space works on an OFASupernet, got {type(net).__name__}")
    return net


class OFASpace(Space):
    """Once-for-All over MobileNetV3 (Cai et al., 2020): one supernet whose sub-networks
    choose a kernel size (3, 5, 7) and an expansion ratio (3, 4, 6) per block and a depth
    (2, 3, 4) per stage, all sharing its weights.

    An architecture lists its 5 stages, each with its ``depth`` and the ``kernel`` and
    ``expand`` of its first ``depth`` blocks (``"resolution"`` too when it is a choice).
    The search net has no architecture parameters: it is trained by sampling sub-networks
    and searched by multi-trial strategies over the decisions, one per block for the
    kernel and for the expansion and one per stage for the depth (the labels
    ``stage<s>.block<b>.kernel``, ``stage<s>.block<b>.expand``, ``stage<s>.depth``, from
    1). The train network is the plain network of an architecture with fresh weights.
    """

    name = "ofa"
    quick_options = {"settings": "digits"}
    colors = COLORS

    def search_net(
        self,
        in_channels: int,
        num_classes: int,
        *,
        rng: int,
        settings: str = "cifar10",
        width_mult: float = 1.0,
        kernels: Sequence[int] = KERNELS,
        expand_ratios: Sequence[int] = EXPAND_RATIOS,
        depths: Sequence[int] = DEPTHS,
        resolutions: Sequence[int] | None = None,
        dropout: float = 0.0,
    ) -> Model:
        """`OFASupernet`; see it for the options."""
        return OFASupernet(
            in_channels, num_classes, settings=settings, width_mult=width_mult,
            kernels=kernels, expand_ratios=expand_ratios, depths=depths,
            resolutions=resolutions, dropout=dropout, rng=rng,
        )  # fmt: skip

    def train_net(
        self,
        in_channels: int,
        num_classes: int,
        arch: Any,
        *,
        settings: str = "cifar10",
        width_mult: float = 1.0,
        dropout: float = 0.0,
    ) -> Model:
        """`OFANet` of `arch`, with fresh weights; see it for the options."""
        return OFANet(
            in_channels, num_classes, arch, settings=settings, width_mult=width_mult,
            dropout=dropout,
        )  # fmt: skip

    def validate(self, arch: Any) -> Any:
        return validate_arch(arch)

    def derive(self, net: Model) -> Any:
        """The active architecture of the supernet `net`."""
        return _supernet(net).active_arch()

    def describe(self, arch: Any) -> str:
        """E.g. ``'d2 k3e6 k5e4 | d3 ... @160'``: each stage's depth and blocks."""
        record = self.validate(arch)
        stages = [
            " ".join([f"d{s['depth']}", *(f"k{b['kernel']}e{b['expand']}" for b in s["blocks"])])
            for s in record["stages"]
        ]
        resolution = f" @{record['resolution']}" if "resolution" in record else ""
        return " | ".join(stages) + resolution

    def draw(self, arch: Any, out_dir: str, stem: str = "arch") -> list[str]:
        return draw_ofa(self.validate(arch), out_dir, stem)

    def choice_label(self, choice: str, *, options: Mapping[str, Any] | None = None) -> str:
        """``'stage 1 block 2 kernel'`` for ``'stage1.block2.kernel'``, ``'stage 3 depth'``
        for ``'stage3.depth'``; any other name unchanged."""
        match = _LABEL.fullmatch(choice)
        if match is None or not 1 <= int(match[1]) <= NUM_STAGES:
            return choice
        if match[4]:
            return f"stage {match[1]} depth"
        return f"stage {match[1]} block {match[2]} {match[3]}"

    # -- multi-trial --------------------------------------------------------------------
    has_subnets = True

    def subnet(self, net: Model, arch: Any) -> Model:
        """`OFASupernet.to_static`: the plain `OFANet` of `arch` with the inherited
        weights (`net`'s active sub-network becomes `arch`)."""
        return _supernet(net).to_static(self.validate(arch))

    def decisions(self, net: Model) -> list[Decision]:
        """Per stage: its depth, then the kernel and expansion of each of its blocks (all
        that the supernet holds, those past the depth unused); then the resolution when
        the supernet offers several."""
        sup = _supernet(net)
        out = []
        for s in range(1, NUM_STAGES + 1):
            out.append(Decision(f"stage{s}.depth", tuple(map(str, sup.depths))))
            for b in range(1, sup.depths[-1] + 1):
                out.append(Decision(f"stage{s}.block{b}.kernel", tuple(map(str, sup.kernels))))
                ratios = tuple(map(str, sup.expand_ratios))
                out.append(Decision(f"stage{s}.block{b}.expand", ratios))
        if sup.resolutions is not None and len(sup.resolutions) > 1:
            out.append(Decision("resolution", tuple(map(str, sup.resolutions))))
        return out

    def canonical_choices(self, net: Model, choices: Sequence[str]) -> tuple[str, ...]:
        """`choices` with the kernel and expansion of every block past its stage's depth
        set to the first option: the architecture does not use them."""
        decisions = self.decisions(net)
        value = {d.label: c for d, c in zip(decisions, choices, strict=True)}
        out = []
        for d, choice in zip(decisions, choices, strict=True):
            match = _LABEL.fullmatch(d.label)
            unused = (
                match is not None
                and match[2] is not None
                and int(match[2]) > int(value[f"stage{match[1]}.depth"])
            )
            out.append(d.options[0] if unused else choice)
        return tuple(out)

    def from_choices(self, net: Model, choices: Sequence[str]) -> Any:
        """The architecture of one option per decision (`decisions`); `net` is unchanged."""
        decisions = self.decisions(net)
        if len(choices) != len(decisions):
            raise ValueError(
                f"expected {len(decisions)} choices, one per decision, got {len(choices)}"
            )
        value: dict[str, int] = {}
        for decision, choice in zip(decisions, choices, strict=True):
            if choice not in decision.options:
                raise ValueError(
                    f"decision {decision.label!r} has no option {choice!r}; options: "
                    f"{list(decision.options)}"
                )
            value[decision.label] = int(choice)
        sup = _supernet(net)
        depths = [value[f"stage{s}.depth"] for s in range(1, NUM_STAGES + 1)]
        blocks = [
            [(value[f"stage{s}.block{b}.kernel"], value[f"stage{s}.block{b}.expand"])
             for b in range(1, depth + 1)]
            for s, depth in enumerate(depths, start=1)
        ]  # fmt: skip
        resolution = value.get("resolution", sup.active_resolution)
        return arch_of(depths, blocks, resolution)
