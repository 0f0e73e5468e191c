"""SposSearcher and FairNasSearcher: uniform and fair paths, the accumulated update, BN
recalibration, the evolution under a budget, determinism, state and bad settings."""

import csv

import nnabla as nn
import nnabla.functions as F
import numpy as np
import pytest

from nnabla_nas import module as Mo
from nnabla_nas.app.config import ConfigError, SearchConfig, load_config
from nnabla_nas.contrib.model import Model
from nnabla_nas.module.mixedop import find_choices
from nnabla_nas.optimizer import Optimizer
from nnabla_nas.runner.loop import epoch_rng
from nnabla_nas.runner.searcher import (
    SEARCHERS,
    Cost,
    FairNasSearcher,
    SearchParts,
    SposSearcher,
    SposSettings,
)
from nnabla_nas.runner.searcher.spos import evolve

from .models import Choice, batch


class TwoChoices(Model):
    """Choices of 3 and 2 candidates, the second used twice through a shared alpha."""

    def __init__(self):
        rs = np.random.RandomState(1)
        self._a = Mo.MixedOp(
            [Mo.Conv(4, 4, (1, 1), rng=rs), Mo.Conv(4, 4, (3, 3), pad=(1, 1), rng=rs),
             Mo.Identity()], label="a",
        )  # fmt: skip
        self._b1 = Mo.MixedOp([Mo.Conv(4, 4, (1, 1), rng=rs), Mo.Lambda(F.tanh)], label="b")
        self._b2 = Mo.MixedOp(
            [Mo.Conv(4, 4, (1, 1), rng=rs), Mo.Lambda(F.tanh)], alpha=self._b1.alpha, label="b"
        )
        self._head = Mo.Sequential(Mo.GlobalAvgPool(), Mo.Linear(4, 4, rng=rs))

    def call(self, x):
        return self._head(self._b2(self._b1(self._a(x))))


class Normed(Model):
    """A choice between x and 3x + 1, then a BatchNorm whose statistics tell them apart."""

    def __init__(self):
        self._mix = Mo.MixedOp([Mo.Identity(), Mo.Lambda(lambda x: 3.0 * x + 1.0)])
        self._bn = Mo.BatchNormalization(4, 4)
        self._head = Mo.Sequential(Mo.GlobalAvgPool(), Mo.Linear(4, 4))

    def call(self, x):
        return self._head(self._bn(self._mix(x)))


class PathCost:
    """A stand-in estimator: the conv costs 10, the rest 1."""

    costs = np.array([1.0, 1.0, 10.0])

    def cost(self, model, input_shape=None):
        with nn.auto_forward(False):
            model(nn.Variable(input_shape))
        return float(self.costs[model._mix.index])


def make(cls=SposSearcher, model=None, **kwargs):
    model = Choice() if model is None else model
    return cls(
        model, Optimizer(model.get_net_parameters(grad_only=True), "momentum", 0.1), **kwargs
    )


def train(s, epochs=2, steps=30, seed=0):
    data = np.random.default_rng(seed)
    for epoch in range(epochs):
        s.start_epoch(epoch, epoch_rng(seed, epoch))
        for _ in range(steps):
            s.train_on_batch({"train": batch(data), "valid": batch(data)})


def finish(s, seed=0, history=None):
    data = np.random.default_rng(100 + seed)
    calib = [batch(data) for _ in range(3)]
    valid = [batch(data, 64) for _ in range(2)]
    return s.finish(calib, valid, rng=epoch_rng(seed, 99), history=history)


def test_spos_draws_each_candidate_uniformly_whatever_the_alphas():
    s = make()
    alpha = s.model._mix.alpha
    alpha.d = np.array([8.0, 0.0, -8.0])  # softmax would draw candidate 0 nearly always
    s.start_epoch(0, np.random.default_rng(0))
    data = np.random.default_rng(1)
    counts = np.zeros(3)
    for _ in range(300):
        s.train_on_batch({"train": batch(data, 4)})
        counts[s.model._mix.index] += 1
    assert np.all(np.abs(counts - 100) < 30), counts  # binomial sd 8.2
    np.testing.assert_array_equal(alpha.d, [8.0, 0.0, -8.0])  # the alphas are left as set


def test_spos_starts_from_zero_alphas_and_trains_only_the_drawn_path():
    s = make()
    np.testing.assert_array_equal(s.model._mix.alpha.d, np.zeros(3))
    conv = s.model._mix.operators[2]
    s.start_epoch(0, np.random.default_rng(3))
    data = np.random.default_rng(3)
    for _ in range(10):
        w = conv._W.d.copy()
        s.train_on_batch({"train": batch(data)})
        assert (not np.array_equal(conv._W.d, w)) == (s.model._mix.index == 2)


