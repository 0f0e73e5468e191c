"""One search step of each one-shot searcher on the same DARTS supernet: time and memory.

Run from the repository root::

    .venv/bin/python benchmarks/searcher_step.py                     # darts, gdas, pcdarts
    .venv/bin/python benchmarks/searcher_step.py --searchers darts,gdas,pnas --steps 5

The workload is `benchmarks/darts_step.py`'s: the DARTS supernet (`SearchNet`, 8 candidates
on each of 14 edges per cell) at ``--channels`` channels and ``--cells`` cells, batches of
``--batch`` random 3x32x32 images, the DARTS paper's optimizers (Momentum with weight decay
and clipping for the weights, Adam for the alphas). A step is the searcher's
`train_on_batch` on a train and a valid batch, as the run loop calls it: DARTS (first
order) runs the two graphs of the whole supernet, built once; PC-DARTS is DARTS on the
supernet with partial channels (K = 4: a quarter of each edge's channels through its
candidates) and edge normalisation; GDAS draws a path and builds its graphs at every step
(the build is part of its step), ProxylessNAS (REINFORCE) trains a sampled path and
evaluates two more for the architecture.

Each searcher runs in a fresh process (``--side NAME``), alone, so its peak RSS
(``VmHWM``) and the increase over the RSS before the supernet is built are its own.
Time per step: the median and min-max of ``--steps`` steps after one warm-up step (CPU time
of the process too, to show when the machine was shared). The table gives each searcher's
ratios to the first searcher listed (the reference, DARTS by default).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
from darts_step import peak_rss_kib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SEARCHERS = ("darts", "gdas", "pcdarts", "pnas", "pnas_gate")
PC_K = 4  # PC-DARTS's partial channel ratio, the paper's CIFAR-10 setting
IN_CHANNELS, CLASSES, SIZE = 3, 10, 32
WEIGHT_LR, WEIGHT_MOMENTUM, WEIGHT_DECAY, GRAD_CLIP = 0.025, 0.9, 3e-4, 5.0
ARCH_LR, ARCH_BETAS, ARCH_DECAY = 3e-4, (0.5, 0.999), 1e-3


def rss_mb() -> float:
    """The current resident set size (Linux /proc), MB."""
    with open("/proc/self/statm", encoding="ascii") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_mb() -> float:
    """This process's peak RSS, MB (`darts_step.peak_rss_kib`: its own, not inherited)."""
    return peak_rss_kib() / 1024


def searcher_of(name: str, model: Any) -> Any:
    from nnabla_nas.optimizer import Optimizer
    from nnabla_nas.runner.searcher import DartsSearcher, GdasSearcher, ProxylessNasSearcher

    weights = Optimizer(
        model.get_net_parameters(grad_only=True), "momentum", WEIGHT_LR,
        momentum=WEIGHT_MOMENTUM, weight_decay=WEIGHT_DECAY, grad_clip=GRAD_CLIP,
    )  # fmt: skip
    arch = Optimizer(
        model.get_arch_parameters(grad_only=True), "adam", ARCH_LR, betas=ARCH_BETAS,
        weight_decay=ARCH_DECAY,
    )  # fmt: skip
    if name in ("darts", "pcdarts"):
        return DartsSearcher(model, weights, arch)
    if name == "gdas":
        return GdasSearcher(model, weights, arch, tau_max=10.0, tau_min=0.1, epochs=50)
    if name == "pnas_gate":  # the binary gates' step: a path's and a gated pair's graphs
        return ProxylessNasSearcher(model, weights, arch, gradient="binary_gate")
    return ProxylessNasSearcher(model, weights, arch, gradient="reinforce", samples=2)


