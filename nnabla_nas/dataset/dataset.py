"""In-memory image datasets and their disjoint, stratified splits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, eq=False)
class ArrayDataset:
    """Images and labels held as numpy arrays.

    Args:
        images: float32 array of shape (N, C, H, W); other float dtypes are converted.
        labels: int32 array of shape (N,) with values in ``[0, classes)``.
        classes: the number of classes.
    """

    images: np.ndarray
    labels: np.ndarray
    classes: int

    def __post_init__(self) -> None:
        images = np.ascontiguousarray(self.images, dtype=np.float32)
        labels = np.ascontiguousarray(self.labels, dtype=np.int32)
        if images.ndim != 4:
            raise ValueError(f"images must have shape (N, C, H, W), got {images.shape}")
        if labels.shape != (len(images),):
            raise ValueError(
                f"labels must have shape ({len(images)},) to match images, got {labels.shape}"
            )
        if len(labels) and (labels.min() < 0 or labels.max() >= self.classes):
            raise ValueError(
                f"labels must lie in [0, {self.classes}), got range "
                f"[{labels.min()}, {labels.max()}]"
            )
        object.__setattr__(self, "images", images)
        object.__setattr__(self, "labels", labels)

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def sample_shape(self) -> tuple[int, int, int]:
        """The (C, H, W) shape of one image."""
        _, c, h, w = self.images.shape
        return c, h, w

    def subset(self, indices: Sequence[int] | np.ndarray) -> ArrayDataset:
        """The samples at `indices`, in that order, as a new dataset."""
        index = np.asarray(indices)
        if index.ndim != 1 or not (index.size == 0 or np.issubdtype(index.dtype, np.integer)):
            raise ValueError(f"indices must be a 1-D sequence of ints, got {index!r}")
        return ArrayDataset(self.images[index], self.labels[index], self.classes)


def split_dataset(
    dataset: ArrayDataset,
    fractions: Sequence[float],
    *,
    seed: int,
    stratified: bool = True,
) -> list[ArrayDataset]:
    """Splits `dataset` into disjoint parts holding the given fractions of its samples.

    Every sample goes to at most one part (exactly one when the fractions sum to 1; the
    remainder is left out otherwise). With `stratified`, each part holds each class in its
    fraction, within one sample. The split depends only on `seed`.

    Example:
        >>> train, valid = split_dataset(load_digits(), [0.5, 0.5], seed=0)
    """
    return [
        dataset.subset(index)
        for index in split_indices(dataset, fractions, seed=seed, stratified=stratified)
    ]


def split_indices(
    dataset: ArrayDataset,
    fractions: Sequence[float],
    *,
    seed: int,
    stratified: bool = True,
) -> list[np.ndarray]:
    """The sorted sample indices of each part of :func:`split_dataset`."""
    shares = _check_fractions(fractions)
    rng = np.random.default_rng(seed)
    groups = _label_groups(dataset.labels) if stratified else [np.arange(len(dataset))]
    pools = [rng.permutation(group) for group in groups]
    counts = _allocate(np.array([len(pool) for pool in pools], dtype=np.int64), shares)
    parts = [[np.empty(0, dtype=np.int64)] for _ in shares]
    for pool, row in zip(pools, counts, strict=True):
        for part, chunk in zip(parts, np.split(pool, np.cumsum(row)[:-1]), strict=True):
            part.append(chunk)
    # The last share is the left-out remainder (possibly empty).
    return [np.sort(np.concatenate(part)) for part in parts[: len(fractions)]]


def _check_fractions(fractions: Sequence[float]) -> np.ndarray:
    """The fractions plus a trailing remainder share, after validation."""
    shares = np.asarray(fractions, dtype=np.float64)
    if shares.ndim != 1 or shares.size == 0 or np.any(shares <= 0):
        raise ValueError(f"fractions must be a non-empty list of positive numbers, got {fractions}")
    total = float(shares.sum())
    if total > 1 + 1e-9:
        raise ValueError(f"fractions must sum to at most 1, got {list(fractions)} (sum {total})")
    return np.append(shares, max(0.0, 1.0 - total))


def _label_groups(labels: np.ndarray) -> list[np.ndarray]:
    """Sample indices of each class present in `labels`, in class order."""
    return [np.flatnonzero(labels == c) for c in np.unique(labels)]


def _allocate(sizes: np.ndarray, shares: np.ndarray) -> np.ndarray:
    """Counts (group, part) summing to `sizes`, each within one of ``size * share``.

    Each group first gives every part the floor of its share; the few samples left over go,
    one per part at most, to the parts furthest below their overall target, so the part
    sizes stay close to ``len(dataset) * share`` too.
    """
    counts = np.floor(sizes[:, None] * shares[None, :] + 1e-9).astype(np.int64)
    targets = sizes.sum() * shares
    for group, size in enumerate(sizes):
        eligible = shares > 0
        for _ in range(int(size - counts[group].sum())):
            deficit = np.where(eligible, targets - counts.sum(axis=0), -np.inf)
            part = int(np.argmax(deficit))
            counts[group, part] += 1
            eligible[part] = False
    return counts
