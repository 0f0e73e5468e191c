"""The demo: a DARTS search on scikit-learn's digits, then retraining the cell found.

Writes runs/demo/search/ and runs/demo/train/ (each with figures/ and report.html), exports
the retrained network to runs/demo/train/model.onnx and prints the test accuracy.
Run it with ``make demo`` (or ``python examples/demo.py``).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time

from nnabla_nas.cli import main

HERE = os.path.dirname(os.path.abspath(__file__))
RUN = os.path.join("runs", "demo")


def step(args: list[str]) -> None:
    started = time.perf_counter()
    status = main(args)
    if status != 0:
        sys.exit(status)
    print(f"[demo] nnabla-nas {args[0]} took {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    shutil.rmtree(RUN, ignore_errors=True)  # a demo starts afresh; real runs use --resume
    search_dir, train_dir = os.path.join(RUN, "search"), os.path.join(RUN, "train")
    step(["search", "-c", os.path.join(HERE, "darts_digits_search.yaml"), "-o", search_dir])
    with open(os.path.join(search_dir, "arch.json"), encoding="utf-8") as f:
        print("[demo] architecture found:\n" + json.dumps(json.load(f), indent=None))
    arch = os.path.join(search_dir, "arch.json")
    step(
        [
            "train",
            "-c",
            os.path.join(HERE, "darts_digits_train.yaml"),
            "-o",
            train_dir,
            "--arch",
            arch,
        ]
    )
    with open(os.path.join(train_dir, "result.json"), encoding="utf-8") as f:
        accuracy = json.load(f)["test_accuracy"]
    print(f"[demo] test accuracy of the retrained architecture: {100 * accuracy:.2f}%")
    step(["export", train_dir, "--format", "onnx", "-o", os.path.join(train_dir, "model.onnx")])
    for folder in (search_dir, train_dir):
        step(["report", folder])
    print(f"[demo] outputs in {search_dir}/ and {train_dir}/ (tensorboard --logdir {RUN})")
