"""The demo: a hardware-aware search under a latency budget, then retraining what it found.

Searches the MobileNetV2 blocks of the built-in mobilenet-digits-search config on scikit-learn's
digits with DARTS and a latency target (the latency cost calibrated on this machine first),
prints how far the architecture probabilities separated (the median over blocks of the top
candidate's probability), retrains the architecture found, and measures its latency end to
end next to the prediction and the budget. Writes runs/demo/search/ and runs/demo/train/
(each with figures/ and report.html) and runs/demo/train/model.onnx.

Exits with status 1 when the search did not separate its probabilities (median top
probability below 0.3) or its architecture misses the budget when measured.
Run it with ``make demo`` (or ``python examples/demo.py``).
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import sys
import time

import yaml

from nnabla_nas.app.config import read_config
from nnabla_nas.app.search import search_latency
from nnabla_nas.cli import main
from nnabla_nas.contrib.registry import get_space
from nnabla_nas.visualize.plots import decision_rows, read_probabilities

RUN = os.path.join("runs", "demo")
SEARCH = "mobilenet-digits-search"  # built-in configs (nnabla-nas configs lists them)
TRAIN = "mobilenet-digits-train"
SEPARATED = 0.3  # the median top probability a converged search reaches at least


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


def latency(search_dir: str, train_dir: str, side: int) -> tuple[float, float]:
    """(predicted, measured) ms of one input of the retrained network: predicted by the
    search's calibrated latency model, measured end to end (median of 300 runs)."""
    with open(os.path.join(train_dir, "config.yaml"), encoding="utf-8") as f:
        options = {k: v for k, v in yaml.safe_load(f)["model"].items() if k != "name"}
    space = get_space("mobilenet")
    arch = space.read(os.path.join(train_dir, "arch.json"))
    net = space.make_train_net(1, 10, arch, seed=0, options=options)
    estimator = search_latency(search_dir)
    shape = (1, 1, side, side)
    with net.modes(training=False):
        predicted = estimator.cost(net, shape)
    measured = estimator.measure_network(net, shape, runs=300)["median"]
    return predicted, measured


if __name__ == "__main__":
    started = time.perf_counter()
    shutil.rmtree(RUN, ignore_errors=True)  # a demo starts afresh; real runs use --resume
    search_dir, train_dir = os.path.join(RUN, "search"), os.path.join(RUN, "train")
    config = read_config(SEARCH)
    budget, side = float(config["cost"]["target"]), int(config["dataset"]["image_size"])
    step(["search", "-c", SEARCH, "-o", search_dir])
    print("[demo] the decision of each block (uniform: 0.25):")
    median_top = separation(search_dir)
    print(f"[demo] median top probability over blocks: {median_top:.3f} (at least {SEPARATED})")
    arch = os.path.join(search_dir, "arch.json")
    step(["train", "-c", TRAIN, "-o", train_dir, "--arch", arch])
    with open(os.path.join(train_dir, "result.json"), encoding="utf-8") as f:
        accuracy = json.load(f)["test_accuracy"]
    print(f"[demo] test accuracy of the retrained architecture: {100 * accuracy:.2f}%")
    predicted, measured = latency(search_dir, train_dir, side)
    print(
        f"[demo] latency of one input: budget {budget:.3f} ms, predicted {predicted:.3f} ms, "
        f"measured end to end {measured:.3f} ms"
    )
    step(["export", train_dir, "--format", "onnx", "-o", os.path.join(train_dir, "model.onnx")])
    for folder in (search_dir, train_dir):
        step(["report", folder])
    print(f"[demo] outputs in {search_dir}/ and {train_dir}/ (tensorboard --logdir {RUN})")
    print(f"[demo] took {time.perf_counter() - started:.0f} s")
    problems = []
    if median_top < SEPARATED:
        problems.append(f"the probabilities did not separate ({median_top:.3f} < {SEPARATED})")
    if measured > budget:
        problems.append(f"the architecture misses the budget ({measured:.3f} > {budget} ms)")
    if problems:
        sys.exit(f"[demo] {'; '.join(problems)}")
