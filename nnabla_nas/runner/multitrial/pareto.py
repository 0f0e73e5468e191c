"""Pareto fronts and exact hypervolumes of small point sets (objectives as columns)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def _as_minimization(
    points: np.ndarray | Sequence[Sequence[float]], maximize: Sequence[bool]
) -> np.ndarray:
    """`points` as a finite (n, m) array with maximized columns negated."""
    array = np.asarray(points, dtype=float)
    if array.ndim != 2:
        raise ValueError(f"points must be an (n, m) array, got shape {array.shape}")
    if len(maximize) != array.shape[1]:
        raise ValueError(
            f"maximize has {len(maximize)} flags for {array.shape[1]} objectives; give one each"
        )
    if not np.all(np.isfinite(array)):
        raise ValueError("points must be finite (drop failed trials first)")
    return np.where(np.asarray(maximize, dtype=bool), -array, array)


def pareto_front(
    points: np.ndarray | Sequence[Sequence[float]], maximize: Sequence[bool]
) -> np.ndarray:
    """The indices (ascending) of the points no other point dominates.

    A point dominates another when it is no worse in every objective and better in one;
    equal points do not dominate each other, so duplicates on the front are all kept.

    Example:
        >>> pareto_front([[1, 3], [2, 2], [1, 1], [2, 2]], maximize=[True, True]).tolist()
        [0, 1, 3]
    """
    p = _as_minimization(points, maximize)
    keep = [
        i for i in range(len(p)) if not np.any(np.all(p <= p[i], axis=1) & np.any(p < p[i], axis=1))
    ]
    return np.array(keep, dtype=int)


def hypervolume_2d(
    points: np.ndarray | Sequence[Sequence[float]],
    reference: Sequence[float],
    maximize: Sequence[bool],
) -> float:
    """The exact area dominated by `points` and bounded by `reference` (two objectives).

    Points that do not strictly dominate the reference add nothing and are ignored.

    Example:
        >>> hypervolume_2d([[1, 3], [2, 2], [3, 1]], [0, 0], maximize=[True, True])
        6.0
    """
    p, r = _prepared(points, reference, maximize)
    if p.shape[1] != 2:
        raise ValueError(f"hypervolume_2d takes 2 objectives, got {p.shape[1]}")
    return _area(p, r)


def hypervolume(
    points: np.ndarray | Sequence[Sequence[float]],
    reference: Sequence[float],
    maximize: Sequence[bool],
) -> float:
    """The exact hypervolume dominated by `points` and bounded by `reference`.

    Any number of objectives: slices along the last objective down to the two-objective
    sweep, so the cost grows as ``n ** (m - 1)``; fine for fronts of a few hundred points
    in 2 or 3 objectives.
    """
    p, r = _prepared(points, reference, maximize)
    return _volume(p, r)


def _prepared(
    points: np.ndarray | Sequence[Sequence[float]],
    reference: Sequence[float],
    maximize: Sequence[bool],
) -> tuple[np.ndarray, np.ndarray]:
    """Minimization form of points and reference, keeping points that dominate it."""
    p = _as_minimization(points, maximize)
    if len(reference) != p.shape[1]:
        raise ValueError(f"reference has {len(reference)} values for {p.shape[1]} objectives")
    if not np.all(np.isfinite(reference)):
        raise ValueError(f"the reference point must be finite, got {list(reference)}")
    r = _as_minimization([list(reference)], maximize)[0]
    return p[np.all(p < r, axis=1)], r


def _volume(p: np.ndarray, r: np.ndarray) -> float:
    if len(p) == 0:
        return 0.0
    if p.shape[1] == 1:
        return float(r[0] - p[:, 0].min())
    if p.shape[1] == 2:
        return _area(p, r)
    p = p[np.argsort(p[:, -1], kind="stable")]
    levels = np.append(p[:, -1], r[-1])
    total = 0.0
    for i in range(len(p)):
        height = levels[i + 1] - levels[i]
        if height > 0:
            total += height * _volume(p[: i + 1, :-1], r[:-1])
    return total


def _area(p: np.ndarray, r: np.ndarray) -> float:
    """Sweeps points by the first objective, adding each improvement of the second."""
    area, lowest = 0.0, r[1]
    for x, y in p[np.lexsort((p[:, 1], p[:, 0]))]:
        if y < lowest:
            area += (r[0] - x) * (lowest - y)
            lowest = y
    return float(area)
