"""`Module.modes`: modes set for a block and restored exactly; labelled choices."""

import nnabla as nn
import numpy as np
import pytest

from nnabla_nas import module as Mo


class Net(Mo.Module):
    def __init__(self):
        self._body = Mo.Sequential(Mo.Conv(1, 2, (1, 1)), Mo.BatchNormalization(2, 4))
        self._choice = Mo.MixedOp(
            [Mo.Identity(), Mo.ReLU(), Mo.Conv(2, 2, (1, 1))], mode="sample", rng=0,
            label="block_0", names=["skip", "relu", "conv"],
        )  # fmt: skip

    def call(self, x):
        return self._choice(self._body(x))


def state(net):
    return [{k: m.__dict__.get(k, "unset") for k in m.MODE_STATE} for _, m in net.get_modules()]


def test_modes_sets_the_tree_and_restores_each_modules_own_state():
    net = Net()
    net._body.training = False  # a child in another mode than its parent
    before = state(net)
    with net.modes(training=True, choice="max") as same:
        assert same is net
        assert all(m.training for _, m in net.get_modules())
        assert net._choice.mode == "max"
        net(nn.Variable((1, 1, 2, 2)))  # a build flags the inactive candidates
        assert not net._choice.operators[0].need_grad
    assert state(net) == before
    assert not net._body.training and net.training and net._choice.mode == "sample"


def test_modes_restores_after_an_error():
    net = Net()
    before = state(net)
    with pytest.raises(RuntimeError), net.modes(training=False, choice="full"):
        raise RuntimeError("boom")
    assert state(net) == before


def test_modes_without_arguments_changes_nothing_but_undoes_a_builds_flags():
    net = Net()
    with net.modes():
        assert net._choice.mode == "sample"
        net(nn.Variable((1, 1, 2, 2)))
    assert all(m.need_grad for m in net._choice.operators)
    assert net._choice.index is not None  # the record of the last build stays


def test_a_bad_choice_is_refused():
    with pytest.raises(ValueError, match="unknown mode 'best'"), Net().modes(choice="best"):
        pass


def test_choices_are_found_by_alpha_with_their_labels_and_names():
    alpha = Mo.Parameter((2,), initializer=[0.0, 1.0])
    shared = Mo.Sequential(
        Mo.MixedOp([Mo.Identity(), Mo.ReLU()], alpha=alpha, label="edge", names=["a", "b"]),
        Mo.MixedOp([Mo.Identity(), Mo.ReLU()], alpha=alpha, label="edge", names=["a", "b"]),
        Mo.MixedOp([Mo.Identity(), Mo.ReLU()], rng=0),
    )
    found = Mo.find_choices(shared)
    assert [c.label for c in found] == ["edge", "2"]
    assert found[0].names == ("a", "b") and len(found[0].ops) == 2
    probs = Mo.choice_probs(shared)
    np.testing.assert_allclose(list(probs["edge"].values()), [1 / (1 + np.e), np.e / (1 + np.e)])
    assert list(probs["2"]) == ["0", "1"]


def test_inconsistent_choices_are_errors():
    alpha = Mo.Parameter((2,))
    named = Mo.Sequential(
        Mo.MixedOp([Mo.Identity(), Mo.ReLU()], alpha=alpha, names=["a", "b"]),
        Mo.MixedOp([Mo.Identity(), Mo.ReLU()], alpha=alpha, names=["b", "a"]),
    )
    with pytest.raises(ValueError, match="name their candidates differently"):
        Mo.find_choices(named)
    twice = Mo.Sequential(
        Mo.MixedOp([Mo.Identity(), Mo.ReLU()], label="x"),
        Mo.MixedOp([Mo.Identity(), Mo.ReLU()], label="x"),
    )
    with pytest.raises(ValueError, match=r"share the labels \['x'\]"):
        Mo.find_choices(twice)
    with pytest.raises(ValueError, match="2 distinct names"):
        Mo.MixedOp([Mo.Identity(), Mo.ReLU()], names=["a", "a"])
