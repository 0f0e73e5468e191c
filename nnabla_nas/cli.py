"""The ``nnabla-nas`` command: search, train, profile, report, export."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from .config import ConfigError, SearchConfig, TrainConfig, load_config


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-c", "--config", help="YAML config file")
    parser.add_argument("-o", "--output", required=True, help="the run folder to write")
    parser.add_argument("--seed", type=int, help="seeds numpy, nnabla and the data order")
    parser.add_argument("--resume", action="store_true", help="continue from the last checkpoint")
    parser.add_argument("--context", choices=["cpu", "cudnn"], help="nnabla context")
    parser.add_argument("--device-id", type=int, help="GPU index for the cudnn context")
    parser.add_argument("--no-progress", action="store_true", help="hide progress bars")
    parser.add_argument(
        "overrides",
        nargs="*",
        metavar="key=value",
        help="config overrides, e.g. epochs=5 optimizer.lr=0.05",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nnabla-nas", description="Hardware-aware neural architecture search on nnabla."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    search = commands.add_parser("search", help="search an architecture")
    _common(search)
    search.add_argument("--ray-address", help="multi-trial: an existing Ray cluster to train on")
    search.add_argument("--latency-table", help="pnas: reuse and extend this latency table")
    train = commands.add_parser("train", help="retrain an architecture from scratch")
    _common(train)
    train.add_argument("--arch", required=True, help="the arch.json of a search")
    prof = commands.add_parser("profile", help="measure latency; compare the estimators")
    prof.add_argument("-c", "--config", help="YAML config (its dataset and model sections)")
    prof.add_argument("--arch", help="profile this architecture (else the search space's)")
    prof.add_argument("--batch", type=int, default=1, help="batch size (default 1)")
    prof.add_argument("--runs", type=int, default=50, help="end-to-end runs to time")
    prof.add_argument("--latency-table", help="reuse and extend this layer-latency table")
    prof.add_argument("--json", help="also write the profile as JSON to this file")
    prof.add_argument("overrides", nargs="*", metavar="key=value", help="config overrides")
    rep = commands.add_parser("report", help="write RUN_DIR/report.html (figures embedded)")
    rep.add_argument("run_dir", help="a search or train run folder")
    rep.add_argument("-o", "--output", help="the HTML file (default RUN_DIR/report.html)")
    exp = commands.add_parser("export", help="export a retrained network to NNP or ONNX")
    exp.add_argument("run_dir", nargs="?", help="a train run folder (config, arch, weights)")
    exp.add_argument("-c", "--config", help="the train config (default RUN_DIR/config.yaml)")
    exp.add_argument("--arch", help="the arch.json (default RUN_DIR/arch.json)")
    exp.add_argument("--weights", help="the weights .h5 (default RUN_DIR/weights.h5)")
    exp.add_argument("--format", choices=["nnp", "onnx"], required=True, help="the file format")
    exp.add_argument("-o", "--output", required=True, help="the file to write")
    exp.add_argument("--batch", type=int, default=1, help="the batch size of the input")
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
        extra.append(f"pnas.latency_table={args.latency_table}")
    return extra


def _profile(args: argparse.Namespace) -> int:
    from .config import TrainConfig
    from .experiment import load_dataset, set_context
    from .profile import build_model, profile, report
    from .utils.io import write_json

    config_type = TrainConfig if args.arch else SearchConfig
    cfg = load_config(config_type, args.config, list(args.overrides))
    set_context(cfg.context, cfg.device_id)
    train, _ = load_dataset(cfg.dataset)
    model = build_model(cfg, args.arch, train.sample_shape, train.classes)
    shape = (args.batch, *train.sample_shape)
    result = profile(model, shape, runs=args.runs, table_path=args.latency_table)
    print(report(result))
    if args.json:
        write_json(args.json, result)
    return 0


def _report(args: argparse.Namespace) -> int:
    from .report import write_report
    from .visualize import plot_run

    if not os.path.isdir(args.run_dir):
        raise FileNotFoundError(f"no run folder '{args.run_dir}'")
    plot_run(args.run_dir)  # refresh the figures the report embeds
    print(write_report(args.run_dir, args.output))
    return 0


def _export(args: argparse.Namespace) -> int:
    from .export import export_run

    if args.run_dir is None and (args.arch is None or args.weights is None):
        raise ValueError("give a train run folder, or --arch and --weights (and -c CONFIG)")
    path = export_run(
        args.run_dir, arch=args.arch, weights=args.weights, config=args.config,
        format=args.format, output=args.output, batch_size=args.batch,
    )  # fmt: skip
    print(path)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit status."""
    args = build_parser().parse_args(argv)
    import logging

    from . import experiment

    logging.getLogger("nnabla").setLevel(logging.WARNING)  # keep nnabla's per-file INFO quiet
    from .runner.loop import NonFiniteLossError

    try:
        if args.command == "profile":
            return _profile(args)
        if args.command == "report":
            return _report(args)
        if args.command == "export":
            return _export(args)
        progress = not args.no_progress
        if args.command == "search":
            cfg = load_config(SearchConfig, args.config, _overrides(args), seed=args.seed)
            experiment.run_search(cfg, args.output, resume=args.resume, progress=progress)
        else:
            cfg = load_config(TrainConfig, args.config, _overrides(args), seed=args.seed)
            experiment.run_train(cfg, args.arch, args.output, resume=args.resume, progress=progress)
    except (ConfigError, FileNotFoundError, ValueError, ImportError) as err:
        print(f"nnabla-nas: error: {err}", file=sys.stderr)
        return 2
    except NonFiniteLossError as err:
        print(f"nnabla-nas: error: {err}", file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        if args.command in ("search", "train"):
            print(
                f"\nnnabla-nas: interrupted; continue with --resume -o {args.output}",
                file=sys.stderr,
            )
        else:
            print("\nnnabla-nas: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
