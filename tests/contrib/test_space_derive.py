"""A space whose supernet has labelled MixedOps and no genotype() derives by label."""

import numpy as np
import pytest

from nnabla_nas import module as Mo
from nnabla_nas.contrib.model import Model
from nnabla_nas.contrib.space import Space

OPS = ("conv", "pool", "skip")


class Net(Model):
    def __init__(self, labelled: bool = True):
        self._blocks = Mo.ModuleList(
            Mo.MixedOp(
                [Mo.Identity(), Mo.ReLU(), Mo.Identity()],
                names=OPS,
                label=f"block_{i}" if labelled else None,
            )
            for i in range(2)
        )

    def call(self, x):
        for block in self._blocks:
            x = block(x)
        return x


class Plain(Space):
    def search_net(self, in_channels, num_classes, *, rng):
        return Net()

    def train_net(self, in_channels, num_classes, arch):
        return Net()

    def validate(self, arch):
        if set(arch) != {"block_0", "block_1"} or not set(arch.values()) <= set(OPS):
            raise ValueError(f"not an architecture: {arch}")
        return dict(arch)

    def draw(self, arch, out_dir, stem="arch"):
        return []


def test_derive_takes_each_labelled_choice_s_most_likely_candidate():
    net = Net()
    first, second = (op for _, op in net.get_modules() if isinstance(op, Mo.MixedOp))
    first._alpha.d = np.array([0.1, 2.0, 0.3]).reshape(first._alpha.shape)
    second._alpha.d = np.array([0.0, -1.0, 0.5]).reshape(second._alpha.shape)
    assert Plain().derive(net) == {"block_0": "pool", "block_1": "skip"}


def test_unlabelled_choices_are_named_by_their_module_paths():
    space = Plain()
    with pytest.raises(ValueError, match=r"not an architecture: {'_blocks/0': '\w+', '_blocks/1'"):
        space.derive(Net(labelled=False))


def test_a_net_without_choices_or_genotype_says_what_to_write():
    with pytest.raises(NotImplementedError, match="has no MixedOp and no genotype"):
        Plain().derive(Model())
