"""``nnabla-nas search``: a one-shot search of a supernet, or a multi-trial search.

Which it is follows from the registry the searcher's name is in (`SEARCHERS` or
`STRATEGIES`); both end with the architecture found in ``arch.json``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any

import nnabla as nn
import yaml

from ..contrib.estimator import LatencyEstimator
from ..contrib.space import Space
from ..module import find_choices
from ..runner.callbacks import (
    ArchitectureCallback,
    CollapseCallback,
    CostCallback,
    FigureCallback,
    ProbabilitiesCallback,
)
from ..runner.loop import Callback, Loop, epoch_rng
from ..runner.multitrial import STRATEGIES
from ..runner.paths import most_likely_path, most_likely_within, on_path, path_cost
from ..runner.searcher import SEARCHERS, Cost, Searcher, SearchParts
from ..utils.checkpoint import Checkpointer
from ..utils.distributed import launched_size
from ..utils.io import read_json
from .build import (
    FINGERPRINT,
    Data,
    calibrate_cost,
    cost_estimators,
    fingerprint,
    latency_scope,
    latency_threads,
    make_cost,
    make_data,
    make_optimizer,
    make_transform,
    run_context,
    write_cost_model,
)
from .config import RESUMABLE, ConfigError, SearchConfig, check_search, to_dict
from .figures import draw_figures
from .multitrial import run_multitrial
from .run import Manifest, RunFolder
from .subnets import front_config
from .train import standard_callbacks

logger = logging.getLogger("nnabla_nas")


@dataclass
class SearchResult:
    """What a search found: the architecture, and its run folder's summary."""

    arch: Any
    run: RunFolder
    summary: dict[str, Any] = field(default_factory=dict)


def _search_loop(
    cfg: SearchConfig,
    space: Space,
    run: RunFolder,
    data: Data,
    searcher: Searcher,
    cost: Cost | None,
    resume: bool,
    progress: bool,
) -> dict[str, float]:
    """Runs the searcher's epochs with the callbacks of a search run folder."""
    model = searcher.model
    # What the architecture parameters stand for after each epoch; a searcher that learns
    # none during the epochs decides the architecture only at the end (`Searcher.finish`).
    tracked: list[Callback] = [
        CostCallback(
            cost_estimators(cost, None if cfg.cost is None else cfg.cost.name), data.sample_shape
        ),
        CollapseCallback(lambda: space.derive(model), costed=cost is not None),
    ]
    snapshots: list[Callback] = [
        ArchitectureCallback(
            lambda: space.derive(model), lambda a: space.write(run.file("arch"), a)
        ),
        ProbabilitiesCallback(run.file("arch_probs")),
    ]
    if not searcher.learns_alphas:
        tracked, snapshots = [], []
    callbacks = [
        *tracked,
        *standard_callbacks(
            run,
            data.sample_shape,
            (lambda: space.describe(space.derive(model))) if searcher.learns_alphas else None,
        ),
        *snapshots,
        FigureCallback(lambda: draw_figures(run, space)),
    ]
    if searcher.comm.rank != 0:  # under data parallel only rank 0 writes
        callbacks = []
    loop = Loop(
        searcher, data.train, epochs=cfg.epochs, eval_loader=data.eval, callbacks=callbacks,
        checkpointer=Checkpointer(run.file("checkpoint")), seed=cfg.seed, progress=progress,
        logger=logger, fingerprint=fingerprint(space.name, cfg.model.options),
    )  # fmt: skip
    return loop.run(resume=resume)


def search_latency(run_dir: str) -> LatencyEstimator:
    """The latency model a search's cost was (its ``cost_model.json``): its table, with the
    calibration of its scope, in this machine's thread setting."""
    model = read_json(RunFolder(run_dir).file("cost_model"), "cost model")
    return LatencyEstimator(model["table"], threads=latency_threads(), scope=model["scope"])


def search_manifest(cfg: SearchConfig) -> Manifest:
    return Manifest(
        command="search", kind="multi-trial" if cfg.multi_trial else "one-shot",
        searcher=cfg.searcher, space=cfg.model.name, dataset=cfg.dataset.name, seed=cfg.seed,
    )  # fmt: skip


