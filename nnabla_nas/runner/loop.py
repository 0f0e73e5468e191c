"""`Loop`: the one training loop. Searchers and trainers plug in; extensions are callbacks."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Protocol

import numpy as np
from tqdm import tqdm

from ..utils.checkpoint import Checkpointer, CheckpointError
from .algorithm import Algorithm, Batch


class Loader(Protocol):
    def set_epoch(self, epoch: int) -> None: ...
    def __len__(self) -> int: ...
    def __iter__(self) -> Any: ...


class NonFiniteLossError(RuntimeError):
    """A loss became NaN or infinite; the run stopped without overwriting any checkpoint."""


class Callback:
    """Extends the loop. Every hook is a no-op; override the ones you need."""

    def on_run_start(self, loop: Loop) -> None:
        """Before the first epoch (of this process: after resuming, `loop.start_epoch` > 0)."""

    def on_epoch_start(self, loop: Loop, epoch: int) -> None:
        """Before the batches of `epoch`."""

    def on_batch_end(self, loop: Loop, epoch: int, step: int, metrics: dict[str, float]) -> None:
        """After each training step with that step's metrics."""

    def on_epoch_end(self, loop: Loop, epoch: int, metrics: dict[str, float]) -> None:
        """After training and evaluation of `epoch`, before its checkpoint is written."""

    def on_run_end(self, loop: Loop, metrics: dict[str, float]) -> None:
        """After the last epoch, with its metrics."""


class LogCallback(Callback):
    """Writes one line of metrics per epoch to the loop's logger."""

    def on_run_start(self, loop: Loop) -> None:
        count = loop.algorithm.model.count_parameters()
        first = f"from epoch {loop.start_epoch + 1}, " if loop.start_epoch else ""
        loop.logger.info(f"{first}{loop.epochs} epochs, {count} weights")

    def on_epoch_end(self, loop: Loop, epoch: int, metrics: dict[str, float]) -> None:
        text = " ".join(f"{k}={v:.4g}" for k, v in metrics.items() if k != "epoch")
        loop.logger.info(f"epoch {epoch + 1}/{loop.epochs} {text}")


# Tells the algorithm's noise stream of an epoch apart from the loaders' orders, which
# derive from ``[loader seed, epoch]``.
_NOISE_STREAM = 0x6E6F6973


def epoch_rng(seed: int, epoch: int) -> np.random.Generator:
    """The generator of one epoch's graph noise, so a resumed run repeats the epochs it
    has not done exactly."""
    return np.random.default_rng([seed, epoch, _NOISE_STREAM])


def _mean(rows: Sequence[tuple[int, dict[str, float]]]) -> dict[str, float]:
    total = sum(n for n, _ in rows)
    keys = rows[0][1].keys() if rows else []
    return {k: sum(n * m[k] for n, m in rows) / total for k in keys}


