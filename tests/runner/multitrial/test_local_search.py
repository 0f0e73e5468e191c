"""Local search: the neighbour walk on hand-made tables, restarts, and what it never proposes."""

import numpy as np
import pytest

from nnabla_nas.app.config import ConfigError, SearchConfig, parse_config
from nnabla_nas.runner.multitrial import ChoiceSpace, LocalSearch, RandomSearch, Trial

from .synthetic import (
    ACCURACY,
    SPACE,
    best_accuracy,
    budget_constraint,
    evaluate,
    run,
    under_budget,
)

# Two decisions of three values. One local optimum, ('c', 'z') = 9; from ('a', 'x') every
# improving step is unique under 'best' moves: (a, x) -> (c, x) -> (c, z).
UNIMODAL = ChoiceSpace([["a", "b", "c"], ["x", "y", "z"]])
UNIMODAL_SCORES = {
    ("a", "x"): 0, ("a", "y"): 1, ("a", "z"): 3,
    ("b", "x"): 2, ("b", "y"): 3, ("b", "z"): 5,
    ("c", "x"): 4, ("c", "y"): 5, ("c", "z"): 9,
}  # fmt: skip


def tell_score(search, scores, arch, number=None):
    number = search.n_asked if number is None else number
    search.tell(Trial(number, arch, "complete", {"accuracy": float(scores[arch])}))


def walk(search, scores, n):
    """Asks and tells `n` trials scored by the table `scores`; returns the proposals."""
    proposals = []
    for _ in range(n):
        number = search.n_asked
        arch = search.ask()
        proposals.append(arch)
        tell_score(search, scores, arch, number)
    return proposals


def test_neighbours_differ_in_exactly_one_decision():
    assert UNIMODAL.neighbours(("a", "x")) == [("b", "x"), ("c", "x"), ("a", "y"), ("a", "z")]
    arch = ("none", "skip", "conv1", "conv3", "pool", "skip")
    found = SPACE.neighbours(arch)
    assert len(found) == len(set(found)) == 6 * 4
    assert all(sum(a != b for a, b in zip(n, arch, strict=True)) == 1 for n in found)
    assert ChoiceSpace([["a"], ["x", "y"]]).neighbours(("a", "x")) == [("a", "y")]


@pytest.mark.parametrize("move", ["first", "best"])
def test_the_walk_climbs_to_the_known_optimum_then_restarts(move):
    search = LocalSearch(UNIMODAL, [ACCURACY], seed=0, move=move)
    start = search.ask()
    tell_score(search, UNIMODAL_SCORES, start, 0)
    assert search.centre.arch == start
    proposals = walk(search, UNIMODAL_SCORES, UNIMODAL.size - 1)
    assert len(set([start, *proposals])) == UNIMODAL.size  # nothing proposed twice
    assert {t.arch for t in search.optima} == {("c", "z")}  # later walks may end there too
    assert search.best().arch == ("c", "z")


def test_best_moves_evaluate_every_neighbour_before_moving():
    search = LocalSearch(UNIMODAL, [ACCURACY], seed=1, move="best")
    tell_score(search, UNIMODAL_SCORES, ("a", "x"), 0)
    first = walk(search, UNIMODAL_SCORES, 4)
    assert set(first) == set(UNIMODAL.neighbours(("a", "x")))
    assert search.centre.arch == ("c", "x")  # the best of the four, 4 > 3 > 2 > 1
    second = walk(search, UNIMODAL_SCORES, 1)
    assert second[0] in {("c", "y"), ("c", "z")}  # the neighbours of (c, x) not yet known


def test_first_moves_leave_as_soon_as_a_neighbour_improves():
    search = LocalSearch(UNIMODAL, [ACCURACY], seed=2, move="first")
    tell_score(search, UNIMODAL_SCORES, ("a", "x"), 0)
    arch = search.ask()
    tell_score(search, UNIMODAL_SCORES, arch, 1)
    assert search.centre.arch == arch  # every neighbour of (a, x) beats it