def test_fairnas_paths_cover_every_candidate_exactly_once_per_step():
    s = make(FairNasSearcher, TwoChoices())
    assert s.sizes == [3, 2]  # the shared alpha is one choice
    for seed in range(20):
        s.rng = np.random.default_rng(seed)
        paths = s.step_paths()
        assert len(paths) == 3
        assert sorted(p[0] for p in paths) == [0, 1, 2]
        # 2 candidates on 3 paths: each on one or two of them
        assert sorted(np.bincount([p[1] for p in paths], minlength=2)) == [1, 2]


def test_fairnas_makes_one_update_of_the_summed_path_gradients():
    model = TwoChoices()
    opt = Optimizer(model.get_net_parameters(grad_only=True), "sgd", 0.1)
    s = FairNasSearcher(model, opt)
    x, y = batch(np.random.default_rng(0), 8)
    s.rng = np.random.default_rng(5)
    paths = s.step_paths()
    params = model.get_net_parameters(grad_only=True)
    before = {k: p.d.copy() for k, p in params.items()}
    total = {k: np.zeros(p.shape) for k, p in params.items()}
    for path in paths:  # by hand: each path's gradient alone, from one-hot alphas
        for c, i in zip(find_choices(model), path, strict=True):
            c.alpha.d = np.where(np.arange(c.alpha.size) == i, 1.0, 0.0)
        with nn.auto_forward(False), model.modes(choice="max"):
            xv, yv = nn.Variable.from_numpy_array(x), nn.Variable.from_numpy_array(y)
            loss = F.mean(F.softmax_cross_entropy(model(xv), yv))
        for p in params.values():
            p.g = 0.0
        loss.forward()
        loss.backward()
        for k, p in params.items():
            total[k] += p.g
    s.rng = np.random.default_rng(5)
    s.train_on_batch({"train": (x, y)})
    assert opt.iteration == 1
    for k, p in params.items():
        np.testing.assert_allclose(p.d, before[k] - 0.1 * total[k], rtol=1e-4, atol=1e-6)
    assert any(np.any(total[k] != 0) for k in total) and len(paths) == 3


