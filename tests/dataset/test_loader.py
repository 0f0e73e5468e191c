"""`DataLoader`: batch layout and an epoch order that depends only on (seed, epoch)."""

from __future__ import annotations

import numpy as np
import pytest

from nnabla_nas.dataset import ArrayDataset, DataLoader

SIZE = 103


@pytest.fixture(scope="module")
def indexed() -> ArrayDataset:
    """Images (1, 2, 2) filled with the sample's index; label = index mod 7."""
    index = np.arange(SIZE, dtype=np.float32)
    images = np.broadcast_to(index[:, None, None, None], (SIZE, 1, 2, 2))
    return ArrayDataset(images, np.arange(SIZE) % 7, 7)


def _epoch(loader: DataLoader) -> np.ndarray:
    """The sample indices visited by one pass over `loader`, checking each batch."""
    seen = []
    for x, y in loader:
        index = x[:, 0, 0, 0].astype(np.int64)
        np.testing.assert_array_equal(y[:, 0], index % 7)
        seen.append(index)
    return np.concatenate(seen)


def test_batches_have_the_layout_nnabla_wants(indexed: ArrayDataset) -> None:
    loader = DataLoader(indexed, 16, shuffle=True, seed=0)
    batches = list(loader)
    assert len(loader) == len(batches) == SIZE // 16
    for x, y in batches:
        assert x.shape == (16, 1, 2, 2) and x.dtype == np.float32
        assert y.shape == (16, 1) and y.dtype == np.int32


def test_drop_last_false_keeps_a_smaller_last_batch(indexed: ArrayDataset) -> None:
    loader = DataLoader(indexed, 16, shuffle=True, seed=0, drop_last=False)
    sizes = [len(y) for _, y in loader]
    assert len(loader) == len(sizes) == 7
    assert sizes == [16] * 6 + [SIZE - 96]
    np.testing.assert_array_equal(np.sort(_epoch(loader)), np.arange(SIZE))


def test_each_epoch_visits_every_sample_once(indexed: ArrayDataset) -> None:
    loader = DataLoader(indexed, 10, shuffle=True, seed=4)
    for epoch in range(3):
        loader.set_epoch(epoch)
        seen = _epoch(loader)
        assert len(seen) == 100 and len(np.unique(seen)) == 100
        np.testing.assert_array_equal(seen, loader.order()[:100])
        np.testing.assert_array_equal(np.sort(loader.order()), np.arange(SIZE))


def test_order_depends_only_on_seed_and_epoch(indexed: ArrayDataset) -> None:
    running = DataLoader(indexed, 10, shuffle=True, seed=5)
    for epoch in range(3):
        running.set_epoch(epoch)
        _epoch(running)
    running.set_epoch(3)
    resumed = DataLoader(indexed, 10, shuffle=True, seed=5)
    resumed.set_epoch(3)
    expected = np.random.default_rng([5, 3]).permutation(SIZE)[:100]
    np.testing.assert_array_equal(_epoch(running), expected)
    np.testing.assert_array_equal(_epoch(resumed), expected)
    np.testing.assert_array_equal(_epoch(resumed), expected)
    resumed.set_epoch(4)
    assert not np.array_equal(_epoch(resumed), expected)
    other_seed = DataLoader(indexed, 10, shuffle=True, seed=6)
    other_seed.set_epoch(3)
    assert not np.array_equal(_epoch(other_seed), expected)


def test_no_shuffle_keeps_the_dataset_order(indexed: ArrayDataset) -> None:
    loader = DataLoader(indexed, 10, shuffle=False, seed=0)
    loader.set_epoch(7)
    np.testing.assert_array_equal(_epoch(loader), np.arange(100))


def test_too_few_samples_for_a_batch_is_an_error(indexed: ArrayDataset) -> None:
    small = indexed.subset(np.arange(5))
    with pytest.raises(ValueError, match=r"5 samples.*batch_size=8"):
        DataLoader(small, 8, shuffle=True, seed=0)
    loader = DataLoader(small, 8, shuffle=True, seed=0, drop_last=False)
    assert len(loader) == 1 and next(iter(loader))[0].shape == (5, 1, 2, 2)


def test_bad_arguments_are_refused(indexed: ArrayDataset) -> None:
    with pytest.raises(ValueError, match="batch_size"):
        DataLoader(indexed, 0, shuffle=True, seed=0)
    with pytest.raises(ValueError, match="seed"):
        DataLoader(indexed, 4, shuffle=True, seed=-1)
    with pytest.raises(ValueError, match="epoch"):
        DataLoader(indexed, 4, shuffle=True, seed=0).set_epoch(-1)
