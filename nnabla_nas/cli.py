"""The ``nnabla-nas`` command: search, train, profile, report, export."""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import sys
from collections.abc import Sequence
from importlib.metadata import version
from typing import Any

import shtab

from . import __version__
from .app.builtin_configs import builtin_config, builtin_configs, config_summary, copy_config
from .app.config import ConfigError, SearchConfig, TrainConfig, load_config
from .app.exporting import export_run
from .app.figures import draw_architecture, draw_figures
from .app.multitrial import SearchError
from .app.profile import profile, report, target_of_config, target_of_run
from .app.report import write_report
from .app.run import RunError, RunFolder
from .app.schema import load_yaml
from .app.search import run_search
from .app.specialize import run_specialize
from .app.train import run_train
from .contrib.estimator.latency import MIN_CALIBRATION_PATHS
from .contrib.registry import get_space
from .runner.loop import NonFiniteLossError
from .utils.distributed import current, launched_rank
from .utils.extras import MissingExtraError, onnx_export_problem
from .utils.io import write_json
from .utils.logging import console_handler, package_logger
from .visualize.diagrams import FORMATS


class _Help(argparse.RawDescriptionHelpFormatter):
    """Help that marks required options and shows every meaningful default; examples in
    the epilog keep their lines."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if action.required and action.option_strings:
            text += " (required)"
        default = action.default
        if default not in (None, False, argparse.SUPPRESS) and "%(default)" not in text:
            text += " (default: %(default)s)"
        return text


EXAMPLES = {
    "search": """examples:
  nnabla-nas search -c darts-digits-search -o runs/darts
  nnabla-nas search -c darts-digits-search -o runs/darts epochs=2 --seed 1
  nnabla-nas search -o runs/darts --resume            # continue after a stop or Ctrl-C
  nnabla-nas search -c nb201-evolution -o runs/nb201   # multi-trial""",
    "train": """examples:
  nnabla-nas train -c darts-digits-train --arch runs/darts/arch.json -o runs/t
  nnabla-nas train -o runs/t --arch runs/darts/arch.json --resume optimizer.lr=0.01
  nnabla-nas train -c darts-digits-train --arch runs/darts/arch.json -o runs/ft \\
      --init-weights runs/t/weights.h5 optimizer.lr=0.005   # fine-tune given weights""",
    "profile": """examples:
  nnabla-nas profile runs/t                       # a train run's network, batch 1
  nnabla-nas profile -c mobilenet-digits-search --calibrate 20
  nnabla-nas profile -c darts-digits-train --arch runs/darts/arch.json""",
    "report": """examples:
  nnabla-nas report runs/darts
  nnabla-nas report runs/t -o /tmp/t.html""",
    "specialize": """examples:
  nnabla-nas search -c ofa-digits-search -o runs/ofa       # train the elastic supernet once
  nnabla-nas specialize runs/ofa --latency 2.0 -o runs/ofa-2ms
  nnabla-nas specialize runs/ofa --flops 3e6 -o runs/ofa-3mflops    # or both budgets
  nnabla-nas specialize runs/ofa --latency 1.5 -o runs/ofa-1.5ms --trials 200 \\
      --latency-table runs/ofa-2ms/latency_table.json   # the same calibration
  nnabla-nas export -c runs/ofa-2ms/subnet_train.yaml --arch runs/ofa-2ms/arch.json \\
      --weights runs/ofa-2ms/subnet.h5 --format onnx -o model.onnx""",
    "draw": """examples:
  nnabla-nas draw runs/darts -o paper --format pdf --width 3.3   # a column of a paper
  nnabla-nas draw runs/t -o graphs --format dot svg              # Graphviz and SVG
  nnabla-nas draw --arch arch.json --space nb201 -o out""",
    "export": """examples:
  nnabla-nas export runs/t --format onnx -o model.onnx
  nnabla-nas export runs/t --format nnp -o model.nnp --batch 8
  nnabla-nas export runs/t --format onnx -o model.onnx --dynamic-batch   # any batch size""",
    "configs": """examples:
  nnabla-nas configs                              # the built-in configs, one line each
  nnabla-nas configs darts-digits-search -o my_search.yaml   # a copy to edit
  nnabla-nas search -c my_search.yaml -o runs/mine""",
    "completion": """examples:
  nnabla-nas completion bash > ~/.local/share/bash-completion/completions/nnabla-nas
  nnabla-nas completion zsh > ~/.zfunc/_nnabla-nas""",
}