def _derive(
    cfg: SearchConfig,
    space: Space,
    searcher: Searcher,
    cost: Cost | None,
    sample_shape: Sequence[int],
    metrics: dict[str, float],
) -> Any:
    """The architecture the search found: the space's derivation of the supernet, or, for
    a target-mode cost whose most likely path is over the budget, of the most likely path
    within it (`most_likely_within`; ``cost.within_budget: false`` keeps the first).
    The alphas are left as learnt; `metrics` gets the derived path's cost."""
    c = cfg.cost
    model = searcher.model
    if cost is None or c is None or c.mode != "target" or not c.target:
        return space.derive(model)
    if not searcher.learns_alphas or c.within_budget is False:
        return space.derive(model)
    choices = find_choices(model)
    shape = (1, *sample_shape)

    def priced(path: tuple[int, ...]) -> float:
        return path_cost(model, choices, path, cost.estimator, shape)

    first = most_likely_path(choices)
    if priced(first) <= c.target:
        return space.derive(model)
    path = most_likely_within(choices, priced, c.target)
    if path is None:
        logger.warning(f"no path within cost.target ({c.target:.4g}) was found from the most "
                       "likely one; the most likely architecture is kept")  # fmt: skip
        return space.derive(model)
    changed = sum(a != b for a, b in zip(first, path, strict=True))
    logger.info(
        f"the most likely architecture's {c.name} ({priced(first):.4g}) is over cost.target "
        f"({c.target:.4g}): derived the most likely within it ({priced(path):.4g}; "
        f"{changed} of {len(path)} choices changed)"
    )
    metrics[f"cost/{c.name}"] = priced(path)
    with on_path(choices, path):
        return space.derive(model)


def _warn_over_budget(cfg: SearchConfig, metrics: dict[str, float]) -> None:
    """Warns when the derived architecture's cost (the last epoch's ``cost/<name>``: its
    most likely path, one input) exceeds a target-mode budget: the target term steers the
    expected cost under the probabilities, and the argmax path can land above it."""
    c = cfg.cost
    value = None if c is None else metrics.get(f"cost/{c.name}")
    if c is None or c.mode != "target" or not c.target or value is None or value <= c.target:
        return
    logger.warning(
        f"the derived architecture's {c.name} ({value:.4g}) is {100 * (value / c.target - 1):.0f}% "
        f"over cost.target ({c.target:.4g}): the target term steers the expected {c.name} "
        "under the probabilities, not the most likely architecture's; search with a lower "
        "target or a larger cost.weight"
    )


def run_search(
    cfg: SearchConfig, output_dir: str, *, resume: bool = False, progress: bool = True
) -> SearchResult:
    """Runs the configured search into `output_dir`; every check comes before any write.

    One-shot searchers learn the architecture in one supernet; multi-trial strategies
    evaluate candidates one by one (`run_multitrial`).
    """
    space = check_search(cfg)
    text = yaml.safe_dump(to_dict(cfg), sort_keys=False)
    run = RunFolder(output_dir)
    if cfg.multi_trial:
        if launched_size() > 1:
            raise ConfigError(
                "a multi-trial search spreads its trials with Ray, not mpiexec: run it in "
                "one process (multi_trial.workers, a Ray cluster address)"
            )
        arch, summary = run_multitrial(cfg, space, run, search_manifest(cfg), text, resume=resume)
        return SearchResult(arch, run, summary)
    return _one_shot(cfg, space, run, text, resume=resume, progress=progress)


def _front(cfg: SearchConfig, space: Space, run: RunFolder) -> SearchConfig | None:
    """The random search of the sub-networks' front of the elastic supernet that `cfg`
    trains into `run` (``front`` sub-networks of its searcher's settings), checked; None
    without one."""
    trials = getattr(cfg.settings, "front", 0)
    if not trials or not space.has_subnets:
        return None
    front = front_config(cfg, run.path, trials=trials)
    check_search(front)
    return front


def _score_front(front: SearchConfig, run: RunFolder, progress: bool) -> None:
    """Runs the front's search into the finished run's ``subnets`` folder, or continues
    one a crash or Ctrl-C interrupted (a finished one is kept as it is)."""
    folder = RunFolder(run.file("front"))
    if folder.has("manifest") and folder.manifest().status == "finished":
        logger.info(f"the sub-networks' front in {folder.path} is finished already")
        return
    assert front.multitrial is not None
    logger.info(f"scoring {front.multitrial.trials} random sub-networks for the front: "
                f"{folder.path}")  # fmt: skip
    run_search(front, folder.path, resume=folder.has("manifest"), progress=progress)


