"""Hardware cost in one-shot searches: `CostTerm` priced on one input, its penalty and
target forms, in DARTS and ProxylessNAS."""

import nnabla as nn
import numpy as np
import pytest

from nnabla_nas.contrib.estimator import FLOPsEstimator, LatencyEstimator, ParamsEstimator
from nnabla_nas.contrib.registry import get_space
from nnabla_nas.module import find_choices
from nnabla_nas.optimizer import Optimizer
from nnabla_nas.runner.searcher import Cost, DartsSearcher, ProxylessNasSearcher
from nnabla_nas.runner.searcher.cost import CostTerm

SHAPE = (64, 1, 8, 8)  # a training batch; costs are priced on one input of it


def toy(seed=0):
    return get_space("toy").make_search_net(1, 10, seed=seed, options={"channels": 4})


def batches(seed):
    rng = np.random.default_rng(seed)
    while True:
        x = rng.random(SHAPE, dtype=np.float32)
        yield {
            "train": (x, rng.integers(0, 10, (64, 1))),
            "valid": (x, rng.integers(0, 10, (64, 1))),
        }


def darts(model, cost=None, arch_lr=0.1):
    return DartsSearcher(
        model,
        Optimizer(model.get_net_parameters(grad_only=True), "sgd", 0.01),
        Optimizer(model.get_arch_parameters(grad_only=True), "adam", arch_lr),
        cost=cost,
    )


def test_the_expected_cost_is_of_one_input_and_differentiable():
    model = toy()
    term = CostTerm(Cost(FLOPsEstimator(), "penalty", 2.0), model, SHAPE)
    with model.modes(training=False):
        reference = FLOPsEstimator().expected(model, (1, 1, 8, 8))
    reference.forward()
    assert term.value() == pytest.approx(float(reference.d.reshape(-1)[0]), rel=1e-6)
    # The penalty's gradient is the weight times dE/dalpha, by finite differences.
    alphas = list(model.get_arch_parameters().values())
    for a in alphas:
        a.grad.zero()
    term.add_gradient()
    analytic = alphas[0].g.copy()
    eps, numeric = 1e-2, np.zeros_like(analytic)
    for i in range(analytic.size):
        saved = alphas[0].d.copy()
        for sign in (1, -1):
            alphas[0].d = saved + sign * eps * np.eye(analytic.size)[i].reshape(saved.shape)
            numeric.flat[i] += sign * 2.0 * term.value() / (2 * eps)
        alphas[0].d = saved
    np.testing.assert_allclose(analytic, numeric, rtol=2e-2, atol=1e-3 * abs(numeric).max())


def test_a_sampled_path_is_priced_as_that_network_on_one_input():
    model = toy()
    term = CostTerm(Cost(ParamsEstimator(), "reward", -1.0, target=100.0), model, SHAPE)
    ops = [op for c in find_choices(model) for op in c.ops]
    with model.modes(choice="sample"):
        model(nn.Variable(SHAPE))  # a training build draws a path
    with model.modes(training=False, choice="sample"):
        indices = [op.index for op in ops]
    chosen = {op.names[op.index] for op in ops}
    path = term.path_cost(ops)
    params = {"conv3": 9 * 4 * 4 + 4, "conv1": 4 * 4 + 4, "skip": 0}
    expected = sum(params[op.names[i]] for op, i in zip(ops, indices, strict=True))
    stem_and_head = 9 * 4 + 4 + 4 * 10 + 10
    assert path == pytest.approx(stem_and_head + expected), chosen
    assert term.reward_factor(200.0) == pytest.approx(0.5)


def test_the_target_form_pushes_from_both_sides():
    model = toy()
    start = CostTerm(Cost(FLOPsEstimator(), "penalty", 1.0), model, SHAPE).value()
    for target, direction in ((0.5 * start, -1.0), (2.0 * start, 1.0)):
        term = CostTerm(Cost(FLOPsEstimator(), "target", 1.0, target=target), model, SHAPE)
        alphas = list(model.get_arch_parameters().values())
        for a in alphas:
            a.grad.zero()
        term.add_gradient()
        before = term.value()
        for a in alphas:
            a.d = a.d - 0.5 * a.g / (np.abs(a.g).max() + 1e-12)  # a step down the gradient
        assert np.sign(term.value() - before) == direction
        for a in alphas:
            a.d = np.zeros_like(a.d)


def test_a_darts_search_with_a_latency_penalty_ends_cheaper_than_without(tmp_path):
    table = str(tmp_path / "latency.json")
    estimator = LatencyEstimator(table, warmup=2, repeats=5)
    start = CostTerm(Cost(estimator, "penalty"), toy(), SHAPE).value()
    ends = {}
    for weight in (0.0, 2.0 / start):  # the penalty about twice the cross entropy
        model = toy(seed=0)
        searcher = darts(model, Cost(estimator, "penalty", weight))
        data = batches(0)
        searcher.start_epoch(0, np.random.default_rng(0))
        for _ in range(15):
            metrics = searcher.train_on_batch(next(data))
        ends[weight] = metrics["arch_cost"]
    free, penalised = ends[0.0], ends[2.0 / start]
    assert penalised < 0.8 * free, ends


def test_the_target_form_lands_within_ten_percent_of_its_target():
    estimator = FLOPsEstimator()
    low = high = None
    for choice in ("skip", "conv3"):
        model = toy()
        for c in find_choices(model):
            c.alpha.d = np.where(np.array(c.names) == choice, 20.0, 0.0).astype(np.float32)
        value = CostTerm(Cost(estimator, "penalty"), model, SHAPE).value()
        low, high = (value, high) if choice == "skip" else (low, value)
    target = 0.5 * (low + high)
    model = toy(seed=1)
    searcher = darts(model, Cost(estimator, "target", 5.0, target=target), arch_lr=0.05)
    data = batches(1)
    searcher.start_epoch(0, np.random.default_rng(0))
    for _ in range(60):
        metrics = searcher.train_on_batch(next(data))
    assert abs(metrics["arch_cost"] / target - 1) < 0.1, (metrics["arch_cost"], target)


def test_proxylessnas_takes_the_target_form_too():
    model = toy()
    searcher = ProxylessNasSearcher(
        model,
        Optimizer(model.get_net_parameters(grad_only=True), "sgd", 0.01),
        Optimizer(model.get_arch_parameters(grad_only=True), "adam", 0.1),
        estimator=FLOPsEstimator(), cost_mode="target", cost_weight=1.0, cost_target=100.0,
    )  # fmt: skip
    searcher.start_epoch(0, np.random.default_rng(0))
    metrics = searcher.train_on_batch(next(batches(0)))
    assert metrics["arch_cost"] > 0
    with pytest.raises(ValueError, match="needs a positive cost_target"):
        ProxylessNasSearcher(
            model, searcher.optimizers["weights"], searcher.optimizers["arch"],
            estimator=FLOPsEstimator(), cost_mode="target", cost_weight=1.0,
        )  # fmt: skip
    with pytest.raises(ValueError, match="takes the cost modes"):
        darts(toy(), Cost(FLOPsEstimator(), "reward", -1.0, 10.0)).train_on_batch(next(batches(0)))
