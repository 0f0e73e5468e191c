"""How well the per-layer latency table predicts measured end-to-end latency.

Samples random architectures of the MobileNetV2 space (per searchable block, a random
candidate among those the block allows), predicts each one's inference latency as the sum
of its layers' latencies from one shared `LatencyEstimator` table, and measures the whole
inference graph end to end. Prints the mean absolute percentage error (MAPE), the share of
architectures within +-5% and +-10%, and Kendall's tau, for the raw layer sum and for a
`LinearCalibration` (``measured ~ a * layer_sum + b * functions + c``) fitted on a training
subset and judged on the disjoint rest (and by k-fold cross-validation).

End-to-end times are taken in several rounds, the architectures in a new random order each
round, and an architecture's latency is the 25th percentile of all its times (as the
product's calibration takes it, `pooled_latency`); two single rounds, and the odd against
the even rounds, give the noise ceilings of the measurement itself, by this statistic and by
the median of all times. The last table is the product's own default
predictor: `LatencyEstimator.calibrate` on paths of the MobileNetV2 supernet, as
``nnabla-nas profile --calibrate`` and a search with a latency cost run it.

Run from the repository root (about 5 minutes with the defaults on a 2-core x86 VM)::

    .venv/bin/python benchmarks/latency_estimator.py
    .venv/bin/python benchmarks/latency_estimator.py --archs 60 --table /tmp/lat.json
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any

import nnabla as nn
import numpy as np
from scipy.stats import kendalltau

from nnabla_nas.contrib.estimator import LatencyEstimator
from nnabla_nas.contrib.estimator.base import build
from nnabla_nas.contrib.estimator.calibration import LinearCalibration
from nnabla_nas.contrib.estimator.latency import cpu_model, pooled_latency
from nnabla_nas.contrib.mobilenet import SearchNet, TrainNet
from nnabla_nas.contrib.mobilenet.arch import block_choices, resolve_stages
from nnabla_nas.contrib.mobilenet.modules import CANDIDATE_NAMES

FEATURES = ("layer_sum", "functions")
# A weight per layer type: the table's per-layer times misjudge some types more than others
# (a layer timed alone against inside a whole graph: caches, dispatch)
TYPE_GROUPS = ("Conv", "DwConv", "BatchNormalization", "ReLU6")
TYPED = tuple(f"ms_{t}" for t in (*TYPE_GROUPS, "other"))


@dataclass
class Arch:
    """One sampled architecture: its network, its predicted and measured latencies."""

    genotype: dict[str, Any]
    net: TrainNet
    layer_sum: float = 0.0
    functions: int = 0
    layers: int = 0
    rounds: list[list[float]] = field(default_factory=list)  # the times of each round
    by_type: dict[str, float] = field(default_factory=dict)  # layer sums per TYPED group

    @property
    def measured(self) -> float:
        """The latency of all rounds' times (as `LatencyEstimator.calibrate` takes it)."""
        return self.pooled(slice(None))

    def pooled(self, rounds: slice, statistic: str = "latency") -> float:
        """The latency (or the median) of the times of `rounds`."""
        times = [t for r in self.rounds[rounds] for t in r]
        if statistic == "median":
            return statistics.median(times)
        return float(pooled_latency(np.array([[times]]))[0])


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--archs", type=int, default=100, help="random architectures (>= 50)")
    p.add_argument("--settings", default="cifar10", help="MobileNetV2 settings")
    p.add_argument("--width-mult", type=float, default=0.35)
    p.add_argument("--resolution", type=int, default=32, help="input height and width")
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--runs", type=int, default=15, help="timed end-to-end runs per round")
    p.add_argument("--rounds", type=int, default=6, help="end-to-end rounds per architecture")
    p.add_argument("--warmup", type=int, default=3, help="untimed runs before timing")
    p.add_argument("--table-repeats", type=int, default=10, help="timed runs per layer and round")
    p.add_argument("--table", default=None, help="latency table JSON (reused if it exists)")
    p.add_argument("--train", type=int, default=25, help="architectures to fit calibration on")
    p.add_argument("--folds", type=int, default=5, help="folds of the cross-validation")
    p.add_argument("--calibration", default=None, help="write the fitted calibration here")
    p.add_argument(
        "--product-paths",
        type=int,
        default=20,
        help="paths the product's default calibration measures (profile --calibrate)",
    )
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args(argv)


