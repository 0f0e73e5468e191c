"""Compares multi-trial strategies on NAS-Bench-201 under a latency budget.

For each strategy: 20 seeds, 300 table queries each (``--trials 100`` for the few-query
setting), feasible = raspi4 latency at most the median latency of the space. Each strategy
is built as a search config builds it (`Strategy.create` with its default settings, the
table prefilter, and the space's choice encoding). Prints, per strategy, the best feasible
accuracy found (mean, std, min-max), its gap to the true best feasible accuracy (from the
table), and the hypervolume of the found accuracy-latency front as a share of the true
front's (reference point: 0 % accuracy, the latency budget).

Run: ``.venv/bin/python benchmarks/nb201_search.py [--seeds 20] [--trials 300]``; tune on
``--first-seed 100``, report seeds 0-19.
Targets: at 300 queries, evolution within 0.3 points of the true best on average and front
hypervolume >= 97 %; at 100 queries, a gap of at most 0.15 points.
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time
from typing import Any

import numpy as np

from nnabla_nas.app.multitrial import OBJECTIVES
from nnabla_nas.contrib.nb201.arch import choices
from nnabla_nas.contrib.nb201.table import NB201Table
from nnabla_nas.contrib.registry import get_space
from nnabla_nas.runner.multitrial import (
    STRATEGIES,
    ChoiceSpace,
    Constraint,
    EvolutionSettings,
    OptunaSettings,
    Strategy,
    StrategyParts,
    hypervolume,
    pareto_front,
)
from nnabla_nas.runner.multitrial.driver import run_trials
from nnabla_nas.runner.multitrial.evaluators import TableEvaluator
from nnabla_nas.runner.multitrial.executors import SerialExecutor
from nnabla_nas.runner.multitrial.trials import TrialLog

DEVICE = "raspi4"


def strategies(args: argparse.Namespace) -> dict[str, tuple[str, Any, bool]]:
    """Each compared strategy: its registered name, its settings (None: the defaults), and
    whether it gets the space's choice encoding (bananas; without it, one-hot codes)."""
    evolution = EvolutionSettings(population_size=args.population, sample_size=args.sample)
    return {
        "random": ("random", None, False),
        "evolution": ("evolution", evolution, False),
        "optuna-tpe": ("optuna", OptunaSettings(sampler="tpe"), False),
        "optuna-nsga2": ("optuna", OptunaSettings(sampler="nsga2"), False),
        "local-search": ("local_search", None, False),
        "bananas": ("bananas", None, True),
        "bananas-1hot": ("bananas", None, False),
    }


def build(
    name: str, settings: Any, encoded: bool, seed: int, trials: int, budget: float
) -> Strategy:
    """The strategy as a search config makes it, for one seed."""
    table = NB201Table.load()
    cls = STRATEGIES[name]
    parts = StrategyParts(
        ChoiceSpace(choices()),
        OBJECTIVES,
        [Constraint("latency", budget)],
        seed,
        lambda arch: table.latency(arch, DEVICE) <= budget,
        trials,
        get_space("nb201").choice_encoding() if encoded else None,
    )
    return cls.create(parts, cls.Settings() if settings is None else settings)


def true_front(table: NB201Table, budget: float) -> tuple[float, float]:
    """The best feasible accuracy and the hypervolume of the true feasible front."""
    acc, lat = table.accuracies, table.latencies(DEVICE)
    feasible = lat <= budget
    points = np.stack([acc[feasible], lat[feasible]], axis=1)
    front = points[pareto_front(points, [True, False])]
    return float(acc[feasible].max()), hypervolume(front, (0.0, budget), [True, False])


def run(strategy: Strategy, trials: int, folder: str, table: NB201Table) -> Strategy:
    """Runs `trials` table queries of `strategy` through the search driver."""
    log = TrialLog(f"{folder}/trials.csv")
    run_trials(strategy, SerialExecutor(TableEvaluator(table, DEVICE)), log, budget=trials)
    return strategy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--trials", type=int, default=300)
    parser.add_argument("--first-seed", type=int, default=0, help="seeds first-seed, ...")
    parser.add_argument("--population", type=int, help="evolution population (half the budget)")
    parser.add_argument(
        "--sample", type=int, help="evolution tournament (a fifth of the population)"
    )
    parser.add_argument("--only", nargs="*", help="strategy names to run")
    args = parser.parse_args()
    table = NB201Table.load()
    budget = float(np.median(table.latencies(DEVICE)))
    best, volume = true_front(table, budget)
    print(f"machine: {platform.machine()} {platform.processor() or ''}".strip())
    print(
        f"NAS-Bench-201, {DEVICE} latency <= {budget:.3f} ms (median); {args.seeds} seeds "
        f"({args.first_seed}-{args.first_seed + args.seeds - 1}) x {args.trials} queries; "
        f"true best feasible accuracy {best:.3f} %\n"
    )
    header = f"{'strategy':<13} {'best acc (mean ± std)':>22} {'min-max':>16} {'gap':>7} "
    print(header + f"{'HV share (mean, min)':>21} {'s/run':>6}")
    for label, (name, settings, encoded) in strategies(args).items():
        if args.only and label not in args.only:
            continue
        found, shares, seconds = [], [], []
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            strategy = build(name, settings, encoded, seed, args.trials, budget)
            start = time.perf_counter()
            with tempfile.TemporaryDirectory() as folder:
                run(strategy, args.trials, folder, table)
            seconds.append(time.perf_counter() - start)
            top = strategy.best()
            found.append(top.values["accuracy"] if top else 0.0)
            shares.append(strategy.hypervolume((0.0, budget)) / volume)
        f, s = np.array(found), np.array(shares)
        print(
            f"{label:<13} {f.mean():>13.3f} ± {f.std():.3f} {f.min():>8.3f}-{f.max():.3f} "
            f"{best - f.mean():>7.3f} {100 * s.mean():>12.2f} %, {100 * s.min():.2f} % "
            f"{np.median(seconds):>6.2f}",
            flush=True,
        )
    print("\ngap: true best feasible accuracy minus the mean best found (percentage points)")


if __name__ == "__main__":
    main()
