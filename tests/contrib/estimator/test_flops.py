import nnabla as nn
import pytest

from nnabla_nas import module as Mo
from nnabla_nas.contrib.estimator import FLOPsEstimator
from nnabla_nas.module import Parameter

# (layer, input shapes, FLOPs computed by hand; a multiply-add is 2 FLOPs)
CASES = [
    # 4x5x5 = 100 outputs, 2*9 MACs each, + bias
    (Mo.Conv(2, 4, (3, 3), pad=(1, 1)), [(1, 2, 5, 5)], 2 * 100 * 18 + 100),
    # stride 2: 2x2 outputs per channel, 16 in all
    (Mo.Conv(2, 4, (3, 3), stride=(2, 2), with_bias=False), [(1, 2, 5, 5)], 2 * 16 * 18),
    # dilation 2, pad 2 keeps 6x6; group 2: 2 input channels per output
    (
        Mo.Conv(4, 4, (3, 3), pad=(2, 2), dilation=(2, 2), group=2, with_bias=False),
        [(1, 4, 6, 6)],
        2 * 144 * 2 * 9,
    ),
    # multiplier 2: 6 output channels of 4x4, 9 MACs each, + bias
    (Mo.DwConv(3, (3, 3), pad=(1, 1), multiplier=2), [(2, 3, 4, 4)], 2 * 192 * 9 + 192),
    (Mo.Linear(12, 5), [(2, 3, 2, 2)], 2 * 10 * 12 + 10),
    (Mo.Linear(12, 5, bias=False), [(2, 12)], 2 * 10 * 12),
    (Mo.BatchNormalization(3, 4), [(2, 3, 4, 4)], 2 * 96),
    (Mo.ReLU(), [(2, 3, 4, 4)], 96),
    (Mo.ReLU6(), [(2, 3, 4, 4)], 96),
    (Mo.LeakyReLU(0.2), [(2, 3, 4, 4)], 96),
    (Mo.MaxPool((2, 2)), [(1, 3, 4, 4)], 12 * 4),
    (Mo.AvgPool((3, 3), (1, 1), (1, 1)), [(1, 2, 4, 4)], 32 * 9),
    (Mo.GlobalAvgPool(), [(2, 3, 4, 4)], 96),
    (Mo.Merging("add"), [(1, 2, 3, 3)] * 3, 2 * 18),
    (Mo.Merging("concat"), [(1, 2, 3, 3), (1, 1, 3, 3)], 0),
    (Mo.Zero(), [(1, 2, 3, 3)], 0),
    (Mo.Identity(), [(1, 2, 3, 3)], 0),
    (Mo.Dropout(0.5), [(1, 2, 3, 3)], 0),
    (Mo.Lambda(lambda x: x), [(1, 2)], 0),
]


@pytest.mark.parametrize(("layer", "shapes", "flops"), CASES, ids=lambda c: type(c).__name__)
def test_layer_flops_by_hand(layer, shapes, flops):
    assert FLOPsEstimator().layer_cost(layer, shapes) == flops


@pytest.mark.parametrize(("layer", "shapes", "flops"), CASES[:7], ids=lambda c: type(c).__name__)
def test_layer_cost_leaves_recorded_shapes_alone(layer, shapes, flops):
    layer(*[nn.Variable(s) for s in shapes])
    before = dict(layer.__dict__)
    FLOPsEstimator().layer_cost(layer, [(s[0] * 2, *s[1:]) for s in shapes])
    assert layer.input_shapes == before["input_shapes"]
    assert layer.output_shape == before["output_shape"]


def test_unknown_layer_with_parameters_raises():
    class Scale(Mo.Module):
        def __init__(self):
            self._s = Parameter((1,), initializer=2.0)

        def call(self, x):
            return x * self._s

    with pytest.raises(NotImplementedError, match="Scale"):
        FLOPsEstimator().layer_cost(Scale(), [(1, 2)])


def test_a_layer_that_counts_its_own_flops_is_taken_at_its_word():
    class Scale(Mo.Module):
        def __init__(self):
            self._s = Parameter((1, 1), initializer=2.0)

        def call(self, x):
            return x * self._s

        def flops(self, input_shapes):
            return float(input_shapes[0][0] * input_shapes[0][1])  # one product per element

    net = Mo.Sequential(Scale(), Mo.ReLU())
    net(nn.Variable((3, 4)))
    assert FLOPsEstimator().layer_cost(Scale(), [(1, 2)]) == 2
    assert FLOPsEstimator().cost(net) == 12 + 12