def load_average() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def print_machine(args: argparse.Namespace) -> None:
    u = platform.uname()
    print(f"machine:   {u.system} {u.release} {u.machine}, {os.cpu_count()} CPUs")
    print(f"processor: {cpu_model()}")
    print(f"python {platform.python_version()}, nnabla {nn.__version__}")
    print(f"context:   {nn.get_current_context()}")
    print(f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', '')!r}, load {load_average()}")
    print(
        f"settings:  {args.archs} archs, TrainNet(3, 10, settings={args.settings!r}, "
        f"width_mult={args.width_mult}), input ({args.batch}, 3, {args.resolution}, "
        f"{args.resolution}), inference mode"
    )
    print(
        f"           end to end: {args.rounds} rounds x ({args.warmup} warm-up + {args.runs} "
        f"timed runs), 25th percentile of all; table: {args.warmup} warm-up + {args.table_repeats} "
        f"runs per layer in each of 5 rounds, 25th percentile; seed {args.seed}"
    )


def sample_genotypes(settings: str, count: int, rng: np.random.Generator) -> list[dict[str, Any]]:
    """`count` distinct random genotypes: a uniform candidate per searchable block."""
    choices = block_choices(resolve_stages(settings), CANDIDATE_NAMES)
    seen: set[tuple[str, ...]] = set()
    genotypes: list[dict[str, Any]] = []
    while len(genotypes) < count:
        blocks = tuple(str(rng.choice(c)) for c in choices)
        if blocks not in seen:
            seen.add(blocks)
            genotypes.append({"settings": settings, "blocks": list(blocks)})
    return genotypes


def count_functions(net: TrainNet, input_shape: tuple[int, ...]) -> int:
    """The number of functions in the inference graph of `net`."""
    with net.modes(training=False):
        output = build(net, input_shape)
    functions: list[Any] = []
    output.visit(functions.append)
    return len(functions)


def predict_all(
    archs: list[Arch], estimator: LatencyEstimator, input_shape: tuple[int, ...]
) -> float:
    """Fills each arch's layer sum and graph size from the shared table; returns seconds."""
    start = time.perf_counter()
    for arch in archs:
        arch.layer_sum = estimator.cost(arch.net, input_shape)
        rows = estimator.table(arch.net)
        arch.layers = sum(1 for _, _, ms in rows if ms > 0)
        for _, kind, ms in rows:
            group = f"ms_{kind if kind in TYPE_GROUPS else 'other'}"
            arch.by_type[group] = arch.by_type.get(group, 0.0) + ms
        arch.functions = count_functions(arch.net, input_shape)
    return time.perf_counter() - start


def table_drift(archs: list[Arch], args: argparse.Namespace, shape: tuple[int, ...]) -> None:
    """Re-measures every layer in a fresh table and compares the layer sums with the first."""
    fresh = LatencyEstimator(warmup=args.warmup, repeats=args.table_repeats)
    change = np.array([fresh.cost(a.net, shape) / a.layer_sum - 1.0 for a in archs])
    print(
        f"table re-measured after the end-to-end rounds (load {load_average()}): layer sums "
        f"changed by median {100 * np.median(change):+.2f}% "
        f"(range {100 * change.min():+.2f}% to {100 * change.max():+.2f}%)"
    )


def measure_all(
    archs: list[Arch],
    estimator: LatencyEstimator,
    input_shape: tuple[int, ...],
    args: argparse.Namespace,
    rng: np.random.Generator,
) -> float:
    """Adds one round of `args.runs` end-to-end times to each arch per round, the archs in
    a new order each round; each arch's inference graph is built once."""
    start = time.perf_counter()
    outputs = []
    for arch in archs:
        with arch.net.modes(training=False):
            outputs.append(build(arch.net, input_shape))
    for r in range(args.rounds):
        for i in rng.permutation(len(archs)):
            archs[i].rounds.append(estimator._time(outputs[i], args.warmup, args.runs))
        print(f"  round {r + 1}/{args.rounds} done, load {load_average()}")
    return time.perf_counter() - start


def metrics(predicted: np.ndarray, measured: np.ndarray) -> dict[str, float]:
    error = np.abs(predicted - measured) / measured
    tau = float(kendalltau(predicted, measured).statistic)
    return {
        "mape": 100.0 * float(np.mean(error)),
        "max": 100.0 * float(np.max(error)),
        "bias": 100.0 * float(np.mean((predicted - measured) / measured)),
        "within5": 100.0 * float(np.mean(error <= 0.05)),
        "within10": 100.0 * float(np.mean(error <= 0.10)),
        "tau": tau,
    }


def print_metrics(label: str, predicted: np.ndarray, measured: np.ndarray) -> None:
    m = metrics(predicted, measured)
    print(
        f"  {label:<44} {len(measured):>4} {m['mape']:6.2f}% {m['bias']:+7.2f}% "
        f"{m['max']:6.2f}% {m['within5']:6.1f}% {m['within10']:6.1f}% {m['tau']:6.3f}"
    )


def print_header(title: str) -> None:
    print(f"\n{title}")
    print(
        f"  {'predictor':<44} {'n':>4} {'MAPE':>7} {'bias':>8} {'max':>7} "
        f"{'<=5%':>7} {'<=10%':>7} {'tau':>6}"
    )


def features(archs: list[Arch], names: tuple[str, ...]) -> np.ndarray:
    def value(a: Arch, n: str) -> float:
        return a.by_type.get(n, 0.0) if n in TYPED else float(getattr(a, n))

    return np.array([[value(a, n) for n in names] for a in archs])


def cross_validated(archs: list[Arch], names: tuple[str, ...], folds: int) -> np.ndarray:
    """Out-of-fold predictions: each arch predicted by a fit on the other folds."""
    x, y = features(archs, names), np.array([a.measured for a in archs])
    predicted = np.empty_like(y)
    for fold in np.array_split(np.arange(len(archs)), folds):
        train = np.setdiff1d(np.arange(len(archs)), fold)
        predicted[fold] = LinearCalibration.fit(x[train], y[train], list(names)).predict(x[fold])
    return predicted


def report_noise(archs: list[Arch]) -> None:
    """Round-to-round agreement of the same archs: the floor any predictor can reach."""
    if len(archs[0].rounds) < 2:
        return
    rounds = np.array([[a.pooled(slice(i, i + 1)) for i in range(len(a.rounds))] for a in archs])
    spread = (rounds.max(axis=1) - rounds.min(axis=1)) / np.median(rounds, axis=1)
    print(
        f"\nnoise: spread (max-min)/median of an arch's {rounds.shape[1]} round latencies: "
        f"median {100 * np.median(spread):.2f}%, max {100 * spread.max():.2f}%"
    )
    print_header("the measurement against itself (noise ceilings)")
    print_metrics("end-to-end round 1 vs round 2", rounds[:, 0], rounds[:, 1])
    for statistic, label in (("latency", "25th percentiles"), ("median", "medians")):
        odd = np.array([a.pooled(slice(0, None, 2), statistic) for a in archs])
        even = np.array([a.pooled(slice(1, None, 2), statistic) for a in archs])
        print_metrics(f"odd rounds vs even rounds (pooled {label})", odd, even)


def label_of(names: tuple[str, ...]) -> str:
    return "layer sum per type" if names == TYPED else " + ".join(names)


def report(archs: list[Arch], args: argparse.Namespace) -> LinearCalibration:
    measured = np.array([a.measured for a in archs])
    layer_sum = features(archs, ("layer_sum",))[:, 0]
    train, test = archs[: args.train], archs[args.train :]
    y_train, y_test = measured[: args.train], measured[args.train :]
    print_header(f"all {len(archs)} archs")
    print_metrics("layer sum (uncalibrated)", layer_sum, measured)
    for names in (("layer_sum",), FEATURES, TYPED):
        label = f"{args.folds}-fold CV: {label_of(names)} + c"
        print_metrics(label, cross_validated(archs, names, args.folds), measured)
    print_header(f"test set: {len(test)} archs not used for fitting (fit on {len(train)})")
    print_metrics("layer sum (uncalibrated)", layer_sum[args.train :], y_test)
    fitted = LinearCalibration.fit(features(train, FEATURES), y_train, list(FEATURES))
    for names in (("layer_sum",), FEATURES, TYPED):
        cal = LinearCalibration.fit(features(train, names), y_train, list(names))
        print_metrics(f"{label_of(names)} + c", cal.predict(features(test, names)), y_test)
        print(f"      {cal!r}")
    return fitted


def print_summary(archs: list[Arch]) -> None:
    measured = np.array([a.measured for a in archs])
    extra = np.array([a.functions - a.layers for a in archs])
    print(
        f"\nmeasured latency: median {np.median(measured):.3f} ms, range "
        f"{measured.min():.3f}-{measured.max():.3f} ms; graph functions "
        f"{min(a.functions for a in archs)}-{max(a.functions for a in archs)}, of them not in "
        f"the layer sum (residual adds etc.) {extra.min()}-{extra.max()}"
    )


def product_default(
    archs: list[Arch], args: argparse.Namespace, input_shape: tuple[int, ...]
) -> None:
    """The product's own predictor: a fresh `LatencyEstimator` with its defaults,
    calibrated as ``nnabla-nas profile --calibrate N`` and a search with a latency cost do
    it (N paths of the supernet measured end to end), judged on the test archs."""
    supernet = SearchNet(3, 10, settings=args.settings, width_mult=args.width_mult, rng=args.seed)
    estimator = LatencyEstimator(scope="benchmark")
    start = time.perf_counter()
    record = estimator.calibrate(supernet, input_shape, paths=args.product_paths, seed=args.seed)
    seconds = time.perf_counter() - start
    test = archs[args.train :]
    predicted = np.array([estimator.cost(a.net, input_shape) for a in test])
    quality = record["quality"]
    noise = quality["noise_tau"]
    print_header(f"the product's default predictor, on the same {len(test)} test archs")
    print_metrics("LatencyEstimator.calibrate (product default)", predicted,
                  np.array([a.measured for a in test]))  # fmt: skip
    print(
        f"      {estimator.predictor}; calibrating took {seconds:.1f} s ({quality['rounds']} "
        f"rounds x {quality['runs']} runs); its own odd-vs-even-rounds tau "
        f"{'n/a' if noise is None else f'{noise:.3f}'}"
    )
    # The machine's speed drifts over minutes: measure the test archs again now, next to
    # the calibration, and judge the prediction against that measurement too.
    start = time.perf_counter()
    again = estimator.measure_networks(
        [a.net for a in test], input_shape, rounds=args.rounds, runs=args.runs, seed=args.seed
    )
    print_metrics("  against the archs measured again now", predicted, np.array(again["latency"]))
    first = [a.measured for a in test]
    drift = np.median(np.array(again["latency"]) / np.array(first))
    tau = float(kendalltau(again["latency"], first).statistic)
    print(
        f"      measured again in {time.perf_counter() - start:.1f} s: the same archs run "
        f"{100 * (drift - 1):+.1f}% (median) against the first measurement; tau between "
        f"the two measurements {tau:.3f}"
    )


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.archs < 50 or not 3 <= args.train <= args.archs - 10:
        raise SystemExit("need --archs >= 50 and 3 <= --train <= archs - 10")
    print_machine(args)
    rng = np.random.default_rng(args.seed)
    input_shape = (args.batch, 3, args.resolution, args.resolution)
    genotypes = sample_genotypes(args.settings, args.archs, rng)
    archs = [Arch(g, TrainNet(3, 10, g, width_mult=args.width_mult)) for g in genotypes]
    table = args.table or os.path.join(tempfile.mkdtemp(prefix="latency-"), "table.json")
    estimator = LatencyEstimator(table, warmup=args.warmup, repeats=args.table_repeats)
    loaded = len(estimator)
    seconds = predict_all(archs, estimator, input_shape)
    estimator.save()
    print(
        f"\ntable {table}: {loaded} entries loaded, {estimator.measurements} layer configs "
        f"measured now, {len(estimator)} in all; predicting {len(archs)} archs took "
        f"{seconds:.2f} s"
    )
    print("measuring end to end:")
    seconds = measure_all(archs, estimator, input_shape, args, rng)
    print(f"end-to-end measurement took {seconds:.1f} s")
    table_drift(archs, args, input_shape)
    print_summary(archs)
    report_noise(archs)
    calibration = report(archs, args)
    product_default(archs, args, input_shape)
    if args.calibration:
        calibration.save(args.calibration)
        print(f"\ncalibration written to {args.calibration}")


if __name__ == "__main__":
    main()
