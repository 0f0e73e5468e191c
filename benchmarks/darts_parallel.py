"""Data-parallel DARTS: the throughput of N MPI processes against one process.

Run from the repository root (needs the ``mpi`` extra, which ``make install`` installs)::

    .venv/bin/python benchmarks/darts_parallel.py                  # 1 process, then 2 ranks
    .venv/bin/python benchmarks/darts_parallel.py --ranks 2,4 --steps 5

Each run builds the DARTS supernet of ``benchmarks/darts_step.py`` (16 channels, 5 cells,
global batch 16 of 3x32x32 by default) with `DartsSearcher` and times first-order search
steps (an architecture step, then a weight step) after a warm-up. The single process runs
without MPI; ``--ranks N`` runs ``mpiexec -n N``, every rank taking its 16/N images of
each batch and the gradients averaged by one allreduce per update, as ``mpiexec -n N
nnabla-nas search`` does, with batch normalization in both of its modes: per process
(``sync_batch_norm: false``, the default; the running statistics averaged with the
gradients) and synchronised (``true``: the whole batch's statistics, one allreduce per
layer in the forward and in the backward). A step's time is rank 0's; each rank waits for
the others at every allreduce, so it is the slowest rank's.

Prints, per run: the median and min-max step time, samples per second, the speed-up over
the single process of the same run, every rank's peak RSS, and the losses of the first
step (equal up to float rounding: the runs compute the same step). Target on 2 cores: 2
ranks at least 1.7x the throughput of one process. Run it on an otherwise idle machine:
a rank that loses its core stalls every other at the next allreduce.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TARGET = 1.7


def worker(args: argparse.Namespace) -> None:
    """One process of a run: builds the searcher, times its steps, rank 0 writes the JSON."""
    sys.path.insert(0, HERE)
    import darts_step as D

    from nnabla_nas.optimizer import Optimizer
    from nnabla_nas.runner.searcher import DartsSearcher
    from nnabla_nas.utils.distributed import world

    comm = world("cpu") if args.mpi else None
    setup = D.Setup(args.channels, args.cells, args.batch, args.size, seed=0)
    rank, size = (comm.rank, comm.size) if comm is not None else (0, 1)
    share = args.batch // size
    batches = {  # this process's contiguous part of each global batch, as DataLoader's shard
        k: (x[rank * share : (rank + 1) * share], y[rank * share : (rank + 1) * share])
        for k, (x, y) in D.make_batches(setup).items()
    }
    model = D.framework_net(setup)
    weights = Optimizer(
        model.get_net_parameters(grad_only=True), "momentum", D.WEIGHT_LR,
        momentum=D.WEIGHT_MOMENTUM, weight_decay=D.WEIGHT_DECAY, grad_clip=D.GRAD_CLIP,
    )  # fmt: skip
    arch = Optimizer(
        model.get_arch_parameters(grad_only=True), "adam", D.ARCH_LR,
        betas=D.ARCH_BETAS, eps=D.ARCH_EPS, weight_decay=D.ARCH_DECAY,
    )  # fmt: skip
    searcher = DartsSearcher(model, weights, arch, communicator=comm, sync_batch_norm=args.sync)
    first = searcher.comm.mean(searcher.train_on_batch(batches))  # builds the graphs
    for _ in range(args.warmup - 1):
        searcher.train_on_batch(batches)
    times = []
    for _ in range(args.steps):
        if comm is not None:
            comm.barrier()
        start = time.perf_counter()
        searcher.train_on_batch(batches)
        times.append(time.perf_counter() - start)
    peak = D.peak_rss_kib() / 1024
    peaks = [peak]
    if comm is not None:
        from mpi4py import MPI

        peaks = MPI.COMM_WORLD.gather(peak, root=0)
    if comm is None or comm.rank == 0:
        with open(args.out, "w") as f:
            json.dump({"times": times, "peaks": peaks, "first": first}, f)


def launch(ranks: int, sync: bool, args: argparse.Namespace, out: str) -> dict:
    """Runs one measurement in fresh processes and returns rank 0's figures."""
    command = [
        sys.executable, os.path.abspath(__file__), "--worker", "--out", out,
        "--channels", str(args.channels), "--cells", str(args.cells),
        "--batch", str(args.batch), "--size", str(args.size),
        "--steps", str(args.steps), "--warmup", str(args.warmup),
    ]  # fmt: skip
    if ranks > 1:
        mpiexec = shutil.which("mpiexec", path=os.path.dirname(sys.executable))
        if mpiexec is None:
            sys.exit("darts_parallel.py: no mpiexec next to this Python; install the mpi extra")
        command = [mpiexec, "-n", str(ranks), *command, "--mpi", *(["--sync"] if sync else [])]
    subprocess.run(command, check=True)
    with open(out) as f:
        return json.load(f)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--ranks", default="2", help="process counts to compare with one (2)")
    p.add_argument("--channels", type=int, default=16)
    p.add_argument("--cells", type=int, default=5)
    p.add_argument("--batch", type=int, default=16, help="global batch (train and valid)")
    p.add_argument("--size", type=int, default=32)
    p.add_argument("--steps", type=int, default=5, help="timed steps")
    p.add_argument("--warmup", type=int, default=1, help="untimed steps first (>= 1)")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--mpi", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--sync", action="store_true", help=argparse.SUPPRESS)
    p.add_argument(
        "--batch-norm", default="local,synced", help="modes under MPI: local, synced or both"
    )
    p.add_argument("--out", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        worker(args)
        return
    counts = [int(n) for n in args.ranks.split(",")]
    modes = args.batch_norm.split(",")
    if args.warmup < 1 or any(n < 2 or args.batch % n for n in counts):
        sys.exit("darts_parallel.py: --warmup >= 1; each of --ranks >= 2 and divides --batch")
    if not set(modes) <= {"local", "synced"}:
        sys.exit("darts_parallel.py: --batch-norm takes local, synced or local,synced")
    print(
        f"DARTS first-order step, {args.channels} channels, {args.cells} cells, global batch "
        f"{args.batch} of 3x{args.size}x{args.size}; {args.steps} steps after {args.warmup}; "
        f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f} at the start\n"
    )
    print(
        f"{'processes':>9} {'batch norm':>10} {'step s (median)':>15} {'min-max':>13} "
        f"{'samples/s':>9} "
        f"{'speed-up':>8}  {'peak RSS MB per rank':<22} first step: arch loss, loss"
    )
    base = None
    with tempfile.TemporaryDirectory() as folder:
        runs = [(1, "-"), *((n, mode) for n in counts for mode in modes)]
        for n, mode in runs:
            result = launch(n, mode == "synced", args, os.path.join(folder, f"{n}{mode}.json"))
            median = statistics.median(result["times"])
            rate = args.batch / median
            base = base or rate
            peaks = ", ".join(f"{m:.0f}" for m in result["peaks"])
            first, low, high = result["first"], min(result["times"]), max(result["times"])
            print(
                f"{n:>9} {mode:>10} {median:>15.2f} {low:>6.2f}-{high:<6.2f} "
                f"{rate:>9.2f} {rate / base:>7.2f}x  {peaks:<22} "
                f"{first['arch_loss']:.6f}, {first['loss']:.6f}",
                flush=True,
            )
    print(f"\ntarget: {TARGET}x the single process's samples per second with 2 ranks")


if __name__ == "__main__":
    main()
