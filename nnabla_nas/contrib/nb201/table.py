"""The NAS-Bench-201 benchmark table: CIFAR-10 accuracy and measured latency of all 15,625 cells.

The table ships with the package (``data/nb201_cifar10.csv.gz``; sources and licences in
``data/README.md``): accuracy from AnalogNAS-Bench, latencies on 27 device settings from
HELP. Searches can be scored against it without training anything.
"""

from __future__ import annotations

import csv
import functools
import gzip
import io
import os
from typing import Any

import numpy as np

from .arch import NUM_ARCHS, ArchLike, all_archs, arch_index, format_arch, parse_arch

__all__ = ["DEFAULT_PATH", "NB201Table"]

DEFAULT_PATH = os.path.join(os.path.dirname(__file__), "data", "nb201_cifar10.csv.gz")
INDEX, ARCH, ACCURACY = "nb201_index", "arch_str", "cifar10_accuracy"
LATENCY_PREFIX = "latency_ms_"


def _read_rows(path: str) -> list[list[str]]:
    """The CSV rows of `path` (gzip-compressed if it ends with ``.gz``), header first."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        raise FileNotFoundError(
            f"NAS-Bench-201 table '{path}' does not exist; the table ships inside the package "
            "(reinstall nnabla-nas) or pass the path of a copy"
        ) from None
    try:
        data = gzip.decompress(raw) if path.endswith(".gz") else raw
        return list(csv.reader(io.StringIO(data.decode("utf-8"))))
    except (OSError, EOFError, UnicodeDecodeError, csv.Error) as err:
        raise ValueError(
            f"NAS-Bench-201 table '{path}' is corrupt ({err}); reinstall nnabla-nas or "
            "restore the file"
        ) from None


def _columns(path: str, header: list[str]) -> list[str]:
    """Checks the header and returns the device names of the latency columns."""
    devices = [c[len(LATENCY_PREFIX) :] for c in header[3:] if c.startswith(LATENCY_PREFIX)]
    if header[:3] != [INDEX, ARCH, ACCURACY] or not devices or len(devices) != len(header) - 3:
        raise ValueError(
            f"NAS-Bench-201 table '{path}': expected columns {INDEX}, {ARCH}, {ACCURACY}, "
            f"{LATENCY_PREFIX}<device>..., got {header[:5]}..."
        )
    return devices


def _parse_row(path: str, line: int, row: list[str], width: int) -> tuple[int, int, list[float]]:
    """Returns ``(arch_index, nb201_index, [accuracy, latencies...])`` of one data row."""
    where = f"NAS-Bench-201 table '{path}', line {line}"
    if len(row) != width:
        raise ValueError(f"{where}: expected {width} fields, got {len(row)}")
    try:
        values = [float(v) for v in row[2:]]
        nb201 = int(row[0])
        ops = parse_arch(row[1])
    except ValueError as err:
        raise ValueError(f"{where}: {err}") from None
    if not all(np.isfinite(values)):
        raise ValueError(f"{where}: a value is not a finite number")
    return arch_index(ops), nb201, values


def _fill(path: str, rows: list[list[str]], width: int) -> tuple[np.ndarray, np.ndarray]:
    """The values and NB201 indices of the rows, placed in `arch_index` order."""
    values = np.full((NUM_ARCHS, width - 2), np.nan)
    nb201 = np.full(NUM_ARCHS, -1, dtype=np.int64)
    for line, row in enumerate(rows, start=2):
        i, nb201_index, row_values = _parse_row(path, line, row, width)
        if nb201[i] != -1:
            raise ValueError(
                f"NAS-Bench-201 table '{path}', line {line}: architecture "
                f"{row[1]!r} appears twice; each must appear exactly once"
            )
        nb201[i], values[i] = nb201_index, row_values
    if np.unique(nb201).size != NUM_ARCHS:
        raise ValueError(f"NAS-Bench-201 table '{path}': an {INDEX} appears twice")
    return values, nb201


class NB201Table:
    """Accuracy and latencies of every NAS-Bench-201 architecture, in `arch_index` order.

    Element ``i`` of `accuracies`, `latencies(device)` and `nb201_indices` belongs to
    ``archs[i] == arch_from_index(i)``. Every method taking an architecture accepts a
    string, a sequence of 6 ops or a record (see `arch.as_ops`). The arrays are read-only.

    Example:
        >>> table = NB201Table.load()
        >>> len(table), len(table.devices())
        (15625, 27)
        >>> arch, acc = table.best("raspi4", max_latency=10.0)

    Raises (at load):
        FileNotFoundError: the file is missing.
        ValueError: the file is corrupt, a row is malformed, or the rows are not each of
            the 15,625 architectures exactly once.
    """

    def __init__(self, path: str | None = None) -> None:
        self.path = DEFAULT_PATH if path is None else path
        rows = _read_rows(self.path)
        if not rows or not rows[0]:
            raise ValueError(f"NAS-Bench-201 table '{self.path}' is empty")
        self._devices = _columns(self.path, rows[0])
        if len(rows) - 1 != NUM_ARCHS:
            raise ValueError(
                f"NAS-Bench-201 table '{self.path}' has {len(rows) - 1} rows; "
                f"the space has {NUM_ARCHS} architectures"
            )
        values, self.nb201_indices = _fill(self.path, rows[1:], 3 + len(self._devices))
        self.accuracies: np.ndarray = values[:, 0]
        self._latencies: np.ndarray = values[:, 1:]
        for array in (self.accuracies, self._latencies, self.nb201_indices):
            array.setflags(write=False)
        self.archs: list[tuple[str, ...]] = all_archs()

    @classmethod
    def load(cls, path: str | None = None) -> NB201Table:
        """The table at `path` (default: the shipped one), read once per path and cached."""
        return _cached(os.path.abspath(DEFAULT_PATH if path is None else path))

    def __len__(self) -> int:
        return len(self.archs)

    def devices(self) -> list[str]:
        """The devices with a latency column, e.g. ``'raspi4'``, in the file's order."""
        return list(self._devices)

    def _device(self, device: str) -> int:
        if device not in self._devices:
            raise ValueError(
                f"unknown device {device!r}; valid devices: {', '.join(self._devices)}"
            )
        return self._devices.index(device)

    def latencies(self, device: str) -> np.ndarray:
        """The latency in ms on `device` of every architecture, aligned with `archs`."""
        return self._latencies[:, self._device(device)]

    def accuracy(self, arch: ArchLike) -> float:
        """The CIFAR-10 test accuracy (%) of `arch`."""
        return float(self.accuracies[arch_index(arch)])

    def latency(self, arch: ArchLike, device: str) -> float:
        """The measured latency in ms of `arch` on `device`."""
        return float(self._latencies[arch_index(arch), self._device(device)])

    def query(self, arch: ArchLike) -> dict[str, Any]:
        """Everything known about `arch`: string, NB201 index, accuracy, latency per device."""
        i = arch_index(arch)
        return {
            "arch": format_arch(self.archs[i]),
            "nb201_index": int(self.nb201_indices[i]),
            "accuracy": float(self.accuracies[i]),
            "latency_ms": {
                d: float(v) for d, v in zip(self._devices, self._latencies[i], strict=True)
            },
        }

    def best(
        self, device: str | None = None, max_latency: float | None = None
    ) -> tuple[tuple[str, ...], float]:
        """The most accurate architecture, under ``max_latency`` ms on `device` if given.

        Ties go to the lowest `arch_index`.

        Raises:
            ValueError: `max_latency` without a device, or no architecture is fast enough
                (the message gives the fastest latency on that device).
        """
        feasible = np.ones(len(self), dtype=bool)
        if max_latency is not None:
            if device is None:
                raise ValueError("best(max_latency=...) needs the device the latency is for")
            lat = self.latencies(device)
            feasible = lat <= max_latency
            if not feasible.any():
                raise ValueError(
                    f"no architecture runs within {max_latency} ms on {device!r}; "
                    f"the fastest takes {lat.min()} ms"
                )
        elif device is not None:
            self._device(device)
        i = int(np.argmax(np.where(feasible, self.accuracies, -np.inf)))
        return self.archs[i], float(self.accuracies[i])


@functools.lru_cache(maxsize=4)
def _cached(path: str) -> NB201Table:
    return NB201Table(path)
