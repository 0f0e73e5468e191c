"""The run loop: hooks, metric averaging, per-epoch seeding, non-finite losses."""

import logging
import math
import os

import numpy as np
import pytest

from nnabla_nas import module as Mo
from nnabla_nas.contrib.model import Model
from nnabla_nas.dataset import ArrayDataset, DataLoader
from nnabla_nas.optimizer import Optimizer
from nnabla_nas.runner.loop import Callback, Loop, NonFiniteLossError, StepLog, epoch_rng
from nnabla_nas.runner.trainer import Trainer
from nnabla_nas.utils.checkpoint import Checkpointer, CheckpointError


class Net(Model):
    def __init__(self):
        self._body = Mo.Sequential(
            Mo.GlobalAvgPool(), Mo.Linear(2, 3, rng=np.random.RandomState(0))
        )

    def call(self, x):
        return self._body(x)


def loader(n=24, batch=8, seed=0):
    rng = np.random.default_rng(seed)
    data = ArrayDataset(rng.normal(size=(n, 2, 4, 4)), rng.integers(0, 3, n), classes=3)
    return DataLoader(data, batch, shuffle=True, seed=seed)


class Recorder(Callback):
    def __init__(self):
        self.calls = []

    def on_run_start(self, loop):
        self.calls.append(("run_start", loop.start_epoch))

    def on_epoch_start(self, loop, epoch):
        self.calls.append(("epoch_start", epoch))

    def on_batch_end(self, loop, epoch, step, metrics):
        self.calls.append(("batch", epoch, step))

    def on_epoch_end(self, loop, epoch, metrics):
        self.calls.append(("epoch_end", epoch))

    def on_run_end(self, loop, metrics):
        self.calls.append(("run_end",))


def trainer(lr=0.1):
    net = Net()
    return Trainer(net, Optimizer(net.get_net_parameters(grad_only=True), "sgd", lr))


def test_hooks_run_in_order_and_metrics_are_sample_weighted():
    recorder = Recorder()
    eval_loader = DataLoader(loader(n=10).dataset, 4, shuffle=False, seed=0, drop_last=False)
    loop = Loop(
        trainer(),
        {"train": loader()},
        epochs=2,
        eval_loader=eval_loader,
        callbacks=[recorder],
        progress=False,
    )
    last = loop.run()
    batches = [("batch", e, s) for e in range(2) for s in range(3)]
    assert recorder.calls == [
        ("run_start", 0),
        ("epoch_start", 0),
        *batches[:3],
        ("epoch_end", 0),
        ("epoch_start", 1),
        *batches[3:],
        ("epoch_end", 1),
        ("run_end",),
    ]
    assert last == loop.history[-1] and last["epoch"] == 2.0  # numbered from 1
    # Batches of 4, 4 and 2 samples: the mean weighs each sample once.
    rows = [loop.algorithm.valid_on_batch(b) for b in eval_loader]
    expected = (4 * rows[0]["loss"] + 4 * rows[1]["loss"] + 2 * rows[2]["loss"]) / 10
    assert math.isclose(last["valid/loss"], expected, rel_tol=1e-6)


def test_epoch_noise_depends_on_seed_and_epoch_only():
    draws = {float(epoch_rng(s, e).random()) for s in range(3) for e in range(3)}
    assert len(draws) == 9
    assert epoch_rng(1, 2).random() == epoch_rng(1, 2).random()
    # Not the stream a loader with the same seed shuffles an epoch with.
    order = np.random.default_rng([1, 2]).permutation(10)
    assert not np.array_equal(epoch_rng(1, 2).permutation(10), order)


class NaNAt(Trainer):
    """Reports a NaN loss at one step, as a diverging run would."""

    def train_on_batch(self, batch):
        result = super().train_on_batch(batch)
        self.calls = getattr(self, "calls", 0) + 1
        return {**result, "loss": float("nan")} if self.calls == 5 else result


def test_non_finite_loss_stops_with_step_and_last_good_checkpoint(tmp_path):
    net = Net()
    algo = NaNAt(net, Optimizer(net.get_net_parameters(grad_only=True), "sgd", 0.1))
    ck = Checkpointer(str(tmp_path))
    loop = Loop(algo, {"train": loader()}, epochs=3, checkpointer=ck, progress=False)
    # Epochs and steps are numbered from 1 in messages.
    with pytest.raises(NonFiniteLossError, match=r"in epoch 2 at step 2.*epoch_0001"):
        loop.run()
    assert ck.latest().endswith("epoch_0001")
    assert Checkpointer.read_state(ck.latest())["epoch"] == 1  # epochs done


class NaNEval(Trainer):
    """Evaluates to a NaN loss in its second epoch, as a diverged network does."""

    def on_epoch_start(self, epoch):
        self.epoch = epoch

    def valid_on_batch(self, batch):
        result = super().valid_on_batch(batch)
        return {**result, "loss": float("nan")} if self.epoch == 1 else result


