"""Do one-shot searches find better architectures than random sampling at the same latency?

The setting is the demo's (the built-in configs mobilenet-digits-search and -train): six
MobileNetV2 blocks (width 0.5) choosing among k3_e3, k5_e6, k7_e6 and, where the shapes
allow, skip, on scikit-learn's digits at 16x16. The benchmark

1. builds one latency model for everything: a `LatencyEstimator` table in the output
   folder, calibrated on 20 paths of the search's supernet (unless the table already holds
   that calibration); every search is given this table (``cost.latency_table``), so the
   searches and the random architectures are priced by the same model;
2. samples random architectures (a uniform candidate per block), predicts their latency
   (the retrained network, one input) and takes budgets as quantiles of it (default the
   25th, 50th and 75th percentiles; ``--budgets`` gives them in ms instead);
3. per budget, retrains ``--random`` distinct random architectures predicted within it
   (the pool; their seeds cycle through ``--seeds``), after retraining one of them with
   ``--noise-seeds`` seeds to show the noise floor of a retraining; and retrains the
   middle budget's pool ``--repeat`` more times with other seeds, to show whether a
   retraining ranks the architectures at all (tau between seeds, the share of the
   variance the architecture explains, the top quarter's percentile when retrained again);
4. runs each searcher (DARTS first and second order, ProxylessNAS REINFORCE and binary
   gates and GDAS, all with the TuNAS target term ``|E[latency] / budget - 1|``; SPOS and
   FairNAS, whose evolution after training takes the budget as a hard limit) per budget
   and seed, and retrains the architecture found with the same seed.

It prints, per searcher and budget: the test accuracy and loss of the architectures found
(mean over seeds), their percentile in the pool, their latency (predicted, and measured end
to end: median of 200 runs) against the budget, the hypervolume of their (accuracy, latency)
points against the pool's with a common reference point (the lowest accuracy of both, the
budget), Kendall's tau between the log-probability a search's final probabilities give each
pool architecture and its retrained accuracy (the searchers that learn probabilities),
and, at equal compute, the expected best test accuracy of k random architectures of
the pool, k = floor(search wall time / mean retraining wall time) (at least 1; the exact
mean over all k-subsets of the pool). Picking the best of k by test accuracy favours random
sampling: it selects on the test set, the searchers do not.

Every finished run (a retraining or a search) is recorded in OUT/results.json, written
atomically after each run, keyed by (kind, architecture or searcher, budget, seed, epochs).
A rerun skips what is recorded, so the benchmark can be run over several sessions and
Ctrl-C loses nothing recorded (an unrecorded run folder is started afresh). Another config
needs another ``--out``. Seed 0 was used to develop the demo: the default seeds are 1-3.

Run from the repository root::

    .venv/bin/python benchmarks/search_quality.py --quick --out /tmp/sq   # smoke, ~3 min
    .venv/bin/python benchmarks/search_quality.py --jobs 2                 # the full run

Time on this 2-core VM (measured, DARTS first order, ProxylessNAS REINFORCE and binary
gates at the defaults): 3.9 CPU-hours, a search costing about 344, 118 and 166 CPU s and a
retraining about 102 (82 retrainings; ``--repeat 1`` adds 20); with ``--jobs 2``, about 2
hours. Second-order DARTS
steps cost about 3x first-order ones. ``--searchers``, ``--seeds``, ``--budgets``,
``--random`` and the epoch flags size it down.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import csv
import json
import math
import multiprocessing
import os
import platform
import resource
import shutil
import sys
import time
from collections import deque
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timezone
from itertools import combinations, zip_longest
from typing import Any

import nnabla as nn
import numpy as np
import yaml
from scipy.stats import kendalltau

from nnabla_nas.app.build import latency_scope, latency_threads, make_dataset, nnabla_context
from nnabla_nas.app.builtin_configs import config_file
from nnabla_nas.app.config import ConfigError, SearchConfig, TrainConfig, load_config
from nnabla_nas.cli import main as cli
from nnabla_nas.contrib.estimator import LatencyEstimator
from nnabla_nas.contrib.estimator.latency import cpu_model
from nnabla_nas.contrib.mobilenet.arch import block_choices, resolve_stages
from nnabla_nas.contrib.registry import get_space
from nnabla_nas.runner.multitrial import STRATEGIES
from nnabla_nas.runner.multitrial.pareto import hypervolume_2d, pareto_front
from nnabla_nas.runner.searcher import SEARCHERS as ONE_SHOT
from nnabla_nas.utils.io import read_json, write_json
from nnabla_nas.visualize.plots import read_probabilities

SEARCH = "mobilenet-digits-search"  # built-in configs; a YAML file's path also works
TRAIN = "mobilenet-digits-train"
FORMAT = "nnabla_nas.search_quality/1"
CALIBRATION_PATHS = 20
MAXIMIZE = [True, False]  # (accuracy %, latency ms): accuracy maximised, latency minimised


@dataclass(frozen=True)
class Searcher:
    """A compared searcher: the config's searcher, its section and the cost mode (a
    searcher that learns no alphas takes the budget as a hard limit, with no weight and
    no arch_optimizer section)."""

    searcher: str
    settings: dict[str, Any]
    cost_mode: str
    label: str
    learns_alphas: bool = True


SEARCHERS = {
    "darts": Searcher("darts", {"unrolled": False}, "target", "DARTS, first order"),
    "darts2": Searcher("darts", {"unrolled": True}, "target", "DARTS, second order"),
    "pnas": Searcher("pnas", {"gradient": "reinforce"}, "target", "ProxylessNAS, REINFORCE"),
    "pnas_gate": Searcher(
        "pnas", {"gradient": "binary_gate"}, "target", "ProxylessNAS, binary gates"
    ),
    "gdas": Searcher("gdas", {}, "target", "GDAS"),
    "spos": Searcher("spos", {}, "target", "SPOS (evolution under the budget)", False),
    "fairnas": Searcher("fairnas", {}, "target", "FairNAS (evolution under the budget)", False),
}
FULL: dict[str, Any] = {
    "searchers": list(SEARCHERS),
    "quantiles": [25.0, 50.0, 75.0],
    "seeds": [1, 2, 3],
    "random": 20,
    "noise_seeds": 3,
    "repeat": 1,
}
QUICK: dict[str, Any] = {
    "searchers": ["darts"],
    "quantiles": [50.0],
    "seeds": [1],
    "random": 3,
    "noise_seeds": 1,
    "repeat": 0,
    "search_epochs": 1,
    "train_epochs": 1,
}


# -- arguments -----------------------------------------------------------------------------


def _numbers(kind: type) -> Any:
    def parse(text: str) -> list[Any]:
        try:
            return [kind(v) for v in text.split(",") if v.strip()]
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected comma-separated numbers: {text!r}"
            ) from None

    return parse


def _names(text: str) -> list[str]:
    names = [v.strip() for v in text.split(",") if v.strip()]
    unknown = [n for n in names if n not in SEARCHERS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown searchers {unknown}; use some of: {', '.join(SEARCHERS)}"
        )
    return names


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    p.add_argument("--out", default=os.path.join("runs", "search_quality"), help="output folder")
    p.add_argument("--search-config", default=SEARCH, help="search config: file or name")
    p.add_argument("--train-config", default=TRAIN, help="retraining config: file or name")
    p.add_argument("--search-epochs", type=int, help="default: the search config's epochs")
    p.add_argument("--train-epochs", type=int, help="default: the train config's epochs")
    p.add_argument("--searchers", type=_names, help=f"default {','.join(FULL['searchers'])}")
    p.add_argument("--seeds", type=_numbers(int), help="search and retraining seeds (1,2,3)")
    p.add_argument("--random", type=int, help="random architectures per budget (20)")
    p.add_argument("--noise-seeds", type=int, help="seeds of the noise-floor retraining (3)")
    p.add_argument(
        "--repeat", type=int,
        help="retrain the middle budget's pool this many times more, each architecture with "
        "the next of --seeds: the retraining's agreement with itself (1; fewer than the seeds)",
    )  # fmt: skip
    p.add_argument("--quantiles", type=_numbers(float), help="budget percentiles (25,50,75)")
    p.add_argument("--budgets", type=_numbers(float), help="budgets in ms (instead of quantiles)")
    p.add_argument("--samples", type=int, default=2000, help="random architectures sampled")
    p.add_argument("--sample-seed", type=int, default=1, help="seed of the random sampling")
    p.add_argument(
        "--measure-rounds", type=int, default=8, help="rounds of the end-to-end measurement"
    )
    p.add_argument("--measure-runs", type=int, default=10, help="timed forwards per round")
    p.add_argument(
        "--jobs", type=int, default=1,
        help="runs at a time, each in a worker process (nnabla's CPU kernels use one core: "
        "up to the number of cores); the end-to-end latencies are measured after all runs, "
        "with no worker left",
    )  # fmt: skip
    p.add_argument(
        "--report", action="store_true",
        help="run nothing: print the tables of what is recorded (incomplete cells marked), "
        "with the latencies of the last end-to-end measurement",
    )  # fmt: skip
    p.add_argument(
        "--measure", action="store_true",
        help="with --report: measure the recorded architectures end to end first (on a quiet "
        "machine)",
    )  # fmt: skip
    p.add_argument(
        "--screen", action="store_true",
        help="no searches: retrain the noise floor, the pools and the repeat only, and print "
        "whether the setting can tell its architectures apart (run this before paying for "
        "searches in a new setting)",
    )  # fmt: skip
    p.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: darts, one budget (median), seed 1, 3 random architectures, one "
        "noise seed, 1 search epoch and 1 train epoch (the flags above still override)",
    )
    args = p.parse_args(argv)
    defaults = {**FULL, **QUICK} if args.quick else FULL
    for key, value in defaults.items():
        if getattr(args, key, None) is None:
            setattr(args, key, value)
    problems = [
        f"--{k.replace('_', '-')} must be at least 1"
        for k in ("random", "noise_seeds", "samples", "measure_rounds", "measure_runs", "jobs")
        if getattr(args, k) < 1
    ]
    problems += [
        f"--{k}-epochs must be at least 1"
        for k in ("search", "train")
        if getattr(args, f"{k}_epochs") is not None and getattr(args, f"{k}_epochs") < 1
    ]
    if not args.seeds or any(s < 0 for s in args.seeds):
        problems.append("--seeds: give seeds >= 0")
    elif len(set(args.seeds)) < len(args.seeds):
        problems.append("--seeds: give distinct seeds")
    elif not 0 <= args.repeat < len(args.seeds):
        problems.append(
            f"--repeat must be 0 to {len(args.seeds) - 1}: each repeat retrains an "
            "architecture with another of the --seeds"
        )
    if args.budgets is not None and (not args.budgets or any(b <= 0 for b in args.budgets)):
        problems.append("--budgets: give positive ms values")
    if args.budgets is None and any(not 0 <= q <= 100 for q in args.quantiles):
        problems.append("--quantiles: give percentiles in [0, 100]")
    if args.screen and not args.repeat:
        problems.append("--screen needs --repeat 1 or more (the retraining against itself)")
    if args.measure and not args.report:
        problems.append("--measure goes with --report (a full run measures at its end)")
    if problems:
        p.error("; ".join(problems))
    return args


# -- statistics ----------------------------------------------------------------------------


def std(values: Sequence[float]) -> float:
    """The sample standard deviation (nan with fewer than 2 values)."""
    return float(np.std(values, ddof=1)) if len(values) >= 2 else math.nan


def percentile(value: float, pool: Sequence[float], *, higher_is_better: bool) -> float:
    """The share (%) of `pool` that `value` beats, ties counting half."""
    better = sum(value > v if higher_is_better else value < v for v in pool)
    ties = sum(value == v for v in pool)
    return 100.0 * (better + 0.5 * ties) / len(pool)


def expected_best(values: Sequence[float], k: int) -> float:
    """The mean over all k-subsets of `values` of the subset's largest value (exact)."""
    ordered, n = sorted(values), len(values)
    k = min(k, n)
    return sum(math.comb(i - 1, k - 1) * ordered[i - 1] for i in range(k, n + 1)) / math.comb(n, k)


