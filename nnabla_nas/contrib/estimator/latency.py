"""`LatencyEstimator`: measured inference latency, with a shareable, calibrated table.

Each distinct layer configuration is measured once: the key is the layer type, its
arguments (its ``extra_repr()``), its input shapes, the nnabla context and the thread
setting the estimator is given (e.g. the ``OMP_NUM_THREADS`` the command line reads).
Results are kept in memory and, with a table path, in a JSON file that later runs (and
users of the same device) reuse.

A table records the setting it was measured in (`measurement_setting`: device, context,
threads, nnabla and package versions); a table of another setting is refused unless it
is imported (``import_table=True``), and then its times are taken as this setting's.

The sum of a network's layer times misses what only a whole graph has (caches shared
between layers, the overhead of running a graph): it underestimates in proportion to the
network's size. `LatencyEstimator.calibrate` samples paths of a supernet, measures each end
to end and fits ``measured ~ slope * layer_sum + w * functions + intercept``
(`LinearCalibration`; a slope per large layer type when that predicts better), stored in
the table under a *scope* (the network family and input shape it holds for). An estimator
given that scope predicts with it: every layer costs ``slope * ms + w * functions`` (the
slope of its type) and every network `offset` = intercept more, so expectations over the
architecture probabilities stay exact.
"""

from __future__ import annotations

import gc
import json
import logging
import math
import os
import platform
import statistics
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any, NamedTuple

import nnabla as nn
import numpy as np
from nnabla._init import clear_memory_cache
from scipy.stats import kendalltau

from ... import __version__
from ...module import Module, find_choices, most_likely
from ...utils.io import read_json, write_json
from .base import Estimator, Shape, build, recorded_shapes
from .calibration import LinearCalibration

__all__ = [
    "MIN_CALIBRATION_PATHS",
    "SETTING_KEYS",
    "TABLE_FORMAT",
    "LatencyEstimator",
    "cpu_model",
    "measurement_setting",
    "pooled_latency",
    "release_memory_cache",
]

TABLE_FORMAT = "nnabla_nas.latency_table/2"
PLAUSIBLE = 3.0  # how far a table's times may lie from fresh ones before a warning
MIN_CALIBRATION_PATHS = 5  # the fewest paths `LatencyEstimator.calibrate` fits on
SETTING_KEYS = ("device", "context", "threads", "nnabla", "nnabla_nas")

logger = logging.getLogger("nnabla_nas")
_FIELDS = ("layer", "args", "input_shapes", "context", "threads", "ms")
_CALIBRATION_FIELDS = ("scope", "weights", "intercept", "paths", "points", "fitted", "quality")
FEATURES = ("layer_sum", "functions")  # what a calibration weighs: ms and function calls
TYPE_PREFIX = "type:"  # a calibration weight of its own for one layer type's ms
TYPE_SHARE = 0.05  # the share of the mean layer sum a layer type needs for a weight of its own
PREFER_SIMPLER = 0.95  # weights per layer type must cut the out-of-sample error by 5%


