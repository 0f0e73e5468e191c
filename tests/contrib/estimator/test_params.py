import math

import nnabla as nn
import pytest

from nnabla_nas import module as Mo
from nnabla_nas.contrib.darts import DARTS_V2, TrainNet
from nnabla_nas.contrib.estimator import ParamsEstimator

CASES = [
    (Mo.Conv(2, 4, (3, 3)), 4 * 2 * 9 + 4),
    (Mo.Conv(4, 4, (3, 3), group=2, with_bias=False), 4 * 2 * 9),
    (Mo.DwConv(3, (3, 3), multiplier=2), 6 * 9 + 6),
    (Mo.Linear(12, 5), 12 * 5 + 5),
    (Mo.BatchNormalization(3, 4), 3 + 3),  # beta, gamma; running stats are not learned
    (Mo.BatchNormalization(3, 4, fix_parameters=True), 0),
    (Mo.ReLU(), 0),
    (Mo.Merging("add"), 0),
]


@pytest.mark.parametrize(("layer", "count"), CASES, ids=lambda c: type(c).__name__)
def test_layer_params_by_hand(layer, count):
    assert ParamsEstimator().layer_cost(layer, []) == count


def test_equals_learnable_parameters_of_a_darts_train_net():
    net = TrainNet(1, 4, 3, 10, DARTS_V2)
    net(nn.Variable((2, 1, 8, 8)))
    learnable = sum(math.prod(p.shape) for p in net.get_parameters(grad_only=True).values())
    assert ParamsEstimator().cost(net) == learnable
    running = sum(
        math.prod(p.shape) for k, p in net.get_parameters().items() if k.endswith(("_mean", "_var"))
    )
    assert learnable + running == sum(math.prod(p.shape) for p in net.get_parameters().values())
