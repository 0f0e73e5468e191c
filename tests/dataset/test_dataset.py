"""`ArrayDataset` and `split_dataset`: disjoint, covering, stratified, seeded splits."""

from __future__ import annotations

import numpy as np
import pytest

from nnabla_nas.dataset import ArrayDataset, load_digits, split_dataset, split_indices


@pytest.fixture(scope="module")
def indexed() -> ArrayDataset:
    """The digits labels with images whose single pixel is the sample's index."""
    labels = load_digits().labels
    images = np.arange(len(labels), dtype=np.float32).reshape(-1, 1, 1, 1)
    return ArrayDataset(images, labels, 10)


def _indices(part: ArrayDataset) -> np.ndarray:
    return part.images.reshape(-1).astype(np.int64)


def test_dataset_converts_dtypes_and_checks_shapes() -> None:
    data = ArrayDataset(np.zeros((3, 1, 2, 2)), np.array([0, 1, 2]), 3)
    assert data.images.dtype == np.float32 and data.labels.dtype == np.int32
    assert len(data) == 3 and data.sample_shape == (1, 2, 2)
    with pytest.raises(ValueError, match="N, C, H, W"):
        ArrayDataset(np.zeros((3, 2, 2)), np.zeros(3), 2)
    with pytest.raises(ValueError, match="labels must have shape"):
        ArrayDataset(np.zeros((3, 1, 2, 2)), np.zeros(4), 2)
    with pytest.raises(ValueError, match=r"\[0, 2\)"):
        ArrayDataset(np.zeros((3, 1, 2, 2)), np.array([0, 1, 2]), 2)


def test_subset_takes_rows_in_order(indexed: ArrayDataset) -> None:
    part = indexed.subset([5, 2, 9])
    np.testing.assert_array_equal(_indices(part), [5, 2, 9])
    np.testing.assert_array_equal(part.labels, indexed.labels[[5, 2, 9]])
    assert part.classes == 10
    with pytest.raises(ValueError, match="1-D sequence of ints"):
        indexed.subset(np.array([0.5]))


@pytest.mark.parametrize("fractions", [[0.5, 0.5], [0.7, 0.2, 0.1], [0.3, 0.3, 0.4]])
@pytest.mark.parametrize("stratified", [True, False])
def test_split_is_disjoint_and_covers_everything(
    indexed: ArrayDataset, fractions: list[float], stratified: bool
) -> None:
    parts = split_dataset(indexed, fractions, seed=0, stratified=stratified)
    seen = np.concatenate([_indices(part) for part in parts])
    np.testing.assert_array_equal(np.sort(seen), np.arange(len(indexed)))
    for part, fraction in zip(parts, fractions, strict=True):
        np.testing.assert_array_equal(part.labels, indexed.labels[_indices(part)])
        assert abs(len(part) - fraction * len(indexed)) <= 1


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("fractions", [[0.5, 0.5], [0.7, 0.2, 0.1], [0.25, 0.15]])
def test_stratified_split_keeps_class_proportions(
    indexed: ArrayDataset, seed: int, fractions: list[float]
) -> None:
    class_sizes = np.bincount(indexed.labels)
    for part, fraction in zip(split_dataset(indexed, fractions, seed=seed), fractions, strict=True):
        counts = np.bincount(part.labels, minlength=10)
        assert np.all(np.abs(counts - fraction * class_sizes) <= 1), (counts, class_sizes)


def test_fractions_below_one_leave_the_rest_out(indexed: ArrayDataset) -> None:
    first, second = split_dataset(indexed, [0.1, 0.2], seed=3)
    assert not set(_indices(first)) & set(_indices(second))
    assert abs(len(first) - 0.1 * len(indexed)) <= 1
    assert abs(len(second) - 0.2 * len(indexed)) <= 1


def test_split_depends_only_on_seed(indexed: ArrayDataset) -> None:
    one = split_indices(indexed, [0.5, 0.5], seed=11)
    again = split_indices(indexed, [0.5, 0.5], seed=11)
    other = split_indices(indexed, [0.5, 0.5], seed=12)
    for a, b in zip(one, again, strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(one[0], other[0])
    parts = split_dataset(indexed, [0.5, 0.5], seed=11)
    np.testing.assert_array_equal(_indices(parts[0]), one[0])


@pytest.mark.parametrize("fractions", [[], [0.5, -0.1], [0.6, 0.5], [0.0, 1.0]])
def test_bad_fractions_are_refused(indexed: ArrayDataset, fractions: list[float]) -> None:
    with pytest.raises(ValueError, match="fractions must"):
        split_dataset(indexed, fractions, seed=0)
