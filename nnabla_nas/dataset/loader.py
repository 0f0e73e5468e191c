"""Mini-batches of an `ArrayDataset` in an order that depends only on (seed, epoch)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from .dataset import ArrayDataset


class DataLoader:
    """Iterates one epoch of `(x, y)` batches: x float32 (B, C, H, W), y int32 (B, 1).

    The order of epoch `e` is a permutation drawn from ``np.random.default_rng([seed, e])``,
    so a resumed run reproduces it from the epoch number alone, with no saved RNG state.
    Call :meth:`set_epoch` before each epoch; iterating twice without it repeats the order.

    Static nnabla graphs are built for one batch size, which is why ``drop_last=True`` is
    the default: the samples past the last full batch are skipped (a different set each
    epoch when shuffling). With ``drop_last=False`` the last batch may be smaller.

    With `shard` ``(index, count)`` (data parallel over `count` processes), each batch is
    the `index`-th of `count` contiguous parts of the same global batch, so that the
    processes together see what one process sees; a training loader's `batch_size` must
    be a multiple of `count`, and an empty part (a short last batch) is skipped.

    Example:
        >>> loader = DataLoader(load_digits(), 64, shuffle=True, seed=0)
        >>> loader.set_epoch(3)
        >>> x, y = next(iter(loader))
        >>> x.shape, y.shape
        ((64, 1, 8, 8), (64, 1))
    """

    def __init__(
        self,
        dataset: ArrayDataset,
        batch_size: int,
        *,
        shuffle: bool,
        seed: int,
        drop_last: bool = True,
        shard: tuple[int, int] = (0, 1),
    ) -> None:
        if not 0 <= shard[0] < shard[1]:
            raise ValueError(f"shard must be (index, count) with 0 <= index < count, got {shard}")
        if drop_last and batch_size % shard[1]:
            raise ValueError(
                f"batch_size={batch_size} does not split into {shard[1]} equal parts, one per "
                "process; use a multiple of the number of processes"
            )
        if batch_size < 1:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        if seed < 0:
            raise ValueError(f"seed must be non-negative (numpy seeds the order), got {seed}")
        if drop_last and len(dataset) < batch_size:
            raise ValueError(
                f"the dataset has {len(dataset)} samples, fewer than batch_size={batch_size}, "
                "so no full batch exists; lower batch_size or pass drop_last=False"
            )
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.seed = seed
        self.drop_last = drop_last
        self.shard = shard
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Selects the order of the next iterations: that of epoch `epoch`."""
        if epoch < 0:
            raise ValueError(f"epoch must be non-negative, got {epoch}")
        self.epoch = epoch

    def order(self) -> np.ndarray:
        """The sample indices of the current epoch, in visiting order."""
        if not self.shuffle:
            return np.arange(len(self.dataset))
        return np.random.default_rng([self.seed, self.epoch]).permutation(len(self.dataset))

    def __len__(self) -> int:
        full, rest = divmod(len(self.dataset), self.batch_size)
        return full if self.drop_last or rest == 0 else full + 1

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        order = self.order()
        for start in range(0, len(self) * self.batch_size, self.batch_size):
            index = order[start : start + self.batch_size]
            if self.shard[1] > 1:
                index = np.array_split(index, self.shard[1])[self.shard[0]]
                if not len(index):
                    continue
            yield self.dataset.images[index], self.dataset.labels[index, None]
