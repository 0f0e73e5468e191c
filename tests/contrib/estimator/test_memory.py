import nnabla as nn
import numpy as np
import pytest

from nnabla_nas import module as Mo
from nnabla_nas.contrib.estimator import MemoryEstimator

from .helpers import ALPHA, Tiny, assert_unchanged, snapshot, softmax


def chain():
    # (1,1,8,8) -> conv -> (1,4,8,8) -> relu -> (1,4,8,8) -> conv -> (1,2,8,8)
    return Mo.Sequential(
        Mo.Conv(1, 4, (3, 3), pad=(1, 1)), Mo.ReLU(), Mo.Conv(4, 2, (3, 3), pad=(1, 1))
    )


class Branch(Mo.Module):
    """x -> relu -> a; x -> 1x1 conv -> b; concat(a, b)."""

    def __init__(self):
        self._relu = Mo.ReLU()
        self._conv = Mo.Conv(2, 4, (1, 1), with_bias=False)
        self._merge = Mo.Merging("concat")

    def call(self, x):
        return self._merge(self._relu(x), self._conv(x))


def test_chain_peak_is_the_two_largest_consecutive_buffers():
    # steps: conv (x 64 + a 256), relu (a 256 + b 256), conv (b 256 + y 128) elements
    assert MemoryEstimator().peak_activation_bytes(chain(), (1, 1, 8, 8)) == 4 * 512


def test_branch_peak_holds_both_branches_and_the_merge():
    # x: 32 elements, relu out 32, conv out 64, concat 96; x is dead at the concat
    assert MemoryEstimator().peak_activation_bytes(Branch(), (1, 2, 4, 4)) == 4 * 192


def test_cost_is_peak_plus_parameters():
    net = chain()
    net(nn.Variable((1, 1, 8, 8)))
    estimator = MemoryEstimator()
    params = 4 * ((4 * 9 + 4) + (2 * 4 * 9 + 2))
    assert estimator.parameter_bytes(net) == params
    assert estimator.cost(net) == 4 * 512 + params


def test_parameter_bytes_count_running_statistics():
    net = Mo.Sequential(Mo.Conv(1, 2, (1, 1), with_bias=False), Mo.BatchNormalization(2, 4))
    net(nn.Variable((1, 1, 2, 2)))
    assert MemoryEstimator().parameter_bytes(net) == 4 * (2 + 4 * 2)


def test_layer_cost_is_output_bytes():
    estimator = MemoryEstimator()
    assert estimator.layer_cost(Mo.Conv(1, 4, (3, 3)), [(1, 1, 5, 5)]) == 4 * 4 * 9
    assert estimator.layer_cost(Mo.Identity(), [(1, 1, 5, 5)]) == 0
    assert estimator.layer_cost(Mo.Dropout(), [(1, 1, 5, 5)]) == 0


def test_inference_graph_restores_modes_and_parameters():
    net = Mo.Sequential(Mo.Conv(1, 2, (3, 3)), Mo.BatchNormalization(2, 4), Mo.Dropout())
    net[2].training = False
    before = snapshot(net)
    MemoryEstimator().cost(net, input_shape=(2, 1, 5, 5))
    assert [m.training for _, m in net.get_modules()] == [True, True, True, False]
    assert_unchanged(net, before)


def test_expected_is_a_differentiable_proxy():
    model = Tiny("full")
    model(nn.Variable((1, 1, 4, 4)))
    out = MemoryEstimator().expected(model)
    out.forward()
    # stem and head write 32 floats each; conv, pool and zero candidates too, identity none
    outputs = np.array([128.0, 128.0, 0.0, 128.0])
    s = softmax(ALPHA)
    assert out.d.item() == pytest.approx(256 + s @ outputs)
    model._mixed.alpha.g = 0.0
    out.backward()
    np.testing.assert_allclose(model._mixed.alpha.g, s * (outputs - s @ outputs), rtol=1e-4)
