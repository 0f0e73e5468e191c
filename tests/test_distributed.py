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
kind, out = sys.argv[1], sys.argv[2]
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


if kind == "train":  # 5 steps of a network with batch normalization
    net = Net()
    opt = Optimizer(net.get_net_parameters(grad_only=True), "momentum", 0.1, communicator=comm)
    algo = Trainer(net, opt, communicator=comm)
    loaders = {"train": loader(data(40, (2, 4, 4), 3), 0)}
else:  # 3 steps of first-order DARTS: weights on one split, alphas on the other
    net = SearchNet(in_channels=1, init_channels=4, num_cells=3, num_classes=10, rng=0)
    algo = DartsSearcher(
        net,
        Optimizer(net.get_net_parameters(grad_only=True), "momentum", 0.05, communicator=comm),
        Optimizer(net.get_arch_parameters(grad_only=True), "adam", 3e-3, communicator=comm),
        communicator=comm,
    )
    loaders = {"train": loader(data(24, (1, 8, 8), 10), 0),
               "valid": loader(data(24, (1, 8, 8), 10), 1)}
last = Loop(algo, loaders, epochs=1, progress=False, log=False).run()
if comm.rank == 0:
    np.savez(out, **{k: p.d for k, p in net.get_parameters().items()})
    print(last["train/loss"])
"""


def run(argv, cwd):
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.mark.parametrize("kind, atol", [("train", 1e-6), ("darts", 5e-6)])
def test_two_processes_step_as_one_with_the_same_global_batch(kind, atol, tmp_path):
    script = tmp_path / "steps.py"
    script.write_text(STEPS)
    one, two = str(tmp_path / "one.npz"), str(tmp_path / "two.npz")
    loss_one = float(run([sys.executable, str(script), kind, one], tmp_path))
    loss_two = float(run([MPIEXEC, "-n", "2", sys.executable, str(script), kind, two], tmp_path))
    a, b = np.load(one), np.load(two)
    assert sorted(a) == sorted(b) and any("alpha" in k for k in a) == (kind == "darts")
    for key in a:
        np.testing.assert_allclose(b[key], a[key], atol=atol, rtol=1e-5, err_msg=key)
    assert loss_two == pytest.approx(loss_one, rel=1e-5)  # the mean over both shards


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