def fmt(value: float, spec: str, width: int) -> str:
    return f"{'n/a':>{width}}" if value is None or math.isnan(value) else f"{value:>{width}{spec}}"


# -- the results file ----------------------------------------------------------------------


class Results:
    """Finished runs, keyed by (kind, architecture or searcher, budget, seed, epochs);
    written atomically after every run."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.runs: dict[str, dict[str, Any]] = {}
        self.measured: dict[str, Any] = {}  # the last end-to-end measurement of all
        if os.path.exists(path):
            data = read_json(path, "results")
            if not isinstance(data, dict) or data.get("format") != FORMAT:
                sys.exit(f"{path}: not a {FORMAT} results file; use another --out")
            self.runs = dict(data.get("runs", {}))
            self.measured = dict(data.get("measured", {}))

    @staticmethod
    def key(kind: str, what: str, budget: float | None, seed: int, epochs: int) -> str:
        return json.dumps([kind, what, None if budget is None else round(budget, 4), seed, epochs])

    def get(self, key: str) -> dict[str, Any] | None:
        return self.runs.get(key)

    def put(self, key: str, record: dict[str, Any]) -> None:
        self.runs[key] = record
        self._write()

    def put_measured(self, measured: dict[str, Any]) -> None:
        self.measured = measured
        self._write()

    def _write(self) -> None:
        write_json(self.path, {"format": FORMAT, "runs": self.runs, "measured": self.measured})


# -- the latency model ---------------------------------------------------------------------


def arch_id(blocks: Sequence[str]) -> str:
    return "-".join(blocks)


class LatencyModel:
    """The calibrated latency prediction of a retrained network (one input).

    Every block's layers have the same shapes whatever the other blocks chose, so the
    prediction is a base plus one term per block: `fit` prices the base architecture and
    each single-block change with the estimator, checks the sum against the estimator on
    random architectures, and otherwise prices each architecture directly."""

    def __init__(self, bench: Bench) -> None:
        self.bench = bench
        self.base: tuple[str, ...] = ()
        self.base_ms = 0.0
        self.deltas: list[dict[str, float]] = []
        self.additive = False
        self.cache: dict[tuple[str, ...], float] = {}

    def direct(self, blocks: Sequence[str]) -> float:
        net = self.bench.train_net(blocks)
        with nn.context_scope(self.bench.context), net.modes(training=False):
            return float(self.bench.estimator.cost(net, self.bench.shape))

    def fit(self, rng: np.random.Generator, checks: int = 5) -> float:
        """Returns the largest error (ms) of the sum on `checks` random architectures."""
        self.base = tuple(c[0] for c in self.bench.choices)
        self.base_ms = self.direct(self.base)
        self.deltas = []
        for b, options in enumerate(self.bench.choices):
            row = {}
            for name in options:
                blocks = list(self.base)
                blocks[b] = name
                row[name] = 0.0 if name == self.base[b] else self.direct(blocks) - self.base_ms
            self.deltas.append(row)
        error = 0.0
        for _ in range(checks):
            drawn = self.bench.sample(rng)
            summed = self.base_ms + sum(d[n] for d, n in zip(self.deltas, drawn, strict=True))
            error = max(error, abs(summed - self.direct(drawn)))
        self.additive = error <= 1e-6
        return error

    def __call__(self, blocks: Sequence[str]) -> float:
        key = tuple(blocks)
        if key not in self.cache:
            if self.additive:
                terms = (d[n] for d, n in zip(self.deltas, key, strict=True))
                self.cache[key] = self.base_ms + sum(terms)
            else:
                self.cache[key] = self.direct(key)
        return self.cache[key]


# -- the benchmark -------------------------------------------------------------------------


class Bench:
    """The runs of the benchmark: retrainings and searches, recorded in the results file."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.out = os.path.abspath(args.out)
        os.makedirs(self.out, exist_ok=True)
        self.results = Results(os.path.join(self.out, "results.json"))
        self.log = os.path.join(self.out, "log.txt")
        self.table = os.path.join(self.out, "latency_table.json")
        self.train_config = os.path.abspath(config_file(args.train_config))
        with open(config_file(args.search_config), encoding="utf-8") as f:
            self.search_data = yaml.safe_load(f)
        try:
            search_cfg = load_config(SearchConfig, args.search_config)
            train_cfg = load_config(TrainConfig, self.train_config)
        except ConfigError as err:
            sys.exit(f"nnabla-nas config: {err}")
        if search_cfg.model.name != "mobilenet" or train_cfg.model.name != "mobilenet":
            sys.exit("the benchmark samples MobileNetV2 blocks: give mobilenet configs")
        self.search_epochs = args.search_epochs or search_cfg.epochs
        self.train_epochs = args.train_epochs or train_cfg.epochs
        self.search_options = dict(search_cfg.model.options)
        self.train_options = dict(train_cfg.model.options)
        self.context = nnabla_context(search_cfg)
        self.space = get_space("mobilenet")
        dataset = make_dataset(search_cfg.dataset)
        self.in_channels, self.classes = dataset.sample_shape[0], dataset.classes
        self.shape = (1, *dataset.sample_shape)
        self.scope = latency_scope("mobilenet", self.search_options, self.shape)
        self.estimator = LatencyEstimator(self.table, threads=latency_threads(), scope=self.scope)
        self.search_configs = {n: self._search_config(n) for n in args.searchers}
        for path in self.search_configs.values():  # every config error before any work
            try:
                cfg = load_config(SearchConfig, path, ["seed=1", "cost.target=1.0"])
            except ConfigError as err:
                sys.exit(f"{path}: {err}")
            if dict(cfg.model.options) != self.search_options:
                sys.exit(f"{path}: the model options differ from the search config's")
        self.supernet: Any = None
        self.choices: list[tuple[str, ...]] = []
        self.latency = LatencyModel(self)

    # -- configs and networks ------------------------------------------------------------
    def _search_config(self, name: str) -> str:
        """A config file of searcher `name`: the search config with the searcher's section
        (and no other searcher's), the cost mode, the shared latency table."""
        spec, data = SEARCHERS[name], copy.deepcopy(self.search_data)
        own = data.get(spec.searcher) if data.get("searcher", "darts") == spec.searcher else None
        for section in [*ONE_SHOT.names(), *STRATEGIES.names()]:
            data.pop(section, None)
        data["searcher"] = spec.searcher
        data[spec.searcher] = {**(own or {}), **spec.settings}
        data["cost"] = {**(data.get("cost") or {}), "mode": spec.cost_mode}
        data["cost"]["latency_table"] = self.table
        if not spec.learns_alphas:
            data.pop("arch_optimizer", None)
            data["cost"]["weight"] = 0.0
        data["epochs"] = self.search_epochs
        path = os.path.join(self.out, "configs", f"search_{name}.yaml")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            yaml.safe_dump(data, f, sort_keys=False)
        return path

    def genotype(self, blocks: Sequence[str]) -> dict[str, Any]:
        genotype: dict[str, Any] = {"settings": self.search_options["settings"]}
        genotype["blocks"] = list(blocks)
        if self.search_options.get("stages") is not None:
            genotype["stages"] = [list(s) for s in self.search_options["stages"]]
        return genotype

    def train_net(self, blocks: Sequence[str]) -> Any:
        return self.space.make_train_net(
            self.in_channels, self.classes, self.genotype(blocks), seed=0,
            options=self.train_options,
        )  # fmt: skip

    def sample(self, rng: np.random.Generator) -> tuple[str, ...]:
        return tuple(str(c[int(rng.integers(len(c)))]) for c in self.choices)

    def prepare_latency(self) -> None:
        """Calibrates the shared table (unless it holds this scope's calibration), prices
        every block's candidates, and saves the table."""
        opts = self.search_options
        with nn.context_scope(self.context):
            self.supernet = self.space.make_search_net(
                self.in_channels, self.classes, seed=0, options=opts
            )
            names = self.supernet.candidate_names
            self.choices = block_choices(resolve_stages(opts["settings"], opts["stages"]), names)
            if self.estimator.calibration is None:
                started = time.perf_counter()
                print(f"calibrating the latency table on {CALIBRATION_PATHS} supernet paths")
                self.estimator.calibrate(self.supernet, self.shape, paths=CALIBRATION_PATHS)
                print(f"  took {time.perf_counter() - started:.0f} s")
            error = self.latency.fit(np.random.default_rng(self.args.sample_seed + 1000))
        self.estimator.save()
        how = "block sums" if self.latency.additive else "each architecture priced"
        print(f"latency table: {self.table}")
        print(f"predictor:     {self.estimator.predictor}")
        print(f"prediction of a retrained network: {how} (largest check error {error:.2g} ms)")

    def measure_all(self, archs: dict[str, Sequence[str]]) -> dict[str, float]:
        """The end-to-end latency (ms, one input) of every retrained network in `archs`
        (id: blocks), measured side by side (`LatencyEstimator.measure_networks`: the
        median of all the timed forwards of each, the networks interleaved in rounds) and
        recorded with the time and the load."""
        names = list(archs)
        nets = [self.train_net(archs[n]) for n in names]
        rounds, runs = self.args.measure_rounds, self.args.measure_runs
        print(f"measuring {len(nets)} retrained architectures end to end ({rounds} rounds x "
              f"{runs} runs, interleaved)")  # fmt: skip
        load = os.getloadavg()[0]
        with nn.context_scope(self.context):
            timed = self.estimator.measure_networks(
                nets, self.shape, rounds=rounds, runs=runs, seed=self.args.sample_seed
            )
        ms = dict(zip(names, timed["latency"], strict=True))
        predicted = np.array([self.latency(archs[n]) for n in names])
        ratio = float(np.median(np.array(timed["latency"]) / predicted))
        tau = timed["noise_tau"]
        print(
            f"  load {load:.2f}; odd against even rounds: tau {fmt(tau, '.3f', 0)}; measured / "
            f"predicted: median {ratio:.3f}\n"
        )
        self.results.put_measured({
            "when": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), "load": load,
            "rounds": rounds, "runs": runs, "noise_tau": tau, "measured_over_predicted": ratio,
            "ms": ms,
        })  # fmt: skip
        return ms

    # -- runs ------------------------------------------------------------------------------
    def retrain_job(self, blocks: Sequence[str], seed: int) -> Job | None:
        """The retraining of `blocks` with `seed` (None when it is recorded)."""
        name = arch_id(blocks)
        key = Results.key("train", name, None, seed, self.train_epochs)
        if self.results.get(key) is not None:
            return None
        tag = f"{name}_s{seed}_e{self.train_epochs}"
        folder = os.path.join(self.out, "runs", "train", tag)
        arch = os.path.join(self.out, "archs", f"{name}.json")
        if not os.path.exists(arch):
            self.space.write(arch, self.genotype(blocks))
        argv = ["train", "-c", self.train_config, "-o", folder, "--arch", arch, "--no-progress",
                f"seed={seed}", f"epochs={self.train_epochs}"]  # fmt: skip
        return Job(
            key, f"retrain {name} seed {seed}", argv, folder, self._log(f"train_{tag}"), seed
        )

    def search_job(self, name: str, budget: float, seed: int) -> Job | None:
        """The search of searcher `name` at `budget` with `seed` (None when recorded)."""
        key = Results.key("search", name, budget, seed, self.search_epochs)
        if self.results.get(key) is not None:
            return None
        tag = f"{name}_{budget:.4f}ms_s{seed}_e{self.search_epochs}"
        folder = os.path.join(self.out, "runs", "search", tag)
        argv = ["search", "-c", self.search_configs[name], "-o", folder, "--no-progress",
                f"seed={seed}", f"epochs={self.search_epochs}",
                f"cost.target={budget:.4f}"]  # fmt: skip
        title = f"search {name} budget {budget:.4f} ms seed {seed}"
        return Job(key, title, argv, folder, self._log(f"search_{tag}"), seed, (name, budget))

    def _log(self, tag: str) -> str:
        os.makedirs(os.path.join(self.out, "logs"), exist_ok=True)
        return os.path.join(self.out, "logs", f"{tag}.txt")

    def finish(self, job: Job, ran: Ran) -> dict[str, Any]:
        """Records a finished job; returns its record."""
        if ran.status == 130:
            raise KeyboardInterrupt
        if ran.status != 0:
            with open(job.log, encoding="utf-8") as f:
                tail = "".join(f.readlines()[-15:])
            sys.exit(f"{job.title} failed (status {ran.status}); the end of {job.log}:\n{tail}")
        finished = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        times = {"seconds": ran.seconds, "cpu_seconds": ran.cpu_seconds}
        if job.search is None:
            blocks = self.space.read(os.path.join(job.folder, "arch.json"))["blocks"]
            accuracy, loss = read_result(job.folder)
            record = {
                "kind": "train", "arch": arch_id(blocks), "blocks": list(blocks), "seed": job.seed,
                "epochs": self.train_epochs, "test_accuracy": accuracy, "test_loss": loss,
                **times, "predicted_ms": self.latency(blocks), "folder": job.folder,
                "finished": finished,
            }  # fmt: skip
            print(
                f"  retrained {record['arch']} seed {job.seed}: {100 * accuracy:.2f}%, loss "
                f"{loss:.4f}, {ran.seconds:.0f} s"
            )
        else:
            name, budget = job.search
            blocks = self.space.read(os.path.join(job.folder, "arch.json"))["blocks"]
            cost_model = read_json(os.path.join(job.folder, "cost_model.json"), "cost model")
            theirs, ours = cost_model.get("calibration") or {}, self.estimator.calibration or {}
            shared = cost_model.get("scope") == self.scope and theirs.get("fitted") == ours.get(
                "fitted"
            )
            if not shared:
                print(f"  warning: {job.title} did not price with the shared calibration")
            record = {
                "kind": "search", "searcher": name, "budget": round(budget, 4), "seed": job.seed,
                "epochs": self.search_epochs, "arch": arch_id(blocks), "blocks": list(blocks),
                **times, "shared_calibration": shared, "folder": job.folder,
                "finished": finished,
            }  # fmt: skip
            probabilities = final_probabilities(record)
            if probabilities is not None:
                record["probabilities"] = probabilities
            print(
                f"  {name} at {budget:.3f} ms, seed {job.seed}: {arch_id(blocks)} "
                f"({self.latency(blocks):.3f} ms predicted), {ran.seconds:.0f} s"
            )
        self.results.put(job.key, record)
        return record

    def execute(self, jobs: Sequence[Job | None]) -> None:
        """Runs `jobs` (None: recorded already), `--jobs` at a time in worker processes (in
        this process with one), each search followed by the retraining of what it found
        with its seed; every finished job recorded at once."""
        pending = deque(j for j in jobs if j is not None)
        if not pending:
            return
        print(f"{len(pending)} runs to do, {self.args.jobs} at a time")

        def follow(job: Job, record: dict[str, Any]) -> None:
            if job.search is not None:
                then = self.retrain_job(record["blocks"], job.seed)
                if then is not None and all(then.key != j.key for j in pending):
                    pending.appendleft(then)  # the found architecture's cell completes first

        if self.args.jobs == 1:
            while pending:
                job = pending.popleft()
                shutil.rmtree(job.folder, ignore_errors=True)  # unrecorded: started afresh
                follow(job, self.finish(job, execute(job)))
            return
        running: dict[Future[Ran], Job] = {}
        spawn = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(self.args.jobs, mp_context=spawn) as pool:
            while pending or running:
                while pending and len(running) < self.args.jobs:
                    job = pending.popleft()
                    if any(job.key == r.key for r in running.values()):
                        continue  # two searches found the same architecture at one seed
                    shutil.rmtree(job.folder, ignore_errors=True)
                    running[pool.submit(execute, job)] = job
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    job = running.pop(future)
                    follow(job, self.finish(job, future.result()))


