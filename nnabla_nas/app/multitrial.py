"""Multi-trial search from a config: decisions, strategy, evaluator, executor, trial log.

The decisions come from the space's search net (``Space.decisions``); a trial's choice
tuple becomes an architecture with ``Space.from_choices``, or, for the supernet
evaluator, a path of a trained supernet. A candidate's latency is the benchmark table's
or the calibrated estimator's prediction of its path (`trial_latency`), known in this
process before it is evaluated. Writes ``trials.csv`` (every finished trial),
TensorBoard scalars per trial, ``arch.json`` (the best feasible architecture),
``pareto.csv`` / ``pareto.png`` (accuracy against latency), ``result.json`` (best, front
hypervolume, latency predictor) and, with a predicted latency, ``latency_table.json`` and
``cost_model.json``, next to ``config.yaml``.
"""

from __future__ import annotations

import csv
import dataclasses
import functools
import io
import logging
import math
from collections.abc import Callable, Sequence
from typing import Any

import nnabla as nn
import numpy as np
import yaml
from tensorboardX import SummaryWriter

from ..contrib.estimator import FLOPsEstimator
from ..contrib.space import Decision, Space
from ..module import find_choices
from ..runner.multitrial import (
    STRATEGIES,
    ChoiceSpace,
    Constraint,
    Objective,
    Strategy,
    StrategyParts,
    Trial,
)
from ..runner.multitrial.driver import Executor, run_trials
from ..runner.multitrial.evaluators import TableEvaluator, TrainingEvaluator
from ..runner.multitrial.executors import RayExecutor, SerialExecutor
from ..runner.multitrial.priced import PricedExecutor
from ..runner.multitrial.supernet import SubnetEvaluator
from ..runner.multitrial.trials import TrialLog
from ..utils.io import write_json, write_text
from ..visualize.plots import plot_front
from .build import FINGERPRINT, fingerprint, make_dataset, nnabla_context, write_cost_model
from .config import RESUMABLE, ConfigError, SearchConfig, TrainConfig, parse_config, to_dict
from .run import Manifest, RunFolder
from .supernet import supernet_evaluator
from .train import train_candidate
from .trial_latency import TrialLatency, candidate_network, network_price, trial_latency

logger = logging.getLogger("nnabla_nas")

OBJECTIVES = (Objective("accuracy", "maximize"), Objective("latency", "minimize"))
BUDGET_DRAWS = 1000  # random candidates `check_budget` prices before refusing a budget


def candidate_config(cfg: SearchConfig, space: Space) -> dict[str, Any]:
    """The retraining config a candidate is trained with, as plain data: the search's
    data, optimizer, epochs and the train network's model options."""
    shared = {f.name for f in dataclasses.fields(TrainConfig)}
    train = TrainConfig(**{k: v for k, v in vars(cfg).items() if k in shared})
    valid = space.options("train")
    options = {k: v for k, v in cfg.model.options.items() if k in valid}
    train.model = dataclasses.replace(cfg.model, options=options)
    return to_dict(train)


def make_evaluator(cfg: SearchConfig, space: Space) -> Any:
    """The table lookup, the supernet's score of the candidate's path, or training each
    candidate. The latency of the last two comes with `trial_latency` (measured by the
    training only when ``multitrial.latency`` is ``measured``)."""
    mt = cfg.multitrial
    assert mt is not None
    table = space.table()
    if mt.evaluator == "table":
        assert table is not None and mt.device is not None
        return TableEvaluator(table, mt.device)
    if mt.evaluator == "supernet":
        return supernet_evaluator(cfg, space)
    train = functools.partial(
        train_candidate, candidate_config(cfg, space), measure_latency=mt.latency == "measured"
    )
    return TrainingEvaluator(train)


def make_executor(cfg: SearchConfig, evaluator: Any) -> Executor:
    """Table lookups and supernet scores run here; candidate trainings run on Ray workers
    when more than one."""
    mt = cfg.multitrial
    assert mt is not None
    if mt.evaluator != "train" or (mt.workers <= 1 and mt.ray_address is None):
        return SerialExecutor(evaluator)
    return RayExecutor(evaluator, workers=mt.workers, address=mt.ray_address)


