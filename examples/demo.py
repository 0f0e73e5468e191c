"""The demo: a hardware-aware search under a latency budget, then retraining what it found.

The budget is the latency of a reference network on this machine: the space's network with
every block k5_e6. The demo calibrates the latency model of the MobileNetV2 blocks of the
built-in mobilenet-digits-search config (20 paths measured end to end), predicts the
reference's latency with it, and searches scikit-learn's digits with DARTS and a latency
target 10% under that prediction (the margin: calibrated predictions of one network
relative to another were off by at most 5.7% here, see README). It prints how far the
architecture probabilities separated (the median over blocks of the top candidate's
probability), retrains the architecture found, and measures it end to end side by side
with the reference, next to both predictions. Writes runs/demo/latency_table.json,
runs/demo/search/ and runs/demo/train/ (each with figures/ and report.html) and
runs/demo/train/model.onnx.

Why a reference network rather than a number of milliseconds: on a shared VM the speed of
the same network drifts by up to 25% from one minute to the next, so a budget in ms fixed
before a 5-minute search and checked after it would test the machine's drift. Measured side
by side, the found network and the reference see the same machine.

Exits with status 1 when the search did not separate its probabilities (median top
probability below 0.3) or its architecture is slower than the reference when measured.
Run it with ``make demo`` (or ``python examples/demo.py``).
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import sys
import time

from nnabla_nas.app.build import latency_threads
from nnabla_nas.app.config import read_config
from nnabla_nas.app.profile import target_of_config
from nnabla_nas.cli import main
from nnabla_nas.contrib.estimator import LatencyEstimator
from nnabla_nas.contrib.registry import get_space
from nnabla_nas.module import Module
from nnabla_nas.visualize.plots import decision_rows, read_probabilities

RUN = os.path.join("runs", "demo")
SEARCH = "mobilenet-digits-search"  # built-in configs (nnabla-nas configs lists them)
TRAIN = "mobilenet-digits-train"
SEPARATED = 0.3  # the median top probability a converged search reaches at least
REFERENCE = ["k5_e6"] * 6  # the budget: this network's latency (each block's middle candidate)
MARGIN = 0.9  # the search's target: this share of the reference's predicted latency


def step(args: list[str]) -> None:
    started = time.perf_counter()
    status = main(args)
    if status != 0:
        sys.exit(status)
    print(f"[demo] nnabla-nas {args[0]} took {time.perf_counter() - started:.0f} s")


def separation(search_dir: str) -> float:
    """Prints each block's decision; returns the median of the top probabilities."""
    rows = decision_rows(read_probabilities(os.path.join(search_dir, "arch_probs.csv")))
    for row in rows:
        print(
            f"[demo]   {row.choice}: {row.chosen} {row.probability:.3f} "
            f"(runner-up {row.runner_up} {row.runner_up_probability:.3f})"
        )
    return statistics.median(row.probability for row in rows)


def calibrated_latency(table: str) -> tuple[LatencyEstimator, tuple[int, ...]]:
    """The latency model of the search space on this machine: the supernet's paths measured
    end to end and the fit stored with the table (which the search then reuses)."""
    started = time.perf_counter()
    supernet = target_of_config(SEARCH, None, [])
    shape = (1, *supernet.sample_shape)
    estimator = LatencyEstimator(table, threads=latency_threads(), scope=supernet.scope(1))
    record = estimator.calibrate(supernet.model, shape, paths=20)
    estimator.save()
    print(f"[demo] latency model: {estimator.predictor}; its measurement agreed with itself "
          f"across rounds at Kendall's tau {record['quality']['noise_tau']:.3f}; took "
          f"{time.perf_counter() - started:.0f} s")  # fmt: skip
    return estimator, shape


def train_net(arch: dict) -> Module:
    """The retraining's network of `arch` (the train config's model options)."""
    options = {k: v for k, v in read_config(TRAIN)["model"].items() if k != "name"}
    return get_space("mobilenet").make_train_net(1, 10, arch, seed=0, options=options)


def predicted(estimator: LatencyEstimator, net: Module, shape: tuple[int, ...]) -> float:
    with net.modes(training=False):
        return estimator.cost(net, shape)


if __name__ == "__main__":
    started = time.perf_counter()
    shutil.rmtree(RUN, ignore_errors=True)  # a demo starts afresh; real runs use --resume
    search_dir, train_dir = os.path.join(RUN, "search"), os.path.join(RUN, "train")
    os.makedirs(RUN)
    table = os.path.join(RUN, "latency_table.json")
    estimator, shape = calibrated_latency(table)
    stages = read_config(SEARCH)["model"]["stages"]
    reference = train_net({"settings": "cifar10", "blocks": REFERENCE, "stages": stages})
    budget = predicted(estimator, reference, shape)
    target = MARGIN * budget
    print(f"[demo] budget: the latency of the network with every block {REFERENCE[0]}, "
          f"predicted {budget:.3f} ms; the search's target {target:.3f} ms")  # fmt: skip
    step(["search", "-c", SEARCH, "-o", search_dir, f"cost.latency_table={table}",
          f"cost.target={target:.4f}"])  # fmt: skip
    print("[demo] the decision of each block (uniform: 0.25):")
    median_top = separation(search_dir)
    print(f"[demo] median top probability over blocks: {median_top:.3f} (at least {SEPARATED})")
    arch = os.path.join(search_dir, "arch.json")
    step(["train", "-c", TRAIN, "-o", train_dir, "--arch", arch])
    with open(os.path.join(train_dir, "result.json"), encoding="utf-8") as f:
        accuracy = json.load(f)["test_accuracy"]
    print(f"[demo] test accuracy of the retrained architecture: {100 * accuracy:.2f}%")
    found = train_net(get_space("mobilenet").read(os.path.join(train_dir, "arch.json")))
    found.load_parameters(os.path.join(train_dir, "weights.h5"))
    measured = estimator.measure_networks([found, reference], shape, rounds=10, runs=30)["latency"]
    print(
        f"[demo] latency of one input, measured end to end side by side (predicted): found "
        f"{measured[0]:.3f} ms ({predicted(estimator, found, shape):.3f}), the budget's "
        f"reference {measured[1]:.3f} ms ({budget:.3f}): "
        f"{100 * (measured[0] / measured[1] - 1):+.1f}%"
    )
    step(["export", train_dir, "--format", "onnx", "-o", os.path.join(train_dir, "model.onnx")])
    for folder in (search_dir, train_dir):
        step(["report", folder])
    print(f"[demo] outputs in {search_dir}/ and {train_dir}/ (tensorboard --logdir {RUN})")
    print(f"[demo] took {time.perf_counter() - started:.0f} s")
    problems = []
    if median_top < SEPARATED:
        problems.append(f"the probabilities did not separate ({median_top:.3f} < {SEPARATED})")
    if measured[0] > measured[1]:
        problems.append(
            f"the architecture misses the budget: {measured[0]:.3f} ms measured against the "
            f"reference's {measured[1]:.3f} ms"
        )
    if problems:
        sys.exit(f"[demo] {'; '.join(problems)}")