@dataclass(frozen=True)
class Job:
    """An nnabla-nas command of the benchmark and where it writes."""

    key: str
    title: str
    argv: list[str]
    folder: str
    log: str
    seed: int
    search: tuple[str, float] | None = None  # (searcher, budget) of a search


@dataclass(frozen=True)
class Ran:
    status: int
    seconds: float  # wall time
    cpu_seconds: float  # CPU time of the process that ran it


def execute(job: Job) -> Ran:
    """Runs `job`'s command with its output in its log: in a worker process, or in the
    benchmark's own with one job at a time."""
    with open(job.log, "a", encoding="utf-8") as log:
        log.write(f"\n=== {datetime.now(timezone.utc):%Y-%m-%d %H:%M:%S} {job.title}\n")
        log.write(f"=== nnabla-nas {' '.join(job.argv)}\n")
        log.flush()
        used = resource.getrusage(resource.RUSAGE_SELF)
        started = time.perf_counter()
        with contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
            status = cli(job.argv)
        seconds = time.perf_counter() - started
        now = resource.getrusage(resource.RUSAGE_SELF)
    cpu = now.ru_utime + now.ru_stime - used.ru_utime - used.ru_stime
    return Ran(status, seconds, cpu)


def read_result(folder: str) -> tuple[float, float]:
    """Test accuracy (fraction) and loss of a retraining: result.json, else the last
    ``test/loss`` of metrics.csv."""
    result = read_json(os.path.join(folder, "result.json"), "result")
    loss = result.get("test_loss")
    if loss is None:
        with open(os.path.join(folder, "metrics.csv"), encoding="utf-8") as f:
            rows = [r for r in csv.DictReader(f) if r.get("test/loss")]
        loss = float(rows[-1]["test/loss"])
    return float(result["test_accuracy"]), float(loss)