def _one_shot(
    cfg: SearchConfig, space: Space, run: RunFolder, text: str, *, resume: bool, progress: bool
) -> SearchResult:
    front = _front(cfg, space, run)
    context, comm = run_context(cfg)
    searcher_class = SEARCHERS[cfg.searcher]
    if comm.size > 1 and not searcher_class.data_parallel:
        able = [n for n, c in SEARCHERS.items() if c.data_parallel]
        raise ConfigError(
            f"searcher {cfg.searcher!r} does not run data parallel (under mpiexec) yet; "
            f"run it in one process, or use {' or '.join(able)}"
        )
    writes = comm.rank == 0  # under data parallel only rank 0 writes the run folder
    if writes:
        run.check_start(search_manifest(cfg), text, resume=resume, changeable=RESUMABLE)
    data = make_data(cfg.dataset, cfg.seed, search=True, shard=(comm.rank, comm.size))
    with nn.context_scope(context):
        # Everything that may refuse the config is built before the run folder is written.
        model = space.make_search_net(
            data.sample_shape[0], data.classes, seed=cfg.seed, options=cfg.model.options
        )
        if model.edge_weights() and not searcher_class.learns_edge_weights:
            takes = [n for n, c in SEARCHERS.items() if c.learns_edge_weights]
            raise ConfigError(
                f"model: these {space.name} options add edge weights (PC-DARTS's edge "
                f"normalization) that searcher {cfg.searcher!r} does not learn; use "
                f"{' or '.join(takes)}, or turn the option off"
            )
        # A searcher made for named spaces (ofa's progressive shrinking) needs no choices.
        if (
            not searcher_class.spaces
            and not find_choices(model)
            and not model.get_arch_parameters()
        ):
            strategies = ", ".join(STRATEGIES.names())
            raise ConfigError(
                f"searcher {cfg.searcher!r}: the {space.name} space's supernet has no choices "
                f"(MixedOp) or architecture parameters for a one-shot searcher; search it with "
                f"a multi-trial strategy ({strategies}) and multitrial.evaluator: train"
            )
        steps = len(data.train["train"])
        net, arch = model.get_net_parameters(True), model.get_arch_parameters(True)
        one = (1, *data.sample_shape)  # every cost is of one input
        scope = latency_scope(space.name, cfg.model.options, one)
        cost = make_cost(cfg.cost, run.file("latency_table"), scope)
        calibrated = calibrate_cost(cost, cfg.cost, model, one)
        arch_cfg = cfg.arch_optimizer
        parts = SearchParts(
            optimizer=make_optimizer(
                net,
                cfg.optimizer,
                cfg.epochs,
                steps,
                comm,
                segments=searcher_class.schedule_segments(cfg.settings, cfg.epochs),
            ),
            arch=None
            if arch_cfg is None
            else make_optimizer(arch, arch_cfg, cfg.epochs, steps, comm),
            transform=make_transform(cfg.dataset),
            cost=cost,
            context=context,
            epochs=cfg.epochs,
            communicator=comm,
            sync_batch_norm=cfg.sync_batch_norm,
        )
        searcher = searcher_class.create(model, parts, cfg.settings)
        searcher.recompute = cfg.recompute
        session = (
            run.session(search_manifest(cfg), text, resume=resume, changeable=RESUMABLE)
            if writes
            else nullcontext()
        )
        with session:
            if writes and cost is not None and isinstance(cost.estimator, LatencyEstimator):
                if calibrated is not None:
                    cost.estimator.save()  # the calibration, reused on resume and later runs
                write_cost_model(run.file("cost_model"), cost.estimator)
            metrics = _search_loop(cfg, space, run, data, searcher, cost, resume, progress)
            # The final phase draws from the stream of the epoch after the last and reads
            # that epoch's order of the weights' split, so a resumed run redoes it alike.
            weights_split = data.train["train"]
            weights_split.set_epoch(cfg.epochs)
            metrics.update(
                searcher.finish(
                    weights_split, data.eval, rng=epoch_rng(cfg.seed, cfg.epochs),
                    history=run.file("evolution") if writes else None,
                )
            )  # fmt: skip
            if not writes:
                return SearchResult(space.derive(model), run, metrics)
            if cost is not None and isinstance(cost.estimator, LatencyEstimator):
                cost.estimator.save()  # the measured layers, for later runs (latency_table)
            found = _derive(cfg, space, searcher, cost, data.sample_shape, metrics)
            _warn_over_budget(cfg, metrics)
            mark = {FINGERPRINT: fingerprint(space.name, cfg.model.options)}
            model.save_parameters(run.file("weights"), attrs=mark)
            logger.info(f"supernet weights written to {run.file('weights')}")
            if not run.has("arch") or space.read(run.file("arch")) != found:
                space.write(run.file("arch"), found)  # the last epoch's figures show the rest
                logger.info("drawing the final architecture's figures")
                draw_figures(run, space)
            logger.info(f"architecture written to {run.file('arch')}")
    if front is not None:  # the supernet run is finished: its weights score sub-networks
        _score_front(front, run, progress)
    return SearchResult(found, run, metrics)
