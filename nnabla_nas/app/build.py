"""Builds the parts of a run from its config: data, transforms, optimizers, costs, context.

Only the application layer knows configs; everything built here takes its settings
through constructors.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import nnabla as nn
from nnabla.ext_utils import get_extension_context

from ..contrib.estimator import ESTIMATORS, LatencyEstimator
from ..contrib.estimator.latency import MIN_CALIBRATION_PATHS
from ..dataset import DATASETS, ArrayDataset, DataLoader, Dataset, split_dataset
from ..dataset import transforms as T
from ..module import Module, find_choices
from ..optimizer import (
    ConstantScheduler,
    CosineScheduler,
    LinearWarmup,
    Optimizer,
    Restarts,
    Scheduler,
    StepScheduler,
)
from ..runner.searcher import Cost
from ..utils.distributed import Communicator, world
from ..utils.io import write_json
from .config import ConfigError, CostConfig, DatasetConfig, OptimizerConfig, RunConfig

logger = logging.getLogger("nnabla_nas")


@dataclass
class Data:
    """The splits of a run: what the loop trains on, what it evaluates, and the test set."""

    train: dict[str, DataLoader]
    eval: DataLoader
    test: DataLoader
    sample_shape: tuple[int, int, int]
    classes: int


def nnabla_context(cfg: RunConfig) -> nn.Context:
    """The nnabla context of the run: ``'cpu'``, or ``'cudnn'`` on GPU `device_id`."""
    try:
        return get_extension_context(cfg.context, device_id=str(cfg.device_id))
    except (ImportError, ValueError) as err:
        raise ConfigError(
            f"context {cfg.context!r} needs nnabla's CUDA extension (pip install "
            f"nnabla-ext-cuda...) matching nnabla {nn.__version__}; it could not be loaded "
            f"({err}). Use --context cpu."
        ) from None


def run_context(cfg: RunConfig) -> tuple[nn.Context, Communicator]:
    """The run's nnabla context and communicator: one process, or, under ``mpiexec``,
    mpi4py's (cpu) or NCCL's (cudnn, each process on the GPU of its local rank)."""
    context = nnabla_context(cfg)
    try:
        comm = world(cfg.context, context)
    except ImportError as err:
        raise ConfigError(str(err)) from None
    if comm.size > 1 and cfg.context == "cudnn":
        context = get_extension_context("cudnn", device_id=str(comm.local_rank))
    return context, comm


def make_dataset(cfg: DatasetConfig) -> Dataset:
    """The configured dataset object (nothing is loaded)."""
    try:
        return DATASETS[cfg.name](**cfg.options)
    except ValueError as err:
        raise ConfigError(str(err)) from None


def make_data(
    cfg: DatasetConfig, seed: int, *, search: bool, shard: tuple[int, int] = (0, 1)
) -> Data:
    """Loads the dataset and makes the loaders of a search (disjoint train / valid
    splits of the training data) or of a retraining (all training data, test set); with
    `shard` ``(rank, size)``, each yields this process's part of every batch."""
    dataset = make_dataset(cfg)
    train, test = dataset.load(cfg.split_seed)

    def loader(ds: ArrayDataset, offset: int) -> DataLoader:
        try:
            return DataLoader(ds, cfg.batch_size, shuffle=True, seed=seed + offset, shard=shard)
        except ValueError as err:
            raise ConfigError(f"dataset.batch_size: {err}") from None

    def evaluator(ds: ArrayDataset) -> DataLoader:
        size = min(cfg.eval_batch_size, len(ds))
        return DataLoader(ds, size, shuffle=False, seed=seed, drop_last=False, shard=shard)

    test_loader = evaluator(test)
    shape, classes = dataset.sample_shape, dataset.classes
    if search:
        fractions = [1 - cfg.valid_fraction, cfg.valid_fraction]
        part_w, part_a = split_dataset(train, fractions, seed=cfg.split_seed)
        loaders = {"train": loader(part_w, 0), "valid": loader(part_a, 1)}
        return Data(loaders, evaluator(part_a), test_loader, shape, classes)
    return Data({"train": loader(train, 0)}, test_loader, test_loader, shape, classes)