def final_probabilities(search: dict[str, Any]) -> list[dict[str, float]] | None:
    """A search's final probability of every candidate, per block in order: stored with
    its record, else read from the last epoch of its folder's ``arch_probs.csv``; None for
    a searcher that learns none (or a record whose folder is gone)."""
    if "probabilities" in search:
        return list(search["probabilities"])
    path = os.path.join(search.get("folder", ""), "arch_probs.csv")
    if not os.path.exists(path):
        return None
    history = read_probabilities(path)
    return [{name: points[-1][1] for name, points in c.items()} for c in history.values()]


def log_probability(probabilities: Sequence[dict[str, float]], blocks: Sequence[str]) -> float:
    """The log-probability of the architecture `blocks` under a search's final
    probabilities (independent blocks)."""
    return float(
        sum(math.log(max(p[b], 1e-300)) for p, b in zip(probabilities, blocks, strict=True))
    )


def tau(a: Sequence[float], b: Sequence[float]) -> float:
    """Kendall's tau (tau-b, ties allowed); nan where undefined (a constant input)."""
    return float(kendalltau(a, b).statistic) if len(a) >= 2 else math.nan


def architecture_share(groups: Sequence[Sequence[float]]) -> float:
    """The share of a retraining's variance that the architecture explains: the intraclass
    correlation ICC(1) of a one-way ANOVA over `groups` (one group per architecture, its
    retrainings with different seeds, the same count each); nan with fewer than 2 groups."""
    k = len(groups[0]) if groups else 0
    if len(groups) < 2 or k < 2 or any(len(g) != k for g in groups):
        return math.nan
    data = np.asarray(groups, dtype=float)
    between = k * float(np.var(data.mean(axis=1), ddof=1))
    within = float(np.mean(np.var(data, axis=1, ddof=1)))
    total = between + (k - 1) * within
    return (between - within) / total if total > 0 else math.nan