def priced(
    cfg: SearchConfig,
    executor: Executor,
    latency: TrialLatency,
    decode: Callable[..., Any],
    flops: Callable[[Sequence[str]], float] | None = None,
) -> tuple[Executor, Callable[..., Any]]:
    """The executor the trials go to, and what it receives of a choice tuple: the latency
    of `latency` (and the `flops`, when given) added here to what the evaluator gives (the
    table evaluator gives the latency)."""
    mt = cfg.multitrial
    assert mt is not None
    price = latency.price
    if mt.evaluator == "table" or (price is None and flops is None):
        return executor, decode

    def values(c: Sequence[str]) -> dict[str, float]:
        found = {} if price is None else {"latency": price(c)}
        if flops is not None:
            found["flops"] = flops(c)
        return found

    inner = tuple if mt.evaluator == "supernet" else decode  # a path, or an architecture
    return PricedExecutor(executor, values, inner), tuple


def flops_of(
    space: Space, net: Any, cfg: SearchConfig, input_shape: tuple[int, ...], classes: int
) -> Callable[[Sequence[str]], float]:
    """The FLOPs of one input of a candidate's train network (the network deployed),
    each choice tuple counted once."""
    network = candidate_network(cfg, space, net, input_shape, classes)
    return network_price(network, FLOPsEstimator(), input_shape)


def check_decisions(space: Space, net: Any, decisions: Sequence[Decision]) -> None:
    """Refuses a space whose decisions are not its supernet's choices: paths of the
    supernet price and score them."""
    choices = [(c.label, tuple(c.names)) for c in find_choices(net)]
    if [(d.label, tuple(d.options)) for d in decisions] != choices:
        raise ConfigError(
            f"space {space.name!r} encodes its decisions otherwise than as its supernet's "
            "choices: its candidates have no path to score or price"
        )


def check_budget(
    choices: ChoiceSpace,
    budgets: Sequence[tuple[str, Callable[[Sequence[str]], float], float, str]],
    seed: int,
) -> None:
    """Refuses budgets (config key, price, bound, unit) that no candidate of
    `BUDGET_DRAWS` random ones meets together (before the run writes anything), naming
    the cheapest drawn by the first budget."""
    rng = np.random.default_rng(seed)
    cheapest = math.inf
    unit = budgets[0][3]
    for _ in range(BUDGET_DRAWS):
        arch = choices.sample(rng)
        prices = [price(arch) for _, price, _, _ in budgets]
        cheapest = min(cheapest, prices[0])
        if all(p <= b for p, (_, _, b, _) in zip(prices, budgets, strict=True)):
            return
    keys = ", ".join(k for k, _, _, _ in budgets)
    within = " and ".join(f"{b:g} {u}" for _, _, b, u in budgets)
    raise ConfigError(
        f"{keys}: none of {BUDGET_DRAWS} random candidates is within {within} (the cheapest "
        f"{cheapest:.4g} {unit}); raise the budget"
    )


def make_strategy(
    cfg: SearchConfig, choices: ChoiceSpace, prefilter: Callable[[Any], bool] | None
) -> Strategy:
    """The configured strategy, with the latency and FLOPs budgets as constraints."""
    mt = cfg.multitrial
    assert mt is not None
    constraints = [] if mt.max_latency is None else [Constraint("latency", mt.max_latency)]
    if mt.max_flops is not None:
        constraints.append(Constraint("flops", mt.max_flops))
    parts = StrategyParts(choices, OBJECTIVES, constraints, cfg.seed, prefilter, mt.trials)
    return STRATEGIES[cfg.searcher].create(parts, cfg.settings)


class TrialBoard:
    """Logs each finished trial and the best feasible accuracy so far to TensorBoard."""

    def __init__(self, log_dir: str, strategy: Strategy) -> None:
        self.writer = SummaryWriter(log_dir)
        self.strategy = strategy

    def __call__(self, trial: Trial) -> None:
        for key, value in trial.values.items():
            self.writer.add_scalar(f"trial/{key}", value, trial.number)
        self.writer.add_scalar("trial/failed", float(trial.state == "failed"), trial.number)
        best = self.strategy.best()
        if best is not None:
            self.writer.add_scalar("best/accuracy", best.values["accuracy"], trial.number)
        self.writer.flush()


