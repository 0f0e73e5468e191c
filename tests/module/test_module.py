import os

import h5py
import nnabla as nn
import nnabla.functions as F
import numpy as np
import pytest

from nnabla_nas import module as Mo
from nnabla_nas.module import read_parameters


class Block(Mo.Module):
    def __init__(self):
        super().__init__()
        self._scale = Mo.Parameter((1, 1, 1, 1), initializer=2.0)
        self._ops = Mo.ModuleList([Mo.Conv(2, 3, (3, 3), pad=(1, 1)), Mo.BatchNormalization(3, 4)])

    def call(self, x):
        for op in self._ops:
            x = op(x)
        return F.mul2(x, F.broadcast(self._scale, x.shape))


class Net(Mo.Module):
    """Does not call ``super().__init__()``, like the README's example."""

    def __init__(self):
        self._stem = Mo.Conv(1, 2, (1, 1))
        self._block = Block()
        self._head = Mo.Linear(3 * 4 * 4, 5)
        self.buffer = nn.Variable((2, 2))
        self.note = "not a module"

    def call(self, x):
        return self._head(self._block(self._stem(x)))


KEYS = [
    "_stem/_W",
    "_stem/_b",
    "_block/_scale",
    "_block/_ops/0/_W",
    "_block/_ops/0/_b",
    "_block/_ops/1/_beta",
    "_block/_ops/1/_gamma",
    "_block/_ops/1/_mean",
    "_block/_ops/1/_var",
    "_head/_W",
    "_head/_b",
]


def n_params(params):
    return sum(int(np.prod(p.shape)) for p in params.values())


def test_parameter_names_follow_the_tree():
    params = Net().get_parameters()
    assert list(params) == KEYS
    assert all(isinstance(p, Mo.Parameter) for p in params.values())
    # 2 + 2 (stem) + 1 (scale) + 54 + 3 (conv) + 4 * 3 (bn) + 240 + 5 (head)
    assert n_params(params) == 319


def test_plain_variables_are_not_parameters():
    net = Net()
    params = net.get_parameters()
    assert all(p is not net.buffer for p in params.values())
    assert not any("buffer" in k or "note" in k for k in params)


def test_get_modules_is_pre_order_with_self_first():
    net = Net()
    names = [name for name, _ in net.get_modules()]
    assert names == [
        "",
        "_stem",
        "_block",
        "_block/_ops",
        "_block/_ops/0",
        "_block/_ops/1",
        "_head",
    ]
    modules = dict(net.get_modules())
    assert modules[""] is net
    assert modules["_block/_ops/1"] is net._block._ops[1]
    prefixed = [name for name, _ in net._block.get_modules(prefix="b")]
    assert prefixed == ["b", "b/_ops", "b/_ops/0", "b/_ops/1"]


def test_named_children_in_assignment_order():
    net = Net()
    assert [(n, type(m).__name__) for n, m in net.named_children()] == [
        ("_stem", "Conv"),
        ("_block", "Block"),
        ("_head", "Linear"),
    ]


def test_shared_parameter_is_listed_once_under_its_first_path():
    class Tied(Mo.Module):
        def __init__(self):
            self._a = Mo.Linear(3, 3)
            self._b = Mo.Linear(3, 3)
            self._b._W = self._a._W

        def call(self, x):
            return self._b(self._a(x))

    net = Tied()
    assert list(net.get_parameters()) == ["_a/_W", "_a/_b", "_b/_b"]
    x = nn.Variable.from_numpy_array(np.eye(3, dtype=np.float32))
    y = net(x)
    y.forward()
    w, b1, b2 = net._a._W.d, net._a._b.d, net._b._b.d
    np.testing.assert_allclose(y.d, (w + b1) @ w + b2, rtol=1e-5, atol=1e-6)


def test_shared_module_is_visited_once():
    conv = Mo.Conv(2, 2, (1, 1))
    seq = Mo.Sequential(conv, Mo.ReLU(), conv)
    assert [name for name, _ in seq.get_modules()] == ["", "0", "1"]
    assert list(seq.get_parameters()) == ["0/_W", "0/_b"]


def test_set_parameters_copies_values():
    net = Net()
    w = np.arange(2, dtype=np.float32).reshape(2, 1, 1, 1)
    b = nn.Variable.from_numpy_array(np.array([5.0, 6.0], dtype=np.float32))
    net.set_parameters({"_stem/_W": w, "_stem/_b": b})
    np.testing.assert_array_equal(net._stem._W.d, w)
    np.testing.assert_array_equal(net._stem._b.d, [5.0, 6.0])


def test_set_parameters_unknown_key():
    with pytest.raises(KeyError, match="_stem/_X"):
        Net().set_parameters({"_stem/_X": np.zeros(2)})


def test_set_parameters_wrong_shape_leaves_module_unchanged():
    net = Net()
    before = net._stem._b.d.copy()
    with pytest.raises(ValueError, match=r"'_head/_b' has shape \(5,\)"):
        net.set_parameters({"_stem/_b": np.array([9.0, 9.0]), "_head/_b": np.zeros(4)})
    np.testing.assert_array_equal(net._stem._b.d, before)


def test_set_parameters_raise_if_missing():
    net = Net()
    with pytest.raises(KeyError, match="_head/_W"):
        net.set_parameters({"_stem/_W": net._stem._W.d}, raise_if_missing=True)
    net.set_parameters({k: p.d for k, p in net.get_parameters().items()}, raise_if_missing=True)


def randomize(module, rng):
    for p in module.get_parameters().values():
        p.d = rng.standard_normal(p.shape)


