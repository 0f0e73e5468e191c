"""Builds and runs a multi-trial search from a config: strategy, evaluator, executor, log.

Writes ``trials.csv`` (every finished trial), TensorBoard scalars per trial, ``arch.json``
(the best feasible architecture), ``pareto.csv`` / ``pareto.png`` (accuracy against
latency) and ``result.json`` (best, front hypervolume), next to ``config.yaml``.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Callable, Sequence
from typing import Any

from .config import ConfigError, SearchConfig, TrainConfig
from .contrib.registry import Space
from .runner.multitrial import STRATEGIES, ChoiceSpace, Constraint, Objective, Strategy, Trial
from .runner.multitrial.driver import run_trials
from .runner.multitrial.evaluators import TableEvaluator, TrainingEvaluator
from .runner.multitrial.executors import RayExecutor, SerialExecutor
from .runner.multitrial.trials import TrialLog
from .utils.io import atomic_path, write_json, write_text

OBJECTIVES = (Objective("accuracy", "maximize"), Objective("latency", "minimize"))


def candidate_config(cfg: SearchConfig) -> TrainConfig:
    """The retraining config a candidate is trained with: the search's data, model, optimizer."""
    shared = {f.name for f in dataclasses.fields(TrainConfig)}
    return TrainConfig(**{k: v for k, v in vars(cfg).items() if k in shared})


def make_strategy(cfg: SearchConfig, choices: ChoiceSpace, table: Any) -> Strategy:
    """The configured strategy, with the latency budget as constraint and prefilter."""
    mt = cfg.multitrial
    constraints = [] if mt.max_latency is None else [Constraint("latency", mt.max_latency)]
    prefilter = None
    if mt.max_latency is not None and table is not None:
        budget = mt.max_latency
        prefilter = lambda arch: table.latency(arch, mt.device) <= budget  # noqa: E731
    options: dict[str, Any] = {"constraints": constraints, "seed": cfg.seed, "prefilter": prefilter}
    if cfg.searcher == "evolution":
        population = mt.population_size or max(mt.trials // 2, 2)
        sample = mt.sample_size or max(population // 5, 1)
        options.update(population_size=population, sample_size=sample)
    if cfg.searcher == "optuna":
        options["sampler"] = optuna_sampler(mt.sampler)
    return STRATEGIES[cfg.searcher](choices, OBJECTIVES, **options)


def optuna_sampler(name: str) -> Callable[[int], Any]:
    """A factory of the named Optuna sampler from a seed: the strategy seeds a fresh
    sampler per proposal, which makes a resumed search propose what the killed one would."""
    import optuna

    samplers: dict[str, Callable[[int], Any]] = {
        "tpe": lambda seed: optuna.samplers.TPESampler(seed=seed),
        "nsga2": lambda seed: optuna.samplers.NSGAIISampler(seed=seed),
        "random": lambda seed: optuna.samplers.RandomSampler(seed=seed),
    }
    return samplers[name]


def make_executor(cfg: SearchConfig) -> Any:
    """Table lookups run here; candidate trainings run on Ray workers."""
    mt = cfg.multitrial
    if mt.evaluator == "table":
        return SerialExecutor(TableEvaluator(mt.device))
    evaluator = TrainingEvaluator(dataclasses.asdict(candidate_config(cfg)), device=mt.device)
    if mt.workers <= 1 and mt.ray_address is None:
        return SerialExecutor(evaluator)
    return RayExecutor(evaluator, workers=mt.workers, address=mt.ray_address)


class TrialBoard:
    """Logs each finished trial and the best feasible accuracy so far to TensorBoard."""

    def __init__(self, log_dir: str, strategy: Strategy) -> None:
        from tensorboardX import SummaryWriter

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


def front_table(front: Sequence[Trial], format_arch: Callable[[tuple[str, ...]], str]) -> str:
    """``pareto.csv``: the non-dominated trials, cheapest first."""
    rows = ["number,accuracy,latency,arch"]
    for t in sorted(front, key=lambda t: t.values["latency"]):
        arch = format_arch(t.arch)
        rows.append(f"{t.number},{t.values['accuracy']},{t.values['latency']},{arch}")
    return "\n".join(rows) + "\n"


def plot_front(path: str, trials: Sequence[Trial], front: Sequence[Trial], budget: Any) -> None:
    """``pareto.png``: every complete trial, the front, and the latency budget."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    done = [t for t in trials if t.values and t.state != "failed"]
    fig, ax = plt.subplots(figsize=(6, 4), dpi=120)
    ax.scatter(
        [t.values["latency"] for t in done],
        [t.values["accuracy"] for t in done],
        s=8,
        alpha=0.4,
        label="trials",
    )
    points = sorted((t.values["latency"], t.values["accuracy"]) for t in front)
    if points:
        ax.step(*zip(*points, strict=True), where="post", color="C3", label="Pareto front")
    if budget is not None:
        ax.axvline(budget, color="k", linestyle="--", linewidth=1, label="latency budget")
    ax.set_xlabel("latency (ms)")
    ax.set_ylabel("accuracy (%)")
    ax.legend(loc="lower right")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)


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


def run_multitrial(
    cfg: SearchConfig,
    output_dir: str,
    space: Space,
    *,
    resume: bool = False,
    logger: logging.Logger,
) -> dict[str, Any]:
    """Runs a multi-trial search in `output_dir` (already prepared by the caller)."""
    if space.choices is None or space.format_arch is None or space.parse_arch is None:
        raise ConfigError(
            "model.name: this search space has no discrete choice list for "
            "multi-trial search; use nb201"
        )
    format_arch = space.format_arch
    choices = ChoiceSpace(space.choices())
    table = TableEvaluator(cfg.multitrial.device).table if space.has_table else None
    strategy = make_strategy(cfg, choices, table)
    log = TrialLog(
        os.path.join(output_dir, "trials.csv"),
        format_arch=space.format_arch,
        parse_arch=space.parse_arch,
    )
    if not resume and os.path.exists(log.path):
        raise ConfigError(f"'{output_dir}' already holds trials; pass --resume to continue")
    board = TrialBoard(os.path.join(output_dir, "tensorboard"), strategy)
    trials = run_trials(
        strategy,
        make_executor(cfg),
        log,
        budget=cfg.multitrial.trials,
        on_trial=board,
        logger=logger,
    )
    board.writer.close()
    result = summarize(trials, strategy, cfg.multitrial.max_latency)
    front = strategy.front()
    write_text(os.path.join(output_dir, "pareto.csv"), front_table(front, format_arch))
    plot_front(os.path.join(output_dir, "pareto.png"), trials, front, cfg.multitrial.max_latency)
    best = strategy.best()
    if best is not None:
        space.save_arch(os.path.join(output_dir, "arch.json"), best.arch)
        result["best_arch"] = format_arch(best.arch)
    write_json(os.path.join(output_dir, "result.json"), result)
    logger.info(
        f"{result['trials']} trials ({result['failed']} failed); best accuracy "
        f"{result['best_accuracy']} at latency {result['best_latency']} ms; "
        f"front of {result['front_size']}, hypervolume {result['hypervolume']:.4g}"
    )
    return result
