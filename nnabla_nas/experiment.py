"""Builds a run from a config (data, model, optimizers, loop) and runs it.

This and `cli.py` are the only modules that know about configs; everything they build
takes its settings through constructors.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import nnabla as nn
import numpy as np
import yaml

from .config import (
    ONE_SHOT,
    ConfigError,
    DatasetConfig,
    OptimizerConfig,
    RunConfig,
    SearchConfig,
    TrainConfig,
    to_dict,
)
from .contrib.estimator import ESTIMATORS, LatencyEstimator
from .contrib.model import Model
from .contrib.registry import Space, get_space
from .dataset import DATASETS, ArrayDataset, DataLoader, split_dataset
from .dataset import transforms as T
from .optimizer import (
    ConstantScheduler,
    CosineScheduler,
    LinearWarmup,
    Optimizer,
    Scheduler,
    StepScheduler,
)
from .runner.callbacks import (
    ArchitectureCallback,
    CostCallback,
    FigureCallback,
    standard_callbacks,
)
from .runner.loop import Callback, Loop
from .runner.searcher import DartsSearcher, ProxylessNasSearcher, Searcher
from .runner.trainer import Trainer
from .utils.checkpoint import Checkpointer
from .utils.io import write_json, write_text
from .utils.logging import get_logger
from .visualize import plot_run


@dataclass
class Data:
    """The splits of a run: what the loop trains on, what it evaluates, and the test set."""

    train: dict[str, DataLoader]
    eval: DataLoader
    test: DataLoader
    sample_shape: tuple[int, int, int]
    classes: int


def set_context(name: str, device_id: int) -> None:
    """Makes `name` ('cpu' or 'cudnn') nnabla's default context."""
    if name == "cpu":
        return
    from nnabla.ext_utils import get_extension_context

    try:
        ctx = get_extension_context(name, device_id=str(device_id))
    except (ImportError, ValueError) as err:
        raise ConfigError(
            f"context {name!r} needs nnabla's CUDA extension (pip install nnabla-ext-cuda...) "
            f"matching nnabla 1.39.0; it could not be loaded ({err}). Use --context cpu."
        ) from None
    nn.set_default_context(ctx)


def load_dataset(cfg: DatasetConfig) -> tuple[ArrayDataset, ArrayDataset]:
    """Returns (training data, test data) of the configured dataset."""
    if cfg.name == "digits":
        full = DATASETS["digits"](cfg.image_size)
        train, test = split_dataset(
            full, [1 - cfg.test_fraction, cfg.test_fraction], seed=cfg.split_seed
        )
        return train, test
    if cfg.root is None:
        raise ConfigError(f"dataset.root: dataset {cfg.name!r} needs the directory of its files")
    return DATASETS[cfg.name](cfg.root, train=True), DATASETS[cfg.name](cfg.root, train=False)


def make_data(cfg: DatasetConfig, seed: int, *, search: bool) -> Data:
    """Loads the dataset and makes the loaders of a search (disjoint train / valid
    splits of the training data) or of a retraining (all training data, test set)."""
    train, test = load_dataset(cfg)

    def loader(ds: ArrayDataset, offset: int) -> DataLoader:
        return DataLoader(ds, cfg.batch_size, shuffle=True, seed=seed + offset)

    def evaluator(ds: ArrayDataset) -> DataLoader:
        size = min(cfg.eval_batch_size, len(ds))
        return DataLoader(ds, size, shuffle=False, seed=seed, drop_last=False)

    test_loader = evaluator(test)
    if search:
        fractions = [1 - cfg.valid_fraction, cfg.valid_fraction]
        part_w, part_a = split_dataset(train, fractions, seed=cfg.split_seed)
        loaders = {"train": loader(part_w, 0), "valid": loader(part_a, 1)}
        return Data(loaders, evaluator(part_a), test_loader, train.sample_shape, train.classes)
    return Data(
        {"train": loader(train, 0)}, test_loader, test_loader, train.sample_shape, train.classes
    )