def test_a_non_finite_evaluation_loss_stops_the_run_too(tmp_path):
    net = Net()
    algo = NaNEval(net, Optimizer(net.get_net_parameters(grad_only=True), "sgd", 0.1))
    ck = Checkpointer(str(tmp_path))
    loop = Loop(algo, {"train": loader()}, epochs=3, eval_loader=loader(), checkpointer=ck,
                progress=False)  # fmt: skip
    with pytest.raises(NonFiniteLossError, match=r"in epoch 2 in the evaluation.*epoch_0001"):
        loop.run()
    assert sorted(os.listdir(tmp_path)) == ["epoch_0001", "latest.json"]


def test_resume_refuses_a_checkpoint_of_another_network(tmp_path):
    ck = Checkpointer(str(tmp_path))
    Loop(trainer(), {"train": loader()}, epochs=1, checkpointer=ck, progress=False,
         fingerprint="aaaa").run()  # fmt: skip
    other = Loop(trainer(), {"train": loader()}, epochs=2, checkpointer=ck, progress=False,
                 fingerprint="bbbb")  # fmt: skip
    with pytest.raises(CheckpointError, match=r"holds another network \(fingerprint aaaa"):
        other.run(resume=True)
    same = Loop(trainer(), {"train": loader()}, epochs=2, checkpointer=ck, progress=False,
                fingerprint="aaaa")  # fmt: skip
    same.run(resume=True)
    assert same.start_epoch == 1


def test_resume_continues_after_the_last_checkpoint(tmp_path):
    ck = Checkpointer(str(tmp_path))
    full = Loop(trainer(), {"train": loader()}, epochs=3, progress=False)
    full.run()
    first = Loop(trainer(), {"train": loader()}, epochs=2, checkpointer=ck, progress=False)
    first.run()
    recorder = Recorder()
    rest = Loop(
        trainer(),
        {"train": loader()},
        epochs=3,
        checkpointer=ck,
        callbacks=[recorder],
        progress=False,
    )
    last = rest.run(resume=True)
    assert recorder.calls[0] == ("run_start", 2)
    assert last["train/loss"] == full.history[-1]["train/loss"]


def test_step_log_writes_a_line_every_period_with_the_mean_losses(caplog):
    now = [0.0]
    log = StepLog(logging.getLogger("nnabla_nas"), "epoch 2/5", 10, every=30.0,
                  clock=lambda: now[0])  # fmt: skip
    with caplog.at_level(logging.INFO, logger="nnabla_nas"):
        for step, t in enumerate([10.0, 20.0, 31.0, 45.0, 62.0], start=1):
            now[0] = t
            log.step(step, {"loss": float(step), "error": 0.5})
    lines = [r.getMessage() for r in caplog.records]
    # Lines at 31 s (step 3) and 62 s (step 5): the losses so far average 2.0 and 3.0.
    assert lines == [
        "epoch 2/5: step 3/10, 31 s spent, about 72 s left; mean loss 2.0000",
        "epoch 2/5: step 5/10, 62 s spent, about 62 s left; mean loss 3.0000",
    ]


@pytest.mark.parametrize("progress", [True, False])
def test_progress_off_a_terminal_is_log_lines(progress, caplog):
    # pytest captures stderr, so it is no terminal: the loop logs instead of drawing a bar.
    loop = Loop(trainer(), {"train": loader()}, epochs=1, progress=progress, log_every=0.0)
    with caplog.at_level(logging.INFO, logger="nnabla_nas"):
        loop.run()
    lines = [r.getMessage() for r in caplog.records if "step" in r.getMessage()]
    # 3 steps: a line after each but the last, which the epoch's own metrics follow.
    expected = ["epoch 1/1: step 1/3", "epoch 1/1: step 2/3"] if progress else []
    assert [line.split(",")[0] for line in lines] == expected
    assert all("mean loss" in line for line in lines)


def test_a_loop_logs_its_epochs_by_default(caplog):
    with caplog.at_level(logging.INFO, logger="nnabla_nas"):
        Loop(trainer(), {"train": loader()}, epochs=2, progress=False).run()
        quiet = len(caplog.records)
        Loop(trainer(), {"train": loader()}, epochs=1, progress=False, log=False).run()
    lines = [r.getMessage() for r in caplog.records]
    assert lines[0].endswith("2 epochs, 9 weights")  # Linear(2, 3): 6 weights and 3 biases
    assert [line.split(" ")[:2] for line in lines[1:]] == [["epoch", "1/2"], ["epoch", "2/2"]]
    assert "train/loss=" in lines[1] and len(caplog.records) == quiet == 3
