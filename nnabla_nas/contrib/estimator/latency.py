"""`LatencyEstimator`: measured inference latency, with a shareable lookup table.

Each distinct layer configuration is measured once: the key is the layer type, its
arguments (its ``extra_repr()``), its input shapes, the nnabla context and the thread
setting the estimator is given (e.g. the ``OMP_NUM_THREADS`` the command line reads).
Results are kept in memory and, with a table path, in a JSON file that later runs (and
users of the same device) reuse.
"""

from __future__ import annotations

import json
import logging
import math
import os
import statistics
import time
from collections.abc import Sequence
from typing import Any

import nnabla as nn
import numpy as np

from ...module import Module
from ...utils.io import read_json, write_json
from .base import Estimator, Shape, build

__all__ = ["TABLE_FORMAT", "LatencyEstimator", "trimmed_mean"]

TABLE_FORMAT = "nnabla_nas.latency_table/1"
PLAUSIBLE = 3.0  # how far a table's times may lie from fresh ones before a warning

logger = logging.getLogger("nnabla_nas")
_FIELDS = ("layer", "args", "input_shapes", "context", "threads", "ms")


def trimmed_mean(values: Sequence[float], trim: float) -> float:
    """The mean of `values` without the `trim` fraction at each end."""
    ordered = sorted(values)
    cut = int(len(ordered) * trim)
    kept = ordered[cut : len(ordered) - cut] or ordered
    return sum(kept) / len(kept)


def _random_inputs(shapes: Sequence[Shape]) -> list[nn.Variable]:
    rng = np.random.default_rng(0)
    return [nn.Variable.from_numpy_array(rng.standard_normal(s).astype(np.float32)) for s in shapes]


def _entry_key(entry: dict[str, Any]) -> str:
    shapes = [list(s) for s in entry["input_shapes"]]
    return json.dumps([entry["layer"], entry["args"], shapes, entry["context"], entry["threads"]])


def _check_entry(index: int, entry: Any, path: str) -> None:
    problem = None
    if not isinstance(entry, dict) or sorted(entry) != sorted(_FIELDS):
        problem = f"must be an object with exactly the keys {list(_FIELDS)}"
    elif not all(isinstance(entry[k], str) for k in ("layer", "args", "context", "threads")):
        problem = "'layer', 'args', 'context' and 'threads' must be strings"
    elif not isinstance(entry["input_shapes"], list) or not all(
        isinstance(s, list) and all(isinstance(d, int) for d in s) for s in entry["input_shapes"]
    ):
        problem = "'input_shapes' must be a list of lists of ints"
    elif (
        not isinstance(entry["ms"], (int, float))
        or not math.isfinite(entry["ms"])
        or entry["ms"] < 0
    ):
        problem = "'ms' must be a finite number >= 0"
    if problem:
        raise ValueError(
            f"latency table '{path}': entry {index} {problem}; fix or delete the file to "
            f"measure again"
        )


