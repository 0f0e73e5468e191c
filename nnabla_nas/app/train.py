"""``nnabla-nas train``: retrain an architecture from scratch (or fine-tune it from given
weights, ``init_weights``); and the same training for the candidates of a multi-trial
search."""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import nnabla as nn
import yaml

from ..contrib.estimator import LatencyEstimator
from ..contrib.model import Model
from ..contrib.space import Space
from ..export import export, onnx_converter
from ..module import mismatch_text, read_parameter_attrs
from ..runner.callbacks import (
    FigureCallback,
    LogCallback,
    MetricsCallback,
    TensorBoardCallback,
)
from ..runner.loop import Callback, Loop, NonFiniteLossError
from ..runner.trainer import Trainer
from ..utils.checkpoint import Checkpointer
from ..utils.distributed import Communicator
from ..utils.io import write_json
from .build import (
    FINGERPRINT,
    Data,
    fingerprint,
    latency_threads,
    make_data,
    make_optimizer,
    make_transform,
    nnabla_context,
    run_context,
)
from .config import RESUMABLE, ConfigError, TrainConfig, check_train, parse_config, to_dict
from .exporting import run_metadata
from .figures import draw_figures
from .run import Manifest, RunError, RunFolder, flatten
from .schema import load_yaml

logger = logging.getLogger("nnabla_nas")


def standard_callbacks(
    run: RunFolder, sample_shape: Sequence[int], arch: Callable[[], str] | None = None
) -> list[Callback]:
    """The callbacks every run has: log, ``metrics.csv`` and TensorBoard (with the
    network graph on one input of `sample_shape`, the config, its settings against the
    final metrics, and the architecture text `arch` gives after each epoch)."""
    config = run.config_text()
    return [
        LogCallback(),
        MetricsCallback(run.file("metrics")),
        TensorBoardCallback(
            run.file("tensorboard"),
            sample_shape,
            config=config,
            arch=arch,
            hparams=None if config is None else hparams_of(config),
        ),
    ]


def hparams_of(config_text: str) -> dict[str, float | str | bool]:
    """The config's settings as TensorBoard hparams: dotted keys, lists as text."""
    flat = flatten(load_yaml(config_text) or {})
    return {
        key: value if isinstance(value, (bool, int, float, str)) else json.dumps(value)
        for key, value in flat.items()
        if value is not None
    }


@dataclass
class Trained:
    """A trained network and the loop that trained it."""

    model: Model
    loop: Loop


def train_network(
    cfg: TrainConfig,
    space: Space,
    arch: Any,
    data: Data,
    *,
    trainer: Trainer | None = None,
    callbacks: Sequence[Callback] = (),
    checkpointer: Checkpointer | None = None,
    resume: bool = False,
    progress: bool = True,
    evaluate: bool = True,
    log: bool = True,
) -> Trained:
    """Builds the space's network of `arch` and trains it as `cfg` says (auxiliary loss,
    drop path, augmentation); what `run_train` and a multi-trial candidate both do.

    With `evaluate`, ``data.eval`` (the test set of a retraining) is evaluated after each
    epoch as ``test/*``; with `log`, each epoch's metrics are logged."""
    trainer = trainer or make_trainer(cfg, space, arch, data)
    loop = Loop(
        trainer, data.train, epochs=cfg.epochs, eval_loader=data.eval if evaluate else None,
        callbacks=callbacks, checkpointer=checkpointer, seed=cfg.seed, progress=progress,
        eval_name="test", logger=logger, log=log,
        fingerprint=fingerprint(space.name, cfg.model.options, space.validate(arch)),
    )  # fmt: skip
    loop.run(resume=resume)
    return Trained(trainer.model, loop)


def make_trainer(
    cfg: TrainConfig, space: Space, arch: Any, data: Data, comm: Communicator | None = None
) -> Trainer:
    """The space's network of `arch` with its optimizer and schedules, ready to train
    (data parallel over `comm`'s processes, if given)."""
    model = space.make_train_net(
        data.sample_shape[0], data.classes, arch, seed=cfg.seed, options=cfg.model.options,
        drop_path=cfg.drop_path,
    )  # fmt: skip
    steps = len(data.train["train"])
    trainer = Trainer(
        model,
        make_optimizer(
            model.get_net_parameters(grad_only=True), cfg.optimizer, cfg.epochs, steps, comm
        ),
        aux_weight=cfg.aux_weight,
        drop_path=cfg.drop_path,
        epochs=cfg.epochs,
        transform=make_transform(cfg.dataset),
        communicator=comm,
        sync_batch_norm=cfg.sync_batch_norm,
    )
    trainer.recompute = cfg.recompute
    return trainer