def front_table(front: Sequence[Trial], describe: Callable[[tuple[str, ...]], str]) -> str:
    """``pareto.csv``: the non-dominated trials, cheapest first."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["number", "accuracy", "latency", "arch"])
    for t in sorted(front, key=lambda t: t.values["latency"]):
        writer.writerow([t.number, t.values["accuracy"], t.values["latency"], describe(t.arch)])
    return out.getvalue()


def summarize(trials: Sequence[Trial], strategy: Strategy, budget: float | None) -> dict[str, Any]:
    """Best feasible trial and the hypervolume of the front (reference: 0 %, the budget
    or the largest latency seen)."""
    front = strategy.front()
    best = strategy.best()
    latencies = [t.values["latency"] for t in trials if "latency" in t.values]
    reference = (0.0, budget if budget is not None else max(latencies, default=0.0))
    return {
        "trials": len(trials),
        "failed": sum(t.state == "failed" for t in trials),
        "infeasible": sum(t.state == "infeasible" for t in trials),
        "best_number": None if best is None else best.number,
        "best_accuracy": None if best is None else best.values["accuracy"],
        "best_latency": None if best is None else best.values["latency"],
        "front_size": len(front),
        "hypervolume": strategy.hypervolume(reference),
        "hypervolume_reference": list(reference),
    }


class SearchError(RuntimeError):
    """A search ran to its end without finding an architecture; says why."""


def _nothing_found(trials: Sequence[Trial], log: str) -> str:
    failed = [t for t in trials if t.state == "failed"]
    infeasible = sum(t.state == "infeasible" for t in trials)
    first = f"; the first failure: {failed[0].error}" if failed else ""
    return (
        f"no feasible architecture in {len(trials)} trials ({len(failed)} failed, {infeasible} "
        f"over the constraint){first}; see {log}"
    )


def unique_archs(trials: Sequence[Trial], describe: Callable[[Any], str]) -> list[Trial]:
    """The first trial of each architecture: choice tuples that differ only in decisions
    an architecture does not use (a block past its stage's depth) are one architecture."""
    seen: set[str] = set()
    unique = []
    for trial in trials:
        text = describe(trial.arch)
        if text not in seen:
            seen.add(text)
            unique.append(trial)
    return unique


def write_subnet(
    cfg: SearchConfig, space: Space, run: RunFolder, evaluator: SubnetEvaluator, arch: Any
) -> dict[str, Any]:
    """Writes the best sub-network of an elastic supernet as a plain network: its inherited
    weights with BatchNorm recalibrated (``subnet.h5``, fingerprinted as a retraining's)
    and the train config that fine-tunes (``train --init-weights``) or exports it; scores
    it on the test set. Returns what the result records."""
    train = parse_config(TrainConfig, candidate_config(cfg, space))
    net = evaluator.network(arch)
    mark = fingerprint(space.name, train.model.options, space.validate(arch))
    net.save_parameters(run.file("subnet_weights"), attrs={FINGERPRINT: mark})
    write_text(run.file("subnet_config"), yaml.safe_dump(to_dict(train), sort_keys=False))
    test = evaluator.accuracy(net, evaluator.test)
    logger.info(
        f"best sub-network with its inherited weights: test accuracy {100 * test:.2f}%; "
        f"written to {run.file('subnet_weights')} with its train config "
        f"{run.file('subnet_config')}: fine-tune it with nnabla-nas train -c "
        f"{run.file('subnet_config')} --arch {run.file('arch')} --init-weights "
        f"{run.file('subnet_weights')}, or export it with nnabla-nas export -c "
        f"{run.file('subnet_config')} --arch {run.file('arch')} --weights "
        f"{run.file('subnet_weights')} --format onnx -o model.onnx"
    )
    return {"subnet_test_accuracy": test}


def run_multitrial(
    cfg: SearchConfig,
    space: Space,
    run: RunFolder,
    manifest: Manifest,
    text: str,
    *,
    resume: bool,
) -> tuple[Any, dict[str, Any]]:
    """Runs a multi-trial search in `run` (checked, then started here); returns the best
    feasible architecture (None if no trial was feasible) and the summary."""
    mt = cfg.multitrial
    assert mt is not None
    dataset = make_dataset(cfg.dataset)
    if mt.evaluator == "train":
        dataset.load(cfg.dataset.split_seed)  # missing files fail now, not in every trial
    channels, classes = dataset.sample_shape[0], dataset.classes
    search_keys = space.options("search")
    options = {k: v for k, v in cfg.model.options.items() if k in search_keys}
    with nn.context_scope(nnabla_context(cfg)):
        net = space.make_search_net(channels, classes, seed=cfg.seed, options=options)
    decisions = space.decisions(net)
    if not decisions:
        raise ValueError(f"space {space.name!r} has no choices (no MixedOp) to search")
    choices = ChoiceSpace(
        [d.options for d in decisions],
        [d.label for d in decisions],
        canonical=lambda c: space.canonical_choices(net, c),
    )

    def decode(values: Sequence[str]) -> Any:
        return space.from_choices(net, values)

    if not space.has_subnets and (space.table() is None or mt.evaluator == "supernet"):
        check_decisions(space, net, decisions)
    evaluator = make_evaluator(cfg, space)
    log = TrialLog(run.file("trials"), format_arch=space.format_choices,
                   parse_arch=space.parse_choices)  # fmt: skip
    run.check_start(manifest, text, resume=resume, changeable=RESUMABLE)
    one = (1, *dataset.sample_shape)
    latency = trial_latency(
        cfg, space, net, options, one, run.file("latency_table"), classes=classes
    )
    budgets: list[tuple[str, Callable[[Sequence[str]], float], float, str]] = []
    if mt.max_latency is not None and latency.price is not None:
        budgets.append(("multitrial.max_latency", latency.price, mt.max_latency, "ms"))
    flops = None if mt.max_flops is None else flops_of(space, net, cfg, one, classes)
    if flops is not None and mt.max_flops is not None:
        budgets.append(("multitrial.max_flops", flops, mt.max_flops, "FLOPs"))
    prefilter = None
    if budgets:
        check_budget(choices, budgets, cfg.seed)

        def prefilter(c: Sequence[str]) -> bool:
            return all(price(c) <= bound for _, price, bound, _ in budgets)

    strategy = make_strategy(cfg, choices, prefilter)
    executor, submit = priced(cfg, make_executor(cfg, evaluator), latency, decode, flops)
    with run.session(manifest, text, resume=resume, changeable=RESUMABLE):
        if latency.estimator is not None:
            latency.estimator.save()  # its calibration, reused on resume and later runs
            write_cost_model(run.file("cost_model"), latency.estimator)
        if resume and not log.load():
            logger.warning("the trial log holds no finished trial: starting from the first")
        board = TrialBoard(run.file("tensorboard"), strategy)
        trials = run_trials(
            strategy, executor, log, budget=mt.trials, decode=submit, on_trial=board,
            logger=logger,
        )  # fmt: skip
        board.writer.close()
        if latency.estimator is not None:
            latency.estimator.save()  # layers first met in a trial, for later runs
        result = summarize(trials, strategy, mt.max_latency)
        result["latency_predictor"] = latency.predictor

        def describe(values: tuple[str, ...]) -> str:
            return space.describe(decode(values))

        front = unique_archs(strategy.front(), describe)
        result["front_size"] = len(front)

        write_text(run.file("pareto_csv"), front_table(front, describe))
        points = [(t.values["latency"], t.values["accuracy"]) for t in trials
                  if t.values and t.state != "failed"]  # fmt: skip
        edge = [(t.values["latency"], t.values["accuracy"]) for t in front]
        plot_front(run.file("pareto_png"), points, edge, mt.max_latency)
        best = strategy.best()
        arch = None
        if best is not None:
            arch = decode(best.arch)
            space.write(run.file("arch"), arch)
            result["best_arch"] = space.describe(arch)
            if isinstance(evaluator, SubnetEvaluator):
                result.update(write_subnet(cfg, space, run, evaluator, arch))
        write_json(run.file("result"), result)
        if best is None:
            raise SearchError(_nothing_found(trials, run.file("trials")))
        logger.info(
            f"{result['trials']} trials ({result['failed']} failed); best accuracy "
            f"{result['best_accuracy']} at latency {result['best_latency']} ms; "
            f"front of {result['front_size']}, hypervolume {result['hypervolume']:.4g}"
        )
    return arch, result