class StepLog:
    """Progress as log lines, for output that is not a terminal (a batch job, a pipe).

    A progress bar there prints nothing until the epoch ends (or a line per refresh); this
    logs one line every `every` seconds of training: the step, the time spent and left,
    and the running mean of the losses.
    """

    def __init__(
        self,
        logger: logging.Logger,
        desc: str,
        total: int,
        every: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.logger, self.desc, self.total, self.every, self.clock = (
            logger, desc, total, every, clock,
        )  # fmt: skip
        self.start = self.last = clock()
        self.sums: dict[str, float] = {}

    def step(self, done: int, metrics: Mapping[str, float]) -> None:
        """Records step `done` (counted from 1) and logs a line when `every` has passed."""
        for key, value in metrics.items():
            if "loss" in key:
                self.sums[key] = self.sums.get(key, 0.0) + value
        now = self.clock()
        if now - self.last < self.every or done >= self.total:
            return
        self.last = now
        spent = now - self.start
        left = spent / done * (self.total - done)
        losses = ", ".join(f"{k} {v / done:.4f}" for k, v in self.sums.items())
        self.logger.info(
            f"{self.desc}: step {done}/{self.total}, {spent:.0f} s spent, about {left:.0f} s "
            f"left" + (f"; mean {losses}" if losses else "")
        )


class Loop:
    """Runs `algorithm` for `epochs`, evaluating, logging and checkpointing each epoch.

    Args:
        algorithm: a `Searcher` or `Trainer`.
        train_loaders: loaders iterated together, one step per tuple of batches; the
            algorithm receives them by name (DARTS uses ``'train'`` and ``'valid'``).
        epochs: the number of epochs of the whole run.
        eval_loader: the held-out data evaluated after each epoch.
        callbacks: extensions (logging, TensorBoard, architecture snapshots, ...).
        checkpointer: where the state after each epoch goes; ``run(resume=True)``
            continues from its latest checkpoint.
        seed: with the epoch, seeds the generator of each epoch's graph noise
            (`epoch_rng`), which the algorithm draws from.
        eval_name: the metric prefix of `eval_loader` (``'valid'``, or ``'test'`` when
            the held-out data is the test set).
        fingerprint: identifies the network the checkpoints hold (e.g. a hash of the space,
            its options and the architecture); stored in each checkpoint and checked when
            resuming, so that a checkpoint of another network is never loaded into this one.
        progress: show the progress of each epoch: a bar on a terminal, else a log line
            every `log_every` seconds (`StepLog`).
        log: log a line of metrics per epoch at INFO (a `LogCallback` is added unless
            `callbacks` has one); nnabla's console handler on the root logger shows it.

    Under data parallel (the algorithm's communicator), every process runs the loop on its
    shards; the metrics are means over the processes, and only rank 0 calls the callbacks
    and writes checkpoints (each process reads the checkpoint it resumes from).
    """

    def __init__(
        self,
        algorithm: Algorithm,
        train_loaders: Mapping[str, Loader],
        *,
        epochs: int,
        eval_loader: Loader | None = None,
        callbacks: Iterable[Callback] = (),
        checkpointer: Checkpointer | None = None,
        seed: int = 0,
        progress: bool = True,
        logger: logging.Logger | None = None,
        eval_name: str = "valid",
        fingerprint: str | None = None,
        log_every: float = 30.0,
        log: bool = True,
    ) -> None:
        self.algorithm = algorithm
        self.train_loaders = dict(train_loaders)
        self.eval_loader = eval_loader
        self.epochs = epochs
        self.callbacks = list(callbacks)
        if log and not any(isinstance(c, LogCallback) for c in self.callbacks):
            self.callbacks.append(LogCallback())
        self.log = log
        self.checkpointer = checkpointer
        self.seed = seed
        self.progress = progress
        self.logger = logger or logging.getLogger("nnabla_nas")
        self.eval_name = eval_name
        self.fingerprint = fingerprint
        self.log_every = log_every
        self.start_epoch = 0
        self.history: list[dict[str, float]] = []

    def run(self, resume: bool = False) -> dict[str, float]:
        """Runs the remaining epochs and returns the metrics of the last one."""
        self.start_epoch = self._resume() if resume else 0
        # Every process starts from rank 0's parameters (they were seeded alike anyway).
        parameters = self.algorithm.model.get_parameters().values()
        self.algorithm.comm.broadcast([p.data for p in parameters])
        self._emit("on_run_start")
        metrics: dict[str, float] = {}
        for epoch in range(self.start_epoch, self.epochs):
            metrics = self.run_epoch(epoch)
            self.history.append(metrics)
            reason = self.algorithm.stop_reason()
            if reason:
                self.logger.warning(f"stopped after epoch {epoch + 1}/{self.epochs}: {reason}")
                break
        self._emit("on_run_end", metrics)
        return metrics

    def run_epoch(self, epoch: int) -> dict[str, float]:
        """Trains and evaluates one epoch, then writes its checkpoint."""
        for loader in [*self.train_loaders.values(), self.eval_loader]:
            if loader is not None:
                loader.set_epoch(epoch)
        self.algorithm.start_epoch(epoch, epoch_rng(self.seed, epoch))
        self._emit("on_epoch_start", epoch)
        # Files, logs and reports number epochs from 1; hooks get the index from 0.
        metrics = {"epoch": float(epoch + 1), **self.algorithm.learning_rates()}
        metrics.update({f"train/{k}": v for k, v in self._train(epoch).items()})
        if self.eval_loader is not None:
            held_out = self.evaluate(self.eval_loader)
            metrics.update({f"{self.eval_name}/{k}": v for k, v in held_out.items()})
            self._check_finite(held_out, epoch, None)
        metrics.update({f"diag/{k}": v for k, v in self.algorithm.epoch_diagnostics().items()})
        self._emit("on_epoch_end", epoch, metrics)
        if self.checkpointer is not None and self.algorithm.comm.rank == 0:
            state: dict[str, Any] = {
                "metrics": metrics, "algorithm": self.algorithm.state_dict(), "numbering": 1,
            }  # fmt: skip
            if self.fingerprint is not None:
                state["fingerprint"] = self.fingerprint
            self.checkpointer.save(epoch + 1, self.algorithm.save, state)
        return metrics

    def evaluate(self, loader: Iterable[Batch]) -> dict[str, float]:
        """Returns the sample-weighted mean metrics of the algorithm over `loader`."""
        rows = [(len(b[1]), self.algorithm.valid_on_batch(b)) for b in loader]
        comm = self.algorithm.comm
        if comm.size == 1:
            return _mean(rows)
        # Shards of a short last batch differ in size: sums over the processes, then means.
        sums = {k: sum(n * m[k] for n, m in rows) for k in (rows[0][1] if rows else {})}
        totals = comm.mean({**sums, " samples": float(sum(n for n, _ in rows))})
        count = totals.pop(" samples")
        return {k: v / count for k, v in totals.items()}

    def _train(self, epoch: int) -> dict[str, float]:
        names = list(self.train_loaders)
        steps = min(len(loader) for loader in self.train_loaders.values())
        batches = zip(*self.train_loaders.values(), strict=False)
        desc = f"epoch {epoch + 1}/{self.epochs}"
        terminal = sys.stderr.isatty()
        bar = tqdm(batches, total=steps, desc=desc, leave=False, dynamic_ncols=True,
                   disable=not (self.progress and terminal))  # fmt: skip
        lines = StepLog(self.logger, desc, steps, self.log_every)
        rows = []
        for step, group in enumerate(bar):
            batch = dict(zip(names, group, strict=True))
            result = self.algorithm.comm.mean(self.algorithm.train_on_batch(batch))
            self._check_finite(result, epoch, step)
            rows.append((len(group[0][1]), result))
            bar.set_postfix({k: f"{v:.3f}" for k, v in result.items() if "loss" in k})
            if self.progress and not terminal:
                lines.step(step + 1, result)
            self._emit("on_batch_end", epoch, step, result)
        return _mean(rows)

    def _check_finite(self, metrics: dict[str, float], epoch: int, step: int | None) -> None:
        """Stops the run at a NaN or infinite loss, before its epoch's checkpoint."""
        bad = {k: v for k, v in metrics.items() if "loss" in k and not np.isfinite(v)}
        if not bad:
            return
        latest = self.checkpointer.latest() if self.checkpointer else None
        where = f"'{latest}'" if latest else "none (no epoch has finished)"
        at = "in the evaluation" if step is None else f"at step {step + 1}"
        raise NonFiniteLossError(
            f"non-finite loss {bad} in epoch {epoch + 1} {at}; the run stopped. "
            f"Last good checkpoint: {where}."
        )

    def _resume(self) -> int:
        folder = self.checkpointer.latest() if self.checkpointer else None
        if folder is None:
            self.logger.warning("no checkpoint to resume from (no epoch had finished): starting "
                                "at the first epoch")  # fmt: skip
            return 0
        state = Checkpointer.read_state(folder)
        stored = state.get("fingerprint")
        if self.fingerprint is not None and stored is not None and stored != self.fingerprint:
            raise CheckpointError(
                f"checkpoint '{folder}' holds another network (fingerprint {stored}, this "
                f"run's is {self.fingerprint}); resume with the run's own config and arch"
            )
        self.algorithm.load(folder)
        self.algorithm.load_state_dict(state.get("algorithm", {}))
        # A checkpoint numbers the epochs done; one without "numbering" counted from 0.
        done = int(state["epoch"]) + (0 if state.get("numbering") == 1 else 1)
        self.logger.info(f"resumed from {folder} ({done} of {self.epochs} epochs done)")
        return done

    def _emit(self, hook: str, *args: Any) -> None:
        if self.algorithm.comm.rank != 0:
            return
        for callback in self.callbacks:
            getattr(callback, hook)(self, *args)
