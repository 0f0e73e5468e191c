"""Compares multi-trial strategies on NAS-Bench-201 under a latency budget.

For each strategy: 20 seeds, 300 table queries each, feasible = raspi4 latency at most the
median latency of the space. Prints, per strategy, the best feasible accuracy found (mean,
std, min-max), its gap to the true best feasible accuracy (from the table), and the
hypervolume of the found accuracy-latency front as a share of the true front's
(reference point: 0 % accuracy, the latency budget).

Run: ``.venv/bin/python benchmarks/nb201_search.py [--seeds 20] [--trials 300]``.
Targets: evolution within 0.3 % of the true best on average; front hypervolume >= 97 %.
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time

import numpy as np

from nnabla_nas.app.multitrial import OBJECTIVES
from nnabla_nas.contrib.nb201.arch import choices
from nnabla_nas.contrib.nb201.table import NB201Table
from nnabla_nas.runner.multitrial import (
    ChoiceSpace,
    Constraint,
    OptunaStrategy,
    RandomSearch,
    RegularizedEvolution,
    Strategy,
    hypervolume,
    pareto_front,
)
from nnabla_nas.runner.multitrial.driver import run_trials
from nnabla_nas.runner.multitrial.evaluators import TableEvaluator
from nnabla_nas.runner.multitrial.executors import SerialExecutor
from nnabla_nas.runner.multitrial.optuna_adapter import named_sampler
from nnabla_nas.runner.multitrial.trials import TrialLog

DEVICE = "raspi4"


def strategies(budget: float, table: NB201Table, population: int, sample: int) -> dict[str, object]:
    """Builders of each compared strategy for a seed, all with the same constraint."""
    space = ChoiceSpace(choices())
    common = {
        "constraints": [Constraint("latency", budget)],
        "prefilter": lambda arch: table.latency(arch, DEVICE) <= budget,
    }
    return {
        "random": lambda seed: RandomSearch(space, OBJECTIVES, seed=seed, **common),
        "evolution": lambda seed: RegularizedEvolution(
            space,
            OBJECTIVES,
            seed=seed,
            population_size=population,
            sample_size=sample,
            **common,
        ),
        "optuna-tpe": lambda seed: OptunaStrategy(
            space, OBJECTIVES, seed=seed, sampler=named_sampler("tpe"), **common
        ),
        "optuna-nsga2": lambda seed: OptunaStrategy(
            space, OBJECTIVES, seed=seed, sampler=named_sampler("nsga2"), **common
        ),
    }


def true_front(table: NB201Table, budget: float) -> tuple[float, float]:
    """The best feasible accuracy and the hypervolume of the true feasible front."""
    acc, lat = table.accuracies, table.latencies(DEVICE)
    feasible = lat <= budget
    points = np.stack([acc[feasible], lat[feasible]], axis=1)
    front = points[pareto_front(points, [True, False])]
    return float(acc[feasible].max()), hypervolume(front, (0.0, budget), [True, False])


def run(strategy: Strategy, trials: int, folder: str, table: NB201Table) -> Strategy:
    log = TrialLog(f"{folder}/trials.csv")
    run_trials(strategy, SerialExecutor(TableEvaluator(table, DEVICE)), log, budget=trials)
    return strategy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--trials", type=int, default=300)
    parser.add_argument("--first-seed", type=int, default=0, help="seeds first-seed, ...")
    parser.add_argument("--population", type=int, default=150, help="evolution population")
    parser.add_argument("--sample", type=int, default=30, help="evolution tournament size")
    parser.add_argument("--only", nargs="*", help="strategy names to run")
    args = parser.parse_args()
    table = NB201Table.load()
    budget = float(np.median(table.latencies(DEVICE)))
    best, volume = true_front(table, budget)
    print(f"machine: {platform.machine()} {platform.processor() or ''}".strip())
    print(
        f"NAS-Bench-201, {DEVICE} latency <= {budget:.3f} ms (median); {args.seeds} seeds x "
        f"{args.trials} queries; true best feasible accuracy {best:.3f} %\n"
    )
    header = f"{'strategy':<13} {'best acc (mean ± std)':>22} {'min-max':>16} {'gap':>7} "
    print(header + f"{'HV share (mean, min)':>21} {'s/run':>6}")
    for name, build in strategies(budget, table, args.population, args.sample).items():
        if args.only and name not in args.only:
            continue
        found, shares, seconds = [], [], []
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            start = time.perf_counter()
            with tempfile.TemporaryDirectory() as folder:
                strategy = run(build(seed), args.trials, folder, table)
            seconds.append(time.perf_counter() - start)
            top = strategy.best()
            found.append(top.values["accuracy"] if top else 0.0)
            shares.append(strategy.hypervolume((0.0, budget)) / volume)
        f, s = np.array(found), np.array(shares)
        print(
            f"{name:<13} {f.mean():>13.3f} ± {f.std():.3f} {f.min():>8.3f}-{f.max():.3f} "
            f"{best - f.mean():>7.3f} {100 * s.mean():>12.2f} %, {100 * s.min():.2f} % "
            f"{np.median(seconds):>6.2f}"
        )
    print("\ngap: true best feasible accuracy minus the mean best found (percentage points)")


if __name__ == "__main__":
    main()
