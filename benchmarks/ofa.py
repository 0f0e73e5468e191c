"""Once-for-All on digits: a specialised sub-network's inherited weights against training it.

OFA's claim (Cai et al., 2020) is that a sub-network of the progressively shrunk supernet,
with the weights it inherits (BatchNorm statistics recalibrated), is as accurate as the same
network trained from scratch. On the digits-sized setting of the built-in config
ofa-digits-search, the benchmark

1. trains the supernet once (``nnabla-nas search -c ofa-digits-search``, 20 epochs: phases
   full 8, kernel 4, depth 4, expand 4; ``--supernet-overrides`` changes it);
2. picks three latency budgets: the 25th, 50th and 75th percentiles of the latency of
   ``--archs`` random sub-networks (`OFASupernet.sample_active`), their plain networks
   measured end to end side by side (`LatencyEstimator.measure_networks`, one input);
   ``--budgets`` gives them in ms instead;
3. per budget, specialises the supernet (``nnabla-nas specialize --latency B``: regularized
   evolution of ``--trials`` candidates priced by the latency estimator calibrated on this
   machine, scored with inherited weights after BN recalibration, evolution seeded with
   the supernet's seed) and reads the test accuracy of the best sub-network with its
   inherited weights, untrained;
4. per budget and held-out seed (``--seeds``, default 1-3; never the supernet's seed),
   trains that sub-network (``nnabla-nas train`` of the specialisation's subnet_train.yaml
   and arch.json) for as many epochs as one shrinking phase (the last elastic phase's,
   ``--scratch-epochs`` to change), once from scratch and once from the inherited weights
   (``--init-weights subnet.h5``, fine-tuning). A retraining trains on all the training
   data (the supernet trained on half of it, the other half scoring the candidates), with
   the supernet's optimizer and a cosine schedule over its epochs.

It prints a row per budget: the predicted latency of the sub-network found and its latency
measured end to end (the three measured side by side), its test accuracy with inherited
weights, fine-tuned and from scratch (mean ± std over the seeds), and the wall time of each
stage; then a verdict per budget: inherited minus from-scratch accuracy, in points, with
the from-scratch network's training accuracy in its last epoch (each batch by its own
BatchNorm statistics): after an epoch this short, its running statistics, which the test
uses, may lag far behind (the quick run: about 50 % training, 10 % test accuracy).

Every stage writes an nnabla-nas run folder under ``--out`` (supernet, spec_*, finetune_*,
scratch_*), the budgets go to OUT/budgets.json and the commands' logs to OUT/bench.log. A
rerun reuses every folder holding a finished run of the same config (its recorded time is
shown, marked ``*``), so printing the report again costs only the latency measurement; a
folder holding anything else (another run, an unfinished one, other files) stops the
benchmark with an error: nothing is overwritten or deleted.

Run from the repository root::

    .venv/bin/python benchmarks/ofa.py --out /tmp/ofa             # the benchmark
    .venv/bin/python benchmarks/ofa.py --quick --out /tmp/ofa-q   # smoke run

``--quick``: a 2-epoch supernet (full 1, kernel 1), budgets of 10 random sub-networks, 6
trials, one seed. Time on the shared 2-core VM (measured): the quick run 2.5 minutes (the
supernet 35 s, a specialisation 20 s, of which 10 s calibrate its latency predictor on 20
networks, a one-epoch retraining 7-9 s); a rerun of the report 3 s. The full run
(measured, with another job on the second core part of the time): 19 min 49 s, of which the
supernet 6 min 21 s, a specialisation 70-114 s (60 trials) and a 4-epoch retraining 25-38 s
(18 of them).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import datetime
import json
import math
import os
import platform
import shlex
import statistics
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import nnabla as nn
import numpy as np
import yaml

from nnabla_nas.app.build import make_dataset
from nnabla_nas.app.config import SearchConfig, TrainConfig, load_config, to_dict
from nnabla_nas.app.run import RunError, RunFolder
from nnabla_nas.app.specialize import specialize_config
from nnabla_nas.cli import main as cli
from nnabla_nas.contrib.estimator import LatencyEstimator
from nnabla_nas.contrib.estimator.latency import cpu_model
from nnabla_nas.contrib.registry import get_space

CONFIG = "ofa-digits-search"
PERCENTILES = (25, 50, 75)
# The smoke run leaves out the supernet run's own front of random sub-networks (ofa.front).
QUICK_OVERRIDES = [
    "epochs=2", "ofa.phases=[{name: full, epochs: 1}, {name: kernel, epochs: 1}]", "ofa.front=0"
]  # fmt: skip
BUDGETS_FORMAT = "nnabla_nas.bench.ofa_budgets/1"


class BenchError(Exception):
    """Stops the benchmark with a one-line message and an exit status."""

    def __init__(self, message: str, status: int = 2) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class Stage:
    """A finished run folder of the benchmark and the wall time it took."""

    folder: str
    seconds: float
    reused: bool

    def time(self) -> str:
        return f"{self.seconds:.1f}{'*' if self.reused else ''}"


# -- run folders ----------------------------------------------------------------------------


def yaml_data(data: Any) -> Any:
    """`data` as a YAML file of it reads back (tuples become lists)."""
    return yaml.safe_load(yaml.safe_dump(data, sort_keys=False))


def first_difference(expected: Any, saved: Any, where: str = "") -> str | None:
    """The dotted key where the two configs differ, with both values; None if equal."""
    if isinstance(expected, Mapping) and isinstance(saved, Mapping):
        for key in [*expected, *(k for k in saved if k not in expected)]:
            found = first_difference(
                expected.get(key), saved.get(key), f"{where}.{key}" if where else str(key)
            )
            if found:
                return found
        return None
    if expected != saved:
        return f"{where or 'the config'} is {saved!r}, the benchmark's {expected!r}"
    return None


def seconds_of(manifest: Any) -> float:
    """The wall time a finished run recorded (its start and end, to the second)."""
    started = datetime.datetime.fromisoformat(manifest.started)
    ended = datetime.datetime.fromisoformat(manifest.ended)
    return (ended - started).total_seconds()


def finished_run(
    folder: str, command: str, kind: str, expected: Mapping[str, Any], arch: str | None = None
) -> Stage | None:
    """The stage a folder already holds: None if there is no folder; a `Stage` if it holds a
    finished run of `command` and `kind` with config `expected` (and architecture file
    `arch`). Raises `BenchError` for anything else: the folder is left as it is."""
    if not os.path.exists(folder):
        return None
    run = RunFolder(folder)
    if not os.path.isfile(run.file("manifest")):
        raise BenchError(
            f"'{folder}' exists and holds no nnabla-nas run (no run.json); choose another "
            "--out (nothing there is overwritten)"
        )
    try:
        manifest = run.manifest()
    except RunError as err:
        raise BenchError(f"{err}; choose another --out (nothing there is overwritten)") from None
    if manifest.status != "finished":
        with_arch = f" --arch {arch}" if arch else ""
        raise BenchError(
            f"'{folder}' holds a {manifest.status} run: continue it (nnabla-nas {command} "
            f"--resume -o {folder}{with_arch}) or remove it, then run the benchmark again"
        )
    what = f"{manifest.command} ({manifest.kind})"
    if (manifest.command, manifest.kind) != (command, kind):
        raise BenchError(
            f"'{folder}' holds a {what}, not a {command} ({kind}); choose another --out"
        )
    saved = yaml.safe_load(run.config_text() or "") or {}
    difference = first_difference(yaml_data(dict(expected)), saved)
    if difference is None and arch is not None and manifest.arch_file != os.path.abspath(arch):
        difference = f"its architecture is {manifest.arch_file}, the benchmark's {arch}"
    if difference:
        raise BenchError(f"'{folder}' holds another {what}: {difference}; choose another --out")
    return Stage(folder, seconds_of(manifest), reused=True)


def run_cli(argv: Sequence[str], log: str) -> float:
    """Runs ``nnabla-nas ARGV`` in this process, its output appended to `log`; returns its
    wall time. Raises `BenchError` if it fails."""
    with open(log, "a", encoding="utf-8") as f:
        now = datetime.datetime.now(datetime.timezone.utc)
        f.write(f"\n=== {now:%Y-%m-%d %H:%M:%S} nnabla-nas {shlex.join(argv)}\n")
        f.flush()
        started = time.perf_counter()
        with contextlib.redirect_stdout(f), contextlib.redirect_stderr(f):
            status = cli(list(argv))
        seconds = time.perf_counter() - started
    if status:
        raise BenchError(
            f"nnabla-nas {argv[0]} -o {argv[argv.index('-o') + 1]} failed (exit status "
            f"{status}); its output is in {log}",
            status=1,
        )
    return seconds


def stage(
    title: str,
    argv: Sequence[str],
    command: str,
    kind: str,
    expected: Mapping[str, Any],
    log: str,
    arch: str | None = None,
) -> Stage:
    """Reuses the finished run of the stage's folder, or runs it."""
    folder = argv[argv.index("-o") + 1]
    done = finished_run(folder, command, kind, expected, arch)
    name = os.path.basename(folder)
    if done is not None:
        print(f"  {name:<30} reused ({title}: {done.seconds:.1f} s recorded)", flush=True)
        return done
    print(f"  {name:<30} {title} ...", end="", flush=True)
    seconds = run_cli(argv, log)
    print(f" {seconds:.1f} s", flush=True)
    return Stage(folder, seconds, reused=False)


