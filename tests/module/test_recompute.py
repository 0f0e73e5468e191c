"""Recomputed activations: the same values and gradients, marked only where asked."""

import nnabla as nn
import nnabla.functions as F
import numpy as np
import pytest

from nnabla_nas import module as Mo
from nnabla_nas.app.config import (
    ConfigError,
    SearchConfig,
    TrainConfig,
    check_search,
    parse_config,
)
from nnabla_nas.contrib.model import Model
from nnabla_nas.runner.algorithm import Algorithm


def network():
    rng = np.random.RandomState(0)
    return Mo.Sequential(
        Mo.Conv(3, 4, (3, 3), pad=(1, 1), rng=rng),
        Mo.ReLU(),
        Mo.DwConv(4, (3, 3), pad=(1, 1), rng=rng),
        Mo.Conv(4, 4, (1, 1), rng=rng),
        Mo.MaxPool((3, 3), stride=(1, 1), pad=(1, 1)),
        Mo.AvgPool((2, 2)),
        Mo.BatchNormalization(4, 4),
        Mo.ReLU(),
    )


def gradients(recompute):
    net = network()
    x = nn.Variable.from_numpy_array(np.random.default_rng(1).normal(size=(2, 3, 8, 8)))
    with Mo.recompute_activations(recompute):
        loss = F.mean(F.pow_scalar(net(x), 2.0))
    marked = []
    loss.visit(lambda f: marked.extend(o.recompute for o in f.outputs))
    loss.forward(clear_no_need_grad=True)
    for p in net.get_parameters().values():
        p.grad.zero()
    loss.backward(clear_buffer=True)
    grads = {k: p.g.copy() for k, p in net.get_parameters(grad_only=True).items()}
    running = {k: p.d.copy() for k, p in net.get_parameters().items() if not p.need_grad}
    return float(loss.d), grads, running, marked


def test_recomputed_activations_give_the_same_loss_gradients_and_running_statistics():
    loss, grads, running, marked = gradients(True)
    plain_loss, plain_grads, plain_running, plain_marked = gradients(False)
    assert loss == plain_loss
    for key in plain_grads:
        np.testing.assert_array_equal(grads[key], plain_grads[key], err_msg=key)
        assert np.abs(grads[key]).sum() > 0
    for key in plain_running:  # batch normalization ran once: no second update
        np.testing.assert_array_equal(running[key], plain_running[key], err_msg=key)
    # ReLU twice and the pointwise convolution; not the 3x3 and depthwise convolutions nor
    # the poolings, slower to compute again.
    assert sum(marked) == 3 and not any(plain_marked)


def test_training_graphs_recompute_when_asked_and_evaluation_graphs_never():
    class Plain(Algorithm):
        def train_on_batch(self, batch):
            raise NotImplementedError

    class Net(Model):
        def __init__(self):
            self._body = network()

        def call(self, x):
            return F.mean(self._body(x), axis=(2, 3))

    algo = Plain(Net(), {})

    def marks(training):
        graph = algo.build_graph((2, 3, 8, 8), training)
        flags = []
        graph.loss.visit(lambda f: flags.extend(o.recompute for o in f.outputs))
        return sum(flags)

    assert marks(True) == 0  # off by default: it costs time
    algo.recompute = True
    algo._graphs.clear()
    assert marks(True) == 3 and marks(False) == 0


def test_the_config_key_is_read_and_multi_trial_searches_refuse_it():
    cfg = parse_config(TrainConfig, {"recompute": True})
    assert cfg.recompute is True
    search = {
        "searcher": "random", "recompute": True, "model": {"name": "nb201"},
        "multitrial": {"device": "raspi4"},
    }  # fmt: skip
    with pytest.raises(ConfigError, match="recompute: searcher 'random' is multi-trial"):
        check_search(parse_config(SearchConfig, search))