def cpu_model() -> str:
    """The processor's model name (``/proc/cpuinfo``), else `platform.processor`."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown processor"


def _context_name() -> str:
    """The current nnabla context as a latency depends on it: its backends (e.g.
    ``cpu:float``) and, off the CPU, the device id (a CPU context's id means nothing,
    and contexts made by ``get_extension_context`` and nnabla's default differ in it)."""
    ctx = nn.get_current_context()
    backends = ",".join(ctx.backend)
    if all(b.startswith("cpu") for b in ctx.backend):
        return backends
    return f"{backends} device {ctx.device_id}"


def measurement_setting(threads: str = "") -> dict[str, str]:
    """What a latency depends on beyond the layer: the device (processor and machine
    type, with its CPU count), the nnabla context, the thread setting, and the nnabla
    and nnabla_nas versions."""
    device = f"{cpu_model()} ({platform.machine()}, {os.cpu_count()} CPUs)"
    return {
        "device": device,
        "context": _context_name(),
        "threads": str(threads),
        "nnabla": str(nn.__version__),
        "nnabla_nas": __version__,
    }


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
    elif not _finite(entry["ms"]) or entry["ms"] < 0:
        problem = "'ms' must be a finite number >= 0"
    if problem:
        raise ValueError(
            f"latency table '{path}': entry {index} {problem}; fix or delete the file to "
            f"measure again"
        )


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _check_calibration(index: int, record: Any, path: str) -> None:
    problem = None
    if not isinstance(record, dict) or sorted(record) != sorted(_CALIBRATION_FIELDS):
        problem = f"must be an object with exactly the keys {list(_CALIBRATION_FIELDS)}"
    elif not isinstance(record["scope"], str) or not record["scope"]:
        problem = "'scope' must be a non-empty string"
    elif not isinstance(record["weights"], dict) or not _weight_keys(record["weights"]):
        problem = (
            f"'weights' must be an object with the keys {list(FEATURES)} and optional "
            f"'{TYPE_PREFIX}<layer type>' keys"
        )
    elif not all(_finite(w) and w >= 0 for w in record["weights"].values()):
        problem = "the 'weights' must be finite numbers >= 0"
    elif not _finite(record["intercept"]):
        problem = "'intercept' must be a finite number"
    elif not isinstance(record["quality"], dict) or not _finite(record["quality"].get("within10")):
        problem = "'quality' must be an object with a number 'within10'"
    if problem:
        raise ValueError(
            f"latency table '{path}': calibration {index} {problem}; fix the file or delete "
            f"its 'calibrations' to calibrate again"
        )


def _weight_keys(weights: dict[str, Any]) -> bool:
    extra = set(weights) - set(FEATURES)
    return set(FEATURES) <= set(weights) and all(
        isinstance(k, str) and k.startswith(TYPE_PREFIX) and len(k) > len(TYPE_PREFIX)
        for k in extra
    )


def _tau(a: Any, b: Any) -> float | None:
    """Kendall's tau of `a` and `b`; None where it is undefined (a constant input)."""
    value = float(kendalltau(a, b).statistic)
    return value if math.isfinite(value) else None


LATENCY_QUANTILE = 0.25  # the share of a network's timed runs at or below its latency


def pooled_latency(times: np.ndarray) -> np.ndarray:
    """A network's latency from a (networks, rounds, runs) array of times: the 25th
    percentile of all its times.

    The time a forward takes on a shared machine is the network's plus delays from other
    load, and the load comes in phases: on this 2-CPU VM the median of 30 runs moved
    between 1.31 and 1.96 ms from one round to the next for one network. Measured there
    on 30 random MobileNetV2 paths (10 rounds x 20 runs, two draws), the 25th percentile
    agrees with itself across the odd and the even rounds at Kendall's tau 0.949 and
    0.959, the median at 0.862 and 0.903; eight separate builds of one network differ by
    up to 3% by it and by up to 25% by the median. A lower percentile or the minimum
    agreed as well that day, but an earlier day's noise of either sign favoured the
    median over them; the 25th percentile sits between.
    """
    pooled = times.reshape(times.shape[0], -1)
    return np.quantile(pooled, LATENCY_QUANTILE, axis=1)


def _halves_tau(times: np.ndarray) -> float | None:
    """Kendall's tau between the latencies of the odd and the even measurement rounds:
    how well the measurement agrees with itself (None with fewer than 2 rounds)."""
    if times.shape[1] < 2:
        return None
    return _tau(pooled_latency(times[:, 0::2]), pooled_latency(times[:, 1::2]))


def release_memory_cache() -> None:
    """Frees the memory nnabla's caching allocator holds unused (after Python's garbage is
    collected), so that the graphs measured next get fresh memory. Measured on this VM: a
    network built after one epoch of training in the same process ran at 3.14-3.22 ms
    against 2.36 ms before the training, and at 2.44-2.49 ms once the cache was freed."""
    gc.collect()
    clear_memory_cache()


def _differences(stored: dict[str, Any], here: dict[str, str]) -> str:
    keys = [k for k in SETTING_KEYS if str(stored.get(k)) != here[k]]
    return "; ".join(f"{k} {stored.get(k)!r} (here {here[k]!r})" for k in keys)


class _Features(NamedTuple):
    """What a calibration weighs of one network: the number of functions its layers call
    and its raw layer sum per layer type (ms)."""

    functions: float
    by_type: dict[str, float]

    @property
    def layer_sum(self) -> float:
        """The raw layer sum (ms)."""
        return sum(self.by_type.values())


def _slope(weights: dict[str, float], layer_type: str) -> float:
    """What a calibration weighs one ms of a layer of `layer_type` (the class name): the
    type's own weight if it has one, else the common ``layer_sum`` weight."""
    return float(weights.get(TYPE_PREFIX + layer_type, weights["layer_sum"]))


def _typed_columns(features: Sequence[_Features]) -> list[str]:
    """The layer types that get a calibration weight of their own: those holding at least
    `TYPE_SHARE` of the mean layer sum, the largest first, at most ``(networks - 3) // 3``
    of them (about three networks measured per weight), and never all the types present:
    the rest share the common weight, which also prices types the calibration has not
    seen."""
    total = float(np.mean([f.layer_sum for f in features]))
    if total <= 0:
        return []
    share: dict[str, float] = {}
    for f in features:
        for name, ms in f.by_type.items():
            share[name] = share.get(name, 0.0) + ms / len(features) / total
    ranked = sorted((n for n in share if share[n] >= TYPE_SHARE), key=lambda n: -share[n])
    chosen = ranked[: max(0, (len(features) - 3) // 3)]
    if set(chosen) == set(share):
        chosen = chosen[:-1]
    return chosen


def _fit_weights(
    features: Sequence[_Features], measured: np.ndarray, types: Sequence[str]
) -> tuple[dict[str, float], float]:
    """Least squares with weights >= 0: the weights of the ms of all layers
    (``layer_sum``) and of the functions, and the intercept; with `types`, a weight of its
    own for the ms of each of these types, the others keeping the one-slope fit's weight.
    No layer type is priced at 0: a type whose own weight comes out 0 (its time not told
    apart from the types it always comes with) joins the others, and the fit is redone."""
    base = LinearCalibration.fit(
        [[f.layer_sum, f.functions] for f in features], measured, nonnegative=True
    )
    slope, calls = (float(w) for w in base.weights)
    kept = list(types)
    while kept:
        rest = [f.layer_sum - sum(f.by_type.get(t, 0.0) for t in kept) for f in features]
        x = [[f.by_type.get(t, 0.0) for t in kept] + [f.functions] for f in features]
        fit = LinearCalibration.fit(x, measured - slope * np.array(rest), nonnegative=True)
        own = dict(zip(kept, (float(w) for w in fit.weights[:-1]), strict=True))
        if all(w > 0 for w in own.values()):
            weights = {TYPE_PREFIX + t: w for t, w in own.items()}
            weights.update(layer_sum=slope, functions=float(fit.weights[-1]))
            return weights, float(fit.intercept)
        kept = [t for t in kept if own[t] > 0]
    return {"layer_sum": slope, "functions": calls}, float(base.intercept)


def _predict(weights: dict[str, float], intercept: float, features: _Features) -> float:
    """The calibrated latency of a network of `features`, as `LatencyEstimator` prices it."""
    ms = sum(_slope(weights, name) * value for name, value in features.by_type.items())
    return ms + weights["functions"] * features.functions + intercept


class LatencyEstimator(Estimator):
    """Inference latency in milliseconds, measured per layer on the current context.

    A layer is built alone on random inputs of its input shapes, in inference mode (so
    BatchNormalization updates no statistics and no weight changes). The layers a `cost`
    call finds missing from the table are measured together: in each of `rounds` rounds,
    in a new order each round, each is run `warmup` times, then timed `repeats` times, and
    its latency is the 25th percentile of all its times (`pooled_latency`). A layer's
    rounds are thus spread over the whole measurement, so a phase of load on the machine
    (seconds long) slows a few of its rounds rather than all of them. A layer that returns
    its input costs 0 and is not measured.
    With a calibration for `scope` in the table, every cost is the calibrated prediction
    (`predictor` says which one is in use; `layer_sum` is always the raw sum).

    Args:
        table_path: a JSON lookup table, loaded if the file exists and written by `save`.
        warmup: untimed forwards before timing.
        repeats: timed forwards per layer and round.
        rounds: measurement rounds per layer.
        check: how many layers of a loaded table are measured again when first used; if
            the table's times and the fresh ones differ by more than `PLAUSIBLE` times (the
            median ratio), a warning says the machine's state may have changed.
        threads: the thread setting the measurements are made under (part of the setting
            and of the key of every entry).
        scope: the network family and input shape whose calibration to use (see
            `calibrate`); None: the raw layer sum.
        import_table: take a table of another setting (or of one that records none) as
            measured here; without it such a table is refused.

    Raises:
        ValueError: the table is malformed, or from another setting without `import_table`.
    """

    name = "latency"
    unit = "ms"

    def __init__(
        self,
        table_path: str | None = None,
        *,
        warmup: int = 3,
        repeats: int = 10,
        rounds: int = 5,
        check: int = 3,
        threads: str = "",
        scope: str | None = None,
        import_table: bool = False,
    ) -> None:
        if repeats < 1 or warmup < 0 or rounds < 1:
            raise ValueError(
                f"LatencyEstimator needs repeats >= 1, warmup >= 0 and rounds >= 1, got "
                f"repeats={repeats}, warmup={warmup}, rounds={rounds}"
            )
        self.table_path, self.warmup, self.repeats = table_path, warmup, repeats
        self.rounds = rounds
        self.threads = str(threads)
        self.setting = measurement_setting(self.threads)
        self.scope = scope
        self.imported_from: list[dict[str, Any]] = []  # the settings of imported tables
        self.calibrations: dict[str, dict[str, Any]] = {}
        self.measurements = 0  # layers measured into the table (checks not counted)
        self._entries: dict[str, dict[str, Any]] = {}
        self._loaded: set[str] = set()  # keys read from the table file
        self._check = check
        self._ratios: list[float] = []
        self._raw = False
        self._function_counts: dict[str, int] = {}
        self._passthrough: set[str] = set()  # layers returning their input: nothing to time
        if table_path is not None and os.path.isdir(table_path):
            raise ValueError(f"latency table '{table_path}' is a directory; give a JSON file path")
        if table_path is not None and os.path.exists(table_path):
            self._load(table_path, import_table)

    # -- the table file ------------------------------------------------------------------
    def _load(self, path: str, import_table: bool) -> None:
        data = read_json(path, "latency table")
        formats = (TABLE_FORMAT, "nnabla_nas.latency_table/1")
        if not isinstance(data, dict) or data.get("format") not in formats:
            raise ValueError(
                f"latency table '{path}' is not a {TABLE_FORMAT!r} table (its 'format' "
                f"field is missing or different); point table_path at another file"
            )
        entries = data.get("entries")
        if not isinstance(entries, list):
            raise ValueError(f"latency table '{path}': 'entries' must be a list")
        for index, entry in enumerate(entries):
            _check_entry(index, entry, path)
        stored = data.get("setting")
        if stored is not None and not isinstance(stored, dict):
            raise ValueError(f"latency table '{path}': 'setting' must be an object")
        foreign = "records no measurement setting" if stored is None else ""
        if stored is not None and _differences(stored, self.setting):
            foreign = f"was measured in another setting: {_differences(stored, self.setting)}"
        if foreign and not import_table:
            raise ValueError(
                f"latency table '{path}' {foreign}; its times do not hold here: give another "
                f"table path to measure one, or import it as measured here "
                f"(cost.import_table: true, profile --import-table)"
            )
        previous = data.get("imported_from", [])
        self.imported_from = list(previous) if isinstance(previous, list) else []
        if foreign:
            self.imported_from.append(stored or {"setting": "unrecorded"})
            logger.warning(f"latency table '{path}' imported: {foreign}")
        for entry in entries:
            if foreign:  # taken as this setting's times
                entry = {**entry, "context": _context_name(), "threads": self.threads}
            self._entries[_entry_key(entry)] = entry
            self._loaded.add(_entry_key(entry))
        records = data.get("calibrations", [])
        if not isinstance(records, list):
            raise ValueError(f"latency table '{path}': 'calibrations' must be a list")
        for index, record in enumerate(records):
            _check_calibration(index, record, path)
            self.calibrations[record["scope"]] = record

    def save(self, path: str | None = None) -> None:
        """Writes the table (atomically) to `path`, by default `table_path`: the entries,
        this setting, the calibrations and the settings of tables imported into it."""
        path = path or self.table_path
        if path is None:
            raise ValueError("LatencyEstimator.save: no path; pass one or set table_path")
        data: dict[str, Any] = {
            "format": TABLE_FORMAT,
            "unit": "ms",
            "setting": self.setting,
            "entries": sorted(self._entries.values(), key=_entry_key),
            "calibrations": [self.calibrations[k] for k in sorted(self.calibrations)],
        }
        if self.imported_from:
            data["imported_from"] = self.imported_from
        write_json(path, data)

    def __len__(self) -> int:
        return len(self._entries)

    # -- the calibrated prediction -------------------------------------------------------
    @property
    def calibration(self) -> dict[str, Any] | None:
        """The calibration record of `scope` in use, or None."""
        return None if self.scope is None else self.calibrations.get(self.scope)

    @property
    def predictor(self) -> str:
        """Which prediction the costs are: the raw layer sum or the calibration."""
        record = self.calibration
        if record is None:
            return "layer sum (uncalibrated)"
        w, quality = record["weights"], record["quality"]
        typed = [(k[len(TYPE_PREFIX) :], v) for k, v in w.items() if k.startswith(TYPE_PREFIX)]
        if typed:
            terms = " + ".join(f"{v:.4g} * {name} ms" for name, v in typed)
            sums = f"{terms} + {w['layer_sum']:.4g} * other layers' ms"
        else:
            sums = f"{w['layer_sum']:.4g} * layer sum"
        return (
            f"calibrated: {sums} + {1000 * w['functions']:.4g} us * functions "
            f"{record['intercept']:+.4g} ms, fitted on {record['paths']} paths measured end to "
            f"end ({quality['within10']:.0f}% within +-10% out of sample)"
        )

    def offset(self) -> float:
        record = self.calibration
        return 0.0 if record is None or self._raw else float(record["intercept"])

    @contextmanager
    def uncalibrated(self) -> Iterator[LatencyEstimator]:
        """Within the block, costs are the raw layer sums."""
        raw, self._raw = self._raw, True
        try:
            yield self
        finally:
            self._raw = raw

    def layer_sum(self, model: Module, input_shape: Sequence[int] | None = None) -> float:
        """The raw sum of the layer latencies of the network as last built, in ms."""
        with self.uncalibrated():
            return self.cost(model, input_shape)

    def layer_sums_by_type(
        self, model: Module, input_shape: Sequence[int] | None = None
    ) -> dict[str, float]:
        """The raw layer latencies of the network as last built, summed per layer type
        (the class name), in ms."""
        sums: dict[str, float] = {}
        for module, weight in self._layer_rows(model, input_shape):
            name = type(module).__name__
            ms = self._layer_ms(module, recorded_shapes(module) or [])
            sums[name] = sums.get(name, 0.0) + weight * ms
        return sums

    def layer_functions(self, model: Module, input_shape: Sequence[int] | None = None) -> float:
        """The number of nnabla functions the layers of the network as last built call
        (weighted by the probabilities under a `MixedOp` in ``'full'`` mode)."""
        rows = self._layer_rows(model, input_shape)
        return float(sum(w * self._functions(m, recorded_shapes(m) or []) for m, w in rows))

    def _layer_rows(
        self, model: Module, input_shape: Sequence[int] | None
    ) -> list[tuple[Module, float]]:
        self._prepare(model, input_shape)
        return [(m, w) for _, m, w in self.active_layers(model)]

    def layer_cost(self, module: Module, input_shapes: list[Shape]) -> float:
        """The latency of one leaf layer in ms, from the table or measured now; with a
        calibration in use, ``w_ms * ms + w_functions * functions`` of the layer, `w_ms`
        the weight of the layer's type if the calibration has one."""
        ms = self._layer_ms(module, input_shapes)
        record = self.calibration
        if record is None or self._raw:
            return ms
        w = record["weights"]
        calls = self._functions(module, input_shapes)
        return _slope(w, type(module).__name__) * ms + float(w["functions"]) * calls

    def _key(self, module: Module, input_shapes: list[Shape]) -> tuple[str, dict[str, Any]]:
        entry = {
            "layer": type(module).__name__,
            "args": module.extra_repr(),
            "input_shapes": [[int(d) for d in s] for s in input_shapes],
            "context": _context_name(),
            "threads": self.threads,
        }
        return _entry_key(entry), entry

    def _functions(self, module: Module, input_shapes: list[Shape]) -> int:
        """The number of functions in the graph of the layer alone (0 when it returns its
        input)."""
        key, _ = self._key(module, input_shapes)
        if key not in self._function_counts:
            with nn.auto_forward(False), module.modes(training=False):
                inputs = [nn.Variable(tuple(s)) for s in input_shapes]
                out = module.call(*inputs)
            found: list[Any] = []
            if not any(out is x for x in inputs):
                out.visit(found.append)
            self._function_counts[key] = len(found)
        return self._function_counts[key]

    def _layer_ms(self, module: Module, input_shapes: list[Shape]) -> float:
        key, entry = self._key(module, input_shapes)
        if key in self._passthrough:
            return 0.0
        if key not in self._entries:
            ms = self._measure(module, input_shapes)
            if ms is None:
                self._passthrough.add(key)
                return 0.0
            self.measurements += 1
            self._entries[key] = {**entry, "ms": ms}
        elif key in self._loaded and len(self._ratios) < self._check:
            self._loaded.discard(key)
            self._compare(float(self._entries[key]["ms"]), module, input_shapes)
        return float(self._entries[key]["ms"])

    def calibrate(
        self,
        model: Module,
        input_shape: Sequence[int],
        *,
        paths: int = 20,
        rounds: int = 8,
        runs: int = 10,
        seed: int = 0,
        scope: str | None = None,
    ) -> dict[str, Any]:
        """Fits and stores the calibration of `scope` (default: the estimator's own).

        Draws `paths` distinct paths of the supernet `model`, each choice uniformly (the
        `MixedOp`s sharing an alpha alike), and for each the raw layer sum, the number of
        functions its layers call, and the end-to-end latency of its inference graph (the
        25th percentile of all its timed forwards (`pooled_latency`), `runs` in each of
        `rounds` rounds; the paths in a new order each round). Then fits ``measured ~ w_ms *
        layer_sum + w_functions * functions + intercept`` by least squares with both weights
        >= 0 (what a call costs in a graph differs from what it costs alone: for small
        layers the overhead of a call dominates), or, when it predicts better out of sample,
        the same with a weight of its own for the ms of each layer type that holds a large
        share of the time (a layer timed alone misjudges some types more than others: on
        MobileNetV2 paths, convolutions and depthwise convolutions differently from batch
        normalization and activations), and judges it by leave-one-out: the share
        of paths within +-10% and Kendall's tau of the predictions out of sample, next to
        the tau between the odd and the even rounds (``noise_tau``: the measurement's own
        agreement, a ceiling for any predictor). Nothing of the model changes: its alphas
        and modes are restored.

        Returns:
            The calibration record (also in `calibrations`, saved with the table).
        """
        scope = scope or self.scope
        if not scope:
            raise ValueError("calibrate needs a scope: the network family it holds for")
        if paths < MIN_CALIBRATION_PATHS or rounds < 1 or runs < 1:
            raise ValueError(
                f"calibrate needs paths >= {MIN_CALIBRATION_PATHS}, rounds >= 1 and runs >= 1, "
                f"got {paths}, "
                f"{rounds}, {runs}"
            )
        shape = tuple(int(d) for d in input_shape)
        features, times = self._measure_paths(model, shape, paths, rounds, runs, seed)
        return self._fit(scope, features, times, rounds, runs)

    def calibrate_networks(
        self,
        models: Sequence[Module],
        input_shape: Sequence[int],
        *,
        scope: str,
        rounds: int = 8,
        runs: int = 10,
        seed: int = 0,
    ) -> dict[str, Any]:
        """`calibrate` on given networks rather than on paths of a supernet: for a space
        whose sub-networks are built as networks of their own (Once-for-All's, whose
        elastic layers compute otherwise than the plain layers of a sub-network). Each
        network's features and end-to-end latency are measured as `calibrate` measures a
        path's, the networks side by side in `rounds` rounds.

        Returns:
            The calibration record of `scope` (also in `calibrations`, saved with the table).
        """
        if not scope:
            raise ValueError("calibrate_networks needs a scope: the network family it holds for")
        if len(models) < MIN_CALIBRATION_PATHS or rounds < 1 or runs < 1:
            raise ValueError(
                f"calibrate_networks needs at least {MIN_CALIBRATION_PATHS} networks, rounds "
                f">= 1 and runs >= 1, got {len(models)}, {rounds}, {runs}"
            )
        shape = tuple(int(d) for d in input_shape)
        release_memory_cache()
        features, outputs = [], []
        for model in models:
            (data,) = _random_inputs([shape])
            with model.modes(training=False):
                outputs.append(build(model, data))
                features.append(self._features(model))
        times = self._interleaved(outputs, rounds, runs, np.random.default_rng(seed))
        return self._fit(scope, features, times, rounds, runs)

    def _features(self, model: Module) -> _Features:
        """What a calibration weighs, of the network as last built."""
        return _Features(self.layer_functions(model), self.layer_sums_by_type(model))

    def _fit(
        self,
        scope: str,
        features: Sequence[_Features],
        times: np.ndarray,
        rounds: int,
        runs: int,
    ) -> dict[str, Any]:
        """Fits and stores the calibration of `scope` from the features of the networks
        measured and their (networks, rounds, runs) times: the fit with one weight for
        all layers' ms, or the one with a weight for each of the layer types that hold a
        large share of the time (`_typed_columns`) if it predicts the networks at least 5%
        better out of sample (leave-one-out mean absolute percentage error)."""
        measured = pooled_latency(times)
        points = [
            (f.layer_sum, f.functions, float(m)) for f, m in zip(features, measured, strict=True)
        ]
        y = measured
        best: tuple[float, dict[str, float], float, np.ndarray] | None = None
        typed = _typed_columns(features)
        for types in ([], typed) if typed else ([],):
            loo = np.empty_like(y)
            for i in range(len(y)):  # leave-one-out: each network predicted by the others
                others = [f for j, f in enumerate(features) if j != i]
                loo[i] = _predict(*_fit_weights(others, np.delete(y, i), types), features[i])
            error = float(np.mean(np.abs(loo - y) / y))
            if best is None or error < PREFER_SIMPLER * best[0]:
                best = (error, *_fit_weights(features, y, types), loo)
        assert best is not None
        _, weights, intercept, loo = best
        raw = np.array([f.layer_sum for f in features])
        record = {
            "scope": scope,
            "weights": weights,
            "intercept": intercept,
            "paths": len(points),
            "points": [[float(v) for v in p] for p in points],
            "fitted": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "quality": {
                "within10": 100.0 * float(np.mean(np.abs(loo - y) <= 0.1 * y)),
                "tau": _tau(loo, y),
                "raw_within10": 100.0 * float(np.mean(np.abs(raw - y) <= 0.1 * y)),
                "raw_tau": _tau(raw, y),
                "noise_tau": _halves_tau(times),
                "rounds": rounds,
                "runs": runs,
            },
        }
        self.calibrations[scope] = record
        return record

    def _measure_paths(
        self, model: Module, shape: Shape, paths: int, rounds: int, runs: int, seed: int
    ) -> tuple[list[_Features], np.ndarray]:
        """The features (`_features`) of `paths` distinct paths of `model`, and
        the times of their end-to-end forwards, a (paths, rounds, runs) array: `runs` timed
        forwards per path and round, the paths in a new order each round (so slow phases
        of the machine are spread over all of them)."""
        choices = find_choices(model)
        if not choices:
            raise ValueError("calibrate needs a supernet: the model has no MixedOp")
        sizes = [len(c.names) for c in choices]
        total = math.prod(sizes)
        if total < paths:
            raise ValueError(f"the space has {total} paths; calibrate with paths <= {total}")
        rng = np.random.default_rng(seed)
        drawn: list[tuple[int, ...]] = []
        while len(drawn) < paths:
            path = tuple(int(rng.integers(n)) for n in sizes)
            if path not in drawn:
                drawn.append(path)
        saved = [c.alpha.d.copy() for c in choices]
        release_memory_cache()
        graphs: list[tuple[_Features, nn.Variable]] = []
        try:
            with model.modes(training=False), most_likely(model):
                for path in drawn:
                    for c, index in zip(choices, path, strict=True):
                        one_hot = np.zeros(c.alpha.size, dtype=np.float32)
                        one_hot[index] = 1.0
                        c.alpha.d = one_hot.reshape(c.alpha.shape)
                    (data,) = _random_inputs([shape])
                    output = build(model, data)
                    graphs.append((self._features(model), output))
        finally:
            for c, values in zip(choices, saved, strict=True):
                c.alpha.d = values
        times = self._interleaved([g[1] for g in graphs], rounds, runs, rng)
        return [g[0] for g in graphs], times

    def _interleaved(
        self, outputs: Sequence[nn.Variable], rounds: int, runs: int, rng: np.random.Generator
    ) -> np.ndarray:
        """The times of `runs` forwards of every graph in each of `rounds` rounds, the
        graphs in a new order each round: a (graphs, rounds, runs) array in ms."""
        times = np.zeros((len(outputs), rounds, runs))
        for r in range(rounds):
            for i in rng.permutation(len(outputs)):
                times[i, r] = self._time(outputs[i], self.warmup, runs)
        return times

    # -- measuring -----------------------------------------------------------------------
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
                    "layers); the machine's state may have changed: measure a new table"
                )

    def _prepare(self, model: Module, input_shape: Sequence[int] | None) -> None:
        super()._prepare(model, input_shape)
        self._measure_missing([m for _, m, _ in self.active_layers(model)])

    def _measure_missing(self, modules: Sequence[Module]) -> None:
        """Measures the layers of `modules` not in the table yet, side by side."""
        missing: dict[str, tuple[dict[str, Any], Module, list[Shape]]] = {}
        for module in modules:
            shapes = recorded_shapes(module) or []
            key, entry = self._key(module, shapes)
            if key not in self._entries and key not in self._passthrough:
                missing.setdefault(key, (entry, module, shapes))
        if not missing:
            return
        release_memory_cache()
        pending: dict[str, tuple[dict[str, Any], nn.Variable]] = {}
        for key, (entry, module, shapes) in missing.items():
            out = self._layer_graph(module, shapes)
            if out is None:
                self._passthrough.add(key)
            else:
                pending[key] = (entry, out)
        if not pending:
            return
        times = self._interleaved(
            [out for _, out in pending.values()], self.rounds, self.repeats,
            np.random.default_rng(len(self._entries)),
        )  # fmt: skip
        for (key, (entry, _)), ms in zip(pending.items(), pooled_latency(times), strict=True):
            self._entries[key] = {**entry, "ms": float(ms)}
            self.measurements += 1

    @staticmethod
    def _layer_graph(module: Module, input_shapes: list[Shape]) -> nn.Variable | None:
        """The inference graph of a layer alone on random inputs (None for one returning
        its input)."""
        with nn.auto_forward(False), module.modes(training=False):
            inputs = _random_inputs(input_shapes)
            out = module.call(*inputs)
        return None if any(out is x for x in inputs) else out

    def _measure(self, module: Module, input_shapes: list[Shape]) -> float | None:
        """A layer's latency measured now (None for one returning its input)."""
        out = self._layer_graph(module, input_shapes)
        if out is None:
            return None
        times = self._interleaved([out], self.rounds, self.repeats, np.random.default_rng(0))
        return float(pooled_latency(times)[0])

    @staticmethod
    def _time(output: nn.Variable, warmup: int, repeats: int) -> list[float]:
        """Milliseconds of `repeats` forwards after `warmup` untimed ones, with Python's
        garbage collector paused (its pauses are not the network's)."""
        enabled = gc.isenabled()
        gc.disable()
        try:
            for _ in range(warmup):
                output.forward()
            times = []
            for _ in range(repeats):
                start = time.perf_counter()
                output.forward()
                times.append(1000.0 * (time.perf_counter() - start))
        finally:
            if enabled:
                gc.enable()
        return times

    def measure_networks(
        self,
        models: Sequence[Module],
        input_shape: Sequence[int],
        *,
        rounds: int = 8,
        runs: int = 10,
        seed: int = 0,
    ) -> dict[str, Any]:
        """End-to-end latencies (ms) of several networks measured side by side, as
        `calibrate` measures its paths: `runs` timed forwards of each in each of `rounds`
        rounds, the networks in a new order each round, each network's latency the 25th
        percentile of all its times (`pooled_latency`). Compare networks with this rather
        than with one `measure_network` after another: on a shared machine a network's
        times of consecutive runs move by 10-50% from one phase of load to the next, and
        interleaving spreads such phases over all.

        Returns:
            ``{"latency": [ms per model], "median": [median of all times, ms per model],
            "noise_tau": Kendall's tau between the odd and the even rounds' latencies (None
            with fewer than 2 rounds or networks), "rounds", "runs"}``.
        """
        if not models or rounds < 1 or runs < 1:
            raise ValueError(
                "measure_networks needs at least one model, rounds >= 1 and runs >= 1, got "
                f"{len(models)} models, {rounds} rounds, {runs} runs"
            )
        shape = tuple(int(d) for d in input_shape)
        release_memory_cache()
        outputs = []
        for model in models:
            (data,) = _random_inputs([shape])
            with model.modes(training=False):
                outputs.append(build(model, data))
        times = self._interleaved(outputs, rounds, runs, np.random.default_rng(seed))
        tau = _halves_tau(times) if len(models) >= 2 else None
        return {
            "latency": [float(m) for m in pooled_latency(times)],
            "median": [float(m) for m in np.median(times.reshape(len(models), -1), axis=1)],
            "noise_tau": tau,
            "rounds": rounds,
            "runs": runs,
        }

    def measure_network(
        self, model: Module, input_shape: Sequence[int], *, runs: int = 20
    ) -> dict[str, float]:
        """End-to-end latency of the whole inference graph, in ms: its latency (the 25th
        percentile of the `runs` times, as `pooled_latency`), median, min and max.

        Builds the inference graph on random input (modes restored after); use it to check
        the per-layer sum `cost` against reality.
        """
        release_memory_cache()
        (data,) = _random_inputs([tuple(int(d) for d in input_shape)])
        with model.modes(training=False):
            output = build(model, data)
        times = self._time(output, self.warmup, runs)
        return {
            "latency": float(pooled_latency(np.array([[times]]))[0]),
            "median": statistics.median(times),
            "min": min(times),
            "max": max(times),
        }