def test_a_known_neighbour_is_not_evaluated_again_and_counts():
    search = LocalSearch(UNIMODAL, [ACCURACY], seed=0, move="first")
    tell_score(search, UNIMODAL_SCORES, ("c", "z"), 0)  # the optimum, a walk's start
    for number, arch in enumerate(UNIMODAL.neighbours(("c", "z")), start=1):
        tell_score(search, UNIMODAL_SCORES, arch, number)
    assert [t.arch for t in search.optima] == [("c", "z")] and search.centre is None
    # A walk from (b, y) knows its better neighbours (c, y) and (b, z), 5 each, and theirs:
    # it climbs (b, y) -> (c, y) -> (c, z) and ends there without a proposal.
    tell_score(search, UNIMODAL_SCORES, ("b", "y"), 5)
    assert [t.arch for t in search.optima] == [("c", "z")] * 2 and search.centre is None
    assert search.n_asked == 6


def test_failed_and_infeasible_trials_never_become_the_centre():
    search = LocalSearch(UNIMODAL, [ACCURACY], constraints=[budget_constraint()], seed=0)
    search.tell(Trial(0, search.ask(), "failed", error="out of memory"))
    search.tell(Trial(1, search.ask(), "infeasible", {"accuracy": 99.0, "latency": 30.0}))
    assert search.centre is None
    arch = search.ask()
    search.tell(Trial(2, arch, "complete", {"accuracy": 1.0, "latency": 1.0}))
    assert search.centre.arch == arch


def test_a_walk_starts_at_the_best_of_its_start_samples():
    search = LocalSearch(UNIMODAL, [ACCURACY], seed=3, start_samples=3)
    starts = walk(search, UNIMODAL_SCORES, 3)
    assert search.centre.arch == max(starts, key=UNIMODAL_SCORES.__getitem__)


def test_parallel_asks_propose_distinct_neighbours():
    search = LocalSearch(SPACE, [ACCURACY], seed=0)
    search.tell(evaluate(0, search.ask()))
    centre = search.centre.arch
    in_flight = [search.ask() for _ in range(24)]
    assert sorted(in_flight) == sorted(SPACE.neighbours(centre))
    assert search.ask() not in in_flight  # all in flight: a random architecture meanwhile


def test_never_proposes_an_architecture_twice_and_respects_the_prefilter():
    search = LocalSearch(SPACE, [ACCURACY], seed=4, prefilter=under_budget)
    trials = run(search, 400)
    assert len({t.arch for t in trials}) == 400
    assert all(under_budget(t.arch) for t in trials)
    assert len(search.optima) >= 3  # it restarted


def test_beats_random_search_on_an_additive_objective():
    # One local optimum under one-decision moves: every walk ends at the global optimum.
    optimum = best_accuracy()
    for seed in range(5):
        search = LocalSearch(SPACE, [ACCURACY], seed=seed)
        run(search, 100)
        assert search.best().values["accuracy"] == pytest.approx(optimum)
    random = [run(RandomSearch(SPACE, [ACCURACY], seed=s), 100) for s in range(5)]
    found = np.array([max(t.values["accuracy"] for t in trials) for trials in random])
    assert found.mean() < optimum - 1.0 and np.isclose(found, optimum).sum() <= 1


def test_settings_are_checked():
    with pytest.raises(ValueError, match="start_samples must be at least 1"):
        LocalSearch(SPACE, [ACCURACY], start_samples=0)
    with pytest.raises(ValueError, match="move must be one of"):
        LocalSearch(SPACE, [ACCURACY], move="steepest")
    data = {
        "searcher": "local_search",
        "model": {"name": "nb201"},
        "multitrial": {"device": "raspi4"},
    }
    cfg = parse_config(SearchConfig, {**data, "local_search": {"move": "best"}})
    assert cfg.settings == LocalSearch.Settings(start_samples=1, move="best")
    for section, message in [
        ({"move": "steepest"}, "local_search.move: unknown value 'steepest'"),
        ({"start_samples": 0}, "local_search.start_samples: must be at least 1"),
        ({"restarts": 3}, "unknown key 'restarts'"),
    ]:
        with pytest.raises(ConfigError, match=message):
            parse_config(SearchConfig, {**data, "local_search": section})