def read_json(path: str) -> Any:
    with open(path, encoding="utf-8") as f:
        return json.load(f)


# -- the supernet, the budgets, the latency measurements -----------------------------------


@dataclass
class Setting:
    """The supernet's config and what the benchmark builds from it."""

    cfg: SearchConfig
    data: dict[str, Any]  # the config as its config.yaml holds it
    shape: tuple[int, ...]  # one input
    classes: int

    @property
    def space(self) -> Any:
        return get_space(self.cfg.model.name)

    def options(self, which: str) -> dict[str, Any]:
        keys = self.space.options(which)
        return {k: v for k, v in self.cfg.model.options.items() if k in keys}

    def phases(self) -> list[dict[str, Any]]:
        return list((self.data.get("ofa") or {}).get("phases") or [])

    def phase_epochs(self) -> int:
        """The epochs of the last elastic phase (1 without one)."""
        elastic = [p for p in self.phases() if p.get("name") != "full"]
        return int(elastic[-1]["epochs"]) if elastic else 1

    def train_net(self, arch: Any) -> Any:
        return self.space.make_train_net(
            self.shape[1], self.classes, arch, seed=0, options=self.options("train")
        )


def setting_of(overrides: Sequence[str]) -> Setting:
    cfg = load_config(SearchConfig, CONFIG, list(overrides))
    dataset = make_dataset(cfg.dataset)
    return Setting(cfg, yaml_data(to_dict(cfg)), (1, *dataset.sample_shape), dataset.classes)


