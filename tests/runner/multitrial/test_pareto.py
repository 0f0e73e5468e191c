"""Pareto fronts and hypervolumes against hand computations and brute force."""

import itertools

import numpy as np
import pytest

from nnabla_nas.runner.multitrial import hypervolume, hypervolume_2d, pareto_front


def _dominated_brute(points, maximize):
    sign = np.where(maximize, -1.0, 1.0)
    p = np.asarray(points, float) * sign
    return [
        i
        for i in range(len(p))
        if not any(np.all(p[j] <= p[i]) and np.any(p[j] < p[i]) for j in range(len(p)))
    ]


def _union_volume(points, reference, maximize):
    """Exact volume of the union of boxes by inclusion-exclusion (small n only)."""
    sign = np.where(maximize, -1.0, 1.0)
    p, r = np.asarray(points, float) * sign, np.asarray(reference, float) * sign
    p = p[np.all(p < r, axis=1)]
    total = 0.0
    for k in range(1, len(p) + 1):
        for subset in itertools.combinations(range(len(p)), k):
            corner = p[list(subset)].max(axis=0)
            total += (-1) ** (k + 1) * np.prod(r - corner)
    return total


def test_front_hand_example():
    points = [[1, 3], [2, 2], [3, 1], [1, 1], [2, 2], [0, 3]]
    assert pareto_front(points, [True, True]).tolist() == [0, 1, 2, 4]
    # Accuracy up, latency down.
    points = [[90, 10], [92, 15], [91, 20], [89, 5], [92, 15]]
    assert pareto_front(points, [True, False]).tolist() == [0, 1, 3, 4]
    assert pareto_front(np.zeros((0, 2)), [True, True]).tolist() == []


def test_front_matches_brute_force_with_duplicates():
    rng = np.random.default_rng(0)
    for maximize in ([True, True], [True, False], [False, True, False]):
        points = rng.integers(0, 6, size=(40, len(maximize)))
        assert pareto_front(points, maximize).tolist() == _dominated_brute(points, maximize)


def test_hypervolume_2d_hand_examples():
    assert hypervolume_2d([[1, 3], [2, 2], [3, 1]], [0, 0], [True, True]) == 6.0
    # Minimizing both: boxes up to (4, 4).
    assert hypervolume_2d([[1, 3], [3, 1]], [4, 4], [False, False]) == 5.0
    # Accuracy (max) vs latency (min), reference (80 %, 30 ms): (90, 20) covers
    # [80, 90] x [20, 30] = 100; (85, 10) adds [80, 85] x [10, 20] = 50.
    assert hypervolume_2d([[90, 20], [85, 10]], [80, 30], [True, False]) == 150.0
    assert hypervolume_2d(np.zeros((0, 2)), [0, 0], [True, True]) == 0.0


def test_points_not_dominating_the_reference_add_nothing():
    base = hypervolume_2d([[2, 2]], [0, 0], [True, True])
    for extra in ([-1, 5], [5, 0], [0, 0], [1, 1]):
        assert hypervolume_2d([[2, 2], extra], [0, 0], [True, True]) == base


@pytest.mark.parametrize("m", [2, 3, 4])
def test_hypervolume_matches_inclusion_exclusion(m):
    rng = np.random.default_rng(m)
    for _ in range(5):
        points = rng.uniform(0, 1, size=(7, m))
        maximize = list(rng.integers(0, 2, size=m).astype(bool))
        reference = np.where(maximize, -0.1, 1.1)
        expected = _union_volume(points, reference, maximize)
        assert hypervolume(points, reference, maximize) == pytest.approx(expected, rel=1e-12)
        if m == 2:
            assert hypervolume_2d(points, reference, maximize) == pytest.approx(expected)


def test_hypervolume_2d_matches_monte_carlo():
    rng = np.random.default_rng(3)
    points = rng.uniform(0, 1, size=(30, 2))
    samples = rng.uniform(0, 1, size=(200_000, 2))
    covered = (samples[:, None, :] <= points[None, :, :]).all(-1).any(1)
    estimate, stderr = covered.mean(), covered.std() / np.sqrt(len(samples))
    assert abs(hypervolume_2d(points, [0, 0], [True, True]) - estimate) < 4 * stderr


def test_hypervolume_is_monotone_in_the_front():
    rng = np.random.default_rng(5)
    points = rng.uniform(0, 1, size=(50, 2))
    front, volumes = [], []
    for point in points:
        inside = [*front, point]
        if len(pareto_front(inside, [True, True])) == len(inside):
            front = inside
            volumes.append(hypervolume_2d(front, [0, 0], [True, True]))
    assert len(volumes) > 3
    assert all(b > a for a, b in itertools.pairwise(volumes))
    dominated = np.min(front, axis=0) * 0.5
    assert hypervolume_2d([*front, dominated], [0, 0], [True, True]) == volumes[-1]


def test_other_dimensions_by_hand():
    assert hypervolume([[1.0]], [3.0], [False]) == 2.0
    cube = hypervolume([[1, 1, 1], [0, 2, 2]], [2, 2, 2], [False] * 3)
    assert cube == pytest.approx(1.0)
    assert hypervolume([[1, 1, 1], [0, 0, 1.5]], [2, 2, 2], [False] * 3) == pytest.approx(
        1.0 + 4 * 0.5 - 1 * 0.5
    )


@pytest.mark.parametrize(
    ("points", "reference", "maximize", "message"),
    [
        ([1, 2], [0, 0], [True, True], "must be an"),
        ([[1, 2]], [0, 0], [True], "1 flags for 2"),
        ([[1, np.nan]], [0, 0], [True, True], "finite"),
        ([[1, 2]], [0, 0, 0], [True, True], "reference"),
    ],
)
def test_bad_input_is_a_clear_error(points, reference, maximize, message):
    with pytest.raises(ValueError, match=message):
        hypervolume(points, reference, maximize)