# -- printing ------------------------------------------------------------------------------


def print_header(bench: Bench) -> None:
    a, u = bench.args, platform.uname()
    load = " ".join(f"{v:.2f}" for v in os.getloadavg())
    print(f"machine:   {u.system} {u.release} {u.machine}, {os.cpu_count()} CPUs, {cpu_model()}")
    print(f"python {platform.python_version()}, nnabla {nn.__version__}, context {bench.context}")
    print(f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', '')!r}, load {load}")
    print(f"search:    {os.path.relpath(a.search_config)}, epochs {bench.search_epochs}")
    print(f"retrain:   {os.path.relpath(a.train_config)}, epochs {bench.train_epochs}")
    budgets = (
        f"{', '.join(f'{b:g}' for b in a.budgets)} ms"
        if a.budgets
        else f"percentiles {', '.join(f'{q:g}' for q in a.quantiles)}"
    )
    print(
        f"settings:  searchers {', '.join(a.searchers)}; seeds {a.seeds}; budgets {budgets} of "
        f"{a.samples} random architectures (seed {a.sample_seed}); {a.random} random per "
        f"budget; {a.noise_seeds} noise seed(s)"
    )
    print(f"output:    {bench.out}{' (--quick)' if a.quick else ''}\n")


def spread(values: Sequence[float], scale: float, spec: str) -> str:
    v = [scale * x for x in values]
    return f"{fmt(std(v), spec, 7)} {min(v):>8{spec}}-{max(v):<8{spec}}"


def noise_table(records: list[dict[str, Any]]) -> tuple[float, float]:
    """Prints the noise floor; returns the std of the accuracy (points) and of the loss
    (nan with one seed)."""
    acc = [r["test_accuracy"] for r in records]
    loss = [r["test_loss"] for r in records]
    print(f"noise floor: {records[0]['arch']} retrained with seeds {[r['seed'] for r in records]}")
    print(f"  test accuracy %: {' '.join(f'{100 * a:.2f}' for a in acc)}")
    print(f"  test loss:       {' '.join(f'{x:.4f}' for x in loss)}")
    print(f"  {'':<14}{'std':>7} {'min-max':^17}".rstrip())
    print(f"  {'accuracy %':<14}{spread(acc, 100, '.2f')}".rstrip())
    print(f"  {'loss':<14}{spread(loss, 1, '.4f')}".rstrip() + "\n")
    return std([100 * a for a in acc]), std(loss)


def pool_table(
    budgets: list[float],
    pools: dict[float, list[dict[str, Any]]],
    noise: tuple[float, float],
    noise_name: str = "the noise floor's",
) -> None:
    print("random pools: test accuracy (%) and loss of the retrained random architectures")
    print(
        f"{'budget ms':>9} {'n':>3} {'acc std':>7} {'acc min-max':^17} {'loss std':>8} "
        f"{'loss min-max':^17} {'meas. ms':^13} {'s/run':>5}  spread over noise"
    )
    for budget in budgets:
        rs = pools[budget]
        if not rs:
            print(f"{budget:>9.3f} {0:>3}  not retrained yet")
            continue
        acc, loss = [100 * r["test_accuracy"] for r in rs], [r["test_loss"] for r in rs]
        ms = [r["measured_ms"] for r in rs if not math.isnan(r["measured_ms"])]
        span = f"{min(ms):>6.3f}-{max(ms):<6.3f}" if ms else f"{'n/a':^13}"
        seconds = np.mean([compute(r) for r in rs])
        verdicts = []
        for what, s, floor in (("acc", std(acc), noise[0]), ("loss", std(loss), noise[1])):
            if math.isnan(floor) or math.isnan(s):
                verdicts.append(f"{what} n/a")
            else:
                share = max(0.0, 1.0 - (floor / s) ** 2)  # of the pool's variance
                verdicts.append(f"{what} x{s / floor:.1f} (arch ~{share:.0%})")
        print(
            f"{budget:>9.3f} {len(rs):>3} {fmt(std(acc), '.2f', 7)} {min(acc):>8.2f}-"
            f"{max(acc):<8.2f} {fmt(std(loss), '.4f', 8)} {min(loss):>8.4f}-{max(loss):<8.4f} "
            f"{span} {seconds:>5.0f}  {', '.join(verdicts)}"
        )
    print(
        f"  n/a: a spread needs at least 2 runs; x: the pool's std over {noise_name}; arch:"
        " the share\n  of the pool's variance left to the architectures, 1 - (noise / std)^2"
        " (75% at x2)"
        "\n  s/run: CPU seconds of a retraining\n"
    )


@dataclass(frozen=True)
class Agreement:
    """A retraining against itself (`repeat_table`), per measure (accuracy, loss)."""

    seed_std: tuple[float, float]  # a retraining's std over seeds (accuracy points, loss)
    tau: tuple[float, float]  # Kendall's tau between two retrainings
    top_again: tuple[float, float]  # the top quarter's pool percentile at another seed


def repeat_table(
    budget: float, firsts: list[dict[str, Any]], again: list[list[dict[str, Any]]]
) -> Agreement | None:
    """Prints how far a retraining agrees with itself: the pool of `budget` (`firsts`, one
    retraining each) against `again` (per architecture of `firsts`, its retrainings with
    other seeds; architectures not retrained again yet are left out). Returns what it
    printed; None with fewer than two retrained again."""
    pairs = [(f, more) for f, more in zip(firsts, again, strict=True) if more]
    if len(pairs) < 2:
        print(f"the retraining against itself ({budget:.3f} ms pool): not retrained again yet\n")
        return None
    rounds = min(len(more) for _, more in pairs)
    print(
        f"the retraining against itself: {len(pairs)} architectures of the {budget:.3f} ms "
        f"pool retrained {rounds + 1} times, with different seeds"
    )
    print(f"  {'':<12}{'seed std':>8} {'pool std':>8} {'tau':>6} {'arch share':>10} "
          f"{'top 1/4 again':>13}")  # fmt: skip
    quarter = max(1, math.ceil(len(pairs) / 4))
    seed_stds, taus, tops = [], [], []

    def groups(key: str) -> list[list[float]]:
        return [[r[key] for r in [f, *more[:rounds]]] for f, more in pairs]

    for what, key, sign, other in (
        ("accuracy %", "test_accuracy", 1.0, "test_loss"),
        ("loss", "test_loss", -1.0, "test_accuracy"),
    ):
        first = [sign * f[key] for f, _ in pairs]
        second = [sign * more[0][key] for _, more in pairs]
        share = architecture_share(groups(key))
        # the top quarter, ties broken by the other measure (accuracy ties are common)
        rank = [(first[i], -sign * pairs[i][0][other]) for i in range(len(pairs))]
        order = sorted(range(len(pairs)), key=lambda i: rank[i], reverse=True)[:quarter]
        pool = [sign * r[key] for r in firsts]
        again_pct = np.mean([percentile(second[i], pool, higher_is_better=True) for i in order])
        scale = 100.0 if sign > 0 else 1.0
        seed_std = scale * math.sqrt(np.mean([np.var(g, ddof=1) for g in groups(key)]))
        seed_stds.append(seed_std)
        taus.append(tau(first, second))
        tops.append(float(again_pct))
        spec = ".2f" if sign > 0 else ".4f"
        print(f"  {what:<12}{seed_std:>8{spec}} {fmt(scale * std(pool), spec, 8)} "
              f"{fmt(taus[-1], '.3f', 6)} {fmt(share, '.0%', 10)} "
              f"{again_pct:>13.1f}")  # fmt: skip
    print(
        "  seed std: a retraining's std over seeds, pooled over the architectures; pool std: "
        "the pool's (architectures and seeds);\n"
        "  tau: Kendall's tau between two retrainings of the same architectures (the ceiling of"
        " any ranking of them);\n  arch share: the share of a retraining's variance the "
        "architecture explains (ICC(1) over the retrainings);\n  top 1/4 again: the pool "
        "percentile, at another seed, of the pool's top quarter by its first retraining (what"
        "\n  a search that knew every first retraining would score: the setting's resolution)\n"
    )
    return Agreement((seed_stds[0], seed_stds[1]), (taus[0], taus[1]), (tops[0], tops[1]))


@dataclass
class Cell:
    """One searcher at one budget: its runs and their comparison with the pool."""

    searcher: str
    budget: float
    found: list[dict[str, Any]]  # the retrainings of the architectures found, per seed
    searches: list[dict[str, Any]]
    pool: list[dict[str, Any]]
    seeds: int  # the seeds asked for: fewer found means the cell is incomplete
    _equal_hv: dict[tuple[str, int], tuple[float, int]] = field(
        default_factory=dict, init=False, repr=False
    )

    def accuracy(self) -> float:
        return float(np.mean([100 * r["test_accuracy"] for r in self.found]))

    def loss(self) -> float:
        return float(np.mean([r["test_loss"] for r in self.found]))

    def percentiles(self) -> tuple[float, float]:
        acc = [r["test_accuracy"] for r in self.pool]
        loss = [r["test_loss"] for r in self.pool]
        by_acc = [percentile(r["test_accuracy"], acc, higher_is_better=True) for r in self.found]
        by_loss = [percentile(r["test_loss"], loss, higher_is_better=False) for r in self.found]
        return float(np.mean(by_acc)), float(np.mean(by_loss))

    def ranking(self) -> tuple[float, float, int]:
        """Kendall's tau between the log-probability that each search's final
        probabilities give the pool's architectures and their retrained accuracy, and their
        loss (the lower the better); means over the searches that learn probabilities, and
        how many those are."""
        by_acc, by_loss = [], []
        for search in self.searches:
            probabilities = final_probabilities(search)
            if probabilities is None:
                continue
            logp = [log_probability(probabilities, r["blocks"]) for r in self.pool]
            by_acc.append(tau(logp, [r["test_accuracy"] for r in self.pool]))
            by_loss.append(tau(logp, [-r["test_loss"] for r in self.pool]))
        if not by_acc:
            return math.nan, math.nan, 0
        return float(np.nanmean(by_acc)), float(np.nanmean(by_loss)), len(by_acc)

    def _points(self, latency: str) -> tuple[list[list[float]], np.ndarray, list[float]] | None:
        """The found and the pool's (accuracy %, `latency` ms) points and the reference of
        their hypervolumes (lowest accuracy of both, the budget); None when a latency is
        not measured."""
        mine = [[100 * r["test_accuracy"], r[latency]] for r in self.found]
        pool = np.array([[100 * r["test_accuracy"], r[latency]] for r in self.pool])
        if np.isnan(pool).any() or np.isnan(np.array(mine)).any():
            return None
        return mine, pool, [min(p[0] for p in [*mine, *pool]), self.budget]

    def hypervolumes(self, latency: str) -> tuple[float, float]:
        """(searcher's, pool's) hypervolume of (accuracy %, `latency` ms) points with the
        reference (lowest accuracy of both, the budget)."""
        points = self._points(latency)
        if points is None:
            return math.nan, math.nan
        mine, pool, reference = points
        front = pool[pareto_front(pool, MAXIMIZE)]
        return (
            hypervolume_2d(mine, reference, MAXIMIZE),
            hypervolume_2d(front, reference, MAXIMIZE),
        )

    def equal_compute_hypervolume(self, latency: str, samples: int = 5000) -> tuple[float, int]:
        """The expected hypervolume of the front of m random architectures of the pool, m
        = k per search times the searches (the random front at the searches' compute,
        capped at the pool), with the reference of `hypervolumes`; returns it and m. Exact
        over all m-subsets up to `samples` of them, else over `samples` random ones
        (computed once per latency and kept)."""
        if (latency, samples) in self._equal_hv:
            return self._equal_hv[latency, samples]
        _, k, _ = self.equal_compute()
        m = min(k * len(self.searches), len(self.pool))
        points = self._points(latency)
        if points is None:
            return math.nan, m
        _, pool, reference = points
        if math.comb(len(pool), m) <= samples:
            subsets: Any = combinations(range(len(pool)), m)
        else:
            rng = np.random.default_rng(0)
            subsets = (rng.choice(len(pool), m, replace=False) for _ in range(samples))
        areas = [hypervolume_2d(pool[list(idx)], reference, MAXIMIZE) for idx in subsets]
        self._equal_hv[latency, samples] = (float(np.mean(areas)), m)
        return self._equal_hv[latency, samples]

    def equal_compute(self) -> tuple[float, int, float]:
        """(mean search CPU seconds, k, expected best accuracy % of k random
        architectures)."""
        seconds = float(np.mean([compute(s) for s in self.searches]))
        retrain = float(np.mean([compute(r) for r in self.pool]))
        k = max(1, math.floor(seconds / retrain))
        best = expected_best([100 * r["test_accuracy"] for r in self.pool], k)
        return seconds, k, best


def compute(record: dict[str, Any]) -> float:
    """The CPU seconds of a run (its wall time for runs recorded before CPU time was: they
    ran one at a time, a single-core process each)."""
    return float(record.get("cpu_seconds", record["seconds"]))


def ratio(a: float, b: float) -> str:
    return f"{a / b:>7.2f}" if b > 0 and not math.isnan(a + b) else f"{'n/a':>7}"


def searcher_tables(cells: list[Cell]) -> None:
    print("found architectures (means over seeds; pct: the share of the random pool beaten)")
    print(
        f"{'searcher':<10} {'budget':>7} {'n':>3} {'acc %':>6} {'loss':>7} {'pct acc':>7} "
        f"{'pct loss':>8} {'pred ms':>7} {'meas ms':>7} {'met':>5}  architectures"
    )
    for c in cells:
        p_acc, p_loss = c.percentiles()
        pred = np.mean([r["predicted_ms"] for r in c.found])
        meas = [r["measured_ms"] for r in c.found]
        met = "n/a" if np.isnan(meas).any() else f"{sum(m <= c.budget for m in meas)}/{len(meas)}"
        archs = ", ".join(sorted({r["arch"] for r in c.found}))
        print(
            f"{c.searcher:<10} {c.budget:>7.3f} {f'{len(c.found)}/{c.seeds}':>3} "
            f"{c.accuracy():>6.2f} "
            f"{c.loss():>7.4f} {p_acc:>7.1f} {p_loss:>8.1f} {pred:>7.3f} {np.mean(meas):>7.3f} "
            f"{met:>5}  {archs}"
        )
    print("  met: seeds whose architecture's measured latency is within the budget\n")
    print("fronts and equal compute (HV: hypervolume of (accuracy, latency) against the pool's)")
    print(
        f"{'searcher':<10} {'budget':>7} {'HV meas':>7} {'HV pool':>7} {'ratio':>7} "
        f"{'r. pred':>7} {'m':>3} {'HV eq.':>7} {'ratio':>7} {'search s':>8} {'k':>3} "
        f"{'best k %':>8} {'found %':>7} {'diff':>6}"
    )
    for c in cells:
        hv, hv_pool = c.hypervolumes("measured_ms")
        hv_pred, hv_pred_pool = c.hypervolumes("predicted_ms")
        hv_equal, m = c.equal_compute_hypervolume("measured_ms")
        seconds, k, best = c.equal_compute()
        k_text = f"{k}" if k <= len(c.pool) else f"{len(c.pool)}*"
        print(
            f"{c.searcher:<10} {c.budget:>7.3f} {hv:>7.2f} {hv_pool:>7.2f} {ratio(hv, hv_pool)} "
            f"{ratio(hv_pred, hv_pred_pool)} {m:>3} {fmt(hv_equal, '.2f', 7)} "
            f"{ratio(hv, hv_equal)} {seconds:>8.0f} {k_text:>3} {best:>8.2f} "
            f"{c.accuracy():>7.2f} {c.accuracy() - best:>+6.2f}"
        )
    print(
        "  HV in accuracy points x ms, reference (lowest accuracy of both, the budget), "
        "measured latency;\n  r. pred: the ratio with predicted latency; HV eq.: the expected "
        "hypervolume of m = k x searches random architectures of the pool (the random front "
        "at equal compute), ratio: the searcher's over it;\n  k = floor(search s /"
        " mean random retraining s), both CPU seconds, * capped at the pool;\n  best k %: the "
        "mean over all k-subsets of the pool of the best test accuracy; diff: found minus best k\n"
    )


def ranking_table(cells: list[Cell]) -> None:
    rows = [(c, *c.ranking()) for c in cells]
    rows = [r for r in rows if r[3] > 0]
    if not rows:
        return
    print("does the search rank the pool? Kendall's tau between the log-probability of each "
          "pool architecture\nunder the search's final probabilities and its retrained "
          "accuracy, and loss (means over seeds)")  # fmt: skip
    print(f"{'searcher':<10} {'budget':>7} {'n':>3} {'tau acc':>7} {'tau loss':>8}")
    for c, by_acc, by_loss, n in rows:
        print(f"{c.searcher:<10} {c.budget:>7.3f} {n:>3} {fmt(by_acc, '.3f', 7)} "
              f"{fmt(by_loss, '.3f', 8)}")  # fmt: skip
    print("  n: searches with probabilities (the supernet searchers SPOS and FairNAS learn none)\n")


def summary(cells: list[Cell], agreement: Agreement | None = None) -> None:
    print("summary per searcher (over budgets)")
    print(
        f"{'searcher':<10} {'budgets':>7} {'seeds':>5} {'pct acc':>7} {'> 75?':>5} "
        f"{'pct loss':>8} {'> 75?':>5} {'HV >= eq.':>10} {'>= best of k':>12}"
    )
    for name in dict.fromkeys(c.searcher for c in cells):
        mine = [c for c in cells if c.searcher == name]
        by_acc = float(np.mean([c.percentiles()[0] for c in mine]))
        by_loss = float(np.mean([c.percentiles()[1] for c in mine]))
        hv = sum(
            c.hypervolumes("measured_ms")[0] >= c.equal_compute_hypervolume("measured_ms")[0]
            for c in mine
        )
        equal = sum(c.accuracy() >= c.equal_compute()[2] for c in mine)
        seeds = f"{sum(len(c.found) for c in mine)}/{sum(c.seeds for c in mine)}"
        print(
            f"{name:<10} {len(mine):>7} {seeds:>5} {by_acc:>7.1f} "
            f"{'yes' if by_acc > 75 else 'no':>5} {by_loss:>8.1f} "
            f"{'yes' if by_loss > 75 else 'no':>5} {f'{hv}/{len(mine)}':>10} "
            f"{f'{equal}/{len(mine)}':>12}"
        )
    print("  seeds: the searches retrained out of those asked for; pct: means over budgets")
    if agreement is not None:
        acc, loss = agreement.top_again
        print(
            f"  the setting's resolution: the pool's top quarter, retrained again, scores pct "
            f"{acc:.1f} by accuracy\n  and {loss:.1f} by loss (tau between "
            f"two retrainings {agreement.tau[0]:.2f}, {agreement.tau[1]:.2f}); a target above "
            "that is beyond what this setting can show"
        )


# -- the benchmark's steps -----------------------------------------------------------------


def budgets_of(bench: Bench, samples: list[tuple[str, ...]]) -> list[float]:
    latencies = np.array([bench.latency(s) for s in samples])
    distinct = {s: bench.latency(s) for s in samples}
    print(
        f"{len(samples)} random architectures ({len(distinct)} distinct), predicted "
        f"{latencies.min():.3f}-{latencies.max():.3f} ms, median {np.median(latencies):.3f} ms"
    )
    if bench.args.budgets:
        budgets = [round(b, 4) for b in bench.args.budgets]
        names = ["given"] * len(budgets)
    else:
        budgets = [round(float(np.percentile(latencies, q)), 4) for q in bench.args.quantiles]
        names = [f"{q:g}th pct" for q in bench.args.quantiles]
    print(f"{'budget':>10} {'ms':>8} {'feasible':>9}")
    for name, budget in zip(names, budgets, strict=True):
        feasible = sum(v <= budget for v in distinct.values())
        print(f"{name:>10} {budget:>8.3f} {feasible:>9}")
    print("  feasible: distinct sampled architectures predicted within the budget\n")
    return budgets


def pool_archs(
    bench: Bench, samples: list[tuple[str, ...]], budget: float
) -> list[tuple[str, ...]]:
    """The first `--random` distinct sampled architectures predicted within `budget`."""
    chosen: list[tuple[str, ...]] = []
    for blocks in samples:
        if bench.latency(blocks) <= budget and blocks not in chosen:
            chosen.append(blocks)
            if len(chosen) == bench.args.random:
                break
    if len(chosen) < bench.args.random:
        print(f"  only {len(chosen)} sampled architectures fit within {budget:.3f} ms")
    return chosen


def interleave(*groups: Sequence[Job | None]) -> list[Job]:
    """The jobs of `groups` taken in turn (None dropped), each key once."""
    merged: dict[str, Job] = {}
    for row in zip_longest(*groups):
        for job in row:
            if job is not None and job.key not in merged:
                merged[job.key] = job
    return list(merged.values())


def with_measured(records: list[dict[str, Any]], ms: dict[str, float]) -> list[dict[str, Any]]:
    """Copies of `records` with the latency measured end to end (nan where not measured)."""
    return [{**r, "measured_ms": ms.get(r["arch"], math.nan)} for r in records]


def run(args: argparse.Namespace) -> None:
    started = time.perf_counter()
    bench = Bench(args)
    print_header(bench)
    if 0 in args.seeds:
        print("note: seed 0 was used to develop the demo; its results are not fresh\n")
    bench.prepare_latency()
    rng = np.random.default_rng(args.sample_seed)
    samples = [bench.sample(rng) for _ in range(args.samples)]
    budgets = budgets_of(bench, samples)
    if not budgets:
        return
    chosen = {b: pool_archs(bench, samples, b) for b in budgets}
    if not all(chosen.values()):
        sys.exit("a budget admits no sampled architecture; give larger --budgets")

    # the plan: a noise floor, a random pool per budget, the searches (by seed first, so
    # every cell gets its first seed before any gets a second) and what they found
    middle = budgets[len(budgets) // 2]
    noise_plan = [(chosen[middle][0], s) for s in range(1, args.noise_seeds + 1)]
    seeds = args.seeds
    repeat_plan = [  # the middle pool again, each architecture with the next seeds
        [(blocks, seeds[(i + r) % len(seeds)]) for r in range(1, args.repeat + 1)]
        for i, blocks in enumerate(chosen[middle])
    ]
    pool_plan = {
        b: [(blocks, args.seeds[i % len(args.seeds)]) for i, blocks in enumerate(chosen[b])]
        for b in budgets
    }
    search_plan = [
        (n, b, seed)
        for seed in args.seeds
        for b in budgets
        for n in ([] if args.screen else args.searchers)
    ]
    results = bench.results

    def searched(name: str, budget: float, seed: int) -> dict[str, Any] | None:
        return results.get(Results.key("search", name, budget, seed, bench.search_epochs))

    def trained(blocks: Sequence[str], seed: int) -> dict[str, Any] | None:
        return results.get(Results.key("train", arch_id(blocks), None, seed, bench.train_epochs))

    if not args.report:
        unfinished = [  # searches recorded whose architecture is not retrained yet
            bench.retrain_job(r["blocks"], r["seed"])
            for r in (searched(*p) for p in search_plan)
            if r is not None
        ]
        retrains = [bench.retrain_job(*p) for p in noise_plan]
        retrains += [bench.retrain_job(*p) for b in budgets for p in pool_plan[b]]
        retrains += [bench.retrain_job(*p) for plan in repeat_plan for p in plan]
        searches = [bench.search_job(*p) for p in search_plan]
        bench.execute(interleave(unfinished) + interleave(searches, retrains))
        print()

    noise = [r for r in (trained(*p) for p in noise_plan) if r is not None]
    pools = {b: [r for r in (trained(*p) for p in pool_plan[b]) if r is not None] for b in budgets}
    again = [
        [r for r in (trained(*p) for p in plan) if r is not None]
        for plan, first in zip(repeat_plan, pool_plan[middle], strict=True)
        if trained(*first) is not None
    ]
    runs: dict[tuple[str, float], tuple[list[dict[str, Any]], list[dict[str, Any]]]] = {}
    for name, budget, seed in search_plan:
        search = searched(name, budget, seed)
        found = trained(search["blocks"], seed) if search is not None else None
        if search is not None and found is not None:
            pair = runs.setdefault((name, budget), ([], []))
            pair[0].append(search)
            pair[1].append(found)
    archs = {r["arch"]: r["blocks"] for r in noise}
    archs.update((r["arch"], r["blocks"]) for rs in pools.values() for r in rs)
    archs.update((r["arch"], r["blocks"]) for _, found in runs.values() for r in found)
    if args.report and not args.measure:
        ms = results.measured.get("ms", {})
        missing = sum(a not in ms for a in archs)
        print(
            f"latencies measured end to end {results.measured.get('when', 'never')}"
            + (f"; {missing} architectures not measured (n/a)" if missing else "")
        )
    else:
        ms = bench.measure_all(archs)
    if noise:
        floor = noise_table(with_measured(noise, ms))
    else:
        floor = (math.nan, math.nan)
        print("noise floor: not retrained yet\n")
    pools = {b: with_measured(rs, ms) for b, rs in pools.items()}
    agreement = repeat_table(middle, pools[middle], again) if args.repeat else None
    if agreement is None:
        pool_table(budgets, pools, floor)
    else:  # many architectures' seeds: a surer noise than one architecture's
        pool_table(budgets, pools, agreement.seed_std, "the pooled seed std above")
    cells = [
        Cell(name, budget, with_measured(runs[name, budget][1], ms), runs[name, budget][0],
             pools[budget], len(args.seeds))
        for name in args.searchers
        for budget in budgets
        if (name, budget) in runs and pools[budget]
    ]  # fmt: skip
    if cells:
        searcher_tables(cells)
        ranking_table(cells)
        summary(cells, agreement)
    print(f"\ntook {time.perf_counter() - started:.0f} s; results in {results.path}")


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        run(args)
    except KeyboardInterrupt:
        print("\ninterrupted: finished runs are recorded; run again to continue", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
