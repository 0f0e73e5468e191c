"""Regularized evolution: population ageing, tournament selection, and search quality."""

import numpy as np
import pytest

from nnabla_nas.runner.multitrial import ChoiceSpace, RandomSearch, RegularizedEvolution, Trial

from .synthetic import ACCURACY, SPACE, best_accuracy, budget_constraint, evaluate, run


def test_population_ages_and_admits_only_feasible_complete_trials():
    search = RegularizedEvolution(
        SPACE, [ACCURACY], constraints=[budget_constraint()], population_size=5, sample_size=2
    )
    trials = run(search, 30)
    feasible = [t for t in trials if t.state == "complete" and t.values["latency"] <= 12.0]
    assert list(search.population) == feasible[-5:]
    search.tell(Trial(30, search.ask(), "failed", error="crashed"))
    search.tell(evaluate(31, search.ask(), budget=0.0))
    assert list(search.population) == feasible[-5:]


def test_random_until_the_population_is_full_then_one_mutation_of_a_member():
    search = RegularizedEvolution(SPACE, [ACCURACY], population_size=10, sample_size=3)
    run(search, 10)
    for _ in range(40):
        members = [t.arch for t in search.population]
        child = search.ask()
        assert any(sum(a != b for a, b in zip(child, m, strict=True)) == 1 for m in members)
        search.tell(evaluate(search.n_asked - 1, child))


def test_failures_extend_the_random_phase():
    search = RegularizedEvolution(SPACE, [ACCURACY], population_size=3, sample_size=2)
    for number in range(3):
        search.tell(Trial(number, search.ask(), "failed"))
    assert len(search.population) == 0
    run(search, 3)
    assert len(search.population) == 3


def test_a_full_tournament_picks_the_population_best():
    search = RegularizedEvolution(SPACE, [ACCURACY], population_size=8, sample_size=8)
    run(search, 8)
    best = max(search.population, key=lambda t: t.values["accuracy"])
    assert search.select(np.random.default_rng(0)) is best


def test_mutations_failing_the_prefilter_fall_back_to_random_samples():
    space = ChoiceSpace([["a", "b"]] * 3)
    allowed = {("a", "a", "a"), ("b", "b", "b")}
    search = RegularizedEvolution(
        space,
        [ACCURACY],
        prefilter=allowed.__contains__,
        population_size=1,
        sample_size=1,
        max_retries=50,
    )
    for number in range(10):
        arch = search.ask()
        assert arch in allowed
        search.tell(Trial(number, arch, "complete", {"accuracy": 1.0}))


def test_settings_are_checked():
    with pytest.raises(ValueError, match="sample_size <= population_size"):
        RegularizedEvolution(SPACE, [ACCURACY], population_size=5, sample_size=6)


def test_beats_random_search_on_an_additive_objective():
    optimum = best_accuracy()
    found = {}
    for cls in (RandomSearch, RegularizedEvolution):
        bests = []
        for seed in range(10):
            search = cls(SPACE, [ACCURACY], seed=seed)
            run(search, 300)
            bests.append(search.best().values["accuracy"])
        found[cls] = np.array(bests)
    evolution, random = found[RegularizedEvolution], found[RandomSearch]
    assert evolution.mean() > random.mean() + 1.0
    assert np.isclose(evolution, optimum).sum() >= 8 > np.isclose(random, optimum).sum()