def train_manifest(cfg: TrainConfig, arch_path: str) -> Manifest:
    """The manifest of a retraining of `arch_path`, linked to the search run whose
    ``arch.json`` it is, if it is one."""
    folder = os.path.dirname(os.path.abspath(arch_path))
    try:
        search = RunFolder(folder).manifest().command == "search"
    except RunError:
        search = False
    return Manifest(
        command="train", kind="train", space=cfg.model.name, dataset=cfg.dataset.name,
        seed=cfg.seed, arch_file=os.path.abspath(arch_path),
        search_run=folder if search else None,
    )  # fmt: skip


def run_train(
    cfg: TrainConfig,
    arch_path: str,
    output_dir: str,
    *,
    resume: bool = False,
    progress: bool = True,
) -> dict[str, float]:
    """Retrains the architecture in `arch_path` from scratch (or, with ``init_weights``,
    from those weights) and evaluates it on the test set; writes the run folder (DESIGN
    section 5). Every check comes before any write.

    ``init_weights`` applies to a run that starts at its first epoch: a resume from a
    checkpoint continues from the checkpoint's weights.

    Raises:
        ConfigError: among the config's problems, ``init_weights`` names no weights file,
            or weights of another network (by their fingerprint, or their parameters'
            names and shapes).
    """
    space = check_train(cfg)
    arch = space.read(arch_path)
    if "onnx" in cfg.export:
        onnx_converter()  # a missing optional package fails now, not after the training
    run = RunFolder(output_dir)
    # A resume from a checkpoint continues from its weights; init_weights starts a run.
    started = resume and cfg.init_weights and Checkpointer(run.file("checkpoint")).latest()
    init_weights = None if started else check_init_weights(cfg, space, arch)
    context, comm = run_context(cfg)
    text = yaml.safe_dump(to_dict(cfg), sort_keys=False)
    if resume and run.has("arch") and space.read(run.file("arch")) != arch:
        raise RunError(
            f"'{arch_path}' is not the architecture the run in '{output_dir}' trains "
            f"({run.file('arch')}); resume with --arch {run.file('arch')}"
        )
    manifest = train_manifest(cfg, arch_path)
    if comm.rank == 0:  # under data parallel only rank 0 writes the run folder
        run.check_start(manifest, text, resume=resume, changeable=RESUMABLE)
    data = make_data(cfg.dataset, cfg.seed, search=False, shard=(comm.rank, comm.size))
    with nn.context_scope(context):
        trainer = make_trainer(cfg, space, arch, data, comm)  # may refuse: before any write
        if init_weights is not None:
            load_init_weights(trainer.model, init_weights, space)  # may refuse, too
        if comm.rank != 0:
            return _train_quietly(cfg, space, arch, data, trainer, run, resume)
        with run.session(manifest, text, resume=resume, changeable=RESUMABLE):
            if init_weights is not None:
                logger.info(f"starting from the weights in '{init_weights}'")
            return _train_run(cfg, space, arch, data, trainer, run, resume, progress)


def check_init_weights(cfg: TrainConfig, space: Space, arch: Any) -> str | None:
    """The file of ``init_weights`` once checked for the train network of `arch`, or None
    without one. Reads only the file's attributes; `load_init_weights` loads it.

    Raises:
        ConfigError: the file is missing or no nnabla ``.h5``, or carries the fingerprint
            of another network (another space, model section or architecture).
    """
    path = cfg.init_weights
    if path is None:
        return None
    what = (
        "give the .h5 of this network's weights (the weights.h5 of a train run of this "
        "architecture and model section, or weights saved by the network's save_parameters)"
    )
    if not os.path.exists(path):
        raise ConfigError(f"init_weights: '{path}' does not exist; {what}")
    if os.path.isdir(path):
        raise ConfigError(f"init_weights: '{path}' is a folder; {what}")
    try:
        mark = read_parameter_attrs(path).get(FINGERPRINT)
    except FileNotFoundError:  # the file is there: h5py cannot read it
        raise ConfigError(f"init_weights: '{path}' is not an nnabla .h5 file; {what}") from None
    expected = fingerprint(space.name, cfg.model.options, space.validate(arch))
    if mark is not None and mark != expected:
        raise ConfigError(
            f"init_weights: '{path}' holds the weights of another network (fingerprint "
            f"{mark}, this one's is {expected}): another architecture, space or model "
            f"section; {what}"
        )
    if mark is None:
        logger.info(
            f"init_weights: '{path}' carries no network fingerprint; it is checked by its "
            "parameters' names and shapes"
        )
    return path


