"""ProxylessNasSearcher: sampled weight steps, REINFORCE, hardware reward and penalty, state."""

import numpy as np
import pytest

from nnabla_nas.optimizer import Optimizer
from nnabla_nas.runner.searcher import ProxylessNasSearcher

from .models import Choice, ExpectedCost, batch

PathCost = ExpectedCost  # the stand-in, where a test uses its path cost


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