def measure(setting: Setting, archs: Sequence[Any]) -> list[float]:
    """The end-to-end latencies (ms, one input) of the archs' plain networks, measured side
    by side."""
    nets = [setting.train_net(a) for a in archs]
    return LatencyEstimator().measure_networks(nets, setting.shape)["latency"]


def random_budgets(setting: Setting, count: int, path: str) -> tuple[dict[str, Any], bool]:
    """The budgets (ms): percentiles of `count` random sub-networks' measured latencies,
    read from `path` when it holds those of `count` networks (True: reused), else measured
    and written there."""
    if os.path.exists(path):
        try:
            record = read_json(path)
            ok = record.get("format") == BUDGETS_FORMAT
        except (OSError, ValueError, AttributeError):
            ok = False
        if not ok:
            raise BenchError(f"'{path}' is not the benchmark's budgets file; choose another --out")
        if record["archs"] == count:
            return record, True
    space = setting.space
    supernet = space.make_search_net(
        setting.shape[1], setting.classes, seed=setting.cfg.seed, options=setting.options("search")
    )
    rng = np.random.default_rng(setting.cfg.seed)
    archs = [supernet.sample_active(rng) for _ in range(count)]
    latencies = measure(setting, archs)
    budgets = [float(f"{np.percentile(latencies, q):.3g}") for q in PERCENTILES]
    record = {
        "format": BUDGETS_FORMAT,
        "archs": count,
        "percentiles": list(PERCENTILES),
        "budgets": budgets,
        "latencies": latencies,
        "described": [space.describe(a) for a in archs],
    }
    with open(path, "w", encoding="utf-8") as f:
        json.dump(record, f, indent=1)
    return record, False


