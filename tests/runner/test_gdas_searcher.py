"""GdasSearcher: sampled path steps, the temperature schedule, costs, reproducibility."""

import numpy as np
import pytest

from nnabla_nas import module as Mo
from nnabla_nas.app.config import ConfigError, SearchConfig, load_config
from nnabla_nas.contrib.model import Model
from nnabla_nas.optimizer import Optimizer
from nnabla_nas.runner.searcher import Cost, GdasSearcher

from .models import Choice, ExpectedCost, batch


class Plain(Model):
    def __init__(self):
        self._fc = Mo.Linear(4, 4)

    def call(self, x):
        return self._fc(x)


def searcher(model, **kwargs):
    s = GdasSearcher(
        model,
        Optimizer(model.get_net_parameters(grad_only=True), "momentum", 0.1),
        Optimizer(model.get_arch_parameters(grad_only=True), "adam", 0.05),
        **kwargs,
    )
    s.start_epoch(0, np.random.default_rng(1))
    return s


def run(s, steps, seed=0):
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        s.train_on_batch({"train": batch(rng), "valid": batch(rng)})
    return s.model._mix.probs()


def test_gdas_moves_probability_away_from_the_path_that_erases_the_input():
    probs = run(searcher(Choice(), tau_max=1.0, tau_min=1.0), 150)
    # the erasing path gets no gradient of its own (its output is zero): it loses
    # probability only as the others gain, more slowly than under DARTS
    assert probs[0] < 0.2 and probs.argmax() == 2, probs


def test_a_step_trains_only_the_drawn_paths_weights():
    s = searcher(Choice())
    conv = s.model._mix.operators[2]
    rng = np.random.default_rng(3)
    moved_seen = set()
    for _ in range(12):
        w = conv._W.d.copy()
        s.train_on_batch({"train": batch(rng), "valid": batch(rng)})
        moved = not np.array_equal(conv._W.d, w)
        assert moved == (s.model._mix.index == 2)  # the weight step's draw is the last build
        moved_seen.add(moved)
    assert moved_seen == {True, False}


def test_the_temperature_decays_linearly_over_the_epochs():
    s = searcher(Choice(), tau_max=10.0, tau_min=0.1, epochs=5)
    taus = []
    for epoch in range(5):
        s.start_epoch(epoch, np.random.default_rng(epoch))
        taus.append(s.tau)
    np.testing.assert_allclose(taus, [10.0, 7.525, 5.05, 2.575, 0.1])
    metrics = s.train_on_batch(
        {"train": batch(np.random.default_rng(0)), "valid": batch(np.random.default_rng(1))}
    )
    assert metrics["tau"] == pytest.approx(0.1)
    unknown = searcher(Choice(), tau_max=3.0)
    unknown.start_epoch(4, np.random.default_rng(0))
    assert unknown.tau == 3.0  # without the number of epochs, no schedule


def test_a_latency_penalty_prefers_the_cheap_path():
    free = run(searcher(Choice(), tau_max=1.0, tau_min=1.0), 40)
    cost = Cost(ExpectedCost(), "penalty", 1.0)
    cheap = run(searcher(Choice(), tau_max=1.0, tau_min=1.0, cost=cost), 40)
    assert cheap[2] < 0.5 * free[2] and cheap[2] < 0.1, (cheap, free)


def test_the_same_seed_repeats_the_search():
    a, b = run(searcher(Choice()), 10), run(searcher(Choice()), 10)
    np.testing.assert_array_equal(a, b)
    other = searcher(Choice())
    other.start_epoch(0, np.random.default_rng(2))
    assert not np.array_equal(run(other, 10), a)


def test_bad_settings_are_clear_errors():
    with pytest.raises(ValueError, match=r"tau_min \(2.0\) is above tau_max"):
        searcher(Choice(), tau_max=1.0, tau_min=2.0)
    with pytest.raises(ValueError, match="has no MixedOp"):
        plain = Plain()
        opt = Optimizer(plain.get_net_parameters(grad_only=True), "sgd", 0.1)
        GdasSearcher(plain, opt, opt)
    with pytest.raises(ValueError, match="takes the cost modes"):
        s = searcher(Choice(), cost=Cost(ExpectedCost(), "reward", -1.0, 1.0))
        run(s, 1)
    with pytest.raises(ConfigError, match=r"^config.gdas: tau_min \(20.0\) is above tau_max"):
        load_config(SearchConfig, None, ["searcher=gdas", "gdas.tau_min=20"])
    with pytest.raises(ConfigError, match="takes penalty, target, not 'reward'"):
        load_config(SearchConfig, None, ["searcher=gdas", "cost.mode=reward"])
