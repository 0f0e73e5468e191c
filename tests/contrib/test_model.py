from collections import OrderedDict

import nnabla as nn
import nnabla.functions as F
import numpy as np
import pytest

from nnabla_nas import module as Mo
from nnabla_nas.contrib.darts.modules import MixedOp
from nnabla_nas.contrib.model import Model


def block():
    return MixedOp(
        [Mo.Conv(3, 3, (3, 3), pad=(1, 1)), Mo.MaxPool((3, 3), (1, 1), (1, 1)), Mo.Identity()]
    )


class Plain(Model):
    """Relies on the base class to find the architecture parameters."""

    def __init__(self):
        self._block = block()
        self._cells = Mo.ModuleList([block(), block()])
        self._cells[1]._alpha = self._cells[0].alpha
        self._alpha_scale = Mo.Parameter((1, 3, 1, 1), initializer=1.0)
        self._bn = Mo.BatchNormalization(3, 4)
        self._classifier = Mo.Sequential(Mo.ReLU(), Mo.GlobalAvgPool(), Mo.Linear(3, 10))

    def call(self, x):
        x = self._block(x)
        for cell in self._cells:
            x = cell(x)
        x = self._bn(F.mul2(x, F.broadcast(self._alpha_scale, x.shape)))
        return self._classifier(x)


class ByName(Plain):
    """Overrides the split by name, as the README's example does."""

    def get_arch_parameters(self, grad_only=False):
        p = self.get_parameters(grad_only)
        return OrderedDict([(k, v) for k, v in p.items() if "alpha" in k])

    def get_net_parameters(self, grad_only=False):
        p = self.get_parameters(grad_only)
        return OrderedDict([(k, v) for k, v in p.items() if "alpha" not in k])


ARCH = ["_block/_alpha", "_cells/0/_alpha"]
NET = [
    "_alpha_scale",
    "_block/_ops/0/_W",
    "_block/_ops/0/_b",
    "_cells/0/_ops/0/_W",
    "_cells/0/_ops/0/_b",
    "_cells/1/_ops/0/_W",
    "_cells/1/_ops/0/_b",
    "_bn/_beta",
    "_bn/_gamma",
    "_bn/_mean",
    "_bn/_var",
    "_classifier/2/_W",
    "_classifier/2/_b",
]


def test_split_by_type_without_override():
    net = Plain()
    arch, rest = net.get_arch_parameters(), net.get_net_parameters()
    assert list(arch) == ARCH
    assert arch["_block/_alpha"] is net._block.alpha
    assert arch["_cells/0/_alpha"] is net._cells[1].alpha
    assert list(rest) == NET
    assert set(arch) | set(rest) == set(net.get_parameters())
    assert not set(arch) & set(rest)


def test_split_with_grad_only():
    net = Plain()
    assert list(net.get_arch_parameters(grad_only=True)) == ARCH
    trained = [k for k in NET if not k.endswith(("_mean", "_var"))]
    assert list(net.get_net_parameters(grad_only=True)) == trained
    net.apply(mode="max")
    net._block.alpha.d = [0.0, 0.0, 1.0]
    net(nn.Variable((1, 3, 4, 4)))
    assert "_block/_ops/0/_W" not in net.get_net_parameters(grad_only=True)
    assert list(net.get_arch_parameters(grad_only=True)) == ARCH


def test_name_based_override_still_works():
    named, typed = ByName(), Plain()
    assert list(named.get_arch_parameters()) == ["_alpha_scale", *ARCH]
    assert list(named.get_net_parameters()) == [
        k for k in named.get_parameters() if "alpha" not in k
    ]
    assert len(named.get_arch_parameters()) == len(typed.get_arch_parameters()) + 1


def test_model_without_mixed_ops_has_no_arch_parameters():
    class Fixed(Model):
        def __init__(self):
            self._fc = Mo.Linear(2, 2)

        def call(self, x):
            return self._fc(x)

    net = Fixed()
    assert net.get_arch_parameters() == OrderedDict()
    assert list(net.get_net_parameters()) == ["_fc/_W", "_fc/_b"]


def test_arch_gradients_flow_in_full_mode(rng):
    net = Plain()
    x = nn.Variable.from_numpy_array(rng.standard_normal((2, 3, 4, 4)).astype(np.float32))
    loss = F.mean(net(x))
    params = net.get_parameters(grad_only=True)
    for p in params.values():
        p.grad.zero()
    loss.forward()
    loss.backward()
    for key, p in net.get_arch_parameters(grad_only=True).items():
        assert np.abs(p.g).sum() > 0, key


class Small(Model):
    def __init__(self):
        self._block = MixedOp([Mo.Conv(3, 3, (3, 3), pad=(1, 1)), Mo.Identity()])
        self._head = Mo.Sequential(Mo.GlobalAvgPool(), Mo.Linear(3, 10))

    def call(self, x):
        return self._head(self._block(x))


def summary_rows(text):
    lines = text.splitlines()
    assert set(lines[1]) == {"-"} and set(lines[-2]) == {"-"}
    rows = {}
    for line in lines[2:-2]:
        path, rest = line.split(maxsplit=1)
        shape, count = rest.rsplit(maxsplit=1)
        rows[path] = (shape.strip(), int(count))
    return lines[0].split(), rows, lines[-1].split()


def test_summary_lists_paths_shapes_and_counts():
    net = Small()
    header, rows, total = summary_rows(net.summary((2, 3, 6, 6)))
    assert header == ["module", "output", "shape", "params"]
    assert rows == {
        "Small": ("(2, 10)", 0),
        "_block": ("(2, 3, 6, 6)", 2),
        "_block/_ops": ("-", 0),
        "_block/_ops/0": ("(2, 3, 6, 6)", 3 * 3 * 9 + 3),
        "_block/_ops/1": ("(2, 3, 6, 6)", 0),
        "_head": ("(2, 10)", 0),
        "_head/0": ("(2, 3, 1, 1)", 0),
        "_head/1": ("(2, 10)", 3 * 10 + 10),
    }
    assert total == ["total", str(2 + 84 + 40)]
    assert int(total[1]) == sum(p.size for p in net.get_parameters().values())


def test_summary_uses_the_last_call():
    net = Small()
    _, rows, _ = summary_rows(net.summary())
    assert {shape for shape, _ in rows.values()} == {"-"}
    net(nn.Variable((1, 3, 4, 4)))
    _, rows, _ = summary_rows(net.summary())
    assert rows["_block/_ops/0"][0] == "(1, 3, 4, 4)"
    assert rows["Small"][0] == "(1, 10)"


@pytest.mark.parametrize("cls", [Plain, ByName])
def test_summary_total_counts_shared_parameters_once(cls):
    net = cls()
    *_, total = summary_rows(net.summary((1, 3, 4, 4)))
    expected = 2 * 3 + 3 * 84 + 3 + 4 * 3 + 40
    assert int(total[1]) == expected