# -- the report -----------------------------------------------------------------------------


@dataclass
class Row:
    budget: float
    spec: Stage
    result: dict[str, Any]  # the specialisation's result.json
    finetune: list[tuple[float, Stage]]  # test accuracy (fraction) and stage, per seed
    scratch: list[tuple[float, Stage]]
    measured: float = math.nan


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (nan with one value), in points."""
    points = [100 * v for v in values]
    return statistics.fmean(points), statistics.stdev(points) if len(points) > 1 else math.nan


def accuracy(values: Sequence[float]) -> str:
    m, s = mean_std(values)
    return f"{m:.2f}" if math.isnan(s) else f"{m:.2f}±{s:.2f}"


def mean_time(stages: Sequence[tuple[float, Stage]]) -> str:
    seconds = statistics.fmean(s.seconds for _, s in stages)
    return f"{seconds:.1f}{'*' if any(s.reused for _, s in stages) else ''}"


def train_accuracy(folder: str) -> float:
    """A retraining's training accuracy (fraction) in its last epoch, in training mode (each
    batch by its own BatchNorm statistics), from its metrics.csv."""
    with open(RunFolder(folder).file("metrics"), encoding="utf-8", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r.get("train/error")]
    return 1.0 - float(rows[-1]["train/error"]) if rows else math.nan


def verdict(row: Row) -> str:
    inherited = 100 * row.result["subnet_test_accuracy"]
    scratch, spread = mean_std([a for a, _ in row.scratch])
    tuned, _ = mean_std([a for a, _ in row.finetune])
    diff = inherited - scratch
    if diff >= 0:
        word = "inherited beats from scratch"
    elif not math.isnan(spread) and -diff <= spread:
        word = "inherited matches from scratch (within its std)"
    else:
        word = "inherited below from scratch"
    fitted, _ = mean_std([train_accuracy(s.folder) for _, s in row.scratch])
    return (
        f"  {row.budget:g} ms: inherited {inherited:.2f} % - from scratch {scratch:.2f} % = "
        f"{diff:+.2f} points: {word}; fine-tuned - from scratch = {tuned - scratch:+.2f} "
        f"points (from scratch, last epoch's training accuracy: {fitted:.2f} %)"
    )


def print_header(args: argparse.Namespace, setting: Setting, overrides: Sequence[str]) -> None:
    u = platform.uname()
    load = " ".join(f"{v:.2f}" for v in os.getloadavg())
    print(f"machine:   {u.system} {u.release} {u.machine}, {os.cpu_count()} CPUs, {cpu_model()}")
    context = setting.cfg.context
    print(f"python {platform.python_version()}, nnabla {nn.__version__}, context {context}")
    print(f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', '')!r}, load {load}")
    phases = ", ".join(f"{p['name']} {p['epochs']}" for p in setting.phases())
    extra = f" ({' '.join(overrides)})" if overrides else ""
    print(f"supernet:  {CONFIG}{extra}: {setting.cfg.epochs} epochs, phases {phases}")
    print(
        f"settings:  {args.trials} trials per specialisation (seed {setting.cfg.seed}); "
        f"retrainings {args.scratch_epochs} epoch(s), seeds {', '.join(map(str, args.seeds))}"
    )
    print(f"output:    {args.out}{' (--quick)' if args.quick else ''}\n", flush=True)


def print_report(rows: Sequence[Row], supernet: Stage, args: argparse.Namespace) -> None:
    seeds = len(args.seeds)
    print(
        f"\nOFA on digits: test accuracy % of the specialised sub-network; fine-tuned and from "
        f"scratch: {args.scratch_epochs} epoch(s), mean±std over {seeds} seed(s)"
    )
    print(f"stage 1, the supernet: {supernet.time()} s")
    print(
        f"{'budget ms':>9} {'pred ms':>8} {'meas ms':>8} {'inherited':>9} {'fine-tuned':>12} "
        f"{'scratch':>12} {'spec s':>7} {'ft s':>6} {'scr s':>6}"
    )
    for r in rows:
        print(
            f"{r.budget:>9g} {r.result['best_latency']:>8.3f} {r.measured:>8.3f} "
            f"{100 * r.result['subnet_test_accuracy']:>9.2f} "
            f"{accuracy([a for a, _ in r.finetune]):>12} {accuracy([a for a, _ in r.scratch]):>12} "
            f"{r.spec.time():>7} {mean_time(r.finetune):>6} {mean_time(r.scratch):>6}"
        )
    print(
        "  pred: the specialisation's calibrated prediction; meas: measured end to end, the "
        "three side by side (25th percentile of 8x10 runs); inherited: no training, BN "
        "recalibrated; ft s, scr s: mean time of a retraining; *: reused, the run's recorded "
        "time"
    )
    print("\nsub-networks found (validation accuracy % of the search, inherited weights):")
    for r in rows:
        print(f"  {r.budget:g} ms: {r.result['best_arch']}  ({r.result['best_accuracy']:.2f})")
    print("\nverdict (OFA's claim: inherited weights match or beat training from scratch):")
    for r in rows:
        print(verdict(r))


# -- main -----------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--out", required=True, help="the benchmark's folder (reused by a rerun)")
    p.add_argument("--budgets", help="latency budgets in ms, e.g. 1.5,2.0,2.5 (default: "
                   "the 25th, 50th and 75th percentiles of random sub-networks)")  # fmt: skip
    p.add_argument("--archs", type=int, help="random sub-networks the budgets come from (30)")
    p.add_argument("--trials", type=int, help="candidates per specialisation (60)")
    p.add_argument("--seeds", help="held-out seeds of the retrainings (1,2,3)")
    p.add_argument("--scratch-epochs", type=int,
                   help="epochs of a retraining (default: the last elastic phase's)")  # fmt: skip
    p.add_argument("--supernet-overrides", nargs="+", default=[], metavar="KEY=VALUE",
                   help=f"config overrides of the supernet's search ({CONFIG})")  # fmt: skip
    p.add_argument("--quick", action="store_true", help="a smoke run: "
                   f"{' '.join(QUICK_OVERRIDES)}, 10 archs, 6 trials, seed 1")  # fmt: skip
    args = p.parse_args(argv)
    args.archs = args.archs or (10 if args.quick else 30)
    args.trials = args.trials or (6 if args.quick else 60)
    try:
        args.seeds = [int(s) for s in (args.seeds or ("1" if args.quick else "1,2,3")).split(",")]
        args.budgets = [float(b) for b in args.budgets.split(",")] if args.budgets else None
    except ValueError as err:
        p.error(f"--seeds and --budgets are comma-separated numbers: {err}")
    if args.budgets is not None and (not args.budgets or min(args.budgets) <= 0):
        p.error("--budgets must be positive numbers of ms")
    if min(args.archs, args.trials) < 1 or (args.scratch_epochs or 1) < 1:
        p.error("--archs, --trials and --scratch-epochs must be at least 1")
    if args.archs < 4 and args.budgets is None:
        p.error("--archs: percentiles need at least 4 random sub-networks")
    args.out = os.path.abspath(args.out)
    return args


def run(args: argparse.Namespace) -> int:
    begun = time.perf_counter()
    overrides = [*(QUICK_OVERRIDES if args.quick else []), *args.supernet_overrides]
    setting = setting_of(overrides)
    if setting.cfg.seed in args.seeds:
        raise BenchError(
            f"--seeds: {setting.cfg.seed} is the supernet's seed; retrain with held-out seeds"
        )
    args.scratch_epochs = args.scratch_epochs or setting.phase_epochs()
    print_header(args, setting, overrides)
    os.makedirs(args.out, exist_ok=True)
    log = os.path.join(args.out, "bench.log")
    supernet_dir = os.path.join(args.out, "supernet")
    argv = ["search", "-c", CONFIG, "-o", supernet_dir, "--no-progress", *overrides]
    supernet = stage("the supernet", argv, "search", "one-shot", setting.data, log)

    if args.budgets is None:
        started = time.perf_counter()
        record, reused = random_budgets(setting, args.archs, os.path.join(args.out, "budgets.json"))
        budgets, lat = record["budgets"], record["latencies"]
        how = "reused from budgets.json" if reused else f"{time.perf_counter() - started:.1f} s"
        print(
            f"  budgets: {', '.join(f'{b:g}' for b in budgets)} ms, the "
            f"{', '.join(map(str, PERCENTILES))}th percentiles of {len(lat)} random "
            f"sub-networks measured end to end ({min(lat):.3f}-{max(lat):.3f} ms; {how})",
            flush=True,
        )
    else:
        budgets = args.budgets

    rows = []
    for budget in budgets:
        spec_dir = os.path.join(args.out, f"spec_{budget:g}ms_t{args.trials}")
        table = os.path.join(args.out, "latency_table.json")  # one calibration for all
        argv = ["specialize", supernet_dir, "--latency", str(budget), "-o", spec_dir,
                "--trials", str(args.trials), "--seed", str(setting.cfg.seed),
                "--latency-table", table]  # fmt: skip
        expected = to_dict(
            specialize_config(
                supernet_dir,
                latency=budget,
                trials=args.trials,
                seed=setting.cfg.seed,
                latency_table=table,
            )
        )
        spec = stage(f"specialising ({args.trials} trials)", argv, "search", "multi-trial",
                     expected, log)  # fmt: skip
        spec_run = RunFolder(spec_dir)
        result = read_json(spec_run.file("result"))
        arch, config = spec_run.file("arch"), spec_run.file("subnet_config")
        weights = spec_run.file("subnet_weights")
        tuned, scratch = [], []
        for seed in args.seeds:
            for kind, into in (("finetune", tuned), ("scratch", scratch)):
                name = f"{kind}_{budget:g}ms_t{args.trials}_e{args.scratch_epochs}_s{seed}"
                folder = os.path.join(args.out, name)
                extra = [f"epochs={args.scratch_epochs}"]
                if kind == "finetune":
                    extra.append(f"init_weights={json.dumps(weights)}")
                argv = ["train", "-c", config, "--arch", arch, "-o", folder, "--no-progress",
                        "--seed", str(seed), *extra]  # fmt: skip
                expected = to_dict(load_config(TrainConfig, config, extra, seed=seed))
                title = "fine-tuning" if kind == "finetune" else "training from scratch"
                done = stage(title, argv, "train", "train", expected, log, arch=arch)
                test = read_json(RunFolder(folder).file("result"))["test_accuracy"]
                into.append((float(test), done))
        rows.append(Row(budget, spec, result, tuned, scratch))

    space = setting.space
    archs = [space.read(RunFolder(r.spec.folder).file("arch")) for r in rows]
    for row, ms in zip(rows, measure(setting, archs), strict=True):
        row.measured = ms
    print_report(rows, supernet, args)
    print(f"\nthis run: {time.perf_counter() - begun:.1f} s")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        return run(args)
    except BenchError as err:
        print(f"\nofa.py: error: {err}", file=sys.stderr)
        return err.status


if __name__ == "__main__":
    sys.exit(main())