def side(args: argparse.Namespace) -> dict[str, Any]:
    """One searcher's steps in this process; returns its figures."""
    from nnabla_nas.contrib.darts import SearchNet
    from nnabla_nas.utils.rng import parameter_seed

    rng = np.random.default_rng(0)

    def batch() -> tuple[np.ndarray, np.ndarray]:
        x = rng.standard_normal((args.batch, IN_CHANNELS, SIZE, SIZE)).astype(np.float32)
        return x, rng.integers(0, CLASSES, (args.batch, 1))

    batches = {"train": batch(), "valid": batch()}
    before = rss_mb()
    pc = args.side == "pcdarts"
    with parameter_seed(0):
        model = SearchNet(
            IN_CHANNELS, args.channels, args.cells, CLASSES, rng=0,
            partial_channels=PC_K if pc else 1, edge_normalization=pc,
        )  # fmt: skip
    searcher = searcher_of(args.side, model)
    searcher.start_epoch(0, np.random.default_rng(1))
    walls, cpus = [], []
    for _ in range(args.steps + 1):  # the first is a warm-up
        t0, c0 = time.perf_counter(), time.process_time()
        metrics = searcher.train_on_batch(batches)
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
        if not np.isfinite(metrics["loss"]):
            raise RuntimeError(f"{args.side}: the loss is not finite: {metrics}")
    peak = peak_mb()
    return {
        "searcher": args.side, "wall": walls[1:], "cpu": cpus[1:], "peak_mb": peak,
        "increase_mb": peak - before,
    }  # fmt: skip


def run_side(name: str, args: argparse.Namespace) -> dict[str, Any]:
    argv = [sys.executable, os.path.abspath(__file__), "--side", name,
            "--channels", str(args.channels), "--cells", str(args.cells),
            "--batch", str(args.batch), "--steps", str(args.steps)]  # fmt: skip
    done = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT, check=False)
    if done.returncode != 0:
        sys.exit(f"{name} failed:\n{done.stderr[-2000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    p.add_argument("--searchers", default="darts,gdas,pcdarts", help=f"of {', '.join(SEARCHERS)}")
    p.add_argument("--channels", type=int, default=16)
    p.add_argument("--cells", type=int, default=5)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--steps", type=int, default=3, help="timed steps after a warm-up step")
    p.add_argument("--side", choices=SEARCHERS, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    names = [n.strip() for n in args.searchers.split(",") if n.strip()]
    unknown = [n for n in names if n not in SEARCHERS]
    if unknown or not names:
        p.error(f"--searchers: unknown {unknown}; use some of {', '.join(SEARCHERS)}")
    if min(args.channels, args.cells, args.batch, args.steps) < 1:
        p.error("--channels, --cells, --batch and --steps must be at least 1")
    args.names = names
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.side:
        print(json.dumps(side(args)))
        return 0
    import nnabla as nn

    u = platform.uname()
    print(f"machine: {u.system} {u.machine}, {os.cpu_count()} CPUs, nnabla {nn.__version__}, "
          f"load {os.getloadavg()[0]:.2f}")  # fmt: skip
    print(
        f"workload: DARTS supernet, {args.channels} channels, {args.cells} cells, batch "
        f"{args.batch} of 3x{SIZE}x{SIZE}; {args.steps} timed steps after a warm-up, each "
        "searcher in a fresh process\n"
    )
    rows = [run_side(name, args) for name in args.names]
    ref = rows[0]
    ref_time, ref_peak = statistics.median(ref["wall"]), ref["peak_mb"]
    print(
        f"{'searcher':<8} {'step s':>7} {'min-max':^13} {'cpu s':>6} {'x ' + ref['searcher']:>8} "
        f"{'peak MB':>8} {'+MB':>6} {'x ' + ref['searcher']:>8}"
    )
    for r in rows:
        wall = statistics.median(r["wall"])
        print(
            f"{r['searcher']:<8} {wall:>7.2f} {min(r['wall']):>6.2f}-{max(r['wall']):<6.2f} "
            f"{statistics.median(r['cpu']):>6.2f} {wall / ref_time:>8.2f} {r['peak_mb']:>8.0f} "
            f"{r['increase_mb']:>6.0f} {r['peak_mb'] / ref_peak:>8.2f}"
        )
    print(
        "  step s: median wall time of a step; cpu s: its CPU time; +MB: the peak RSS over "
        "the RSS before the supernet was built"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