def make_transform(cfg: DatasetConfig, channels: int) -> Any:
    """The graph-level input pipeline: augmentation (training only), then normalisation."""
    steps: list[Any] = []
    if cfg.augment:
        side = cfg.image_size if cfg.name == "digits" else 32
        steps += [
            T.RandomCrop((channels, side, side), pad_width=max(side // 8, 1)),
            T.RandomHorizontalFlip(),
        ]
    if cfg.cutout:
        steps.append(T.Cutout(cfg.cutout))
    if cfg.mean is not None or cfg.std is not None:
        if cfg.mean is None or cfg.std is None or len(cfg.mean) != len(cfg.std) != channels:
            raise ConfigError(f"dataset.mean and dataset.std need {channels} values each")
        steps.append(T.Normalize(cfg.mean, cfg.std))
    return T.Compose(steps) if steps else None


def make_scheduler(cfg: OptimizerConfig, epochs: int, steps: int) -> Scheduler:
    """The learning-rate schedule over the whole run (`steps` updates per epoch)."""
    total, warmup = max(epochs * steps, 1), cfg.warmup_epochs * steps
    schedules: dict[str, Any] = {
        "constant": lambda: ConstantScheduler(cfg.lr),
        "cosine": lambda: CosineScheduler(cfg.lr, total, min_lr=cfg.min_lr),
        "step": lambda: StepScheduler(cfg.lr, max(cfg.step_epochs * steps, 1), gamma=cfg.gamma),
    }
    schedule = schedules[cfg.scheduler]()
    return LinearWarmup(schedule, warmup) if warmup else schedule


def make_optimizer(params: Any, cfg: OptimizerConfig, epochs: int, steps: int) -> Optimizer:
    """An optimizer over `params` as configured."""
    if len(cfg.betas) != 2:
        raise ConfigError(f"optimizer.betas: expected two values, got {cfg.betas}")
    try:
        return Optimizer(
            params,
            cfg.name,
            make_scheduler(cfg, epochs, steps),
            momentum=cfg.momentum,
            betas=(cfg.betas[0], cfg.betas[1]),
            weight_decay=cfg.weight_decay,
            grad_clip=cfg.grad_clip,
        )
    except ValueError as err:
        raise ConfigError(f"optimizer: {err}") from None


def make_estimator(name: str | None, table: str | None, output_dir: str) -> Any:
    """The named cost estimator; latency measurements go to `table` (reused when it
    exists) or to the run's ``latency_table.json``."""
    if name is None:
        return None
    if name == "latency":
        return LatencyEstimator(table or os.path.join(output_dir, "latency_table.json"))
    return ESTIMATORS[name]()


def cost_estimators(name: str | None, estimator: Any) -> dict[str, Any]:
    """The estimators whose costs a search logs per epoch: FLOPs, parameters and memory
    (exact and cheap), and the search's own cost model when it has another one."""
    estimators = {key: ESTIMATORS[key]() for key in ("flops", "params", "memory")}
    if name is not None and estimator is not None:
        estimators[name] = estimator
    return estimators


def model_options(cfg: RunConfig, which: str) -> tuple[Space, dict[str, Any]]:
    """Returns the configured space and its constructor options, checked by name."""
    options = dict(cfg.model)
    try:
        space = get_space(options.pop("name", "darts"))
    except ValueError as err:
        raise ConfigError(f"model.name: {err}") from None
    valid = space.options(which)
    unknown = [k for k in options if k not in valid]
    if unknown:
        raise ConfigError(f"model: unknown key {unknown[0]!r}; valid keys are: {', '.join(valid)}")
    return space, options


def prepare_output(output_dir: str, cfg: RunConfig, resume: bool) -> None:
    """Creates the run folder and writes ``config.yaml``; on resume the config must match."""
    path = os.path.join(output_dir, "config.yaml")
    text = yaml.safe_dump(to_dict(cfg), sort_keys=False)
    started = Checkpointer(os.path.join(output_dir, "checkpoint")).latest() is not None
    if started and not resume:
        raise ConfigError(
            f"'{output_dir}' already holds a run; pass --resume to continue it, "
            "or choose another --output"
        )
    if resume and os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            if f.read() != text:
                raise ConfigError(
                    f"the config differs from the one the run in '{output_dir}' started with; "
                    f"resume with the same settings (e.g. -c {path})"
                )
    write_text(path, text)


def _seed(seed: int) -> None:
    np.random.seed(seed)
    nn.seed(seed)


def _start(
    cfg: RunConfig, which: str, output_dir: str, resume: bool
) -> tuple[Space, dict[str, Any], Data, logging.Logger]:
    """Checks the config, loads the data, then creates the run folder and seeds the RNGs."""
    space, options = model_options(cfg, which)
    set_context(cfg.context, cfg.device_id)
    data = make_data(cfg.dataset, cfg.seed, search=which == "search")
    prepare_output(output_dir, cfg, resume)
    logger = get_logger(output_dir)
    _seed(cfg.seed)
    return space, options, data, logger


def _loop(
    algorithm: Any,
    cfg: RunConfig,
    data: Data,
    output_dir: str,
    callbacks: list[Callback],
    *,
    first: Sequence[Callback] = (),
    **kwargs: Any,
) -> Loop:
    """The run loop over the data of a run, checkpointing into ``output_dir/checkpoint``.

    `first` run before the log, metrics and TensorBoard writers (they may add metrics),
    `callbacks` after them.
    """
    return Loop(
        algorithm,
        data.train,
        epochs=cfg.epochs,
        eval_loader=data.eval,
        callbacks=[*first, *standard_callbacks(output_dir, data.sample_shape), *callbacks],
        checkpointer=Checkpointer(os.path.join(output_dir, "checkpoint")),
        seed=cfg.seed,
        **kwargs,
    )


def run_search(
    cfg: SearchConfig, output_dir: str, *, resume: bool = False, progress: bool = True
) -> dict[str, Any]:
    """Runs an architecture search; writes everything DESIGN section 5 lists.

    ``searcher: darts`` learns the architecture in one supernet; ``random``,
    ``evolution`` and ``optuna`` evaluate candidates one by one (`multitrial`).
    """
    if cfg.searcher not in ONE_SHOT:
        return _run_multitrial(cfg, output_dir, resume)
    space, options, data, logger = _start(cfg, "search", output_dir, resume)
    model = space.search_net(
        data.sample_shape[0], num_classes=data.classes, rng=cfg.seed, **options
    )
    steps = len(data.train["train"])
    net_params, arch_params = model.get_net_parameters(True), model.get_arch_parameters(True)
    optimizers = (
        make_optimizer(net_params, cfg.optimizer, cfg.epochs, steps),
        make_optimizer(arch_params, cfg.arch_optimizer, cfg.epochs, steps),
    )
    transform = make_transform(cfg.dataset, data.sample_shape[0])
    searcher: Searcher
    estimator = make_estimator(cfg.pnas.cost, cfg.pnas.latency_table, output_dir)
    if cfg.searcher == "pnas":
        searcher = ProxylessNasSearcher(
            model,
            *optimizers,
            warmup_epochs=cfg.pnas.warmup_epochs,
            gradient=cfg.pnas.gradient,
            samples=cfg.pnas.samples,
            baseline_decay=cfg.pnas.baseline_decay,
            estimator=estimator,
            cost_mode=cfg.pnas.cost_mode,
            cost_weight=cfg.pnas.cost_weight,
            cost_target=cfg.pnas.cost_target,
            transform=transform,
        )
    else:
        searcher = DartsSearcher(model, *optimizers, unrolled=cfg.unrolled, transform=transform)
    arch_path = os.path.join(output_dir, "arch.json")
    snapshot = ArchitectureCallback(arch_path, searcher.architecture)
    costs = CostCallback(cost_estimators(cfg.pnas.cost, estimator), data.sample_shape)
    loop = _loop(
        searcher, cfg, data, output_dir, [snapshot, FigureCallback(output_dir)], first=[costs],
        progress=progress, logger=logger,
    )  # fmt: skip
    loop.run(resume=resume)
    if isinstance(estimator, LatencyEstimator):
        estimator.save()  # the measured layers, for later runs (pnas.latency_table)
    arch = searcher.architecture()
    space.save_arch(arch_path, arch)
    model.save_parameters(os.path.join(output_dir, "weights.h5"))
    plot_run(output_dir)
    logger.info(f"architecture written to {arch_path}")
    return arch


def build_train_net(cfg: TrainConfig, arch: Any, in_channels: int, classes: int) -> Model:
    """The network that `run_train` trains: the configured space's TrainNet of `arch`."""
    space, options = model_options(cfg, "train")
    # Built with the schedule's final drop-path rate so that the graph holds the masks.
    return space.train_net(
        in_channels, num_classes=classes, genotype=arch, drop_path=cfg.drop_path, **options
    )


def run_train(
    cfg: TrainConfig,
    arch_path: str,
    output_dir: str,
    *,
    resume: bool = False,
    progress: bool = True,
) -> dict[str, float]:
    """Retrains the architecture in `arch_path` from scratch and evaluates it on the test set."""
    arch = model_options(cfg, "train")[0].load_arch(arch_path)
    if "onnx" in cfg.export:
        from .export import onnx_converter

        onnx_converter()  # a missing optional package fails now, not after the training
    space, _, data, logger = _start(cfg, "train", output_dir, resume)
    model = build_train_net(cfg, arch, data.sample_shape[0], data.classes)
    space.save_arch(os.path.join(output_dir, "arch.json"), arch)
    steps = len(data.train["train"])
    trainer = Trainer(
        model,
        make_optimizer(model.get_net_parameters(grad_only=True), cfg.optimizer, cfg.epochs, steps),
        aux_weight=cfg.aux_weight,
        drop_path=cfg.drop_path,
        epochs=cfg.epochs,
        transform=make_transform(cfg.dataset, data.sample_shape[0]),
    )
    loop = _loop(
        trainer, cfg, data, output_dir, [FigureCallback(output_dir)], progress=progress,
        logger=logger, eval_name="test",
    )  # fmt: skip
    loop.run(resume=resume)
    model.save_parameters(os.path.join(output_dir, "weights.h5"))
    test = loop.evaluate(data.test)
    result = {"test_accuracy": 1.0 - test["error"], "test_loss": test["loss"]}
    write_json(os.path.join(output_dir, "result.json"), result)
    logger.info(f"test accuracy {100 * result['test_accuracy']:.2f}%")
    if cfg.export:
        from .export import export_run

        for fmt in cfg.export:
            path = export_run(output_dir, output=os.path.join(output_dir, f"model.{fmt}"))
            logger.info(f"exported {path}")
    return result


def _run_multitrial(cfg: SearchConfig, output_dir: str, resume: bool) -> dict[str, Any]:
    try:
        from .multitrial import run_multitrial
    except ModuleNotFoundError as err:
        raise ConfigError(
            f"searcher {cfg.searcher!r} needs the multitrial extra ({err.name} is missing): "
            "pip install 'nnabla-nas[multitrial]'"
        ) from None

    space, _ = model_options(cfg, "train")
    set_context(cfg.context, cfg.device_id)
    prepare_output(output_dir, cfg, resume)
    logger = get_logger(output_dir)
    _seed(cfg.seed)
    return run_multitrial(cfg, output_dir, space, resume=resume, logger=logger)


def train_candidate(cfg: TrainConfig, arch: Any) -> dict[str, float]:
    """Trains one candidate of a multi-trial search in this process; no files written.

    Trains on the search's weight split and reports the accuracy (%) on its
    architecture split, so that candidates are ranked without seeing the test set.
    """
    space, options = model_options(cfg, "train")
    _seed(cfg.seed)
    data = make_data(cfg.dataset, cfg.seed, search=True)
    model = space.train_net(
        data.sample_shape[0], num_classes=data.classes, genotype=arch, **options
    )
    steps = len(data.train["train"])
    trainer = Trainer(
        model,
        make_optimizer(model.get_net_parameters(grad_only=True), cfg.optimizer, cfg.epochs, steps),
        transform=make_transform(cfg.dataset, data.sample_shape[0]),
    )
    loader = {"train": data.train["train"]}
    loop = Loop(trainer, loader, epochs=cfg.epochs, seed=cfg.seed, progress=False)
    loop.run()
    held_out = loop.evaluate(data.eval)
    return {
        "accuracy": 100.0 * (1.0 - held_out["error"]),
        "params": float(model.count_parameters()),
    }