def test_recalibration_sets_the_running_statistics_of_the_path():
    s = make(model=Normed())
    bn = s.model._bn
    bn._mean.d, bn._var.d = 5.0, 9.0
    data = np.random.default_rng(0)
    batches = [batch(data, 16) for _ in range(3)]
    for path, scale, shift in [((0,), 1.0, 0.0), ((1,), 3.0, 1.0)]:
        s.recalibrate(path, batches)
        z = [scale * x + shift for x, _ in batches]
        mean = np.mean([v.mean(axis=(0, 2, 3)) for v in z], axis=0)
        var = np.mean([v.var(axis=(0, 2, 3), ddof=1) for v in z], axis=0)  # as nnabla
        np.testing.assert_allclose(bn._mean.d.reshape(-1), mean, rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(bn._var.d.reshape(-1), var, rtol=1e-3, atol=1e-5)
    assert bn.decay_rate == 0.9  # the training decay is restored


def test_evolve_finds_the_best_feasible_path_and_scores_no_infeasible_one():
    weights = np.array([1.0, 0.9, 0.8, 0.7, 0.6])
    scored = []

    def score(path):
        scored.append(path)
        return float(weights @ path)

    def feasible(path):
        return sum(path) <= 6

    settings = SposSettings(population=16, parents=4, generations=10, mutation_prob=0.2)
    rows = []
    found = evolve([4] * 5, score, feasible, settings, np.random.default_rng(0), rows.append)
    assert found.path == (3, 3, 0, 0, 0)  # the best of 1024 paths with sum <= 6
    assert all(feasible(p) for p in scored) and len(set(scored)) == len(scored)
    assert len(rows) == 10 and rows[0]["scored"] == 16
    assert [r["best_score"] for r in rows] == sorted(r["best_score"] for r in rows)


def test_evolution_avoids_the_path_that_erases_the_input_and_sets_the_alphas(tmp_path):
    s = make(settings=SposSettings(population=3, parents=2, generations=2))
    train(s)
    history = str(tmp_path / "evolution.csv")
    result = finish(s, history=history)
    assert s.found != (0,)  # Zero leaves chance accuracy
    assert result["evolution/accuracy"] > 0.5
    assert int(np.argmax(s.model._mix.alpha.d)) == s.found[0]  # what derive (argmax) reads
    assert s.model._mix.probs()[s.found[0]] > 1 - 1e-9
    with open(history) as f:
        rows = list(csv.DictReader(f))
    assert [r["generation"] for r in rows] == ["0", "1"]
    assert {"scored", "infeasible", "best_score", "best_path"} <= set(rows[0])


def test_the_cost_budget_excludes_the_expensive_path():
    s = make(settings=SposSettings(population=3, parents=2, generations=2),
             estimator=PathCost(), cost_target=5.0)  # fmt: skip
    train(s)
    scored = []
    score = s.score_path
    s.score_path = lambda path, calib, valid: scored.append(path) or score(path, calib, valid)
    result = finish(s)
    assert s.found == (1,) and result["evolution/cost"] == 1.0  # the conv costs 10 > 5
    assert (2,) not in scored and scored


@pytest.mark.parametrize("cls", [SposSearcher, FairNasSearcher])
def test_same_seed_gives_the_same_path_and_weights(cls):
    def run():
        nn.clear_parameters()
        s = make(cls, settings=SposSettings(population=3, parents=2, generations=2))
        train(s, epochs=1, steps=10)
        result = finish(s)
        return s.found, result, {k: p.d.copy() for k, p in s.model.get_parameters().items()}

    (path_a, result_a, weights_a), (path_b, result_b, weights_b) = run(), run()
    assert path_a == path_b and result_a == result_b
    for key in weights_a:
        np.testing.assert_array_equal(weights_a[key], weights_b[key], err_msg=key)


@pytest.mark.parametrize("cls", [SposSearcher, FairNasSearcher])
def test_a_resumed_search_continues_exactly(tmp_path, cls):
    full = make(cls)
    train(full, epochs=2, steps=5)
    part = make(cls)
    train(part, epochs=1, steps=5)
    part.save(str(tmp_path))
    state = part.state_dict()
    resumed = make(cls)
    resumed.load(str(tmp_path))
    resumed.load_state_dict(state)
    data = np.random.default_rng(0)
    for _ in range(5):
        batch(data), batch(data)  # the first epoch's batches
    resumed.start_epoch(1, epoch_rng(0, 1))
    for _ in range(5):
        resumed.train_on_batch({"train": batch(data), "valid": batch(data)})
    for key, p in full.model.get_parameters().items():
        np.testing.assert_array_equal(resumed.model.get_parameters()[key].d, p.d, err_msg=key)


def test_bad_settings_and_costs_are_clear_errors():
    with pytest.raises(ValueError, match=r"parents \(6\) must be at most the population \(5\)"):
        SposSettings(population=5, parents=6)
    with pytest.raises(ValueError, match="positive target"):
        make(estimator=PathCost())
    model = Choice()
    parts = SearchParts(Optimizer(model.get_net_parameters(True), "sgd", 0.1),
                        cost=Cost(PathCost(), "penalty", 1.0))  # fmt: skip
    with pytest.raises(ValueError, match="cost modes \\('target',\\)"):
        SposSearcher.create(model, parts, SposSettings())
    with pytest.raises(ValueError, match="no architecture optimizer"):
        parts.arch_optimizer  # noqa: B018


BASE = ["model.name=toy", "dataset.name=digits"]


@pytest.mark.parametrize("searcher", ["spos", "fairnas"])
@pytest.mark.parametrize(
    "overrides, message",
    [
        (["arch_optimizer.lr=0.1"], "arch_optimizer: searcher '{}' learns no architecture"),
        (["cost.name=flops", "cost.mode=penalty"], "cost.mode: searcher '{}' takes target"),
        (["cost.name=flops", "cost.mode=target"], "cost: searcher '{}': .*give cost.target"),
        (["cost.name=flops", "cost.mode=target", "cost.target=5", "cost.weight=1"],
         "drop the weight"),
        (["{}.parents=30"], "config.{}: parents .30. must be at most the population .20."),
        (["{}.population=1"], "config.{}.population: must be at least 2"),
    ],
)  # fmt: skip
def test_config_errors(searcher, overrides, message):
    args = [*BASE, f"searcher={searcher}", *(o.format(searcher) for o in overrides)]
    with pytest.raises(ConfigError, match=message.format(searcher)):
        load_config(SearchConfig, None, args)


@pytest.mark.parametrize("searcher", ["spos", "fairnas"])
def test_config_of_a_path_searcher_has_no_arch_optimizer(searcher):
    cfg = load_config(SearchConfig, None, [*BASE, f"searcher={searcher}", f"{searcher}.parents=3"])
    assert cfg.arch_optimizer is None and cfg.settings.parents == 3
    assert SEARCHERS[searcher].Settings is SposSettings
    darts = load_config(SearchConfig, None, [*BASE, "searcher=darts"])
    assert darts.arch_optimizer is not None and darts.arch_optimizer.name == "adam"
