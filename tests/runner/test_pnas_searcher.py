"""ProxylessNasSearcher: sampled weight steps, REINFORCE, hardware reward and penalty, state."""

import nnabla as nn
import nnabla.functions as F
import numpy as np
import pytest

from nnabla_nas import module as Mo
from nnabla_nas.contrib.model import Model
from nnabla_nas.optimizer import Optimizer
from nnabla_nas.runner.searcher import ProxylessNasSearcher


class Choice(Model):
    """One choice between an informative path (index 1, 2) and one that erases the input."""

    def __init__(self, seed=0):
        rs = np.random.RandomState(seed)
        self._mix = Mo.MixedOp(
            [Mo.Zero(), Mo.Identity(), Mo.Conv(4, 4, (1, 1), rng=rs)],
            rng=np.random.default_rng(seed),
        )
        self._head = Mo.Sequential(Mo.GlobalAvgPool(), Mo.Linear(4, 4, rng=rs))

    def call(self, x):
        return self._head(self._mix(x))


def batch(rng, n=32):
    """The label is the channel with the largest mean: learnable only through the input."""
    x = rng.normal(size=(n, 4, 3, 3)).astype(np.float32)
    x[np.arange(n), rng.integers(0, 4, n)] += 2.0
    return x, x.mean(axis=(2, 3)).argmax(axis=1)[:, None]


class PathCost:
    """A stand-in estimator: the conv costs 10, the rest 1."""

    costs = np.array([1.0, 1.0, 10.0])

    def cost(self, model, input_shape=None):
        return float(self.costs[model._mix.index])

    def expected(self, model, input_shape=None):
        probs = F.softmax(F.reshape(model._mix.alpha, (3,)), axis=0)
        return F.sum(probs * nn.Variable.from_numpy_array(self.costs.astype(np.float32)))

    def choice_costs(self, model, input_shape=None):
        return 0.0, {id(model._mix): self.costs}


def searcher(model, **kwargs):
    return ProxylessNasSearcher(
        model,
        Optimizer(model.get_net_parameters(grad_only=True), "momentum", 0.1),
        Optimizer(model.get_arch_parameters(grad_only=True), "sgd", 0.5),
        **kwargs,
    )


def run(s, steps, seed=0):
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        s.train_on_batch({"train": batch(rng), "valid": batch(rng)})
    return s.model._mix.probs()


def test_reinforce_moves_probability_away_from_the_useless_path():
    probs = run(searcher(Choice(), samples=4), 60)
    assert probs[0] < 0.15, probs  # Zero erases the input: reward stays at chance


def test_warmup_trains_weights_only():
    s = searcher(Choice(), warmup_epochs=1)
    before = s.model._mix.alpha.d.copy()
    run(s, 5)
    np.testing.assert_array_equal(s.model._mix.alpha.d, before)
    s.on_epoch_start(1)
    run(s, 5)
    assert not np.array_equal(s.model._mix.alpha.d, before)


def test_weight_step_changes_only_the_sampled_path():
    s = searcher(Choice())
    conv = s.model._mix.operators[2]
    rng = np.random.default_rng(3)
    for _ in range(10):
        w = conv._W.d.copy()
        s._weight_step(batch(rng))
        moved = not np.array_equal(conv._W.d, w)
        assert moved == (s.model._mix.index == 2)


def test_cost_reward_prefers_the_cheap_path():
    free = run(searcher(Choice(), samples=4), 60)
    costly = run(
        searcher(
            Choice(),
            samples=4,
            estimator=PathCost(),
            cost_mode="reward",
            cost_weight=-1.0,
            cost_target=1.0,
        ),
        60,
    )
    assert costly[2] < 0.5 * free[2], (costly, free)


ExpectedCost = PathCost


def test_cost_penalty_is_differentiable_and_prefers_the_cheap_path():
    costly = run(
        searcher(
            Choice(), samples=2, estimator=ExpectedCost(), cost_mode="penalty", cost_weight=1.0
        ),
        20,
    )
    assert costly[2] < 0.1, costly


def test_state_round_trip_repeats_the_next_samples():
    a = searcher(Choice())
    run(a, 3)
    state = a.state_dict()
    b = searcher(Choice())
    b.load_state_dict(state)
    assert b.baseline == a.baseline
    draws_a = [a.model._mix.rng.integers(1000) for _ in range(3)]
    draws_b = [b.model._mix.rng.integers(1000) for _ in range(3)]
    assert draws_a == draws_b


def test_bad_arguments_are_clear():
    with pytest.raises(ValueError, match="cost_target"):
        searcher(Choice(), estimator=PathCost(), cost_mode="reward", cost_weight=-1.0)
    searcher(Choice(), estimator=PathCost(), cost_mode="reward")  # a cost to report only
    with pytest.raises(ValueError, match="cost_mode"):
        searcher(Choice(), cost_mode="bonus")


def test_binary_gate_step_touches_only_the_drawn_pair():
    s = searcher(Choice(), gradient="binary_gate")
    s.optimizers["arch"] = Optimizer(s.model.get_arch_parameters(grad_only=True), "sgd", 1.0)
    rng = np.random.default_rng(0)
    for _ in range(5):
        before = s.model._mix.alpha.d.copy()
        s._gate_step(batch(rng))
        (first, second), gate = s.model._mix.gates
        change = s.model._mix.alpha.d - before
        untouched = [i for i in range(3) if i not in (first, second)]
        assert np.all(change[untouched] == 0)
        assert abs(change.sum()) < 1e-6  # a softmax gradient over the pair sums to zero
        assert np.any(gate.g != 0)


def test_binary_gate_moves_probability_away_from_the_useless_path():
    probs = run(searcher(Choice(), gradient="binary_gate"), 60)
    assert probs[0] < 0.15, probs


def test_binary_gate_takes_the_penalty_not_the_reward():
    with pytest.raises(ValueError, match="use cost_mode='penalty'"):
        searcher(
            Choice(),
            gradient="binary_gate",
            estimator=PathCost(),
            cost_mode="reward",
            cost_target=1.0,
        )
    cheap = run(
        searcher(
            Choice(),
            gradient="binary_gate",
            estimator=ExpectedCost(),
            cost_mode="penalty",
            cost_weight=1.0,
        ),
        20,
    )
    assert cheap[2] < 0.1, cheap
