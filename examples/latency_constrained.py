"""A latency-constrained search next to an unconstrained one (MobileNetV2 blocks, digits).

Runs the ProxylessNAS-style search of the built-in pnas-mobilenet-digits config twice: once
without a latency term, then with the reward factor (latency / target) ** -1 and a target
of 70% of what the unconstrained search found. Prints the latency of both architectures
on one input (the calibrated prediction, as the search priced it, and end to end).
Run: python examples/latency_constrained.py   (about 3 minutes on a 2-core CPU)
"""

from __future__ import annotations

import os
import shutil
import sys

from nnabla_nas.app.search import search_latency
from nnabla_nas.cli import main
from nnabla_nas.contrib.registry import get_space

CONFIG = "pnas-mobilenet-digits"  # a built-in config (nnabla-nas configs lists them)
RUN = os.path.join("runs", "latency-constrained")
SHAPE = (1, 1, 8, 8)  # one input: the cost the reward saw


def search(name: str, *overrides: str) -> str:
    out = os.path.join(RUN, name)
    if main(["search", "-c", CONFIG, "-o", out, "--no-progress", *overrides]) != 0:
        sys.exit(1)
    return out


def latency(run: str) -> tuple[float, float]:
    """(prediction, measured median), both of one input, of a run's arch.json: predicted
    as the search priced it (its latency table and calibration, ``cost_model.json``)."""
    space = get_space("mobilenet")
    arch = space.read(os.path.join(run, "arch.json"))
    net = space.make_train_net(1, 10, arch, seed=0, options={"width_mult": 0.35})
    estimator = search_latency(run)
    with net.modes(training=False):
        predicted = estimator.cost(net, SHAPE)
        measured = estimator.measure_network(net, (1, 1, 8, 8), runs=50)["latency"]
    return predicted, measured


if __name__ == "__main__":
    shutil.rmtree(RUN, ignore_errors=True)
    free = search("unconstrained")
    free_ms = latency(free)
    target = 0.7 * free_ms[0]
    table = os.path.join(free, "latency_table.json")
    bound = search(
        "constrained",
        "cost.weight=-1.0",
        f"cost.target={target:.4f}",
        f"cost.latency_table={table}",
    )
    bound_ms = latency(bound)
    print(f"target: {target:.3f} ms (70% of the unconstrained architecture's)")
    for name, (sum_ms, e2e) in (("unconstrained", free_ms), ("constrained", bound_ms)):
        verdict = "under" if sum_ms <= target else "over"
        print(f"{name:>13}: {sum_ms:.3f} ms predicted ({verdict} target), {e2e:.3f} ms end to end")
