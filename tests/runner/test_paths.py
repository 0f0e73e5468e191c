"""The most likely path within a budget, against every path of small choices."""

import itertools

import numpy as np
import pytest

from nnabla_nas import module as Mo
from nnabla_nas.runner.paths import most_likely_path, most_likely_within


def choices(logits):
    """Choices of a net of one MixedOp per row of `logits` (its alpha)."""
    ops = []
    for i, row in enumerate(logits):
        op = Mo.MixedOp([Mo.Identity() for _ in row], label=f"c{i}")
        op._alpha.d = np.asarray(row, dtype=np.float32).reshape(op._alpha.shape)
        ops.append(op)
    return Mo.find_choices(Mo.Sequential(*ops))


def exhaustive(found, cost, budget):
    """The most likely path within `budget`, by trying every path."""
    logp = [np.log(c.probs()) for c in found]
    paths = itertools.product(*(range(len(c.names)) for c in found))
    feasible = [p for p in paths if cost(p) <= budget]
    return max(feasible, key=lambda p: sum(lp[i] for lp, i in zip(logp, p, strict=True)))


def additive(prices):
    return lambda path: float(sum(row[i] for row, i in zip(prices, path, strict=True)))


def test_the_argmax_path_is_kept_when_within_the_budget():
    found = choices([[0.0, 2.0, 1.0], [3.0, 0.0, 0.0]])
    cost = additive([[1, 5, 3], [4, 1, 2]])
    assert most_likely_path(found) == (1, 0)
    assert most_likely_within(found, cost, budget=9.0) == (1, 0)


def test_one_change_finds_the_most_likely_path_within_the_budget():
    # Argmax (1, 0) costs 9; the cheapest loss of log-probability is block 1 to its 3rd.
    found = choices([[0.0, 2.0, 1.0], [3.0, 0.0, 2.9]])
    cost = additive([[1, 5, 3], [4, 1, 2]])
    assert most_likely_within(found, cost, budget=7.0) == (1, 2)
    assert exhaustive(found, cost, 7.0) == (1, 2)


@pytest.mark.parametrize("seed", range(20))
def test_random_choices_end_within_the_budget_at_a_local_optimum(seed):
    rng = np.random.default_rng(seed)
    found = choices(rng.normal(0, 1.5, (5, 4)))
    prices = rng.uniform(0.5, 3.0, (5, 4))
    cost = additive(prices)
    budget = float(np.quantile([cost(p) for p in itertools.product(range(4), repeat=5)], 0.2))
    path = most_likely_within(found, cost, budget)
    assert path is not None and cost(path) <= budget
    logp = [np.log(c.probs()) for c in found]

    def score(p):
        return sum(lp[i] for lp, i in zip(logp, p, strict=True))

    # No one-choice change is more likely and still within the budget.
    for k in range(5):
        for j in range(4):
            other = (*path[:k], j, *path[k + 1 :])
            assert not (score(other) > score(path) and cost(other) <= budget)
    assert score(path) <= score(exhaustive(found, cost, budget)) + 1e-9


def test_no_path_within_the_budget_is_none():
    found = choices([[0.0, 1.0], [1.0, 0.0]])
    assert most_likely_within(found, additive([[2, 3], [2, 3]]), budget=3.0) is None