def normalization(cfg: DatasetConfig) -> tuple[list[float], list[float]] | None:
    """The (mean, std) the inputs are normalised with, or None."""
    if not cfg.normalize:
        return None
    if cfg.mean is not None and cfg.std is not None:
        return list(cfg.mean), list(cfg.std)
    dataset = DATASETS[cfg.name]
    if dataset.mean is None or dataset.std is None:
        return None
    return list(dataset.mean), list(dataset.std)


def make_transform(cfg: DatasetConfig) -> T.Transform | None:
    """The graph-level input pipeline: augmentation (training only), then normalisation."""
    channels, height, width = make_dataset(cfg).sample_shape
    steps: list[T.Transform] = []
    if cfg.augment:
        steps += [
            T.RandomCrop((channels, height, width), pad_width=max(min(height, width) // 8, 1)),
            T.RandomHorizontalFlip(),
        ]
    if cfg.cutout:
        steps.append(T.Cutout(cfg.cutout))
    stats = normalization(cfg)
    if stats is not None:
        mean, std = stats
        if len(mean) not in (1, channels) or len(std) not in (1, channels):
            counts = "1 value" if channels == 1 else f"1 or {channels} values"
            raise ConfigError(
                f"dataset.mean and dataset.std need {counts} each (the {cfg.name} images "
                f"have {channels} channel(s)), got {len(mean)} and {len(std)}"
            )
        steps.append(T.Normalize(mean, std))
    return T.Compose(steps) if steps else None


def make_scheduler(
    cfg: OptimizerConfig, epochs: int, steps: int, segments: Sequence[int] | None = None
) -> Scheduler:
    """The learning-rate schedule over the whole run (`steps` updates per epoch), or with
    `segments` (epochs each, adding up to `epochs`) the schedule restarted at each segment
    and spanning it (`Restarts`; the warm-up only at the start)."""
    if segments:
        starts = [0, *itertools.accumulate(e * steps for e in segments[:-1])]
        parts = [_schedule(cfg, e, steps) for e in segments]
        if cfg.warmup_epochs:
            parts[0] = LinearWarmup.from_epochs(parts[0], cfg.warmup_epochs, steps)
        return Restarts(tuple(starts), tuple(parts))
    schedule = _schedule(cfg, epochs, steps)
    if not cfg.warmup_epochs:
        return schedule
    return LinearWarmup.from_epochs(schedule, cfg.warmup_epochs, steps)


def _schedule(cfg: OptimizerConfig, epochs: int, steps: int) -> Scheduler:
    schedules: dict[str, Any] = {
        "constant": lambda: ConstantScheduler(cfg.lr),
        "cosine": lambda: CosineScheduler.from_epochs(cfg.lr, epochs, steps, min_lr=cfg.min_lr),
        "step": lambda: StepScheduler.from_epochs(cfg.lr, cfg.step_epochs, steps, gamma=cfg.gamma),
    }
    return schedules[cfg.scheduler]()


def make_optimizer(
    params: Any,
    cfg: OptimizerConfig,
    epochs: int,
    steps: int,
    communicator: Communicator | None = None,
    segments: Sequence[int] | None = None,
) -> Optimizer:
    """An optimizer over `params` as configured (averaging the gradients over
    `communicator`'s processes before each step, if given; its schedule restarted per
    `segments`, see `make_scheduler`)."""
    if len(cfg.betas) != 2:
        raise ConfigError(f"optimizer.betas: expected two values, got {cfg.betas}")
    try:
        return Optimizer(
            params,
            cfg.name,
            make_scheduler(cfg, epochs, steps, segments),
            momentum=cfg.momentum,
            betas=(cfg.betas[0], cfg.betas[1]),
            weight_decay=cfg.weight_decay,
            grad_clip=cfg.grad_clip,
            communicator=communicator,
        )
    except ValueError as err:
        raise ConfigError(f"optimizer: {err}") from None


def latency_threads() -> str:
    """The thread setting latency measurements are made under (``OMP_NUM_THREADS``)."""
    return os.environ.get("OMP_NUM_THREADS", "")


def make_estimator(
    name: str, table: str | None, *, scope: str | None = None, import_table: bool = False
) -> Any:
    """The named cost estimator; latency measurements go to `table` (reused when it exists)
    and its costs are calibrated for `scope` when the table holds that calibration."""
    if name == "latency":
        return LatencyEstimator(
            table, threads=latency_threads(), scope=scope, import_table=import_table
        )
    return ESTIMATORS[name]()


CALIBRATION_PATHS = 20
"""Paths a search measures end to end to calibrate its latency cost (``cost.calibrate``)."""


def latency_scope(space: str, options: Mapping[str, Any], input_shape: Sequence[int]) -> str:
    """What a latency calibration holds for: the space, its model options (`fingerprint`)
    and the input shape."""
    shape = "x".join(str(int(d)) for d in input_shape)
    return f"{space} {fingerprint(space, options)} input {shape}"


def make_cost(cfg: CostConfig | None, default_table: str, scope: str | None = None) -> Cost | None:
    """The search's hardware cost (its latency table by default in the run folder); a
    latency cost predicts with the table's calibration of `scope` unless
    ``cost.calibrate`` is 0."""
    if cfg is None:
        return None
    estimator = make_estimator(
        cfg.name,
        cfg.latency_table or default_table,
        scope=None if cfg.calibrate == 0 else scope,
        import_table=cfg.import_table,
    )
    return Cost(estimator, mode=cfg.mode, weight=cfg.weight, target=cfg.target)


def calibrate_cost(
    cost: Cost | None, cfg: CostConfig | None, model: Module, input_shape: Sequence[int]
) -> dict[str, Any] | None:
    """Calibrates a latency cost on paths of the supernet `model` (``cost.calibrate`` of
    them) when its table holds no calibration of its scope yet (`calibrate_latency`)."""
    if cost is None or cfg is None or not isinstance(cost.estimator, LatencyEstimator):
        return None
    return calibrate_latency(cost.estimator, cfg.calibrate, model, input_shape, "cost.calibrate")


def calibrate_latency(
    estimator: LatencyEstimator,
    paths: int | None,
    model: Module,
    input_shape: Sequence[int],
    key: str,
) -> dict[str, Any] | None:
    """Calibrates `estimator` on `paths` paths of the supernet `model` (by default
    `CALIBRATION_PATHS` or all the space has) when its table holds no calibration of its
    scope yet. Returns the new calibration record, or None when none was made
    (calibration off, i.e. no scope, or already calibrated).

    Args:
        key: the config key of `paths`, named in errors.
    """
    if estimator.scope is None or estimator.calibration is not None:
        return None
    total = math.prod(len(c.names) for c in find_choices(model))
    paths = paths if paths is not None else min(CALIBRATION_PATHS, total)
    if paths > total:
        raise ConfigError(f"{key}: the space has {total} paths; use at most {total}")
    if paths < MIN_CALIBRATION_PATHS:
        raise ConfigError(
            f"{key}: a calibration needs at least {MIN_CALIBRATION_PATHS} paths, "
            f"got {paths}{f' (the space has {total})' if paths == total else ''}; use 0 "
            "for the raw layer sum"
        )
    logger.info(f"calibrating the latency cost: {paths} paths measured end to end")
    record = estimator.calibrate(model, input_shape, paths=paths)
    logger.info(f"latency predictor: {estimator.predictor}")
    return record


def write_cost_model(path: str, estimator: LatencyEstimator) -> None:
    """Logs which prediction a latency is and records it in `path` (``cost_model.json``,
    which the report shows): the predictor, the calibration's scope and record, the table."""
    logger.info(f"latency cost predicted by: {estimator.predictor}")
    write_json(
        path,
        {
            "name": estimator.name,
            "unit": estimator.unit,
            "predictor": estimator.predictor,
            "scope": estimator.scope if estimator.calibration is not None else None,
            "calibration": estimator.calibration,
            "table": estimator.table_path,
        },
    )


def cost_estimators(cost: Cost | None, name: str | None) -> dict[str, Any]:
    """The estimators whose costs a search logs per epoch: FLOPs, parameters and memory
    (exact and cheap), and the search's own cost model when it has another one."""
    estimators: dict[str, Any] = {k: ESTIMATORS[k]() for k in ("flops", "params", "memory")}
    if cost is not None and name is not None:
        estimators[name] = cost.estimator
    return estimators


FINGERPRINT = "nnabla_nas.fingerprint"
"""The attribute of a weights file that names the network it belongs to."""


def fingerprint(space: str, options: Mapping[str, Any], arch: Any = None) -> str:
    """A short hash of a network: its space, its model options and (for a fixed network)
    its architecture; weights and checkpoints carry it, so that they are only ever loaded
    into the network they were trained for."""
    text = json.dumps({"space": space, "options": dict(options), "arch": arch}, sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