def _command(commands: Any, name: str, help: str) -> argparse.ArgumentParser:
    """A subcommand with the package's help layout and its examples."""
    parser: argparse.ArgumentParser = commands.add_parser(
        name, help=help, description=help[:1].upper() + help[1:] + ".", epilog=EXAMPLES[name],
        formatter_class=_Help,
    )  # fmt: skip
    return parser


def _versions() -> str:
    return (
        f"nnabla-nas {__version__} (nnabla {version('nnabla')}, Python {platform.python_version()})"
    )


# Options naming files or folders, completed as such by the shell.
_FILES = {"--config", "--arch", "--weights", "--init-weights", "--latency-table", "--json"}
_FOLDERS = {"run_dir"}


def _complete_paths(parser: argparse.ArgumentParser) -> None:
    """Marks each command's path options for shell completion (shtab's ``complete``)."""
    for sub in parser._subparsers._group_actions[0].choices.values():  # type: ignore[union-attr]
        for action in sub._actions:
            names = {*action.option_strings, action.dest}
            if names & _FILES:
                action.complete = shtab.FILE
            elif names & _FOLDERS:
                action.complete = shtab.DIRECTORY


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-c", "--config", help="YAML config file (with --resume: the run's)")
    output = parser.add_argument("-o", "--output", required=True, help="the run folder to write")
    output.complete = shtab.DIRECTORY  # type: ignore[attr-defined]
    parser.add_argument("--seed", type=int, help="seeds the weights, the data order and draws")
    parser.add_argument(
        "--resume",
        action="store_true",
        help="continue from the last checkpoint; overrides may change the budget and the "
        "learning rates (recorded in run.json)",
    )
    parser.add_argument("--context", choices=["cpu", "cudnn"], help="nnabla context")
    parser.add_argument("--device-id", type=int, help="GPU index for the cudnn context")
    parser.add_argument(
        "--no-progress",
        action="store_true",
        help="hide the progress (a bar, or log lines off a terminal)",
    )
    parser.add_argument(
        "overrides",
        nargs="*",
        metavar="key=value",
        help="config overrides, e.g. epochs=5 optimizer.lr=0.05",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nnabla-nas",
        description="Hardware-aware neural architecture search on nnabla.",
        epilog="'nnabla-nas COMMAND --help' shows a command's options and examples.",
        formatter_class=_Help,
    )
    parser.add_argument("--version", action="version", version=_versions())
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    search = _command(commands, "search", "search an architecture")
    _common(search)
    search.add_argument("--ray-address", help="multi-trial: an existing Ray cluster to train on")
    search.add_argument("--latency-table", help="cost: reuse and extend this latency table")
    train = _command(commands, "train", "retrain an architecture from scratch")
    _common(train)
    train.add_argument("--arch", required=True, help="the arch.json of a search")
    train.add_argument("--init-weights", metavar="PATH",
                       help="start from this .h5 of the network's weights (fine-tuning); "
                       "a resume continues from its checkpoint")  # fmt: skip
    prof = _command(commands, "profile", "measure latency; compare the estimators")
    prof.add_argument("run_dir", nargs="?", help="a run folder (else -c and --arch)")
    prof.add_argument("-c", "--config", help="YAML config (its dataset and model sections)")
    prof.add_argument("--arch", help="profile this architecture (else the search space's)")
    prof.add_argument("--batch", type=int, default=1, help="batch size")
    prof.add_argument("--runs", type=int, default=50, help="end-to-end runs to time")
    prof.add_argument("--latency-table", help="reuse and extend this layer-latency table")
    prof.add_argument("--import-table", action="store_true",
                      help="accept a latency table measured in another setting")  # fmt: skip
    prof.add_argument("--calibrate", type=int, default=0, metavar="N",
                      help="fit the latency calibration of a search space on N paths measured "
                      "end to end, stored with the table (0: use the table's)")  # fmt: skip
    prof.add_argument("--json", help="also write the profile as JSON to this file")
    prof.add_argument("overrides", nargs="*", metavar="key=value", help="config overrides")
    rep = _command(commands, "report", "write RUN_DIR/report.html (figures embedded)")
    rep.add_argument("run_dir", help="a search or train run folder")
    rep.add_argument("-o", "--output", help="the HTML file (default RUN_DIR/report.html)")
    exp = _command(commands, "export", "export a retrained network to NNP or ONNX")
    exp.add_argument("run_dir", nargs="?", help="a train run folder (config, arch, weights)")
    exp.add_argument("-c", "--config", help="the train config (default RUN_DIR/config.yaml)")
    exp.add_argument("--arch", help="the arch.json (default RUN_DIR/arch.json)")
    exp.add_argument("--weights", help="the weights .h5 (default RUN_DIR/weights.h5)")
    exp.add_argument("--format", choices=["nnp", "onnx"], required=True, help="the file format")
    exp.add_argument("-o", "--output", required=True, help="the file to write")
    exp.add_argument("--batch", type=int, default=1, help="the batch size of the input")
    exp.add_argument(
        "--dynamic-batch", action="store_true", help="ONNX: a symbolic batch dimension ('batch')"
    )
    _complete_paths(parser)
    configs = _command(commands, "configs", "list the built-in configs, or copy one out to edit")
    configs.add_argument("name", nargs="?", help="a built-in config: printed, or copied by -o")
    out = configs.add_argument("-o", "--output", help="copy the config to this new file")
    out.complete = shtab.FILE  # type: ignore[attr-defined]
    spec = _command(
        commands, "specialize", "pick a trained supernet's best sub-network under a budget"
    )
    spec.add_argument("run_dir", help="the run folder of a finished ofa, spos or fairnas search")
    spec.add_argument("--latency", type=float, help="the budget: ms per input on this machine")
    spec.add_argument("--flops", type=float, help="a budget of FLOPs per input (e.g. 2e6)")
    spec_out = spec.add_argument("-o", "--output", required=True, help="the run folder to write")
    spec_out.complete = shtab.DIRECTORY  # type: ignore[attr-defined]
    spec.add_argument("--trials", type=int, default=100, help="candidates evaluated")
    spec.add_argument("--population", type=int, default=16, help="the evolution's population")
    spec.add_argument(
        "--calib-batches", type=int,
        help="training batches recalibrating BatchNorm (default: the run's or 5)",
    )  # fmt: skip
    spec.add_argument(
        "--eval-batches", type=int, help="validation batches scored (default: the run's or all)"
    )
    spec.add_argument("--seed", type=int, help="seeds the evolution (default: the run's)")
    spec.add_argument(
        "--latency-table", help="reuse and extend this latency table and its calibration"
    )
    spec.add_argument("--resume", action="store_true", help="continue a stopped specialisation")
    draw = _command(commands, "draw", "draw an architecture's diagrams")
    draw.add_argument("run_dir", nargs="?", help="a run folder (its space and arch.json)")
    draw.add_argument("--arch", help="an architecture file, with --space")
    draw.add_argument("--space", help="the search space of --arch, e.g. darts")
    draw.add_argument("-o", "--output", required=True, help="the folder to draw into")
    draw.add_argument("--format", nargs="+", default=["svg", "png"], choices=FORMATS,
                      help="the files to write (dot: the graph, for Graphviz)")  # fmt: skip
    draw.add_argument("--width", type=float, help="inches, e.g. 3.3 for a paper's column")
    comp = _command(commands, "completion", "print the shell completion script")
    comp.add_argument("shell", choices=sorted(shtab.SUPPORTED_SHELLS), help="the shell")
    return parser


def _overrides(args: argparse.Namespace) -> list[str]:
    extra = list(args.overrides)
    if args.context is not None:
        extra.append(f"context={args.context}")
    if args.device_id is not None:
        extra.append(f"device_id={args.device_id}")
    if getattr(args, "ray_address", None) is not None:
        extra.append(f"multitrial.ray_address={args.ray_address}")
    if getattr(args, "latency_table", None) is not None:
        extra.append(f"cost.latency_table={args.latency_table}")
    if getattr(args, "init_weights", None) is not None:
        # Quoted, so that any path (``1.h5``, ``null``, ``a #b.h5``) stays a string.
        extra.append(f"init_weights={json.dumps(args.init_weights)}")
    return extra


def _profile(args: argparse.Namespace) -> int:
    if args.runs < 1 or args.batch < 1:
        raise ValueError(f"profile needs --runs and --batch of at least 1, got {args.runs} and "
                         f"{args.batch}")  # fmt: skip
    if args.calibrate and args.calibrate < MIN_CALIBRATION_PATHS:
        raise ValueError(f"profile --calibrate needs at least {MIN_CALIBRATION_PATHS} paths, "
                         f"got {args.calibrate}")  # fmt: skip
    if args.run_dir is not None:
        if args.config or args.arch or args.overrides:
            raise ValueError("profile a run folder, or give -c/--arch/overrides, not both")
        target = target_of_run(args.run_dir)
    else:
        target = target_of_config(args.config, args.arch, list(args.overrides))
    if args.calibrate and not target.supernet:
        raise ValueError("profile --calibrate samples paths of a search space: give a search "
                         "config or a one-shot search's run folder, without --arch")  # fmt: skip
    shape = (args.batch, *target.sample_shape)
    result = profile(
        target.model, shape, choice=target.choice, runs=args.runs, table_path=args.latency_table,
        scope=target.scope(args.batch), calibrate=args.calibrate, import_table=args.import_table,
    )  # fmt: skip
    print(report(result))
    if args.json:
        # The architecture measured, so that a report can tell a stale profile.json.
        write_json(args.json, {**result, "arch": target.arch})
    return 0


def _report(args: argparse.Namespace) -> int:
    run = RunFolder(args.run_dir)
    manifest = run.manifest()
    if args.output and run.owns(args.output) and not args.output.endswith("report.html"):
        raise ValueError(f"'{args.output}' is a file of the run; write the report elsewhere")
    draw_figures(run, get_space(manifest.space))  # refresh the figures the report embeds
    print(write_report(args.run_dir, args.output))
    return 0


def _specialize(args: argparse.Namespace) -> int:
    for name, value in (("--latency", args.latency), ("--flops", args.flops)):
        if value is not None and value <= 0:
            raise ValueError(f"{name} must be a positive number, got {value:g}")
    run_specialize(
        args.run_dir, args.output, latency=args.latency, flops=args.flops, resume=args.resume,
        trials=args.trials, population=args.population, calib_batches=args.calib_batches,
        eval_batches=args.eval_batches, seed=args.seed, latency_table=args.latency_table,
    )  # fmt: skip
    return 0


def _draw(args: argparse.Namespace) -> int:
    if (args.run_dir is None) == (args.arch is None) or (args.arch is None) != (args.space is None):
        raise ValueError("give a run folder, or --arch and --space, not both")
    if args.run_dir is not None:
        run = RunFolder(args.run_dir)
        space, arch = get_space(run.manifest().space), run.file("arch")
    else:
        space, arch = get_space(args.space), args.arch
    paths = draw_architecture(space, space.read(arch), args.output, formats=args.format,
                              width=args.width)  # fmt: skip
    print("\n".join(paths))
    return 0


def _export(args: argparse.Namespace) -> int:
    if args.run_dir is None and (args.arch is None or args.weights is None):
        raise ValueError("give a train run folder, or --arch and --weights (and -c CONFIG)")
    missing = onnx_export_problem() if args.format == "onnx" else None
    if missing:
        raise MissingExtraError(missing)
    path = export_run(
        args.run_dir, arch=args.arch, weights=args.weights, config=args.config,
        format=args.format, output=args.output, batch_size=args.batch,
        dynamic_batch=args.dynamic_batch,
    )  # fmt: skip
    print(path)
    return 0


def _config_path(args: argparse.Namespace) -> str | None:
    """The config file: the one given, or on a resume without one, the run's own."""
    if args.config is None and args.resume:
        own = RunFolder(args.output).file("config")
        return own if os.path.isfile(own) else None
    if args.config is None:
        # The schema's defaults alone make a long run nobody chose (a 10-epoch DARTS
        # search of a 2-million-weight supernet), so a new run names its config.
        example = "darts-digits-search" if args.command == "search" else "darts-digits-train"
        raise ConfigError(
            f"{args.command} needs a config: -c FILE, or a built-in one by name such as "
            f"-c {example} ('nnabla-nas configs' lists them)"
        )
    return str(args.config)


def _run(args: argparse.Namespace) -> int:
    progress = not args.no_progress
    config = _config_path(args)
    if args.command == "search":
        cfg = load_config(SearchConfig, config, _overrides(args), seed=args.seed)
        run_search(cfg, args.output, resume=args.resume, progress=progress)
    else:
        cfg = load_config(TrainConfig, config, _overrides(args), seed=args.seed)
        run_train(cfg, args.arch, args.output, resume=args.resume, progress=progress)
    return 0


def _diverged_advice(args: argparse.Namespace) -> str:
    """How to continue a run that diverged: lower the learning rate on resume."""
    if args.command not in ("search", "train"):
        return ""
    lr = _saved_lr(RunFolder(args.output))
    value = f"{lr / 2:g}" if lr else "<lower>"
    arch = f" --arch {args.arch}" if args.command == "train" else ""
    return (
        "\nLower the learning rate (or set optimizer.grad_clip) and continue from the last "
        f"good checkpoint: nnabla-nas {args.command} -o {args.output}{arch} --resume "
        f"optimizer.lr={value}"
    )


def _saved_lr(run: RunFolder) -> float | None:
    text = run.config_text()
    try:
        lr = (load_yaml(text) or {}).get("optimizer", {}).get("lr") if text else None
    except (ValueError, AttributeError):
        return None
    return float(lr) if isinstance(lr, (int, float)) else None


def _configs(args: argparse.Namespace) -> int:
    if args.name is None:
        if args.output is not None:
            raise ValueError("configs -o copies one config: name it, e.g. 'nnabla-nas configs "
                             "darts-digits-search -o FILE'")  # fmt: skip
        found = builtin_configs()
        width = max(map(len, found))
        for name, path in found.items():
            print(f"{name:<{width}}  {config_summary(path)}")
    elif args.output is None:
        with open(builtin_config(args.name), encoding="utf-8") as f:
            print(f.read(), end="")
    else:
        print(copy_config(args.name, args.output))
    return 0


def _completion(args: argparse.Namespace) -> int:
    print(shtab.complete(build_parser(), shell=args.shell))
    return 0


COMMANDS = {
    "search": _run,
    "train": _run,
    "profile": _profile,
    "report": _report,
    "draw": _draw,
    "specialize": _specialize,
    "configs": _configs,
    "completion": _completion,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit status."""
    args = build_parser().parse_args(argv)
    logging.getLogger("nnabla").setLevel(logging.WARNING)  # keep nnabla's per-file INFO quiet
    # The command prints the package's log itself; nnabla's handler on the root logger
    # would print every line a second time.
    logger = package_logger()
    handler, level, propagate = console_handler(), logger.level, logger.propagate
    logger.addHandler(handler)
    # Under mpiexec, the processes other than rank 0 log errors only (rank 0 logs the run).
    logger.setLevel(logging.INFO if launched_rank() == 0 else logging.ERROR)
    logger.propagate = False
    try:
        status = _dispatch(args)
    except BaseException:
        _end_all_ranks(1)
        raise
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        logger.propagate = propagate
    if status:
        _end_all_ranks(status)
    return status


def _end_all_ranks(status: int) -> None:
    """Under data parallel, a process that fails ends every process of the run (the others
    would wait for it forever); the last checkpoint, written after an epoch, is intact."""
    comm = current()
    if comm is None or comm.size == 1:
        return
    print(
        f"nnabla-nas: rank {comm.rank} of {comm.size} failed (exit status {status}); ending "
        "every rank of the run",
        file=sys.stderr,
    )
    comm.abort(status)


def _dispatch(args: argparse.Namespace) -> int:
    """Runs the command; an error is one line on stderr and the exit status."""
    try:
        return COMMANDS.get(args.command, _export)(args)
    except (ConfigError, RunError, FileNotFoundError, ValueError, ImportError) as err:
        print(f"nnabla-nas: error: {err}", file=sys.stderr)
        return 2
    except SearchError as err:
        print(f"nnabla-nas: error: {err}", file=sys.stderr)
        return 1
    except NonFiniteLossError as err:
        print(f"nnabla-nas: error: {err}{_diverged_advice(args)}", file=sys.stderr)
        return 3
    except OSError as err:  # a folder that cannot be written, a full disk, ...
        where = f" '{err.filename}'" if err.filename else ""
        print(f"nnabla-nas: error: cannot use{where}: {err.strerror or err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        if args.command == "specialize":
            print(
                "\nnnabla-nas: interrupted; continue with the same nnabla-nas specialize "
                "command and --resume",
                file=sys.stderr,
            )
        elif args.command in ("search", "train"):
            print(
                f"\nnnabla-nas: interrupted; continue with --resume -o {args.output}",
                file=sys.stderr,
            )
        else:
            print("\nnnabla-nas: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