def test_save_load_round_trip_is_exact(tmp_path, rng):
    source, target = Net(), Net()
    randomize(source, rng)
    path = str(tmp_path / "weights.h5")
    source.save_parameters(path)
    assert os.listdir(tmp_path) == ["weights.h5"]
    target.load_parameters(path)
    for (k1, p1), (k2, p2) in zip(
        source.get_parameters().items(), target.get_parameters().items(), strict=True
    ):
        assert k1 == k2
        np.testing.assert_array_equal(p1.d, p2.d)
    saved = read_parameters(path)
    assert list(saved) == KEYS
    np.testing.assert_array_equal(saved["_head/_W"], source._head._W.d)


def test_save_grad_only_leaves_out_running_statistics(tmp_path):
    path = str(tmp_path / "w.h5")
    Net().save_parameters(path, grad_only=True)
    assert list(read_parameters(path)) == [k for k in KEYS if not k.endswith(("_mean", "_var"))]


def test_saved_file_is_nnabla_format(tmp_path, rng):
    net = Net()
    randomize(net, rng)
    path = str(tmp_path / "weights.h5")
    net.save_parameters(path)
    with h5py.File(path, "r") as f:
        assert bool(f["_block/_ops/1/_mean"].attrs["need_grad"]) is False
        assert int(f["_head/_b"].attrs["index"]) == KEYS.index("_head/_b")
    nn.clear_parameters()
    try:
        with nn.parameter_scope("loaded"):
            nn.load_parameters(path)
            loaded = nn.get_parameters(grad_only=False)
        assert list(loaded) == KEYS
        for key, p in net.get_parameters().items():
            np.testing.assert_array_equal(loaded[key].d, p.d)
            assert loaded[key].need_grad == p.need_grad
    finally:
        nn.clear_parameters()
    assert nn.get_parameters(grad_only=False) == {}


def test_loads_a_file_written_by_nnabla(tmp_path, rng):
    net = Net()
    values = {
        k: rng.standard_normal(p.shape).astype(np.float32) for k, p in net.get_parameters().items()
    }
    nn.clear_parameters()
    path = str(tmp_path / "nnabla.h5")
    try:
        with nn.parameter_scope("tmp"):
            for key, value in values.items():
                nn.parameter.get_parameter_or_create(key, value.shape).d = value
            nn.save_parameters(path)
    finally:
        nn.clear_parameters()
    net.load_parameters(path)
    for key, p in net.get_parameters().items():
        np.testing.assert_array_equal(p.d, values[key])


def test_read_parameters_of_a_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"missing\.h5"):
        read_parameters(str(tmp_path / "missing.h5"))


def test_apply_sets_attributes_on_every_module():
    net = Net()
    assert net.apply(training=False) is net
    assert all(m.training is False for _, m in net.get_modules())
    net.apply(training=True, tag="x")
    assert all(m.training and m.tag == "x" for _, m in net.get_modules())


def test_training_setter_is_recursive_over_the_subtree_only():
    net = Net()
    assert net.training is True
    net._block.training = False
    flags = {name: m.training for name, m in net.get_modules()}
    assert flags == {
        "": True,
        "_stem": True,
        "_block": False,
        "_block/_ops": False,
        "_block/_ops/0": False,
        "_block/_ops/1": False,
        "_head": True,
    }


def test_need_grad_setter_and_grad_only():
    net = Net()
    grad = [k for k in KEYS if not k.endswith(("_mean", "_var"))]
    assert list(net.get_parameters(grad_only=True)) == grad
    net._block.need_grad = False
    assert all(not m.need_grad for _, m in net._block.get_modules())
    assert net._stem.need_grad
    assert list(net.get_parameters(grad_only=True)) == [
        "_stem/_W",
        "_stem/_b",
        "_head/_W",
        "_head/_b",
    ]
    assert list(net.get_parameters()) == KEYS
    net.need_grad = True
    assert list(net.get_parameters(grad_only=True)) == grad


def test_repr_is_an_indented_tree():
    net = Mo.Sequential(
        Mo.Conv(3, 4, (1, 1), with_bias=False), Mo.Sequential(Mo.ReLU(), Mo.Identity())
    )
    assert repr(net) == (
        "Sequential(\n"
        "  (0): Conv(in_channels=3, out_channels=4, kernel=(1, 1), stride=None, pad=None, "
        "dilation=None, group=1, with_bias=False)\n"
        "  (1): Sequential(\n"
        "    (0): ReLU(inplace=False)\n"
        "    (1): Identity()\n"
        "  )\n"
        ")"
    )
    assert repr(Mo.Identity()) == "Identity()"


def test_call_records_input_and_output_shapes():
    net = Net()
    x = nn.Variable((2, 1, 4, 4))
    y = net(x)
    assert net.input_shapes == [(2, 1, 4, 4)]
    assert net.output_shape == y.shape == (2, 5)
    assert net._block._ops[0].input_shapes == [(2, 2, 4, 4)]
    merge = Mo.Merging("concat")
    merge(nn.Variable((1, 2)), nn.Variable((1, 3)))
    assert merge.input_shapes == [(1, 2), (1, 3)]
    assert merge.output_shape == (1, 5)


def test_forward_backward_reaches_every_trained_parameter(rng):
    net = Net()
    x = nn.Variable.from_numpy_array(rng.standard_normal((2, 1, 4, 4)).astype(np.float32))
    loss = F.sum(F.pow_scalar(net(x), 2.0))
    params = net.get_parameters(grad_only=True)
    for p in params.values():
        p.grad.zero()
    loss.forward()
    loss.backward()
    for key, p in params.items():
        assert np.abs(p.g).sum() > 0, key


def test_call_must_be_implemented():
    class Empty(Mo.Module):
        pass

    with pytest.raises(NotImplementedError, match="Empty must implement call"):
        Empty()(nn.Variable((1,)))
