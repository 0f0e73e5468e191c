"""The python-pickle format shared by CIFAR-10 and CIFAR-100: finding and safely reading it."""

from __future__ import annotations

import os
import pickle
from dataclasses import dataclass
from typing import Any, BinaryIO

import numpy as np

SHAPE = (3, 32, 32)
URL = "https://www.cs.toronto.edu/~kriz/cifar.html"

# The only globals a CIFAR file refers to: dicts of bytes, lists and one uint8 array.
_ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
}


@dataclass(frozen=True)
class CifarArchive:
    """One of the CIFAR "python version" archives: its name, tarball and extracted folder.

    Args:
        title: the dataset's name in messages, e.g. ``'CIFAR-10'``.
        tarball: the archive to download, e.g. ``'cifar-10-python.tar.gz'``.
        folder: the directory the archive extracts to, e.g. ``'cifar-10-batches-py'``.
    """

    title: str
    tarball: str
    folder: str

    def find(self, root: str, names: tuple[str, ...]) -> str:
        """The directory, `root` or ``root/<folder>``, that holds all `names`.

        Raises:
            FileNotFoundError: neither does; the message says what to download.
        """
        for folder in (os.path.join(root, self.folder), root):
            if all(os.path.isfile(os.path.join(folder, name)) for name in names):
                return folder
        raise FileNotFoundError(
            f"{self.title} batches {', '.join(names)} not found in {root!r} nor in "
            f"{os.path.join(root, self.folder)!r}. Download the {self.title} python version, "
            f"{self.tarball} from {URL}, extract it with `tar -xzf {self.tarball} -C DIR`, "
            f"and pass DIR (or DIR/{self.folder}) as the dataset root."
        )

    def read(self, path: str) -> dict[bytes, Any]:
        """The dict a batch file holds, read by an unpickler that builds only plain
        containers and numpy arrays (the files are pickles: nothing else may run)."""
        with open(path, "rb") as f:
            try:
                batch = _BatchUnpickler(f, self.title).load()
            except Exception as error:  # a damaged file fails in many ways; none may escape
                raise ValueError(
                    f"{path} is not a {self.title} python batch ({type(error).__name__}: "
                    f"{error}); download and extract {self.tarball} again"
                ) from None
        if not isinstance(batch, dict):
            raise ValueError(f"{path} is not a {self.title} python batch: not a dict")
        return batch

    def images(
        self, path: str, batch: dict[bytes, Any], label_key: bytes, classes: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """The (N, 3072) uint8 pixels and (N,) int32 labels (`label_key`) of a read batch.

        Raises:
            ValueError: the layout is not that of a batch, or a label is outside [0, classes).
        """
        if b"data" not in batch or label_key not in batch:
            raise ValueError(
                f"{path} is not a {self.title} python batch: no b'data' and {label_key!r}"
            )
        data = batch[b"data"]
        labels = np.asarray(batch[label_key], dtype=np.int64)
        size = int(np.prod(SHAPE))
        if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2:
            raise ValueError(f"{path}: b'data' must be a 2-D uint8 array")
        if data.shape[1] != size or labels.shape != (len(data),):
            raise ValueError(
                f"{path}: expected {size} pixels per image and one label per image, got data "
                f"{data.shape} and labels {labels.shape}"
            )
        if len(labels) and (labels.min() < 0 or labels.max() >= classes):
            raise ValueError(f"{path}: {label_key!r} must lie in [0, {classes})")
        return data, labels.astype(np.int32)


def to_images(data: np.ndarray) -> np.ndarray:
    """(N, 3072) uint8 rows (channel-major planes, row by row) as (N, 3, 32, 32) in [0, 1]."""
    return data.reshape((-1, *SHAPE)).astype(np.float32) / 255.0


class _BatchUnpickler(pickle.Unpickler):
    """Unpickler that resolves only the numpy names a CIFAR batch needs."""

    def __init__(self, file: BinaryIO, title: str) -> None:
        # The files were written by Python 2: its `str` keys and names come back as bytes.
        super().__init__(file, encoding="bytes")
        self.title = title

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _ALLOWED_GLOBALS:
            raise pickle.UnpicklingError(
                f"{module}.{name} is not part of a {self.title} batch; refusing to load it"
            )
        return super().find_class(module, name)