class LatencyEstimator(Estimator):
    """Inference latency in milliseconds, measured per layer on the current context.

    A layer is built alone on random inputs of its input shapes, in inference mode (so
    BatchNormalization updates no statistics and no weight changes), run `warmup` times,
    then timed `repeats` times; its latency is the mean without the `trim` fraction of the
    fastest and slowest runs. A layer that returns its input costs 0 and is not measured.

    Args:
        table_path: a JSON lookup table, loaded if the file exists and written by `save`.
        warmup: untimed forwards before timing.
        repeats: timed forwards per layer.
        trim: fraction of runs dropped at each end of the sorted times.
        check: how many layers of a loaded table are measured again when first used; if
            the table's times and the fresh ones differ by more than `PLAUSIBLE` times (the
            median ratio), a warning says the table may come from another machine.
        threads: the thread setting the measurements are made under (part of the key of
            every entry, so tables of different settings do not mix).
    """

    name = "latency"
    unit = "ms"

    def __init__(
        self,
        table_path: str | None = None,
        *,
        warmup: int = 3,
        repeats: int = 10,
        trim: float = 0.2,
        check: int = 3,
        threads: str = "",
    ) -> None:
        if repeats < 1 or warmup < 0 or not 0.0 <= trim < 0.5:
            raise ValueError(
                f"LatencyEstimator needs repeats >= 1, warmup >= 0 and 0 <= trim < 0.5, got "
                f"repeats={repeats}, warmup={warmup}, trim={trim}"
            )
        self.table_path, self.warmup, self.repeats, self.trim = table_path, warmup, repeats, trim
        self.threads = str(threads)
        self.measurements = 0  # layers measured into the table (checks not counted)
        self._entries: dict[str, dict[str, Any]] = {}
        self._loaded: set[str] = set()  # keys read from the table file
        self._check = check
        self._ratios: list[float] = []
        if table_path is not None and os.path.isdir(table_path):
            raise ValueError(f"latency table '{table_path}' is a directory; give a JSON file path")
        if table_path is not None and os.path.exists(table_path):
            self._load(table_path)

    def _load(self, path: str) -> None:
        data = read_json(path, "latency table")
        if not isinstance(data, dict) or data.get("format") != TABLE_FORMAT:
            raise ValueError(
                f"latency table '{path}' is not a {TABLE_FORMAT!r} table (its 'format' "
                f"field is missing or different); point table_path at another file"
            )
        entries = data.get("entries")
        if not isinstance(entries, list):
            raise ValueError(f"latency table '{path}': 'entries' must be a list")
        for index, entry in enumerate(entries):
            _check_entry(index, entry, path)
            self._entries[_entry_key(entry)] = entry
            self._loaded.add(_entry_key(entry))

    def save(self, path: str | None = None) -> None:
        """Writes the table (atomically) to `path`, by default `table_path`."""
        path = path or self.table_path
        if path is None:
            raise ValueError("LatencyEstimator.save: no path; pass one or set table_path")
        entries = sorted(self._entries.values(), key=_entry_key)
        write_json(path, {"format": TABLE_FORMAT, "unit": "ms", "entries": entries})

    def __len__(self) -> int:
        return len(self._entries)

    def layer_cost(self, module: Module, input_shapes: list[Shape]) -> float:
        """The latency of one leaf layer in ms, from the table or measured now."""
        entry = {
            "layer": type(module).__name__,
            "args": module.extra_repr(),
            "input_shapes": [[int(d) for d in s] for s in input_shapes],
            "context": str(nn.get_current_context()),
            "threads": self.threads,
        }
        key = _entry_key(entry)
        if key not in self._entries:
            ms = self._measure(module, input_shapes)
            if ms is None:
                return 0.0
            self.measurements += 1
            self._entries[key] = {**entry, "ms": ms}
        elif key in self._loaded and len(self._ratios) < self._check:
            self._loaded.discard(key)
            self._compare(float(self._entries[key]["ms"]), module, input_shapes)
        return float(self._entries[key]["ms"])

    def _compare(self, stored: float, module: Module, input_shapes: list[Shape]) -> None:
        """Measures a layer of the loaded table again; warns once the table looks foreign."""
        fresh = self._measure(module, input_shapes)
        if not fresh or stored <= 0:
            return
        self._ratios.append(stored / fresh)
        if len(self._ratios) == self._check:
            ratio = statistics.median(self._ratios)
            if not 1 / PLAUSIBLE <= ratio <= PLAUSIBLE:
                logger.warning(
                    f"latency table '{self.table_path}' disagrees with fresh measurements here: "
                    f"its times are {ratio:.3g}x the measured ones (median of {self._check} "
                    "layers); it may come from another machine or setting: measure a new table"
                )

    def _measure(self, module: Module, input_shapes: list[Shape]) -> float | None:
        """A layer's latency measured now (None for one returning its input)."""
        with nn.auto_forward(False), module.modes(training=False):
            inputs = _random_inputs(input_shapes)
            out = module.call(*inputs)
        if any(out is x for x in inputs):
            return None
        return trimmed_mean(self._time(out, self.warmup, self.repeats), self.trim)

    @staticmethod
    def _time(output: nn.Variable, warmup: int, repeats: int) -> list[float]:
        for _ in range(warmup):
            output.forward()
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            output.forward()
            times.append(1000.0 * (time.perf_counter() - start))
        return times

    def measure_network(
        self, model: Module, input_shape: Sequence[int], *, runs: int = 20
    ) -> dict[str, float]:
        """End-to-end latency of the whole inference graph, in ms: median, min and max.

        Builds the inference graph on random input (modes restored after); use it to check
        the per-layer sum `cost` against reality.
        """
        (data,) = _random_inputs([tuple(int(d) for d in input_shape)])
        with model.modes(training=False):
            output = build(model, data)
        times = self._time(output, self.warmup, runs)
        return {"median": statistics.median(times), "min": min(times), "max": max(times)}