def load_init_weights(model: Model, path: str, space: Space) -> None:
    """Loads `path` (checked by `check_init_weights`) into the train network `model`:
    every parameter, none left at its fresh value.

    Raises:
        ConfigError: the file's parameters are not the network's (a name missing or
            unknown, a shape different); the network is then left unchanged.
    """
    try:
        model.load_parameters(path, raise_if_missing=True)
    except (KeyError, ValueError) as err:
        raise ConfigError(
            f"init_weights: '{path}' does not fit the {space.name} network of this "
            f"architecture and model section: {mismatch_text(err)}"
        ) from None


def _train_quietly(
    cfg: TrainConfig,
    space: Space,
    arch: Any,
    data: Data,
    trainer: Trainer,
    run: RunFolder,
    resume: bool,
) -> dict[str, float]:
    """A process other than rank 0 of a data-parallel training: the same steps and
    evaluations as rank 0's `_train_run` (they are collective), writing nothing."""
    trained = train_network(
        cfg, space, arch, data, trainer=trainer, checkpointer=Checkpointer(run.file("checkpoint")),
        resume=resume, progress=False, log=False,
    )  # fmt: skip
    test = trained.loop.evaluate(data.test)
    return {"test_accuracy": 1.0 - test["error"], "test_loss": test["loss"]}


def _train_run(
    cfg: TrainConfig,
    space: Space,
    arch: Any,
    data: Data,
    trainer: Trainer,
    run: RunFolder,
    resume: bool,
    progress: bool,
) -> dict[str, float]:
    """Trains into the run folder: arch, metrics, figures, weights, result, exports."""
    space.write(run.file("arch"), arch)
    text = space.describe(arch)
    callbacks = [
        *standard_callbacks(run, data.sample_shape, lambda: text),
        FigureCallback(lambda: draw_figures(run, space)),
    ]
    trained = train_network(
        cfg, space, arch, data, trainer=trainer, callbacks=callbacks,
        checkpointer=Checkpointer(run.file("checkpoint")), resume=resume, progress=progress,
    )  # fmt: skip
    mark = fingerprint(space.name, cfg.model.options, space.validate(arch))
    trained.model.save_parameters(run.file("weights"), attrs={FINGERPRINT: mark})
    logger.info(f"weights written to {run.file('weights')}; evaluating on the test set")
    test = trained.loop.evaluate(data.test)
    result = {"test_accuracy": 1.0 - test["error"], "test_loss": test["loss"]}
    write_json(run.file("result"), result)
    logger.info(f"test accuracy {100 * result['test_accuracy']:.2f}%")
    shape = (1, *data.sample_shape)
    metadata = run_metadata(cfg, space, arch, data.sample_shape, data.classes)
    for fmt in cfg.export:
        path = os.path.join(run.path, f"model.{fmt}")
        export(
            trained.model, shape, path, format=fmt, transform=make_transform(cfg.dataset),
            metadata=metadata,
        )  # fmt: skip
        logger.info(f"exported {path}")
    return result


def train_candidate(
    config: dict[str, Any], arch: Any, *, measure_latency: bool
) -> dict[str, float]:
    """Trains one candidate of a multi-trial search in this process; writes no file.

    Trains on the search's weight split and reports the accuracy (%) on its architecture
    split, so that candidates are ranked without seeing the test set; with
    `measure_latency`, also the network's measured latency (ms, one input, median).

    Args:
        config: a `TrainConfig` as plain data (`to_dict`), so that this runs on any worker.
    """
    cfg = parse_config(TrainConfig, config)
    space = check_train(cfg)
    data = make_data(cfg.dataset, cfg.seed, search=True)
    weights_only = Data({"train": data.train["train"]}, data.eval, data.test, data.sample_shape,
                        data.classes)  # fmt: skip
    with nn.context_scope(nnabla_context(cfg)):
        trained = train_network(
            cfg, space, arch, weights_only, progress=False, evaluate=False, log=False
        )
        held_out = trained.loop.evaluate(data.eval)
        if not all(math.isfinite(v) for v in held_out.values()):
            raise NonFiniteLossError(f"the trained candidate evaluates to {held_out}: it diverged")
        values = {
            "accuracy": 100.0 * (1.0 - held_out["error"]),
            "params": float(trained.model.count_parameters()),
        }
        if measure_latency:
            estimator = LatencyEstimator(threads=latency_threads())
            shape = (1, *data.sample_shape)
            values["latency"] = estimator.measure_network(trained.model, shape)["latency"]
    return values
