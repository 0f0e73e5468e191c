"""The Strategy contract, tested over every registered strategy, and RandomSearch."""

import doctest
import math

import numpy as np
import pytest

from nnabla_nas.runner import multitrial
from nnabla_nas.runner.multitrial import (
    STRATEGIES,
    ChoiceSpace,
    Constraint,
    Objective,
    RandomSearch,
    StrategyParts,
    Trial,
    optuna_adapter,
    pareto,
    space,
    strategy,
)

from .synthetic import ACCURACY, LATENCY, SPACE, budget_constraint, evaluate, run, under_budget


def make(name, **kwargs):
    """A registered strategy with settings small enough for quick tests."""
    if name == "evolution":
        kwargs = {"population_size": 20, "sample_size": 5, **kwargs}
    if name == "bananas":
        kwargs = {"random_candidates": 100, **kwargs}
    return STRATEGIES[name](SPACE, [ACCURACY], **kwargs)


def test_registry_holds_the_strategies():
    assert set(STRATEGIES) == {"random", "evolution", "optuna", "local_search", "bananas"}
    assert all(issubclass(cls, multitrial.Strategy) for cls in STRATEGIES.values())


@pytest.mark.parametrize("module", [space, strategy, pareto, optuna_adapter])
def test_docstring_examples_run(module):
    result = doctest.testmod(module)
    assert result.failed == 0


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_same_seed_same_proposals(name):
    first = [t.arch for t in run(make(name, seed=3), 40)]
    again = [t.arch for t in run(make(name, seed=3), 40)]
    other = [t.arch for t in run(make(name, seed=4), 40)]
    assert first == again
    assert first != other


@pytest.mark.parametrize("name", sorted(STRATEGIES))
@pytest.mark.parametrize("prefilter", [None, under_budget])
def test_replay_resumes_with_the_same_next_proposal(name, prefilter):
    uninterrupted = make(name, seed=5, prefilter=prefilter)
    trials = run(uninterrupted, 45)
    resumed = make(name, seed=5, prefilter=prefilter)
    resumed.replay(trials[:30])
    assert resumed.trials == trials[:30]
    assert [t.arch for t in run(resumed, 15)] == [t.arch for t in trials[30:]]


@pytest.mark.parametrize("name", ["random", "evolution", "local_search", "bananas"])
def test_telling_without_asking_also_resumes_exactly(name):
    trials = run(make(name, seed=6), 40)
    resumed = make(name, seed=6)
    for trial in trials[:25]:
        resumed.tell(trial)
    assert resumed.n_asked == 25
    assert resumed.ask() == trials[25].arch


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_no_proposal_violates_the_prefilter(name):
    trials = run(make(name, prefilter=under_budget), 80)
    assert all(under_budget(t.arch) for t in trials)


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_an_unsatisfiable_prefilter_is_a_clear_error(name):
    search = make(name, prefilter=lambda arch: False, max_retries=20)
    with pytest.raises(RuntimeError, match="constraint may be unsatisfiable"):
        search.ask()


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_failed_and_infeasible_trials_are_recorded_not_dropped(name):
    search = make(name, constraints=[budget_constraint()])
    arch = search.ask()
    search.tell(Trial(0, arch, "failed", error="CUDA out of memory"))
    search.tell(Trial(1, search.ask(), "infeasible", {"latency": 99.0}))
    assert [t.state for t in search.trials] == ["failed", "infeasible"]
    assert search.best() is None and search.front() == []
    run(search, 5)
    assert len(search.trials) == 7


@pytest.mark.parametrize("name", ["random", "evolution", "local_search", "bananas"])
def test_proposals_in_flight_are_not_proposed_again(name):
    search = make(name, seed=7)
    run(search, 25)
    in_flight = [search.ask() for _ in range(10)]  # ten workers busy at once
    assert len(set(in_flight)) == 10 and set(search.pending.values()) == set(in_flight)
    assert search.taken() == {t.arch for t in search.trials} | set(in_flight)
    search.tell(evaluate(search.n_asked - 1, in_flight[-1]))
    assert search.n_asked - 1 not in search.pending


def test_random_search_avoids_told_architectures_until_exhausted():
    small = ChoiceSpace([["a", "b", "c"]] * 3)
    search = RandomSearch(small, [ACCURACY], seed=0)
    archs = []
    for number in range(small.size + 3):
        archs.append(search.ask())
        search.tell(Trial(number, archs[-1], "complete", {"accuracy": 0.0}))
    assert len(set(archs[: small.size])) == small.size
    assert all(arch in archs[: small.size] for arch in archs[small.size :])


def _trial(number, accuracy, latency, state="complete"):
    return Trial(
        number,
        SPACE.sample(np.random.default_rng(number)),
        state,
        {"accuracy": accuracy, "latency": latency},
    )


