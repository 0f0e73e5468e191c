"""Data parallel over MPI: two processes compute what one does, step for step.

Run with ``mpiexec -n 2`` in subprocesses; skipped where mpi4py or mpiexec is missing (the
``mpi`` extra; ``make install`` installs it). Over whole epochs the two differ by float
rounding (sums over shards are added in another order), which training amplifies, so the
comparisons are of a few steps, where the difference stays at float32's resolution.
"""

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import yaml

pytest.importorskip(
    "mpi4py", reason="data parallel needs the mpi extra: pip install nnabla-nas[mpi]"
)
MPIEXEC = shutil.which("mpiexec", path=os.path.dirname(sys.executable)) or shutil.which("mpiexec")
if MPIEXEC is None:
    pytest.skip("no mpiexec (the mpi extra installs MPICH's)", allow_module_level=True)

STEPS = """
import sys
import numpy as np
from nnabla_nas import module as Mo
from nnabla_nas.contrib.darts import SearchNet
from nnabla_nas.contrib.model import Model
from nnabla_nas.dataset import ArrayDataset, DataLoader
from nnabla_nas.optimizer import Optimizer
from nnabla_nas.runner.loop import Loop
from nnabla_nas.runner.searcher import DartsSearcher
from nnabla_nas.runner.trainer import Trainer
from nnabla_nas.utils.distributed import world

comm = world("cpu")
kind, out, synced, samples = sys.argv[1], sys.argv[2], sys.argv[3] == "synced", int(sys.argv[4])
rng = np.random.default_rng(0)


def data(n, shape, classes):
    x = rng.normal(size=(n, *shape)).astype(np.float32)
    return ArrayDataset(x, rng.integers(0, classes, n), classes=classes)


def loader(dataset, seed):
    return DataLoader(dataset, 8, shuffle=True, seed=seed, shard=(comm.rank, comm.size))


class Net(Model):
    def __init__(self):
        r = np.random.RandomState(0)
        self._b = Mo.Sequential(
            Mo.Conv(2, 4, (3, 3), pad=(1, 1), rng=r), Mo.BatchNormalization(4, 4), Mo.ReLU(),
            Mo.GlobalAvgPool(), Mo.Linear(4, 3, rng=r),
        )

    def call(self, x):
        return self._b(x)


if kind == "train":  # samples / 8 steps of a network with batch normalization
    net = Net()
    opt = Optimizer(net.get_net_parameters(grad_only=True), "momentum", 0.1, communicator=comm)
    algo = Trainer(net, opt, communicator=comm, sync_batch_norm=synced)
    loaders = {"train": loader(data(samples, (2, 4, 4), 3), 0)}
else:  # 3 steps of DARTS (darts2: second order): weights on one split, alphas on the other
    net = SearchNet(in_channels=1, init_channels=4, num_cells=3, num_classes=10, rng=0)
    algo = DartsSearcher(
        net,
        Optimizer(net.get_net_parameters(grad_only=True), "momentum", 0.05, communicator=comm),
        Optimizer(net.get_arch_parameters(grad_only=True), "adam", 3e-3, communicator=comm),
        communicator=comm,
        sync_batch_norm=synced,
        unrolled=kind == "darts2",
    )
    loaders = {"train": loader(data(samples, (1, 8, 8), 10), 0),
               "valid": loader(data(samples, (1, 8, 8), 10), 1)}
last = Loop(algo, loaders, epochs=1, progress=False, log=False).run()
np.savez(f"{out}.{comm.rank}.npz", **{k: p.d for k, p in net.get_parameters().items()})
if comm.rank == 0:
    print(last["train/loss"])
"""


def run(argv, cwd):
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def steps(tmp_path, kind, processes, batch_norm, samples=40):
    """Runs the steps in one process or under mpiexec; returns the final loss and each
    rank's parameters."""
    script = tmp_path / "steps.py"
    script.write_text(STEPS)
    out = str(tmp_path / f"{kind}-{processes}-{batch_norm}")
    argv = [sys.executable, str(script), kind, out, batch_norm, str(samples)]
    mpi = [MPIEXEC, "-n", str(processes)] if processes > 1 else []
    loss = float(run([*mpi, *argv], tmp_path))
    return loss, [dict(np.load(f"{out}.{rank}.npz")) for rank in range(processes)]


# Second-order DARTS is compared after one step: from the second on, the finite-difference
# Hessian term (a difference of gradients divided by 2 eps) magnifies float rounding (its
# weights differ by 6e-5 after two steps, 1e-6 with xi = 0, which drops that term).
@pytest.mark.parametrize(
    "kind, samples, atol", [("train", 40, 1e-6), ("darts", 24, 5e-6), ("darts2", 8, 1e-6)]
)
def test_two_processes_step_as_one_with_the_same_global_batch(kind, samples, atol, tmp_path):
    loss_one, [a] = steps(tmp_path, kind, 1, "synced", samples)
    loss_two, [b, _] = steps(tmp_path, kind, 2, "synced", samples)
    assert sorted(a) == sorted(b) and any("alpha" in k for k in a) == kind.startswith("darts")
    for key in a:
        np.testing.assert_allclose(b[key], a[key], atol=atol, rtol=1e-5, err_msg=key)
    assert loss_two == pytest.approx(loss_one, rel=1e-5)  # the mean over both shards


def test_per_process_batch_norm_keeps_the_processes_equal_and_averages_running_statistics(
    tmp_path,
):
    _, [one] = steps(tmp_path, "train", 1, "local", samples=8)  # one step of batch 8
    _, [rank0, rank1] = steps(tmp_path, "train", 2, "local", samples=8)
    for key in one:
        np.testing.assert_array_equal(rank0[key], rank1[key], err_msg=key)  # one model
    mean = next(k for k in one if k.endswith("_mean"))
    variance = mean.replace("_mean", "_var")
    # The first layer's running mean: the mean of the shards' means is the batch's mean.
    np.testing.assert_allclose(rank0[mean], one[mean], atol=1e-6)
    # Its variance is the mean of the shards' variances, without the spread of their means.
    assert not np.allclose(rank0[variance], one[variance], atol=1e-4)
    # Each shard normalised by its own statistics: the weights moved otherwise.
    weight = next(k for k in one if k.endswith("_W"))
    assert not np.allclose(rank0[weight], one[weight], atol=1e-6)


def test_a_search_under_mpiexec_writes_one_run_folder_and_refuses_other_searchers(tmp_path):
    config = {
        "seed": 0, "epochs": 1, "searcher": "darts",
        "dataset": {"name": "digits", "batch_size": 64, "test_fraction": 0.5},
        "model": {"name": "darts", "init_channels": 4, "num_cells": 3, "num_choices": 2,
                  "multiplier": 2, "stem_multiplier": 1},
        "darts": {"hessian_iterations": 1},
    }  # fmt: skip
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(config))
    cli = [MPIEXEC, "-n", "2", sys.executable, "-m", "nnabla_nas", "search", "-c", str(path)]
    run([*cli, "-o", str(tmp_path / "run"), "--no-progress"], tmp_path)
    manifest = json.loads((tmp_path / "run" / "run.json").read_text())
    assert manifest["status"] == "finished" and (tmp_path / "run" / "arch.json").is_file()
    metrics = (tmp_path / "run" / "metrics.csv").read_text().splitlines()
    assert len(metrics) == 2  # one header, one epoch: written once, by rank 0
    done = subprocess.run([*cli, "-o", str(tmp_path / "gdas"), "searcher=gdas"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=240)  # fmt: skip
    assert done.returncode != 0 and "gdas" in done.stderr
    assert not (tmp_path / "gdas").exists()