def test_best_respects_constraints_and_ignores_failures():
    search = RandomSearch(SPACE, [ACCURACY, LATENCY], constraints=[budget_constraint()])
    assert search.best() is None
    search.tell(_trial(0, 90.0, 10.0))
    search.tell(_trial(1, 95.0, 13.0))
    search.tell(Trial(2, SPACE.sample(np.random.default_rng(2)), "failed"))
    search.tell(_trial(3, 97.0, 30.0, state="infeasible"))
    search.tell(_trial(4, 92.0, 11.0))
    search.tell(_trial(5, 92.0, 5.0))
    assert search.best().number == 4


def test_best_minimizes_a_minimized_first_objective():
    search = RandomSearch(SPACE, [LATENCY, ACCURACY])
    for number, latency in enumerate([7.0, 3.0, 5.0]):
        search.tell(_trial(number, 90.0, latency))
    assert search.best().number == 1


def test_front_and_its_hypervolume_by_hand():
    search = RandomSearch(SPACE, [ACCURACY, LATENCY], constraints=[budget_constraint()])
    for number, (acc, lat) in enumerate(
        [(90, 10), (92, 11.5), (91, 11), (89, 5), (93, 12.5), (92, 11.5), (85, 6)]
    ):
        search.tell(_trial(number, acc, lat))
    search.tell(Trial(7, SPACE.sample(np.random.default_rng(7)), "failed"))
    # (93, 12.5) breaks the 12 ms budget; (85, 6) is dominated by (89, 5).
    assert [t.number for t in search.front()] == [1, 5, 2, 0, 3]
    # Reference (80 %, 12 ms), one slab per latency step of the front:
    # [80, 92] x [11.5, 12] + [80, 91] x [11, 11.5] + [80, 90] x [10, 11] + [80, 89] x [5, 10].
    expected = 12 * 0.5 + 11 * 0.5 + 10 * 1 + 9 * 5
    assert search.hypervolume([80.0, 12.0]) == pytest.approx(expected)


def test_bad_trials_and_settings_are_clear_errors():
    search = RandomSearch(SPACE, [ACCURACY])
    arch = search.ask()
    with pytest.raises(ValueError, match="finite 'accuracy'"):
        search.tell(Trial(0, arch, "complete", {"latency": 3.0}))
    with pytest.raises(ValueError, match="finite 'accuracy'"):
        search.tell(Trial(0, arch, "complete", {"accuracy": math.nan}))
    with pytest.raises(ValueError, match="no choice"):
        search.tell(Trial(0, ("x",) * 6, "failed"))
    with pytest.raises(ValueError, match="state must be one of"):
        Trial(0, arch, "done")
    with pytest.raises(ValueError, match="start at 0"):
        Trial(-1, arch, "failed")
    with pytest.raises(ValueError, match="direction"):
        Objective("accuracy", "max")
    with pytest.raises(ValueError, match="at least one objective"):
        RandomSearch(SPACE, [])
    with pytest.raises(ValueError, match="unique"):
        RandomSearch(SPACE, [ACCURACY, ACCURACY])
    with pytest.raises(ValueError, match="non-negative"):
        RandomSearch(SPACE, [ACCURACY], seed=-1)


def test_constraint_is_an_inclusive_bound_on_a_measured_value():
    budget = Constraint("latency", 12.0)
    assert budget.satisfied({"latency": 12.0})
    assert not budget.satisfied({"latency": 12.5})
    assert not budget.satisfied({"accuracy": 90.0})
    assert not budget.satisfied({"latency": math.nan})
    assert budget.violation({"latency": 15.0}) == 3.0


def test_infeasible_trials_from_the_driver_are_excluded_even_if_within_budget():
    search = RandomSearch(SPACE, [ACCURACY])
    search.tell(evaluate(0, SPACE.sample(np.random.default_rng(0))))
    search.tell(_trial(1, 99.0, 1.0, state="infeasible"))
    assert search.best().number == 0


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_each_strategy_is_made_from_the_common_parts_and_its_own_settings(name):
    cls = STRATEGIES[name]
    parts = StrategyParts(SPACE, [ACCURACY], [budget_constraint()], 3, under_budget, budget=40)
    made = cls.create(parts, cls.Settings())
    assert isinstance(made, cls) and made.seed == 3 and made.constraints == (budget_constraint(),)
    proposals = [made.ask() for _ in range(5)]
    assert all(under_budget(arch) for arch in proposals)
    if name == "evolution":  # its population and tournament follow the budget by default
        assert (made.population_size, made.sample_size) == (20, 4)
        sized = cls.create(parts, cls.Settings(population_size=6, sample_size=2))
        assert (sized.population_size, sized.sample_size) == (6, 2)
